package delivery_test

import (
	"cmp"
	"context"
	"errors"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/docproc/webhooks/internal/delivery"
	"github.com/docproc/webhooks/internal/tenant"
	"github.com/docproc/webhooks/internal/webhook"
)

// memStore is an in-memory delivery.Store, Subscribers and EventLog with
// the adapters' semantics.
type memStore struct {
	mu         sync.Mutex
	hooks      map[string]webhook.Webhook // by id
	deliveries map[string]delivery.Status // by delivery id
	records    []delivery.Record
	parked     map[string]delivery.Parked  // by delivery id: the pending ones' ResendAt
	msgs       map[string]delivery.Message // by delivery id: its message, from its first write
	gates      map[string]delivery.Gate    // by webhook id
	exits      []delivery.Exit
	events     map[string]delivery.Event // owner/event id -> the event kept first
	sends      map[string]int            // webhook id -> manual sends taken
	sendMax    int                       // manual sends allowed per webhook; delivery.SendsPerMinute when 0
	saveErr    error
	beginErr   error
	requeueErr error // Requeued fails with it when set
	begins     int   // Begins that committed
	targets    int   // Target reads
	restoreErr error // Restore fails with it when set
}

func newMemStore(hooks ...webhook.Webhook) *memStore {
	s := &memStore{hooks: map[string]webhook.Webhook{}, deliveries: map[string]delivery.Status{},
		events: map[string]delivery.Event{}, sends: map[string]int{}, parked: map[string]delivery.Parked{},
		msgs: map[string]delivery.Message{}, gates: map[string]delivery.Gate{}}
	for _, w := range hooks {
		s.hooks[w.ID] = w
	}
	return s
}

func (s *memStore) Target(_ context.Context, owner tenant.Tenant, webhookID, deliveryID string) (delivery.Target, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.targets++
	w, ok := s.hooks[webhookID]
	if ok && w.Owner != owner {
		ok = false
	}
	st := s.deliveries[deliveryID]
	st.ResendAt = s.parked[deliveryID].ResendAt
	return delivery.Target{Found: ok, Webhook: w, Gate: cloneGate(s.gates[webhookID]), Delivery: st}, nil
}

// cloneGate copies g's maps, as a read of the stored gate would.
func cloneGate(g delivery.Gate) delivery.Gate {
	g.Holders, g.Begun, g.Tallies = maps.Clone(g.Holders), maps.Clone(g.Begun), maps.Clone(g.Tallies)
	return g
}

// Gate implements delivery.History.
func (s *memStore) Gate(_ context.Context, webhookID string) (delivery.Gate, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return cloneGate(s.gates[webhookID]), nil
}

// Enter implements delivery.Gates with the adapter's conditions.
func (s *memStore) Enter(_ context.Context, e delivery.Entry) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := cloneGate(s.gates[e.WebhookID])
	if err := g.Admit(e); err != nil {
		return err
	}
	s.gates[e.WebhookID] = g
	return nil
}

// Exit implements delivery.Gates.
func (s *memStore) Exit(_ context.Context, x delivery.Exit) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.exits = append(s.exits, x)
	g := cloneGate(s.gates[x.WebhookID])
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
	s.gates[x.WebhookID] = g
	return nil
}

func (s *memStore) Begin(_ context.Context, b delivery.Begin) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.beginErr != nil {
		return s.beginErr
	}
	d, ok := s.deliveries[b.Message.DeliveryID]
	owned := d.Claim == b.Claim || b.At.After(d.ClaimedUntil)
	if (!ok && b.Prior != 0) || (ok && (!owned || d.Attempts != b.Prior || d.State != delivery.StatePending || d.Begun > d.Attempts)) {
		return delivery.ErrChanged
	}
	if !ok {
		d = delivery.Status{Exists: true, State: delivery.StatePending}
		s.msgs[b.Message.DeliveryID] = b.Message
	}
	d.Claim, d.ClaimedUntil = b.Claim, b.ClaimedUntil
	d.Begun, d.BegunAt, d.BegunUntil = b.Number, b.At, b.Until
	s.deliveries[b.Message.DeliveryID] = d
	s.begins++
	return nil
}

