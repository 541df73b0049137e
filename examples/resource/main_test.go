package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/grantor-dev/grantor/grant"
	"github.com/grantor-dev/grantor/oauth2"
	"github.com/grantor-dev/grantor/pkce"
	"github.com/grantor-dev/grantor/storage"
	"github.com/grantor-dev/grantor/storage/memory"
	"github.com/grantor-dev/grantor/token"
)

// as is an authorization server set up like examples/server (the
// library, an in-memory store, the client credentials grant), plus a
// client "api" for this API, entitled to introspect the tokens whose
// audience is the issuer.
type as struct {
	url                             string
	svcSecret, apiSecret, webSecret string
	provider                        *oauth2.Provider
	store                           *memory.Store
}

// startAS starts the authorization server; each configure function may
// change its configuration first.
func startAS(t *testing.T, format string, configure ...func(*oauth2.Config, *memory.Store)) *as {
	t.Helper()
	var handler http.Handler = http.NotFoundHandler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	store := memory.New()
	key := make([]byte, 32)
	_, err := rand.Read(key)
	require.NoError(t, err)
	cfg := oauth2.Config{Issuer: srv.URL, Clients: store, Tokens: store, TokenKeys: [][]byte{key},
		Interactions: store, LoginURL: "/login",
		Grants: []oauth2.GrantFactory{
			grant.ClientCredentials(grant.ClientCredentialsOptions{}),
			grant.AuthorizationCode(store, grant.AuthorizationCodeOptions{}),
			grant.RefreshToken(store, grant.RefreshTokenOptions{}),
		}}
	for _, c := range configure {
		c(&cfg, store)
	}
	if format == "jwt" {
		sk, err := token.GenerateSigningKey(jwa.ES256)
		require.NoError(t, err)
		keys, err := token.NewKeySet(sk)
		require.NoError(t, err)
		cfg.AccessTokens, err = token.NewJWT(token.JWTConfig{Keys: keys, Issuer: srv.URL})
		require.NoError(t, err)
	}
	p, err := oauth2.NewProvider(cfg)
	require.NoError(t, err)
	handler = p.Handler()
	a := &as{url: srv.URL, provider: p, store: store}
	for _, c := range []struct {
		client storage.Client
		secret *string
	}{
		{storage.Client{ID: "svc", GrantTypes: []string{"client_credentials"}, Scopes: []string{"read", "write"}}, &a.svcSecret},
		{storage.Client{ID: "api", Resources: []string{srv.URL}}, &a.apiSecret},
		{storage.Client{ID: "web", RedirectURIs: []string{"https://web.example/cb"}, Scopes: []string{"read", "write"},
			GrantTypes: []string{"authorization_code", "refresh_token"}}, &a.webSecret},
	} {
		secret, hash, err := oauth2.GenerateClientSecret(nil)
		require.NoError(t, err)
		c.client.SecretHash, *c.secret = hash, secret
		require.NoError(t, store.PutClient(&c.client))
	}
	return a
}

// token gets an access token of "svc" by the client credentials grant.
func (a *as) token(t *testing.T, scopes ...string) string {
	t.Helper()
	cc := clientcredentials.Config{ClientID: "svc", ClientSecret: a.svcSecret, TokenURL: a.url + "/token", Scopes: scopes}
	tok, err := cc.Token(context.Background())
	require.NoError(t, err)
	return tok.AccessToken
}

