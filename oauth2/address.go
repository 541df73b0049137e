package oauth2

import (
	"net/http"
	"net/netip"
)

// PeerAddress is the default of Config.ClientAddress: what a per-address
// budget counts a request's client by. It is the IPv4 address of the
// connection's peer, or the /64 of its IPv6 address, the block one host
// usually has, so that a client cannot take a new address for every
// request. Forwarded headers are never read: any client can set them (RFC
// 9700 §4.13).
func PeerAddress(r *http.Request) string {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return boundAddress(r.RemoteAddr) // not an IP connection (a Unix socket, a test)
	}
	return AddressKey(ap.Addr())
}

// AddressKey is what a per-address budget counts ip by: an IPv4 address
// itself, an IPv6 address by its /64. A Config.ClientAddress that reads a
// trusted proxy's header should pass the address it finds through it.
func AddressKey(ip netip.Addr) string {
	ip = ip.Unmap().WithZone("")
	if ip.Is6() {
		return netip.PrefixFrom(ip, 64).Masked().String()
	}
	return ip.String()
}

// maxAddressBytes bounds what a ClientAddress may put into a budget key.
const maxAddressBytes = 64

// boundAddress bounds an address before it goes into a key or a log line.
func boundAddress(addr string) string {
	if len(addr) > maxAddressBytes {
		return addr[:maxAddressBytes]
	}
	return addr
}
