package deliverytest

import (
	"cmp"
	"context"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/docproc/webhooks/internal/delivery"
	"github.com/docproc/webhooks/internal/tenant"
	"github.com/docproc/webhooks/internal/webhook"
)

// Compile-time checks that Store implements the ports it fakes.
var (
	_ delivery.Store       = (*Store)(nil)
	_ delivery.Gates       = (*Store)(nil)
	_ delivery.Parking     = (*Store)(nil)
	_ delivery.History     = (*Store)(nil)
	_ delivery.Resends     = (*Store)(nil)
	_ delivery.Limiter     = (*Store)(nil)
	_ delivery.EventLog    = (*Store)(nil)
	_ delivery.Subscribers = (*Store)(nil)
)

// Store is an in-memory table for the delivery package's ports. Each call
// is atomic, makes the adapter's conditional write (ErrChanged when its
// condition fails) and copies what it reads. It ignores its context, the
// records' expiry and the per-account limit on manual sends. It is safe
// for concurrent use.
type Store struct {
	// SendsPerMinute is how many manual sends Take allows per webhook
	// and minute; delivery.SendsPerMinute when 0. Change it only while
	// no call of the store runs.
	SendsPerMinute int

	mu      sync.Mutex
	t       Tables
	records []delivery.Record    // the Saves, in order
	created map[string]time.Time // by delivery id: its first write
	minute  map[string]int64     // by webhook id: the Unix minute Tables.Sends counts
}

// Tables are a Store's maps. Tables returns the store's own maps, so a
// test may set up and inspect the store through them, but only while no
// call of the store runs.
type Tables struct {
	// Webhooks are the endpoints, with their health, by id.
	Webhooks map[string]webhook.Webhook
	// Deliveries are the deliveries' states, by delivery id.
	Deliveries map[string]delivery.Status
	// Messages are the deliveries' messages as first written, by
	// delivery id.
	Messages map[string]delivery.Message
	// Parked are the pending deliveries with their ResendAt, by delivery
	// id.
	Parked map[string]delivery.Parked
	// Gates are the endpoints' gates, by webhook id.
	Gates map[string]delivery.Gate
	// Events are the events kept first, by EventKey.
	Events map[string]delivery.Event
	// Sends counts the manual sends taken in the minute of the last
	// Take, by webhook id.
	Sends map[string]int
}

// EventKey is the key of owner's event id in Tables.Events.
func EventKey(owner tenant.Tenant, id string) string { return owner.String() + "/" + id }

// NewStore returns a Store that holds hooks and nothing else.
func NewStore(hooks ...webhook.Webhook) *Store {
	s := &Store{t: Tables{Webhooks: map[string]webhook.Webhook{}, Deliveries: map[string]delivery.Status{},
		Messages: map[string]delivery.Message{}, Parked: map[string]delivery.Parked{}, Gates: map[string]delivery.Gate{},
		Events: map[string]delivery.Event{}, Sends: map[string]int{}}, created: map[string]time.Time{},
		minute: map[string]int64{}}
	for _, w := range hooks {
		s.t.Webhooks[w.ID] = w
	}
	return s
}

// Tables returns the store's maps (see Tables).
func (s *Store) Tables() Tables { return s.t }

// Webhook returns webhook id as stored, with its health; the zero
// Webhook when there is none.
func (s *Store) Webhook(id string) webhook.Webhook {
	s.mu.Lock()
	defer s.mu.Unlock()
	return cloneWebhook(s.t.Webhooks[id])
}

// cloneWebhook copies w's slices, as a read of the stored item would.
func cloneWebhook(w webhook.Webhook) webhook.Webhook {
	w.Events = slices.Clone(w.Events)
	return w
}

// cloneGate copies g's maps, as a read of the stored gate would.
func cloneGate(g delivery.Gate) delivery.Gate {
	g.Holders, g.Begun, g.Tallies = maps.Clone(g.Holders), maps.Clone(g.Begun), maps.Clone(g.Tallies)
	return g
}

