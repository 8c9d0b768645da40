// Package docs_test holds the tests of the documentation itself: every
// shell example in README.md and docs/*.md runs, as written, against the
// local stack on both emulators, and prints what the docs say it prints;
// and every error code the service can return is documented in
// docs/api.md. The conventions are described at the top of
// docs/development.md.
//
// The tests live here, next to the files they check, so that `go test
// ./docs` is the obvious command and a change to the docs is tested by the
// package that owns them.
package docs_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/docproc/webhooks/internal/dev/local/devkey"
	"github.com/docproc/webhooks/internal/dev/syncbuf"

	"github.com/docproc/webhooks/internal/dev/freeport"
	"github.com/docproc/webhooks/internal/dev/local/devstack"
	"github.com/docproc/webhooks/internal/dev/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// The docs' examples find the local stack as a user who moved its ports
// would: the API at http://127.0.0.1:${PORT:-3000}, the emulator at
// http://127.0.0.1:${EMULATOR_PORT:-4566} and the sample receiver at
// https://127.0.0.1:${RECEIVER_PORT:-9443}/, kept in the variables make
// run's banner exports (docsVars). The test sets the ports' variables to
// the test stack's ports, so an example that spells a default port out
// instead fails (and TestExamplesConvention names it).
const (
	portVar         = "PORT"
	emulatorPortVar = "EMULATOR_PORT"
	receiverPortVar = "RECEIVER_PORT"
)

// docsVars are the variables the examples keep the stack's URLs and the
// dev key in, as make run's banner and the receiver export them. The test
// clears them, so that each file's examples set them as a reader would.
var docsVars = []string{devstack.VarAPI, devstack.VarEmulator, devstack.VarKey, devstack.VarReceiver}

// hardCodedPort finds a default port spelled out in an example, where it
// should be read from its variable.
var hardCodedPort = regexp.MustCompile(`(127\.0\.0\.1|localhost):(3000|4566|9443)\b`)

// The sample receiver as the docs run it: `go run ./cmd/receiver` keeps its
// CA in .local/. A file whose examples run it gets a receiver port and a
// directory of its own, so that the two emulators' runs, which go in
// parallel, do not meet: the test sets RECEIVER_PORT, adds -ca-file to the
// command, and rewrites .local/ to that directory.
const (
	docsReceiver      = "go run ./cmd/receiver"
	docsLocalDir      = ".local/"
	docsReceiverCA    = "receiver-ca.pem"
	receiverListening = "receiver: listening on"
)

// block is one fenced code block of a Markdown file.
type block struct {
	info      string // the info string: sh, http, output, console, text, json, ...
	line      int    // line number of the opening fence
	text      string // the content, with the fence's indentation removed
	adjacent  bool   // only blank lines separate it from the block before
	afterLine int    // line number of the closing fence
}

var fence = regexp.MustCompile("^( *)```(.*)$")

// parseBlocks returns the fenced code blocks of md in order.
func parseBlocks(t *testing.T, name, md string) []block {
	t.Helper()
	var blocks []block
	lines := strings.Split(md, "\n")
	lastClose := -10 // index of the last closing fence
	for i := 0; i < len(lines); i++ {
		m := fence.FindStringSubmatch(lines[i])
		if m == nil {
			continue
		}
		indent, info := len(m[1]), strings.TrimSpace(m[2])
		if info == "" {
			t.Errorf("%s:%d: a fenced block without an info string; name it (sh, console, text, http, output, json, ...)", name, i+1)
		}
		adjacent := lastClose >= 0
		for j := lastClose + 1; adjacent && j < i; j++ {
			if strings.TrimSpace(lines[j]) != "" {
				adjacent = false
			}
		}
		b := block{info: info, line: i + 1, adjacent: adjacent}
		var body []string
		j := i + 1
		for ; j < len(lines); j++ {
			if strings.TrimSpace(lines[j]) == "```" {
				break
			}
			l := lines[j]
			if len(l) >= indent && strings.TrimSpace(l[:indent]) == "" {
				l = l[indent:]
			}
			body = append(body, l)
		}
		if j == len(lines) {
			t.Fatalf("%s:%d: fenced block never closed", name, i+1)
		}
		b.text, b.afterLine = strings.Join(body, "\n"), j+1
		blocks = append(blocks, b)
		lastClose, i = j, j
	}
	return blocks
}

