package delivery_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/docproc/webhooks/internal/delivery"
)

// A failed attempt's message is finished with: a short wait is a delayed
// message that carries the delivery's claim, a long one is left to the
// store, and both are parked with a ResendAt.
func TestAFailedAttemptIsParkedNotHeld(t *testing.T) {
	f := newFixture(t, settings(true, 5), fail500)
	f.d.Schedule = delivery.Schedule{2 * time.Minute, 20 * time.Hour}
	m := message()
	step, err := f.d.Deliver(context.Background(), m, "sqs-1")
	if err != nil || !step.Retry {
		t.Fatalf("first attempt: %+v, %v", step, err)
	}
	if len(f.queue.sent) != 1 || f.queue.sent[0].Claim != "sqs-1" || f.queue.sent[0].DeliveryID != m.DeliveryID {
		t.Fatalf("parked messages %+v; want one with claim sqs-1", f.queue.sent)
	}
	if d := f.queue.delays[0]; d < 108*time.Second || d > 132*time.Second {
		t.Errorf("delay %s; want 2m ± 10%%", d)
	}
	p := f.store.parked[m.DeliveryID]
	if want := f.now.Add(step.Wait).Add(delivery.ResendSlack); !p.ResendAt.Equal(want) {
		t.Errorf("ResendAt %s; want the backstop %s", p.ResendAt, want)
	}

	// The parked message makes the second attempt; its wait of 20 h is
	// kept in the store only.
	f.now = f.now.Add(step.Wait)
	step, err = f.d.Deliver(context.Background(), f.queue.sent[0], "sqs-2")
	if err != nil || !step.Retry || step.Wait < 18*time.Hour {
		t.Fatalf("second attempt: %+v, %v", step, err)
	}
	if len(f.queue.sent) != 1 {
		t.Fatalf("a 20 h wait was queued: %+v", f.queue.sent[1:])
	}
	p = f.store.parked[m.DeliveryID]
	if want := f.now.Add(step.Wait).Add(-delivery.SweepLead); !p.ResendAt.Equal(want) || p.Attempts != 2 {
		t.Errorf("parked %+v; want ResendAt %s after 2 attempts", p, want)
	}
	if got := f.store.deliveries[m.DeliveryID]; got.State != delivery.StatePending || !got.NextAttemptAt.Equal(f.now.Add(step.Wait)) {
		t.Errorf("delivery %+v; want pending, next attempt in %s", got, step.Wait)
	}
}

// A message that comes early is parked again for what remains of a short
// wait, and dropped for a long one, which the store holds.
func TestAnEarlyMessageIsParkedAgain(t *testing.T) {
	f := newFixture(t, settings(true, 5), fail500)
	f.d.Schedule = delivery.Schedule{10 * time.Minute, 20 * time.Hour}
	m := message()
	if _, err := f.d.Deliver(context.Background(), m, "sqs-1"); err != nil {
		t.Fatal(err)
	}
	parked := f.queue.sent[0]
	f.now = f.now.Add(time.Minute)
	step, err := f.d.Deliver(context.Background(), parked, "sqs-dup")
	if err != nil || step.Outcome != delivery.OutcomeEarly || len(f.sender.requests) != 1 {
		t.Fatalf("early copy: %+v, %v, %d requests", step, err, len(f.sender.requests))
	}
	if len(f.queue.sent) != 2 || f.queue.delays[1] != step.Wait {
		t.Fatalf("early copy parked as %v; want once more for %s", f.queue.delays, step.Wait)
	}
}

