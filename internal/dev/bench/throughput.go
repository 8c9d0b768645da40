package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/docproc/webhooks/internal/app"
	"github.com/docproc/webhooks/internal/config"
	"github.com/docproc/webhooks/internal/delivery"
	"github.com/docproc/webhooks/internal/worker"
)

// DeliveryOptions tune the delivery measurements.
type DeliveryOptions struct {
	// Root is the repository root.
	Root string
	// Endpoint is the emulator (kumo), whose EventBridge must deliver to
	// its own SQS for the latency run.
	Endpoint string
	// Deliveries is how many deliveries each side makes at each receiver
	// latency in the throughput run.
	Deliveries int
	// Concurrency is the size of a batch: the handler gets batches of
	// this many messages (it attempts a batch's messages at once), and the
	// bare loop POSTs this many at once.
	Concurrency int
	// Latencies are the receiver's answer times the throughput run is
	// repeated at.
	Latencies []time.Duration
	// Events is how many events the latency run publishes, and each
	// phase of the isolation run.
	Events int
	// EventInterval is the time between two publishes of the latency run.
	EventInterval time.Duration
	// PayloadBytes is the size of each event's data.
	PayloadBytes int
	// Flood is how many events the isolation run sends a black-holed
	// endpoint while it times Events events to a healthy one.
	Flood int
	// IsolationInterval is the time between two publishes to the healthy
	// endpoint in the isolation run.
	IsolationInterval time.Duration
}

// Throughput is one throughput comparison at one receiver latency.
type Throughput struct {
	// Latency is the receiver's answer time.
	Latency time.Duration
	// Deliveries is how many deliveries each side made.
	Deliveries int
	// Handler and Bare are the wall times of each side.
	Handler, Bare time.Duration
	// Calls and CallTime are the handler's AWS calls by operation and
	// their summed durations.
	Calls    map[string]int
	CallTime map[string]time.Duration
	// LogBytes and MetricBytes are what the handler wrote to its log and
	// metrics (stdout in Lambda) in the run.
	LogBytes, MetricBytes int64
}

// HandlerRate and BareRate are deliveries per second.
func (t Throughput) HandlerRate() float64 { return float64(t.Deliveries) / t.Handler.Seconds() }

// BareRate is the bare loop's deliveries per second.
func (t Throughput) BareRate() float64 { return float64(t.Deliveries) / t.Bare.Seconds() }

// eventBridgeEvent is the EventBridge event the rule hands the fan-out
// queue for one published document event with data of about size bytes.
func eventBridgeEvent(sourceID, account, eventID string, at time.Time, size int) []byte {
	data := map[string]string{"document_id": "doc_" + eventID, "note": strings.Repeat("x", max(0, size-40))}
	detail, _ := json.Marshal(map[string]any{"account": account, "livemode": false, "id": eventID, "data": data})
	b, _ := json.Marshal(map[string]any{
		"version": "0", "id": sourceID, "detail-type": string("document.uploaded"), "source": delivery.Source,
		"account": "000000000000", "time": at.UTC().Format(time.RFC3339), "region": "us-east-1", "resources": []string{},
		"detail": json.RawMessage(detail),
	})
	return b
}

// messages builds n delivery messages, as the fan-out would, to the
// webhooks of w in turn, each for a new event whose id starts with tag.
func (w *world) messages(tag string, n, size int) ([]delivery.Message, error) {
	msgs := make([]delivery.Message, 0, n)
	now := time.Now()
	for i := range n {
		id := fmt.Sprintf("evt_%s_%d", tag, i)
		ev, err := delivery.ParseEventBridge(eventBridgeEvent("src-"+id, w.owner.Account, id, now, size))
		if err != nil {
			return nil, err
		}
		hook := w.hooks[i%len(w.hooks)]
		msgs = append(msgs, delivery.Message{DeliveryID: delivery.DeliveryID(ev.ID, hook, ev.Time), EventID: ev.ID, EventType: ev.Type,
			EventTime: ev.Time, Account: ev.Owner.Account, Mode: ev.Owner.Mode, WebhookID: hook, Payload: ev.Payload})
	}
	return msgs, nil
}

// sqsBatches turns msgs into SQS events of at most size records, as
// Lambda's mapping hands them to the delivery function.
func (w *world) sqsBatches(tag string, msgs []delivery.Message, size int) []events.SQSEvent {
	var out []events.SQSEvent
	for start := 0; start < len(msgs); start += size {
		var ev events.SQSEvent
		for i, m := range msgs[start:min(start+size, len(msgs))] {
			body, _ := json.Marshal(m)
			id := fmt.Sprintf("%s-%d", tag, start+i)
			ev.Records = append(ev.Records, events.SQSMessage{MessageId: id, ReceiptHandle: "rh-" + id, Body: string(body),
				EventSource: "aws:sqs", EventSourceARN: w.res.Delivery().ARN, AWSRegion: "us-east-1"})
		}
		out = append(out, ev)
	}
	return out
}