func (s *memStore) Save(_ context.Context, r delivery.Record) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.saveErr != nil {
		return false, s.saveErr
	}
	d, ok := s.deliveries[r.Message.DeliveryID]
	owned := d.Claim == r.Claim || r.At.After(d.ClaimedUntil)
	begun := d.Begun == r.Attempts // the attempt recorded is the one begun
	if r.Attempt == nil {
		begun = !d.InProgress(r.At)
	}
	if (!ok && r.Prior != 0) || (ok && (!owned || d.Attempts != r.Prior || d.State != delivery.StatePending || !begun)) {
		return false, delivery.ErrChanged
	}
	notify := r.Notify
	if w, ok := s.hooks[r.Message.WebhookID]; r.Health == delivery.Disable && (!ok || w.Version != r.WebhookVersion) {
		r.Health, notify = delivery.NoChange, false // the adapter drops a stale Disable and its notice
	}
	s.deliveries[r.Message.DeliveryID] = delivery.Status{Exists: true, State: r.State, Attempts: r.Attempts, Claim: r.Claim,
		ClaimedUntil: r.ClaimedUntil, NextAttemptAt: r.NextAttemptAt, AttemptLimit: d.AttemptLimit, Reason: r.Reason,
		NoticePending: notify, UpdatedAt: r.At, Begun: d.Begun, BegunAt: d.BegunAt, BegunUntil: d.BegunUntil}
	if _, ok := s.msgs[r.Message.DeliveryID]; !ok {
		s.msgs[r.Message.DeliveryID] = r.Message
	}
	delete(s.parked, r.Message.DeliveryID)
	if r.State == delivery.StatePending {
		m := r.Message
		m.Claim, m.Payload = r.Claim, nil
		s.parked[m.DeliveryID] = delivery.Parked{Message: m, Attempts: r.Attempts, NextAttemptAt: r.NextAttemptAt, ResendAt: r.ResendAt}
	}
	s.records = append(s.records, r)
	if w, ok := s.hooks[r.Message.WebhookID]; ok {
		r.ApplyHealth(&w)
		s.hooks[w.ID] = w
	}
	return notify, nil
}

func (s *memStore) NoticeSent(_ context.Context, _, deliveryID string, attempts int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.deliveries[deliveryID]
	if d.Attempts != attempts {
		return nil
	}
	d.NoticePending = false
	s.deliveries[deliveryID] = d
	return nil
}

func (s *memStore) Webhooks(_ context.Context, owner tenant.Tenant) ([]webhook.Webhook, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []webhook.Webhook
	for _, w := range s.hooks {
		if w.Owner == owner {
			out = append(out, w)
		}
	}
	return out, nil
}

func (s *memStore) Keep(_ context.Context, ev delivery.Event, _ time.Time) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := ev.Owner.String() + "/" + ev.ID
	if first, ok := s.events[k]; ok {
		return first.SourceID, nil
	}
	s.events[k] = ev
	return ev.SourceID, nil
}

func (s *memStore) hook(id string) webhook.Webhook {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hooks[id]
}

// memSecrets is an in-memory delivery.Secrets that counts reads.
type memSecrets struct {
	mu    sync.Mutex
	sets  map[string]webhook.SecretSet
	reads int
}

func (s *memSecrets) Get(_ context.Context, ref string) (webhook.SecretSet, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reads++
	set, ok := s.sets[ref]
	if !ok {
		return webhook.SecretSet{}, webhook.ErrNotFound
	}
	return set, nil
}

// scriptedSender answers each attempt with the next response of its
// script (the last one repeating) and keeps the requests.
type scriptedSender struct {
	mu       sync.Mutex
	script   []delivery.Response
	requests []delivery.Request
	onSend   func() // runs during each request, when set
}

func (s *scriptedSender) Send(_ context.Context, req delivery.Request) delivery.Response {
	if s.onSend != nil {
		s.onSend()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, req)
	return s.script[min(len(s.requests), len(s.script))-1]
}

func status(code int) delivery.Response { return delivery.Response{Status: code} }

var (
	ok200   = status(http.StatusOK)
	fail500 = status(http.StatusInternalServerError)
)

