package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go"

	"github.com/docproc/webhooks/internal/dev/testenv"
	"github.com/docproc/webhooks/internal/secrets"
	"github.com/docproc/webhooks/internal/webhook"
)

var (
	idPattern     = regexp.MustCompile(`^wh_[0-9A-HJKMNP-TV-Z]{26}$`)
	secretPattern = regexp.MustCompile(`^whsec_[A-Za-z0-9+/]{43}=$`)
)

func TestCreateStoresConfigAndSecret(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, b testenv.Backend) {
		s := newStack(t, b)
		before := time.Now().UTC().Truncate(time.Second)
		resp := s.create(`{"url":"https://example.com/hooks","events":["document.uploaded","document.uploaded"],"max_retries":0,"is_active":false}`)
		if resp.StatusCode != 201 {
			t.Fatalf("status = %d, body %s", resp.StatusCode, resp.Body)
		}
		body := decode(t, resp)
		id, _ := body["id"].(string)
		secret, _ := body["signing_secret"].(string)
		if !idPattern.MatchString(id) || !webhook.ValidID(id) {
			t.Errorf("id %q is not wh_ + ULID", id)
		}
		if !secretPattern.MatchString(secret) {
			t.Errorf("signing_secret %q is not whsec_ + base64 of 32 bytes", secret)
		}
		for header, want := range map[string]string{
			"Location": "/v1/webhooks/" + id, "Cache-Control": "no-store", "Content-Type": "application/json",
		} {
			if got := resp.Headers[header]; got != want {
				t.Errorf("%s = %q, want %q", header, got, want)
			}
		}
		created, err := time.Parse(time.RFC3339, body["created_at"].(string))
		if err != nil || created.Before(before) || created.After(time.Now().Add(time.Second)) || !strings.HasSuffix(body["created_at"].(string), "Z") {
			t.Errorf("created_at = %v (%v), want an RFC 3339 UTC time of now", body["created_at"], err)
		}
		want := map[string]any{"url": "https://example.com/hooks", "is_active": false, "retry_enabled": true,
			"max_retries": float64(0), "livemode": false}
		for k, v := range want {
			if body[k] != v {
				t.Errorf("%s = %v, want %v", k, body[k], v)
			}
		}
		if got := fmt.Sprint(body["events"]); got != "[document.uploaded]" {
			t.Errorf("events = %s, want duplicates folded to [document.uploaded]", got)
		}

		items := s.webhookItems()
		if len(items) != 1 {
			t.Fatalf("webhook items = %d, want 1", len(items))
		}
		item := items[0]
		if got := attrString(item["pk"]); got != tenantPK(s.owner) {
			t.Errorf("pk = %q, want %q", got, tenantPK(s.owner))
		}
		if got := attrString(item["sk"]); got != webhookSK(id) {
			t.Errorf("sk = %q", got)
		}
		arn := attrString(item["secret_arn"])
		if !strings.HasPrefix(arn, "arn:aws:secretsmanager:") {
			t.Errorf("secret_arn = %q, want an ARN", arn)
		}
		raw, _ := json.Marshal(s.rawTable())
		for _, leak := range []string{secret, s.key, strings.TrimPrefix(secret, "whsec_")} {
			if strings.Contains(string(raw), leak) {
				t.Errorf("the table holds a raw secret or key")
			}
		}

		out, err := s.sm.GetSecretValue(context.Background(), &secretsmanager.GetSecretValueInput{SecretId: aws.String(arn)})
		if err != nil {
			t.Fatalf("get secret: %v", err)
		}
		var v secrets.Value
		if err := json.Unmarshal([]byte(aws.ToString(out.SecretString)), &v); err != nil {
			t.Fatalf("secret value is not JSON: %v", err)
		}
		if v.SigningSecret != secret || v.SigningSecretSHA256 != webhook.HashSecret(secret) {
			t.Errorf("stored secret does not match the one returned, or its hash is wrong")
		}
		wantName := fmt.Sprintf("%s/test/%s/%s", s.cfg.SecretNamePrefix, s.owner.Account, id)
		if got := aws.ToString(out.Name); got != wantName {
			t.Errorf("secret name = %q, want %q", got, wantName)
		}
		desc, err := s.sm.DescribeSecret(context.Background(), &secretsmanager.DescribeSecretInput{SecretId: aws.String(arn)})
		if err != nil {
			t.Fatalf("describe secret: %v", err)
		}
		tags := map[string]string{}
		for _, tg := range desc.Tags {
			tags[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
		}
		wantTags := map[string]string{"account": s.owner.Account, "mode": "test", "webhook_id": id}
		if fmt.Sprint(tags) != fmt.Sprint(wantTags) {
			t.Errorf("tags = %v, want %v", tags, wantTags)
		}
	})
}

