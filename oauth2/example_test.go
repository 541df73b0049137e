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
