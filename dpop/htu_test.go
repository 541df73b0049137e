package dpop

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestNormalizeURL applies RFC 3986 §6.2.2 and §6.2.3.
func TestNormalizeURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://example.com/a":                  "https://example.com/a",
		"HTTPS://EXAMPLE.COM/a":                  "https://example.com/a",        // §6.2.2.1
		"https://example.com/A":                  "https://example.com/A",        // path is case-sensitive
		"https://example.com:443/a":              "https://example.com/a",        // §6.2.3
		"http://example.com:80/a":                "http://example.com/a",         // §6.2.3
		"http://example.com:443/a":               "http://example.com:443/a",     // not the default
		"https://example.com:/a":                 "https://example.com/a",        // §6.2.3 empty port
		"https://example.com:0443/a":             "https://example.com/a",        // leading zeros
		"https://example.com":                    "https://example.com/",         // §6.2.3 empty path
		"https://example.com/%7e%41":             "https://example.com/~A",       // §6.2.2.2 unreserved
		"https://example.com/%2f%3a":             "https://example.com/%2F%3A",   // §6.2.2.1 hex case
		"https://example.com/a/./b/../c":         "https://example.com/a/c",      // §6.2.2.3
		"https://example.com/a/%2E%2E/c":         "https://example.com/c",        // decoded dots are dots
		"https://example.com/../a":               "https://example.com/a",        // §5.2.4
		"https://example.com/a/..":               "https://example.com/",         // §5.2.4
		"https://example.com/a?b=c#d":            "https://example.com/a",        // query and fragment gone
		"https://example.com?b=c":                "https://example.com/",         //
		"https://[::1]:443/a":                    "https://[::1]/a",              // IPv6 literal
		"https://[2001:DB8::1]:8443/a":           "https://[2001:db8::1]:8443/a", //
		"https://example.com/a%20b":              "https://example.com/a%20b",    //
		"https://example.com/caf%C3%A9":          "https://example.com/caf%C3%A9",
		"https://example.com/a//b":               "https://example.com/a//b",
		"https://EXAMPLE.com:8443/x/y/../../z?q": "https://example.com:8443/z",
	} {
		got, ok := normalizeURL(in)
		assert.True(t, ok, in)
		assert.Equal(t, want, got, in)
		again, ok := normalizeURL(got)
		assert.True(t, ok && again == got, "idempotent: %s", in)
	}
	for _, bad := range []string{
		"", "/token", "//example.com/a", "example.com/a", "ftp://example.com/a",
		"https:/a", "https:opaque", "https://user:pw@example.com/a", "https://example.com:x/a",
		"https://example.com/%zz", "https://example.com/%4", "https://:443/a",
		"https://[fe80::1%25en0]:443/a",
	} {
		_, ok := normalizeURL(bad)
		assert.False(t, ok, bad)
	}
}

// TestRemoveDotSegments runs the examples of RFC 3986 §5.2.4.
func TestRemoveDotSegments(t *testing.T) {
	assert.Equal(t, "/a/g", removeDotSegments("/a/b/c/./../../g"))
	assert.Equal(t, "mid/6", removeDotSegments("mid/content=5/../6"))
	assert.Equal(t, "/", removeDotSegments("/."))
	assert.Equal(t, "/b/", removeDotSegments("/b/c/.."))
	assert.Equal(t, "", removeDotSegments(".."))
}
