package resource_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/dpop"
	"github.com/grantor-dev/grantor/internal/testkit"
	"github.com/grantor-dev/grantor/resource"
	"github.com/grantor-dev/grantor/storage"
	"github.com/grantor-dev/grantor/storage/memory"
)

// FuzzMiddleware feeds untrusted Authorization headers and query strings
// to Middleware: it never panics, lets through only goodToken, and never
// quotes the presented value in its challenge.
func FuzzMiddleware(f *testing.F) {
	for _, seed := range []struct{ header, query string }{
		{"Bearer " + goodToken, ""}, {"bearer  " + goodToken, ""}, {"Bearer", ""}, {"Bearer a b", ""},
		{"Bearer ==", ""}, {"DPoP x", ""}, {"", "access_token=" + goodToken}, {"Bearer x", "access_token=y"},
		{"Bearer quoted", ""}, {"Bearer \x00\xff", "access_token=%00"},
	} {
		f.Add(seed.header, seed.query)
	}
	h := resource.Middleware(resource.Config{Validator: &fakeValidator{}, Realm: "api", AllowQueryToken: true})(echo)
	f.Fuzz(func(t *testing.T, header, query string) {
		r := httptest.NewRequest(http.MethodGet, "/hello", nil)
		r.URL.RawQuery = query
		if header != "" {
			r.Header["Authorization"] = []string{header}
		}
		res := serve(h, r)
		if res.status == http.StatusOK {
			if !strings.Contains(header+query, goodToken) && !strings.Contains(query, "Abc~%2B%2F%3D%3D") {
				t.Fatalf("accepted %q %q", header, query)
			}
			return
		}
		for _, c := range res.www {
			if c < 0x20 || c > 0x7e {
				t.Fatalf("challenge with a byte outside RFC 6750 §3: %q", res.www)
			}
		}
		if tok, found := strings.CutPrefix(header, "Bearer "); found && len(tok) >= 16 && strings.Contains(res.www, tok) {
			t.Fatalf("challenge quotes the token: %q", res.www)
		}
	})
}

// boundValidator accepts one token, bound to the key of the fuzz seeds'
// proofs.
type boundValidator struct{ token, jkt string }

func (v boundValidator) Validate(_ context.Context, tok string) (*resource.Token, error) {
	if tok != v.token {
		return nil, resource.ErrInvalidToken
	}
	return &resource.Token{Subject: "alice", KeyThumbprint: v.jkt}, nil
}

// FuzzDPoPMiddleware feeds the Authorization and DPoP headers of a request
// to the middleware with DPoP on (RFC 9449 §7): whatever they hold, it
// never panics, answers only 200 for the seeded valid proof of the bound
// token, and its challenges stay within the characters RFC 6750 §3 and RFC
// 9110 §11 allow.
func FuzzDPoPMiddleware(f *testing.F) {
	key := testkit.NewDPoPKey(f, jwa.ES256)
	const tok = "bound-token"
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	valid := key.Proof(f, testkit.ProofClaims{Method: "GET", URL: "https://api.example/hello", IssuedAt: now, AccessToken: tok})
	v, err := dpop.NewVerifier(dpop.Config{Replay: memory.New(memory.WithClock(func() time.Time { return now })),
		Clock: func() time.Time { return now }, IsReplay: func(err error) bool { return errors.Is(err, storage.ErrConsumed) }})
	require.NoError(f, err)
	for _, seed := range []struct{ authorization, proof string }{
		{"DPoP " + tok, valid}, {"DPoP " + tok, ""}, {"Bearer " + tok, valid}, {"dpop " + tok, valid + "," + valid},
		{"DPoP", valid}, {"DPoP " + tok, "a.b.c"}, {"DPoP " + tok, strings.Repeat("A", 9000)}, {"DPoP \x00", "\xff"},
	} {
		f.Add(seed.authorization, seed.proof)
	}
	h := resource.Middleware(resource.Config{Validator: boundValidator{token: tok, jkt: key.Thumbprint}, Realm: "api",
		DPoP: &resource.DPoP{Verifier: v, BaseURL: "https://api.example"}})(echo)
	f.Fuzz(func(t *testing.T, authorization, proof string) {
		r := httptest.NewRequest(http.MethodGet, "/hello", nil)
		r.Header["Authorization"] = []string{authorization}
		if proof != "" {
			r.Header["Dpop"] = []string{proof}
		}
		res := serve(h, r)
		if res.status == http.StatusOK && proof != valid {
			t.Fatalf("accepted %q with proof %q", authorization, proof)
		}
		for _, www := range res.header.Values("WWW-Authenticate") {
			for _, c := range www {
				if c < 0x20 || c > 0x7e {
					t.Fatalf("challenge with a byte outside RFC 6750 §3: %q", www)
				}
			}
			if len(proof) > 16 && strings.Contains(www, proof[len(proof)/2:]) {
				t.Fatalf("challenge quotes the proof: %q", www)
			}
		}
	})
}