// Target implements delivery.Store.
func (s *Store) Target(_ context.Context, owner tenant.Tenant, webhookID, deliveryID string) (delivery.Target, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w, ok := s.t.Webhooks[webhookID]
	if ok && w.Owner != owner {
		ok = false
	}
	st := s.t.Deliveries[deliveryID]
	st.ResendAt = s.t.Parked[deliveryID].ResendAt
	return delivery.Target{Found: ok, Webhook: cloneWebhook(w), Gate: cloneGate(s.t.Gates[webhookID]), Delivery: st}, nil
}

// Gate implements delivery.History.
func (s *Store) Gate(_ context.Context, webhookID string) (delivery.Gate, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return cloneGate(s.t.Gates[webhookID]), nil
}

// Enter implements delivery.Gates with the adapter's conditions
// (delivery.Gate.Admit).
func (s *Store) Enter(_ context.Context, e delivery.Entry) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := cloneGate(s.t.Gates[e.WebhookID])
	if err := g.Admit(e); err != nil {
		return err
	}
	s.t.Gates[e.WebhookID] = g
	return nil
}

// Exit implements delivery.Gates.
func (s *Store) Exit(_ context.Context, x delivery.Exit) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := cloneGate(s.t.Gates[x.WebhookID])
	delete(g.Holders, x.DeliveryID)
	if g.Tallies == nil {
		g.Tallies = map[int64]delivery.Tally{}
	}
	if x.Attempted {
		t := g.Tallies[x.At.Unix()/60]
		t.Attempts++
		if x.Failed {
			t.Failures++
		}
		g.Tallies[x.At.Unix()/60] = t
	}
	switch {
	case x.Probe && g.Probe == x.DeliveryID:
		g.OpenUntil, g.Trips, g.Probe, g.ProbeUntil = x.OpenUntil, x.Trips, "", time.Time{}
	case x.Trip && g.OpenUntil.IsZero():
		g.OpenUntil, g.Trips = x.OpenUntil, x.Trips
	}
	s.t.Gates[x.WebhookID] = g
	return nil
}

// Begin implements delivery.Store.
func (s *Store) Begin(_ context.Context, b delivery.Begin) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.t.Deliveries[b.Message.DeliveryID]
	owned := d.Claim == b.Claim || b.At.After(d.ClaimedUntil)
	if (!ok && b.Prior != 0) || (ok && (!owned || d.Attempts != b.Prior || d.State != delivery.StatePending || d.Begun > d.Attempts)) {
		return delivery.ErrChanged
	}
	if !ok {
		d = delivery.Status{Exists: true, State: delivery.StatePending}
		s.t.Messages[b.Message.DeliveryID] = b.Message
		s.created[b.Message.DeliveryID] = b.At
	}
	d.Claim, d.ClaimedUntil = b.Claim, b.ClaimedUntil
	d.Begun, d.BegunAt, d.BegunUntil = b.Number, b.At, b.Until
	s.t.Deliveries[b.Message.DeliveryID] = d
	return nil
}

