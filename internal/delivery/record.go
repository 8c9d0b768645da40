package delivery

import (
	"time"

	"github.com/docproc/webhooks/internal/webhook"
)

// Target is what the deliverer reads for one step (Store.Target): a
// delivery's endpoint as it is now, its gate, and the delivery's state.
type Target struct {
	// Found is false when the webhook was deleted.
	Found bool
	// Webhook is the endpoint, with its delivery health.
	Webhook webhook.Webhook
	// Gate is the endpoint's gate (empty before its first attempt).
	Gate Gate
	// Delivery is the delivery's state.
	Delivery Status
}

// Record is what one step of a delivery writes: the attempt made (if any),
// the delivery's new state, and the change to its webhook's health. The
// write is conditional on the delivery still being pending at Prior
// attempts and owned by Claim, or by a claim whose lease ended (or not
// existing yet, when Prior is 0); and on the attempt recorded being the
// one begun, or, for a step without an attempt, on none being in
// progress.
type Record struct {
	// Message is the delivery.
	Message Message
	// Attempt is the attempt made, or the one begun and interrupted; nil
	// when none was (skipped, or failed because the retry settings were
	// lowered while it waited).
	Attempt *Attempt
	// State is the delivery's state after this step.
	State State
	// Reason says why a delivery was skipped or failed (a Reason*
	// constant); empty otherwise.
	Reason string
	// Attempts counts attempts after this step.
	Attempts int
	// Prior is the count the stored delivery must still have.
	Prior int
	// Claim is the claim that owns the delivery (Status.Claim).
	Claim string
	// NextAttemptAt is when the next attempt is due (pending only).
	NextAttemptAt time.Time
	// ClaimedUntil is when Claim's lease ends (pending only).
	ClaimedUntil time.Time
	// ResendAt is when, unless an attempt is recorded first, the
	// delivery's message must be queued again from the store (pending
	// only; see park.go): a wait longer than MaxDelay is kept there, and a
	// shorter one, queued as a delayed message, is kept there too in case
	// that message is lost.
	ResendAt time.Time
	// WebhookVersion is the webhook's version as read: disabling it is
	// conditional on it, so that a change made since (a new URL, a
	// re-enable) is not undone.
	WebhookVersion int
	// Health is the change to the webhook.
	Health HealthChange
	// Notify says the step owes an operational notice (NoticeFor): it is
	// stored as pending with the step, and cleared once published.
	Notify bool
	// At is when the step happened.
	At time.Time
	// Expires is when the delivery's records may be removed.
	Expires time.Time
}

// Begin is the write that starts an attempt: the attempt's number is
// taken before its POST, so that no other receipt of the delivery's
// message makes a POST of the same number.
type Begin struct {
	// Message is the delivery.
	Message Message
	// Number is the attempt's number: Prior + 1.
	Number int
	// Prior is the count of recorded attempts the delivery must have.
	Prior int
	// Claim is the claim that owns the delivery (Status.Claim).
	Claim string
	// ClaimedUntil is the claim's lease, taken (or kept) with the attempt.
	ClaimedUntil time.Time
	// At is when the attempt begins.
	At time.Time
	// Until is when the attempt's lease ends: its outcome is recorded
	// before then, or it counts as interrupted.
	Until time.Time
	// Expires is when the delivery's records may be removed.
	Expires time.Time
}

// HealthChange is what a recorded step changes on its webhook's health.
type HealthChange int

// The health changes.
const (
	// NoChange leaves the webhook alone.
	NoChange HealthChange = iota
	// StartFailing notes the first failed attempt since the last success.
	StartFailing
	// CountFailure counts one more failed attempt while failing, until
	// there are DisableAfterAttempts.
	CountFailure
	// Recover clears FailingSince and FailingAttempts after a delivered
	// attempt.
	Recover
	// Disable sets is_active false with the record's Reason, and bumps
	// the webhook's version.
	Disable
)

// ApplyHealth makes r's change to w's health as the store's conditional
// update does (the DynamoDB adapter writes the same); the
// in-memory stores (the tests', the scale simulation's) keep webhooks'
// health with it.
func (r Record) ApplyHealth(w *webhook.Webhook) {
	switch r.Health {
	case StartFailing:
		if w.Health.FailingSince.IsZero() {
			w.Health.FailingSince, w.Health.FailingAttempts = r.At, 1
		}
	case CountFailure:
		if !w.Health.FailingSince.IsZero() {
			w.Health.FailingAttempts++
		}
	case Recover:
		w.Health.FailingSince, w.Health.FailingAttempts = time.Time{}, 0
	case Disable:
		w.IsActive, w.Health.DisabledReason, w.Health.DisabledAt = false, r.Reason, r.At
		w.Version++
	}
}

// DefaultRetention is how long events and delivery and attempt records
// are kept, unless the deployment says otherwise.
const DefaultRetention = 30 * 24 * time.Hour
