package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/docproc/webhooks/internal/dev/bench/stopwatch"
	"github.com/docproc/webhooks/internal/dev/rie"
)

// FirstDelivery is what was measured of fresh delivery function instances'
// first deliveries.
type FirstDelivery struct {
	// Builds are the delivery code measured: this tree's, then the
	// baseline revision's when there is one.
	Builds []FirstDeliveryBuild
	// HelloCold and HelloInit are hello world's first response and init,
	// given the same events, one per turn.
	HelloCold, HelloInit []time.Duration
	// Roots are the times x509.SystemCertPool took in a fresh process with
	// the delivery function's environment, one per turn.
	Roots []time.Duration
}

// FirstDeliveryBuild is what was measured of one build of the delivery
// function, one entry per cold start.
type FirstDeliveryBuild struct {
	// Name says which code it is: "this tree" or a revision.
	Name string
	// Reports are what the stopwatch in the bootstrap measured.
	Reports []stopwatch.Report
	// Cold is from sending the invocation that starts the process to its
	// response; Init is the init duration the emulator reported (process
	// start to the runtime's first request for an invocation).
	Cold, Init []time.Duration

	bin string
}

// firstDeliveryCalls are the AWS calls of a fresh instance's first
// delivered attempt, in their order, with what each is for.
var firstDeliveryCalls = []struct{ op, what string }{
	{"BatchGetItem", "store reads: the webhook and the delivery (Store.Target)"},
	{"GetSecretValue", "the signing secret (a fresh instance has none cached)"},
	{"UpdateItem", "the attempt's begin (Store.Begin)"},
	{"TransactWriteItems", "the record (Store.Save)"},
}

// endpointParts are the parts of the POST, in their order.
var endpointParts = []struct{ part, what string }{
	{stopwatch.PartDNS, "DNS lookup of the endpoint"},
	{stopwatch.PartConnect, "TCP connect to the endpoint"},
	{stopwatch.PartTLS, "TLS handshake with the endpoint"},
	{stopwatch.PartRequest, "the POST: request written to the answer's first byte"},
}

