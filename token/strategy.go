package token

import (
	"context"
	"errors"
	"time"
)

// ErrInvalid means a presented token is malformed, of the wrong type or
// forged: its signature does not verify under any known key. It is decided
// without a storage lookup.
var ErrInvalid = errors.New("token: invalid")

// Claims describe an access token to mint (RFC 9068 §2.2). The Provider
// fills them; a strategy encodes them in the token (JWT) or leaves them to
// the token's storage record (opaque).
type Claims struct {
	// Issuer is the authorization server's issuer identifier ("iss").
	Issuer string
	// Subject is the resource owner, or the client for grants without
	// one ("sub").
	Subject string
	// Audience is the intended audience ("aud"); never empty for a JWT.
	Audience []string
	// ClientID is the client the token is issued to ("client_id").
	ClientID string
	// Scopes are the granted scopes ("scope", space-separated in a JWT).
	Scopes []string
	// IssuedAt and ExpiresAt are "iat" and "exp".
	IssuedAt  time.Time
	ExpiresAt time.Time
	// ID is the token identifier ("jti"). A strategy that needs one
	// generates it when empty and sets it here.
	ID string
	// KeyThumbprint binds the token to a key: the base64url JWK SHA-256
	// thumbprint (RFC 7638) of the key whose DPoP proofs must come with
	// it, the "jkt" member of the "cnf" claim (RFC 9449 §6.1, RFC 7800).
	// Empty for a bearer token.
	KeyThumbprint string
	// Extra holds additional claims from the application's claims hook.
	// They never override the registered claims above.
	Extra map[string]any
}

// AccessTokenStrategy mints access tokens and recognises them again.
//
// Opaque tokens and JWT access tokens (RFC 9068) both implement it; an
// application may add its own format.
type AccessTokenStrategy interface {
	// MintAccessToken returns a new token for the claims and the key its
	// storage record is kept under. The key must not be usable as the
	// token itself.
	MintAccessToken(ctx context.Context, c *Claims) (token, key string, err error)

	// AccessTokenKey checks a presented token's integrity without any
	// storage lookup and returns its storage key. A malformed or forged
	// token is ErrInvalid.
	AccessTokenKey(ctx context.Context, token string) (key string, err error)
}

// KeyPublisher is implemented by strategies whose tokens a third party
// verifies with public keys: the Provider serves JWKS at its jwks_uri
// (RFC 8414 §2; RFC 7517 §5).
type KeyPublisher interface {
	// JWKS returns the encoded public JWK Set.
	JWKS() ([]byte, error)
}
