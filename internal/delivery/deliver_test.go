package delivery_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/docproc/webhooks/internal/delivery"
	"github.com/docproc/webhooks/internal/tenant"
	"github.com/docproc/webhooks/internal/webhook"
)

var owner = tenant.Tenant{Account: "acct_1", Mode: tenant.Test}

// fixture is a deliverer with one webhook and its secret.
type fixture struct {
	store   *memStore
	queue   *queueFake
	secrets *memSecrets
	sender  *scriptedSender
	d       *delivery.Deliverer
	hook    webhook.Webhook
	now     time.Time
}

func newFixture(t *testing.T, s webhook.Settings, script ...delivery.Response) *fixture {
	t.Helper()
	secret, err := webhook.NewSigningSecret()
	if err != nil {
		t.Fatal(err)
	}
	hook := webhook.Webhook{ID: "wh_01", Owner: owner, Settings: s, SecretRef: "ref-1", Version: 1}
	f := &fixture{
		store:   newMemStore(hook),
		queue:   &queueFake{},
		secrets: &memSecrets{sets: map[string]webhook.SecretSet{"ref-1": webhook.NewSecretSet(secret)}},
		sender:  &scriptedSender{script: script},
		hook:    hook,
		now:     time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC),
	}
	f.d = &delivery.Deliverer{Store: f.store, Secrets: f.secrets, Sender: f.sender, Schedule: delivery.Schedule{time.Minute},
		DisableAfter: 5 * 24 * time.Hour, Retention: delivery.DefaultRetention, Queue: f.queue, Gates: f.store, Parking: f.store, Now: func() time.Time { return f.now }}
	return f
}

func settings(retry bool, maxRetries int) webhook.Settings {
	return webhook.Settings{URL: "https://hooks.example.com/x", Events: []webhook.EventType{webhook.DocumentUploaded},
		IsActive: true, RetryEnabled: retry, MaxRetries: maxRetries}
}

func message() delivery.Message {
	at := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	return delivery.Message{DeliveryID: delivery.DeliveryID("evt_1", "wh_01", at), EventID: "evt_1",
		EventType: webhook.DocumentUploaded, EventTime: at, Account: owner.Account, Mode: owner.Mode,
		WebhookID: "wh_01", Payload: []byte(`{"id":"evt_1"}`)}
}

// run delivers m as claim until the message is done, advancing the clock
// by each wait, and returns the steps.
func (f *fixture) run(t *testing.T, m delivery.Message, claim string) []delivery.Step {
	t.Helper()
	var steps []delivery.Step
	for range 50 {
		step, err := f.d.Deliver(context.Background(), m, claim)
		if err != nil {
			t.Fatal(err)
		}
		steps = append(steps, step)
		if !step.Retry {
			return steps
		}
		f.now = f.now.Add(step.Wait)
	}
	t.Fatal("the delivery never ended")
	return nil
}

func TestAttemptsFollowTheRetrySettings(t *testing.T) {
	for _, tc := range []struct {
		name  string
		retry bool
		max   int
		want  int
	}{
		{"retries off", false, 5, 1},
		{"zero retries", true, 0, 1},
		{"three retries", true, 3, 4},
		{"ten retries", true, 10, 11},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, settings(tc.retry, tc.max), fail500)
			steps := f.run(t, message(), "m1")
			if got := len(f.sender.requests); got != tc.want {
				t.Fatalf("%d attempts, want %d", got, tc.want)
			}
			last := steps[len(steps)-1]
			if last.Outcome != delivery.OutcomeFailed || last.Reason != delivery.ReasonExhausted {
				t.Fatalf("last step %+v, want failed: %s", last, delivery.ReasonExhausted)
			}
			for i, r := range f.store.records {
				if r.Attempt == nil || r.Attempt.Number != i+1 {
					t.Fatalf("record %d has attempt %+v", i, r.Attempt)
				}
			}
		})
	}
}