// RunFirstDelivery takes a fresh delivery function instance's first
// delivery apart: o.ColdStarts times it starts the delivery function's
// bootstrap with a stopwatch (internal/dev/bench/firstdelivery) under the
// Runtime Interface Emulator, in the environment it has in AWS, and hands
// it one delivery to a local HTTPS receiver that the system root pool
// trusts. Its AWS calls go to the emulator over HTTPS, as they go to AWS,
// so that the first of them makes the process's first TLS handshake. In
// the same turns it starts hello world with the same event, and times the
// system root pool's load alone in a fresh process. With o.Baseline, the
// delivery code at that revision is measured in the same turns too.
func RunFirstDelivery(ctx context.Context, o Options, out io.Writer) (FirstDelivery, error) {
	var r FirstDelivery
	if o.Endpoint == "" {
		return r, fmt.Errorf("bench: RunFirstDelivery needs a running emulator (Options.Endpoint)")
	}
	tmp, err := os.MkdirTemp("", "webhooks-bench-first-")
	if err != nil {
		return r, err
	}
	defer os.RemoveAll(tmp)

	fmt.Fprintln(out, "\nbuilding the delivery bootstrap with its stopwatch, hello world and the root-pool timer ...")
	bins := map[string]string{}
	for name, pkg := range map[string]string{"first": firstDeliveryPkg, "hello": "internal/dev/bench/hello", "roots": "internal/dev/bench/roots"} {
		bins[name] = filepath.Join(tmp, name)
		if err := rie.Build(filepath.Join(o.Root, pkg), bins[name], runtime.GOARCH); err != nil {
			return r, err
		}
	}
	r.Builds = []FirstDeliveryBuild{{Name: "this tree", bin: bins["first"]}}
	if o.Baseline != "" {
		fmt.Fprintf(out, "building the delivery bootstrap at %s, with this tree's stopwatch ...\n", o.Baseline)
		bin, err := buildFirstDeliveryAt(o.Root, o.Baseline, tmp)
		if err != nil {
			return r, err
		}
		r.Builds = append(r.Builds, FirstDeliveryBuild{Name: o.Baseline, bin: bin})
	}

	recv, err := newReceiver(tmp)
	if err != nil {
		return r, err
	}
	defer recv.srv.Close()
	w, err := newWorld(ctx, o.Root, o.Endpoint, fmt.Sprintf("bench-first-%d", time.Now().UnixNano()), recv, 1)
	if err != nil {
		return r, err
	}
	if err := w.serveTLS(); err != nil {
		return r, err
	}
	defer w.front.Close()
	env, err := w.deliveryEnv(o.Root)
	if err != nil {
		return r, err
	}
	tool, err := rie.Tool()
	if err != nil {
		return r, err
	}

	fmt.Fprintf(out, "timing %d first deliveries of fresh instances of each build, each turn beside hello world's first response and a root-pool load ...\n", o.ColdStarts)
	for i := range o.ColdStarts {
		for k := range r.Builds {
			// The builds take turns going first.
			b := &r.Builds[(i+k)%len(r.Builds)]
			if err := firstDelivery(tool, w, env, b, fmt.Sprintf("first_%d_%d_%d", time.Now().UnixNano(), i, k)); err != nil {
				return r, fmt.Errorf("first delivery %d of %s: %w", i, b.Name, err)
			}
		}
		msgs, err := w.messages(fmt.Sprintf("hello_%d", i), 1, 1024)
		if err != nil {
			return r, err
		}
		ev, err := json.Marshal(w.sqsBatches(fmt.Sprintf("hello_%d", i), msgs, 1)[0])
		if err != nil {
			return r, err
		}
		h, err := coldStart(tool, bins["hello"], env, ev, apiOK(200), "")
		if err != nil {
			return r, err
		}
		r.HelloCold, r.HelloInit = append(r.HelloCold, h.function), append(r.HelloInit, h.init)
		d, err := timeRoots(bins["roots"], env)
		if err != nil {
			return r, err
		}
		r.Roots = append(r.Roots, d)
	}
	reportFirstDelivery(out, r)
	return r, nil
}

// firstDeliveryPkg is the bench-only delivery bootstrap with its
// stopwatch.
const firstDeliveryPkg = "internal/dev/bench/firstdelivery"

// firstDelivery starts b's bootstrap under the emulator with env, hands
// it one new delivery for w's webhook, and records what it measured.
func firstDelivery(tool string, w *world, env map[string]string, b *FirstDeliveryBuild, tag string) error {
	msgs, err := w.messages(tag, 1, 1024)
	if err != nil {
		return err
	}
	ev, err := json.Marshal(w.sqsBatches(tag, msgs, 1)[0])
	if err != nil {
		return err
	}
	signed := w.recv.signed.Load()
	m, err := coldStart(tool, b.bin, env, ev, sqsOK, stopwatch.Prefix)
	if err != nil {
		return err
	}
	if got := w.recv.signed.Load() - signed; got != 1 {
		return fmt.Errorf("the receiver got %d signed requests, want 1\n%s", got, m.logs)
	}
	rep, err := stopwatch.Find(m.logs)
	if err != nil {
		return fmt.Errorf("%w\n%s", err, m.logs)
	}
	for _, c := range firstDeliveryCalls {
		if rep.Calls[c.op] != 1 || len(rep.Calls) != len(firstDeliveryCalls) {
			return fmt.Errorf("AWS calls %v, want one each of BatchGetItem, GetSecretValue, UpdateItem and TransactWriteItems", rep.Calls)
		}
	}
	b.Reports, b.Cold, b.Init = append(b.Reports, rep), append(b.Cold, m.function), append(b.Init, m.init)
	return nil
}