// queueFake is an in-memory delivery.Queue; it fails with err when set.
type queueFake struct {
	mu     sync.Mutex
	sent   []delivery.Message
	delays []time.Duration // of each message sent, 0 for Send's
	err    error
}

func (q *queueFake) Send(_ context.Context, msgs []delivery.Message) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.err != nil {
		return q.err
	}
	q.sent = append(q.sent, msgs...)
	q.delays = append(q.delays, make([]time.Duration, len(msgs))...)
	return nil
}

func (q *queueFake) SendLater(_ context.Context, m delivery.Message, after time.Duration) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.err != nil {
		return q.err
	}
	if after < 0 || after > delivery.MaxDelay {
		return errors.New("delay out of range")
	}
	q.sent = append(q.sent, m)
	q.delays = append(q.delays, after)
	return nil
}

// Due implements delivery.Parking over the parked deliveries.
func (s *memStore) Due(_ context.Context, shard int, before time.Time, limit int) ([]delivery.Parked, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []delivery.Parked
	for id, p := range s.parked {
		if delivery.ParkingShard(id) == shard && !p.ResendAt.After(before) {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, func(a, b delivery.Parked) int { return a.ResendAt.Compare(b.ResendAt) })
	return out[:min(limit, len(out))], nil
}

// Requeued implements delivery.Parking.
func (s *memStore) Requeued(_ context.Context, p delivery.Parked, resendAt time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.requeueErr != nil {
		return s.requeueErr
	}
	cur, ok := s.parked[p.Message.DeliveryID]
	if !ok || cur.Attempts != p.Attempts || !cur.ResendAt.Equal(p.ResendAt) {
		return nil
	}
	if resendAt.IsZero() {
		delete(s.parked, p.Message.DeliveryID)
		return nil
	}
	cur.ResendAt = resendAt
	s.parked[p.Message.DeliveryID] = cur
	return nil
}

// The Manager's ports, over the same maps, so that a Manager and a
// Deliverer share one store as they share the table.

func (s *memStore) Deliveries(_ context.Context, webhookID string, f delivery.Filter, limit int, startingAfter string) (delivery.Page, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out delivery.Page
	for _, id := range slices.Backward(slices.Sorted(maps.Keys(s.deliveries))) {
		if startingAfter != "" && id >= startingAfter {
			continue
		}
		sum := s.summary(id)
		if sum.EventType == "" || s.webhookOf(id) != webhookID || (f.State != "" && sum.State != f.State) {
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

// webhookOf is the webhook of delivery id. s.mu is held.
func (s *memStore) webhookOf(id string) string { return s.msgs[id].WebhookID }

// summary is delivery id as the History shows it. s.mu is held.
func (s *memStore) summary(id string) delivery.Summary {
	m := s.msgs[id]
	return delivery.Summary{ID: id, Status: s.deliveries[id], EventID: m.EventID, EventType: m.EventType,
		EventTime: m.EventTime, Test: m.Test}
}

func (s *memStore) Delivery(_ context.Context, webhookID, deliveryID string) (delivery.Summary, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.deliveries[deliveryID]; !ok || s.webhookOf(deliveryID) != webhookID {
		return delivery.Summary{}, webhook.ErrNotFound
	}
	return s.summary(deliveryID), nil
}

func (s *memStore) Attempts(_ context.Context, _, deliveryID string) ([]delivery.Attempt, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var attempts []delivery.Attempt
	for _, r := range s.records {
		if r.Message.DeliveryID == deliveryID && r.Attempt != nil {
			attempts = append(attempts, *r.Attempt)
		}
	}
	return attempts, nil
}

func (s *memStore) Statuses(_ context.Context, _ string, ids []string) (map[string]delivery.Status, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]delivery.Status{}
	for _, id := range ids {
		if st, ok := s.deliveries[id]; ok {
			out[id] = st
		}
	}
	return out, nil
}

func (s *memStore) Event(_ context.Context, owner tenant.Tenant, id string) (delivery.Event, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ev, ok := s.events[owner.String()+"/"+id]
	if !ok {
		return delivery.Event{}, webhook.ErrNotFound
	}
	return ev, nil
}

func (s *memStore) Events(_ context.Context, owner tenant.Tenant, since, until time.Time, startingAfter string, limit int) ([]delivery.Event, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var all []delivery.Event
	for _, ev := range s.events {
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
		all[i].Payload = nil // as the index holds them
	}
	return all, more, nil
}

func (s *memStore) Payloads(_ context.Context, owner tenant.Tenant, ids []string) (map[string][]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string][]byte{}
	for _, id := range ids {
		if ev, ok := s.events[owner.String()+"/"+id]; ok {
			out[id] = ev.Payload
		}
	}
	return out, nil
}

func (s *memStore) Reopen(_ context.Context, r delivery.Reopen) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.deliveries[r.Message.DeliveryID]
	if ok != r.Prior.Exists || d.State != r.Prior.State || d.Attempts != r.Prior.Attempts || d.Claim != r.Prior.Claim ||
		d.NoticePending || d.InProgress(r.At) {
		return delivery.ErrChanged
	}
	prior := ""
	if ok && d.State == delivery.StatePending {
		prior = cmp.Or(d.PriorClaim, d.Claim) // as the adapter keeps it
	}
	s.deliveries[r.Message.DeliveryID] = delivery.Status{Exists: true, State: delivery.StatePending, Attempts: d.Attempts,
		Claim: r.Message.Claim, ClaimedUntil: r.ClaimedUntil, PriorClaim: prior, NextAttemptAt: r.At, AttemptLimit: r.AttemptLimit,
		UpdatedAt: r.At, Begun: d.Begun, BegunAt: d.BegunAt, BegunUntil: d.BegunUntil}
	m := r.Message
	m.Payload = nil
	s.parked[m.DeliveryID] = delivery.Parked{Message: m, Attempts: d.Attempts, NextAttemptAt: r.At, ResendAt: r.ResendAt}
	if !ok {
		s.msgs[r.Message.DeliveryID] = r.Message
	}
	return nil
}

func (s *memStore) Restore(_ context.Context, r delivery.Reopen) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.restoreErr != nil {
		return s.restoreErr
	}
	d := s.deliveries[r.Message.DeliveryID]
	if d.State != delivery.StatePending || d.Claim != r.Message.Claim || d.Attempts != r.Prior.Attempts {
		return nil
	}
	if !r.Prior.Exists {
		delete(s.deliveries, r.Message.DeliveryID)
		return nil
	}
	s.deliveries[r.Message.DeliveryID] = r.Prior
	return nil
}

