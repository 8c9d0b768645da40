package delivery

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/docproc/webhooks/internal/tenant"
	"github.com/docproc/webhooks/internal/webhook"
)

// Source is the EventBridge source the platform publishes document events
// under; the rule matches it.
const Source = "docproc.documents"

// MaxDetailBytes is the largest event Detail accepted, in bytes. Larger
// events are set aside. It keeps a delivery message (the payload, base64
// encoded, plus its envelope) well inside SQS's 256 KiB, and a stored
// payload small.
const MaxDetailBytes = 64 << 10

// EventIDPrefix starts every event id the service makes.
const EventIDPrefix = "evt_"

// MaxEventIDLen bounds the length of a platform's event id.
const MaxEventIDLen = 128

// Errors of ParseEventBridge (and TestEvent's ErrUnknownType). Each names
// why an event is set aside.
var (
	// ErrMalformed is an event that is not an EventBridge event of Source
	// with a Detail of the documented schema.
	ErrMalformed = errors.New("malformed event")
	// ErrUnknownType is an event whose detail-type is not a known event.
	ErrUnknownType = errors.New("unknown event type")
	// ErrTooLarge is an event whose Detail is over MaxDetailBytes.
	ErrTooLarge = errors.New("event too large")
)

// Event is one platform event, ready to deliver.
type Event struct {
	// ID is the platform's event id, or one made from the EventBridge
	// event's id when the platform gave none.
	ID string
	// Type is the event's type.
	Type webhook.EventType
	// Owner is the account and mode whose endpoints receive the event.
	Owner tenant.Tenant
	// Time is when the event happened (EventBridge's time), in UTC.
	Time time.Time
	// SourceID is the EventBridge event's id: EventBridge keeps it when it
	// retries a target, so the same SourceID is the same publish.
	SourceID string
	// Payload is the body every endpoint receives for this event, built
	// once: {"id","type","timestamp","livemode","data"}, and "test": true
	// for a test event.
	Payload []byte
	// Test marks a test event (TestEvent): it is kept for its delivery's
	// history, but never fanned out or recovered.
	Test bool
}

// envelope is the part of an EventBridge event this service reads.
type envelope struct {
	ID         string          `json:"id"`
	Source     string          `json:"source"`
	DetailType string          `json:"detail-type"`
	Time       time.Time       `json:"time"`
	Detail     json.RawMessage `json:"detail"`
}

// detail is the schema of a document event's Detail.
type detail struct {
	Account  string          `json:"account"`
	Livemode *bool           `json:"livemode"`
	ID       string          `json:"id"`
	Data     json.RawMessage `json:"data"`
}

// payload is the body sent to endpoints (Standard Webhooks shape), but
// for its data, which buildPayload appends.
type payload struct {
	ID        string `json:"id"`
	Type      string `json:"type"`
	Timestamp string `json:"timestamp"`
	Livemode  bool   `json:"livemode"`
	Test      bool   `json:"test,omitempty"`
}

