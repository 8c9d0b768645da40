package egress

import (
	"net/netip"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// Host checks a URL host (without port or brackets, as url.URL.Hostname
// returns it) and returns its canonical form: the ASCII name a client dials,
// lower-cased, or the IP address in its canonical notation.
//
// A non-ASCII host is mapped as net/http maps it before dialling (IDNA
// UTS #46, lookup profile), so that full-width digits, ideographic full
// stops, circled letters, soft hyphens and similar spellings are judged as
// the name or address they become. A host that cannot be mapped is refused.
func Host(host string) (string, error) { return Rules{}.Host(host) }

// Host is the package-level Host under r: an IP literal in one of r.Allow
// is accepted. Names follow the same rules with or without an allowlist
// (a single-label name such as "localhost", or a name under a private
// suffix, stays refused), because the allowlist is of addresses and a name
// is only judged by its address when it is dialled.
func (r Rules) Host(host string) (string, error) {
	if host == "" {
		return "", invalid("the host is empty")
	}
	if strings.Contains(host, ":") {
		addr, err := netip.ParseAddr(host)
		if err != nil || addr.Zone() != "" {
			return "", invalid("%q is not a valid IPv6 address", host)
		}
		if err := r.CheckAddr(addr); err != nil {
			return "", err
		}
		return addr.String(), nil
	}
	if !utf8.ValidString(host) {
		return "", invalid("the host is not valid UTF-8")
	}
	name, err := toASCII(host)
	if err != nil {
		return "", invalid("the host cannot be mapped to an ASCII domain name (IDNA): %v", err)
	}
	name = strings.ToLower(name)
	bare := strings.TrimSuffix(name, ".")
	labels := strings.Split(bare, ".")
	if endsInNumber(labels[len(labels)-1]) {
		return r.ipv4Literal(bare)
	}
	if err := checkName(bare, labels); err != nil {
		return "", err
	}
	return name, nil
}

// toASCII maps host as net/http does before dialling: an ASCII host is
// used as it is, any other goes through IDNA's lookup profile.
func toASCII(host string) (string, error) {
	for i := 0; i < len(host); i++ {
		if host[i] >= 0x80 {
			return idna.Lookup.ToASCII(host)
		}
	}
	return host, nil
}

// ipv4Literal judges a host whose last label is numeric: it is an IPv4
// address in some notation, or no valid host at all. Legacy notations are
// parsed as inet_aton parses them, so that "127.1" is judged as 127.0.0.1,
// and are then refused: Go's dialler takes only dotted decimal as an
// address and would look any other spelling up in DNS.
func (r Rules) ipv4Literal(bare string) (string, error) {
	addr, ok := ParseLegacyIPv4(bare)
	if !ok {
		return "", invalid("%q looks like an IPv4 address but is not one", bare)
	}
	if err := r.CheckAddr(addr); err != nil {
		return "", err
	}
	if addr.String() != bare {
		return "", invalid("write the IPv4 address %s as four decimal numbers, not %q", addr, bare)
	}
	return bare, nil
}

// ParseLegacyIPv4 parses s as inet_aton and the WHATWG URL standard do:
// 1 to 4 dot-separated parts, each decimal, octal (leading 0) or hex (0x).
// Every part but the last is one byte; the last fills the remaining bytes.
// "127.1", "0x7f.0.0.1", "017700000001" and "2130706433" are all
// 127.0.0.1. A part out of range ("1.2.3.256", "1.2.65536",
// "1.16777216", "4294967296") makes s no address at all.
func ParseLegacyIPv4(s string) (netip.Addr, bool) {
	parts := strings.Split(s, ".")
	if len(parts) > 4 {
		return netip.Addr{}, false
	}
	var v uint64
	for i, p := range parts {
		n, ok := parseIPv4Part(p)
		if !ok {
			return netip.Addr{}, false
		}
		if i < len(parts)-1 {
			if n > 0xff {
				return netip.Addr{}, false
			}
			v |= n << (8 * (3 - i))
			continue
		}
		if n >= 1<<(8*(5-len(parts))) { // the last part holds the remaining 5-len(parts) bytes
			return netip.Addr{}, false
		}
		v |= n
	}
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), true
}

// parseIPv4Part parses one part; ok is false if it is not a number in its
// base or does not fit in 32 bits.
func parseIPv4Part(s string) (uint64, bool) {
	base := 10
	switch {
	case s == "":
		return 0, false
	case len(s) >= 2 && (s[:2] == "0x" || s[:2] == "0X"):
		base, s = 16, s[2:]
		if s == "" {
			return 0, true // "0x" alone is zero
		}
	case len(s) > 1 && s[0] == '0':
		base, s = 8, s[1:]
	}
	n, err := strconv.ParseUint(s, base, 32)
	return n, err == nil
}

// endsInNumber reports whether a host's last label is numeric, which makes
// the whole host an IPv4 address or invalid (WHATWG URL "ends in a number").
func endsInNumber(label string) bool {
	digits := "0123456789"
	if len(label) >= 2 && (label[:2] == "0x" || label[:2] == "0X") {
		label, digits = label[2:], "0123456789abcdefABCDEF"
		if label == "" {
			return true
		}
	}
	return label != "" && strings.Trim(label, digits) == ""
}

// loopbackAliases are names that hosts files map to loopback and that the
// suffix and single-label rules below do not already cover.
var loopbackAliases = map[string]bool{
	"localhost.localdomain":   true,
	"localhost4.localdomain4": true,
	"localhost6.localdomain6": true,
}

// privateSuffixes are top-level names that only ever resolve inside a
// network: special-use names (RFC 6761, RFC 8375, RFC 9476), the .internal
// TLD ICANN reserved for private use, and the private TLDs RFC 6762
// (appendix G) found in common use.
var privateSuffixes = []string{
	"localhost", "local", "localdomain", "internal", "arpa", "lan", "home", "corp",
	"intranet", "private", "test", "invalid", "example", "onion", "alt",
}

// checkName checks a DNS name (lower case, without a trailing dot): the
// syntax Go's resolver accepts (RFC 1035 labels of letters, digits,
// hyphens and underscores, at most 63 bytes, at most 253 in all), and no
// name that only resolves inside a network.
func checkName(name string, labels []string) error {
	if len(name) > 253 {
		return invalid("the host name is longer than 253 characters")
	}
	for _, l := range labels {
		if err := checkLabel(l); err != nil {
			return err
		}
	}
	if len(labels) == 1 {
		return forbidden("%q is a single-label name, which only resolves inside a network", name)
	}
	if loopbackAliases[name] {
		return forbidden("%q is a loopback alias", name)
	}
	tld := labels[len(labels)-1]
	for _, s := range privateSuffixes {
		if tld == s {
			return forbidden("names under .%s only resolve inside a network", s)
		}
	}
	return nil
}

// checkLabel checks one DNS label as Go's resolver does.
func checkLabel(l string) error {
	switch {
	case l == "":
		return invalid("the host name has an empty label")
	case len(l) > 63:
		return invalid("the host name has a label longer than 63 characters")
	case l[0] == '-' || l[len(l)-1] == '-':
		return invalid("a host name label may not start or end with a hyphen")
	}
	for i := 0; i < len(l); i++ {
		c := l[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return invalid("the host name holds %q; only letters, digits, hyphens and underscores may appear", c)
		}
	}
	return nil
}
