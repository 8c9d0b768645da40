package delivery

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/docproc/webhooks/internal/webhook"
)

// Deliverer makes the attempts of deliveries.
type Deliverer struct {
	// Store keeps deliveries and attempts.
	Store Store
	// Secrets reads signing secrets.
	Secrets Secrets
	// Sender makes attempts.
	Sender Sender
	// Schedule is the waits between attempts; DefaultSchedule when empty.
	Schedule Schedule
	// DisableAfter is how long an endpoint may fail before it is disabled,
	// once DisableAfterAttempts attempts in a row have failed;
	// DefaultDisableAfter when 0.
	DisableAfter time.Duration
	// Retention is how long events and records are kept (no retry is
	// scheduled past an event's); DefaultRetention when 0.
	Retention time.Duration
	// Notifier publishes operational notices; nil publishes none.
	Notifier Notifier
	// Queue takes the messages of the next attempts (see park.go).
	Queue Queue
	// Gates admits the attempts to each endpoint (see Gate).
	Gates Gates
	// Parking keeps the stored deliveries that an open breaker holds, so
	// that they wait in the table, not as messages (see hold).
	Parking Parking
	// Concurrency is how many attempts one endpoint may have in progress
	// at once; DefaultConcurrency when 0.
	Concurrency int
	// Breaker is when an endpoint's breaker trips; DefaultBreaker when
	// zero.
	Breaker BreakerRules
	// Horizon is how long after its series began a delivery may still be
	// retried; DefaultHorizon when 0.
	Horizon time.Duration
	// Now returns the time; time.Now when nil.
	Now func() time.Time

	mu   sync.Mutex
	keys map[string]cachedKeys
	// held remembers, by webhook id, until when this instance saw the
	// endpoint's gate hold deliveries back (see recentHold).
	held map[string]recentHold
}

// maxCached bounds each of the Deliverer's caches by webhook (signing
// keys, recent holds) in one warm instance; past it a cache starts over.
const maxCached = 10000

// Step is what a message's handling came to. Whatever it is, the message
// received is finished with: when another attempt is due, its message was
// queued again or left to the store (see park.go).
type Step struct {
	// Outcome names it for logs and metrics: one of the Outcome*
	// constants.
	Outcome string
	// Attempt is the attempt recorded (made, or counted as interrupted);
	// nil if none was.
	Attempt *Attempt
	// Retry says another attempt is to come, after Wait: the message was
	// parked (retry, early, held).
	Retry bool
	// Wait is how long until the next attempt.
	Wait time.Duration
	// Reason says why a delivery ended without being delivered, or why
	// its endpoint's gate held it back (Held*).
	Reason string
	// Breaker is the endpoint's breaker state after the step, when the
	// step went through its gate or was held by its breaker.
	Breaker BreakerState
	// GateErr is why the attempt's slot could not be given back: the
	// step stands, and the slot is freed when its lease ends.
	GateErr error
}

// Outcomes of Step.
const (
	// OutcomeDelivered: the attempt got 2xx.
	OutcomeDelivered = "delivered"
	// OutcomeRetry: the attempt failed and the next one is scheduled.
	OutcomeRetry = "retry"
	// OutcomeFailed: the delivery failed (Step.Reason says why).
	OutcomeFailed = "failed"
	// OutcomeSkipped: the delivery was skipped (Step.Reason says why).
	OutcomeSkipped = "skipped"
	// OutcomeDuplicate: the message had nothing to do: its delivery is
	// finished, owned by another claim, or its attempt was taken by
	// another receipt.
	OutcomeDuplicate = "duplicate"
	// OutcomeEarly: the message came before its next attempt is due (a
	// duplicate, a receipt returned after a failure), while another
	// receipt's attempt may still be in progress, or while a manual send
	// that took its delivery over may still be on its way
	// (Status.PriorClaim); it is parked again, unattempted.
	OutcomeEarly = "early"
	// OutcomeHeld: the endpoint's gate held the delivery back (its
	// concurrency, its rate limit, its breaker); it is parked,
	// unattempted and not charged an attempt.
	OutcomeHeld = "held"
)

