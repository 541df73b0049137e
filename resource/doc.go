// Package resource protects a host application's own APIs with the access
// tokens of an OAuth 2.x authorization server (RFC 6750): the
// resource-server side of Grantor.
//
// Middleware takes the bearer token from the Authorization header,
// validates it with a Validator, answers WWW-Authenticate challenges with
// invalid_token or insufficient_scope (RFC 6750 §3), and puts the token
// in the request's context (FromContext). RequireScopes guards a route
// with the scopes it needs. Three Validators come with the package:
//
//   - JWT validates JWT access tokens locally (RFC 9068 §4) with a
//     token.JWTVerifier, whose keys come from the authorization server's
//     jwks_uri (token.RemoteKeys) or, in the same process, its KeySet;
//   - Introspection asks the authorization server (RFC 7662) and caches
//     the answers for a bounded time, in a bounded cache;
//   - Store reads the token records of a Provider in the same process.
//
// The package needs no Provider: an API that trusts a remote Grantor
// server imports resource and token only. Sender-constrained tokens
// (DPoP, RFC 9449) are not supported yet: a DPoP-bound token presented as
// a bearer token is refused (RFC 9449 §7.2), and the DPoP scheme is
// answered like a request without a token.
//
// The shortest use, with local validation of JWT access tokens
// (ExampleMiddleware runs it):
//
//	// Local validation of JWT access tokens (RFC 9068 §4), keys from the AS's jwks_uri.
//	keys, err := token.NewRemoteKeys(token.RemoteKeysConfig{URL: "https://auth.example.com/jwks.json"})
//	if err != nil {
//		log.Fatal(err)
//	}
//	verifier, err := token.NewJWTVerifier(token.JWTVerifierConfig{
//		Keys: keys, Issuer: "https://auth.example.com", Audience: "https://api.example.com"})
//	if err != nil {
//		log.Fatal(err)
//	}
//	protect := resource.Middleware(resource.Config{Validator: resource.JWT(verifier), Realm: "api"})
//
//	mux := http.NewServeMux()
//	mux.Handle("GET /invoices", protect(http.HandlerFunc(listInvoices)))
//	writers := resource.RequireScopes("invoices:write") // else 403 insufficient_scope
//	mux.Handle("POST /invoices", protect(writers(http.HandlerFunc(createInvoice))))
//
//	func listInvoices(w http.ResponseWriter, r *http.Request) {
//		t, _ := resource.FromContext(r.Context()) // Subject, ClientID, Scopes, Claims...
//		fmt.Fprintf(w, "the invoices of %s\n", t.Subject)
//	}
//
// With introspection instead (ExampleIntrospection):
//
//	secret := loadSecret("invoices-api") // the API's client secret, from your secret store
//	v, err := resource.Introspection(resource.IntrospectionConfig{
//		URL: "https://auth.example.com/introspect", ClientID: "invoices-api", ClientSecret: secret})
//	if err != nil {
//		log.Fatal(err)
//	}
//	protect := resource.Middleware(resource.Config{Validator: v, Audience: "https://api.example.com"})
package resource
