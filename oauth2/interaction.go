package oauth2

import (
	"cmp"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/grantor-dev/grantor/storage"
)

// Errors returned to the application by PendingAuthorization, Approve and
// Deny when they cannot answer the client. Show the user an error page.
var (
	// ErrInteractionNotFound: the interaction id is unknown, has expired
	// or has already been completed.
	ErrInteractionNotFound = errors.New("oauth2: unknown, expired or completed interaction")
	// ErrInteractionBrowser: the interaction was started in another
	// browser (its binding cookie is missing or different), so it cannot
	// be completed from this one.
	ErrInteractionBrowser = errors.New("oauth2: interaction started in another browser")
	// ErrStorageFailure wraps a failure of the store behind an
	// interaction: a temporary problem, to be answered with a page that
	// asks the user to retry (503 with Retry-After), not to start over.
	ErrStorageFailure = errors.New("oauth2: storage failure")
)

// handleLen is the length of interaction ids and binding values: 256
// random bits, base64url.
const handleLen = 43

// newHandle returns 256 random bits, base64url-encoded.
func (p *Provider) newHandle() (string, error) {
	var b [32]byte
	if _, err := io.ReadFull(p.rand, b[:]); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// startInteraction stores a validated request under a new interaction id,
// binds it to the browser with a cookie, and hands the browser to the
// application's login page.
func (p *Provider) startInteraction(w http.ResponseWriter, r *http.Request, req *storage.AuthorizationRequest) error {
	if err := p.throttleInteractions(r); err != nil {
		return err
	}
	id, err := p.newHandle()
	if err != nil {
		return NewError(ErrServerError, "randomness unavailable").WithCause(err)
	}
	binding, err := p.browserBinding(w, r)
	if err != nil {
		return err
	}
	now := p.clock()
	if err := p.interactions.CreateInteraction(r.Context(), &storage.Interaction{
		Key: digest(id), Request: *req, BrowserBinding: digest(binding),
		CreatedAt: now, ExpiresAt: now.Add(p.interactionLifetime),
	}); err != nil {
		return StorageError("the authorization request could not be stored", err)
	}
	if p.startInteractionFunc != nil {
		p.startInteractionFunc(w, r, id)
		return nil
	}
	sep := "?"
	if strings.Contains(p.loginURL, "?") {
		sep = "&"
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, p.loginURL+sep+"interaction="+id, http.StatusSeeOther)
	return nil
}

// throttleInteractions counts an interaction about to be stored against
// its client address's budget (Config.InteractionRateLimit): anyone can
// start one with a public client's id, and each is kept for the
// interaction's lifetime, so that without a budget a flood from one
// address could fill the store for everyone.
func (p *Provider) throttleInteractions(r *http.Request) error {
	if p.interactionLimit < 0 {
		return nil
	}
	addr := boundAddress(p.clientAddress(r))
	now := p.clock()
	n, _, err := p.limiter.Take(r.Context(), budgetKey("interaction", "", addr), time.Minute, now)
	if err != nil {
		return StorageError("the authorization request could not be counted", err)
	}
	if n > p.interactionLimit {
		if n == p.interactionLimit+1 {
			p.logger.LogAttrs(r.Context(), slog.LevelWarn, "authorization requests throttled",
				slog.String("address", addr), slog.Int64("limit_per_minute", p.interactionLimit))
		}
		return NewError(ErrTemporarilyUnavailable, "too many authorization requests from this address; try again in a minute")
	}
	return nil
}

// browserBinding returns this browser's binding value, setting the cookie
// when the browser has none. One value serves every interaction of the
// browser, so that several tabs can log in at once.
func (p *Provider) browserBinding(w http.ResponseWriter, r *http.Request) (string, error) {
	if c, err := r.Cookie(p.bindingCookie); err == nil && len(c.Value) == handleLen {
		if _, err := base64.RawURLEncoding.DecodeString(c.Value); err == nil {
			p.setBindingCookie(w, c.Value)
			return c.Value, nil
		}
	}
	v, err := p.newHandle()
	if err != nil {
		return "", NewError(ErrServerError, "randomness unavailable").WithCause(err)
	}
	p.setBindingCookie(w, v)
	return v, nil
}

func (p *Provider) setBindingCookie(w http.ResponseWriter, value string) {
	http.SetCookie(w, &http.Cookie{
		Name: p.bindingCookie, Value: value, Path: "/",
		MaxAge:   int(p.interactionLifetime / time.Second),
		HttpOnly: true, Secure: p.secureCookies, SameSite: http.SameSiteLaxMode,
	})
}

// loadInteraction returns the open interaction of id, checking that this
// browser started it.
func (p *Provider) loadInteraction(r *http.Request, id string) (*storage.Interaction, error) {
	if len(id) != handleLen {
		return nil, ErrInteractionNotFound
	}
	it, err := p.interactions.Interaction(r.Context(), digest(id))
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return nil, ErrInteractionNotFound
	case err != nil:
		return nil, fmt.Errorf("%w: %w", ErrStorageFailure, err)
	case !it.CompletedAt.IsZero() || !p.clock().Before(it.ExpiresAt):
		return nil, ErrInteractionNotFound
	}
	c, err := r.Cookie(p.bindingCookie)
	if err != nil || !equalDigest(c.Value, it.BrowserBinding) {
		return nil, ErrInteractionBrowser
	}
	return it, nil
}

