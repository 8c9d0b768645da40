package dynamo_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/docproc/webhooks/internal/apperr"
	"github.com/docproc/webhooks/internal/delivery"
	"github.com/docproc/webhooks/internal/dev/testenv"
	"github.com/docproc/webhooks/internal/dynamo"
	"github.com/docproc/webhooks/internal/tenant"
	"github.com/docproc/webhooks/internal/webhook"
)

// deliveryFixture is a stored webhook and a message for it.
func deliveryFixture(t *testing.T, s *dynamo.Store) (webhook.Webhook, delivery.Message) {
	t.Helper()
	now := time.Now().UTC().Truncate(time.Second)
	id, err := webhook.NewID(now)
	if err != nil {
		t.Fatal(err)
	}
	w := webhook.Webhook{ID: id, Owner: tenant.Tenant{Account: testenv.Unique("acct_"), Mode: tenant.Test},
		Settings:  webhook.Settings{URL: "https://e.example.com", Events: webhook.DefaultEvents, IsActive: true, RetryEnabled: true, MaxRetries: 3},
		SecretRef: "arn:x", CreatedAt: now, UpdatedAt: now, Version: 1}
	newWebhookStored(t, s, w)
	m := delivery.Message{DeliveryID: delivery.DeliveryID("evt_1", w.ID, now), EventID: "evt_1", EventType: webhook.DocumentUploaded,
		EventTime: now, Account: w.Owner.Account, Mode: w.Owner.Mode, WebhookID: w.ID, Payload: []byte(`{"id":"evt_1"}`)}
	return w, m
}

// attemptRecord is the record of attempt n of m, failed or delivered.
func attemptRecord(m delivery.Message, claim string, n int, state delivery.State, health delivery.HealthChange) delivery.Record {
	at := time.Now().UTC()
	resp := delivery.Response{Status: 500, Body: []byte("oops"), Duration: 12 * time.Millisecond}
	if state == delivery.StateDelivered {
		resp.Status = 204
	}
	r := delivery.Record{Message: m, State: state, Attempts: n, Prior: n - 1, Claim: claim, At: at, Expires: at.Add(time.Hour),
		Health: health, WebhookVersion: 1, Attempt: &delivery.Attempt{DeliveryID: m.DeliveryID, EventID: m.EventID, EventType: string(m.EventType),
			Owner: m.Owner(), WebhookID: m.WebhookID, URL: "https://e.example.com", Number: n, At: at, Response: resp}}
	if state == delivery.StatePending {
		r.NextAttemptAt = at.Add(time.Minute)
		r.ClaimedUntil = r.NextAttemptAt.Add(delivery.LeaseSlack)
	}
	return r
}

// save begins r's attempt, when it has one, then saves r, as the
// deliverer does. A Begin that conflicts is left to the Save, which
// conflicts too.
func save(ctx context.Context, s *dynamo.Store, r delivery.Record) (bool, error) {
	if a := r.Attempt; a != nil {
		err := s.Begin(ctx, delivery.Begin{Message: r.Message, Number: a.Number, Prior: r.Prior, Claim: r.Claim,
			ClaimedUntil: r.At.Add(delivery.LeaseSlack), At: r.At, Until: r.At.Add(time.Minute), Expires: r.Expires})
		if err != nil && !errors.Is(err, delivery.ErrChanged) {
			return false, err
		}
	}
	return s.Save(ctx, r)
}

