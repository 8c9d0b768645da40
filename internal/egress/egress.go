// Package egress decides where the service may send requests: which URL
// hosts a customer may register and which addresses a deliverer may dial.
//
// The same rules serve both moments. At registration, Host maps a URL's host
// the way Go's HTTP client will when it dials (IDNA UTS #46 for non-ASCII
// names, strict IP parsing), refuses what cannot be mapped, names that only
// resolve inside a network, and IP literals CheckAddr refuses. At connect
// time, Control applies CheckAddr to the address a name actually resolved
// to, so DNS that points a public name at an internal address is refused too.
//
// The package-level functions apply the default rules: nothing inside a
// network may be reached. A Rules value with an allowlist (the operator's
// ALLOWED_DESTINATION_CIDRS) additionally lets through addresses in the
// listed prefixes, at registration and at connect time alike.
package egress

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"syscall"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// Sentinel errors. Every error this package returns wraps one of them.
var (
	// ErrForbidden is a destination inside a network: a loopback, private,
	// link-local, reserved or otherwise non-public address, or a name that
	// only resolves inside a network.
	ErrForbidden = errors.New("destination is not on the public internet")
	// ErrInvalid is a host that no client could dial: not a domain name, an
	// IPv4 address in a notation a resolver would not take as an address,
	// or a name that cannot be mapped to ASCII.
	ErrInvalid = errors.New("not a valid host")
)

// hostError is a refusal with its reason, wrapping a sentinel.
type hostError struct {
	kind   error
	reason string
}

func (e *hostError) Error() string { return e.reason }
func (e *hostError) Unwrap() error { return e.kind }

func forbidden(format string, args ...any) error {
	return &hostError{kind: ErrForbidden, reason: fmt.Sprintf(format, args...)}
}

func invalid(format string, args ...any) error {
	return &hostError{kind: ErrInvalid, reason: fmt.Sprintf(format, args...)}
}

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

// Address ranges. IPv4 lists what is refused; IPv6 lists what is allowed
// (global unicast) and the parts of it that are refused anyway.
var (
	blockedIPv4 = []netip.Prefix{
		netip.MustParsePrefix("0.0.0.0/8"),       // "this network"
		netip.MustParsePrefix("10.0.0.0/8"),      // private
		netip.MustParsePrefix("100.64.0.0/10"),   // carrier-grade NAT (shared address space)
		netip.MustParsePrefix("127.0.0.0/8"),     // loopback
		netip.MustParsePrefix("169.254.0.0/16"),  // link-local, cloud metadata
		netip.MustParsePrefix("172.16.0.0/12"),   // private
		netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
		netip.MustParsePrefix("192.0.2.0/24"),    // TEST-NET-1
		netip.MustParsePrefix("192.88.99.0/24"),  // deprecated 6to4 relay anycast
		netip.MustParsePrefix("192.168.0.0/16"),  // private
		netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
		netip.MustParsePrefix("198.51.100.0/24"), // TEST-NET-2
		netip.MustParsePrefix("203.0.113.0/24"),  // TEST-NET-3
		netip.MustParsePrefix("224.0.0.0/4"),     // multicast
		netip.MustParsePrefix("240.0.0.0/4"),     // reserved, and broadcast
	}
	// globalUnicast is the only IPv6 space the internet routes. Everything
	// outside it is refused: loopback, unspecified, IPv4-compatible (::/96),
	// SIIT (::ffff:0:0:0/96), discard-only, local-use NAT64 (64:ff9b:1::/48),
	// unique local (including EC2's fd00:ec2::254), deprecated site-local
	// (fec0::/10), link-local and multicast.
	globalUnicast = netip.MustParsePrefix("2000::/3")
	blockedIPv6   = []netip.Prefix{
		netip.MustParsePrefix("2001::/23"),     // IETF protocol assignments, Teredo (2001::/32) included
		netip.MustParsePrefix("2001:db8::/32"), // documentation
		netip.MustParsePrefix("3fff::/20"),     // documentation
	}
	// nat64 is the well-known NAT64 prefix (RFC 6052): its last 32 bits
	// are an IPv4 address, which a translator would dial.
	nat64 = netip.MustParsePrefix("64:ff9b::/96")
	// sixToFour is 6to4 (RFC 3056): bits 16 to 47 are an IPv4 address.
	sixToFour = netip.MustParsePrefix("2002::/16")
)

// CheckAddr returns nil if a request may be sent to addr, else an error
// wrapping ErrForbidden that says why. An IPv4-mapped IPv6 address is
// judged as the IPv4 address it is; an address that embeds an IPv4 address
// a translator would reach (NAT64, 6to4) is judged by that address too.
func CheckAddr(addr netip.Addr) error {
	if !addr.IsValid() || addr.Zone() != "" {
		return forbidden("%v is not a routable address", addr)
	}
	addr = addr.Unmap() // ::ffff:a.b.c.d is dialled as a.b.c.d
	if addr.Is4() {
		for _, p := range blockedIPv4 {
			if p.Contains(addr) {
				return forbidden("%s is in %s, which is not public", addr, p)
			}
		}
		return nil
	}
	if nat64.Contains(addr) {
		return embedded(addr, 12)
	}
	if !globalUnicast.Contains(addr) {
		return forbidden("%s is not a global unicast address", addr)
	}
	for _, p := range blockedIPv6 {
		if p.Contains(addr) {
			return forbidden("%s is in %s, which is not public", addr, p)
		}
	}
	if sixToFour.Contains(addr) {
		return embedded(addr, 2)
	}
	return nil
}

