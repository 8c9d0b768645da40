package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/docproc/webhooks/internal/dev/rie"
)

// Worker is what was measured of one SQS-triggered function (the fan-out
// or the delivery function) under the Runtime Interface Emulator.
type Worker struct {
	// Name is the function's directory under functions/.
	Name string
	// Cold, Whole and Init are as Result's ColdOurs, WholeOurs and
	// InitOurs: one per cold start.
	Cold, Whole, Init []time.Duration
	// ColdPeakRSS is the function's peak RSS after its first response,
	// one per cold start.
	ColdPeakRSS []int64
	// Size is the linux/arm64 bootstrap's size in bytes.
	Size int64
	// Records is how many records each warm invocation held.
	Records int
	// Warm are the warm invocations' times through the emulator.
	Warm []time.Duration
	// PeakRSS is the function's peak RSS after the warm invocations.
	PeakRSS int64
	// CPUPerRecord is the function's CPU time per warm record.
	CPUPerRecord time.Duration
	// LogBytesPerRecord is what the function wrote per warm record.
	LogBytesPerRecord int
}

// WorkersResult holds the figures of both functions and of hello world.
type WorkersResult struct {
	// Workers are the fan-out and the delivery function.
	Workers []Worker
	// Hello is hello world given the same events.
	Hello Worker
}

// workerLatency is the receiver's answer time in the delivery function's
// warm run: a realistic endpoint's.
const workerLatency = 20 * time.Millisecond

// RunWorkers measures the cold start of the fan-out and delivery
// functions against hello world under the Runtime Interface Emulator, each
// handed the SQS event it takes (the fan-out: one EventBridge event for an
// account with one endpoint; the delivery function: one delivery to a
// local HTTPS receiver), their peak memory, and a warm run of batches of
// 10 records. Their AWS calls go to the emulator over HTTPS, as they go
// to AWS.
func RunWorkers(ctx context.Context, o Options, out io.Writer) (WorkersResult, error) {
	var r WorkersResult
	if o.Endpoint == "" {
		return r, fmt.Errorf("bench: RunWorkers needs a running emulator (Options.Endpoint)")
	}
	tmp, err := os.MkdirTemp("", "webhooks-bench-workers-")
	if err != nil {
		return r, err
	}
	defer os.RemoveAll(tmp)

	fmt.Fprintln(out, "\nbuilding the fan-out and delivery bootstraps ...")
	bins, err := buildBootstraps(o.Root, tmp, map[string]string{"fanout": "functions/fanout", "delivery": "functions/delivery",
		"hello": "internal/dev/bench/hello"})
	if err != nil {
		return r, err
	}
	recv, err := newReceiver(tmp)
	if err != nil {
		return r, err
	}
	defer recv.srv.Close()
	w, err := newWorld(ctx, o.Root, o.Endpoint, fmt.Sprintf("bench-workers-%d", time.Now().UnixNano()), recv, 1)
	if err != nil {
		return r, err
	}
	if err := w.serveTLS(); err != nil {
		return r, err
	}
	defer w.front.Close()
	envs := map[string]map[string]string{}
	if envs["fanout"], err = w.functionEnv(o.Root, "FanoutFunction"); err != nil {
		return r, err
	}
	envs["fanout"]["REJECTED_QUEUE_URL"] = w.res.Queues["FanoutDeadLetterQueue"].URL
	envs["fanout"]["FANOUT_QUEUE_URL"] = w.res.Fanout().URL
	if envs["delivery"], err = w.deliveryEnv(o.Root); err != nil {
		return r, err
	}

	seq := 0
	// event returns a new SQS event of n records for the function name,
	// each a new event (fan-out) or a new delivery (delivery).
	event := func(name string, n int) ([]byte, error) {
		seq++
		tag := fmt.Sprintf("%s_%d_%d", name, time.Now().UnixNano(), seq)
		var ev events.SQSEvent
		switch name {
		case "fanout":
			for i := range n {
				id := fmt.Sprintf("evt_%s_%d", tag, i)
				ev.Records = append(ev.Records, events.SQSMessage{MessageId: id, ReceiptHandle: "rh-" + id,
					Body: string(eventBridgeEvent("src-"+id, w.owner.Account, id, time.Now(), 1024)), EventSource: "aws:sqs",
					EventSourceARN: w.res.Fanout().ARN, AWSRegion: "us-east-1"})
			}
		default:
			msgs, err := w.messages(tag, n, 1024)
			if err != nil {
				return nil, err
			}
			ev = w.sqsBatches(tag, msgs, n)[0]
		}
		return json.Marshal(ev)
	}

	tool, err := rie.Tool()
	if err != nil {
		return r, err
	}
	fmt.Fprintf(out, "timing %d cold starts of each of the fan-out, delivery and hello-world bootstraps ...\n", o.ColdStarts)
	r.Workers = []Worker{{Name: "fanout"}, {Name: "delivery"}}
	r.Hello = Worker{Name: "hello"}
	for range o.ColdStarts {
		for i := range r.Workers {
			wk := &r.Workers[i]
			ev, err := event(wk.Name, 1)
			if err != nil {
				return r, err
			}
			m, err := coldStart(tool, bins[wk.Name+"-"+runtime.GOARCH], envs[wk.Name], ev, sqsOK, "")
			if err != nil {
				return r, err
			}
			wk.Cold, wk.Whole, wk.Init, wk.ColdPeakRSS = append(wk.Cold, m.function), append(wk.Whole, m.whole), append(wk.Init, m.init), append(wk.ColdPeakRSS, m.peak)
		}
		ev, err := event("delivery", 1)
		if err != nil {
			return r, err
		}
		m, err := coldStart(tool, bins["hello-"+runtime.GOARCH], envs["delivery"], ev, apiOK(200), "")
		if err != nil {
			return r, err
		}
		h := &r.Hello
		h.Cold, h.Whole, h.Init, h.ColdPeakRSS = append(h.Cold, m.function), append(h.Whole, m.whole), append(h.Init, m.init), append(h.ColdPeakRSS, m.peak)
	}
	for i := range r.Workers {
		if r.Workers[i].Size, err = size(bins[r.Workers[i].Name+"-arm64"]); err != nil {
			return r, err
		}
	}
	if r.Hello.Size, err = size(bins["hello-arm64"]); err != nil {
		return r, err
	}

	const records = 10
	fmt.Fprintf(out, "making %d warm invocations of %d records each (receiver latency %v) ...\n", o.WorkerInvocations, records, workerLatency)
	recv.latency.Store(int64(workerLatency))
	for i := range r.Workers {
		wk := &r.Workers[i]
		if err := warmWorker(tool, bins[wk.Name+"-"+runtime.GOARCH], envs[wk.Name], func() ([]byte, error) { return event(wk.Name, records) },
			o.WorkerInvocations, records, wk); err != nil {
			return r, err
		}
	}
	reportWorkers(out, r)
	return r, nil
}