// step is one runnable ```sh block and the output the docs show for it.
type step struct {
	file   string
	line   int
	script string
	// wantKind is "http" or "output" when an output block follows the
	// script, "" when the script must print nothing.
	wantKind, want string
}

func (s step) String() string { return fmt.Sprintf("%s:%d", s.file, s.line) }

// steps returns the runnable examples of a file, in order.
func steps(t *testing.T, name, md string) []step {
	t.Helper()
	blocks := parseBlocks(t, name, md)
	var out []step
	for i, b := range blocks {
		switch b.info {
		case "bash", "shell", "zsh", "shell-session":
			t.Errorf("%s:%d: info string %q: use sh for an example that runs against make run, console for one that does not", name, b.line, b.info)
		case "sh":
			s := step{file: name, line: b.line, script: b.text}
			if i+1 < len(blocks) && blocks[i+1].adjacent && (blocks[i+1].info == "http" || blocks[i+1].info == "output") {
				s.wantKind, s.want = blocks[i+1].info, blocks[i+1].text
			}
			out = append(out, s)
		}
	}
	return out
}

// docFiles returns README.md and docs/*.md, relative to the repository root.
func docFiles(t *testing.T) (root string, files []string) {
	t.Helper()
	root = testenv.RepoFile("")
	files = []string{"README.md"}
	more, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range more {
		rel, _ := filepath.Rel(root, f)
		files = append(files, rel)
	}
	return root, files
}

// TestExamplesConvention checks, without running anything, that every file
// follows the block convention; it runs with -short too.
func TestExamplesConvention(t *testing.T) {
	root, files := docFiles(t)
	total := 0
	for _, f := range files {
		md, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range steps(t, f, string(md)) {
			total++
			if m := hardCodedPort.FindString(s.script); m != "" {
				t.Errorf("%s: %s is spelled out; read the port from $%s, $%s or $%s (for example API=http://127.0.0.1:${PORT:-3000}), so that the example works on moved ports", s, m, portVar, emulatorPortVar, receiverPortVar)
			}
			if s.wantKind == "http" {
				if len(parseResponses(s.want)) == 0 {
					t.Errorf("%s: the http block after it has no status line", s)
				}
			}
		}
	}
	if total < 10 {
		t.Errorf("found %d runnable examples in %v; the convention is broken", total, files)
	}
}

// TestGoBlocksAreCompiled checks that every ```go block of README.md and
// docs/*.md appears, word for word, in a Go file of this package
// (publish_example_test.go), which the test binary compiles: Go code in
// the docs cannot go stale. It runs with -short too.
func TestGoBlocksAreCompiled(t *testing.T) {
	root, files := docFiles(t)
	sources, err := filepath.Glob(filepath.Join(root, "docs", "*_test.go"))
	if err != nil {
		t.Fatal(err)
	}
	var code strings.Builder
	for _, f := range sources {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		code.Write(b)
	}
	found := 0
	for _, f := range files {
		md, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range parseBlocks(t, f, string(md)) {
			if b.info != "go" {
				continue
			}
			found++
			if !strings.Contains(code.String(), b.text) {
				t.Errorf("%s:%d: this go block is not, word for word, in a docs/*_test.go file; put it in one (publish_example_test.go) so that it is compiled", f, b.line)
			}
		}
	}
	if found == 0 {
		t.Error("found no go block; docs/publishing.md shows one")
	}
}

// lineWriter hands each write to a channel.
type lineWriter chan string

func (w lineWriter) Write(p []byte) (int, error) { w <- string(p); return len(p), nil }

// startStack runs what `make run` runs against backend URL, on a free
// port, with its own table and secret prefix, and returns the API's URL.
// extra adds variables, as `VAR=value make run` would.
func startStack(t *testing.T, endpoint, table string, extra map[string]string) string {
	t.Helper()
	env := map[string]string{
		"PORT": "0", "AWS_ENDPOINT_URL": endpoint, "TEMPLATE": testenv.RepoFile("template.yaml"),
		"TABLE_NAME": table, "SECRET_PREFIX": testenv.Unique("webhooks/docs"),
	}
	for k, v := range extra {
		env[k] = v
	}
	s, err := devstack.FromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	out := make(lineWriter, 8)
	done := make(chan error, 1)
	logs := &syncbuf.Buffer{}
	go func() { done <- devstack.Run(ctx, s, out, logs) }()
	// Run may say which endpoint it uses before its banner.
	var banner string
	deadline := time.After(60 * time.Second)
	for !strings.Contains(banner, "Local webhook API") {
		select {
		case banner = <-out:
		case err := <-done:
			cancel()
			t.Fatalf("Run stopped early: %v", err)
		case <-deadline:
			cancel()
			t.Fatal("Run printed no banner in 60s")
		}
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run after cancel: %v", err)
		}
		if !strings.Contains(logs.String(), "Stopping; the data stays in the emulator at AWS_ENDPOINT_URL="+endpoint) {
			t.Errorf("Run stopped without saying where the data is:\n%s", logs.String())
		}
	})
	m := regexp.MustCompile(`Local webhook API\s+(http://\S+)`).FindStringSubmatch(banner)
	if m == nil || !strings.Contains(banner, devkey.APIKey) {
		t.Fatalf("banner lacks the API URL or the dev key:\n%s", banner)
	}
	return m[1]
}

