package dpop

import (
	"bytes"
	"net/netip"
	"strings"
)

// The htu claim is compared with the endpoint's URL after the
// syntax-based normalisation of RFC 3986 §6.2.2 and the scheme-based
// normalisation of §6.2.3, as RFC 9449 §4.3 step 9 asks; query and
// fragment are ignored on both sides.
//
// Both URLs are read as strings, by the grammar of RFC 3986 §3, and
// normalised as they were written: no decoding and re-encoding of the
// whole path, which could turn an encoded "/" (%2F) into a separator or
// guess at the encoding of a character the grammar does not allow. Only
// what a server is named by is accepted: http or https, a host of ASCII
// letters, digits, "-", ".", "_" and "~" or an IPv6 or IPv4 literal, no
// userinfo, and a path of the characters RFC 3986 §3.3 allows.

// MaxURLLength is the longest htu claim, or request URL, that is
// normalised, in bytes, query and fragment included. Longer ones are
// refused before anything else is done with them.
const MaxURLLength = 4 << 10

// urlFault says which part of a URL normalizeURL refused.
type urlFault uint8

const (
	urlOK urlFault = iota
	// urlBadOrigin: not an absolute http or https URL with a host (RFC
	// 3986 §3.1, §3.2): for Request.URL, the caller's configuration.
	urlBadOrigin
	// urlBadPath: a URL longer than MaxURLLength, or a path that is not
	// RFC 3986 §3.3 syntax: for Request.URL, the request's target.
	urlBadPath
)

// stripQueryFragment returns s without its query and fragment parts
// (RFC 3986 §3.4, §3.5).
func stripQueryFragment(s string) string {
	if i := strings.IndexAny(s, "?#"); i >= 0 {
		return s[:i]
	}
	return s
}

// normalizeURL returns the absolute http or https URL s without query and
// fragment, normalised: scheme and host in lower case, the default port
// removed, percent-encodings in upper case and decoded when they encode
// an unreserved character, dot segments removed, and an empty path
// written "/" (RFC 3986 §6.2.2.1-3, §6.2.3). It reports false for
// anything else: a URL longer than MaxURLLength, a relative or opaque
// URL, another scheme, userinfo, no host, a host that is not ASCII or is
// percent-encoded, a malformed port, a character outside RFC 3986 §3.3
// in the path or a malformed percent-encoding.
func normalizeURL(s string) (string, bool) {
	n, fault := normalizeURLFault(s)
	return n, fault == urlOK
}

// normalizeURLFault is normalizeURL, saying which part it refused.
func normalizeURLFault(s string) (string, urlFault) {
	if len(s) > MaxURLLength {
		return "", urlBadPath
	}
	s = stripQueryFragment(s)
	// Scheme (RFC 3986 §3.1), compared case-insensitively (§6.2.2.1).
	var scheme, defaultPort string
	i := strings.IndexByte(s, ':')
	switch {
	case i < 0:
		return "", urlBadOrigin
	case strings.EqualFold(s[:i], "https"):
		scheme, defaultPort = "https", "443"
	case strings.EqualFold(s[:i], "http"):
		scheme, defaultPort = "http", "80"
	default:
		return "", urlBadOrigin
	}
	rest := s[i+1:]
	if !strings.HasPrefix(rest, "//") { // no authority: relative or opaque
		return "", urlBadOrigin
	}
	rest = rest[2:]
	authority, path := rest, ""
	if j := strings.IndexByte(rest, '/'); j >= 0 {
		authority, path = rest[:j], rest[j:]
	}
	host, ok := normalizeAuthority(authority, defaultPort)
	if !ok {
		return "", urlBadOrigin
	}
	path, ok = normalizePath(path)
	if !ok {
		return "", urlBadPath
	}
	return scheme + "://" + host + path, urlOK
}

