package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jwt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/grant"
	"github.com/grantor-dev/grantor/grantortest"
	"github.com/grantor-dev/grantor/oauth2"
	"github.com/grantor-dev/grantor/storage"
)

// testServer is the example behind a real TLS listener.
type testServer struct {
	*server
	url string
	ca  *authority
}

func startTestServer(t *testing.T) *testServer {
	t.Helper()
	return startTestServerAt(t, nil)
}

// startTestServerAt starts the example with now as its clock.
func startTestServerAt(t *testing.T, now func() time.Time) *testServer {
	t.Helper()
	ca, err := newAuthority()
	require.NoError(t, err)
	ts := httptest.NewUnstartedServer(nil)
	srv, err := newServer("https://"+ts.Listener.Addr().String(), ca, &bytes.Buffer{}, now)
	require.NoError(t, err)
	ts.Config.Handler, ts.TLS = srv.handler, srv.tls
	ts.StartTLS()
	t.Cleanup(ts.Close)
	return &testServer{server: srv, url: ts.URL, ca: ca}
}

// client returns an HTTP client that trusts the demo CA and presents the
// given certificates.
func (ts *testServer) client(certs ...tls.Certificate) *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: ts.ca.pool(), Certificates: certs},
	}}
}

// clientCert issues a client certificate with the subject of cn.
func (ts *testServer) clientCert(t *testing.T, cn string) tls.Certificate {
	t.Helper()
	c, err := ts.ca.issue(subject(cn), false)
	require.NoError(t, err)
	return c
}

// postToken posts form to the token endpoint and decodes the JSON answer.
func postToken(t *testing.T, c *http.Client, ts *testServer, form url.Values) (int, map[string]any) {
	t.Helper()
	resp, err := c.PostForm(ts.url+"/token", form)
	require.NoError(t, err)
	defer resp.Body.Close()
	var body map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	return resp.StatusCode, body
}

// legacyForm is a request of the migration grant from the demo client.
func legacyForm(kv ...string) url.Values {
	f := url.Values{"grant_type": {grantTypeLegacyAPIKey}, "client_id": {demoClientID}}
	for i := 0; i < len(kv); i += 2 {
		f.Set(kv[i], kv[i+1])
	}
	return f
}

// getJSON fetches a JSON document into v.
func getJSON(t *testing.T, c *http.Client, u string, v any) {
	t.Helper()
	resp, err := c.Get(u)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.NoError(t, json.NewDecoder(resp.Body).Decode(v))
}

func TestLegacyKeyGrantIssuesJWTWithTenant(t *testing.T) {
	ts := startTestServer(t)
	c := ts.client(ts.clientCert(t, "legacy-gateway"))

	var meta oauth2.Metadata
	getJSON(t, c, ts.url+oauth2.MetadataPath, &meta)
	var rawKeys json.RawMessage
	getJSON(t, c, meta.JWKSURI, &rawKeys)
	keys, err := jwk.Parse(rawKeys)
	require.NoError(t, err)

	for name, tc := range map[string]struct {
		scope, want string
	}{
		"no scope gets the key's scopes": {"", "invoices:read invoices:write"},
		"scope narrowed to a subset":     {"invoices:read", "invoices:read"},
	} {
		t.Run(name, func(t *testing.T) {
			form := legacyForm("api_key", ts.demoAPIKey)
			if tc.scope != "" {
				form.Set("scope", tc.scope)
			}
			status, body := postToken(t, c, ts, form)
			require.Equal(t, http.StatusOK, status, body)
			at, _ := body["access_token"].(string)
			tok, err := jwt.Parse([]byte(at), jwt.WithKeySet(keys), jwt.WithValidate(true), jwt.WithIssuer(ts.url))
			require.NoError(t, err)
			assert.Equal(t, demoKeyOwner, tok.Subject())
			claims := tok.PrivateClaims()
			assert.Equal(t, tc.want, claims["scope"])
			assert.Equal(t, "acme", claims["tenant"])
			assert.Equal(t, demoClientID, claims["client_id"])
		})
	}
}

