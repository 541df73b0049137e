package grant_test

import (
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
	"github.com/grantor-dev/grantor/storage"
	"github.com/grantor-dev/grantor/storage/memory"
)

// Refresh tokens rotate on every use (RFC 9700 §4.14.2): the old one is
// spent, and presenting it again is taken as theft and revokes the whole
// grant, the newest refresh token included. Here the client credentials
// grant issues the refresh token, which RFC 6749 §4.4.3 advises against
// unless switched on, as it is here.
func ExampleRefreshToken() {
	store := memory.New()
	secret, hash, _ := oauth2.GenerateClientSecret(nil)
	_ = store.PutClient(&storage.Client{ID: "billing", SecretHash: hash,
		GrantTypes: []string{"client_credentials", "refresh_token"}, Scopes: []string{"invoices:read"}})
	hmacKey := make([]byte, 32)
	rand.Read(hmacKey)
	provider, err := oauth2.NewProvider(oauth2.Config{
		Issuer: "https://auth.example.com", Clients: store, Tokens: store, TokenKeys: [][]byte{hmacKey},
		Grants: []oauth2.GrantFactory{
			grant.ClientCredentials(grant.ClientCredentialsOptions{IssueRefreshTokens: true}),
			grant.RefreshToken(store, grant.RefreshTokenOptions{}),
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	tokenRequest := func(form url.Values) (status int, refreshToken, errorCode string) {
		req := httptest.NewRequest(http.MethodPost, "/token", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("billing", secret)
		rec := httptest.NewRecorder()
		provider.TokenHandler().ServeHTTP(rec, req)
		var resp struct {
			RefreshToken string `json:"refresh_token"`
			Error        string `json:"error"`
		}
		_ = json.Unmarshal(rec.Body.Bytes(), &resp)
		return rec.Code, resp.RefreshToken, resp.Error
	}

	_, first, _ := tokenRequest(url.Values{"grant_type": {"client_credentials"}})
	status, second, _ := tokenRequest(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {first}})
	fmt.Println("refresh:", status, second != "" && second != first)
	status, _, code := tokenRequest(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {first}})
	fmt.Println("the spent one again:", status, code)
	status, _, code = tokenRequest(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {second}})
	fmt.Println("the newest, after the reuse:", status, code)
	// Output:
	// refresh: 200 true
	// the spent one again: 400 invalid_grant
	// the newest, after the reuse: 400 invalid_grant
}