// loadAuthorizationInteraction returns the open interaction of id, as
// loadInteraction does, when it holds an authorization request: a device
// authorization's (DeviceInteraction) has no redirect URI to answer.
func (p *Provider) loadAuthorizationInteraction(r *http.Request, id string) (*storage.Interaction, error) {
	it, err := p.loadInteraction(r, id)
	if err == nil && it.DeviceAuthorizationKey != "" {
		return nil, ErrInteractionNotFound
	}
	return it, err
}

// PendingAuthorization returns the authorization request waiting under an
// interaction id, for the application's login and consent pages. r is the
// browser's request: an interaction can only be seen from the browser
// that started it.
func (p *Provider) PendingAuthorization(r *http.Request, interactionID string) (*PendingAuthorization, error) {
	it, err := p.loadAuthorizationInteraction(r, interactionID)
	if err != nil {
		return nil, err
	}
	client, err := p.clients.Client(r.Context(), it.Request.ClientID)
	switch {
	case errors.Is(err, storage.ErrNotFound) || err == nil && client.Disabled:
		return nil, ErrInteractionNotFound // the client is gone: nothing to continue
	case err != nil:
		return nil, fmt.Errorf("%w: %w", ErrStorageFailure, err)
	}
	return &PendingAuthorization{
		ID: interactionID, Client: client, RedirectURI: it.Request.RedirectURI,
		Scopes: slices.Clone(it.Request.Scopes), Resources: slices.Clone(it.Request.Resources),
		Prompt: slices.Clone(it.Request.Prompt), Parameters: maps.Clone(it.Request.Parameters),
		StartedAt: it.CreatedAt, ExpiresAt: it.ExpiresAt,
	}, nil
}

// Approve grants the authorization request of an interaction and writes
// the authorization response: a redirect to the client (RFC 6749 §4.1.2)
// carrying the code, state and iss (RFC 9207). r is the browser's request.
//
// It returns an error, and writes nothing, when the interaction is
// unknown, expired, already completed or was started in another browser
// (ErrInteractionNotFound, ErrInteractionBrowser), when the store failed
// (an error wrapping ErrStorageFailure: ask the user to retry), or when
// the approval itself is wrong (no subject, scopes that were not asked
// for, a claim with a registered name such as sub or aud): the application
// then shows its own error page. Once it has written a response, success
// or error redirect, it returns nil.
func (p *Provider) Approve(w http.ResponseWriter, r *http.Request, interactionID string, a Approval) error {
	it, err := p.loadAuthorizationInteraction(r, interactionID)
	if err != nil {
		return err
	}
	if err := checkApproval(&a, &it.Request); err != nil {
		return err
	}
	if err := p.completeInteraction(r.Context(), it); err != nil {
		return err
	}
	p.finishAuthorization(w, r, &it.Request, a, it.CreatedAt)
	return nil
}

