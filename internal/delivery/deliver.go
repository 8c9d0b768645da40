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

// Reasons a delivery ends without being delivered, and why the service
// disabled a webhook. Records and the API show them.
const (
	// ReasonDeleted: the webhook was deleted.
	ReasonDeleted = "webhook_deleted"
	// ReasonInactive: the webhook is not active.
	ReasonInactive = "webhook_inactive"
	// ReasonUnsubscribed: the webhook no longer subscribes to the event.
	ReasonUnsubscribed = "event_not_subscribed"
	// ReasonExhausted: the last attempt the webhook's retry settings allow
	// failed.
	ReasonExhausted = "attempts_exhausted"
	// ReasonGone: the endpoint answered 410 Gone, which disables it.
	ReasonGone = "endpoint_gone"
	// ReasonFailing: every attempt to the endpoint failed for DisableAfter,
	// and there were DisableAfterAttempts of them at least, which disables
	// it.
	ReasonFailing = "endpoint_failing"
)

// DefaultDisableAfter is how long an endpoint's attempts may all fail
// before it is disabled (after Svix).
const DefaultDisableAfter = 5 * 24 * time.Hour

// DisableAfterAttempts is how many attempts in a row must have failed,
// besides for DisableAfter, before an endpoint is disabled: an endpoint
// that gets little traffic is not disabled by its second failure because
// the first was long ago. Svix, too, starts its 5 days only after
// several failures; 10 is the least number of requests Convoy's circuit
// breaker judges an endpoint on.
const DisableAfterAttempts = 10

// DefaultRetention is how long delivery and attempt records are kept.
const DefaultRetention = 30 * 24 * time.Hour

// MaxAttempts is how many attempts a webhook's settings allow an event:
// one, plus MaxRetries when retries are enabled.
func MaxAttempts(s webhook.Settings) int {
	if !s.RetryEnabled {
		return 1
	}
	return 1 + s.MaxRetries
}

// attemptLimit is the most attempts a delivery in state st may reach
// under settings s: the limit a manual send set, else MaxAttempts.
func attemptLimit(st Status, s webhook.Settings) int {
	if st.AttemptLimit > 0 {
		return st.AttemptLimit
	}
	return MaxAttempts(s)
}

