package webhook

import (
	"context"
	"time"

	"github.com/docproc/webhooks/internal/tenant"
)

// NewSecret describes a signing secret to be stored for a new webhook.
type NewSecret struct {
	// Owner is the webhook's account and mode; it names and tags the secret.
	Owner tenant.Tenant
	// WebhookID is the webhook the secret signs for; it names and tags the secret.
	WebhookID string
	// Value is the signing secret (shown to the caller once).
	Value SigningSecret
	// SHA256 is the hex SHA-256 of Value, kept so support can confirm which
	// secret a customer holds without seeing it.
	SHA256 string
}

// SecretStore keeps signing secrets. Implementations must not log values.
type SecretStore interface {
	// Create stores the secret and returns a reference to it (an ARN).
	Create(ctx context.Context, s NewSecret) (ref string, err error)
	// Get returns the signing secrets stored at ref: the current one and
	// those still in their grace period after a rotation. A secret that
	// does not exist (its webhook was deleted) is ErrNotFound.
	Get(ctx context.Context, ref string) (SecretSet, error)
	// Put replaces the signing secrets stored at ref; ErrNotFound if the
	// secret is gone or being deleted.
	Put(ctx context.Context, ref string, set SecretSet) error
	// Delete removes the secret at once, without a recovery window. Deleting
	// a secret that does not exist is not an error.
	Delete(ctx context.Context, ref string) error
}

// Store keeps webhook configurations, the per-owner count of them, their
// rotation locks, and the janitor's list of secrets to check. Every conditional write recognises
// its own earlier success: when a retry of it fails its condition because
// its first try committed (the response was lost), it reports success.
type Store interface {
	// Create commits in one transaction: the webhook (ErrIDTaken if its id
	// exists), the increment of its owner's webhook count (ErrLimit when
	// the count is at limit), the removal of the create's SecretCheck (see
	// NoteCheck) and, when claim is not nil, the completion of that
	// idempotency claim with the webhook and the hash of the secret the
	// create returns (ErrClaimLost if the claim was taken over). Either all
	// of it is written or none of it.
	Create(ctx context.Context, w Webhook, limit int, claim *Claim, secretSHA256 string) error
	// Exists reports, with a strongly consistent read, whether owner has
	// the webhook id.
	Exists(ctx context.Context, owner tenant.Tenant, id string) (bool, error)
	// Get reads owner's webhook id with a strongly consistent read. A
	// webhook that does not exist, or belongs to someone else, is
	// ErrNotFound.
	Get(ctx context.Context, owner tenant.Tenant, id string) (Webhook, error)
	// List returns up to limit of owner's webhooks, newest first, after the
	// webhook startingAfter when it is not empty.
	List(ctx context.Context, owner tenant.Tenant, limit int, startingAfter string) (Page, error)
	// Update writes w's settings, UpdatedAt and Version if the stored
	// webhook is still at version w.Version-1; otherwise ErrStale. When w
	// is active and its Health is zero, it also clears the stored health
	// (a re-enable); otherwise it leaves the health to the deliverer.
	Update(ctx context.Context, w Webhook) error
	// Delete removes w, decrements its owner's count and notes a
	// SecretCheck for w's secret at now, in one transaction, if w is still
	// at w.Version; otherwise ErrStale. A count that is missing or already
	// zero (damaged) does not block the delete: it is left at zero.
	Delete(ctx context.Context, w Webhook, now time.Time) error
	// LockRotation marks owner's webhook id as being rotated by token until
	// until, and returns it. A webhook locked by another rotation whose
	// lock has not expired is ErrLocked; a missing one is ErrNotFound.
	LockRotation(ctx context.Context, owner tenant.Tenant, id, token string, now, until time.Time) (Webhook, error)
	// UnlockRotation ends token's rotation and returns the webhook. With
	// changed, it also bumps the version and sets UpdatedAt to now. A
	// webhook that is gone is ErrNotFound; one whose lock was taken by
	// another rotation after token's expired is ErrLockLost.
	UnlockRotation(ctx context.Context, owner tenant.Tenant, id, token string, now time.Time, changed bool) (Webhook, error)
	// NoteCheck records c for the janitor.
	NoteCheck(ctx context.Context, c SecretCheck) error
	// ClearCheck removes c; removing one that is not there is not an error.
	ClearCheck(ctx context.Context, c SecretCheck) error
}

// KeyStore keeps idempotency records.
type KeyStore interface {
	// ClaimKey stores c as in progress unless c's key already has a record
	// that is live (completed, or in progress and locked by another
	// request). Then it stores nothing and returns that record.
	ClaimKey(ctx context.Context, c Claim) (*IdempotencyRecord, error)
	// CompleteKey marks c's claim completed with rec, if c still holds it;
	// otherwise ErrClaimLost.
	CompleteKey(ctx context.Context, c Claim, rec IdempotencyRecord) error
	// ReleaseKey deletes c's record if c still holds it in progress, so
	// that a retry can run at once.
	ReleaseKey(ctx context.Context, c Claim) error
}

// CheckKind is what the janitor does with a SecretCheck.
type CheckKind string

// The kinds of SecretCheck.
const (
	// CheckOrphan: delete the webhook's secret unless the webhook exists.
	// A create notes one before it stores its secret (its transaction
	// removes it), a delete notes one with the webhook's removal.
	CheckOrphan CheckKind = "orphan"
	// CheckPrune: drop the webhook's expired earlier secrets. A rotation
	// notes one for when the replaced secret expires.
	CheckPrune CheckKind = "prune"
)

// SecretCheck asks the janitor to look at a webhook's signing secret once
// At is past by the janitor's minimum age. Checks are kept by the hour of
// At, so the janitor's work is proportional to the creates, deletes and
// rotations of the hours it covers, not to the number of webhooks.
type SecretCheck struct {
	// Kind says what to do.
	Kind CheckKind
	// Owner and WebhookID name the secret.
	Owner tenant.Tenant
	// WebhookID is the webhook the secret belongs to.
	WebhookID string
	// At is when the check may be made: the moment of the create or
	// delete, or when the replaced secret expires.
	At time.Time
}
