// Package bench measures what `make bench` reports beyond the Go
// benchmarks: the cold start of the real bootstrap against a hello-world
// aws-lambda-go bootstrap under the Lambda Runtime Interface Emulator, the
// bootstraps' sizes, and the function's peak memory and CPU time over many
// warm invocations. It runs against kumo in this process.
package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/docproc/webhooks/internal/dev/local/devkey"

	"github.com/aws/aws-lambda-go/events"

	"github.com/docproc/webhooks/internal/awsconf/chain"
	"github.com/docproc/webhooks/internal/dev/local/devstack"
	"github.com/docproc/webhooks/internal/dev/local/emulator"
	"github.com/docproc/webhooks/internal/dev/rie"
	"github.com/docproc/webhooks/internal/dev/samtemplate"
	"github.com/docproc/webhooks/internal/dynamo"
)

// Options tune a run.
type Options struct {
	// Root is the repository root.
	Root string
	// ColdStarts is how many cold starts of each bootstrap are timed.
	ColdStarts int
	// Invocations is how many warm creates the memory run makes.
	Invocations int
	// WorkerInvocations is how many warm invocations of the fan-out and
	// delivery functions their memory runs make.
	WorkerInvocations int
	// Endpoint is a running emulator to use; empty starts one.
	Endpoint string
	// Baseline is a git revision whose delivery code RunFirstDelivery
	// measures beside this tree's, in the same turns; empty for none.
	Baseline string
}

// Result holds the measured figures.
type Result struct {
	// ColdOurs and ColdHello are the times from sending the first
	// invocation (which starts the function process) to its successful
	// response, one per run.
	ColdOurs, ColdHello []time.Duration
	// WholeOurs and WholeHello are the times from starting the emulator
	// process to the same response.
	WholeOurs, WholeHello []time.Duration
	// InitOurs and InitHello are the init durations the emulator reported.
	InitOurs, InitHello []time.Duration
	// SizeOurs and SizeHello are the linux/arm64 bootstrap sizes in bytes.
	SizeOurs, SizeHello int64
	// PeakRSS is the function's peak resident set size over the warm run.
	PeakRSS int64
	// CPUPerInvocation is the function's CPU time per warm create.
	CPUPerInvocation time.Duration
	// CPUToFirstResponse is the function's CPU time from its start through
	// its first create (init included).
	CPUToFirstResponse time.Duration
	// Warm are the warm create latencies through the emulator.
	Warm []time.Duration
	// LogBytesPerCreate is what the function writes to CloudWatch Logs per
	// warm create: its access line and its EMF lines.
	LogBytesPerCreate int
}

// Run measures everything and writes the report to out.
func Run(ctx context.Context, o Options, out io.Writer) (Result, error) {
	var r Result
	tmp, err := os.MkdirTemp("", "webhooks-bench-")
	if err != nil {
		return r, err
	}
	defer os.RemoveAll(tmp)

	fmt.Fprintln(out, "building bootstraps ...")
	bins, err := buildBootstraps(o.Root, tmp, map[string]string{"api": "functions/api", "hello": "internal/dev/bench/hello"})
	if err != nil {
		return r, err
	}
	if r.SizeOurs, err = size(bins["api-arm64"]); err != nil {
		return r, err
	}
	if r.SizeHello, err = size(bins["hello-arm64"]); err != nil {
		return r, err
	}

	env, events, err := stack(ctx, o.Root, o.Endpoint)
	if err != nil {
		return r, err
	}
	tool, err := rie.Tool()
	if err != nil {
		return r, err
	}
	fmt.Fprintf(out, "timing %d cold starts of each bootstrap ...\n", o.ColdStarts)
	for range o.ColdStarts {
		for _, c := range []struct {
			bin               string
			cold, whole, init *[]time.Duration
		}{
			{bins["api-"+runtime.GOARCH], &r.ColdOurs, &r.WholeOurs, &r.InitOurs},
			{bins["hello-"+runtime.GOARCH], &r.ColdHello, &r.WholeHello, &r.InitHello},
		} {
			m, err := coldStart(tool, c.bin, env, events["list-webhooks.json"], apiOK(200), "")
			if err != nil {
				return r, err
			}
			*c.cold, *c.whole, *c.init = append(*c.cold, m.function), append(*c.whole, m.whole), append(*c.init, m.init)
		}
	}

	fmt.Fprintf(out, "making %d warm creates ...\n", o.Invocations)
	if err := warm(tool, bins["api-"+runtime.GOARCH], env, events["create-webhook.json"], o.Invocations, &r); err != nil {
		return r, err
	}
	report(out, r)
	return r, nil
}

