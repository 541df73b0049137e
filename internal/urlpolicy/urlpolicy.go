// Package urlpolicy holds Grantor's one rule for the URLs it serves or
// fetches over the network (its issuer, an authorization server's JWK Set
// or introspection endpoint): TLS, except on the loopback interface, for
// development (RFC 9700 §2.6, FAPI 2.0 §5.4.2).
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
