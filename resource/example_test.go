package resource_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"

	"github.com/grantor-dev/grantor/grant"
	"github.com/grantor-dev/grantor/oauth2"
	"github.com/grantor-dev/grantor/resource"
	"github.com/grantor-dev/grantor/storage"
	"github.com/grantor-dev/grantor/storage/memory"
	"github.com/grantor-dev/grantor/token"
)

// An API that validates JWT access tokens locally (RFC 9068 §4), with
// the authorization server's keys from its jwks_uri. A request without a
// token is answered 401 with a Bearer challenge (RFC 6750 §3).
//
// README.md shows this example down to "Try it", and listInvoices.
func ExampleMiddleware() {
	// Local validation of JWT access tokens (RFC 9068 §4), keys from the AS's jwks_uri.
	keys, err := token.NewRemoteKeys(token.RemoteKeysConfig{URL: "https://auth.example.com/jwks.json"})
	if err != nil {
		log.Fatal(err)
	}
	verifier, err := token.NewJWTVerifier(token.JWTVerifierConfig{
		Keys: keys, Issuer: "https://auth.example.com", Audience: "https://api.example.com"})
	if err != nil {
		log.Fatal(err)
	}
	protect := resource.Middleware(resource.Config{Validator: resource.JWT(verifier), Realm: "api"})

	mux := http.NewServeMux()
	mux.Handle("GET /invoices", protect(http.HandlerFunc(listInvoices)))
	writers := resource.RequireScopes("invoices:write") // else 403 insufficient_scope
	mux.Handle("POST /invoices", protect(writers(http.HandlerFunc(createInvoice))))

	// Try it: no token.
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/invoices", nil))
	fmt.Println(rec.Code, rec.Header().Get("WWW-Authenticate"))
	// Output: 401 Bearer realm="api"
}

// An API that asks the authorization server about each token (RFC 7662),
// with a cache: opaque tokens, and revocations seen within the cache's
// lifetime. The API is a client of the authorization server, registered
// with the API's identifier among its Resources.
//
// The package documentation shows this example down to "Try it".
func ExampleIntrospection() {
	secret := loadSecret("invoices-api") // the API's client secret, from your secret store
	v, err := resource.Introspection(resource.IntrospectionConfig{
		URL: "https://auth.example.com/introspect", ClientID: "invoices-api", ClientSecret: secret})
	if err != nil {
		log.Fatal(err)
	}
	protect := resource.Middleware(resource.Config{Validator: v, Audience: "https://api.example.com"})

	// Try it: a token in the query string is refused (RFC 6750 §2.3 is
	// off unless Config.AllowQueryToken; RFC 9700 §2.5 advises against it).
	rec := httptest.NewRecorder()
	protect(http.HandlerFunc(listInvoices)).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/invoices?access_token=x", nil))
	fmt.Println(rec.Code, rec.Header().Get("WWW-Authenticate"))
	// Output: 400 Bearer error="invalid_request", error_description="the access token must be sent in the Authorization header"
}

// loadSecret stands for the application's secret store.
func loadSecret(string) string { return "gr_cs_example" }

// listInvoices is a handler of the API: it finds the access token in its
// request context.
func listInvoices(w http.ResponseWriter, r *http.Request) {
	t, _ := resource.FromContext(r.Context()) // Subject, ClientID, Scopes, Claims...
	fmt.Fprintf(w, "the invoices of %s\n", t.Subject)
}

// createInvoice stands for another handler of the API.
func createInvoice(w http.ResponseWriter, r *http.Request) {
	w.WriteHeader(http.StatusCreated)
}

// An API in the same process as its authorization server reads the
// token records from the Provider's store: a revoked token is refused at
// once. A token without the scope a handler requires is answered 403
// insufficient_scope (RFC 6750 §3.1).
func ExampleStore() {
	store := memory.New()
	secret, hash, _ := oauth2.GenerateClientSecret(nil)
	_ = store.PutClient(&storage.Client{ID: "billing", SecretHash: hash,
		GrantTypes: []string{"client_credentials"}, Scopes: []string{"invoices:read", "invoices:write"}})
	hmacKey := make([]byte, 32)
	rand.Read(hmacKey)
	provider, err := oauth2.NewProvider(oauth2.Config{
		Issuer: "https://auth.example.com", Clients: store, Tokens: store, TokenKeys: [][]byte{hmacKey},
		Grants: []oauth2.GrantFactory{grant.ClientCredentials(grant.ClientCredentialsOptions{})},
	})
	if err != nil {
		log.Fatal(err)
	}

	protect := resource.Middleware(resource.Config{Validator: resource.Store(provider, store, nil), Realm: "api"})
	api := http.NewServeMux()
	api.Handle("GET /invoices", protect(http.HandlerFunc(listInvoices)))
	api.Handle("POST /invoices", protect(resource.RequireScopes("invoices:write")(http.HandlerFunc(createInvoice))))

	// A token for scope invoices:read only.
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {"invoices:read"}}
	req := httptest.NewRequest(http.MethodPost, "/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("billing", secret)
	rec := httptest.NewRecorder()
	provider.TokenHandler().ServeHTTP(rec, req)
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.Unmarshal(rec.Body.Bytes(), &tok)

	for _, method := range []string{http.MethodGet, http.MethodPost} {
		req := httptest.NewRequest(method, "/invoices", nil)
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		rec := httptest.NewRecorder()
		api.ServeHTTP(rec, req)
		fmt.Println(method, rec.Code, strings.TrimSpace(rec.Body.String())+rec.Header().Get("WWW-Authenticate"))
	}

	// Revoked, the token is refused at once.
	key, _ := provider.AccessTokenKey(context.Background(), tok.AccessToken)
	_ = store.RevokeToken(context.Background(), key, provider.Now())
	req = httptest.NewRequest(http.MethodGet, "/invoices", nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	rec = httptest.NewRecorder()
	api.ServeHTTP(rec, req)
	fmt.Println("revoked:", rec.Code)
	// Output:
	// GET 200 the invoices of client:billing
	// POST 403 Bearer realm="api", error="insufficient_scope", error_description="the access token does not grant the scope this resource requires", scope="invoices:write"
	// revoked: 401
}
