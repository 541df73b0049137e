package oauth2

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/grantor-dev/grantor/pkce"
	"github.com/grantor-dev/grantor/storage"
)

// Prompt values understood by the authorization endpoint (OpenID Connect
// Core §3.1.2.1, used by OAuth clients alike).
const (
	PromptNone    = "none"
	PromptLogin   = "login"
	PromptConsent = "consent"
)

// requestURIPrefix starts every request_uri the Provider issues (RFC 9126
// §2.2).
const requestURIPrefix = "urn:ietf:params:oauth:request_uri:"

// AuthorizeHandler returns the authorization endpoint (RFC 6749 §3.1,
// §4.1.1). It validates the whole request before anything else sees it —
// the client, then the redirect URI (exact match), then everything else —
// and stores it under a single-use interaction id for the application's
// login and consent pages (Config.LoginURL or Config.StartInteraction).
//
// Until the client and the redirect URI are known to be valid, errors are
// shown as an error page and never redirected (RFC 6749 §4.1.2.1); after
// that they are redirected to the client with error, state and iss.
//
// When no grant answers the authorization endpoint (no grant.AuthorizationCode
// is registered), the endpoint is not enabled and the handler answers 404.
func (p *Provider) AuthorizeHandler() http.Handler {
	if !p.authorizeEnabled() {
		return p.disabled("no grant answers the authorization endpoint")
	}
	return http.HandlerFunc(p.serveAuthorize)
}

func (p *Provider) serveAuthorize(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	params, err := p.authorizeParams(w, r)
	if err != nil {
		p.errorPage(w, r, err)
		return
	}
	req, client, err := p.parseAuthorizationRequest(ctx, params)
	if err != nil {
		if req == nil {
			p.errorPage(w, r, err)
		} else {
			p.redirectError(w, r, req, err)
		}
		return
	}
	if req.PushedKey == "" && (p.requirePAR || client.RequirePushedAuthorizationRequests) {
		p.redirectError(w, r, req, NewError(ErrInvalidRequest, "this client must use pushed authorization requests"))
		return
	}
	if slices.Contains(req.Prompt, PromptNone) {
		p.authorizeSilently(w, r, req, client)
		return
	}
	if err := p.startInteraction(w, r, req); err != nil {
		p.redirectError(w, r, req, err)
	}
}

// authorizeParams returns the parameters of an authorization request: the
// query of a GET, the form body of a POST (RFC 6749 §3.1).
func (p *Provider) authorizeParams(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	var params url.Values
	var err error
	switch r.Method {
	case http.MethodGet:
		if len(r.URL.RawQuery) > MaxAuthorizationQueryBytes {
			return nil, queryTooLong()
		}
		if params, err = url.ParseQuery(r.URL.RawQuery); err != nil {
			return nil, NewError(ErrInvalidRequest, "the request's query is not valid form encoding")
		}
	case http.MethodPost:
		mediaType, _, perr := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if perr != nil || mediaType != formMediaType {
			return nil, NewError(ErrInvalidRequest, "the body must be application/x-www-form-urlencoded")
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, p.maxRequestBytes))
		if err != nil {
			return nil, &Error{Code: ErrInvalidRequest, Description: "the request body is too large or unreadable", Status: http.StatusRequestEntityTooLarge}
		}
		if params, err = url.ParseQuery(string(body)); err != nil {
			return nil, NewError(ErrInvalidRequest, "the request body is not valid form encoding")
		}
	default:
		w.Header().Set("Allow", "GET, POST")
		return nil, &Error{Code: ErrInvalidRequest, Description: "the method must be GET or POST", Status: http.StatusMethodNotAllowed}
	}
	// Only the bounds here: the values are checked once the client and
	// its redirect URI are known, so that their errors are redirected.
	if err := checkParameterBounds(params); err != nil {
		return nil, err
	}
	return params, nil
}

// param returns the single value of a parameter, "" when it is absent or
// empty (an empty value counts as absent), and dup when it is repeated.
func param(params url.Values, name string) (value string, dup bool) {
	vs := params[name]
	switch {
	case len(vs) > 1:
		return "", true
	case len(vs) == 1:
		return vs[0], false
	default:
		return "", false
	}
}