// Two copies of one message (an SQS duplicate, or a resend of a parked
// message) make one POST per attempt number, even at the same moment
// (M1).
func TestTwoCopiesPostOncePerAttempt(t *testing.T) {
	f := newFixture(t, settings(true, 5), fail500, fail500, fail500, fail500, fail500, fail500)
	f.d.Schedule = delivery.Schedule{10 * time.Second}
	m := message()
	m.Claim = "c1"
	f.store.deliveries[m.DeliveryID] = delivery.Status{Exists: true, State: delivery.StatePending, Claim: "c1",
		ClaimedUntil: f.now.Add(time.Hour), NextAttemptAt: f.now}
	f.store.msgs[m.DeliveryID] = m
	for range 6 {
		var wg sync.WaitGroup
		release := make(chan struct{})
		var entered sync.WaitGroup
		entered.Add(1)
		first := sync.OnceFunc(entered.Done)
		f.sender.onSend = func() { first(); <-release }
		for range 2 {
			wg.Go(func() {
				if _, err := f.d.Deliver(context.Background(), m, "sqs-x"); err != nil && !errors.Is(err, delivery.ErrChanged) {
					t.Error(err)
				}
			})
		}
		entered.Wait() // one copy is mid-POST; the other has had every chance to begin too
		close(release)
		wg.Wait()
		f.now = f.now.Add(12 * time.Second)
	}
	if got := len(f.sender.requests); got != 6 {
		t.Fatalf("%d POSTs for 6 attempts by two copies; want 6", got)
	}
	for i, r := range f.store.records {
		if r.Attempt == nil || r.Attempt.Number != i+1 {
			t.Fatalf("record %d: %+v; want attempt %d", i, r.Attempt, i+1)
		}
	}
}

// An attempt begun whose outcome was never recorded (its record failed, or
// the function stopped) is not POSTed again: the next receipt, once the
// attempt's lease ended, records it as interrupted and schedules the next
// (M3).
func TestAnUnrecordedAttemptIsNotPostedAgain(t *testing.T) {
	f := newFixture(t, settings(true, 3), ok200)
	m := message()
	f.store.saveErr = errors.New("throttled")
	if _, err := f.d.Deliver(context.Background(), m, "sqs-1"); err == nil {
		t.Fatal("a failed record was not reported")
	}
	f.store.saveErr = nil
	step, err := f.d.Deliver(context.Background(), m, "sqs-1")
	if err != nil || step.Outcome != delivery.OutcomeEarly || len(f.sender.requests) != 1 {
		t.Fatalf("within the lease: %+v, %v, %d POSTs; want it parked and 1 POST", step, err, len(f.sender.requests))
	}
	if len(f.queue.sent) != 1 || f.queue.delays[0] <= delivery.AttemptLease-time.Second {
		t.Fatalf("parked %v; want one message, back once the attempt's lease of %s ended", f.queue.delays, delivery.AttemptLease)
	}
	f.now = f.now.Add(f.queue.delays[0])
	step, err = f.d.Deliver(context.Background(), f.queue.sent[0], "sqs-2")
	if err != nil || len(f.sender.requests) != 1 {
		t.Fatalf("after the lease: %+v, %v, %d POSTs; want no second POST", step, err, len(f.sender.requests))
	}
	if a := step.Attempt; a == nil || a.Number != 1 || a.Response.Error != delivery.ClassInterrupted || !step.Retry {
		t.Fatalf("step %+v; want attempt 1 recorded as interrupted and a retry", step)
	}
	f.now = f.now.Add(step.Wait)
	step, err = f.d.Deliver(context.Background(), f.queue.sent[1], "sqs-3")
	if err != nil || step.Outcome != delivery.OutcomeDelivered || step.Attempt.Number != 2 || len(f.sender.requests) != 2 {
		t.Fatalf("next attempt: %+v, %v; want attempt 2 delivered", step, err)
	}
}

// No retry is scheduled past the horizon from the series' start: the
// delivery fails as exhausted.
func TestNoRetryPastTheHorizon(t *testing.T) {
	f := newFixture(t, settings(true, 10), fail500)
	f.d.Schedule = delivery.Schedule{20 * time.Hour}
	f.d.Horizon = 30 * time.Hour
	m := message()
	m.EventTime = f.now
	steps := f.run(t, m, "sqs-1")
	last := steps[len(steps)-1]
	if len(f.sender.requests) != 2 || last.Reason != delivery.ReasonExhausted {
		t.Fatalf("%d attempts ending %+v; want 2 (at 0 h and about 20 h), then exhausted", len(f.sender.requests), last)
	}
}