// usesReceiver says whether a file's examples run the sample receiver.
func usesReceiver(ss []step) bool {
	for _, s := range ss {
		if strings.Contains(s.script, docsReceiver) {
			return true
		}
	}
	return false
}

// usesAWSCLI says whether a file's examples run the AWS CLI.
func usesAWSCLI(ss []step) bool {
	for _, s := range ss {
		if regexp.MustCompile(`(^|[\s;|(])aws\s`).MatchString(s.script) {
			return true
		}
	}
	return false
}

// receiver is where one file's run of the sample receiver listens and
// keeps its files (what the docs call .local/).
type receiver struct{ addr, dir string }

// caFile is the receiver's CA certificate, for DELIVERY_CA_FILE.
func (r receiver) caFile() string { return filepath.Join(r.dir, docsReceiverCA) }

// rewrites are the strings.NewReplacer pairs that turn the docs' receiver
// command and .local/ into r's.
func (r receiver) rewrites() []string {
	return []string{
		docsReceiver, docsReceiver + " -ca-file " + r.caFile(),
		docsLocalDir, r.dir + "/",
	}
}

// port returns the port of address addr (host:port or a URL).
func port(t *testing.T, addr string) string {
	t.Helper()
	i := strings.LastIndex(addr, ":")
	p := strings.TrimRight(addr[i+1:], "/")
	if _, err := strconv.Atoi(p); i < 0 || err != nil {
		t.Fatalf("no port in %q", addr)
	}
	return p
}

