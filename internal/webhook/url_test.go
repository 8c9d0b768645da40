package webhook

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"

	"github.com/docproc/webhooks/internal/apperr"
	"github.com/docproc/webhooks/internal/egress"
)

// urlCase is one row of the validation table: a URL, the code it gets
// ("" when it is accepted) and, when accepted, the form that is stored.
type urlCase struct {
	url, code, stored string
}

// urlCases is the validation table. FuzzValidateURL starts from it too.
func urlCases() []urlCase {
	base := "https://hooks.example.com/"
	longest := base + strings.Repeat("p", MaxURLLength-len(base))
	return []urlCase{
		{"https://example.com/hooks", "", "https://example.com/hooks"},
		{"https://example.com:8443/hooks?x=1#f", "", "https://example.com:8443/hooks?x=1#f"},
		{"HTTPS://EXAMPLE.COM/", "", "https://example.com/"},
		{"https://example.com./x", "", "https://example.com./x"},
		{"https://my_host.example.com/", "", "https://my_host.example.com/"},
		{"https://8.8.8.8/", "", "https://8.8.8.8/"},
		{"https://8.8.8.8.:8443/", "", "https://8.8.8.8:8443/"},
		{"https://[2001:4860:4860::8888]/", "", "https://[2001:4860:4860::8888]/"},
		{"https://[2001:4860:4860:0:0:0:0:8888]:8443/", "", "https://[2001:4860:4860::8888]:8443/"},
		{"https://[::ffff:8.8.8.8]/", "", "https://[::ffff:8.8.8.8]/"},
		{"https://1.2.3.4.example.com/", "", "https://1.2.3.4.example.com/"}, // a name, not an address
		{"https://0x7f.example.com/", "", "https://0x7f.example.com/"},       // last label not numeric: a name
		{longest, "", longest},
		{longest + "x", apperr.CodeURLInvalid, ""},
		// Non-ASCII hosts are stored as the ASCII name a client dials.
		{"https://bücher.de/hooks", "", "https://xn--bcher-kva.de/hooks"},
		{"https://ＥＸＡＭＰＬＥ.com/", "", "https://example.com/"},
		{"https://%EF%BC%A5xample.com/", "", "https://example.com/"}, // percent-encoded full-width E
		{"https://exa\u200dmple.com/", apperr.CodeURLInvalid, ""},    // zero-width joiner: not a valid IDN
		{"https://\u2474.com/", apperr.CodeURLInvalid, ""},           // disallowed in IDNA
		{"https://%FF.com/", apperr.CodeURLInvalid, ""},              // not UTF-8
		{"https://%31%32%37.0.0.1/", apperr.CodeURLInvalid, ""},      // ASCII may not be percent-encoded in a host
		// The shape of the URL.
		{"", apperr.CodeURLInvalid, ""},
		{" https://example.com", apperr.CodeURLInvalid, ""},
		{"http://example.com", apperr.CodeURLInvalid, ""},
		{"ftp://example.com", apperr.CodeURLInvalid, ""},
		{"//example.com/hooks", apperr.CodeURLInvalid, ""},
		{"/hooks", apperr.CodeURLInvalid, ""},
		{"https:example.com", apperr.CodeURLInvalid, ""},
		{"https://", apperr.CodeURLInvalid, ""},
		{"https:///path", apperr.CodeURLInvalid, ""},
		{"https://user:pass@example.com/", apperr.CodeURLInvalid, ""},
		{"https://user@example.com/", apperr.CodeURLInvalid, ""},
		{"https://example.com:0/", apperr.CodeURLInvalid, ""},
		{"https://example.com:1/", "", "https://example.com:1/"},
		{"https://example.com:65535/", "", "https://example.com:65535/"},
		{"https://example.com:65536/", apperr.CodeURLInvalid, ""},
		{"https://example.com:0443/", apperr.CodeURLInvalid, ""},
		{"https://exa mple.com/", apperr.CodeURLInvalid, ""},
		{"https://exa!mple.com/", apperr.CodeURLInvalid, ""},
		{"https://-example.com/", apperr.CodeURLInvalid, ""},
		{"https://example-.com/", apperr.CodeURLInvalid, ""},
		{"https://a..example.com/", apperr.CodeURLInvalid, ""},
		{"https://" + strings.Repeat("a", 63) + ".com/", "", "https://" + strings.Repeat("a", 63) + ".com/"},
		{"https://" + strings.Repeat("a", 64) + ".com/", apperr.CodeURLInvalid, ""},
		{"https://" + strings.Repeat("a.", 125) + "com/", "", "https://" + strings.Repeat("a.", 125) + "com/"}, // 253 bytes
		{"https://" + strings.Repeat("a.", 125) + "comx/", apperr.CodeURLInvalid, ""},
		{"https://[fe80::1%25eth0]/", apperr.CodeURLInvalid, ""},
		// IPv4 in legacy notations is judged as the address a resolver makes
		// of it; a legacy spelling of a public address is refused too, since
		// Go's dialler would look it up in DNS rather than take it as one.
		{"https://127.0.0.1/", apperr.CodeURLForbiddenHost, ""},
		{"https://127.1/", apperr.CodeURLForbiddenHost, ""},
		{"https://127.0.1/", apperr.CodeURLForbiddenHost, ""},
		{"https://2130706433/", apperr.CodeURLForbiddenHost, ""},
		{"https://0x7f000001/", apperr.CodeURLForbiddenHost, ""},
		{"https://0x7f.0.0.1/", apperr.CodeURLForbiddenHost, ""},
		{"https://017700000001/", apperr.CodeURLForbiddenHost, ""},
		{"https://0177.0.0.1/", apperr.CodeURLForbiddenHost, ""},
		{"https://127.0.0.1./", apperr.CodeURLForbiddenHost, ""},
		{"https://0x.0x.0x.0x/", apperr.CodeURLForbiddenHost, ""},
		{"https://2852039166/", apperr.CodeURLForbiddenHost, ""}, // 169.254.169.254
		{"https://0/", apperr.CodeURLForbiddenHost, ""},
		{"https://8.8.2056/", apperr.CodeURLInvalid, ""},   // 8.8.8.8, not in dotted decimal
		{"https://134744072/", apperr.CodeURLInvalid, ""},  // 8.8.8.8 as one number
		{"https://010.8.8.8/", apperr.CodeURLInvalid, ""},  // octal 8.8.8.8
		{"https://0127.0.0.1/", apperr.CodeURLInvalid, ""}, // octal 87.0.0.1
		{"https://08.8.8.8/", apperr.CodeURLInvalid, ""},   // 8 is no octal digit
		{"https://1.65536/", apperr.CodeURLInvalid, ""},    // 1.1.0.0, not in dotted decimal
		// The bound of every part: one past it is no address at all.
		{"https://1.2.3.256/", apperr.CodeURLInvalid, ""},
		{"https://127.0.0.255/", apperr.CodeURLForbiddenHost, ""},
		{"https://127.0.65535/", apperr.CodeURLForbiddenHost, ""},
		{"https://127.0.65536/", apperr.CodeURLInvalid, ""},
		{"https://127.16777215/", apperr.CodeURLForbiddenHost, ""},
		{"https://127.16777216/", apperr.CodeURLInvalid, ""},
		{"https://4294967295/", apperr.CodeURLForbiddenHost, ""}, // 255.255.255.255
		{"https://4294967296/", apperr.CodeURLInvalid, ""},
		{"https://127.255.1/", apperr.CodeURLForbiddenHost, ""},
		{"https://127.256.1/", apperr.CodeURLInvalid, ""},
		{"https://256.1.1.1/", apperr.CodeURLInvalid, ""},
		{"https://1.2.3.4.5/", apperr.CodeURLInvalid, ""},
		{"https://example.123/", apperr.CodeURLInvalid, ""},
		// Addresses in IPv6 notation.
		{"https://[::1]/", apperr.CodeURLForbiddenHost, ""},
		{"https://[::]/", apperr.CodeURLForbiddenHost, ""},
		{"https://[::ffff:127.0.0.1]/", apperr.CodeURLForbiddenHost, ""},
		{"https://[::ffff:7f00:1]/", apperr.CodeURLForbiddenHost, ""},
		{"https://[::127.0.0.1]/", apperr.CodeURLForbiddenHost, ""},                          // IPv4-compatible
		{"https://[::ffff:0:127.0.0.1]/", apperr.CodeURLForbiddenHost, ""},                   // SIIT
		{"https://[64:ff9b::7f00:1]/", apperr.CodeURLForbiddenHost, ""},                      // NAT64
		{"https://[64:ff9b:1::7f00:1]/", apperr.CodeURLForbiddenHost, ""},                    // local-use NAT64
		{"https://[2002:7f00:1::]/", apperr.CodeURLForbiddenHost, ""},                        // 6to4
		{"https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/", apperr.CodeURLForbiddenHost, ""}, // Teredo
		{"https://[fec0::1]/", apperr.CodeURLForbiddenHost, ""},
		{"https://[fc00::1]/", apperr.CodeURLForbiddenHost, ""},
		{"https://[fd00:ec2::254]/", apperr.CodeURLForbiddenHost, ""},
		{"https://[fe80::1]/", apperr.CodeURLForbiddenHost, ""},
		{"https://[::ffff:169.254.169.254]/latest/meta-data/", apperr.CodeURLForbiddenHost, ""},
		// Private, link-local, metadata and other reserved ranges.
		{"https://10.0.0.1/", apperr.CodeURLForbiddenHost, ""},
		{"https://172.16.0.1/", apperr.CodeURLForbiddenHost, ""},
		{"https://192.168.1.1/", apperr.CodeURLForbiddenHost, ""},
		{"https://169.254.169.254/latest/meta-data/", apperr.CodeURLForbiddenHost, ""},
		{"https://0.0.0.0/", apperr.CodeURLForbiddenHost, ""},
		{"https://100.64.0.1/", apperr.CodeURLForbiddenHost, ""},
		{"https://224.0.0.1/", apperr.CodeURLForbiddenHost, ""},
		{"https://255.255.255.255/", apperr.CodeURLForbiddenHost, ""},
		// Names that only resolve inside a network.
		{"https://localhost/", apperr.CodeURLForbiddenHost, ""},
		{"https://LOCALHOST./", apperr.CodeURLForbiddenHost, ""},
		{"https://api.localhost/", apperr.CodeURLForbiddenHost, ""},
		{"https://localhost.localdomain/", apperr.CodeURLForbiddenHost, ""},
		{"https://localhost6.localdomain6/", apperr.CodeURLForbiddenHost, ""},
		{"https://ip6-localhost/", apperr.CodeURLForbiddenHost, ""},
		{"https://intranet/", apperr.CodeURLForbiddenHost, ""},
		{"https://metadata/", apperr.CodeURLForbiddenHost, ""},
		{"https://metadata.google.internal/", apperr.CodeURLForbiddenHost, ""},
		{"https://instance-data.ec2.internal/", apperr.CodeURLForbiddenHost, ""},
		{"https://printer.local/", apperr.CodeURLForbiddenHost, ""},
		{"https://nas.lan/", apperr.CodeURLForbiddenHost, ""},
		{"https://router.home.arpa/", apperr.CodeURLForbiddenHost, ""},
		{"https://db.corp/", apperr.CodeURLForbiddenHost, ""},
		// The same hosts in spellings a client maps to them (UTS #46).
		{"https://１２７.０.０.１/", apperr.CodeURLForbiddenHost, ""},
		{"https://ｌｏｃａｌｈｏｓｔ/", apperr.CodeURLForbiddenHost, ""},
		{"https://１６９.２５４.１６９.２５４/", apperr.CodeURLForbiddenHost, ""},
		{"https://127。0。0。1/", apperr.CodeURLForbiddenHost, ""},
		{"https://127．0．0．1/", apperr.CodeURLForbiddenHost, ""},
		{"https://127｡0｡0｡1/", apperr.CodeURLForbiddenHost, ""},
		{"https://ⓛⓞⓒⓐⓛⓗⓞⓢⓣ/", apperr.CodeURLForbiddenHost, ""},
		{"https://①②⑦.⓪.⓪.①/", apperr.CodeURLForbiddenHost, ""},
		{"https://local\u00adhost/", apperr.CodeURLForbiddenHost, ""},
		{"https://local\u200bhost/", apperr.CodeURLForbiddenHost, ""},
		{"https://ｌｏｃａｌｈｏｓｔ。/", apperr.CodeURLForbiddenHost, ""},
		{"https://%EF%BC%91%EF%BC%92%EF%BC%97.0.0.1/", apperr.CodeURLForbiddenHost, ""},
		{"https://ｍｅｔａｄａｔａ.google.internal/", apperr.CodeURLForbiddenHost, ""},
		// Boundaries of the private ranges stay public.
		{"https://172.15.255.255/", "", "https://172.15.255.255/"},
		{"https://172.32.0.0/", "", "https://172.32.0.0/"},
		{"https://11.0.0.0/", "", "https://11.0.0.0/"},
	}
}