// checkApproval checks an approval of an authorization request, from the
// login pages or SilentAuthorize: a resource owner's subject, scopes among
// those asked for, no extra claim with a registered name.
func checkApproval(a *Approval, req *storage.AuthorizationRequest) error {
	if err := checkApprovedSubject(a.Subject); err != nil {
		return fmt.Errorf("oauth2: Approval.Subject: %w", err)
	}
	if a.Scopes != nil && !subset(a.Scopes, req.Scopes) {
		return errors.New("oauth2: Approval.Scopes must be a subset of the scopes asked for")
	}
	if name, ok := reservedClaimIn(a.Claims); ok {
		return fmt.Errorf("oauth2: Approval.Claims must not set the registered claim %q", name)
	}
	if a.ACR != "" && !isAuthenticationValue(a.ACR) {
		return errors.New("oauth2: Approval.ACR must be printable ASCII without spaces, at most MaxParameterBytes")
	}
	if len(a.AMR) > MaxScopeValues {
		return fmt.Errorf("oauth2: Approval.AMR has more than %d methods", MaxScopeValues)
	}
	for _, m := range a.AMR {
		if !isAuthenticationValue(m) {
			return errors.New("oauth2: Approval.AMR values must be printable ASCII without spaces, at most MaxParameterBytes")
		}
	}
	return nil
}

