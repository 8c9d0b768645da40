package delivery_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/docproc/webhooks/internal/delivery"
	"github.com/docproc/webhooks/internal/webhook"
)

func TestTestEventsAreMarkedAndReachUnsubscribedEndpoints(t *testing.T) {
	f := newFixture(t, settings(true, 0), ok200)
	mgr, q := f.manager()
	sum, _, err := mgr.Test(context.Background(), owner, f.hook.ID, webhook.DocumentProcessingFailed, "")
	if err != nil || !sum.Test || sum.State != delivery.StatePending || len(q.sent) != 1 {
		t.Fatalf("test: %+v, %v, %d queued", sum, err, len(q.sent))
	}
	m := q.sent[0]
	if !m.Test || !bytes.Contains(m.Payload, []byte(`"test":true`)) || m.DeliveryID != sum.ID {
		t.Fatalf("test message %+v, payload %s", m, m.Payload)
	}
	steps := f.run(t, m, "sqs-t")
	if steps[0].Outcome != delivery.OutcomeDelivered || len(f.sender.requests) != 1 {
		t.Fatalf("test delivery: %+v", steps)
	}
	if ev, err := f.store.Event(context.Background(), owner, m.EventID); err != nil || !ev.Test {
		t.Fatalf("test event kept: %+v, %v", ev, err)
	}
}
