package delivery

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/docproc/webhooks/internal/tenant"
	"github.com/docproc/webhooks/internal/webhook"
)

// Limits of a recovery.
const (
	// RecoverWindow is how far back a recovery may reach (Svix's limit),
	// unless the retention is shorter.
	RecoverWindow = 14 * 24 * time.Hour
	// MaxRecoverEvents is how many events one recover request looks at;
	// the rest is left for the next request (Recovery.HasMore).
	MaxRecoverEvents = 1000
	// MaxRecoverSends is how many deliveries one recover request queues
	// at most, which bounds its time and the payloads it moves.
	MaxRecoverSends = 100
)

// Window is a recovery's time range and where in it to go on.
type Window struct {
	// Since and Until bound the events' time: Since included, Until not.
	// A zero Until is the time of the request.
	Since, Until time.Time
	// StartingAfter, when set, is the last event (at Since) an earlier
	// recovery of the window looked at: the recovery goes on after it.
	StartingAfter string
}

// Recovery is what a recover request queued.
type Recovery struct {
	// WebhookID is the endpoint.
	WebhookID string `json:"webhook_id"`
	// Window is the window asked for.
	Window Window `json:"window"`
	// Deliveries are the deliveries queued, oldest event first.
	Deliveries []string `json:"deliveries"`
	// HasMore says the window holds events not yet looked at: recover
	// again from Next.
	HasMore bool `json:"has_more"`
	// Next is where to go on when HasMore.
	Next Window `json:"next"`
}

// Recover sends owner's webhook webhookID every event of win that it
// subscribes to and that was not delivered to it: events that failed,
// were skipped (the endpoint was disabled) or never queued to it, and
// pending ones waiting for a later attempt. Delivered events, deliveries
// whose attempt may be being made now, and recent events the fan-out
// queued to the webhook as it is now (onItsWay) are left alone. It
// looks at MaxRecoverEvents events and queues MaxRecoverSends at most,
// and no more than the rate limit allows; the rest is left to the next
// request (Recovery.Next). It returns what it queued, and whether that is
// the replayed result of an earlier request with idempotencyKey.
func (s *Manager) Recover(ctx context.Context, owner tenant.Tenant, webhookID string, win Window, idempotencyKey string) (Recovery, bool, error) {
	until := ""
	if !win.Until.IsZero() {
		until = win.Until.Format(time.RFC3339Nano)
	}
	fp := webhook.Fingerprint("recover_webhook", webhookID, win.Since.Format(time.RFC3339Nano), until, win.StartingAfter)
	now := s.now()
	if win.Until.IsZero() {
		win.Until = now
	}
	if err := s.checkWindow(win, now); err != nil {
		return Recovery{}, false, err
	}
	return once(ctx, s, owner, idempotencyKey, fp, func() (Recovery, error) {
		w, err := s.active(ctx, owner, webhookID)
		if err != nil {
			return Recovery{}, err
		}
		// Nothing before the webhook existed was ever its to miss.
		from := win
		if from.Since.Before(w.CreatedAt) {
			from.Since, from.StartingAfter = w.CreatedAt, ""
		}
		evs, more, err := s.History.Events(ctx, owner, from.Since, from.Until, from.StartingAfter, MaxRecoverEvents)
		if err != nil {
			return Recovery{}, fmt.Errorf("list events of %s: %w", owner, err)
		}
		plans, next, err := s.recoverable(ctx, w, from, evs, now)
		if err != nil {
			return Recovery{}, err
		}
		if len(plans) > MaxRecoverSends {
			next, more = plans[MaxRecoverSends].next, true
			plans = plans[:MaxRecoverSends]
		}
		taken := 0
		if len(plans) > 0 {
			if taken, err = s.takeUpTo(ctx, w, len(plans), now); err != nil {
				return Recovery{}, err
			}
			if taken < len(plans) {
				// The rest waits for the next request.
				next, more = plans[taken].next, true
				plans = plans[:taken]
			}
		}
		rs, err := s.withPayloads(ctx, owner, plans)
		if err != nil {
			return Recovery{}, errors.Join(err, s.giveBack(ctx, w, taken, now))
		}
		sent, err := s.sendTaken(ctx, w, taken, now, rs, true)
		if err != nil {
			return Recovery{}, err
		}
		out := Recovery{WebhookID: w.ID, Window: win, Deliveries: []string{}}
		for _, r := range sent {
			out.Deliveries = append(out.Deliveries, r.Message.DeliveryID)
		}
		if more {
			out.HasMore, out.Next = true, Window{Since: next.Since, Until: win.Until, StartingAfter: next.StartingAfter}
		}
		return out, nil
	})
}

