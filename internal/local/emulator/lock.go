package emulator

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// ErrDataDirInUse is returned by LockDataDir when another process holds
// the data directory.
var ErrDataDirInUse = errors.New("in use by another process")

// lockFile is the file in a data directory whose lock marks it in use.
const lockFile = "in-use.lock"

// DataDirLock is one process's exclusive claim on a data directory.
type DataDirLock struct {
	f *os.File
}

// LockDataDir claims dir (created if missing) for this process, so that
// two emulators never write their snapshots over each other. The claim is
// an flock on a file in dir: the kernel drops it when the process ends,
// however it ends, so a crash leaves nothing to clean up. If another
// process holds dir, the error wraps ErrDataDirInUse and names dir and,
// when it can, that process's pid.
func LockDataDir(dir string) (*DataDirLock, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("data dir %s: %w", dir, err)
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	path := filepath.Join(abs, lockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock file: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		if b, rerr := os.ReadFile(path); rerr == nil && len(strings.TrimSpace(string(b))) > 0 {
			return nil, fmt.Errorf("data dir %s: %w (pid %s)", abs, ErrDataDirInUse, strings.TrimSpace(string(b)))
		}
		return nil, fmt.Errorf("data dir %s: %w", abs, ErrDataDirInUse)
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &DataDirLock{f: f}, nil
}

// Close releases the claim.
func (l *DataDirLock) Close() error {
	if err := l.f.Close(); err != nil { // closing the only descriptor drops the flock
		return fmt.Errorf("release data dir lock: %w", err)
	}
	return nil
}
