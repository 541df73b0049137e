// Package urlpolicy holds Grantor's rules for the URLs it serves or
// fetches over the network. Every such URL (its issuer, an authorization
// server's JWK Set or introspection endpoint) must use TLS, except on the
// loopback interface, for development (RFC 9700 §2.6, FAPI 2.0 §5.4.2):
// CheckTLS. A URL handed in by a client (its jwks_uri, RFC 7591 §2; its
// backchannel_logout_uri, OpenID Connect Back-Channel Logout 1.0 §2.2) is
// reached only at a public address, so that a client cannot make the
// server reach into its own network (RFC 6890): IsPublicAddr, which the
// one guarded HTTP client, NewClient, runs on each resolved address at
// dial time. Every request to such a URL goes through a NewClient client.
package urlpolicy

import (
	"errors"
	"net"
	"net/url"
	"strings"
)

// ErrNotSecure is wrapped by CheckTLS's errors.
var ErrNotSecure = errors.New("must be an absolute https URL without user info (http only for a loopback host)")

// IsLoopbackHost reports whether host is "localhost" (in any case) or a
// loopback IP literal (127.0.0.0/8, ::1).
func IsLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// CheckTLS returns ErrNotSecure unless raw is an absolute URL with a host
// and no user information, whose scheme is https, or http on a loopback
// host.
func CheckTLS(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil {
		return ErrNotSecure
	}
	switch {
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && IsLoopbackHost(u.Hostname()):
		return nil
	}
	return ErrNotSecure
}
