package grant_test

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/grant"
	"github.com/grantor-dev/grantor/oauth2"
	"github.com/grantor-dev/grantor/pkce"
	"github.com/grantor-dev/grantor/storage"
	"github.com/grantor-dev/grantor/storage/memory"
)

// Benchmarks of the token endpoint's grants that continue a grant: refresh
// token rotation and authorization code exchange, end to end through the
// token handler with httptest, without the network.

// benchTokenProvider returns a Provider over a fresh memory store with the
// authorization code and refresh token grants, and a confidential client
// "web" (client_secret_basic, a generated secret) registered for both.
func benchTokenProvider(b *testing.B) (*oauth2.Provider, *memory.Store, string) {
	b.Helper()
	store := memory.New()
	p, err := oauth2.NewProvider(oauth2.Config{
		Issuer: "https://as.example", Clients: store, Tokens: store, TokenKeys: [][]byte{make([]byte, 32)},
		Grants: []oauth2.GrantFactory{
			grant.AuthorizationCode(store, grant.AuthorizationCodeOptions{}),
			grant.RefreshToken(store, grant.RefreshTokenOptions{}),
		},
		Interactions: store, LoginURL: "/login", ScopesSupported: []string{"read", "write"},
	})
	require.NoError(b, err)
	secret, hash, err := oauth2.GenerateClientSecret(nil)
	require.NoError(b, err)
	require.NoError(b, store.PutClient(&storage.Client{ID: "web", SecretHash: hash,
		RedirectURIs: []string{"https://c.example/cb"}, GrantTypes: []string{"authorization_code", "refresh_token"},
		Scopes: []string{"read", "write"}, DefaultScopes: []string{"read"}}))
	return p, store, "Basic " + base64.StdEncoding.EncodeToString([]byte("web:"+url.QueryEscape(secret)))
}

// postToken sends one token request with Basic credentials and returns the
// recorded response, failing the benchmark unless it is 200.
func postToken(b *testing.B, h http.Handler, basic, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/token", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", basic)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		b.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	return rec
}

// jsonString returns the string member name of a flat JSON object whose
// strings need no unescaping, as token responses are; "" when absent.
func jsonString(body, name string) string {
	_, rest, ok := strings.Cut(body, `"`+name+`":"`)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(rest, `"`)
	return v
}

// BenchmarkRefreshRotation is one refresh token rotation (RFC 6749 §6,
// RFC 9700 §4.14.2): each request presents the refresh token the previous
// one returned, and gets a new access token and refresh token.
func BenchmarkRefreshRotation(b *testing.B) {
	p, store, basic := benchTokenProvider(b)
	now := time.Now()
	rt, err := p.OpaqueFormat("gr_rt_")
	require.NoError(b, err)
	value, key, err := rt.Generate()
	require.NoError(b, err)
	require.NoError(b, store.CreateTokens(context.Background(), &storage.Token{
		Key: key, Kind: storage.RefreshToken, GrantID: "bench-grant", ClientID: "web", Subject: "alice",
		Scopes: []string{"read", "write"}, IssuedAt: now, ExpiresAt: now.Add(24 * time.Hour),
	}))
	h := p.TokenHandler()

	b.ReportAllocs()
	for b.Loop() {
		body := "grant_type=refresh_token&refresh_token=" + value
		rec := postToken(b, h, basic, body)
		if value = jsonString(rec.Body.String(), "refresh_token"); value == "" {
			b.Fatalf("no refresh token: %s", rec.Body)
		}
	}
}

// BenchmarkCodeExchange is one authorization code exchange with PKCE
// (RFC 6749 §4.1.3, RFC 7636 §4.6) by a confidential client that also gets
// a refresh token. The codes are stored before the timer starts, as the
// authorization endpoint would have stored them.
func BenchmarkCodeExchange(b *testing.B) {
	p, store, basic := benchTokenProvider(b)
	codes, err := p.OpaqueFormat("gr_ac_")
	require.NoError(b, err)
	verifier, err := pkce.GenerateVerifier()
	require.NoError(b, err)
	challenge := pkce.S256Challenge(verifier)
	now := time.Now()
	bodies := make([]string, b.N)
	for i := range bodies {
		code, key, err := codes.Generate()
		require.NoError(b, err)
		grantID, err := p.NewID()
		require.NoError(b, err)
		require.NoError(b, store.CreateAuthorizationCode(context.Background(), &storage.AuthorizationCode{
			Key: key, GrantID: grantID, Subject: "alice", Scopes: []string{"read"},
			Request: storage.AuthorizationRequest{ClientID: "web", RedirectURI: "https://c.example/cb", RedirectURIGiven: true,
				ResponseMode: "query", Scopes: []string{"read"}, CodeChallenge: challenge, CodeChallengeMethod: pkce.MethodS256},
			AuthTime: now, IssuedAt: now, ExpiresAt: now.Add(10 * time.Minute),
		}))
		bodies[i] = url.Values{"grant_type": {"authorization_code"}, "code": {code},
			"redirect_uri": {"https://c.example/cb"}, "code_verifier": {verifier}}.Encode()
	}
	h := p.TokenHandler()

	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		rec := postToken(b, h, basic, bodies[i])
		if jsonString(rec.Body.String(), "refresh_token") == "" {
			b.Fatalf("no refresh token: %s", rec.Body)
		}
	}
}
