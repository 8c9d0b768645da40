// Package testenv gives tests real AWS emulators to run against: kumo in
// process, and moto_server as an independent second opinion. It also holds
// SDK middleware for fault injection and call counting, so tests exercise
// the real SDK code path instead of hand-written mocks.
//
// It is imported only by tests.
package testenv

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go/middleware"

	"github.com/docproc/webhooks/internal/awsconf/chain"
	"github.com/docproc/webhooks/internal/dev/freeport"
	"github.com/docproc/webhooks/internal/dev/local/devstack"
	"github.com/docproc/webhooks/internal/dev/local/emulator"
	"github.com/docproc/webhooks/internal/dev/rie"
	"github.com/docproc/webhooks/internal/dev/samtemplate"
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
	kumoSrv  *emulator.Emulator

	motoMu   sync.Mutex
	motoCmd  *exec.Cmd
	motoURL  string
	motoErr  error
	motoDone bool
)

// SkipShort skips t under -short: `go test -short ./...` runs only the
// tests that need no emulator.
func SkipShort(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("needs an AWS emulator; skipped with -short")
	}
}

// Kumo returns the process-wide in-process kumo, behind the same
// one-request-at-a-time proxy `make run` uses (emulator.Start); with Main
// as TestMain, its EventBridge delivers to its SQS. kumo
// keeps its state per process, so tests must use their own table names and
// accounts. It skips t under -short.
func Kumo(t testing.TB) Backend {
	t.Helper()
	SkipShort(t)
	kumoOnce.Do(func() {
		var err error
		if kumoSrv, err = emulator.Start(kumoAddr); err != nil { // the kernel picks the port: no race for it
			panic(fmt.Sprintf("start kumo: %v", err))
		}
	})
	return Backend{Name: "kumo", URL: kumoSrv.URL}
}

// Moto returns a moto_server started on a free loopback port, once per test
// binary, serving one request at a time but for SQS ones (see motoLauncher). It skips the
// test, with a visible message, when moto cannot be started, unless
// REQUIRE_MOTO is set (CI sets it); then the test fails. Packages that call
// it must stop it with Main.
func Moto(t testing.TB) Backend {
	t.Helper()
	SkipShort(t)
	motoMu.Lock()
	defer motoMu.Unlock()
	if !motoDone {
		motoDone = true
		motoURL, motoCmd, motoErr = startMoto()
	}
	if motoErr != nil && os.Getenv("REQUIRE_MOTO") != "" {
		t.Fatalf("moto cross-check required (REQUIRE_MOTO is set): %v", motoErr)
	}
	if motoErr != nil {
		t.Skipf("SKIP moto cross-check: %v", motoErr)
	}
	return Backend{Name: "moto", URL: motoURL}
}

// python returns a Python interpreter that can import moto's server.
// moto_server itself may be a shim script (pyenv), so it is not asked.
func python() (string, error) {
	for _, name := range []string{"python3", "python"} {
		bin, err := exec.LookPath(name)
		if err == nil && exec.Command(bin, "-c", "import moto.server, werkzeug").Run() == nil {
			return bin, nil
		}
	}
	return "", fmt.Errorf("no python3 on PATH can import moto.server (pip install 'moto[server]')")
}

// kumoAddr is where the tests' kumo listens: the kernel picks the port.
const kumoAddr = "127.0.0.1:0"

// Main runs the package's tests and then stops moto_server if it was started.
// Use it as TestMain: func TestMain(m *testing.M) { testenv.Main(m) }.
//
// First it re-executes the test binary once, with a listener for kumo
// and KUMO_HOST and KUMO_PORT naming it (emulator.Prepare), so that
// kumo's EventBridge delivers to SQS targets on the tests' kumo. Without
// Main, Kumo still works, but events for SQS targets go to
// localhost:4566.
func Main(m *testing.M) {
	if err := emulator.Prepare(kumoAddr, ""); err != nil {
		fmt.Fprintf(os.Stderr, "testenv: kumo's EventBridge cannot reach its SQS in these tests: %v\n", err)
	}
	code := m.Run()
	motoMu.Lock()
	if motoCmd != nil && motoCmd.Process != nil {
		_ = syscall.Kill(-motoCmd.Process.Pid, syscall.SIGKILL)
		_ = motoCmd.Wait()
	}
	motoMu.Unlock()
	os.Exit(code)
}

