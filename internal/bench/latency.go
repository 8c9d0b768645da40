package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/docproc/webhooks/internal/delivery"
)

// Latency is what the latency run measured: from PutEvents to the
// receiver's first sight of each event, through the local pipeline.
type Latency struct {
	// Took are the times from the start of each PutEvents call to the
	// event's arrival at the receiver.
	Took []time.Duration
	// Calls are the AWS calls of the run by who made them: the publisher,
	// each function, and the poller of each function's queue (which stands
	// in for Lambda's event source mapping).
	Calls map[string]map[string]int
}

// The callers of Latency.Calls.
const (
	CallerPublisher      = "publisher (PutEvents)"
	CallerFanout         = "fan-out function"
	CallerFanoutPoller   = "fan-out queue poller (event source mapping)"
	CallerDelivery       = "delivery function"
	CallerDeliveryPoller = "delivery queue poller (event source mapping)"
)

// DeliveryLatency starts the pipeline on the emulator as `make run` does
// (pipeline.Ensure, then the fan-out and delivery handlers of internal/app
// on pollers with the template's batch sizes and concurrency), publishes
// o.Events events with PutEvents, o.EventInterval apart, each to an
// account with one endpoint, and times each until the receiver gets it.
// The AWS calls are counted after a warm-up of two events.
func DeliveryLatency(ctx context.Context, o DeliveryOptions, dir string, out io.Writer) (Latency, error) {
	var l Latency
	recv, err := newReceiver(dir)
	if err != nil {
		return l, err
	}
	defer recv.srv.Close()
	name := fmt.Sprintf("bench-latency-%d", time.Now().UnixNano())
	w, err := newWorld(ctx, o.Root, o.Endpoint, name, recv, 1)
	if err != nil {
		return l, err
	}
	stats := map[string]*callStats{}
	cfgs := map[string]aws.Config{}
	for _, c := range []string{CallerPublisher, CallerFanout, CallerFanoutPoller, CallerDelivery, CallerDeliveryPoller} {
		stats[c] = newCallStats()
		if cfgs[c], err = stats[c].config(ctx, o.Endpoint); err != nil {
			return l, err
		}
	}
	stop, err := w.run(ctx, pipelineCalls{fanout: cfgs[CallerFanout], delivery: cfgs[CallerDelivery],
		fanoutPoller: cfgs[CallerFanoutPoller], deliveryPoller: cfgs[CallerDeliveryPoller]}, out)
	if err != nil {
		return l, err
	}
	defer stop()

	eb := eventbridge.NewFromConfig(cfgs[CallerPublisher])
	publish := func(id string) (time.Time, error) {
		detail := map[string]any{"account": w.owner.Account, "livemode": false, "id": id,
			"data": map[string]string{"document_id": "doc_" + id, "note": strings.Repeat("x", max(0, o.PayloadBytes-40))}}
		b, _ := json.Marshal(detail)
		start := time.Now()
		res, err := eb.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{{
			EventBusName: aws.String(w.res.Bus), Source: aws.String(delivery.Source), DetailType: aws.String("document.uploaded"),
			Detail: aws.String(string(b)),
		}}})
		if err == nil && res.FailedEntryCount > 0 {
			err = fmt.Errorf("PutEvents: %d failed entries", res.FailedEntryCount)
		}
		return start, err
	}
	wait := func(ids []string, within time.Duration) error {
		deadline := time.After(within)
		for _, id := range ids {
			select {
			case <-recv.want(id):
			case <-deadline:
				return fmt.Errorf("event %s did not reach the receiver within %v; is kumo's EventBridge sending to this emulator (emulator.Prepare)?", id, within)
			}
		}
		return nil
	}

	warm := []string{name + "_warm_0", name + "_warm_1"}
	for _, id := range warm {
		if _, err := publish(id); err != nil {
			return l, err
		}
	}
	if err := wait(warm, 60*time.Second); err != nil {
		return l, err
	}
	time.Sleep(2 * time.Second) // the warm-up's deletes
	for _, s := range stats {
		s.reset()
	}
	ids := make([]string, o.Events)
	starts := make([]time.Time, o.Events)
	for i := range ids {
		ids[i] = fmt.Sprintf("%s_%d", name, i)
		if starts[i], err = publish(ids[i]); err != nil {
			return l, err
		}
		time.Sleep(o.EventInterval)
	}
	if err := wait(ids, 60*time.Second); err != nil {
		return l, err
	}
	// Let the last handlers return and their messages be deleted.
	time.Sleep(3 * time.Second)
	stop()
	for i, id := range ids {
		at, _ := recv.arrival(id)
		l.Took = append(l.Took, at.Sub(starts[i]))
	}
	l.Calls = map[string]map[string]int{}
	for c, s := range stats {
		l.Calls[c], _ = s.snapshot()
	}
	return l, nil
}

// reportLatency prints the latency run's figures.
func reportLatency(out io.Writer, l Latency, o DeliveryOptions) {
	ms := func(d time.Duration) string { return fmt.Sprintf("%.0f ms", float64(d.Microseconds())/1000) }
	fmt.Fprintf(out, "\nlatency, PutEvents to the receiver's first sight, %d events %v apart, one endpoint each, through kumo and the pollers (1 s receive waits):\n",
		len(l.Took), o.EventInterval)
	fmt.Fprintf(out, "p50 %s, p95 %s, max %s, min %s\n", ms(percentile(l.Took, 50)), ms(percentile(l.Took, 95)),
		ms(slices.Max(l.Took)), ms(slices.Min(l.Took)))
	n := float64(len(l.Took))
	fmt.Fprintf(out, "\nAWS calls of that run (warm), per delivered message (%d delivered):\n", len(l.Took))
	fmt.Fprintln(out, "| caller | calls per delivered message |")
	fmt.Fprintln(out, "|---|---|")
	for _, c := range []string{CallerPublisher, CallerFanoutPoller, CallerFanout, CallerDeliveryPoller, CallerDelivery} {
		var parts []string
		for _, op := range slices.Sorted(maps.Keys(l.Calls[c])) {
			parts = append(parts, fmt.Sprintf("%s %.2f (%d)", op, float64(l.Calls[c][op])/n, l.Calls[c][op]))
		}
		if len(parts) == 0 {
			parts = []string{"none"}
		}
		fmt.Fprintf(out, "| %s | %s |\n", c, strings.Join(parts, ", "))
	}
	fmt.Fprintln(out, "(the pollers' ReceiveMessage counts follow the run's length, not the messages: each idle receive waits 1 s)")
}