func TestFailThenSucceedRecoversHealth(t *testing.T) {
	f := newFixture(t, settings(true, 5), fail500, ok200)
	steps := f.run(t, message(), "m1")
	if len(steps) != 2 || steps[0].Outcome != delivery.OutcomeRetry || steps[1].Outcome != delivery.OutcomeDelivered {
		t.Fatalf("steps %+v", steps)
	}
	if f.store.records[0].Health != delivery.StartFailing || f.store.records[1].Health != delivery.Recover {
		t.Fatalf("health changes %v, %v", f.store.records[0].Health, f.store.records[1].Health)
	}
	if !f.store.hook("wh_01").Health.FailingSince.IsZero() {
		t.Fatal("failing_since not cleared after a delivered attempt")
	}
	// Same webhook-id on every attempt, a fresh timestamp each time.
	r := f.sender.requests
	if r[0].DeliveryID != r[1].DeliveryID || !r[1].Timestamp.After(r[0].Timestamp) || r[0].Signature == r[1].Signature {
		t.Fatalf("retry headers: %+v then %+v", r[0], r[1])
	}
}

func TestGoneDisablesTheWebhook(t *testing.T) {
	f := newFixture(t, settings(true, 5), status(410))
	steps := f.run(t, message(), "m1")
	if len(steps) != 1 || steps[0].Reason != delivery.ReasonGone {
		t.Fatalf("steps %+v", steps)
	}
	w := f.store.hook("wh_01")
	if w.IsActive || w.Health.DisabledReason != delivery.ReasonGone {
		t.Fatalf("webhook after 410: active=%v reason=%q", w.IsActive, w.Health.DisabledReason)
	}
}

func TestFailingForDisableAfterDisables(t *testing.T) {
	f := newFixture(t, settings(true, 10), fail500)
	w := f.store.hook("wh_01")
	// Failing for a minute short of DisableAfter, and two attempts short
	// of DisableAfterAttempts.
	w.Health.FailingSince = f.now.Add(-5*24*time.Hour + time.Minute)
	w.Health.FailingAttempts = delivery.DisableAfterAttempts - 2
	f.store.hooks["wh_01"] = w
	f.d.Schedule = delivery.Schedule{2 * time.Minute}
	steps := f.run(t, message(), "m1")
	last := steps[len(steps)-1]
	if len(steps) != 2 || last.Reason != delivery.ReasonFailing {
		t.Fatalf("steps %+v, want a retry and then disable", steps)
	}
	if w := f.store.hook("wh_01"); w.IsActive || w.Health.DisabledReason != delivery.ReasonFailing {
		t.Fatalf("webhook: %+v", w)
	}
}

func TestASparseEndpointIsNotDisabledByItsSecondFailure(t *testing.T) {
	f := newFixture(t, settings(false, 0), fail500) // one attempt per event
	event := func(i int) delivery.Message {
		m := message()
		m.EventID = fmt.Sprintf("evt_sparse_%d", i)
		m.DeliveryID = delivery.DeliveryID(m.EventID, f.hook.ID, m.EventTime)
		return m
	}
	// One failed attempt, then no traffic for six days: the next failure
	// is only the second.
	f.run(t, event(0), "m0")
	f.now = f.now.Add(6 * 24 * time.Hour)
	steps := f.run(t, event(1), "m1")
	if w := f.store.hook(f.hook.ID); !w.IsActive || steps[0].Reason != delivery.ReasonExhausted {
		t.Fatalf("after its second failure in six days: active %v, step %+v; want it active", w.IsActive, steps[0])
	}
	// Failures that go on disable it once there are DisableAfterAttempts.
	for i := 2; i < delivery.DisableAfterAttempts-1; i++ {
		f.run(t, event(i), "m")
	}
	if w := f.store.hook(f.hook.ID); !w.IsActive || w.Health.FailingAttempts != delivery.DisableAfterAttempts-1 {
		t.Fatalf("after %d failures: active %v, %d counted", delivery.DisableAfterAttempts-1, w.IsActive, w.Health.FailingAttempts)
	}
	steps = f.run(t, event(delivery.DisableAfterAttempts-1), "m")
	if w := f.store.hook(f.hook.ID); w.IsActive || steps[0].Reason != delivery.ReasonFailing {
		t.Fatalf("after %d failures: active %v, step %+v; want it disabled", delivery.DisableAfterAttempts, w.IsActive, steps[0])
	}
}