// withPayloads returns the sends of plans with their events' payloads;
// an event no longer kept is left out.
func (s *Manager) withPayloads(ctx context.Context, owner tenant.Tenant, plans []recoverPlan) ([]Reopen, error) {
	if len(plans) == 0 {
		return nil, nil
	}
	ids := make([]string, len(plans))
	for i, p := range plans {
		ids[i] = p.reopen.Message.EventID
	}
	payloads, err := s.History.Payloads(ctx, owner, ids)
	if err != nil {
		return nil, fmt.Errorf("read events of %s: %w", owner, err)
	}
	var rs []Reopen
	for _, p := range plans {
		if body, ok := payloads[p.reopen.Message.EventID]; ok {
			p.reopen.Message.Payload = body
			rs = append(rs, p.reopen)
		}
	}
	return rs, nil
}

// recoverPlan is one event a recovery sends, and where a later request
// would go on if it is not sent now.
type recoverPlan struct {
	reopen Reopen
	next   Window
}

// recoverable plans the sends to w of evs, the events of win from its
// start, and returns where to go on after the last of them. Delivered
// deliveries are left alone, and so are pending ones whose attempt may be
// being made now; a pending one that waits for a later attempt, or whose
// message was lost, is brought forward.
func (s *Manager) recoverable(ctx context.Context, w webhook.Webhook, win Window, evs []Event, now time.Time) ([]recoverPlan, Window, error) {
	var next Window
	if len(evs) == 0 {
		return nil, next, nil
	}
	last := evs[len(evs)-1]
	next = Window{Since: last.Time, StartingAfter: last.ID}
	var ids []string
	var taken []Event
	for _, ev := range evs {
		if slices.Contains(w.Events, ev.Type) {
			taken = append(taken, ev)
			ids = append(ids, DeliveryID(ev.ID, w.ID, ev.Time))
		}
	}
	if len(ids) == 0 {
		return nil, next, nil
	}
	states, err := s.History.Statuses(ctx, w.ID, ids)
	if err != nil {
		return nil, next, fmt.Errorf("read deliveries of %s: %w", w.ID, err)
	}
	var plans []recoverPlan
	// prev is where a later request would go on to send each event: after
	// the event before it, or where this request started.
	prev := Window{Since: win.Since, StartingAfter: win.StartingAfter}
	for i, ev := range taken {
		st, recorded := states[ids[i]]
		switch {
		case st.State == StateDelivered:
		case !recorded && onItsWay(w, ev, now):
		default:
			if r, err := s.plan(w, ev, st, now, true); err == nil {
				plans = append(plans, recoverPlan{reopen: r, next: prev})
			}
		}
		prev = Window{Since: ev.Time, StartingAfter: ev.ID}
	}
	return plans, next, nil
}

// onItsWay reports whether the fan-out queued event ev to w, as w is now
// (unchanged since before ev), recently enough that its message may not
// have made its first attempt yet: the delivery is left to it, which
// records nothing before that attempt, rather than posted twice. One
// older than LeaseSlack with no attempt recorded lost its message.
//
// Event times (EventBridge stamps them) and w.UpdatedAt are whole
// seconds, so only an event of a later second than w's last change
// certainly came after it. One of the same second may have been
// published before the change, while w was disabled, and never queued:
// it is sent. Had it come just after the change instead, the fan-out's
// message finds the recovery's claim and drops itself, unless its
// attempt is under way at that moment: then both post it, with the same
// webhook-id, as at-least-once allows.
func onItsWay(w webhook.Webhook, ev Event, now time.Time) bool {
	return ev.Time.Truncate(time.Second).After(w.UpdatedAt.Truncate(time.Second)) && now.Sub(ev.Time) < LeaseSlack
}

// checkWindow checks a recovery's window against now.
func (s *Manager) checkWindow(win Window, now time.Time) error {
	reach := min(RecoverWindow, s.retention())
	switch {
	case win.Since.Before(now.Add(-reach)):
		return windowInvalid("since", fmt.Sprintf("since must be within the last %s", days(reach)))
	case !win.Until.After(win.Since):
		return windowInvalid("until", "until must be after since")
	}
	return nil
}

// days writes d in whole days ("14 days"), or as a duration when it is
// less than a day.
func days(d time.Duration) string {
	n := int(d / (24 * time.Hour))
	switch n {
	case 0:
		return d.String()
	case 1:
		return "1 day"
	}
	return fmt.Sprintf("%d days", n)
}
