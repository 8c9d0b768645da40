package delivery

import (
	"fmt"
	"time"

	"github.com/docproc/webhooks/internal/tenant"
)

// NoticeSource is the EventBridge source of the service's operational
// notices, apart from the platform's document events (Source).
const NoticeSource = "docproc.webhooks"

// The types of operational notice (the EventBridge detail-type).
const (
	// NoticeWebhookDisabled: the service disabled a webhook, because its
	// endpoint answered 410 Gone (ReasonGone) or every attempt failed for
	// DisableAfter, DisableAfterAttempts in a row at least (ReasonFailing).
	NoticeWebhookDisabled = "webhook.disabled"
	// NoticeDeliveryExhausted: the last attempt the webhook's retry
	// settings allow an event failed (ReasonExhausted).
	NoticeDeliveryExhausted = "delivery.exhausted"
)

// Notice is an operational notice: what the platform needs to tell an
// endpoint's owner. It holds no payload, URL or secret.
type Notice struct {
	// ID identifies the notice: the same outcome of the same attempt of
	// a delivery always has the same id, so a consumer can drop a second
	// copy.
	ID string `json:"id"`
	// Type is NoticeWebhookDisabled or NoticeDeliveryExhausted.
	Type string `json:"-"`
	// Account and Mode own the webhook.
	Account string `json:"account"`
	// Mode is test or live.
	Mode tenant.Mode `json:"mode"`
	// Livemode is Mode == live, as the API shows it.
	Livemode bool `json:"livemode"`
	// WebhookID is the webhook.
	WebhookID string `json:"webhook_id"`
	// Reason is why: endpoint_gone, endpoint_failing or
	// attempts_exhausted.
	Reason string `json:"reason"`
	// DeliveryID, EventID and EventType are the delivery that ended it.
	DeliveryID string `json:"delivery_id"`
	// EventID is the delivery's event.
	EventID string `json:"event_id"`
	// EventType is the event's type.
	EventType string `json:"event_type"`
	// Attempts counts the delivery's attempts.
	Attempts int `json:"attempts"`
	// At is when the outcome was recorded.
	At time.Time `json:"at"`
}

// owesNotice reports whether m's delivery, which ended for reason, owes
// a notice. Disabling a webhook always does. An exhausted delivery does
// unless it was a test event's or its last attempt was a manual send's:
// the customer asked for that attempt, and is there to see it fail.
func owesNotice(reason string, m Message, manual bool) bool {
	switch noticeType(reason) {
	case NoticeWebhookDisabled:
		return true
	case NoticeDeliveryExhausted:
		return !m.Test && !manual
	}
	return false
}

// noticeType is the notice a delivery that ended for reason owes, or "".
func noticeType(reason string) string {
	switch reason {
	case ReasonGone, ReasonFailing:
		return NoticeWebhookDisabled
	case ReasonExhausted:
		return NoticeDeliveryExhausted
	}
	return ""
}

// NoticeFor is the notice owed for m's delivery, which ended for reason
// after attempts attempts, at at.
func NoticeFor(m Message, reason string, attempts int, at time.Time) Notice {
	typ := noticeType(reason)
	return Notice{ID: fmt.Sprintf("%s:%s:%d", typ, m.DeliveryID, attempts), Type: typ, Account: m.Account, Mode: m.Mode,
		Livemode: m.Mode == tenant.Live, WebhookID: m.WebhookID, Reason: reason, DeliveryID: m.DeliveryID,
		EventID: m.EventID, EventType: string(m.EventType), Attempts: attempts, At: at.UTC()}
}
