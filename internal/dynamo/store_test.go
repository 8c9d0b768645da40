package dynamo_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/docproc/webhooks/internal/apikey"
	"github.com/docproc/webhooks/internal/dev/testenv"
	"github.com/docproc/webhooks/internal/dynamo"
	"github.com/docproc/webhooks/internal/tenant"
	"github.com/docproc/webhooks/internal/webhook"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// newStore returns a Store over a fresh table on b.
func newStore(t *testing.T, b testenv.Backend) *dynamo.Store {
	t.Helper()
	client := dynamo.NewClient(b.Config(t))
	table := testenv.Unique("store-")
	testenv.CreateTable(t, client, table)
	return dynamo.New(client, table)
}

func TestAPIKeyRecords(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, b testenv.Backend) {
		ctx := context.Background()
		s := newStore(t, b)
		if _, err := s.LookupAPIKey(ctx, "00"); !errors.Is(err, apikey.ErrNotFound) {
			t.Fatalf("lookup of an unknown hash: %v, want ErrNotFound", err)
		}
		owner := tenant.Tenant{Account: "acct_1", Mode: tenant.Live}
		created := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
		want := apikey.Record{Hash: "abc123", Owner: owner, Hint: "dk_live_...wxyz", Active: true, CreatedAt: created}
		if err := s.PutAPIKey(ctx, want); err != nil {
			t.Fatal(err)
		}
		got, err := s.LookupAPIKey(ctx, "abc123")
		if err != nil || got != want {
			t.Fatalf("lookup = %+v, %v; want %+v", got, err, want)
		}
		want.Active = false
		if err := s.PutAPIKey(ctx, want); err != nil {
			t.Fatal(err)
		}
		if got, err := s.LookupAPIKey(ctx, "abc123"); err != nil || got.Active {
			t.Fatalf("revoked key reads as active=%v, %v", got.Active, err)
		}
	})
}

func TestCreateNeverOverwrites(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, b testenv.Backend) {
		s := newStore(t, b)
		w := webhook.Webhook{ID: "wh_01KBDX0000000000000000000A", Owner: tenant.Tenant{Account: "a", Mode: tenant.Test},
			Settings: webhook.Settings{URL: "https://e.com", Events: []webhook.EventType{webhook.DocumentUploaded}}, SecretRef: "arn:1",
			CreatedAt: time.Now()}
		if err := s.Create(context.Background(), w, 16, nil, ""); err != nil {
			t.Fatal(err)
		}
		w.SecretRef = "arn:2"
		err := s.Create(context.Background(), w, 16, nil, "")
		if !errors.Is(err, webhook.ErrIDTaken) {
			t.Fatalf("second create with the same id: %v, want ErrIDTaken", err)
		}
		// The same id under another tenant is a different webhook.
		w.Owner.Mode = tenant.Live
		if err := s.Create(context.Background(), w, 16, nil, ""); err != nil {
			t.Fatalf("same id, other mode: %v", err)
		}
	})
}

func TestCreateCountsAgainstTheLimit(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, b testenv.Backend) {
		s := newStore(t, b)
		owner := tenant.Tenant{Account: "a", Mode: tenant.Test}
		for i := range 3 {
			w := webhook.Webhook{ID: fmt.Sprintf("wh_01KBDX000000000000000000%02d", i), Owner: owner,
				Settings: webhook.Settings{URL: "https://e.com", Events: webhook.DefaultEvents}, SecretRef: "arn", CreatedAt: time.Now()}
			err := s.Create(context.Background(), w, 2, nil, "")
			if i < 2 && err != nil {
				t.Fatalf("create %d under the limit: %v", i, err)
			}
			if i == 2 && !errors.Is(err, webhook.ErrLimit) {
				t.Fatalf("create over the limit: %v, want ErrLimit", err)
			}
		}
		if exists, err := s.Exists(context.Background(), owner, "wh_01KBDX00000000000000000002"); err != nil || exists {
			t.Errorf("the webhook over the limit exists=%v (%v); the transaction must write nothing", exists, err)
		}
		if exists, err := s.Exists(context.Background(), owner, "wh_01KBDX00000000000000000001"); err != nil || !exists {
			t.Errorf("a webhook under the limit exists=%v (%v)", exists, err)
		}
	})
}

