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
	"github.com/docproc/webhooks/internal/tenant"
	"github.com/docproc/webhooks/internal/webhook"
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

	p := publisher{eb: eventbridge.NewFromConfig(cfgs[CallerPublisher]), bus: w.res.Bus, payloadBytes: o.PayloadBytes}
	if _, err := timeEvents(ctx, p, recv, w.owner, name+"_warm", 2, 0, 60*time.Second); err != nil {
		return l, err
	}
	time.Sleep(2 * time.Second) // the warm-up's deletes
	for _, s := range stats {
		s.reset()
	}
	if l.Took, err = timeEvents(ctx, p, recv, w.owner, name, o.Events, o.EventInterval, 60*time.Second); err != nil {
		return l, err
	}
	// Let the last handlers return and their messages be deleted.
	time.Sleep(3 * time.Second)
	stop()
	l.Calls = map[string]map[string]int{}
	for c, s := range stats {
		l.Calls[c], _ = s.snapshot()
	}
	return l, nil
}

// publisher puts document.uploaded events on a world's bus, each with
// data of about payloadBytes.
type publisher struct {
	eb           *eventbridge.Client
	bus          string
	payloadBytes int
}

// publish puts one event of owner per id (at most 10) in one PutEvents
// call, and returns when the call began.
func (p publisher) publish(ctx context.Context, owner tenant.Tenant, ids ...string) (time.Time, error) {
	entries := make([]ebtypes.PutEventsRequestEntry, len(ids))
	for i, id := range ids {
		detail := map[string]any{"account": owner.Account, "livemode": owner.Mode == tenant.Live, "id": id,
			"data": map[string]string{"document_id": "doc_" + id, "note": strings.Repeat("x", max(0, p.payloadBytes-40))}}
		b, _ := json.Marshal(detail)
		entries[i] = ebtypes.PutEventsRequestEntry{EventBusName: aws.String(p.bus), Source: aws.String(delivery.Source),
			DetailType: aws.String(string(webhook.DocumentUploaded)), Detail: aws.String(string(b))}
	}
	start := time.Now()
	res, err := p.eb.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: entries})
	if err == nil && res.FailedEntryCount > 0 {
		err = fmt.Errorf("PutEvents: %d failed entries", res.FailedEntryCount)
	}
	return start, err
}

// timeEvents publishes n events of owner, interval apart, whose ids start
// with tag, and waits (for at most within) until recv has them all. It
// returns each one's time from the start of its PutEvents call to its
// first arrival.
func timeEvents(ctx context.Context, p publisher, recv *receiver, owner tenant.Tenant, tag string, n int, interval, within time.Duration) ([]time.Duration, error) {
	ids := make([]string, n)
	starts := make([]time.Time, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("%s_%d", tag, i)
		var err error
		if starts[i], err = p.publish(ctx, owner, ids[i]); err != nil {
			return nil, err
		}
		time.Sleep(interval)
	}
	if err := recv.waitAll(ids, within); err != nil {
		return nil, err
	}
	took := make([]time.Duration, n)
	for i, id := range ids {
		at, _ := recv.arrival(id)
		took[i] = at.Sub(starts[i])
	}
	return took, nil
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
