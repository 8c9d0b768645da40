package webhook_test

import (
	"errors"
	"testing"
	"time"

	"github.com/docproc/webhooks/internal/apperr"
	"github.com/docproc/webhooks/internal/webhook"
)

// The Idempotency-Key of create and rotation requests.

func TestReplayReturnsTheFirstResponse(t *testing.T) {
	f := newFixture(t, webhook.Options{})
	first := f.create("k")
	again := f.create("k")
	if !again.Replayed || first.Replayed {
		t.Errorf("Replayed = %v then %v, want false then true", first.Replayed, again.Replayed)
	}
	if again.Webhook.ID != first.Webhook.ID || !secretOf(again).Equal(secretOf(first)) {
		t.Error("the replay is not the first response")
	}
	if f.calls("Store.Create") != 1 || f.store.Count(owner) != 1 {
		t.Errorf("a replay wrote again: %q", f.faults.Calls())
	}
}

func TestReplayRefusals(t *testing.T) {
	cases := []struct {
		name  string
		setup func(f *fixture) // uses key "k"
		code  string
	}{
		{"other parameters", func(f *fixture) {
			if _, err := f.svc.Create(f.ctx, owner, settings("https://other.example.com"), "k"); err != nil {
				f.t.Fatal(err)
			}
		}, apperr.CodeIdempotencyKeyReused},
		{"a rotation's key", func(f *fixture) {
			w := f.create("").Webhook
			if _, err := f.svc.RotateSecret(f.ctx, owner, w.ID, time.Hour, "k"); err != nil {
				f.t.Fatal(err)
			}
		}, apperr.CodeIdempotencyKeyReused},
		{"first request in progress", func(f *fixture) {
			if prior, err := f.store.ClaimKey(f.ctx, anotherClaim("k", settings(hookURL), t0)); prior != nil || err != nil {
				f.t.Fatal(prior, err)
			}
		}, apperr.CodeIdempotencyKeyInUse},
		{"first secret rotated away", func(f *fixture) {
			f.rotate(f.create("k").Webhook, 0)
		}, apperr.CodeIdempotencyReplayUnavailable},
		{"first secret past its grace", func(f *fixture) {
			f.rotate(f.create("k").Webhook, time.Hour)
			f.clock.advance(time.Hour)
		}, apperr.CodeIdempotencyReplayUnavailable},
		{"webhook deleted", func(f *fixture) {
			if _, err := f.svc.Delete(f.ctx, owner, f.create("k").Webhook.ID); err != nil {
				f.t.Fatal(err)
			}
		}, apperr.CodeResourceMissing},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, webhook.Options{})
			c.setup(f)
			_, err := f.svc.Create(f.ctx, owner, settings(hookURL), "k")
			wantCode(t, err, c.code)
		})
	}
}

func TestReplayFindsARotatedSecretInItsGrace(t *testing.T) {
	f := newFixture(t, webhook.Options{})
	first := f.create("k")
	f.rotate(first.Webhook, time.Hour)
	f.clock.advance(time.Hour - time.Second)
	if again := f.create("k"); !again.Replayed || !secretOf(again).Equal(secretOf(first)) {
		t.Error("the replay did not give the first secret, still in its grace")
	}
}

func TestAFailedCreateReleasesItsKey(t *testing.T) {
	f := newFixture(t, webhook.Options{})
	f.faults.Fail("Store.Create", 1, errUnavailable)
	if _, err := f.svc.Create(f.ctx, owner, settings(hookURL), "k"); !errors.Is(err, errUnavailable) {
		t.Fatalf("err = %v, want the transaction's error", err)
	}
	// The clock has not moved: the lock has not expired, yet the retry runs.
	if r := f.create("k"); r.Replayed {
		t.Error("the retry of a failed request was a replay")
	}
}

func TestAKeyWhoseLockExpiredIsTakenOver(t *testing.T) {
	f := newFixture(t, webhook.Options{})
	f.faults.Fail("Store.ReleaseKey", 1, errUnavailable)
	f.faults.Fail("Store.Create", 1, errUnavailable)
	if _, err := f.svc.Create(f.ctx, owner, settings(hookURL), "k"); err == nil {
		t.Fatal("the failed create succeeded")
	}
	_, err := f.svc.Create(f.ctx, owner, settings(hookURL), "k")
	wantCode(t, err, apperr.CodeIdempotencyKeyInUse)
	f.clock.advance(webhook.DefaultLockTTL + time.Millisecond)
	if r := f.create("k"); r.Replayed {
		t.Error("the take-over was a replay")
	}
}

func TestRotationReplay(t *testing.T) {
	f := newFixture(t, webhook.Options{})
	w := f.create("").Webhook
	first, err := f.svc.RotateSecret(f.ctx, owner, w.ID, time.Hour, "k")
	if err != nil {
		t.Fatal(err)
	}
	again, err := f.svc.RotateSecret(f.ctx, owner, w.ID, time.Hour, "k")
	if err != nil || !again.Replayed || !secretOf(again).Equal(secretOf(first)) || again.Webhook.Version != first.Webhook.Version {
		t.Fatalf("replay = %+v, %v; want the first rotation's answer", again.Webhook, err)
	}
	if f.calls("Store.LockRotation") != 1 {
		t.Error("the replay rotated again")
	}
	_, err = f.svc.RotateSecret(f.ctx, owner, w.ID, 2*time.Hour, "k")
	wantCode(t, err, apperr.CodeIdempotencyKeyReused)
}

// A replay gives the rate limit the first request set, and the same key
// with another rate limit is a reuse.
func TestReplayOfARateLimit(t *testing.T) {
	f := newFixture(t, webhook.Options{})
	limited := settings(hookURL)
	limited.RateLimit = 50
	if _, err := f.svc.Create(f.ctx, owner, limited, "k"); err != nil {
		t.Fatal(err)
	}
	again, err := f.svc.Create(f.ctx, owner, limited, "k")
	if err != nil || !again.Replayed || again.Webhook.RateLimit != 50 {
		t.Fatalf("replay = %+v, %v; want the first webhook, limited to 50 a second", again.Webhook, err)
	}
	for _, rate := range []int{0, 51} {
		other := limited
		other.RateLimit = rate
		_, err := f.svc.Create(f.ctx, owner, other, "k")
		wantCode(t, err, apperr.CodeIdempotencyKeyReused)
	}
}