// stack starts kumo, creates the table from the template and seeds the dev
// key, as `make run` does. It returns the function's environment and the
// events in events/.
func stack(ctx context.Context, root, endpoint string) (map[string]string, map[string][]byte, error) {
	if endpoint == "" {
		emu, err := emulator.Start("127.0.0.1:0") // lives until the process ends
		if err != nil {
			return nil, nil, err
		}
		endpoint = emu.URL
	}
	env, err := rie.FunctionEnv(root, "ApiFunction", endpoint)
	if err != nil {
		return nil, nil, err
	}
	env["MAX_WEBHOOKS_PER_ACCOUNT"] = "10000"
	env["LOG_LEVEL"] = "INFO" // as deployed; the emulator reads it too, and reports init at INFO

	awsCfg, err := chain.ForEndpoint(ctx, endpoint, "us-east-1")
	if err != nil {
		return nil, nil, err
	}
	tmpl, err := samtemplate.Load(filepath.Join(root, "template.yaml"))
	if err != nil {
		return nil, nil, err
	}
	client := dynamo.NewClient(awsCfg)
	if err := devstack.EnsureTable(ctx, client, tmpl, env["TABLE_NAME"]); err != nil {
		return nil, nil, err
	}
	if _, err := devstack.SeedAPIKey(ctx, dynamo.New(client, env["TABLE_NAME"]), devkey.APIKey, devkey.Account); err != nil {
		return nil, nil, err
	}
	files, err := filepath.Glob(filepath.Join(root, "events/*.json"))
	if err != nil {
		return nil, nil, err
	}
	evs := map[string][]byte{}
	for _, f := range files {
		if evs[filepath.Base(f)], err = os.ReadFile(f); err != nil {
			return nil, nil, err
		}
	}
	return env, evs, nil
}

// coldStart starts the emulator with bin, waits until it listens, and
// times the first invocation: the emulator starts the function process
// when that invocation arrives, so the time runs from the process's start
// (plus the emulator's dispatch) to the first successful response. When
// logLine is not empty, the logs are kept once they hold it (a line the
// function wrote may reach them after the response).
func coldStart(tool, bin string, env map[string]string, event []byte, check func([]byte) error, logLine string) (coldTimes, error) {
	var m coldTimes
	begin := time.Now()
	emu, err := rie.Start(tool, bin, env)
	if err != nil {
		return m, err
	}
	defer emu.Stop()
	if err := emu.WaitReady(10 * time.Second); err != nil {
		return m, err
	}
	start := time.Now()
	body, err := emu.Invoke(event, 30*time.Second)
	m.function, m.whole = time.Since(start), time.Since(begin)
	if err != nil {
		return m, err
	}
	if err := check(body); err != nil {
		return m, fmt.Errorf("%s: %w\n%s", filepath.Base(bin), err, emu.Logs())
	}
	m.init, _ = emu.InitDuration()
	if logLine != "" && !emu.WaitForLog(logLine, 5*time.Second) {
		return m, fmt.Errorf("%s wrote no %q\n%s", filepath.Base(bin), logLine, emu.Logs())
	}
	m.logs = emu.Logs()
	if pid, err := emu.FunctionPID(); err == nil {
		m.peak, _ = rie.PeakRSS(pid)
	}
	return m, nil
}

