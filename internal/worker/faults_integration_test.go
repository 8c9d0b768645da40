package worker_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/docproc/webhooks/internal/delivery"
	"github.com/docproc/webhooks/internal/dev/testenv"
	"github.com/docproc/webhooks/internal/webhook"
)

// TestFaultsNeitherLoseNorRepeatDeliveries runs one delivery through each
// fault the issue lists. Every event ends delivered, and a receiver gets a
// second POST (with the same webhook-id) only where a crash between the
// POST and its record makes one unavoidable.
func TestFaultsNeitherLoseNorRepeatDeliveries(t *testing.T) {
	failed := func() error { return errors.New("injected: the call failed") } // the SDK does not retry it
	for _, tc := range []struct {
		name string
		o    options
		// extra is how many POSTs beyond one per event the fault makes.
		extra int
		// redelivered says the handler must see a message again: the
		// first batch (of one to three messages) comes back.
		redelivered bool
	}{
		{"handler crashes mid-batch", options{wrapDelivery: crashOnce}, 0, true},
		// The first delete fails: the batch comes back after its
		// visibility timeout, already delivered.
		{"queue delete fails", options{pollerFaults: []testenv.Fault{{Operation: "DeleteMessageBatch", Times: 1, Err: failed()}}}, 0, true},
		// The record fails after the POST: the message comes back and the
		// POST is made again, with the same webhook-id.
		{"attempt record fails", options{deliveryFaults: []testenv.Fault{{Operation: "TransactWriteItems", Times: 1, Err: failed()}}}, 1, true},
		{"record's answer lost", options{deliveryFaults: []testenv.Fault{{Operation: "TransactWriteItems", Times: 1, AfterSend: true, Err: testenv.ConnectionReset{}}}}, 0, false},
		// Throttling the SDK's retries absorb, and throttling that outlasts
		// them (3 tries a call): the message comes back, no POST is lost.
		{"dynamodb throttles", options{deliveryFaults: []testenv.Fault{{Operation: "BatchGetItem", Times: 2, Err: throttling()}}}, 0, false},
		{"dynamodb read fails", options{deliveryFaults: []testenv.Fault{{Operation: "BatchGetItem", Times: 1, Err: failed()}}}, 0, true},
		{"secrets manager throttles", options{deliveryFaults: []testenv.Fault{{Operation: "GetSecretValue", Times: 2, Err: throttling()}}}, 0, false},
		{"secrets manager read fails", options{deliveryFaults: []testenv.Fault{{Operation: "GetSecretValue", Times: 1, Err: failed()}}}, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			testenv.ForEachBackend(t, func(t *testing.T, b testenv.Backend) {
				h := newHarness(t, b, tc.o)
				r := newReceiver(t, statuses(200))
				w, secret := h.webhookFor(h.owner, r.srv.URL, retries(3))
				var ids []string
				var ats []time.Time
				for i := range 3 { // one batch of three: a crash hands all back
					id, at := h.publish(h.owner, webhook.DocumentUploaded, fmt.Sprintf("evt_%d_%s", i, testenv.Unique("")))
					ids, ats = append(ids, id), append(ats, at)
				}
				for i := range ids {
					if st := h.final(w, ids[i], ats[i]); st.State != delivery.StateDelivered {
						t.Errorf("event %s: %+v, want delivered", ids[i], st)
					}
				}
				if tc.redelivered {
					h.handledAtLeast(int64(len(ids)) + 1)
				}
				h.drained()
				byID := map[string][]hit{}
				for _, x := range r.got() {
					byID[x.id] = append(byID[x.id], x)
				}
				for i, id := range ids {
					dlv := delivery.DeliveryID(id, w.ID, ats[i])
					if got := len(byID[dlv]); got < 1 || got > 1+tc.extra {
						t.Fatalf("event %s: %d POSTs, want 1 to %d", id, got, 1+tc.extra)
					}
					verify(t, byID[dlv], secret, dlv, byID[dlv][0].body)
				}
				if n := len(r.got()); n != len(ids)+tc.extra {
					t.Errorf("%d POSTs for %d events, want %d", n, len(ids), len(ids)+tc.extra)
				}
			})
		})
	}
}

// TestNoEventLost publishes events to endpoints that fail at random, with
// varied retry settings. Every (event, endpoint) pair must end delivered,
// or failed after exactly the attempts its settings allow, and the
// receiver must have seen each recorded attempt.
func TestNoEventLost(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, b testenv.Backend) {
		seed := rand.Uint64()
		t.Logf("seed %d", seed)
		rng := rand.New(rand.NewPCG(seed, 0))
		h := newHarness(t, b, options{})
		type endpoint struct {
			w webhook.Webhook
			r *receiver
		}
		var eps []endpoint
		for i := range 4 {
			fail := make([]int, 12) // answers drawn up front: the handler runs concurrently
			for j := range fail {
				fail[j] = []int{200, 500, 503}[rng.IntN(3)]
			}
			r := newReceiver(t, statuses(fail...))
			s := retries(i) // 0 to 3 retries
			s.RetryEnabled = i != 1
			w, _ := h.webhookFor(h.owner, r.srv.URL, s)
			eps = append(eps, endpoint{w, r})
		}
		type published struct {
			id string
			at time.Time
		}
		var evs []published
		for i := range 6 {
			id, at := h.publish(h.owner, webhook.DocumentUploaded, fmt.Sprintf("evt_lost_%d_%s", i, testenv.Unique("")))
			evs = append(evs, published{id, at})
		}
		for _, e := range eps {
			states := map[string]delivery.Status{}
			for _, ev := range evs {
				states[ev.id] = h.final(e.w, ev.id, ev.at)
			}
			posts := map[string]int{}
			for _, x := range e.r.got() {
				posts[x.id]++
			}
			for _, ev := range evs {
				st := states[ev.id]
				max := delivery.MaxAttempts(e.w.Settings)
				switch {
				case st.State == delivery.StateFailed && st.Attempts != max:
					t.Errorf("%s to %s failed after %d attempts, want %d", ev.id, e.w.ID, st.Attempts, max)
				case st.State != delivery.StateFailed && st.State != delivery.StateDelivered:
					t.Errorf("%s to %s ended %s", ev.id, e.w.ID, st.State)
				case st.Attempts < 1 || st.Attempts > max:
					t.Errorf("%s to %s: %d attempts, allowed 1 to %d", ev.id, e.w.ID, st.Attempts, max)
				}
				if n := posts[delivery.DeliveryID(ev.id, e.w.ID, ev.at)]; n != st.Attempts {
					t.Errorf("%s to %s: receiver saw %d POSTs, %d attempts recorded", ev.id, e.w.ID, n, st.Attempts)
				}
			}
		}
		h.drained()
	})
}
