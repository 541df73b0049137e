package oauth2

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"github.com/grantor-dev/grantor/storage"
)

// GrantHandler handles token requests of one grant type (RFC 6749 §4,
// and the extension grants of later RFCs).
//
// The Provider has parsed the request, authenticated the client and
// checked that the client is registered for the grant type when it calls
// HandleTokenRequest. The handler validates its own parameters without
// changing anything, and returns what to issue together with its use-once
// step (Issue.Consume: consuming a code, rotating a refresh token). The
// Provider then finishes its own checks, mints the tokens, calls Consume,
// and stores and returns the tokens: a request refused at any step before
// Consume uses nothing up. Errors should be *Error values; any other error
// is answered as server_error.
//
// What the handler returns, the Provider checks before it mints anything,
// whichever grant it is, Grantor's or the application's:
//   - the Issue is not nil;
//   - Subject is not empty, at most MaxSubjectBytes of UTF-8 without
//     control characters, and when it starts with ClientSubjectPrefix, it
//     names the requesting client (RFC 9700 §4.15);
//   - Scopes are within the client's registered scopes, and within
//     GrantScopes when those are set (RFC 6749 §6: a refresh only narrows);
//   - Audience is within ClientAudience: the client's registered audience,
//     or else the Provider's default; the resource parameters, within it;
//   - Claims use no registered claim name (token.IsReservedClaim);
//   - ResponseParameters name none of the token response's own members;
//   - a new grant's GrantScopes are within the client's registered scopes;
//   - lifetimes (the Issue's and the client's) are zero or at least a
//     second, and are capped by the Provider's maximums
//     (Config.MaxAccessTokenLifetime, MaxRefreshTokenLifetime);
//     GrantExpiresAt is capped by Config.GrantLifetime, and no token
//     outlives it.
//
// A violation is a programming error in the grant: the client gets
// server_error and no token, and the error logged names the grant type and
// the rule. A refresh token is issued only when RefreshToken asks for one,
// the client is registered for refresh_token and the Provider has a
// refresh_token grant (a refresh token nobody can redeem is never issued);
// otherwise the response simply has none.
//
// The Provider keeps the Issue's slices and maps as they are: the handler
// must not modify them once it has returned (in Consume, say).
//
// What remains the handler's: that the credential it redeems (a code, a
// refresh token, an assertion) is valid, unexpired, unused and was issued
// to this client; that the resource owner it names (Subject) really
// authorised this client; that GrantID, when set, is a grant of this
// subject that this client may continue: its own, or one whose token it
// was allowed to exchange (RFC 8693), so that revoking the grant revokes
// its tokens too (the Provider does not look grants up); and that
// the scopes and audience fit what that resource owner approved, not only
// what the client may have.
type GrantHandler interface {
	// GrantType is the grant_type value this handler answers.
	GrantType() string

	// HandleTokenRequest validates req and returns what to issue.
	HandleTokenRequest(ctx context.Context, req *TokenRequest) (*Issue, error)
}

// GrantFactory builds a GrantHandler for a Provider. Factories are passed
// in Config.Grants and called once by NewProvider, which hands them the
// Provider so that the handler can use its clock, its issuer and its
// refresh token format. A factory returns an error for an incomplete
// configuration.
type GrantFactory func(p *Provider) (GrantHandler, error)

// TokenRequest is a parsed token request from an authenticated client
// (RFC 6749 §3.2).
type TokenRequest struct {
	// GrantType is the grant_type parameter.
	GrantType string
	// Client is the authenticated client.
	Client *storage.Client
	// Form holds the body parameters. Duplicates have been refused,
	// empty values removed, and client credentials (client_secret,
	// client_assertion) taken out.
	Form url.Values
	// Scopes is the parsed scope parameter, nil when it was absent.
	Scopes []string
	// Resources are the resource parameters (RFC 8707 §2), each an
	// absolute URI without a fragment; nil when there were none. The
	// Provider narrows the access token's audience to them.
	Resources []string
	// KeyThumbprint is the JWK SHA-256 thumbprint (RFC 7638) of the key
	// of the request's DPoP proof, checked by the Provider (RFC 9449
	// §4.3); empty without a proof. The Provider binds the access token
	// (and a public client's refresh token) to it; a grant whose
	// credential is bound to a key checks that it is this one.
	KeyThumbprint string
	// Now is the time of the request on the Provider's clock.
	Now time.Time
	// HTTPRequest is the underlying request. Its body has been read.
	HTTPRequest *http.Request
}

