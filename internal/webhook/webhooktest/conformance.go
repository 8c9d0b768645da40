package webhooktest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/docproc/webhooks/internal/tenant"
	"github.com/docproc/webhooks/internal/webhook"
)

// Stores are the webhook package's table ports, as one table implements
// them.
type Stores interface {
	webhook.Store
	webhook.KeyStore
	// DueChecks reads the secret checks noted in hour and not cleared, as
	// the janitor does (janitor.Checks), so that the suite sees what
	// NoteCheck and ClearCheck wrote.
	DueChecks(ctx context.Context, hour time.Time) ([]webhook.SecretCheck, error)
}

// RunStoreConformanceTests runs, as subtests of t, one test of each
// promise the doc comments of webhook.Store and webhook.KeyStore make,
// each on a fresh, empty store from newStore.
func RunStoreConformanceTests(t *testing.T, newStore func(t *testing.T) Stores) {
	t.Helper()
	for _, c := range []struct {
		name string
		run  func(t *testing.T, f *storeSuite)
	}{
		{"CreateThenRead", testCreateThenRead},
		{"CreateRefusesATakenID", testIDTaken},
		{"CreateCountsAgainstTheLimit", testLimit},
		{"CreateCompletesItsClaim", testCreateClaim},
		{"ListNewestFirstAndPaged", testList},
		{"UpdateIsConditionalOnTheVersion", testUpdate},
		{"DeleteIsConditionalOnTheVersion", testDelete},
		{"RotationLock", testRotationLock},
		{"ClaimCompleteRelease", testClaims},
		{"ChecksNotedAndCleared", testChecks},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.run(t, &storeSuite{Stores: newStore(t), ctx: context.Background(), now: time.Now().UTC().Truncate(time.Second)})
		})
	}
}

// storeSuite is one subtest's store and clock.
type storeSuite struct {
	Stores
	ctx context.Context
	now time.Time
}

// owner is the suite's account and mode; elsewhere is another mode of it.
var (
	owner     = tenant.Tenant{Account: "acct_conformance", Mode: tenant.Test}
	elsewhere = tenant.Tenant{Account: "acct_conformance", Mode: tenant.Live}
)

// hook is owner's webhook n, created n seconds after now (ids sort by
// creation).
func (f *storeSuite) hook(n int) webhook.Webhook {
	at := f.now.Add(time.Duration(n) * time.Second)
	return webhook.Webhook{ID: fmt.Sprintf("wh_01KBDX%020d", n), Owner: owner, SecretRef: fmt.Sprintf("ref-%d", n),
		CreatedAt: at, UpdatedAt: at, Version: 1,
		Settings: webhook.Settings{URL: fmt.Sprintf("https://hooks.example.com/%d", n), IsActive: true, RetryEnabled: true, MaxRetries: 3,
			Events: []webhook.EventType{webhook.DocumentUploaded, webhook.DocumentProcessingFailed}}}
}

// create creates w under the default limit, and fails t if it cannot.
func (f *storeSuite) create(t *testing.T, w webhook.Webhook) {
	t.Helper()
	if err := f.Create(f.ctx, w, webhook.DefaultLimit, nil, ""); err != nil {
		t.Fatalf("Create %s: %v", w.ID, err)
	}
}

// get reads w, and fails t if it cannot.
func (f *storeSuite) get(t *testing.T, w webhook.Webhook) webhook.Webhook {
	t.Helper()
	got, err := f.Get(f.ctx, w.Owner, w.ID)
	if err != nil {
		t.Fatalf("Get %s: %v", w.ID, err)
	}
	return got
}

// wantErr fails t unless err is want.
func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: %v, want %v", what, err, want)
	}
}

// same reports how got differs from want in what a store keeps.
func same(got, want webhook.Webhook) error {
	if got.ID != want.ID || got.Owner != want.Owner || got.URL != want.URL || fmt.Sprint(got.Events) != fmt.Sprint(want.Events) ||
		got.IsActive != want.IsActive || got.RetryEnabled != want.RetryEnabled || got.MaxRetries != want.MaxRetries ||
		got.RateLimit != want.RateLimit || got.SecretRef != want.SecretRef || !got.CreatedAt.Equal(want.CreatedAt) ||
		!got.UpdatedAt.Equal(want.UpdatedAt) || got.Version != want.Version || got.Rotating != want.Rotating {
		return fmt.Errorf("got %+v, want %+v", got, want)
	}
	return nil
}

