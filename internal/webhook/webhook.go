// Package webhook is the domain of webhook endpoint configuration: what a
// webhook is, the rules a new one must meet, its id and signing secret, and
// the ports (Store, SecretStore) that adapters implement to keep them.
package webhook

import (
	"context"
	"errors"
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
	// Settings are what the customer chose: endpoint, events, retries.
	Settings
	// SecretRef identifies the stored signing secret (a Secrets Manager ARN).
	SecretRef string
	// CreatedAt is when the webhook was created, in UTC.
	CreatedAt time.Time
	// UpdatedAt is when the webhook or its secret last changed, in UTC.
	UpdatedAt time.Time
	// Version counts the webhook's writes; an update is conditional on it.
	Version int
}

// CreateParams is a validated create request with defaults applied.
type CreateParams = Settings

// Settings are the fields of a webhook that its owner chooses.
type Settings struct {
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
	// Get returns the signing secrets stored at ref: the current one and
	// those still in their grace period after a rotation.
	Get(ctx context.Context, ref string) (SecretSet, error)
	// Put replaces the signing secrets stored at ref.
	Put(ctx context.Context, ref string, set SecretSet) error
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
	// Get reads owner's webhook id with a strongly consistent read. A
	// webhook that does not exist, or belongs to someone else, is an apperr
	// NotFound.
	Get(ctx context.Context, owner tenant.Tenant, id string) (Webhook, error)
	// List returns up to limit of owner's webhooks, newest first, after the
	// webhook startingAfter when it is not empty.
	List(ctx context.Context, owner tenant.Tenant, limit int, startingAfter string) (Page, error)
	// Update writes w's settings, UpdatedAt and Version if the stored
	// webhook is still at version w.Version-1; otherwise it returns
	// ErrStale (or NotFound if the webhook is gone).
	Update(ctx context.Context, w Webhook) error
	// Delete removes w and decrements its owner's count in one transaction,
	// if w is still at w.Version; otherwise ErrStale (or NotFound).
	Delete(ctx context.Context, w Webhook) error
	// LockRotation marks owner's webhook id as being rotated by token until
	// until, and returns it. A webhook locked by another rotation is an
	// apperr Conflict; a missing one is NotFound.
	LockRotation(ctx context.Context, owner tenant.Tenant, id, token string, now, until time.Time) (Webhook, error)
	// UnlockRotation ends token's rotation and returns the webhook. With
	// changed, it also bumps the version and sets UpdatedAt to now.
	UnlockRotation(ctx context.Context, owner tenant.Tenant, id, token string, now time.Time, changed bool) (Webhook, error)
}

// ErrStale is returned by conditional writes whose webhook changed since it
// was read.
var ErrStale = errors.New("webhook changed since it was read")

// Page is one page of a list.
type Page struct {
	// Webhooks are the page's webhooks, newest first.
	Webhooks []Webhook
	// HasMore says whether more webhooks follow the last one.
	HasMore bool
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
