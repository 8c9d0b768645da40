package main

import (
	"context"
	"encoding/json"
	"os"
	"slices"
	"strings"
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

// TestJanitorUnderRuntimeEmulator builds the janitor's bootstrap and invokes
// it under the Lambda Runtime Interface Emulator with
// events/janitor/schedule.json and the JanitorFunction section of
// events/env.json, as `sam local invoke JanitorFunction` would. Of two
// orphan secrets with checks, the one noted three hours ago is deleted and
// the one noted now is too young to judge.
func TestJanitorUnderRuntimeEmulator(t *testing.T) {
	emu, env := testenv.StartFunction(t, "JanitorFunction")
	ctx := context.Background()
	kumo := testenv.Kumo(t)
	db := dynamo.NewClient(kumo.Config(t))
	testenv.CreateTable(t, db, env["TABLE_NAME"])
	store := dynamo.New(db, env["TABLE_NAME"])
	sec := secrets.New(secretsmanager.NewFromConfig(kumo.Config(t)), env["SECRET_PREFIX"], "")
	owner := tenant.Tenant{Account: testenv.Unique("acct_"), Mode: tenant.Test}
	orphan := func(at time.Time) string {
		id, _ := webhook.NewID(at)
		if _, err := sec.Create(ctx, webhook.NewSecret{Owner: owner, WebhookID: id, Value: webhook.SigningSecretOf("whsec_x"), SHA256: "h"}); err != nil {
			t.Fatal(err)
		}
		if err := store.NoteCheck(ctx, webhook.SecretCheck{Kind: webhook.CheckOrphan, Owner: owner, WebhookID: id, At: at}); err != nil {
			t.Fatal(err)
		}
		return sec.Ref(owner, id)
	}
	old, young := orphan(time.Now().Add(-3*time.Hour)), orphan(time.Now())
	event, err := os.ReadFile(testenv.RepoFile("events/janitor/schedule.json"))
	if err != nil {
		t.Fatal(err)
	}
	body, err := emu.Invoke(event, 60*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var r janitor.Report
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatalf("the janitor returned %s: %v", body, err)
	}
	if !slices.Contains(r.Deleted, old) || slices.Contains(r.Deleted, young) || len(r.Failed) != 0 || !r.Complete {
		t.Errorf("report %+v: want %s deleted, %s kept, nothing failed", r, old, young)
	}
	if _, err := sec.Get(ctx, young); err != nil {
		t.Errorf("the young orphan's secret: %v", err)
	}
	if !strings.Contains(emu.Logs(), `"msg":"janitor run"`) {
		t.Error("the run was not logged")
	}
}
