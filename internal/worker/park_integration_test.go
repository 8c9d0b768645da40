package worker_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/docproc/webhooks/internal/testenv"
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
		h := newHarness(t, b, options{retryWait: wait})
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
