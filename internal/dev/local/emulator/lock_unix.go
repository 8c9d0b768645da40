//go:build unix

package emulator

import (
	"errors"
	"os"
	"syscall"
)

// lockFileExclusive takes an exclusive flock on f without waiting: the
// kernel drops it when the last descriptor of f closes, however the
// process ends.
func lockFileExclusive(f *os.File) error {
	err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	switch {
	case errors.Is(err, syscall.EWOULDBLOCK):
		return errLocked
	case errors.Is(err, syscall.ENOTSUP), errors.Is(err, syscall.EOPNOTSUPP), errors.Is(err, syscall.ENOLCK):
		return errNoLocks
	}
	return err
}
