package bench

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"

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
	tok, err := f.tokens(ClientCredentialsRequest(benchClientID, f.secret))
	if err != nil {
		return nil, err
	}
	req := IntrospectionRequest(benchClientID, f.secret, tok.AccessToken)
	return f.server(func(n int) ([]Request, error) { return Repeat(req, n), nil }), nil
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
	return f.server(func(n int) ([]Request, error) {
		reqs := make([]Request, n)
		for i := range reqs {
			code, verifier, err := f.authorize()
			if err != nil {
				return nil, err
			}
			tok, err := f.tokens(CodeExchangeRequest(benchClientID, f.secret, code, verifier))
			if err != nil {
				return nil, err
			}
			if tok.RefreshToken == "" {
				return nil, fmt.Errorf("fosite: code exchange gave no refresh token")
			}
			reqs[i] = RefreshRequest(benchClientID, f.secret, tok.RefreshToken)
		}
		return reqs, nil
	}), nil
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
	return f.server(func(n int) ([]Request, error) {
		reqs := make([]Request, n)
		for i := range reqs {
			code, verifier, err := f.authorize()
			if err != nil {
				return nil, err
			}
			reqs[i] = CodeExchangeRequest(benchClientID, f.secret, code, verifier)
		}
		return reqs, nil
	}), nil
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
	verifier, err = randomSecret()
	if err != nil {
		return "", "", err
	}
	state, err := randomSecret()
	if err != nil {
		return "", "", err
	}
	challenge := sha256.Sum256([]byte(verifier))
	q := url.Values{
		"response_type":         {"code"},
		"client_id":             {benchClientID},
		"redirect_uri":          {BenchRedirectURI},
		"scope":                 {"read"},
		"state":                 {state},
		"code_challenge":        {base64.RawURLEncoding.EncodeToString(challenge[:])},
		"code_challenge_method": {"S256"},
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

// fositeTokens is the part of a token response the setup needs.
type fositeTokens struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
}

// tokens sends r to the token endpoint and returns the tokens of its
// successful answer.
func (f *fositeServer) tokens(r Request) (fositeTokens, error) {
	var tok fositeTokens
	w := Serve(f.handler, r)
	if w.Code != http.StatusOK {
		return tok, fmt.Errorf("fosite: token endpoint: status %d: %s", w.Code, w.Body.Bytes())
	}
	if err := json.Unmarshal(w.Body.Bytes(), &tok); err != nil {
		return tok, fmt.Errorf("fosite: token response %s: %v", w.Body.Bytes(), err)
	}
	if tok.AccessToken == "" {
		return tok, fmt.Errorf("fosite: token response without an access token: %s", w.Body.Bytes())
	}
	return tok, nil
}

// fositeError wraps err, a fosite error whose message is only the error
// code, with fosite's hint and debug text.
func fositeError(step string, err error) error {
	rfc := fosite.ErrorToRFC6749Error(err)
	return fmt.Errorf("fosite: %s: %w (%s %s)", step, err, rfc.GetDescription(), rfc.Debug())
}