// ParseEventBridge reads one EventBridge event, as the rule hands it to the
// fan-out queue, and builds the payload. Its error wraps ErrMalformed,
// ErrUnknownType or ErrTooLarge and says what is wrong; it never repeats
// the event's data.
func ParseEventBridge(body []byte) (Event, error) {
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		return Event{}, fmt.Errorf("%w: not an EventBridge event: %v", ErrMalformed, err)
	}
	switch {
	case env.ID == "":
		return Event{}, fmt.Errorf("%w: no id", ErrMalformed)
	case env.Source != Source:
		return Event{}, fmt.Errorf("%w: source %q is not %q", ErrMalformed, env.Source, Source)
	case env.Time.IsZero():
		return Event{}, fmt.Errorf("%w: no time", ErrMalformed)
	}
	typ, problem := webhook.ParseEventType(env.DetailType)
	if problem != nil {
		return Event{}, fmt.Errorf("%w: %q", ErrUnknownType, env.DetailType)
	}
	if len(env.Detail) > MaxDetailBytes {
		return Event{}, fmt.Errorf("%w: detail is %d bytes, more than %d", ErrTooLarge, len(env.Detail), MaxDetailBytes)
	}
	d, err := parseDetail(env.Detail)
	if err != nil {
		return Event{}, err
	}
	mode := tenant.Test
	if *d.Livemode {
		mode = tenant.Live
	}
	owner, err := tenant.New(d.Account, mode)
	if err != nil {
		return Event{}, fmt.Errorf("%w: detail.account: %v", ErrMalformed, err)
	}
	id := d.ID
	if id == "" {
		id = EventIDFor(env.ID, env.Time)
	}
	ev := Event{ID: id, Type: typ, Owner: owner, Time: env.Time.UTC(), SourceID: env.ID}
	ev.Payload, err = buildPayload(payload{ID: id, Type: string(typ), Timestamp: ev.Time.Format(time.RFC3339Nano), Livemode: *d.Livemode}, d.Data)
	if err != nil {
		return Event{}, err
	}
	return ev, nil
}

// buildPayload writes p's members, then data exactly as published:
// marshalling it again would compact it and escape <, > and &.
func buildPayload(p payload, data json.RawMessage) ([]byte, error) {
	head, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("%w: build payload: %v", ErrMalformed, err)
	}
	out := make([]byte, 0, len(head)+len(`,"data":`)+len(data))
	out = append(out, head[:len(head)-1]...) // without the closing brace
	out = append(out, `,"data":`...)
	out = append(out, data...)
	return append(out, '}'), nil
}

// parseDetail decodes and checks a Detail: an object with exactly the
// documented members, account and livemode present, data an object.
func parseDetail(raw json.RawMessage) (detail, error) {
	var d detail
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		return detail{}, fmt.Errorf("%w: detail: %v", ErrMalformed, err)
	}
	switch {
	case d.Account == "":
		return detail{}, fmt.Errorf("%w: detail.account is missing", ErrMalformed)
	case d.Livemode == nil:
		return detail{}, fmt.Errorf("%w: detail.livemode is missing", ErrMalformed)
	case len(d.ID) > MaxEventIDLen:
		return detail{}, fmt.Errorf("%w: detail.id is longer than %d bytes", ErrMalformed, MaxEventIDLen)
	case len(d.Data) == 0 || d.Data[0] != '{':
		return detail{}, fmt.Errorf("%w: detail.data must be a JSON object", ErrMalformed)
	}
	return d, nil
}

// EventIDFor makes the id of an event the platform published without one:
// "evt_" and a ULID of the event's time whose random part comes from the
// EventBridge event id, so a redelivery of the same publish gets the same
// id.
func EventIDFor(sourceID string, at time.Time) string {
	return EventIDPrefix + derivedULID(at, sourceID)
}

// DeliveryIDPrefix starts every delivery id (the webhook-id header).
const DeliveryIDPrefix = "msg_"

// DeliveryID is the id of the delivery of event eventID to webhook
// webhookID: "msg_" and a ULID of the event's time whose random part comes
// from both ids. It is the webhook-id header: unique per event and
// endpoint, the same on every retry, and sortable by event time.
func DeliveryID(eventID, webhookID string, eventTime time.Time) string {
	return DeliveryIDPrefix + derivedULID(eventTime, eventID+"\x00"+webhookID)
}

// derivedULID is a ULID of time at whose 80 random bits are the first
// bytes of SHA-256(seed).
func derivedULID(at time.Time, seed string) string {
	sum := sha256.Sum256([]byte(seed))
	var id ulid.ULID
	_ = id.SetTime(ulid.Timestamp(at)) // only fails after the year 10889
	copy(id[6:], sum[:10])
	return id.String()
}

// ValidDeliveryID reports whether s has the form of a delivery id.
func ValidDeliveryID(s string) bool { return webhook.ValidPrefixedULID(s, DeliveryIDPrefix) }
