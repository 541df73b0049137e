package grant_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/grant"
	"github.com/grantor-dev/grantor/internal/testkit"
	"github.com/grantor-dev/grantor/oauth2"
	"github.com/grantor-dev/grantor/pkce"
	"github.com/grantor-dev/grantor/storage"
	"github.com/grantor-dev/grantor/storage/memory"
)

// codeHarness is a Provider with the authorization code, refresh and
// client credentials grants and PAR, and these clients:
//   - "web": confidential (client_secret_basic), redirect https://c.example/cb
//   - "spa": public, redirect https://spa.example/cb
//   - "legacy": confidential, exempted from PKCE
//   - "native": public, loopback redirect http://127.0.0.1/cb
type codeHarness struct {
	*testkit.Harness
	webSecret, legacySecret string
}

const loginPath = "/login"

func newCode(t *testing.T, configure func(*oauth2.Config, *memory.Store)) *codeHarness {
	h := testkit.New(t, func(cfg *oauth2.Config, store *memory.Store) {
		cfg.Grants = []oauth2.GrantFactory{
			grant.AuthorizationCode(store, grant.AuthorizationCodeOptions{}),
			grant.RefreshToken(store, grant.RefreshTokenOptions{}),
		}
		cfg.Interactions = store
		cfg.PushedRequests = store
		cfg.LoginURL = loginPath
		cfg.ScopesSupported = []string{"read", "write"}
		if configure != nil {
			configure(cfg, store)
		}
	})
	c := &codeHarness{Harness: h}
	flows := []string{"authorization_code", "refresh_token"}
	c.webSecret = h.AddClient(storage.Client{ID: "web", Name: "Web App", RedirectURIs: []string{"https://c.example/cb"},
		GrantTypes: flows, Scopes: []string{"read", "write"}, DefaultScopes: []string{"read"}})
	h.AddClient(storage.Client{ID: "spa", TokenEndpointAuthMethod: oauth2.AuthMethodNone, RedirectURIs: []string{"https://spa.example/cb"},
		GrantTypes: flows, Scopes: []string{"read"}})
	c.legacySecret = h.AddClient(storage.Client{ID: "legacy", PKCEOptional: true, RedirectURIs: []string{"https://legacy.example/cb"},
		GrantTypes: []string{"authorization_code"}, Scopes: []string{"read"}})
	h.AddClient(storage.Client{ID: "native", TokenEndpointAuthMethod: oauth2.AuthMethodNone, RedirectURIs: []string{"http://127.0.0.1/cb"},
		GrantTypes: flows, Scopes: []string{"read"}})
	return c
}

// authParams returns a valid authorization request of "web" and the
// verifier of its challenge.
func authParams(t *testing.T, extra ...string) (url.Values, string) {
	t.Helper()
	verifier, err := pkce.GenerateVerifier()
	require.NoError(t, err)
	p := url.Values{
		"response_type": {"code"}, "client_id": {"web"}, "redirect_uri": {"https://c.example/cb"},
		"scope": {"read"}, "state": {"xyz"}, "code_challenge": {pkce.S256Challenge(verifier)},
		"code_challenge_method": {"S256"},
	}
	for i := 0; i+1 < len(extra); i += 2 {
		if extra[i+1] == "<delete>" {
			p.Del(extra[i])
			continue
		}
		p.Set(extra[i], extra[i+1])
	}
	return p, verifier
}

// authorize sends an authorization request as a browser would (GET) and
// does not follow the redirect.
func (h *codeHarness) authorize(params url.Values, cookies ...*http.Cookie) *testkit.Response {
	h.T.Helper()
	req, err := http.NewRequest(http.MethodGet, h.Provider.AuthorizationEndpoint()+"?"+params.Encode(), nil)
	require.NoError(h.T, err)
	for _, c := range cookies {
		req.AddCookie(c)
	}
	return h.DoNoFollow(req)
}

// interaction takes the interaction id and the binding cookie from the
// redirect to the login page.
func (h *codeHarness) interaction(r *testkit.Response) (string, *http.Cookie) {
	h.T.Helper()
	require.Equal(h.T, http.StatusSeeOther, r.Status, "%s", r.Body)
	loc := r.Header.Get("Location")
	require.True(h.T, strings.HasPrefix(loc, loginPath+"?interaction="), loc)
	id := strings.TrimPrefix(loc, loginPath+"?interaction=")
	cookies := (&http.Response{Header: r.Header}).Cookies()
	require.Len(h.T, cookies, 1)
	return id, cookies[0]
}

// browserRequest is a request of the application's own pages, from the
// browser that holds cookie.
func browserRequest(cookie *http.Cookie) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/consent", nil)
	if cookie != nil {
		r.AddCookie(cookie)
	}
	return r
}

// approve approves an interaction as the application would.
func (h *codeHarness) approve(id string, cookie *http.Cookie, a oauth2.Approval) *httptest.ResponseRecorder {
	h.T.Helper()
	rec := httptest.NewRecorder()
	require.NoError(h.T, h.Provider.Approve(rec, browserRequest(cookie), id, a))
	return rec
}

// redirectParams returns the parameters of an authorization response
// redirect, checking it goes to prefix.
func redirectParams(t *testing.T, status int, location, prefix string) url.Values {
	t.Helper()
	require.Equal(t, http.StatusSeeOther, status)
	require.True(t, strings.HasPrefix(location, prefix), "%s does not start with %s", location, prefix)
	u, err := url.Parse(location)
	require.NoError(t, err)
	return u.Query()
}

// code runs a whole authorization for params and returns the code.
func (h *codeHarness) code(params url.Values) string {
	h.T.Helper()
	id, cookie := h.interaction(h.authorize(params))
	rec := h.approve(id, cookie, oauth2.Approval{Subject: "alice"})
	q := redirectParams(h.T, rec.Code, rec.Header().Get("Location"), params.Get("redirect_uri"))
	require.NotEmpty(h.T, q.Get("code"), rec.Header().Get("Location"))
	return q.Get("code")
}

// redeem exchanges a code at the token endpoint as client id.
func (h *codeHarness) redeem(id, secret, code, verifier string, extra ...string) *testkit.Response {
	h.T.Helper()
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {"https://c.example/cb"}}
	if verifier != "" {
		form.Set("code_verifier", verifier)
	}
	for i := 0; i+1 < len(extra); i += 2 {
		if extra[i+1] == "<delete>" {
			form.Del(extra[i])
			continue
		}
		form.Set(extra[i], extra[i+1])
	}
	if secret == "" {
		form.Set("client_id", id)
		return h.Do(h.TokenRequest(form))
	}
	return h.Token(id, secret, form)
}
