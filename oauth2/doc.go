// Package oauth2 is the core of Grantor: a Provider that implements the
// endpoints of an OAuth 2.x authorization server as plain net/http
// handlers, over pluggable storage, client authentication and token
// formats.
//
// The shortest use, serving client credentials with opaque tokens from
// memory:
//
//	store := memory.New()
//	secret, hash, _ := oauth2.GenerateClientSecret(nil)
//	store.PutClient(&storage.Client{ID: "svc", SecretHash: hash,
//		GrantTypes: []string{"client_credentials"}, Scopes: []string{"read"}})
//	p, err := oauth2.NewProvider(oauth2.Config{
//		Issuer:    "https://as.example",
//		Clients:   store,
//		Tokens:    store,
//		TokenKeys: [][]byte{key}, // 32 random bytes or more
//		Grants:    []oauth2.GrantFactory{grant.ClientCredentials(grant.ClientCredentialsOptions{})},
//	})
//	http.ListenAndServe(addr, p.Handler())
//
// The path of a token request: the body is parsed (POST, form-encoded,
// size-limited, no repeated parameters), the client authenticated by the
// ClientAuthenticator of its registered method, the request dispatched by
// grant_type to the registered GrantHandler, which validates it and
// consumes what it consumes atomically through storage; the Provider then
// mints the tokens with its token strategy, stores their records and
// writes the response with Cache-Control: no-store. Every error is an
// *Error, written by WriteError.
//
// The security rules of RFC 9700 and OAuth 2.1 are defaults, not options.
package oauth2
