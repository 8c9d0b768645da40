package main

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/docproc/webhooks/internal/delivery"
	"github.com/docproc/webhooks/internal/dev/testenv"
	"github.com/docproc/webhooks/internal/webhook"
)

// messageEvent is the delivery function's event for `make invoke
// FUNCTION=DeliveryFunction EVENT=...`.
const messageEvent = "events/delivery/message.json"

// readMessage reads the delivery message in name's one record, with no
// field that delivery.Message does not know.
func readMessage(t *testing.T, name string) delivery.Message {
	t.Helper()
	ev, _ := testenv.ReadSQSEvent(t, name)
	if len(ev.Records) != 1 {
		t.Fatalf("%s has %d records, want 1", name, len(ev.Records))
	}
	var m delivery.Message
	dec := json.NewDecoder(bytes.NewReader([]byte(ev.Records[0].Body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("%s: the body is not a delivery message: %v", name, err)
	}
	return m
}

// TestEventIsTheFanoutsMessage checks that the fixture is an SQS event as
// Lambda builds it, and that its message is the one the fan-out writes
// for events/fanout/document-uploaded.json and the message's webhook:
// same event, owner and payload bytes, and the delivery id derived from
// them.
func TestEventIsTheFanoutsMessage(t *testing.T) {
	m := readMessage(t, messageEvent)
	if !webhook.ValidID(m.WebhookID) {
		t.Errorf("webhook_id %q is not a webhook id", m.WebhookID)
	}
	up, _ := testenv.ReadSQSEvent(t, "events/fanout/document-uploaded.json")
	ev, err := delivery.ParseEventBridge([]byte(up.Records[0].Body))
	if err != nil {
		t.Fatal(err)
	}
	want := delivery.Message{DeliveryID: delivery.DeliveryID(ev.ID, m.WebhookID, ev.Time), EventID: ev.ID, EventType: ev.Type,
		EventTime: ev.Time, Account: ev.Owner.Account, Mode: ev.Owner.Mode, WebhookID: m.WebhookID, Payload: ev.Payload}
	got, _ := json.Marshal(m)
	wantJSON, _ := json.Marshal(want)
	if !bytes.Equal(got, wantJSON) {
		t.Errorf("%s's message is not the fan-out's:\n got %s\nwant %s", messageEvent, got, wantJSON)
	}
}
