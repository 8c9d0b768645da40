package webhook_test

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/docproc/webhooks/internal/apperr"
	"github.com/docproc/webhooks/internal/webhook"
)

func TestCreateWritesCheckThenSecretThenTransaction(t *testing.T) {
	f := newFixture(t, webhook.Options{})
	r := f.create("")
	want := []string{"Store.NoteCheck", "SecretStore.Create", "Store.Create"}
	if got := f.faults.Calls(); !slices.Equal(got, want) {
		t.Fatalf("calls = %q, want %q", got, want)
	}
	if got := f.stored(r.Webhook.ID); got.Version != 1 || got.SecretRef != r.Webhook.SecretRef || !got.CreatedAt.Equal(t0) {
		t.Errorf("stored %+v, answered %+v", got, r.Webhook)
	}
	if set := f.secretSet(r.Webhook.SecretRef); !set.Current.Equal(secretOf(r)) || set.CurrentSHA256 != secretOf(r).SHA256() {
		t.Error("the stored secret is not the one answered")
	}
	if f.store.Count(owner) != 1 {
		t.Errorf("count = %d, want 1", f.store.Count(owner))
	}
	f.wantChecks() // the transaction removed the create's check
}

func TestCreateStepFailures(t *testing.T) {
	for _, method := range []string{"Store.NoteCheck", "SecretStore.Create"} {
		t.Run(method, func(t *testing.T) {
			f := newFixture(t, webhook.Options{})
			f.faults.Fail(method, 1, errUnavailable)
			if _, err := f.svc.Create(f.ctx, owner, settings("https://e.com"), ""); !errors.Is(err, errUnavailable) {
				t.Fatalf("err = %v, want the step's error", err)
			}
			if f.calls("Store.Create") != 0 || f.calls("SecretStore.Delete") != 0 {
				t.Errorf("calls after a failed %s: %q", method, f.faults.Calls())
			}
			f.wantRefs()
		})
	}
}

func TestCreateCompensatesATransactionThatDidNotCommit(t *testing.T) {
	f := newFixture(t, webhook.Options{})
	f.faults.Fail("Store.Create", 1, errUnavailable)
	if _, err := f.svc.Create(f.ctx, owner, settings("https://e.com"), ""); !errors.Is(err, errUnavailable) {
		t.Fatalf("err = %v, want the transaction's error", err)
	}
	f.wantRefs()   // the secret is deleted
	f.wantChecks() // and the check cleared
	if f.store.Count(owner) != 0 {
		t.Errorf("count = %d, want 0", f.store.Count(owner))
	}
}

func TestCreateAnswersATransactionThatCommittedBehindAnError(t *testing.T) {
	f := newFixture(t, webhook.Options{})
	f.faults.FailAfter("Store.Create", 1, errUnavailable)
	r, err := f.svc.Create(f.ctx, owner, settings("https://e.com"), "")
	if err != nil {
		t.Fatalf("a committed create answered %v", err)
	}
	if got := f.stored(r.Webhook.ID); got.SecretRef != r.Webhook.SecretRef || got.Version != r.Webhook.Version {
		t.Errorf("answered %+v, stored %+v", r.Webhook, got)
	}
	if !f.secretSet(r.Webhook.SecretRef).Current.Equal(secretOf(r)) {
		t.Error("the answered secret is not the stored one")
	}
	if f.calls("SecretStore.Delete") != 0 {
		t.Error("the secret of a committed create was deleted")
	}
}

func TestCreateLeavesTheSecretWhenTheOutcomeCannotBeRead(t *testing.T) {
	f := newFixture(t, webhook.Options{})
	f.faults.Fail("Store.Create", 1, errUnavailable)
	readErr := errors.New("read failed")
	f.faults.Fail("Store.Exists", 1, readErr)
	_, err := f.svc.Create(f.ctx, owner, settings("https://e.com"), "")
	if !errors.Is(err, errUnavailable) || !errors.Is(err, readErr) {
		t.Fatalf("err = %v, want both the write's and the read's error", err)
	}
	refs := f.secrets.Refs()
	if len(refs) != 1 {
		t.Fatalf("secrets = %q, want the one left for the janitor", refs)
	}
	if checks := f.store.Checks(); len(checks) != 1 || checks[0].Kind != webhook.CheckOrphan {
		t.Errorf("checks = %+v, want the create's orphan check kept", checks)
	}
}

func TestCreateOverTheLimit(t *testing.T) {
	f := newFixture(t, webhook.Options{Limit: 1})
	first := f.create("")
	_, err := f.svc.Create(f.ctx, owner, settings("https://e.com/2"), "")
	wantCode(t, err, apperr.CodeWebhookLimitReached)
	if msg := apperr.As(err).Message; msg != "this account already has the maximum of 1 webhooks in this mode; delete one first" {
		t.Errorf("message = %q", msg)
	}
	f.wantRefs(first.Webhook.SecretRef)
	f.wantChecks()
	if _, err := f.svc.Create(f.ctx, stranger, settings("https://e.com/3"), ""); err != nil {
		t.Errorf("another owner's limit is its own: %v", err)
	}
}

func TestCreateWhoseClaimWasTakenOver(t *testing.T) {
	f := newFixture(t, webhook.Options{})
	p := settings("https://e.com")
	// After the claim's lock expired, another request takes the key over
	// just before this one's transaction.
	other := anotherClaim("k", p, t0.Add(webhook.DefaultLockTTL+1))
	f.faults.Before("Store.Create", 1, func() {
		if prior, err := f.store.ClaimKey(f.ctx, other); prior != nil || err != nil {
			t.Errorf("take over: %v, %v", prior, err)
		}
	})
	_, err := f.svc.Create(f.ctx, owner, p, "k")
	wantCode(t, err, apperr.CodeIdempotencyKeyInUse)
	if !errors.Is(err, webhook.ErrClaimLost) || apperr.As(err).Message != "another request took over this Idempotency-Key; retry to get its result" {
		t.Errorf("err = %v, want ErrClaimLost as its cause and the take-over message", err)
	}
	f.wantRefs()
	f.wantChecks()
	// The release left the other request's claim alone.
	_, err = f.svc.Create(f.ctx, owner, p, "k")
	wantCode(t, err, apperr.CodeIdempotencyKeyInUse)
	if msg := apperr.As(err).Message; msg != "a request with this Idempotency-Key is still in progress; retry after it finishes" {
		t.Errorf("message = %q, want the in-progress one", msg)
	}
}

func TestConcurrentCreatesStopAtTheLimit(t *testing.T) {
	const limit, tries = 3, 12
	f := newFixture(t, webhook.Options{Limit: limit})
	var wg sync.WaitGroup
	errs := make([]error, tries)
	for i := range tries {
		wg.Go(func() {
			_, errs[i] = f.svc.Create(f.ctx, owner, settings(fmt.Sprintf("https://e.com/%d", i)), "")
		})
	}
	wg.Wait()
	refused := 0
	for _, err := range errs {
		if err != nil {
			wantCode(t, err, apperr.CodeWebhookLimitReached)
			refused++
		}
	}
	if refused != tries-limit || f.store.Count(owner) != limit || len(f.secrets.Refs()) != limit || len(f.store.Checks()) != 0 {
		t.Errorf("refused %d, count %d, secrets %d, checks %d; want %d refused and %d of each, no checks",
			refused, f.store.Count(owner), len(f.secrets.Refs()), len(f.store.Checks()), tries-limit, limit)
	}
}
