package main

import (
	"context"
	"encoding/json"
	"os"
	"strings"
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

// TestJanitorUnderRuntimeEmulator builds the janitor's bootstrap and invokes
// it under the Lambda Runtime Interface Emulator with
// events/janitor/schedule.json and the JanitorFunction section of
// events/env.json, as `sam local invoke JanitorFunction` would. A new
// orphan secret is too young to delete: the report must count it as such.
func TestJanitorUnderRuntimeEmulator(t *testing.T) {
	emu, env := testenv.StartFunction(t, "JanitorFunction")
	kumo := testenv.Kumo()
	testenv.CreateTable(t, dynamo.NewClient(kumo.Config(t)), env["TABLE_NAME"])
	id, _ := webhook.NewID(time.Now())
	sec := secrets.New(secretsmanager.NewFromConfig(kumo.Config(t)), env["SECRET_PREFIX"], "")
	orphan := webhook.NewSecret{Owner: tenant.Tenant{Account: "acct_local", Mode: tenant.Test}, WebhookID: id, Value: "whsec_x", SHA256: "h"}
	if _, err := sec.Create(context.Background(), orphan); err != nil {
		t.Fatal(err)
	}
	event, err := os.ReadFile(testenv.RepoFile("events/janitor/schedule.json"))
	if err != nil {
		t.Fatal(err)
	}
	body, err := emu.Invoke(event, 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var r janitor.Report
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatalf("the janitor returned %s: %v", body, err)
	}
	if r.Scanned < 1 || r.Young < 1 || len(r.Deleted) != 0 || len(r.Failed) != 0 {
		t.Errorf("report %+v: want the new orphan scanned, young and kept", r)
	}
	if !strings.Contains(emu.Logs(), `"msg":"janitor run"`) {
		t.Error("the run was not logged")
	}
}
