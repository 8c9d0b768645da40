package webhook

import (
	"errors"
	"fmt"

	"github.com/docproc/webhooks/internal/apperr"
)

// Errors the adapters return. The domain decides what each means for the
// caller, with the errors below.
var (
	// ErrNotFound is a webhook that does not exist (also when a rotation
	// lock is taken or released on one that is gone) or a signing secret
	// that does not. A missing delivery or event is delivery.ErrNotFound.
	ErrNotFound = errors.New("webhook or secret not found")
	// ErrStale is a conditional write whose webhook changed since it was
	// read.
	ErrStale = errors.New("webhook changed since it was read")
	// ErrIDTaken is a new webhook whose id is taken.
	ErrIDTaken = errors.New("a webhook with this id exists")
	// ErrLimit is a create over the owner's webhook limit.
	ErrLimit = errors.New("webhook limit reached")
	// ErrClaimLost is an idempotency claim taken over by another request
	// after its lock expired.
	ErrClaimLost = errors.New("idempotency claim taken over")
	// ErrLocked is a webhook whose secret another request is rotating.
	ErrLocked = errors.New("webhook is being rotated")
	// ErrLockLost is a rotation whose lock expired and was taken.
	ErrLockLost = errors.New("rotation lock expired and was taken")
)

// The errors callers see, each with its code from apperr. Each call
// builds a new error, so that no caller can change another's.

// startingAfterInvalid is the error of a list after a webhook the caller
// does not have.
func startingAfterInvalid() error {
	return &apperr.Error{Kind: apperr.Invalid, Code: apperr.CodeStartingAfterInvalid, Param: "starting_after",
		Message: "starting_after must be the id of one of your webhooks"}
}

// busy is the error of a write that lost to other writes every time.
func busy() error {
	return &apperr.Error{Kind: apperr.Conflict, Code: apperr.CodeWebhookBusy,
		Message: "the webhook is being changed by other requests; retry"}
}

// rotationLimit is the error of a rotation that would keep more than
// MaxOldSecrets earlier secrets.
func rotationLimit() error {
	return &apperr.Error{Kind: apperr.Invalid, Code: apperr.CodeRotationLimitReached, Param: "grace_period_seconds",
		Message: fmt.Sprintf("at most %d earlier signing secrets may be in their grace period; "+
			"wait for one to expire or rotate with grace_period_seconds 0", MaxOldSecrets)}
}

// keyInvalid is the error of a malformed Idempotency-Key.
func keyInvalid() error {
	return &apperr.Error{Kind: apperr.Invalid, Code: apperr.CodeIdempotencyKeyInvalid, Param: "Idempotency-Key",
		Message: fmt.Sprintf("the Idempotency-Key header must be 1 to %d printable ASCII characters", MaxIdempotencyKeyLen)}
}

// keyReused is the error of an Idempotency-Key used with other parameters.
func keyReused() error {
	return &apperr.Error{Kind: apperr.IdempotencyMismatch, Code: apperr.CodeIdempotencyKeyReused,
		Param:   "Idempotency-Key",
		Message: "this Idempotency-Key was already used with other parameters; use a new key for a new request"}
}

// replayGone is the error of a replay whose first secret is no longer held.
func replayGone() error {
	return &apperr.Error{Kind: apperr.IdempotencyGone, Code: apperr.CodeIdempotencyReplayUnavailable,
		Param: "Idempotency-Key",
		Message: "the signing secret the first request with this Idempotency-Key returned has since been replaced " +
			"and is no longer valid, so that response cannot be shown again; use a new key"}
}

// NotFound is the error for a webhook id the caller does not have
// (apperr.ResourceMissing): the same whether the webhook does not exist or
// belongs to another account or mode, and naming id only when it has the
// form of a webhook id.
func NotFound(id string) error {
	return apperr.ResourceMissing("id", "webhook", id, ValidID(id))
}

// limitReached is the error of a create when the owner already has limit
// webhooks.
func limitReached(limit int) error {
	return &apperr.Error{Kind: apperr.Invalid, Code: apperr.CodeWebhookLimitReached,
		Message: fmt.Sprintf("this account already has the maximum of %d webhooks in this mode; delete one first", limit)}
}

// keyInUse is the error of a request whose Idempotency-Key another request
// holds: the first one, still running (no cause), or one that took the
// key over after this request's lock expired (cause ErrClaimLost).
func keyInUse(cause error) error {
	msg := "a request with this Idempotency-Key is still in progress; retry after it finishes"
	if cause != nil {
		msg = "another request took over this Idempotency-Key; retry to get its result"
	}
	return &apperr.Error{Kind: apperr.IdempotencyInProgress, Code: apperr.CodeIdempotencyKeyInUse,
		Param: "Idempotency-Key", Message: msg, Cause: cause}
}

// rotationInProgress is the error of a rotation while another one holds
// the webhook's lock.
func rotationInProgress(cause error) error {
	return &apperr.Error{Kind: apperr.Conflict, Code: apperr.CodeRotationInProgress,
		Message: "the webhook's secret is being rotated by another request; retry", Cause: cause}
}
