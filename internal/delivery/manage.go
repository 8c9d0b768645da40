package delivery

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/docproc/webhooks/internal/tenant"
	"github.com/docproc/webhooks/internal/webhook"
)

// Limits of what customers may ask of their deliveries.
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

// Summary is a delivery as a customer sees it: its event, where it stands
// and its last attempt.
type Summary struct {
	// ID is the delivery id (the webhook-id header).
	ID string
	// EventID is the event's id.
	EventID string
	// EventType is the event's type.
	EventType webhook.EventType
	// EventTime is when the event happened.
	EventTime time.Time
	// Test marks a test event's delivery.
	Test bool
	// Status is the delivery's state, attempts and next attempt.
	Status
	// LastAttemptAt is when the last attempt started; zero before one.
	LastAttemptAt time.Time
	// LastStatus is the last attempt's HTTP status, 0 when there was none.
	LastStatus int
	// LastError is the last attempt's error class, if any.
	LastError ErrorClass
	// CreatedAt is when the delivery was first recorded.
	CreatedAt time.Time
}

// Detail is one delivery with every attempt and the payload sent.
type Detail struct {
	// Summary is the delivery.
	Summary
	// Attempts are its attempts, oldest first.
	Attempts []Attempt
	// Payload is the body every attempt sent; nil once the event is no
	// longer kept.
	Payload []byte
}

// Filter narrows a list of deliveries. Zero members match anything.
type Filter struct {
	// EventID is the event delivered: the list holds its delivery, if
	// any.
	EventID string
	// State is the deliveries' state.
	State State
	// Type is the event type.
	Type webhook.EventType
	// Since and Until bound the event time: Since included, Until not.
	Since, Until time.Time
}

// Page is one page of a webhook's deliveries, newest event first.
type Page struct {
	// Deliveries are the page's deliveries.
	Deliveries []Summary
	// HasMore says there may be more after the page.
	HasMore bool
	// Next is where the next page starts (its starting_after) when
	// HasMore: the last delivery of the page, or the last one looked at
	// when a filtered page stopped early.
	Next string
}

// Reopen is a manual send's write: the delivery becomes pending under
// Message.Claim, its next attempt due now.
type Reopen struct {
	// Message is the delivery, with the claim its message carries.
	Message Message
	// Prior is the delivery as read; the write is conditional on it
	// (state and attempts), or on its absence when !Prior.Exists.
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

// Manager runs what customers do with their deliveries: list and read
// them, send one again, recover what an endpoint missed, and send test
// events. Every send goes through the delivery queue and the Deliverer,
// like any other delivery.
type Manager struct {
	// Endpoints reads webhooks, scoped to their owner.
	Endpoints Endpoints
	// History reads deliveries and events.
	History History
	// Resends writes manual sends.
	Resends Resends
	// Events keeps test events.
	Events EventLog
	// Queue takes the messages.
	Queue Queue
	// Limiter rate-limits manual sends per webhook.
	Limiter Limiter
	// Idempotency makes acting requests safe to retry.
	Idempotency Idempotency
	// Retention is how long events and records are kept.
	Retention time.Duration
	// Now returns the time; time.Now when nil.
	Now func() time.Time
}

func (s *Manager) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

func (s *Manager) retention() time.Duration { return cmp.Or(s.Retention, DefaultRetention) }

// List returns a page of owner's webhook webhookID's deliveries.
func (s *Manager) List(ctx context.Context, owner tenant.Tenant, webhookID string, f Filter, limit int, startingAfter string) (Page, error) {
	w, err := s.Endpoints.Get(ctx, owner, webhookID)
	if err != nil {
		return Page{}, err
	}
	if f.EventID != "" {
		return s.eventDelivery(ctx, w, f, startingAfter)
	}
	page, err := s.History.Deliveries(ctx, w.ID, f, limit, startingAfter)
	if err != nil {
		return Page{}, fmt.Errorf("list deliveries of %s: %w", w.ID, err)
	}
	return page, nil
}

// eventDelivery is the page of w's delivery of event f.EventID, if it has
// one that the rest of f matches (and that sorts after startingAfter):
// the event's stored time gives its delivery id.
func (s *Manager) eventDelivery(ctx context.Context, w webhook.Webhook, f Filter, startingAfter string) (Page, error) {
	if len(f.EventID) > MaxEventIDLen {
		return Page{}, nil // no event has such an id
	}
	ev, err := s.History.Event(ctx, w.Owner, f.EventID)
	if errors.Is(err, webhook.ErrNotFound) {
		return Page{}, nil
	}
	if err != nil {
		return Page{}, fmt.Errorf("read event %s: %w", f.EventID, err)
	}
	id := DeliveryID(ev.ID, w.ID, ev.Time)
	sum, err := s.History.Delivery(ctx, w.ID, id)
	switch {
	case errors.Is(err, webhook.ErrNotFound):
		return Page{}, nil
	case err != nil:
		return Page{}, fmt.Errorf("read delivery %s: %w", id, err)
	case f.State != "" && sum.State != f.State, f.Type != "" && sum.EventType != f.Type,
		!f.Since.IsZero() && sum.EventTime.Before(f.Since), !f.Until.IsZero() && !sum.EventTime.Before(f.Until),
		startingAfter != "" && id >= startingAfter:
		return Page{}, nil
	}
	return Page{Deliveries: []Summary{sum}}, nil
}

// Breaker returns webhook w's circuit breaker at now: its state, and
// when an open one lets a probe go (zero unless open). w must be one the
// caller may read.
func (s *Manager) Breaker(ctx context.Context, w webhook.Webhook, now time.Time) (BreakerState, time.Time, error) {
	g, err := s.History.Gate(ctx, w.ID)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("breaker of %s: %w", w.ID, err)
	}
	st := g.Breaker(now)
	if st != BreakerOpenState {
		return st, time.Time{}, nil
	}
	return st, g.OpenUntil, nil
}

