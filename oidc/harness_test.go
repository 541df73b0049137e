package oidc_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/grant"
	"github.com/grantor-dev/grantor/internal/testkit"
	"github.com/grantor-dev/grantor/oauth2"
	"github.com/grantor-dev/grantor/oidc"
	"github.com/grantor-dev/grantor/pkce"
	"github.com/grantor-dev/grantor/storage"
	"github.com/grantor-dev/grantor/storage/memory"
	"github.com/grantor-dev/grantor/token"
)

// harness is an OpenID Provider over an oauth2.Provider with the code and
// refresh grants, and these clients:
//   - "rp": confidential, redirect https://rp.example/cb, scopes openid
//     profile email read, the default ID token algorithm;
//   - "rs256": as rp, with id_token_signed_response_alg RS256;
//   - "oauth": as rp without openid.
type harness struct {
	*testkit.Harness
	OP      *oidc.Provider
	secrets map[string]string
	users   map[string]map[string]any
}

const (
	loginPath   = "/login"
	rpRedirect  = "https://rp.example/cb"
	scopeAll    = "openid profile email read"
	defaultUser = "alice"
)

// keySource returns an in-memory key set that signs with alg.
func keySource(t testing.TB, alg jwa.SignatureAlgorithm) *token.KeySet {
	t.Helper()
	k, err := token.GenerateSigningKey(alg)
	require.NoError(t, err)
	ks, err := token.NewKeySet(k)
	require.NoError(t, err)
	return ks
}

// newHarness starts a harness; configure may change the OpenID Provider's
// and the oauth2.Provider's configurations.
func newHarness(t *testing.T, configure func(*oidc.Config, *oauth2.Config, *memory.Store)) *harness {
	t.Helper()
	h := &harness{secrets: make(map[string]string), users: map[string]map[string]any{
		defaultUser: {"name": "Alice Liddell", "email": "alice@example.com", "email_verified": true,
			"phone_number": "+1 555 0100", "shoe_size": 38},
	}}
	ocfg := oidc.Config{
		Keys: []token.KeySource{keySource(t, jwa.ES256), keySource(t, jwa.RS256)},
		Claims: oidc.ClaimsFunc(func(_ context.Context, req *oidc.ClaimsRequest) (map[string]any, error) {
			return h.users[req.Subject], nil // every claim: the Provider filters
		}),
	}
	h.Harness = testkit.New(t, func(cfg *oauth2.Config, store *memory.Store) {
		cfg.Grants = []oauth2.GrantFactory{
			grant.AuthorizationCode(store, grant.AuthorizationCodeOptions{}),
			grant.RefreshToken(store, grant.RefreshTokenOptions{}),
			grant.ClientCredentials(grant.ClientCredentialsOptions{}),
		}
		cfg.Interactions = store
		cfg.PushedRequests = store
		cfg.LoginURL = loginPath
		ocfg.Sessions = store
		if configure != nil {
			configure(&ocfg, cfg, store)
		}
		op, err := oidc.New(ocfg)
		require.NoError(t, err)
		h.OP = op
		cfg.Features = append(cfg.Features, op.Register)
	})
	flows := []string{"authorization_code", "refresh_token", "client_credentials"}
	scopes := strings.Fields(scopeAll)
	h.secrets["rp"] = h.AddClient(storage.Client{ID: "rp", RedirectURIs: []string{rpRedirect}, GrantTypes: flows, Scopes: scopes})
	h.secrets["rs256"] = h.AddClient(storage.Client{ID: "rs256", RedirectURIs: []string{rpRedirect}, GrantTypes: flows,
		Scopes: scopes, IDTokenSignedResponseAlg: "RS256"})
	h.secrets["oauth"] = h.AddClient(storage.Client{ID: "oauth", RedirectURIs: []string{rpRedirect}, GrantTypes: flows,
		Scopes: []string{"read"}})
	return h
}

// addClient registers c and remembers its secret.
func (h *harness) addClient(c storage.Client) {
	h.T.Helper()
	h.secrets[c.ID] = h.AddClient(c)
}

// request is an authorization request and the PKCE verifier of its
// challenge.
type request struct {
	params   url.Values
	verifier string
}

// newRequest returns a valid OpenID request of client with the given
// parameters set ("<delete>" removes one).
func newRequest(t *testing.T, client string, extra ...string) request {
	t.Helper()
	verifier, err := pkce.GenerateVerifier()
	require.NoError(t, err)
	p := url.Values{
		"response_type": {"code"}, "client_id": {client}, "redirect_uri": {rpRedirect},
		"scope": {scopeAll}, "state": {"st"}, "nonce": {"n-0S6_WzA2Mj"},
		"code_challenge": {pkce.S256Challenge(verifier)}, "code_challenge_method": {"S256"},
	}
	for i := 0; i+1 < len(extra); i += 2 {
		if extra[i+1] == "<delete>" {
			p.Del(extra[i])
			continue
		}
		p.Set(extra[i], extra[i+1])
	}
	return request{params: p, verifier: verifier}
}