// AttemptLease is how long an attempt begun without a deadline may take
// before another receipt counts it as interrupted. With a deadline (the
// handler's), the lease ends with it.
const AttemptLease = 2 * time.Minute

// LeaseSlack is how long after a pending delivery's next attempt was due
// its claim keeps the delivery. Past it, another message may take the
// delivery over: one redriven from the dead-letter queue (SQS gives it a
// new id), or a duplicate whose twin was lost.
const LeaseSlack = 15 * time.Minute

// earlyTolerance is how early a message may come and still be attempted:
// SQS delays count whole seconds.
const earlyTolerance = 2 * time.Second

// SaveReserve is the time kept, before the handler's deadline, to record
// an attempt after its POST: the POST's own deadline is moved that much
// earlier, and the record runs on a context of its own for up to this
// long.
const SaveReserve = 10 * time.Second

// now is the time, in UTC.
func (d *Deliverer) now() time.Time {
	if d.Now != nil {
		return d.Now().UTC()
	}
	return time.Now().UTC()
}

// Deliver handles one receipt of message m, which the queue knows as
// queueMessageID: it makes the next attempt if one is due, records it,
// and parks the attempt after it (see park.go). It reads as its three
// parts: whether this receipt owns the delivery (owns), whether there is
// an attempt to make (settle), then the attempt and its record (post).
//
// The message owns its delivery under m.Claim when it carries one (a
// manual send, or a parked attempt), else under queueMessageID. A message
// whose delivery is done, is owned by another live message, or whose
// attempt another receipt is making, is a duplicate; one that came before
// its next attempt is due is parked again, and one its endpoint's gate
// holds back is parked for the gate's wait (held). Each attempt number is
// POSTed at most once: it is taken (Store.Begin) before the POST, and an
// attempt whose outcome was never recorded counts as interrupted instead
// of being made again. An error means nothing was decided (a dependency
// failed, or another receipt recorded first), or a notice or a parked
// message is not yet sent: the message must come back.
func (d *Deliverer) Deliver(ctx context.Context, m Message, queueMessageID string) (Step, error) {
	claim := cmp.Or(m.Claim, queueMessageID)
	if h, ok := d.recentlyHeld(m.WebhookID); ok && m.Deferrals > 0 {
		// Held before, and its endpoint still holds: parked again as its
		// last hold left it (with its claim if its delivery is stored).
		wait := max(h.until.Sub(d.now()), 0) + holdBackoff(m.Deferrals)
		return d.hold(ctx, m, Status{Exists: m.Claim != ""}, m.Claim, wait, h.reason, h.breaker)
	}
	t, err := d.Store.Target(ctx, m.Owner(), m.WebhookID, m.DeliveryID)
	if err != nil {
		return Step{}, fmt.Errorf("read delivery %s: %w", m.DeliveryID, err)
	}
	now := d.now()
	if step, mine, err := d.owns(ctx, m, claim, t.Delivery, now); !mine {
		return step, err
	}
	rec := Record{Message: m, Prior: t.Delivery.Attempts, Attempts: t.Delivery.Attempts, Claim: claim, At: now,
		Expires: now.Add(cmp.Or(d.Retention, DefaultRetention)), WebhookVersion: t.Webhook.Version}
	if step, settled, err := d.settle(ctx, rec, t, now); settled {
		return step, err
	}
	keys, err := d.signingKeys(ctx, t.Webhook)
	if errors.Is(err, webhook.ErrNotFound) {
		rec.State, rec.Reason = StateSkipped, ReasonDeleted
		return d.save(ctx, rec, Step{Outcome: OutcomeSkipped, Reason: ReasonDeleted})
	}
	if err != nil {
		return Step{}, err
	}
	return d.post(ctx, rec, t, keys, now)
}

