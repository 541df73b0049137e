package oauth2_test

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"

	"github.com/grantor-dev/grantor/grant"
	"github.com/grantor-dev/grantor/oauth2"
	"github.com/grantor-dev/grantor/storage"
	"github.com/grantor-dev/grantor/storage/memory"
)

// A Provider serving the client credentials grant from memory, and two
// token requests to it: the client's registered authentication method,
// client_secret_basic, is accepted; client_secret_post is not.
//
// README.md and the package documentation show this example down to
// "Try it".
func ExampleNewProvider() {
	store := memory.New() // or your own adapter of the storage interfaces

	// A client: show its secret to its owner once; the store keeps only the hash.
	secret, hash, err := oauth2.GenerateClientSecret(nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Fprintln(os.Stderr, "client billing, secret:", secret)
	err = store.PutClient(&storage.Client{ID: "billing", SecretHash: hash, // authenticates with client_secret_basic
		GrantTypes: []string{"client_credentials"}, Scopes: []string{"invoices:read"}})
	if err != nil {
		log.Fatal(err)
	}

	hmacKey := make([]byte, 32) // 32+ random bytes: load them from your secret store
	rand.Read(hmacKey)
	provider, err := oauth2.NewProvider(oauth2.Config{
		Issuer:    "https://auth.example.com",
		Clients:   store,
		Tokens:    store,
		TokenKeys: [][]byte{hmacKey}, // put a new key first to rotate
		Grants: []oauth2.GrantFactory{
			grant.ClientCredentials(grant.ClientCredentialsOptions{}),
		},
	})
	if err != nil {
		log.Fatal(err) // unsafe or incomplete configurations are refused here
	}
	mux := http.NewServeMux()
	mux.Handle("/", provider.Handler()) // or provider.TokenHandler(), provider.MetadataHandler(), ...

	// Try it: the client asks for a token with its secret in the
	// Authorization header (client_secret_basic), then in the body
	// (client_secret_post), which it did not register.
	for _, method := range []string{"client_secret_basic", "client_secret_post"} {
		form := url.Values{"grant_type": {"client_credentials"}, "scope": {"invoices:read"}}
		if method == "client_secret_post" {
			form.Set("client_id", "billing")
			form.Set("client_secret", secret)
		}
		req := httptest.NewRequest(http.MethodPost, "https://auth.example.com/token", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if method == "client_secret_basic" {
			req.SetBasicAuth("billing", secret)
		}
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)

		var resp struct {
			AccessToken string `json:"access_token"`
			TokenType   string `json:"token_type"`
			ExpiresIn   int    `json:"expires_in"`
			Error       string `json:"error"`
		}
		_ = json.Unmarshal(rec.Body.Bytes(), &resp)
		if rec.Code == http.StatusOK {
			fmt.Println(method+":", rec.Code, resp.TokenType, resp.ExpiresIn, strings.HasPrefix(resp.AccessToken, "gr_at_"))
		} else {
			fmt.Println(method+":", rec.Code, resp.Error)
		}
	}
	// Output:
	// client_secret_basic: 200 Bearer 3600 true
	// client_secret_post: 401 invalid_client
}

// An application that serves the Provider under the path of its issuer,
// next to its own pages, registers two handlers: the endpoints under the
// issuer's path, and the metadata document at the path RFC 8414 §3.1
// derives from the issuer, which lies outside it.
func ExampleProvider_Handler_underAPrefix() {
	store := memory.New()
	hmacKey := make([]byte, 32)
	_, _ = rand.Read(hmacKey)
	provider, err := oauth2.NewProvider(oauth2.Config{
		Issuer:    "https://app.example.com/oauth",
		Clients:   store,
		Tokens:    store,
		TokenKeys: [][]byte{hmacKey},
		Grants:    []oauth2.GrantFactory{grant.ClientCredentials(grant.ClientCredentialsOptions{})},
	})
	if err != nil {
		panic(err)
	}

	mux := http.NewServeMux()
	mux.Handle("/oauth/", provider.Handler()) // or http.StripPrefix("/oauth", provider.Handler())
	mux.Handle(provider.MetadataPath(), provider.MetadataHandler())
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "the application") })

	fmt.Println(provider.MetadataURL())
	for _, path := range []string{provider.MetadataPath(), "/oauth/token", "/oauth/revoke", "/oauth/nothing"} {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		fmt.Println(path, rec.Code) // the endpoints answer GET with 405: they take POST
	}
	// Output:
	// https://app.example.com/.well-known/oauth-authorization-server/oauth
	// /.well-known/oauth-authorization-server/oauth 200
	// /oauth/token 405
	// /oauth/revoke 405
	// /oauth/nothing 404
}

// With http.StripPrefix, the usual way to mount a handler under a prefix,
// Handler serves the same URLs: it matches the path the client asked for.
func ExampleProvider_Handler_stripPrefix() {
	store := memory.New()
	hmacKey := make([]byte, 32)
	_, _ = rand.Read(hmacKey)
	provider, err := oauth2.NewProvider(oauth2.Config{
		Issuer:    "https://app.example.com/oauth",
		Clients:   store,
		Tokens:    store,
		TokenKeys: [][]byte{hmacKey},
		Grants:    []oauth2.GrantFactory{grant.ClientCredentials(grant.ClientCredentialsOptions{})},
	})
	if err != nil {
		panic(err)
	}

	mux := http.NewServeMux()
	mux.Handle("/oauth/", http.StripPrefix("/oauth", provider.Handler()))
	mux.Handle(provider.MetadataPath(), provider.MetadataHandler())

	for _, path := range []string{"/.well-known/oauth-authorization-server/oauth", "/oauth/token", "/oauth/oauth/token"} {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		fmt.Println(path, rec.Code)
	}
	// Output:
	// /.well-known/oauth-authorization-server/oauth 200
	// /oauth/token 405
	// /oauth/oauth/token 404
}