// coldTimes are one cold start's figures.
type coldTimes struct {
	function, whole, init time.Duration
	// peak is the function's peak RSS after its first response.
	peak int64
	// logs is what the emulator and the function wrote.
	logs string
}

// apiOK checks that a response is an API Gateway response with status
// want.
func apiOK(want int) func([]byte) error {
	return func(body []byte) error { return ok(body, want) }
}

// warm runs n creates against one warm function and records latency, peak
// memory and CPU time per invocation.
func warm(tool, bin string, env map[string]string, event []byte, n int, r *Result) error {
	f, err := warmRun(tool, bin, env, func() ([]byte, error) { return event, nil }, apiOK(201), n, 10*time.Second)
	if err != nil {
		return err
	}
	r.Warm, r.CPUToFirstResponse, r.PeakRSS = f.latencies, f.cpuFirst, f.peak
	r.CPUPerInvocation = f.cpu / time.Duration(n)
	r.LogBytesPerCreate = f.logBytes / n
	return nil
}

// warmFigures are what warmRun measured.
type warmFigures struct {
	// latencies are the warm invocations' round trips.
	latencies []time.Duration
	// cpuFirst is the CPU time the function used up to its first
	// response; cpu what it used for the warm invocations.
	cpuFirst, cpu time.Duration
	// logBytes is the function's log output over the warm invocations.
	logBytes int
	// peak is the function's peak RSS at the end.
	peak int64
}

// warmRun starts bin once, invokes it with a first event from next (its
// start), then n more, each with timeout and checked by check, and
// measures the warm invocations.
func warmRun(tool, bin string, env map[string]string, next func() ([]byte, error), check func([]byte) error,
	n int, timeout time.Duration) (warmFigures, error) {
	var f warmFigures
	emu, err := rie.Start(tool, bin, env)
	if err != nil {
		return f, err
	}
	defer emu.Stop()
	invoke := func(d time.Duration) (time.Duration, error) {
		ev, err := next()
		if err != nil {
			return 0, err
		}
		start := time.Now()
		body, err := emu.Invoke(ev, d)
		if err != nil {
			return 0, err
		}
		took := time.Since(start)
		if err := check(body); err != nil {
			return 0, fmt.Errorf("%w\n%s", err, emu.Logs())
		}
		return took, nil
	}
	if _, err := invoke(30 * time.Second); err != nil { // start it
		return f, err
	}
	pid, err := emu.FunctionPID()
	if err != nil {
		return f, err
	}
	if f.cpuFirst, err = rie.CPUTime(pid); err != nil {
		return f, err
	}
	logs0 := functionBytes(emu.Logs())
	for range n {
		took, err := invoke(timeout)
		if err != nil {
			return f, err
		}
		f.latencies = append(f.latencies, took)
	}
	cpu1, err := rie.CPUTime(pid)
	if err != nil {
		return f, err
	}
	f.cpu = cpu1 - f.cpuFirst
	f.logBytes = functionBytes(emu.Logs()) - logs0
	f.peak, err = rie.PeakRSS(pid)
	return f, err
}

// functionBytes counts the bytes of the function's own lines in the
// emulator's output: they are JSON (the emulator's are not).
func functionBytes(logs string) int {
	n := 0
	for _, line := range strings.Split(logs, "\n") {
		if strings.HasPrefix(line, "{") {
			n += len(line) + 1
		}
	}
	return n
}

// ok checks that body is an API Gateway response with status want.
func ok(body []byte, want int) error {
	var resp events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(body, &resp); err != nil || resp.StatusCode != want {
		return fmt.Errorf("response %s, want status %d", body, want)
	}
	return nil
}