func TestLegacyKeyGrantErrors(t *testing.T) {
	ts := startTestServer(t)
	c := ts.client(ts.clientCert(t, "legacy-gateway"))
	for name, tc := range map[string]struct {
		form url.Values
		want oauth2.ErrorCode
	}{
		"api_key missing":                    {legacyForm(), oauth2.ErrInvalidRequest},
		"unknown api_key":                    {legacyForm("api_key", "lk_not-a-key"), oauth2.ErrInvalidGrant},
		"key with one character changed":     {legacyForm("api_key", ts.demoAPIKey[:len(ts.demoAPIKey)-1]+"x"), oauth2.ErrInvalidGrant},
		"scope beyond the key's scopes":      {legacyForm("api_key", ts.demoAPIKey, "scope", "invoices:read admin"), oauth2.ErrInvalidScope},
		"malformed scope":                    {legacyForm("api_key", ts.demoAPIKey, "scope", "invoices:read  x"), oauth2.ErrInvalidScope},
		"grant type unknown to the Provider": {legacyForm("grant_type", "urn:example:other", "api_key", ts.demoAPIKey), oauth2.ErrUnsupportedGrantType},
	} {
		t.Run(name, func(t *testing.T) {
			status, body := postToken(t, c, ts, tc.form)
			assert.Equal(t, http.StatusBadRequest, status)
			assert.Equal(t, string(tc.want), body["error"])
			assert.NotContains(t, body, "access_token")
		})
	}
}

// A key is refused from the moment it retires, as an unknown key is.
func TestLegacyKeyGrantRefusesRetiredKeys(t *testing.T) {
	clock := grantortest.NewClock(grantortest.Start())
	ts := startTestServerAt(t, clock.Now)
	c := ts.client(ts.clientCert(t, "legacy-gateway"))
	retires := grantortest.Start().Truncate(24*time.Hour).AddDate(0, 0, demoKeyRetiresInDays)

	clock.Set(retires.Add(-time.Second))
	status, body := postToken(t, c, ts, legacyForm("api_key", ts.demoAPIKey))
	require.Equal(t, http.StatusOK, status, "a second before it retires the key still works: %v", body)

	clock.Set(retires)
	status, body = postToken(t, c, ts, legacyForm("api_key", ts.demoAPIKey))
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Equal(t, string(oauth2.ErrInvalidGrant), body["error"])
	assert.NotContains(t, body, "access_token")
}

// No key outlives the sunset, whatever its own date says.
func TestSunsetEndsEveryKey(t *testing.T) {
	sunset := grantortest.Start()
	h := &legacyAPIKey{sunset: sunset, keys: map[[sha256.Size]byte]keyOwner{
		sha256.Sum256([]byte("lk_late")):    {Subject: "user:bob", Retires: sunset.AddDate(1, 0, 0)},
		sha256.Sum256([]byte("lk_undated")): {Subject: "user:carol"},
	}}
	for _, key := range []string{"lk_late", "lk_undated"} {
		_, retires, ok := h.lookup(key, sunset.Add(-time.Second))
		assert.True(t, ok, key)
		assert.Equal(t, sunset, retires, key)
		_, _, ok = h.lookup(key, sunset)
		assert.False(t, ok, key)
	}
}

