package delivery

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/docproc/webhooks/internal/webhook"
)

// Limits of manual sends.
const (
	// SendsPerMinute is how many manual sends (retries, recovered events,
	// tests) one webhook may queue per minute, so that one customer
	// cannot flood the delivery queue.
	SendsPerMinute = 300
	// AccountSendsPerMinute is how many manual sends all the webhooks of
	// one account in one mode may queue per minute together.
	AccountSendsPerMinute = 600
	// MaxDeliveryAttempts is the most attempts one delivery may have,
	// manual ones included.
	MaxDeliveryAttempts = 100
	// ResendMargin is how far ahead a pending delivery's next attempt
	// must be for a manual send to take it over: closer than that, its
	// message may be making the attempt now.
	ResendMargin = time.Minute
)

// Reopen is a manual send's write: the delivery becomes pending under
// Message.Claim, its next attempt due now, its reason cleared; a pending
// delivery's claim is kept as its PriorClaim.
type Reopen struct {
	// Message is the delivery, with the claim its message carries.
	Message Message
	// Prior is the delivery as read; the write is conditional on it
	// (its state and attempts, and a pending one's claim), on no notice
	// pending and no attempt in progress, or on its absence when
	// !Prior.Exists.
	Prior Status
	// AttemptLimit is the delivery's new limit (0: the webhook's settings).
	AttemptLimit int
	// At is when the send was asked; the next attempt is due then.
	At time.Time
	// ClaimedUntil is when the claim's lease ends.
	ClaimedUntil time.Time
	// ResendAt is when the store queues the message again if no attempt
	// is recorded first (Record.ResendAt).
	ResendAt time.Time
	// Expires is when the delivery's records may be removed.
	Expires time.Time
}

// plan decides the manual send of event ev to w, whose delivery stands
// at st: a delivery never made starts as the fan-out would start it; a
// finished one gets one more attempt, or, recovering, the attempts w's
// retry settings allow; a pending one has its next attempt brought
// forward, unless it may be being made now. A delivery whose notice is
// not yet published waits for it, and one that has had
// MaxDeliveryAttempts attempts gets no more.
func (s *Manager) plan(w webhook.Webhook, ev Event, st Status, now time.Time, recovering bool) (Reopen, error) {
	m := Message{DeliveryID: DeliveryID(ev.ID, w.ID, ev.Time), EventID: ev.ID, EventType: ev.Type, EventTime: ev.Time,
		Account: w.Owner.Account, Mode: w.Owner.Mode, WebhookID: w.ID, Payload: ev.Payload, Claim: newClaim(), Test: ev.Test, SeriesStart: now}
	r := Reopen{Message: m, Prior: st, At: now, ClaimedUntil: now.Add(LeaseSlack), ResendAt: resendAt(now, now),
		Expires: now.Add(s.retention())}
	switch {
	case st.Attempts >= MaxDeliveryAttempts:
		return Reopen{}, attemptLimitReached(m.DeliveryID)
	case st.NoticePending:
		return Reopen{}, deliveryInProgress(m.DeliveryID)
	case !st.Exists:
	case st.State == StatePending:
		sleeping := now.Before(st.NextAttemptAt.Add(-ResendMargin))
		if !sleeping && !now.After(st.ClaimedUntil) {
			return Reopen{}, deliveryInProgress(m.DeliveryID)
		}
		r.AttemptLimit = st.AttemptLimit
	case recovering:
		r.AttemptLimit = min(MaxDeliveryAttempts, st.Attempts+MaxAttempts(w.Settings))
	default:
		r.AttemptLimit = st.Attempts + 1
	}
	return r, nil
}

// takeUpTo takes up to n of w's sends, at least one, or fails with a
// rate limit error.
func (s *Manager) takeUpTo(ctx context.Context, w webhook.Webhook, n int, now time.Time) (int, error) {
	taken, reset, err := s.Limiter.Take(ctx, w.Owner, w.ID, n, now)
	if err != nil {
		return 0, fmt.Errorf("rate limit of %s: %w", w.ID, err)
	}
	if taken == 0 {
		return 0, rateLimited(reset.Sub(now))
	}
	return taken, nil
}

