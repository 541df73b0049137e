package grant

import (
	"context"
	"errors"
	"net/url"
	"time"

	"github.com/grantor-dev/grantor/oauth2"
	"github.com/grantor-dev/grantor/pkce"
	"github.com/grantor-dev/grantor/storage"
	"github.com/grantor-dev/grantor/token"
)

// GrantTypeAuthorizationCode is the grant_type of RFC 6749 §4.1.3.
const GrantTypeAuthorizationCode = "authorization_code"

// ResponseTypeCode is the response_type of RFC 6749 §4.1.1.
const ResponseTypeCode = "code"

// codePrefix starts every authorization code.
const codePrefix = "gr_ac_"

// AuthorizationCodeOptions configure the authorization code grant.
type AuthorizationCodeOptions struct {
	// CodeLifetime is how long a code may wait to be redeemed. It
	// defaults to 60 seconds (FAPI 2.0 §5.3.2.1; RFC 6749 §4.1.2 allows
	// at most 10 minutes, the most accepted here).
	CodeLifetime time.Duration
}

// AuthorizationCode returns the factory of the authorization code grant
// (RFC 6749 §4.1, OAuth 2.1 §4.1) over store. It answers both endpoints:
// at the authorization endpoint it issues a code when the application
// approves (response_type=code), and at the token endpoint it redeems it.
//
// A code is opaque, stored by its signature, single use, bound to the
// client, the redirect URI and the PKCE challenge of its request. A second
// redemption of a redeemed code is invalid_grant and revokes every token
// issued from it (RFC 6749 §4.1.2); a replay that fails a check before
// (another client, a wrong verifier, no client authentication) revokes
// nothing. The grant issues an access token and, when the client is
// registered for the refresh_token grant, a refresh token.
func AuthorizationCode(store storage.AuthorizationCodeStore, opts AuthorizationCodeOptions) oauth2.GrantFactory {
	return func(p *oauth2.Provider) (oauth2.GrantHandler, error) {
		if store == nil {
			return nil, errors.New("grant: AuthorizationCode needs a storage.AuthorizationCodeStore")
		}
		if opts.CodeLifetime == 0 {
			opts.CodeLifetime = 60 * time.Second
		}
		if opts.CodeLifetime < 0 || opts.CodeLifetime > 10*time.Minute {
			return nil, errors.New("grant: AuthorizationCodeOptions.CodeLifetime must be at most 10 minutes (RFC 6749 §4.1.2)")
		}
		codes, err := p.OpaqueFormat(codePrefix)
		if err != nil {
			return nil, err
		}
		return &authorizationCode{p: p, store: store, codes: codes, opts: opts}, nil
	}
}

type authorizationCode struct {
	p     *oauth2.Provider
	store storage.AuthorizationCodeStore
	codes *token.Opaque
	opts  AuthorizationCodeOptions
}

func (*authorizationCode) GrantType() string    { return GrantTypeAuthorizationCode }
func (*authorizationCode) ResponseType() string { return ResponseTypeCode }

// Authorize issues the code of an approved request (RFC 6749 §4.1.2).
func (h *authorizationCode) Authorize(ctx context.Context, a *oauth2.Authorization) (url.Values, error) {
	code, key, err := h.codes.Generate()
	if err != nil {
		return nil, oauth2.NewError(oauth2.ErrServerError, "the code could not be minted").WithCause(err)
	}
	grantID, err := h.p.NewID()
	if err != nil {
		return nil, oauth2.NewError(oauth2.ErrServerError, "randomness unavailable").WithCause(err)
	}
	if err := h.store.CreateAuthorizationCode(ctx, &storage.AuthorizationCode{
		Key: key, GrantID: grantID, Request: *a.Request, Subject: a.Subject, Scopes: a.Scopes,
		AuthTime: a.AuthTime, Claims: a.Claims, Extensions: a.Extensions,
		IssuedAt: a.Now, ExpiresAt: a.Now.Add(h.opts.CodeLifetime),
	}); err != nil {
		return nil, oauth2.StorageError("the code could not be stored", err)
	}
	return url.Values{"code": {code}}, nil
}

var errBadCode = oauth2.NewError(oauth2.ErrInvalidGrant, "the authorization code is invalid, expired or already used")