func TestLegacyKeyGrantNeedsRegistration(t *testing.T) {
	ts := startTestServer(t)
	// A client on secrets, registered for client_credentials only.
	secret, hash, err := oauth2.GenerateClientSecret(nil)
	require.NoError(t, err)
	require.NoError(t, ts.store.PutClient(&storage.Client{ID: "reporting", SecretHash: hash,
		GrantTypes: []string{grant.GrantTypeClientCredentials}, Scopes: []string{"invoices:read"}}))

	req, err := http.NewRequest(http.MethodPost, ts.url+"/token",
		bytes.NewBufferString(url.Values{"grant_type": {grantTypeLegacyAPIKey}, "api_key": {ts.demoAPIKey}}.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("reporting", secret)
	resp, err := ts.client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var body map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Equal(t, string(oauth2.ErrUnauthorizedClient), body["error"])
}

func TestTLSClientAuth(t *testing.T) {
	ts := startTestServer(t)
	good := ts.clientCert(t, "legacy-gateway")
	for name, tc := range map[string]struct {
		certs []tls.Certificate
		form  url.Values
	}{
		"no client certificate":             {nil, legacyForm("api_key", ts.demoAPIKey)},
		"certificate with another DN":       {[]tls.Certificate{ts.clientCert(t, "intruder")}, legacyForm("api_key", ts.demoAPIKey)},
		"certificate plus a client_secret":  {[]tls.Certificate{good}, legacyForm("api_key", ts.demoAPIKey, "client_secret", "guess")},
		"certificate for an unknown client": {[]tls.Certificate{good}, legacyForm("api_key", ts.demoAPIKey, "client_id", "nobody")},
	} {
		t.Run(name, func(t *testing.T) {
			status, body := postToken(t, ts.client(tc.certs...), ts, tc.form)
			assert.Equal(t, http.StatusUnauthorized, status)
			assert.Equal(t, string(oauth2.ErrInvalidClient), body["error"])
			assert.NotContains(t, body, "access_token")
		})
	}

	t.Run("certificate from another CA fails the handshake", func(t *testing.T) {
		other, err := newAuthority()
		require.NoError(t, err)
		cert, err := other.issue(demoClientSubject, false)
		require.NoError(t, err)
		_, err = ts.client(cert).PostForm(ts.url+"/token", legacyForm("api_key", ts.demoAPIKey))
		assert.Error(t, err)
	})
}

func TestMetadataListsExtensions(t *testing.T) {
	ts := startTestServer(t)
	var meta oauth2.Metadata
	getJSON(t, ts.client(), ts.url+oauth2.MetadataPath, &meta)
	assert.Contains(t, meta.GrantTypesSupported, grantTypeLegacyAPIKey)
	assert.Contains(t, meta.TokenEndpointAuthMethodsSupported, methodTLSClientAuth)
	assert.Equal(t, ts.url+oauth2.JWKSPath, meta.JWKSURI)
}

func TestExtensionsRefuseBadConfiguration(t *testing.T) {
	_, err := legacyAPIKeyGrant(nil, time.Now())(nil)
	assert.Error(t, err, "an empty key table")
	_, err = legacyAPIKeyGrant(map[[sha256.Size]byte]keyOwner{{}: {Subject: "s"}}, time.Time{})(nil)
	assert.Error(t, err, "no sunset")
	assert.Error(t, tlsClientAuth{subjects: map[string]string{"c": ""}}.Validate(), "an empty DN")
}

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var (
	curlLine       = regexp.MustCompile(`--cacert (\S+) --cert (\S+) --key (\S+) .* -d api_key=(\S+) `)
	statusCurlLine = regexp.MustCompile(`-d client_id=(\S+) -d api_key=(\S+) (https://\S+)\n`)
)

// TestRun runs the program as `go run` would and follows its curl line.
func TestRun(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuffer{}
	ready, done := make(chan string, 1), make(chan error, 1)
	go func() { done <- run(ctx, []string{"-addr", "127.0.0.1:0"}, out, ready) }()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatalf("server did not start: %v\n%s", err, out)
	}

	m := curlLine.FindStringSubmatch(out.String())
	require.Len(t, m, 5, out.String())
	caPEM, err := os.ReadFile(m[1])
	require.NoError(t, err)
	cert, err := tls.LoadX509KeyPair(m[2], m[3])
	require.NoError(t, err)
	roots := x509.NewCertPool()
	require.True(t, roots.AppendCertsFromPEM(caPEM))
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: roots, Certificates: []tls.Certificate{cert}},
	}}
	status, body := postToken(t, c, &testServer{url: "https://" + addr}, legacyForm("api_key", m[4], "scope", "invoices:read"))
	assert.Equal(t, http.StatusOK, status, body)

	sm := statusCurlLine.FindStringSubmatch(out.String())
	require.Len(t, sm, 4, out.String())
	assert.Equal(t, "https://"+addr+legacyStatusPath, sm[3])
	resp, err := c.PostForm(sm[3], url.Values{"client_id": {sm[1]}, "api_key": {sm[2]}})
	require.NoError(t, err)
	defer resp.Body.Close()
	var keyStatus legacyKeyStatus
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&keyStatus))
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.True(t, keyStatus.Active)

	cancel()
	require.NoError(t, <-done)
	assert.Contains(t, out.String(), "shutting down")
	_, err = os.Stat(m[1])
	assert.True(t, os.IsNotExist(err), "the certificates are removed on exit")
}
