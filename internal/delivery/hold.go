package delivery

import (
	"context"
	"fmt"
	"time"
)

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
	if d.held == nil || len(d.held) >= maxCached {
		d.held = make(map[string]recentHold)
	}
	d.held[webhookID] = h
}

// hold parks m, whose delivery stands at st, for wait because its
// endpoint's gate held it back for reason. A stored, parked delivery
// that an open breaker holds waits in the table (its ResendAt moved to
// the wait's end, which the sweeper finds): a breaker may stay open for
// hours, and a message re-parking itself meanwhile would be joined by the
// sweeper's copy every ResendSlack. Any other waits as a delayed message
// (at most MaxDelay), with its delivery's claim. A delivery not yet
// stored has no claim to carry beyond the message's own: its next message
// may take it as the first did.
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
