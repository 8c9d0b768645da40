package webhook_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docproc/webhooks/internal/apperr"
	"github.com/docproc/webhooks/internal/tenant"
	"github.com/docproc/webhooks/internal/webhook"
)

// Get, List, Update and Delete.

// writeConcurrently changes owner's webhook id as another request would,
// straight in the store, and returns it as written.
func (f *fixture) writeConcurrently(id string, change func(*webhook.Settings)) webhook.Webhook {
	f.t.Helper()
	w := f.stored(id)
	change(&w.Settings)
	w.Version++
	if err := f.store.Update(f.ctx, w); err != nil {
		f.t.Fatalf("concurrent write: %v", err)
	}
	return w
}

// newURL is the update that sets the endpoint to url.
func newURL(url string) webhook.UpdateParams { return webhook.UpdateParams{URL: &url} }

func TestGetIsScopedToTheOwner(t *testing.T) {
	f := newFixture(t, webhook.Options{})
	w := f.create("").Webhook
	if got, err := f.svc.Get(f.ctx, owner, w.ID); err != nil || got.ID != w.ID {
		t.Fatalf("owner's get = %+v, %v", got, err)
	}
	for _, c := range []struct {
		who tenant.Tenant
		id  string
	}{{stranger, w.ID}, {owner, "wh_nope"}} {
		_, err := f.svc.Get(f.ctx, c.who, c.id)
		wantCode(t, err, apperr.CodeResourceMissing)
	}
}

// An API key sent by mistake where a webhook id goes is never repeated
// in the answer, nor is anything else that is not a webhook id; a
// well-formed id is.
func TestNotFoundNamesOnlyWebhookIDs(t *testing.T) {
	f := newFixture(t, webhook.Options{})
	for id, named := range map[string]bool{
		"dk_test_4eC39HqLyjWDarjtT1zdp7dc":       false,
		"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw": false,
		"wh_nope":                                false,
		"wh_01M8SGYQ9YKF9CTDV3NSF785K9":          true,
	} {
		_, err := f.svc.Get(f.ctx, owner, id)
		wantCode(t, err, apperr.CodeResourceMissing)
		if e := apperr.As(err); e == nil || strings.Contains(e.Message, id) != named {
			t.Errorf("Get(%q): %v; want the id named: %v", id, err, named)
		}
	}
}

func TestListPagesNewestFirst(t *testing.T) {
	f := newFixture(t, webhook.Options{})
	var ids []string
	for range 3 {
		ids = append(ids, f.create("").Webhook.ID)
		f.clock.advance(time.Second)
	}
	page, err := f.svc.List(f.ctx, owner, 1, ids[2])
	if err != nil || len(page.Webhooks) != 1 || page.Webhooks[0].ID != ids[1] || !page.HasMore {
		t.Fatalf("page after the newest = %+v, %v; want the middle one and more", page, err)
	}
	page, err = f.svc.List(f.ctx, owner, 10, "")
	var got []string
	for _, w := range page.Webhooks {
		got = append(got, w.ID)
	}
	if slices.Reverse(ids); err != nil || !slices.Equal(got, ids) || page.HasMore {
		t.Fatalf("list = %q (more %v), %v; want %q", got, page.HasMore, err, ids)
	}
}

func TestListStartingAfterAnotherOwnersWebhook(t *testing.T) {
	f := newFixture(t, webhook.Options{})
	theirs, err := f.svc.Create(f.ctx, stranger, settings("https://e.com"), "")
	if err != nil {
		t.Fatal(err)
	}
	for _, after := range []string{theirs.Webhook.ID, "wh_nope"} {
		_, err := f.svc.List(f.ctx, owner, 10, after)
		wantCode(t, err, apperr.CodeStartingAfterInvalid)
	}
}

func TestUpdateRetriesAfterAConcurrentWrite(t *testing.T) {
	f := newFixture(t, webhook.Options{})
	w := f.create("").Webhook
	// Another request changes max_retries between this update's read and
	// its write; the write fails its version condition.
	f.faults.Before("Store.Update", 1, func() {
		f.writeConcurrently(w.ID, func(s *webhook.Settings) { s.MaxRetries = 1 })
	})
	got, err := f.svc.Update(f.ctx, owner, w.ID, newURL("https://new.example.com"))
	if err != nil {
		t.Fatal(err)
	}
	if got.URL != "https://new.example.com" || got.MaxRetries != 1 || got.Version != 3 {
		t.Errorf("updated %+v; want the new url over the concurrent max_retries, version 3", got)
	}
	if n := f.calls("Store.Get"); n != 3 { // the update's two reads and the concurrent one
		t.Errorf("%d reads, want 3", n)
	}
	if stored := f.stored(w.ID); stored.URL != got.URL || stored.MaxRetries != 1 {
		t.Errorf("stored %+v", stored)
	}
}

func TestUpdateGivesUpWhenAlwaysStale(t *testing.T) {
	t.Parallel() // its backoff sleeps about a second
	f := newFixture(t, webhook.Options{})
	w := f.create("").Webhook
	for n := 1; n <= webhook.UpdateTries; n++ {
		f.faults.Fail("Store.Update", n, webhook.ErrStale)
	}
	_, err := f.svc.Update(f.ctx, owner, w.ID, newURL("https://new.example.com"))
	wantCode(t, err, apperr.CodeWebhookBusy)
	if n := f.calls("Store.Update"); n != webhook.UpdateTries {
		t.Errorf("%d webhook.UpdateTries, want %d", n, webhook.UpdateTries)
	}
	if f.stored(w.ID).Version != 1 {
		t.Error("a refused update was written")
	}
}

