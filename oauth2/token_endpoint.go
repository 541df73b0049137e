package oauth2

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/grantor-dev/grantor/storage"
	"github.com/grantor-dev/grantor/token"
)

// TokenHandler returns the token endpoint (RFC 6749 §3.2). It parses the
// request, authenticates the client, dispatches on grant_type to the
// registered GrantHandler, and mints, stores and returns the tokens the
// handler asks for. Responses carry Cache-Control: no-store (RFC 6749
// §5.1); errors are JSON (RFC 6749 §5.2).
func (p *Provider) TokenHandler() http.Handler { return http.HandlerFunc(p.serveToken) }

func (p *Provider) serveToken(w http.ResponseWriter, r *http.Request) {
	var resp tokenResponse
	if err := p.handleTokenRequest(w, r, &resp); err != nil {
		p.writeError(w, r, err)
		return
	}
	writeTokenResponse(w, &resp)
}

// tokenResponse is the successful response of RFC 6749 §5.1.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token,omitempty"`
	Scope        string `json:"scope,omitempty"`
	// Extra are the grant's members (Issue.ResponseParameters), written
	// after these in the order of their names.
	Extra map[string]string `json:"-"`
}

// handleTokenRequest answers a token request, filling resp when it
// succeeds. resp is the caller's, so that it need not live on the heap.
func (p *Provider) handleTokenRequest(w http.ResponseWriter, r *http.Request, resp *tokenResponse) error {
	ctx := r.Context()
	form, err := p.readForm(w, r)
	if err != nil {
		return err
	}
	grantType := form.Get("grant_type")
	if grantType == "" {
		return NewError(ErrInvalidRequest, "grant_type is missing")
	}
	client, err := p.authenticateClient(ctx, r, form, p.TokenEndpoint())
	if err != nil {
		return err
	}
	handler, ok := p.handlers[grantType]
	if !ok {
		return NewError(ErrUnsupportedGrantType, "the grant type is not supported")
	}
	if !client.AllowsGrantType(grantType) {
		return NewError(ErrUnauthorizedClient, "the client is not registered for this grant type")
	}
	scopes, err := ParseScope(form.Get("scope"))
	if err != nil {
		return err
	}
	resources, err := parseResources(form["resource"])
	if err != nil {
		return err
	}
	// The proof is checked once the client is known and the request's
	// own parameters are well-formed: a signature is dearer than they.
	thumbprint, err := p.checkDPoP(ctx, w, r, p.dpopVerifier(false), p.tokenEndpoint, client)
	if err != nil {
		return err
	}
	req := &TokenRequest{GrantType: grantType, Client: client, Form: form, Scopes: scopes, Resources: resources,
		KeyThumbprint: thumbprint, Now: p.clock(), HTTPRequest: r}
	issue, err := handler.HandleTokenRequest(ctx, req)
	if err != nil {
		return err
	}
	return p.issueTokens(ctx, req, issue, resp)
}

