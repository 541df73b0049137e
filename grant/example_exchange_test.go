package grant_test

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
	"github.com/grantor-dev/grantor/storage"
	"github.com/grantor-dev/grantor/storage/memory"
)

// A gateway trades the tokens it receives for tokens of the service
// behind it (RFC 8693), and a partner presents its identity provider's
// assertions for tokens of its users (RFC 7523 §2.1). Both accept the JWTs
// of the issuers you trust; what each client may obtain is your policy's
// to say, and nothing is allowed by default.
func ExampleTokenExchange() {
	store := memory.New()
	hmacKey := make([]byte, 32)
	rand.Read(hmacKey)

	// The identity providers whose JWTs you accept, with their public
	// keys: a JWKS document, or a jwks_uri fetched with SSRF guards.
	issuers, err := oauth2.NewTrustedIssuerList([]oauth2.TrustedIssuer{
		{Issuer: "https://idp.example.com", JWKSURI: "https://idp.example.com/jwks.json"},
	}, nil)
	if err != nil {
		log.Fatal(err)
	}
	// Who may exchange what. The grant already refuses other clients'
	// tokens (unless their audience names the client), more scopes than
	// the subject token has, and targets the client is not registered
	// for; the policy narrows further.
	policy := grant.TokenExchangePolicyFunc(func(ctx context.Context, req *grant.TokenExchangeRequest) (*grant.Allowance, error) {
		if req.Client.ID != "gateway" {
			return nil, nil // unauthorized_client
		}
		// Of the identity provider's JWTs, its access tokens only: its
		// assertions are for the JWT bearer grant, which takes each once.
		if req.Subject.JWT != nil && !req.Subject.JWT.IsAccessToken() {
			return nil, nil
		}
		return &grant.Allowance{Audience: []string{"https://orders.example.com"}}, nil
	})
	// How another issuer's users become yours (required by the JWT bearer
	// grant; without it, token exchange refuses their JWTs as subjects).
	mapSubject := func(ctx context.Context, client *storage.Client, jwt *oauth2.TrustedJWT) (string, error) {
		return jwt.Issuer + "#" + jwt.Subject, nil
	}
	provider, err := oauth2.NewProvider(oauth2.Config{
		Issuer: "https://auth.example.com", Clients: store, Tokens: store, TokenKeys: [][]byte{hmacKey},
		Grants: []oauth2.GrantFactory{
			grant.ClientCredentials(grant.ClientCredentialsOptions{}),
			grant.TokenExchange(grant.TokenExchangeOptions{Policy: policy, TrustedIssuers: issuers, MapSubject: mapSubject}),
			// The assertions' jti are remembered in the store: each is used once.
			grant.JWTBearer(grant.JWTBearerOptions{TrustedIssuers: issuers, Replay: store, MapSubject: mapSubject}),
		},
	})
	if err != nil {
		log.Fatal(err)
	}

	// Try it: the gateway trades its own token for a narrower one, meant
	// for the orders service only.
	secret, hash, _ := oauth2.GenerateClientSecret(nil)
	_ = store.PutClient(&storage.Client{ID: "gateway", SecretHash: hash,
		GrantTypes: []string{"client_credentials", grant.GrantTypeTokenExchange},
		Scopes:     []string{"orders:read", "orders:write"}, DefaultScopes: []string{"orders:read", "orders:write"},
		Audience: []string{"https://orders.example.com", "https://billing.example.com"}})
	post := func(form url.Values) map[string]any {
		req := httptest.NewRequest(http.MethodPost, "/token", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("gateway", secret)
		rec := httptest.NewRecorder()
		provider.TokenHandler().ServeHTTP(rec, req)
		var resp map[string]any
		_ = json.Unmarshal(rec.Body.Bytes(), &resp)
		return resp
	}
	own := post(url.Values{"grant_type": {"client_credentials"}})["access_token"].(string)
	exchange := url.Values{"grant_type": {grant.GrantTypeTokenExchange},
		"subject_token": {own}, "subject_token_type": {grant.TokenTypeAccessToken},
		"audience": {"https://orders.example.com"}, "scope": {"orders:read"}}
	resp := post(exchange)
	fmt.Println(resp["token_type"], resp["issued_token_type"])
	exchange.Set("audience", "https://billing.example.com")
	fmt.Println(post(exchange)["error"])
	exchange.Set("audience", "https://orders.example.com")
	exchange.Set("scope", "orders:admin")
	fmt.Println(post(exchange)["error"])
	// Output:
	// Bearer urn:ietf:params:oauth:token-type:access_token
	// invalid_target
	// invalid_scope
}