// isAuthenticationValue reports whether s can be an acr or amr value
// (OpenID Connect Core §2): not empty, at most MaxParameterBytes of
// printable ASCII without spaces, so that it can travel in a space-separated
// list (acr_values) and a JSON string alike.
func isAuthenticationValue(s string) bool {
	if s == "" || len(s) > MaxParameterBytes {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

// Deny refuses the authorization request of an interaction and redirects
// to the client with error=access_denied (RFC 6749 §4.1.2.1), state and
// iss. Its errors are Approve's.
func (p *Provider) Deny(w http.ResponseWriter, r *http.Request, interactionID string) error {
	it, err := p.loadAuthorizationInteraction(r, interactionID)
	if err != nil {
		return err
	}
	if err := p.completeInteraction(r.Context(), it); err != nil {
		return err
	}
	if err := p.consumePushed(r.Context(), &it.Request); err != nil {
		p.redirectError(w, r, &it.Request, err)
		return nil
	}
	p.redirectError(w, r, &it.Request, NewError(ErrAccessDenied, "the resource owner denied the request"))
	return nil
}

// completeInteraction marks the interaction used; of two concurrent
// decisions only one goes on.
func (p *Provider) completeInteraction(ctx context.Context, it *storage.Interaction) error {
	_, err := p.interactions.CompleteInteraction(ctx, it.Key, p.clock())
	switch {
	case errors.Is(err, storage.ErrConsumed), errors.Is(err, storage.ErrNotFound):
		return ErrInteractionNotFound
	case err != nil:
		return fmt.Errorf("%w: %w", ErrStorageFailure, err)
	}
	return nil
}

// consumePushed uses up the pushed request behind req, if any (RFC 9126
// §4: single use, spent when the request is decided).
func (p *Provider) consumePushed(ctx context.Context, req *storage.AuthorizationRequest) error {
	if req.PushedKey == "" {
		return nil
	}
	_, err := p.pushed.ConsumePushedRequest(ctx, req.PushedKey, p.clock())
	switch {
	case errors.Is(err, storage.ErrConsumed), errors.Is(err, storage.ErrNotFound):
		return NewError(ErrInvalidRequest, "the request_uri has already been used")
	case err != nil:
		return StorageError("the pushed request could not be updated", err)
	}
	return nil
}

// finishAuthorization issues the response of an approved request and
// writes it, or the error redirect.
// requestedAt is when the authorization request arrived.
func (p *Provider) finishAuthorization(w http.ResponseWriter, r *http.Request, req *storage.AuthorizationRequest, a Approval, requestedAt time.Time) {
	ctx := r.Context()
	if err := p.consumePushed(ctx, req); err != nil {
		p.redirectError(w, r, req, err)
		return
	}
	client, err := p.clients.Client(ctx, req.ClientID)
	if err == nil && client.Disabled {
		err = errors.New("client disabled")
	}
	if err != nil {
		p.redirectError(w, r, req, NewError(ErrUnauthorizedClient, "the client is no longer allowed").WithCause(err))
		return
	}
	now := p.clock()
	az := &Authorization{Request: req, Client: client, Subject: a.Subject, Scopes: a.Scopes,
		AuthTime: a.AuthTime, ACR: a.ACR, AMR: a.AMR, Claims: a.Claims, RequestedAt: requestedAt, Now: now}
	if az.Scopes == nil {
		az.Scopes = req.Scopes
	}
	if az.AuthTime.After(now) {
		// A login cannot be later than its approval: a clock of the
		// application's ahead of the Provider's counts as now.
		az.AuthTime = now
	}
	// The response type stored with the request answers it; records
	// written before it was kept were all "code".
	handler := p.responseTypes[cmp.Or(req.ResponseType, "code")]
	if handler == nil {
		p.redirectError(w, r, req, NewError(ErrUnsupportedResponseType, "the response type is no longer supported"))
		return
	}
	if err := p.extendApproval(w, r, az); err != nil {
		p.redirectError(w, r, req, err)
		return
	}
	if az.AuthTime.IsZero() {
		az.AuthTime = now // not reported: the features had their say
	}
	params, err := handler.Authorize(ctx, az)
	if err != nil {
		p.redirectError(w, r, req, err)
		return
	}
	p.writeAuthorizationResponse(w, r, req, params)
}

// authorizeSilently answers prompt=none (OpenID Connect Core §3.1.2.1)
// without showing a page: the application's SilentAuthorize decides, or
// the answer is login_required.
func (p *Provider) authorizeSilently(w http.ResponseWriter, r *http.Request, req *storage.AuthorizationRequest, client *storage.Client) {
	if p.silentAuthorize == nil {
		p.redirectError(w, r, req, NewError(ErrLoginRequired, "the user must log in"))
		return
	}
	// No interaction exists for a silent request: ID and ExpiresAt stay
	// empty.
	pa := &PendingAuthorization{Client: client, RedirectURI: req.RedirectURI, Scopes: slices.Clone(req.Scopes),
		Resources: slices.Clone(req.Resources), Prompt: slices.Clone(req.Prompt), Parameters: maps.Clone(req.Parameters),
		StartedAt: p.clock()}
	a, err := p.silentAuthorize(r.Context(), r, pa)
	if err != nil || a == nil {
		var oe *Error
		if !errors.As(err, &oe) {
			oe = NewError(ErrLoginRequired, "the user must log in").WithCause(err)
		}
		p.redirectError(w, r, req, oe)
		return
	}
	if err := checkApproval(a, req); err != nil {
		p.redirectError(w, r, req, NewError(ErrServerError, "invalid silent approval").WithCause(err))
		return
	}
	p.finishAuthorization(w, r, req, *a, p.clock())
}

// redirectError sends an error to the client's validated redirect URI
// (RFC 6749 §4.1.2.1) with state and iss (RFC 9207 §2).
func (p *Provider) redirectError(w http.ResponseWriter, r *http.Request, req *storage.AuthorizationRequest, err error) {
	oe := p.logFailure(r, AsError(err))
	if oe.Status == StatusClientClosedRequest {
		w.WriteHeader(oe.Status) // nobody reads a redirect now
		return
	}
	params := url.Values{"error": {sanitizeErrorText(string(oe.Code))}}
	if d := sanitizeErrorText(oe.Description); d != "" {
		params.Set("error_description", d)
	}
	p.writeAuthorizationResponse(w, r, req, params)
}

// writeAuthorizationResponse adds state and iss to params and delivers
// them to the client: a 303 redirect with the parameters in the query
// (kept after the redirect URI's own query), or a self-submitting form
// (form_post).
func (p *Provider) writeAuthorizationResponse(w http.ResponseWriter, r *http.Request, req *storage.AuthorizationRequest, params url.Values) {
	params.Set("iss", p.issuer)
	if req.State != "" {
		params.Set("state", req.State)
	}
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	if req.ResponseMode == "form_post" {
		writeFormPost(w, req.RedirectURI, params)
		return
	}
	sep := "?"
	if strings.Contains(req.RedirectURI, "?") {
		sep = "&"
	}
	// Not http.Redirect: it would rewrite the URI. The registered URI is
	// kept byte for byte and our parameters are appended, encoded once.
	h.Set("Location", req.RedirectURI+sep+params.Encode())
	w.WriteHeader(http.StatusSeeOther)
}