// Deliverer makes the attempts of deliveries.
type Deliverer struct {
	// Store keeps deliveries and attempts.
	Store Store
	// Secrets reads signing secrets.
	Secrets Secrets
	// Sender makes attempts.
	Sender Sender
	// Schedule is the waits between attempts.
	Schedule Schedule
	// DisableAfter is how long an endpoint may fail before it is disabled,
	// once DisableAfterAttempts attempts in a row have failed.
	DisableAfter time.Duration
	// Retention is how long records are kept.
	Retention time.Duration
	// Notifier publishes operational notices; nil publishes none.
	Notifier Notifier
	// Queue takes the messages of the next attempts (see Park).
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

// recentHold is an endpoint's gate as this instance last saw it hold a
// delivery back: until then, a message the gate held before is parked
// again without reading the store. When one endpoint is flooded, its
// held messages come back faster than its slots free up, and each read
// would cost a DynamoDB read for nothing.
type recentHold struct {
	until   time.Time
	reason  string
	breaker BreakerState
}

// heldMemory is how long a hold for concurrency or rate is remembered; a
// breaker's is remembered until it lets a probe go.
const heldMemory = time.Second

// maxCachedKeys bounds the keys one warm instance keeps; past it the
// cache starts over.
const maxCachedKeys = 10000

// cachedKeys are a webhook's signing keys as of one version of it. A
// rotation bumps the webhook's version, so the next delivery reads the
// new secret at once.
type cachedKeys struct {
	version int
	keys    Keys
}

// Step is what a message's handling came to. Whatever it is, the message
// received is finished with: a next attempt was parked (see Park).
type Step struct {
	// Outcome names it for logs and metrics: delivered, retry, failed,
	// skipped, duplicate, early.
	Outcome string
	// Attempt is the attempt made, nil if none was.
	Attempt *Attempt
	// Retry says another attempt is scheduled, after Wait.
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
	OutcomeDelivered = "delivered"
	OutcomeRetry     = "retry"
	OutcomeFailed    = "failed"
	OutcomeSkipped   = "skipped"
	OutcomeDuplicate = "duplicate"
	// OutcomeEarly: the message came before its next attempt is due (a
	// duplicate, a receipt returned after a failure), or while a manual
	// send that took its delivery over may still be on its way
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

func (d *Deliverer) now() time.Time {
	if d.Now != nil {
		return d.Now().UTC()
	}
	return time.Now().UTC()
}

// Deliver handles one receipt of message m, which the queue knows as
// messageID: it makes the next attempt if one is due, records it, and
// parks the attempt after it (see Park). The message owns its delivery
// under m.Claim when it carries one (a manual send, or a parked attempt),
// else under messageID. A message whose delivery is done, is owned by
// another live message, or whose attempt another receipt is making, is a
// duplicate; one that came before its next attempt is due is parked
// again. Each attempt number is POSTed at most once: it is taken
// (Store.Begin) before the POST, and an attempt whose outcome was never
// recorded counts as interrupted instead of being made again. An error
// means nothing was decided (a dependency failed, or another receipt
// recorded first), or a notice or a parked message is not yet sent: the
// message must come back.
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
	st := t.Delivery
	now := d.now()
	switch {
	case st.Exists && st.State == StatePending && st.Claim != claim && st.PriorClaim == claim:
		// A manual send took the delivery over from this message's series
		// and has recorded no attempt: its message may never have been
		// queued. The series waits for the send's lease to end, then takes
		// the delivery back (it comes back a little after the lease, since
		// SQS visibility counts whole seconds).
		if !now.After(st.ClaimedUntil) {
			wait := min(st.ClaimedUntil.Sub(now)+earlyTolerance, MaxDelay)
			return Step{Outcome: OutcomeEarly, Retry: true, Wait: wait}, d.park(ctx, m, claim, wait)
		}
	case m.Claim != "" && (!st.Exists || st.Claim != claim):
		// A manual send's message whose send was undone (its queueing
		// failed), or that a later send took over.
		return Step{Outcome: OutcomeDuplicate}, nil
	case st.Exists && st.State != StatePending && st.NoticePending:
		// Its notice could not be published when the outcome was recorded,
		// which is the time the notice tells.
		return Step{Outcome: OutcomeDuplicate}, d.notify(ctx, m, st.Reason, st.Attempts, st.UpdatedAt)
	case st.Exists && st.State != StatePending:
		return Step{Outcome: OutcomeDuplicate}, nil
	case st.Exists && st.Claim != claim && now.Before(st.ClaimedUntil):
		return Step{Outcome: OutcomeDuplicate}, nil
	case st.InProgress(now):
		// A receipt of the message is making the attempt, or made it and
		// could not record it: park the message until the attempt's lease
		// ends, when it finds the attempt recorded, or interrupted.
		wait := st.BegunUntil.Sub(now) + earlyTolerance
		return Step{Outcome: OutcomeEarly, Retry: true, Wait: wait}, d.park(ctx, m, claim, wait)
	}
	manual := isManualClaim(claim)
	rec := Record{Message: m, Prior: st.Attempts, Attempts: st.Attempts, Claim: claim, At: now,
		Expires: now.Add(cmp.Or(d.Retention, DefaultRetention)), WebhookVersion: t.Webhook.Version}
	if st.Begun > st.Attempts {
		// An attempt began and its outcome was never recorded (the
		// receipt stopped, or its record failed): it counts, unmade again.
		rec.Attempts = st.Begun
		rec.Attempt = d.attempt(m, t, st.Begun, st.BegunAt, Response{Error: ClassInterrupted})
		step := d.judge(&rec, t, rec.Attempt.Response)
		step.Attempt = rec.Attempt
		return d.save(ctx, rec, step, manual)
	}
	if reason := skipReason(t, m); reason != "" {
		rec.State, rec.Reason = StateSkipped, reason
		return d.save(ctx, rec, Step{Outcome: OutcomeSkipped, Reason: reason}, manual)
	}
	if st.Attempts >= attemptLimit(st, t.Webhook.Settings) {
		// The retry settings were lowered while the delivery waited.
		rec.State, rec.Reason = StateFailed, ReasonExhausted
		return d.save(ctx, rec, Step{Outcome: OutcomeFailed, Reason: ReasonExhausted}, manual)
	}
	if now.Before(st.NextAttemptAt.Add(-earlyTolerance)) {
		wait := st.NextAttemptAt.Sub(now)
		return Step{Outcome: OutcomeEarly, Retry: true, Wait: wait}, d.park(ctx, m, claim, wait)
	}
	keys, err := d.signingKeys(ctx, t.Webhook)
	if errors.Is(err, webhook.ErrNotFound) {
		rec.State, rec.Reason = StateSkipped, ReasonDeleted
		return d.save(ctx, rec, Step{Outcome: OutcomeSkipped, Reason: ReasonDeleted}, manual)
	}
	if err != nil {
		return Step{}, err
	}
	n := st.Attempts + 1
	lease := now.Add(AttemptLease)
	if deadline, ok := ctx.Deadline(); ok {
		lease = deadline
	}
	adm := t.Gate.admit(m.WebhookID, m.DeliveryID, n > 1, now, lease, d.limits(t.Webhook), d.breaker(), m.Deferrals)
	if !adm.enter {
		until := now.Add(heldMemory)
		if adm.reason == HeldBreaker {
			until = t.Gate.OpenUntil
		}
		d.rememberHold(m.WebhookID, recentHold{until: until, reason: adm.reason, breaker: t.Gate.Breaker(now)})
		return d.hold(ctx, m, st, claim, adm.wait, adm.reason, t.Gate.Breaker(now))
	}
	err = d.Gates.Enter(ctx, adm.entry)
	if errors.Is(err, ErrChanged) {
		return d.hold(ctx, m, st, claim, holdBackoff(m.Deferrals), HeldBusy, t.Gate.Breaker(now))
	}
	if err != nil {
		return Step{}, fmt.Errorf("enter the gate of %s: %w", m.WebhookID, err)
	}
	claimedUntil := lease.Add(LeaseSlack)
	if st.ClaimedUntil.After(claimedUntil) {
		claimedUntil = st.ClaimedUntil
	}
	err = d.Store.Begin(ctx, Begin{Message: m, Number: n, Prior: st.Attempts, Claim: claim, At: now, Until: lease,
		ClaimedUntil: claimedUntil, Expires: rec.Expires})
	if err != nil {
		gateErr := d.Gates.Exit(context.WithoutCancel(ctx), t.Gate.exit(adm.entry, nil, now, d.breaker()))
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
	step, err = d.save(ctx, rec, step, manual)
	x := t.Gate.exit(adm.entry, &resp, d.now(), d.breaker())
	step.GateErr = d.Gates.Exit(context.WithoutCancel(ctx), x)
	step.Breaker = Gate{OpenUntil: x.OpenUntil}.Breaker(x.At)
	return step, err
}

// recentlyHeld returns the hold this instance remembers for webhookID,
// if it has not ended.
func (d *Deliverer) recentlyHeld(webhookID string) (recentHold, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	h, ok := d.held[webhookID]
	return h, ok && d.now().Before(h.until)
}

// rememberHold notes that webhookID's gate held a delivery back, until
// h.until.
func (d *Deliverer) rememberHold(webhookID string, h recentHold) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.held == nil || len(d.held) >= maxCachedKeys {
		d.held = make(map[string]recentHold)
	}
	d.held[webhookID] = h
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

// hold parks m, whose delivery stands at st, for wait because its
// endpoint's gate held it back for reason. A stored delivery that an open
// breaker (not its probe) holds waits in the table (its ResendAt moved to the wait's end,
// which the sweeper finds): a breaker may stay open for hours, and a
// message re-parking itself meanwhile would be joined by the sweeper's
// copy every ResendSlack. Any other waits as a delayed message (at most
// MaxDelay). A delivery not yet stored has no claim to carry: its next
// message may take it as the first did.
func (d *Deliverer) hold(ctx context.Context, m Message, st Status, claim string, wait time.Duration, reason string, breaker BreakerState) (Step, error) {
	m.Deferrals++
	if !st.Exists {
		claim = m.Claim
	}
	m.Claim = claim
	step := Step{Outcome: OutcomeHeld, Retry: true, Wait: wait, Reason: reason, Breaker: breaker}
	if reason == HeldBreaker && st.Exists && !st.ResendAt.IsZero() {
		p := Parked{Message: m, Attempts: st.Attempts, NextAttemptAt: st.NextAttemptAt, ResendAt: st.ResendAt}
		if err := d.Parking.Requeued(ctx, p, d.now().Add(wait)); err != nil {
			return step, fmt.Errorf("park %s, held by its endpoint's breaker, for %s: %w", m.DeliveryID, wait, err)
		}
		return step, nil
	}
	wait = min(wait, MaxDelay)
	step.Wait = wait
	if err := d.Queue.SendLater(context.WithoutCancel(ctx), m, wait); err != nil {
		return step, fmt.Errorf("park %s, held by its endpoint's gate, for %s: %w", m.DeliveryID, wait, err)
	}
	return step, nil
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

// judge decides what an attempt's response means for the delivery and
// the webhook, filling rec, and returns the step.
func (d *Deliverer) judge(rec *Record, t Target, resp Response) Step {
	switch Judge(resp) {
	case VerdictDelivered:
		rec.State = StateDelivered
		if !t.Webhook.Health.FailingSince.IsZero() {
			rec.Health = Recover
		}
		return Step{Outcome: OutcomeDelivered}
	case VerdictGone:
		rec.State, rec.Reason, rec.Health = StateFailed, ReasonGone, Disable
		return Step{Outcome: OutcomeFailed, Reason: ReasonGone}
	}
	// This attempt is one more failure in a row; the count is kept only
	// as far as the rule needs it.
	since, failures := t.Webhook.Health.FailingSince, t.Webhook.Health.FailingAttempts+1
	switch {
	case since.IsZero():
		since, failures, rec.Health = rec.At, 1, StartFailing
	case failures <= DisableAfterAttempts:
		rec.Health = CountFailure
	}
	switch {
	case rec.At.Sub(since) >= cmp.Or(d.DisableAfter, DefaultDisableAfter) && failures >= DisableAfterAttempts:
		rec.State, rec.Reason, rec.Health = StateFailed, ReasonFailing, Disable
		return Step{Outcome: OutcomeFailed, Reason: ReasonFailing}
	case rec.Attempts >= attemptLimit(t.Delivery, t.Webhook.Settings):
		rec.State, rec.Reason = StateFailed, ReasonExhausted
		return Step{Outcome: OutcomeFailed, Reason: ReasonExhausted}
	}
	schedule := d.Schedule
	if len(schedule) == 0 {
		schedule = DefaultSchedule
	}
	wait := schedule.Wait(rec.Attempts, resp.RetryAfter)
	// No retry past the horizon, nor past when the event (its payload)
	// may no longer be kept, with a tenth of the retention (at most an
	// hour) to spare: the sweeper could not send it.
	last := cmp.Or(rec.Message.SeriesStart, rec.Message.EventTime).Add(cmp.Or(d.Horizon, DefaultHorizon))
	retention := cmp.Or(d.Retention, DefaultRetention)
	if kept := rec.Message.EventTime.Add(retention - min(time.Hour, retention/10)); kept.Before(last) {
		last = kept
	}
	if rec.At.Add(wait).After(last) {
		rec.State, rec.Reason = StateFailed, ReasonExhausted
		return Step{Outcome: OutcomeFailed, Reason: ReasonExhausted}
	}
	rec.State, rec.NextAttemptAt = StatePending, rec.At.Add(wait)
	rec.ClaimedUntil = rec.NextAttemptAt.Add(LeaseSlack)
	rec.ResendAt = resendAt(rec.At, rec.NextAttemptAt)
	return Step{Outcome: OutcomeRetry, Retry: true, Wait: wait}
}

// save writes rec, parks the next attempt it schedules, and returns step.
// It runs on a context of its own, so that an attempt made near the
// handler's deadline is still recorded. A
// delivery that moved on meanwhile was recorded by another receipt: the
// message must come back and find out what that one decided. A step that
// owes a notice (manual says its attempt was asked for by a manual send)
// publishes it once it is recorded with it; if publishing fails, the
// notice stays pending and the message comes back for it.
func (d *Deliverer) save(ctx context.Context, rec Record, step Step, manual bool) (Step, error) {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), SaveReserve)
	defer cancel()
	rec.Notify = d.Notifier != nil && rec.State == StateFailed && owesNotice(rec.Reason, rec.Message, manual)
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

// signingKeys returns w's signing keys, from the cache when w has not
// changed since they were read. While a rotation holds w (or one left it
// unfinished, its version unmoved) the keys are read every time.
func (d *Deliverer) signingKeys(ctx context.Context, w webhook.Webhook) (Keys, error) {
	d.mu.Lock()
	c, ok := d.keys[w.SecretRef]
	d.mu.Unlock()
	if ok && c.version == w.Version && !w.Rotating {
		return c.keys, nil
	}
	set, err := d.Secrets.Get(ctx, w.SecretRef)
	if err != nil {
		return nil, fmt.Errorf("read signing secret of %s: %w", w.ID, err)
	}
	keys, err := KeysOf(set)
	if err != nil {
		return nil, fmt.Errorf("signing secret of %s: %w", w.ID, err)
	}
	if w.Rotating {
		return keys, nil
	}
	d.mu.Lock()
	if d.keys == nil || len(d.keys) >= maxCachedKeys {
		d.keys = make(map[string]cachedKeys)
	}
	d.keys[w.SecretRef] = cachedKeys{version: w.Version, keys: keys}
	d.mu.Unlock()
	return keys, nil
}
