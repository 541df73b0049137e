package oidc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"

	"github.com/grantor-dev/grantor/oauth2"
	"github.com/grantor-dev/grantor/resource"
	"github.com/grantor-dev/grantor/storage"
)

// userInfoHandler builds the UserInfo endpoint (Core §5.3): the resource
// middleware's rules for the access token (Bearer, or DPoP when the
// Provider takes DPoP, with no downgrade of a bound token to Bearer, RFC
// 9449 §7.2), then the openid scope, then the claims.
func (o *Provider) userInfoHandler() http.Handler {
	cfg := resource.Config{
		Validator: activeTokens{o.p},
		// Core §5.3.1: the request may be a GET or a POST, with the token
		// in the Authorization header or (RFC 6750 §2.2) the form body.
		AllowFormToken: true,
		Logger:         o.p.Logger(),
	}
	if v := o.p.DPoPVerifier(); v != nil {
		u, _ := url.Parse(o.p.Issuer()) // checked by NewProvider
		cfg.DPoP = &resource.DPoP{Verifier: v, BaseURL: u.Scheme + "://" + u.Host}
	}
	inner := resource.RequireScopes(ScopeOpenID)(http.HandlerFunc(o.writeUserInfo))
	return resource.Middleware(cfg)(inner)
}

// serveUserInfo serves the UserInfo endpoint.
func (o *Provider) serveUserInfo(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	o.userInfo.ServeHTTP(w, r)
}

// activeTokens is the resource.Validator of the UserInfo endpoint: the
// Provider's own answer to "is this access token active?"
// (oauth2.Provider.ActiveToken), as introspection gives it.
type activeTokens struct{ p *oauth2.Provider }

func (v activeTokens) Validate(ctx context.Context, tok string) (*resource.Token, error) {
	rec, err := v.p.ActiveToken(ctx, tok, storage.AccessToken)
	switch {
	case errors.Is(err, oauth2.ErrInactiveToken):
		return nil, &resource.InvalidTokenError{Description: "the access token is invalid, expired or revoked", Err: err}
	case err != nil:
		return nil, fmt.Errorf("%w: %w", resource.ErrUnavailable, err)
	}
	t := &resource.Token{
		Subject: rec.Subject, ClientID: rec.ClientID, Scopes: rec.Scopes, Audience: rec.Audience,
		ExpiresAt: rec.ExpiresAt, IssuedAt: rec.IssuedAt, ID: rec.Key, KeyThumbprint: rec.KeyThumbprint,
		Record: rec,
	}
	return t, nil
}

// writeUserInfo answers a UserInfo request whose access token the
// middleware accepted and which grants openid.
func (o *Provider) writeUserInfo(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	t, _ := resource.FromContext(ctx)
	rec := t.Record
	if _, ok := rec.Extensions[extAuthTime]; !ok || !signedInTo(rec.Extensions, rec.ClientID) {
		// A token with the openid scope that no OpenID Connect
		// authorization of its client issued (client credentials, say,
		// or a token exchanged to another client) has no user to
		// describe to that client.
		insufficientScope(w, t, "the access token was not issued for an OpenID Connect authorization of its client")
		return
	}
	client, err := o.p.Client(ctx, rec.ClientID)
	if err != nil {
		// ActiveToken checked the client a moment ago: the store failed.
		o.unavailable(w, r, err)
		return
	}
	claims, err := o.userClaims(ctx, rec.Subject, client, rec.Scopes, rec.Extensions[extClaims], targetUserInfo)
	if err != nil {
		o.unavailable(w, r, err)
		return
	}
	if claims == nil {
		claims = make(map[string]any, 1)
	}
	sub, err := o.subjectFor(ctx, client, rec.Subject)
	if err != nil {
		o.unavailable(w, r, err)
		return
	}
	claims["sub"] = sub // Core §5.3.2: always, and ours
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	if alg := client.UserinfoSignedResponseAlg; alg != "" {
		o.writeSignedUserInfo(w, r, client, alg, claims)
		return
	}
	b, err := json.Marshal(claims)
	if err != nil {
		o.unavailable(w, r, err)
		return
	}
	h.Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}

// writeSignedUserInfo answers with a signed JWT (Core §5.3.2): the claims,
// with iss and aud, as application/jwt.
func (o *Provider) writeSignedUserInfo(w http.ResponseWriter, r *http.Request, client *storage.Client, alg string, claims map[string]any) {
	if o.signers[alg] == nil {
		o.unavailable(w, r, fmt.Errorf("oidc: client %q asks for UserInfo signed with %q, which no key source signs", client.ID, alg))
		return
	}
	claims["iss"] = o.p.Issuer()
	claims["aud"] = client.ID
	payload, err := json.Marshal(claims)
	if err == nil {
		var jwt string
		if jwt, err = o.sign(r.Context(), alg, idTokenType, payload); err == nil {
			w.Header().Set("Content-Type", "application/jwt")
			_, _ = w.Write([]byte(jwt))
			return
		}
	}
	o.unavailable(w, r, err)
}

// unavailable answers 503 for a failure of the store, the ClaimsSource or
// the keys, which it logs; an *oauth2.Error of the ClaimsSource is
// answered with its own status.
func (o *Provider) unavailable(w http.ResponseWriter, r *http.Request, err error) {
	var oe *oauth2.Error
	if errors.As(err, &oe) && oe.Code != oauth2.ErrServerError {
		oauth2.WriteError(w, oe)
		return
	}
	o.p.Logger().LogAttrs(r.Context(), slog.LevelError, "userinfo request failed", slog.String("error", err.Error()))
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Retry-After", "5")
	w.WriteHeader(http.StatusServiceUnavailable)
}

// insufficientScope answers 403 insufficient_scope (RFC 6750 §3.1), in
// the token's scheme (RFC 9449 §7.1).
func insufficientScope(w http.ResponseWriter, t *resource.Token, desc string) {
	scheme := "Bearer"
	if t.KeyThumbprint != "" {
		scheme = "DPoP"
	}
	h := w.Header()
	h.Set("WWW-Authenticate", scheme+` error="insufficient_scope", error_description="`+desc+`", scope="openid"`)
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusForbidden)
}
