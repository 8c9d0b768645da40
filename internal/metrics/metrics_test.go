package metrics

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/docproc/webhooks/internal/apperr"
)

// checkEMF fails t unless line follows the EMF specification: _aws with a
// millisecond Timestamp and CloudWatchMetrics directives whose dimensions
// are string members of the line and whose metrics are numeric members (or
// arrays of at most 100 numbers), at most 100 metrics and 30 dimensions.
func checkEMF(t *testing.T, line []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(line, &m); err != nil {
		t.Fatalf("not JSON: %s", line)
	}
	meta, ok := m["_aws"].(map[string]any)
	if !ok {
		t.Fatalf("no _aws object: %s", line)
	}
	if ts, ok := meta["Timestamp"].(float64); !ok || ts < 1e12 {
		t.Errorf("Timestamp %v is not epoch milliseconds", meta["Timestamp"])
	}
	directives, ok := meta["CloudWatchMetrics"].([]any)
	if !ok || len(directives) == 0 {
		t.Fatalf("no CloudWatchMetrics: %s", line)
	}
	for _, d := range directives {
		d := d.(map[string]any)
		if ns, _ := d["Namespace"].(string); ns == "" {
			t.Errorf("directive without Namespace: %s", line)
		}
		for _, set := range d["Dimensions"].([]any) {
			if len(set.([]any)) > 30 {
				t.Errorf("more than 30 dimensions")
			}
			for _, dim := range set.([]any) {
				if _, ok := m[dim.(string)].(string); !ok {
					t.Errorf("dimension %v is not a string member: %s", dim, line)
				}
			}
		}
		metrics := d["Metrics"].([]any)
		if len(metrics) > 100 {
			t.Errorf("more than 100 metrics")
		}
		for _, spec := range metrics {
			name := spec.(map[string]any)["Name"].(string)
			switch v := m[name].(type) {
			case float64:
			case []any:
				if len(v) == 0 || len(v) > 100 {
					t.Errorf("metric %s has %d values", name, len(v))
				}
			default:
				t.Errorf("metric %s is %T, not a number: %s", name, m[name], line)
			}
		}
	}
	return m
}

func lines(b *bytes.Buffer) [][]byte {
	var out [][]byte
	sc := bufio.NewScanner(b)
	for sc.Scan() {
		out = append(out, append([]byte(nil), sc.Bytes()...))
	}
	return out
}

func TestFinishWritesValidEMF(t *testing.T) {
	var buf bytes.Buffer
	e := New(&buf, "Webhooks/test")
	_, r := e.Start(context.Background())
	r.Dependency("DynamoDB", 3*time.Millisecond, false)
	r.Dependency("DynamoDB", 5*time.Millisecond, true)
	r.Dependency("Secrets Manager", 20*time.Millisecond, false)
	r.Finish(Outcome{Operation: "createWebhook", Status: 400, Latency: 30 * time.Millisecond,
		ErrorKind: apperr.Invalid, ErrorCode: "url_invalid"})
	got := lines(&buf)
	if len(got) != 3 {
		t.Fatalf("%d lines, want the request's and one per service", len(got))
	}
	req := checkEMF(t, got[0])
	if req["Operation"] != "createWebhook" || req["WebhooksCreated"] != 0.0 || req["ValidationErrors"] != 1.0 ||
		req["ErrorCode"] != "url_invalid" || req["Latency"] != 30.0 || req["Errors5xx"] != 0.0 || req["Errors4xx"] != 1.0 {
		t.Errorf("request line: %s", got[0])
	}
	ddb := checkEMF(t, got[1])
	if ddb["Service"] != "DynamoDB" || ddb["DependencyCalls"] != 2.0 || ddb["DependencyErrors"] != 1.0 ||
		len(ddb["DependencyLatency"].([]any)) != 2 {
		t.Errorf("DynamoDB line: %s", got[1])
	}
	if sm := checkEMF(t, got[2]); sm["Service"] != "Secrets Manager" {
		t.Errorf("Secrets Manager line: %s", got[2])
	}
}

func TestAuthFailuresAndServerErrors(t *testing.T) {
	var buf bytes.Buffer
	e := New(&buf, "")
	_, r := e.Start(context.Background())
	r.Finish(Outcome{Operation: "listWebhooks", Status: 401, ErrorKind: apperr.Unauthenticated, ErrorCode: "api_key_missing"})
	_, r = e.Start(context.Background())
	r.Finish(Outcome{Operation: "getWebhook", Status: 503, ErrorKind: apperr.Unavailable, ErrorCode: "service_unavailable"})
	got := lines(&buf)
	auth, failed := checkEMF(t, got[0]), checkEMF(t, got[1])
	if auth["AuthFailures"] != 1.0 || auth["ValidationErrors"] != nil || auth["WebhooksCreated"] != nil {
		t.Errorf("401 line: %s", got[0])
	}
	if failed["Errors5xx"] != 1.0 || failed["ValidationErrors"] != nil || failed["AuthFailures"] != nil {
		t.Errorf("503 line: %s", got[1])
	}
	if !strings.Contains(string(got[0]), `"Namespace":"Webhooks"`) {
		t.Errorf("default namespace missing: %s", got[0])
	}
}

func TestDependencyFailed(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{nil, false},
		{&types.ConditionalCheckFailedException{}, false},
		{&types.TransactionCanceledException{}, false},
		{&smithy.GenericAPIError{Code: "ThrottlingException", Fault: smithy.FaultClient}, true},
		{&smithy.GenericAPIError{Code: "InternalServerError", Fault: smithy.FaultServer}, true},
		{context.DeadlineExceeded, true},
		{errors.New("connection reset"), true},
	} {
		if got := dependencyFailed(c.err); got != c.want {
			t.Errorf("dependencyFailed(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}
