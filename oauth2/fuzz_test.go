package oauth2_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/grantor-dev/grantor/grant"
	"github.com/grantor-dev/grantor/oauth2"
	"github.com/grantor-dev/grantor/storage"
	"github.com/grantor-dev/grantor/storage/memory"
)

// FuzzTokenEndpoint feeds arbitrary bodies and Authorization headers to
// the token endpoint: whatever comes in, the answer is a well-formed JSON
// response, never a panic and never a 5xx.
func FuzzTokenEndpoint(f *testing.F) {
	store := memory.New()
	p, err := oauth2.NewProvider(oauth2.Config{
		Issuer: "https://as.example", Clients: store, Tokens: store, TokenKeys: [][]byte{make([]byte, 32)},
		AuthFailureLimit: -1,
		Grants: []oauth2.GrantFactory{
			grant.ClientCredentials(grant.ClientCredentialsOptions{}),
			grant.RefreshToken(store, grant.RefreshTokenOptions{}),
		},
	})
	if err != nil {
		f.Fatal(err)
	}
	secret, hash, err := oauth2.GenerateClientSecret(nil)
	if err != nil {
		f.Fatal(err)
	}
	if err := store.PutClient(&storage.Client{ID: "svc", SecretHash: hash,
		GrantTypes: []string{"client_credentials", "refresh_token"}, Scopes: []string{"read"}}); err != nil {
		f.Fatal(err)
	}
	handler := p.TokenHandler()

	f.Add("grant_type=client_credentials&scope=read", "Basic "+basic("svc", secret))
	f.Add("grant_type=client_credentials&client_id=svc&client_secret="+secret, "")
	f.Add("grant_type=refresh_token&refresh_token=gr_rt_abc.def", "Basic "+basic("svc", secret))
	f.Add("grant_type=client_credentials&resource=https%3A%2F%2Fa.example&resource=x", "Basic "+basic("svc", secret))
	f.Add("client_assertion=a.b.c&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&grant_type=client_credentials", "")
	f.Add("grant_type=%zz", "Basic !!!")
	f.Add("a=1&a=2", "Bearer x")
	f.Add("", "basic "+basic("a%3Ab", ":"))
	f.Add("grant_type=client_credentials&scope="+strings.Repeat("s+", 70)+"s", "Basic "+basic("svc", secret))
	f.Add("grant_type=client_credentials&x=%00%FF", "Basic "+basic("svc", secret))
	f.Add("grant_type=client_credentials", "Basic "+basic(strings.Repeat("c", 300), secret))

	f.Fuzz(func(t *testing.T, body, authorization string) {
		req := httptest.NewRequest(http.MethodPost, "/token", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if authorization != "" {
			req.Header.Set("Authorization", authorization)
		}
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("status %d for body %q: %s", rec.Code, body, rec.Body)
		}
		var resp map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
			t.Fatalf("response is not JSON: %q", rec.Body)
		}
		if rec.Header().Get("Cache-Control") != "no-store" {
			t.Fatal("response without Cache-Control: no-store")
		}
	})
}

// FuzzAuthorizeEndpoint feeds arbitrary queries to the authorization
// endpoint: whatever comes in, the answer is never a panic or a 5xx, and a
// redirect goes nowhere but to the client's registered redirect URI (RFC
// 6749 §4.1.2.1) or the login page.
func FuzzAuthorizeEndpoint(f *testing.F) {
	store := memory.New()
	p, err := oauth2.NewProvider(oauth2.Config{
		Issuer: "https://as.example", Clients: store, Tokens: store, TokenKeys: [][]byte{make([]byte, 32)},
		Grants:       []oauth2.GrantFactory{grant.AuthorizationCode(store, grant.AuthorizationCodeOptions{})},
		Interactions: store, LoginURL: "/login",
	})
	if err != nil {
		f.Fatal(err)
	}
	if err := store.PutClient(&storage.Client{ID: "spa", RedirectURIs: []string{"https://spa.example/cb"},
		GrantTypes: []string{"authorization_code"}, Scopes: []string{"read"}}); err != nil {
		f.Fatal(err)
	}
	handler := p.AuthorizeHandler()
	valid := "response_type=code&client_id=spa&redirect_uri=https%3A%2F%2Fspa.example%2Fcb&scope=read" +
		"&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256"
	f.Add(valid + "&state=xyz")
	f.Add(valid + "&state=%00%FF")
	f.Add(valid + "&state=a&state=b")
	f.Add(valid + "&scope=" + strings.Repeat("s+", 70) + "s")
	f.Add(valid + "&prompt=none+login")
	f.Add("client_id=" + strings.Repeat("c", 300))
	f.Add("%zz")

	f.Fuzz(func(t *testing.T, query string) {
		req := httptest.NewRequest(http.MethodGet, "/authorize", nil)
		req.URL.RawQuery = query
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("status %d for query %q: %s", rec.Code, query, rec.Body)
		}
		if loc := rec.Header().Get("Location"); loc != "" &&
			!strings.HasPrefix(loc, "https://spa.example/cb?") && !strings.HasPrefix(loc, "/login?") {
			t.Fatalf("redirect to %q for query %q", loc, query)
		}
	})
}
