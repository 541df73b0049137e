package oauth2

import (
	"context"
	"net/url"
	"slices"
	"time"

	"github.com/grantor-dev/grantor/storage"
)

// ResponseTypeHandler answers approved authorization requests of one
// response_type (RFC 6749 §3.1.1). A GrantHandler that also implements it
// (the authorization code grant does, for "code") is registered for both
// endpoints.
type ResponseTypeHandler interface {
	// ResponseType is the response_type value handled.
	ResponseType() string

	// Authorize returns the parameters of the authorization response
	// (for "code", the code) once the application has approved a. The
	// Provider adds state and iss and writes the redirect.
	Authorize(ctx context.Context, a *Authorization) (url.Values, error)
}

// Approval is the application's decision to grant an authorization
// request, given to Provider.Approve.
type Approval struct {
	// Subject identifies the resource owner who approved ("sub"):
	// required, at most MaxSubjectBytes of UTF-8 without control
	// characters, and never starting with ClientSubjectPrefix, which
	// only clients' own tokens have.
	Subject string
	// Scopes are the scopes granted: a subset of those asked for. Nil
	// grants all of them.
	Scopes []string
	// AuthTime is when the resource owner authenticated. Zero means now,
	// and so does a time later than now: the user logged in before
	// approving.
	AuthTime time.Time
	// ACR is the Authentication Context Class Reference the login
	// satisfied, and AMR the authentication methods it used (OpenID
	// Connect Core §2; RFC 8176 registers method values such as "pwd",
	// "otp" and "mfa"). Optional: an OpenID Provider puts them into ID
	// tokens. At most MaxParameterBytes for ACR and MaxScopeValues methods
	// of that size, printable ASCII without spaces.
	ACR string
	AMR []string
	// Claims are extra claims for the access tokens of the grant.
	Claims map[string]any
}

// Authorization is an approved authorization request, as a
// ResponseTypeHandler receives it.
type Authorization struct {
	// Request is the validated authorization request.
	Request *storage.AuthorizationRequest
	// Client is the client that made it.
	Client *storage.Client
	// Subject, Scopes, AuthTime, ACR, AMR and Claims are the approval,
	// with Scopes resolved. AuthTime is zero, while the features'
	// ApprovalExtenders run, when the application reported none; the
	// Provider then sets it to now.
	Subject  string
	Scopes   []string
	AuthTime time.Time
	ACR      string
	AMR      []string
	Claims   map[string]any
	// Extensions are values the features of the Provider keep with the
	// grant (ApprovalExtender): the response type's handler stores them
	// with what it issues (storage.AuthorizationCode.Extensions) and the
	// grant's tokens carry them on. At most MaxExtensions values.
	Extensions map[string]string
	// RequestedAt is when the authorization request arrived (its
	// interaction started): a login at or after it was made for this
	// request, which a request for a fresh login (prompt=login, max_age)
	// accepts however long the consent took.
	RequestedAt time.Time
	// Now is the time of the approval on the Provider's clock.
	Now time.Time
}

// PendingAuthorization is what the application's login and consent pages
// need to know of an authorization request waiting for their decision.
type PendingAuthorization struct {
	// ID is the interaction id to pass back to Approve or Deny. It is
	// empty in the SilentAuthorize hook, which answers without one.
	ID string
	// Client is the client asking; show its Name.
	Client *storage.Client
	// RedirectURI is where the answer will go: a page that posts the
	// decision needs it in its Content-Security-Policy form-action, as
	// browsers check form-action on the redirect that follows the post.
	RedirectURI string
	// Scopes and Resources are what the client asks for.
	Scopes    []string
	Resources []string
	// Prompt holds the prompt values ("login": authenticate the user
	// again; "consent": ask again even if consent was given before;
	// "select_account": let the user choose an account).
	Prompt []string
	// Parameters are the request's extension parameters that the
	// Provider's features validated (storage.AuthorizationRequest
	// .Parameters), such as OpenID Connect's login_hint and max_age: a
	// copy. Package oidc reads them for its LoginContext.
	Parameters map[string]string
	// StartedAt is when the authorization request arrived and the
	// interaction started (now, in SilentAuthorize): a login at or after
	// it was made for this request.
	StartedAt time.Time
	// ExpiresAt is when the interaction ends (zero in SilentAuthorize).
	ExpiresAt time.Time
}

// HasPrompt reports whether the request asked for prompt value v.
func (pa *PendingAuthorization) HasPrompt(v string) bool { return slices.Contains(pa.Prompt, v) }