func TestValidateURL(t *testing.T) {
	for _, c := range urlCases() {
		stored, fp := ValidateURL(c.url)
		got, msg := "", ""
		if fp != nil {
			got, msg = fp.Code, fp.Message
		}
		if got != c.code || stored != c.stored {
			t.Errorf("ValidateURL(%q) = %q, %q (%s); want %q, %q", c.url, stored, got, msg, c.stored, c.code)
		}
	}
}

// TestValidateURLWithAllowlist checks registration under an operator's
// allowlist: an IP literal in an allowed prefix is accepted, names follow
// the name rules, and everything else is refused as without the list.
func TestValidateURLWithAllowlist(t *testing.T) {
	allow, err := egress.ParseCIDRs("127.0.0.1/32,10.1.0.0/16,fd00:1::/32")
	if err != nil {
		t.Fatal(err)
	}
	rules := egress.Rules{Allow: allow}
	for _, c := range []urlCase{
		{"https://127.0.0.1:8443/x", "", "https://127.0.0.1:8443/x"},
		{"https://127.0.0.1./x", "", "https://127.0.0.1/x"},
		{"https://10.1.200.3/hook", "", "https://10.1.200.3/hook"},
		{"https://[fd00:1::1]:9000/", "", "https://[fd00:1::1]:9000/"},
		{"https://[::ffff:127.0.0.1]/", "", "https://[::ffff:127.0.0.1]/"},
		{"https://example.com/hooks", "", "https://example.com/hooks"},
		{"https://127.0.0.2/x", apperr.CodeURLForbiddenHost, ""},
		{"https://10.2.0.1/x", apperr.CodeURLForbiddenHost, ""},
		{"https://169.254.169.254/latest/meta-data/", apperr.CodeURLForbiddenHost, ""},
		{"https://localhost:8443/x", apperr.CodeURLForbiddenHost, ""},
		{"https://hooks.internal/x", apperr.CodeURLForbiddenHost, ""},
		{"https://127.1/x", apperr.CodeURLInvalid, ""},
		{"http://127.0.0.1/x", apperr.CodeURLInvalid, ""},
	} {
		stored, fp := ValidateURLWith(rules, c.url)
		got := ""
		if fp != nil {
			got = fp.Code
		}
		if got != c.code || stored != c.stored {
			t.Errorf("ValidateURLWith(%q) = %q, %v; want %q, %q", c.url, stored, fp, c.stored, c.code)
		}
		if c.code == "" {
			continue
		}
		if _, fp := ValidateURL(c.url); fp == nil {
			t.Errorf("ValidateURL(%q) accepted what the allowlist refuses", c.url)
		}
	}
	if _, fp := ValidateURL("https://127.0.0.1:8443/x"); fp == nil || fp.Code != apperr.CodeURLForbiddenHost {
		t.Errorf("without the allowlist, loopback: %v; want %s", fp, apperr.CodeURLForbiddenHost)
	}
}