// The sweeper queues a parked delivery once it is within SweepLead of its
// attempt, delayed until it is due, and moves its ResendAt on; a delivery
// whose event is gone leaves the parking.
func TestSweeperQueuesDueDeliveries(t *testing.T) {
	f := newFixture(t, settings(true, 5), fail500)
	f.d.Schedule = delivery.Schedule{20 * time.Hour}
	m := message()
	f.store.events[owner.String()+"/"+m.EventID] = delivery.Event{ID: m.EventID, Owner: owner, Payload: m.Payload}
	step, err := f.d.Deliver(context.Background(), m, "sqs-1")
	if err != nil || !step.Retry || len(f.queue.sent) != 0 {
		t.Fatalf("first attempt: %+v, %v, queued %d", step, err, len(f.queue.sent))
	}
	sw := &delivery.Sweeper{Parking: f.store, Queue: f.queue, Now: func() time.Time { return f.now }}
	f.now = f.now.Add(step.Wait - delivery.SweepLead - time.Minute)
	if got, err := sw.Sweep(context.Background()); err != nil || got.Queued != 0 {
		t.Fatalf("sweep before the lead: %+v, %v; want nothing queued", got, err)
	}
	f.now = f.now.Add(2 * time.Minute)
	got, err := sw.Sweep(context.Background())
	if err != nil || got.Queued != 1 || len(f.queue.sent) != 1 {
		t.Fatalf("sweep within the lead: %+v, %v; want 1 queued", got, err)
	}
	sent, delay := f.queue.sent[0], f.queue.delays[0]
	if sent.Claim != "sqs-1" || string(sent.Payload) != string(m.Payload) || delay != delivery.SweepLead-time.Minute {
		t.Fatalf("queued %+v after %s; want claim sqs-1, the payload, after %s", sent, delay, delivery.SweepLead-time.Minute)
	}
	if got, _ := sw.Sweep(context.Background()); got.Queued != 0 {
		t.Fatalf("a second sweep queued it again: %+v", got)
	}
	f.now = f.now.Add(delay)
	if step, err := f.d.Deliver(context.Background(), sent, "sqs-2"); err != nil || step.Attempt == nil || step.Attempt.Number != 2 {
		t.Fatalf("the swept message: %+v, %v; want attempt 2", step, err)
	}

	// Its event expired: it leaves the parking, unsent.
	clear(f.store.events)
	f.now = f.now.Add(30 * time.Hour)
	if got, err := sw.Sweep(context.Background()); err != nil || got.Expired != 1 || got.Queued != 0 {
		t.Fatalf("sweep of an expired event: %+v, %v", got, err)
	}
	if len(f.store.parked) != 0 {
		t.Fatalf("still parked: %+v", f.store.parked)
	}
}

