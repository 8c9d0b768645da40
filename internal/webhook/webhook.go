// Package webhook is the domain of webhook endpoint configuration: what a
// webhook is, the rules a new one must meet, its id and signing secret, and
// the ports (Store, SecretStore) that adapters implement to keep them.
package webhook

import (
	"context"
	"fmt"
	"time"

	"github.com/docproc/webhooks/internal/apperr"
	"github.com/docproc/webhooks/internal/tenant"
)

// Event is a kind of notification a webhook can subscribe to.
type Event string

// The events a webhook may subscribe to.
const (
	DocumentUploaded            Event = "document.uploaded"
	DocumentProcessingCompleted Event = "document.processing.completed"
	DocumentProcessingFailed    Event = "document.processing.failed"
)

// Events lists every known event in its canonical order. Subscriptions are
// returned in this order, whatever order the caller gave.
var Events = []Event{DocumentUploaded, DocumentProcessingCompleted, DocumentProcessingFailed}

// DefaultEvents are subscribed when a create request leaves events out.
var DefaultEvents = []Event{DocumentProcessingCompleted, DocumentProcessingFailed}

// Default values of the scalar fields of a create request.
const (
	DefaultIsActive     = true
	DefaultRetryEnabled = true
	DefaultMaxRetries   = 5
	// MaxMaxRetries is the largest max_retries accepted.
	MaxMaxRetries = 10
)

// Webhook is a stored endpoint configuration. It never holds the signing
// secret itself, only a reference to where the secret is kept.
type Webhook struct {
	// ID is "wh_" plus a ULID: unique and sortable by creation time.
	ID string
	// Owner is the account and mode the webhook belongs to.
	Owner tenant.Tenant
	// URL is the https endpoint deliveries go to.
	URL string
	// Events are the subscribed events, in canonical order, without duplicates.
	Events []Event
	// IsActive says whether deliveries are sent.
	IsActive bool
	// RetryEnabled says whether failed deliveries are retried.
	RetryEnabled bool
	// MaxRetries is the number of retries after a failed delivery (0-10).
	MaxRetries int
	// SecretRef identifies the stored signing secret (a Secrets Manager ARN).
	SecretRef string
	// CreatedAt is when the webhook was created, in UTC.
	CreatedAt time.Time
}

// CreateParams is a validated create request with defaults applied.
type CreateParams struct {
	// URL is the validated https endpoint.
	URL string
	// Events are the subscribed events, canonical order, no duplicates.
	Events []Event
	// IsActive says whether deliveries are sent.
	IsActive bool
	// RetryEnabled says whether failed deliveries are retried.
	RetryEnabled bool
	// MaxRetries is 0-10.
	MaxRetries int
}

// NewSecret describes a signing secret to be stored for a new webhook.
type NewSecret struct {
	// Owner is the webhook's account and mode; it names and tags the secret.
	Owner tenant.Tenant
	// WebhookID is the webhook the secret signs for; it names and tags the secret.
	WebhookID string
	// Value is the signing secret, "whsec_..." (shown to the caller once).
	Value string
	// SHA256 is the hex SHA-256 of Value, kept so support can confirm which
	// secret a customer holds without seeing it.
	SHA256 string
}

// SecretStore keeps signing secrets. Implementations must not log values.
type SecretStore interface {
	// Create stores the secret and returns a reference to it (an ARN).
	Create(ctx context.Context, s NewSecret) (ref string, err error)
	// Get returns the current signing secret stored at ref.
	Get(ctx context.Context, ref string) (string, error)
	// Delete removes the secret at once, without a recovery window. Deleting
	// a secret that does not exist is not an error.
	Delete(ctx context.Context, ref string) error
}

// Store keeps webhook configurations and the per-owner count of them.
type Store interface {
	// Create commits in one transaction: the webhook (failing with an
	// apperr Conflict if its id exists), the increment of its owner's
	// webhook count (failing with LimitReached when the count is at limit)
	// and, when claim is not nil, the completion of that idempotency claim
	// (failing with an IdempotencyInProgress error if the claim was taken
	// over). Either all of it is written or none of it.
	Create(ctx context.Context, w Webhook, limit int, claim *Claim) error
	// Exists reports, with a strongly consistent read, whether owner has
	// the webhook id.
	Exists(ctx context.Context, owner tenant.Tenant, id string) (bool, error)
}

// KeyStore keeps idempotency records.
type KeyStore interface {
	// ClaimKey stores c as in progress unless c's key already has a record
	// that is live (completed, or in progress and locked). Then it stores
	// nothing and returns that record.
	ClaimKey(ctx context.Context, c Claim) (*IdempotencyRecord, error)
	// ReleaseKey deletes c's record if c still holds it in progress, so
	// that a retry can run at once.
	ReleaseKey(ctx context.Context, c Claim) error
}

// CodeLimitReached is the error code of a create over the per-owner limit.
const CodeLimitReached = "webhook_limit_reached"

// LimitReached is the error of a create when the owner already has limit
// webhooks.
func LimitReached(limit int) error {
	return &apperr.Error{Kind: apperr.Invalid, Code: CodeLimitReached,
		Message: fmt.Sprintf("this account already has the maximum of %d webhooks in this mode; delete one first", limit)}
}