// Save implements delivery.Store.
func (s *Store) Save(_ context.Context, r delivery.Record) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.t.Deliveries[r.Message.DeliveryID]
	owned := d.Claim == r.Claim || r.At.After(d.ClaimedUntil)
	begun := d.Begun == r.Attempts // the attempt recorded is the one begun
	if r.Attempt == nil {
		begun = !d.InProgress(r.At)
	}
	if (!ok && r.Prior != 0) || (ok && (!owned || d.Attempts != r.Prior || d.State != delivery.StatePending || !begun)) {
		return false, delivery.ErrChanged
	}
	notify := r.Notify
	if w, ok := s.t.Webhooks[r.Message.WebhookID]; r.Health == delivery.Disable && (!ok || w.Version != r.WebhookVersion) {
		r.Health, notify = delivery.NoChange, false // the adapter drops a stale Disable and its notice
	}
	s.t.Deliveries[r.Message.DeliveryID] = delivery.Status{Exists: true, State: r.State, Attempts: r.Attempts, Claim: r.Claim,
		ClaimedUntil: r.ClaimedUntil, NextAttemptAt: r.NextAttemptAt, AttemptLimit: d.AttemptLimit, Reason: r.Reason,
		NoticePending: notify, UpdatedAt: r.At, Begun: d.Begun, BegunAt: d.BegunAt, BegunUntil: d.BegunUntil}
	if _, ok := s.t.Messages[r.Message.DeliveryID]; !ok {
		s.t.Messages[r.Message.DeliveryID] = r.Message
	}
	if _, ok := s.created[r.Message.DeliveryID]; !ok {
		s.created[r.Message.DeliveryID] = r.At
	}
	delete(s.t.Parked, r.Message.DeliveryID)
	if r.State == delivery.StatePending && !r.ResendAt.IsZero() { // as the adapter's deliveries-due index
		m := r.Message
		m.Claim, m.Payload = r.Claim, nil
		s.t.Parked[m.DeliveryID] = delivery.Parked{Message: m, Attempts: r.Attempts, NextAttemptAt: r.NextAttemptAt, ResendAt: r.ResendAt}
	}
	s.records = append(s.records, r)
	if w, ok := s.t.Webhooks[r.Message.WebhookID]; ok {
		r.ApplyHealth(&w)
		s.t.Webhooks[w.ID] = w
	}
	return notify, nil
}

// NoticeSent implements delivery.Store.
func (s *Store) NoticeSent(_ context.Context, _, deliveryID string, attempts int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.t.Deliveries[deliveryID]
	if !ok || d.Attempts != attempts {
		return nil
	}
	d.NoticePending = false
	s.t.Deliveries[deliveryID] = d
	return nil
}

// Webhooks implements delivery.Subscribers.
func (s *Store) Webhooks(_ context.Context, owner tenant.Tenant) ([]webhook.Webhook, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []webhook.Webhook
	for _, id := range slices.Sorted(maps.Keys(s.t.Webhooks)) {
		if w := s.t.Webhooks[id]; w.Owner == owner {
			out = append(out, cloneWebhook(w))
		}
	}
	return out, nil
}

// Keep implements delivery.EventLog.
func (s *Store) Keep(_ context.Context, ev delivery.Event, _ time.Time) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := EventKey(ev.Owner, ev.ID)
	if first, ok := s.t.Events[k]; ok {
		return first.SourceID, nil
	}
	ev.Payload = slices.Clone(ev.Payload)
	s.t.Events[k] = ev
	return ev.SourceID, nil
}

// Due implements delivery.Parking.
func (s *Store) Due(_ context.Context, shard int, before time.Time, limit int) ([]delivery.Parked, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []delivery.Parked
	for id, p := range s.t.Parked {
		if delivery.ParkingShard(id) == shard && !p.ResendAt.After(before) {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, func(a, b delivery.Parked) int {
		return cmp.Or(a.ResendAt.Compare(b.ResendAt), cmp.Compare(a.Message.DeliveryID, b.Message.DeliveryID))
	})
	return out[:min(limit, len(out))], nil
}

// Requeued implements delivery.Parking.
func (s *Store) Requeued(_ context.Context, p delivery.Parked, resendAt time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, ok := s.t.Parked[p.Message.DeliveryID]
	if !ok || cur.Attempts != p.Attempts || !cur.ResendAt.Equal(p.ResendAt) {
		return nil
	}
	if resendAt.IsZero() {
		delete(s.t.Parked, p.Message.DeliveryID)
		return nil
	}
	cur.ResendAt = resendAt
	s.t.Parked[p.Message.DeliveryID] = cur
	return nil
}

// Payloads implements delivery.Parking and delivery.History.
func (s *Store) Payloads(_ context.Context, owner tenant.Tenant, ids []string) (map[string][]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string][]byte{}
	for _, id := range ids {
		if ev, ok := s.t.Events[EventKey(owner, id)]; ok {
			out[id] = slices.Clone(ev.Payload)
		}
	}
	return out, nil
}