// Issue is what a GrantHandler asks the Provider to issue.
type Issue struct {
	// GrantID continues an existing grant (a refresh). Empty starts a
	// new grant.
	GrantID string
	// Subject is the resource owner, or the client's own subject when no
	// resource owner is involved (RFC 9068 §2.2).
	Subject string
	// Scopes are the access token's scopes.
	Scopes []string
	// GrantScopes are the scopes of the grant, kept on the refresh token
	// so that later refreshes can ask for them again. Nil means Scopes.
	GrantScopes []string
	// Audience is the audience the grant allows: the access token's
	// "aud", unless the request names resources (RFC 8707), which must
	// then be among it. It must be within Provider.ClientAudience; empty
	// means all of that.
	Audience []string
	// Claims are extra claims of the grant, put into access tokens and
	// carried across refreshes.
	Claims map[string]any
	// RefreshToken asks for a refresh token as well. The Provider issues
	// one only to a client registered for the refresh_token grant, and
	// only while that grant is registered with it.
	RefreshToken bool
	// AccessTokenLifetime is the lifetime of the access token, kept with
	// the grant's refresh token for its refreshes (the refresh grant asks
	// for it again). Zero means
	// the client's (storage.Client.AccessTokenLifetime), or else the
	// Provider's default (Config.AccessTokenLifetime); when both the grant
	// and the client name one, the shorter applies. It is capped by
	// Config.MaxAccessTokenLifetime and by the grant's end.
	AccessTokenLifetime time.Duration
	// RefreshTokenLifetime is the idle lifetime of the refresh token,
	// chosen and capped as AccessTokenLifetime is (Config.
	// RefreshTokenLifetime, MaxRefreshTokenLifetime).
	RefreshTokenLifetime time.Duration
	// GrantExpiresAt is the absolute end of the grant. Zero, or anything
	// later, means now plus Config.GrantLifetime.
	GrantExpiresAt time.Time
	// ResponseParameters are members the grant adds to the token response
	// (RFC 6749 §5.1 allows more than its own), such as issued_token_type
	// (RFC 8693 §2.2.1). Names are lower-case letters, digits and
	// underscores, at most MaxResponseParameters of them, none of the
	// response's own (access_token, token_type, expires_in, refresh_token,
	// scope) or an error's; values are UTF-8 text of at most
	// MaxTokenParameterBytes. They appear after the Provider's members,
	// in the order of their names.
	ResponseParameters map[string]string
	// Extensions are values the Provider's features keep with the grant
	// (storage.Token.Extensions), such as an OpenID Provider's record of
	// the user's login: the Provider stores them with the access and
	// refresh tokens, and a grant that continues an existing grant (a
	// refresh) returns those of the token it redeems. At most
	// MaxExtensions values, named as ResponseParameters are.
	Extensions map[string]string
	// AuthorizationRequest is the authorization request the grant was
	// approved from, when the grant redeems its answer now (a code):
	// features read their parameters from it (storage.AuthorizationRequest
	// .Parameters), such as the nonce of an OpenID Connect request. Nil
	// otherwise.
	AuthorizationRequest *storage.AuthorizationRequest
	// Consume, when set, is the handler's atomic use-once step. The
	// Provider calls it once every check has passed and the tokens are
	// minted, just before it stores them; its error is the response. If
	// the tokens then cannot be stored, the Provider revokes the grant
	// (GrantID), so a consumed credential never leaves a live grant
	// behind without its tokens.
	Consume func(ctx context.Context) error
}
