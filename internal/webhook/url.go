package webhook

import (
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
)

// MaxURLLength is the longest endpoint URL accepted, in bytes.
const MaxURLLength = 2048

// blockedHostnames are names that always resolve to the caller's own
// infrastructure. IP literals are checked by address range instead.
var blockedHostnames = map[string]bool{
	"localhost":                  true,
	"metadata":                   true,
	"metadata.google.internal":   true,
	"instance-data":              true,
	"instance-data.ec2.internal": true,
}

// blockedPrefixes are ranges no webhook may target, beyond what netip's
// IsLoopback, IsPrivate, IsLinkLocal*, IsUnspecified and IsMulticast cover.
var blockedPrefixes = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),         // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),     // carrier-grade NAT (shared address space)
	netip.MustParsePrefix("192.0.0.0/24"),      // IETF protocol assignments
	netip.MustParsePrefix("192.0.2.0/24"),      // TEST-NET-1
	netip.MustParsePrefix("198.18.0.0/15"),     // benchmarking
	netip.MustParsePrefix("198.51.100.0/24"),   // TEST-NET-2
	netip.MustParsePrefix("203.0.113.0/24"),    // TEST-NET-3
	netip.MustParsePrefix("240.0.0.0/4"),       // reserved, including broadcast
	netip.MustParsePrefix("100::/64"),          // discard-only
	netip.MustParsePrefix("2001:db8::/32"),     // documentation
	netip.MustParsePrefix("fd00:ec2::254/128"), // EC2 metadata over IPv6 (also ULA)
}

// nat64 is the well-known NAT64 prefix: its last 32 bits are an IPv4 address.
var nat64 = netip.MustParsePrefix("64:ff9b::/96")

// ValidateURL checks an endpoint URL against the rules in the API reference:
// absolute https, 1-2048 bytes, a host, no user info, and no host that points
// at loopback, private, link-local, unspecified or metadata addresses,
// however the address is written. It returns the problem as a FieldError.
//
// It does not resolve DNS: a public name that resolves to a private address
// must be caught again when the deliverer connects.
func ValidateURL(raw string) *FieldProblem {
	bad := func(code, format string, args ...any) *FieldProblem {
		return &FieldProblem{Code: code, Message: fmt.Sprintf(format, args...)}
	}
	switch {
	case raw == "":
		return bad(CodeURLInvalid, "url must not be empty")
	case len(raw) > MaxURLLength:
		return bad(CodeURLInvalid, "url must be at most %d characters", MaxURLLength)
	case strings.TrimSpace(raw) != raw:
		return bad(CodeURLInvalid, "url must not start or end with white space")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return bad(CodeURLInvalid, "url is not a valid URL")
	}
	switch {
	case !u.IsAbs() || u.Opaque != "":
		return bad(CodeURLInvalid, "url must be an absolute URL")
	case !strings.EqualFold(u.Scheme, "https"):
		return bad(CodeURLInvalid, "url must use https")
	case u.User != nil:
		return bad(CodeURLInvalid, "url must not contain user info")
	case u.Hostname() == "":
		return bad(CodeURLInvalid, "url must have a host")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return bad(CodeURLInvalid, "url has an invalid port")
		}
	}
	return checkHost(u.Hostname())
}

// checkHost rejects hosts that name this side of the network.
func checkHost(host string) *FieldProblem {
	forbidden := &FieldProblem{Code: CodeURLForbiddenHost,
		Message: "url must not point at a loopback, private, link-local or metadata address"}
	name := strings.TrimSuffix(strings.ToLower(host), ".")
	if blockedHostnames[name] || strings.HasSuffix(name, ".localhost") {
		return forbidden
	}
	addr, isIP, ok := parseHostIP(name)
	if !ok {
		return &FieldProblem{Code: CodeURLInvalid, Message: "url host is not a valid IP address"}
	}
	if isIP && blockedAddr(addr) {
		return forbidden
	}
	return nil
}

// blockedAddr reports whether addr is in a range webhooks may not target.
func blockedAddr(addr netip.Addr) bool {
	addr = addr.Unmap() // ::ffff:127.0.0.1 is 127.0.0.1
	if addr.Is6() && nat64.Contains(addr) {
		b := addr.As16()
		addr = netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})
	}
	if addr.IsLoopback() || addr.IsPrivate() || addr.IsLinkLocalUnicast() ||
		addr.IsLinkLocalMulticast() || addr.IsInterfaceLocalMulticast() ||
		addr.IsMulticast() || addr.IsUnspecified() {
		return true
	}
	for _, p := range blockedPrefixes {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// parseHostIP reads host as an IP literal the way a browser or curl would.
// isIP is false for a DNS name. ok is false for a host that looks like an
// IPv4 address (its last label is numeric) but is not a valid one, which the
// WHATWG URL standard also rejects.
func parseHostIP(host string) (addr netip.Addr, isIP, ok bool) {
	if strings.Contains(host, ":") { // url.Hostname strips the brackets of IPv6
		a, err := netip.ParseAddr(host)
		if err != nil || a.Zone() != "" {
			return netip.Addr{}, true, false
		}
		return a, true, true
	}
	labels := strings.Split(host, ".")
	if !endsInNumber(labels[len(labels)-1]) {
		return netip.Addr{}, false, true
	}
	a, valid := parseIPv4(labels)
	return a, true, valid
}

// parseIPv4 parses 1 to 4 parts in decimal, octal (leading 0) or hex (0x),
// as inet_aton and the WHATWG URL standard do: "127.1", "0x7f.0.0.1",
// "017700000001" and "2130706433" are all 127.0.0.1.
func parseIPv4(parts []string) (netip.Addr, bool) {
	if len(parts) > 4 {
		return netip.Addr{}, false
	}
	nums := make([]uint64, len(parts))
	for i, p := range parts {
		n, ok := parseIPv4Part(p)
		if !ok {
			return netip.Addr{}, false
		}
		nums[i] = n
	}
	for _, n := range nums[:len(nums)-1] {
		if n > 255 {
			return netip.Addr{}, false
		}
	}
	last := nums[len(nums)-1]
	if last >= 1<<(8*(5-len(nums))) {
		return netip.Addr{}, false
	}
	v := last
	for i, n := range nums[:len(nums)-1] {
		v |= n << (8 * (3 - i))
	}
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), true
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

// parseIPv4Part parses one dotted part; ok is false if it is not a number
// in its base or does not fit in 32 bits.
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
