package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/docproc/webhooks/internal/apikey"
	"github.com/docproc/webhooks/internal/dev/testenv"
	"github.com/docproc/webhooks/internal/secrets"
	"github.com/docproc/webhooks/internal/tenant"
)

// call sends method path with the stack's key and a JSON body, if any.
func (s *stack) call(method, path, body string) events.APIGatewayV2HTTPResponse {
	s.t.Helper()
	return s.callAs(s.key, method, path, body)
}

// callAs is call with another API key.
func (s *stack) callAs(key, method, path, body string) events.APIGatewayV2HTTPResponse {
	s.t.Helper()
	h := map[string]string{"Authorization": "Bearer " + key}
	if body != "" {
		h["Content-Type"] = "application/json"
	}
	return s.do(request(method, path, body, h))
}

// list sends GET /v1/webhooks with query parameters.
func (s *stack) list(query map[string]string) events.APIGatewayV2HTTPResponse {
	s.t.Helper()
	req := request("GET", "/v1/webhooks", "", map[string]string{"Authorization": "Bearer " + s.key})
	req.QueryStringParameters = query
	return s.do(req)
}

// keyFor issues a key for another account or mode in the stack's table.
func (s *stack) keyFor(owner tenant.Tenant) string {
	s.t.Helper()
	k, err := apikey.Issue(context.Background(), s.store(), owner, time.Now())
	if err != nil {
		s.t.Fatal(err)
	}
	return k.Raw()
}

// mustCreate creates a webhook and returns its id and secret.
func (s *stack) mustCreate(body string) (id, secret string) {
	s.t.Helper()
	resp := s.create(body)
	if resp.StatusCode != 201 {
		s.t.Fatalf("create: %d %s", resp.StatusCode, resp.Body)
	}
	var out struct{ ID, SigningSecret string }
	if err := json.Unmarshal([]byte(strings.Replace(resp.Body, "signing_secret", "SigningSecret", 1)), &out); err != nil {
		s.t.Fatal(err)
	}
	return out.ID, out.SigningSecret
}

// storedSecrets reads a webhook's Secrets Manager value.
func (s *stack) storedSecrets(id string) secrets.Value {
	s.t.Helper()
	name := fmt.Sprintf("%s/%s/%s/%s", s.cfg.SecretNamePrefix, s.owner.Mode, s.owner.Account, id)
	out, err := s.sm.GetSecretValue(context.Background(), &secretsmanager.GetSecretValueInput{SecretId: aws.String(name)})
	if err != nil {
		s.t.Fatalf("get secret %s: %v", name, err)
	}
	var v secrets.Value
	if err := json.Unmarshal([]byte(aws.ToString(out.SecretString)), &v); err != nil {
		s.t.Fatal(err)
	}
	return v
}

func TestListPagesNewestFirst(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, b testenv.Backend) {
		s := newStack(t, b)
		var created []string
		for i := range 23 {
			id, _ := s.mustCreate(fmt.Sprintf(`{"url":"https://example.com/%d"}`, i))
			created = append(created, id)
		}
		slices.Reverse(created)
		var seen []string
		query := map[string]string{"limit": "10"}
		for page := 1; ; page++ {
			resp := s.list(query)
			if resp.StatusCode != 200 {
				t.Fatalf("page %d: %d %s", page, resp.StatusCode, resp.Body)
			}
			if strings.Contains(resp.Body, "signing_secret") || strings.Contains(resp.Body, "whsec_") {
				t.Fatalf("page %d shows a secret", page)
			}
			var out struct {
				Data []struct {
					ID string `json:"id"`
				} `json:"data"`
				HasMore bool `json:"has_more"`
			}
			if err := json.Unmarshal([]byte(resp.Body), &out); err != nil {
				t.Fatal(err)
			}
			for _, w := range out.Data {
				seen = append(seen, w.ID)
			}
			wantMore := len(seen) < len(created)
			if out.HasMore != wantMore || len(out.Data) != min(10, len(created)-len(seen)+len(out.Data)) {
				t.Fatalf("page %d: %d items, has_more %v", page, len(out.Data), out.HasMore)
			}
			if !out.HasMore {
				break
			}
			query = map[string]string{"limit": "10", "starting_after": seen[len(seen)-1]}
		}
		if !slices.Equal(seen, created) {
			t.Errorf("listed %v\nwant newest first %v", seen, created)
		}
		if resp := s.list(nil); len(decode(t, resp)["data"].([]any)) != 10 {
			t.Errorf("default page size is not 10: %s", resp.Body)
		}
		for _, q := range []map[string]string{
			{"limit": "0"}, {"limit": "101"}, {"limit": "ten"}, {"limit": "05"},
			{"starting_after": "wh_01M8E489BDY4F8F1VPT4Q8QZXW"}, {"starting_after": "nope"}, {"starting_after": ""}, {"colour": "red"},
		} {
			resp := s.list(q)
			var param string
			for k := range q {
				param = k
			}
			if e := errorOf(t, resp); resp.StatusCode != 400 || e["param"] != param {
				t.Errorf("list %v: %d %s; want 400 naming %s", q, resp.StatusCode, resp.Body, param)
			}
		}
	})
}

