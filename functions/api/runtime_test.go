package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/docproc/webhooks/internal/dev/local/devkey"

	"github.com/aws/aws-lambda-go/events"

	"github.com/docproc/webhooks/internal/dev/local/devstack"
	"github.com/docproc/webhooks/internal/dev/testenv"
	"github.com/docproc/webhooks/internal/dynamo"
)

// wantStatus is the status each event in events/ must get from the
// function, with the dev key seeded as `make run` seeds it.
var wantStatus = map[string]int{
	"create-webhook.json":             201,
	"create-webhook-base64.json":      201,
	"create-webhook-invalid-url.json": 400,
	"create-webhook-max-retries.json": 400,
	"create-webhook-no-key.json":      401,
	"create-webhook-idempotent.json":  201,
	"webhooks-wrong-method.json":      405,
	"unknown-route.json":              404,
	"list-webhooks.json":              200,
	"get-webhook-missing.json":        404,
	"update-webhook-missing.json":     404,
	"delete-webhook-missing.json":     404,
	"rotate-secret-missing.json":      404,
	"list-deliveries-missing.json":    404,
	"get-delivery-missing.json":       404,
	"retry-delivery-missing.json":     404,
	"recover-webhook-missing.json":    404,
	"test-webhook-missing.json":       404,
}

// TestBootstrapUnderRuntimeEmulator builds the real bootstrap and runs it
// under the Lambda Runtime Interface Emulator, as `sam local invoke` does
// in its container, with the environment from events/env.json pointed at
// kumo. Every event in events/ is invoked and its status checked.
func TestBootstrapUnderRuntimeEmulator(t *testing.T) {
	emu, env := testenv.StartFunction(t, "ApiFunction")
	seedLocalStack(t, testenv.Kumo(t), env["TABLE_NAME"])

	files := testenv.EventFiles(t)
	for name := range files {
		if _, ok := wantStatus[name]; !ok {
			t.Errorf("events/%s has no expected status in wantStatus", name)
		}
	}
	for name, want := range wantStatus {
		raw, ok := files[name]
		if !ok {
			t.Errorf("events/%s is missing", name)
			continue
		}
		body, err := emu.Invoke(raw, 20*time.Second)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var resp events.APIGatewayV2HTTPResponse
		if err := json.Unmarshal(body, &resp); err != nil {
			t.Fatalf("%s: the function returned %s: %v", name, body, err)
		}
		if resp.StatusCode != want {
			t.Errorf("%s: status %d, want %d: %s", name, resp.StatusCode, want, resp.Body)
			continue
		}
		t.Logf("%s -> %d", name, resp.StatusCode)
		if want == 201 && (!strings.Contains(resp.Body, `"signing_secret":"whsec_`) || resp.Headers["Cache-Control"] != "no-store") {
			t.Errorf("%s: 201 without a secret or no-store: %v %s", name, resp.Headers, resp.Body)
		}
	}
	if d, ok := emu.InitDuration(); ok {
		t.Logf("init duration reported by the emulator: %v", d)
	}
	emu.Stop()
	if strings.Contains(emu.Logs(), devkey.APIKey) || strings.Contains(emu.Logs(), "whsec_") {
		t.Error("function output contains the API key or a signing secret")
	}
}

// seedLocalStack creates the table and seeds the dev key, as `make run` does.
func seedLocalStack(t *testing.T, b testenv.Backend, table string) {
	t.Helper()
	client := dynamo.NewClient(b.Config(t))
	testenv.CreateTable(t, client, table)
	if _, err := devstack.SeedAPIKey(context.Background(), dynamo.New(client, table), devkey.APIKey, devkey.Account); err != nil {
		t.Fatal(err)
	}
}
