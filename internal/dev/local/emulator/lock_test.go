package emulator_test

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/docproc/webhooks/internal/dev/local/emulator"
	"github.com/docproc/webhooks/internal/dev/testenv"
)

// holdEnv, when set to a directory, makes the test binary lock it, print
// "locked", and hold the lock until its stdin closes or it is killed.
const holdEnv = "EMULATOR_TEST_HOLD_DATA_DIR"

// preparedAddr is the address TestMain prepares the process for, as
// testenv.Main does; the other tests start emulators on 127.0.0.1:0,
// which do not take its listener.
const preparedAddr = "localhost:0"

func TestMain(m *testing.M) {
	if dir := os.Getenv(holdEnv); dir == "" {
		if err := emulator.Prepare(preparedAddr, ""); err != nil {
			panic(err)
		}
	} else {
		l, err := emulator.LockDataDir(dir)
		if err != nil {
			os.Stdout.WriteString(err.Error() + "\n")
			os.Exit(1)
		}
		os.Stdout.WriteString("locked\n")
		_, _ = io.Copy(io.Discard, os.Stdin)
		_ = l.Close()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestSecondLockOnADataDirIsRefused(t *testing.T) {
	dir := t.TempDir()
	first, err := emulator.LockDataDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, err = emulator.LockDataDir(dir)
	if !errors.Is(err, emulator.ErrDataDirInUse) || !strings.Contains(err.Error(), dir) ||
		!strings.Contains(err.Error(), "(pid "+strconv.Itoa(os.Getpid())+")") {
		t.Fatalf("second lock: %v; want ErrDataDirInUse naming %s and this pid", err, dir)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	again, err := emulator.LockDataDir(dir)
	if err != nil {
		t.Fatalf("lock after Close: %v", err)
	}
	_ = again.Close()
}

// TestLockDiesWithItsProcess: a process killed while it holds the data
// dir leaves it free, with nothing to clean up.
func TestLockDiesWithItsProcess(t *testing.T) {
	dir := t.TempDir()
	holder := exec.Command(os.Args[0], "-test.run=^$")
	holder.Env = append(os.Environ(), holdEnv+"="+dir)
	stdout, err := holder.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := holder.StdinPipe(); err != nil { // held open: the holder waits on it
		t.Fatal(err)
	}
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, len("locked\n"))
	if _, err := io.ReadFull(stdout, buf); err != nil || string(buf) != "locked\n" {
		_ = holder.Process.Kill()
		t.Fatalf("holder said %q, %v", buf, err)
	}
	if _, err := emulator.LockDataDir(dir); !errors.Is(err, emulator.ErrDataDirInUse) ||
		!strings.Contains(err.Error(), "(pid "+strconv.Itoa(holder.Process.Pid)+")") {
		t.Errorf("lock held by pid %d: %v", holder.Process.Pid, err)
	}
	_ = holder.Process.Kill()
	_ = holder.Wait() // the process is gone, and the kernel has dropped its lock
	l, err := emulator.LockDataDir(dir)
	if err != nil {
		t.Fatalf("lock after its holder died: %v", err)
	}
	_ = l.Close()
}

// TestMakeCleanRefusesADataDirInUse: `make clean` leaves .local alone, and
// says why, while a make run holds .local/data, and removes it once the
// data dir is free: with flock(1) to test the lock, and without it by the
// pid the lock file holds.
func TestMakeCleanRefusesADataDirInUse(t *testing.T) {
	for _, withFlock := range []bool{true, false} {
		t.Run(map[bool]string{true: "flock", false: "pid"}[withFlock], func(t *testing.T) {
			bin := t.TempDir()
			tools := []string{"make", "sh", "cat", "rm"}
			if withFlock {
				tools = append(tools, "flock")
			}
			for _, tool := range tools {
				path, err := exec.LookPath(tool)
				if err != nil {
					t.Skipf("%s is not on PATH: %v", tool, err)
				}
				if err := os.Symlink(path, filepath.Join(bin, tool)); err != nil {
					t.Fatal(err)
				}
			}
			root := t.TempDir()
			clean := func() (string, error) {
				cmd := exec.Command(filepath.Join(bin, "make"), "--no-print-directory", "-f", testenv.RepoFile("Makefile"), "clean")
				cmd.Dir, cmd.Env = root, []string{"PATH=" + bin}
				out, err := cmd.CombinedOutput()
				return string(out), err
			}
			lock, err := emulator.LockDataDir(filepath.Join(root, ".local", "data"))
			if err != nil {
				t.Fatal(err)
			}
			out, err := clean()
			want := "make clean: make run (pid " + strconv.Itoa(os.Getpid()) + ") is using .local/data"
			if err == nil || !strings.Contains(out, want) {
				t.Errorf("make clean while the data dir is locked: %v\n%s\nwant a failure saying %q", err, out, want)
			}
			if _, err := os.Stat(filepath.Join(root, ".local", "data")); err != nil {
				t.Errorf("make clean removed the data dir in use: %v", err)
			}
			if err := lock.Close(); err != nil {
				t.Fatal(err)
			}
			if !withFlock {
				// The pid of a make run that has stopped is gone; this
				// process lives on, so the file must say another.
				if err := os.WriteFile(filepath.Join(root, ".local", "data", "in-use.lock"), nil, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if out, err := clean(); err != nil {
				t.Errorf("make clean after the lock's release: %v\n%s", err, out)
			}
			if _, err := os.Stat(filepath.Join(root, ".local")); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("make clean left .local: %v", err)
			}
		})
	}
}
