package oauth2

import (
	"net/http"
	"time"

	"github.com/grantor-dev/grantor/storage"
)

// PushedAuthorizationHandler returns the pushed authorization request
// endpoint (RFC 9126 §2). When Config.PushedRequests is not set the
// endpoint is not enabled and the handler answers 404.
//
// The client authenticates as at the token endpoint and pushes a whole
// authorization request, which is validated at once (errors are JSON,
// never redirects; the redirect URI must be registered) and stored under a
// single-use request_uri bound to the client. No credential of the push is
// stored.
func (p *Provider) PushedAuthorizationHandler() http.Handler {
	if !p.parEnabled() {
		return p.disabled("pushed authorization requests are not enabled")
	}
	return http.HandlerFunc(p.servePAR)
}

// parResponse is the success response of RFC 9126 §2.2.
type parResponse struct {
	RequestURI string `json:"request_uri"`
	ExpiresIn  int64  `json:"expires_in"`
}

func (p *Provider) servePAR(w http.ResponseWriter, r *http.Request) {
	resp, err := p.handlePAR(w, r)
	if err != nil {
		p.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, "no-cache, no-store", resp)
}

func (p *Provider) handlePAR(w http.ResponseWriter, r *http.Request) (*parResponse, error) {
	ctx := r.Context()
	form, err := p.readForm(w, r)
	if err != nil {
		return nil, err
	}
	client, err := p.authenticateClient(ctx, r, form, p.PAREndpoint())
	if err != nil {
		return nil, err
	}
	// RFC 9126 §2.3: counted before the request is validated.
	if err := p.ThrottleClient(r, client, ClientThrottle{Name: "par", Limit: int(p.pushLimit),
		Description: "too many pushed authorization requests; try again later"}); err != nil {
		return nil, err
	}
	if form.Get("request_uri") != "" {
		return nil, NewError(ErrInvalidRequest, "request_uri is not allowed in a pushed authorization request (RFC 9126 §2.1)")
	}
	if id := form.Get("client_id"); id != "" && id != client.ID {
		return nil, NewError(ErrInvalidRequest, "client_id does not match the authenticated client")
	}
	redirectURI := form.Get("redirect_uri")
	uri, ok := resolveRedirectURI(client, redirectURI)
	if !ok {
		return nil, NewError(ErrInvalidRequest, "the redirect_uri is missing or not registered for this client")
	}
	req := &storage.AuthorizationRequest{ClientID: client.ID, RedirectURI: uri, RedirectURIGiven: redirectURI != ""}
	if err := p.checkAuthorizationParams(r.Context(), form, client, req); err != nil {
		return nil, err
	}
	if err := p.bindPushedRequest(ctx, w, r, client, req); err != nil {
		return nil, err
	}
	handle, err := p.newHandle()
	if err != nil {
		return nil, NewError(ErrServerError, "randomness unavailable").WithCause(err)
	}
	now := p.clock()
	if err := p.pushed.CreatePushedRequest(ctx, &storage.PushedRequest{
		Key: digest(handle), Request: *req, CreatedAt: now, ExpiresAt: now.Add(p.pushedLifetime),
	}); err != nil {
		return nil, StorageError("the pushed request could not be stored", err)
	}
	return &parResponse{RequestURI: requestURIPrefix + handle, ExpiresIn: int64(p.pushedLifetime / time.Second)}, nil
}
