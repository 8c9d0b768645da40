package emulator

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ErrDataDirInUse is returned by LockDataDir when another process holds
// the data directory.
var ErrDataDirInUse = errors.New("in use by another process")

// lockFile is the file in a data directory whose lock marks it in use, and
// which holds the pid of the process using it. `make clean` tests the same
// lock (the Makefile's DATA_LOCK) before it removes .local.
const lockFile = "in-use.lock"

// DataDirLock is one process's exclusive claim on a data directory.
type DataDirLock struct {
	f *os.File
	// Unenforced says the claim could not be made exclusive: the file
	// system has no locks (some network and container mounts), or the
	// system has no flock. The caller should warn that nothing stops a
	// second emulator from using the directory.
	Unenforced bool
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
	switch err := lockFileExclusive(f); {
	case errors.Is(err, errNoLocks):
		return &DataDirLock{f: f, Unenforced: true}, nil
	case errors.Is(err, errLocked):
		_ = f.Close()
		if b, rerr := os.ReadFile(path); rerr == nil && len(strings.TrimSpace(string(b))) > 0 {
			return nil, fmt.Errorf("data dir %s: %w (pid %s)", abs, ErrDataDirInUse, strings.TrimSpace(string(b)))
		}
		return nil, fmt.Errorf("data dir %s: %w", abs, ErrDataDirInUse)
	case err != nil:
		_ = f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &DataDirLock{f: f}, nil
}

// Errors of lockFileExclusive.
var (
	// errLocked: another process holds the lock.
	errLocked = errors.New("locked by another process")
	// errNoLocks: the file system (or the system) has no such locks.
	errNoLocks = errors.New("file locks are not supported here")
)

// Close releases the claim.
func (l *DataDirLock) Close() error {
	if err := l.f.Close(); err != nil { // closing the only descriptor drops the flock
		return fmt.Errorf("release data dir lock: %w", err)
	}
	return nil
}