// issueTokens mints the tokens an Issue asks for, stores their records in
// one atomic write, and fills the response (RFC 6749 §5.1).
func (p *Provider) issueTokens(ctx context.Context, req *TokenRequest, is *Issue, resp *tokenResponse) error {
	if err := p.checkIssue(req, is); err != nil {
		return err
	}
	now, client := req.Now, req.Client
	grantID := is.GrantID
	if grantID == "" { // a new grant
		var err error
		if grantID, err = p.newID(); err != nil {
			return NewError(ErrServerError, "randomness unavailable").WithCause(err)
		}
	}
	grantAudience := is.Audience
	if len(grantAudience) == 0 {
		grantAudience = p.ClientAudience(client)
	}
	audience := grantAudience
	if req.Resources != nil {
		// RFC 8707 §2: the token is for the resources asked for, each of
		// which the grant must allow.
		for _, r := range req.Resources {
			if !slices.Contains(grantAudience, r) {
				return NewError(ErrInvalidTarget, "the requested resource is not allowed for this client")
			}
		}
		audience = req.Resources
	}
	// No token outlives its grant: one minted shortly before the grant's
	// absolute end expires with it (RFC 9700 §4.14.2 bounds a grant's
	// life; a token of it must not extend that).
	grantExpiresAt := p.grantExpiry(req, is)
	if grantExpiresAt.Sub(now) < minTokenLifetime {
		return NewError(ErrInvalidGrant, "the grant has expired")
	}
	lifetime := tokenLifetime(is.AccessTokenLifetime, client.AccessTokenLifetime, p.accessTokenLifetime, p.maxAccessTokenLifetime)
	// The subject the client sees (SubjectMapper), in a JWT access token
	// as at introspection; the records keep the grant's own.
	outward, err := p.clientSubject(ctx, is.Subject, client.ID, client)
	if err != nil {
		return StorageError("the token's subject could not be mapped", err)
	}
	claims := token.Claims{
		Issuer:    p.issuer,
		Subject:   outward,
		Audience:  audience,
		ClientID:  client.ID,
		Scopes:    is.Scopes,
		IssuedAt:  now,
		ExpiresAt: earlier(now.Add(lifetime), grantExpiresAt),
		Extra:     is.Claims,
		// RFC 9449 §6.1: the access token is bound to the proof's key.
		KeyThumbprint: req.KeyThumbprint,
	}
	if p.claimsHook != nil {
		if err := p.applyClaimsHook(ctx, req, &claims); err != nil {
			return err
		}
	}
	if name, ok := reservedClaimIn(claims.Extra); ok {
		// A programming error (in the claims hook or an approval), the
		// same for every token format: fail loudly rather than let an
		// extra claim shadow a registered one.
		return NewError(ErrServerError, "the access token could not be minted").
			WithCause(fmt.Errorf("oauth2: an extra claim has the registered name %q", name))
	}
	accessToken, accessKey, err := p.accessTokens.MintAccessToken(ctx, &claims)
	if err != nil {
		return NewError(ErrServerError, "the access token could not be minted").WithCause(err)
	}
	access := &storage.Token{
		Key:           accessKey,
		Kind:          storage.AccessToken,
		GrantID:       grantID,
		ClientID:      client.ID,
		Subject:       is.Subject,
		Scopes:        is.Scopes,
		Audience:      audience,
		Claims:        claims.Extra,
		Extensions:    is.Extensions,
		IssuedAt:      now,
		ExpiresAt:     claims.ExpiresAt,
		KeyThumbprint: claims.KeyThumbprint,
	}
	*resp = tokenResponse{AccessToken: accessToken, TokenType: "Bearer", ExpiresIn: int64(claims.ExpiresAt.Sub(now) / time.Second)}
	if claims.KeyThumbprint != "" {
		resp.TokenType = "DPoP" // RFC 9449 §5
	}
	if req.Scopes == nil && len(is.Scopes) > 0 || req.Scopes != nil && !sameScopes(req.Scopes, is.Scopes) {
		resp.Scope = FormatScope(is.Scopes)
	}
	resp.Extra = is.ResponseParameters

	var refresh *storage.Token
	if is.RefreshToken && p.refreshTokenAllowed(client) {
		if resp.RefreshToken, refresh, err = p.mintRefreshToken(req, is, grantID, grantAudience, grantExpiresAt); err != nil {
			return err
		}
	}
	if len(p.features.responses) > 0 {
		issued := &IssuedTokens{Request: req, Issue: is, GrantID: grantID, AccessToken: accessToken,
			AccessTokenClaims: &claims, RefreshToken: resp.RefreshToken, Now: now}
		if err := p.extendTokenResponse(ctx, issued, resp); err != nil {
			return err
		}
	}
	return p.commitTokens(ctx, req, is, grantID, access, refresh)
}

// commitTimeout bounds the commit phase of a token request, which runs on
// when the client goes away.
const commitTimeout = 10 * time.Second

