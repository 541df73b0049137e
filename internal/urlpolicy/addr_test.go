package urlpolicy

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestIsPublicAddr: the special-purpose ranges of RFC 6890 are refused,
// public unicast addresses are not.
func TestIsPublicAddr(t *testing.T) {
	refused := []string{
		"127.0.0.1", "127.1.2.3", "::1", // loopback
		"10.0.0.1", "172.16.0.1", "172.31.255.255", "192.168.1.1", "fc00::1", "fd12:3456::1", // private
		"169.254.169.254", "169.254.0.1", "fe80::1", // link-local, cloud metadata
		"100.64.0.1", "100.127.255.254", // CGNAT
		"0.0.0.0", "::", "0.1.2.3", // unspecified, "this network"
		"224.0.0.1", "239.255.255.250", "ff02::1", "ff05::2", // multicast
		"255.255.255.255", "240.0.0.1", // reserved, broadcast
		"192.0.2.1", "198.51.100.1", "203.0.113.1", "2001:db8::1", "198.18.0.1", "192.0.0.8", // documentation, benchmarking
		"::ffff:127.0.0.1", "::ffff:169.254.169.254", "::ffff:10.0.0.1", // IPv4-mapped
		"64:ff9b::a9fe:a9fe", "64:ff9b::7f00:1", "64:ff9b:1::1", // NAT64 of metadata, loopback
		"2002:a9fe:a9fe::1", "2002:7f00:1::1", // 6to4 of metadata, loopback
		"fec0::1", "100::1",
	}
	allowed := []string{"8.8.8.8", "1.1.1.1", "93.184.216.34", "2606:4700:4700::1111", "2001:4860:4860::8888",
		"::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1", "100.63.255.255", "100.128.0.1", "172.32.0.1"}
	for _, s := range refused {
		assert.False(t, IsPublicAddr(netip.MustParseAddr(s)), s)
	}
	for _, s := range allowed {
		assert.True(t, IsPublicAddr(netip.MustParseAddr(s)), s)
	}
	assert.False(t, IsPublicAddr(netip.Addr{}), "the zero Addr")
}
