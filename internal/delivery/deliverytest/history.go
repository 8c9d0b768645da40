package deliverytest

import (
	"cmp"
	"context"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/docproc/webhooks/internal/delivery"
	"github.com/docproc/webhooks/internal/tenant"
)

// The Manager's ports, over the same maps, so that a Manager and a
// Deliverer share one Store as they share the table.

// Deliveries implements delivery.History. It looks at every delivery of
// the webhook, so a filtered page is never cut short.
func (s *Store) Deliveries(_ context.Context, webhookID string, f delivery.Filter, limit int, startingAfter string) (delivery.Page, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out delivery.Page
	for _, id := range slices.Backward(slices.Sorted(maps.Keys(s.t.Deliveries))) {
		if startingAfter != "" && id >= startingAfter {
			continue
		}
		sum := s.summary(id)
		if sum.EventType == "" || s.webhookOf(id) != webhookID || !matches(f, sum) {
			continue
		}
		if len(out.Deliveries) == limit {
			out.HasMore = true
			break
		}
		out.Deliveries = append(out.Deliveries, sum)
		out.Next = id
	}
	return out, nil
}

// matches reports whether sum is one of the deliveries f asks for.
func matches(f delivery.Filter, sum delivery.Summary) bool {
	return (f.State == "" || sum.State == f.State) && (f.Type == "" || sum.EventType == f.Type) &&
		(f.Since.IsZero() || !sum.EventTime.Before(f.Since)) && (f.Until.IsZero() || sum.EventTime.Before(f.Until))
}

// webhookOf is the webhook of delivery id. s.mu is held.
func (s *Store) webhookOf(id string) string { return s.t.Messages[id].WebhookID }

// summary is delivery id as the History shows it. s.mu is held.
func (s *Store) summary(id string) delivery.Summary {
	m := s.t.Messages[id]
	sum := delivery.Summary{ID: id, Status: s.t.Deliveries[id], EventID: m.EventID, EventType: m.EventType,
		EventTime: m.EventTime, Test: m.Test, CreatedAt: s.created[id]}
	for _, r := range s.records {
		if r.Message.DeliveryID == id && r.Attempt != nil {
			sum.LastAttemptAt, sum.LastStatus, sum.LastError = r.Attempt.At, r.Attempt.Response.Status, r.Attempt.Response.Error
		}
	}
	return sum
}

// Delivery implements delivery.History.
func (s *Store) Delivery(_ context.Context, webhookID, deliveryID string) (delivery.Summary, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.t.Deliveries[deliveryID]; !ok || s.webhookOf(deliveryID) != webhookID {
		return delivery.Summary{}, delivery.ErrNotFound
	}
	return s.summary(deliveryID), nil
}

// Attempts implements delivery.History.
func (s *Store) Attempts(_ context.Context, webhookID, deliveryID string) ([]delivery.Attempt, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var attempts []delivery.Attempt
	for _, r := range s.records {
		if r.Message.WebhookID == webhookID && r.Message.DeliveryID == deliveryID && r.Attempt != nil {
			attempts = append(attempts, *r.Attempt)
		}
	}
	return attempts, nil
}

// Statuses implements delivery.History.
func (s *Store) Statuses(_ context.Context, webhookID string, ids []string) (map[string]delivery.Status, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]delivery.Status{}
	for _, id := range ids {
		if st, ok := s.t.Deliveries[id]; ok && s.webhookOf(id) == webhookID {
			out[id] = st
		}
	}
	return out, nil
}

// Event implements delivery.History.
func (s *Store) Event(_ context.Context, owner tenant.Tenant, id string) (delivery.Event, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ev, ok := s.t.Events[EventKey(owner, id)]
	if !ok {
		return delivery.Event{}, delivery.ErrNotFound
	}
	ev.Payload = slices.Clone(ev.Payload)
	return ev, nil
}

