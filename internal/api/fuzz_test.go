package api_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/docproc/webhooks/internal/local/devstack"
	"github.com/docproc/webhooks/internal/testenv"
)

// FuzzHandle drives the whole handler, against kumo, with mutated methods,
// paths, keys, content types and bodies, seeded from events/. No input may
// make it panic, answer 5xx or answer anything but the JSON error shape,
// and whatever a path or body spells, no whole API key or signing secret
// may reach the logs.
func FuzzHandle(f *testing.F) {
	for _, raw := range testenv.EventFiles(f) {
		var ev events.APIGatewayV2HTTPRequest
		if err := json.Unmarshal(raw, &ev); err != nil {
			f.Fatal(err)
		}
		f.Add(ev.RequestContext.HTTP.Method, ev.RawPath, ev.Headers["authorization"], ev.Headers["content-type"], ev.Body, ev.IsBase64Encoded)
	}
	f.Add("POST", "/v1/webhooks", "Bearer "+devstack.DevAPIKey, "application/json", `{"url":"https://[::ffff:7f00:1]","events":[null]}`, false)
	f.Add("POST", "/v1/webhooks", "Bearer "+devstack.DevAPIKey, "application/json", base64.StdEncoding.EncodeToString([]byte(`[]`)), true)
	f.Add("GET", "/v1/"+devstack.DevAPIKey+"/whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "Bearer "+devstack.DevAPIKey, "", "", false)

	s := newStack(f, testenv.Kumo(f))
	if _, err := devstack.SeedAPIKey(context.Background(), s.store(), devstack.DevAPIKey, s.owner.Account); err != nil {
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
		checkLogs(t, s.drainLogs())
	})
}

// FuzzEvent feeds raw invocation payloads, as the Lambda runtime would
// receive them, through JSON decoding into the handler, seeded from
// events/. Whatever decodes may not panic or answer 5xx.
func FuzzEvent(f *testing.F) {
	for _, raw := range testenv.EventFiles(f) {
		f.Add(raw)
	}
	s := newStack(f, testenv.Kumo(f))
	if _, err := devstack.SeedAPIKey(context.Background(), s.store(), devstack.DevAPIKey, s.owner.Account); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var req events.APIGatewayV2HTTPRequest
		if json.Unmarshal(raw, &req) != nil {
			return // the runtime rejects it before the handler runs
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		start := time.Now()
		resp, err := s.handler(ctx, req)
		if err != nil {
			t.Fatalf("invocation error: %v", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("took %v for event %q", d, raw)
		}
		if resp.StatusCode >= 500 || resp.StatusCode < 200 || !json.Valid([]byte(resp.Body)) {
			t.Fatalf("status %d, body %s for event %s", resp.StatusCode, resp.Body, raw)
		}
		checkLogs(t, s.drainLogs())
	})
}
