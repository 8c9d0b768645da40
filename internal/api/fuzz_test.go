package api_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/docproc/webhooks/internal/local"
	"github.com/docproc/webhooks/internal/testenv"
)

// FuzzHandle drives the whole handler, against kumo, with mutated methods,
// paths, keys, content types and bodies, seeded from events/. No input may
// make it panic, answer 5xx or answer anything but the JSON error shape.
func FuzzHandle(f *testing.F) {
	paths, _ := filepath.Glob(testenv.RepoFile("events/*.json"))
	for _, p := range paths {
		raw, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		var ev events.APIGatewayV2HTTPRequest
		if json.Unmarshal(raw, &ev) != nil || ev.Version != "2.0" {
			continue // env.json
		}
		f.Add(ev.RequestContext.HTTP.Method, ev.RawPath, ev.Headers["authorization"], ev.Headers["content-type"], ev.Body, ev.IsBase64Encoded)
	}
	f.Add("POST", "/v1/webhooks", "Bearer "+local.DevAPIKey, "application/json", `{"url":"https://[::ffff:7f00:1]","events":[null]}`, false)
	f.Add("POST", "/v1/webhooks", "Bearer "+local.DevAPIKey, "application/json", base64.StdEncoding.EncodeToString([]byte(`[]`)), true)

	s := newStack(f, testenv.Kumo())
	s.echoesInput = true
	if _, err := local.SeedAPIKey(context.Background(), s.store(), local.DevAPIKey, s.owner.Account); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, method, path, auth, contentType, body string, b64 bool) {
		req := request(method, path, body, map[string]string{"Authorization": auth, "Content-Type": contentType})
		req.IsBase64Encoded = b64
		resp, err := s.handler(context.Background(), req)
		if err != nil {
			t.Fatalf("invocation error: %v", err)
		}
		if resp.StatusCode >= 500 || resp.StatusCode < 200 {
			t.Fatalf("status %d for %q %q: %s", resp.StatusCode, method, path, resp.Body)
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal([]byte(resp.Body), &m); err != nil {
			t.Fatalf("body is not a JSON object: %s", resp.Body)
		}
		if _, isErr := m["error"]; isErr != (resp.StatusCode >= 400) {
			t.Fatalf("status %d with body %s", resp.StatusCode, resp.Body)
		}
	})
}
