package webhook

import (
	"slices"
	"strings"
	"testing"
)

// urlCases is the validation table. FuzzValidateURL starts from it too.
func urlCases() []struct {
	url  string
	code string
} {
	host := "https://" + strings.Repeat("a", 63) + "."
	longest := host + strings.Repeat("b", MaxURLLength-len(host)-4) + ".com"
	return []struct {
		url  string
		code string // "" means valid
	}{
		{"https://example.com/hooks", ""},
		{"https://example.com:8443/hooks?x=1#f", ""},
		{"HTTPS://EXAMPLE.COM/", ""},
		{"https://8.8.8.8/", ""},
		{"https://[2001:4860:4860::8888]/", ""},
		{"https://1.2.3.4.example.com/", ""}, // a name, not an address
		{"https://0x7f.example/", ""},        // last label not numeric: a name
		{longest, ""},
		{longest + "x", CodeURLInvalid},
		{"", CodeURLInvalid},
		{" https://example.com", CodeURLInvalid},
		{"http://example.com", CodeURLInvalid},
		{"ftp://example.com", CodeURLInvalid},
		{"//example.com/hooks", CodeURLInvalid},
		{"/hooks", CodeURLInvalid},
		{"https:example.com", CodeURLInvalid},
		{"https://", CodeURLInvalid},
		{"https:///path", CodeURLInvalid},
		{"https://user:pass@example.com/", CodeURLInvalid},
		{"https://user@example.com/", CodeURLInvalid},
		{"https://example.com:0/", CodeURLInvalid},
		{"https://example.com:65536/", CodeURLInvalid},
		{"https://exa mple.com/", CodeURLInvalid},
		{"https://256.1.1.1/", CodeURLInvalid},
		{"https://1.2.3.4.5/", CodeURLInvalid},
		{"https://09.1.1.1/", CodeURLInvalid},
		{"https://[fe80::1%25eth0]/", CodeURLInvalid},
		// loopback in every notation
		{"https://localhost/", CodeURLForbiddenHost},
		{"https://LOCALHOST./", CodeURLForbiddenHost},
		{"https://api.localhost/", CodeURLForbiddenHost},
		{"https://127.0.0.1/", CodeURLForbiddenHost},
		{"https://127.1/", CodeURLForbiddenHost},
		{"https://127.0.1/", CodeURLForbiddenHost},
		{"https://2130706433/", CodeURLForbiddenHost},
		{"https://0x7f000001/", CodeURLForbiddenHost},
		{"https://0x7f.0.0.1/", CodeURLForbiddenHost},
		{"https://017700000001/", CodeURLForbiddenHost},
		{"https://0177.0.0.1/", CodeURLForbiddenHost},
		{"https://[::1]/", CodeURLForbiddenHost},
		{"https://[::ffff:127.0.0.1]/", CodeURLForbiddenHost},
		{"https://[::ffff:7f00:1]/", CodeURLForbiddenHost},
		{"https://[64:ff9b::7f00:1]/", CodeURLForbiddenHost},
		// private, link-local, metadata, unspecified and other reserved ranges
		{"https://10.0.0.1/", CodeURLForbiddenHost},
		{"https://172.16.0.1/", CodeURLForbiddenHost},
		{"https://172.31.255.255/", CodeURLForbiddenHost},
		{"https://192.168.1.1/", CodeURLForbiddenHost},
		{"https://[::ffff:192.168.1.1]/", CodeURLForbiddenHost},
		{"https://[fc00::1]/", CodeURLForbiddenHost},
		{"https://169.254.169.254/latest/meta-data/", CodeURLForbiddenHost},
		{"https://2852039166/", CodeURLForbiddenHost}, // 169.254.169.254
		{"https://[fd00:ec2::254]/", CodeURLForbiddenHost},
		{"https://[fe80::1]/", CodeURLForbiddenHost},
		{"https://metadata.google.internal/", CodeURLForbiddenHost},
		{"https://0.0.0.0/", CodeURLForbiddenHost},
		{"https://0/", CodeURLForbiddenHost},
		{"https://[::]/", CodeURLForbiddenHost},
		{"https://100.64.0.1/", CodeURLForbiddenHost},
		{"https://224.0.0.1/", CodeURLForbiddenHost},
		{"https://255.255.255.255/", CodeURLForbiddenHost},
		// boundaries of the private ranges stay public
		{"https://172.15.255.255/", ""},
		{"https://172.32.0.0/", ""},
		{"https://11.0.0.0/", ""},
	}
}

func TestValidateURL(t *testing.T) {
	cases := urlCases()
	for _, c := range cases {
		fp := ValidateURL(c.url)
		got := ""
		if fp != nil {
			got = fp.Code
		}
		if got != c.code {
			msg := ""
			if fp != nil {
				msg = fp.Message
			}
			t.Errorf("ValidateURL(%q) = %q (%s), want %q", c.url, got, msg, c.code)
		}
	}
	if !slices.ContainsFunc(cases, func(c struct{ url, code string }) bool { return len(c.url) == MaxURLLength && c.code == "" }) {
		t.Fatalf("no valid case of exactly %d bytes", MaxURLLength)
	}
}

func FuzzValidateURL(f *testing.F) {
	for _, c := range urlCases() {
		f.Add(c.url)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if ValidateURL(s) == nil && !strings.HasPrefix(strings.ToLower(s), "https://") {
			t.Errorf("accepted %q, which is not https", s)
		}
	})
}
