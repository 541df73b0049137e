package resource_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"

	"github.com/grantor-dev/grantor/dpop"
	"github.com/grantor-dev/grantor/grant"
	"github.com/grantor-dev/grantor/oauth2"
	"github.com/grantor-dev/grantor/resource"
	"github.com/grantor-dev/grantor/storage"
	"github.com/grantor-dev/grantor/storage/memory"
)

// Sender-constrained tokens (RFC 9449) on both sides: the Provider binds
// the token of a request with a DPoP proof to the proof's key, and the API
// accepts that token only with a fresh proof by the same key. A thief of
// the token alone gets 401.
//
// README.md shows this example down to "Try it".
func ExampleDPoP() {
	store := memory.New()
	secret, hash, _ := oauth2.GenerateClientSecret(nil)
	_ = store.PutClient(&storage.Client{ID: "billing", SecretHash: hash,
		GrantTypes: []string{"client_credentials"}, Scopes: []string{"invoices:read"}})
	hmacKey := make([]byte, 32)
	rand.Read(hmacKey)

	// The authorization server: DPoP on, proofs' jti remembered in the store.
	provider, err := oauth2.NewProvider(oauth2.Config{
		Issuer: "https://auth.example.com", Clients: store, Tokens: store, TokenKeys: [][]byte{hmacKey},
		Grants: []oauth2.GrantFactory{grant.ClientCredentials(grant.ClientCredentialsOptions{})},
		DPoP:   &oauth2.DPoPConfig{Replay: store},
	})
	if err != nil {
		log.Fatal(err)
	}

	// The API: DPoP-bound tokens with a proof for https://api.example.com + the request's path.
	proofs, err := dpop.NewVerifier(dpop.Config{Replay: memory.New(),
		IsReplay: func(err error) bool { return errors.Is(err, storage.ErrConsumed) }})
	if err != nil {
		log.Fatal(err)
	}
	protect := resource.Middleware(resource.Config{Validator: resource.Store(provider, store, nil), Realm: "api",
		DPoP: &resource.DPoP{Verifier: proofs, BaseURL: "https://api.example.com"}})
	api := protect(http.HandlerFunc(listInvoices))

	// Try it: the client's key, and a token bound to it.
	clientKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {"invoices:read"}}
	req := httptest.NewRequest(http.MethodPost, "/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("DPoP", makeProof(clientKey, "POST", provider.TokenEndpoint(), ""))
	req.SetBasicAuth("billing", secret)
	rec := httptest.NewRecorder()
	provider.TokenHandler().ServeHTTP(rec, req)
	var tok struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
	}
	_ = json.Unmarshal(rec.Body.Bytes(), &tok)
	fmt.Println("token_type:", tok.TokenType)

	call := func(scheme, proof string) {
		req := httptest.NewRequest(http.MethodGet, "/invoices", nil)
		req.Header.Set("Authorization", scheme+" "+tok.AccessToken)
		if proof != "" {
			req.Header.Set("DPoP", proof)
		}
		rec := httptest.NewRecorder()
		api.ServeHTTP(rec, req)
		fmt.Println(strings.TrimSpace(fmt.Sprintf("%s %d %s", scheme, rec.Code, rec.Body)))
	}
	call("DPoP", makeProof(clientKey, "GET", "https://api.example.com/invoices", tok.AccessToken))
	call("DPoP", "")   // the token alone
	call("Bearer", "") // downgraded to a bearer token
	thief, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	call("DPoP", makeProof(thief, "GET", "https://api.example.com/invoices", tok.AccessToken))
	// Output:
	// token_type: DPoP
	// DPoP 200 the invoices of client:billing
	// DPoP 401
	// Bearer 401
	// DPoP 401
}

// makeProof is what a client library does: a DPoP proof JWT (RFC 9449
// §4.2) for one request, signed by key, with ath when a token is sent.
func makeProof(key *ecdsa.PrivateKey, method, target, accessToken string) string {
	priv, _ := jwk.FromRaw(key)
	pub, _ := priv.PublicKey()
	jti := make([]byte, 16)
	rand.Read(jti)
	claims := map[string]any{"jti": fmt.Sprintf("%x", jti), "htm": method, "htu": target, "iat": time.Now().Unix()}
	if accessToken != "" {
		claims["ath"] = dpop.AccessTokenHash(accessToken)
	}
	payload, _ := json.Marshal(claims)
	h := jws.NewHeaders()
	_ = h.Set(jws.TypeKey, "dpop+jwt")
	_ = h.Set(jws.JWKKey, pub)
	signed, _ := jws.Sign(payload, jws.WithKey(jwa.ES256, priv, jws.WithProtectedHeaders(h)))
	return string(signed)
}
