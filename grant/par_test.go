package grant_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/internal/testkit"
	"github.com/grantor-dev/grantor/oauth2"
	"github.com/grantor-dev/grantor/storage"
	"github.com/grantor-dev/grantor/storage/memory"
)

// push sends a pushed authorization request of "web" with Basic
// credentials.
func (h *codeHarness) push(params url.Values) *testkit.Response {
	h.T.Helper()
	req, err := http.NewRequest(http.MethodPost, h.Provider.PAREndpoint(), strings.NewReader(params.Encode()))
	require.NoError(h.T, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if params.Get("client_secret") == "" && params.Get("client_id") != "spa" {
		req.SetBasicAuth(params.Get("client_id"), h.webSecret)
	}
	return h.Do(req)
}

// RFC 9126 §2.2: the success response.
func TestPARSuccessResponse(t *testing.T) {
	h := newCode(t, nil)
	params, verifier := authParams(t)
	r := h.push(params)
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	uri := r.Str("request_uri")
	require.True(t, strings.HasPrefix(uri, "urn:ietf:params:oauth:request_uri:"), uri)
	random := strings.TrimPrefix(uri, "urn:ietf:params:oauth:request_uri:")
	raw, err := base64.RawURLEncoding.DecodeString(random)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, len(raw)*8, 128, "at least 128 random bits")
	assert.EqualValues(t, 90, r.JSON["expires_in"])
	assert.Equal(t, "no-cache, no-store", r.Header.Get("Cache-Control"), "RFC 9126 §2.2")

	// RFC 9126 §4: with only client_id and request_uri the flow completes,
	// and the pushed parameters are the ones used.
	id, cookie := h.interaction(h.authorize(url.Values{"client_id": {"web"}, "request_uri": {uri},
		"redirect_uri": {"https://evil.example/cb"}, "scope": {"admin"}, "state": {"other"}}))
	pa, err := h.Provider.PendingAuthorization(browserRequest(cookie), id)
	require.NoError(t, err)
	assert.Equal(t, []string{"read"}, pa.Scopes)
	rec := h.approve(id, cookie, oauth2.Approval{Subject: "alice"})
	q := redirectParams(t, rec.Code, rec.Header().Get("Location"), "https://c.example/cb?")
	assert.Equal(t, "xyz", q.Get("state"))
	assert.Equal(t, http.StatusOK, h.redeem("web", h.webSecret, q.Get("code"), verifier).Status)
}

// RFC 9126 §2.3: method and size limits.
func TestPARMethodAndSize(t *testing.T) {
	h := newCode(t, nil)
	get, err := http.NewRequest(http.MethodGet, h.Provider.PAREndpoint(), nil)
	require.NoError(t, err)
	testkit.RequireOAuthError(t, h.Do(get), http.StatusMethodNotAllowed, oauth2.ErrInvalidRequest)
	params, _ := authParams(t, "pad", strings.Repeat("x", 2<<20))
	testkit.RequireOAuthError(t, h.push(params), http.StatusRequestEntityTooLarge, oauth2.ErrInvalidRequest)
}

