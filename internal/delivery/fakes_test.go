package delivery_test

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/docproc/webhooks/internal/delivery"
	"github.com/docproc/webhooks/internal/delivery/deliverytest"
	"github.com/docproc/webhooks/internal/tenant"
	"github.com/docproc/webhooks/internal/webhook"
)

// memStore is the delivery tests' store: deliverytest.Store, with its
// maps under the names the tests use, the records it saved and the
// Target reads it served, and errors a test makes its calls fail with.
type memStore struct {
	*deliverytest.Store
	mu         sync.Mutex // guards records and targets
	hooks      map[string]webhook.Webhook
	deliveries map[string]delivery.Status
	parked     map[string]delivery.Parked
	msgs       map[string]delivery.Message
	gates      map[string]delivery.Gate
	events     map[string]delivery.Event // by deliverytest.EventKey
	sends      map[string]int
	records    []delivery.Record // Saves that committed, in order
	targets    int               // Target reads
	sendMax    int               // manual sends allowed per webhook; delivery.SendsPerMinute when 0
	saveErr    error
	beginErr   error
	requeueErr error // Requeued fails with it when set
	restoreErr error // Restore fails with it when set
}

func newMemStore(hooks ...webhook.Webhook) *memStore {
	st := deliverytest.NewStore(hooks...)
	t := st.Tables()
	return &memStore{Store: st, hooks: t.Webhooks, deliveries: t.Deliveries, parked: t.Parked, msgs: t.Messages,
		gates: t.Gates, events: t.Events, sends: t.Sends}
}

func (s *memStore) Target(ctx context.Context, owner tenant.Tenant, webhookID, deliveryID string) (delivery.Target, error) {
	s.mu.Lock()
	s.targets++
	s.mu.Unlock()
	return s.Store.Target(ctx, owner, webhookID, deliveryID)
}

func (s *memStore) Begin(ctx context.Context, b delivery.Begin) error {
	if s.beginErr != nil {
		return s.beginErr
	}
	return s.Store.Begin(ctx, b)
}

func (s *memStore) Save(ctx context.Context, r delivery.Record) (bool, error) {
	if s.saveErr != nil {
		return false, s.saveErr
	}
	notified, err := s.Store.Save(ctx, r)
	if err == nil {
		s.mu.Lock()
		s.records = append(s.records, r)
		s.mu.Unlock()
	}
	return notified, err
}

func (s *memStore) Requeued(ctx context.Context, p delivery.Parked, resendAt time.Time) error {
	if s.requeueErr != nil {
		return s.requeueErr
	}
	return s.Store.Requeued(ctx, p, resendAt)
}

func (s *memStore) Restore(ctx context.Context, r delivery.Reopen) error {
	if s.restoreErr != nil {
		return s.restoreErr
	}
	return s.Store.Restore(ctx, r)
}

func (s *memStore) Take(ctx context.Context, owner tenant.Tenant, webhookID string, n int, now time.Time) (int, time.Time, error) {
	s.Store.SendsPerMinute = s.sendMax
	return s.Store.Take(ctx, owner, webhookID, n, now)
}

func (s *memStore) hook(id string) webhook.Webhook { return s.Webhook(id) }

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
