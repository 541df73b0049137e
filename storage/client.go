package storage

import (
	"context"
	"time"
)

// Client is a registered OAuth client (RFC 6749 §2, RFC 7591 §2).
//
// Fields are plain data so a Client can be written as a literal in tests and
// loaded from any database. The zero value of every optional field is the
// safe default.
type Client struct {
	// ID is the client identifier (RFC 6749 §2.2).
	ID string

	// Name is a human-readable name, shown on consent pages.
	Name string

	// SecretHash is the hashed client secret in a self-describing format
	// (see oauth2.HashClientSecret and oauth2.GenerateClientSecret). It is
	// empty for public clients. The secret itself is never stored.
	SecretHash string

	// TokenEndpointAuthMethod is the one client authentication method the
	// client may use (RFC 7591 §2): "client_secret_basic",
	// "client_secret_post", "client_secret_jwt", "private_key_jwt" or
	// "none". Empty means "client_secret_basic" when SecretHash is set and
	// "none" otherwise.
	TokenEndpointAuthMethod string

	// TokenEndpointAuthSigningAlg restricts the JWS algorithm of the
	// client's assertions (RFC 7591 §2). Empty allows every algorithm the
	// Provider accepts for the method.
	TokenEndpointAuthSigningAlg string

	// JWKS is the client's public key set as a JSON document (RFC 7517
	// §5), used to verify private_key_jwt assertions. At most one of JWKS
	// and JWKSURI is set.
	JWKS []byte

	// JWKSURI is where the client's public key set is published
	// (RFC 7591 §2). It is fetched with a timeout, a size limit and a
	// refusal of non-public addresses unless the Provider allows them.
	JWKSURI string

	// RedirectURIs are the registered redirection endpoints (RFC 6749
	// §3.1.2), matched exactly.
	RedirectURIs []string

	// GrantTypes are the grant types the client may use at the token
	// endpoint. A request for any other is refused with
	// unauthorized_client.
	GrantTypes []string

	// Scopes are the scopes the client may be granted. A request for any
	// other is refused with invalid_scope.
	Scopes []string

	// DefaultScopes are granted when a request names no scope (RFC 6749
	// §3.3). They must be a subset of Scopes.
	DefaultScopes []string

	// Audience is the audience ("aud", RFC 9068 §3) of access tokens
	// issued to this client, and the resources it may name with the
	// resource parameter (RFC 8707 §2) to narrow it. Empty means the
	// Provider's default audience.
	Audience []string

	// Resources are the resource identifiers this client acts for as a
	// resource server; it may introspect access tokens whose aud names one
	// of them (RFC 7662 §4). A client may always introspect the tokens
	// issued to itself; it sees no other client's refresh token.
	Resources []string

	// PKCEOptional exempts a confidential client from PKCE (RFC 9700
	// §2.1.1), for legacy confidential clients that cannot send one.
	// It is ignored for public clients. A code issued without a challenge
	// is then redeemed without a code_verifier, and one that comes with a
	// code_verifier anyway is refused (the downgrade of RFC 9700 §4.8.2).
	PKCEOptional bool

	// RequirePushedAuthorizationRequests makes the client use pushed
	// authorization requests (RFC 9126 §6): a plain authorization request
	// is refused.
	RequirePushedAuthorizationRequests bool

	// DPoPBoundAccessTokens makes the client send a DPoP proof with every
	// token request, so that all its access tokens are bound to a key
	// (RFC 9449 §5.2, dpop_bound_access_tokens).
	DPoPBoundAccessTokens bool

	// AccessTokenLifetime is how long the client's access tokens live.
	// Zero means the Provider's default. A grant may shorten it further;
	// nothing lengthens it past the Provider's maximum.
	AccessTokenLifetime time.Duration
	// RefreshTokenLifetime is the idle lifetime of the client's refresh
	// tokens, as AccessTokenLifetime is for access tokens.
	RefreshTokenLifetime time.Duration

	// The OpenID Connect registration of the client (OpenID Connect
	// Dynamic Client Registration 1.0 §2, RP-Initiated Logout 1.0 §3.1,
	// Back-Channel Logout 1.0 §2.2), used by package oidc.

	// SubjectType is "public" (every client sees a user's one "sub") or
	// "pairwise" (OpenID Connect Core §8.1: a "sub" of the client's own
	// sector, unrelated to other sectors'). Empty means the OpenID
	// Provider's default, public unless configured otherwise.
	SubjectType string
	// SectorIdentifierURI is an https URL whose JSON array lists the
	// client's redirect URIs (OpenID Connect Core §8.1): its host is the
	// sector of a pairwise client's subjects, shared with the clients
	// that name it. Empty: the host of the client's one redirect URI.
	SectorIdentifierURI string
	// IDTokenSignedResponseAlg is the JWS algorithm of the client's ID
	// tokens. Empty means the OpenID Provider's default (ES256).
	IDTokenSignedResponseAlg string
	// UserinfoSignedResponseAlg, when set, makes the UserInfo endpoint
	// answer the client with a JWT signed with this algorithm
	// (application/jwt) rather than JSON.
	UserinfoSignedResponseAlg string
	// RequireAuthTime puts auth_time into every ID token of the client.
	RequireAuthTime bool
	// DefaultMaxAge is the max_age of the client's authorization requests
	// that send none (OpenID Connect Core §3.1.2.1). Zero means none.
	DefaultMaxAge time.Duration
	// PostLogoutRedirectURIs are where the end-session endpoint may send
	// the browser after a logout the client started, matched exactly.
	PostLogoutRedirectURIs []string
	// BackchannelLogoutURI, when set, receives a logout token when a
	// login session the client took part in ends.
	BackchannelLogoutURI string
	// BackchannelLogoutSessionRequired puts "sid" into the client's ID
	// tokens and logout tokens.
	BackchannelLogoutSessionRequired bool

	// Disabled clients cannot authenticate; their refresh tokens stop
	// working.
	Disabled bool
}

// AuthMethod returns the client's token endpoint authentication method,
// applying the default described on TokenEndpointAuthMethod.
func (c *Client) AuthMethod() string {
	switch {
	case c.TokenEndpointAuthMethod != "":
		return c.TokenEndpointAuthMethod
	case c.SecretHash != "":
		return "client_secret_basic"
	default:
		return "none"
	}
}

// IsPublic reports whether the client has no credentials of its own
// (authentication method "none", RFC 6749 §2.1).
func (c *Client) IsPublic() bool { return c.AuthMethod() == "none" }

// AllowsGrantType reports whether grantType is registered for the client.
func (c *Client) AllowsGrantType(grantType string) bool {
	for _, g := range c.GrantTypes {
		if g == grantType {
			return true
		}
	}
	return false
}

// ClientStore looks up registered clients.
type ClientStore interface {
	// Client returns the client with the given ID, or ErrNotFound. The
	// client is a copy the caller may modify, as every returned record
	// is (see the package documentation).
	Client(ctx context.Context, id string) (*Client, error)
}