// DeliveryThroughput runs the delivery handler (worker.DeliveryHandler as
// app.NewDeliveryHandler builds it: the DynamoDB store and Secrets Manager on the
// emulator, the real sender) and a bare net/http loop against the same
// local HTTPS receiver, with the same bodies and the same concurrency, in
// turns, at each receiver latency of o.
func DeliveryThroughput(ctx context.Context, o DeliveryOptions, dir string, out io.Writer) ([]Throughput, error) {
	recv, err := newReceiver(dir)
	if err != nil {
		return nil, err
	}
	defer recv.srv.Close()
	w, err := newWorld(ctx, o.Root, o.Endpoint, fmt.Sprintf("bench-throughput-%d", time.Now().UnixNano()), recv, o.Concurrency)
	if err != nil {
		return nil, err
	}
	stats := newCallStats()
	awsCfg, err := stats.config(ctx, o.Endpoint)
	if err != nil {
		return nil, err
	}
	logs, metricsOut := &countingWriter{}, &countingWriter{}
	h, err := app.NewDeliveryHandler(config.DeliveryFunction{TableName: w.table, QueueURL: w.res.Delivery().URL, EventBusName: w.res.Bus, Timeout: 15 * time.Second,
		AllowedDestinations: loopbackOnly, CAFile: recv.caFile, MetricsNamespace: "Webhooks/bench"}, awsCfg, jsonLogger(logs), metricsOut)
	if err != nil {
		return nil, err
	}
	bare := recv.bareClient(o.Concurrency)
	defer bare.CloseIdleConnections()

	// Warm both: the handler reads each webhook's secret once and opens
	// its connections; the bare loop opens its connections.
	warm, err := w.messages("warm", o.Concurrency, o.PayloadBytes)
	if err != nil {
		return nil, err
	}
	if err := runHandler(ctx, h, w.sqsBatches("warm", warm, o.Concurrency)); err != nil {
		return nil, err
	}
	if err := runBare(bare, recv.url("/bare"), warm, o.Concurrency); err != nil {
		return nil, err
	}

	const turns = 5 // the two sides take turns, so that noise falls on both
	var results []Throughput
	for li, lat := range o.Latencies {
		recv.latency.Store(int64(lat))
		tag := fmt.Sprintf("l%d", li)
		msgs, err := w.messages(tag, o.Deliveries, o.PayloadBytes)
		if err != nil {
			return nil, err
		}
		batches := w.sqsBatches(tag, msgs, o.Concurrency)
		stats.reset()
		logs0, metrics0 := logs.n.Load(), metricsOut.n.Load()
		signed0 := recv.signed.Load()
		r := Throughput{Latency: lat, Deliveries: len(msgs)}
		per := (len(batches) + turns - 1) / turns
		for t := 0; t*per < len(batches); t++ {
			part := batches[t*per : min((t+1)*per, len(batches))]
			start := time.Now()
			if err := runHandler(ctx, h, part); err != nil {
				return nil, err
			}
			r.Handler += time.Since(start)
			var bodies []delivery.Message
			for _, b := range part {
				for _, rec := range b.Records {
					var m delivery.Message
					_ = json.Unmarshal([]byte(rec.Body), &m)
					bodies = append(bodies, m)
				}
			}
			start = time.Now()
			if err := runBare(bare, recv.url("/bare"), bodies, o.Concurrency); err != nil {
				return nil, err
			}
			r.Bare += time.Since(start)
		}
		if got := recv.signed.Load() - signed0; got != int64(len(msgs)) {
			return nil, fmt.Errorf("the receiver got %d signed deliveries from the handler, want %d", got, len(msgs))
		}
		r.Calls, r.CallTime = stats.snapshot()
		r.LogBytes, r.MetricBytes = logs.n.Load()-logs0, metricsOut.n.Load()-metrics0
		results = append(results, r)
		fmt.Fprintf(out, "receiver latency %v: handler %.0f deliveries/s, bare loop %.0f deliveries/s, ratio %.2f\n",
			lat, r.HandlerRate(), r.BareRate(), r.HandlerRate()/r.BareRate())
	}
	return results, nil
}

