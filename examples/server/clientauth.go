package main

// Client authentication: the methods the token, revocation, introspection
// and PAR endpoints accept, and the rules a client of the clients file
// must follow to use them.

import (
	"context"
	"errors"
	"fmt"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/grantor-dev/grantor/oauth2"
	"github.com/grantor-dev/grantor/storage"
)

// clientAuthenticators returns the client authentication methods of the
// server: client_secret_basic, client_secret_post and none, the
// Provider's defaults, and private_key_jwt (RFC 7523 §2.2), whose
// assertions replay remembers once used (RFC 7523 §3 item 7) and whose
// jwks_uri sets fetcher fetches (nil is the safe default); and, when the
// clients file registers such clients, client_secret_jwt (OpenID Connect
// Core §9), with the secrets of hmacKeys.
func clientAuthenticators(replay storage.ReplayStore, fetcher *oauth2.JWKSFetcher, hmacKeys clientSecretJWTKeys) []oauth2.ClientAuthenticator {
	methods := []oauth2.ClientAuthenticator{
		oauth2.ClientSecretBasic{},
		oauth2.ClientSecretPost{},
		oauth2.NoClientAuthentication{},
		&oauth2.PrivateKeyJWT{Replay: replay, JWKSFetcher: fetcher},
	}
	if len(hmacKeys) > 0 {
		methods = append(methods, &oauth2.ClientSecretJWT{Replay: replay, Key: hmacKeys.key})
	}
	return methods
}

// clientSecretJWTKeys are the HMAC keys of the client_secret_jwt clients
// of the clients file: their client secrets, by client id. The library
// keeps client secrets only as one-way hashes, and HMAC needs the secret
// itself (oauth2.ClientSecretJWT), so they stay where the host keeps them,
// the clients file, read at every start by every instance, and never
// reach the database.
type clientSecretJWTKeys map[string][]byte

// errNoClientSecretJWTKey means a client has no key in the clients file.
var errNoClientSecretJWTKey = errors.New("no client_secret_jwt key for this client")

func (k clientSecretJWTKeys) key(_ context.Context, c *storage.Client) ([]byte, error) {
	key, ok := k[c.ID]
	if !ok {
		return nil, errNoClientSecretJWTKey
	}
	return key, nil
}

// minClientSecretJWTLen is the shortest client_secret_jwt secret: the
// output size of HMAC-SHA256 (RFC 7518 §3.2).
const minClientSecretJWTLen = 32

// checkClientMetadata refuses, at start-up, what ClientMetadata.Client
// would register but this server could never authenticate, or should not
// hold: a client_secret_jwt client without a client_secret of 32 bytes or
// more (a hash cannot key an HMAC), and a private_key_jwt client whose
// jwks holds a private or symmetric key or no key at all (RFC 7591 §2:
// "jwks" holds the client's public keys).
func checkClientMetadata(m *oauth2.ClientMetadata) error {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("client %q: %s", m.ClientID, fmt.Sprintf(format, args...))
	}
	switch m.TokenEndpointAuthMethod {
	case oauth2.AuthMethodClientSecretJWT:
		// The secret is the HMAC key: it stays in the file
		// (clientSecretJWTKeys), and only a secret can key an HMAC.
		switch {
		case m.ClientSecretHash != "":
			return fail("client_secret_jwt needs the client_secret itself, not a client_secret_hash: it keys an HMAC")
		case len(m.ClientSecret) < minClientSecretJWTLen:
			return fail("client_secret_jwt needs a client_secret of at least %d bytes (RFC 7518 §3.2)", minClientSecretJWTLen)
		}
		return nil
	case oauth2.AuthMethodPrivateKeyJWT:
	default:
		return nil
	}
	if len(m.JWKS) == 0 {
		return nil // a jwks_uri, which ClientMetadata.Client checks
	}
	set, err := jwk.Parse(m.JWKS)
	if err != nil {
		// The parser's message may quote the document, a key with it.
		return fail("jwks is not a JWK Set (RFC 7517 §5)")
	}
	if set.Len() == 0 {
		return fail("jwks holds no key")
	}
	for i := range set.Len() {
		key, _ := set.Key(i)
		if key.KeyType() == jwa.OctetSeq {
			return fail("jwks holds a symmetric key: register public keys only")
		}
		if private, err := jwk.IsPrivateKey(key); err != nil || private {
			return fail("jwks holds a private key: register its public key only, and keep the private key with the client")
		}
	}
	return nil
}
