package dpop

import (
	"errors"
	"strings"
)

// Error codes of RFC 9449, for the "error" member of a token endpoint
// response (RFC 6749 §5.2) or the "error" parameter of a WWW-Authenticate
// challenge (RFC 6750 §3).
const (
	// CodeInvalidProof means the DPoP proof is missing, malformed or
	// invalid (RFC 9449 §5, §7.1).
	CodeInvalidProof = "invalid_dpop_proof"
	// CodeUseNonce means the proof lacks the server's current nonce; the
	// response carries a fresh one in the DPoP-Nonce header
	// (RFC 9449 §8, §9).
	CodeUseNonce = "use_dpop_nonce"
)

// NonceHeader is the HTTP response header that carries a server nonce
// (RFC 9449 §8.1, §9).
const NonceHeader = "DPoP-Nonce"

// Sentinels wrapped by the errors of Verifier.Verify; match them with
// errors.Is.
var (
	// ErrInvalidProof is wrapped by every *Error whose Code is
	// CodeInvalidProof.
	ErrInvalidProof = errors.New("dpop: invalid DPoP proof")
	// ErrUseNonce is wrapped by every *Error whose Code is CodeUseNonce.
	ErrUseNonce = errors.New("dpop: DPoP nonce required")
	// ErrReplayed is wrapped, together with ErrInvalidProof, by the error
	// for a proof whose jti was seen before (RFC 9449 §11.1). A
	// ReplayStore may also return it (or an error wrapping it) to report
	// a key already remembered; see Config.IsReplay.
	ErrReplayed = errors.New("dpop: DPoP proof replayed")
)

// Error is a refused DPoP proof, with what a caller needs to answer it:
// at the authorization server a 400 whose JSON body carries Code and
// Description (RFC 9449 §5), at a resource server a 401 whose
// WWW-Authenticate header carries them (RFC 9449 §7.1, see
// Verifier.Challenge). When Nonce is not empty the response must carry it
// in the DPoP-Nonce header (RFC 9449 §8, §9).
//
// Description is a fixed text naming the check that failed; it never
// quotes the proof, its key or the access token, so it is safe to send
// and to log.
type Error struct {
	// Code is CodeInvalidProof or CodeUseNonce.
	Code string
	// Description is a human-readable reason, safe to send.
	Description string
	// Nonce, when set, is a fresh server nonce for the DPoP-Nonce header.
	Nonce string

	err error // ErrInvalidProof or ErrUseNonce, possibly with more
}

// Error returns the code and description.
func (e *Error) Error() string { return "dpop: " + e.Code + ": " + e.Description }

// Unwrap returns the sentinels the error wraps (ErrInvalidProof or
// ErrUseNonce, and ErrReplayed for a replay).
func (e *Error) Unwrap() error { return e.err }

func invalid(desc string) *Error {
	return &Error{Code: CodeInvalidProof, Description: desc, err: ErrInvalidProof}
}

func useNonce(desc, fresh string) *Error {
	return &Error{Code: CodeUseNonce, Description: desc, Nonce: fresh, err: ErrUseNonce}
}

// Challenge returns the value of a WWW-Authenticate header for the DPoP
// scheme (RFC 9449 §7.1): the algs parameter, space-separated, and, when
// err is (or wraps) an *Error, its error and error_description. Any other
// err (a store outage, say) adds nothing: the challenge then only names
// the scheme and its algorithms. A caller that refuses a token itself
// (invalid_token, RFC 6750 §3.1) writes its own error parameters.
func Challenge(algs []string, err error) string {
	var sb strings.Builder
	sb.WriteString(`DPoP algs="`)
	sb.WriteString(strings.Join(algs, " "))
	sb.WriteByte('"')
	var e *Error
	if errors.As(err, &e) {
		// Codes and descriptions are constants of this package: no quote
		// or backslash to escape (RFC 9110 §11.2 quoted-string).
		sb.WriteString(`, error="`)
		sb.WriteString(e.Code)
		sb.WriteString(`", error_description="`)
		sb.WriteString(e.Description)
		sb.WriteByte('"')
	}
	return sb.String()
}