func TestIdempotencyClaims(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, b testenv.Backend) {
		ctx := context.Background()
		s := newStore(t, b)
		owner := tenant.Tenant{Account: "a", Mode: tenant.Live}
		t0 := time.Now().UTC().Truncate(time.Millisecond)
		claim := func(token string, at time.Time) webhook.Claim {
			return webhook.Claim{Owner: owner, Key: "key #1", Fingerprint: "fp", Token: token, At: at,
				LockedUntil: at.Add(30 * time.Second), ExpiresAt: at.Add(24 * time.Hour)}
		}
		first := claim("t1", t0)
		if prior, err := s.ClaimKey(ctx, first); err != nil || prior != nil {
			t.Fatalf("first claim: %+v, %v; want it taken", prior, err)
		}
		prior, err := s.ClaimKey(ctx, claim("t2", t0.Add(time.Second)))
		if err != nil || prior == nil || prior.Completed || prior.Fingerprint != "fp" {
			t.Fatalf("claim while locked: %+v, %v; want the in-progress record", prior, err)
		}
		// Another mode is another scope.
		other := claim("t3", t0)
		other.Owner.Mode = tenant.Test
		if prior, err := s.ClaimKey(ctx, other); err != nil || prior != nil {
			t.Fatalf("same key in another mode: %+v, %v; want it taken", prior, err)
		}
		// After the lock expires, a retry takes over; the first holder can
		// then neither release nor complete it.
		late := claim("t4", t0.Add(31*time.Second))
		if prior, err := s.ClaimKey(ctx, late); err != nil || prior != nil {
			t.Fatalf("claim after the lock expired: %+v, %v; want it taken over", prior, err)
		}
		if err := s.ReleaseKey(ctx, first); err != nil {
			t.Fatalf("release by a former holder: %v", err)
		}
		w := webhook.Webhook{ID: "wh_01KBDX0000000000000000000B", Owner: owner, Settings: webhook.Settings{URL: "https://e.com",
			Events: webhook.DefaultEvents}, SecretRef: "arn:x", CreatedAt: t0.Truncate(time.Second)}
		err = s.Create(ctx, w, 16, &first, "sha")
		if !errors.Is(err, webhook.ErrClaimLost) {
			t.Fatalf("create under a lost claim: %v, want ErrClaimLost", err)
		}
		if err := s.Create(ctx, w, 16, &late, "sha"); err != nil {
			t.Fatalf("create under the current claim: %v", err)
		}
		prior, err = s.ClaimKey(ctx, claim("t5", t0.Add(time.Hour)))
		if err != nil || prior == nil || !prior.Completed || prior.Webhook.ID != w.ID || prior.Webhook.SecretRef != "arn:x" ||
			!prior.Webhook.CreatedAt.Equal(w.CreatedAt) || len(prior.Webhook.Events) != 2 || prior.SecretSHA256 != "sha" {
			t.Fatalf("claim after completion: %+v, %v; want the completed record with the webhook", prior, err)
		}
		// A record past its TTL counts as absent even before DynamoDB removes it.
		if prior, err := s.ClaimKey(ctx, claim("t6", t0.Add(25*time.Hour))); err != nil || prior != nil {
			t.Fatalf("claim after the TTL: %+v, %v; want it taken", prior, err)
		}
		// Release frees a key held in progress.
		if err := s.ReleaseKey(ctx, claim("t6", t0)); err != nil {
			t.Fatal(err)
		}
		if prior, err := s.ClaimKey(ctx, claim("t7", t0.Add(25*time.Hour))); err != nil || prior != nil {
			t.Fatalf("claim after release: %+v, %v; want it taken", prior, err)
		}
	})
}

