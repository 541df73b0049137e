package main

// Client authentication: the methods the token, revocation, introspection
// and PAR endpoints accept, and the rules a client of the clients file
// must follow to use them.

import (
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
// jwks_uri sets fetcher fetches (nil is the safe default).
//
// client_secret_jwt is not among them: its HMAC key is the client secret
// itself, which this server, like the library, keeps only as a one-way
// hash (see checkClientMetadata).
func clientAuthenticators(replay storage.ReplayStore, fetcher *oauth2.JWKSFetcher) []oauth2.ClientAuthenticator {
	return []oauth2.ClientAuthenticator{
		oauth2.ClientSecretBasic{},
		oauth2.ClientSecretPost{},
		oauth2.NoClientAuthentication{},
		&oauth2.PrivateKeyJWT{Replay: replay, JWKSFetcher: fetcher},
	}
}

// checkClientMetadata refuses, at start-up, what ClientMetadata.Client
// would register but this server could never authenticate, or should not
// hold: a client_secret_jwt client, and a private_key_jwt client whose
// jwks holds a private or symmetric key or no key at all (RFC 7591 §2:
// "jwks" holds the client's public keys).
func checkClientMetadata(m *oauth2.ClientMetadata) error {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("client %q: %s", m.ClientID, fmt.Sprintf(format, args...))
	}
	switch m.TokenEndpointAuthMethod {
	case oauth2.AuthMethodClientSecretJWT:
		// The library stores only a hash of a client secret, and
		// ClientMetadata takes none for this method: its HMAC key
		// would have to be kept in usable form (oauth2.ClientSecretJWT).
		return fail("client_secret_jwt needs the client secret itself as its HMAC key, which this server does not keep: use private_key_jwt")
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
