package main

import (
	"crypto/tls"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/grant"
	"github.com/grantor-dev/grantor/grantortest"
	"github.com/grantor-dev/grantor/oauth2"
	"github.com/grantor-dev/grantor/storage"
	"github.com/grantor-dev/grantor/storage/memory"
)

// The demo's dates for a server started at grantortest.Start(),
// 2030-01-01 12:00 UTC: the demo key retires 90 days after that day
// began, the table 180 days after.
const (
	wantKeyRetires = "2030-04-01T00:00:00Z"
	wantSunset     = "2030-06-30T00:00:00Z"
)

// response is an answer of the status endpoint.
type response struct {
	status int
	header http.Header
	body   map[string]any
}

// do sends req and decodes the JSON answer.
func do(t *testing.T, c *http.Client, req *http.Request) response {
	t.Helper()
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var body map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	return response{resp.StatusCode, resp.Header, body}
}

// statusRequest is a POST of form to the status endpoint of ts.
func statusRequest(t *testing.T, ts *testServer, form url.Values) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, ts.url+legacyStatusPath, strings.NewReader(form.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return req
}

// statusForm is a status request of the demo client.
func statusForm(kv ...string) url.Values {
	f := url.Values{"client_id": {demoClientID}}
	for i := 0; i < len(kv); i += 2 {
		f.Set(kv[i], kv[i+1])
	}
	return f
}

// metadata fetches the metadata document of the server at base as its
// JSON members, the grant's own among them.
func metadata(t *testing.T, c *http.Client, base string) map[string]any {
	t.Helper()
	var m map[string]any
	getJSON(t, c, base+oauth2.MetadataPath, &m)
	return m
}

// The endpoint answers at the URL the metadata document advertises, with
// an introspection-shaped status (RFC 7662 §2.2) of the key.
func TestLegacyKeyStatus(t *testing.T) {
	clock := grantortest.NewClock(grantortest.Start())
	ts := startTestServerAt(t, clock.Now)
	c := ts.client(ts.clientCert(t, "legacy-gateway"))

	endpoint, _ := metadata(t, c, ts.url)[metaLegacyStatusEndpoint].(string)
	require.Equal(t, ts.url+"/legacy_api_key/status", endpoint)
	post := func(form url.Values) response {
		req, err := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(form.Encode()))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return do(t, c, req)
	}

	r := post(statusForm("api_key", ts.demoAPIKey))
	require.Equal(t, http.StatusOK, r.status, r.body)
	assert.Equal(t, map[string]any{"active": true, "retires_at": wantKeyRetires}, r.body)
	assert.Equal(t, "no-store", r.header.Get("Cache-Control"))

	for name, form := range map[string]url.Values{
		"unknown key":                    statusForm("api_key", "lk_not-a-key"),
		"key with one character changed": statusForm("api_key", ts.demoAPIKey[:len(ts.demoAPIKey)-1]+"x"),
	} {
		t.Run(name, func(t *testing.T) {
			r := post(form)
			assert.Equal(t, http.StatusOK, r.status)
			assert.Equal(t, map[string]any{"active": false}, r.body, "an unknown key is inactive, and nothing more")
		})
	}

	t.Run("api_key missing", func(t *testing.T) {
		r := post(statusForm())
		assert.Equal(t, http.StatusBadRequest, r.status)
		assert.Equal(t, string(oauth2.ErrInvalidRequest), r.body["error"])
	})

	t.Run("a retired key is inactive", func(t *testing.T) {
		retires, err := time.Parse(time.RFC3339, wantKeyRetires)
		require.NoError(t, err)
		clock.Set(retires.Add(-time.Second))
		assert.Equal(t, true, post(statusForm("api_key", ts.demoAPIKey)).body["active"])
		clock.Set(retires)
		assert.Equal(t, map[string]any{"active": false}, post(statusForm("api_key", ts.demoAPIKey)).body)
	})
}