func TestDeliveryStateAndHealth(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, b testenv.Backend) {
		ctx := context.Background()
		s := newStore(t, b)
		w, m := deliveryFixture(t, s)
		target, err := s.Target(ctx, w.Owner, w.ID, m.DeliveryID)
		if err != nil || !target.Found || target.Delivery.Exists || target.Webhook.ID != w.ID {
			t.Fatalf("target before any attempt: %+v, %v", target, err)
		}
		first := attemptRecord(m, "msg-a", 1, delivery.StatePending, delivery.StartFailing)
		if _, err := save(ctx, s, first); err != nil {
			t.Fatal(err)
		}
		target, err = s.Target(ctx, w.Owner, w.ID, m.DeliveryID)
		if d := target.Delivery; err != nil || !d.Exists || d.State != delivery.StatePending || d.Attempts != 1 || d.Claim != "msg-a" ||
			!d.NextAttemptAt.Equal(first.NextAttemptAt) || d.ClaimedUntil.UnixMilli() != first.ClaimedUntil.UnixMilli() ||
			target.Webhook.Health.FailingSince.IsZero() {
			t.Fatalf("after a failed attempt: %+v, %v", target, err)
		}
		// Another message, or a stale count, cannot write.
		for _, r := range []delivery.Record{attemptRecord(m, "msg-b", 2, delivery.StatePending, delivery.NoChange),
			attemptRecord(m, "msg-a", 1, delivery.StatePending, delivery.NoChange)} {
			if _, err := save(ctx, s, r); !errors.Is(err, delivery.ErrChanged) {
				t.Fatalf("conflicting save (claim %s, prior %d): %v, want ErrChanged", r.Claim, r.Prior, err)
			}
		}
		// Once the lease has ended, another message (one redriven from the
		// dead-letter queue) may take the delivery over.
		takeover := attemptRecord(m, "msg-redriven", 2, delivery.StateDelivered, delivery.Recover)
		takeover.At = first.ClaimedUntil.Add(time.Second)
		if _, err := save(ctx, s, takeover); err != nil {
			t.Fatal(err)
		}
		target, err = s.Target(ctx, w.Owner, w.ID, m.DeliveryID)
		if err != nil || target.Delivery.State != delivery.StateDelivered || !target.Webhook.Health.FailingSince.IsZero() {
			t.Fatalf("after delivery: %+v, %v", target, err)
		}
		// A webhook's disabling moves its version on; a PATCH that
		// re-enables it clears its health.
		_, m2 := deliveryFixture(t, s)
		m2.WebhookID, m2.Account = w.ID, w.Owner.Account
		gone := attemptRecord(m2, "msg-c", 1, delivery.StateFailed, delivery.Disable)
		gone.Reason = delivery.ReasonGone
		if _, err := save(ctx, s, gone); err != nil {
			t.Fatal(err)
		}
		got, err := s.Get(ctx, w.Owner, w.ID)
		if err != nil || got.IsActive || got.Health.DisabledReason != delivery.ReasonGone || got.Version != 2 || got.Health.DisabledAt.IsZero() {
			t.Fatalf("disabled webhook: %+v, %v", got, err)
		}
		// A 410 answered to a webhook read before a change (version 1) does
		// not disable it again: the delivery is recorded without it.
		_, m3 := deliveryFixture(t, s)
		m3.WebhookID, m3.Account = w.ID, w.Owner.Account
		stale := attemptRecord(m3, "msg-d", 1, delivery.StateFailed, delivery.Disable)
		stale.Reason = "stale"
		if _, err := save(ctx, s, stale); err != nil {
			t.Fatal(err)
		}
		if again, err := s.Get(ctx, w.Owner, w.ID); err != nil || again.Version != 2 || again.Health.DisabledReason != delivery.ReasonGone {
			t.Fatalf("a stale disable changed the webhook: %+v, %v", again, err)
		}
		if tg, err := s.Target(ctx, w.Owner, w.ID, m3.DeliveryID); err != nil || tg.Delivery.State != delivery.StateFailed {
			t.Fatalf("the stale disable's delivery: %+v, %v", tg.Delivery, err)
		}
		got.IsActive, got.Version, got.Health = true, 3, webhook.Health{} // as the service re-enables
		if err := s.Update(ctx, got); err != nil {
			t.Fatal(err)
		}
		if got, err := s.Get(ctx, w.Owner, w.ID); err != nil || !got.IsActive || got.Health != (webhook.Health{}) {
			t.Fatalf("re-enabled webhook: %+v, %v", got, err)
		}
	})
}

