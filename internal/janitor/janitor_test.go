package janitor_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/docproc/webhooks/internal/dev/testenv"
	"github.com/docproc/webhooks/internal/dynamo"
	"github.com/docproc/webhooks/internal/janitor"
	"github.com/docproc/webhooks/internal/secrets"
	"github.com/docproc/webhooks/internal/tenant"
	"github.com/docproc/webhooks/internal/webhook"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// fixture is a table, a secret prefix and the janitor's parts over them,
// all behind one fault injector.
type fixture struct {
	t       *testing.T
	store   *dynamo.Store
	sec     *secrets.Store
	service *webhook.Service
	faults  *testenv.Injector
	logs    *bytes.Buffer
	owner   tenant.Tenant
}

func newFixture(t *testing.T, b testenv.Backend, faults ...testenv.Fault) *fixture {
	t.Helper()
	f := &fixture{t: t, faults: testenv.NewInjector(faults...), logs: &bytes.Buffer{},
		owner: tenant.Tenant{Account: testenv.Unique("acct_"), Mode: tenant.Test}}
	cfg := b.Config(t, f.faults.Middleware)
	db := dynamo.NewClient(cfg)
	table := testenv.Unique("janitor-")
	testenv.CreateTable(t, dynamo.NewClient(b.Config(t)), table)
	f.store = dynamo.New(db, table)
	f.sec = secrets.New(secretsmanager.NewFromConfig(cfg), testenv.Unique("webhooks/j"), "")
	f.service = webhook.NewService(f.store, f.store, f.sec, slog.New(slog.NewJSONHandler(f.logs, nil)), webhook.Options{})
	// As a scheduled janitor finds it: a checkpoint a day back. (A first run
	// without one reads every hour of janitor.Lookback; the runtime test in
	// functions/janitor makes one.)
	if err := f.store.SaveCheckpoint(context.Background(), time.Now().Add(-24*time.Hour).Truncate(time.Hour)); err != nil {
		t.Fatal(err)
	}
	return f
}

// janitor returns a janitor over the fixture with minAge.
func (f *fixture) janitor(minAge time.Duration) *janitor.Janitor {
	return janitor.New(f.store, f.sec, f.store, f.service, minAge, slog.New(slog.NewJSONHandler(f.logs, nil)))
}

// secret stores a signing secret for a new webhook id and returns the id.
func (f *fixture) secret(set webhook.SecretSet) string {
	f.t.Helper()
	id, _ := webhook.NewID(time.Now())
	ref, err := f.sec.Create(context.Background(), webhook.NewSecret{Owner: f.owner, WebhookID: id, Value: set.Current, SHA256: set.CurrentSHA256})
	if err != nil {
		f.t.Fatal(err)
	}
	if len(set.Previous) > 0 {
		if err := f.sec.Put(context.Background(), ref, set); err != nil {
			f.t.Fatal(err)
		}
	}
	return id
}

// webhook stores a webhook holding id's secret.
func (f *fixture) webhook(id string) {
	f.t.Helper()
	w := webhook.Webhook{ID: id, Owner: f.owner, Settings: webhook.Settings{URL: "https://e.com", Events: webhook.DefaultEvents},
		SecretRef: f.sec.Ref(f.owner, id), CreatedAt: time.Now().UTC().Truncate(time.Second), Version: 1}
	if err := f.store.Create(context.Background(), w, 10000, nil, ""); err != nil {
		f.t.Fatal(err)
	}
}

// note records a check of kind for id at at.
func (f *fixture) note(kind webhook.CheckKind, id string, at time.Time) webhook.SecretCheck {
	f.t.Helper()
	c := webhook.SecretCheck{Kind: kind, Owner: f.owner, WebhookID: id, At: at}
	if err := f.store.NoteCheck(context.Background(), c); err != nil {
		f.t.Fatal(err)
	}
	return c
}

// exists reports whether id's secret exists.
func (f *fixture) exists(id string) bool {
	_, err := f.sec.Get(context.Background(), f.sec.Ref(f.owner, id))
	if err != nil && !errors.Is(err, webhook.ErrNotFound) {
		f.t.Fatal(err)
	}
	return err == nil
}

// pending returns the checks left in the hour of at.
func (f *fixture) pending(at time.Time) int {
	f.t.Helper()
	checks, err := f.store.DueChecks(context.Background(), at.Truncate(time.Hour))
	if err != nil {
		f.t.Fatal(err)
	}
	return len(checks)
}

