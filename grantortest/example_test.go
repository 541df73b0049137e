package grantortest_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	xoauth2 "golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/grantor-dev/grantor/grantortest"
	"github.com/grantor-dev/grantor/resource"
	"github.com/grantor-dev/grantor/storage"
)

// t stands for the *testing.T of the test that each example's code
// belongs in: examples run without one.
var t testing.TB = exampleT{}

type exampleT struct{ testing.TB }

func (exampleT) Helper()                           {}
func (exampleT) Cleanup(func())                    {} // the examples' servers live until the examples end
func (exampleT) Fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }

// listInvoices is the API handler under test.
var listInvoices = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	tok, _ := resource.FromContext(r.Context())
	fmt.Fprintf(w, "invoices of %s", tok.Subject)
})

// A test of an API handler behind the resource middleware, called with an
// access token the Provider issued for the user alice.
func Example() {
	srv := grantortest.NewServer(t)
	api := resource.Middleware(resource.Config{Validator: srv.Validator()})(listInvoices)
	rec := httptest.NewRecorder()
	api.ServeHTTP(rec, grantortest.NewRequest("GET", "/invoices", srv.AccessToken(t, "alice", "invoices:read")))
	fmt.Println(rec.Code, rec.Body)
	// Output: 200 invoices of alice
}

// A confidential client registered in the Server's store gets a token of
// its own with the client credentials grant, here through
// golang.org/x/oauth2, and calls the API with it.
func ExampleServer_RegisterClient() {
	srv := grantortest.NewServer(t)
	secret := srv.RegisterClient(t, storage.Client{ID: "billing",
		GrantTypes: []string{"client_credentials"}, Scopes: []string{"invoices:read"}})

	cc := clientcredentials.Config{ClientID: "billing", ClientSecret: secret,
		TokenURL: srv.Provider.TokenEndpoint(), Scopes: []string{"invoices:read"}}
	tok, err := cc.Token(context.WithValue(context.Background(), xoauth2.HTTPClient, srv.Client()))
	if err != nil {
		panic(err)
	}

	api := resource.Middleware(resource.Config{Validator: srv.Validator()})(listInvoices)
	rec := httptest.NewRecorder()
	api.ServeHTTP(rec, grantortest.NewRequest("GET", "/invoices", tok.AccessToken))
	fmt.Println(rec.Code, rec.Body)
	// Output: 200 invoices of client:billing
}

// Moving the Server's clock past an access token's lifetime expires the
// token for the Provider, its store and the API's validator at once.
func ExampleClock_Advance() {
	srv := grantortest.NewServer(t)
	api := resource.Middleware(resource.Config{Validator: srv.Validator()})(listInvoices)
	tok := srv.AccessToken(t, "alice", "invoices:read")

	srv.Clock.Advance(time.Hour) // the Provider's default access token lifetime
	rec := httptest.NewRecorder()
	api.ServeHTTP(rec, grantortest.NewRequest("GET", "/invoices", tok))
	fmt.Println(rec.Code, rec.Header().Get("WWW-Authenticate"))
	// Output: 401 Bearer error="invalid_token", error_description="the access token expired"
}

// Mint issues tokens for an API with its own audience (RFC 8707), extra
// claims and a refresh token; the API's middleware checks the audience.
func ExampleServer_Mint() {
	srv := grantortest.NewServer(t)
	tokens := srv.Mint(t, grantortest.Grant{
		Subject:      "alice",
		Scopes:       []string{"invoices:read"},
		Audience:     []string{"https://api.example.com"},
		Claims:       map[string]any{"tenant": "acme"},
		RefreshToken: true,
	})
	fmt.Println(tokens.TokenType, tokens.ExpiresIn, tokens.RefreshToken != "")

	api := resource.Middleware(resource.Config{Validator: srv.Validator(), Audience: "https://api.example.com"})(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			tok, _ := resource.FromContext(r.Context())
			fmt.Fprintf(w, "%s of %s for %s", tok.Scopes, tok.Subject, tok.Claims["tenant"])
		}))
	rec := httptest.NewRecorder()
	api.ServeHTTP(rec, grantortest.NewRequest("GET", "/invoices", tokens.AccessToken))
	fmt.Println(rec.Code, rec.Body)
	// Output:
	// Bearer 3600 true
	// 200 [invoices:read] of alice for acme
}
