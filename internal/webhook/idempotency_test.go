package webhook

import (
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