func testCreateThenRead(t *testing.T, f *storeSuite) {
	w := f.hook(1)
	w.RateLimit = 7
	f.create(t, w)
	if err := same(f.get(t, w), w); err != nil {
		t.Error(err)
	}
	if ok, err := f.Exists(f.ctx, owner, w.ID); err != nil || !ok {
		t.Errorf("Exists = %v, %v; want true", ok, err)
	}
	if ok, err := f.Exists(f.ctx, elsewhere, w.ID); err != nil || ok {
		t.Errorf("Exists under another owner = %v, %v; want false", ok, err)
	}
	_, err := f.Get(f.ctx, elsewhere, w.ID)
	wantErr(t, "Get under another owner", err, webhook.ErrNotFound)
	_, err = f.Get(f.ctx, owner, f.hook(2).ID)
	wantErr(t, "Get of an unknown id", err, webhook.ErrNotFound)
}

func testIDTaken(t *testing.T, f *storeSuite) {
	w := f.hook(1)
	f.create(t, w)
	again := w
	again.URL, again.SecretRef = "https://other.example.com/", "ref-other"
	wantErr(t, "a second Create of the id", f.Create(f.ctx, again, webhook.DefaultLimit, nil, ""), webhook.ErrIDTaken)
	if err := same(f.get(t, w), w); err != nil {
		t.Errorf("the first was overwritten: %v", err)
	}
	again.Owner = elsewhere
	if err := f.Create(f.ctx, again, webhook.DefaultLimit, nil, ""); err != nil {
		t.Errorf("the same id under another owner: %v", err)
	}
}

func testLimit(t *testing.T, f *storeSuite) {
	for n := 1; n <= 2; n++ {
		if err := f.Create(f.ctx, f.hook(n), 2, nil, ""); err != nil {
			t.Fatal(err)
		}
	}
	third := f.hook(3)
	wantErr(t, "Create at the limit", f.Create(f.ctx, third, 2, nil, ""), webhook.ErrLimit)
	if ok, err := f.Exists(f.ctx, owner, third.ID); err != nil || ok {
		t.Error("a Create refused for the limit wrote its webhook")
	}
	w := f.hook(1)
	if err := f.Delete(f.ctx, w, f.now); err != nil {
		t.Fatal(err)
	}
	if err := f.Create(f.ctx, third, 2, nil, ""); err != nil {
		t.Errorf("Create once a delete freed a place: %v", err)
	}
	if err := f.Create(f.ctx, w, 2, nil, ""); !errors.Is(err, webhook.ErrLimit) {
		t.Errorf("Create at the limit again: %v, want ErrLimit", err)
	}
	other := f.hook(4)
	other.Owner = elsewhere
	if err := f.Create(f.ctx, other, 2, nil, ""); err != nil {
		t.Errorf("another owner counts apart: %v", err)
	}
}

// claim is a claim on key made at now by token.
func (f *storeSuite) claim(key, token string) webhook.Claim {
	return webhook.Claim{Owner: owner, Key: key, Fingerprint: "fp-" + key, Token: token, At: f.now,
		LockedUntil: f.now.Add(time.Minute), ExpiresAt: f.now.Add(24 * time.Hour)}
}

func testCreateClaim(t *testing.T, f *storeSuite) {
	c := f.claim("k1", "t1")
	if rec, err := f.ClaimKey(f.ctx, c); err != nil || rec != nil {
		t.Fatalf("ClaimKey = %+v, %v; want it claimed", rec, err)
	}
	w := f.hook(1)
	if err := f.Create(f.ctx, w, webhook.DefaultLimit, &c, "sha-1"); err != nil {
		t.Fatal(err)
	}
	rec, err := f.ClaimKey(f.ctx, f.claim("k1", "t2"))
	if err != nil || rec == nil || !rec.Completed || rec.Fingerprint != c.Fingerprint || rec.SecretSHA256 != "sha-1" || same(rec.Webhook, w) != nil {
		t.Fatalf("the key after its Create: %+v, %v; want completed with the webhook and the secret's hash", rec, err)
	}
	// A Create under a claim another request took over writes nothing.
	lost := f.claim("k2", "t3")
	if _, err := f.ClaimKey(f.ctx, lost); err != nil {
		t.Fatal(err)
	}
	takeover := f.claim("k2", "t4")
	takeover.At = f.now.Add(2 * time.Minute) // past t3's lock
	if rec, err := f.ClaimKey(f.ctx, takeover); err != nil || rec != nil {
		t.Fatalf("ClaimKey past the lock = %+v, %v; want it taken over", rec, err)
	}
	w2 := f.hook(2)
	wantErr(t, "Create under a lost claim", f.Create(f.ctx, w2, webhook.DefaultLimit, &lost, "sha-2"), webhook.ErrClaimLost)
	if ok, err := f.Exists(f.ctx, owner, w2.ID); err != nil || ok {
		t.Error("a Create under a lost claim wrote its webhook")
	}
	if err := f.Create(f.ctx, w2, 1, nil, ""); !errors.Is(err, webhook.ErrLimit) {
		t.Errorf("the count after a refused Create: a Create at limit 1 gave %v, want ErrLimit (1 webhook)", err)
	}
}