func TestJanitorSettlesDueChecks(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, b testenv.Backend) {
		ctx := context.Background()
		f := newFixture(t, b)
		now := time.Now().UTC()
		due := now.Add(-3 * time.Hour) // its hour ended over an hour ago

		orphan := f.secret(webhook.NewSecretSet(webhook.SigningSecretOf("whsec_orphan")))
		f.note(webhook.CheckOrphan, orphan, due)
		kept := f.secret(webhook.NewSecretSet(webhook.SigningSecretOf("whsec_kept")))
		f.webhook(kept)
		f.note(webhook.CheckOrphan, kept, due)
		young := f.secret(webhook.NewSecretSet(webhook.SigningSecretOf("whsec_young")))
		f.note(webhook.CheckOrphan, young, now)
		rotated := webhook.NewSecretSet(webhook.SigningSecretOf("whsec_now"))
		rotated.Previous = []webhook.OldSecret{
			{Value: webhook.SigningSecretOf("whsec_old"), SHA256: "h", ExpiresAt: due},
			{Value: webhook.SigningSecretOf("whsec_recent"), SHA256: "h", ExpiresAt: now.Add(time.Hour)},
		}
		pruned := f.secret(rotated)
		f.webhook(pruned)
		f.note(webhook.CheckPrune, pruned, due)
		f.note(webhook.CheckPrune, "wh_01KBDX0000000000000000000G", due) // a webhook deleted since

		r, err := f.janitor(time.Hour).Run(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := []string{f.sec.Ref(f.owner, orphan)}
		if r.Checks != 4 || r.Kept != 1 || r.Pruned != 1 || fmt.Sprint(r.Deleted) != fmt.Sprint(want) || !r.Complete {
			t.Errorf("report = %+v; want 4 due checks, 1 kept, 1 pruned, deleted %v, complete", r, want)
		}
		if f.exists(orphan) || !f.exists(kept) || !f.exists(young) || !f.exists(pruned) {
			t.Errorf("secrets after the run: orphan %v kept %v young %v pruned %v; want only the orphan gone",
				f.exists(orphan), f.exists(kept), f.exists(young), f.exists(pruned))
		}
		if set, err := f.sec.Get(ctx, f.sec.Ref(f.owner, pruned)); err != nil || len(set.Previous) != 1 || set.Previous[0].Value.Reveal() != "whsec_recent" {
			t.Errorf("after pruning the secret holds %+v, %v; want only the unexpired earlier secret", set.Previous, err)
		}
		if n := f.pending(due); n != 0 {
			t.Errorf("%d settled checks left in their hour", n)
		}
		if n := f.pending(now); n != 1 {
			t.Errorf("%d young checks, want the young one left", n)
		}
		// The last hour whose checks are all an hour old is the one before
		// last (or, if the clock crossed an hour since now, the last).
		if wantNext := now.Add(-time.Hour).Truncate(time.Hour); !r.Next.Equal(wantNext) && !r.Next.Equal(wantNext.Add(time.Hour)) {
			t.Errorf("checkpoint %v, want %v", r.Next, wantNext)
		}

		// The next run starts at the checkpoint: it reads at most the hours
		// since and settles nothing, and a check in an hour before the
		// checkpoint (which no request notes) is not even read.
		f.note(webhook.CheckOrphan, f.secret(webhook.NewSecretSet(webhook.SigningSecretOf("whsec_behind"))), r.Next.Add(-2*time.Hour))
		second, err := f.janitor(time.Hour).Run(ctx)
		if err != nil || second.Hours > 1 || second.Checks != 0 || len(second.Deleted) != 0 || !second.From.Equal(r.Next) {
			t.Errorf("second run = %+v, %v; want it to start at %v and find nothing", second, err, r.Next)
		}
		if bytes.Contains(f.logs.Bytes(), []byte("whsec_")) {
			t.Error("the janitor logged a secret value")
		}
	})
}

func TestJanitorRetriesFailedChecks(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, testenv.Kumo(t), testenv.Fault{Operation: "DeleteSecret", Times: 1, Err: errors.New("injected")})
	due := time.Now().UTC().Add(-3 * time.Hour)
	orphan := f.secret(webhook.NewSecretSet(webhook.SigningSecretOf("whsec_z")))
	f.note(webhook.CheckOrphan, orphan, due)
	r, err := f.janitor(time.Hour).Run(ctx)
	if err == nil || len(r.Failed) != 1 || len(r.Deleted) != 0 || r.Next.After(due) {
		t.Fatalf("run with DeleteSecret failing = %+v, %v; want one failure, an error, and the checkpoint held at the failed hour", r, err)
	}
	if f.pending(due) != 1 || !f.exists(orphan) {
		t.Fatal("the failed check or its secret is gone")
	}
	// The next run, with the fault gone, finishes the job.
	r, err = f.janitor(time.Hour).Run(ctx)
	if err != nil || len(r.Deleted) != 1 || f.exists(orphan) || f.pending(due) != 0 {
		t.Fatalf("retry run = %+v, %v; want the orphan deleted and its check cleared", r, err)
	}
}

