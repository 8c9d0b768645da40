package janitor_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/docproc/webhooks/internal/dynamo"
	"github.com/docproc/webhooks/internal/janitor"
	"github.com/docproc/webhooks/internal/secrets"
	"github.com/docproc/webhooks/internal/tenant"
	"github.com/docproc/webhooks/internal/testenv"
	"github.com/docproc/webhooks/internal/webhook"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func TestJanitorDeletesOnlyOrphans(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, b testenv.Backend) {
		ctx := context.Background()
		cfg := b.Config(t)
		db := dynamo.NewClient(cfg)
		table := testenv.Unique("janitor-")
		testenv.CreateTable(t, db, table)
		store := dynamo.New(db, table)
		prefix := testenv.Unique("webhooks/j")
		sec := secrets.New(secretsmanager.NewFromConfig(cfg), prefix, "")
		sec.PageSize = 2 // five secrets make three pages
		bystander := secrets.New(secretsmanager.NewFromConfig(cfg), prefix+"x", "")

		owner := tenant.Tenant{Account: "acct_j", Mode: tenant.Test}
		var orphans []string
		var keptRef string
		for i := range 5 {
			id, _ := webhook.NewID(time.Now())
			s := webhook.NewSecret{Owner: owner, WebhookID: id, Value: "whsec_x", SHA256: "h"}
			ref, err := sec.Create(ctx, s)
			if err != nil {
				t.Fatal(err)
			}
			if i%2 == 1 { // 2 kept, 3 orphans
				w := webhook.Webhook{ID: id, Owner: owner, Settings: webhook.Settings{URL: "https://e.com", Events: webhook.DefaultEvents},
					SecretRef: ref, CreatedAt: time.Now()}
				if err := store.Create(ctx, w, 16, nil); err != nil {
					t.Fatal(err)
				}
				keptRef = ref
				continue
			}
			orphans = append(orphans, sec.Name(s))
		}
		// A secret under a longer prefix that merely starts the same is not ours.
		id, _ := webhook.NewID(time.Now())
		if _, err := bystander.Create(ctx, webhook.NewSecret{Owner: owner, WebhookID: id, Value: "whsec_y", SHA256: "h"}); err != nil {
			t.Fatal(err)
		}

		var logs bytes.Buffer
		log := slog.New(slog.NewJSONHandler(&logs, nil))
		pruner := webhook.NewService(store, store, sec, log, webhook.Options{})
		// One kept webhook was rotated: one earlier secret has expired, one has not.
		set := webhook.NewSecretSet("whsec_now")
		set.Previous = []webhook.OldSecret{
			{Value: "whsec_old", SHA256: "h", ExpiresAt: time.Now().Add(-time.Minute)},
			{Value: "whsec_recent", SHA256: "h", ExpiresAt: time.Now().Add(time.Hour)},
		}
		if err := sec.Put(ctx, keptRef, set); err != nil {
			t.Fatal(err)
		}
		young, err := janitor.New(sec, store, pruner, time.Hour, log).Run(ctx)
		if err != nil || young.Scanned != 5 || young.Young != 5 || len(young.Deleted) != 0 {
			t.Fatalf("run with a min age of 1h = %+v, %v; want 5 scanned, all young", young, err)
		}

		j := janitor.New(sec, store, pruner, 0, log)
		first, err := j.Run(ctx)
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(first.Deleted)
		if first.Scanned != 5 || first.Kept != 2 || first.Pruned != 1 || !slices.Equal(first.Deleted, orphans) {
			t.Errorf("first run = %+v; want 5 scanned, 2 kept, 1 pruned, deleted %v", first, orphans)
		}
		if got, err := sec.Get(ctx, keptRef); err != nil || len(got.Previous) != 1 || got.Previous[0].Value != "whsec_recent" {
			t.Errorf("after pruning the kept secret holds %+v, %v; want only the unexpired earlier secret", got.Previous, err)
		}
		second, err := j.Run(ctx)
		if err != nil || second.Scanned != 2 || second.Kept != 2 || second.Pruned != 0 || len(second.Deleted) != 0 {
			t.Errorf("second run = %+v, %v; want the 2 kept and nothing deleted", second, err)
		}
		other, err := janitor.New(bystander, store, pruner, 0, log).Run(ctx)
		if err != nil || other.Scanned != 1 {
			t.Errorf("the bystander's secret is gone or unseen: %+v, %v", other, err)
		}
		if bytes.Contains(logs.Bytes(), []byte("whsec_")) {
			t.Error("the janitor logged a secret value")
		}
	})
}

func TestJanitorReportsFailures(t *testing.T) {
	ctx := context.Background()
	b := testenv.Kumo()
	db := dynamo.NewClient(b.Config(t))
	table := testenv.Unique("janitor-")
	testenv.CreateTable(t, db, table)
	prefix := testenv.Unique("webhooks/j")
	owner := tenant.Tenant{Account: "acct_j", Mode: tenant.Live}
	id, _ := webhook.NewID(time.Now())
	plain := secrets.New(secretsmanager.NewFromConfig(b.Config(t)), prefix, "")
	if _, err := plain.Create(ctx, webhook.NewSecret{Owner: owner, WebhookID: id, Value: "whsec_z", SHA256: "h"}); err != nil {
		t.Fatal(err)
	}
	faults := testenv.NewInjector(testenv.Fault{Operation: "DeleteSecret", Err: errors.New("injected")})
	failing := secrets.New(secretsmanager.NewFromConfig(b.Config(t, faults.Middleware)), prefix, "")
	discard := slog.New(slog.DiscardHandler)
	pruner := webhook.NewService(dynamo.New(db, table), dynamo.New(db, table), plain, discard, webhook.Options{})
	r, err := janitor.New(failing, dynamo.New(db, table), pruner, 0, discard).Run(ctx)
	if err == nil || len(r.Failed) != 1 || len(r.Deleted) != 0 {
		t.Fatalf("run with DeleteSecret failing = %+v, %v; want one failure and an error", r, err)
	}
	// The next run, with the fault gone, finishes the job.
	if r, err := janitor.New(plain, dynamo.New(db, table), pruner, 0, discard).Run(ctx); err != nil || len(r.Deleted) != 1 {
		t.Fatalf("retry run = %+v, %v; want the orphan deleted", r, err)
	}
}

func TestOnlyRecentlyChangedSecretsAreRead(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		changed time.Time
		want    bool
	}{
		{time.Time{}, false},
		{now.Add(-time.Hour), true},
		{now.Add(-8 * 24 * time.Hour), true},
		{now.Add(-8*24*time.Hour - time.Second), false},
	} {
		s := janitor.Secret{CreatedAt: now.Add(-30 * 24 * time.Hour), ChangedAt: c.changed}
		if got := janitor.MayHoldExpired(s, now); got != c.want {
			t.Errorf("changed %v: read = %v, want %v", c.changed, got, c.want)
		}
	}
}