func TestFailuresAreCountedOnlyAsFarAsTheRuleNeeds(t *testing.T) {
	f := newFixture(t, settings(false, 0), fail500)
	w := f.store.hook(f.hook.ID)
	w.Health.FailingSince, w.Health.FailingAttempts = f.now.Add(-time.Hour), delivery.DisableAfterAttempts
	f.store.hooks[w.ID] = w
	f.run(t, message(), "m1")
	if r := f.store.records[0]; r.Health != delivery.NoChange || f.store.hook(w.ID).Health.FailingAttempts != delivery.DisableAfterAttempts {
		t.Fatalf("a failure past the count the rule needs: health change %v, %d counted; want none written", r.Health,
			f.store.hook(w.ID).Health.FailingAttempts)
	}
}

func TestConfigChangesReachWorkInFlight(t *testing.T) {
	change := map[string]func(w *webhook.Webhook){
		delivery.ReasonDeleted:      nil,
		delivery.ReasonInactive:     func(w *webhook.Webhook) { w.IsActive = false },
		delivery.ReasonUnsubscribed: func(w *webhook.Webhook) { w.Events = []webhook.EventType{webhook.DocumentProcessingFailed} },
	}
	for reason, apply := range change {
		t.Run(reason, func(t *testing.T) {
			f := newFixture(t, settings(true, 3), fail500)
			if _, err := f.d.Deliver(context.Background(), message(), "m1"); err != nil {
				t.Fatal(err)
			}
			if apply == nil {
				delete(f.store.hooks, "wh_01")
			} else {
				w := f.store.hooks["wh_01"]
				apply(&w)
				f.store.hooks["wh_01"] = w
			}
			step, err := f.d.Deliver(context.Background(), message(), "m1")
			if err != nil {
				t.Fatal(err)
			}
			if step.Outcome != delivery.OutcomeSkipped || step.Reason != reason || len(f.sender.requests) != 1 {
				t.Fatalf("step %+v after %d requests, want skipped: %s after 1", step, len(f.sender.requests), reason)
			}
		})
	}
	t.Run("new url", func(t *testing.T) {
		f := newFixture(t, settings(true, 3), fail500, ok200)
		first, err := f.d.Deliver(context.Background(), message(), "m1")
		if err != nil {
			t.Fatal(err)
		}
		f.now = f.now.Add(first.Wait)
		w := f.store.hooks["wh_01"]
		w.URL = "https://other.example.com/y"
		f.store.hooks["wh_01"] = w
		if _, err := f.d.Deliver(context.Background(), message(), "m1"); err != nil {
			t.Fatal(err)
		}
		if got := f.sender.requests[1].URL; got != w.URL {
			t.Fatalf("second attempt went to %s, want %s", got, w.URL)
		}
	})
	t.Run("lowered max_retries", func(t *testing.T) {
		f := newFixture(t, settings(true, 3), fail500)
		if _, err := f.d.Deliver(context.Background(), message(), "m1"); err != nil {
			t.Fatal(err)
		}
		w := f.store.hooks["wh_01"]
		w.MaxRetries = 0
		f.store.hooks["wh_01"] = w
		step, err := f.d.Deliver(context.Background(), message(), "m1")
		if err != nil || step.Reason != delivery.ReasonExhausted || len(f.sender.requests) != 1 {
			t.Fatalf("step %+v, %v after %d requests", step, err, len(f.sender.requests))
		}
	})
}