func (s *memStore) Take(_ context.Context, _ tenant.Tenant, webhookID string, n int, now time.Time) (int, time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	limit := cmp.Or(s.sendMax, delivery.SendsPerMinute)
	taken := min(n, limit-s.sends[webhookID])
	s.sends[webhookID] += taken
	return taken, now.Truncate(time.Minute).Add(time.Minute), nil
}

func (s *memStore) GiveBack(_ context.Context, _ tenant.Tenant, webhookID string, n int, _ time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sends[webhookID] -= n
	return nil
}

// endpoints is delivery.Endpoints over a memStore.
type endpoints struct{ *memStore }

func (e endpoints) Get(_ context.Context, owner tenant.Tenant, id string) (webhook.Webhook, error) {
	w := e.hook(id)
	if w.ID == "" || w.Owner != owner {
		return webhook.Webhook{}, webhook.NotFound(id)
	}
	return w, nil
}

// onceKeys is delivery.Idempotency in memory.
type onceKeys map[string][2]string // key -> fingerprint, result

func (o onceKeys) Once(_ context.Context, _ tenant.Tenant, key, fp string, run func() ([]byte, error)) ([]byte, bool, error) {
	if prior, ok := o[key]; ok && key != "" {
		if prior[0] != fp {
			return nil, false, errors.New("key reused")
		}
		return []byte(prior[1]), true, nil
	}
	res, err := run()
	if err == nil && key != "" {
		o[key] = [2]string{fp, string(res)}
	}
	return res, false, err
}

// notices is a delivery.Notifier that keeps what it publishes and fails
// while fail is above 0.
type notices struct {
	mu   sync.Mutex
	sent []delivery.Notice
	fail int
}

func (n *notices) Notify(_ context.Context, x delivery.Notice) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.fail > 0 {
		n.fail--
		return errors.New("bus unavailable")
	}
	n.sent = append(n.sent, x)
	return nil
}
