package api_test

import (
	"fmt"
	"maps"
	"testing"

	"github.com/docproc/webhooks/internal/dev/testenv"
)

// TestRoundTripsPerRequest counts the AWS calls each request makes once
// the function is warm (its API key cached). A warm create makes three
// sequential calls: PutItem of the janitor's secret check, CreateSecret,
// then the one TransactWriteItems.
func TestRoundTripsPerRequest(t *testing.T) {
	s := newStack(t, testenv.Kumo(t))
	id, _ := s.mustCreate(`{"url":"https://example.com/warm-up"}`) // caches the key
	cases := []struct {
		name  string
		send  func()
		calls map[string]int
	}{
		{"create", func() { s.create(`{"url":"https://example.com/a"}`) },
			map[string]int{"PutItem": 1, "CreateSecret": 1, "TransactWriteItems": 1}},
		{"create with an Idempotency-Key", func() { s.createWithKey(`{"url":"https://example.com/b"}`, "rt-1") },
			map[string]int{"PutItem": 2, "CreateSecret": 1, "TransactWriteItems": 1}},
		{"replay", func() { s.createWithKey(`{"url":"https://example.com/b"}`, "rt-1") },
			map[string]int{"PutItem": 1, "GetItem": 1, "GetSecretValue": 1}},
		{"list", func() { s.list(nil) }, map[string]int{"Query": 1}},
		// The webhook, and a Query for its last delivery.
		{"get", func() { s.call("GET", "/v1/webhooks/"+id, "") }, map[string]int{"GetItem": 2, "Query": 1}},
		{"update", func() { s.call("PATCH", "/v1/webhooks/"+id, `{"max_retries":1}`) },
			map[string]int{"GetItem": 1, "UpdateItem": 1}},
		{"invalid body", func() { s.create(`{"url":"http://example.com"}`) }, map[string]int{}},
	}
	for _, c := range cases {
		_, before := s.faults.Total()
		c.send()
		_, after := s.faults.Total()
		got := map[string]int{}
		for op, n := range after {
			if d := n - before[op]; d > 0 {
				got[op] = d
			}
		}
		if !maps.Equal(got, c.calls) {
			t.Errorf("%s made AWS calls %v, want %v", c.name, fmt.Sprint(got), fmt.Sprint(c.calls))
		}
	}
}
