package webhooktest_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/docproc/webhooks/internal/tenant"
	"github.com/docproc/webhooks/internal/webhook"
	"github.com/docproc/webhooks/internal/webhook/webhooktest"
)

// The fakes' own contracts, where Service's tests do not reach them.

var (
	t0    = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	owner = tenant.Tenant{Account: "acct", Mode: tenant.Test}
)

// newWebhook stores a webhook at version 1 and returns it.
func newWebhook(t *testing.T, s *webhooktest.Store) webhook.Webhook {
	t.Helper()
	id, err := webhook.NewID(t0)
	if err != nil {
		t.Fatal(err)
	}
	w := webhook.Webhook{ID: id, Owner: owner, CreatedAt: t0, UpdatedAt: t0, Version: 1}
	if err := s.Create(t.Context(), w, 10, nil, ""); err != nil {
		t.Fatal(err)
	}
	return w
}

func TestCreateIsAllOrNothing(t *testing.T) {
	s := webhooktest.NewStore(nil)
	ctx := t.Context()
	claim := webhook.Claim{Owner: owner, Key: "k", Token: "a", At: t0, LockedUntil: t0.Add(time.Minute), ExpiresAt: t0.Add(time.Hour)}
	if _, err := s.ClaimKey(ctx, claim); err != nil {
		t.Fatal(err)
	}
	id, _ := webhook.NewID(t0)
	check := webhook.SecretCheck{Kind: webhook.CheckOrphan, Owner: owner, WebhookID: id, At: t0.Add(time.Millisecond)}
	if err := s.NoteCheck(ctx, check); err != nil {
		t.Fatal(err)
	}
	w := webhook.Webhook{ID: id, Owner: owner, CreatedAt: t0, Version: 1}
	if err := s.Create(ctx, w, 0, &claim, "h"); !errors.Is(err, webhook.ErrLimit) {
		t.Fatalf("create over the limit: %v", err)
	}
	if ok, _ := s.Exists(ctx, owner, id); ok || s.Count(owner) != 0 || len(s.Checks()) != 1 {
		t.Fatal("a refused create wrote something")
	}
	if err := s.Create(ctx, w, 1, &claim, "h"); err != nil {
		t.Fatal(err)
	}
	if len(s.Checks()) != 0 {
		t.Error("the create's check, noted within the same hour, was not removed")
	}
	other := claim
	other.Token = "b"
	if rec, err := s.ClaimKey(ctx, other); err != nil || rec == nil || !rec.Completed || rec.Webhook.ID != id || rec.SecretSHA256 != "h" {
		t.Errorf("the claim's record = %+v, %v; want it completed by the create", rec, err)
	}
	if err := s.Create(ctx, w, 5, nil, ""); !errors.Is(err, webhook.ErrIDTaken) {
		t.Errorf("create of an existing id: %v", err)
	}
}

