package egress_test

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/docproc/webhooks/internal/egress"
)

// TestCheckAddrBoundaries pins every range at both ends: its first and
// last address are refused and the addresses just outside are allowed
// (where they are public), so that dropping a range, or moving a bound by
// one, fails here.
func TestCheckAddrBoundaries(t *testing.T) {
	cases := []struct {
		addr    string
		allowed bool
	}{
		{"1.0.0.0", true},
		{"0.0.0.0", false}, {"0.255.255.255", false},
		{"9.255.255.255", true}, {"10.0.0.0", false}, {"10.255.255.255", false}, {"11.0.0.0", true},
		{"100.63.255.255", true}, {"100.64.0.0", false}, {"100.127.255.255", false}, {"100.128.0.0", true},
		{"126.255.255.255", true}, {"127.0.0.0", false}, {"127.255.255.255", false}, {"128.0.0.0", true},
		{"169.253.255.255", true}, {"169.254.0.0", false}, {"169.254.255.255", false}, {"169.255.0.0", true},
		{"172.15.255.255", true}, {"172.16.0.0", false}, {"172.31.255.255", false}, {"172.32.0.0", true},
		{"191.255.255.255", true}, {"192.0.0.0", false}, {"192.0.0.255", false}, {"192.0.1.0", true},
		{"192.0.2.0", false}, {"192.0.2.255", false}, {"192.0.3.0", true},
		{"192.88.98.255", true}, {"192.88.99.0", false}, {"192.88.99.255", false}, {"192.88.100.0", true},
		{"192.167.255.255", true}, {"192.168.0.0", false}, {"192.168.255.255", false}, {"192.169.0.0", true},
		{"198.17.255.255", true}, {"198.18.0.0", false}, {"198.19.255.255", false}, {"198.20.0.0", true},
		{"198.51.99.255", true}, {"198.51.100.0", false}, {"198.51.100.255", false}, {"198.51.101.0", true},
		{"203.0.112.255", true}, {"203.0.113.0", false}, {"203.0.113.255", false}, {"203.0.114.0", true},
		{"223.255.255.255", true}, {"224.0.0.0", false}, {"239.255.255.255", false},
		{"240.0.0.0", false}, {"255.255.255.255", false},
		// IPv4-mapped: judged as the IPv4 address it is, both ways.
		{"::ffff:8.8.8.8", true}, {"::ffff:127.0.0.1", false}, {"::ffff:169.254.169.254", false},
		// IPv6: only global unicast, 2000::/3.
		{"1fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", false}, {"2000::", true},
		{"3fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true}, {"4000::", false},
		{"::", false}, {"::1", false}, {"::8.8.8.8", false}, {"::ffff:0:8.8.8.8", false},
		{"100::1", false}, {"fc00::1", false}, {"fd00:ec2::254", false}, {"fe80::1", false},
		{"fec0::1", false}, {"feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", false}, {"ff02::1", false},
		// Refused within global unicast.
		{"2000:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true}, {"2001::", false},
		{"2001:0:4136:e378:8000:63bf:3fff:fdd2", false}, // Teredo
		{"2001:1ff:ffff:ffff:ffff:ffff:ffff:ffff", false}, {"2001:200::", true},
		{"2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", true}, {"2001:db8::", false},
		{"2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", false}, {"2001:db9::", true},
		{"3ffe:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true}, {"3fff::", false},
		{"3fff:fff:ffff:ffff:ffff:ffff:ffff:ffff", false}, {"3fff:1000::", true},
		// NAT64, well-known prefix: judged by the IPv4 address it carries.
		{"64:ff9b::808:808", true}, {"64:ff9b::7f00:1", false}, {"64:ff9b::a00:1", false},
		{"64:ff9b::c0a7:ffff", true}, {"64:ff9b::c0a8:0", false},
		{"64:ff9b::1:808:808", false}, {"64:ff9a:ffff:ffff:ffff:ffff:808:808", false},
		{"64:ff9b:1::808:808", false}, // local-use NAT64 is outside global unicast
		// 6to4: judged by the IPv4 address in bits 16 to 47.
		{"2002:808:808::1", true}, {"2002:7f00:1::", false}, {"2002:a00:1::", false},
		{"2002:c0a7:ffff::", true}, {"2002:c0a8::", false},
		{"2001:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true}, {"2003::", true},
	}
	for _, c := range cases {
		err := egress.CheckAddr(netip.MustParseAddr(c.addr))
		if (err == nil) != c.allowed {
			t.Errorf("CheckAddr(%s) = %v, want allowed=%v", c.addr, err, c.allowed)
		}
		if err != nil && !errors.Is(err, egress.ErrForbidden) {
			t.Errorf("CheckAddr(%s) = %v, which does not wrap ErrForbidden", c.addr, err)
		}
	}
	if err := egress.CheckAddr(netip.MustParseAddr("fe80::1%eth0")); err == nil {
		t.Error("an address with a zone is allowed")
	}
	if err := egress.CheckAddr(netip.Addr{}); err == nil {
		t.Error("the zero address is allowed")
	}
}

func TestParseLegacyIPv4(t *testing.T) {
	for s, want := range map[string]string{
		"127.1": "127.0.0.1", "127.0.1": "127.0.0.1", "2130706433": "127.0.0.1", "0x7f000001": "127.0.0.1",
		"0x7f.0.0.1": "127.0.0.1", "017700000001": "127.0.0.1", "0177.0.0.1": "127.0.0.1", "0X7F.1": "127.0.0.1",
		"1.65536": "1.1.0.0", "1.2.65535": "1.2.255.255", "1.16777215": "1.255.255.255", "4294967295": "255.255.255.255",
		"0x.0x.0x.0x": "0.0.0.0", "0": "0.0.0.0", "255.255.255.255": "255.255.255.255",
		"1.2.3.256": "", "1.2.65536": "", "1.16777216": "", "4294967296": "", "256.1.1.1": "", "1.256.1": "",
		"1.2.3.4.5": "", "08.1.1.1": "", "0x1g.1.1.1": "", "1..1": "", "": "", "+1.1.1.1": "", "-1": "",
	} {
		addr, ok := egress.ParseLegacyIPv4(s)
		got := ""
		if ok {
			got = addr.String()
		}
		if got != want {
			t.Errorf("ParseLegacyIPv4(%q) = %q, want %q", s, got, want)
		}
	}
}

func TestHost(t *testing.T) {
	cases := []struct {
		host, want string
		err        error
	}{
		{"hooks.example.com", "hooks.example.com", nil},
		{"Hooks.Example.COM.", "hooks.example.com.", nil},
		{"ｈｏｏｋｓ.example.com", "hooks.example.com", nil},
		{"bücher.de", "xn--bcher-kva.de", nil},
		{"2001:4860:4860:0:0:0:0:8888", "2001:4860:4860::8888", nil},
		{"8.8.8.8", "8.8.8.8", nil},
		{"8.8.8.8.", "8.8.8.8", nil},
		{"8.8.2056", "", egress.ErrInvalid},
		{"127.1", "", egress.ErrForbidden},
		{"１２７.０.０.１", "", egress.ErrForbidden},
		{"ⓛⓞⓒⓐⓛⓗⓞⓢⓣ", "", egress.ErrForbidden},
		{"fe80::1%eth0", "", egress.ErrInvalid},
		{"::1", "", egress.ErrForbidden},
		{"\xff.com", "", egress.ErrInvalid},
		{"exa\u200dmple.com", "", egress.ErrInvalid},
		{"", "", egress.ErrInvalid},
		{"localhost", "", egress.ErrForbidden},
		{"a.localhost", "", egress.ErrForbidden},
		{"localhost4.localdomain4", "", egress.ErrForbidden},
		{"svc.internal", "", egress.ErrForbidden},
		{"x.local", "", egress.ErrForbidden},
		{"x.localdomain", "", egress.ErrForbidden},
		{"x.home.arpa", "", egress.ErrForbidden},
		{"x.lan", "", egress.ErrForbidden},
		{"internal.example.com", "internal.example.com", nil}, // only the last label decides
		{"local.example.com", "local.example.com", nil},
		{"a_b.example.com", "a_b.example.com", nil},
		{"a-b.example.com", "a-b.example.com", nil},
		{"a b.example.com", "", egress.ErrInvalid},
	}
	for _, c := range cases {
		got, err := egress.Host(c.host)
		if got != c.want || !errors.Is(err, c.err) || (c.err == nil) != (err == nil) {
			t.Errorf("Host(%q) = %q, %v; want %q, %v", c.host, got, err, c.want, c.err)
		}
	}
}

// TestControlRefusesAtConnectTime dials through egress.Control as a
// deliverer would: a name that resolves to loopback is refused when the
// connection is made, however the URL passed registration.
func TestControlRefusesAtConnectTime(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		Proxy:       nil,
		DialContext: (&net.Dialer{Control: egress.Control}).DialContext,
	}}
	for _, u := range []string{"http://localhost:" + port + "/", srv.URL + "/"} {
		resp, err := client.Get(u)
		if err == nil {
			resp.Body.Close()
			t.Errorf("GET %s went through", u)
			continue
		}
		if !errors.Is(err, egress.ErrForbidden) {
			t.Errorf("GET %s: %v, want ErrForbidden", u, err)
		}
	}
	// Without the check the same server answers: the refusal above was the check's.
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if err := egress.Control("tcp4", "93.184.215.14:443", nil); err != nil {
		t.Errorf("a public address is refused: %v", err)
	}
	if err := egress.Control("tcp", "not-an-address", nil); !errors.Is(err, egress.ErrForbidden) {
		t.Errorf("an address that is no IP:port: %v", err)
	}
}

func TestParseCIDRs(t *testing.T) {
	for in, want := range map[string]string{
		"":                                  "[]",
		" , ":                               "[]",
		"127.0.0.1/32,10.1.0.0/16":          "[127.0.0.1/32 10.1.0.0/16]",
		" 127.0.0.1/32 , 10.1.0.0/16 ,":     "[127.0.0.1/32 10.1.0.0/16]",
		"127.0.0.1":                         "[127.0.0.1/32]",
		"::1":                               "[::1/128]",
		"fd00:ec2::/32":                     "[fd00:ec2::/32]",
		"192.168.0.0/16,fc00::/7,127.0.0.1": "[192.168.0.0/16 fc00::/7 127.0.0.1/32]",
	} {
		got, err := egress.ParseCIDRs(in)
		if err != nil || fmt.Sprint(got) != want {
			t.Errorf("ParseCIDRs(%q) = %v, %v; want %s", in, got, err, want)
		}
	}
	for in, says := range map[string]string{
		"10.1.2.3/16":          "did you mean 10.1.0.0/16",
		"0.0.0.0/0":            "every address",
		"::/0":                 "every address",
		"10.0.0.0/33":          `"10.0.0.0/33" is not an address prefix`,
		"localhost":            `"localhost" is not an address prefix`,
		"fe80::1%eth0":         "not an address prefix",
		"::ffff:10.0.0.0/104":  "IPv4 notation",
		"10.0.0.0/8;127.0.0.1": "not an address prefix",
	} {
		got, err := egress.ParseCIDRs(in)
		if err == nil || !errors.Is(err, egress.ErrInvalidCIDR) || !strings.Contains(err.Error(), says) || got != nil {
			t.Errorf("ParseCIDRs(%q) = %v, %v; want an error saying %q", in, got, err, says)
		}
	}
	_, err := egress.ParseCIDRs("10.0.0.0/8,x,y/1")
	if err == nil || !strings.Contains(err.Error(), `"x"`) || !strings.Contains(err.Error(), `"y/1"`) {
		t.Errorf("the error %v does not name every bad entry", err)
	}
}

// TestRulesAllow checks that an allowlist lets through exactly its
// prefixes, at registration (Host) and at connect time (CheckAddr,
// Control), and nothing else the default rules refuse.
func TestRulesAllow(t *testing.T) {
	allow, err := egress.ParseCIDRs("127.0.0.1/32,10.1.0.0/16,fd00:1::/32")
	if err != nil {
		t.Fatal(err)
	}
	r := egress.Rules{Allow: allow}
	for addr, allowed := range map[string]bool{
		"127.0.0.1": true, "::ffff:127.0.0.1": true, "127.0.0.2": false, "10.1.0.0": true, "10.1.255.255": true,
		"10.0.255.255": false, "10.2.0.0": false, "169.254.169.254": false, "::1": false, "fd00:1::5": true,
		"fd00:2::5": false, "8.8.8.8": true, "64:ff9b::7f00:1": false, "fd00:1::5%eth0": false,
	} {
		err := r.CheckAddr(netip.MustParseAddr(addr))
		if (err == nil) != allowed || (err != nil && !errors.Is(err, egress.ErrForbidden)) {
			t.Errorf("CheckAddr(%s) = %v, want allowed=%v", addr, err, allowed)
		}
		ap := netip.AddrPortFrom(netip.MustParseAddr(addr), 443).String()
		if err := r.Control("tcp", ap, nil); (err == nil) != allowed {
			t.Errorf("Control(%s) = %v, want allowed=%v", ap, err, allowed)
		}
	}
	if err := r.CheckAddr(netip.Addr{}); err == nil {
		t.Error("the zero address is allowed")
	}
	hosts := []struct {
		host, want string
		err        error
	}{
		{"127.0.0.1", "127.0.0.1", nil},
		{"127.0.0.1.", "127.0.0.1", nil},
		{"10.1.2.3", "10.1.2.3", nil},
		{"fd00:1:0:0::1", "fd00:1::1", nil},
		{"127.0.0.2", "", egress.ErrForbidden},
		{"127.1", "", egress.ErrInvalid}, // allowed, but not in the notation a dialler takes
		{"localhost", "", egress.ErrForbidden},
		{"svc.internal", "", egress.ErrForbidden},
		{"hooks.example.com", "hooks.example.com", nil},
	}
	for _, c := range hosts {
		got, err := r.Host(c.host)
		if got != c.want || !errors.Is(err, c.err) || (c.err == nil) != (err == nil) {
			t.Errorf("Rules.Host(%q) = %q, %v; want %q, %v", c.host, got, err, c.want, c.err)
		}
	}
	// The zero Rules are the package-level rules.
	if _, err := (egress.Rules{}).Host("127.0.0.1"); !errors.Is(err, egress.ErrForbidden) {
		t.Errorf("Rules{}.Host(127.0.0.1) = %v, want ErrForbidden", err)
	}
}

// TestRulesControlDials dials a loopback server through Rules.Control: the
// allowlist lets the connection through, the default rules refuse it.
func TestRulesControlDials(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	get := func(r egress.Rules) error {
		client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
			DialContext: (&net.Dialer{Control: r.Control}).DialContext,
		}}
		defer client.CloseIdleConnections()
		resp, err := client.Get(srv.URL)
		if err == nil {
			resp.Body.Close()
		}
		return err
	}
	if err := get(egress.Rules{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}); err != nil {
		t.Errorf("an allowed loopback server: %v", err)
	}
	if err := get(egress.Rules{}); !errors.Is(err, egress.ErrForbidden) {
		t.Errorf("without the allowlist: %v, want ErrForbidden", err)
	}
}