// runHandler hands each batch to h in turn; every message must succeed.
func runHandler(ctx context.Context, h *worker.DeliveryHandler, batches []events.SQSEvent) error {
	for _, b := range batches {
		resp, err := h.Handle(ctx, b)
		if err != nil {
			return err
		}
		if len(resp.BatchItemFailures) > 0 {
			return fmt.Errorf("delivery handler: %d of %d messages failed", len(resp.BatchItemFailures), len(b.Records))
		}
	}
	return nil
}

// runBare POSTs the payloads of msgs to url, concurrency at a time, each
// group waiting for the one before, as the handler's batches do.
func runBare(c *http.Client, url string, msgs []delivery.Message, concurrency int) error {
	for start := 0; start < len(msgs); start += concurrency {
		var (
			wg   sync.WaitGroup
			mu   sync.Mutex
			errs []error
		)
		for _, m := range msgs[start:min(start+concurrency, len(msgs))] {
			wg.Go(func() {
				resp, err := c.Post(url, "application/json", bytes.NewReader(m.Payload))
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusNoContent {
						err = fmt.Errorf("bare POST: status %d", resp.StatusCode)
					}
				}
				if err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if len(errs) > 0 {
			return errs[0]
		}
	}
	return nil
}

// reportThroughput prints the throughput table and what the handler's AWS
// calls cost per delivery.
func reportThroughput(out io.Writer, rs []Throughput, concurrency int) {
	fmt.Fprintf(out, "\nthroughput: batches of %d concurrent deliveries, one batch at a time, handler and bare loop in turns\n", concurrency)
	fmt.Fprintln(out, "| receiver latency | deliveries per side | handler deliveries/s | bare loop deliveries/s | ratio | handler ms per batch | bare ms per batch |")
	fmt.Fprintln(out, "|---|---|---|---|---|---|---|")
	for _, r := range rs {
		batches := float64((r.Deliveries + concurrency - 1) / concurrency)
		fmt.Fprintf(out, "| %v | %d | %.0f | %.0f | %.2f | %.1f | %.1f |\n", r.Latency, r.Deliveries, r.HandlerRate(), r.BareRate(),
			r.HandlerRate()/r.BareRate(), float64(r.Handler.Microseconds())/1000/batches, float64(r.Bare.Microseconds())/1000/batches)
	}
	fmt.Fprintln(out, "\nthe handler's AWS calls in the throughput runs (warm: each webhook's secret read before), per delivered message:")
	fmt.Fprintln(out, "| receiver latency | calls per delivery | mean time per call (ms; calls into kumo queue behind one lock) |")
	fmt.Fprintln(out, "|---|---|---|")
	for _, r := range rs {
		var calls, times []string
		for _, op := range slices.Sorted(maps.Keys(r.Calls)) {
			calls = append(calls, fmt.Sprintf("%s %.2f", op, float64(r.Calls[op])/float64(r.Deliveries)))
			times = append(times, fmt.Sprintf("%s %.2f", op, float64(r.CallTime[op].Microseconds())/1000/float64(r.Calls[op])))
		}
		fmt.Fprintf(out, "| %v | %s | %s |\n", r.Latency, strings.Join(calls, ", "), strings.Join(times, ", "))
	}
	if len(rs) > 0 {
		r := rs[len(rs)-1]
		fmt.Fprintf(out, "handler output per delivered message: %d bytes of log lines, %d bytes of EMF metrics (one EMF line per batch)\n",
			r.LogBytes/int64(r.Deliveries), r.MetricBytes/int64(r.Deliveries))
	}
}

// RunDelivery measures the delivery handler's throughput beside a bare
// loop, then the pipeline's latency and AWS calls, and prints both.
func RunDelivery(ctx context.Context, o DeliveryOptions, out io.Writer) ([]Throughput, Latency, error) {
	dir, err := os.MkdirTemp("", "webhooks-bench-delivery-")
	if err != nil {
		return nil, Latency{}, err
	}
	defer os.RemoveAll(dir)
	fmt.Fprintf(out, "\ndelivery throughput: %d deliveries per side at each receiver latency (%d-byte event data) ...\n", o.Deliveries, o.PayloadBytes)
	tp, err := DeliveryThroughput(ctx, o, dir, out)
	if err != nil {
		return nil, Latency{}, fmt.Errorf("throughput: %w", err)
	}
	reportThroughput(out, tp, o.Concurrency)
	fmt.Fprintf(out, "\ndelivery latency: publishing %d events ...\n", o.Events)
	lat, err := DeliveryLatency(ctx, o, dir, out)
	if err != nil {
		return tp, lat, fmt.Errorf("latency: %w", err)
	}
	reportLatency(out, lat, o)
	return tp, lat, nil
}
