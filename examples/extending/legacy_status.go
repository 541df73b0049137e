package main

// The legacy API key grant's own endpoint and metadata member: what a
// grant of the application brings to the Provider through
// oauth2.EndpointProvider and oauth2.MetadataProvider. While the grant is
// registered, Provider.Handler serves the endpoint next to /token and the
// metadata document (RFC 8414 §2) advertises both; without the grant,
// neither exists.

import (
	"net/http"
	"time"

	"github.com/grantor-dev/grantor/oauth2"
)

// legacyStatusPath is the path of the key status endpoint below the
// issuer.
const legacyStatusPath = "/legacy_api_key/status"

// The metadata members the grant brings. Members that are not registered
// in the IANA registry of RFC 8414 §7.1 are the application's own: a
// prefix of its own keeps them from colliding with a future standard one.
const (
	// metaLegacyStatusEndpoint advertises the URL of the status endpoint.
	metaLegacyStatusEndpoint = "legacy_api_key_status_endpoint"
	// metaLegacyRetirement is the sunset, as an RFC 3339 date-time.
	metaLegacyRetirement = "legacy_api_key_retirement"
)

// legacyStatusRateLimit is how many status requests a client may make a
// minute. The gateway asks once per key it sees and caches the answer, and
// in a real migration each request is a query to the old system's
// database, which was never sized for more.
const legacyStatusRateLimit = 60

// Endpoints implements oauth2.EndpointProvider: the status endpoint, where
// the gateway learns whether a key still works and until when, so that it
// can warn the key's caller before the key stops working rather than
// after.
func (h *legacyAPIKey) Endpoints() []oauth2.Endpoint {
	return []oauth2.Endpoint{{Path: legacyStatusPath, Handler: http.HandlerFunc(h.serveStatus),
		MetadataName: metaLegacyStatusEndpoint}}
}

// MetadataEntries implements oauth2.MetadataProvider: the sunset is
// public, so that every caller of the old API can plan for it without
// asking.
func (h *legacyAPIKey) MetadataEntries() map[string]any {
	return map[string]any{metaLegacyRetirement: h.sunset.UTC().Format(time.RFC3339)}
}

// legacyKeyStatus is the status endpoint's answer, shaped like an
// introspection response (RFC 7662 §2.2): active, and only for an active
// key anything more.
type legacyKeyStatus struct {
	// Active reports whether the grant accepts the key now.
	Active bool `json:"active"`
	// RetiresAt is when it stops accepting it (RFC 3339).
	RetiresAt string `json:"retires_at,omitempty"`
}

// serveStatus answers a POST of api_key from an authenticated client with
// a legacyKeyStatus, and every error as RFC 6749 §5.2 JSON.
func (h *legacyAPIKey) serveStatus(w http.ResponseWriter, r *http.Request) {
	status, err := h.keyStatus(w, r)
	if err != nil {
		h.p.WriteErrorResponse(w, r, err)
		return
	}
	oauth2.WriteJSONResponse(w, http.StatusOK, status)
}

// keyStatus reads, authenticates and throttles the request, then looks
// the key up as the grant does.
func (h *legacyAPIKey) keyStatus(w http.ResponseWriter, r *http.Request) (*legacyKeyStatus, error) {
	// POST, a bounded form, and the client authenticated by its
	// registered method (tls_client_auth here), as at the token endpoint.
	req, err := h.p.ReadClientRequest(w, r, h.statusURL)
	if err != nil {
		return nil, err
	}
	if err := h.p.ThrottleClient(r, req.Client, oauth2.ClientThrottle{Name: "legacy_api_key_status",
		Limit: legacyStatusRateLimit, Description: "too many key status requests; try again later"}); err != nil {
		return nil, err
	}
	// Only a client that may trade keys in may ask about them: the
	// answer is of no use to any other, and the endpoint should not let
	// one test keys it could not use (unauthorized_client, as the token
	// endpoint answers a client not registered for the grant).
	if req.Client.IsPublic() || !req.Client.AllowsGrantType(grantTypeLegacyAPIKey) {
		return nil, oauth2.NewError(oauth2.ErrUnauthorizedClient, "the client is not registered for the legacy API key grant")
	}
	key := req.Form.Get("api_key")
	if key == "" {
		return nil, oauth2.NewError(oauth2.ErrInvalidRequest, "api_key is missing")
	}
	owner, retires, ok := h.lookup(key, req.Now)
	if !ok {
		return &legacyKeyStatus{Active: false}, nil
	}
	h.log.InfoContext(r.Context(), "legacy API key status", "client_id", req.Client.ID, "subject", owner.Subject,
		"retires_at", retires)
	return &legacyKeyStatus{Active: true, RetiresAt: retires.UTC().Format(time.RFC3339)}, nil
}
