package grantortest_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/grantortest"
	"github.com/grantor-dev/grantor/oauth2"
	"github.com/grantor-dev/grantor/resource"
	"github.com/grantor-dev/grantor/storage"
	"github.com/grantor-dev/grantor/storage/memory"
	"github.com/grantor-dev/grantor/token"
)

// call runs one request with accessToken through handler behind the
// resource middleware and returns the token the handler saw.
func call(t *testing.T, v resource.Validator, audience, accessToken string) (int, *resource.Token) {
	t.Helper()
	var seen *resource.Token
	api := resource.Middleware(resource.Config{Validator: v, Audience: audience})(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		seen, _ = resource.FromContext(r.Context())
	}))
	rec := httptest.NewRecorder()
	api.ServeHTTP(rec, grantortest.NewRequest(http.MethodGet, "/api", accessToken))
	return rec.Code, seen
}

// introspect asks the Provider's introspection endpoint about tok as a
// resource server registered for the issuer's default audience.
func introspect(t *testing.T, srv *grantortest.Server, tok string) map[string]any {
	t.Helper()
	secret := srv.RegisterClient(t, storage.Client{ID: "rs", Resources: []string{srv.Issuer}})
	req, err := http.NewRequest(http.MethodPost, srv.Provider.IntrospectionEndpoint(), strings.NewReader(url.Values{"token": {tok}}.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("rs", secret)
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var body map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	return body
}

// A minted token is a token of the Provider: the resource middleware,
// introspection (RFC 7662) and revocation (RFC 7009) treat it as any
// other.
func TestMintedTokensAreRealTokens(t *testing.T) {
	srv := grantortest.NewServer(t)
	tokens := srv.Mint(t, grantortest.Grant{Subject: "alice", Scopes: []string{"read", "write"}, Claims: map[string]any{"tenant": "acme"}})
	assert.Equal(t, "Bearer", tokens.TokenType)
	assert.Equal(t, int64(3600), tokens.ExpiresIn)
	assert.Empty(t, tokens.RefreshToken, "only when asked for")

	code, seen := call(t, srv.Validator(), srv.Issuer, tokens.AccessToken)
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, "alice", seen.Subject)
	assert.Equal(t, grantortest.ClientID, seen.ClientID)
	assert.Equal(t, []string{"read", "write"}, seen.Scopes)
	assert.Equal(t, []string{srv.Issuer}, seen.Audience)
	assert.Equal(t, "acme", seen.Claims["tenant"])
	assert.True(t, seen.IssuedAt.Equal(grantortest.Start()), "issued on the Server's clock")

	got := introspect(t, srv, tokens.AccessToken)
	assert.Equal(t, true, got["active"])
	assert.Equal(t, "alice", got["sub"])
	assert.Equal(t, "read write", got["scope"])

	srv.Revoke(t, tokens.AccessToken)
	code, _ = call(t, srv.Validator(), srv.Issuer, tokens.AccessToken)
	assert.Equal(t, http.StatusUnauthorized, code)
}

// A token for another audience (RFC 8707) is accepted by that API only.
func TestMintForAnAudience(t *testing.T) {
	srv := grantortest.NewServer(t)
	api := "https://api.example"
	forAPI := srv.Mint(t, grantortest.Grant{Subject: "alice", Audience: []string{api}}).AccessToken
	code, seen := call(t, srv.Validator(), api, forAPI)
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, []string{api}, seen.Audience)

	code, _ = call(t, srv.Validator(), api, srv.AccessToken(t, "alice"))
	assert.Equal(t, http.StatusUnauthorized, code, "a token of the default audience is not for the API")
}

// A refresh token, when asked for, is stored as the Provider's refresh
// tokens are.
func TestMintWithARefreshToken(t *testing.T) {
	srv := grantortest.NewServer(t)
	tokens := srv.Mint(t, grantortest.Grant{Subject: "alice", Scopes: []string{"read"}, RefreshToken: true})
	require.NotEmpty(t, tokens.RefreshToken)
	key, err := srv.Provider.RefreshTokenKey(tokens.RefreshToken)
	require.NoError(t, err)
	rec, err := srv.Store.Token(t.Context(), key)
	require.NoError(t, err)
	assert.Equal(t, storage.RefreshToken, rec.Kind)
	assert.Equal(t, "alice", rec.Subject)
}