func TestCreateAppliesDefaults(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, b testenv.Backend) {
		s := newStack(t, b)
		resp := s.do(request("POST", "/v1/webhooks", `{"url":"https://example.com/h"}`,
			map[string]string{"X-API-Key": s.key, "Content-Type": "application/json; charset=utf-8"}))
		if resp.StatusCode != 201 {
			t.Fatalf("status = %d, body %s", resp.StatusCode, resp.Body)
		}
		body := decode(t, resp)
		if got := fmt.Sprint(body["events"]); got != "[document.processing.completed document.processing.failed]" {
			t.Errorf("default events = %s", got)
		}
		if body["is_active"] != true || body["retry_enabled"] != true || body["max_retries"] != float64(5) {
			t.Errorf("defaults not applied: %s", resp.Body)
		}
		s.assertState(1, 1)
	})
}

func TestBadInputWritesNothing(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, b testenv.Backend) {
		s := newStack(t, b)
		cases := []struct {
			name, body, contentType string
			status                  int
			code, param             string
		}{
			{"http url", `{"url":"http://example.com"}`, "", 400, "url_invalid", "url"},
			{"loopback url", `{"url":"https://127.0.0.1/x"}`, "", 400, "url_forbidden_host", "url"},
			{"full-width loopback url", `{"url":"https://１２７.０.０.１/x"}`, "", 400, "url_forbidden_host", "url"},
			{"full-width localhost", `{"url":"https://ｌｏｃａｌｈｏｓｔ/x"}`, "", 400, "url_forbidden_host", "url"},
			{"internal name", `{"url":"https://billing.internal/x"}`, "", 400, "url_forbidden_host", "url"},
			{"legacy public address", `{"url":"https://1.65536/x"}`, "", 400, "url_invalid", "url"},
			{"invalid UTF-8 in url", "{\"url\":\"https://example.com/\xff\"}", "", 400, "parameter_invalid_encoding", "url"},
			{"lone surrogate in url", `{"url":"https://example.com/\ud800"}`, "", 400, "parameter_invalid_encoding", "url"},
			{"lone surrogate in an event", `{"url":"https://example.com","events":["\udc00"]}`, "", 400, "parameter_invalid_encoding", "events"},
			{"max_retries 11", `{"url":"https://example.com","max_retries":11}`, "", 400, "max_retries_invalid", "max_retries"},
			{"unknown event", `{"url":"https://example.com","events":["document.deleted"]}`, "", 400, "event_unknown", "events[0]"},
			{"unknown field", `{"url":"https://example.com","secret":"x"}`, "", 400, "parameter_unknown", "secret"},
			{"missing url", `{}`, "", 400, "parameter_missing", "url"},
			{"string boolean", `{"url":"https://example.com","is_active":"true"}`, "", 400, "parameter_invalid_type", "is_active"},
			{"empty body", ``, "", 400, "body_invalid", ""},
			{"array body", `[{"url":"https://example.com"}]`, "", 400, "body_invalid", ""},
			{"not json", `url=https://example.com`, "", 400, "body_invalid", ""},
			{"duplicate field", `{"url":"https://a.example","url":"https://b.example"}`, "", 400, "parameter_duplicated", "url"},
			{"form content type", `{"url":"https://example.com"}`, "application/x-www-form-urlencoded", 415, "content_type_unsupported", ""},
			{"too large", `{"url":"https://example.com","x":"` + strings.Repeat("a", 64<<10) + `"}`, "", 413, "body_too_large", ""},
		}
		for _, c := range cases {
			ct := c.contentType
			if ct == "" {
				ct = "application/json"
			}
			resp := s.do(request("POST", "/v1/webhooks", c.body, map[string]string{
				"Authorization": "Bearer " + s.key, "Content-Type": ct}))
			if resp.StatusCode != c.status {
				t.Errorf("%s: status = %d, want %d: %s", c.name, resp.StatusCode, c.status, resp.Body)
				continue
			}
			e := errorOf(t, resp)
			if e["code"] != c.code || (e["param"] != nil && e["param"] != c.param) || (e["param"] == nil && c.param != "") {
				t.Errorf("%s: code/param = %v/%v, want %s/%s", c.name, e["code"], e["param"], c.code, c.param)
			}
			if e["request_id"] == "" || e["type"] != "invalid_request_error" {
				t.Errorf("%s: error lacks request_id or type: %s", c.name, resp.Body)
			}
		}
		s.assertState(0, 0)
	})
}