func TestJanitorStopsBeforeItsDeadline(t *testing.T) {
	f := newFixture(t, testenv.Kumo(t))
	due := time.Now().UTC().Add(-3 * time.Hour)
	orphan := f.secret(webhook.NewSecretSet(webhook.SigningSecretOf("whsec_d")))
	f.note(webhook.CheckOrphan, orphan, due)
	// Less than StopMargin left: the run starts nothing and keeps its place.
	ctx, cancel := context.WithTimeout(context.Background(), janitor.StopMargin-time.Second)
	defer cancel()
	r, err := f.janitor(time.Hour).Run(ctx)
	if err != nil || r.Complete || r.Checks != 0 || !f.exists(orphan) {
		t.Fatalf("run near its deadline = %+v, %v; want it incomplete, with nothing done", r, err)
	}
	ctx, cancel = context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if r2, err := f.janitor(time.Hour).Run(ctx); err != nil || !r2.Complete || !r2.From.Equal(r.Next) || len(r2.Deleted) != 1 {
		t.Fatalf("next run = %+v, %v; want it to continue from %v and delete the orphan", r2, err, r.Next)
	}
}

// TestJanitorWorkDoesNotGrowWithWebhooks runs the janitor over a table
// with 10 webhooks and one with 400, each with the same three due checks,
// and counts the AWS calls of each run: they must be the same.
func TestJanitorWorkDoesNotGrowWithWebhooks(t *testing.T) {
	calls := map[int]map[string]int{}
	for _, n := range []int{10, 400} {
		f := newFixture(t, testenv.Kumo(t))
		for range n {
			id, _ := webhook.NewID(time.Now())
			f.webhook(id)
		}
		due := time.Now().UTC().Add(-3 * time.Hour)
		for range 3 {
			f.note(webhook.CheckOrphan, f.secret(webhook.NewSecretSet(webhook.SigningSecretOf("whsec_n"))), due)
		}
		_, before := f.faults.Total()
		r, err := f.janitor(time.Hour).Run(context.Background())
		if err != nil || len(r.Deleted) != 3 {
			t.Fatalf("%d webhooks: %+v, %v", n, r, err)
		}
		_, after := f.faults.Total()
		calls[n] = map[string]int{}
		for op, c := range after {
			if d := c - before[op]; d > 0 {
				calls[n][op] = d
			}
		}
	}
	if !maps.Equal(calls[10], calls[400]) {
		t.Errorf("calls with 10 webhooks %v, with 400 %v; want the same", calls[10], calls[400])
	}
	if calls[10]["ListSecrets"] != 0 || calls[10]["DeleteSecret"] != 3 {
		t.Errorf("calls = %v; want no listing and one DeleteSecret per orphan", calls[10])
	}
}

// TestJanitorJudgesOnlyChecksOldEnough runs at a fixed time within an
// hour: of two checks in the hour before, the one older than minAge is
// settled, the younger is left and counted, and the checkpoint stays at
// that hour, which is not over by the cutoff.
func TestJanitorJudgesOnlyChecksOldEnough(t *testing.T) {
	f := newFixture(t, testenv.Kumo(t))
	now := time.Now().UTC().Truncate(time.Hour).Add(30 * time.Minute) // hh:30
	old := f.secret(webhook.NewSecretSet(webhook.SigningSecretOf("whsec_old")))
	f.note(webhook.CheckOrphan, old, now.Add(-80*time.Minute)) // (hh-1):10, due at (hh-1):10 + 1h
	young := f.secret(webhook.NewSecretSet(webhook.SigningSecretOf("whsec_young")))
	f.note(webhook.CheckOrphan, young, now.Add(-50*time.Minute)) // (hh-1):40, not yet an hour old
	j := f.janitor(time.Hour)
	janitor.SetClock(j, func() time.Time { return now })
	r, err := j.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if r.Checks != 1 || r.Young != 1 || len(r.Deleted) != 1 || f.exists(old) || !f.exists(young) {
		t.Errorf("report %+v; want the old check settled and the young one left", r)
	}
	if want := now.Add(-time.Hour).Truncate(time.Hour); !r.Next.Equal(want) {
		t.Errorf("checkpoint %v, want %v: the hour holding the cutoff is not over", r.Next, want)
	}
}
