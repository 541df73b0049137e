// Package pkce implements the rules of Proof Key for Code Exchange (RFC
// 7636): the syntax of code challenges and verifiers, the S256 and plain
// methods, and the constant-time check of a verifier against a challenge.
//
// It imports nothing of Grantor, so a client or a test can use it alone:
//
//	verifier, _ := pkce.GenerateVerifier()
//	challenge := pkce.S256Challenge(verifier)
//	// … later, on the server:
//	err := pkce.Verify(verifier, challenge, pkce.MethodS256)
package pkce

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
)

// Code challenge methods (RFC 7636 §4.2).
const (
	MethodS256  = "S256"
	MethodPlain = "plain"
)

// Length bounds of verifiers and challenges (RFC 7636 §4.1, §4.2).
const (
	MinLength = 43
	MaxLength = 128
)

// Errors. Each failure wraps one of them.
var (
	// ErrMalformed: a challenge or verifier is too short, too long or has
	// a character outside the unreserved set [A-Za-z0-9-._~].
	ErrMalformed = errors.New("pkce: malformed")
	// ErrUnsupportedMethod: the method is not S256, or plain when plain
	// is not allowed.
	ErrUnsupportedMethod = errors.New("pkce: unsupported code_challenge_method")
	// ErrMismatch: the verifier does not match the challenge.
	ErrMismatch = errors.New("pkce: code_verifier does not match code_challenge")
)

// CheckChallenge checks a code_challenge and its method as an
// authorization request carries them (RFC 7636 §4.3, §4.4.1). An empty
// method means plain (RFC 7636 §4.3), so it is refused unless allowPlain:
// RFC 9700 §2.1.1 asks for S256. The method is returned normalised.
func CheckChallenge(challenge, method string, allowPlain bool) (string, error) {
	if method == "" {
		method = MethodPlain
	}
	switch {
	case method == MethodS256:
	case method == MethodPlain && allowPlain:
	default:
		return "", ErrUnsupportedMethod
	}
	if !wellFormed(challenge) {
		return "", ErrMalformed
	}
	// An S256 challenge is the base64url encoding of 32 bytes: exactly 43
	// characters. Anything else can never match a verifier.
	if method == MethodS256 && len(challenge) != base64.RawURLEncoding.EncodedLen(sha256.Size) {
		return "", ErrMalformed
	}
	return method, nil
}

// CheckVerifier checks the syntax of a code_verifier (RFC 7636 §4.1):
// 43 to 128 characters of [A-Za-z0-9-._~].
func CheckVerifier(verifier string) error {
	if !wellFormed(verifier) {
		return ErrMalformed
	}
	return nil
}

// Verify checks a code_verifier against the challenge and method the
// authorization request carried (RFC 7636 §4.6), in constant time. The
// verifier's syntax is checked first, even where the hash would match
// (a verifier of 42 or 129 characters, or with '+' or '/', never passes).
func Verify(verifier, challenge, method string) error {
	if err := CheckVerifier(verifier); err != nil {
		return err
	}
	var computed string
	switch method {
	case MethodS256:
		computed = S256Challenge(verifier)
	case MethodPlain:
		computed = verifier
	default:
		return ErrUnsupportedMethod
	}
	if subtle.ConstantTimeCompare([]byte(computed), []byte(challenge)) != 1 {
		return ErrMismatch
	}
	return nil
}

// S256Challenge returns BASE64URL(SHA256(verifier)) (RFC 7636 §4.2).
func S256Challenge(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// GenerateVerifier returns a new code_verifier of 43 characters carrying
// 256 random bits (RFC 7636 §4.1, §7.1).
func GenerateVerifier() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

func wellFormed(s string) bool {
	if len(s) < MinLength || len(s) > MaxLength {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~') {
			return false
		}
	}
	return true
}