// commitTokens is the commit phase of a token request: the grant's
// use-once step (Issue.Consume), then one atomic write of the token
// records, or, when that write fails after the step, the revocation of the
// grant. With a use-once step it runs to its end even if the client
// cancels the request, under a timeout of its own: stopped between its
// steps, it would leave a consumed code or refresh token with neither new
// tokens nor a revoked grant. Without one, the write alone is atomic, and
// a cancelled request stops it.
func (p *Provider) commitTokens(ctx context.Context, req *TokenRequest, is *Issue, grantID string, access, refresh *storage.Token) error {
	if is.Consume != nil {
		// A request cancelled before the commit starts consumes nothing:
		// the client's retry must find its code or refresh token intact.
		if err := ctx.Err(); err != nil {
			return err
		}
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), commitTimeout)
		defer cancel()
	}
	client := req.Client
	if is.Consume != nil {
		if err := is.Consume(ctx); err != nil {
			return err
		}
	}
	var err error
	if refresh == nil {
		err = p.tokens.CreateTokens(ctx, access)
	} else {
		err = p.tokens.CreateTokens(ctx, access, refresh)
	}
	if err != nil {
		if is.Consume != nil {
			// What the grant was continued with has been consumed. Revoke
			// the grant rather than leave it half-rotated, with a time of
			// its own: the write may have spent the commit's.
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), commitTimeout)
			defer cancel()
			if rerr := p.RevokeGrant(rctx, grantID, client.ID, is.Subject, "token records could not be stored"); rerr != nil {
				p.logger.LogAttrs(ctx, slog.LevelError, "revoking a grant after a failed token write failed",
					slog.String("grant_id", grantID), slog.String("error", rerr.Error()))
			}
		}
		return StorageError("the tokens could not be stored", err)
	}
	if p.events != nil { // the event's TokenKinds is allocated only for a hook
		kinds := []storage.TokenKind{storage.AccessToken}
		if refresh != nil {
			kinds = append(kinds, storage.RefreshToken)
		}
		p.Emit(ctx, Event{Type: EventTokenIssued, Time: req.Now, ClientID: client.ID, Subject: is.Subject, GrantID: grantID, GrantType: req.GrantType, TokenKinds: kinds})
	}
	return nil
}

// grantExpiry is the absolute end of the grant an Issue continues or
// starts: Issue.GrantExpiresAt, or now plus Config.GrantLifetime, and never
// later than that.
func (p *Provider) grantExpiry(req *TokenRequest, is *Issue) time.Time {
	end := req.Now.Add(p.grantLifetime)
	if !is.GrantExpiresAt.IsZero() {
		return earlier(is.GrantExpiresAt, end)
	}
	return end
}