// sqsOK checks that a response is an SQS batch response with no failed
// item.
func sqsOK(body []byte) error {
	var resp events.SQSEventResponse
	if err := json.Unmarshal(body, &resp); err != nil || len(resp.BatchItemFailures) > 0 {
		return fmt.Errorf("response %s, want no batchItemFailures", body)
	}
	return nil
}

// warmWorker starts bin once and makes n invocations of events from next,
// each of records records, recording latency, peak memory, CPU time and
// log output.
func warmWorker(tool, bin string, env map[string]string, next func() ([]byte, error), n, records int, wk *Worker) error {
	f, err := warmRun(tool, bin, env, next, sqsOK, n, 30*time.Second)
	if err != nil {
		return fmt.Errorf("%s: %w", wk.Name, err)
	}
	wk.Warm, wk.Records, wk.PeakRSS = append(wk.Warm, f.latencies...), records, f.peak
	wk.CPUPerRecord = f.cpu / time.Duration(n*records)
	wk.LogBytesPerRecord = f.logBytes / (n * records)
	return nil
}

// reportWorkers prints the figures of RunWorkers.
func reportWorkers(out io.Writer, r WorkersResult) {
	ms := func(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }
	mb := func(b int64) string { return fmt.Sprintf("%.1f MB", float64(b)/1e6) }
	h := r.Hello
	fmt.Fprintln(out, "\n| figure (medians) | fan-out | delivery | hello world | fan-out / hello | delivery / hello |")
	fmt.Fprintln(out, "|---|---|---|---|---|---|")
	row := func(label string, f func(Worker) time.Duration) {
		fo, de, he := f(r.Workers[0]), f(r.Workers[1]), f(h)
		fmt.Fprintf(out, "| %s | %s | %s | %s | %.2f | %.2f |\n", label, ms(fo), ms(de), ms(he), float64(fo)/float64(he), float64(de)/float64(he))
	}
	row(fmt.Sprintf("cold start: process start to first successful response (%d runs)", len(h.Cold)), func(w Worker) time.Duration { return median(w.Cold) })
	row("the same from starting the emulator process", func(w Worker) time.Duration { return median(w.Whole) })
	row("init duration reported by the emulator", func(w Worker) time.Duration { return median(w.Init) })
	peak := func(w Worker) int64 { return int64(median(durations(w.ColdPeakRSS))) }
	fmt.Fprintf(out, "| peak RSS (VmHWM) after the first response | %s | %s | %s | %.2f | %.2f |\n", mb(peak(r.Workers[0])), mb(peak(r.Workers[1])),
		mb(peak(h)), float64(peak(r.Workers[0]))/float64(peak(h)), float64(peak(r.Workers[1]))/float64(peak(h)))
	fmt.Fprintf(out, "| bootstrap size, linux/arm64 | %s | %s | %s | %.2f | %.2f |\n", mb(r.Workers[0].Size), mb(r.Workers[1].Size), mb(h.Size),
		float64(r.Workers[0].Size)/float64(h.Size), float64(r.Workers[1].Size)/float64(h.Size))
	for _, w := range r.Workers {
		fmt.Fprintf(out, "%s, warm, %d invocations of %d records: median %s, p95 %s per invocation; peak RSS %s; CPU %s per record; %d log bytes per record\n",
			w.Name, len(w.Warm), w.Records, ms(median(w.Warm)), ms(percentile(w.Warm, 95)), mb(w.PeakRSS), ms(w.CPUPerRecord), w.LogBytesPerRecord)
	}
	fmt.Fprintf(out, "(hello world answers the SQS events as it does any: it reads nothing; the delivery warm run's receiver answers in %v)\n", workerLatency)
}

// durations lets median take byte counts.
func durations(bs []int64) []time.Duration {
	ds := make([]time.Duration, len(bs))
	for i, b := range bs {
		ds[i] = time.Duration(b)
	}
	return ds
}
