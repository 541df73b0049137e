package grant

import (
	"context"
	"time"

	"github.com/grantor-dev/grantor/oauth2"
	"github.com/grantor-dev/grantor/storage"
)

// Allowance is what a policy lets one token exchange or JWT bearer request
// obtain. The grant applies it on top of its own rules, which it cannot
// loosen: scopes only narrow (to the subject token's and the client's), the
// audience stays within the client's registered audience, and no token
// outlives its subject token.
type Allowance struct {
	// Scopes are the most the issued token may carry. The request's scope
	// parameter must be within them; without one, the token gets all of
	// them that the other limits leave. Nil sets no limit of the policy's
	// own: the other limits apply alone (token exchange: the subject
	// token's scopes, or for a trusted issuer's JWT without a scope claim,
	// none; JWT bearer: the client's registered scopes, and without a
	// scope parameter its default scopes). An empty, non-nil slice allows
	// no scope.
	Scopes []string

	// Audience are the targets the issued token may be for. Every
	// audience and resource parameter of the request must be among them,
	// else invalid_target (RFC 8693 §2.2.2); without such parameters the
	// token is for all of them. Nil means the client's registered
	// audience (oauth2.Provider.ClientAudience), which bounds them in any
	// case; an empty, non-nil slice, or one with none of the client's
	// registered audience, allows no target (invalid_target).
	Audience []string

	// RefreshToken lets the response carry a refresh token as well (RFC
	// 8693 §2.2.1), when the client is registered for the refresh_token
	// grant. Its refreshes stay in the subject token's grant and end with
	// the subject token's life. A token exchange never gives one for a
	// refresh token (which has its own, rotated chain) or for a token
	// bound to a DPoP key (a confidential client's refresh token would
	// not be bound, and would outlast the binding).
	RefreshToken bool

	// AccessTokenLifetime, when positive, shortens the issued access
	// token's lifetime (the shorter of it and the client's applies, as for
	// oauth2.Issue).
	AccessTokenLifetime time.Duration

	// Claims are added to the issued token, as oauth2.Issue.Claims. They
	// may not set a registered claim (token.IsReservedClaim), nor act or
	// may_act, which the grant owns (RFC 8693 §4.1, §4.4).
	Claims map[string]any
}

// PresentedToken is a subject or actor token of a token exchange request
// (RFC 8693 §2.1), after the grant verified it: one of this server's
// active tokens (Record is set) or a JWT of a trusted issuer (JWT is set).
// Its slices and maps are shared: a policy must not modify them.
type PresentedToken struct {
	// Type is the token type the client declared (TokenTypeAccessToken,
	// TokenTypeRefreshToken or TokenTypeJWT).
	Type string
	// Issuer is the token's issuer: this server's issuer identifier for
	// its own tokens, the JWT's iss otherwise.
	Issuer string
	// Subject is the token's subject. For a subject token that is a JWT
	// of a trusted issuer, it is the subject the options' MapSubject gave,
	// the one the issued token will carry; the JWT's own "sub" is in JWT.
	Subject string
	// ClientID is the client this server issued the token to; empty for
	// a JWT of another issuer.
	ClientID string
	// Scopes are the token's scopes: the record's, or the JWT's "scope"
	// claim (nil without one).
	Scopes []string
	// Audience is the token's audience.
	Audience []string
	// ExpiresAt is the end of the token's life: the issued token ends no
	// later.
	ExpiresAt time.Time
	// Claims are the record's extra claims, or every claim of the JWT.
	Claims map[string]any
	// Record is the record of one of this server's tokens, nil for a JWT
	// of another issuer.
	Record *storage.Token
	// JWT is the verified JWT of a trusted issuer, nil for this server's
	// tokens.
	JWT *oauth2.TrustedJWT
}

// refreshToken reports whether t is one of this server's refresh tokens.
func (t *PresentedToken) refreshToken() bool {
	return t.Record != nil && t.Record.Kind == storage.RefreshToken
}

