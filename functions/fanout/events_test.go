package main

import (
	"errors"
	"testing"

	"github.com/docproc/webhooks/internal/dev/local/devkey"

	"github.com/docproc/webhooks/internal/delivery"
	"github.com/docproc/webhooks/internal/dev/testenv"
	"github.com/docproc/webhooks/internal/tenant"
	"github.com/docproc/webhooks/internal/webhook"
)

// The fan-out's events for `make invoke FUNCTION=FanoutFunction EVENT=...`.
const (
	uploadedEvent  = "events/fanout/document-uploaded.json"
	malformedEvent = "events/fanout/malformed.json"
)

// TestEventsAreSQSEvents checks that the fan-out's fixtures are SQS events
// as Lambda builds them, with no misspelt or stray fields; that the
// document-uploaded record carries an EventBridge event of the dev account
// that ParseEventBridge accepts; and that the malformed one is set aside.
func TestEventsAreSQSEvents(t *testing.T) {
	ev, _ := testenv.ReadSQSEvent(t, uploadedEvent)
	if len(ev.Records) != 1 {
		t.Fatalf("%s has %d records, want 1", uploadedEvent, len(ev.Records))
	}
	got, err := delivery.ParseEventBridge([]byte(ev.Records[0].Body))
	if err != nil {
		t.Fatalf("%s: the body is not an event the fan-out takes: %v", uploadedEvent, err)
	}
	want := tenant.Tenant{Account: devkey.Account, Mode: tenant.Test}
	if got.Owner != want || got.Type != webhook.DocumentUploaded || got.ID != "evt_local_1" {
		t.Errorf("%s: event %s of type %s for %v, want evt_local_1, document.uploaded, %v", uploadedEvent, got.ID, got.Type, got.Owner, want)
	}
	const payload = `{"id":"evt_local_1","type":"document.uploaded","timestamp":"2026-11-27T10:00:00Z","livemode":false,"data":{"document_id":"doc_123"}}`
	if string(got.Payload) != payload {
		t.Errorf("%s: payload %s, want %s", uploadedEvent, got.Payload, payload)
	}

	bad, _ := testenv.ReadSQSEvent(t, malformedEvent)
	if len(bad.Records) != 1 {
		t.Fatalf("%s has %d records, want 1", malformedEvent, len(bad.Records))
	}
	if _, err := delivery.ParseEventBridge([]byte(bad.Records[0].Body)); !errors.Is(err, delivery.ErrMalformed) {
		t.Errorf("%s: ParseEventBridge says %v, want ErrMalformed", malformedEvent, err)
	}
}