// codeTokens runs the authorization code flow for "web" through the
// public API (the authorization endpoint, then Approve as a login page
// would) and returns its access and refresh tokens.
func (a *as) codeTokens(t *testing.T, scope string) (accessToken, refreshToken string) {
	t.Helper()
	verifier, err := pkce.GenerateVerifier()
	require.NoError(t, err)
	q := url.Values{"response_type": {"code"}, "client_id": {"web"}, "redirect_uri": {"https://web.example/cb"},
		"scope": {scope}, "code_challenge": {pkce.S256Challenge(verifier)}, "code_challenge_method": {"S256"}}
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(a.url + "/authorize?" + q.Encode())
	require.NoError(t, err)
	resp.Body.Close()
	login, err := url.Parse(resp.Header.Get("Location"))
	require.NoError(t, err)
	approval := httptest.NewRequest(http.MethodPost, "/consent", nil)
	for _, c := range resp.Cookies() {
		approval.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	require.NoError(t, a.provider.Approve(rec, approval, login.Query().Get("interaction"), oauth2.Approval{Subject: "alice"}))
	back, err := url.Parse(rec.Header().Get("Location"))
	require.NoError(t, err)
	tok := a.post(t, oauth2.TokenPath, "web", a.webSecret, url.Values{"grant_type": {"authorization_code"},
		"code": {back.Query().Get("code")}, "redirect_uri": {"https://web.example/cb"}, "code_verifier": {verifier}})
	return tok["access_token"].(string), tok["refresh_token"].(string)
}

// post posts form to the authorization server's path as client id.
func (a *as) post(t *testing.T, path, id, secret string, form url.Values) map[string]any {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, a.url+path, strings.NewReader(form.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(id, secret)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return out
}

// active asks the introspection endpoint, as this API, about tok.
func (a *as) active(t *testing.T, tok string) bool {
	t.Helper()
	return a.post(t, oauth2.IntrospectionPath, "api", a.apiSecret, url.Values{"token": {tok}})["active"] == true
}

func (a *as) revoke(t *testing.T, tok string) {
	t.Helper()
	a.post(t, oauth2.RevocationPath, "svc", a.svcSecret, url.Values{"token": {tok}})
}

// newTestAPI is the example API against a, introspecting (without a
// cache, so that revocation shows at once) or validating JWTs locally.
func newTestAPI(t *testing.T, a *as, introspect bool) *httptest.Server {
	t.Helper()
	o, err := parseFlags([]string{"-issuer", a.url}, io.Discard)
	require.NoError(t, err)
	if introspect {
		o.clientID, o.clientSecret, o.cacheTTL = "api", a.apiSecret, -1
	}
	s, _ := serveAPI(t, o, slog.New(slog.DiscardHandler))
	return s
}

// serveAPI serves the API newAPI makes of o on a free loopback port,
// whose URL is the API's public URL, and returns it.
func serveAPI(t *testing.T, o options, logger *slog.Logger) (*httptest.Server, *api) {
	t.Helper()
	s := httptest.NewUnstartedServer(nil)
	o.publicURL = "http://" + s.Listener.Addr().String()
	h, err := newAPI(context.Background(), o, http.DefaultClient, logger)
	require.NoError(t, err)
	s.Config.Handler = h
	s.Start()
	t.Cleanup(s.Close)
	return s, h
}

// get calls the API's path with tok and returns the status and challenge.
func get(t *testing.T, api *httptest.Server, path, tok string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, api.URL+path, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("WWW-Authenticate")
}

// TestIntrospectUseRevokeRefuse is issue 4's end-to-end test: a token
// from each grant (client credentials, authorization code, refresh) is
// introspected, used at the API, revoked, and then refused at both, for
// opaque and JWT access tokens.
func TestIntrospectUseRevokeRefuse(t *testing.T) {
	for _, format := range []string{"opaque", "jwt"} {
		t.Run(format, func(t *testing.T) {
			a := startAS(t, format)
			api := newTestAPI(t, a, true)
			codeAT, rt := a.codeTokens(t, "read")
			refreshed := a.post(t, oauth2.TokenPath, "web", a.webSecret,
				url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}})
			for grantType, tok := range map[string]string{
				"client_credentials": a.token(t, "read"),
				"authorization_code": codeAT,
				"refresh_token":      refreshed["access_token"].(string),
			} {
				t.Run(grantType, func(t *testing.T) {
					require.True(t, a.active(t, tok))
					status, _ := get(t, api, "/hello", tok)
					assert.Equal(t, http.StatusOK, status)
					status, www := get(t, api, "/admin", tok)
					assert.Equal(t, http.StatusForbidden, status)
					assert.Contains(t, www, `error="insufficient_scope", error_description=`)
					assert.Contains(t, www, `scope="write"`)

					id, secret := "svc", a.svcSecret
					if grantType != "client_credentials" {
						id, secret = "web", a.webSecret
					}
					a.post(t, oauth2.RevocationPath, id, secret, url.Values{"token": {tok}})
					assert.False(t, a.active(t, tok))
					status, www = get(t, api, "/hello", tok)
					assert.Equal(t, http.StatusUnauthorized, status)
					assert.Contains(t, www, `error="invalid_token"`)
				})
			}
			status, _ := get(t, api, "/admin", a.token(t, "read", "write"))
			assert.Equal(t, http.StatusOK, status, "a token with the scope passes /admin")
		})
	}
}