func TestGetUpdateDelete(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, b testenv.Backend) {
		s := newStack(t, b)
		id, _ := s.mustCreate(`{"url":"https://example.com/a","events":["document.uploaded"]}`)
		path := "/v1/webhooks/" + id

		got := s.call("GET", path, "")
		body := decode(t, got)
		if got.StatusCode != 200 || body["id"] != id || body["updated_at"] == nil || body["signing_secret"] != nil {
			t.Fatalf("GET: %d %s", got.StatusCode, got.Body)
		}

		upd := s.call("PATCH", path, `{"url":"https://example.com/b","max_retries":2,"events":["document.processing.failed","document.uploaded"]}`)
		body = decode(t, upd)
		if upd.StatusCode != 200 || body["url"] != "https://example.com/b" || body["max_retries"] != float64(2) ||
			fmt.Sprint(body["events"]) != "[document.uploaded document.processing.failed]" || body["is_active"] != true {
			t.Fatalf("PATCH: %d %s", upd.StatusCode, upd.Body)
		}
		// A retrieve shows the webhook as the update did, its last
		// delivery (none yet) and its breaker (closed).
		retrieved := strings.TrimSuffix(upd.Body, "}") + `,"last_delivery":null,"breaker":{"state":"closed","open_until":null}}`
		if again := s.call("GET", path, ""); again.Body != retrieved {
			t.Errorf("GET after PATCH = %s, want %s", again.Body, retrieved)
		}
		for _, bad := range []string{`{"url":"http://example.com"}`, `{"max_retries":-1}`, `{"events":[]}`, `{"id":"wh_x"}`, `[]`} {
			if r := s.call("PATCH", path, bad); r.StatusCode != 400 {
				t.Errorf("PATCH %s: %d %s; want 400", bad, r.StatusCode, r.Body)
			}
		}
		if again := s.call("GET", path, ""); again.Body != retrieved {
			t.Errorf("a rejected PATCH changed the webhook: %s", again.Body)
		}

		del := s.call("DELETE", path, "")
		if body := decode(t, del); del.StatusCode != 200 || body["id"] != id || body["deleted"] != true {
			t.Fatalf("DELETE: %d %s", del.StatusCode, del.Body)
		}
		for _, m := range []string{"GET", "DELETE", "PATCH"} {
			body := ""
			if m == "PATCH" {
				body = `{"is_active":false}`
			}
			if r := s.call(m, path, body); r.StatusCode != 404 || errorOf(t, r)["code"] != "resource_missing" {
				t.Errorf("%s after delete: %d %s", m, r.StatusCode, r.Body)
			}
		}
		if r := s.call("POST", path+"/rotate-secret", ""); r.StatusCode != 404 {
			t.Errorf("rotate after delete: %d %s", r.StatusCode, r.Body)
		}
		s.assertState(0, 0)
	})
}

