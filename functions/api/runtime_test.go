package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/docproc/webhooks/internal/dynamo"
	"github.com/docproc/webhooks/internal/local"
	"github.com/docproc/webhooks/internal/testenv"
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
}

// TestBootstrapUnderRuntimeEmulator builds the real bootstrap and runs it
// under the Lambda Runtime Interface Emulator, as `sam local invoke` does
// in its container, with the environment from events/env.json pointed at
// kumo. Every event in events/ is invoked and its status checked.
func TestBootstrapUnderRuntimeEmulator(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the bootstrap; skipped with -short")
	}
	dir := t.TempDir()
	bootstrap := filepath.Join(dir, "bootstrap")
	build := exec.Command("go", "build", "-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w", "-o", bootstrap, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build bootstrap: %v\n%s", err, out)
	}
	rie, err := exec.Command("go", "tool", "-n", "aws-lambda-rie").Output()
	if err != nil {
		t.Fatalf("find aws-lambda-rie (a tool in go.mod): %v", err)
	}

	env := functionEnv(t)
	kumo := testenv.Kumo()
	env["AWS_ENDPOINT_URL"] = kumo.URL
	seedLocalStack(t, kumo, env["TABLE_NAME"])

	invokeAddr, runtimeAddr := freeAddr(t), freeAddr(t)
	cmd := exec.Command(strings.TrimSpace(string(rie)),
		"--runtime-interface-emulator-address", invokeAddr, "--runtime-api-address", runtimeAddr, bootstrap)
	cmd.Env = append(os.Environ(), "AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=local", "AWS_SECRET_ACCESS_KEY=local")
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start rie: %v", err)
	}
	var once sync.Once
	stop := func() {
		once.Do(func() {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			_ = cmd.Wait() // after Wait, logs is no longer written to
			if t.Failed() {
				t.Logf("emulator and function output:\n%s", logs.String())
			}
		})
	}
	t.Cleanup(stop)

	files := eventFiles(t)
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
		resp := invoke(t, "http://"+invokeAddr, raw)
		if resp.StatusCode != want {
			t.Errorf("%s: status %d, want %d: %s", name, resp.StatusCode, want, resp.Body)
			continue
		}
		t.Logf("%s -> %d", name, resp.StatusCode)
		if want == 201 && (!strings.Contains(resp.Body, `"signing_secret":"whsec_`) || resp.Headers["Cache-Control"] != "no-store") {
			t.Errorf("%s: 201 without a secret or no-store: %v %s", name, resp.Headers, resp.Body)
		}
	}
	stop()
	if strings.Contains(logs.String(), local.DevAPIKey) || strings.Contains(logs.String(), "whsec_") {
		t.Error("function output contains the API key or a signing secret")
	}
}

// functionEnv reads the function's variables from events/env.json, the
// file `sam local invoke --env-vars` uses.
func functionEnv(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile(testenv.RepoFile("events/env.json"))
	if err != nil {
		t.Fatal(err)
	}
	var all map[string]map[string]string
	if err := json.Unmarshal(b, &all); err != nil {
		t.Fatalf("events/env.json: %v", err)
	}
	env, ok := all["ApiFunction"]
	if !ok {
		t.Fatal("events/env.json has no ApiFunction section")
	}
	return env
}

// seedLocalStack creates the table and seeds the dev key, as `make run` does.
func seedLocalStack(t *testing.T, b testenv.Backend, table string) {
	t.Helper()
	client := dynamo.NewClient(b.Config(t))
	testenv.CreateTable(t, client, table)
	if _, err := local.SeedAPIKey(context.Background(), dynamo.New(client, table), local.DevAPIKey, local.DevAccount); err != nil {
		t.Fatal(err)
	}
}

// invoke sends one event through the emulator's invoke endpoint.
func invoke(t *testing.T, base string, event []byte) events.APIGatewayV2HTTPResponse {
	t.Helper()
	url := base + "/2015-03-31/functions/function/invocations"
	var lastErr error
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		resp, err := http.Post(url, "application/json", bytes.NewReader(event))
		if err != nil {
			lastErr = err // the emulator may still be starting
			continue
		}
		body, err := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("invoke: HTTP %d %v: %s", resp.StatusCode, err, body)
		}
		var out events.APIGatewayV2HTTPResponse
		if err := json.Unmarshal(body, &out); err != nil {
			t.Fatalf("invoke returned %s: %v", body, err)
		}
		return out
	}
	t.Fatalf("runtime emulator did not answer: %v", lastErr)
	return events.APIGatewayV2HTTPResponse{}
}

// freeAddr returns a free loopback address or fails the test.
func freeAddr(t *testing.T) string {
	t.Helper()
	addr, err := testenv.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	return addr
}
