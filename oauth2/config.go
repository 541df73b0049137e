package oauth2

import (
	"context"
	"io"
	"log/slog"
	"time"

	"github.com/grantor-dev/grantor/storage"
	"github.com/grantor-dev/grantor/token"
)

// Config configures a Provider. It is a plain struct: the zero value of
// every optional field is a safe default, and NewProvider refuses a
// configuration that is unsafe or incomplete.
type Config struct {
	// Issuer is the authorization server's issuer identifier (RFC 8414
	// §2): an https URL with no query or fragment and no trailing slash.
	// http is accepted only for loopback hosts, for development.
	// Required.
	Issuer string

	// Clients looks up registered clients. Required.
	Clients storage.ClientStore

	// Tokens stores the records of issued tokens. Required.
	Tokens storage.TokenStore

	// TokenKeys are the HMAC keys that sign opaque tokens: refresh
	// tokens always, access tokens unless AccessTokens is set. The first
	// key signs; every key verifies, so a new key can be put first while
	// tokens signed by the old one stay valid. Each is at least 32 random
	// bytes. Required.
	TokenKeys [][]byte

	// AccessTokens mints access tokens. Nil means opaque tokens signed
	// with TokenKeys; token.NewJWT gives JWT access tokens (RFC 9068).
	AccessTokens token.AccessTokenStrategy

	// Grants are the grant types the token endpoint accepts, as factories
	// from package grant or the application. Two factories for one
	// grant_type are a configuration error.
	Grants []GrantFactory

	// ClientAuthenticators are the client authentication methods
	// accepted. Nil means client_secret_basic, client_secret_post and
	// none. Two authenticators for one method are a configuration error.
	ClientAuthenticators []ClientAuthenticator

	// AccessTokenLifetime defaults to one hour.
	AccessTokenLifetime time.Duration
	// RefreshTokenLifetime is how long a refresh token stays valid
	// unused (its idle lifetime); each rotation starts it again. It
	// defaults to 30 days.
	RefreshTokenLifetime time.Duration
	// GrantLifetime is the absolute lifetime of a grant: no refresh
	// token of it is valid after that, however recently it was rotated.
	// It defaults to 90 days.
	GrantLifetime time.Duration

	// DefaultAudience is the "aud" of access tokens whose client
	// registers no audience. It defaults to the issuer.
	DefaultAudience []string

	// ScopesSupported are advertised in the metadata document
	// (RFC 8414 §2). Optional.
	ScopesSupported []string

	// AccessTokenClaims, when set, is called before each access token
	// is minted and may add claims to claims.Extra (it cannot replace the
	// registered ones). Returning an error refuses the request; return
	// an *Error to choose the response.
	AccessTokenClaims func(ctx context.Context, req *TokenRequest, claims *token.Claims) error

	// Events receives an Event for each token issued, grant revoked,
	// refresh token reused and client authentication failed. Optional.
	Events EventFunc

	// Logger receives the Provider's log records. It never receives a
	// secret or a token. Nil discards.
	Logger *slog.Logger

	// Clock returns the current time. Nil means time.Now.
	Clock func() time.Time

	// Rand is the source of randomness for tokens and identifiers. Nil
	// means crypto/rand.
	Rand io.Reader

	// MaxRequestBytes limits the body of requests to the Provider's
	// endpoints. It defaults to 64 KiB.
	MaxRequestBytes int64

	// AuthFailureLimit is how many failed authentications a client may
	// have within AuthFailureWindow before further attempts are refused
	// with 429 until the window has passed (RFC 6749 §2.3.1 requires
	// protection against brute force). Zero means 10; a negative value
	// switches throttling off.
	AuthFailureLimit int
	// AuthFailureWindow defaults to one minute.
	AuthFailureWindow time.Duration
}

// Defaults.
const (
	defaultAccessTokenLifetime  = time.Hour
	defaultRefreshTokenLifetime = 30 * 24 * time.Hour
	defaultGrantLifetime        = 90 * 24 * time.Hour
	defaultMaxRequestBytes      = 64 << 10
	defaultAuthFailureLimit     = 10
	defaultAuthFailureWindow    = time.Minute
)
