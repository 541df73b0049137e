package storage

import (
	"context"
	"time"
)

// TokenKind tells access tokens and refresh tokens apart. A record of one
// kind is never accepted where the other is expected.
type TokenKind uint8

// The kinds of token records.
const (
	AccessToken TokenKind = iota + 1
	RefreshToken
)

// String returns the RFC 7009 token type hint of the kind.
func (k TokenKind) String() string {
	switch k {
	case AccessToken:
		return "access_token"
	case RefreshToken:
		return "refresh_token"
	default:
		return "unknown"
	}
}

// Token is the record of an issued access or refresh token. It never holds
// the token itself: Key is derived from it (the HMAC signature of an opaque
// token, the "jti" of a JWT), so the record alone cannot be used as a
// credential.
type Token struct {
	// Key is the storage key: the token's signature or JWT ID.
	Key string

	// Kind is AccessToken or RefreshToken.
	Kind TokenKind

	// GrantID names the grant the token belongs to. Revoking the grant
	// revokes every token with this GrantID.
	GrantID string

	// ClientID is the client the token was issued to.
	ClientID string

	// Subject is the resource owner, or the client's own subject for the
	// client credentials grant.
	Subject string

	// Scopes are the scopes the token carries. For a refresh token they
	// are the scopes of the whole grant, which later access tokens may
	// only narrow.
	Scopes []string

	// Audience is the token's intended audience.
	Audience []string

	// Claims are extra claims added by the application's claims hook,
	// returned by introspection and carried across refreshes.
	Claims map[string]any

	// Extensions are values a feature of the Provider keeps with the
	// grant, such as an OpenID Provider's record of how the user logged
	// in, for its ID tokens and UserInfo responses. Unlike Claims they
	// are never put into tokens nor returned by introspection; they are
	// carried across refreshes. Nil when there are none (a store may
	// return nil for an empty map, or an empty map for nil: both mean
	// none).
	Extensions map[string]string

	// IssuedAt and ExpiresAt bound the token's lifetime.
	IssuedAt  time.Time
	ExpiresAt time.Time

	// GrantExpiresAt is the absolute end of the grant: no refresh token
	// of the grant is valid after it, however recently it was rotated.
	// Zero means no absolute limit.
	GrantExpiresAt time.Time

	// AccessTokenLifetime and RefreshTokenLifetime are the lifetimes the
	// grant asked for when it began (oauth2.Issue), kept on a refresh
	// token so that its refreshes ask for them again. Zero means none.
	AccessTokenLifetime  time.Duration
	RefreshTokenLifetime time.Duration

	// KeyThumbprint binds the token to a key: the JWK SHA-256 thumbprint
	// (RFC 7638) of the key whose DPoP proofs must come with it (RFC 9449
	// §6.1 for access tokens, §5 for the refresh tokens of public
	// clients). Empty for a bearer token.
	KeyThumbprint string

	// ConsumedAt is set when a refresh token has been rotated. A consumed
	// token presented again is a reuse.
	ConsumedAt time.Time

	// RevokedAt is set when the token, or its whole grant, has been
	// revoked.
	RevokedAt time.Time
}

// Active reports whether the token is neither expired, revoked nor
// consumed at time now.
func (t *Token) Active(now time.Time) bool {
	return t.RevokedAt.IsZero() && t.ConsumedAt.IsZero() && !t.Expired(now)
}

// Expired reports whether, at time now, the token has passed its own end
// or its grant's.
func (t *Token) Expired(now time.Time) bool {
	return !now.Before(t.ExpiresAt) || !t.GrantExpiresAt.IsZero() && !now.Before(t.GrantExpiresAt)
}

// TokenStore keeps the records of issued tokens. The Provider requires one.
//
// Every record the Provider writes has a non-empty GrantID; a record
// created without one belongs to no grant, and no RevokeGrant call reaches
// it. Times passed in ("at") are never zero. Returned records are copies
// the caller may modify (see the package documentation).
type TokenStore interface {
	// CreateTokens stores the records atomically: all of them or none.
	// A record with an existing key is ErrDuplicate. A record whose
	// grant has been revoked is stored as revoked.
	CreateTokens(ctx context.Context, tokens ...*Token) error

	// Token returns the record stored under key, or ErrNotFound. Revoked
	// and consumed records are returned, with RevokedAt and ConsumedAt
	// set; expired ones may be ErrNotFound once deleted.
	Token(ctx context.Context, key string) (*Token, error)

	// RevokeToken marks one record revoked. An unknown key is
	// ErrNotFound. Revoking a revoked record keeps its first RevokedAt.
	RevokeToken(ctx context.Context, key string, at time.Time) error

	// RevokeGrant marks every record of the grant revoked, including
	// records created for the grant afterwards: a refresh that read its
	// token before the revocation may still write the grant's new tokens
	// after it. A record revoked already keeps its first RevokedAt, and
	// so does a grant revoked twice. The store remembers the revocation
	// while any record of the grant exists and for at least 24 hours.
	// Revoking an unknown grant is not an error. An empty grantID names
	// no grant: the call returns nil and revokes nothing, neither the
	// records created without a GrantID nor those created later.
	RevokeGrant(ctx context.Context, grantID string, at time.Time) error
}

// RefreshTokenStore adds the atomic rotation that the refresh_token grant
// needs (RFC 9700 §4.14.2).
type RefreshTokenStore interface {
	TokenStore

	// ConsumeToken marks the record under key consumed at time at and
	// returns it, whether or not it is revoked or expired (the caller
	// judges those). If it was consumed already it returns the record (with
	// the earlier ConsumedAt) and ErrConsumed; of many concurrent calls
	// for one key exactly one returns a nil error. An unknown key is
	// ErrNotFound.
	ConsumeToken(ctx context.Context, key string, at time.Time) (*Token, error)
}