func TestUpdateWhoseOutcomeIsUnknown(t *testing.T) {
	cases := []struct {
		name   string
		faults func(f *fixture, id string)
		wrote  bool // whether the read-back shows this update
	}{
		{"committed", func(f *fixture, _ string) {
			f.faults.FailAfter("Store.Update", 1, errUnavailable)
		}, true},
		{"not committed", func(f *fixture, _ string) {
			f.faults.Fail("Store.Update", 1, errUnavailable)
		}, false},
		{"committed, then overwritten", func(f *fixture, id string) {
			f.faults.FailAfter("Store.Update", 1, errUnavailable)
			f.faults.Before("Store.Get", 2, func() {
				f.writeConcurrently(id, func(s *webhook.Settings) { s.IsActive = false })
			})
		}, false},
		{"read-back fails", func(f *fixture, _ string) {
			f.faults.FailAfter("Store.Update", 1, errUnavailable)
			f.faults.Fail("Store.Get", 2, errUnavailable)
		}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, webhook.Options{})
			w := f.create("").Webhook
			c.faults(f, w.ID)
			got, err := f.svc.Update(f.ctx, owner, w.ID, newURL("https://new.example.com"))
			if !c.wrote {
				if !errors.Is(err, errUnavailable) {
					t.Fatalf("err = %v, want the write's error", err)
				}
				return
			}
			if err != nil || got.URL != "https://new.example.com" || got.Version != 2 {
				t.Fatalf("update = %+v, %v; want the committed write", got, err)
			}
		})
	}
}

// orphanCheck is the check that a delete at t0 notes for the janitor.
func orphanCheck(id string) webhook.SecretCheck {
	return webhook.SecretCheck{Kind: webhook.CheckOrphan, Owner: owner, WebhookID: id, At: t0}
}

func TestDelete(t *testing.T) {
	cases := []struct {
		name         string
		faults       func(f *fixture, id string)
		secretKept   bool
		checkWritten bool
	}{
		{"plain", func(*fixture, string) {}, false, false},
		{"after a concurrent write", func(f *fixture, id string) {
			f.faults.Before("Store.Delete", 1, func() {
				f.writeConcurrently(id, func(s *webhook.Settings) { s.IsActive = false })
			})
		}, false, false},
		{"committed behind an error", func(f *fixture, _ string) {
			f.faults.FailAfter("Store.Delete", 1, errUnavailable)
		}, false, false},
		{"secret not deleted", func(f *fixture, _ string) {
			f.faults.Fail("SecretStore.Delete", 1, errUnavailable)
		}, true, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, webhook.Options{})
			w := f.create("").Webhook
			c.faults(f, w.ID)
			got, err := f.svc.Delete(f.ctx, owner, w.ID)
			if err != nil || got.ID != w.ID {
				t.Fatalf("delete = %+v, %v", got, err)
			}
			if _, err := f.svc.Get(f.ctx, owner, w.ID); codeOf(err) != apperr.CodeResourceMissing {
				t.Errorf("after the delete, get: %v", err)
			}
			if f.store.Count(owner) != 0 {
				t.Errorf("count = %d, want 0", f.store.Count(owner))
			}
			if c.secretKept {
				f.wantRefs(w.SecretRef)
				f.wantChecks(orphanCheck(w.ID)) // for the janitor
			} else {
				f.wantRefs()
				f.wantChecks()
			}
		})
	}
}

func TestDeleteWhoseOutcomeIsUnknownAndTheWebhookRemains(t *testing.T) {
	f := newFixture(t, webhook.Options{})
	w := f.create("").Webhook
	f.faults.Fail("Store.Delete", 1, errUnavailable)
	if _, err := f.svc.Delete(f.ctx, owner, w.ID); !errors.Is(err, errUnavailable) {
		t.Fatalf("err = %v, want the write's error", err)
	}
	f.stored(w.ID)
	f.wantRefs(w.SecretRef)
	f.wantChecks()
}

func TestDeleteOfAnotherOwnersWebhook(t *testing.T) {
	f := newFixture(t, webhook.Options{})
	w := f.create("").Webhook
	_, err := f.svc.Delete(f.ctx, stranger, w.ID)
	wantCode(t, err, apperr.CodeResourceMissing)
	f.stored(w.ID)
	f.wantRefs(w.SecretRef)
}

// An update sets, keeps and removes the rate limit as its params say, and
// the store keeps what the update answered.
func TestUpdateRateLimit(t *testing.T) {
	f := newFixture(t, webhook.Options{})
	w := f.create("").Webhook
	rate, none := 50, 0
	for _, c := range []struct {
		name string
		u    webhook.UpdateParams
		want int
	}{
		{"set", webhook.UpdateParams{RateLimit: &rate}, 50},
		{"left out", newURL("https://new.example.com"), 50},
		{"removed", webhook.UpdateParams{RateLimit: &none}, 0},
	} {
		got, err := f.svc.Update(f.ctx, owner, w.ID, c.u)
		if err != nil || got.RateLimit != c.want {
			t.Fatalf("%s: update = %+v, %v; want rate limit %d", c.name, got, err, c.want)
		}
		if stored := f.stored(w.ID); stored.RateLimit != c.want {
			t.Errorf("%s: stored rate limit %d, want %d", c.name, stored.RateLimit, c.want)
		}
	}
}
