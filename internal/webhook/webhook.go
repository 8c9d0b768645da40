// Package webhook is the domain of webhook endpoint configuration.
//
//   - webhook.go: what a webhook is (Webhook, Settings, EventType).
//   - rules.go, url.go: what its settings and the operations' parameters
//     must be; the api package decodes requests and calls these rules.
//   - secret.go, ids.go: its signing secret (a SigningSecret, which
//     redacts itself) and its id.
//   - service.go and one file per operation (create.go, read.go, write.go,
//     rotation.go, idempotency.go): the Service, which owns the order of
//     writes, idempotency, the read-backs after an unknown outcome and the
//     compensation that keeps secrets and configs in step.
//   - ports.go: what the Service needs kept (Store, KeyStore, SecretStore),
//     which the dynamo and secrets packages implement.
//   - errors.go: the sentinel errors adapters return (the delivery
//     package's adapters return ErrNotFound too), and the errors the
//     Service returns to callers, built with apperr.
//
// Package webhooktest has in-memory fakes of the ports for fast tests.
package webhook

import (
	"time"

	"github.com/docproc/webhooks/internal/tenant"
)

// EventType is a kind of notification a webhook can subscribe to.
type EventType string

// The event types a webhook may subscribe to.
const (
	DocumentUploaded            EventType = "document.uploaded"
	DocumentProcessingCompleted EventType = "document.processing.completed"
	DocumentProcessingFailed    EventType = "document.processing.failed"
)

// EventTypes lists every known event type in its canonical order.
// Subscriptions are returned in this order, whatever order the caller gave.
var EventTypes = []EventType{DocumentUploaded, DocumentProcessingCompleted, DocumentProcessingFailed}

// Webhook is a stored endpoint configuration. It never holds the signing
// secret itself, only a reference to where the secret is kept.
type Webhook struct {
	// ID is "wh_" plus a ULID: unique and sortable by creation time.
	ID string
	// Owner is the account and mode the webhook belongs to.
	Owner tenant.Tenant
	// Settings are what the customer chose: endpoint, events, retries,
	// rate limit.
	Settings
	// SecretRef identifies the stored signing secret (a Secrets Manager ARN).
	SecretRef string
	// CreatedAt is when the webhook was created, in UTC.
	CreatedAt time.Time
	// UpdatedAt is when the webhook or its secret last changed, in UTC.
	UpdatedAt time.Time
	// Version counts the webhook's writes; an update is conditional on it.
	Version int
	// Health is what deliveries found of the endpoint; the deliverer
	// writes it.
	Health Health
	// Rotating says a rotation of the secret holds the webhook, or left it
	// without finishing: the secret may have changed while Version did
	// not move, so no copy of the secret may be trusted.
	Rotating bool
}

// Health is what deliveries found of a webhook's endpoint.
type Health struct {
	// FailingSince is the first failed attempt after the last delivered
	// one; zero while deliveries succeed.
	FailingSince time.Time
	// FailingAttempts counts the failed attempts since FailingSince, that
	// one included, as far as the rule that disables a failing endpoint
	// needs (delivery.DisableAfterAttempts); zero when FailingSince is.
	FailingAttempts int
	// DisabledReason says why the service disabled the webhook (410 Gone,
	// or failing for too long); empty when it did not.
	DisabledReason string
	// DisabledAt is when it did.
	DisabledAt time.Time
}

// Settings are the fields of a webhook that its owner chooses.
type Settings struct {
	// URL is the validated https endpoint.
	URL string
	// Events are the subscribed event types, in canonical order, without
	// duplicates.
	Events []EventType
	// IsActive says whether deliveries are sent.
	IsActive bool
	// RetryEnabled says whether failed deliveries are retried.
	RetryEnabled bool
	// MaxRetries is how many times a failed delivery is retried
	// (MaxRetriesRange).
	MaxRetries int
	// RateLimit is the most deliveries a second the owner wants sent to
	// the endpoint (RateLimitRange), or 0 for no limit, the default. No
	// endpoint can be limited to none a second (pausing one is IsActive),
	// so the zero value is free to mean "no limit", and a stored webhook
	// from before the setting existed reads as unlimited.
	RateLimit int
}

// Page is one page of a list.
type Page struct {
	// Webhooks are the page's webhooks, newest first.
	Webhooks []Webhook
	// HasMore says whether more webhooks follow the last one.
	HasMore bool
}
