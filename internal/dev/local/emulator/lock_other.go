//go:build !unix

package emulator

import "os"

// lockFileExclusive reports that this system has no flock; the claim is
// then unenforced.
func lockFileExclusive(*os.File) error { return errNoLocks }