// motoLauncher runs moto_server's application so that every request but
// an SQS one runs alone. moto_server's own threaded server applies a
// conditional write or a transaction without isolation, so concurrent
// requests can both pass a condition that only one of them should;
// DynamoDB's writes are isolated, and the concurrency tests rely on that.
// SQS requests (by their signature's credential scope) bypass the lock,
// as they bypass kumo's proxy lock (internal/dev/local/emulator): the local
// pipeline's pollers long-poll, and one request at a time would stall
// every other call behind each poll.
const motoLauncher = `import sys, threading
from werkzeug.serving import run_simple
from moto.server import DomainDispatcherApplication, create_backend_app
app = DomainDispatcherApplication(create_backend_app)
lock = threading.Lock()
def one_at_a_time(environ, start_response):
    if "/sqs/aws4_request" in environ.get("HTTP_AUTHORIZATION", ""):
        return app(environ, start_response)
    with lock:
        return list(app(environ, start_response))
run_simple(sys.argv[1], int(sys.argv[2]), one_at_a_time, threaded=True)
`

// startMoto starts moto_server and waits until it answers.
func startMoto() (string, *exec.Cmd, error) {
	py, err := python()
	if err != nil {
		return "", nil, err
	}
	addr, err := freeport.Addr()
	if err != nil {
		return "", nil, err
	}
	_, port, _ := net.SplitHostPort(addr)
	cmd := exec.Command(py, "-c", motoLauncher, "127.0.0.1", port)
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

// RepoFile returns the path of name relative to the repository root, so
// tests in any package reach template.yaml and events/ the same way.
func RepoFile(name string) string {
	_, file, _, _ := runtime.Caller(0) // .../internal/dev/testenv/testenv.go
	return filepath.Join(filepath.Dir(file), "..", "..", "..", name)
}

// CreateTable creates table name on client's endpoint from the table that
// template.yaml defines, as `make run` does.
func CreateTable(t testing.TB, client *dynamodb.Client, name string) {
	t.Helper()
	tmpl, err := samtemplate.Load(RepoFile("template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := devstack.EnsureTable(context.Background(), client, tmpl, name); err != nil {
		t.Fatal(err)
	}
}

// ForEachBackend runs f once against kumo and once against moto_server,
// each as a parallel subtest named for the backend. It skips t under
// -short.
func ForEachBackend(t *testing.T, f func(t *testing.T, b Backend)) {
	t.Helper()
	SkipShort(t)
	for _, name := range []string{"kumo", "moto"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := Kumo(t)
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
	cfg, err := chain.ForEndpoint(context.Background(), b.URL, "us-east-1", config.WithAPIOptions(mw))
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

// InvokeTimeout bounds one invocation of a function under the Runtime
// Interface Emulator, the first of which includes the function's start:
// generous, for a loaded machine.
const InvokeTimeout = 90 * time.Second

// LogTimeout bounds the wait for a line of a function's output, which may
// reach the emulator's log after the invocation returned.
const LogTimeout = 30 * time.Second

// StartFunction builds the Lambda entry point in the test's own package
// and starts it under the Runtime Interface Emulator, as `sam local invoke`
// would, with the section for id (a logical id in template.yaml) of
// events/env.json pointed at kumo. It returns the emulator and that
// environment. The emulator stops when the test ends; if the test failed,
// its output is logged.
func StartFunction(t *testing.T, id string) (*rie.Emulator, map[string]string) {
	t.Helper()
	return StartFunctionWith(t, id, nil)
}

// StartFunctionWith is StartFunction with overrides: each variable in
// overrides replaces or adds to the environment after it was read from
// events/env.json and pointed at kumo, so a test can give the function its
// own table or queues, or settings env.json leaves out (such as
// ALLOWED_DESTINATION_CIDRS). The environment returned includes them.
func StartFunctionWith(t *testing.T, id string, overrides map[string]string) (*rie.Emulator, map[string]string) {
	t.Helper()
	SkipShort(t)
	bootstrap := filepath.Join(t.TempDir(), "bootstrap")
	if err := rie.Build(".", bootstrap, runtime.GOARCH); err != nil {
		t.Fatal(err)
	}
	tool, err := rie.Tool()
	if err != nil {
		t.Fatal(err)
	}
	env, err := rie.FunctionEnv(RepoFile(""), id, Kumo(t).URL)
	if err != nil {
		t.Fatal(err)
	}
	maps.Copy(env, overrides)
	emu, err := rie.Start(tool, bootstrap, env)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		emu.Stop()
		if t.Failed() {
			t.Logf("emulator and function output:\n%s", emu.Logs())
		}
	})
	return emu, env
}

// EventFiles returns the API Gateway events in events/ (every JSON file
// directly in it but env.json, the functions' environment), by file name.
// The other functions' events live in subfolders (events/janitor,
// events/fanout, events/delivery), which it does not read.
func EventFiles(t testing.TB) map[string][]byte {
	t.Helper()
	paths, err := filepath.Glob(RepoFile("events/*.json"))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, p := range paths {
		if filepath.Base(p) == "env.json" {
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		files[filepath.Base(p)] = b
	}
	if len(files) == 0 {
		t.Fatal("no events in events/")
	}
	return files
}

// ReadSQSEvent reads the SQS event in file name (relative to the
// repository root, such as "events/fanout/document-uploaded.json") as
// Lambda hands it to a function. A field that events.SQSEvent does not
// know fails t, so a misspelt fixture cannot pass unnoticed. It returns
// the event and the file's bytes.
func ReadSQSEvent(t testing.TB, name string) (events.SQSEvent, []byte) {
	t.Helper()
	raw, err := os.ReadFile(RepoFile(name))
	if err != nil {
		t.Fatal(err)
	}
	var ev events.SQSEvent
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ev); err != nil {
		t.Fatalf("%s is not an SQS event: %v", name, err)
	}
	if dec.More() {
		t.Fatalf("%s has more than one JSON value", name)
	}
	if len(ev.Records) == 0 {
		t.Fatalf("%s has no records", name)
	}
	for i, rec := range ev.Records {
		if err := CheckSQSMessage(rec); err != nil {
			t.Errorf("%s: record %d: %v", name, i, err)
		}
	}
	if err := SameAfterRoundTrip(raw, ev); err != nil {
		t.Errorf("%s: %v", name, err)
	}
	return ev, raw
}

// sqsAttributes are the system attributes Lambda's SQS event source puts
// on every record.
var sqsAttributes = []string{"ApproximateReceiveCount", "SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp"}

// CheckSQSMessage reports how m differs from a record of an SQS event as
// Lambda's event source mapping builds it: ids and receipt handle set,
// eventSource aws:sqs, a queue ARN in awsRegion, the system attributes,
// and md5OfBody the MD5 of the body.
func CheckSQSMessage(m events.SQSMessage) error {
	var problems []string
	if m.MessageId == "" || m.ReceiptHandle == "" {
		problems = append(problems, "no messageId or receiptHandle")
	}
	if m.EventSource != "aws:sqs" {
		problems = append(problems, fmt.Sprintf("eventSource %q, want aws:sqs", m.EventSource))
	}
	if arn := strings.Split(m.EventSourceARN, ":"); len(arn) != 6 || arn[0] != "arn" || arn[2] != "sqs" || arn[3] != m.AWSRegion || m.AWSRegion == "" {
		problems = append(problems, fmt.Sprintf("eventSourceARN %q is not a queue in awsRegion %q", m.EventSourceARN, m.AWSRegion))
	}
	for _, a := range sqsAttributes {
		if m.Attributes[a] == "" {
			problems = append(problems, "no attribute "+a)
		}
	}
	if sum := md5.Sum([]byte(m.Body)); m.Md5OfBody != hex.EncodeToString(sum[:]) {
		problems = append(problems, fmt.Sprintf("md5OfBody %q is not the MD5 of the body (%x)", m.Md5OfBody, sum))
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

// SameAfterRoundTrip reports, as an error, what decoding raw into decoded
// (an aws-lambda-go event) and encoding it again loses: a misspelt or
// stray field of a fixture. Empty strings, lists and objects, false and
// zero, which the events package adds or omits, are not compared.
func SameAfterRoundTrip(raw []byte, decoded any) error {
	again, err := json.Marshal(decoded)
	if err != nil {
		return err
	}
	var want, got any
	if err := json.Unmarshal(raw, &want); err != nil {
		return err
	}
	if err := json.Unmarshal(again, &got); err != nil {
		return err
	}
	if !reflect.DeepEqual(pruneEmpty(want), pruneEmpty(got)) {
		return fmt.Errorf("fields lost in a round trip:\nfile %v\n got %v", want, got)
	}
	return nil
}

// pruneEmpty drops empty strings, lists and objects, false and zero.
func pruneEmpty(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			e = pruneEmpty(e)
			if e == nil || e == "" || e == false || e == float64(0) {
				continue
			}
			if m, ok := e.(map[string]any); ok && len(m) == 0 {
				continue
			}
			if l, ok := e.([]any); ok && len(l) == 0 {
				continue
			}
			out[k] = e
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = pruneEmpty(e)
		}
		return out
	default:
		return v
	}
}

// NoDeps fails t when the package in the current directory links any of
// forbidden (import paths, each with the packages under it): `go list
// -deps`, so test files' imports do not count. The commands use it to stay
// small.
func NoDeps(t *testing.T, forbidden ...string) {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	if len(deps) == 0 {
		t.Fatal("go list -deps listed nothing")
	}
	for _, dep := range deps {
		for _, f := range forbidden {
			if dep == f || strings.HasPrefix(dep, f+"/") {
				t.Errorf("this package links %s", dep)
			}
		}
	}
}
