package resource_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"

	"github.com/grantor-dev/grantor/resource"
	"github.com/grantor-dev/grantor/token"
)

// discard is a ResponseWriter that keeps nothing, so that the benchmarks
// measure the middleware rather than a recorder.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(int)             {}

// noop is the protected handler.
var noop = http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})

func benchMiddleware(b *testing.B, v resource.Validator, tok string) {
	b.Helper()
	h := resource.Middleware(resource.Config{Validator: v, Realm: "api", Audience: "https://api.example"})(noop)
	r := httptest.NewRequest(http.MethodGet, "/hello", nil)
	r.Header.Set("Authorization", "Bearer "+tok)
	w := &discard{h: http.Header{}}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		h.ServeHTTP(w, r)
	}
}

func BenchmarkMiddlewareJWT(b *testing.B) {
	for _, alg := range []jwa.SignatureAlgorithm{jwa.ES256, jwa.EdDSA, jwa.PS256} {
		b.Run(alg.String(), func(b *testing.B) {
			key, err := token.GenerateSigningKey(alg)
			if err != nil {
				b.Fatal(err)
			}
			keys, err := token.NewKeySet(key)
			if err != nil {
				b.Fatal(err)
			}
			s, err := token.NewJWT(token.JWTConfig{Keys: keys, Issuer: "https://as.example"})
			if err != nil {
				b.Fatal(err)
			}
			now := time.Now()
			tok, _, err := s.MintAccessToken(context.Background(), &token.Claims{Subject: "alice", ClientID: "app",
				Audience: []string{"https://api.example"}, Scopes: []string{"read"}, IssuedAt: now, ExpiresAt: now.Add(time.Hour)})
			if err != nil {
				b.Fatal(err)
			}
			v, err := token.NewJWTVerifier(token.JWTVerifierConfig{Keys: keys, Issuer: "https://as.example", Audience: "https://api.example"})
			if err != nil {
				b.Fatal(err)
			}
			benchMiddleware(b, resource.JWT(v), tok)
		})
	}
}

func BenchmarkMiddlewareIntrospectionCached(b *testing.B) {
	exp := time.Now().Add(time.Hour).Unix()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"active":true,"sub":"alice","client_id":"app","scope":"read","aud":"https://api.example","exp":` +
			strconv.FormatInt(exp, 10) + `}`))
	}))
	defer s.Close()
	v, err := resource.Introspection(resource.IntrospectionConfig{URL: s.URL, ClientID: "rs", ClientSecret: "s"})
	if err != nil {
		b.Fatal(err)
	}
	benchMiddleware(b, v, "gr_at_Qm9ndXMgdG9rZW4gZm9yIGJlbmNobWFya3MgMDEyMzQ1.c2lnbmF0dXJlIG9mIHRoZSBiZW5jaG1hcmsgdG9rZW4")
}
