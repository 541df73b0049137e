package dpop

import (
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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

// TestRemoveDotSegmentsLinear: the cost of RFC 3986 §5.2.4 grows with the
// length of the path, not with its square: removing a segment does not
// copy the output (see BenchmarkRemoveDotSegments for the time).
func TestRemoveDotSegmentsLinear(t *testing.T) {
	in := "/" + strings.Repeat("a", 2000) + strings.Repeat("/b/..", 400)
	allocs := testing.AllocsPerRun(10, func() { removeDotSegments(in) })
	assert.LessOrEqual(t, allocs, 2.0)
}

// BenchmarkRemoveDotSegments shows a linear cost: ns per byte stays the
// same as the path grows (compare the MB/s of the sizes).
func BenchmarkRemoveDotSegments(b *testing.B) {
	for _, size := range []int{1 << 10, 4 << 10, 16 << 10, 64 << 10} {
		var sb strings.Builder
		sb.WriteString("/" + strings.Repeat("a", size/2))
		for sb.Len() < size {
			sb.WriteString("/b/..")
		}
		in := sb.String()
		b.Run(strconv.Itoa(size), func(b *testing.B) {
			b.SetBytes(int64(len(in)))
			b.ReportAllocs()
			for range b.N {
				removeDotSegments(in)
			}
		})
	}
}

// TestNormalizeURLLength: a URL longer than MaxURLLength is refused before
// it is normalised, even when it would normalise to the endpoint's.
func TestNormalizeURLLength(t *testing.T) {
	var sb strings.Builder
	sb.WriteString(testURL)
	for sb.Len() <= MaxURLLength {
		sb.WriteString("/a/..")
	}
	_, ok := normalizeURL(sb.String())
	assert.False(t, ok)
	long := "https://server.example.com/" + strings.Repeat("a", MaxURLLength-len("https://server.example.com/"))
	got, ok := normalizeURL(long)
	assert.True(t, ok)
	assert.Equal(t, long, got)
}

// TestNormalizeURLHost: a host is compared as ASCII in lower case (RFC
// 3986 §6.2.2.1); a name that is not ASCII, or is percent-encoded, is
// refused rather than folded by Unicode rules, which map "İ" (U+0130)
// and "K" (U+212A) to ASCII letters and so name another host.
func TestNormalizeURLHost(t *testing.T) {
	for _, bad := range []string{
		"https://\u0130dp.example/token",
		"https://%C4%B0dp.example/token",
		"https://\u212Aey.example/token",
		"https://\u017Ferver.example/token",
		"https://%73erver.example.com/token",
		"https://caf\u00e9.example/token",
		"https://server.example.com%2F/token",
		"https://server example.com/token",
		"https://[v1.x]/token",
		"https://[::1]x/token",
		"https://[1.2.3.4]/token",
		"https://server.example.com:65536/token",
	} {
		_, ok := normalizeURL(bad)
		assert.False(t, ok, bad)
	}
	got, ok := normalizeURL("https://Server.EXAMPLE.com:8443/token")
	assert.True(t, ok)
	assert.Equal(t, "https://server.example.com:8443/token", got)
}

// TestNormalizeURLPortZero: only the scheme's default port, or an empty
// port, is no port (RFC 3986 §6.2.3); port 0 is another port, however
// many zeros write it.
func TestNormalizeURLPortZero(t *testing.T) {
	for _, in := range []string{"https://server.example.com:0/token", "https://server.example.com:00/token", "http://server.example.com:000/token"} {
		got, ok := normalizeURL(in)
		assert.True(t, ok, in)
		assert.Contains(t, got, ":0/", in)
	}
	a, _ := normalizeURL("https://server.example.com:0/token")
	b, _ := normalizeURL("https://server.example.com/token")
	assert.NotEqual(t, a, b)
}

// TestNormalizeURLPath: the path is normalised as written (RFC 3986
// §6.2.2): an encoded "/" stays data, distinct from a separator (§2.2),
// and a character §3.3 does not allow refuses the URL instead of being
// encoded by a guess.
func TestNormalizeURLPath(t *testing.T) {
	for _, bad := range []string{
		"https://server.example.com/a%2Fb|",
		"https://server.example.com/a b",
		"https://server.example.com/a\"b",
		"https://server.example.com/a<b>",
		"https://server.example.com/a\\b",
		"https://server.example.com/a^b",
		"https://server.example.com/a{b}",
		"https://server.example.com/a[b]",
		"https://server.example.com/a`b",
		"https://server.example.com/caf\u00e9",
		"https://server.example.com/a\x00b",
		"https://server.example.com/a\x7fb",
		"https://server.example.com/a%",
	} {
		_, ok := normalizeURL(bad)
		assert.False(t, ok, "%q", bad)
	}
	enc, ok := normalizeURL("https://server.example.com/a%2fb")
	require.True(t, ok)
	sep, ok := normalizeURL("https://server.example.com/a/b")
	require.True(t, ok)
	assert.Equal(t, "https://server.example.com/a%2Fb", enc)
	assert.NotEqual(t, enc, sep)
	got, ok := normalizeURL("https://server.example.com/a!$&'()*+,;=:@b/%7e%2e")
	require.True(t, ok)
	assert.Equal(t, "https://server.example.com/a!$&'()*+,;=:@b/~.", got)
}
