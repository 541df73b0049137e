package oauth2

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Bounds on what the endpoints accept. Each is applied before a parameter
// is parsed further, stored, logged, counted or looked up, so that nothing
// an unauthenticated caller sends costs more than its size (RFC 6749 §10;
// RFC 9700 §4). A request beyond a bound is answered invalid_request.
//
// Bodies are bounded by Config.MaxRequestBytes (64 KiB by default) and the
// query of an authorization request by MaxAuthorizationQueryBytes; the
// host's http.Server bounds the headers (http.Server.MaxHeaderBytes).
const (
	// MaxAuthorizationQueryBytes bounds the query of a GET authorization
	// request; a longer one is answered 414 URI Too Long.
	MaxAuthorizationQueryBytes = 16 << 10

	// MaxParameters bounds the number of distinct parameters of a request.
	MaxParameters = 64

	// MaxParameterBytes bounds the value of a parameter (state,
	// redirect_uri, code, refresh_token and every other), except for
	// those below.
	MaxParameterBytes = 2 << 10

	// MaxScopeBytes bounds the scope parameter, and MaxScopeValues the
	// number of scope tokens in it (RFC 6749 §3.3).
	MaxScopeBytes  = 4 << 10
	MaxScopeValues = 64

	// MaxResourceValues bounds the number of resource parameters (RFC
	// 8707 §2), and of audience parameters (RFC 8693 §2.1).
	MaxResourceValues = 16

	// MaxTokenParameterBytes bounds the parameters that carry a JWT or a
	// token of another issuer: client_assertion (RFC 7521 §4.2),
	// assertion (RFC 7521 §4.1), subject_token and actor_token (RFC 8693
	// §2.1). A longer token at the revocation and introspection endpoints
	// (RFC 7009 §2.1, RFC 7662 §2.1) is no error but an invalid token,
	// answered as such without being parsed: 200 (RFC 7009 §2.2) and
	// {"active":false} (RFC 7662 §2.2).
	MaxTokenParameterBytes = 16 << 10

	// MaxClientIDBytes bounds a client identifier, wherever it comes
	// from: a client_id parameter, a Basic header or a client assertion.
	// Register no client with a longer id.
	MaxClientIDBytes = 255

	// maxParameterNameBytes bounds a parameter's name.
	maxParameterNameBytes = 64
)

// tokenParameters are the parameters bounded by MaxTokenParameterBytes:
// those that carry a JWT, including the ID token an OpenID Connect request
// (Core §3.1.2.1) or logout request names as its id_token_hint.
var tokenParameters = map[string]bool{
	"client_assertion": true, "assertion": true, "subject_token": true, "actor_token": true,
	"id_token_hint": true,
}

// vscharParameters are the parameters whose syntax RFC 6749 Appendix A
// (and the RFCs that follow its rules) limits to VSCHAR, printable ASCII:
// client_id (A.1), client_secret (A.2), response_type (A.3), state (A.5), redirect_uri (A.6, a URI), code (A.11), refresh_token
// (A.17), and the parameters of PKCE (RFC 7636 §4.1–4.3), token revocation
// and introspection, PAR, resource indicators and assertions, whose values
// are URIs, identifiers, base64url or JWTs. Every other parameter must be
// valid UTF-8 without control characters, except those of ownSyntax.
var vscharParameters = map[string]bool{
	"client_id": true, "client_secret": true, "response_type": true, "state": true,
	"redirect_uri": true, "code": true, "refresh_token": true, "grant_type": true,
	"code_verifier": true, "code_challenge": true, "code_challenge_method": true,
	"response_mode": true, "prompt": true, "nonce": true, "request_uri": true, "resource": true,
	"token_type_hint":  true,
	"client_assertion": true, "client_assertion_type": true, "assertion": true,
	"subject_token": true, "subject_token_type": true, "actor_token": true, "actor_token_type": true,
	"requested_token_type": true, "audience": true, "device_code": true,
}

// checkParameters applies the bounds and character sets above to the
// parameters of a request to the token, revocation, introspection and PAR
// endpoints (checkParameterBounds, then checkParameterValues).
func checkParameters(params url.Values) *Error {
	if err := checkParameterBounds(params); err != nil {
		return err
	}
	return checkParameterValues(params)
}

