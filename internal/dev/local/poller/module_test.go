package poller_test

import (
	"os/exec"
	"strings"
)

// moduleDir returns the directory of module path in the module cache.
func moduleDir(path string) (string, error) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", path).Output()
	return strings.TrimSpace(string(out)), err
}
