package resource_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/grant"
	"github.com/grantor-dev/grantor/internal/testkit"
	"github.com/grantor-dev/grantor/oauth2"
	"github.com/grantor-dev/grantor/resource"
	"github.com/grantor-dev/grantor/storage"
	"github.com/grantor-dev/grantor/storage/memory"
	"github.com/grantor-dev/grantor/token"
)

// The authorization server side of the black-box tests: a real Provider
// (internal/testkit) issuing opaque or JWT access tokens by the client
// credentials grant, and the API identifiers its clients ask for.

const (
	apiA = "https://api.a.example"
	apiB = "https://api.b.example"
)

// env is a Provider with these clients:
//   - "svc": client credentials, scopes read and write, tokens for apiA
//   - "svc-b": client credentials, tokens for apiB
//   - "rs-a": the resource server apiA, which may introspect its tokens
type env struct {
	*testkit.Harness
	format string
	keys   *token.KeySet // JWT format only
	signer jwk.Key       // the private key that signs, JWT format only
	// counts are the requests per path that reached the Provider
	// through Proxy.
	mu     sync.Mutex
	counts map[string]int
	// Proxy serves the Provider too, counting requests.
	Proxy *httptest.Server

	svcSecret, svcBSecret, rsASecret string
}

func newEnv(t *testing.T, format string, configure ...func(*oauth2.Config, *memory.Store)) *env {
	t.Helper()
	e := &env{format: format, counts: map[string]int{}}
	e.Harness = testkit.New(t, func(cfg *oauth2.Config, store *memory.Store) {
		for _, c := range configure {
			c(cfg, store)
		}
		cfg.Grants = append(cfg.Grants, grant.ClientCredentials(grant.ClientCredentialsOptions{}))
		if format == "jwt" {
			var err error
			e.signer, err = token.GenerateSigningKey(jwa.ES256)
			require.NoError(t, err)
			e.keys, err = token.NewKeySet(e.signer)
			require.NoError(t, err)
			cfg.AccessTokens, err = token.NewJWT(token.JWTConfig{Keys: e.keys, Issuer: cfg.Issuer})
			require.NoError(t, err)
		}
	})
	e.svcSecret = e.AddClient(storage.Client{ID: "svc", GrantTypes: []string{"client_credentials"},
		Scopes: []string{"read", "write"}, DefaultScopes: []string{"read"}, Audience: []string{apiA}})
	e.svcBSecret = e.AddClient(storage.Client{ID: "svc-b", GrantTypes: []string{"client_credentials"},
		Scopes: []string{"read"}, Audience: []string{apiB}})
	e.rsASecret = e.AddClient(storage.Client{ID: "rs-a", Resources: []string{apiA}})
	handler := e.Provider.Handler()
	e.Proxy = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		e.counts[r.URL.Path]++
		e.mu.Unlock()
		handler.ServeHTTP(w, r)
	}))
	t.Cleanup(e.Proxy.Close)
	return e
}

// count returns how many requests for path reached the Provider through
// Proxy.
func (e *env) count(path string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.counts[path]
}

// token returns an access token of client for scope.
func (e *env) token(client, secret, scope string) string {
	e.T.Helper()
	r := e.Token(client, secret, url.Values{"grant_type": {"client_credentials"}, "scope": {scope}})
	require.Equal(e.T, http.StatusOK, r.Status, "%s", r.Body)
	return r.Str("access_token")
}

// svcToken returns an access token of "svc" for apiA with scope read.
func (e *env) svcToken() string { return e.token("svc", e.svcSecret, "read") }

// refreshToken returns a refresh token of "svc" whose grant is for apiA.
func (e *env) refreshToken() string {
	return e.SeedRefreshToken(storage.Token{ClientID: "svc", Subject: grant.ClientSubjectPrefix + "svc",
		Scopes: []string{"read"}, Audience: []string{apiA}})
}

