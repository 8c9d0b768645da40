package delivery_test

import (
	"context"
	"net/http"
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
	events     map[string]string // event id -> first source id
	saveErr    error
}

func newMemStore(hooks ...webhook.Webhook) *memStore {
	s := &memStore{hooks: map[string]webhook.Webhook{}, deliveries: map[string]delivery.Status{}, events: map[string]string{}}
	for _, w := range hooks {
		s.hooks[w.ID] = w
	}
	return s
}

func (s *memStore) Target(_ context.Context, owner tenant.Tenant, webhookID, deliveryID string) (delivery.Target, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w, ok := s.hooks[webhookID]
	if ok && w.Owner != owner {
		ok = false
	}
	return delivery.Target{Found: ok, Webhook: w, Delivery: s.deliveries[deliveryID]}, nil
}

func (s *memStore) Save(_ context.Context, r delivery.Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.saveErr != nil {
		return s.saveErr
	}
	d, ok := s.deliveries[r.Message.DeliveryID]
	owned := d.Claim == r.Claim || r.At.After(d.ClaimedUntil)
	if ok && (!owned || d.Attempts != r.Prior || d.State != delivery.Pending) {
		return delivery.ErrConflict
	}
	notify := r.Notify
	if w, ok := s.hooks[r.Message.WebhookID]; r.Health == delivery.Disable && (!ok || w.Version != r.WebhookVersion) {
		r.Health, notify = delivery.NoChange, false // the adapter drops a stale Disable and its notice
	}
	s.deliveries[r.Message.DeliveryID] = delivery.Status{Exists: true, State: r.State, Attempts: r.Attempts, Claim: r.Claim,
		ClaimedUntil: r.ClaimedUntil, NextAttemptAt: r.NextAttemptAt, AttemptLimit: d.AttemptLimit, Reason: r.Reason,
		NoticePending: notify}
	s.records = append(s.records, r)
	if w, ok := s.hooks[r.Message.WebhookID]; ok {
		switch r.Health {
		case delivery.StartFailing:
			if w.Health.FailingSince.IsZero() {
				w.Health.FailingSince = r.At
			}
		case delivery.Recover:
			w.Health.FailingSince = time.Time{}
		case delivery.Disable:
			w.IsActive, w.Health.DisabledReason, w.Health.DisabledAt = false, r.Reason, r.At
			w.Version++
		}
		s.hooks[w.ID] = w
	}
	return nil
}

func (s *memStore) NoticeSent(_ context.Context, _, deliveryID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.deliveries[deliveryID]
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
		return first, nil
	}
	s.events[k] = ev.SourceID
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
}

func (s *scriptedSender) Send(_ context.Context, req delivery.Request) delivery.Response {
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

// queueFake is an in-memory delivery.Queue.
type queueFake struct{ sent []delivery.Message }

func (q *queueFake) Send(_ context.Context, msgs []delivery.Message) error {
	q.sent = append(q.sent, msgs...)
	return nil
}