// size returns a file's size.
func size(path string) (int64, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

// median returns the median of ds (the mean of the middle two for an even
// count).
func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// percentile returns the p-th percentile (nearest rank) of ds.
func percentile(ds []time.Duration, p float64) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(float64(len(s))*p/100+0.999999) - 1
	return s[max(0, min(i, len(s)-1))]
}

// report prints the figures.
func report(out io.Writer, r Result) {
	ms := func(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }
	mb := func(b int64) string { return fmt.Sprintf("%.1f MB (%d bytes)", float64(b)/1e6, b) }
	ours, hello := median(r.ColdOurs), median(r.ColdHello)
	fmt.Fprintf(out, "\nmachine: %s\n\n", machine())
	fmt.Fprintln(out, "| figure | ours | hello world | ratio |")
	fmt.Fprintln(out, "|---|---|---|---|")
	fmt.Fprintf(out, "| cold start: process start to first successful response, median of %d | %s | %s | %.2f |\n",
		len(r.ColdOurs), ms(ours), ms(hello), float64(ours)/float64(hello))
	fmt.Fprintf(out, "| the same from starting the emulator process, median | %s | %s | %.2f |\n",
		ms(median(r.WholeOurs)), ms(median(r.WholeHello)), float64(median(r.WholeOurs))/float64(median(r.WholeHello)))
	fmt.Fprintf(out, "| init duration reported by the emulator, median | %s | %s | %.2f |\n",
		ms(median(r.InitOurs)), ms(median(r.InitHello)), float64(median(r.InitOurs))/float64(median(r.InitHello)))
	fmt.Fprintf(out, "| bootstrap size, linux/arm64 | %s | %s | %.2f |\n",
		mb(r.SizeOurs), mb(r.SizeHello), float64(r.SizeOurs)/float64(r.SizeHello))
	fmt.Fprintf(out, "\nwarm creates through the emulator (n=%d): median %s, p99 %s\n",
		len(r.Warm), ms(median(r.Warm)), ms(percentile(r.Warm, 99)))
	fmt.Fprintf(out, "function peak RSS (VmHWM) after %d warm creates: %s\n", len(r.Warm), mb(r.PeakRSS))
	fmt.Fprintf(out, "function CPU time: %s per warm create, %s from process start through the first create\n",
		ms(r.CPUPerInvocation), ms(r.CPUToFirstResponse))
	fmt.Fprintf(out, "function log output per warm create (access line and EMF lines): %d bytes\n", r.LogBytesPerCreate)
	fmt.Fprintln(out, "\nthat CPU time at Lambda's CPU share (1 vCPU at 1,769 MB, proportional below it):")
	fmt.Fprintln(out, "| MemorySize | per warm create | start through first create |")
	fmt.Fprintln(out, "|---|---|---|")
	for _, mem := range []int{128, 256, 512, 1024} {
		scale := func(d time.Duration) time.Duration { return d * 1769 / time.Duration(mem) }
		fmt.Fprintf(out, "| %d MB | %s | %s |\n", mem, ms(scale(r.CPUPerInvocation)), ms(scale(r.CPUToFirstResponse)))
	}
}

// machine describes this computer.
func machine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "model name"); ok {
				model = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	return fmt.Sprintf("%s/%s, %d cores, %s, %s", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), model, runtime.Version())
}

// buildBootstraps builds each named package (name to directory under
// root) for this machine and for Lambda's arm64 into dir, and returns the
// paths by "<name>-<arch>".
func buildBootstraps(root, dir string, pkgs map[string]string) (map[string]string, error) {
	bins := map[string]string{}
	for name, pkg := range pkgs {
		for _, arch := range []string{runtime.GOARCH, "arm64"} {
			p := filepath.Join(dir, name+"-"+arch)
			if err := rie.Build(filepath.Join(root, pkg), p, arch); err != nil {
				return nil, err
			}
			bins[name+"-"+arch] = p
		}
	}
	return bins, nil
}
