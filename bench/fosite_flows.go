package bench

import (
	"context"
	"fmt"
	"net/http"

	"github.com/ory/fosite"
)

// NewFositeIntrospection returns fosite (see newFositeServer) with opaque
// tokens, for the introspection scenario: one client credentials access
// token (scope read) is issued through the token endpoint here, and every
// request introspects it. hasher is as for NewFositeClientCredentials.
func NewFositeIntrospection(hasher fosite.Hasher) (*Server, error) {
	f, err := newFositeServer(hasher, fositeHMACStrategy, newFositeDefaultSession)
	if err != nil {
		return nil, err
	}
	tok, err := fetchTokens(f.handler, ClientCredentialsRequest(benchClientID, f.secret))
	if err != nil {
		return nil, err
	}
	req := IntrospectionRequest(benchClientID, f.secret, tok.AccessToken)
	return f.server(Repeated(req)), nil
}

// NewFositeRefresh returns fosite (see newFositeServer) with opaque tokens,
// for the refresh rotation scenario: each request carries its own refresh
// token, from an authorization code approved through fosite's API
// (authorize) and exchanged at the token endpoint. hasher is as for
// NewFositeClientCredentials.
func NewFositeRefresh(hasher fosite.Hasher) (*Server, error) {
	f, err := newFositeServer(hasher, fositeHMACStrategy, newFositeDefaultSession)
	if err != nil {
		return nil, err
	}
	return f.server(refreshRequests(f.authorize, f.handler, f.secret)), nil
}

// NewFositeCodeExchange returns fosite (see newFositeServer) with opaque
// tokens, for the code exchange scenario: each request carries its own
// authorization code, approved through fosite's API (authorize), and its
// PKCE verifier. hasher is as for NewFositeClientCredentials.
func NewFositeCodeExchange(hasher fosite.Hasher) (*Server, error) {
	f, err := newFositeServer(hasher, fositeHMACStrategy, newFositeDefaultSession)
	if err != nil {
		return nil, err
	}
	return f.server(codeExchangeRequests(f.authorize, f.secret)), nil
}

// authorize does the authorization step of the code flow through fosite's
// API, as an application's authorization endpoint would once the user has
// consented, and returns the code and its PKCE S256 verifier: a GET
// /authorize request (response_type=code, the client's redirect URI,
// scope read, a state, a code challenge) goes to NewAuthorizeRequest, the
// scope is granted, and NewAuthorizeResponse issues the code for a session
// of BenchSubject. The response itself (a redirect) is not written.
func (f *fositeServer) authorize() (code, verifier string, err error) {
	ctx := context.Background()
	q, verifier, err := authorizationQuery()
	if err != nil {
		return "", "", err
	}
	r, err := http.NewRequestWithContext(ctx, http.MethodGet, BenchIssuer+"/authorize?"+q.Encode(), nil)
	if err != nil {
		return "", "", err
	}
	ar, err := f.provider.NewAuthorizeRequest(ctx, r)
	if err != nil {
		return "", "", fositeError("authorize request", err)
	}
	ar.GrantScope("read")
	session := f.newSession()
	setFositeSubject(session, BenchSubject, benchClientID)
	resp, err := f.provider.NewAuthorizeResponse(ctx, ar, session)
	if err != nil {
		return "", "", fositeError("authorize response", err)
	}
	if resp.GetCode() == "" {
		return "", "", fmt.Errorf("fosite: authorize response without a code: %v", resp.GetParameters())
	}
	return resp.GetCode(), verifier, nil
}

// fositeError wraps err, a fosite error whose message is only the error
// code, with fosite's hint and debug text.
func fositeError(step string, err error) error {
	rfc := fosite.ErrorToRFC6749Error(err)
	return fmt.Errorf("fosite: %s: %w (%s %s)", step, err, rfc.GetDescription(), rfc.Debug())
}
