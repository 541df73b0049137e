package dpop

import (
	"crypto"
	"crypto/subtle"
	"encoding/base64"
	"errors"

	"github.com/lestrrat-go/jwx/v2/jwk"
)

// ThumbprintLength is the length of a JWK SHA-256 thumbprint in unpadded
// base64url, as cnf.jkt (RFC 9449 §6.1) and dpop_jkt (RFC 9449 §10) carry
// it.
const ThumbprintLength = 43

// ErrMalformedThumbprint is returned by CheckThumbprint for a value that
// is not a base64url-encoded SHA-256 digest.
var ErrMalformedThumbprint = errors.New("dpop: malformed JWK thumbprint")

// Thumbprint returns the JWK SHA-256 thumbprint of key (RFC 7638 §3),
// base64url-encoded without padding: the value of cnf.jkt (RFC 9449 §6.1)
// and of dpop_jkt (RFC 9449 §10). A private key has the thumbprint of its
// public key (RFC 7638 §3.2.1). jwx computes it.
func Thumbprint(key jwk.Key) (string, error) {
	if key == nil {
		return "", errors.New("dpop: Thumbprint of a nil key")
	}
	sum, err := key.Thumbprint(crypto.SHA256)
	if err != nil {
		return "", errors.New("dpop: the key has no RFC 7638 thumbprint")
	}
	return base64.RawURLEncoding.EncodeToString(sum), nil
}

// PublicKeyThumbprint returns the JWK SHA-256 thumbprint (RFC 7638 §3) of
// a public or private key of the crypto packages (*ecdsa.PublicKey,
// ed25519.PublicKey, *rsa.PublicKey, or their private keys), as
// Thumbprint does for a JWK. A client uses it for dpop_jkt.
func PublicKeyThumbprint(key any) (string, error) {
	k, err := jwk.FromRaw(key)
	if err != nil {
		return "", errors.New("dpop: not a key jwx can represent as a JWK")
	}
	return Thumbprint(k)
}

// CheckThumbprint checks the syntax of a JWK SHA-256 thumbprint as the
// dpop_jkt authorization request parameter carries it (RFC 9449 §10):
// exactly ThumbprintLength characters of canonical unpadded base64url
// (RFC 7515 §2) that decode to 32 bytes. It returns ErrMalformedThumbprint
// otherwise.
func CheckThumbprint(jkt string) error {
	if len(jkt) != ThumbprintLength {
		return ErrMalformedThumbprint
	}
	var sum [32]byte
	n, err := base64.RawURLEncoding.Strict().Decode(sum[:], []byte(jkt))
	if err != nil || n != len(sum) {
		return ErrMalformedThumbprint
	}
	return nil
}

// SameThumbprint reports, in constant time, whether two thumbprints are
// equal: the check of a proof's key against an access token's cnf.jkt
// (RFC 9449 §7.1, §4.3 step 12) or a code's dpop_jkt (RFC 9449 §10.1).
// Two empty strings are not the same thumbprint.
func SameThumbprint(a, b string) bool {
	if a == "" || b == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
