package delivery

import (
	"fmt"
	"slices"
	"time"

	"github.com/docproc/webhooks/internal/apperr"
)

// State is where a delivery stands.
type State string

// The states of a delivery.
const (
	// StatePending: an attempt is due, now or later, or under way: the
	// delivery's first attempt has begun, a manual send opened or
	// reopened it, or attempts failed and a retry is scheduled.
	StatePending State = "pending"
	// StateDelivered: an attempt got 2xx.
	StateDelivered State = "delivered"
	// StateFailed: no attempt is scheduled again: the attempts allowed are
	// spent, or the next would fall past the horizon or the event's
	// retention (ReasonExhausted); the endpoint answered 410 (ReasonGone);
	// or its attempts all failed for DisableAfter, which disabled it
	// (ReasonFailing). Only a manual send reopens it.
	StateFailed State = "failed"
	// StateSkipped: when an attempt was due, the endpoint (or its signing
	// secret) was deleted (ReasonDeleted), it was not active
	// (ReasonInactive), or it no longer subscribed to the event
	// (ReasonUnsubscribed); no attempt was made.
	StateSkipped State = "skipped"
)

// States lists the delivery states, as the API names them.
var States = []State{StatePending, StateDelivered, StateFailed, StateSkipped}

// ParseState reads a delivery state by name.
func ParseState(name string) (State, *apperr.FieldProblem) {
	if !slices.Contains(States, State(name)) {
		return "", &apperr.FieldProblem{Code: apperr.CodeStateInvalid,
			Message: fmt.Sprintf("unknown state %s; states: pending, delivered, failed, skipped", apperr.Quote(name))}
	}
	return State(name), nil
}

// Status is a delivery's stored state.
type Status struct {
	// Exists is false until the delivery is first written: its first
	// attempt begun (Store.Begin), or a manual send (Resends.Reopen).
	Exists bool
	// State is where the delivery stands.
	State State
	// Attempts counts the attempts made.
	Attempts int
	// Claim owns the delivery: the queue message id of the series of
	// attempts it is in, or a manual send's claim (Message.Claim). Only
	// receipts under it make attempts, so a duplicate message cannot start
	// a second series of retries.
	Claim string
	// ClaimedUntil is when Claim's lease ends: past it, another message
	// may take the delivery over.
	ClaimedUntil time.Time
	// PriorClaim is set while a manual send that took a pending delivery
	// over has recorded no attempt: it is the claim of the series the
	// send took it from. The send's message may never have been queued
	// (its queueing failed, and so did the undo), so that series' message
	// does not give up: it waits for the send's lease to end, then takes
	// the delivery back.
	PriorClaim string
	// NextAttemptAt is when a pending delivery's next attempt is due.
	NextAttemptAt time.Time
	// AttemptLimit, when not 0, is the most attempts the delivery may
	// reach: a retry of a finished delivery allows one more, a recovery
	// the attempts the webhook's retry settings allow. When 0, those
	// settings decide (MaxAttempts).
	AttemptLimit int
	// Reason says why the delivery was skipped or failed (a Reason*
	// constant); empty otherwise.
	Reason string
	// NoticePending says an operational notice of this delivery's outcome
	// (Notice) is still to be published.
	NoticePending bool
	// UpdatedAt is when the delivery's state was last written: for a
	// finished delivery, when its outcome was recorded (the time of its
	// last step), which its notice carries.
	UpdatedAt time.Time
	// Begun is the number of the last attempt begun (Store.Begin); it is
	// above Attempts while that attempt's outcome is not recorded.
	Begun int
	// BegunAt is when attempt Begun began.
	BegunAt time.Time
	// BegunUntil is when attempt Begun's lease ends: until then the
	// receipt that began it may still be making it; past it, the attempt
	// was interrupted and its outcome is lost.
	BegunUntil time.Time
	// ResendAt is when the store queues the pending delivery's message
	// again (Record.ResendAt); zero when it is not parked there.
	ResendAt time.Time
}

// InProgress reports whether an attempt of the delivery was begun and may
// still be being made at now.
func (s Status) InProgress(now time.Time) bool {
	return s.Begun > s.Attempts && now.Before(s.BegunUntil)
}
