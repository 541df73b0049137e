package bench

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"fmt"

	"github.com/go-jose/go-jose/v3"
	"github.com/ory/fosite"
	"github.com/ory/fosite/compose"
	"github.com/ory/fosite/handler/oauth2"
	"github.com/ory/fosite/token/jwt"
)

// NewFositeClientCredentialsJWT returns fosite (see newFositeServer) with
// its JWT access token strategy (compose.NewOAuth2JWTStrategy), signing
// with a fresh key of alg, for the JWT client credentials scenarios. The
// tokens are made as close to RFC 9068 as fosite's session allows: header
// "typ":"at+jwt" and "kid", claims iss, sub, client_id, scope (a string),
// iat, exp and jti; "aud" is fosite's, an empty array, since no audience
// is requested. hasher is as for NewFositeClientCredentials.
//
// The key is handed to fosite as a *jose.JSONWebKey: fosite's signer takes
// a bare *rsa.PrivateKey or *ecdsa.PrivateKey too, but has no case for an
// ed25519.PrivateKey, and a JSONWebKey also gives the header its "kid".
// An alg other than ES256, EdDSA and RS256 gives an error wrapping
// ErrFositeUnsupported.
func NewFositeClientCredentialsJWT(hasher fosite.Hasher, alg Alg) (*Server, error) {
	s, _, err := newFositeClientCredentialsJWT(hasher, alg)
	return s, err
}

// newFositeClientCredentialsJWT is NewFositeClientCredentialsJWT, also
// returning the public key that verifies the tokens.
func newFositeClientCredentialsJWT(hasher fosite.Hasher, alg Alg) (*Server, crypto.PublicKey, error) {
	key, err := newFositeSigningKey(alg)
	if err != nil {
		return nil, nil, err
	}
	getKey := func(context.Context) (any, error) { return key, nil }
	strategy := func(cfg *fosite.Config) (any, error) {
		return compose.NewOAuth2JWTStrategy(getKey, compose.NewOAuth2HMACStrategy(cfg), cfg), nil
	}
	f, err := newFositeServer(hasher, strategy, newFositeJWTSession)
	if err != nil {
		return nil, nil, err
	}
	req := ClientCredentialsRequest(benchClientID, f.secret)
	s := f.server(Repeated(req))
	return s, key.Public().Key, nil
}

// newFositeSigningKey returns a fresh signing key of alg as a JSON Web Key:
// P-256 for ES256, RSA 2048 for RS256, Ed25519 for EdDSA.
func newFositeSigningKey(alg Alg) (*jose.JSONWebKey, error) {
	var key crypto.Signer
	var err error
	switch alg {
	case ES256:
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case RS256:
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	case EdDSA:
		_, key, err = ed25519.GenerateKey(rand.Reader)
	default:
		return nil, fmt.Errorf("%w: JWS algorithm %q", ErrFositeUnsupported, alg)
	}
	if err != nil {
		return nil, err
	}
	return &jose.JSONWebKey{Key: key, KeyID: "bench-" + string(alg), Algorithm: string(alg), Use: "sig"}, nil
}

// newFositeJWTSession is the session of the JWT servers: fosite's
// JWTSession, whose header says the token is an RFC 9068 access token
// (fosite would write "typ":"JWT").
func newFositeJWTSession() fosite.Session {
	return &oauth2.JWTSession{
		JWTClaims: new(jwt.JWTClaims),
		JWTHeader: &jwt.Headers{Extra: map[string]any{"typ": "at+jwt"}},
	}
}
