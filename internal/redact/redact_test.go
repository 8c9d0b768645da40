package redact_test

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/docproc/webhooks/internal/redact"
)

func TestString(t *testing.T) {
	key := "dk_live_" + strings.Repeat("A", 28) + "wxyz"
	for in, want := range map[string]string{
		"nothing here":                            "nothing here",
		"/v1/webhooks/" + key:                     "/v1/webhooks/dk_live_...wxyz",
		"key=" + key + "&x=1":                     "key=dk_live_...wxyz&x=1",
		"dk_test_short/x":                         "dk_test_.../x",
		"dk_test_":                                "dk_test_...",
		"a dk_test_" + strings.Repeat("b", 24):    "a dk_test_...bbbb",
		"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw!": "[redacted signing secret]!",
		"?s=whsec_ab%2Bcd%3D&k=" + key:            "?s=[redacted signing secret]&k=dk_live_...wxyz",
		"whsec_":                                  "[redacted signing secret]",
		"/v1/whsec_abc/" + key:                    "/v1/[redacted signing secret]_live_...wxyz",
	} {
		if got := redact.String(in); got != want {
			t.Errorf("String(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestWriterRedactsLogLines(t *testing.T) {
	var buf bytes.Buffer
	key := "dk_test_" + strings.Repeat("k", 32)
	log := slog.New(slog.NewJSONHandler(redact.Writer(&buf), nil))
	log.Info("request "+key, "path", "/v1/"+key, "error", "bad secret whsec_abc+/=", slog.Group("g", "q", key))
	out := buf.String()
	if strings.Contains(out, key) || strings.Contains(out, "whsec_") {
		t.Errorf("a credential reached the log: %s", out)
	}
	if strings.Count(out, "dk_test_...kkkk") != 3 || !strings.Contains(out, redact.SecretMark) {
		t.Errorf("redacted line = %s", out)
	}
}

// Escaped keeps a value as it is, unless it holds a credential once
// percent-decoded: then it is decoded and the credential cut out.
func TestEscapedCutsEncodedCredentials(t *testing.T) {
	for in, want := range map[string]string{
		"/v1/webhooks/wh_01M8SGYQ9YKF9CTDV3NSF785K9": "/v1/webhooks/wh_01M8SGYQ9YKF9CTDV3NSF785K9",
		"/v1/a%20b": "/v1/a%20b",
		"/v1/dk_test_LocalDevOnlyKey0123456789abcdef": "/v1/dk_test_LocalDevOnlyKey0123456789abcdef", // String's to cut
	} {
		if got := redact.Escaped(in); got != want {
			t.Errorf("Escaped(%q) = %q; want %q", in, got, want)
		}
	}
	for _, in := range []string{"/v1/dk%5Ftest%5F4eC39HqLyjWDarjtT1zdp7dc", "/v1/%64k_live_4eC39HqLyjWDarjtT1zdp7dc",
		"whsec%5fMfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"} {
		if got := redact.Escaped(in); strings.Contains(got, "4eC39HqLyjWDarjtT1zdp7dc") || strings.Contains(got, "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw") {
			t.Errorf("Escaped(%q) = %q; want the credential cut out", in, got)
		}
	}
}
