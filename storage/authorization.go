package storage

import (
	"context"
	"time"
)

// AuthorizationRequest is a validated authorization request (RFC 6749
// §4.1.1, RFC 7636 §4.3, RFC 8707 §2), as the Provider keeps it between
// the authorization endpoint, the application's login and consent pages,
// and the token endpoint. It never holds a client credential.
type AuthorizationRequest struct {
	// ClientID is the client that made the request.
	ClientID string
	// RedirectURI is where the response goes: the request's redirect_uri,
	// or the client's only registered one when the request named none.
	RedirectURI string
	// RedirectURIGiven records that the request named redirect_uri; the
	// token request must then repeat it (RFC 6749 §4.1.3).
	RedirectURIGiven bool
	// ResponseType is the response_type asked for (RFC 6749 §3.1.1), which
	// names the handler that answers the approved request. Empty in
	// records written before it was kept means "code".
	ResponseType string
	// ResponseMode is "query" or "form_post".
	ResponseMode string
	// State is returned to the client unchanged.
	State string
	// Scopes are the scopes asked for (or the client's defaults).
	Scopes []string
	// Resources are the resource indicators asked for (RFC 8707).
	Resources []string
	// CodeChallenge and CodeChallengeMethod are the PKCE parameters
	// (RFC 7636 §4.3); empty only for a client exempted from PKCE.
	CodeChallenge       string
	CodeChallengeMethod string
	// Prompt holds the prompt values asked for ("none", "login",
	// "consent").
	Prompt []string
	// DPoPKeyThumbprint is the dpop_jkt of the request (RFC 9449 §10):
	// the thumbprint of the key whose DPoP proof must come with the
	// code's redemption. Empty when the request named none.
	DPoPKeyThumbprint string
	// Parameters are the request's extension parameters that a feature
	// of the Provider validated and keeps with it, such as the nonce and
	// max_age of an OpenID Connect request (OpenID Connect Core
	// §3.1.2.1), by parameter name. Nil when there are none (a store may
	// return nil for an empty map, or an empty map for nil: both mean
	// none). A parameter's value may be empty, and is kept.
	Parameters map[string]string
	// PushedKey is set when the request came through a pushed
	// authorization request (RFC 9126): the key of that record, consumed
	// when the request is decided (approved or denied). The Provider
	// completes the interaction first and consumes the pushed request
	// second, so of two interactions opened with one request_uri only one
	// gets an answer other than an error.
	PushedKey string
}

// Interaction is an authorization request waiting for the application's
// decision while its login and consent pages run.
type Interaction struct {
	// Key is the storage key: a digest of the interaction id, which
	// travels in URLs and is never stored itself.
	Key string
	// Request is the validated authorization request.
	Request AuthorizationRequest
	// BrowserBinding is a digest of the value of the cookie that binds
	// the interaction to the browser that started it.
	BrowserBinding string
	// CreatedAt and ExpiresAt bound the interaction's life.
	CreatedAt time.Time
	ExpiresAt time.Time
	// CompletedAt is set once the interaction has been approved or
	// denied; it cannot be completed twice.
	CompletedAt time.Time
	// DeviceAuthorizationKey is set when the interaction is the user's
	// verification of a device authorization (RFC 8628 §3.3): the Key of
	// its DeviceAuthorization. Request then holds only its client and
	// scopes.
	DeviceAuthorizationKey string
}

// InteractionStore keeps authorization requests between the authorization
// endpoint and the application's decision.
type InteractionStore interface {
	// CreateInteraction stores a new interaction; an existing key is
	// ErrDuplicate.
	CreateInteraction(ctx context.Context, i *Interaction) error
	// Interaction returns the interaction under key, completed or not,
	// or ErrNotFound.
	Interaction(ctx context.Context, key string) (*Interaction, error)
	// CompleteInteraction marks the interaction completed at time at and
	// returns it. If it was completed already it returns the record and
	// ErrConsumed; of concurrent calls exactly one returns a nil error.
	CompleteInteraction(ctx context.Context, key string, at time.Time) (*Interaction, error)
}

// AuthorizationCode is the record of an issued authorization code (RFC
// 6749 §4.1.2). It never holds the code itself: Key is its HMAC
// signature.
type AuthorizationCode struct {
	// Key is the storage key: the code's signature.
	Key string
	// GrantID names the grant the code starts. The tokens issued for the
	// code belong to it, so that a replay can revoke them all.
	GrantID string
	// Request is the authorization request the code answers, with the
	// client, redirect URI and PKCE challenge it is bound to.
	Request AuthorizationRequest
	// Subject is the resource owner who approved.
	Subject string
	// Scopes are the scopes granted (a subset of those asked for).
	Scopes []string
	// AuthTime is when the resource owner authenticated.
	AuthTime time.Time
	// Claims are extra claims the application attached to the approval.
	Claims map[string]any
	// Extensions are values a feature of the Provider keeps with the
	// grant the code starts (oauth2.Authorization.Extensions), such as the
	// login session an OpenID Provider's ID tokens name; the tokens issued
	// for the code carry them on (Token.Extensions). Nil when there are
	// none (a store may return nil for an empty map, or an empty map for
	// nil: both mean none).
	Extensions map[string]string
	// IssuedAt and ExpiresAt bound the code's life (60 s by default).
	IssuedAt  time.Time
	ExpiresAt time.Time
	// ConsumedAt is set once the code has been redeemed.
	ConsumedAt time.Time
}

// AuthorizationCodeStore keeps authorization codes and redeems each once.
type AuthorizationCodeStore interface {
	// CreateAuthorizationCode stores a new code record; an existing key
	// is ErrDuplicate.
	CreateAuthorizationCode(ctx context.Context, c *AuthorizationCode) error
	// AuthorizationCode returns the record under key, redeemed or not,
	// or ErrNotFound.
	AuthorizationCode(ctx context.Context, key string) (*AuthorizationCode, error)
	// ConsumeAuthorizationCode marks the code redeemed at time at and
	// returns it. If it was redeemed already it returns the record and
	// ErrConsumed; of concurrent calls exactly one returns a nil error.
	ConsumeAuthorizationCode(ctx context.Context, key string, at time.Time) (*AuthorizationCode, error)
}

// PushedRequest is a pushed authorization request (RFC 9126 §2), stored
// under a digest of its request_uri.
type PushedRequest struct {
	// Key is the storage key: a digest of the request_uri.
	Key string
	// Request is the validated authorization request; its ClientID is
	// the client that pushed it, the only one that may use it.
	Request AuthorizationRequest
	// CreatedAt and ExpiresAt bound its life.
	CreatedAt time.Time
	ExpiresAt time.Time
	// ConsumedAt is set once an authorization request made with it has
	// been approved or denied (RFC 9126 §4).
	ConsumedAt time.Time
}

// PushedRequestStore keeps pushed authorization requests and uses each
// once.
type PushedRequestStore interface {
	// CreatePushedRequest stores a new pushed request; an existing key is
	// ErrDuplicate.
	CreatePushedRequest(ctx context.Context, r *PushedRequest) error
	// PushedRequest returns the record under key, consumed or not, or
	// ErrNotFound.
	PushedRequest(ctx context.Context, key string) (*PushedRequest, error)
	// ConsumePushedRequest marks the request used at time at and returns
	// it. If it was used already it returns the record and ErrConsumed;
	// of concurrent calls exactly one returns a nil error.
	ConsumePushedRequest(ctx context.Context, key string, at time.Time) (*PushedRequest, error)
}