func testList(t *testing.T, f *storeSuite) {
	for n := 1; n <= 3; n++ {
		f.create(t, f.hook(n))
	}
	other := f.hook(4)
	other.Owner = elsewhere
	f.create(t, other)
	page, err := f.List(f.ctx, owner, 2, "")
	if err != nil || len(page.Webhooks) != 2 || !page.HasMore || page.Webhooks[0].ID != f.hook(3).ID || page.Webhooks[1].ID != f.hook(2).ID {
		t.Fatalf("first page: %+v, %v; want the two newest and more", page, err)
	}
	if err := same(page.Webhooks[0], f.hook(3)); err != nil {
		t.Error(err)
	}
	page, err = f.List(f.ctx, owner, 2, page.Webhooks[1].ID)
	if err != nil || len(page.Webhooks) != 1 || page.HasMore || page.Webhooks[0].ID != f.hook(1).ID {
		t.Errorf("second page: %+v, %v; want the oldest alone", page, err)
	}
	page, err = f.List(f.ctx, owner, 3, "")
	if err != nil || len(page.Webhooks) != 3 || page.HasMore {
		t.Errorf("a page of exactly all: %+v, %v; want 3 and no more", page, err)
	}
}

func testUpdate(t *testing.T, f *storeSuite) {
	w := f.hook(1)
	f.create(t, w)
	w.URL, w.Events, w.MaxRetries, w.RateLimit = "https://new.example.com/", []webhook.EventType{webhook.DocumentUploaded}, 5, 3
	w.UpdatedAt, w.Version = f.now.Add(time.Minute), 2
	if err := f.Update(f.ctx, w); err != nil {
		t.Fatal(err)
	}
	if err := same(f.get(t, w), w); err != nil {
		t.Error(err)
	}
	wantErr(t, "an Update from a stale read", f.Update(f.ctx, w), webhook.ErrStale)
	missing := f.hook(2)
	missing.Version = 2
	wantErr(t, "an Update of a missing webhook", f.Update(f.ctx, missing), webhook.ErrStale)
}

func testDelete(t *testing.T, f *storeSuite) {
	w := f.hook(1)
	f.create(t, w)
	stale := w
	stale.Version = 2
	wantErr(t, "a Delete at another version", f.Delete(f.ctx, stale, f.now), webhook.ErrStale)
	if err := f.Delete(f.ctx, w, f.now); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Get(f.ctx, owner, w.ID); !errors.Is(err, webhook.ErrNotFound) {
		t.Errorf("Get after Delete: %v, want ErrNotFound", err)
	}
	wantErr(t, "a second Delete", f.Delete(f.ctx, w, f.now), webhook.ErrStale)
	if err := f.Create(f.ctx, w, 1, nil, ""); err != nil {
		t.Errorf("Create at limit 1 after the Delete: %v; want the count back at 0", err)
	}
}