// normalizeAuthority returns the authority (RFC 3986 §3.2) without the
// default port and with the host in lower case, or false when it has
// userinfo, no host, a host that is neither an IP literal nor a name of
// unreserved ASCII characters (so neither percent-encoded nor an
// internationalised name, whose case folding is not ASCII's), or a port
// that is not a number up to 65535.
func normalizeAuthority(a, defaultPort string) (string, bool) {
	if strings.IndexByte(a, '@') >= 0 {
		return "", false
	}
	var host, port string
	if strings.HasPrefix(a, "[") {
		// An IPv6 literal (RFC 3986 §3.2.2). A zone (RFC 6874) names an
		// interface of the client's machine, not a server; IPvFuture
		// names nothing a server listens on.
		end := strings.IndexByte(a, ']')
		if end < 0 {
			return "", false
		}
		addr, err := netip.ParseAddr(a[1:end])
		if err != nil || !addr.Is6() || addr.Zone() != "" {
			return "", false
		}
		host = "[" + strings.ToLower(a[1:end]) + "]"
		switch after := a[end+1:]; {
		case after == "":
		case after[0] == ':':
			port = after[1:]
		default:
			return "", false
		}
	} else {
		host = a
		if j := strings.LastIndexByte(a, ':'); j >= 0 {
			host, port = a[:j], a[j+1:]
		}
		if host == "" {
			return "", false
		}
		b := []byte(host)
		for k, c := range b {
			switch {
			case 'A' <= c && c <= 'Z':
				b[k] = c + 'a' - 'A'
			case isUnreserved(c):
			default:
				return "", false
			}
		}
		host = string(b)
	}
	// The port (RFC 3986 §3.2.3): empty or the scheme's default is no
	// port (§6.2.3). Port 0, however written, is not the default.
	for _, c := range []byte(port) {
		if c < '0' || c > '9' {
			return "", false
		}
	}
	if port != "" {
		port = strings.TrimLeft(port, "0")
		if port == "" {
			port = "0"
		}
		if len(port) > 5 || len(port) == 5 && port > "65535" {
			return "", false
		}
		if port != defaultPort {
			host += ":" + port
		}
	}
	return host, true
}

// isUnreserved reports whether c is an unreserved character (RFC 3986
// §2.3).
func isUnreserved(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

// isPathChar reports whether c may appear in a path as it is (RFC 3986
// §3.3): an unreserved character, a sub-delim, ":", "@" or "/".
func isPathChar(c byte) bool {
	if isUnreserved(c) {
		return true
	}
	switch c {
	case '!', '$', '&', '\'', '(', ')', '*', '+', ',', ';', '=', ':', '@', '/':
		return true
	}
	return false
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// normalizePath normalises a path-abempty (RFC 3986 §3.3) as written:
// percent-encodings in upper case, those of unreserved characters decoded
// (§6.2.2.1, §6.2.2.2), dot segments removed (§6.2.2.3), and an empty
// path written "/" (§6.2.3). Any other character than those §3.3 allows,
// or a malformed percent-encoding, refuses it. An encoded reserved
// character, "%2F" say, stays encoded: it is data, not a delimiter
// (§2.2).
func normalizePath(p string) (string, bool) {
	if p == "" {
		return "/", true
	}
	const hexUpper = "0123456789ABCDEF"
	var b []byte // nil while the path is unchanged
	dots := false
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c != '%' {
			if !isPathChar(c) {
				return "", false
			}
			dots = dots || c == '.'
			if b != nil {
				b = append(b, c)
			}
			continue
		}
		if i+2 >= len(p) {
			return "", false
		}
		hi, ok1 := unhex(p[i+1])
		lo, ok2 := unhex(p[i+2])
		if !ok1 || !ok2 {
			return "", false
		}
		if b == nil {
			b = append(make([]byte, 0, len(p)), p[:i]...)
		}
		if d := hi<<4 | lo; isUnreserved(d) {
			dots = dots || d == '.'
			b = append(b, d)
		} else {
			b = append(b, '%', hexUpper[hi], hexUpper[lo])
		}
		i += 2
	}
	if b != nil {
		p = string(b)
	}
	if dots {
		p = removeDotSegments(p)
	}
	if p == "" {
		p = "/"
	}
	return p, true
}

// removeDotSegments is the algorithm of RFC 3986 §5.2.4, in time linear
// in the length of its input: each byte is moved to the output once and
// removed from it at most once.
func removeDotSegments(in string) string {
	out := make([]byte, 0, len(in))
	removeLast := func() {
		if i := bytes.LastIndexByte(out, '/'); i >= 0 {
			out = out[:i]
		} else {
			out = out[:0]
		}
	}
	for len(in) > 0 {
		switch {
		case strings.HasPrefix(in, "../"):
			in = in[3:]
		case strings.HasPrefix(in, "./"):
			in = in[2:]
		case strings.HasPrefix(in, "/./"):
			in = in[2:]
		case in == "/.":
			in = "/"
		case strings.HasPrefix(in, "/../"):
			in = in[3:]
			removeLast()
		case in == "/..":
			in = "/"
			removeLast()
		case in == "." || in == "..":
			in = ""
		default:
			// Move the first segment, with its leading "/" if any, to
			// the output.
			j := strings.IndexByte(in[1:], '/')
			if j < 0 {
				j = len(in)
			} else {
				j++
			}
			out = append(out, in[:j]...)
			in = in[j:]
		}
	}
	return string(out)
}

// sameURL reports whether the htu claim names the endpoint whose URL is
// expected, itself normalised by the caller (RFC 9449 §4.3 step 9).
// expectedRaw is the caller's URL as given: an htu equal to it, byte for
// byte once query and fragment are gone, matches without parsing.
func sameURL(htu, expectedRaw, expected string) bool {
	if htu == stripQueryFragment(expectedRaw) {
		return true
	}
	got, ok := normalizeURL(htu)
	return ok && got == expected
}