func TestDeliveredOrForeignMessagesAreNotPostedAgain(t *testing.T) {
	f := newFixture(t, settings(true, 3), ok200)
	f.run(t, message(), "m1")
	for _, claim := range []string{"m1", "m2"} {
		step, err := f.d.Deliver(context.Background(), message(), claim)
		if err != nil || step.Outcome != delivery.OutcomeDuplicate {
			t.Fatalf("redelivery as %s: %+v, %v", claim, step, err)
		}
	}
	if len(f.sender.requests) != 1 {
		t.Fatalf("%d POSTs, want 1", len(f.sender.requests))
	}
	// A second message of a pending delivery does not start a second
	// series of attempts.
	g := newFixture(t, settings(true, 3), fail500)
	if _, err := g.d.Deliver(context.Background(), message(), "m1"); err != nil {
		t.Fatal(err)
	}
	step, err := g.d.Deliver(context.Background(), message(), "m2")
	if err != nil || step.Outcome != delivery.OutcomeDuplicate || len(g.sender.requests) != 1 {
		t.Fatalf("second message: %+v, %v, %d POSTs", step, err, len(g.sender.requests))
	}
}

func TestEarlyMessagesWaitAndLeasesEnd(t *testing.T) {
	f := newFixture(t, settings(true, 3), fail500, ok200)
	f.d.Schedule = delivery.Schedule{time.Hour}
	first, err := f.d.Deliver(context.Background(), message(), "m1")
	if err != nil || !first.Retry {
		t.Fatal(first, err)
	}
	// Back after 6 minutes (a failed visibility change): it waits the
	// rest, unattempted.
	f.now = f.now.Add(6 * time.Minute)
	step, err := f.d.Deliver(context.Background(), message(), "m1")
	if err != nil || step.Outcome != delivery.OutcomeEarly || !step.Retry || step.Wait != first.Wait-6*time.Minute || len(f.sender.requests) != 1 {
		t.Fatalf("early return: %+v, %v, %d POSTs; want to wait %s more", step, err, len(f.sender.requests), first.Wait-6*time.Minute)
	}
	// A message redriven from the dead-letter queue (a new id) is a
	// duplicate while m1's lease lasts, and takes over once it ended.
	f.now = f.now.Add(first.Wait)
	if step, err := f.d.Deliver(context.Background(), message(), "redriven"); err != nil || step.Outcome != delivery.OutcomeDuplicate {
		t.Fatalf("within the lease: %+v, %v", step, err)
	}
	f.now = f.now.Add(delivery.LeaseSlack)
	if step, err := f.d.Deliver(context.Background(), message(), "redriven"); err != nil || step.Outcome != delivery.OutcomeDelivered {
		t.Fatalf("after the lease: %+v, %v", step, err)
	}
}

func TestAConflictUnderTheSameClaimBringsTheMessageBack(t *testing.T) {
	f := newFixture(t, settings(true, 3), fail500)
	f.store.saveErr = delivery.ErrChanged // another receipt of m1 recorded first
	step, err := f.d.Deliver(context.Background(), message(), "m1")
	if !errors.Is(err, delivery.ErrChanged) || step.Attempt == nil {
		t.Fatalf("%+v, %v; want the conflict reported with the attempt made", step, err)
	}
}

