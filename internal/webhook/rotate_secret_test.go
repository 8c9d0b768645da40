package webhook_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/docproc/webhooks/internal/webhook"
	"github.com/docproc/webhooks/internal/webhook/webhooktest"
)

// RotateSecret and PruneSecrets.

// pruneCheck is the check a rotation at t0 notes for when the replaced
// secret expires.
func pruneCheck(id string, grace time.Duration) webhook.SecretCheck {
	return webhook.SecretCheck{Kind: webhook.CheckPrune, Owner: owner, WebhookID: id, At: t0.Add(grace)}
}

// lockAsAnother takes owner's webhook id's rotation lock for another
// request until until.
func (f *fixture) lockAsAnother(id string, until time.Time) {
	f.t.Helper()
	if _, err := f.store.LockRotation(f.ctx, owner, id, "another", f.clock.Now(), until); err != nil {
		f.t.Fatalf("lock: %v", err)
	}
}

// wantRotated fails the test unless r committed a rotation of before: its
// secret is current, its webhook one version on and the rotation lock free.
func (f *fixture) wantRotated(before webhook.Webhook, r webhook.WithSecret) {
	f.t.Helper()
	if set := f.secretSet(before.SecretRef); !set.Current.Equal(secretOf(r)) || secretOf(r).IsZero() {
		f.t.Error("the answered secret is not the current one")
	}
	if r.Webhook.Version != before.Version+1 || !r.Webhook.UpdatedAt.Equal(f.clock.Now().Truncate(time.Second)) {
		f.t.Errorf("rotated webhook at version %d, updated %v; want %d, now", r.Webhook.Version, r.Webhook.UpdatedAt, before.Version+1)
	}
	now := f.clock.Now()
	if _, err := f.store.LockRotation(f.ctx, owner, before.ID, "probe", now, now); err != nil {
		f.t.Errorf("the rotation lock was not released: %v", err)
	} else if _, err := f.store.UnlockRotation(f.ctx, owner, before.ID, "probe", now, false); err != nil {
		f.t.Errorf("unlock the probe: %v", err)
	}
}

func TestRotateKeepsTheReplacedSecretForItsGrace(t *testing.T) {
	f := newFixture(t, webhook.Options{})
	created := f.create("")
	r := f.rotate(created.Webhook, time.Hour)
	f.wantRotated(created.Webhook, r)
	want := []webhook.OldSecret{{Value: secretOf(created), SHA256: secretOf(created).SHA256(), ExpiresAt: t0.Add(time.Hour)}}
	if got := f.secretSet(created.Webhook.SecretRef).Previous; !slices.EqualFunc(got, want, sameOldSecret) {
		t.Errorf("previous secrets = %d, want the replaced one until now + grace", len(got))
	}
	f.wantChecks(pruneCheck(created.Webhook.ID, time.Hour))
}

func TestRotateWithoutGraceDropsTheReplacedSecret(t *testing.T) {
	f := newFixture(t, webhook.Options{})
	created := f.create("")
	r := f.rotate(created.Webhook, 0)
	f.wantRotated(created.Webhook, r)
	if prev := f.secretSet(created.Webhook.SecretRef).Previous; len(prev) != 0 {
		t.Errorf("%d previous secrets kept, want none", len(prev))
	}
	f.wantChecks() // nothing to prune
}

func TestRotateWhileAnotherRotates(t *testing.T) {
	f := newFixture(t, webhook.Options{})
	created := f.create("")
	f.lockAsAnother(created.Webhook.ID, t0.Add(time.Minute))
	_, err := f.svc.RotateSecret(f.ctx, owner, created.Webhook.ID, time.Hour, "")
	wantCode(t, err, "rotation_in_progress")
	if !errors.Is(err, webhook.ErrLocked) {
		t.Errorf("err = %v, want ErrLocked as its cause", err)
	}
	if f.calls("SecretStore.Put") != 0 {
		t.Error("a refused rotation wrote the secret")
	}
	f.clock.advance(time.Minute + time.Millisecond) // the other's lock expires
	f.wantRotated(created.Webhook, f.rotate(created.Webhook, time.Hour))
}

func TestRotateOfAnotherOwnersWebhook(t *testing.T) {
	f := newFixture(t, webhook.Options{})
	theirs, err := f.svc.Create(f.ctx, stranger, settings("https://e.com"), "")
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.RotateSecret(f.ctx, owner, theirs.Webhook.ID, time.Hour, "")
	wantCode(t, err, "resource_missing")
}