// startReceiver does what the docs ask for before `make run`: it runs
// `go run ./cmd/receiver` until it says where it listens, having written
// its CA, then stops it as Ctrl-C does. The CA stays for the examples'
// own start of the receiver, with the secret. The first `go run` builds
// the receiver, so it may take a while.
func startReceiver(t *testing.T, root string) receiver {
	t.Helper()
	addr, err := freeport.Addr()
	if err != nil {
		t.Fatal(err)
	}
	r := receiver{addr: addr, dir: t.TempDir()}
	t.Cleanup(func() {
		if t.Failed() { // what the examples' receiver said, if one ran
			for _, name := range []string{"receiver.log", "receiver.out"} {
				if b, err := os.ReadFile(filepath.Join(r.dir, name)); err == nil {
					t.Logf("%s%s:\n%s", docsLocalDir, name, b)
				}
			}
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	args := append(strings.Fields(docsReceiver), "-addr", r.addr, "-ca-file", r.caFile())
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Dir = root
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "WEBHOOK_SECRET=") { // none yet: it answers 503
			env = append(env, kv)
		}
	}
	cmd.Env = env
	// go run waits for the program it runs; Ctrl-C reaches both, as the
	// signal to their process group does here.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	lines := make(lineWriter, 64)
	cmd.Stderr = lines
	if err := cmd.Start(); err != nil {
		t.Fatalf("%s: %v", docsReceiver, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	var said strings.Builder
	for !strings.Contains(said.String(), receiverListening) {
		select {
		case l := <-lines:
			said.WriteString(l)
		case err := <-exited:
			t.Fatalf("%s stopped before it listened: %v\n%s", docsReceiver, err, said.String())
		case <-ctx.Done():
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
			t.Fatalf("%s did not say %q within 4 minutes:\n%s", docsReceiver, receiverListening, said.String())
		}
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGINT)
	for done := false; !done; {
		select {
		case <-lines: // its shutdown lines
		case <-exited:
			done = true
		case <-ctx.Done():
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
			done = true
		}
	}
	if _, err := os.Stat(r.caFile()); err != nil {
		t.Fatalf("%s said it listens, but wrote no CA: %v\n%s", docsReceiver, err, said.String())
	}
	return r
}

// TestDocExamples runs every ```sh block of README.md and docs/*.md, in
// order, one bash per file, against a fresh local stack on each emulator,
// and compares what each block prints with the http or output block that
// follows it.
func TestDocExamples(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the local stack on the emulators; skipped with -short")
	}
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	root, files := docFiles(t)
	type fileSteps struct {
		name  string
		steps []step
	}
	var all []fileSteps
	for _, f := range files {
		md, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		if ss := steps(t, f, string(md)); len(ss) > 0 {
			all = append(all, fileSteps{f, ss})
		}
	}
	testenv.ForEachBackend(t, func(t *testing.T, b testenv.Backend) {
		for _, f := range all {
			t.Run(f.name, func(t *testing.T) {
				if _, err := exec.LookPath("aws"); err != nil && usesAWSCLI(f.steps) {
					t.Skip("SKIP: its examples need the AWS CLI, which is not installed (pip install awscli; .ci/run installs it)")
				}
				table := testenv.Unique("docs-")
				var extra map[string]string
				var rewrites []string
				vars := map[string]string{emulatorPortVar: port(t, b.URL)}
				if usesReceiver(f.steps) {
					// As the docs say: the receiver first, for its CA,
					// then make run trusting it and allowing loopback.
					r := startReceiver(t, root)
					extra = map[string]string{"ALLOWED_DESTINATION_CIDRS": "127.0.0.1/32", "DELIVERY_CA_FILE": r.caFile()}
					rewrites = r.rewrites()
					vars[receiverPortVar] = port(t, r.addr)
				}
				api := startStack(t, b.URL, table, extra)
				if !strings.HasPrefix(api, "http://127.0.0.1:") {
					t.Fatalf("the test stack's API is at %s; the docs read only its port", api)
				}
				vars[portVar] = port(t, api)
				runSteps(t, root, table, vars, strings.NewReplacer(rewrites...), f.steps)
			})
		}
	})
}

var (
	stepMark = regexp.MustCompile(`\n@@docstep (\d+)@@\n`)
	rcMark   = regexp.MustCompile(`\n@@rc (\d+)@@\n?$`)
)

// runSteps runs the steps of one file in one bash, so that a variable one
// example sets is there for the next, and checks each step's output.
// vars are the ports' variables, set as a user who moved them would set
// them; rewrite turns the docs' receiver files into the test's.
func runSteps(t *testing.T, root, table string, vars map[string]string, rewrite *strings.Replacer, ss []step) {
	t.Helper()
	var script strings.Builder
	for i, s := range ss {
		fmt.Fprintf(&script, "printf '\\n@@docstep %d@@\\n'; printf '\\n@@docstep %d@@\\n' >&2\n%s\nprintf '\\n@@rc %%d@@\\n' $?\n", i, i, rewrite.Replace(s.script))
	}
	// Generous: a file may build and start the sample receiver, and wait
	// for a delivery, on a loaded machine.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "--noprofile", "--norc", "-c", script.String())
	cmd.Dir = root
	cmd.Stdin = nil
	// An example may leave a process in the background (the receiver):
	// bash and everything it starts share a process group, which is
	// killed when bash ends or the time is up.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "AWS_ENDPOINT_URL", "TABLE_NAME", "BASH_ENV", "ENV", "WEBHOOK_SECRET",
			portVar, emulatorPortVar, receiverPortVar:
			continue
		}
		if slices.Contains(docsVars, k) {
			continue
		}
		env = append(env, kv)
	}
	for k, v := range vars {
		env = append(env, k+"="+v)
	}
	// The operator command finds the test's table (make run's is webhooks-local).
	cmd.Env = append(env, "TABLE_NAME="+table)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // what the examples left running
	}
	if err != nil {
		t.Errorf("bash: %v\nstderr:\n%s", err, stderr.String())
	}
	outs, errs := splitSteps(stdout.String()), splitSteps(stderr.String())
	for i, s := range ss {
		out, ok := outs[i]
		if !ok {
			t.Errorf("%s: did not run", s)
			continue
		}
		if e := strings.TrimSpace(errs[i]); e != "" {
			t.Errorf("%s: wrote to stderr:\n%s", s, e)
		}
		m := rcMark.FindStringSubmatchIndex(out)
		if m == nil {
			t.Errorf("%s: no exit status (did it exit the shell?); output:\n%s", s, out)
			continue
		}
		if rc := out[m[2]:m[3]]; rc != "0" {
			t.Errorf("%s: exit status %s", s, rc)
		}
		out = out[:m[0]]
		for _, problem := range compare(s, out) {
			t.Errorf("%s: %s\nscript:\n%s\nprinted:\n%s", s, problem, s.script, out)
		}
	}
}

