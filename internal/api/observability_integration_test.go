package api_test

import (
	"bufio"
	"encoding/json"
	"strings"
	"testing"

	"github.com/docproc/webhooks/internal/dev/testenv"
)

// records returns the stack's log lines: access log lines (msg "request")
// and EMF metric lines (with _aws), each decoded.
func (s *stack) records() (access, emf []map[string]any) {
	s.t.Helper()
	sc := bufio.NewScanner(strings.NewReader(s.logs.String()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			s.t.Fatalf("a log line is not JSON: %s", sc.Text())
		}
		switch {
		case m["_aws"] != nil:
			emf = append(emf, m)
		case m["msg"] == "request":
			access = append(access, m)
		}
	}
	return access, emf
}

func TestLogsAndMetrics(t *testing.T) {
	s := newStack(t, testenv.Kumo(t), testenv.Fault{Operation: "GetItem", Skip: 1, Err: apiError("ThrottlingException")})
	s.create(`{"url":"https://example.com/a"}`)                     // 201: GetItem (key), PutItem (check), CreateSecret, TransactWriteItems
	s.create(`{"url":"http://example.com/a"}`)                      // 400 url_invalid, key cached
	s.do(request("GET", "/v1/webhooks", "", nil))                   // 401 api_key_missing
	s.call("GET", "/v1/webhooks/wh_01M8E489BDY4F8F1VPT4Q8QZXW", "") // GetItem throttled on all 3 tries: 503

	access, emf := s.records()
	if len(access) != 4 {
		t.Fatalf("%d access lines for 4 requests", len(access))
	}
	for i, want := range []struct {
		op     string
		status float64
	}{{"createWebhook", 201}, {"createWebhook", 400}, {"listWebhooks", 401}, {"getWebhook", 503}} {
		a := access[i]
		if a["operation"] != want.op || a["status"] != want.status || a["request_id"] == "" || a["latency_ms"] == nil ||
			!strings.HasPrefix(a["route"].(string), a["method"].(string)+" /v1/webhooks") {
			t.Errorf("access line %d = %v, want operation %s status %v with request id and latency", i, a, want.op, want.status)
		}
		if want.status != 401 && (a["account"] != s.owner.Account || a["mode"] != "test") {
			t.Errorf("access line %d lacks account and mode: %v", i, a)
		}
	}
	byOp := map[string][]map[string]any{}
	for _, m := range emf {
		key, _ := m["Operation"].(string)
		if key == "" {
			key = "service " + m["Service"].(string)
		}
		byOp[key] = append(byOp[key], m)
	}
	creates := byOp["createWebhook"]
	if len(creates) != 2 || creates[0]["WebhooksCreated"] != 1.0 || creates[1]["WebhooksCreated"] != 0.0 ||
		creates[1]["ValidationErrors"] != 1.0 || creates[1]["ErrorCode"] != "url_invalid" {
		t.Errorf("create metrics = %v", creates)
	}
	if l := byOp["listWebhooks"]; len(l) != 1 || l[0]["AuthFailures"] != 1.0 || l[0]["ErrorCode"] != "api_key_missing" {
		t.Errorf("401 metrics = %v", l)
	}
	if g := byOp["getWebhook"]; len(g) != 1 || g[0]["Errors5xx"] != 1.0 || g[0]["ValidationErrors"] != nil {
		t.Errorf("503 metrics = %v", g)
	}
	var ddbErrors, ddbCalls, smCalls float64
	for _, m := range byOp["service DynamoDB"] {
		ddbErrors += m["DependencyErrors"].(float64)
		ddbCalls += m["DependencyCalls"].(float64)
	}
	for _, m := range byOp["service Secrets Manager"] {
		smCalls += m["DependencyCalls"].(float64)
	}
	if ddbCalls != 4 || ddbErrors != 1 || smCalls != 1 {
		t.Errorf("DynamoDB calls %v (errors %v), Secrets Manager calls %v; want 4 (1), 1", ddbCalls, ddbErrors, smCalls)
	}
	s.create(`{"url":"https://example.com/b"}`)
	s.call("GET", "/v1/webhooks/nope", "")
	_, emf = s.records()
	if last := emf[len(emf)-1]; last["Operation"] != "getWebhook" || last["ValidationErrors"] != nil || last["Errors4xx"] != 1.0 {
		t.Errorf("a 404 is a client error, not a validation error: %v", last)
	}
}