// owns reports whether this receipt of m, under claim, may act on its
// delivery, which stands at st at now. When it may not, it returns the
// step instead: a duplicate, or a message parked until the delivery's
// owner may have acted.
func (d *Deliverer) owns(ctx context.Context, m Message, claim string, st Status, now time.Time) (Step, bool, error) {
	switch {
	case st.Exists && st.State == StatePending && st.Claim != claim && st.PriorClaim == claim:
		// A manual send took the delivery over from this message's series
		// and has recorded no attempt: its message may never have been
		// queued. The series waits for the send's lease to end, then takes
		// the delivery back (it comes back a little after the lease, since
		// SQS visibility counts whole seconds).
		if now.After(st.ClaimedUntil) {
			return Step{}, true, nil
		}
		wait := min(st.ClaimedUntil.Sub(now)+earlyTolerance, MaxDelay)
		return Step{Outcome: OutcomeEarly, Retry: true, Wait: wait}, false, d.park(ctx, m, claim, wait)
	case m.Claim != "" && (!st.Exists || st.Claim != claim):
		// A manual send's message whose send was undone (its queueing
		// failed), or that a later send took over.
		return Step{Outcome: OutcomeDuplicate}, false, nil
	case st.Exists && st.State != StatePending && st.NoticePending:
		// Its notice could not be published when the outcome was recorded,
		// which is the time the notice tells.
		return Step{Outcome: OutcomeDuplicate}, false, d.notify(ctx, m, st.Reason, st.Attempts, st.UpdatedAt)
	case st.Exists && st.State != StatePending:
		return Step{Outcome: OutcomeDuplicate}, false, nil
	case st.Exists && st.Claim != claim && now.Before(st.ClaimedUntil):
		return Step{Outcome: OutcomeDuplicate}, false, nil
	case st.InProgress(now):
		// A receipt of the message is making the attempt, or made it and
		// could not record it: park the message until the attempt's lease
		// ends, when it finds the attempt recorded, or interrupted.
		wait := st.BegunUntil.Sub(now) + earlyTolerance
		return Step{Outcome: OutcomeEarly, Retry: true, Wait: wait}, false, d.park(ctx, m, claim, wait)
	}
	return Step{}, true, nil
}

// settle decides the step of rec's delivery to t at now when it is not a
// POST, and reports whether it did: an attempt begun whose outcome was
// never recorded counts, interrupted; a delivery the endpoint no longer
// takes is skipped; one whose attempts are spent fails; one whose next
// attempt is not yet due is parked again.
func (d *Deliverer) settle(ctx context.Context, rec Record, t Target, now time.Time) (Step, bool, error) {
	st, m := t.Delivery, rec.Message
	if st.Begun > st.Attempts {
		// An attempt began and its outcome was never recorded (the
		// receipt stopped, or its record failed): it counts, unmade again.
		rec.Attempts = st.Begun
		rec.Attempt = d.attempt(m, t, st.Begun, st.BegunAt, Response{Error: ClassInterrupted})
		step := d.judge(&rec, t, rec.Attempt.Response)
		step.Attempt = rec.Attempt
		return settled(d.save(ctx, rec, step))
	}
	if reason := skipReason(t, m); reason != "" {
		rec.State, rec.Reason = StateSkipped, reason
		return settled(d.save(ctx, rec, Step{Outcome: OutcomeSkipped, Reason: reason}))
	}
	if st.Attempts >= attemptLimit(st, t.Webhook.Settings) {
		// The retry settings were lowered while the delivery waited.
		rec.State, rec.Reason = StateFailed, ReasonExhausted
		return settled(d.save(ctx, rec, Step{Outcome: OutcomeFailed, Reason: ReasonExhausted}))
	}
	if now.Before(st.NextAttemptAt.Add(-earlyTolerance)) {
		wait := st.NextAttemptAt.Sub(now)
		return settled(Step{Outcome: OutcomeEarly, Retry: true, Wait: wait}, d.park(ctx, m, rec.Claim, wait))
	}
	return Step{}, false, nil
}