// errDialled stops a request once the client has chosen what to dial.
var errDialled = errors.New("dialled")

// dialledHost returns the host Go's HTTP client dials for raw, after its
// own IDNA mapping and parsing, or "" when it refuses to send the request.
func dialledHost(t *testing.T, raw string) string {
	t.Helper()
	var addr string
	tr := &http.Transport{Proxy: nil, DialContext: func(_ context.Context, _, a string) (net.Conn, error) {
		addr = a
		return nil, errDialled
	}}
	defer tr.CloseIdleConnections()
	req, err := http.NewRequest(http.MethodPost, raw, nil)
	if err != nil {
		return ""
	}
	if _, err := tr.RoundTrip(req); !errors.Is(err, errDialled) {
		return ""
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("the client dialled %q", addr)
	}
	return host
}

// checkDialled fails t unless host, as a client dials it, passes the
// rules: an IP address that CheckAddr allows, or a name that egress.Host
// accepts (as it is, when exact).
func checkDialled(t *testing.T, host string, exact bool) {
	t.Helper()
	if ip, err := netip.ParseAddr(host); err == nil {
		if err := egress.CheckAddr(ip); err != nil {
			t.Errorf("the client dials %s, which the address check refuses: %v", host, err)
		}
		return
	}
	if got, err := egress.Host(host); err != nil || (exact && got != host) {
		t.Errorf("the client dials the name %q, which the rules map to %q, %v", host, got, err)
	}
}

