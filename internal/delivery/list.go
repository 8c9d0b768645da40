package delivery

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/docproc/webhooks/internal/tenant"
	"github.com/docproc/webhooks/internal/webhook"
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

// List returns a page of owner's webhook webhookID's deliveries that
// match f, newest event first, after startingAfter, up to limit (see
// History.Deliveries). With f.EventID, the page holds that event's
// delivery, if it has one.
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
	if errors.Is(err, ErrNotFound) {
		return Page{}, nil
	}
	if err != nil {
		return Page{}, fmt.Errorf("read event %s: %w", f.EventID, err)
	}
	id := DeliveryID(ev.ID, w.ID, ev.Time)
	sum, err := s.History.Delivery(ctx, w.ID, id)
	switch {
	case errors.Is(err, ErrNotFound):
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
	case !errors.Is(err, ErrNotFound):
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
	if errors.Is(err, ErrNotFound) {
		return Summary{}, deliveryNotFound(id)
	}
	if err != nil {
		return Summary{}, fmt.Errorf("read delivery %s: %w", id, err)
	}
	return sum, nil
}
