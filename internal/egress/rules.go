package egress

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"syscall"
)

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