// settled is a step settle decided.
func settled(step Step, err error) (Step, bool, error) { return step, true, err }

// post makes the next attempt of rec's delivery to t at now, signed with
// keys, and records it: the endpoint's gate admits it (or holds it back),
// the store begins it, the POST goes, then its outcome is saved and its
// slot given back to the gate.
func (d *Deliverer) post(ctx context.Context, rec Record, t Target, keys Keys, now time.Time) (Step, error) {
	m, st := rec.Message, t.Delivery
	n := st.Attempts + 1
	lease := now.Add(AttemptLease)
	if deadline, ok := ctx.Deadline(); ok {
		lease = deadline
	}
	entry, held, err := d.enter(ctx, rec, t, n > 1, now, lease)
	if entry == nil {
		return held, err
	}
	claimedUntil := lease.Add(LeaseSlack)
	if st.ClaimedUntil.After(claimedUntil) {
		claimedUntil = st.ClaimedUntil
	}
	err = d.Store.Begin(ctx, Begin{Message: m, Number: n, Prior: st.Attempts, Claim: rec.Claim, At: now, Until: lease,
		ClaimedUntil: claimedUntil, Expires: rec.Expires})
	if err != nil {
		gateErr := d.Gates.Exit(context.WithoutCancel(ctx), t.Gate.exit(*entry, nil, now, d.breaker()))
		if errors.Is(err, ErrChanged) {
			// Another receipt took the attempt first.
			return Step{Outcome: OutcomeDuplicate, GateErr: gateErr}, nil
		}
		return Step{}, errors.Join(fmt.Errorf("begin attempt %d of %s: %w", n, m.DeliveryID, err), gateErr)
	}
	sendCtx := ctx
	if deadline, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		sendCtx, cancel = context.WithDeadline(ctx, deadline.Add(-SaveReserve))
		defer cancel()
	}
	resp := d.Sender.Send(sendCtx, Request{URL: t.Webhook.URL, DeliveryID: m.DeliveryID, Timestamp: now,
		Signature: keys.Sign(m.DeliveryID, now, m.Payload), Body: m.Payload})
	rec.Attempts = n
	rec.Attempt = d.attempt(m, t, n, now, resp)
	step := d.judge(&rec, t, resp)
	step.Attempt = rec.Attempt
	step, err = d.save(ctx, rec, step)
	x := t.Gate.exit(*entry, &resp, d.now(), d.breaker())
	step.GateErr = d.Gates.Exit(context.WithoutCancel(ctx), x)
	step.Breaker = Gate{OpenUntil: x.OpenUntil}.Breaker(x.At)
	return step, err
}

// enter takes a slot at t's gate for the attempt of rec's delivery (a
// retry when retry) at now, until lease. When the gate holds the delivery
// back, the entry is nil and the step is the hold's: the message is
// parked for the gate's wait.
func (d *Deliverer) enter(ctx context.Context, rec Record, t Target, retry bool, now, lease time.Time) (*Entry, Step, error) {
	m, st := rec.Message, t.Delivery
	adm := t.Gate.admit(m.WebhookID, m.DeliveryID, retry, now, lease, d.limits(t.Webhook), d.breaker(), m.Deferrals)
	if !adm.enter {
		until := now.Add(heldMemory)
		if adm.reason == HeldBreaker {
			until = t.Gate.OpenUntil
		}
		d.rememberHold(m.WebhookID, recentHold{until: until, reason: adm.reason, breaker: t.Gate.Breaker(now)})
		step, err := d.hold(ctx, m, st, rec.Claim, adm.wait, adm.reason, t.Gate.Breaker(now))
		return nil, step, err
	}
	err := d.Gates.Enter(ctx, adm.entry)
	if errors.Is(err, ErrChanged) {
		step, err := d.hold(ctx, m, st, rec.Claim, holdBackoff(m.Deferrals), HeldBusy, t.Gate.Breaker(now))
		return nil, step, err
	}
	if err != nil {
		return nil, Step{}, fmt.Errorf("enter the gate of %s: %w", m.WebhookID, err)
	}
	return &adm.entry, Step{}, nil
}