// authorize sends the authorization request as a browser would.
func (h *harness) authorize(params url.Values, cookies ...*http.Cookie) *testkit.Response {
	h.T.Helper()
	req, err := http.NewRequest(http.MethodGet, h.Provider.AuthorizationEndpoint()+"?"+params.Encode(), nil)
	require.NoError(h.T, err)
	for _, c := range cookies {
		req.AddCookie(c)
	}
	return h.DoNoFollow(req)
}

// interaction takes the interaction id and binding cookie from a
// redirect to the login page.
func (h *harness) interaction(r *testkit.Response) (string, *http.Cookie) {
	h.T.Helper()
	require.Equal(h.T, http.StatusSeeOther, r.Status, "%s", r.Body)
	loc := r.Header.Get("Location")
	require.True(h.T, strings.HasPrefix(loc, loginPath+"?interaction="), loc)
	cookies := (&http.Response{Header: r.Header}).Cookies()
	require.NotEmpty(h.T, cookies)
	return strings.TrimPrefix(loc, loginPath+"?interaction="), cookies[0]
}

// approve approves the interaction and returns the redirect's recorder.
func (h *harness) approve(id string, cookie *http.Cookie, a oauth2.Approval) *httptest.ResponseRecorder {
	h.T.Helper()
	r := httptest.NewRequest(http.MethodPost, "/consent", nil)
	r.AddCookie(cookie)
	rec := httptest.NewRecorder()
	require.NoError(h.T, h.Provider.Approve(rec, r, id, a))
	return rec
}

// answer returns the parameters of the authorization response.
func answer(t *testing.T, rec *httptest.ResponseRecorder) url.Values {
	t.Helper()
	require.Equal(t, http.StatusSeeOther, rec.Code, rec.Body.String())
	loc := rec.Header().Get("Location")
	require.True(t, strings.HasPrefix(loc, "https://"), loc)
	u, err := url.Parse(loc)
	require.NoError(t, err)
	return u.Query()
}

// redirected returns the parameters of an error redirect the
// authorization endpoint answered at once.
func redirected(t *testing.T, r *testkit.Response) url.Values {
	t.Helper()
	require.Equal(t, http.StatusSeeOther, r.Status, "%s", r.Body)
	loc := r.Header.Get("Location")
	require.True(t, strings.HasPrefix(loc, rpRedirect+"?"), loc)
	u, err := url.Parse(loc)
	require.NoError(t, err)
	return u.Query()
}

// code runs an authorization approved with a and returns the code.
func (h *harness) code(req request, a oauth2.Approval) string {
	h.T.Helper()
	id, cookie := h.interaction(h.authorize(req.params))
	q := answer(h.T, h.approve(id, cookie, a))
	require.NotEmpty(h.T, q.Get("code"), q.Encode())
	return q.Get("code")
}

// redeem exchanges a code for tokens.
func (h *harness) redeem(req request, code string) *testkit.Response {
	h.T.Helper()
	client := req.params.Get("client_id")
	return h.Token(client, h.secrets[client], url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {req.params.Get("redirect_uri")}, "code_verifier": {req.verifier}})
}

// tokens runs a whole authorization approved with a and returns the token
// response, which must succeed.
func (h *harness) tokens(req request, a oauth2.Approval) *testkit.Response {
	h.T.Helper()
	r := h.redeem(req, h.code(req, a))
	require.Equal(h.T, http.StatusOK, r.Status, "%s", r.Body)
	return r
}

// refresh redeems a refresh token of client.
func (h *harness) refresh(client, refreshToken string, extra ...string) *testkit.Response {
	h.T.Helper()
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refreshToken}}
	for i := 0; i+1 < len(extra); i += 2 {
		form.Set(extra[i], extra[i+1])
	}
	return h.Token(client, h.secrets[client], form)
}

// jwks fetches the Provider's published keys.
func (h *harness) jwks() jwk.Set {
	h.T.Helper()
	resp, err := h.Server.Client().Get(h.Server.URL + oauth2.JWKSPath)
	require.NoError(h.T, err)
	defer resp.Body.Close()
	require.Equal(h.T, http.StatusOK, resp.StatusCode)
	set, err := jwk.ParseReader(resp.Body)
	require.NoError(h.T, err)
	return set
}

// verified checks a JWT's signature with the published keys and returns
// its header and claims. Times are checked by the tests, on the harness
// clock.
func (h *harness) verified(tok string) (map[string]any, map[string]any) {
	h.T.Helper()
	payload, err := jws.Verify([]byte(tok), jws.WithKeySet(h.jwks(), jws.WithRequireKid(true)))
	require.NoError(h.T, err, "the JWT does not verify with the published keys")
	var claims map[string]any
	require.NoError(h.T, json.Unmarshal(payload, &claims))
	hb, err := base64.RawURLEncoding.DecodeString(strings.SplitN(tok, ".", 2)[0])
	require.NoError(h.T, err)
	var header map[string]any
	require.NoError(h.T, json.Unmarshal(hb, &header))
	return header, claims
}

// userInfo calls the UserInfo endpoint with method and the access token
// in the Authorization header.
func (h *harness) userInfo(method, accessToken string) *testkit.Response {
	h.T.Helper()
	req, err := http.NewRequest(method, h.Server.URL+oidc.UserInfoPath, nil)
	require.NoError(h.T, err)
	if accessToken != "" {
		req.Header.Set("Authorization", "Bearer "+accessToken)
	}
	return h.Do(req)
}