func TestRotationLock(t *testing.T) {
	s := webhooktest.NewStore(nil)
	ctx := t.Context()
	w := newWebhook(t, s)
	if _, err := s.LockRotation(ctx, owner, w.ID, "a", t0, t0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.LockRotation(ctx, owner, w.ID, "b", t0.Add(time.Second), t0.Add(time.Minute)); !errors.Is(err, webhook.ErrLocked) {
		t.Fatalf("lock at its until time: %v, want ErrLocked", err)
	}
	if _, err := s.LockRotation(ctx, owner, w.ID, "b", t0.Add(time.Second+1), t0.Add(time.Minute)); err != nil {
		t.Fatalf("lock after it expired: %v", err)
	}
	if _, err := s.UnlockRotation(ctx, owner, w.ID, "a", t0, true); !errors.Is(err, webhook.ErrLockLost) {
		t.Errorf("unlock of a lost lock: %v", err)
	}
	got, err := s.UnlockRotation(ctx, owner, w.ID, "b", t0.Add(1500*time.Millisecond), true)
	if err != nil || got.Version != 2 || !got.UpdatedAt.Equal(t0.Add(time.Second)) {
		t.Errorf("unlock = %+v, %v; want version 2, updated at the second", got, err)
	}
	if _, err := s.LockRotation(ctx, owner, "wh_gone", "c", t0, t0); !errors.Is(err, webhook.ErrNotFound) {
		t.Errorf("lock of a missing webhook: %v", err)
	}
}

func TestClaimKey(t *testing.T) {
	s := webhooktest.NewStore(nil)
	ctx := t.Context()
	claim := func(token string, at time.Time) webhook.Claim {
		return webhook.Claim{Owner: owner, Key: "k", Fingerprint: token, Token: token, At: at,
			LockedUntil: at.Add(time.Minute), ExpiresAt: at.Add(time.Hour)}
	}
	a := claim("a", t0)
	for _, c := range []struct {
		claim webhook.Claim
		taken bool
	}{
		{a, true},
		{claim("b", t0.Add(time.Minute)), false}, // a's lock is live until and including LockedUntil
		{claim("c", t0.Add(time.Minute+1)), true},
		{claim("d", t0.Add(2*time.Minute)), false},
	} {
		rec, err := s.ClaimKey(ctx, c.claim)
		if err != nil || (rec == nil) != c.taken {
			t.Errorf("claim %s = %+v, %v; want taken %v", c.claim.Token, rec, err, c.taken)
		}
	}
	if err := s.CompleteKey(ctx, a, webhook.IdempotencyRecord{}); !errors.Is(err, webhook.ErrClaimLost) {
		t.Errorf("completion of a claim taken over: %v", err)
	}
	if err := s.ReleaseKey(ctx, a); err != nil {
		t.Fatal(err)
	}
	if rec, _ := s.ClaimKey(ctx, claim("e", t0.Add(time.Minute+2))); rec == nil || rec.Fingerprint != "c" {
		t.Errorf("a stale release freed c's claim: %+v", rec)
	}
	if rec, _ := s.ClaimKey(ctx, claim("f", t0.Add(time.Hour+time.Minute+2))); rec != nil {
		t.Errorf("an expired record was live: %+v", rec)
	}
}

func TestConditionalWrites(t *testing.T) {
	s := webhooktest.NewStore(nil)
	ctx := t.Context()
	w := newWebhook(t, s)
	w.URL, w.Version = "https://e.com", 2
	if err := s.Update(ctx, w); err != nil {
		t.Fatal(err)
	}
	if err := s.Update(ctx, w); !errors.Is(err, webhook.ErrStale) {
		t.Errorf("update from an old version: %v", err)
	}
	if err := s.Delete(ctx, webhook.Webhook{ID: w.ID, Owner: owner, Version: 1}, t0); !errors.Is(err, webhook.ErrStale) {
		t.Errorf("delete at an old version: %v", err)
	}
	if err := s.Delete(ctx, w, t0); err != nil || s.Count(owner) != 0 || len(s.Checks()) != 1 {
		t.Errorf("delete = %v, count %d, checks %d; want count 0 and the orphan check", err, s.Count(owner), len(s.Checks()))
	}
	if err := s.Update(ctx, webhook.Webhook{ID: w.ID, Owner: owner, Version: 3}); !errors.Is(err, webhook.ErrStale) {
		t.Errorf("update of a missing webhook: %v", err)
	}
}

func TestSecretStore(t *testing.T) {
	s := webhooktest.NewSecretStore(nil)
	ctx := t.Context()
	ref, err := s.Create(ctx, webhook.NewSecret{Owner: owner, WebhookID: "wh_1", Value: webhook.SigningSecretOf("v"), SHA256: webhook.HashSecret("v")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create(ctx, webhook.NewSecret{Owner: owner, WebhookID: "wh_1", Value: webhook.SigningSecretOf("w")}); err == nil {
		t.Error("a second secret took the webhook's name")
	}
	if set, err := s.Get(ctx, ref); err != nil || set.Current.Reveal() != "v" {
		t.Errorf("get = %+v, %v", set, err)
	}
	if err := s.Delete(ctx, ref); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, ref); err != nil {
		t.Errorf("delete of a missing secret: %v", err)
	}
	if _, err := s.Get(ctx, ref); !errors.Is(err, webhook.ErrNotFound) {
		t.Errorf("get of a missing secret: %v", err)
	}
	if err := s.Put(ctx, ref, webhook.SecretSet{}); !errors.Is(err, webhook.ErrNotFound) {
		t.Errorf("put of a missing secret: %v", err)
	}
}

func TestFaults(t *testing.T) {
	f := &webhooktest.Faults{}
	s := webhooktest.NewSecretStore(f)
	ctx := t.Context()
	boom := errors.New("boom")
	f.Fail("SecretStore.Create", 1, boom)
	f.FailAfter("SecretStore.Create", 2, boom)
	sec := webhook.NewSecret{Owner: owner, WebhookID: "wh_1", Value: webhook.SigningSecretOf("v")}
	if ref, err := s.Create(ctx, sec); ref != "" || !errors.Is(err, boom) || len(s.Refs()) != 0 {
		t.Errorf("first call = %q, %v, %q stored; want the error, nothing done", ref, err, s.Refs())
	}
	if ref, err := s.Create(ctx, sec); ref != "" || !errors.Is(err, boom) || len(s.Refs()) != 1 {
		t.Errorf("second call = %q, %v, %q stored; want the error, the write done", ref, err, s.Refs())
	}
	ran := false
	f.Before("SecretStore.Delete", 1, func() { ran = len(s.Refs()) == 1 })
	if err := s.Delete(ctx, s.Refs()[0]); err != nil || !ran {
		t.Errorf("delete = %v, before ran %v", err, ran)
	}
	want := []string{"SecretStore.Create", "SecretStore.Create", "SecretStore.Delete"}
	if got := f.Calls(); !slices.Equal(got, want) {
		t.Errorf("calls = %q, want %q", got, want)
	}
}

// A retry of a write whose first try committed succeeds without doing it
// again, as the DynamoDB and Secrets Manager adapters recognise their own
// first tries: a completion, a rotation lock, a secret's creation.
func TestRetriesOfCommittedWrites(t *testing.T) {
	ctx := t.Context()
	s := webhooktest.NewStore(nil)
	claim := webhook.Claim{Owner: owner, Key: "k", Token: "a", At: t0, LockedUntil: t0.Add(time.Minute), ExpiresAt: t0.Add(time.Hour)}
	if _, err := s.ClaimKey(ctx, claim); err != nil {
		t.Fatal(err)
	}
	rec := webhook.IdempotencyRecord{Completed: true, SecretSHA256: "h"}
	if err := s.CompleteKey(ctx, claim, rec); err != nil {
		t.Fatal(err)
	}
	if err := s.CompleteKey(ctx, claim, rec); err != nil {
		t.Errorf("a retried completion = %v, want nil", err)
	}
	other := claim
	other.Token = "b"
	if err := s.CompleteKey(ctx, other, rec); !errors.Is(err, webhook.ErrClaimLost) {
		t.Errorf("another claim's completion = %v, want ErrClaimLost", err)
	}

	w := newWebhook(t, s)
	if _, err := s.LockRotation(ctx, owner, w.ID, "r", t0, t0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.LockRotation(ctx, owner, w.ID, "r", t0, t0.Add(time.Hour)); err != nil {
		t.Errorf("a retried lock = %v, want nil", err)
	}
	if _, err := s.LockRotation(ctx, owner, w.ID, "other", t0.Add(2*time.Second), t0.Add(time.Minute)); err != nil {
		t.Errorf("the retry extended the lock: %v", err)
	}

	sec := webhooktest.NewSecretStore(nil)
	value := webhook.SigningSecretOf("v")
	first, err := sec.Create(ctx, webhook.NewSecret{Owner: owner, WebhookID: "wh_1", Value: value, SHA256: value.SHA256()})
	if err != nil {
		t.Fatal(err)
	}
	again, err := sec.Create(ctx, webhook.NewSecret{Owner: owner, WebhookID: "wh_1", Value: value, SHA256: value.SHA256()})
	if err != nil || again != first {
		t.Errorf("a retried create = %q, %v; want %q", again, err, first)
	}
}
