package oauth2_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/grant"
	"github.com/grantor-dev/grantor/internal/testkit"
	"github.com/grantor-dev/grantor/oauth2"
	"github.com/grantor-dev/grantor/storage"
	"github.com/grantor-dev/grantor/storage/memory"
	"github.com/grantor-dev/grantor/token"
)

func validConfig() oauth2.Config {
	store := memory.New()
	return oauth2.Config{Issuer: "https://as.example", Clients: store, Tokens: store, TokenKeys: [][]byte{make([]byte, 32)},
		Grants: []oauth2.GrantFactory{grant.ClientCredentials(grant.ClientCredentialsOptions{})}}
}

// NewProvider refuses unsafe or incomplete configurations.
func TestNewProviderRefusesBadConfigurations(t *testing.T) {
	store := memory.New()
	cases := map[string]func(*oauth2.Config){
		"no issuer":                     func(c *oauth2.Config) { c.Issuer = "" },
		"http issuer outside loopback":  func(c *oauth2.Config) { c.Issuer = "http://as.example" },
		"issuer with query":             func(c *oauth2.Config) { c.Issuer = "https://as.example?x=1" },
		"issuer with fragment":          func(c *oauth2.Config) { c.Issuer = "https://as.example#f" },
		"issuer with trailing slash":    func(c *oauth2.Config) { c.Issuer = "https://as.example/" },
		"issuer with user info":         func(c *oauth2.Config) { c.Issuer = "https://u@as.example" },
		"relative issuer":               func(c *oauth2.Config) { c.Issuer = "as.example" },
		"issuer with another scheme":    func(c *oauth2.Config) { c.Issuer = "ftp://as.example" },
		"loopback look-alike over http": func(c *oauth2.Config) { c.Issuer = "http://127.0.0.1.evil.example" },
		"no client store":               func(c *oauth2.Config) { c.Clients = nil },
		"no token store":                func(c *oauth2.Config) { c.Tokens = nil },
		"no token keys":                 func(c *oauth2.Config) { c.TokenKeys = nil },
		"short token key":               func(c *oauth2.Config) { c.TokenKeys = [][]byte{make([]byte, 16)} },
		"negative lifetime":             func(c *oauth2.Config) { c.AccessTokenLifetime = -1 },
		"nil grant factory":             func(c *oauth2.Config) { c.Grants = []oauth2.GrantFactory{nil} },
		"two handlers for one grant type": func(c *oauth2.Config) {
			c.Grants = []oauth2.GrantFactory{grant.ClientCredentials(grant.ClientCredentialsOptions{}),
				grant.ClientCredentials(grant.ClientCredentialsOptions{})}
		},
		"two authenticators for one method": func(c *oauth2.Config) {
			c.ClientAuthenticators = []oauth2.ClientAuthenticator{oauth2.ClientSecretBasic{}, oauth2.ClientSecretBasic{}}
		},
		"private_key_jwt without a replay store": func(c *oauth2.Config) {
			c.ClientAuthenticators = []oauth2.ClientAuthenticator{&oauth2.PrivateKeyJWT{}}
		},
		"client_secret_jwt without a replay store": func(c *oauth2.Config) {
			c.ClientAuthenticators = []oauth2.ClientAuthenticator{&oauth2.ClientSecretJWT{
				Key: func(context.Context, *storage.Client) ([]byte, error) { return nil, nil }}}
		},
		"refresh grant without a store": func(c *oauth2.Config) {
			c.Grants = []oauth2.GrantFactory{grant.RefreshToken(nil, grant.RefreshTokenOptions{})}
		},
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			cfg := oauth2.Config{Issuer: "https://as.example", Clients: store, Tokens: store, TokenKeys: [][]byte{make([]byte, 32)}}
			mutate(&cfg)
			p, err := oauth2.NewProvider(cfg)
			assert.Error(t, err)
			assert.Nil(t, p)
		})
	}
}

// The issuer's path is written one way only (RFC 8414 §2, §3.3; RFC 3986
// §6): a client that normalizes an endpoint URL made from it must reach the
// URL Handler serves, and the issuer it compares must be the same string.
func TestNewProviderRefusesIssuerPathsWrittenSeveralWays(t *testing.T) {
	cases := []struct{ name, issuer, want string }{
		{"percent-escaped space", "https://as.example/o%20auth", "percent-escapes"},
		{"percent-escaped question mark", "https://as.example/a%3Fb", "percent-escapes"},
		{"percent-escaped percent sign", "https://as.example/a%25b", "percent-escapes"},
		{"percent-escaped quote", "https://as.example/a%22b", "percent-escapes"},
		{"escaped unreserved character (RFC 3986 §6.2.2.2)", "https://as.example/o%41uth", "percent-escapes"},
		{"lower-case escape", "https://as.example/o%2fauth", "percent-escapes"},
		{"character net/url escapes", "https://as.example/a!b", "percent-escapes"},
		{"space", "https://as.example/a b", "percent-escapes"},
		{"dot-dot segment (RFC 3986 §5.2.4)", "https://as.example/a/..", `".."`},
		{"dot segment (RFC 3986 §5.2.4)", "https://as.example/a/./b", `".."`},
		{"only a dot segment", "https://as.example/.", `".."`},
		{"leading empty segment", "https://as.example//oauth", "empty segment"},
		{"inner empty segment", "https://as.example/a//b", "empty segment"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := validConfig()
			cfg.Issuer = c.issuer
			p, err := oauth2.NewProvider(cfg)
			require.Error(t, err)
			assert.Nil(t, p)
			assert.Contains(t, err.Error(), c.want)
			assert.Contains(t, err.Error(), "in its path")
		})
	}
}