func TestAuthFailures(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, b testenv.Backend) {
		s := newStack(t, b)
		revoked := s.revokedKey()
		valid := `{"url":"https://example.com"}`
		cases := []struct {
			name    string
			headers map[string]string
			code    string
			lookups int // GetItem calls the request may make
		}{
			{"no key", map[string]string{}, "api_key_missing", 0},
			{"malformed bearer", map[string]string{"Authorization": "Bearer dk_test_short"}, "api_key_invalid", 0},
			{"malformed x-api-key", map[string]string{"X-API-Key": "sk_live_" + strings.Repeat("a", 30)}, "api_key_invalid", 0},
			{"basic scheme", map[string]string{"Authorization": "Basic " + s.key}, "api_key_invalid", 0},
			{"unknown key", map[string]string{"Authorization": "Bearer dk_live_" + strings.Repeat("Z", 32)}, "api_key_invalid", 1},
			{"revoked key", map[string]string{"Authorization": "Bearer " + revoked}, "api_key_revoked", 1},
			{"two different keys", map[string]string{"Authorization": "Bearer " + s.key, "X-API-Key": revoked}, "api_key_invalid", 0},
		}
		for _, c := range cases {
			c.headers["Content-Type"] = "application/json"
			before := s.faults.Calls("GetItem")
			resp := s.do(request("POST", "/v1/webhooks", valid, c.headers))
			if resp.StatusCode != 401 {
				t.Errorf("%s: status = %d, want 401: %s", c.name, resp.StatusCode, resp.Body)
				continue
			}
			if !strings.HasPrefix(resp.Headers["WWW-Authenticate"], "Bearer") {
				t.Errorf("%s: WWW-Authenticate = %q", c.name, resp.Headers["WWW-Authenticate"])
			}
			if e := errorOf(t, resp); e["code"] != c.code || e["type"] != "authentication_error" {
				t.Errorf("%s: error = %v, want code %s", c.name, e, c.code)
			}
			if got := s.faults.Calls("GetItem") - before; got != c.lookups {
				t.Errorf("%s: %d key lookups, want %d", c.name, got, c.lookups)
			}
		}
		if strings.Contains(s.logs.String(), revoked) {
			t.Errorf("logs contain a raw API key")
		}
		s.assertState(0, 0)
	})
}

