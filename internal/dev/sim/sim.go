// Package sim simulates webhook delivery at scale: ten thousand endpoints,
// a thousand events a second and bursts of a hundred thousand, which no
// laptop or emulator can run for real. It drives the real decisions of
// internal/delivery (Deliverer.Deliver: the gate's concurrency cap, the
// retries' share of it and the rate limit, the circuit breaker, the
// schedule and parking of retries; Sweeper.Sweep every minute) on a
// virtual clock (clock.go), against models of what they run on: SQS with
// its delays, fair-queue groups and in-flight limit (sqs.go), Lambda's
// instances and batches (lambda.go), the DynamoDB table with the
// adapter's conditions and calls (table.go), Secrets Manager (secrets.go)
// and endpoints that answer fast, slowly, with 500 or never
// (endpoints.go). It counts every call the code makes and prices them
// (bill.go). What it models and leaves out is in docs/design.md ("The
// scale simulation"); its figures are in docs/performance.md.
//
// A run is repeatable up to the jitter the delivery package draws from
// math/rand/v2's global source (retry waits, hold backoffs, breaker
// spreads), which cannot be seeded: everything the simulation draws
// itself comes from Options.Seed.
package sim

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/docproc/webhooks/internal/delivery"
	"github.com/docproc/webhooks/internal/webhook"
)

// Options are a run's workload and deployment.
type Options struct {
	// Endpoints is how many endpoints there are, in accounts of 10.
	Endpoints int
	// Rate is the steady load, in events a second, each to one endpoint
	// drawn at random.
	Rate float64
	// Burst is how many events the burst account publishes at once, at
	// BurstAt, spread evenly over its endpoints.
	Burst   int
	BurstAt time.Duration
	// Duration is how long events are published; Drain how long the run
	// goes on after.
	Duration, Drain time.Duration
	// Timeout is an attempt's time limit (DELIVERY_TIMEOUT).
	Timeout time.Duration
	// Instances is the delivery function's most instances at once
	// (DeliveryMaxConcurrency).
	Instances int
	// Concurrency is an endpoint's most attempts in progress
	// (ENDPOINT_CONCURRENCY).
	Concurrency int
	// Gated says the endpoints' gates are on: the concurrency cap, the
	// retries' share, the rate limit and the breaker. Off, every attempt
	// goes at once and no gate item is read or written.
	Gated bool
	// Seed seeds the workload and the endpoints' answer times.
	Seed uint64
	// Latencies are the calls' times.
	Latencies Latencies
}

// Latencies are how long the calls take. They are assumptions, typical of
// calls made inside an AWS region, not measurements; CPU is the measured
// warm CPU time per record (docs/performance.md, "Delivery": 1.6 ms on a
// full core) scaled to the seventh of a vCPU Lambda gives 256 MB.
type Latencies struct {
	// Read is a strongly consistent BatchGetItem or a Query.
	Read time.Duration
	// Write is an UpdateItem.
	Write time.Duration
	// Transaction is a TransactWriteItems.
	Transaction time.Duration
	// SQS is a SendMessage or ChangeMessageVisibility.
	SQS time.Duration
	// Secrets is a GetSecretValue.
	Secrets time.Duration
	// CPU is the CPU time a message takes its instance.
	CPU time.Duration
}

// DefaultLatencies are the assumed call times.
var DefaultLatencies = Latencies{Read: 5 * time.Millisecond, Write: 7 * time.Millisecond, Transaction: 12 * time.Millisecond,
	SQS: 8 * time.Millisecond, Secrets: 15 * time.Millisecond, CPU: 11 * time.Millisecond}

// DefaultOptions is the workload of issue 20 on the template's defaults:
// 10,000 endpoints, 1,000 events a second for 10 minutes, a burst of
// 100,000 events 5 minutes in, 5 minutes of drain, attempts of at most
// 10 s, 50 instances, 10 attempts in progress per endpoint, gates on.
func DefaultOptions() Options {
	return Options{Endpoints: 10_000, Rate: 1000, Burst: 100_000, BurstAt: 5 * time.Minute, Duration: 10 * time.Minute,
		Drain: 5 * time.Minute, Timeout: 10 * time.Second, Instances: 50, Concurrency: delivery.DefaultConcurrency,
		Gated: true, Seed: 1, Latencies: DefaultLatencies}
}