// parseAuthorizationRequest validates an authorization request. When the
// returned error comes with a nil request, the client or the redirect URI
// is not valid and the error must be shown as a page; otherwise it is
// redirected to the request's (validated) redirect URI.
func (p *Provider) parseAuthorizationRequest(ctx context.Context, params url.Values) (*storage.AuthorizationRequest, *storage.Client, error) {
	clientID, dupID := param(params, "client_id")
	redirectURI, dupURI := param(params, "redirect_uri")
	requestURI, dupReqURI := param(params, "request_uri")
	if dupID || dupURI || dupReqURI {
		return nil, nil, NewError(ErrInvalidRequest, "client_id, redirect_uri and request_uri must not be repeated")
	}
	if clientID == "" {
		return nil, nil, NewError(ErrInvalidRequest, "client_id is missing")
	}
	if !validClientID(clientID) {
		return nil, nil, NewError(ErrInvalidClient, "unknown client").withStatus(http.StatusBadRequest)
	}
	client, err := p.clients.Client(ctx, clientID)
	if errors.Is(err, storage.ErrNotFound) || err == nil && client.Disabled {
		return nil, nil, NewError(ErrInvalidClient, "unknown client").withStatus(http.StatusBadRequest)
	}
	if err != nil {
		return nil, nil, StorageError("the client could not be looked up", err)
	}
	if requestURI != "" {
		// RFC 9126 §4: the pushed parameters are the request; any others
		// sent alongside are ignored, never applied.
		req, err := p.pushedRequest(ctx, client, requestURI)
		if err != nil {
			return nil, nil, err
		}
		return req, client, nil
	}
	uri, ok := resolveRedirectURI(client, redirectURI)
	if !ok {
		return nil, nil, NewError(ErrInvalidRequest, "the redirect_uri is missing or not registered for this client")
	}
	req := &storage.AuthorizationRequest{ClientID: client.ID, RedirectURI: uri, RedirectURIGiven: redirectURI != "", ResponseMode: "query"}
	// From here on the redirect URI is trusted: errors go back to it, with
	// the state, unless it is repeated or not VSCHAR (RFC 6749 Appendix
	// A.5): then it is not sent back at all. (The PAR endpoint checked
	// its values as it read them.)
	if state, dup := param(params, "state"); !dup && isVSCHAR(state) {
		req.State = state
	}
	if err := checkParameterValues(params); err != nil {
		return req, client, err
	}
	if err := p.checkAuthorizationParams(ctx, params, client, req); err != nil {
		return req, client, err
	}
	return req, client, nil
}

