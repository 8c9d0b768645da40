package api_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"testing"
	"time"

	"github.com/docproc/webhooks/internal/dev/local/devkey"

	"github.com/aws/aws-lambda-go/events"

	"github.com/docproc/webhooks/internal/dev/local/devstack"
	"github.com/docproc/webhooks/internal/dev/testenv"
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
	f.Add("POST", "/v1/webhooks", "Bearer "+devkey.APIKey, "application/json", `{"url":"https://[::ffff:7f00:1]","events":[null]}`, false)
	f.Add("POST", "/v1/webhooks", "Bearer "+devkey.APIKey, "application/json", base64.StdEncoding.EncodeToString([]byte(`[]`)), true)
	f.Add("PATCH", "/v1/webhooks/wh_01M8SGYQ9YKF9CTDV3NSF785K9", "Bearer "+devkey.APIKey, "application/json", `{"rate_limit":null,"max_retries":null}`, false)
	f.Add("GET", "/v1/"+devkey.APIKey+"/whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "Bearer "+devkey.APIKey, "", "", false)

	s := newStack(f, testenv.Kumo(f))
	if _, err := devstack.SeedAPIKey(context.Background(), s.store(), devkey.APIKey, s.owner.Account); err != nil {
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
		checkAnswerShape(t, resp)
		checkLogs(t, s.drainLogs())
	})
}

// checkAnswerShape fails t unless resp's body is a JSON object that holds
// an error exactly when its status is one.
func checkAnswerShape(t *testing.T, resp events.APIGatewayV2HTTPResponse) {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(resp.Body), &m); err != nil {
		t.Fatalf("body is not a JSON object: %s", resp.Body)
	}
	if _, isErr := m["error"]; isErr != (resp.StatusCode >= 400) {
		t.Fatalf("status %d with body %s", resp.StatusCode, resp.Body)
	}
}

// FuzzEvent feeds raw invocation payloads, as the Lambda runtime would
// receive them, through JSON decoding into the handler, seeded from
// events/. Whatever decodes may not panic or answer 5xx.
func FuzzEvent(f *testing.F) {
	for _, raw := range testenv.EventFiles(f) {
		f.Add(raw)
	}
	s := newStack(f, testenv.Kumo(f))
	if _, err := devstack.SeedAPIKey(context.Background(), s.store(), devkey.APIKey, s.owner.Account); err != nil {
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

// FuzzDeliveryRoutes drives the five delivery routes of a real webhook
// and delivery, against kumo, with mutated queries and bodies: no input
// may make them panic or answer 5xx, and every answer is JSON of the
// documented shape.
func FuzzDeliveryRoutes(f *testing.F) {
	f.Add(uint8(0), "state=failed&event_type=document.uploaded&limit=2", "")
	f.Add(uint8(0), "since=2026-12-01T00:00:00Z&until=2026-11-01T00:00:00Z&starting_after=msg_x", "")
	f.Add(uint8(1), "", "")
	f.Add(uint8(2), "", "{}")
	f.Add(uint8(3), "", `{"since":"2026-12-01T00:00:00Z","until":"2026-12-01T00:00:01Z","starting_after":"evt_1"}`)
	f.Add(uint8(4), "", `{"type":"document.uploaded"}`)
	s := newStack(f, testenv.Kumo(f))
	id, _ := s.mustCreate(`{"url":"https://example.com/hook","max_retries":0}`)
	d := s.seedDelivery(id, "evt_fuzz", "document.uploaded", time.Now().UTC().Add(-time.Minute), 500)
	routes := []struct{ method, path string }{
		{"GET", "/v1/webhooks/" + id + "/deliveries"},
		{"GET", "/v1/webhooks/" + id + "/deliveries/" + d.msg.DeliveryID},
		{"POST", "/v1/webhooks/" + id + "/deliveries/" + d.msg.DeliveryID + "/retry"},
		{"POST", "/v1/webhooks/" + id + "/recover"},
		{"POST", "/v1/webhooks/" + id + "/test"},
	}
	f.Fuzz(func(t *testing.T, route uint8, query, body string) {
		r := routes[int(route)%len(routes)]
		req := request(r.method, r.path, body, map[string]string{"Authorization": "Bearer " + s.key, "Content-Type": "application/json"})
		if q, err := url.ParseQuery(query); err == nil && len(q) > 0 {
			req.QueryStringParameters = map[string]string{}
			for k, v := range q {
				req.QueryStringParameters[k] = v[0]
			}
		}
		resp, err := s.handler(context.Background(), req)
		if err != nil || resp.StatusCode >= 500 || resp.StatusCode < 200 {
			t.Fatalf("%s %s?%s %q: %d %s, %v", r.method, r.path, query, body, resp.StatusCode, resp.Body, err)
		}
		checkAnswerShape(t, resp)
		checkLogs(t, s.drainLogs())
	})
}