// embedded checks the IPv4 address held in bytes at to at+3 of addr.
func embedded(addr netip.Addr, at int) error {
	b := addr.As16()
	v4 := netip.AddrFrom4([4]byte{b[at], b[at+1], b[at+2], b[at+3]})
	if err := CheckAddr(v4); err != nil {
		return forbidden("%s carries %s: %v", addr, v4, err)
	}
	return nil
}

// Control is a net.Dialer Control function: it runs after a name has been
// resolved, on the address about to be dialled, and refuses any address
// CheckAddr refuses. A deliverer sets it on its dialler (and no proxy), so
// that a public name resolving to an internal address is refused when it
// connects, not only at registration.
func Control(network, address string, c syscall.RawConn) error {
	return Rules{}.Control(network, address, c)
}

// Rules are where requests may go: the default rules (the zero value,
// which the package-level functions apply) plus Allow, an operator's list
// of prefixes that may be reached although they are not public. A Rules
// value is safe for concurrent use as long as Allow is not modified.
type Rules struct {
	// Allow lists prefixes that may be registered and dialled although the
	// default rules refuse them, such as 10.1.0.0/16 for a private
	// receiver. An address is allowed when it (an IPv4-mapped address as
	// the IPv4 address it is) lies in one of them. Empty allows nothing
	// beyond the default rules. Build it with ParseCIDRs.
	Allow []netip.Prefix
}

// CheckAddr is the package-level CheckAddr under r: an address in one of
// r.Allow is allowed, any other is judged by the default rules.
func (r Rules) CheckAddr(addr netip.Addr) error {
	if r.allowed(addr) {
		return nil
	}
	return CheckAddr(addr)
}

// allowed reports whether addr lies in one of r.Allow.
func (r Rules) allowed(addr netip.Addr) bool {
	if !addr.IsValid() || addr.Zone() != "" {
		return false
	}
	addr = addr.Unmap()
	for _, p := range r.Allow {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// Control is the package-level Control under r: a net.Dialer Control
// function that refuses any address r.CheckAddr refuses. Its signature
// matches net.Dialer.Control, so pass the method value r.Control.
func (r Rules) Control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return forbidden("dial %s %s: not an IP address and port", network, address)
	}
	return r.CheckAddr(ap.Addr()) // the dialler's *net.OpError names the address
}

// ParseCIDRs parses a comma-separated list of prefixes, the form of
// ALLOWED_DESTINATION_CIDRS: "127.0.0.1/32,10.1.0.0/16". White space around
// an entry and empty entries are ignored, so "" is an empty list. A bare
// address stands for itself alone (/32 or /128). Each prefix must be in
// its canonical form (no bits set past its length: 10.1.0.0/16, not
// 10.1.2.3/16), IPv4 prefixes must be written in IPv4 notation, and a
// prefix of length 0, which would allow every address, is refused. The
// error names every bad entry.
func ParseCIDRs(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	var problems []string
	for _, entry := range strings.Split(s, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		p, err := parseCIDR(entry)
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		out = append(out, p)
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("%w: %s", ErrInvalidCIDR, strings.Join(problems, "; "))
	}
	return out, nil
}

// ErrInvalidCIDR is an entry of an allowlist that ParseCIDRs cannot take.
var ErrInvalidCIDR = errors.New("invalid destination prefix")

// parseCIDR parses one entry of ParseCIDRs.
func parseCIDR(entry string) (netip.Prefix, error) {
	var p netip.Prefix
	if strings.Contains(entry, "/") {
		var err error
		if p, err = netip.ParsePrefix(entry); err != nil {
			return netip.Prefix{}, fmt.Errorf("%q is not an address prefix such as 10.1.0.0/16", entry)
		}
	} else {
		addr, err := netip.ParseAddr(entry)
		if err != nil || addr.Zone() != "" {
			return netip.Prefix{}, fmt.Errorf("%q is not an address prefix such as 10.1.0.0/16", entry)
		}
		p = netip.PrefixFrom(addr, addr.BitLen())
	}
	switch {
	case p.Addr().Is4In6():
		return netip.Prefix{}, fmt.Errorf("%q is an IPv4-mapped IPv6 prefix; write it in IPv4 notation", entry)
	case p.Bits() == 0:
		return netip.Prefix{}, fmt.Errorf("%q would allow every address; list only the private ranges you need", entry)
	case p.Masked() != p:
		return netip.Prefix{}, fmt.Errorf("%q has bits set past its length; did you mean %s?", entry, p.Masked())
	}
	return p, nil
}
