package oidc_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"

	"github.com/grantor-dev/grantor/grant"
	"github.com/grantor-dev/grantor/oauth2"
	"github.com/grantor-dev/grantor/oidc"
	"github.com/grantor-dev/grantor/pkce"
	"github.com/grantor-dev/grantor/storage"
	"github.com/grantor-dev/grantor/storage/memory"
	"github.com/grantor-dev/grantor/token"
)

// An OpenID Provider: the application's login page reads the OpenID side
// of the request (LoginContext) and skips the password when the browser's
// login session may be used; prompt=none is answered from that session.
//
// README.md shows this example from the key sets down to "Try it".
func Example() {
	store, hmacKey, mux := application() // a client "app" registered for openid profile email
	es256, rs256 := newKeySet(jwa.ES256), newKeySet(jwa.RS256)
	op, err := oidc.New(oidc.Config{
		Keys:     []token.KeySource{es256, rs256}, // ES256 by default; RS256 for clients that ask
		Sessions: store,                           // the users' login sessions in their browsers
		Claims: oidc.ClaimsFunc(func(ctx context.Context, req *oidc.ClaimsRequest) (map[string]any, error) {
			u := lookupUser(req.Subject)
			return map[string]any{"name": u.Name, "email": u.Email, "email_verified": true}, nil
		}),
	})
	if err != nil {
		log.Fatal(err)
	}
	provider, err := oauth2.NewProvider(oauth2.Config{
		Issuer: "https://auth.example.com", Clients: store, Tokens: store, TokenKeys: [][]byte{hmacKey},
		Interactions: store, LoginURL: "/login",
		Grants: []oauth2.GrantFactory{
			grant.AuthorizationCode(store, grant.AuthorizationCodeOptions{}),
			grant.RefreshToken(store, grant.RefreshTokenOptions{}),
		},
		Features:        []oauth2.FeatureFactory{op.Register}, // ID tokens, /userinfo, discovery, logout
		SilentAuthorize: op.SilentAuthorize(consentGiven),     // prompt=none
	})
	if err != nil {
		log.Fatal(err)
	}
	mux.Handle("/", provider.Handler())

	// Your login page.
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		id := r.FormValue("interaction")
		pending, err := provider.PendingAuthorization(r, id)
		if err != nil {
			http.Error(w, "this sign-in link is no longer valid", http.StatusBadRequest)
			return
		}
		login, err := op.LoginContext(r, pending) // nil for a plain OAuth request
		if err != nil {
			http.Error(w, "try again later", http.StatusServiceUnavailable)
			return
		}
		if login != nil && login.Session != nil { // logged in already, and prompt=login, max_age allow it
			_ = provider.Approve(w, r, id, login.Session.Approval(nil))
			return
		}
		// Otherwise check the password (POST, CSRF token...) and report the real login.
		user := checkPassword(r)
		_ = provider.Approve(w, r, id, oauth2.Approval{Subject: user.ID, AuthTime: time.Now(), AMR: []string{"pwd"}})
	})

	// Try it, as a browser: a sign-in with a password, then a silent one.
	b := &exampleBrowser{handler: mux}
	for _, prompt := range []string{"", "none"} {
		verifier, _ := pkce.GenerateVerifier()
		params := url.Values{
			"response_type": {"code"}, "client_id": {"app"}, "redirect_uri": {"https://app.example.com/callback"},
			"scope": {"openid profile email"}, "state": {"xyz"}, "nonce": {"n-0S6"}, "prompt": {prompt},
			"code_challenge": {pkce.S256Challenge(verifier)}, "code_challenge_method": {"S256"},
		}
		res := b.do(http.MethodGet, "/authorize?"+params.Encode(), nil)
		if prompt == "" { // the login page
			res = b.do(http.MethodGet, res.Header.Get("Location"), nil)
		}
		back, _ := url.Parse(res.Header.Get("Location"))
		res = b.do(http.MethodPost, "/token", url.Values{"grant_type": {"authorization_code"}, "client_id": {"app"},
			"code": {back.Query().Get("code")}, "redirect_uri": {"https://app.example.com/callback"}, "code_verifier": {verifier}})
		var tokens struct{ AccessToken, IDToken string }
		body, _ := io.ReadAll(res.Body)
		_ = json.Unmarshal(body, &struct {
			AccessToken *string `json:"access_token"`
			IDToken     *string `json:"id_token"`
		}{&tokens.AccessToken, &tokens.IDToken})
		fmt.Printf("prompt=%q: token %d, id_token %t\n", prompt, res.StatusCode, tokens.IDToken != "")
		if prompt == "none" {
			res = b.do(http.MethodGet, "/userinfo", nil, "Bearer "+tokens.AccessToken)
			body, _ := io.ReadAll(res.Body)
			fmt.Println("userinfo:", res.StatusCode, strings.TrimSpace(string(body)))
		}
	}
	// Output:
	// prompt="": token 200, id_token true
	// prompt="none": token 200, id_token true
	// userinfo: 200 {"email":"alice@example.com","email_verified":true,"name":"Alice Liddell","sub":"alice"}
}

// application stands for the application's store, with one client
// registered, its token key and its mux.
func application() (*memory.Store, []byte, *http.ServeMux) {
	store := memory.New()
	err := store.PutClient(&storage.Client{ID: "app", Name: "Invoices", TokenEndpointAuthMethod: "none",
		RedirectURIs: []string{"https://app.example.com/callback"},
		GrantTypes:   []string{"authorization_code", "refresh_token"}, Scopes: []string{"openid", "profile", "email"}})
	if err != nil {
		log.Fatal(err)
	}
	hmacKey := make([]byte, 32)
	_, _ = rand.Read(hmacKey)
	return store, hmacKey, http.NewServeMux()
}

// newKeySet returns an in-memory key set signing with alg; a cluster
// keeps its keys in the store (token.OpenStoredSigningKeys).
func newKeySet(alg jwa.SignatureAlgorithm) *token.KeySet {
	k, err := token.GenerateSigningKey(alg)
	if err != nil {
		log.Fatal(err)
	}
	ks, err := token.NewKeySet(k)
	if err != nil {
		log.Fatal(err)
	}
	return ks
}

// exampleUser stands for the application's user accounts.
type exampleUser struct{ ID, Name, Email string }

func lookupUser(string) exampleUser {
	return exampleUser{ID: "alice", Name: "Alice Liddell", Email: "alice@example.com"}
}

// checkPassword stands for the application's login form.
func checkPassword(*http.Request) exampleUser { return lookupUser("alice") }

// consentGiven stands for the consents the application remembers.
func consentGiven(context.Context, string, *storage.Client, []string) (bool, error) { return true, nil }

// exampleBrowser sends requests to a handler as a browser would, keeping cookies.
type exampleBrowser struct {
	handler http.Handler
	cookies map[string]*http.Cookie
}

// do sends one request to https://auth.example.com, with a form if not
// nil and an Authorization header if given.
func (b *exampleBrowser) do(method, path string, form url.Values, authorization ...string) *http.Response {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req := httptest.NewRequest(method, "https://auth.example.com"+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if len(authorization) > 0 {
		req.Header.Set("Authorization", authorization[0])
	}
	for _, c := range b.cookies {
		req.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	b.handler.ServeHTTP(rec, req)
	if b.cookies == nil {
		b.cookies = make(map[string]*http.Cookie)
	}
	for _, c := range rec.Result().Cookies() {
		b.cookies[c.Name] = c
	}
	return rec.Result()
}
