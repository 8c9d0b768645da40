package egress

import (
	"net/netip"
	"syscall"
)

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
