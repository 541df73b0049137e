package jose

import "strings"

// Header holds the members of a JWS header (RFC 7515 §4.1) that Grantor's
// verifiers use. The members that name keys (jwk, jku, x5u, x5c, x5t) are
// never read: a verifier takes its keys from its own configuration only
// (RFC 8725 §3.10).
type Header struct {
	// Alg is the alg member: present, a string, neither empty nor "none".
	Alg string
	// KID is the kid member; HasKID tells an empty kid from none.
	KID    string
	HasKID bool
	// Typ is the typ member; HasTyp tells an empty typ from none. The
	// caller judges it (RFC 8725 §3.11).
	Typ    string
	HasTyp bool
	// HasCty reports a cty member (RFC 7515 §4.1.10), a nested JWT, which
	// a caller may refuse.
	HasCty bool
}

// HeaderError is the error of ReadHeader. Reason is a constant phrase that
// never quotes the input, such as "alg header is missing", for the
// caller to put in its own error.
type HeaderError struct{ Reason string }

func (e *HeaderError) Error() string { return "jose: " + e.Reason }

func headerError(reason string) error { return &HeaderError{Reason: reason} }

// HeaderReason returns the Reason of an error of ReadHeader, for the
// caller's own error; "header is invalid" for any other error.
func HeaderReason(err error) string {
	if e, ok := err.(*HeaderError); ok {
		return e.Reason
	}
	return "header is invalid"
}

// ReadHeader reads a JWS header: a JSON object without duplicate members,
// nested at most maxDepth deep; alg required (RFC 7515 §4.1.1), never
// "none" or empty (RFC 8725 §3.1); kid and typ strings when present. crit
// is refused, since Grantor implements no JWS extension (any crit is
// unknown, RFC 7515 §4.1.11), and so are b64 (RFC 7797's unencoded
// payload), zip and enc (JWE members, RFC 7516 §4.1.2-4.1.3). Its errors
// are *HeaderError.
func ReadHeader(b []byte, maxDepth int) (Header, error) {
	var h Header
	var r ObjectReader
	if r.Init(b, maxDepth) != nil {
		return h, headerError("header is not a JSON object without duplicate members")
	}
	haveAlg := false
	for {
		name, v, ok, err := r.Next()
		if err != nil {
			return h, headerError("header is not a JSON object without duplicate members")
		}
		if !ok {
			break
		}
		switch string(name) {
		case "alg":
			alg, err := String(v)
			if err != nil {
				return h, headerError("alg header is not a string")
			}
			if alg == "" || strings.EqualFold(alg, "none") {
				return h, headerError("unsigned JWS")
			}
			h.Alg, haveAlg = alg, true
		case "kid":
			if h.KID, err = String(v); err != nil {
				return h, headerError("kid header is not a string")
			}
			h.HasKID = true
		case "typ":
			if h.Typ, err = String(v); err != nil {
				return h, headerError("typ header is not a string")
			}
			h.HasTyp = true
		case "cty":
			h.HasCty = true
		case "crit", "b64", "zip", "enc":
			// name is one of these constants: nothing of the input
			// goes into the error.
			return h, headerError(string(name) + " header is not accepted")
		}
	}
	if !haveAlg {
		return h, headerError("alg header is missing")
	}
	return h, nil
}
