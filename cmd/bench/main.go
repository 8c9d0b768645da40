// Command bench prints the cold-start, size and memory figures of
// `make bench` (the Go benchmarks run before it), then what one janitor
// run costs over tables of growing size. Between the two come the
// delivery figures: the fan-out and delivery functions' cold starts, a
// fresh delivery function's first delivery taken apart, the delivery
// handler's throughput beside a bare HTTP loop, latency from PutEvents to
// the endpoint, and AWS calls per delivered message; a healthy endpoint's
// latency alone and while a black-holed one is flooded; and the DynamoDB
// size of the items each event leaves. Last comes the scale simulation
// (internal/dev/sim): the delivery code at 10,000 endpoints on a virtual
// clock, with the endpoints' gates on and off, which needs no emulator
// (-only scale runs it alone). Run it from the repository root.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/docproc/webhooks/internal/dev/bench"
	"github.com/docproc/webhooks/internal/dev/local/emulator"
	"github.com/docproc/webhooks/internal/dev/sim"
)

// emulatorAddr is where the emulator listens: the kernel picks the port.
const emulatorAddr = "127.0.0.1:0"

func main() {
	o := bench.Options{Root: "."}
	d := bench.DeliveryOptions{Root: "."}
	flag.IntVar(&o.ColdStarts, "cold-starts", 30, "cold starts of each bootstrap (and first deliveries of fresh delivery function instances)")
	flag.IntVar(&o.Invocations, "invocations", 1000, "warm creates for the memory figure")
	flag.IntVar(&o.WorkerInvocations, "worker-invocations", 100, "warm invocations of the fan-out and delivery functions (batches of 10) for their memory figures")
	flag.StringVar(&o.Baseline, "baseline", "", "a git revision whose delivery code the first-delivery run measures beside this tree's, in the same turns")
	sizes := flag.String("janitor-webhooks", "1000,10000,100000", "table sizes (webhooks) of the janitor runs, comma-separated")
	checks := flag.Int("janitor-checks", 20, "due secret checks in each janitor run")
	flag.IntVar(&d.Deliveries, "deliveries", 500, "deliveries of each side of the throughput run, at each receiver latency")
	flag.IntVar(&d.Concurrency, "concurrency", 10, "deliveries at once (a batch) in the throughput run")
	latencies := flag.String("receiver-latencies", "0s,20ms,100ms", "the receiver's answer times of the throughput runs, comma-separated")
	flag.IntVar(&d.Events, "events", 50, "events published in the latency run, and to the healthy endpoint in each phase of the isolation run")
	flag.DurationVar(&d.EventInterval, "event-interval", 100*time.Millisecond, "time between two publishes of the latency run")
	flag.IntVar(&d.PayloadBytes, "payload-bytes", 1024, "size of each event's data")
	flag.IntVar(&d.Flood, "flood", 600, "events sent to the black-holed endpoint in the isolation run")
	flag.DurationVar(&d.IsolationInterval, "isolation-interval", 500*time.Millisecond, "time between two publishes to the healthy endpoint in the isolation run")
	s := sim.DefaultOptions()
	flag.IntVar(&s.Endpoints, "scale-endpoints", s.Endpoints, "endpoints of the scale simulation")
	flag.Float64Var(&s.Rate, "scale-rate", s.Rate, "steady events a second of the scale simulation")
	flag.IntVar(&s.Burst, "scale-burst", s.Burst, "events of the scale simulation's burst, from one account")
	flag.DurationVar(&s.BurstAt, "scale-burst-at", s.BurstAt, "when the burst is published, from the start")
	flag.DurationVar(&s.Duration, "scale-duration", s.Duration, "simulated time during which events are published")
	flag.DurationVar(&s.Drain, "scale-drain", s.Drain, "simulated time after the last publish")
	flag.DurationVar(&s.Timeout, "scale-timeout", s.Timeout, "an attempt's time limit (DELIVERY_TIMEOUT) in the scale simulation")
	flag.IntVar(&s.Instances, "scale-instances", s.Instances, "delivery function instances at once (DeliveryMaxConcurrency) in the scale simulation")
	flag.Uint64Var(&s.Seed, "scale-seed", s.Seed, "seed of the scale simulation's workload")
	only := flag.String("only", "", `"api", "workers", "firstdelivery", "delivery", "isolation", "storage", "janitor" or "scale" to measure only that`)
	flag.Parse()
	if *only == "scale" {
		if err := scale(s); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	// kumo's EventBridge reads where to send SQS targets at package init:
	// Prepare re-executes this program with that set, so that the latency
	// run's events reach the queues.
	if err := emulator.Prepare(emulatorAddr, ""); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	for _, s := range strings.Split(*latencies, ",") {
		l, err := time.ParseDuration(strings.TrimSpace(s))
		if err != nil || l < 0 {
			fmt.Fprintf(os.Stderr, "bench: -receiver-latencies: %q is not a duration\n", s)
			os.Exit(2)
		}
		d.Latencies = append(d.Latencies, l)
	}
	if err := run(o, d, *sizes, *checks, *only); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	if *only == "" {
		if err := scale(s); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
	}
}

// scale runs the scale simulation with o, once with the endpoints' gates
// on and once with them off, one after the other (each holds its whole
// world in memory), and prints the two side by side.
func scale(o sim.Options) error {
	on, off := o, o
	on.Gated, off.Gated = true, false
	var runs []sim.Result
	for _, opts := range []sim.Options{on, off} {
		r, err := sim.Run(opts)
		if err != nil {
			return err
		}
		runs = append(runs, r)
	}
	return sim.Report(os.Stdout, []string{"gates on", "gates off"}, runs)
}

func run(o bench.Options, d bench.DeliveryOptions, sizes string, checks int, only string) error {
	ctx := context.Background()
	var ns []int
	for _, s := range strings.Split(sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 0 {
			return fmt.Errorf("-janitor-webhooks: %q is not a size", s)
		}
		ns = append(ns, n)
	}
	// The first emulator takes the listener Prepare made, on which kumo's
	// EventBridge sends; kumo's state is the process's, so every emulator
	// started later serves the same resources.
	emu, err := emulator.Start(emulatorAddr)
	if err != nil {
		return err
	}
	defer emu.Close(ctx)
	if !emu.EventsReachQueues() {
		return fmt.Errorf("kumo's EventBridge does not send to this emulator (%s)", emu.URL)
	}
	o.Endpoint, d.Endpoint = emu.URL, emu.URL
	if only == "" || only == "api" {
		if _, err := bench.Run(ctx, o, os.Stdout); err != nil {
			return err
		}
	}
	if only == "" || only == "workers" {
		if _, err := bench.RunWorkers(ctx, o, os.Stdout); err != nil {
			return err
		}
	}
	if only == "" || only == "firstdelivery" {
		if _, err := bench.RunFirstDelivery(ctx, o, os.Stdout); err != nil {
			return err
		}
	}
	// The delivery runs go before the janitor's, whose tables of up to
	// 100,000 items stay in kumo's memory.
	if only == "" || only == "delivery" {
		if _, _, err := bench.RunDelivery(ctx, d, os.Stdout); err != nil {
			return err
		}
	}
	if only == "" || only == "isolation" {
		if _, err := bench.RunIsolation(ctx, d, os.Stdout); err != nil {
			return err
		}
	}
	if only == "" || only == "storage" {
		if _, err := bench.Storage(ctx, d, os.Stdout); err != nil {
			return err
		}
	}
	if only == "" || only == "janitor" {
		if _, err := bench.JanitorCost(ctx, emu.URL, "template.yaml", ns, checks, os.Stdout); err != nil {
			return err
		}
	}
	return nil
}