func TestSecretsAreCachedUntilTheWebhookChanges(t *testing.T) {
	f := newFixture(t, settings(false, 0), ok200)
	for i := range 3 {
		m := message()
		m.DeliveryID = delivery.DeliveryID("evt_"+string(rune('a'+i)), "wh_01", m.EventTime)
		if _, err := f.d.Deliver(context.Background(), m, "m"); err != nil {
			t.Fatal(err)
		}
	}
	if f.secrets.reads != 1 {
		t.Fatalf("%d secret reads for 3 deliveries, want 1", f.secrets.reads)
	}
	// A rotation bumps the version: the next delivery signs with the new
	// secret and the old one in grace.
	next, err := webhook.NewSigningSecret()
	if err != nil {
		t.Fatal(err)
	}
	rotated, err := f.secrets.sets["ref-1"].Rotate(next, time.Hour, f.now)
	if err != nil {
		t.Fatal(err)
	}
	f.secrets.sets["ref-1"] = rotated
	w := f.store.hooks["wh_01"]
	w.Version++
	f.store.hooks["wh_01"] = w
	m := message()
	m.DeliveryID = delivery.DeliveryID("evt_z", "wh_01", m.EventTime)
	if _, err := f.d.Deliver(context.Background(), m, "m"); err != nil {
		t.Fatal(err)
	}
	sig := f.sender.requests[len(f.sender.requests)-1].Signature
	if f.secrets.reads != 2 || len(strings.Fields(sig)) != 2 {
		t.Fatalf("after rotation: %d reads, signature %q; want 2 reads and 2 signatures", f.secrets.reads, sig)
	}
}

func TestARotationLeftUnfinishedIsNotCached(t *testing.T) {
	f := newFixture(t, settings(false, 0), ok200)
	w := f.store.hooks["wh_01"]
	w.Rotating = true // a rotation put the secret but never moved the version
	f.store.hooks["wh_01"] = w
	for i := range 2 {
		m := message()
		m.DeliveryID = delivery.DeliveryID("evt_r"+string(rune('a'+i)), "wh_01", m.EventTime)
		if _, err := f.d.Deliver(context.Background(), m, "m"); err != nil {
			t.Fatal(err)
		}
	}
	if f.secrets.reads != 2 {
		t.Fatalf("%d secret reads for 2 deliveries of a webhook held by a rotation, want 2", f.secrets.reads)
	}
}

func TestDependencyFailureDecidesNothing(t *testing.T) {
	f := newFixture(t, settings(true, 3), ok200)
	f.store.saveErr = errors.New("throttled")
	if _, err := f.d.Deliver(context.Background(), message(), "m1"); err == nil {
		t.Fatal("a failed record was not reported")
	}
	g := newFixture(t, settings(true, 3), ok200)
	delete(g.secrets.sets, "ref-1")
	step, err := g.d.Deliver(context.Background(), message(), "m1")
	if err != nil || step.Reason != delivery.ReasonDeleted {
		t.Fatalf("a missing secret: %+v, %v; want skipped as deleted", step, err)
	}
}

func TestScheduleWaits(t *testing.T) {
	s := delivery.DefaultSchedule
	for n, want := range map[int]time.Duration{1: 5 * time.Second, 6: 10 * time.Hour, 9: 10 * time.Hour} {
		got := s.Wait(n, 0)
		if lo, hi := want-want/10, want+want/10; got < lo || got > hi {
			t.Errorf("wait %d = %s, want %s ± 10%%", n, got, want)
		}
	}
	spread := map[time.Duration]bool{}
	for range 20 {
		got := s.Wait(1, 30*time.Minute)
		if got < 30*time.Minute || got > 33*time.Minute {
			t.Errorf("Retry-After 30m gave %s, want 30m to 33m", got)
		}
		spread[got] = true
	}
	if len(spread) < 2 {
		t.Errorf("Retry-After 30m gave the same wait 20 times: %v; want them spread", spread)
	}
	if got := s.Wait(1, 48*time.Hour); got < delivery.MaxRetryAfter || got > delivery.MaxRetryAfter*11/10 {
		t.Errorf("Retry-After 48h gave %s, want the cap %s and its jitter", got, delivery.MaxRetryAfter)
	}
	if got, err := delivery.ParseSchedule(" 1s, 2m ,24h"); err != nil || got.String() != "1s,2m0s,24h0m0s" {
		t.Errorf("ParseSchedule: %v, %v", got, err)
	}
	for _, bad := range []string{"", "1s,", "-1s", "24h1s", "soon"} {
		if _, err := delivery.ParseSchedule(bad); err == nil {
			t.Errorf("ParseSchedule(%q) accepted", bad)
		}
	}
}
