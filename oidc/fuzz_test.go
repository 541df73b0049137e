package oidc

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"strings"
	"testing"

	"github.com/lestrrat-go/jwx/v2/jwa"

	"github.com/grantor-dev/grantor/oauth2"
	"github.com/grantor-dev/grantor/storage/memory"
	"github.com/grantor-dev/grantor/token"
)

// fuzzProvider returns an OpenID Provider registered with a Provider of
// issuer https://op.example, and an ID token it signed.
func fuzzProvider(f *testing.F) (*Provider, string) {
	f.Helper()
	keys := func(alg jwa.SignatureAlgorithm) token.KeySource {
		k, err := token.GenerateSigningKey(alg)
		if err != nil {
			f.Fatal(err)
		}
		ks, err := token.NewKeySet(k)
		if err != nil {
			f.Fatal(err)
		}
		return ks
	}
	store := memory.New()
	op, err := New(Config{Keys: []token.KeySource{keys(jwa.ES256), keys(jwa.RS256)}, Sessions: store})
	if err != nil {
		f.Fatal(err)
	}
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	if _, err := oauth2.NewProvider(oauth2.Config{
		Issuer: "https://op.example", Clients: store, Tokens: store, TokenKeys: [][]byte{secret},
		Grants:   []oauth2.GrantFactory{func(*oauth2.Provider) (oauth2.GrantHandler, error) { return nopGrant{}, nil }},
		Features: []oauth2.FeatureFactory{op.Register},
	}); err != nil {
		f.Fatal(err)
	}
	payload := []byte(`{"iss":"https://op.example","sub":"alice","aud":"rp","exp":1,"iat":1,"sid":"s1"}`)
	idToken, err := op.sign(context.Background(), "ES256", idTokenType, payload)
	if err != nil {
		f.Fatal(err)
	}
	return op, idToken
}

type nopGrant struct{}

func (nopGrant) GrantType() string { return "urn:example:nop" }
func (nopGrant) HandleTokenRequest(context.Context, *oauth2.TokenRequest) (*oauth2.Issue, error) {
	return nil, oauth2.NewError(oauth2.ErrInvalidGrant, "no")
}

// FuzzIDTokenHint feeds the id_token_hint verifier anything: it must never
// panic, must refuse what is not an ID token we signed, and must accept a
// token only if it verifies.
func FuzzIDTokenHint(f *testing.F) {
	op, idToken := fuzzProvider(f)
	parts := strings.Split(idToken, ".")
	for _, seed := range []string{idToken, "", ".", "..", "a.b.c", parts[0] + "." + parts[1] + ".",
		parts[0] + "." + parts[1] + "." + parts[2] + "x", "eyJhbGciOiJub25lIn0.e30.", strings.Repeat("a", 5000)} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, hint string) {
		h, err := op.verifyIDTokenHint(context.Background(), hint)
		if err != nil {
			if h != nil {
				t.Fatal("a refusal with a result")
			}
			return
		}
		if hint != idToken {
			// Only our own signature verifies: a different string that
			// verifies would be a forgery (or a second encoding).
			t.Fatalf("accepted a hint that is not the token we signed: %q", hint)
		}
		if h.Subject != "alice" || len(h.Audience) != 1 || h.Audience[0] != "rp" || h.SID != "s1" {
			t.Fatalf("wrong claims %+v", h)
		}
	})
}

// FuzzClaimsParameter feeds the claims request parameter parser anything:
// it must never panic, and what it keeps must parse again to itself.
func FuzzClaimsParameter(f *testing.F) {
	for _, seed := range []string{`{}`, `{"userinfo":{"email":null}}`, `{"id_token":{"auth_time":{"essential":true},"acr":{"values":["a","b"]}}}`,
		`{"userinfo":[]}`, `[]`, `null`, `{"userinfo":{"x":{"value":1e999}}}`, `{"a":1} x`} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		kept, err := parseClaimsParameter(s)
		if err != nil {
			return
		}
		if !json.Valid([]byte(kept)) {
			t.Fatalf("kept invalid JSON %q", kept)
		}
		again, err := parseClaimsParameter(kept)
		if err != nil || again != kept {
			t.Fatalf("kept %q does not parse to itself: %q, %v", kept, again, err)
		}
		_ = requestedClaims(kept, targetUserInfo)
		_ = requestedClaims(kept, targetIDToken)
	})
}
