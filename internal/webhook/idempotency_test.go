package webhook

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
)

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

// A create's fingerprint covers its rate limit, and one without a limit
// keeps the canonical form it had before rate_limit existed, so a request
// retried across the deploy that added it is still recognised.
func TestFingerprintOfTheRateLimit(t *testing.T) {
	s := Settings{URL: "https://e.com", Events: []EventType{DocumentUploaded}, IsActive: true, RetryEnabled: true, MaxRetries: 5}
	before := sha256.Sum256([]byte(`{"url":"https://e.com","events":["document.uploaded"],"is_active":true,"retry_enabled":true,"max_retries":5}`))
	if got := s.Fingerprint(); got != hex.EncodeToString(before[:]) {
		t.Errorf("the fingerprint without a rate limit changed: %s", got)
	}
	limited := s
	limited.RateLimit = 50
	other := s
	other.RateLimit = 51
	if limited.Fingerprint() == s.Fingerprint() || limited.Fingerprint() == other.Fingerprint() {
		t.Error("requests with other rate limits share a fingerprint")
	}
}
