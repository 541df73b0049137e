package oauth2

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/grantor-dev/grantor/storage"
)

// RFC 9700 §4.1.3, RFC 6749 §3.1.2.3 (fosite CVE-2020-15234): exact match,
// nothing else.
func TestRedirectURIExactMatch(t *testing.T) {
	c := &storage.Client{RedirectURIs: []string{"https://c.example/cb"}}
	_, ok := resolveRedirectURI(c, "https://c.example/cb")
	assert.True(t, ok)
	for _, uri := range []string{
		"https://c.example/cb/", "https://c.example/CB", "https://C.EXAMPLE/cb", "https://c.example/cb?x=1",
		"https://c.example:8443/cb", "https://c.example:443/cb", "http://c.example/cb", "https://c.example/c",
		"https://c.example/cb#", "https://c.example/cb%2F",
	} {
		_, ok := resolveRedirectURI(c, uri)
		assert.False(t, ok, uri)
	}
}

// RFC 9700 §4.1 (Keycloak CVE-2026-3872, CVE-2026-7504): URIs that parsers
// read differently never match.
func TestParserDifferentialsDoNotMatch(t *testing.T) {
	c := &storage.Client{RedirectURIs: []string{"https://c.example/cb"}}
	for _, uri := range []string{
		"https://c.example/cb/../x", "https://c.example/cb/..;/x", "https://c.example/cb%2F..%2Fx",
		"https://c.example@evil.example/cb", "https://a@b@c.example/cb", "https://c.example.evil.example/cb",
		`https:\\evil.example`, "https://c.example/cb\x00", " https://c.example/cb",
	} {
		_, ok := resolveRedirectURI(c, uri)
		assert.False(t, ok, uri)
	}
}

// For loopback IP literals only the port may vary (RFC 8252 §7.3; fosite
// CVE-2020-15233).
func TestLoopbackPortMayVary(t *testing.T) {
	c := &storage.Client{RedirectURIs: []string{"http://127.0.0.1/cb", "http://[::1]:8080/cb"}}
	for _, uri := range []string{"http://127.0.0.1:51004/cb", "http://127.0.0.1/cb", "http://[::1]/cb", "http://[::1]:9/cb"} {
		_, ok := resolveRedirectURI(c, uri)
		assert.True(t, ok, uri)
	}
	for _, uri := range []string{
		"http://127.0.0.1:51004/cb?x=1", "http://127.0.0.1:51004/cb2", "http://localhost:51004/cb",
		"http://127.0.0.1:51004/cb/", "https://127.0.0.1:51004/cb", "http://127.0.0.1:/cb", "http://127.0.0.1:1234567/cb",
		"http://127.0.0.1:80:80/cb",
	} {
		_, ok := resolveRedirectURI(c, uri)
		assert.False(t, ok, uri)
	}
}

// RFC 8252 §7.3 (fosite commit e62a7db): loopback detection is exact.
func TestLoopbackLookAlikes(t *testing.T) {
	c := &storage.Client{RedirectURIs: []string{"http://127.0.0.1/cb"}}
	for _, uri := range []string{"http://127a0b0c1:80/cb", "http://127.0.0.1.evil.example/cb", "http://127.0.0.10/cb",
		"http://127.0.0.1@evil.example/cb", "http://127.0.0.1:80@evil.example/cb"} {
		_, ok := resolveRedirectURI(c, uri)
		assert.False(t, ok, uri)
	}
}

// OAuth 2.1 §2.3.2: an omitted redirect_uri is allowed only with exactly
// one registered.
func TestOmittedRedirectURI(t *testing.T) {
	one := &storage.Client{RedirectURIs: []string{"https://c.example/cb"}}
	uri, ok := resolveRedirectURI(one, "")
	assert.True(t, ok)
	assert.Equal(t, "https://c.example/cb", uri)
	two := &storage.Client{RedirectURIs: []string{"https://c.example/a", "https://c.example/b"}}
	_, ok = resolveRedirectURI(two, "")
	assert.False(t, ok)
	_, ok = resolveRedirectURI(&storage.Client{}, "")
	assert.False(t, ok)
}
