package worker_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/docproc/webhooks/internal/app"
	"github.com/docproc/webhooks/internal/config"
	"github.com/docproc/webhooks/internal/delivery"
	"github.com/docproc/webhooks/internal/dev/testenv"
	"github.com/docproc/webhooks/internal/webhook"
)

// TestWaitingRetriesHoldNothingInFlight: a delivery that waits for its
// retry is a delayed message, not a message held in flight. 60
// deliveries whose endpoint answers 503 wait 120 s each; once their
// first attempts are made, the delivery queue's delayed count accounts
// for every one of them (at least 60: a receipt whose record failed
// comes back and parks itself again, so a slow emulator can leave a few
// more) and its in-flight count stays within one batch.
// Holding the waiting messages (a visibility of 120 s) shows all 60 in
// flight until their retries, so it fails here, well before the first
// retry is due (108 s at the earliest, with jitter).
func TestWaitingRetriesHoldNothingInFlight(t *testing.T) {
	const (
		waiting = 60
		wait    = 120 * time.Second
		// maxInFlight is the most messages in flight allowed while they
		// wait: one batch, whose delete may still be on its way.
		maxInFlight = 10
		// settleWithin bounds how long after the first attempts the
		// counts may take to settle: time enough for the last handlers
		// to return and their messages to be deleted, and half the
		// wait, so that no retry is due yet.
		settleWithin = wait / 2
		// watch is how long the settled counts are watched.
		watch = 2 * time.Second
	)
	testenv.ForEachBackend(t, func(t *testing.T, b testenv.Backend) {
		// The breaker would hold most first attempts behind its probes:
		// this test is of the waits after them.
		h := newHarness(t, b, options{retryWait: wait, noBreaker: true})
		r := newReceiver(t, statuses(http.StatusServiceUnavailable))
		h.webhookFor(h.owner, r.srv.URL, retries(5))
		var batch []types.PutEventsRequestEntry
		for i := range waiting {
			batch = append(batch, h.entry(h.owner, webhook.DocumentUploaded, fmt.Sprintf("evt_wait_%d_%s", i, testenv.Unique("")), time.Now()))
			if len(batch) == 10 {
				h.putEvents(batch...)
				batch = nil
			}
		}
		h.eventually(func() bool { return len(r.got()) >= waiting },
			func() string { return fmt.Sprintf("%d first attempts made, want %d", len(r.got()), waiting) })

		q := h.res.Delivery()
		deadline := time.Now().Add(settleWithin)
		for c := h.counts(q); c.delayed < waiting || c.inFlight > maxInFlight; c = h.counts(q) {
			if time.Now().After(deadline) {
				t.Fatalf("%s after the first attempts the delivery queue holds %+v; want the %d waiting deliveries delayed, at most %d in flight",
					settleWithin, c, waiting, maxInFlight)
			}
			time.Sleep(50 * time.Millisecond)
		}
		for end := time.Now().Add(watch); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
			if c := h.counts(q); c.delayed < waiting || c.inFlight > maxInFlight {
				t.Fatalf("while the deliveries wait, the delivery queue holds %+v; want at least %d delayed, at most %d in flight", c, waiting, maxInFlight)
			}
		}
		if n := len(r.got()); n != waiting {
			t.Errorf("the endpoint got %d requests before any retry was due; want %d, one per delivery", n, waiting)
		}
	})
}

// TestALongWaitIsParkedUntilTheSweeperQueuesIt: under the schedule
// 1s,1s,20h, a delivery whose third attempt failed is pending with its
// next attempt about 20 h later, as the API shows it, and holds nothing
// in the delivery queue, neither in flight nor delayed: it waits in the
// table's deliveries-due index. A sweep more than SweepLead before the
// attempt is due leaves it there; once the attempt is due (the
// deliverer's and the sweeper's clocks moved on 20 h), a sweep queues
// it, and the fourth attempt is made and delivers.
func TestALongWaitIsParkedUntilTheSweeperQueuesIt(t *testing.T) {
	const long = 20 * time.Hour
	testenv.ForEachBackend(t, func(t *testing.T, b testenv.Backend) {
		ctx := context.Background()
		var ahead atomic.Int64 // how far the clock is ahead of real time
		now := func() time.Time { return time.Now().Add(time.Duration(ahead.Load())) }
		h := newHarness(t, b, options{schedule: delivery.Schedule{time.Second, time.Second, long}, now: now})
		c := newCustomer(h)
		r := newReceiver(t, statuses(500, 500, 500, 200))
		w, _ := h.webhookFor(h.owner, r.srv.URL, retries(5))
		id, at := h.publish(h.owner, webhook.DocumentUploaded, testenv.Unique("evt_long_"))
		deliveryID := delivery.DeliveryID(id, w.ID, at)
		q := h.res.Delivery()
		var st delivery.Status
		h.eventually(func() bool {
			tg, err := h.store.Target(ctx, w.Owner, w.ID, deliveryID)
			st = tg.Delivery
			return err == nil && st.Attempts == 3 && h.counts(q) == queueCounts{}
		}, func() string {
			return fmt.Sprintf("delivery %+v, queue %+v; want 3 attempts and nothing queued", st, h.counts(q))
		})

		d := c.delivery(w, deliveryID)
		// The API shows times to the second.
		lo := time.Duration(float64(long)*(1-delivery.Jitter)) - time.Second
		hi := time.Duration(float64(long)*(1+delivery.Jitter)) + time.Second
		if d.State != string(delivery.StatePending) || d.AttemptCount != 3 || d.NextAttemptAt == nil || d.LastAttemptAt == nil ||
			d.NextAttemptAt.Sub(*d.LastAttemptAt) < lo || d.NextAttemptAt.Sub(*d.LastAttemptAt) > hi {
			t.Fatalf("GET the delivery: %+v, next %v, last %v; want pending after 3 attempts, the next %s (±%.0f%%) after the last",
				d, d.NextAttemptAt, d.LastAttemptAt, long, delivery.Jitter*100)
		}

		log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
		sweeper := app.NewSweeperHandler(config.SweeperFunction{TableName: h.table, QueueURL: q.URL}, h.cfg, log, io.Discard).Sweeper
		sweeper.Now = func() time.Time { return st.NextAttemptAt.Add(-delivery.SweepLead - time.Second) }
		if swept, err := sweeper.Sweep(ctx); err != nil || swept != (delivery.Swept{}) {
			t.Fatalf("a sweep %s before the attempt is due: %+v, %v; want nothing queued", delivery.SweepLead+time.Second, swept, err)
		}
		if got := h.counts(q); got != (queueCounts{}) {
			t.Fatalf("after an early sweep the delivery queue holds %+v; want nothing", got)
		}

		ahead.Store(int64(time.Until(st.NextAttemptAt.Add(time.Second))))
		sweeper.Now = now
		if swept, err := sweeper.Sweep(ctx); err != nil || swept != (delivery.Swept{Queued: 1}) {
			t.Fatalf("a sweep once the attempt is due: %+v, %v; want it queued", swept, err)
		}
		if got := h.final(w, id, at); got.State != delivery.StateDelivered || got.Attempts != 4 {
			t.Errorf("delivery %+v; want delivered by the fourth attempt", got)
		}
		if n := len(r.got()); n != 4 {
			t.Errorf("the endpoint got %d requests; want 4, one per attempt", n)
		}
		h.drained()
	})
}
