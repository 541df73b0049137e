package dpop

import (
	"net/url"
	"strings"
)

// The htu claim is compared with the endpoint's URL after the
// syntax-based normalisation of RFC 3986 §6.2.2 and the scheme-based
// normalisation of §6.2.3, as RFC 9449 §4.3 step 9 asks; query and
// fragment are ignored on both sides.

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
// anything else: a relative or opaque URL, another scheme, userinfo, no
// host, a malformed port or percent-encoding.
func normalizeURL(s string) (string, bool) {
	u, err := url.Parse(stripQueryFragment(s))
	if err != nil || u.Opaque != "" || u.User != nil || u.Host == "" {
		return "", false
	}
	scheme := strings.ToLower(u.Scheme)
	var defaultPort string
	switch scheme {
	case "https":
		defaultPort = "443"
	case "http":
		defaultPort = "80"
	default:
		return "", false
	}
	host := strings.ToLower(u.Hostname())
	if host == "" || strings.IndexByte(host, '%') >= 0 {
		// No host, or an IPv6 zone (RFC 6874), which names an interface
		// of the client's machine, not a server.
		return "", false
	}
	if strings.IndexByte(host, ':') >= 0 { // an IPv6 literal (RFC 3986 §3.2.2)
		host = "[" + host + "]"
	}
	port := u.Port()
	for _, c := range port {
		if c < '0' || c > '9' {
			return "", false
		}
	}
	port = strings.TrimLeft(port, "0")
	if port != "" && port != defaultPort {
		host += ":" + port
	}
	path, ok := normalizePercent(u.EscapedPath())
	if !ok {
		return "", false
	}
	if strings.IndexByte(path, '.') >= 0 {
		path = removeDotSegments(path)
	}
	if path == "" {
		path = "/"
	}
	return scheme + "://" + host + path, true
}

// isUnreserved reports whether c is an unreserved character (RFC 3986
// §2.3).
func isUnreserved(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
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

// normalizePercent writes percent-encodings in upper case and decodes
// those of unreserved characters (RFC 3986 §6.2.2.1, §6.2.2.2).
func normalizePercent(p string) (string, bool) {
	if strings.IndexByte(p, '%') < 0 {
		return p, true
	}
	const hexUpper = "0123456789ABCDEF"
	b := make([]byte, 0, len(p))
	for i := 0; i < len(p); i++ {
		if p[i] != '%' {
			b = append(b, p[i])
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
		if c := hi<<4 | lo; isUnreserved(c) {
			b = append(b, c)
		} else {
			b = append(b, '%', hexUpper[hi], hexUpper[lo])
		}
		i += 2
	}
	return string(b), true
}

// removeDotSegments is the algorithm of RFC 3986 §5.2.4.
func removeDotSegments(in string) string {
	out := make([]byte, 0, len(in))
	removeLast := func() {
		if i := strings.LastIndexByte(string(out), '/'); i >= 0 {
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
