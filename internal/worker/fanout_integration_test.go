package worker_test

import (
	"errors"
	"testing"

	"github.com/docproc/webhooks/internal/delivery"
	"github.com/docproc/webhooks/internal/dev/testenv"
	"github.com/docproc/webhooks/internal/webhook"
)

// TestFanoutOutageBacksOffAndRecovers: the fan-out's write of the event
// fails on its first two receives, as in a DynamoDB outage. Each time the
// fan-out function holds the message back on the fan-out queue
// (ChangeMessageVisibility, with the queue URL and grant the template
// gives it); the event comes back, is delivered once, and nothing is
// dead-lettered.
func TestFanoutOutageBacksOffAndRecovers(t *testing.T) {
	down := testenv.Fault{Operation: "PutItem", Times: 2, Err: errors.New("injected: the table is unavailable")}
	testenv.ForEachBackend(t, func(t *testing.T, b testenv.Backend) {
		h := newHarness(t, b, options{fanoutFaults: []testenv.Fault{down}})
		r := newReceiver(t, statuses(200))
		w, secret := h.webhookFor(h.owner, r.srv.URL, retries(0))
		id, at := h.publish(h.owner, webhook.DocumentUploaded, testenv.Unique("evt_outage_"))
		if st := h.final(w, id, at); st.State != delivery.StateDelivered || st.Attempts != 1 {
			t.Errorf("delivery after the outage: %+v; want delivered at the first attempt", st)
		}
		h.drained()
		if n := h.fanoutIn.Calls("PutItem"); n != 3 {
			t.Errorf("the fan-out wrote the event %d times; want 3 (two failures, then the write)", n)
		}
		if n := h.fanoutIn.Calls("ChangeMessageVisibility"); n != 2 {
			t.Errorf("the fan-out held its message back %d times; want 2, once after each failure", n)
		}
		hits := r.got()
		if len(hits) != 1 {
			t.Fatalf("%d POSTs; want 1", len(hits))
		}
		verify(t, hits, secret, delivery.DeliveryID(id, w.ID, at), hits[0].body)
	})
}
