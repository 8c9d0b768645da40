package tenant

import (
	"strings"
	"testing"
)

func TestNew(t *testing.T) {
	for _, c := range []struct {
		account string
		mode    Mode
		ok      bool
	}{
		{"acct_123", Test, true},
		{"A-b_9", Live, true},
		{strings.Repeat("a", 64), Live, true},
		{strings.Repeat("a", 65), Live, false},
		{"", Test, false},
		{"acct/other", Test, false}, // would escape the secret name prefix
		{"acct#x", Test, false},     // would forge a DynamoDB key
		{"acct", "prod", false},
		{"acct.x", Test, false},
		{"accté", Test, false},
	} {
		_, err := New(c.account, c.mode)
		if (err == nil) != c.ok {
			t.Errorf("New(%q, %q) err = %v, want ok=%v", c.account, c.mode, err, c.ok)
		}
	}
}