// splitSteps splits a stream written by the script into each step's part.
func splitSteps(s string) map[int]string {
	parts := map[int]string{}
	idx := stepMark.FindAllStringSubmatchIndex("\n"+s, -1)
	s = "\n" + s
	for k, m := range idx {
		n, _ := strconv.Atoi(s[m[2]:m[3]])
		end := len(s)
		if k+1 < len(idx) {
			end = idx[k+1][0]
		}
		parts[n] = s[m[1]:end]
	}
	return parts
}

// response is one HTTP response as curl -i prints it, or as the docs show it.
type response struct {
	status  int
	headers []string // lower-case names
	body    string
}

var statusLine = regexp.MustCompile(`^HTTP/[0-9.]+ (\d{3})`)

// parseResponses splits text into the responses it holds; each starts with
// a status line, then headers up to a blank line, then the body.
func parseResponses(text string) []response {
	var rs []response
	inHeaders := false
	var body []string
	flush := func() {
		if len(rs) > 0 {
			rs[len(rs)-1].body = strings.TrimSpace(strings.Join(body, "\n"))
		}
		body = nil
	}
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		l := strings.TrimRight(sc.Text(), "\r")
		if m := statusLine.FindStringSubmatch(l); m != nil {
			flush()
			code, _ := strconv.Atoi(m[1])
			rs = append(rs, response{status: code})
			inHeaders = true
			continue
		}
		switch {
		case len(rs) == 0:
			// text before the first response
		case inHeaders && strings.TrimSpace(l) == "":
			inHeaders = false
		case inHeaders:
			name, _, _ := strings.Cut(l, ":")
			rs[len(rs)-1].headers = append(rs[len(rs)-1].headers, strings.ToLower(strings.TrimSpace(name)))
		default:
			body = append(body, l)
		}
	}
	flush()
	return rs
}

// compare checks a step's output against what the docs show and returns
// the differences.
func compare(s step, out string) []string {
	switch s.wantKind {
	case "":
		if strings.TrimSpace(out) != "" {
			return []string{"printed output, but no http or output block follows it in the docs"}
		}
		return nil
	case "output":
		want, got := normalize(s.want), normalize(out)
		if want != got {
			return []string{fmt.Sprintf("output differs from the docs (volatile values masked)\ndocs: %q\nreal: %q", want, got)}
		}
		return nil
	}
	want, got := parseResponses(s.want), parseResponses(out)
	if len(want) != len(got) {
		return []string{fmt.Sprintf("the docs show %d responses, it printed %d (use curl -i)", len(want), len(got))}
	}
	var problems []string
	for i := range want {
		w, g := want[i], got[i]
		if w.status != g.status {
			problems = append(problems, fmt.Sprintf("response %d: status %d, the docs say %d", i+1, g.status, w.status))
		}
		for _, h := range w.headers {
			if !slices.Contains(g.headers, h) {
				problems = append(problems, fmt.Sprintf("response %d: the docs show header %q, the response has none", i+1, h))
			}
		}
		if (w.body == "") != (g.body == "") {
			problems = append(problems, fmt.Sprintf("response %d: body %q, the docs show %q", i+1, g.body, w.body))
			continue
		}
		wk, werr := jsonMembers(w.body)
		gk, gerr := jsonMembers(g.body)
		switch {
		case werr != nil && gerr != nil: // both text
			if normalize(w.body) != normalize(g.body) {
				problems = append(problems, fmt.Sprintf("response %d: body %q, the docs show %q", i+1, g.body, w.body))
			}
		case werr != nil:
			problems = append(problems, fmt.Sprintf("response %d: the docs' body is not JSON: %v", i+1, werr))
		case gerr != nil:
			problems = append(problems, fmt.Sprintf("response %d: the body is not JSON: %v", i+1, gerr))
		case !slices.Equal(wk, gk):
			problems = append(problems, fmt.Sprintf("response %d: JSON member names differ\ndocs: %v\nreal: %v", i+1, wk, gk))
		}
	}
	return problems
}