// checkParameterBounds checks the number of parameters, their names and
// the length of their values. It runs before anything else looks at them.
func checkParameterBounds(params url.Values) *Error {
	if len(params) > MaxParameters {
		return NewError(ErrInvalidRequest, "the request has too many parameters")
	}
	for name, values := range params {
		if len(name) > maxParameterNameBytes || !validText(name) {
			return NewError(ErrInvalidRequest, "a parameter name is too long or malformed")
		}
		if repeatable[name] && len(values) > MaxResourceValues {
			return NewError(ErrInvalidRequest, "the request has more than "+strconv.Itoa(MaxResourceValues)+" "+name+" parameters")
		}
		if name == "token" {
			continue // any length is an invalid token (see lookupToken), bounded by the body
		}
		limit := parameterLimit(name)
		for _, v := range values {
			if len(v) > limit {
				return NewError(ErrInvalidRequest, "parameter "+safeName(name)+" is longer than "+strconv.Itoa(limit)+" bytes")
			}
		}
	}
	if scope := params.Get("scope"); strings.Count(scope, " ") >= MaxScopeValues {
		return NewError(ErrInvalidRequest, "the scope parameter has more than "+strconv.Itoa(MaxScopeValues)+" values")
	}
	return nil
}

// repeatable are the parameters that a request may repeat: resource (RFC
// 8707 §2) and audience (RFC 8693 §2.1), at most MaxResourceValues times.
var repeatable = map[string]bool{"resource": true, "audience": true}

// checkParameterValues refuses a repeated parameter, except those of
// repeatable, and a value outside its character set; it drops empty values:
// an empty parameter counts as absent.
func checkParameterValues(params url.Values) *Error {
	for name, values := range params {
		if len(values) > 1 && !repeatable[name] {
			return NewError(ErrInvalidRequest, "parameter "+safeName(name)+" is repeated")
		}
		empty := false
		for _, v := range values {
			if !validValue(name, v) {
				return NewError(ErrInvalidRequest, "parameter "+safeName(name)+" has characters that are not allowed")
			}
			empty = empty || v == ""
		}
		if empty {
			if len(values) > 1 {
				return NewError(ErrInvalidRequest, "parameter "+safeName(name)+" has an empty value")
			}
			delete(params, name)
		}
	}
	return nil
}

// validValue reports whether v is in the character set of parameter name.
func validValue(name, v string) bool {
	switch {
	case ownSyntax[name]:
		return true
	case vscharParameters[name]:
		return isVSCHAR(v)
	default:
		return validText(v)
	}
}

// ownSyntax are the parameters whose values are checked by their own
// parser, with the error their RFC gives: scope (invalid_scope, RFC 6749
// §3.3), and token at the revocation and introspection endpoints, where
// whatever it holds is an invalid token, answered 200 by RFC 7009 §2.2
// and checked for integrity before any storage read.
var ownSyntax = map[string]bool{"scope": true, "token": true}

// parameterLimit returns the longest value a parameter may have.
func parameterLimit(name string) int {
	switch {
	case name == "client_id":
		return MaxClientIDBytes
	case name == "scope":
		return MaxScopeBytes
	case tokenParameters[name]:
		return MaxTokenParameterBytes
	default:
		return MaxParameterBytes
	}
}

// isVSCHAR reports whether s is made of VSCHAR, %x20-7E (RFC 6749
// Appendix A).
func isVSCHAR(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7E {
			return false
		}
	}
	return true
}

// validText reports whether s is valid UTF-8 without control characters
// (C0, DEL and C1): what any parameter may hold.
func validText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r >= 0x7F && r < 0xA0 {
			return false
		}
	}
	return true
}

// validClientID reports whether id is a client identifier the Provider
// looks up: at most MaxClientIDBytes of VSCHAR (RFC 6749 Appendix A.1).
func validClientID(id string) bool {
	return len(id) <= MaxClientIDBytes && isVSCHAR(id)
}

// queryTooLong is the answer to an authorization request whose query
// exceeds MaxAuthorizationQueryBytes.
func queryTooLong() *Error {
	return &Error{Code: ErrInvalidRequest, Description: "the request's query is too long", Status: http.StatusRequestURITooLong}
}