// forgeJWT signs claims (those of a valid access token of "svc" for apiA,
// then extra) with header typ, with the Provider's signing key for the
// JWT format and a key of its own otherwise.
func (e *env) forgeJWT(typ string, extra map[string]any) (tok, jti string) {
	e.T.Helper()
	key := e.signer
	if key == nil {
		var err error
		key, err = token.GenerateSigningKey(jwa.ES256)
		require.NoError(e.T, err)
	}
	var b [16]byte
	_, _ = rand.Read(b[:])
	jti = base64.RawURLEncoding.EncodeToString(b[:])
	now := e.Now()
	claims := map[string]any{"iss": e.Provider.Issuer(), "sub": "client:svc", "aud": apiA, "client_id": "svc",
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "jti": jti, "scope": "read"}
	for k, v := range extra {
		claims[k] = v
	}
	payload, err := json.Marshal(claims)
	require.NoError(e.T, err)
	h := jws.NewHeaders()
	require.NoError(e.T, h.Set(jws.TypeKey, typ))
	signed, err := jws.Sign(payload, jws.WithKey(jwa.ES256, key, jws.WithProtectedHeaders(h)))
	require.NoError(e.T, err)
	return string(signed), jti
}

// boundToken returns an access token of "svc" for apiA whose record (and
// claims, for a JWT) carry a DPoP confirmation (RFC 9449 §6), as a DPoP
// token endpoint would issue it.
func (e *env) boundToken() string {
	e.T.Helper()
	const jkt = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"
	cnf := map[string]any{"jkt": jkt}
	var tok, key string
	if e.format == "jwt" {
		tok, key = e.forgeJWT("at+jwt", map[string]any{"cnf": cnf})
	} else {
		at, err := e.Provider.OpaqueFormat("gr_at_")
		require.NoError(e.T, err)
		tok, key, err = at.Generate()
		require.NoError(e.T, err)
	}
	now := e.Now()
	require.NoError(e.T, e.Store.CreateTokens(context.Background(), &storage.Token{
		Key: key, Kind: storage.AccessToken, GrantID: "grant-bound-" + key[:6], ClientID: "svc",
		Subject: "client:svc", Scopes: []string{"read"}, Audience: []string{apiA},
		KeyThumbprint: jkt, IssuedAt: now, ExpiresAt: now.Add(time.Hour)}))
	return tok
}

// validators returns the validators that apply to the format, by name,
// all for the resource server apiA.
func (e *env) validators() map[string]resource.Validator {
	e.T.Helper()
	out := map[string]resource.Validator{"store": resource.Store(e.Provider, e.Store, e.Now)}
	iv, err := resource.Introspection(resource.IntrospectionConfig{URL: e.Provider.IntrospectionEndpoint(),
		ClientID: "rs-a", ClientSecret: e.rsASecret, Clock: e.Now})
	require.NoError(e.T, err)
	out["introspection"] = iv
	if e.format == "jwt" {
		out["jwt/keyset"] = resource.JWT(e.verifier(e.keys))
		rk, err := token.NewRemoteKeys(token.RemoteKeysConfig{URL: e.Proxy.URL + oauth2.JWKSPath, Clock: e.Now})
		require.NoError(e.T, err)
		out["jwt/remote"] = resource.JWT(e.verifier(rk))
	}
	return out
}

// verifier is a JWTVerifier for apiA on the harness clock.
func (e *env) verifier(keys token.VerificationKeys) *token.JWTVerifier {
	e.T.Helper()
	v, err := token.NewJWTVerifier(token.JWTVerifierConfig{Keys: keys, Issuer: e.Provider.Issuer(), Audience: apiA, Clock: e.Now})
	require.NoError(e.T, err)
	return v
}

// api is an API for apiA protected with v.
func api(v resource.Validator) http.Handler {
	return resource.Middleware(resource.Config{Validator: v, Realm: "api-a", Audience: apiA})(echo)
}

// call presents tok as a bearer token to h.
func call(h http.Handler, tok string) result {
	return serve(h, get("Bearer "+tok))
}