// TestAcceptedURLsDialOnlyAllowedHosts checks the table against Go's own
// client: what it accepts is dialled as it is stored, and passes the rules.
func TestAcceptedURLsDialOnlyAllowedHosts(t *testing.T) {
	for _, c := range urlCases() {
		if c.code != "" {
			continue
		}
		host := dialledHost(t, c.stored)
		if host == "" {
			t.Errorf("the client will not send to %q", c.stored)
			continue
		}
		checkDialled(t, host, true)
	}
}

// FuzzValidateURL checks the rule set as a property: for every URL the
// validator accepts, Go's HTTP client dials the stored form's host exactly,
// and the host it dials for the URL as written, after its own IDNA mapping
// and IP parsing, also passes the address and name checks.
func FuzzValidateURL(f *testing.F) {
	for _, c := range urlCases() {
		f.Add(c.url)
	}
	f.Fuzz(func(t *testing.T, s string) {
		stored, fp := ValidateURL(s)
		if fp != nil {
			return
		}
		if !strings.HasPrefix(stored, "https://") || len(stored) > MaxURLLength {
			t.Fatalf("accepted %q as %q", s, stored)
		}
		host := dialledHost(t, stored)
		if host == "" {
			t.Fatalf("accepted %q as %q, which the client will not send to", s, stored)
		}
		if want := hostOf(t, stored); host != want {
			t.Errorf("stored %q but the client dials %q", stored, host)
		}
		checkDialled(t, host, true)
		if original := dialledHost(t, s); original != "" {
			checkDialled(t, original, false)
		}
	})
}

// hostOf returns the host of a URL without its port.
func hostOf(t *testing.T, raw string) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, raw, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req.URL.Hostname()
}