// buildFirstDeliveryAt builds the bench-only delivery bootstrap from the
// repository at revision rev, with this tree's stopwatch and bootstrap
// copied in (so that only the delivery code differs), into dir, and
// returns its path.
func buildFirstDeliveryAt(root, rev, dir string) (string, error) {
	src := filepath.Join(dir, "src-"+strings.NewReplacer("/", "_", "^", "_", "~", "_").Replace(rev))
	if err := os.MkdirAll(src, 0o755); err != nil {
		return "", err
	}
	archive := exec.Command("git", "archive", "--format=tar", rev)
	archive.Dir = root
	untar := exec.Command("tar", "-x", "-C", src)
	pipe, err := archive.StdoutPipe()
	if err != nil {
		return "", err
	}
	untar.Stdin = pipe
	var stderr bytes.Buffer
	archive.Stderr, untar.Stderr = &stderr, &stderr
	if err := untar.Start(); err != nil {
		return "", err
	}
	if err := archive.Run(); err != nil {
		return "", fmt.Errorf("git archive %s: %v: %s", rev, err, stderr.Bytes())
	}
	if err := untar.Wait(); err != nil {
		return "", fmt.Errorf("untar %s: %v: %s", rev, err, stderr.Bytes())
	}
	for _, pkg := range []string{firstDeliveryPkg, "internal/dev/bench/stopwatch"} {
		if err := copyGoFiles(filepath.Join(root, pkg), filepath.Join(src, pkg)); err != nil {
			return "", err
		}
	}
	bin := filepath.Join(dir, "first-baseline")
	return bin, rie.Build(filepath.Join(src, firstDeliveryPkg), bin, runtime.GOARCH)
}