// The endpoint authenticates the client by its registered method and
// answers only clients registered for the legacy API key grant; its
// errors are JSON (RFC 6749 §5.2).
func TestLegacyKeyStatusRefuses(t *testing.T) {
	ts := startTestServer(t)
	good := ts.clientCert(t, "legacy-gateway")
	// A client on secrets, registered for client_credentials only: it
	// authenticates, but may not trade keys in, so may not test them.
	secret, hash, err := oauth2.GenerateClientSecret(nil)
	require.NoError(t, err)
	require.NoError(t, ts.store.PutClient(&storage.Client{ID: "reporting", SecretHash: hash,
		GrantTypes: []string{grant.GrantTypeClientCredentials}, Scopes: []string{"invoices:read"}}))

	for name, tc := range map[string]struct {
		certs  []tls.Certificate
		req    func() *http.Request
		status int
		code   oauth2.ErrorCode
	}{
		"no client certificate": {nil, func() *http.Request {
			return statusRequest(t, ts, statusForm("api_key", ts.demoAPIKey))
		}, http.StatusUnauthorized, oauth2.ErrInvalidClient},
		"certificate with another DN": {[]tls.Certificate{ts.clientCert(t, "intruder")}, func() *http.Request {
			return statusRequest(t, ts, statusForm("api_key", ts.demoAPIKey))
		}, http.StatusUnauthorized, oauth2.ErrInvalidClient},
		"client not registered for the grant": {nil, func() *http.Request {
			req := statusRequest(t, ts, url.Values{"api_key": {ts.demoAPIKey}})
			req.SetBasicAuth("reporting", secret)
			return req
		}, http.StatusBadRequest, oauth2.ErrUnauthorizedClient},
		"GET": {[]tls.Certificate{good}, func() *http.Request {
			req, err := http.NewRequest(http.MethodGet, ts.url+legacyStatusPath+"?"+statusForm("api_key", ts.demoAPIKey).Encode(), nil)
			require.NoError(t, err)
			return req
		}, http.StatusMethodNotAllowed, oauth2.ErrInvalidRequest},
	} {
		t.Run(name, func(t *testing.T) {
			r := do(t, ts.client(tc.certs...), tc.req())
			assert.Equal(t, tc.status, r.status)
			assert.Equal(t, string(tc.code), r.body["error"])
			assert.NotContains(t, r.body, "active")
			if tc.status == http.StatusMethodNotAllowed {
				assert.Equal(t, http.MethodPost, r.header.Get("Allow"))
			}
		})
	}
}

// Each client has a budget of legacyStatusRateLimit requests a minute;
// beyond it the endpoint answers 429 with Retry-After (RFC 6585 §4). The
// clock stands still, so that every request falls in one window.
func TestLegacyKeyStatusThrottled(t *testing.T) {
	clock := grantortest.NewClock(grantortest.Start().Add(15 * time.Second))
	ts := startTestServerAt(t, clock.Now)
	c := ts.client(ts.clientCert(t, "legacy-gateway"))
	for i := range legacyStatusRateLimit {
		r := do(t, c, statusRequest(t, ts, statusForm("api_key", ts.demoAPIKey)))
		require.Equal(t, http.StatusOK, r.status, "request %d: %v", i+1, r.body)
	}
	r := do(t, c, statusRequest(t, ts, statusForm("api_key", ts.demoAPIKey)))
	assert.Equal(t, http.StatusTooManyRequests, r.status)
	assert.Equal(t, string(oauth2.ErrInvalidRequest), r.body["error"])
	assert.NotContains(t, r.body, "active")
	assert.Equal(t, "45", r.header.Get("Retry-After"), "seconds until the minute's window ends")

	t.Run("another client's budget is its own", func(t *testing.T) {
		secret, hash, err := oauth2.GenerateClientSecret(nil)
		require.NoError(t, err)
		require.NoError(t, ts.store.PutClient(&storage.Client{ID: "reporting", SecretHash: hash,
			GrantTypes: []string{grant.GrantTypeClientCredentials}}))
		req := statusRequest(t, ts, url.Values{"api_key": {ts.demoAPIKey}})
		req.SetBasicAuth("reporting", secret)
		r := do(t, ts.client(), req)
		assert.Equal(t, string(oauth2.ErrUnauthorizedClient), r.body["error"], "refused for what it is, not throttled")
	})

	t.Run("the next minute has a new budget", func(t *testing.T) {
		clock.Advance(45 * time.Second)
		r := do(t, c, statusRequest(t, ts, statusForm("api_key", ts.demoAPIKey)))
		assert.Equal(t, http.StatusOK, r.status, r.body)
	})
}

// The grant's metadata members are in the document while the grant is
// registered, and a Provider without the grant has neither them nor the
// endpoint.
func TestMetadataMembersComeWithTheGrant(t *testing.T) {
	ts := startTestServerAt(t, grantortest.NewClock(grantortest.Start()).Now)
	meta := metadata(t, ts.client(), ts.url)
	assert.Equal(t, ts.url+legacyStatusPath, meta[metaLegacyStatusEndpoint])
	assert.Equal(t, wantSunset, meta[metaLegacyRetirement])

	t.Run("absent without the grant", func(t *testing.T) {
		store := memory.New()
		hs := httptest.NewUnstartedServer(nil)
		p, err := oauth2.NewProvider(oauth2.Config{
			Issuer: "https://" + hs.Listener.Addr().String(), Clients: store, Tokens: store,
			TokenKeys: [][]byte{make([]byte, 32)},
			Grants:    []oauth2.GrantFactory{grant.ClientCredentials(grant.ClientCredentialsOptions{})},
		})
		require.NoError(t, err)
		hs.Config.Handler = p.Handler()
		hs.StartTLS()
		t.Cleanup(hs.Close)
		c := hs.Client()

		meta := metadata(t, c, hs.URL)
		assert.NotContains(t, meta, metaLegacyStatusEndpoint)
		assert.NotContains(t, meta, metaLegacyRetirement)
		assert.NotContains(t, meta["grant_types_supported"], grantTypeLegacyAPIKey)
		resp, err := c.PostForm(hs.URL+legacyStatusPath, url.Values{"api_key": {"lk_x"}})
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	})
}
