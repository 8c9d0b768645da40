// Command bench prints the cold-start, size and memory figures of
// `make bench` (the Go benchmarks run before it), then what one janitor
// run costs over tables of growing size. Between the two come the
// delivery figures: the fan-out and delivery functions' cold starts, a
// fresh delivery function's first delivery taken apart, the delivery
// handler's throughput beside a bare HTTP loop, latency from PutEvents to
// the endpoint, and AWS calls per delivered message; a healthy endpoint's
// latency alone and while a black-holed one is flooded; and the DynamoDB
// size of the items each event leaves. Run it from the
// repository root.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/docproc/webhooks/internal/bench"
	"github.com/docproc/webhooks/internal/local/emulator"
)

// emulatorAddr is where the emulator listens: the kernel picks the port.
const emulatorAddr = "127.0.0.1:0"

func main() {
	// kumo's EventBridge reads where to send SQS targets at package init:
	// Prepare re-executes this program with that set, so that the latency
	// run's events reach the queues.
	if err := emulator.Prepare(emulatorAddr, ""); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
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
	only := flag.String("only", "", `"api", "workers", "firstdelivery", "delivery", "isolation", "storage" or "janitor" to measure only that`)
	flag.Parse()
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