func TestRoutesAndMethods(t *testing.T) {
	s := newStack(t, testenv.Kumo(t))
	resp := s.do(request("PUT", "/v1/webhooks", "", map[string]string{"Authorization": "Bearer " + s.key}))
	if resp.StatusCode != 405 || resp.Headers["Allow"] != "GET, POST" {
		t.Errorf("PUT /v1/webhooks: status %d, Allow %q; want 405, GET, POST", resp.StatusCode, resp.Headers["Allow"])
	}
	for _, path := range []string{"/", "/v1/webhook", "/v1/webhooks/", "/v2/webhooks",
		"/v1/webhooks%2Fwh_01M8E489BDY4F8F1VPT4Q8QZXW", "/v1%2Fwebhooks", "/v1/webhooks/%zz"} {
		resp := s.do(request("POST", path, "{}", map[string]string{"Authorization": "Bearer " + s.key}))
		if resp.StatusCode != 404 || errorOf(t, resp)["code"] != "route_not_found" {
			t.Errorf("POST %s: status %d, want 404: %s", path, resp.StatusCode, resp.Body)
		}
	}
	// An encoded slash is part of its segment: this is the webhook route
	// with an id that holds a slash, not the rotation route.
	encoded := "/v1/webhooks/wh_01M8E489BDY4F8F1VPT4Q8QZXW%2Frotate-secret"
	if r := s.do(request("POST", encoded, "", map[string]string{"Authorization": "Bearer " + s.key})); r.StatusCode != 405 {
		t.Errorf("POST %s: status %d, want 405 (no rotation): %s", encoded, r.StatusCode, r.Body)
	}
	if r := s.do(request("GET", encoded, "", map[string]string{"Authorization": "Bearer " + s.key})); r.StatusCode != 404 ||
		errorOf(t, r)["code"] != "resource_missing" {
		t.Errorf("GET %s: status %d, want 404 resource_missing: %s", encoded, r.StatusCode, r.Body)
	}
	staged := request("POST", "/prod/v1/webhooks", `{"url":"https://example.com"}`, map[string]string{
		"Authorization": "Bearer " + s.key, "Content-Type": "application/json"})
	staged.RequestContext.Stage = "prod"
	if resp := s.do(staged); resp.StatusCode != 201 {
		t.Errorf("request on a named stage: status %d: %s", resp.StatusCode, resp.Body)
	}
}

// apiError is an AWS error as the SDK decodes it.
func apiError(code string) error {
	return &smithy.GenericAPIError{Code: code, Message: "injected by test", Fault: smithy.FaultServer}
}

func TestFaultInjectionRunsInsideSDKRetries(t *testing.T) {
	s := newStack(t, testenv.Kumo(t), testenv.Fault{Operation: "TransactWriteItems", Err: apiError("ThrottlingException")})
	if resp := s.create(`{"url":"https://example.com"}`); resp.StatusCode != 503 {
		t.Fatalf("status = %d, want 503", resp.StatusCode)
	}
	if got := s.faults.Calls("TransactWriteItems"); got != 3 {
		t.Errorf("TransactWriteItems attempts = %d, want 3 (the SDK's standard retry mode)", got)
	}
}

func TestConcurrentCreatesAreUnique(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, b testenv.Backend) {
		s := newStack(t, b)
		const n = 32
		var wg sync.WaitGroup
		var mu sync.Mutex
		ids, secretsSeen := map[string]bool{}, map[string]bool{}
		for i := range n {
			wg.Go(func() {
				resp := s.create(fmt.Sprintf(`{"url":"https://example.com/%d"}`, i))
				if resp.StatusCode != 201 {
					t.Errorf("create %d: status %d: %s", i, resp.StatusCode, resp.Body)
					return
				}
				body := decode(t, resp)
				mu.Lock()
				ids[body["id"].(string)] = true
				secretsSeen[body["signing_secret"].(string)] = true
				mu.Unlock()
			})
		}
		wg.Wait()
		if len(ids) != n || len(secretsSeen) != n {
			t.Errorf("%d unique ids and %d unique secrets, want %d of each", len(ids), len(secretsSeen), n)
		}
		s.assertState(n, n)
	})
}
