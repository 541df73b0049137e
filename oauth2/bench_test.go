package oauth2_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/grant"
	"github.com/grantor-dev/grantor/oauth2"
	"github.com/grantor-dev/grantor/storage"
	"github.com/grantor-dev/grantor/storage/memory"
	"github.com/grantor-dev/grantor/token"
)

// benchProvider returns a token handler with the client credentials grant
// and a client "svc" whose secret has the given kind.
func benchProvider(b *testing.B, accessTokens token.AccessTokenStrategy, humanSecret bool) (http.Handler, string) {
	b.Helper()
	store := memory.New()
	p, err := oauth2.NewProvider(oauth2.Config{
		Issuer: "https://as.example", Clients: store, Tokens: store, TokenKeys: [][]byte{make([]byte, 32)},
		AccessTokens: accessTokens,
		Grants:       []oauth2.GrantFactory{grant.ClientCredentials(grant.ClientCredentialsOptions{})},
	})
	require.NoError(b, err)
	secret, hash, err := oauth2.GenerateClientSecret(nil)
	require.NoError(b, err)
	if humanSecret {
		secret = "correct horse battery staple"
		hash, err = oauth2.HashClientSecret(secret)
		require.NoError(b, err)
	}
	require.NoError(b, store.PutClient(&storage.Client{ID: "svc", SecretHash: hash,
		GrantTypes: []string{"client_credentials"}, Scopes: []string{"read"}}))
	return p.TokenHandler(), secret
}

func runTokenRequests(b *testing.B, h http.Handler, secret string) {
	body := url.Values{"grant_type": {"client_credentials"}, "scope": {"read"}}.Encode()
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/token", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("svc", secret)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
}

// BenchmarkClientCredentials is one client credentials request end to end
// through the token handler, without the network.
func BenchmarkClientCredentials(b *testing.B) {
	b.Run("opaque", func(b *testing.B) {
		h, secret := benchProvider(b, nil, false)
		runTokenRequests(b, h, secret)
	})
	for _, alg := range []jwa.SignatureAlgorithm{jwa.ES256, jwa.EdDSA, jwa.RS256} {
		b.Run("jwt-"+alg.String(), func(b *testing.B) {
			key, err := token.GenerateSigningKey(alg)
			require.NoError(b, err)
			keys, err := token.NewKeySet(key)
			require.NoError(b, err)
			jwtStrategy, err := token.NewJWT(token.JWTConfig{Keys: keys})
			require.NoError(b, err)
			h, secret := benchProvider(b, jwtStrategy, false)
			runTokenRequests(b, h, secret)
		})
	}
}

// BenchmarkClientAuthentication compares the two kinds of stored secret
// through the whole request: a generated secret (fast keyed hash) and a
// human-chosen one (argon2id).
func BenchmarkClientAuthentication(b *testing.B) {
	b.Run("generated-secret", func(b *testing.B) {
		h, secret := benchProvider(b, nil, false)
		runTokenRequests(b, h, secret)
	})
	b.Run("argon2id-secret", func(b *testing.B) {
		h, secret := benchProvider(b, nil, true)
		runTokenRequests(b, h, secret)
	})
}

// headerWriter is a ResponseWriter that keeps only its header, so that a
// benchmark counts the allocations of the handler alone.
type headerWriter struct{ h http.Header }

func (w *headerWriter) Header() http.Header       { return w.h }
func (*headerWriter) Write(b []byte) (int, error) { return len(b), nil }
func (*headerWriter) WriteHeader(int)             {}

// BenchmarkHandlerNotFound is a 404 from Handler for a path that is no
// endpoint: what a scanner's requests cost, short and long (8 KB of
// percent-escapes, as a server accepts in a request line).
func BenchmarkHandlerNotFound(b *testing.B) {
	p, err := oauth2.NewProvider(validConfig())
	require.NoError(b, err)
	h := p.Handler()
	long := "/" + strings.Repeat("%20", 8<<10/3)
	for _, c := range []struct {
		name, path  string
		requestLine bool
	}{
		{"short", "/nothing", true},
		{"long", long, true},
		{"long without a request line", long, false},
	} {
		b.Run(c.name, func(b *testing.B) {
			r := httptest.NewRequest(http.MethodPost, c.path, nil) // with a request line, as from a server
			if !c.requestLine {
				r.RequestURI = "" // as http.NewRequest makes it
			}
			w := &headerWriter{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				clear(w.h)
				h.ServeHTTP(w, r)
			}
		})
	}
}