func TestDeliverySaveSurvivesADeletedWebhookAndALostAnswer(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, b testenv.Backend) {
		ctx := context.Background()
		s := newStore(t, b)
		w, m := deliveryFixture(t, s)
		if err := s.Delete(ctx, w, time.Now()); err != nil {
			t.Fatal(err)
		}
		// The health update of a deleted webhook must not create an item.
		if _, err := save(ctx, s, attemptRecord(m, "msg-a", 1, delivery.StatePending, delivery.StartFailing)); err != nil {
			t.Fatalf("save for a deleted webhook: %v", err)
		}
		if exists, err := s.Exists(ctx, w.Owner, w.ID); err != nil || exists {
			t.Fatalf("the deleted webhook exists=%v after a health update (%v)", exists, err)
		}
		in := testenv.NewInjector(testenv.Fault{Operation: "TransactWriteItems", Times: 1, AfterSend: true, Err: testenv.ConnectionReset{}})
		lossy := dynamo.New(dynamo.NewClient(b.Config(t, in.Middleware)), s.Table())
		if _, err := save(ctx, lossy, attemptRecord(m, "msg-a", 2, delivery.StateDelivered, delivery.NoChange)); err != nil {
			t.Fatalf("save after a lost answer: %v", err)
		}
		target, err := s.Target(ctx, w.Owner, w.ID, m.DeliveryID)
		if err != nil || target.Found || target.Delivery.State != delivery.StateDelivered || target.Delivery.Attempts != 2 {
			t.Fatalf("target: %+v, %v", target, err)
		}
	})
}

func TestEventLogRecognisesASecondPublish(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, b testenv.Backend) {
		ctx := context.Background()
		s := newStore(t, b)
		ev := delivery.Event{ID: "evt_1", Type: webhook.DocumentUploaded, Owner: tenant.Tenant{Account: "a", Mode: tenant.Test},
			Time: time.Now().UTC(), SourceID: "eb-1", Payload: []byte(`{"id":"evt_1"}`)}
		exp := time.Now().Add(time.Hour)
		if first, err := s.Keep(ctx, ev, exp); err != nil || first != "eb-1" {
			t.Fatalf("first keep: %q, %v", first, err)
		}
		ev.SourceID = "eb-2"
		if first, err := s.Keep(ctx, ev, exp); err != nil || first != "eb-1" {
			t.Fatalf("second publish: %q, %v; want eb-1", first, err)
		}
		ev.Owner.Mode = tenant.Live
		if first, err := s.Keep(ctx, ev, exp); err != nil || first != "eb-2" {
			t.Fatalf("same id in live mode: %q, %v; want its own", first, err)
		}
	})
}

func TestSubscribersAreOneAccountsWebhooks(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, b testenv.Backend) {
		s := newStore(t, b)
		w, _ := deliveryFixture(t, s)
		deliveryFixture(t, s) // another account's
		got, err := s.Webhooks(context.Background(), w.Owner)
		if err != nil || len(got) != 1 || got[0].ID != w.ID {
			t.Fatalf("webhooks of %s: %+v, %v", w.Owner, got, err)
		}
	})
}

func TestARotationInProgressShows(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, b testenv.Backend) {
		ctx := context.Background()
		s := newStore(t, b)
		w, m := deliveryFixture(t, s)
		now := time.Now()
		if _, err := s.LockRotation(ctx, w.Owner, w.ID, "rot-1", now, now.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if tg, err := s.Target(ctx, w.Owner, w.ID, m.DeliveryID); err != nil || !tg.Webhook.Rotating {
			t.Fatalf("locked webhook: rotating=%v, %v", tg.Webhook.Rotating, err)
		}
		if _, err := s.UnlockRotation(ctx, w.Owner, w.ID, "rot-1", now, true); err != nil {
			t.Fatal(err)
		}
		if tg, err := s.Target(ctx, w.Owner, w.ID, m.DeliveryID); err != nil || tg.Webhook.Rotating || tg.Webhook.Version != w.Version+1 {
			t.Fatalf("unlocked webhook: rotating=%v version %d, %v", tg.Webhook.Rotating, tg.Webhook.Version, err)
		}
	})
}