func TestListAndRevokeAPIKeys(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, b testenv.Backend) {
		ctx := context.Background()
		s := newStore(t, b)
		t0 := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
		live, err := apikey.Issue(ctx, s, tenant.Tenant{Account: "acct_a", Mode: tenant.Live}, t0)
		if err != nil {
			t.Fatal(err)
		}
		test, err := apikey.Issue(ctx, s, tenant.Tenant{Account: "acct_a", Mode: tenant.Test}, t0.Add(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := apikey.Issue(ctx, s, tenant.Tenant{Account: "acct_b", Mode: tenant.Test}, t0); err != nil {
			t.Fatal(err)
		}
		recs, err := s.ListAPIKeys(ctx, "acct_a")
		if err != nil || len(recs) != 2 || recs[0].Hash != live.Hash() || recs[1].Hash != test.Hash() ||
			recs[0].Hint != live.Redacted() || !recs[0].Active {
			t.Fatalf("list acct_a = %+v, %v; want its live then its test key", recs, err)
		}
		if err := s.RevokeAPIKey(ctx, live.Hash(), t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if err := s.RevokeAPIKey(ctx, live.Hash(), t0.Add(2*time.Hour)); err != nil {
			t.Fatal(err)
		}
		got, err := s.LookupAPIKey(ctx, live.Hash())
		if err != nil || got.Active || !got.RevokedAt.Equal(t0.Add(time.Hour)) {
			t.Fatalf("after revoke: %+v, %v; want inactive, revoked at the first revocation", got, err)
		}
		if err := s.RevokeAPIKey(ctx, "0000", t0); !errors.Is(err, apikey.ErrNotFound) {
			t.Errorf("revoke unknown: %v, want ErrNotFound", err)
		}
	})
}

// TestConditionalWritesRecogniseTheirOwnSuccess makes the first try of each
// conditional write commit and then lose its answer; the SDK retries it,
// the retry fails its condition against the first try's effect, and the
// write must report success rather than a conflict with itself.
func TestConditionalWritesRecogniseTheirOwnSuccess(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, b testenv.Backend) {
		ctx := context.Background()
		owner := tenant.Tenant{Account: testenv.Unique("acct_"), Mode: tenant.Test}
		plainClient := dynamo.NewClient(b.Config(t))
		table := testenv.Unique("own-")
		testenv.CreateTable(t, plainClient, table)
		plain := dynamo.New(plainClient, table)
		// lossy returns a store whose first try of op commits and loses its answer.
		lossy := func(op string) *dynamo.Store {
			in := testenv.NewInjector(testenv.Fault{Operation: op, Times: 1, AfterSend: true, Err: testenv.ConnectionReset{}})
			return dynamo.New(dynamo.NewClient(b.Config(t, in.Middleware)), table)
		}
		now := time.Now().UTC()
		newWebhook := func() webhook.Webhook {
			id, _ := webhook.NewID(now)
			return webhook.Webhook{ID: id, Owner: owner, Settings: webhook.Settings{URL: "https://e.com", Events: webhook.DefaultEvents},
				SecretRef: "arn:x", CreatedAt: now.Truncate(time.Second), UpdatedAt: now.Truncate(time.Second), Version: 1}
		}
		claim := func(key string) webhook.Claim {
			return webhook.Claim{Owner: owner, Key: key, Fingerprint: "fp", Token: testenv.Unique("t"), At: now,
				LockedUntil: now.Add(30 * time.Second), ExpiresAt: now.Add(24 * time.Hour)}
		}

		c := claim("claim")
		if prior, err := lossy("PutItem").ClaimKey(ctx, c); err != nil || prior != nil {
			t.Errorf("ClaimKey after a lost answer: %+v, %v; want the claim taken", prior, err)
		}
		w := newWebhook()
		if err := lossy("TransactWriteItems").Create(ctx, w, 16, &c, "sha"); err != nil {
			t.Errorf("Create after a lost answer: %v", err)
		}
		c2 := claim("complete")
		if _, err := plain.ClaimKey(ctx, c2); err != nil {
			t.Fatal(err)
		}
		if err := lossy("PutItem").CompleteKey(ctx, c2, webhook.IdempotencyRecord{Webhook: w, SecretSHA256: "sha"}); err != nil {
			t.Errorf("CompleteKey after a lost answer: %v", err)
		}
		if prior, err := plain.ClaimKey(ctx, claim("complete")); err != nil || prior == nil || !prior.Completed {
			t.Errorf("the completed key reads as %+v, %v", prior, err)
		}
		w.Version, w.MaxRetries = 2, 1
		if err := lossy("UpdateItem").Update(ctx, w); err != nil {
			t.Errorf("Update after a lost answer: %v", err)
		}
		if got, err := plain.Get(ctx, owner, w.ID); err != nil || got.Version != 2 || got.MaxRetries != 1 {
			t.Errorf("after the update: %+v, %v", got, err)
		}
		if _, err := lossy("UpdateItem").LockRotation(ctx, owner, w.ID, "rot", now, now.Add(15*time.Second)); err != nil {
			t.Errorf("LockRotation after a lost answer: %v", err)
		}
		if got, err := lossy("UpdateItem").UnlockRotation(ctx, owner, w.ID, "rot", now, true); err != nil || got.Version != 3 {
			t.Errorf("UnlockRotation after a lost answer: %+v, %v; want version 3", got, err)
		}
		w.Version = 3
		if err := lossy("TransactWriteItems").Delete(ctx, w, now); err != nil {
			t.Errorf("Delete after a lost answer: %v", err)
		}
		if exists, err := plain.Exists(ctx, owner, w.ID); err != nil || exists {
			t.Errorf("after the delete the webhook exists=%v, %v", exists, err)
		}
		// Another request's write is still a conflict.
		if _, err := plain.LockRotation(ctx, owner, newWebhookStored(t, plain, newWebhook()), "a", now, now.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
	})
}

// newWebhookStored stores w and returns its id.
func newWebhookStored(t *testing.T, s *dynamo.Store, w webhook.Webhook) string {
	t.Helper()
	if err := s.Create(context.Background(), w, 16, nil, ""); err != nil {
		t.Fatal(err)
	}
	return w.ID
}

func TestIdempotencyKeepsAResult(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, b testenv.Backend) {
		ctx := context.Background()
		s := newStore(t, b)
		at := time.Now().UTC().Truncate(time.Second)
		claim := func(token string) webhook.Claim {
			return webhook.Claim{Owner: tenant.Tenant{Account: "a", Mode: tenant.Test}, Key: "retry-1", Fingerprint: "fp", Token: token,
				At: at, LockedUntil: at.Add(30 * time.Second), ExpiresAt: at.Add(24 * time.Hour)}
		}
		first := claim("t1")
		if prior, err := s.ClaimKey(ctx, first); err != nil || prior != nil {
			t.Fatalf("first claim: %+v, %v", prior, err)
		}
		result := []byte(`{"id":"msg_1","state":"pending"}`)
		if err := s.CompleteKey(ctx, first, webhook.IdempotencyRecord{Fingerprint: "fp", Completed: true, Result: result}); err != nil {
			t.Fatal(err)
		}
		prior, err := s.ClaimKey(ctx, claim("t2"))
		if err != nil || prior == nil || !prior.Completed || string(prior.Result) != string(result) || prior.Webhook.ID != "" {
			t.Fatalf("replay: %+v, %v; want the completed record with its result", prior, err)
		}
	})
}
