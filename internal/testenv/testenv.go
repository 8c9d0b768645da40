// Package testenv gives tests real AWS emulators to run against: kumo in
// process, and moto_server as an independent second opinion. It also holds
// SDK middleware for fault injection and call counting, so tests exercise
// the real SDK code path instead of hand-written mocks.
//
// It is imported only by tests.
package testenv

import (
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go/middleware"
	"github.com/sivchari/kumo"

	"github.com/docproc/webhooks/internal/local"
	"github.com/docproc/webhooks/internal/samtemplate"
)

// Backend is a running AWS emulator.
type Backend struct {
	// Name is "kumo" or "moto".
	Name string
	// URL is its endpoint, for AWS_ENDPOINT_URL.
	URL string
}

var (
	kumoOnce sync.Once
	kumoSrv  *kumo.Server

	motoMu   sync.Mutex
	motoCmd  *exec.Cmd
	motoURL  string
	motoErr  error
	motoDone bool
)

// Kumo returns the process-wide in-process kumo. kumo keeps its state per
// process, so tests must use their own table names and accounts.
func Kumo() Backend {
	kumoOnce.Do(func() { kumoSrv = kumo.NewServer() })
	return Backend{Name: "kumo", URL: kumoSrv.URL}
}

// Moto returns a moto_server started on a free loopback port, once per test
// binary. It skips the test, with a visible message, when moto_server is
// not installed. Packages that call it must stop it with Main.
func Moto(t testing.TB) Backend {
	t.Helper()
	motoMu.Lock()
	defer motoMu.Unlock()
	if !motoDone {
		motoDone = true
		motoURL, motoCmd, motoErr = startMoto()
	}
	if motoErr != nil {
		t.Skipf("SKIP moto cross-check: %v", motoErr)
	}
	return Backend{Name: "moto", URL: motoURL}
}

// Main runs the package's tests and then stops moto_server if it was started.
// Use it as TestMain: func TestMain(m *testing.M) { testenv.Main(m) }.
func Main(m *testing.M) {
	code := m.Run()
	motoMu.Lock()
	if motoCmd != nil && motoCmd.Process != nil {
		_ = syscall.Kill(-motoCmd.Process.Pid, syscall.SIGKILL)
		_ = motoCmd.Wait()
	}
	motoMu.Unlock()
	os.Exit(code)
}

// startMoto starts moto_server and waits until it answers.
func startMoto() (string, *exec.Cmd, error) {
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		return "", nil, fmt.Errorf("moto_server is not installed (pip install 'moto[server]')")
	}
	addr, err := FreeAddr()
	if err != nil {
		return "", nil, err
	}
	_, port, _ := net.SplitHostPort(addr)
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", port)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return "", nil, fmt.Errorf("start moto_server: %w", err)
	}
	url := "http://127.0.0.1:" + port
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(url + "/moto-api/")
		if err == nil {
			_ = resp.Body.Close()
			return url, cmd, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	_ = cmd.Wait()
	return "", nil, fmt.Errorf("moto_server did not answer on %s within 30s", url)
}

// FreeAddr asks the kernel for a free loopback address ("127.0.0.1:port").
func FreeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// RepoFile returns the path of name relative to the repository root, so
// tests in any package reach template.yaml and events/ the same way.
func RepoFile(name string) string {
	_, file, _, _ := runtime.Caller(0) // .../internal/testenv/testenv.go
	return filepath.Join(filepath.Dir(file), "..", "..", name)
}

// CreateTable creates table name on client's endpoint from the table that
// template.yaml defines, as `make run` does.
func CreateTable(t testing.TB, client *dynamodb.Client, name string) {
	t.Helper()
	tmpl, err := samtemplate.Load(RepoFile("template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := local.EnsureTable(context.Background(), client, tmpl, name); err != nil {
		t.Fatal(err)
	}
}

// ForEachBackend runs f once against kumo and once against moto_server,
// each as a parallel subtest named for the backend.
func ForEachBackend(t *testing.T, f func(t *testing.T, b Backend)) {
	t.Helper()
	for _, name := range []string{"kumo", "moto"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := Kumo()
			if name == "moto" {
				b = Moto(t)
			}
			f(t, b)
		})
	}
}

// Config returns SDK configuration for b, with middleware added to every
// client built from it.
func (b Backend) Config(t testing.TB, mw ...func(*middleware.Stack) error) aws.Config {
	t.Helper()
	cfg, err := local.AWSConfig(context.Background(), b.URL, "us-east-1", config.WithAPIOptions(mw))
	if err != nil {
		t.Fatalf("aws config for %s: %v", b.Name, err)
	}
	return cfg
}

// Unique returns prefix plus a random lower-case suffix, for table names,
// accounts and secret prefixes that must not clash between tests.
func Unique(prefix string) string {
	return prefix + strings.ToLower(rand.Text()[:12])
}