// copyGoFiles copies the .go files of directory from into directory to.
func copyGoFiles(from, to string) error {
	files, err := filepath.Glob(filepath.Join(from, "*.go"))
	if err != nil {
		return err
	}
	if err := os.MkdirAll(to, 0o755); err != nil {
		return err
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(to, filepath.Base(f)), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// timeRoots runs the root-pool timer once with env added to this
// process's environment.
func timeRoots(bin string, env map[string]string) (time.Duration, error) {
	cmd := exec.Command(bin)
	cmd.Env = os.Environ()
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	b, err := cmd.Output()
	if err != nil {
		return 0, fmt.Errorf("roots: %w", err)
	}
	ns, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("roots printed %q: %w", b, err)
	}
	return time.Duration(ns), nil
}

// firstDeliveryRow is one line of the parts table: a label and how to
// read its time from cold start i of a build.
type firstDeliveryRow struct {
	label string
	of    func(b FirstDeliveryBuild, i int) time.Duration
}

// firstDeliveryRows are the lines of the parts table, in the order of a
// first delivery.
func firstDeliveryRows() []firstDeliveryRow {
	part := func(name string) func(FirstDeliveryBuild, int) time.Duration {
		return func(b FirstDeliveryBuild, i int) time.Duration { return b.Reports[i].Parts[name] }
	}
	rows := []firstDeliveryRow{
		{"init: process start to handler ready (the emulator's report)", func(b FirstDeliveryBuild, i int) time.Duration { return b.Init[i] }},
		{"of which main: configuration, AWS configuration, clients, sender", func(b FirstDeliveryBuild, i int) time.Duration { return b.Reports[i].Main }},
	}
	for j, c := range firstDeliveryCalls {
		if j == len(firstDeliveryCalls)-1 {
			for _, p := range endpointParts {
				rows = append(rows, firstDeliveryRow{p.what, part(p.part)})
			}
		}
		rows = append(rows, firstDeliveryRow{c.op + ": " + c.what, part(c.op)})
		if j == 0 {
			rows = append(rows,
				firstDeliveryRow{"of which TCP connect to the AWS endpoint", part(stopwatch.AWSPrefix + stopwatch.PartConnect)},
				firstDeliveryRow{"of which TLS handshake with the AWS endpoint (the process's first: it loads the system root pool)",
					part(stopwatch.AWSPrefix + stopwatch.PartTLS)})
		}
	}
	return append(rows,
		firstDeliveryRow{"the rest of the handler (our code between the parts above)", func(b FirstDeliveryBuild, i int) time.Duration {
			rep := b.Reports[i]
			d := rep.Handler
			for _, c := range firstDeliveryCalls {
				d -= rep.Parts[c.op]
			}
			for _, p := range endpointParts {
				d -= rep.Parts[p.part]
			}
			return d
		}},
		firstDeliveryRow{"the emulator and the runtime API (first response - init - handler)", func(b FirstDeliveryBuild, i int) time.Duration {
			return b.Cold[i] - b.Init[i] - b.Reports[i].Handler
		}},
		firstDeliveryRow{"**first response: process start to the response**", func(b FirstDeliveryBuild, i int) time.Duration { return b.Cold[i] }},
	)
}

// mean returns the mean of ds: unlike medians, the means of the parts
// add up to the mean of the whole.
func mean(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	return sum / time.Duration(len(ds))
}

// reportFirstDelivery prints the parts of the first deliveries.
func reportFirstDelivery(out io.Writer, r FirstDelivery) {
	ms := func(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }
	series := func(b FirstDeliveryBuild, row firstDeliveryRow) []time.Duration {
		ds := make([]time.Duration, len(b.Reports))
		for i := range ds {
			ds[i] = row.of(b, i)
		}
		return ds
	}
	rows := firstDeliveryRows()
	for _, b := range r.Builds {
		cold := mean(b.Cold)
		fmt.Fprintf(out, "\na fresh delivery function's first delivery (%s), %d cold starts; production environment, AWS calls over HTTPS to the emulator, the receiver on 127.0.0.1 trusted through the system root pool:\n",
			b.Name, len(b.Reports))
		fmt.Fprintln(out, "| part | median | p90 | mean | of the mean first response |")
		fmt.Fprintln(out, "|---|---|---|---|---|")
		for _, row := range rows {
			ds := series(b, row)
			fmt.Fprintf(out, "| %s | %s | %s | %s | %.0f %% |\n", row.label, ms(median(ds)), ms(percentile(ds, 90)), ms(mean(ds)), 100*float64(mean(ds))/float64(cold))
		}
	}
	ours := r.Builds[0]
	fmt.Fprintln(out, "\n| beside it, in the same turns | median | p90 | ratio of medians |")
	fmt.Fprintln(out, "|---|---|---|---|")
	fmt.Fprintf(out, "| hello world: first response | %s | %s | delivery / hello %.2f |\n", ms(median(r.HelloCold)), ms(percentile(r.HelloCold, 90)),
		float64(median(ours.Cold))/float64(median(r.HelloCold)))
	fmt.Fprintf(out, "| hello world: init | %s | %s | delivery / hello %.2f |\n", ms(median(r.HelloInit)), ms(percentile(r.HelloInit, 90)),
		float64(median(ours.Init))/float64(median(r.HelloInit)))
	fmt.Fprintf(out, "| x509.SystemCertPool() alone, in a fresh process | %s | %s | |\n", ms(median(r.Roots)), ms(percentile(r.Roots, 90)))
	if len(r.Builds) < 2 {
		return
	}
	base := r.Builds[1]
	ratio := func(a, b time.Duration) string {
		if b <= 0 {
			return "-"
		}
		return fmt.Sprintf("%.2f", float64(a)/float64(b))
	}
	fmt.Fprintf(out, "\n| part | %s, median | %s, median | ratio of medians | ratio of means |\n", ours.Name, base.Name)
	fmt.Fprintln(out, "|---|---|---|---|---|")
	for _, row := range rows {
		a, b := series(ours, row), series(base, row)
		fmt.Fprintf(out, "| %s | %s | %s | %s | %s |\n", row.label, ms(median(a)), ms(median(b)), ratio(median(a), median(b)), ratio(mean(a), mean(b)))
	}
}
