// Package oauth2 is the core of Grantor: a Provider that implements the
// endpoints of an OAuth 2.x authorization server as plain net/http
// handlers, over pluggable storage, client authentication and token
// formats.
//
// The shortest use, serving the client credentials grant with opaque
// tokens from memory (ExampleNewProvider runs it, and sends it a token
// request):
//
//	store := memory.New() // or your own adapter of the storage interfaces
//
//	// A client: show its secret to its owner once; the store keeps only the hash.
//	secret, hash, err := oauth2.GenerateClientSecret(nil)
//	if err != nil {
//		log.Fatal(err)
//	}
//	fmt.Fprintln(os.Stderr, "client billing, secret:", secret)
//	err = store.PutClient(&storage.Client{ID: "billing", SecretHash: hash, // authenticates with client_secret_basic
//		GrantTypes: []string{"client_credentials"}, Scopes: []string{"invoices:read"}})
//	if err != nil {
//		log.Fatal(err)
//	}
//
//	hmacKey := make([]byte, 32) // 32+ random bytes: load them from your secret store
//	rand.Read(hmacKey)
//	provider, err := oauth2.NewProvider(oauth2.Config{
//		Issuer:    "https://auth.example.com",
//		Clients:   store,
//		Tokens:    store,
//		TokenKeys: [][]byte{hmacKey}, // put a new key first to rotate
//		Grants: []oauth2.GrantFactory{
//			grant.ClientCredentials(grant.ClientCredentialsOptions{}),
//		},
//	})
//	if err != nil {
//		log.Fatal(err) // unsafe or incomplete configurations are refused here
//	}
//	mux := http.NewServeMux()
//	mux.Handle("/", provider.Handler()) // or provider.TokenHandler(), provider.MetadataHandler(), ...
//
// The client "billing" authenticates with client_secret_basic, the
// default for a client with a secret; set
// storage.Client.TokenEndpointAuthMethod to choose another method.
//
// Handler serves every endpoint at the path the metadata document
// advertises (its doc lists them). For an issuer with a path, such as
// https://app.example.com/oauth, mount it under that path, with or without
// http.StripPrefix, and the metadata document at the path RFC 8414 §3.1
// puts outside it (/.well-known/oauth-authorization-server/oauth):
//
//	mux.Handle("/oauth/", provider.Handler()) // or http.StripPrefix("/oauth", provider.Handler())
//	mux.Handle(provider.MetadataPath(), provider.MetadataHandler())
//
// Each endpoint also has a handler of its own (TokenHandler and the
// others), to mount on a router of your own.
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
