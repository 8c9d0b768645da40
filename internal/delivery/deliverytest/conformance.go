package deliverytest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/docproc/webhooks/internal/delivery"
	"github.com/docproc/webhooks/internal/tenant"
	"github.com/docproc/webhooks/internal/webhook"
)

// Ports are the delivery package's store ports, as one table implements
// them.
type Ports interface {
	delivery.Store
	delivery.Gates
	delivery.Parking
	delivery.History
	delivery.Resends
	delivery.Limiter
	delivery.EventLog
	delivery.Subscribers
}

// Harness makes, for one subtest, a fresh store that holds hooks (as
// created through the webhook package's store) and nothing else.
type Harness func(t *testing.T, hooks ...webhook.Webhook) Ports

// RunConformanceTests runs, as subtests of t, one test of each promise the
// ports' doc comments make, each on a fresh store from h. Times are near
// the clock's, so that an adapter that drops expired records keeps these.
func RunConformanceTests(t *testing.T, h Harness) {
	t.Helper()
	for _, c := range []struct {
		name string
		run  func(t *testing.T, f *suite)
	}{
		{"KeepRecognisesASecondPublish", testKeep},
		{"EventsInOrderAndPaged", testEvents},
		{"WebhooksOfOneOwner", testWebhooks},
		{"BeginCreatesAndTakesTheAttempt", testBegin},
		{"BeginIsConditional", testBeginConditions},
		{"SaveRecordsTheAttemptAndState", testSave},
		{"SaveIsConditional", testSaveConditions},
		{"SaveAppliesHealth", testSaveHealth},
		{"SaveDropsAStaleDisableAndItsNotice", testStaleDisable},
		{"NoticeSentOnlyForTheSameAttempts", testNoticeSent},
		{"ParkedDeliveriesComeDueByShard", testParking},
		{"RequeuedOnlyIfUnchanged", testRequeued},
		{"DeliveriesNewestFirstFilteredAndPaged", testDeliveries},
		{"DeliveryAndStatusesOfTheirWebhookOnly", testDeliveryOf},
		{"ReopenAndRestore", testReopen},
		{"GatesAdmitAndCount", testGates},
		{"LimiterTakesUpToTheLimitAndGivesBack", testLimiter},
	} {
		t.Run(c.name, func(t *testing.T) {
			now := time.Now().UTC().Truncate(time.Millisecond)
			hook := newHook(owner, "wh_01KBDX00000000000000000001", now)
			other := newHook(owner, "wh_01KBDX00000000000000000002", now)
			c.run(t, &suite{Ports: h(t, hook, other), ctx: context.Background(), now: now, hook: hook, other: other})
		})
	}
}

// owner is the account and mode of the suite's webhooks.
var owner = tenant.Tenant{Account: "acct_conformance", Mode: tenant.Test}

// newHook returns an active webhook of owner with id, created at now, that a
// store can hold.
func newHook(owner tenant.Tenant, id string, now time.Time) webhook.Webhook {
	return webhook.Webhook{ID: id, Owner: owner, SecretRef: "ref-" + id, CreatedAt: now, UpdatedAt: now, Version: 1,
		Settings: webhook.Settings{URL: "https://hooks.example.com/" + id, Events: []webhook.EventType{webhook.DocumentUploaded},
			IsActive: true, RetryEnabled: true, MaxRetries: 3}}
}

// suite is one subtest's store and fixtures.
type suite struct {
	Ports
	ctx         context.Context
	now         time.Time
	hook, other webhook.Webhook
}

// message is w's delivery of event n, n minutes before now.
func (f *suite) message(w webhook.Webhook, n int) delivery.Message {
	at := f.now.Add(-time.Duration(n) * time.Minute)
	id := fmt.Sprintf("evt_%03d", n)
	return delivery.Message{DeliveryID: delivery.DeliveryID(id, w.ID, at), EventID: id, EventType: webhook.DocumentUploaded,
		EventTime: at, Account: w.Owner.Account, Mode: w.Owner.Mode, WebhookID: w.ID, Payload: []byte(`{"id":"` + id + `"}`)}
}

// begin takes attempt prior+1 of m under claim, and fails t if it cannot.
func (f *suite) begin(t *testing.T, m delivery.Message, claim string, prior int) delivery.Begin {
	t.Helper()
	b := f.beginOf(m, claim, prior)
	if err := f.Begin(f.ctx, b); err != nil {
		t.Fatalf("Begin %d of %s: %v", b.Number, m.DeliveryID, err)
	}
	return b
}

// beginOf is the Begin of attempt prior+1 of m under claim at now.
func (f *suite) beginOf(m delivery.Message, claim string, prior int) delivery.Begin {
	return delivery.Begin{Message: m, Number: prior + 1, Prior: prior, Claim: claim, ClaimedUntil: f.now.Add(time.Minute),
		At: f.now, Until: f.now.Add(30 * time.Second), Expires: f.now.Add(24 * time.Hour)}
}

// record is the Record of attempt prior+1 of m under claim with status,
// leaving the delivery in state.
func (f *suite) record(m delivery.Message, claim string, prior, status int, state delivery.State) delivery.Record {
	r := delivery.Record{Message: m, State: state, Attempts: prior + 1, Prior: prior, Claim: claim, At: f.now,
		Expires: f.now.Add(24 * time.Hour), WebhookVersion: 1,
		Attempt: &delivery.Attempt{DeliveryID: m.DeliveryID, EventID: m.EventID, EventType: string(m.EventType), Owner: m.Owner(),
			WebhookID: m.WebhookID, URL: "https://hooks.example.com/" + m.WebhookID, Number: prior + 1, At: f.now,
			Response: delivery.Response{Status: status, Body: []byte("ok"), Duration: 20 * time.Millisecond}}}
	if state == delivery.StatePending {
		r.NextAttemptAt, r.ClaimedUntil, r.ResendAt = f.now.Add(time.Minute), f.now.Add(2*time.Minute), f.now.Add(time.Minute)
	}
	return r
}

// attempt begins and saves attempt prior+1 of m, and fails t if it cannot.
func (f *suite) attempt(t *testing.T, m delivery.Message, claim string, prior, status int, state delivery.State) delivery.Record {
	t.Helper()
	f.begin(t, m, claim, prior)
	r := f.record(m, claim, prior, status, state)
	if _, err := f.Save(f.ctx, r); err != nil {
		t.Fatalf("Save of attempt %d of %s: %v", r.Attempts, m.DeliveryID, err)
	}
	return r
}

// status reads m's delivery state through Target.
func (f *suite) status(t *testing.T, m delivery.Message) delivery.Status {
	t.Helper()
	tg, err := f.Target(f.ctx, m.Owner(), m.WebhookID, m.DeliveryID)
	if err != nil {
		t.Fatalf("Target: %v", err)
	}
	return tg.Delivery
}

// event is owner's event n, n minutes before now.
func (f *suite) event(n int) delivery.Event {
	id := fmt.Sprintf("evt_%03d", n)
	return delivery.Event{ID: id, Type: webhook.DocumentUploaded, Owner: owner, Time: f.now.Add(-time.Duration(n) * time.Minute),
		SourceID: "src-" + id, Payload: []byte(`{"id":"` + id + `"}`)}
}

// wantChanged fails t unless err is delivery.ErrChanged.
func wantChanged(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, delivery.ErrChanged) {
		t.Errorf("%s: %v, want ErrChanged", what, err)
	}
}
