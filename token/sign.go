package token

import "errors"

// The JWS signature primitives (RFC 7518 §3.3–3.5, RFC 8037 §3.1) are
// jwx's, made once per key for the key's own algorithm, so that the
// algorithm always comes from the key entry and never from a token header
// (RFC 8725 §3.1). This package does the parsing around them (strict
// base64url, duplicate members, crit) itself.

var errBadSignature = errors.New("signature does not verify")

// sign returns the JWS signature of input with e's private key.
func (e *keyEntry) sign(input []byte) ([]byte, error) {
	if e.signer == nil {
		return nil, errors.New("token: key has no private part")
	}
	return e.jwsSigner.Sign(input, e.signer)
}

// verify checks a JWS signature of input with e's public key and e's own
// algorithm.
func (e *keyEntry) verify(input, sig []byte) error {
	if err := e.jwsVerifier.Verify(input, sig, e.rawPub); err != nil {
		return errBadSignature
	}
	return nil
}