func TestOtherAccountsAndModesGet404(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, b testenv.Backend) {
		s := newStack(t, b)
		id, _ := s.mustCreate(`{"url":"https://example.com/mine"}`)
		others := map[string]string{
			"other account": s.keyFor(tenant.Tenant{Account: testenv.Unique("acct_"), Mode: tenant.Test}),
			"live mode":     s.keyFor(tenant.Tenant{Account: s.owner.Account, Mode: tenant.Live}),
		}
		for name, key := range others {
			for _, c := range []struct{ method, path, body string }{
				{"GET", "/v1/webhooks/" + id, ""},
				{"PATCH", "/v1/webhooks/" + id, `{"is_active":false}`},
				{"DELETE", "/v1/webhooks/" + id, ""},
				{"POST", "/v1/webhooks/" + id + "/rotate-secret", ""},
			} {
				r := s.callAs(key, c.method, c.path, c.body)
				if r.StatusCode != 404 || errorOf(t, r)["code"] != "resource_missing" {
					t.Errorf("%s: %s %s = %d %s; want 404", name, c.method, c.path, r.StatusCode, r.Body)
				}
			}
			if r := s.callAs(key, "GET", "/v1/webhooks", ""); len(decode(t, r)["data"].([]any)) != 0 {
				t.Errorf("%s lists another tenant's webhooks: %s", name, r.Body)
			}
		}
		if r := s.call("GET", "/v1/webhooks/"+id, ""); decode(t, r)["is_active"] != true {
			t.Errorf("another tenant changed the webhook: %s", r.Body)
		}
		s.assertState(1, 1)
	})
}

func TestConcurrentPatchesAllLand(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, b testenv.Backend) {
		s := newStack(t, b)
		id, _ := s.mustCreate(`{"url":"https://example.com/a"}`)
		patches := []string{
			`{"url":"https://example.com/patched"}`, `{"events":["document.uploaded"]}`,
			`{"is_active":false}`, `{"retry_enabled":false}`, `{"max_retries":1}`,
		}
		var wg sync.WaitGroup
		for round := range 2 {
			for _, p := range patches {
				wg.Go(func() {
					if r := s.call("PATCH", "/v1/webhooks/"+id, p); r.StatusCode != 200 {
						t.Errorf("round %d PATCH %s: %d %s", round, p, r.StatusCode, r.Body)
					}
				})
			}
		}
		wg.Wait()
		body := decode(t, s.call("GET", "/v1/webhooks/"+id, ""))
		want := map[string]any{"url": "https://example.com/patched", "is_active": false, "retry_enabled": false, "max_retries": float64(1)}
		for k, v := range want {
			if body[k] != v {
				t.Errorf("%s = %v, want %v: a concurrent write was lost", k, body[k], v)
			}
		}
		if fmt.Sprint(body["events"]) != "[document.uploaded]" {
			t.Errorf("events = %v: a concurrent write was lost", body["events"])
		}
		items := s.webhookItems()
		if n := attrNumber(t, items[0]["version"]); n != 11 {
			t.Errorf("version = %d after 10 updates, want 11", n)
		}
	})
}

func TestDeleteFreesTheLimit(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, b testenv.Backend) {
		s := newLimitedStack(t, b, 2)
		first, _ := s.mustCreate(`{"url":"https://example.com/1"}`)
		s.mustCreate(`{"url":"https://example.com/2"}`)
		if r := s.create(`{"url":"https://example.com/3"}`); r.StatusCode != 400 || errorOf(t, r)["code"] != "webhook_limit_reached" {
			t.Fatalf("third create: %d %s", r.StatusCode, r.Body)
		}
		if r := s.call("DELETE", "/v1/webhooks/"+first, ""); r.StatusCode != 200 {
			t.Fatalf("delete: %d %s", r.StatusCode, r.Body)
		}
		s.assertState(1, 1)
		if r := s.create(`{"url":"https://example.com/3"}`); r.StatusCode != 201 {
			t.Fatalf("create after delete: %d %s", r.StatusCode, r.Body)
		}
		s.assertState(2, 2)
	})
}