// earlier returns the earlier of a and b.
func earlier(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// mintRefreshToken returns a new refresh token of the grant and its record.
// Its idle lifetime starts now; it never outlives the grant.
func (p *Provider) mintRefreshToken(req *TokenRequest, is *Issue, grantID string, audience []string, grantExpiresAt time.Time) (string, *storage.Token, error) {
	now := req.Now
	lifetime := tokenLifetime(is.RefreshTokenLifetime, req.Client.RefreshTokenLifetime, p.refreshTokenLifetime, p.maxRefreshTokenLifetime)
	expiresAt := earlier(now.Add(lifetime), grantExpiresAt)
	grantScopes := is.GrantScopes
	if grantScopes == nil {
		grantScopes = is.Scopes
	}
	value, key, err := p.refreshTokens.Generate()
	if err != nil {
		return "", nil, NewError(ErrServerError, "the refresh token could not be minted").WithCause(err)
	}
	return value, &storage.Token{
		Key:            key,
		Kind:           storage.RefreshToken,
		GrantID:        grantID,
		ClientID:       req.Client.ID,
		Subject:        is.Subject,
		Scopes:         grantScopes,
		Audience:       audience,
		Claims:         is.Claims,
		Extensions:     is.Extensions,
		IssuedAt:       now,
		ExpiresAt:      expiresAt,
		GrantExpiresAt: grantExpiresAt,
		// The grant's own lifetimes, for its refreshes to ask for again.
		AccessTokenLifetime:  is.AccessTokenLifetime,
		RefreshTokenLifetime: is.RefreshTokenLifetime,
		KeyThumbprint:        refreshBinding(req),
	}, nil
}

// refreshBinding is the key a new refresh token is bound to: a public
// client's, which has no credentials of its own to protect it, is bound
// to the key of its DPoP proof (RFC 9449 §5); a confidential client's is
// not, as its client authentication does that.
func refreshBinding(req *TokenRequest) string {
	if req.Client.IsPublic() {
		return req.KeyThumbprint
	}
	return ""
}

// writeError logs what the client must not see, then writes the error.
// Every 401 carries a WWW-Authenticate challenge (RFC 9110 §15.5.2; RFC
// 6749 §5.2): Basic, the scheme every client authentication method of
// RFC 6749 §2.3.1 can fall back to, unless the error brings its own.
func (p *Provider) writeError(w http.ResponseWriter, r *http.Request, err error) {
	oe := p.logFailure(r, AsError(err))
	if oe.HTTPStatus() == http.StatusUnauthorized && oe.Header.Get("Www-Authenticate") == "" {
		c := *oe
		c.Header = oe.Header.Clone()
		if c.Header == nil {
			c.Header = make(http.Header, 1)
		}
		c.Header.Set("Www-Authenticate", p.basicChallenge)
		oe = &c
	}
	WriteError(w, oe)
}

// writeTokenResponse writes a successful token response (RFC 6749 §5.1),
// the bytes writeJSON would write, appended by hand when it can (see
// plainObject).
func writeTokenResponse(w http.ResponseWriter, resp *tokenResponse) {
	buf := jsonBuffers.Get().(*[]byte)
	o := newPlainObject(*buf)
	o.str("access_token", resp.AccessToken, false)
	o.str("token_type", resp.TokenType, false)
	o.int("expires_in", resp.ExpiresIn)
	o.str("refresh_token", resp.RefreshToken, true)
	o.str("scope", resp.Scope, true)
	var extra []string // the grant's member names, in order
	if len(resp.Extra) > 0 {
		extra = slices.Sorted(maps.Keys(resp.Extra))
		for _, name := range extra {
			o.str(name, resp.Extra[name], false)
		}
	}
	b, plain := o.end()
	if !plain {
		putJSONBuffer(buf, b)
		heapResp := *resp // so that resp itself stays on the caller's stack
		if len(extra) == 0 {
			writeJSON(w, http.StatusOK, "no-store", &heapResp)
			return
		}
		writeJSONWithExtra(w, &heapResp, extra)
		return
	}
	b = append(b, '\n') // as json.Encoder ends its output
	setHeaders(w.Header(), "application/json", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
	putJSONBuffer(buf, b)
}

// writeJSONWithExtra writes resp as writeJSON would, its Extra members,
// named in order in names, after the others: the bytes the appended
// encoding gives when every string is plain.
func writeJSONWithExtra(w http.ResponseWriter, resp *tokenResponse, names []string) {
	b, err := json.Marshal(resp)
	if err != nil { // a struct of strings and a number: cannot happen
		WriteError(w, NewError(ErrServerError, "the token response could not be encoded").WithCause(err))
		return
	}
	b = b[:len(b)-1] // the closing brace
	for _, name := range names {
		b = append(b, ',')
		b, _ = appendJSONString(b, name)
		b = append(b, ':')
		b, _ = appendJSONString(b, resp.Extra[name])
	}
	b = append(b, '}', '\n')
	setHeaders(w.Header(), "application/json", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

// appendJSONString appends s encoded as a JSON string, as encoding/json
// encodes it.
func appendJSONString(b []byte, s string) ([]byte, error) {
	enc, err := json.Marshal(s)
	return append(b, enc...), err
}

// writeJSON writes v as a JSON response with the given Cache-Control:
// "no-store" for anything that carries a credential (RFC 6749 §5.1),
// "no-cache, no-store" for PAR (RFC 9126 §2.2).
func writeJSON(w http.ResponseWriter, status int, cacheControl string, v any) {
	setHeaders(w.Header(), "application/json", cacheControl)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// setHeaders sets the Content-Type, Cache-Control and Pragma: no-cache
// headers of a response that must not be cached (RFC 6749 §5.1), replacing
// any values they had, as Header.Set would. The three values share one
// allocation instead of one each; each is a slice of its own with no room
// to grow, so that appending to one cannot overwrite another.
func setHeaders(h http.Header, contentType, cacheControl string) {
	v := []string{contentType, cacheControl, "no-cache"}
	h["Content-Type"], h["Cache-Control"], h["Pragma"] = v[0:1:1], v[1:2:2], v[2:3:3]
}

// parseResources checks resource parameters (RFC 8707 §2): each an
// absolute URI without a fragment, else invalid_target.
func parseResources(values []string) ([]string, error) {
	if len(values) == 0 {
		return nil, nil
	}
	for _, v := range values {
		u, err := url.Parse(v)
		if err != nil || !u.IsAbs() || u.Fragment != "" || strings.Contains(v, "#") {
			return nil, NewError(ErrInvalidTarget, "a resource must be an absolute URI without a fragment")
		}
	}
	return slices.Compact(slices.Sorted(slices.Values(values))), nil
}

// reservedClaimIn returns the first name in extra that only the Provider
// may set (token.IsReservedClaim).
func reservedClaimIn(extra map[string]any) (string, bool) {
	for name := range extra {
		if token.IsReservedClaim(name) {
			return name, true
		}
	}
	return "", false
}