func TestNoticesArePendingUntilSent(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, b testenv.Backend) {
		ctx := context.Background()
		s := newStore(t, b)
		w, m := deliveryFixture(t, s)
		gone := attemptRecord(m, "msg-a", 1, delivery.StateFailed, delivery.Disable)
		gone.Reason, gone.Notify = delivery.ReasonGone, true
		if _, err := save(ctx, s, gone); err != nil {
			t.Fatal(err)
		}
		// The outcome's time is kept for the notice.
		if tg, err := s.Target(ctx, w.Owner, w.ID, m.DeliveryID); err != nil || !tg.Delivery.NoticePending || tg.Delivery.Reason != delivery.ReasonGone ||
			!tg.Delivery.UpdatedAt.Equal(gone.At) {
			t.Fatalf("after a disabling attempt at %s: %+v, %v; want its notice pending, updated then", gone.At, tg.Delivery, err)
		}
		if err := s.NoticeSent(ctx, w.ID, m.DeliveryID, 2); err != nil {
			t.Fatal(err)
		}
		if tg, err := s.Target(ctx, w.Owner, w.ID, m.DeliveryID); err != nil || !tg.Delivery.NoticePending {
			t.Fatalf("a notice of another attempt count cleared this one: %+v, %v", tg.Delivery, err)
		}
		if err := s.NoticeSent(ctx, w.ID, m.DeliveryID, 1); err != nil {
			t.Fatal(err)
		}
		if tg, err := s.Target(ctx, w.Owner, w.ID, m.DeliveryID); err != nil || tg.Delivery.NoticePending || tg.Delivery.State != delivery.StateFailed {
			t.Fatalf("after the notice was sent: %+v, %v", tg.Delivery, err)
		}
		// Clearing the notice of a delivery no longer stored creates nothing.
		missing := delivery.DeliveryID("evt_gone", w.ID, time.Now())
		if err := s.NoticeSent(ctx, w.ID, missing, 1); err != nil {
			t.Fatalf("notice of a missing delivery: %v", err)
		}
		if tg, err := s.Target(ctx, w.Owner, w.ID, missing); err != nil || tg.Delivery.Exists {
			t.Fatalf("clearing a missing delivery's notice stored it: %+v, %v", tg.Delivery, err)
		}
		// A disable answered to a webhook read before a change (version 1
		// again) did not happen, so it owes no notice; an exhausted
		// delivery does.
		_, m2 := deliveryFixture(t, s)
		m2.WebhookID, m2.Account = w.ID, w.Owner.Account
		stale := attemptRecord(m2, "msg-b", 1, delivery.StateFailed, delivery.Disable)
		stale.Reason, stale.Notify = delivery.ReasonGone, true
		if notified, err := save(ctx, s, stale); err != nil || notified {
			t.Fatalf("a stale disable: notified %v, %v; want its notice dropped", notified, err)
		}
		if tg, err := s.Target(ctx, w.Owner, w.ID, m2.DeliveryID); err != nil || tg.Delivery.NoticePending || tg.Delivery.State != delivery.StateFailed {
			t.Fatalf("after a stale disable: %+v, %v; want no notice pending", tg.Delivery, err)
		}
		_, m3 := deliveryFixture(t, s)
		m3.WebhookID, m3.Account = w.ID, w.Owner.Account
		exhausted := attemptRecord(m3, "msg-c", 1, delivery.StateFailed, delivery.NoChange)
		exhausted.Reason, exhausted.Notify = delivery.ReasonExhausted, true
		if notified, err := save(ctx, s, exhausted); err != nil || !notified {
			t.Fatalf("an exhausted delivery: notified %v, %v", notified, err)
		}
		if tg, err := s.Target(ctx, w.Owner, w.ID, m3.DeliveryID); err != nil || !tg.Delivery.NoticePending {
			t.Fatalf("after an exhausted delivery: %+v, %v; want its notice pending", tg.Delivery, err)
		}
	})
}

