package webhook

import (
	"strings"
	"testing"
)

func TestFingerprintIsOfTheNormalizedRequest(t *testing.T) {
	fp := func(body string) string {
		t.Helper()
		p, err := ParseCreateParams(members(t, body))
		if err != nil {
			t.Fatal(err)
		}
		return p.Fingerprint()
	}
	base := fp(`{"url":"https://e.com"}`)
	for _, same := range []string{
		`{"url":"https://e.com","max_retries":5}`,
		`{"max_retries":5,"is_active":true,"retry_enabled":true,"url":"https://e.com"}`,
		`{"url":"https://e.com","events":["document.processing.failed","document.processing.completed","document.processing.failed"]}`,
	} {
		if got := fp(same); got != base {
			t.Errorf("%s has another fingerprint than its defaults spelled out", same)
		}
	}
	for _, other := range []string{
		`{"url":"https://e.com/"}`,
		`{"url":"https://e.com","max_retries":4}`,
		`{"url":"https://e.com","is_active":false}`,
		`{"url":"https://e.com","retry_enabled":false}`,
		`{"url":"https://e.com","events":["document.uploaded"]}`,
	} {
		if fp(other) == base {
			t.Errorf("%s has the fingerprint of another request", other)
		}
	}
	if len(base) != 64 {
		t.Errorf("fingerprint %q is not hex SHA-256", base)
	}
}

func TestValidateIdempotencyKey(t *testing.T) {
	for key, ok := range map[string]bool{
		"a": true, "order-4711/retry #2": true, strings.Repeat("~", 255): true, " ": true,
		"": false, strings.Repeat("k", 256): false, "tab\there": false, "del\x7f": false, "é": false,
	} {
		if err := ValidateIdempotencyKey(key); (err == nil) != ok {
			t.Errorf("ValidateIdempotencyKey(%q) = %v, want ok=%v", key, err, ok)
		}
	}
}