// Events implements delivery.History.
func (s *Store) Events(_ context.Context, owner tenant.Tenant, since, until time.Time, startingAfter string, limit int) ([]delivery.Event, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var all []delivery.Event
	for _, ev := range s.t.Events {
		if ev.Owner == owner && !ev.Test && !ev.Time.Before(since) && ev.Time.Before(until) {
			all = append(all, ev)
		}
	}
	slices.SortFunc(all, func(a, b delivery.Event) int {
		return cmp.Or(a.Time.Compare(b.Time), strings.Compare(a.ID, b.ID))
	})
	if startingAfter != "" {
		i := slices.IndexFunc(all, func(ev delivery.Event) bool { return ev.ID == startingAfter })
		all = all[i+1:]
	}
	more := len(all) > limit
	all = all[:min(limit, len(all))]
	for i := range all {
		all[i].Payload, all[i].SourceID = nil, "" // as the index holds them
	}
	return all, more, nil
}

// Reopen implements delivery.Resends.
func (s *Store) Reopen(_ context.Context, r delivery.Reopen) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.t.Deliveries[r.Message.DeliveryID]
	if ok != r.Prior.Exists || d.State != r.Prior.State || d.Attempts != r.Prior.Attempts || d.Claim != r.Prior.Claim ||
		d.NoticePending || d.InProgress(r.At) {
		return delivery.ErrChanged
	}
	prior := ""
	if ok && d.State == delivery.StatePending {
		prior = cmp.Or(d.PriorClaim, d.Claim) // as the adapter keeps it
	}
	s.t.Deliveries[r.Message.DeliveryID] = delivery.Status{Exists: true, State: delivery.StatePending, Attempts: d.Attempts,
		Claim: r.Message.Claim, ClaimedUntil: r.ClaimedUntil, PriorClaim: prior, NextAttemptAt: r.At, AttemptLimit: r.AttemptLimit,
		UpdatedAt: r.At, Begun: d.Begun, BegunAt: d.BegunAt, BegunUntil: d.BegunUntil}
	m := r.Message
	m.Payload = nil
	s.t.Parked[m.DeliveryID] = delivery.Parked{Message: m, Attempts: d.Attempts, NextAttemptAt: r.At, ResendAt: r.ResendAt}
	if !ok {
		s.t.Messages[r.Message.DeliveryID] = r.Message
		s.created[r.Message.DeliveryID] = r.At
	}
	return nil
}

// Restore implements delivery.Resends.
func (s *Store) Restore(_ context.Context, r delivery.Reopen) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.t.Deliveries[r.Message.DeliveryID]
	if d.State != delivery.StatePending || d.Claim != r.Message.Claim || d.Attempts != r.Prior.Attempts {
		return nil
	}
	if !r.Prior.Exists {
		delete(s.t.Deliveries, r.Message.DeliveryID)
		delete(s.t.Messages, r.Message.DeliveryID)
		delete(s.t.Parked, r.Message.DeliveryID)
		delete(s.created, r.Message.DeliveryID)
		return nil
	}
	s.t.Deliveries[r.Message.DeliveryID] = r.Prior
	if p, ok := s.t.Parked[r.Message.DeliveryID]; ok && r.Prior.State == delivery.StatePending {
		p.Message.Claim = r.Prior.Claim // the index projects the item's claim
		s.t.Parked[r.Message.DeliveryID] = p
	} else {
		delete(s.t.Parked, r.Message.DeliveryID) // finished again: nothing left to queue
	}
	return nil
}

// Take implements delivery.Limiter for each webhook alone, in fixed
// one-minute windows.
func (s *Store) Take(_ context.Context, _ tenant.Tenant, webhookID string, n int, now time.Time) (int, time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	start := now.UTC().Truncate(time.Minute)
	if m, ok := s.minute[webhookID]; ok && m != start.Unix()/60 {
		s.t.Sends[webhookID] = 0 // a new minute
	}
	s.minute[webhookID] = start.Unix() / 60
	limit := cmp.Or(s.SendsPerMinute, delivery.SendsPerMinute)
	taken := max(0, min(n, limit-s.t.Sends[webhookID]))
	s.t.Sends[webhookID] += taken
	return taken, start.Add(time.Minute), nil
}

// GiveBack implements delivery.Limiter: it gives back to the count of the
// minute of now.
func (s *Store) GiveBack(_ context.Context, _ tenant.Tenant, webhookID string, n int, now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m, ok := s.minute[webhookID]; !ok || m == now.UTC().Unix()/60 {
		s.t.Sends[webhookID] = max(0, s.t.Sends[webhookID]-n)
	}
	return nil
}
