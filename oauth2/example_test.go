package oauth2_test

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"

	"github.com/grantor-dev/grantor/grant"
	"github.com/grantor-dev/grantor/oauth2"
	"github.com/grantor-dev/grantor/storage"
	"github.com/grantor-dev/grantor/storage/memory"
)

// A Provider serving the client credentials grant from memory, and one
// token request to it.
func ExampleNewProvider() {
	store := memory.New()
	secret, hash, err := oauth2.GenerateClientSecret(nil) // give secret to the client once; keep hash
	if err != nil {
		panic(err)
	}
	_ = store.PutClient(&storage.Client{
		ID: "billing", SecretHash: hash,
		GrantTypes: []string{"client_credentials"}, Scopes: []string{"invoices:read"},
	})

	hmacKey := make([]byte, 32)
	_, _ = rand.Read(hmacKey)
	provider, err := oauth2.NewProvider(oauth2.Config{
		Issuer:    "https://auth.example.com",
		Clients:   store,
		Tokens:    store,
		TokenKeys: [][]byte{hmacKey},
		Grants:    []oauth2.GrantFactory{grant.ClientCredentials(grant.ClientCredentialsOptions{})},
	})
	if err != nil {
		panic(err)
	}

	form := url.Values{"grant_type": {"client_credentials"}, "scope": {"invoices:read"}}
	req := httptest.NewRequest(http.MethodPost, "/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("billing", secret)
	rec := httptest.NewRecorder()
	provider.Handler().ServeHTTP(rec, req)

	var resp struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		ExpiresIn   int    `json:"expires_in"`
	}
	_ = json.Unmarshal(rec.Body.Bytes(), &resp)
	fmt.Println(rec.Code, resp.TokenType, resp.ExpiresIn, strings.HasPrefix(resp.AccessToken, "gr_at_"))
	// Output: 200 Bearer 3600 true
}