// Latest returns webhook w's most recent delivery, or nil when it has
// none. w must be one the caller may read.
func (s *Manager) Latest(ctx context.Context, w webhook.Webhook) (*Summary, error) {
	page, err := s.History.Deliveries(ctx, w.ID, Filter{}, 1, "")
	if err != nil {
		return nil, fmt.Errorf("latest delivery of %s: %w", w.ID, err)
	}
	if len(page.Deliveries) == 0 {
		return nil, nil
	}
	return &page.Deliveries[0], nil
}

// Get returns one delivery of owner's webhook webhookID, with its
// attempts and payload.
func (s *Manager) Get(ctx context.Context, owner tenant.Tenant, webhookID, deliveryID string) (Detail, error) {
	w, err := s.Endpoints.Get(ctx, owner, webhookID)
	if err != nil {
		return Detail{}, err
	}
	sum, err := s.delivery(ctx, w, deliveryID)
	if err != nil {
		return Detail{}, err
	}
	attempts, err := s.History.Attempts(ctx, w.ID, deliveryID)
	if err != nil {
		return Detail{}, fmt.Errorf("read attempts of %s: %w", deliveryID, err)
	}
	d := Detail{Summary: sum, Attempts: attempts}
	ev, err := s.History.Event(ctx, owner, sum.EventID)
	switch {
	case err == nil:
		d.Payload = ev.Payload
	case !errors.Is(err, webhook.ErrNotFound):
		return Detail{}, fmt.Errorf("read event %s: %w", sum.EventID, err)
	}
	return d, nil
}

// delivery reads w's delivery id; deliveryNotFound when there is none.
func (s *Manager) delivery(ctx context.Context, w webhook.Webhook, id string) (Summary, error) {
	if !ValidDeliveryID(id) {
		return Summary{}, deliveryNotFound(id)
	}
	sum, err := s.History.Delivery(ctx, w.ID, id)
	if errors.Is(err, webhook.ErrNotFound) {
		return Summary{}, deliveryNotFound(id)
	}
	if err != nil {
		return Summary{}, fmt.Errorf("read delivery %s: %w", id, err)
	}
	return sum, nil
}

