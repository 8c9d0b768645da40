// Package rie builds Lambda bootstraps and runs them under the Lambda
// Runtime Interface Emulator (the aws-lambda-rie tool in go.mod), the way
// `sam local invoke` runs them in its container, without Docker. The
// runtime test and `make bench` use it.
package rie

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/docproc/webhooks/internal/dev/freeport"
	"github.com/docproc/webhooks/internal/dev/syncbuf"
)

// BuildFlags are the flags every Lambda bootstrap is built with, as the
// Makefile builds it for deployment.
var BuildFlags = []string{"-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w"}

// Build builds the main package in dir into out for goarch (linux), with
// BuildFlags and no cgo.
func Build(dir, out, goarch string) error {
	cmd := exec.Command("go", append(append([]string{"build"}, BuildFlags...), "-o", out, ".")...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+goarch)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build %s for %s: %v\n%s", dir, goarch, err, b)
	}
	return nil
}

// Tool returns the path of the aws-lambda-rie binary, building it if needed.
func Tool() (string, error) {
	out, err := exec.Command("go", "tool", "-n", "aws-lambda-rie").Output()
	if err != nil {
		return "", fmt.Errorf("find aws-lambda-rie (a tool in go.mod): %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}

// FunctionEnv returns the environment `sam local invoke --env-vars
// events/env.json` gives function id (its logical id in template.yaml),
// pointed at endpoint with the region and dummy credentials an emulator
// accepts. root is the repository root.
func FunctionEnv(root, id, endpoint string) (map[string]string, error) {
	b, err := os.ReadFile(filepath.Join(root, "events", "env.json"))
	if err != nil {
		return nil, err
	}
	var all map[string]map[string]string
	if err := json.Unmarshal(b, &all); err != nil {
		return nil, fmt.Errorf("events/env.json: %w", err)
	}
	env, ok := all[id]
	if !ok {
		return nil, fmt.Errorf("events/env.json has no %s section", id)
	}
	env["AWS_ENDPOINT_URL"], env["AWS_REGION"] = endpoint, "us-east-1"
	env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"] = "local", "local"
	return env, nil
}

// Emulator is one running emulator with one function.
type Emulator struct {
	cmd *exec.Cmd
	// addr is where the emulator takes invocations.
	addr string
	logs *syncbuf.Buffer
	once sync.Once
}

// Start starts the emulator tool with bootstrap and env added to this
// process's environment. The function starts on the first invocation.
func Start(tool, bootstrap string, env map[string]string) (*Emulator, error) {
	invokeAddr, err := freeport.Addr()
	if err != nil {
		return nil, err
	}
	runtimeAddr, err := freeport.Addr()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(tool, "--runtime-interface-emulator-address", invokeAddr, "--runtime-api-address", runtimeAddr, bootstrap)
	cmd.Env = os.Environ()
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	logs := &syncbuf.Buffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start aws-lambda-rie: %w", err)
	}
	return &Emulator{cmd: cmd, logs: logs, addr: invokeAddr}, nil
}

// WaitReady waits until the emulator accepts connections. The function
// itself starts only with the first invocation.
func (e *Emulator) WaitReady(timeout time.Duration) error {
	var err error
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		var c net.Conn
		if c, err = net.Dial("tcp", e.addr); err == nil {
			return c.Close()
		}
	}
	return fmt.Errorf("the emulator did not listen within %v: %w", timeout, err)
}

// Invoke sends one event and returns the function's result. While the
// emulator is still starting it retries until timeout.
func (e *Emulator) Invoke(event []byte, timeout time.Duration) ([]byte, error) {
	var lastErr error
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		resp, err := http.Post("http://"+e.addr+"/2015-03-31/functions/function/invocations", "application/json", bytes.NewReader(event))
		if err != nil {
			lastErr = err // not listening yet
			continue
		}
		body, err := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("invoke: HTTP %d %v: %s", resp.StatusCode, err, body)
		}
		return body, nil
	}
	return nil, fmt.Errorf("the emulator did not answer within %v: %w", timeout, lastErr)
}

// initReport matches the emulator's report of the function's init phase.
var initReport = regexp.MustCompile(`INIT REPORT\(durationMs: ([0-9.]+)\)`)

// InitDuration returns the init duration the emulator reported, if it did.
func (e *Emulator) InitDuration() (time.Duration, bool) {
	m := initReport.FindStringSubmatch(e.logs.String())
	if m == nil {
		return 0, false
	}
	ms, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return 0, false
	}
	return time.Duration(ms * float64(time.Millisecond)), true
}

// FunctionPID returns the pid of the function process the emulator started.
func (e *Emulator) FunctionPID() (int, error) {
	dirs, err := filepath.Glob("/proc/[0-9]*/stat")
	if err != nil {
		return 0, err
	}
	for _, p := range dirs {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...
		_, rest, ok := strings.Cut(string(b), ") ")
		fields := strings.Fields(rest)
		if !ok || len(fields) < 2 || fields[1] != strconv.Itoa(e.cmd.Process.Pid) {
			continue
		}
		pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(p)))
		return pid, nil
	}
	return 0, errors.New("the emulator has no child process; has the function started?")
}

// PeakRSS returns the peak resident set size (VmHWM) of process pid, in bytes.
func PeakRSS(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb * 1024, err
		}
	}
	return 0, fmt.Errorf("no VmHWM for pid %d", pid)
}

// CPUTime returns the CPU time process pid has used, all its threads
// together, from /proc/<pid>/task/*/schedstat (nanoseconds; /proc/<pid>/stat
// counts in 10 ms ticks, too coarse for a cold start).
func CPUTime(pid int) (time.Duration, error) {
	files, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", pid))
	if err != nil || len(files) == 0 {
		return 0, fmt.Errorf("no schedstat for pid %d: %v", pid, err)
	}
	var total time.Duration
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue // a thread that just ended
		}
		fields := strings.Fields(string(b))
		if len(fields) == 0 {
			continue
		}
		ns, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("parse %s: %w", f, err)
		}
		total += time.Duration(ns)
	}
	return total, nil
}

// Logs returns what the emulator and the function wrote.
func (e *Emulator) Logs() string { return e.logs.String() }

// WaitForLog waits until the output contains s, for at most timeout, and
// reports whether it does. A line the function writes during an invocation
// passes through the emulator's pipes, so it may reach Logs a little after
// Invoke has returned.
func (e *Emulator) WaitForLog(s string, timeout time.Duration) bool {
	for deadline := time.Now().Add(timeout); ; time.Sleep(10 * time.Millisecond) {
		if strings.Contains(e.logs.String(), s) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}

// Stop kills the emulator and its function and waits for them.
func (e *Emulator) Stop() {
	e.once.Do(func() {
		_ = syscall.Kill(-e.cmd.Process.Pid, syscall.SIGKILL)
		_ = e.cmd.Wait()
	})
}
