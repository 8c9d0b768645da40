package dynamo_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/docproc/webhooks/internal/apikey"
	"github.com/docproc/webhooks/internal/apperr"
	"github.com/docproc/webhooks/internal/dynamo"
	"github.com/docproc/webhooks/internal/tenant"
	"github.com/docproc/webhooks/internal/testenv"
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
			URL: "https://e.com", Events: []webhook.Event{webhook.DocumentUploaded}, SecretRef: "arn:1",
			CreatedAt: time.Now()}
		if err := s.Create(context.Background(), w); err != nil {
			t.Fatal(err)
		}
		w.SecretRef = "arn:2"
		err := s.Create(context.Background(), w)
		if e := apperr.As(err); e == nil || e.Kind != apperr.Conflict {
			t.Fatalf("second create with the same id: %v, want a Conflict", err)
		}
		// The same id under another tenant is a different webhook.
		w.Owner.Mode = tenant.Live
		if err := s.Create(context.Background(), w); err != nil {
			t.Fatalf("same id, other mode: %v", err)
		}
	})
}
