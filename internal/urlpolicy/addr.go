package urlpolicy

import "net/netip"

// nonPublicPrefixes are the special-purpose ranges (RFC 6890 and the IANA
// registries) that netip's predicates do not cover.
var nonPublicPrefixes = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),   // CGNAT, RFC 6598
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
	netip.MustParsePrefix("192.0.2.0/24"),    // TEST-NET-1
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
	netip.MustParsePrefix("198.51.100.0/24"), // TEST-NET-2
	netip.MustParsePrefix("203.0.113.0/24"),  // TEST-NET-3
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved, and broadcast
	netip.MustParsePrefix("100::/64"),        // discard-only
	netip.MustParsePrefix("2001:db8::/32"),   // documentation
	netip.MustParsePrefix("fec0::/10"),       // deprecated site-local
}

var (
	nat64Prefix = netip.MustParsePrefix("64:ff9b::/96")   // RFC 6052
	nat64Local  = netip.MustParsePrefix("64:ff9b:1::/48") // RFC 8215
	sixToFour   = netip.MustParsePrefix("2002::/16")      // RFC 3056
)

// IsPublicAddr reports whether ip is a public unicast address, one that
// a server may connect to on a URL it was handed (a client's jwks_uri,
// RFC 7591 §2) without reaching into its own network: not loopback,
// private, link-local, CGNAT, unspecified, multicast, reserved or
// documentation space (RFC 6890). IPv6 addresses that embed an IPv4
// address (mapped, NAT64, 6to4) are judged by the IPv4 address.
func IsPublicAddr(ip netip.Addr) bool {
	ip = ip.Unmap()
	if ip.Is6() {
		b := ip.As16()
		switch {
		case nat64Prefix.Contains(ip):
			return IsPublicAddr(netip.AddrFrom4([4]byte(b[12:16])))
		case nat64Local.Contains(ip):
			return false
		case sixToFour.Contains(ip):
			return IsPublicAddr(netip.AddrFrom4([4]byte(b[2:6])))
		}
	}
	if !ip.IsValid() || ip.IsUnspecified() || ip.IsLoopback() || ip.IsPrivate() ||
		ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() || ip.IsInterfaceLocalMulticast() ||
		ip.IsMulticast() || !ip.IsGlobalUnicast() {
		return false
	}
	for _, p := range nonPublicPrefixes {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}