// sendTaken is send, for which taken of w's sends were taken at now: the
// sends it does not make (it failed, or left a delivery out) are given
// back, so that a request answered as a failure costs no sends. A
// give-back that fails after a success is not reported: it leaves the
// count high for the rest of the minute, which refuses sends early but
// never lets one more through.
func (s *Manager) sendTaken(ctx context.Context, w webhook.Webhook, taken int, now time.Time, rs []Reopen, skipChanged bool) ([]Reopen, error) {
	sent, err := s.send(ctx, rs, skipChanged)
	if gerr := s.giveBack(ctx, w, taken-len(sent), now); err != nil {
		return nil, errors.Join(err, gerr)
	}
	return sent, nil
}

// giveBack gives back n of w's sends taken at now, on a context of its
// own: the request's may be what failed.
func (s *Manager) giveBack(ctx context.Context, w webhook.Webhook, n int, now time.Time) error {
	if n <= 0 {
		return nil
	}
	gctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), webhook.CompensationTimeout)
	defer cancel()
	if err := s.Limiter.GiveBack(gctx, w.Owner, w.ID, n, now); err != nil {
		return fmt.Errorf("give back %d sends of %s: %w", n, w.ID, err)
	}
	return nil
}

// reopenConcurrency bounds the writes one send makes at once.
const reopenConcurrency = 8

// send writes rs and queues their messages, and returns those sent. A
// delivery that changed since it was read is delivery_in_progress, or,
// with skipChanged, left out. If the messages cannot all be queued, the
// writes are undone, so that the request leaves nothing behind and can be
// retried.
func (s *Manager) send(ctx context.Context, rs []Reopen, skipChanged bool) ([]Reopen, error) {
	written := make([]bool, len(rs))
	errs := make([]error, len(rs))
	var wg sync.WaitGroup
	sem := make(chan struct{}, reopenConcurrency)
	for i, r := range rs {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			err := s.Resends.Reopen(ctx, r)
			switch {
			case errors.Is(err, ErrChanged) && skipChanged:
			case errors.Is(err, ErrChanged):
				errs[i] = deliveryInProgress(r.Message.DeliveryID)
			case err != nil:
				errs[i] = fmt.Errorf("reopen delivery %s: %w", r.Message.DeliveryID, err)
			default:
				written[i] = true
			}
		})
	}
	wg.Wait()
	var done []Reopen
	for i, r := range rs {
		if written[i] {
			done = append(done, r)
		}
	}
	var err error
	if i := slices.IndexFunc(errs, func(err error) bool { return err != nil }); i >= 0 {
		err = errs[i]
	} else if len(done) > 0 {
		msgs := make([]Message, 0, len(done))
		for _, r := range done {
			msgs = append(msgs, r.Message)
		}
		if err = s.Queue.Send(ctx, msgs); err != nil {
			err = fmt.Errorf("queue %d deliveries: %w", len(msgs), err)
		}
	}
	if err != nil {
		return nil, s.undo(ctx, done, err)
	}
	return done, nil
}

// undo restores the deliveries of done, whose send failed with cause. A
// delivery whose restore fails too stays pending under a claim no queued
// message may carry: the chain the send took it over from (if any)
// takes it back once the send's lease ends (Status.PriorClaim), and a
// later send may take it over then. The answer stays an error.
func (s *Manager) undo(ctx context.Context, done []Reopen, cause error) error {
	uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), webhook.CompensationTimeout)
	defer cancel()
	errs := []error{cause}
	for _, r := range done {
		if err := s.Resends.Restore(uctx, r); err != nil {
			errs = append(errs, fmt.Errorf("restore delivery %s: %w", r.Message.DeliveryID, err))
		}
	}
	return errors.Join(errs...)
}

// reopened is sum as r leaves it.
func reopened(sum Summary, r Reopen) Summary {
	sum.State, sum.NextAttemptAt, sum.AttemptLimit = StatePending, r.At, r.AttemptLimit
	sum.Claim, sum.ClaimedUntil, sum.Exists = r.Message.Claim, r.ClaimedUntil, true
	sum.UpdatedAt, sum.Reason = r.At, ""
	return sum
}

// manualClaimPrefix starts the claims of manual sends; a queue message id
// (the fan-out's claims) never does.
const manualClaimPrefix = "send_"

// newClaim returns the claim of a manual send.
func newClaim() string { return manualClaimPrefix + rand.Text() }

// isManualClaim reports whether claim is a manual send's: the attempts
// made under it were asked for by the customer.
func isManualClaim(claim string) bool { return strings.HasPrefix(claim, manualClaimPrefix) }
