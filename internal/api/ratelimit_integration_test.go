package api_test

import (
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/docproc/webhooks/internal/dev/testenv"
)

// rateLimitOf returns the rate_limit member of a webhook answer: its
// number, or nil for null. A missing member fails t.
func rateLimitOf(t *testing.T, resp events.APIGatewayV2HTTPResponse) any {
	t.Helper()
	v, ok := decode(t, resp)["rate_limit"]
	if !ok {
		t.Fatalf("no rate_limit in %s", resp.Body)
	}
	return v
}

// TestRateLimitRoundTrips: rate_limit is null unless set, is shown by
// every answer that shows the webhook (create, retrieve, list, update,
// rotate), is kept by a PATCH that leaves it out, and is removed by a
// PATCH with null. Every answer is checked against api/openapi.yaml.
func TestRateLimitRoundTrips(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, b testenv.Backend) {
		s := newStack(t, b)
		if got := rateLimitOf(t, s.create(`{"url":"https://example.com/plain"}`)); got != nil {
			t.Errorf("a create without rate_limit shows %v, want null", got)
		}
		created := s.create(`{"url":"https://example.com/limited","rate_limit":50}`)
		if created.StatusCode != 201 || rateLimitOf(t, created) != float64(50) {
			t.Fatalf("create: %d %s; want rate_limit 50", created.StatusCode, created.Body)
		}
		id := decode(t, created)["id"].(string)
		path := "/v1/webhooks/" + id

		steps := []struct {
			name, method, body string
			want               any
		}{
			{"retrieve", "GET", "", float64(50)},
			{"patch of another field", "PATCH", `{"max_retries":2}`, float64(50)},
			{"patch to a new limit", "PATCH", `{"rate_limit":1000}`, float64(1000)},
			{"rotate", "POST", "", float64(1000)},
			{"patch to no limit", "PATCH", `{"rate_limit":null}`, nil},
			{"retrieve after removal", "GET", "", nil},
			{"patch to a limit again", "PATCH", `{"rate_limit":1}`, float64(1)},
		}
		for _, st := range steps {
			p := path
			if st.method == "POST" {
				p += "/rotate-secret"
			}
			resp := s.call(st.method, p, st.body)
			if resp.StatusCode != 200 {
				t.Fatalf("%s: %d %s", st.name, resp.StatusCode, resp.Body)
			}
			if got := rateLimitOf(t, resp); got != st.want {
				t.Errorf("%s: rate_limit %v, want %v", st.name, got, st.want)
			}
		}
		for _, w := range decode(t, s.list(nil))["data"].([]any) {
			w := w.(map[string]any)
			var want any // the webhook made without a limit
			if w["id"] == id {
				want = float64(1)
			}
			if w["rate_limit"] != want {
				t.Errorf("list shows %s with rate_limit %v, want %v", w["id"], w["rate_limit"], want)
			}
		}
	})
}

// TestBadRateLimitWritesNothing: a create or a PATCH with a rate_limit
// that is not null or 1 to 1000 is 400 naming rate_limit, and writes
// nothing: no webhook, no secret, no change to the webhook patched.
func TestBadRateLimitWritesNothing(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, b testenv.Backend) {
		s := newStack(t, b)
		bad := map[string]string{
			"0": "rate_limit_invalid", "-1": "rate_limit_invalid", "1001": "rate_limit_invalid",
			"1.5": "rate_limit_invalid", "50.0": "rate_limit_invalid", "5e1": "rate_limit_invalid",
			`"50"`: "parameter_invalid_type", "true": "parameter_invalid_type", "{}": "parameter_invalid_type",
		}
		for value, code := range bad {
			resp := s.create(`{"url":"https://example.com/h","rate_limit":` + value + `}`)
			if e := errorOf(t, resp); resp.StatusCode != 400 || e["code"] != code || e["param"] != "rate_limit" {
				t.Errorf("create with rate_limit %s: %d %s; want 400 %s naming rate_limit", value, resp.StatusCode, resp.Body, code)
			}
		}
		s.assertState(0, 0)

		id, _ := s.mustCreate(`{"url":"https://example.com/h","rate_limit":20}`)
		before := s.call("GET", "/v1/webhooks/"+id, "")
		for value, code := range bad {
			resp := s.call("PATCH", "/v1/webhooks/"+id, `{"is_active":false,"rate_limit":`+value+`}`)
			if e := errorOf(t, resp); resp.StatusCode != 400 || e["code"] != code || e["param"] != "rate_limit" {
				t.Errorf("PATCH with rate_limit %s: %d %s; want 400 %s naming rate_limit", value, resp.StatusCode, resp.Body, code)
			}
		}
		if after := s.call("GET", "/v1/webhooks/"+id, ""); after.Body != before.Body {
			t.Errorf("a refused PATCH changed the webhook:\nbefore %s\nafter  %s", before.Body, after.Body)
		}
		s.assertState(1, 1)
	})
}

// TestRateLimitUnderAnIdempotencyKey: a create's replay shows the rate
// limit the first request set, from the key's record; the same key with
// another limit, or none, is another request.
func TestRateLimitUnderAnIdempotencyKey(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, b testenv.Backend) {
		s := newStack(t, b)
		body := `{"url":"https://example.com/k","rate_limit":30}`
		first := s.createWithKey(body, "k-rate")
		again := s.createWithKey(body, "k-rate")
		if again.StatusCode != 201 || again.Headers["Idempotent-Replayed"] != "true" || again.Body != first.Body ||
			rateLimitOf(t, again) != float64(30) {
			t.Fatalf("replay: %d %v %s; want the first answer, rate_limit 30", again.StatusCode, again.Headers, again.Body)
		}
		for _, other := range []string{`{"url":"https://example.com/k","rate_limit":31}`, `{"url":"https://example.com/k"}`} {
			if r := s.createWithKey(other, "k-rate"); r.StatusCode != 400 || errorOf(t, r)["code"] != "idempotency_key_reused" {
				t.Errorf("%s under the same key: %d %s; want 400 idempotency_key_reused", other, r.StatusCode, r.Body)
			}
		}
		s.assertState(1, 1)
	})
}
