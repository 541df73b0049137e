package oauth2

import (
	"strings"

	"github.com/grantor-dev/grantor/storage"
)

// resolveRedirectURI returns the redirect URI an authorization request
// will be answered at (RFC 6749 §3.1.2.3, OAuth 2.1 §2.3.2): the requested
// one when it matches a registered one, or the only registered one when
// the request names none. ok is false otherwise; the request must then be
// answered with an error page, never a redirect.
func resolveRedirectURI(c *storage.Client, requested string) (uri string, ok bool) {
	if requested == "" {
		if len(c.RedirectURIs) == 1 {
			return c.RedirectURIs[0], true
		}
		return "", false
	}
	for _, registered := range c.RedirectURIs {
		if redirectURIMatches(registered, requested) {
			return requested, true
		}
	}
	return "", false
}

// redirectURIMatches compares a requested redirect URI with a registered
// one by simple string comparison (RFC 3986 §6.2.1; RFC 9700 §4.1.3): no
// case folding, no normalisation, no prefix or wildcard match. The one
// exception is RFC 8252 §7.3: for a registered http URI on a loopback IP
// literal, the port of the request may differ (native apps listen on an
// ephemeral port). The comparison is made on the strings, not on parsed
// URLs, so that no parser can read the two differently.
func redirectURIMatches(registered, requested string) bool {
	if registered == requested {
		return true
	}
	for _, host := range []string{"http://127.0.0.1", "http://[::1]"} {
		rest, ok := strings.CutPrefix(registered, host)
		if !ok {
			continue
		}
		// Drop a port from the registered URI, then expect the requested
		// one to be host, an optional port, and exactly the same rest.
		rest = stripPort(rest)
		tail, ok := strings.CutPrefix(requested, host)
		if !ok {
			return false
		}
		return stripPort(tail) == rest && (rest == "" || rest[0] == '/' || rest[0] == '?')
	}
	return false
}

// stripPort removes a leading ":digits" from s.
func stripPort(s string) string {
	if !strings.HasPrefix(s, ":") {
		return s
	}
	i := 1
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 1 || i-1 > 5 {
		return s
	}
	return s[i:]
}