// RFC 9126 §2.1: client authentication is required.
func TestPARNeedsClientAuthentication(t *testing.T) {
	h := newCode(t, nil)
	params, _ := authParams(t)
	req, err := http.NewRequest(http.MethodPost, h.Provider.PAREndpoint(), strings.NewReader(params.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	testkit.RequireOAuthError(t, h.Do(req), http.StatusUnauthorized, oauth2.ErrInvalidClient)
}

// RFC 9126 §2.1, §2.3: no request_uri inside, and full validation with
// JSON errors, never a redirect.
func TestPARValidation(t *testing.T) {
	h := newCode(t, nil)
	cases := map[string]struct {
		extra []string
		code  oauth2.ErrorCode
	}{
		"request_uri inside":    {[]string{"request_uri", "urn:ietf:params:oauth:request_uri:x"}, oauth2.ErrInvalidRequest},
		"unregistered redirect": {[]string{"redirect_uri", "https://evil.example/cb"}, oauth2.ErrInvalidRequest},
		"missing challenge":     {[]string{"code_challenge", "<delete>", "code_challenge_method", "<delete>"}, oauth2.ErrInvalidRequest},
		"unknown scope":         {[]string{"scope", "admin"}, oauth2.ErrInvalidScope},
		"unsupported type":      {[]string{"response_type", "token"}, oauth2.ErrUnsupportedResponseType},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			params, _ := authParams(t, c.extra...)
			r := h.push(params)
			testkit.RequireOAuthError(t, r, http.StatusBadRequest, c.code)
			assert.Empty(t, r.Header.Get("Location"))
		})
	}
	// A body client_id other than the authenticated client.
	params, _ := authParams(t)
	req, err := http.NewRequest(http.MethodPost, h.Provider.PAREndpoint(), strings.NewReader(params.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("legacy", h.legacySecret)
	testkit.RequireOAuthError(t, h.Do(req), http.StatusUnauthorized, oauth2.ErrInvalidClient)
}

// RFC 9126 §2.2, §7.5: a request_uri is bound to the client that pushed
// it.
func TestRequestURIIsBoundToItsClient(t *testing.T) {
	h := newCode(t, nil)
	params, _ := authParams(t)
	uri := h.push(params).Str("request_uri")
	r := h.authorize(url.Values{"client_id": {"spa"}, "request_uri": {uri}})
	assert.Equal(t, http.StatusBadRequest, r.Status)
	assert.Empty(t, r.Header.Get("Location"))
	h.interaction(h.authorize(url.Values{"client_id": {"web"}, "request_uri": {uri}}))
}

// RFC 9126 §4, §7.3: expiry, reuse before completion, single use after.
func TestRequestURILifetimeAndSingleUse(t *testing.T) {
	h := newCode(t, nil)
	params, _ := authParams(t)
	uri := h.push(params).Str("request_uri")
	use := url.Values{"client_id": {"web"}, "request_uri": {uri}}

	id1, cookie := h.interaction(h.authorize(use))
	id2, _ := h.interaction(h.authorize(use, cookie)) // opened twice before login: fine
	rec := h.approve(id1, cookie, oauth2.Approval{Subject: "alice"})
	require.NotEmpty(t, redirectParams(t, rec.Code, rec.Header().Get("Location"), "https://c.example/cb?").Get("code"))

	// After completion the request_uri is spent: a new visit gets the
	// error page, and the second open interaction an error redirect.
	r := h.authorize(use, cookie)
	assert.Equal(t, http.StatusBadRequest, r.Status)
	assert.Empty(t, r.Header.Get("Location"))
	rec = h.approve(id2, cookie, oauth2.Approval{Subject: "alice"})
	q := redirectParams(t, rec.Code, rec.Header().Get("Location"), "https://c.example/cb?")
	assert.Equal(t, "invalid_request", q.Get("error"))
	assert.Empty(t, q.Get("code"))

	params, _ = authParams(t)
	uri = h.push(params).Str("request_uri")
	h.Advance(91 * time.Second)
	r = h.authorize(url.Values{"client_id": {"web"}, "request_uri": {uri}})
	assert.Equal(t, http.StatusBadRequest, r.Status)
	assert.Empty(t, r.Header.Get("Location"))
}

// RFC 9126 §5, §6: PAR-only mode, globally and per client.
func TestPAROnlyMode(t *testing.T) {
	h := newCode(t, func(cfg *oauth2.Config, _ *memory.Store) { cfg.RequirePushedAuthorizationRequests = true })
	assert.True(t, h.Provider.Metadata().RequirePushedAuthorizationRequests)
	params, _ := authParams(t)
	h.errorRedirect(t, h.authorize(params), oauth2.ErrInvalidRequest)
	uri := h.push(params).Str("request_uri")
	h.interaction(h.authorize(url.Values{"client_id": {"web"}, "request_uri": {uri}}))

	per := newCode(t, nil)
	per.AddClient(storage.Client{ID: "strict", TokenEndpointAuthMethod: oauth2.AuthMethodNone, RedirectURIs: []string{"https://c.example/cb"},
		GrantTypes: []string{"authorization_code"}, Scopes: []string{"read"}, RequirePushedAuthorizationRequests: true})
	params, _ = authParams(t, "client_id", "strict")
	per.errorRedirect(t, per.authorize(params), oauth2.ErrInvalidRequest)
	params, _ = authParams(t)
	per.interaction(per.authorize(params)) // other clients are unaffected
}

// Keycloak CVE-2024-4540: the pushed state holds no credential.
func TestPushedRequestStoresNoCredential(t *testing.T) {
	h := newCode(t, nil)
	postSecret := h.AddClient(storage.Client{ID: "poster", TokenEndpointAuthMethod: oauth2.AuthMethodClientSecretPost,
		RedirectURIs: []string{"https://c.example/cb"}, GrantTypes: []string{"authorization_code"}, Scopes: []string{"read"}})
	params, _ := authParams(t, "client_id", "poster", "client_secret", postSecret)
	r := h.push(params)
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	handle := strings.TrimPrefix(r.Str("request_uri"), "urn:ietf:params:oauth:request_uri:")
	sum := sha256.Sum256([]byte(handle))
	rec, err := h.Store.PushedRequest(context.Background(), base64.RawURLEncoding.EncodeToString(sum[:]))
	require.NoError(t, err, "stored under the digest of the request_uri, not the request_uri")
	dump := fmt.Sprintf("%+v", *rec)
	assert.NotContains(t, dump, postSecret)
	assert.NotContains(t, dump, handle)
	assert.Equal(t, "poster", rec.Request.ClientID)

	// The interaction record holds no credential either.
	id, cookie := h.interaction(h.authorize(url.Values{"client_id": {"poster"}, "request_uri": {r.Str("request_uri")}}))
	sum = sha256.Sum256([]byte(id))
	it, err := h.Store.Interaction(context.Background(), base64.RawURLEncoding.EncodeToString(sum[:]))
	require.NoError(t, err)
	dump = fmt.Sprintf("%+v", *it)
	assert.NotContains(t, dump, postSecret)
	assert.NotContains(t, dump, id)
	assert.NotContains(t, dump, cookie.Value)
}

// RFC 9126 §2.3: a flood of pushed requests from one client is answered 429
// until the minute has passed; other clients are unaffected.
func TestPARFloodIsThrottled(t *testing.T) {
	h := newCode(t, func(cfg *oauth2.Config, _ *memory.Store) { cfg.PushedRequestRateLimit = 5 })
	params, _ := authParams(t)
	for i := range 5 {
		require.Equal(t, http.StatusCreated, h.push(params).Status, "push %d", i)
	}
	r := h.push(params)
	testkit.RequireOAuthError(t, r, http.StatusTooManyRequests, oauth2.ErrInvalidRequest)
	assert.NotEmpty(t, r.Header.Get("Retry-After"))
	spa, _ := authParams(t, "client_id", "spa", "redirect_uri", "https://spa.example/cb")
	assert.Equal(t, http.StatusCreated, h.push(spa).Status)
	h.Advance(time.Minute)
	assert.Equal(t, http.StatusCreated, h.push(params).Status)
}