// Result is what a run found.
type Result struct {
	// Options are the run's.
	Options Options
	// Events counts the events published.
	Events int
	// Dwell is the delivered events' dwell times.
	Dwell Dwell
	// Steps counts the delivery steps.
	Steps Steps
	// Queue is what the queue saw.
	Queue QueueStats
	// Left counts the messages still queued at the end (visible, delayed
	// or in flight).
	Left int
	// Calls counts the AWS calls.
	Calls Calls
	// Bill prices them (USEast1).
	Bill Bill
	// Wall is the run's real time.
	Wall time.Duration
}

// epoch is where virtual time starts: a fixed instant, in the past so
// that no real timer is armed for a virtual deadline.
var epoch = time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)

// payloadBytes is the size of each event's payload: 1 KiB of data in
// the envelope, as in the delivery benchmarks.
const payloadBytes = 1172

// Run simulates o.
func Run(o Options) (Result, error) {
	if o.Endpoints < accountEndpoints || o.Instances < 1 || o.Rate < 0 || o.Concurrency < 1 || o.Timeout <= 0 {
		return Result{}, fmt.Errorf("sim: at least %d endpoints, 1 instance, a rate of 0 or more, a concurrency of 1 or more and a timeout are needed", accountEndpoints)
	}
	began := time.Now()
	res := Result{Options: o}
	rng := rand.New(rand.NewPCG(o.Seed, 0x5eed))
	l := newLoop(epoch)
	eps := newEndpoints(o.Endpoints, rng)
	hooks := make([]*webhook.Webhook, len(eps))
	byURL := make(map[string]*endpoint, len(eps))
	for i, ep := range eps {
		hooks[i] = ep.hook
		byURL[ep.hook.URL] = ep
	}
	secret, err := webhook.NewSigningSecret()
	if err != nil {
		return Result{}, err
	}
	payload := make([]byte, payloadBytes)
	q := newQueue(l, o.Latencies, &res.Calls, &res.Queue)
	tab := newTable(o.Latencies, o.Gated, hooks, payload, &res.Calls)
	secrets := &secretStore{lat: o.Latencies, set: webhook.NewSecretSet(secret), calls: &res.Calls}
	send := &sender{rng: rand.New(rand.NewPCG(o.Seed, 0xa115)), timeout: o.Timeout, now: l.now,
		byURL: byURL, dwell: &res.Dwell}
	f := &function{loop: l, queue: q, cpu: o.Latencies.CPU, open: true, steps: &res.Steps, calls: &res.Calls}
	for range o.Instances {
		f.idle = append(f.idle, &delivery.Deliverer{Store: tab, Secrets: secrets, Sender: send, Queue: q, Gates: tab, Parking: tab,
			Concurrency: o.Concurrency, Now: l.now})
	}
	q.onVisible = f.poll
	res.Dwell.Start, res.Dwell.BurstAt = epoch, epoch.Add(o.BurstAt)
	w := &workload{loop: l, rng: rng, eps: eps, queue: q, payload: payload, dwell: &res.Dwell, published: f.poll}
	end := epoch.Add(o.Duration)
	l.at(epoch, func() { w.steady(o.Rate, end) })
	if o.Burst > 0 {
		l.at(res.Dwell.BurstAt, func() { w.burst(o.Burst) })
	}
	sweeper := &delivery.Sweeper{Parking: tab, Queue: q, Now: l.now}
	var sweep func()
	sweep = func() {
		if !f.open {
			return
		}
		res.Calls.Lambda.Sweeps++
		_, _ = sweeper.Sweep(context.Background())
		f.poll()
		l.after(time.Minute, sweep)
	}
	l.after(time.Minute, sweep)
	stop := end.Add(o.Drain)
	l.runWhile(func(next time.Time) bool { return !next.After(stop) })
	// Receive nothing more, and let the batches under way finish.
	f.open = false
	l.runWhile(func(time.Time) bool { return f.running > 0 })
	res.Events = w.events
	res.Left = q.visible + q.delayed + q.inFlight
	res.Bill = USEast1.Bill(&res.Calls)
	res.Wall = time.Since(began)
	return res, nil
}
