package emulator

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
)

// What kumo reads from the environment in its package init, before main
// runs, and what Prepare hands the re-executed process.
const (
	// kumoDataDirEnv makes kumo's services load and save their data there.
	kumoDataDirEnv = "KUMO_DATA_DIR"
	// kumoHostEnv and kumoPortEnv are where kumo's EventBridge sends
	// events for SQS (and Lambda) targets; without them, localhost:4566.
	kumoHostEnv = "KUMO_HOST"
	kumoPortEnv = "KUMO_PORT"
	// listenerEnv carries an inherited listening socket across the
	// re-execution: "FD ADDR", its descriptor and the address Prepare was
	// given, which Start must be given to take it.
	listenerEnv = "WEBHOOKS_EMULATOR_LISTENER"
)

// Prepare readies this process for an emulator on addr whose EventBridge
// delivers to SQS targets on that emulator, and, when dataDir is not "",
// whose data is kept in dataDir. kumo reads both facts from the
// environment in package init, before main runs, so unless this process
// was already prepared so, Prepare listens on addr (port 0 lets the kernel
// pick one), sets KUMO_HOST and KUMO_PORT to the address it got and
// KUMO_DATA_DIR to dataDir, and re-executes the program with the listener
// open; Start(addr) then serves on it. The socket is never closed between
// the two, so no other program can take the port. On success Prepare does
// not return.
func Prepare(addr, dataDir string) error {
	want := map[string]string{}
	if dataDir != "" {
		abs, err := filepath.Abs(dataDir)
		if err != nil {
			return fmt.Errorf("data dir %s: %w", dataDir, err)
		}
		if err := os.MkdirAll(abs, 0o700); err != nil {
			return fmt.Errorf("create data dir: %w", err)
		}
		want[kumoDataDirEnv] = abs
	}
	if fd, ok := inherited(addr); ok && envHas(want) {
		syscall.CloseOnExec(fd) // not passed on to the programs this one starts
		return nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen for the emulator on %s: %w", addr, err)
	}
	defer ln.Close()
	host, port := dialAddr(ln.Addr().(*net.TCPAddr))
	f, err := ln.(*net.TCPListener).File() // a duplicate descriptor, for the next program
	if err != nil {
		return fmt.Errorf("pass the emulator's listener on: %w", err)
	}
	defer f.Close()
	fd := int(f.Fd())
	if _, _, errno := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), syscall.F_SETFD, 0); errno != 0 {
		return fmt.Errorf("keep the emulator's listener open across exec: %w", errno)
	}
	want[kumoHostEnv], want[kumoPortEnv] = host, port
	want[listenerEnv] = strconv.Itoa(fd) + " " + addr
	for k, v := range want {
		if err := os.Setenv(k, v); err != nil {
			return fmt.Errorf("set %s: %w", k, err)
		}
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find own executable: %w", err)
	}
	err = syscall.Exec(exe, os.Args, os.Environ())
	runtime.KeepAlive(f)
	return fmt.Errorf("re-exec with %s, %s and %s set: %w", kumoHostEnv, kumoPortEnv, kumoDataDirEnv, err)
}

// envHas reports whether the environment holds every variable of want
// with its value.
func envHas(want map[string]string) bool {
	for k, v := range want {
		if os.Getenv(k) != v {
			return false
		}
	}
	return true
}

// inherited returns the descriptor of the listener Prepare(addr, ...)
// passed to this process, if there is one: it must still be a socket
// bound to the address in KUMO_HOST and KUMO_PORT. A program started by
// this one inherits the variables but not the descriptor, and so sees
// none.
func inherited(addr string) (int, bool) {
	fdText, asked, ok := strings.Cut(os.Getenv(listenerEnv), " ")
	if !ok || asked != addr {
		return 0, false
	}
	fd, err := strconv.Atoi(fdText)
	if err != nil || fd < 3 {
		return 0, false
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		return 0, false
	}
	var port int
	switch a := sa.(type) {
	case *syscall.SockaddrInet4:
		port = a.Port
	case *syscall.SockaddrInet6:
		port = a.Port
	default:
		return 0, false
	}
	if strconv.Itoa(port) != os.Getenv(kumoPortEnv) {
		return 0, false
	}
	return fd, true
}

// listen returns the listener Prepare(addr, ...) passed to this process,
// once, or else a new one on addr.
func listen(addr string) (net.Listener, error) {
	if fd, ok := inherited(addr); ok {
		if err := os.Unsetenv(listenerEnv); err != nil {
			return nil, fmt.Errorf("unset %s: %w", listenerEnv, err)
		}
		f := os.NewFile(uintptr(fd), "emulator-listener")
		ln, err := net.FileListener(f) // a duplicate: f is closed below
		_ = f.Close()
		if err != nil {
			return nil, fmt.Errorf("take the emulator's listener: %w", err)
		}
		return ln, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen for the emulator on %s: %w", addr, err)
	}
	return ln, nil
}

// dialAddr returns the host and port, as kumo puts them into a URL
// (http://HOST:PORT), at which a listener on a reaches it: a listener on
// every address (0.0.0.0, ::) is reached on loopback.
func dialAddr(a *net.TCPAddr) (host, port string) {
	ip := a.IP
	switch {
	case ip == nil || ip.IsUnspecified() && ip.To4() != nil:
		ip = net.IPv4(127, 0, 0, 1)
	case ip.IsUnspecified():
		ip = net.IPv6loopback
	}
	host = ip.String()
	if ip.To4() == nil {
		host = "[" + host + "]"
	}
	return host, strconv.Itoa(a.Port)
}

// EventsReachQueues reports whether kumo's EventBridge sends events for
// SQS targets to this emulator: whether KUMO_HOST and KUMO_PORT, as the
// process started, name its address. Without Prepare they do not, and
// events for SQS targets go to localhost:4566.
func (e *Emulator) EventsReachQueues() bool {
	host, port := dialAddr(e.addr)
	return os.Getenv(kumoHostEnv) == host && os.Getenv(kumoPortEnv) == port
}