// HandleTokenRequest redeems a code (RFC 6749 §4.1.3, RFC 7636 §4.6).
func (h *authorizationCode) HandleTokenRequest(ctx context.Context, req *oauth2.TokenRequest) (*oauth2.Issue, error) {
	code := req.Form.Get("code")
	if code == "" {
		return nil, oauth2.NewError(oauth2.ErrInvalidRequest, "code is missing")
	}
	key, err := h.codes.Signature(code)
	if err != nil {
		return nil, errBadCode.WithCause(err)
	}
	rec, err := h.store.AuthorizationCode(ctx, key)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return nil, errBadCode
	case err != nil:
		return nil, oauth2.StorageError("the code could not be looked up", err)
	}
	// Every check that a replay must pass before it may revoke anything.
	if rec.Request.ClientID != req.Client.ID {
		return nil, errBadCode
	}
	if err := checkRedirectURI(rec, req.Form.Get("redirect_uri")); err != nil {
		return nil, err
	}
	if err := checkVerifier(rec, req.Form.Get("code_verifier")); err != nil {
		return nil, err
	}
	if rec.Request.DPoPKeyThumbprint != "" && rec.Request.DPoPKeyThumbprint != req.KeyThumbprint {
		// RFC 9449 §10: a code asked for with dpop_jkt is redeemed only
		// with a proof of that key, and replayed without it, proves
		// nothing.
		return nil, oauth2.NewError(oauth2.ErrInvalidGrant, "the code is bound to another DPoP key")
	}
	if !rec.ConsumedAt.IsZero() {
		return nil, h.replay(ctx, rec)
	}
	if !req.Now.Before(rec.ExpiresAt) {
		return nil, errBadCode
	}
	// The client's registration may have narrowed since it was
	// authorized: a code for what it may no longer have is refused.
	if oauth2.CheckScopeSubset(rec.Scopes, req.Client.Scopes) != nil ||
		oauth2.CheckScopeSubset(rec.Request.Resources, h.p.ClientAudience(req.Client)) != nil {
		return nil, oauth2.NewError(oauth2.ErrInvalidGrant, "the client may no longer have what the code grants")
	}
	return &oauth2.Issue{
		GrantID:  rec.GrantID,
		Subject:  rec.Subject,
		Scopes:   rec.Scopes,
		Audience: audienceOf(rec),
		Claims:   rec.Claims,
		// What the Provider's features keep with the grant, and the
		// request their parameters (an OpenID nonce) came with.
		Extensions:           rec.Extensions,
		AuthorizationRequest: &rec.Request,
		// The Provider issues it only to a client registered for refresh.
		RefreshToken: true,
		Consume: func(ctx context.Context) error {
			consumed, err := h.store.ConsumeAuthorizationCode(ctx, key, req.Now)
			switch {
			case errors.Is(err, storage.ErrConsumed):
				return h.replay(ctx, consumed)
			case errors.Is(err, storage.ErrNotFound):
				return errBadCode
			case err != nil:
				return oauth2.StorageError("the code could not be redeemed", err)
			}
			return nil
		},
	}, nil
}

// audienceOf returns the resources of the code's request, or nil for the
// client's default audience.
func audienceOf(rec *storage.AuthorizationCode) []string {
	if len(rec.Request.Resources) == 0 {
		return nil
	}
	return rec.Request.Resources
}

// checkRedirectURI enforces RFC 6749 §4.1.3: when the authorization
// request named a redirect_uri, the token request repeats it exactly; a
// redirect_uri sent anyway must be the one the code was issued to.
func checkRedirectURI(rec *storage.AuthorizationCode, given string) error {
	if given == "" && !rec.Request.RedirectURIGiven {
		return nil
	}
	if given != rec.Request.RedirectURI {
		return oauth2.NewError(oauth2.ErrInvalidGrant, "redirect_uri does not match the authorization request")
	}
	return nil
}

// checkVerifier enforces PKCE (RFC 7636 §4.6) and its downgrade rule (RFC
// 9700 §4.8.2): a code issued with a challenge needs the matching
// verifier; a code issued without one (an exempted client) must not come
// with a verifier at all.
func checkVerifier(rec *storage.AuthorizationCode, verifier string) error {
	if rec.Request.CodeChallenge == "" {
		if verifier != "" {
			return oauth2.NewError(oauth2.ErrInvalidRequest, "code_verifier sent for a code issued without code_challenge")
		}
		return nil
	}
	if verifier == "" {
		return oauth2.NewError(oauth2.ErrInvalidGrant, "code_verifier is missing")
	}
	if err := pkce.Verify(verifier, rec.Request.CodeChallenge, rec.Request.CodeChallengeMethod); err != nil {
		return oauth2.NewError(oauth2.ErrInvalidGrant, "code_verifier does not match the code_challenge").WithCause(err)
	}
	return nil
}

// replay answers a redeemed code presented again by its own client with
// the right verifier: the code has leaked, so every token issued from it
// is revoked (RFC 6749 §4.1.2, OAuth 2.1 §4.1.3).
func (h *authorizationCode) replay(ctx context.Context, rec *storage.AuthorizationCode) error {
	if err := h.p.RevokeGrant(ctx, rec.GrantID, rec.Request.ClientID, rec.Subject, "authorization code replay"); err != nil {
		return oauth2.StorageError("the grant could not be revoked", err)
	}
	return errBadCode
}
