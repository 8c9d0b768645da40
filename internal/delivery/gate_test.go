package delivery_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/docproc/webhooks/internal/delivery"
)

// messageN is the n-th event's delivery to the fixture's webhook.
func messageN(n int) delivery.Message {
	m := message()
	m.EventID = fmt.Sprintf("evt_%d", n)
	m.DeliveryID = delivery.DeliveryID(m.EventID, "wh_01", m.EventTime)
	return m
}

// holdSlots fills the fixture's endpoint with n attempts in progress, as
// if other receipts were making them, retries or not.
func holdSlots(f *fixture, n int, retry bool) {
	g := f.store.gates["wh_01"]
	if g.Holders == nil {
		g.Holders, g.Begun, g.Tallies = map[string]delivery.Holder{}, map[int64]int{}, map[int64]delivery.Tally{}
	}
	for i := range n {
		g.Holders[fmt.Sprintf("other_%v_%d", retry, i)] = delivery.Holder{Until: f.now.Add(time.Minute), Retry: retry}
	}
	f.store.gates["wh_01"] = g
}

// An endpoint with Concurrency attempts in progress takes no more: the
// next delivery is parked with a backoff, unattempted, and goes once a
// slot is free (the attempts in progress ended, or their leases did).
func TestAnEndpointHasABoundedNumberOfAttemptsInProgress(t *testing.T) {
	f := newFixture(t, settings(true, 3), ok200)
	f.d.Concurrency = 3
	holdSlots(f, 3, false)
	step, err := f.d.Deliver(context.Background(), messageN(1), "sqs-1")
	if err != nil || step.Outcome != delivery.OutcomeHeld || step.Reason != delivery.HeldConcurrency || len(f.sender.requests) != 0 {
		t.Fatalf("a fourth attempt at once: %+v, %v, %d POSTs; want held for concurrency", step, err, len(f.sender.requests))
	}
	if len(f.queue.sent) != 1 || f.queue.sent[0].Deferrals != 1 || f.queue.delays[0] < delivery.HoldBackoff/2 ||
		f.queue.delays[0] > 3*delivery.HoldBackoff/2 || f.queue.sent[0].Claim != "" {
		t.Fatalf("parked %+v after %v; want one message, deferred once, after %v ± half, with no claim (no delivery yet)",
			f.queue.sent, f.queue.delays, delivery.HoldBackoff)
	}
	if _, ok := f.store.deliveries[messageN(1).DeliveryID]; ok {
		t.Fatal("a held delivery was recorded; it must not be charged anything")
	}
	// A second hold of the same message waits longer.
	step, _ = f.d.Deliver(context.Background(), f.queue.sent[0], "sqs-2")
	if step.Outcome != delivery.OutcomeHeld || f.queue.delays[1] < delivery.HoldBackoff {
		t.Fatalf("second hold: %+v after %v; want a longer backoff", step, f.queue.delays[1])
	}
	f.now = f.now.Add(time.Minute) // the other attempts' leases end
	step, err = f.d.Deliver(context.Background(), f.queue.sent[1], "sqs-3")
	if err != nil || step.Outcome != delivery.OutcomeDelivered || len(f.sender.requests) != 1 {
		t.Fatalf("once the slots are free: %+v, %v", step, err)
	}
	if g := f.store.gates["wh_01"]; len(g.Holders) != 0 {
		t.Fatalf("holders left after the attempt: %+v", g.Holders)
	}
}

// Retries may hold only half of an endpoint's slots: a backlog of retries
// leaves room for first attempts.
func TestRetriesCannotStarveFirstAttempts(t *testing.T) {
	f := newFixture(t, settings(true, 3), fail500, ok200)
	f.d.Concurrency = 4
	f.d.Schedule = delivery.Schedule{10 * time.Second}
	holdSlots(f, 2, true)
	// A retry is held: retries already hold their share.
	m := messageN(1)
	if _, err := f.d.Deliver(context.Background(), m, "sqs-1"); err != nil { // its first attempt fails
		t.Fatal(err)
	}
	f.now = f.now.Add(11 * time.Second)
	for id, h := range f.store.gates["wh_01"].Holders {
		h.Until = f.now.Add(time.Minute)
		f.store.gates["wh_01"].Holders[id] = h
	}
	step, err := f.d.Deliver(context.Background(), f.queue.sent[0], "sqs-2")
	if err != nil || step.Outcome != delivery.OutcomeHeld || step.Reason != delivery.HeldRetryShare {
		t.Fatalf("a retry with retries holding half the slots: %+v, %v; want held", step, err)
	}
	// A first attempt still goes.
	step, err = f.d.Deliver(context.Background(), messageN(2), "sqs-3")
	if err != nil || step.Attempt == nil {
		t.Fatalf("a first attempt beside them: %+v, %v; want it made", step, err)
	}
}