func TestRotateSecret(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, b testenv.Backend) {
		s := newStack(t, b)
		id, first := s.mustCreate(`{"url":"https://example.com/r"}`)
		path := "/v1/webhooks/" + id + "/rotate-secret"
		rotate := func(body string) (int, string) {
			t.Helper()
			r := s.call("POST", path, body)
			if r.StatusCode == 200 && r.Headers["Cache-Control"] != "no-store" {
				t.Errorf("rotation answer is cacheable")
			}
			sec, _ := decode(t, r)["signing_secret"].(string)
			return r.StatusCode, sec
		}

		before := time.Now()
		status, second := rotate("")
		if status != 200 || !secretPattern.MatchString(second) || second == first {
			t.Fatalf("rotate: %d %q", status, second)
		}
		v := s.storedSecrets(id)
		if v.SigningSecret != second || len(v.Previous) != 1 || v.Previous[0].SigningSecret != first ||
			v.Previous[0].ExpiresAt.Before(before.Add(24*time.Hour-time.Minute)) || v.Previous[0].ExpiresAt.After(time.Now().Add(24*time.Hour)) {
			t.Fatalf("after a default rotation the secret holds %d previous, want the first expiring in 24 h", len(v.Previous))
		}
		if r := s.call("GET", "/v1/webhooks/"+id, ""); strings.Contains(r.Body, "whsec_") {
			t.Errorf("GET shows a secret after rotation")
		}

		// Grace 0 drops the replaced secret at once.
		_, third := rotate(`{"grace_period_seconds":0}`)
		if v := s.storedSecrets(id); v.SigningSecret != third || len(v.Previous) != 1 || v.Previous[0].SigningSecret != first {
			t.Fatalf("grace 0 kept the replaced secret: %d previous", len(v.Previous))
		}
		// At most five earlier secrets in their grace period.
		for i := range 4 {
			if status, _ := rotate(`{"grace_period_seconds":3600}`); status != 200 {
				t.Fatalf("rotation %d: %d", i, status)
			}
		}
		current := s.storedSecrets(id).SigningSecret
		r := s.call("POST", path, `{"grace_period_seconds":3600}`)
		if e := errorOf(t, r); r.StatusCode != 400 || e["code"] != "rotation_limit_reached" {
			t.Fatalf("sixth kept secret: %d %s", r.StatusCode, r.Body)
		}
		if v := s.storedSecrets(id); v.SigningSecret != current || len(v.Previous) != 5 {
			t.Fatalf("a refused rotation changed the secret (%d previous)", len(v.Previous))
		}
		if status, _ := rotate(`{"grace_period_seconds":0}`); status != 200 {
			t.Fatalf("grace 0 at the cap: %d", status)
		}
		for _, bad := range []string{`{"grace_period_seconds":-1}`, `{"grace_period_seconds":604801}`, `{"grace_period_seconds":"60"}`, `{"grace":60}`} {
			if r := s.call("POST", path, bad); r.StatusCode != 400 {
				t.Errorf("rotate %s: %d %s", bad, r.StatusCode, r.Body)
			}
		}
		s.assertState(1, 1)
	})
}

func TestRotationPrunesExpiredSecrets(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, b testenv.Backend) {
		s := newStack(t, b)
		id, _ := s.mustCreate(`{"url":"https://example.com/p"}`)
		path := "/v1/webhooks/" + id + "/rotate-secret"
		if r := s.call("POST", path, `{"grace_period_seconds":1}`); r.StatusCode != 200 {
			t.Fatal(r.Body)
		}
		if n := len(s.storedSecrets(id).Previous); n != 1 {
			t.Fatalf("%d previous secrets, want 1", n)
		}
		time.Sleep(1100 * time.Millisecond)
		if r := s.call("POST", path, `{"grace_period_seconds":0}`); r.StatusCode != 200 {
			t.Fatal(r.Body)
		}
		if n := len(s.storedSecrets(id).Previous); n != 0 {
			t.Errorf("%d previous secrets after the grace period ended, want 0", n)
		}
	})
}

func TestConcurrentRotationsAreSerialized(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, b testenv.Backend) {
		s := newStack(t, b)
		id, _ := s.mustCreate(`{"url":"https://example.com/c"}`)
		var mu sync.Mutex
		var wins []string
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				r := s.call("POST", "/v1/webhooks/"+id+"/rotate-secret", `{"grace_period_seconds":600}`)
				switch r.StatusCode {
				case 200:
					mu.Lock()
					wins = append(wins, decode(t, r)["signing_secret"].(string))
					mu.Unlock()
				case 409:
					if errorOf(t, r)["code"] != "rotation_in_progress" || r.Headers["Retry-After"] == "" {
						t.Errorf("409 without rotation_in_progress and Retry-After: %s", r.Body)
					}
				default:
					t.Errorf("rotate: %d %s", r.StatusCode, r.Body)
				}
			})
		}
		wg.Wait()
		v := s.storedSecrets(id)
		if len(wins) == 0 || !slices.Contains(wins, v.SigningSecret) || len(v.Previous) != len(wins) {
			t.Errorf("%d rotations answered 200 but %d previous secrets are kept; a rotation was lost", len(wins), len(v.Previous))
		}
	})
}

