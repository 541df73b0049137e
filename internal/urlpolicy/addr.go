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

// The IPv6 forms that carry an IPv4 address (besides IPv4-mapped
// ::ffff:0:0/96, which netip.Addr.Unmap undoes).
var (
	ipv4Compatible = netip.MustParsePrefix("::/96")           // RFC 4291 §2.5.5.1, deprecated
	ipv4Translated = netip.MustParsePrefix("::ffff:0:0:0/96") // RFC 2765 §2.1, SIIT
	nat64Prefix    = netip.MustParsePrefix("64:ff9b::/96")    // RFC 6052 §2.1
	nat64Local     = netip.MustParsePrefix("64:ff9b:1::/48")  // RFC 8215 §2
	sixToFour      = netip.MustParsePrefix("2002::/16")       // RFC 3056 §2
	teredo         = netip.MustParsePrefix("2001::/32")       // RFC 4380 §4
)

// IsPublicAddr reports whether ip is a public unicast address, one that
// a server may connect to on a URL it was handed (a client's jwks_uri,
// RFC 7591 §2) without reaching into its own network: not loopback,
// private, link-local (with the cloud metadata address 169.254.169.254),
// CGNAT, unspecified, multicast, reserved or documentation space (RFC
// 6890). An IPv6 zone is ignored: it does not keep a packet on a link.
//
// An IPv6 address that carries an IPv4 address is judged by that IPv4
// address, since the host, a tunnel or a translator on the path may
// deliver it there:
//
//   - IPv4-mapped ::ffff:a.b.c.d (RFC 4291 §2.5.5.2);
//   - IPv4-compatible ::a.b.c.d (RFC 4291 §2.5.5.1); :: and ::1 are
//     unspecified and loopback in their own right, and refused as such;
//   - IPv4-translated ::ffff:0:a.b.c.d (RFC 2765 §2.1);
//   - the NAT64 well-known prefix 64:ff9b::/96 (RFC 6052 §2.1);
//   - 6to4 2002:AABB:CCDD::/48, the IPv4 address in bits 16 to 47 (RFC
//     3056 §2);
//   - an ISATAP interface identifier, 0000:5efe or 0200:5efe then the IPv4
//     address (RFC 5214 §6.1), behind any prefix; the prefix must be
//     public too.
//
// Two forms are refused whatever they carry:
//
//   - the NAT64 local-use prefix 64:ff9b:1::/48 (RFC 8215 §2): the
//     operator chooses the prefix length inside it (RFC 6052 §2.2 allows
//     /48 to /96), so where the IPv4 address sits cannot be known, and a
//     guess would let the others through;
//   - Teredo 2001::/32 (RFC 4380 §4), which carries two IPv4 addresses
//     (the server's in bits 32 to 63, the client's, obfuscated, in the
//     last 32). The client's is the outside address of a NAT that a
//     Teredo relay sends UDP to, and no service that publishes keys is
//     reachable only by Teredo.
//
// A network-specific NAT64 prefix (RFC 6052 §2.3) cannot be told apart
// from any other global prefix; a network that has one must refuse the
// IPv4 ranges above at its translator.
func IsPublicAddr(ip netip.Addr) bool {
	// Prefix.Contains is false for an address with a zone.
	ip = ip.WithZone("").Unmap()
	if ip.Is6() {
		b := ip.As16()
		v4 := func(at int) netip.Addr { return netip.AddrFrom4([4]byte(b[at : at+4])) }
		switch {
		case ip.IsUnspecified() || ip.IsLoopback():
			return false
		case ipv4Compatible.Contains(ip), ipv4Translated.Contains(ip), nat64Prefix.Contains(ip):
			return IsPublicAddr(v4(12))
		case sixToFour.Contains(ip):
			return IsPublicAddr(v4(2))
		case nat64Local.Contains(ip), teredo.Contains(ip):
			return false
		case isISATAP(b) && !IsPublicAddr(v4(12)):
			return false
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

// isISATAP reports whether the interface identifier of the IPv6 address
// b is an ISATAP one (RFC 5214 §6.1): 0000:5efe or 0200:5efe (the
// universal/local bit set for a public IPv4 address; the group bit is
// ignored too) followed by an IPv4 address.
func isISATAP(b [16]byte) bool {
	return b[8]&^0x03 == 0 && b[9] == 0 && b[10] == 0x5e && b[11] == 0xfe
}