// An endpoint's rate_limit bounds the attempts begun each second.
func TestRateLimitHoldsTheExcess(t *testing.T) {
	f := newFixture(t, settings(true, 3), ok200)
	w := f.store.hooks["wh_01"]
	w.RateLimit = 2
	f.store.hooks["wh_01"] = w
	var made, held int
	for i := range 5 {
		step, err := f.d.Deliver(context.Background(), messageN(i), fmt.Sprint("sqs-", i))
		if err != nil {
			t.Fatal(err)
		}
		switch step.Outcome {
		case delivery.OutcomeDelivered:
			made++
		case delivery.OutcomeHeld:
			held++
			if step.Reason != delivery.HeldRate || step.Wait < time.Second/2 {
				t.Errorf("held %+v; want the rate limit's, past the second", step)
			}
		}
	}
	if made != 2 || held != 3 {
		t.Fatalf("%d made and %d held in one second at 2 a second; want 2 and 3", made, held)
	}
	f.now = f.now.Add(time.Second)
	if step, _ := f.d.Deliver(context.Background(), f.queue.sent[0], "sqs-later"); step.Outcome != delivery.OutcomeDelivered {
		t.Fatalf("the next second: %+v; want it made", step)
	}
}

// An endpoint whose attempts mostly fail trips its breaker: its
// deliveries then wait, unattempted and uncharged, behind one probe at a
// time, spaced out; a probe that succeeds closes it.
func TestTheBreakerTripsProbesAndCloses(t *testing.T) {
	f := newFixture(t, settings(true, 10), delivery.Response{Error: delivery.ClassTimeout})
	f.d.Schedule = delivery.Schedule{time.Hour}
	for i := range delivery.DefaultBreaker.MinAttempts {
		step, err := f.d.Deliver(context.Background(), messageN(i), fmt.Sprint("sqs-", i))
		if err != nil || step.Attempt == nil {
			t.Fatalf("attempt %d: %+v, %v", i, step, err)
		}
		if i == delivery.DefaultBreaker.MinAttempts-1 && step.Breaker != delivery.BreakerOpenState {
			t.Fatalf("after %d timeouts the breaker is %q; want open", i+1, step.Breaker)
		}
	}
	posts := len(f.sender.requests)
	step, err := f.d.Deliver(context.Background(), messageN(100), "sqs-100")
	if err != nil || step.Outcome != delivery.OutcomeHeld || step.Reason != delivery.HeldBreaker || len(f.sender.requests) != posts {
		t.Fatalf("with the breaker open: %+v, %v; want held, no POST", step, err)
	}
	if step.Wait < delivery.DefaultBreaker.Open || step.Wait > 2*delivery.DefaultBreaker.Open {
		t.Fatalf("held for %v; want until the breaker's open period ends, spread over one more", step.Wait)
	}
	if _, ok := f.store.deliveries[messageN(100).DeliveryID]; ok {
		t.Fatal("a delivery held by the breaker was charged")
	}
	// Half-open: one probe goes; it fails, and the breaker opens for twice
	// as long.
	f.now = f.now.Add(delivery.DefaultBreaker.Open)
	probe, err := f.d.Deliver(context.Background(), messageN(101), "sqs-101")
	if err != nil || probe.Attempt == nil || probe.Breaker != delivery.BreakerOpenState {
		t.Fatalf("the probe: %+v, %v; want an attempt that fails and opens the breaker again", probe, err)
	}
	if g := f.store.gates["wh_01"]; g.Trips != 2 || !g.OpenUntil.Equal(f.now.Add(2*delivery.DefaultBreaker.Open)) {
		t.Fatalf("after a failed probe: trips %d, open until %v; want 2, %v", g.Trips, g.OpenUntil, f.now.Add(2*delivery.DefaultBreaker.Open))
	}
	// The next probe succeeds and closes it; deliveries go again.
	f.sender.script = []delivery.Response{ok200}
	f.sender.requests = nil
	f.now = f.now.Add(2 * delivery.DefaultBreaker.Open)
	if probe, err := f.d.Deliver(context.Background(), messageN(102), "sqs-102"); err != nil || probe.Outcome != delivery.OutcomeDelivered ||
		probe.Breaker != delivery.BreakerClosed {
		t.Fatalf("a probe that succeeds: %+v, %v; want delivered and the breaker closed", probe, err)
	}
	if step, err := f.d.Deliver(context.Background(), messageN(103), "sqs-103"); err != nil || step.Outcome != delivery.OutcomeDelivered {
		t.Fatalf("after the breaker closed: %+v, %v", step, err)
	}
}

