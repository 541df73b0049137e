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

// TestIsPublicAddrEmbeddedIPv4: an IPv6 address that carries an IPv4
// address is judged by that address, whatever the form, since a host or a
// translator on the path may deliver it there. Each row embeds loopback,
// a private address, the cloud metadata address and a public address;
// the public one stays allowed unless the whole form is refused.
func TestIsPublicAddrEmbeddedIPv4(t *testing.T) {
	tests := []struct {
		form                                string
		loopback, private, metadata, public string
		publicAllowed                       bool
	}{
		{"IPv4-mapped ::ffff:0:0/96 (RFC 4291 §2.5.5.2)",
			"::ffff:127.0.0.1", "::ffff:10.1.2.3", "::ffff:169.254.169.254", "::ffff:8.8.8.8", true},
		{"IPv4-compatible ::/96 (RFC 4291 §2.5.5.1)",
			"::7f00:1", "::10.1.2.3", "::169.254.169.254", "::8.8.8.8", true},
		{"IPv4-translated ::ffff:0:0:0/96 (RFC 2765 §2.1)",
			"::ffff:0:127.0.0.1", "::ffff:0:10.1.2.3", "::ffff:0:169.254.169.254", "::ffff:0:8.8.8.8", true},
		{"NAT64 well-known prefix 64:ff9b::/96 (RFC 6052 §2.1)",
			"64:ff9b::7f00:1", "64:ff9b::10.1.2.3", "64:ff9b::a9fe:a9fe", "64:ff9b::808:808", true},
		// The operator picks the prefix length inside 64:ff9b:1::/48, so
		// the IPv4 address cannot be located: the whole prefix is refused.
		// Loopback and metadata in the /48 layout of RFC 6052 §2.2, the
		// private one in the /96 layout.
		{"NAT64 local-use 64:ff9b:1::/48 (RFC 8215 §2), refused whole",
			"64:ff9b:1:7f00:0:100::", "64:ff9b:1::10.1.2.3", "64:ff9b:1:a9fe:a9:fe00::", "64:ff9b:1:808:8:800::", false},
		{"6to4 2002::/16 (RFC 3056 §2)",
			"2002:7f00:1::1", "2002:a01:203::1", "2002:a9fe:a9fe::1", "2002:808:808::1", true},
		// Teredo: server IPv4 in bits 32-63, client IPv4 XOR 0xffffffff in
		// the last 32 bits (RFC 4380 §4). The client's address is its NAT's
		// outside one, and a relay of ours would send UDP to it: refused
		// whole. Loopback and metadata as the client, the private address
		// as the server, the public row has public server and client.
		{"Teredo 2001::/32 (RFC 4380 §4), refused whole",
			"2001:0:808:808:0:ffff:80ff:fffe", "2001:0:a01:203:0:ffff:f7f7:fbfb", "2001:0:808:808:0:ffff:5601:5601",
			"2001:0:808:808:0:ffff:f7f7:fbfb", false},
		{"ISATAP interface identifier ::0:5efe:a.b.c.d and ::200:5efe:a.b.c.d (RFC 5214 §6.1)",
			"2606:4700:1::5efe:127.0.0.1", "2606:4700:1::5efe:10.1.2.3", "2606:4700:1::200:5efe:169.254.169.254",
			"2606:4700:1::200:5efe:8.8.8.8", true},
		// A zone does not stop a packet from leaving by a global route,
		// and the dialer hands it over: it must not hide the prefix.
		{"NAT64 with a zone",
			"64:ff9b::7f00:1%1", "64:ff9b::10.1.2.3%eth0", "64:ff9b::a9fe:a9fe%1", "64:ff9b::808:808%1", true},
		{"6to4 with a zone",
			"2002:7f00:1::1%1", "2002:a01:203::1%1", "2002:a9fe:a9fe::1%1", "2002:808:808::1%1", true},
	}
	for _, tc := range tests {
		t.Run(tc.form, func(t *testing.T) {
			for _, s := range []string{tc.loopback, tc.private, tc.metadata} {
				assert.False(t, IsPublicAddr(netip.MustParseAddr(s)), s)
			}
			assert.Equal(t, tc.publicAllowed, IsPublicAddr(netip.MustParseAddr(tc.public)), tc.public)
		})
	}

	t.Run("unspecified and loopback are not IPv4-compatible addresses", func(t *testing.T) {
		assert.False(t, IsPublicAddr(netip.MustParseAddr("::")))
		assert.False(t, IsPublicAddr(netip.MustParseAddr("::1")))
	})
	t.Run("a zone does not hide the other special-purpose prefixes", func(t *testing.T) {
		for _, s := range []string{"2001:db8::1%1", "fec0::1%1", "100::1%1"} {
			assert.False(t, IsPublicAddr(netip.MustParseAddr(s)), s)
		}
	})
}