// jsonMembers returns the sorted, de-duplicated member names of the JSON
// value in s, each as a path: error.details[].param.
func jsonMembers(s string) ([]string, error) {
	var v any
	dec := json.NewDecoder(strings.NewReader(s))
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("more than one JSON value")
	}
	set := map[string]bool{}
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, e := range v {
				set[path+k] = true
				walk(path+k+".", e)
			}
		case []any:
			for _, e := range v {
				walk(strings.TrimSuffix(path, ".")+"[].", e)
			}
		}
	}
	walk("", v)
	keys := make([]string, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys, nil
}

// Volatile values: each run makes new ids, keys, secrets and times.
var volatile = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`\b[0-9a-f]{64}\b`), "<sha256>"},
	{regexp.MustCompile(`\bdk_(test|live)_[A-Za-z0-9]{24,64}\b`), "dk_${1}_<key>"},
	{regexp.MustCompile(`\bdk_(test|live)_\.\.\.[A-Za-z0-9]{4}\b`), "dk_${1}_...<last4>"},
	{regexp.MustCompile(`\bwh_[0-9A-Z]{26}\b`), "wh_<id>"},
	{regexp.MustCompile(`\bevt_[0-9A-Z]{26}\b`), "evt_<id>"},
	{regexp.MustCompile(`\bmsg_[0-9A-Z]{26}\b`), "msg_<id>"},
	// EventBridge's event ids, which go run ./cmd/publish prints.
	{regexp.MustCompile(`\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b`), "<uuid>"},
	{regexp.MustCompile(`whsec_[A-Za-z0-9+/]+=*`), "whsec_<secret>"},
	{regexp.MustCompile(`\b\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z`), "<time>"},
	{regexp.MustCompile(`\blocal-[a-z0-9]{26}\b`), "<request id>"},
	{regexp.MustCompile(`[ \t]+`), " "},
}

// normalize masks volatile values and runs of blanks, so that a sample
// output in the docs compares equal to a real one.
func normalize(s string) string {
	var lines []string
	for _, l := range strings.Split(strings.ReplaceAll(strings.TrimSpace(s), "\r", ""), "\n") {
		for _, v := range volatile {
			l = v.re.ReplaceAllString(l, v.with)
		}
		lines = append(lines, strings.TrimSpace(l))
	}
	return strings.Join(lines, "\n")
}

// TestOutputComparisonCanFail keeps the comparison honest: outputs that
// differ from the docs in status, headers, members or text are reported.
func TestOutputComparisonCanFail(t *testing.T) {
	const real = "HTTP/1.1 201 Created\r\nLocation: /v1/webhooks/wh_01M8SGT70QQ4PTG9XEA6QS0TH0\r\n\r\n{\"id\":\"wh_01M8SGT70QQ4PTG9XEA6QS0TH0\",\"object\":\"webhook\"}"
	for _, c := range []struct {
		kind, want string
		ok         bool
	}{
		{"http", "HTTP/1.1 201 Created\nLocation: /v1/webhooks/wh_01M8E489BDY4F8F1VPT4Q8QZXW\n\n{\"id\":\"wh_01M8E489BDY4F8F1VPT4Q8QZXW\",\"object\":\"webhook\"}", true},
		{"http", "HTTP/1.1 200 OK\n\n{\"id\":\"wh_01M8E489BDY4F8F1VPT4Q8QZXW\",\"object\":\"webhook\"}", false},
		{"http", "HTTP/1.1 201 Created\nRetry-After: 2\n\n{\"id\":\"wh_01M8E489BDY4F8F1VPT4Q8QZXW\",\"object\":\"webhook\"}", false},
		{"http", "HTTP/1.1 201 Created\n\n{\"id\":\"wh_01M8E489BDY4F8F1VPT4Q8QZXW\"}", false},
		{"http", "HTTP/1.1 201 Created\n\n{\"id\":\"x\",\"object\":\"webhook\",\"deleted\":true}", false},
		{"output", "HTTP/1.1 201 Created", false},
		{"", "", false},
	} {
		problems := compare(step{wantKind: c.kind, want: c.want}, real)
		if (len(problems) == 0) != c.ok {
			t.Errorf("compare(%q) = %v, want ok=%v", c.want, problems, c.ok)
		}
	}
	if got := normalize("revoked 1e574bfd4f51bfdf8d803fd77c51ffc2eb4a70e666f0aceae26591971e9b02bb"); got != "revoked <sha256>" {
		t.Errorf("normalize = %q", got)
	}
	if a, b := normalize("id:\n0c6a1f7e-2b1d-4a43-9d5e-3f1e8b7c6a20"), normalize("id:\n9e0d4c3b-7a6f-4e21-8c0b-5d2f1a3e4b96"); a != b {
		t.Errorf("two EventBridge ids normalize to %q and %q; want them equal", a, b)
	}
}