// breaker is the breaker's rules.
func (d *Deliverer) breaker() BreakerRules {
	if d.Breaker == (BreakerRules{}) {
		return DefaultBreaker
	}
	return d.Breaker
}

// limits are the gate limits of endpoint w.
func (d *Deliverer) limits(w webhook.Webhook) Limits {
	return Limits{Concurrency: cmp.Or(d.Concurrency, DefaultConcurrency), Rate: w.RateLimit}
}

// attempt is the record of attempt n of m to t, made at at.
func (d *Deliverer) attempt(m Message, t Target, n int, at time.Time, resp Response) *Attempt {
	return &Attempt{DeliveryID: m.DeliveryID, EventID: m.EventID, EventType: string(m.EventType), Owner: m.Owner(),
		WebhookID: m.WebhookID, URL: t.Webhook.URL, Number: n, At: at, Response: resp}
}

// park queues m, owned by claim, for its next attempt after wait: as a
// delayed message when the queue can hold the wait; a longer one is left
// to the store's ResendAt, which the save that scheduled it wrote.
func (d *Deliverer) park(ctx context.Context, m Message, claim string, wait time.Duration) error {
	if wait > MaxDelay {
		return nil
	}
	m.Claim = claim
	if err := d.Queue.SendLater(context.WithoutCancel(ctx), m, wait); err != nil {
		return fmt.Errorf("park %s for %s: %w", m.DeliveryID, wait, err)
	}
	return nil
}

// notify publishes the notice owed for m's delivery and clears it. On an
// error the notice stays pending, and the message must come back to try
// again.
func (d *Deliverer) notify(ctx context.Context, m Message, reason string, attempts int, at time.Time) error {
	if d.Notifier == nil {
		return nil
	}
	n := NoticeFor(m, reason, attempts, at)
	if err := d.Notifier.Notify(ctx, n); err != nil {
		return fmt.Errorf("publish %s notice of %s: %w", n.Type, m.DeliveryID, err)
	}
	if err := d.Store.NoticeSent(ctx, m.WebhookID, m.DeliveryID, attempts); err != nil {
		return fmt.Errorf("clear %s notice of %s: %w", n.Type, m.DeliveryID, err)
	}
	return nil
}

// save writes rec, parks the next attempt it schedules, and returns step.
// It runs on a context of its own, so that an attempt made near the
// handler's deadline is still recorded. A delivery that moved on
// meanwhile was recorded by another receipt: the message must come back
// and find out what that one decided. A step that owes a notice
// (owesNotice; rec.Claim says whether its attempt was a manual send's)
// publishes it once it is recorded with it; if publishing fails, the
// notice stays pending and the message comes back for it.
func (d *Deliverer) save(ctx context.Context, rec Record, step Step) (Step, error) {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), SaveReserve)
	defer cancel()
	rec.Notify = d.Notifier != nil && rec.State == StateFailed && owesNotice(rec.Reason, rec.Message, isManualClaim(rec.Claim))
	notified, err := d.Store.Save(sctx, rec)
	if err != nil {
		return Step{Attempt: step.Attempt}, fmt.Errorf("record delivery %s: %w", rec.Message.DeliveryID, err)
	}
	if notified {
		return step, d.notify(sctx, rec.Message, rec.Reason, rec.Attempts, rec.At)
	}
	if step.Retry {
		return step, d.park(sctx, rec.Message, rec.Claim, step.Wait)
	}
	return step, nil
}

// skipReason says why no attempt of m may be made to t, or "" if one
// may. A test event goes whatever the webhook subscribes to.
func skipReason(t Target, m Message) string {
	switch {
	case !t.Found:
		return ReasonDeleted
	case !t.Webhook.IsActive:
		return ReasonInactive
	case !m.Test && !slices.Contains(t.Webhook.Events, m.EventType):
		return ReasonUnsubscribed
	}
	return ""
}