// One clock moves the Provider, the memory store and the validator: an
// expired token is refused by the API and by introspection, and the store
// sweeps it.
func TestOneClockForEverything(t *testing.T) {
	srv := grantortest.NewServer(t)
	tok := srv.AccessToken(t, "alice", "read")
	n, err := srv.Store.DeleteExpired(t.Context())
	require.NoError(t, err)
	require.Zero(t, n)

	srv.Clock.Advance(time.Hour)
	assert.Equal(t, grantortest.Start().Add(time.Hour), srv.Provider.Now())
	code, _ := call(t, srv.Validator(), srv.Issuer, tok)
	assert.Equal(t, http.StatusUnauthorized, code)
	assert.Equal(t, false, introspect(t, srv, tok)["active"])
	n, err = srv.Store.DeleteExpired(t.Context())
	require.NoError(t, err)
	assert.Equal(t, 1, n, "the store's clock has moved too")

	clock := grantortest.NewClock(time.Date(2031, 5, 1, 0, 0, 0, 0, time.UTC))
	srv = grantortest.NewServer(t, grantortest.WithClock(clock))
	assert.Same(t, clock, srv.Clock)
	_, seen := call(t, srv.Validator(), srv.Issuer, srv.AccessToken(t, "alice"))
	require.NotNil(t, seen)
	assert.True(t, seen.IssuedAt.Equal(clock.Now()))
	clock.Set(clock.Now().Add(-time.Minute))
	code, _ = call(t, srv.Validator(), srv.Issuer, srv.AccessToken(t, "bob"))
	assert.Equal(t, http.StatusOK, code, "a clock set back issues tokens at its time")
}

// The issuer is the test server's URL, with a path when asked for; the
// metadata is where RFC 8414 §3.1 puts it.
func TestIssuerIsTheServersURL(t *testing.T) {
	for _, path := range []string{"", "/oauth"} {
		srv := grantortest.NewServer(t, grantortest.WithIssuerPath(path))
		assert.Equal(t, srv.URL+path, srv.Issuer)
		assert.Equal(t, srv.Issuer, srv.Provider.Issuer())
		resp, err := srv.Client().Get(srv.Provider.MetadataURL())
		require.NoError(t, err)
		var md oauth2.Metadata
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&md))
		resp.Body.Close()
		assert.Equal(t, srv.Issuer, md.Issuer)
		assert.Contains(t, md.GrantTypesSupported, "client_credentials")
		assert.Contains(t, md.GrantTypesSupported, "refresh_token")
		assert.NotEmpty(t, srv.AccessToken(t, "alice"))
	}
}

// WithConfig changes the Provider's configuration: here JWT access
// tokens (RFC 9068), which the validator accepts too.
func TestWithConfig(t *testing.T) {
	key, err := token.GenerateSigningKey(jwa.ES256)
	require.NoError(t, err)
	keys, err := token.NewKeySet(key)
	require.NoError(t, err)
	srv := grantortest.NewServer(t, grantortest.WithConfig(func(cfg *oauth2.Config) {
		cfg.AccessTokens, err = token.NewJWT(token.JWTConfig{Keys: keys, Issuer: cfg.Issuer})
		require.NoError(t, err)
		cfg.AccessTokenLifetime = 5 * time.Minute
	}))
	tokens := srv.Mint(t, grantortest.Grant{Subject: "alice", Scopes: []string{"read"}})
	assert.Equal(t, 2, strings.Count(tokens.AccessToken, "."), "a JWT")
	assert.Equal(t, int64(300), tokens.ExpiresIn)
	code, seen := call(t, srv.Validator(), srv.Issuer, tokens.AccessToken)
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, "alice", seen.Subject)
}

// WithConfig cannot disconnect the Provider from Server.Clock or
// Server.Store, which the Server's helpers and Validator read: NewServer
// fails the test and says what to do instead. A configure that only reads
// the clock, or wraps it, keeps one clock for everything.
func TestWithConfigKeepsOneClockAndOneStore(t *testing.T) {
	other := grantortest.NewClock(grantortest.Start())
	cases := map[string]struct {
		configure func(cfg *oauth2.Config)
		want      string
	}{
		"the wall clock":            {func(cfg *oauth2.Config) { cfg.Clock = time.Now }, "WithClock"},
		"no clock":                  {func(cfg *oauth2.Config) { cfg.Clock = nil }, "WithClock"},
		"another fake clock":        {func(cfg *oauth2.Config) { cfg.Clock = other.Now }, "WithClock"},
		"another client store":      {func(cfg *oauth2.Config) { cfg.Clients = memory.New() }, "Server.Store"},
		"another token store":       {func(cfg *oauth2.Config) { cfg.Tokens = memory.New() }, "Server.Store"},
		"a wrapper of the store":    {func(cfg *oauth2.Config) { cfg.Tokens = wrappedStore{memory.New()} }, "Config.Tokens"},
		"no client store":           {func(cfg *oauth2.Config) { cfg.Clients = nil }, "Config.Clients"},
		"the clock, then the store": {func(cfg *oauth2.Config) { cfg.Clock, cfg.Tokens = time.Now, memory.New() }, "Config.Clock"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			msg := fatal(t, func(tb testing.TB) { grantortest.NewServer(tb, grantortest.WithConfig(c.configure)) })
			assert.Contains(t, msg, c.want)
		})
	}

	t.Run("a configure that wraps the clock", func(t *testing.T) {
		srv := grantortest.NewServer(t, grantortest.WithConfig(func(cfg *oauth2.Config) {
			now := cfg.Clock
			cfg.Clock = func() time.Time { return now() }
		}))
		tok := srv.AccessToken(t, "alice")
		srv.Clock.Advance(time.Hour) // the Provider's default access token lifetime
		code, _ := call(t, srv.Validator(), srv.Issuer, tok)
		assert.Equal(t, http.StatusUnauthorized, code)
	})
}