// codePattern is the shape of an error code: lower-case words joined by _.
var codePattern = regexp.MustCompile(`^[a-z]+(_[a-z]+)+$`)

// errorCodes returns every error code the service can return: the values
// of the constants in internal/apperr/codes.go, each with where it is.
func errorCodes(t *testing.T, root string) map[string]string {
	t.Helper()
	fset := token.NewFileSet()
	path := filepath.Join(root, "internal", "apperr", "codes.go")
	f, err := parser.ParseFile(fset, path, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	codes := map[string]string{} // code -> where it is declared
	ast.Inspect(f, func(n ast.Node) bool {
		spec, ok := n.(*ast.ValueSpec)
		if !ok {
			return true
		}
		for i, name := range spec.Names {
			lit, ok := spec.Values[i].(*ast.BasicLit)
			if !strings.HasPrefix(name.Name, "Code") || !ok || lit.Kind != token.STRING {
				t.Errorf("%s: %s is not a Code* string constant", fset.Position(name.Pos()), name.Name)
				continue
			}
			v, _ := strconv.Unquote(lit.Value)
			codes[v] = fmt.Sprintf("internal/apperr/codes.go:%d", fset.Position(lit.Pos()).Line)
		}
		return true
	})
	return codes
}

// TestErrorCodesLiveInOneFile checks that no Go code under internal/
// spells an error code as a string where an error is built (a Code field,
// the code argument of apperr.New): every code is an apperr Code*
// constant, so that codes.go is the whole list.
func TestErrorCodesLiveInOneFile(t *testing.T) {
	root := testenv.RepoFile("")
	fset := token.NewFileSet()
	err := filepath.WalkDir(filepath.Join(root, "internal"), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		literal := func(e ast.Expr) {
			if lit, ok := e.(*ast.BasicLit); ok && lit.Kind == token.STRING && codePattern.MatchString(strings.Trim(lit.Value, "`\"")) {
				t.Errorf("%s: error code %s is spelled out; use its apperr Code* constant", fset.Position(lit.Pos()), lit.Value)
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.KeyValueExpr:
				if k, ok := n.Key.(*ast.Ident); ok && k.Name == "Code" {
					literal(n.Value)
				}
			case *ast.CallExpr:
				if sel, ok := n.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "New" && len(n.Args) == 3 {
					if x, ok := sel.X.(*ast.Ident); ok && x.Name == "apperr" {
						literal(n.Args[1])
					}
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestEveryErrorCodeIsDocumented checks that docs/api.md names every error
// code the service can return, and that its error table names no code the
// service does not have.
func TestEveryErrorCodeIsDocumented(t *testing.T) {
	root := testenv.RepoFile("")
	codes := errorCodes(t, root)
	if len(codes) < 30 {
		t.Fatalf("found %d codes in internal/apperr/codes.go; the parser is broken", len(codes))
	}
	md, err := os.ReadFile(filepath.Join(root, "docs", "api.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(md)
	for c, where := range codes {
		if !strings.Contains(doc, "`"+c+"`") {
			t.Errorf("error code %q (%s) is not documented in docs/api.md", c, where)
		}
	}
	// Codes in the error table (rows starting "| 4" or "| 5") must exist.
	row := regexp.MustCompile(`(?m)^\| [45]\d\d \|.*$`)
	tick := regexp.MustCompile("`([a-z]+(?:_[a-z]+)+)`")
	documented := 0
	for _, r := range row.FindAllString(doc, -1) {
		cols := strings.Split(r, "|")
		if len(cols) < 4 {
			continue
		}
		for _, m := range tick.FindAllStringSubmatch(cols[3], -1) {
			documented++
			if _, ok := codes[m[1]]; !ok {
				t.Errorf("docs/api.md's error table names %q, which the service never returns", m[1])
			}
		}
	}
	if documented < len(codes) {
		t.Errorf("docs/api.md's error table names %d codes; the service has %d", documented, len(codes))
	}
}
