package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/eventbridge"

	"github.com/docproc/webhooks/internal/awsconf/chain"
	"github.com/docproc/webhooks/internal/delivery"
	"github.com/docproc/webhooks/internal/tenant"
)

// Isolation is what the isolation run measured: one account's healthy
// endpoint's latency, from PutEvents to the receiver's first sight, alone
// and while another account's black-holed endpoint is flooded, in one
// run.
type Isolation struct {
	// Alone and Flooded are the healthy endpoint's latencies, one per
	// event, before the flood and during it.
	Alone, Flooded []time.Duration
	// Flood is how many events the black-holed endpoint was sent, and
	// FloodPublish how long publishing them took.
	Flood        int
	FloodPublish time.Duration
	// Connections counts the connections the black hole accepted: the
	// attempts begun on it while the healthy events were timed.
	Connections int
}

// isolationTimeout and isolationSchedule are the delivery function's
// DELIVERY_TIMEOUT and DELIVERY_RETRY_SCHEDULE in the isolation run: the
// acceptance suite's. Each attempt to the black hole lasts the timeout,
// and a flooded delivery is parked for 20 h after its third attempt.
const isolationTimeout = 10 * time.Second

var isolationSchedule = delivery.Schedule{time.Second, 2 * time.Second, 20 * time.Hour}

// isolationGoal is the most the healthy endpoint's p95 may grow during
// the flood: twice its p95 alone.
const isolationGoal = 2.0

// DeliveryIsolation starts the pipeline as DeliveryLatency does, with the
// isolation run's timeout and schedule, for two accounts of one webhook
// each: the healthy one's is a local receiver, the flooded one's a black
// hole (accepts TCP, never answers). After a warm-up of two events, it
// times o.Events events to the receiver, o.IsolationInterval apart;
// then it publishes o.Flood events to the black hole, ten to a PutEvents
// call, and at the same time times o.Events more to the receiver the
// same way. Each phase waits at most 2 minutes for its events.
func DeliveryIsolation(ctx context.Context, o DeliveryOptions, dir string, out io.Writer) (Isolation, error) {
	var r Isolation
	recv, err := newReceiver(dir)
	if err != nil {
		return r, err
	}
	defer recv.srv.Close()
	hole, err := newBlackHole()
	if err != nil {
		return r, err
	}
	defer hole.close()
	name := fmt.Sprintf("bench-isolation-%d", time.Now().UnixNano())
	w, err := newWorld(ctx, o.Root, o.Endpoint, name, recv, 1)
	if err != nil {
		return r, err
	}
	w.timeout, w.schedule = isolationTimeout, isolationSchedule
	flooded := tenant.Tenant{Account: w.owner.Account + "_flooded", Mode: tenant.Test}
	if _, err := w.hook(ctx, flooded, hole.url()); err != nil {
		return r, err
	}
	cfg, err := chain.ForEndpoint(ctx, o.Endpoint, "us-east-1")
	if err != nil {
		return r, err
	}
	stop, err := w.run(ctx, pipelineCalls{fanout: cfg, delivery: cfg, fanoutPoller: cfg, deliveryPoller: cfg}, out)
	if err != nil {
		return r, err
	}
	defer stop()

	const within = 2 * time.Minute
	p := publisher{eb: eventbridge.NewFromConfig(cfg), bus: w.res.Bus, payloadBytes: o.PayloadBytes}
	if _, err := timeEvents(ctx, p, recv, w.owner, name+"_warm", 2, 0, within); err != nil {
		return r, err
	}
	if r.Alone, err = timeEvents(ctx, p, recv, w.owner, name+"_alone", o.Events, o.IsolationInterval, within); err != nil {
		return r, fmt.Errorf("alone: %w", err)
	}
	published := make(chan error, 1)
	go func() {
		start := time.Now()
		for i := 0; i < o.Flood; i += 10 {
			ids := make([]string, min(10, o.Flood-i))
			for j := range ids {
				ids[j] = fmt.Sprintf("%s_flood_%d", name, i+j)
			}
			if _, err := p.publish(ctx, flooded, ids...); err != nil {
				published <- err
				return
			}
		}
		r.FloodPublish = time.Since(start)
		published <- nil
	}()
	r.Flooded, err = timeEvents(ctx, p, recv, w.owner, name+"_flooded", o.Events, o.IsolationInterval, within)
	if perr := <-published; err == nil {
		err = perr
	}
	if err != nil {
		return r, fmt.Errorf("during the flood: %w", err)
	}
	r.Flood, r.Connections = o.Flood, hole.accepted()
	return r, nil
}

// RunIsolation measures a healthy endpoint's latency alone and during a
// black-holed endpoint's flood, and prints both with their ratio.
func RunIsolation(ctx context.Context, o DeliveryOptions, out io.Writer) (Isolation, error) {
	dir, err := os.MkdirTemp("", "webhooks-bench-isolation-")
	if err != nil {
		return Isolation{}, err
	}
	defer os.RemoveAll(dir)
	fmt.Fprintf(out, "\ndelivery isolation: %d events to a healthy endpoint alone, then %d more while %d flood a black-holed one ...\n",
		o.Events, o.Events, o.Flood)
	r, err := DeliveryIsolation(ctx, o, dir, out)
	if err != nil {
		return r, fmt.Errorf("isolation: %w", err)
	}
	reportIsolation(out, r, o)
	return r, nil
}

// reportIsolation prints the isolation run's figures.
func reportIsolation(out io.Writer, r Isolation, o DeliveryOptions) {
	ms := func(d time.Duration) string { return fmt.Sprintf("%.0f ms", float64(d.Microseconds())/1000) }
	fmt.Fprintf(out, "\nisolation, PutEvents to the receiver's first sight of a healthy endpoint's events (%d per phase, %v apart), "+
		"alone and while another account's black-holed endpoint (accepts TCP, never answers) is sent %d events "+
		"(published in %.1f s; %d connections to it), DELIVERY_TIMEOUT %v, DELIVERY_RETRY_SCHEDULE %v, through kumo and the pollers:\n",
		len(r.Alone), o.IsolationInterval, r.Flood, r.FloodPublish.Seconds(), r.Connections, isolationTimeout, isolationSchedule)
	fmt.Fprintln(out, "| healthy endpoint | p50 | p95 | max |")
	fmt.Fprintln(out, "|---|---|---|---|")
	a50, a95, f50, f95 := percentile(r.Alone, 50), percentile(r.Alone, 95), percentile(r.Flooded, 50), percentile(r.Flooded, 95)
	fmt.Fprintf(out, "| alone | %s | %s | %s |\n", ms(a50), ms(a95), ms(slices.Max(r.Alone)))
	fmt.Fprintf(out, "| during the flood | %s | %s | %s |\n", ms(f50), ms(f95), ms(slices.Max(r.Flooded)))
	ratio := float64(f95) / float64(a95)
	fmt.Fprintf(out, "| during / alone | %.1f | %.1f | |\n", float64(f50)/float64(a50), ratio)
	verdict := "met"
	if ratio > isolationGoal {
		verdict = "NOT met"
	}
	fmt.Fprintf(out, "goal: p95 during the flood at most %.0fx alone: %s\n", isolationGoal, verdict)
}