// wrappedStore is an application's decorator of a store.
type wrappedStore struct{ *memory.Store }

// WithHandler serves the Provider the way the application mounts it.
func TestWithHandler(t *testing.T) {
	srv := grantortest.NewServer(t, grantortest.WithIssuerPath("/oauth"), grantortest.WithHandler(func(p *oauth2.Provider) http.Handler {
		mux := http.NewServeMux()
		mux.Handle("/oauth/", http.StripPrefix("/oauth", p.Handler()))
		mux.Handle(p.MetadataPath(), p.MetadataHandler())
		mux.HandleFunc("/app", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "app") })
		return mux
	}))
	assert.NotEmpty(t, srv.AccessToken(t, "alice"))
	resp, err := srv.Client().Get(srv.URL + "/app")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
}

// Registered clients are what their helper says: a confidential client
// authenticates with its generated secret, a public one with none.
func TestRegisterClients(t *testing.T) {
	srv := grantortest.NewServer(t)
	secret := srv.RegisterClient(t, storage.Client{ID: "svc", GrantTypes: []string{"client_credentials"}})
	c, err := srv.Store.Client(t.Context(), "svc")
	require.NoError(t, err)
	assert.False(t, c.IsPublic())
	assert.NoError(t, oauth2.VerifyClientSecret(c.SecretHash, secret))

	_, hash, err := oauth2.GenerateClientSecret(nil)
	require.NoError(t, err)
	assert.Empty(t, srv.RegisterClient(t, storage.Client{ID: "own", SecretHash: hash}), "no secret the Server made")

	srv.RegisterPublicClient(t, storage.Client{ID: "spa", RedirectURIs: []string{"https://spa.example/cb"}})
	c, err = srv.Store.Client(t.Context(), "spa")
	require.NoError(t, err)
	assert.True(t, c.IsPublic())
	assert.Equal(t, oauth2.AuthMethodNone, c.AuthMethod())
}

// The minting grant answers the Server's own client only: a client that
// registers for it gets no token.
func TestMintingGrantIsTheServersOwn(t *testing.T) {
	srv := grantortest.NewServer(t)
	secret := srv.RegisterClient(t, storage.Client{ID: "intruder", GrantTypes: []string{grantortest.GrantType}})
	req, err := http.NewRequest(http.MethodPost, srv.Provider.TokenEndpoint(),
		strings.NewReader(url.Values{"grant_type": {grantortest.GrantType}, "mint": {"x"}}.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("intruder", secret)
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var body map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Equal(t, "unauthorized_client", body["error"])
}

// The test server is closed by the test's cleanup.
func TestServerIsClosedAtCleanup(t *testing.T) {
	var u string
	t.Run("test", func(t *testing.T) { u = grantortest.NewServer(t).Provider.MetadataURL() })
	_, err := http.Get(u)
	assert.Error(t, err)
}

// fatal runs f with a testing.TB whose Fatalf stops f, and returns the
// message f failed with, or "" when it did not.
func fatal(t *testing.T, f func(tb testing.TB)) string {
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(r)
	}()
	<-done
	return r.msg
}

type recorder struct {
	testing.TB
	msg string
}

func (r *recorder) Fatalf(format string, args ...any) {
	r.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// Misuse fails the test with a message that says what to do instead.
func TestMisuseFailsTheTest(t *testing.T) {
	srv := grantortest.NewServer(t)
	cases := map[string]struct {
		f    func(tb testing.TB)
		want string
	}{
		"WithConfig changes the issuer": {func(tb testing.TB) {
			grantortest.NewServer(tb, grantortest.WithConfig(func(cfg *oauth2.Config) { cfg.Issuer = "https://as.example" }))
		}, "WithIssuerPath"},
		"a configuration NewProvider refuses": {func(tb testing.TB) {
			grantortest.NewServer(tb, grantortest.WithConfig(func(cfg *oauth2.Config) { cfg.TokenKeys = nil }))
		}, "TokenKeys"},
		"Mint without a subject": {func(tb testing.TB) { srv.Mint(tb, grantortest.Grant{}) }, "subject"},
		"a public client through RegisterClient": {func(tb testing.TB) {
			srv.RegisterClient(tb, storage.Client{ID: "p", TokenEndpointAuthMethod: oauth2.AuthMethodNone})
		}, "RegisterPublicClient"},
		"a public client with a secret": {func(tb testing.TB) {
			srv.RegisterPublicClient(tb, storage.Client{ID: "p", SecretHash: "x"})
		}, "RegisterClient"},
		"the Server's own client_id": {func(tb testing.TB) {
			srv.RegisterClient(tb, storage.Client{ID: grantortest.ClientID})
		}, "the Server's own"},
		"a refused token request": {func(tb testing.TB) {
			srv.Mint(tb, grantortest.Grant{Subject: "alice", Scopes: []string{"bad\"scope"}})
		}, "invalid_scope"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			assert.Contains(t, fatal(t, c.f), c.want)
		})
	}
}