// Retry sends owner's delivery deliveryID of webhook webhookID again now:
// one more attempt, with the same webhook-id, signed afresh. A pending
// delivery's next attempt is brought forward instead. It returns the
// delivery as queued.
func (s *Manager) Retry(ctx context.Context, owner tenant.Tenant, webhookID, deliveryID, idempotencyKey string) (Summary, bool, error) {
	return once(ctx, s, owner, idempotencyKey, webhook.Fingerprint("retry_delivery", webhookID, deliveryID), func() (Summary, error) {
		w, err := s.active(ctx, owner, webhookID)
		if err != nil {
			return Summary{}, err
		}
		sum, err := s.delivery(ctx, w, deliveryID)
		if err != nil {
			return Summary{}, err
		}
		ev, err := s.History.Event(ctx, owner, sum.EventID)
		if errors.Is(err, webhook.ErrNotFound) {
			return Summary{}, eventExpired(sum.EventID)
		}
		if err != nil {
			return Summary{}, fmt.Errorf("read event %s: %w", sum.EventID, err)
		}
		ev.Test = sum.Test
		now := s.now()
		r, err := s.plan(w, ev, sum.Status, now, false)
		if err != nil {
			return Summary{}, err
		}
		if _, err := s.takeUpTo(ctx, w, 1, now); err != nil {
			return Summary{}, err
		}
		if _, err := s.sendTaken(ctx, w, 1, now, []Reopen{r}, false); err != nil {
			return Summary{}, err
		}
		return reopened(sum, r), nil
	})
}

// Test sends owner's webhook webhookID an example event of type typ,
// marked as a test, through the queue like any other event. It returns
// the delivery as queued.
func (s *Manager) Test(ctx context.Context, owner tenant.Tenant, webhookID string, typ webhook.EventType, idempotencyKey string) (Summary, bool, error) {
	return once(ctx, s, owner, idempotencyKey, webhook.Fingerprint("test_webhook", webhookID, string(typ)), func() (Summary, error) {
		w, err := s.active(ctx, owner, webhookID)
		if err != nil {
			return Summary{}, err
		}
		now := s.now()
		ev, err := TestEvent(owner, typ, now)
		if err != nil {
			return Summary{}, err
		}
		r, err := s.plan(w, ev, Status{}, now, false)
		if err != nil {
			return Summary{}, err
		}
		if _, err := s.takeUpTo(ctx, w, 1, now); err != nil {
			return Summary{}, err
		}
		if _, err := s.Events.Keep(ctx, ev, now.Add(s.retention())); err != nil {
			return Summary{}, errors.Join(fmt.Errorf("save test event: %w", err), s.giveBack(ctx, w, 1, now))
		}
		if _, err := s.sendTaken(ctx, w, 1, now, []Reopen{r}, false); err != nil {
			return Summary{}, err
		}
		return reopened(Summary{ID: r.Message.DeliveryID, EventID: ev.ID, EventType: ev.Type, EventTime: ev.Time,
			Test: true, CreatedAt: now}, r), nil
	})
}

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
// request (Recovery.Next).
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

// active returns owner's webhook id if it is active.
func (s *Manager) active(ctx context.Context, owner tenant.Tenant, id string) (webhook.Webhook, error) {
	w, err := s.Endpoints.Get(ctx, owner, id)
	if err != nil {
		return webhook.Webhook{}, err
	}
	if !w.IsActive {
		return webhook.Webhook{}, webhookDisabled(w)
	}
	return w, nil
}

// plan decides the manual send of event ev to w, whose delivery stands
// at st: a delivery never made starts as the fan-out would start it; a
// finished one gets one more attempt, or, recovering, the attempts w's
// retry settings allow; a pending one has its next attempt brought
// forward, unless it may be being made now. A delivery whose notice is
// not yet published waits for it.
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

// once runs run under idempotencyKey, storing its result as JSON.
func once[T any](ctx context.Context, s *Manager, owner tenant.Tenant, idempotencyKey, fingerprint string, run func() (T, error)) (T, bool, error) {
	var zero T
	raw, replayed, err := s.Idempotency.Once(ctx, owner, idempotencyKey, fingerprint, func() ([]byte, error) {
		v, err := run()
		if err != nil {
			return nil, err
		}
		return json.Marshal(v)
	})
	if err != nil {
		return zero, false, err
	}
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		return zero, false, fmt.Errorf("decode stored result: %w", err)
	}
	return v, replayed, nil
}

// manualClaimPrefix starts the claims of manual sends; a queue message id
// (the fan-out's claims) never does.
const manualClaimPrefix = "send_"

// newClaim returns the claim of a manual send.
func newClaim() string { return manualClaimPrefix + rand.Text() }

// isManualClaim reports whether claim is a manual send's: the attempts
// made under it were asked for by the customer.
func isManualClaim(claim string) bool { return strings.HasPrefix(claim, manualClaimPrefix) }