// bound reports whether t is bound to a DPoP key: a record's
// KeyThumbprint, or a JWT's cnf (RFC 7800 §3).
func (t *PresentedToken) bound() bool {
	if t.Record != nil {
		return t.Record.KeyThumbprint != ""
	}
	_, ok := t.Claims["cnf"]
	return ok
}

// TokenExchangeRequest is what a TokenExchangePolicy decides on: a client
// asking to exchange a subject token (and perhaps an actor token) for a
// token with these scopes, for this audience.
type TokenExchangeRequest struct {
	// Client is the authenticated client.
	Client *storage.Client
	// Subject is the subject token.
	Subject *PresentedToken
	// Actor is the actor token, nil for an impersonation (RFC 8693 §1.1).
	Actor *PresentedToken
	// Audience holds the audience parameters, Resources the resource
	// parameters (RFC 8693 §2.1, RFC 8707 §2); nil when absent.
	Audience  []string
	Resources []string
	// Scopes is the scope parameter, nil when absent.
	Scopes []string
	// Now is the time of the request.
	Now time.Time
}

// TokenExchangePolicy decides which token exchanges a client may make (RFC
// 8693 §5: the authorization server must decide whether the client may
// exchange this subject token for this target).
//
// AllowExchange returns what the exchange may obtain, or nil to refuse it
// (the client gets unauthorized_client). An *oauth2.Error is answered as
// it is (invalid_target for a target the client may not have, say); any
// other error is answered as server_error. It runs after the grant has
// verified both tokens and checked that they may be exchanged by this
// client at all.
type TokenExchangePolicy interface {
	AllowExchange(ctx context.Context, req *TokenExchangeRequest) (*Allowance, error)
}

// TokenExchangePolicyFunc adapts a function to TokenExchangePolicy.
type TokenExchangePolicyFunc func(ctx context.Context, req *TokenExchangeRequest) (*Allowance, error)

// AllowExchange calls f.
func (f TokenExchangePolicyFunc) AllowExchange(ctx context.Context, req *TokenExchangeRequest) (*Allowance, error) {
	return f(ctx, req)
}

// JWTBearerRequest is what a JWTBearerPolicy decides on: a client
// presenting an assertion (RFC 7523 §2.1) for a subject.
type JWTBearerRequest struct {
	// Client is the authenticated client.
	Client *storage.Client
	// Assertion is the verified assertion.
	Assertion *oauth2.TrustedJWT
	// Subject is the subject MapSubject gave the assertion's "sub".
	Subject string
	// Scopes is the scope parameter, nil when absent.
	Scopes []string
	// Resources are the resource parameters (RFC 8707), nil when absent.
	Resources []string
	// Now is the time of the request.
	Now time.Time
}

// JWTBearerPolicy decides what an assertion obtains. AllowAssertion
// returns the allowance, or nil to refuse the assertion (invalid_grant,
// RFC 7523 §3.1). An *oauth2.Error is answered as it is; any other error
// as server_error.
type JWTBearerPolicy interface {
	AllowAssertion(ctx context.Context, req *JWTBearerRequest) (*Allowance, error)
}

// JWTBearerPolicyFunc adapts a function to JWTBearerPolicy.
type JWTBearerPolicyFunc func(ctx context.Context, req *JWTBearerRequest) (*Allowance, error)

// AllowAssertion calls f.
func (f JWTBearerPolicyFunc) AllowAssertion(ctx context.Context, req *JWTBearerRequest) (*Allowance, error) {
	return f(ctx, req)
}

// SubjectMapper maps the subject of a trusted issuer's JWT to a subject of
// this server: the "sub" of the tokens issued for it. Issuers name their
// users independently, so "alice" of one issuer is neither "alice" of
// another nor a local "alice"; the mapping is the host application's to
// decide (its user table, or a namespaced form such as issuer + "#" +
// sub). Returning an error refuses the JWT: an *oauth2.Error is answered as
// it is, any other error as the grant's refusal (invalid_request for a
// subject token, invalid_grant for an assertion).
type SubjectMapper func(ctx context.Context, client *storage.Client, jwt *oauth2.TrustedJWT) (string, error)