// TestLocalJWTValidation: the API validates JWTs with the keys of the
// discovered jwks_uri. Local validation cannot see revocation: the token
// stays valid at the API until it expires, though introspection already
// says it is inactive.
func TestLocalJWTValidation(t *testing.T) {
	a := startAS(t, "jwt")
	api := newTestAPI(t, a, false)
	tok := a.token(t, "read")

	status, _ := get(t, api, "/hello", tok)
	assert.Equal(t, http.StatusOK, status)
	status, _ = get(t, api, "/admin", tok)
	assert.Equal(t, http.StatusForbidden, status)
	status, www := get(t, api, "/hello", tok[:len(tok)-2])
	assert.Equal(t, http.StatusUnauthorized, status)
	assert.Contains(t, www, `error="invalid_token"`)
	status, www = get(t, api, "/hello", "")
	assert.Equal(t, http.StatusBadRequest, status, "Bearer without a token")
	assert.Contains(t, www, `error="invalid_request"`)

	a.revoke(t, tok)
	assert.False(t, a.active(t, tok))
	status, _ = get(t, api, "/hello", tok)
	assert.Equal(t, http.StatusOK, status, "local validation does not see revocation")
}

func TestOpaqueTokensNeedIntrospection(t *testing.T) {
	a := startAS(t, "opaque")
	o, err := parseFlags([]string{"-issuer", a.url, "-public-url", "http://127.0.0.1:1"}, io.Discard)
	require.NoError(t, err)
	_, err = newAPI(context.Background(), o, http.DefaultClient, slog.New(slog.DiscardHandler))
	assert.ErrorContains(t, err, "jwks_uri")
}

func TestDiscoveryChecksTheIssuer(t *testing.T) {
	a := startAS(t, "jwt")
	_, err := discover(context.Background(), http.DefaultClient, a.url+"/other")
	assert.Error(t, err, "no metadata for another issuer")
	md := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"issuer":"https://evil.example","jwks_uri":"https://evil.example/jwks"}`))
	}))
	defer md.Close()
	_, err = discover(context.Background(), http.DefaultClient, md.URL)
	assert.ErrorContains(t, err, "evil", "RFC 8414 §3.3: the issuer must match")
}

// TestRun runs the command as `go run ./examples/resource -issuer ...`
// would, on a free port.
func TestRun(t *testing.T) {
	a := startAS(t, "jwt")
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-issuer", a.url}, io.Discard, ready) }()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatalf("the API did not start: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("the API did not start in time")
	}
	status, _ := get(t, &httptest.Server{URL: "http://" + addr}, "/hello", a.token(t, "read"))
	assert.Equal(t, http.StatusOK, status)
	cancel()
	select {
	case err := <-done:
		assert.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("the API did not shut down")
	}
}

func TestFlags(t *testing.T) {
	o, err := parseFlags(nil, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, "http://127.0.0.1:8080", o.audience, "the audience defaults to the issuer")
	_, err = parseFlags([]string{"extra"}, io.Discard)
	assert.Error(t, err)
}

// Issue 15's outage, end to end: someone sends wrong secrets in the API's
// name, and junk bearer tokens to the API itself. Neither may make the API
// refuse its users' valid tokens: the API's client, whose secret a person
// chose (argon2id, as examples/server stores the secrets of its clients
// file), is recognised once its correct secret was verified, and junk
// tokens are refused without throttling the API's introspections.
func TestThirdPartiesCannotTakeTheAPIDown(t *testing.T) {
	a := startAS(t, "opaque")
	const humanSecret = "the api's passphrase"
	hash, err := oauth2.HashClientSecret(humanSecret)
	require.NoError(t, err)
	require.NoError(t, a.store.PutClient(&storage.Client{ID: "api-human", SecretHash: hash, Resources: []string{a.url}}))
	o, err := parseFlags([]string{"-issuer", a.url}, io.Discard)
	require.NoError(t, err)
	o.clientID, o.clientSecret, o.cacheTTL = "api-human", humanSecret, -1
	api, _ := serveAPI(t, o, slog.New(slog.DiscardHandler))

	tok := a.token(t, "read")
	status, _ := get(t, api, "/hello", tok)
	require.Equal(t, http.StatusOK, status)

	for range 20 {
		req, err := http.NewRequest(http.MethodPost, a.url+oauth2.IntrospectionPath, strings.NewReader("token=x"))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("api-human", "a guess")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Contains(t, []int{http.StatusUnauthorized, http.StatusTooManyRequests}, resp.StatusCode)
	}
	status, _ = get(t, api, "/hello", tok)
	assert.Equal(t, http.StatusOK, status, "the wrong secrets of others do not lock the API out")

	for i := range 1100 {
		status, _ := get(t, api, "/hello", "junk-"+strings.Repeat("j", i%5))
		require.Equal(t, http.StatusUnauthorized, status)
	}
	status, _ = get(t, api, "/hello", tok)
	assert.Equal(t, http.StatusOK, status, "junk tokens do not make the API refuse valid ones")
}