// No delivery is lost at any step of parking: a fault at each write
// leaves the delivery where a later receipt or sweep finds it.
//
//  1. Begin fails: nothing was POSTed; the message comes back (error).
//  2. The record fails after the POST: the attempt counts as interrupted
//     once its lease ends (TestAnUnrecordedAttemptIsNotPostedAgain).
//  3. The delayed send of the next attempt fails after the record: the
//     message comes back (error), finds the attempt recorded and parks
//     itself again; the store's ResendAt holds it meanwhile.
//  4. The sweeper's send fails: ResendAt is left, and the next sweep
//     sends it.
//  5. The sweeper's move of ResendAt fails after its send: the next sweep
//     sends it again, and the two messages make one attempt.
func TestNoDeliveryIsLostAtAnyParkingStep(t *testing.T) {
	t.Run("begin fails", func(t *testing.T) {
		f := newFixture(t, settings(true, 3), ok200)
		f.store.beginErr = errors.New("throttled")
		if _, err := f.d.Deliver(context.Background(), message(), "sqs-1"); err == nil || len(f.sender.requests) != 0 {
			t.Fatalf("a failed begin: %v, %d POSTs; want an error and no POST", err, len(f.sender.requests))
		}
		f.store.beginErr = nil
		if step, err := f.d.Deliver(context.Background(), message(), "sqs-1"); err != nil || step.Outcome != delivery.OutcomeDelivered {
			t.Fatalf("the message back: %+v, %v; want delivered", step, err)
		}
	})
	t.Run("delayed send fails", func(t *testing.T) {
		f := newFixture(t, settings(true, 3), fail500, ok200)
		f.queue.err = errors.New("sqs down")
		m := message()
		if _, err := f.d.Deliver(context.Background(), m, "sqs-1"); err == nil {
			t.Fatal("a failed park was not reported: the message would be deleted")
		}
		if p, ok := f.store.parked[m.DeliveryID]; !ok || p.ResendAt.IsZero() {
			t.Fatalf("the delivery is not parked in the store meanwhile: %+v", p)
		}
		f.queue.err = nil
		f.now = f.now.Add(30 * time.Second) // the message comes back after its error delay
		step, err := f.d.Deliver(context.Background(), m, "sqs-1")
		if err != nil || step.Outcome != delivery.OutcomeEarly || len(f.queue.sent) != 1 || len(f.sender.requests) != 1 {
			t.Fatalf("the message back: %+v, %v, %d parked; want parked again, no second POST", step, err, len(f.queue.sent))
		}
		f.now = f.now.Add(step.Wait)
		if step, err := f.d.Deliver(context.Background(), f.queue.sent[0], "sqs-2"); err != nil || step.Outcome != delivery.OutcomeDelivered {
			t.Fatalf("the parked message: %+v, %v", step, err)
		}
	})
	t.Run("sweeper faults", func(t *testing.T) {
		f := newFixture(t, settings(true, 3), fail500, ok200)
		f.d.Schedule = delivery.Schedule{2 * time.Hour}
		m := message()
		f.store.events[owner.String()+"/"+m.EventID] = delivery.Event{ID: m.EventID, Owner: owner, Payload: m.Payload}
		first, err := f.d.Deliver(context.Background(), m, "sqs-1")
		if err != nil {
			t.Fatal(err)
		}
		sw := &delivery.Sweeper{Parking: f.store, Queue: f.queue, Now: func() time.Time { return f.now }}
		f.now = f.now.Add(first.Wait - delivery.SweepLead/2) // within the sweeper's lead
		f.queue.err = errors.New("sqs down")
		if _, err := sw.Sweep(context.Background()); err == nil {
			t.Fatal("a failed send was not reported")
		}
		f.queue.err = nil
		f.store.requeueErr = errors.New("throttled")
		if got, err := sw.Sweep(context.Background()); err == nil || len(f.queue.sent) != 1 {
			t.Fatalf("a failed move of ResendAt: %+v, %v, %d sent; want an error after the send", got, err, len(f.queue.sent))
		}
		f.store.requeueErr = nil
		if got, err := sw.Sweep(context.Background()); err != nil || got.Queued != 1 || len(f.queue.sent) != 2 {
			t.Fatalf("the next sweep: %+v, %v; want it sent again", got, err)
		}
		f.now = f.now.Add(delivery.SweepLead) // past the attempt's time
		var attempts int
		for i, sent := range f.queue.sent {
			step, err := f.d.Deliver(context.Background(), sent, fmt.Sprint("sqs-swept-", i))
			if err != nil {
				t.Fatal(err)
			}
			if step.Attempt != nil {
				attempts++
			}
		}
		if attempts != 1 || len(f.sender.requests) != 2 {
			t.Fatalf("two swept copies made %d attempts (%d POSTs in all); want 1 (2 in all)", attempts, len(f.sender.requests))
		}
	})
}

// No retry is scheduled past when the event may no longer be kept: the
// sweeper could not send it, and it would stay pending for good.
func TestNoRetryPastTheEventsRetention(t *testing.T) {
	f := newFixture(t, settings(true, 10), fail500)
	f.d.Schedule = delivery.Schedule{20 * time.Hour}
	f.d.Retention = 30 * time.Hour
	m := message()
	m.EventTime = f.now
	steps := f.run(t, m, "sqs-1")
	if last := steps[len(steps)-1]; len(f.sender.requests) != 2 || last.Reason != delivery.ReasonExhausted {
		t.Fatalf("%d attempts ending %+v; want 2 (at 0 h and about 20 h; 40 h is past the 30 h retention), then exhausted",
			len(f.sender.requests), last)
	}
}
