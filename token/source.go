package token

import (
	"context"
	"errors"
	"fmt"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
)

// ErrUnknownKey is returned, wrapped or not, by VerificationKeys when no
// key has the requested "kid" (RFC 7515 §4.1.4). A token whose kid is
// unknown fails verification with an error wrapping both ErrInvalid and
// ErrUnknownKey.
var ErrUnknownKey = errors.New("token: unknown key")

// VerificationKeys looks up the public key that verifies a JWS by the kid
// of its header (RFC 7515 §4.1.4; RFC 9068 §4). *KeySet (the keys of this
// process) and *RemoteKeys (an authorization server's jwks_uri) implement
// it; a host application may implement it over its own key store.
//
// The returned key must carry "alg": a token verifies only under the
// key's own algorithm, never the one its header names (RFC 8725 §3.1),
// and only algorithms of the allow-list are accepted. A key the source
// does not know is an error wrapping ErrUnknownKey; any other error (the
// store is unreachable) is returned to the verifier's caller as is,
// without ErrInvalid, so that it can answer "try again later" rather than
// "invalid token". The kid is untrusted input (RFC 8725 §3.10): use it only
// as an opaque lookup key.
type VerificationKeys interface {
	VerificationKey(ctx context.Context, kid string) (jwk.Key, error)
}

// Signer is the key that signs new access tokens: its kid and algorithm
// go into the JWS header (RFC 9068 §2.1) and Sign makes the signature.
// A host application whose private keys live in a KMS or an HSM
// implements it with the KMS's sign operation.
type Signer interface {
	// KeyID is the key's "kid", as published in the JWK Set.
	KeyID() string
	// Algorithm is the key's JWS "alg" (RFC 7518 §3.1); it must be on the
	// allow-list (ES256, PS256, EdDSA, …) and fit the published key.
	Algorithm() jwa.SignatureAlgorithm
	// Sign returns the JWS Signature of the JWS Signing Input
	// (RFC 7515 §5.1 step 5) in the form RFC 7518 §3 prescribes for
	// Algorithm: for ECDSA the fixed-length R||S of §3.4, not ASN.1 DER.
	Sign(ctx context.Context, signingInput []byte) ([]byte, error)
}

// KeySource supplies the keys of a JWT access-token strategy: the key that
// signs now, the keys that verify, and the JWK Set to publish at jwks_uri
// (RFC 8414 §2; RFC 7517 §5). *KeySet is the in-memory default; a host
// application keeping its keys in a KMS implements KeySource itself.
//
// JWKS takes no context because the Provider's JWKS endpoint calls it
// through KeyPublisher: a KeySource over a remote store should answer it
// from a local copy of the public keys. A KeySource must be safe for
// concurrent use, and must publish a key before Signer returns it and
// keep publishing it until the tokens it signed have expired
// (OpenID Connect Core §10.1.1).
type KeySource interface {
	VerificationKeys
	KeyPublisher
	// Signer returns the key to sign the next token with.
	Signer(ctx context.Context) (Signer, error)
}

var _ KeySource = (*KeySet)(nil)

// Signer implements KeySource: it returns the current signing key of the
// set, whose kid and alg head the tokens it signs (RFC 9068 §2.1).
func (s *KeySet) Signer(context.Context) (Signer, error) {
	st := s.load()
	if st == nil {
		return nil, errEmptyKeySet
	}
	return st.signing, nil
}

// KeyID implements Signer.
func (e *keyEntry) KeyID() string { return e.kid }

// Algorithm implements Signer.
func (e *keyEntry) Algorithm() jwa.SignatureAlgorithm { return e.alg }

// Sign implements Signer.
func (e *keyEntry) Sign(_ context.Context, input []byte) ([]byte, error) { return e.sign(input) }

// entryResolver is implemented by the key sources of this package, which
// keep their keys as pre-computed entries: verification then costs no
// conversion and no allocation for the lookup.
type entryResolver interface {
	// resolveEntry returns the entry of kid, or an error wrapping
	// ErrUnknownKey, or another error of the source.
	resolveEntry(ctx context.Context, kid []byte) (*keyEntry, error)
}

func (s *KeySet) resolveEntry(_ context.Context, kid []byte) (*keyEntry, error) {
	st := s.load()
	if st == nil {
		return nil, errEmptyKeySet
	}
	if e := st.lookupBytes(kid); e != nil {
		return e, nil
	}
	return nil, ErrUnknownKey
}

// resolveKey finds the verification entry of kid in keys: directly for
// the sources of this package, through VerificationKey and a check of the
// returned key (allow-listed alg, strength, kid) for any other.
func resolveKey(ctx context.Context, keys VerificationKeys, kid []byte) (*keyEntry, error) {
	if r, ok := keys.(entryResolver); ok {
		return r.resolveEntry(ctx, kid)
	}
	k, err := keys.VerificationKey(ctx, string(kid))
	if err != nil {
		return nil, err
	}
	if k == nil {
		return nil, ErrUnknownKey
	}
	e, err := newKeyEntry(k)
	if err != nil {
		return nil, fmt.Errorf("token: key source returned an unusable key: %w", err)
	}
	if e.kid != string(kid) {
		return nil, ErrUnknownKey
	}
	return e, nil
}
