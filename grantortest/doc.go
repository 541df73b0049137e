// Package grantortest is a test kit for applications that embed Grantor:
// a real Provider over the in-memory store, served by an httptest server
// whose URL is its issuer, with one fake clock for the Provider, the store
// and the resource validator, and helpers to register clients and to mint
// real tokens.
//
// A test of an API handler behind the resource middleware:
//
//	srv := grantortest.NewServer(t)
//	api := resource.Middleware(resource.Config{Validator: srv.Validator()})(listInvoices)
//	rec := httptest.NewRecorder()
//	api.ServeHTTP(rec, grantortest.NewRequest("GET", "/invoices", srv.AccessToken(t, "alice", "invoices:read")))
//	// rec.Code is 200, and listInvoices saw the subject alice
//
// AccessToken and Mint obtain tokens from the Provider's token endpoint,
// through an extension grant that only the Server's own client can use
// (GrantType): they are stored, introspected, revoked and expired like
// any other. RegisterClient and RegisterPublicClient put clients in the
// store, so a test can drive any grant with a client library of its
// choice against Server.Provider's endpoints. Server.Clock moves the time
// of everything at once: Clock.Advance past a token's lifetime expires
// it.
//
// NewServer builds the Provider from a complete configuration that
// WithConfig may change (add grants, JWT access tokens, a claims hook;
// not the clock or the stores, which the Server shares with its helpers);
// WithHandler serves the Provider next to an application's own pages.
//
// The package uses the testing package; import it from tests only.
package grantortest
