package worker_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/docproc/webhooks/internal/delivery"
	"github.com/docproc/webhooks/internal/dev/testenv"
	"github.com/docproc/webhooks/internal/webhook"
)

// TestWarmDeliveryCalls holds the AWS calls of a delivered message on a
// warm instance: no Secrets Manager call, one read (the webhook, its gate
// and the delivery's state), four writes (the attempt begun, the gate
// entered, the attempt's record with the state and the health, the gate
// exited), and the queue deletes batched by the poller as Lambda batches
// them.
func TestWarmDeliveryCalls(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, b testenv.Backend) {
		h := newHarness(t, b, options{})
		r := newReceiver(t, statuses(204))
		w, _ := h.webhookFor(h.owner, r.srv.URL, retries(3))
		id, at := h.publish(h.owner, webhook.DocumentUploaded, testenv.Unique("evt_warm_"))
		h.final(w, id, at) // the first delivery reads the secret
		h.drained()
		_, before := h.deliveryIn.Total()
		_, pollBefore := h.pollerIn.Total()
		const n = 6
		var ids []string
		var ats []time.Time
		for i := range n {
			id, at := h.publish(h.owner, webhook.DocumentUploaded, fmt.Sprintf("evt_warm_%d_%s", i, testenv.Unique("")))
			ids, ats = append(ids, id), append(ats, at)
		}
		for i := range ids {
			if st := h.final(w, ids[i], ats[i]); st.State != delivery.StateDelivered || st.Attempts != 1 {
				t.Fatalf("event %s: %+v", ids[i], st)
			}
		}
		h.drained()
		_, after := h.deliveryIn.Total()
		_, pollAfter := h.pollerIn.Total()
		delta := func(a, b map[string]int, op string) int { return a[op] - b[op] }
		for op, want := range map[string]int{"GetSecretValue": 0, "BatchGetItem": n, "TransactWriteItems": n,
			"GetItem": 0, "PutItem": 0, "UpdateItem": 3 * n, "ChangeMessageVisibility": 0, "SendMessage": 0} {
			if got := delta(after, before, op); got != want {
				t.Errorf("%s: %d calls for %d delivered messages, want %d", op, got, n, want)
			}
		}
		if got := delta(after, before, "") + len(after) - len(before); got < 0 {
			t.Errorf("calls went backwards")
		}
		deletes := delta(pollAfter, pollBefore, "DeleteMessageBatch")
		if deletes < 1 || deletes > n || delta(pollAfter, pollBefore, "DeleteMessage") != 0 {
			t.Errorf("%d DeleteMessageBatch and %d DeleteMessage calls for %d messages; want 1 to %d batched deletes",
				deletes, delta(pollAfter, pollBefore, "DeleteMessage"), n, n)
		}
		if got := len(r.got()); got != n+1 {
			t.Errorf("%d POSTs, want %d", got, n+1)
		}
		t.Logf("%s: %d messages, %d BatchGetItem, %d TransactWriteItems, %d DeleteMessageBatch", b.Name, n,
			delta(after, before, "BatchGetItem"), delta(after, before, "TransactWriteItems"), deletes)
	})
}

// TestRotationReachesDeliveriesInFlight rotates an endpoint's secret
// while one of its deliveries is being retried. The endpoint answers 500
// until a request verifies with the new secret: the delivery must end
// delivered, and that request must verify with the old secret too (it is
// in its grace period).
func TestRotationReachesDeliveriesInFlight(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, b testenv.Backend) {
		h := newHarness(t, b, options{retryWait: time.Second})
		var next atomic.Value // the new secret, once rotated
		var r *receiver
		r = newReceiver(t, func(n int, w http.ResponseWriter) {
			secret, _ := next.Load().(string)
			if secret != "" && verifyHit(r.got()[n-1], secret) == nil {
				w.WriteHeader(http.StatusOK)
				return
			}
			w.WriteHeader(http.StatusInternalServerError)
		})
		w, old := h.webhookFor(h.owner, r.srv.URL, retries(10))
		id, at := h.publish(h.owner, webhook.DocumentUploaded, testenv.Unique("evt_rot_"))
		h.eventually(func() bool { return len(r.got()) > 0 }, func() string { return "no first attempt" })
		got, err := h.svc.RotateSecret(t.Context(), h.owner, w.ID, time.Hour, "")
		if err != nil {
			t.Fatal(err)
		}
		next.Store(got.SigningSecret.Reveal())
		if st := h.final(w, id, at); st.State != delivery.StateDelivered {
			t.Fatalf("delivery: %+v", st)
		}
		hits := r.got()
		last := hits[len(hits)-1]
		verify(t, []hit{last}, old, delivery.DeliveryID(id, w.ID, at), last.body)
		if n := len(strings.Fields(last.signature)); n != 2 {
			t.Errorf("a retry after a rotation has %d signatures, want 2: %q", n, last.signature)
		}
	})
}