// While a probe is being made, the others wait for its outcome.
func TestOneProbeAtATime(t *testing.T) {
	f := newFixture(t, settings(true, 3), ok200)
	f.store.gates["wh_01"] = delivery.Gate{OpenUntil: f.now.Add(-time.Second), Trips: 1, Probe: "someone",
		ProbeUntil: f.now.Add(time.Minute), Holders: map[string]delivery.Holder{"someone": {Until: f.now.Add(time.Minute)}}}
	step, err := f.d.Deliver(context.Background(), messageN(1), "sqs-1")
	if err != nil || step.Outcome != delivery.OutcomeHeld || step.Reason != delivery.HeldProbe || len(f.sender.requests) != 0 {
		t.Fatalf("while another probes: %+v, %v; want held", step, err)
	}
}

// A stored delivery that an open breaker holds waits in the table, not as
// a message: its ResendAt moves to the wait's end, where the sweeper finds
// it; no copy of it piles up while the breaker stays open.
func TestAHeldRetryWaitsInTheTable(t *testing.T) {
	f := newFixture(t, settings(true, 5), fail500)
	f.d.Schedule = delivery.Schedule{10 * time.Second}
	m := messageN(1)
	f.store.events[owner.String()+"/"+m.EventID] = delivery.Event{ID: m.EventID, Owner: owner, Payload: m.Payload}
	if _, err := f.d.Deliver(context.Background(), m, "sqs-1"); err != nil {
		t.Fatal(err)
	}
	f.store.gates["wh_01"] = delivery.Gate{OpenUntil: f.now.Add(time.Hour), Trips: 3}
	f.now = f.now.Add(time.Minute)
	step, err := f.d.Deliver(context.Background(), f.queue.sent[0], "sqs-2")
	if err != nil || step.Outcome != delivery.OutcomeHeld || step.Reason != delivery.HeldBreaker {
		t.Fatalf("a retry with the breaker open: %+v, %v; want held by the breaker", step, err)
	}
	if len(f.queue.sent) != 1 {
		t.Fatalf("%d messages; want none queued for the hold", len(f.queue.sent)-1)
	}
	p := f.store.parked[m.DeliveryID]
	if !p.ResendAt.Equal(f.now.Add(step.Wait)) || step.Wait < time.Hour-time.Minute {
		t.Fatalf("parked %+v, held %v; want ResendAt at the hold's end, past the open breaker", p, step.Wait)
	}
	sw := &delivery.Sweeper{Parking: f.store, Queue: f.queue, Now: func() time.Time { return f.now }}
	if got, _ := sw.Sweep(context.Background()); got.Queued != 0 {
		t.Fatalf("swept while held: %+v", got)
	}
	f.now = f.now.Add(step.Wait)
	if got, err := sw.Sweep(context.Background()); err != nil || got.Queued != 1 || f.queue.sent[1].Claim != "sqs-1" {
		t.Fatalf("sweep at the hold's end: %+v, %v; want the delivery queued with its claim", got, err)
	}
}

// A message the gate held before, back while this instance saw its
// endpoint held a moment ago, is parked again without reading the store:
// a flooded endpoint's held messages cost no reads while it stays full.
func TestAHeldMessageBackSoonIsParkedWithoutARead(t *testing.T) {
	f := newFixture(t, settings(true, 3), ok200)
	f.d.Concurrency = 1
	holdSlots(f, 1, false)
	if step, _ := f.d.Deliver(context.Background(), messageN(1), "sqs-1"); step.Outcome != delivery.OutcomeHeld {
		t.Fatalf("first: %+v; want held", step)
	}
	reads := f.store.targets
	step, err := f.d.Deliver(context.Background(), f.queue.sent[0], "sqs-2")
	if err != nil || step.Outcome != delivery.OutcomeHeld || f.store.targets != reads || f.queue.sent[1].Deferrals != 2 {
		t.Fatalf("back at once: %+v, %v, %d reads; want held again with no read", step, err, f.store.targets-reads)
	}
	f.now = f.now.Add(2 * time.Second) // past what the instance remembers
	if step, _ := f.d.Deliver(context.Background(), f.queue.sent[1], "sqs-3"); step.Outcome != delivery.OutcomeHeld || f.store.targets != reads+1 {
		t.Fatalf("later: %+v, %d reads; want the gate read again", step, f.store.targets-reads)
	}
}