// TestFailuresInARowAreCounted checks the count of failed attempts the
// rule that disables a failing endpoint needs: kept with failing_since,
// ended by a delivered attempt, and never left over from before a
// re-enable.
func TestFailuresInARowAreCounted(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, b testenv.Backend) {
		ctx := context.Background()
		s := newStore(t, b)
		w, m := deliveryFixture(t, s)
		n := 0
		// save records a failed attempt of a delivery of its own with
		// health change h, and returns the webhook's health after it.
		save := func(h delivery.HealthChange) (delivery.Record, webhook.Health) {
			t.Helper()
			msg := m
			msg.EventID = fmt.Sprintf("evt_count_%d", n)
			msg.DeliveryID = delivery.DeliveryID(msg.EventID, w.ID, msg.EventTime)
			n++
			r := attemptRecord(msg, "msg-a", 1, delivery.StateFailed, h)
			if _, err := save(ctx, s, r); err != nil {
				t.Fatalf("save with health change %v: %v", h, err)
			}
			if tg, err := s.Target(ctx, w.Owner, w.ID, msg.DeliveryID); err != nil || tg.Delivery.State != delivery.StateFailed {
				t.Fatalf("the attempt with health change %v: %+v, %v", h, tg.Delivery, err)
			}
			got, err := s.Get(ctx, w.Owner, w.ID)
			if err != nil {
				t.Fatal(err)
			}
			return r, got.Health
		}
		first, h := save(delivery.StartFailing)
		if !h.FailingSince.Equal(first.At) || h.FailingAttempts != 1 {
			t.Fatalf("after the first failure: %+v", h)
		}
		if _, h = save(delivery.CountFailure); !h.FailingSince.Equal(first.At) || h.FailingAttempts != 2 {
			t.Fatalf("after a second failure: %+v", h)
		}
		// An attempt that read the webhook healthy before the first failure
		// was recorded: its failure is recorded, its start is not.
		if _, h = save(delivery.StartFailing); !h.FailingSince.Equal(first.At) || h.FailingAttempts != 2 {
			t.Fatalf("after a stale start: %+v", h)
		}
		if _, h = save(delivery.Recover); h != (webhook.Health{}) {
			t.Fatalf("after a delivered attempt: %+v", h)
		}
		// One that read it failing before it recovered counts nothing.
		if _, h = save(delivery.CountFailure); h != (webhook.Health{}) {
			t.Fatalf("after a stale count: %+v", h)
		}
		// A re-enable clears failing_since; the count it leaves is not read,
		// and the next streak counts afresh.
		save(delivery.StartFailing)
		save(delivery.CountFailure)
		got, err := s.Get(ctx, w.Owner, w.ID)
		if err != nil {
			t.Fatal(err)
		}
		got.Version, got.Health = got.Version+1, webhook.Health{} // as the service re-enables
		if err := s.Update(ctx, got); err != nil {
			t.Fatal(err)
		}
		if again, err := s.Get(ctx, w.Owner, w.ID); err != nil || again.Health != (webhook.Health{}) {
			t.Fatalf("re-enabled: %+v, %v", again.Health, err)
		}
		if _, h = save(delivery.StartFailing); h.FailingAttempts != 1 {
			t.Fatalf("the first failure after a re-enable: %+v", h)
		}
	})
}

// A Save whose transaction concurrent ones keep cancelling is tried
// transactionTries times, then reported as unavailable, for the caller to
// try again later; nothing of it was written.
func TestSaveGivesUpOnAConflictAfterItsTries(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, b testenv.Backend) {
		ctx := context.Background()
		s := newStore(t, b)
		w, m := deliveryFixture(t, s)
		conflict := &types.TransactionCanceledException{Message: aws.String("injected"),
			CancellationReasons: []types.CancellationReason{{Code: aws.String("None")}, {Code: aws.String("TransactionConflict")}}}
		in := testenv.NewInjector(testenv.Fault{Operation: "TransactWriteItems", Times: 100, Err: conflict})
		conflicted := dynamo.New(dynamo.NewClient(b.Config(t, in.Middleware)), s.Table())
		_, err := save(ctx, conflicted, attemptRecord(m, "msg-a", 1, delivery.StatePending, delivery.NoChange))
		if !errors.Is(err, apperr.ErrUnavailable) {
			t.Fatalf("save through conflicts: %v; want apperr.ErrUnavailable", err)
		}
		if n := in.Calls("TransactWriteItems"); n != dynamo.TransactionTries {
			t.Errorf("TransactWriteItems tried %d times; want %d", n, dynamo.TransactionTries)
		}
		target, err := s.Target(ctx, w.Owner, w.ID, m.DeliveryID)
		if err != nil || target.Delivery.Attempts != 0 {
			t.Errorf("after the conflicts: %+v, %v; want no attempt recorded", target.Delivery, err)
		}
	})
}
