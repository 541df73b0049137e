package oauth2

import (
	"net/http"
	"net/netip"
	"strconv"
	"strings"
)

// PeerAddress is the default of Config.ClientAddress: what a per-address
// budget counts a request's client by. It is the IPv4 address of the
// connection's peer, or the /56 of its IPv6 address, the block one site
// (a home, an office) is usually given (RFC 6177), so that a client cannot
// take a new address, or a new /64 of its site, for every request.
// Forwarded headers are never read: any client can set them (RFC 9700
// §4.13).
func PeerAddress(r *http.Request) string {
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		return AddressKey(ap.Addr())
	}
	// Without a port, as some middleware rewrites it.
	if ip, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(r.RemoteAddr, "["), "]")); err == nil {
		return AddressKey(ip)
	}
	return boundAddress(r.RemoteAddr) // not an IP connection (a Unix socket)
}

// AddressKey is what a per-address budget counts ip by: an IPv4 address
// itself (an IPv4-mapped IPv6 one too), an IPv6 address by its /56. A Config.ClientAddress that reads a
// trusted proxy's header should pass the address it finds through it.
func AddressKey(ip netip.Addr) string {
	ip = ip.Unmap().WithZone("")
	if ip.Is6() {
		return netip.PrefixFrom(ip, ipv6SiteBits).Masked().String()
	}
	return ip.String()
}

// ipv6SiteBits is the prefix length an IPv6 client is counted by.
const ipv6SiteBits = 56

// maxAddressBytes bounds what a ClientAddress may put into a budget key.
const maxAddressBytes = 64

// budgetKey is the Limiter key of a budget of kind for a client id and/or
// an address. The id is length-prefixed: client ids may hold any VSCHAR,
// "@" and ":" included, and must not make one key look like another.
func budgetKey(kind, clientID, addr string) string {
	return kind + ":" + strconv.Itoa(len(clientID)) + ":" + clientID + "@" + addr
}

// boundAddress bounds an address before it goes into a key or a log line.
func boundAddress(addr string) string {
	if len(addr) > maxAddressBytes {
		return addr[:maxAddressBytes]
	}
	return addr
}