func TestReplayAfterDeleteIs404(t *testing.T) {
	s := newStack(t, testenv.Kumo(t))
	first := s.createWithKey(`{"url":"https://example.com/gone"}`, "k-gone")
	id, _ := decode(t, first)["id"].(string)
	if r := s.call("DELETE", "/v1/webhooks/"+id, ""); r.StatusCode != 200 {
		t.Fatalf("delete: %d %s", r.StatusCode, r.Body)
	}
	r := s.createWithKey(`{"url":"https://example.com/gone"}`, "k-gone")
	if r.StatusCode != 404 || errorOf(t, r)["code"] != "resource_missing" || strings.Contains(r.Body, "whsec_") {
		t.Errorf("replay of a deleted webhook: %d %s; want 404 without a secret", r.StatusCode, r.Body)
	}
	s.assertState(0, 0)
}

func TestURLsAreStoredAsTheyAreDialled(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, b testenv.Backend) {
		s := newStack(t, b)
		resp := s.create(`{"url":"https://ＨＯＯＫＳ.Example.com:8443/in?x=1"}`)
		if resp.StatusCode != 201 || decode(t, resp)["url"] != "https://hooks.example.com:8443/in?x=1" {
			t.Fatalf("create: %d %s; want the host in ASCII lower case", resp.StatusCode, resp.Body)
		}
		id := decode(t, resp)["id"].(string)
		if u := attrString(s.webhookItems()[0]["url"]); u != "https://hooks.example.com:8443/in?x=1" {
			t.Errorf("stored url = %q", u)
		}
		for _, bad := range []string{"https://１２７.０.０.１/", "https://ⓛⓞⓒⓐⓛⓗⓞⓢⓣ/", "https://[64:ff9b:1::a9fe:a9fe]/", "https://nas.lan/"} {
			r := s.call("PATCH", "/v1/webhooks/"+id, `{"url":"`+bad+`"}`)
			if e := errorOf(t, r); r.StatusCode != 400 || e["code"] != "url_forbidden_host" || e["param"] != "url" {
				t.Errorf("PATCH url %s: %d %s; want 400 url_forbidden_host", bad, r.StatusCode, r.Body)
			}
		}
		if r := s.call("PATCH", "/v1/webhooks/"+id, "{\"url\":\"https://example.com/\xff\"}"); r.StatusCode != 400 ||
			errorOf(t, r)["code"] != "parameter_invalid_encoding" {
			t.Errorf("PATCH with invalid UTF-8: %d %s", r.StatusCode, r.Body)
		}
		if u := attrString(s.webhookItems()[0]["url"]); u != "https://hooks.example.com:8443/in?x=1" {
			t.Errorf("a refused PATCH changed the url to %q", u)
		}
	})
}

func TestCredentialsInPathsAreRedactedInLogsAndNotEchoed(t *testing.T) {
	s := newStack(t, testenv.Kumo(t))
	secret := "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	answers := []events.APIGatewayV2HTTPResponse{s.call("GET", "/v1/webhooks/"+s.key, ""), s.call("GET", "/v1/"+secret+"/"+s.key, "")}
	req := request("GET", "/v1/webhooks", "", map[string]string{"Authorization": "Bearer " + s.key})
	req.QueryStringParameters = map[string]string{"starting_after": s.key}
	if r := s.do(req); r.StatusCode != 400 {
		t.Fatalf("list with a key as cursor: %d %s", r.StatusCode, r.Body)
	} else {
		answers = append(answers, r)
	}
	for _, r := range answers {
		if strings.Contains(r.Body, s.key[len(s.key)-8:]) || strings.Contains(r.Body, "whsec_") {
			t.Errorf("an answer repeats the credential: %d %s", r.StatusCode, r.Body)
		}
	}
	logs := s.logs.String()
	if strings.Count(logs, "_test_..."+s.key[len(s.key)-4:]) < 2 || !strings.Contains(logs, "[redacted signing secret]") {
		t.Errorf("the access lines do not show the redacted forms:\n%s", logs)
	}
	// assertLogsClean, run when the test ends, fails if a whole key or secret is there.
}