func TestRotateAnswersSuccessOnceTheSecretIsStored(t *testing.T) {
	cases := []struct {
		name   string
		faults func(*webhooktest.Faults)
	}{
		{"unlock fails", func(f *webhooktest.Faults) { f.Fail("Store.UnlockRotation", 1, errUnavailable) }},
		{"unlock finds its lock lost", func(f *webhooktest.Faults) { f.Fail("Store.UnlockRotation", 1, webhook.ErrLockLost) }},
		{"put committed behind an error", func(f *webhooktest.Faults) { f.FailAfter("SecretStore.Put", 1, errUnavailable) }},
		{"prune check not noted", func(f *webhooktest.Faults) { f.Fail("Store.NoteCheck", 2, errUnavailable) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, webhook.Options{})
			created := f.create("")
			c.faults(f.faults)
			r, err := f.svc.RotateSecret(f.ctx, owner, created.Webhook.ID, time.Hour, "")
			if err != nil {
				t.Fatalf("a committed rotation answered %v", err)
			}
			if set := f.secretSet(created.Webhook.SecretRef); !set.Current.Equal(secretOf(r)) {
				t.Error("the answered secret is not the current one")
			}
			if r.Webhook.Version != 2 || !r.Webhook.UpdatedAt.Equal(t0) {
				t.Errorf("answered version %d updated %v, want 2 at t0", r.Webhook.Version, r.Webhook.UpdatedAt)
			}
		})
	}
}

func TestRotateThatDidNotStoreTheSecretChangesNothing(t *testing.T) {
	cases := []struct {
		name   string
		faults func(*webhooktest.Faults)
	}{
		{"put failed", func(f *webhooktest.Faults) { f.Fail("SecretStore.Put", 1, errUnavailable) }},
		{"put outcome unreadable", func(f *webhooktest.Faults) {
			f.FailAfter("SecretStore.Put", 1, errUnavailable)
			f.Fail("SecretStore.Get", 2, errUnavailable)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, webhook.Options{})
			created := f.create("")
			c.faults(f.faults)
			if _, err := f.svc.RotateSecret(f.ctx, owner, created.Webhook.ID, time.Hour, ""); !errors.Is(err, errUnavailable) {
				t.Fatalf("err = %v, want the put's error", err)
			}
			if got := f.stored(created.Webhook.ID); got.Version != 1 {
				t.Errorf("version = %d, want 1: a failed rotation changes nothing", got.Version)
			}
			f.wantChecks()
			// The lock was released: the next rotation runs at once.
			f.wantRotated(created.Webhook, f.rotate(created.Webhook, time.Hour))
		})
	}
}

func TestRotateBeyondMaxOldSecrets(t *testing.T) {
	f := newFixture(t, webhook.Options{})
	w := f.create("").Webhook
	for range webhook.MaxOldSecrets {
		w = f.rotate(w, time.Hour).Webhook
	}
	_, err := f.svc.RotateSecret(f.ctx, owner, w.ID, time.Hour, "")
	wantCode(t, err, "rotation_limit_reached")
	if got := f.stored(w.ID); got.Version != w.Version {
		t.Errorf("version = %d, want %d: a refused rotation changes nothing", got.Version, w.Version)
	}
	if n := len(f.secretSet(w.SecretRef).Previous); n != webhook.MaxOldSecrets {
		t.Errorf("%d previous secrets, want %d", n, webhook.MaxOldSecrets)
	}
	f.rotate(w, 0) // the lock is free, and without grace nothing more is kept
}

func TestPruneSecrets(t *testing.T) {
	f := newFixture(t, webhook.Options{})
	w := f.create("").Webhook
	w = f.rotate(w, time.Hour).Webhook
	kept := f.rotate(w, 3*time.Hour)
	ref := w.SecretRef
	before := f.secretSet(ref)

	f.clock.advance(time.Minute) // nothing has expired: nothing is locked
	if n, err := f.svc.PruneSecrets(f.ctx, owner, w.ID, ref); n != 0 || err != nil || f.calls("Store.LockRotation") != 2 {
		t.Fatalf("early prune = %d, %v, after %q", n, err, f.faults.Calls())
	}

	f.clock.advance(2 * time.Hour) // the first replaced secret has expired
	f.lockAsAnother(w.ID, f.clock.Now().Add(time.Minute))
	if n, err := f.svc.PruneSecrets(f.ctx, owner, w.ID, ref); n != 0 || err != nil {
		t.Fatalf("prune of a locked webhook = %d, %v; want it skipped", n, err)
	}
	if got := f.secretSet(ref); len(got.Previous) != 2 {
		t.Fatal("a locked webhook's secrets were pruned")
	}

	f.clock.advance(2 * time.Minute) // the other's lock expires
	n, err := f.svc.PruneSecrets(f.ctx, owner, w.ID, ref)
	after := f.secretSet(ref)
	if n != 1 || err != nil || len(after.Previous) != 1 || !sameOldSecret(after.Previous[0], before.Previous[1]) {
		t.Fatalf("prune = %d, %v, leaving %d; want only the expired secret dropped", n, err, len(after.Previous))
	}
	if !after.Current.Equal(secretOf(kept)) {
		t.Error("the current secret changed")
	}
}

func TestPruneSecretsOfADeletedWebhook(t *testing.T) {
	f := newFixture(t, webhook.Options{})
	w := f.rotate(f.create("").Webhook, time.Hour).Webhook
	if _, err := f.svc.Delete(f.ctx, owner, w.ID); err != nil {
		t.Fatal(err)
	}
	f.clock.advance(2 * time.Hour)
	if n, err := f.svc.PruneSecrets(f.ctx, owner, w.ID, w.SecretRef); n != 0 || err != nil {
		t.Errorf("prune = %d, %v; want 0, nil", n, err)
	}
}