func TestNewProviderAcceptsLoopbackHTTPAndPaths(t *testing.T) {
	for _, issuer := range []string{"http://127.0.0.1:8080", "http://localhost:8080", "http://[::1]:9000", "https://as.example/tenant-a",
		"https://as.example/t/a-b_c.d~e/$&+,:;=@", "https://[fe80::1%25en0]/oauth", "https://[fe80::1%25en0]:8443"} {
		cfg := validConfig()
		cfg.Issuer = issuer
		_, err := oauth2.NewProvider(cfg)
		assert.NoError(t, err, issuer)
	}
}

func TestMetadataIsGeneratedFromWhatIsRegistered(t *testing.T) {
	h := testkit.New(t, func(cfg *oauth2.Config, store *memory.Store) {
		cfg.Grants = []oauth2.GrantFactory{grant.ClientCredentials(grant.ClientCredentialsOptions{})}
		cfg.ClientAuthenticators = []oauth2.ClientAuthenticator{oauth2.ClientSecretBasic{}, &oauth2.PrivateKeyJWT{Replay: store}}
		cfg.ScopesSupported = []string{"read"}
	})
	r := h.Do(mustGet(t, h.Server.URL+oauth2.MetadataPath))
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	assert.Equal(t, "application/json", r.Header.Get("Content-Type"))
	assert.Equal(t, h.Provider.Issuer(), r.Str("issuer"))
	assert.Equal(t, h.Provider.Issuer()+"/token", r.Str("token_endpoint"))
	assert.Equal(t, []any{"client_credentials"}, r.JSON["grant_types_supported"])
	assert.Equal(t, []any{"client_secret_basic", "private_key_jwt"}, r.JSON["token_endpoint_auth_methods_supported"])
	algs, _ := r.JSON["token_endpoint_auth_signing_alg_values_supported"].([]any)
	assert.NotEmpty(t, algs)
	for _, a := range algs {
		assert.NotEqual(t, "none", a)
		assert.NotContains(t, a, "HS")
	}
	assert.Equal(t, []any{"read"}, r.JSON["scopes_supported"])
	// Opaque tokens: no JWKS advertised, none served.
	assert.NotContains(t, r.JSON, "jwks_uri")
	assert.Equal(t, http.StatusNotFound, h.Do(mustGet(t, h.Server.URL+oauth2.JWKSPath)).Status)
	// Nothing that is not registered is advertised. (Revocation and
	// introspection are always on: they need only the token store.)
	for _, absent := range []string{"authorization_endpoint",
		"pushed_authorization_request_endpoint", "device_authorization_endpoint"} {
		assert.NotContains(t, r.JSON, absent)
	}

	post, err := http.NewRequest(http.MethodPost, h.Server.URL+oauth2.MetadataPath, nil)
	require.NoError(t, err)
	assert.Equal(t, http.StatusMethodNotAllowed, h.Do(post).Status)
}

// A client that knows only the issuer finds the token endpoint and the
// JWKS, also for an issuer with a path (RFC 8414 §3.1).
func TestMetadataPathInsertionAndJWKS(t *testing.T) {
	key, err := token.GenerateSigningKey(jwa.ES256)
	require.NoError(t, err)
	keys, err := token.NewKeySet(key)
	require.NoError(t, err)
	cfg := validConfig()
	cfg.Issuer = "https://as.example/tenant-a"
	cfg.AccessTokens, err = token.NewJWT(token.JWTConfig{Keys: keys, Issuer: cfg.Issuer})
	require.NoError(t, err)
	p, err := oauth2.NewProvider(cfg)
	require.NoError(t, err)

	md := serve(t, p.Handler(), http.MethodGet, "/.well-known/oauth-authorization-server/tenant-a")
	require.Equal(t, http.StatusOK, md.Code)
	var m oauth2.Metadata
	require.NoError(t, json.Unmarshal(md.Body.Bytes(), &m))
	assert.Equal(t, "https://as.example/tenant-a", m.Issuer)
	assert.Equal(t, "https://as.example/tenant-a/token", m.TokenEndpoint)
	assert.Equal(t, "https://as.example/tenant-a/jwks.json", m.JWKSURI)

	jwks := serve(t, p.Handler(), http.MethodGet, "/tenant-a/jwks.json")
	require.Equal(t, http.StatusOK, jwks.Code)
	assert.Equal(t, "application/jwk-set+json", jwks.Header().Get("Content-Type"))
	var set struct{ Keys []map[string]any }
	require.NoError(t, json.Unmarshal(jwks.Body.Bytes(), &set))
	require.Len(t, set.Keys, 1)
	assert.NotContains(t, set.Keys[0], "d", "RFC 7518 §6: no private member")
	assert.Equal(t, http.StatusNotFound, serve(t, p.Handler(), http.MethodGet, "/.well-known/oauth-authorization-server").Code)
	assert.Equal(t, http.StatusMethodNotAllowed, serve(t, p.Handler(), http.MethodGet, "/tenant-a/token").Code)
	assert.Equal(t, "https://as.example/tenant-a/revoke", m.RevocationEndpoint)
	assert.Equal(t, "https://as.example/tenant-a/introspect", m.IntrospectionEndpoint)
	for _, path := range []string{"/tenant-a/revoke", "/tenant-a/introspect"} {
		assert.Equal(t, http.StatusMethodNotAllowed, serve(t, p.Handler(), http.MethodGet, path).Code, path)
		assert.Equal(t, http.StatusNotFound, serve(t, p.Handler(), http.MethodGet, strings.TrimPrefix(path, "/tenant-a")).Code, path)
	}
}
