package delivery

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/docproc/webhooks/internal/tenant"
	"github.com/docproc/webhooks/internal/webhook"
)

// Test sends owner's webhook webhookID an example event of type typ,
// marked as a test, through the queue like any other event. It returns
// the delivery as queued, and whether that is the replayed result of an
// earlier request with idempotencyKey.
func (s *Manager) Test(ctx context.Context, owner tenant.Tenant, webhookID string, typ webhook.EventType, idempotencyKey string) (Summary, bool, error) {
	return once(ctx, s, owner, idempotencyKey, webhook.Fingerprint("test_webhook", webhookID, string(typ)), func() (Summary, error) {
		w, err := s.active(ctx, owner, webhookID)
		if err != nil {
			return Summary{}, err
		}
		now := s.now()
		ev, err := TestEvent(owner, typ, now)
		if err != nil {
			return Summary{}, err
		}
		r, err := s.plan(w, ev, Status{}, now, false)
		if err != nil {
			return Summary{}, err
		}
		if _, err := s.takeUpTo(ctx, w, 1, now); err != nil {
			return Summary{}, err
		}
		if _, err := s.Events.Keep(ctx, ev, now.Add(s.retention())); err != nil {
			return Summary{}, errors.Join(fmt.Errorf("save test event: %w", err), s.giveBack(ctx, w, 1, now))
		}
		if _, err := s.sendTaken(ctx, w, 1, now, []Reopen{r}, false); err != nil {
			return Summary{}, err
		}
		return reopened(Summary{ID: r.Message.DeliveryID, EventID: ev.ID, EventType: ev.Type, EventTime: ev.Time,
			Test: true, CreatedAt: now}, r), nil
	})
}

// testData is the example data of each event type's test event.
var testData = map[webhook.EventType]string{
	webhook.DocumentUploaded:            `{"document_id":"doc_test_example","name":"example.pdf","size_bytes":48213}`,
	webhook.DocumentProcessingCompleted: `{"document_id":"doc_test_example","pages":12}`,
	webhook.DocumentProcessingFailed:    `{"document_id":"doc_test_example","error":"the document could not be read"}`,
}

// TestEvent makes a test event of type typ for owner at now: a new id, an
// example data object, and "test": true in its payload.
func TestEvent(owner tenant.Tenant, typ webhook.EventType, now time.Time) (Event, error) {
	data, ok := testData[typ]
	if !ok {
		return Event{}, fmt.Errorf("%w: %q", ErrUnknownType, typ)
	}
	now = now.UTC().Truncate(time.Second) // as EventBridge stamps events
	id := EventIDPrefix + ulid.MustNew(ulid.Timestamp(now), rand.Reader).String()
	ev := Event{ID: id, Type: typ, Owner: owner, Time: now, SourceID: id, Test: true}
	var err error
	ev.Payload, err = buildPayload(payload{ID: id, Type: string(typ), Timestamp: now.Format(time.RFC3339Nano),
		Livemode: owner.Mode == tenant.Live, Test: true}, json.RawMessage(data))
	return ev, err
}