func testRotationLock(t *testing.T, f *storeSuite) {
	w := f.hook(1)
	f.create(t, w)
	until := f.now.Add(time.Minute)
	got, err := f.LockRotation(f.ctx, owner, w.ID, "r1", f.now, until)
	if err != nil || !got.Rotating || got.ID != w.ID {
		t.Fatalf("LockRotation = %+v, %v; want it rotating", got, err)
	}
	if !f.get(t, w).Rotating {
		t.Error("Get of a locked webhook: not rotating")
	}
	if _, err := f.LockRotation(f.ctx, owner, w.ID, "r1", f.now, until); err != nil {
		t.Errorf("a retry of the same lock: %v", err)
	}
	_, err = f.LockRotation(f.ctx, owner, w.ID, "r2", f.now.Add(30*time.Second), until.Add(30*time.Second))
	wantErr(t, "LockRotation by another rotation", err, webhook.ErrLocked)
	_, err = f.LockRotation(f.ctx, owner, f.hook(2).ID, "r1", f.now, until)
	wantErr(t, "LockRotation of a missing webhook", err, webhook.ErrNotFound)
	// Past r1's lock, r2 takes it; r1 then has lost it.
	if _, err := f.LockRotation(f.ctx, owner, w.ID, "r2", until.Add(time.Second), until.Add(time.Minute)); err != nil {
		t.Fatalf("LockRotation past the lock: %v", err)
	}
	_, err = f.UnlockRotation(f.ctx, owner, w.ID, "r1", until.Add(2*time.Second), true)
	wantErr(t, "UnlockRotation by the rotation whose lock was taken", err, webhook.ErrLockLost)
	at := until.Add(3 * time.Second)
	got, err = f.UnlockRotation(f.ctx, owner, w.ID, "r2", at, true)
	if err != nil || got.Rotating || got.Version != 2 || !got.UpdatedAt.Equal(at) {
		t.Fatalf("UnlockRotation with a change = %+v, %v; want unlocked at version 2, updated at %v", got, err, at)
	}
	if _, err := f.LockRotation(f.ctx, owner, w.ID, "r3", at, at.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	got, err = f.UnlockRotation(f.ctx, owner, w.ID, "r3", at.Add(time.Second), false)
	if err != nil || got.Rotating || got.Version != 2 || !got.UpdatedAt.Equal(at) {
		t.Errorf("UnlockRotation without a change = %+v, %v; want unlocked, unchanged", got, err)
	}
	_, err = f.UnlockRotation(f.ctx, owner, f.hook(2).ID, "r3", at, false)
	wantErr(t, "UnlockRotation of a missing webhook", err, webhook.ErrNotFound)
}

func testClaims(t *testing.T, f *storeSuite) {
	c := f.claim("k1", "t1")
	if rec, err := f.ClaimKey(f.ctx, c); err != nil || rec != nil {
		t.Fatalf("ClaimKey = %+v, %v; want it claimed", rec, err)
	}
	if rec, err := f.ClaimKey(f.ctx, c); err != nil || rec != nil {
		t.Errorf("the same claim again = %+v, %v; want it still this claim's", rec, err)
	}
	rec, err := f.ClaimKey(f.ctx, f.claim("k1", "t2"))
	if err != nil || rec == nil || rec.Completed || rec.Fingerprint != c.Fingerprint {
		t.Fatalf("another request's ClaimKey while locked = %+v, %v; want the record in progress", rec, err)
	}
	wantErr(t, "CompleteKey by a claim that does not hold it", f.CompleteKey(f.ctx, f.claim("k1", "t2"),
		webhook.IdempotencyRecord{Result: []byte("x")}), webhook.ErrClaimLost)
	done := webhook.IdempotencyRecord{Result: []byte(`{"ok":true}`)}
	if err := f.CompleteKey(f.ctx, c, done); err != nil {
		t.Fatal(err)
	}
	if err := f.CompleteKey(f.ctx, c, done); err != nil {
		t.Errorf("a retry of the completion: %v", err)
	}
	later := f.claim("k1", "t3")
	later.At = f.now.Add(2 * time.Minute) // past the lock: a completed record still stands
	rec, err = f.ClaimKey(f.ctx, later)
	if err != nil || rec == nil || !rec.Completed || string(rec.Result) != string(done.Result) || rec.Fingerprint != c.Fingerprint {
		t.Fatalf("ClaimKey of a completed key = %+v, %v; want its record", rec, err)
	}
	// A release lets the next request claim the key at once.
	r := f.claim("k2", "t4")
	if _, err := f.ClaimKey(f.ctx, r); err != nil {
		t.Fatal(err)
	}
	if err := f.ReleaseKey(f.ctx, f.claim("k2", "t5")); err != nil {
		t.Fatal(err)
	}
	if rec, err := f.ClaimKey(f.ctx, f.claim("k2", "t6")); err != nil || rec == nil {
		t.Errorf("ClaimKey after another claim's release = %+v, %v; want t4's record still there", rec, err)
	}
	if err := f.ReleaseKey(f.ctx, r); err != nil {
		t.Fatal(err)
	}
	if rec, err := f.ClaimKey(f.ctx, f.claim("k2", "t6")); err != nil || rec != nil {
		t.Errorf("ClaimKey after the release = %+v, %v; want it claimed", rec, err)
	}
	// A key is its owner's.
	other := f.claim("k1", "t7")
	other.Owner = elsewhere
	if rec, err := f.ClaimKey(f.ctx, other); err != nil || rec != nil {
		t.Errorf("the same key under another owner = %+v, %v; want it claimed", rec, err)
	}
}

func testChecks(t *testing.T, f *storeSuite) {
	c := webhook.SecretCheck{Kind: webhook.CheckPrune, Owner: owner, WebhookID: f.hook(1).ID, At: f.now}
	due := func(want int) {
		t.Helper()
		got, err := f.DueChecks(f.ctx, c.At)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, g := range got {
			if g.Kind == c.Kind && g.WebhookID == c.WebhookID && g.Owner == c.Owner && g.At.Equal(c.At) {
				n++
			}
		}
		if n != want || len(got) != want {
			t.Errorf("checks due in the hour = %+v; want %d, the check noted", got, want)
		}
	}
	due(0)
	if err := f.NoteCheck(f.ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := f.NoteCheck(f.ctx, c); err != nil {
		t.Errorf("noting a check again: %v", err)
	}
	due(1)
	if err := f.ClearCheck(f.ctx, c); err != nil {
		t.Fatal(err)
	}
	due(0)
	if err := f.ClearCheck(f.ctx, c); err != nil {
		t.Errorf("clearing a check that is not there: %v", err)
	}
}

// RunSecretStoreConformanceTests runs, as subtests of t, one test of each
// promise the doc comment of webhook.SecretStore makes, each on a fresh
// store from newStore.
func RunSecretStoreConformanceTests(t *testing.T, newStore func(t *testing.T) webhook.SecretStore) {
	t.Helper()
	ctx := context.Background()
	newSecret := func(t *testing.T, id string) webhook.NewSecret {
		t.Helper()
		v, err := webhook.NewSigningSecret()
		if err != nil {
			t.Fatal(err)
		}
		return webhook.NewSecret{Owner: owner, WebhookID: id, Value: v, SHA256: v.SHA256()}
	}
	t.Run("CreateGetPutDelete", func(t *testing.T) {
		s := newStore(t)
		sec := newSecret(t, "wh_01KBDX00000000000000000001")
		ref, err := s.Create(ctx, sec)
		if err != nil || ref == "" {
			t.Fatalf("Create = %q, %v", ref, err)
		}
		set, err := s.Get(ctx, ref)
		if err != nil || set.Current.Reveal() != sec.Value.Reveal() || set.CurrentSHA256 != sec.SHA256 || len(set.Previous) != 0 {
			t.Fatalf("Get after Create: %v; want the secret alone", err)
		}
		next := newSecret(t, sec.WebhookID)
		rotated := webhook.SecretSet{Current: next.Value, CurrentSHA256: next.SHA256,
			Previous: []webhook.OldSecret{{Value: sec.Value, SHA256: sec.SHA256, ExpiresAt: time.Now().Add(time.Hour).UTC().Truncate(time.Second)}}}
		if err := s.Put(ctx, ref, rotated); err != nil {
			t.Fatal(err)
		}
		set, err = s.Get(ctx, ref)
		if err != nil || set.Current.Reveal() != next.Value.Reveal() || len(set.Previous) != 1 ||
			set.Previous[0].Value.Reveal() != sec.Value.Reveal() || !set.Previous[0].ExpiresAt.Equal(rotated.Previous[0].ExpiresAt) {
			t.Fatalf("Get after Put: %v; want the set put", err)
		}
		if err := s.Delete(ctx, ref); err != nil {
			t.Fatal(err)
		}
		_, err = s.Get(ctx, ref)
		wantErr(t, "Get after Delete", err, webhook.ErrNotFound)
		wantErr(t, "Put after Delete", s.Put(ctx, ref, rotated), webhook.ErrNotFound)
		if err := s.Delete(ctx, ref); err != nil {
			t.Errorf("Delete of a deleted secret: %v", err)
		}
	})
	t.Run("CreateRetryIsItsOwn", func(t *testing.T) {
		s := newStore(t)
		sec := newSecret(t, "wh_01KBDX00000000000000000002")
		ref, err := s.Create(ctx, sec)
		if err != nil {
			t.Fatal(err)
		}
		if again, err := s.Create(ctx, sec); err != nil || again != ref {
			t.Errorf("the same Create again = %q, %v; want %q", again, err, ref)
		}
		if _, err := s.Create(ctx, newSecret(t, sec.WebhookID)); err == nil {
			t.Error("another secret for the same webhook was created")
		}
	})
}
