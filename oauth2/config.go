package oauth2

import (
	"context"
	"io"
	"log/slog"
	"net/http"
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
	// http is accepted only for loopback hosts, for development. Its
	// path, if any, is written one way only: no percent-escapes, only
	// letters, digits and -._~$&+,:;=@ between its slashes, and no empty,
	// "." or ".." segment (RFC 3986 §6), so that endpoint URLs made from
	// it reach Handler as written. Required.
	Issuer string

	// Clients looks up registered clients. Required.
	Clients storage.ClientStore

	// Tokens stores the records of issued tokens. Required.
	Tokens storage.TokenStore

	// TokenKeys are the HMAC keys that sign opaque tokens: refresh
	// tokens always, access tokens unless AccessTokens is set. The first
	// key signs; every key verifies, so a new key can be put first while
	// tokens signed by the old one stay valid. Each is at least 32 random
	// bytes. They also key the digests that user codes are stored under.
	// Set TokenKeys or TokenKeySet.
	TokenKeys [][]byte

	// TokenKeySet, set instead of TokenKeys, holds HMAC keys that may
	// change while the Provider runs: token.StoredMACKeys keeps them in
	// the store, sealed, so that every instance over one database signs
	// and verifies with the same keys, a rotation reaches all of them,
	// and tokens survive a restart.
	TokenKeySet *token.MACKeySet

	// AccessTokens mints access tokens. Nil means opaque tokens signed
	// with TokenKeys; token.NewJWT gives JWT access tokens (RFC 9068).
	AccessTokens token.AccessTokenStrategy

	// Grants are the grant types the token endpoint accepts, as factories
	// from package grant or the application; at least one is required.
	// Each handler's grant type is one of RFC 6749's (authorization_code,
	// client_credentials, refresh_token) or an absolute URI (RFC 6749
	// §4.5). The password grant is refused (RFC 9700 §2.4), and so are two
	// factories for one grant_type.
	Grants []GrantFactory

	// Features are parts of the authorization server beyond its grant
	// types, such as OpenID Connect (oidc.New), as factories. Optional.
	Features []FeatureFactory
	// ClientAuthenticators are the client authentication methods
	// accepted. Nil means client_secret_basic, client_secret_post and
	// none. Two authenticators for one method are a configuration error.
	ClientAuthenticators []ClientAuthenticator

	// Interactions stores authorization requests while the application's
	// login and consent pages run, and the device authorizations that its
	// verification page is verifying. Required when a grant that answers
	// the authorization endpoint (grant.AuthorizationCode) or issues user
	// codes (grant.DeviceCode) is registered.
	Interactions storage.InteractionStore

	// LoginURL is where the authorization endpoint sends the browser once
	// a request is validated, with the query parameter interaction=ID; the
	// application's pages then call PendingAuthorization, Approve or Deny
	// with that id. Set it or StartInteraction, not both.
	LoginURL string

	// StartInteraction, set instead of LoginURL, is called by the
	// authorization endpoint with the new interaction id, to render the
	// application's login page in the same response.
	StartInteraction func(w http.ResponseWriter, r *http.Request, interactionID string)

	// SilentAuthorize answers requests with prompt=none without showing a
	// page: return an Approval, or an *Error with ErrLoginRequired,
	// ErrConsentRequired or ErrInteractionRequired. Nil answers every such
	// request with login_required.
	SilentAuthorize func(ctx context.Context, r *http.Request, pa *PendingAuthorization) (*Approval, error)

	// InteractionLifetime bounds how long a user may take to log in and
	// consent. It defaults to 30 minutes.
	InteractionLifetime time.Duration

	// InteractionRateLimit is how many interactions one client address
	// (ClientAddress) may start a minute: authorization requests stored
	// for the login pages, each kept for InteractionLifetime. Beyond it
	// the request is redirected to the client with
	// temporarily_unavailable (RFC 6749 §4.1.2.1), so that one address
	// cannot fill the store for everyone: at 600 a minute and the default
	// 30-minute lifetime it holds at most 18,000 interactions, fewer than
	// memory.Store keeps. Behind a reverse proxy, set ClientAddress, or
	// every user shares the proxy's budget. Zero means 600; a negative
	// value switches the limit off.
	InteractionRateLimit int

	// UserCodeAttempts is how many user codes one browser may try on the
	// verification page of the device grant (PendingDeviceAuthorization)
	// within UserCodeAttemptWindow; one client address (ClientAddress)
	// may try four times as many, for the users behind one address.
	// Beyond that, attempts are refused with a *ThrottledError until the
	// window ends, without a lookup (RFC 8628 §5.1). Each attempt is
	// counted before its lookup, so that concurrent guesses cannot slip
	// past. A browser is its binding cookie, which a guesser can drop:
	// against one, the address's budget is the limit, and the windows
	// being aligned (storage.Limiter), a burst across the end of one can
	// spend two budgets. With the default user codes (8 characters of 20,
	// about 34.5 bits) and 10,000 live codes, the 20 attempts an address
	// has in a window succeed with a chance of about 1 in 130,000. The
	// address's budget is shared by everyone behind it (a carrier's NAT):
	// a third party there can spend it, so set ClientAddress carefully
	// behind a proxy. Zero means 5; a negative value switches the limit
	// off, which only a deployment with a limit of its own in front
	// should do.
	UserCodeAttempts int
	// UserCodeAttemptWindow defaults to 10 minutes, the default lifetime
	// of a device code.
	UserCodeAttemptWindow time.Duration

	// UserCodeAccount, when set, names the account of a verification page
	// request: the user its session is logged in as, "" for none. The
	// codes an account tries count against a budget of their own, as large
	// as a browser's (UserCodeAttempts), so that one session that drops its
	// cookies and changes its address is throttled all the same (RFC 8628
	// §5.1). Set it when the page needs a login, as it should.
	UserCodeAccount func(r *http.Request) string

	// AllowPlainPKCE accepts code_challenge_method=plain (RFC 7636 §4.2).
	// Off by default: RFC 9700 §2.1.1 asks for S256.
	AllowPlainPKCE bool

	// PushedRequests enables the pushed authorization request endpoint
	// (RFC 9126) and stores its requests.
	PushedRequests storage.PushedRequestStore

	// PushedRequestLifetime is the expires_in of a request_uri, between
	// 5 seconds and 10 minutes. It defaults to 90 seconds.
	PushedRequestLifetime time.Duration

	// PushedRequestRateLimit is how many pushed authorization requests a
	// client may make per minute before it is answered 429 (RFC 9126
	// §2.3). Each is counted before it is validated. A confidential client
	// has a budget of its own, which only it can spend; a public client,
	// which anyone can name, has one per client address (the peer of the
	// connection, never a forwarded header), so that a third party cannot
	// spend its budget. Zero means 60; a negative value switches the limit
	// off.
	PushedRequestRateLimit int

	// RequirePushedAuthorizationRequests refuses authorization requests
	// that do not come through the PAR endpoint, for every client (RFC
	// 9126 §5). Clients can also require it one by one.
	RequirePushedAuthorizationRequests bool

	// ErrorPage, when set, renders the errors of the authorization
	// endpoint that cannot be redirected to the client (an unknown client
	// or redirect URI). It must not redirect.
	ErrorPage func(w http.ResponseWriter, r *http.Request, err *Error)

	// AccessTokenLifetime is the lifetime of access tokens whose grant
	// (Issue.AccessTokenLifetime) and client (storage.Client) name none.
	// It defaults to one hour.
	AccessTokenLifetime time.Duration
	// MaxAccessTokenLifetime caps every access token's lifetime, whatever
	// its grant or client asks for. Zero means AccessTokenLifetime: grants
	// and clients may then only shorten it.
	MaxAccessTokenLifetime time.Duration
	// RefreshTokenLifetime is how long a refresh token stays valid
	// unused (its idle lifetime); each rotation starts it again. It
	// applies when neither the grant nor the client names one, and
	// defaults to 30 days.
	RefreshTokenLifetime time.Duration
	// MaxRefreshTokenLifetime caps every refresh token's idle lifetime, as
	// MaxAccessTokenLifetime does for access tokens. Zero means
	// RefreshTokenLifetime.
	MaxRefreshTokenLifetime time.Duration
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

	// DPoP, when set, accepts DPoP proofs (RFC 9449) at the token
	// endpoint and binds the access tokens issued with one to the proof's
	// key (token_type DPoP, cnf.jkt), and the refresh tokens of public
	// clients too. Nil means DPoP is off: a DPoP header is ignored and
	// tokens are Bearer tokens (RFC 9449 §5), and a client registered
	// with dpop_bound_access_tokens is refused.
	DPoP *DPoPConfig

	// AccessTokenClaims, when set, is called before each access token
	// is minted. It may add claims to claims.Extra, and it may shorten the
	// token's life by moving claims.ExpiresAt earlier (expires_in and the
	// token's record follow). Anything else is a programming error that
	// fails the request with server_error, never a token: a later or
	// already past ExpiresAt, a change to another registered claim (iss,
	// sub, aud, client_id, scope, iat, jti, cnf), or an Extra claim with a
	// registered name (token.IsReservedClaim). Returning an error refuses
	// the request; return an *Error to choose the response.
	AccessTokenClaims func(ctx context.Context, req *TokenRequest, claims *token.Claims) error

	// Events receives an Event for each token issued or revoked, grant
	// revoked, refresh token reused, client authentication failed and
	// caller throttled. Optional.
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

	// Limiter counts the events every throttle of the Provider limits:
	// attempts at slow-hashed client secrets, pushed authorization
	// requests, device authorization requests, user codes tried on the
	// verification page, introspections of tokens that are not this
	// server's. Nil
	// means an in-memory limiter of this process (memory.NewLimiter);
	// Provider instances that serve one issuer together should share one,
	// so that N instances do not give an attacker N times the budget.
	Limiter storage.Limiter

	// ClientAddress returns what the per-address budgets of the throttles
	// count a request's client by. Nil means PeerAddress: the
	// connection's peer, IPv6 by its /56. Behind a reverse proxy every
	// request comes from the proxy, so that the clients behind it would
	// share one budget: set it to read the proxy's header (X-Forwarded-For,
	// Forwarded) for connections from the proxy only, and pass the address
	// through AddressKey. Never trust such a header from anyone else (RFC
	// 9700 §4.13).
	ClientAddress func(r *http.Request) string

	// AuthFailureLimit is how many attempts at a client's slow-hashed
	// secret (HashClientSecret, bcrypt) from one client address
	// (ClientAddress) may be verified within AuthFailureWindow before
	// further ones are refused with 429 and Retry-After until the window
	// ends, without a check (RFC 6749 §2.3.1 requires protection against
	// brute force); all addresses together may make ten times as many, and
	// one address ten times as many at all clients. Each attempt is
	// counted before it is verified, so concurrent guesses cannot slip
	// past the limit. Attempts with the client's correct secret that the
	// Provider verified within the last hour are recognised without a slow
	// hash and not counted, so the failures of others do not lock the
	// client out; and secrets made by GenerateClientSecret are never
	// throttled, since 256 random bits cannot be guessed. Requests that
	// name an unknown client with a secret are counted per address, all
	// unknown clients together. Zero means 10; a negative value switches
	// throttling off.
	AuthFailureLimit int
	// AuthFailureWindow defaults to one minute.
	AuthFailureWindow time.Duration

	// SlowHashConcurrency bounds how many slow client secret hashes
	// (argon2id takes 19 MiB and tens of milliseconds each) run at once;
	// an attempt that finds every slot busy for a second is answered 503
	// with Retry-After. Zero means 4.
	SlowHashConcurrency int

	// IntrospectionScanLimit is how many introspections of tokens that
	// are not this server's (malformed, forged, signed with a key it no
	// longer has, or without a record) one caller may make per minute
	// before the Provider logs a warning and emits
	// EventIntrospectionThrottled (RFC 7662 §4 asks for protection
	// against token scanning). Answers do not change: every token is
	// checked for integrity before any storage read, so a scan costs no
	// lookup, and a limit must never make a resource server refuse its
	// users' valid tokens. Zero means 1000; a negative value switches the
	// warning off.
	IntrospectionScanLimit int
}

// Defaults.
const (
	defaultAccessTokenLifetime    = time.Hour
	defaultRefreshTokenLifetime   = 30 * 24 * time.Hour
	defaultGrantLifetime          = 90 * 24 * time.Hour
	defaultMaxRequestBytes        = 64 << 10
	defaultAuthFailureLimit       = 10
	defaultAuthFailureWindow      = time.Minute
	defaultInteractionLifetime    = 30 * time.Minute
	defaultPushedLifetime         = 90 * time.Second
	defaultPushedRequestRateLimit = 60
	defaultIntrospectionScanLimit = 1000
	defaultSlowHashConcurrency    = 4
	defaultInteractionRateLimit   = 600
	defaultUserCodeAttempts       = 5
	defaultUserCodeAttemptWindow  = 10 * time.Minute
)