// checkAuthorizationParams validates everything of an authorization
// request but the client and the redirect URI, and fills req. It is shared
// by the authorization endpoint and the PAR endpoint, which have checked
// the parameters' values (checkParameterValues): none is repeated but
// resource, none is empty.
func (p *Provider) checkAuthorizationParams(ctx context.Context, params url.Values, client *storage.Client, req *storage.AuthorizationRequest) error {
	req.State = params.Get("state")
	switch mode, _ := param(params, "response_mode"); mode {
	case "", "query":
		req.ResponseMode = "query"
	case "form_post":
		req.ResponseMode = "form_post"
	default:
		return NewError(ErrInvalidRequest, "response_mode must be query or form_post")
	}
	if params.Get("request") != "" {
		return NewError(ErrRequestNotSupported, "request objects are not supported; use pushed authorization requests")
	}
	switch rt, _ := param(params, "response_type"); {
	case rt == "":
		return NewError(ErrInvalidRequest, "response_type is missing")
	case p.responseTypes[rt] == nil:
		return NewError(ErrUnsupportedResponseType, "only response_type=code is supported")
	default:
		req.ResponseType = rt
	}
	if !client.AllowsGrantType("authorization_code") {
		return NewError(ErrUnauthorizedClient, "the client is not registered for the authorization code flow")
	}

	requested, err := ParseScope(params.Get("scope"))
	if err != nil {
		return err
	}
	if req.Scopes, err = ClientScopes(client, requested); err != nil {
		return err
	}
	if req.Resources, err = parseResources(params["resource"]); err != nil {
		return err
	}
	allowed := client.Audience
	if len(allowed) == 0 {
		allowed = p.defaultAudience
	}
	for _, r := range req.Resources {
		if !slices.Contains(allowed, r) {
			return NewError(ErrInvalidTarget, "the requested resource is not allowed for this client")
		}
	}

	// PKCE (RFC 7636, RFC 9700 §2.1.1): required for every client unless
	// a confidential client is explicitly exempted; S256 unless plain is
	// switched on.
	challenge, _ := param(params, "code_challenge")
	method, _ := param(params, "code_challenge_method")
	if challenge == "" {
		if method != "" {
			return NewError(ErrInvalidRequest, "code_challenge_method without code_challenge")
		}
		if client.IsPublic() || !client.PKCEOptional {
			return NewError(ErrInvalidRequest, "code_challenge is required (PKCE, RFC 7636)")
		}
	} else {
		m, err := pkce.CheckChallenge(challenge, method, p.allowPlainPKCE)
		switch {
		case errors.Is(err, pkce.ErrUnsupportedMethod):
			return NewError(ErrInvalidRequest, "code_challenge_method must be S256")
		case err != nil:
			return NewError(ErrInvalidRequest, "code_challenge is malformed")
		}
		req.CodeChallenge, req.CodeChallengeMethod = challenge, m
	}

	prompt, _ := param(params, "prompt")
	if req.Prompt, err = parsePrompt(prompt); err != nil {
		return err
	}
	if err := p.checkDPoPKeyThumbprint(params, req); err != nil {
		return err
	}
	return p.checkRequestByFeatures(ctx, params, client, req)
}

// parsePrompt checks the prompt parameter: space-separated values among
// none, login, consent and select_account, with none standing alone.
func parsePrompt(s string) ([]string, error) {
	if s == "" {
		return nil, nil
	}
	values := strings.Fields(s)
	for _, v := range values {
		switch v {
		case PromptNone, PromptLogin, PromptConsent, "select_account":
		default:
			return nil, NewError(ErrInvalidRequest, "unknown prompt value")
		}
	}
	if slices.Contains(values, PromptNone) && len(values) > 1 {
		return nil, NewError(ErrInvalidRequest, "prompt=none cannot be combined with other values")
	}
	return values, nil
}

// pushedRequest resolves a request_uri at the authorization endpoint (RFC
// 9126 §4): it must be one the Provider issued, unexpired, not yet used,
// and pushed by this very client. Any failure is shown as a page.
func (p *Provider) pushedRequest(ctx context.Context, client *storage.Client, requestURI string) (*storage.AuthorizationRequest, error) {
	invalid := NewError(ErrInvalidRequestURI, "the request_uri is unknown, expired or already used")
	if p.pushed == nil || !strings.HasPrefix(requestURI, requestURIPrefix) {
		return nil, invalid
	}
	key := digest(requestURI[len(requestURIPrefix):])
	pr, err := p.pushed.PushedRequest(ctx, key)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return nil, invalid
	case err != nil:
		return nil, StorageError("the pushed request could not be looked up", err)
	case !pr.ConsumedAt.IsZero() || !p.clock().Before(pr.ExpiresAt):
		return nil, invalid
	case pr.Request.ClientID != client.ID:
		// Another client's request_uri (RFC 9126 §2.2, §7.5); the owner
		// can still use it.
		return nil, invalid
	}
	req := pr.Request
	req.PushedKey = key
	return &req, nil
}

// digest returns the storage key of a handle that travels in URLs
// (interaction ids, request_uris, browser bindings): base64url SHA-256, so
// that a leaked table cannot be used to resume anything.
func digest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// equalDigest compares a handle with a stored digest in constant time.
func equalDigest(handle, stored string) bool {
	return subtle.ConstantTimeCompare([]byte(digest(handle)), []byte(stored)) == 1
}
