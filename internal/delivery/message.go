package delivery

import (
	"time"

	"github.com/docproc/webhooks/internal/tenant"
	"github.com/docproc/webhooks/internal/webhook"
)

// Message is one delivery queued for one endpoint: the fan-out or a
// manual send queues it, and the deliverer attempts it, queueing it again
// for each next attempt (see park.go), until the delivery is delivered,
// failed or skipped. Its JSON form is the delivery queue's message body.
type Message struct {
	// DeliveryID is the delivery's id and webhook-id header.
	DeliveryID string `json:"delivery_id"`
	// EventID is the event's id.
	EventID string `json:"event_id"`
	// EventType is the event's type.
	EventType webhook.EventType `json:"event_type"`
	// EventTime is when the event happened.
	EventTime time.Time `json:"event_time"`
	// Account and Mode own the event and the endpoint.
	Account string `json:"account"`
	// Mode is test or live.
	Mode tenant.Mode `json:"mode"`
	// WebhookID is the endpoint.
	WebhookID string `json:"webhook_id"`
	// Payload is the body to POST, the same bytes for every endpoint and
	// attempt (base64 in JSON, so no re-encoding can change them).
	Payload []byte `json:"payload"`
	// Claim, when set, is the claim its receipts own the delivery under,
	// instead of under the queue's message id: the claim a manual send (a
	// retry, a recovery, a test) made on the delivery before queueing the
	// message, or, on a message queued again for a next attempt, the
	// claim of the series it goes on with.
	Claim string `json:"claim,omitempty"`
	// Test marks a test event: it goes to its endpoint whatever the
	// endpoint subscribes to.
	Test bool `json:"test,omitempty"`
	// SeriesStart is when the delivery's series of attempts began: the
	// event's time for the fan-out's, the send's time for a manual send's.
	// No retry is scheduled past SeriesStart plus the horizon. Zero means
	// EventTime.
	SeriesStart time.Time `json:"series_start,omitzero"`
	// Deferrals counts the times its endpoint's gate held the delivery
	// back; each hold waits longer (holdBackoff).
	Deferrals int `json:"deferrals,omitempty"`
}

// Owner is the message's account and mode.
func (m Message) Owner() tenant.Tenant { return tenant.Tenant{Account: m.Account, Mode: m.Mode} }
