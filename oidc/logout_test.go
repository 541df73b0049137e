package oidc_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/internal/testkit"
	"github.com/grantor-dev/grantor/oauth2"
	"github.com/grantor-dev/grantor/oidc"
	"github.com/grantor-dev/grantor/storage"
	"github.com/grantor-dev/grantor/storage/memory"
)

const afterLogout = "https://rp.example/logged-out"

// endSession sends a request to the end-session endpoint from b.
func (b *browser) endSession(method string, params url.Values) *testkit.Response {
	b.h.T.Helper()
	u := b.h.Server.URL + oidc.EndSessionPath
	var req *http.Request
	var err error
	if method == http.MethodGet {
		req, err = http.NewRequest(method, u+"?"+params.Encode(), nil)
	} else {
		req, err = http.NewRequest(method, u, strings.NewReader(params.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	require.NoError(b.h.T, err)
	return b.send(req)
}

// confirmationForm returns the hidden fields of a confirmation page.
func confirmationForm(t *testing.T, r *testkit.Response) url.Values {
	t.Helper()
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	form := url.Values{}
	for _, m := range regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`).FindAllStringSubmatch(string(r.Body), -1) {
		form.Set(m[1], m[2])
	}
	require.NotEmpty(t, form.Get("logout_confirm"), "%s", r.Body)
	return form
}

func newLogoutHarness(t *testing.T) *harness {
	h := newHarness(t, nil)
	h.addClient(storage.Client{ID: "app", RedirectURIs: []string{rpRedirect}, GrantTypes: []string{"authorization_code"},
		Scopes: []string{"openid"}, PostLogoutRedirectURIs: []string{afterLogout}})
	return h
}

func TestRPInitiatedLogout(t *testing.T) {
	h := newLogoutHarness(t)
	b := h.browser()
	_, r := b.signIn(newRequest(t, "app", "scope", "openid"), &oauth2.Approval{Subject: defaultUser})
	idToken := r.Str("id_token")
	cookie := b.cookies[sessionCookie].Value
	params := url.Values{"id_token_hint": {idToken}, "post_logout_redirect_uri": {afterLogout}, "state": {"bye"}}

	page := b.endSession(http.MethodGet, params)
	form := confirmationForm(t, page)
	assert.Contains(t, page.Header.Get("Content-Security-Policy"), "form-action "+h.Server.URL+oidc.EndSessionPath+" https://rp.example",
		"browsers check form-action on the redirect after the post too")
	assert.Equal(t, "app", form.Get("client_id"))
	assert.Equal(t, afterLogout, form.Get("post_logout_redirect_uri"))
	_, err := h.Store.LoginSession(context.Background(), h.OP.SessionKeyForTest(cookie))
	require.NoError(t, err, "nothing ends before the user confirms")

	t.Run("a forged confirmation shows the page again", func(t *testing.T) {
		bad := url.Values{"logout_confirm": {"forged"}, "client_id": {"app"}}
		confirmationForm(t, b.endSession(http.MethodPost, bad))
		_, err := h.Store.LoginSession(context.Background(), h.OP.SessionKeyForTest(cookie))
		require.NoError(t, err)
	})
	t.Run("a confirmation by GET is no confirmation", func(t *testing.T) {
		confirmationForm(t, b.endSession(http.MethodGet, form))
	})

	done := b.endSession(http.MethodPost, form)
	require.Equal(t, http.StatusSeeOther, done.Status, "%s", done.Body)
	assert.Equal(t, afterLogout+"?state=bye", done.Header.Get("Location"))
	_, err = h.Store.LoginSession(context.Background(), h.OP.SessionKeyForTest(cookie))
	assert.ErrorIs(t, err, storage.ErrNotFound, "the session has ended")
	assert.Nil(t, b.cookies[sessionCookie], "and its cookie is cleared")

	t.Run("then a new authorization needs a login", func(t *testing.T) {
		lc, _ := b.login(b.authorize(newRequest(t, "app", "scope", "openid").params), &oauth2.Approval{Subject: defaultUser})
		assert.Nil(t, lc.Session)
	})
}

// A relying party's own page posts the logout form: the browser leaves
// the SameSite=Lax session cookie off that cross-site POST, so the
// endpoint sends it back as a top-level GET, which carries the cookie,
// rather than redirect as if the user were logged out.
func TestACrossSitePostComesBackAsAGet(t *testing.T) {
	h := newLogoutHarness(t)
	b := h.browser()
	_, r := b.signIn(newRequest(t, "app", "scope", "openid"), &oauth2.Approval{Subject: defaultUser})
	params := url.Values{"id_token_hint": {r.Str("id_token")}, "post_logout_redirect_uri": {afterLogout}, "state": {"s"}}

	crossSite := &browser{h: h, cookies: map[string]*http.Cookie{}} // what the browser sends: no Lax cookie
	resp := crossSite.endSession(http.MethodPost, params)
	require.Equal(t, http.StatusSeeOther, resp.Status, "%s", resp.Body)
	loc, err := url.Parse(resp.Header.Get("Location"))
	require.NoError(t, err)
	assert.Equal(t, h.Server.URL+oidc.EndSessionPath, loc.Scheme+"://"+loc.Host+loc.Path)
	assert.Equal(t, params, loc.Query())

	// The browser follows it with its cookie: the confirmation page.
	confirmationForm(t, b.endSession(http.MethodGet, loc.Query()))
}

// Our own ID tokens may be longer than the bound of most parameters (a
// long nonce, claims, RSA-4096 signatures); they still work as hints.
func TestALongIDTokenIsAValidHint(t *testing.T) {
	h := newLogoutHarness(t)
	b := h.browser()
	_, r := b.signIn(newRequest(t, "app", "scope", "openid", "nonce", strings.Repeat("n", 1500)), &oauth2.Approval{Subject: defaultUser})
	require.Greater(t, len(r.Str("id_token")), oauth2.MaxParameterBytes)
	confirmationForm(t, b.endSession(http.MethodGet, url.Values{"id_token_hint": {r.Str("id_token")}, "post_logout_redirect_uri": {afterLogout}}))
	h.interaction(h.authorize(newRequest(t, "app", "scope", "openid", "id_token_hint", r.Str("id_token")).params))
}

func TestEndSessionValidation(t *testing.T) {
	h := newLogoutHarness(t)
	b := h.browser()
	_, r := b.signIn(newRequest(t, "app", "scope", "openid"), &oauth2.Approval{Subject: defaultUser})
	idToken := r.Str("id_token")

	for name, params := range map[string]url.Values{
		"an unregistered post_logout_redirect_uri": {"client_id": {"app"}, "post_logout_redirect_uri": {"https://evil.example/"}},
		"a redirect URI, not a logout one":         {"client_id": {"app"}, "post_logout_redirect_uri": {rpRedirect}},
		"a post_logout_redirect_uri and no client": {"post_logout_redirect_uri": {afterLogout}},
		"a client_id that is not the hint's":       {"client_id": {"rp"}, "id_token_hint": {idToken}, "post_logout_redirect_uri": {afterLogout}},
		"a forged id_token_hint":                   {"id_token_hint": {idToken + "x"}},
		"an unknown client":                        {"client_id": {"nobody"}},
		"a repeated parameter":                     {"client_id": {"app", "app"}},
	} {
		t.Run(name, func(t *testing.T) {
			resp := b.endSession(http.MethodGet, params)
			assert.Equal(t, http.StatusBadRequest, resp.Status, "%s", resp.Body)
			assert.Empty(t, resp.Header.Get("Location"), "never a redirect to an unverified URI")
		})
	}
	t.Run("other methods", func(t *testing.T) {
		assert.Equal(t, http.StatusMethodNotAllowed, b.endSession(http.MethodPut, url.Values{}).Status)
	})
	t.Run("without a session it only redirects", func(t *testing.T) {
		resp := h.browser().endSession(http.MethodGet, url.Values{"client_id": {"app"}, "post_logout_redirect_uri": {afterLogout}})
		require.Equal(t, http.StatusSeeOther, resp.Status, "%s", resp.Body)
		assert.Equal(t, afterLogout, resp.Header.Get("Location"))
	})
	t.Run("without a session nor a redirect URI: the signed-out page", func(t *testing.T) {
		resp := h.browser().endSession(http.MethodGet, url.Values{})
		assert.Equal(t, http.StatusOK, resp.Status)
		assert.Contains(t, string(resp.Body), "signed out")
	})
}

func TestLogoutPageOfTheApplication(t *testing.T) {
	var seen *oidc.LogoutRequest
	var ended *oidc.Session
	h := newHarness(t, func(c *oidc.Config, _ *oauth2.Config, _ *memory.Store) {
		c.LogoutPage = func(w http.ResponseWriter, _ *http.Request, lr *oidc.LogoutRequest) {
			seen = lr
			w.WriteHeader(http.StatusTeapot)
		}
		c.OnLogout = func(w http.ResponseWriter, _ *http.Request, s *oidc.Session) {
			ended = s
			http.SetCookie(w, &http.Cookie{Name: "app-login", MaxAge: -1})
		}
	})
	b := h.browser()
	_, r := b.signIn(newRequest(t, "rp"), &oauth2.Approval{Subject: defaultUser})
	resp := b.endSession(http.MethodGet, url.Values{"id_token_hint": {r.Str("id_token")}, "ui_locales": {"de en"}})
	assert.Equal(t, http.StatusTeapot, resp.Status)
	require.NotNil(t, seen)
	assert.Equal(t, "rp", seen.Client.ID, "the client the hint names")
	assert.Equal(t, defaultUser, seen.Subject)
	assert.Equal(t, []string{"de", "en"}, seen.UILocales)
	assert.Equal(t, h.Server.URL+oidc.EndSessionPath, seen.Action)
	assert.NotEmpty(t, seen.Form.Get("logout_confirm"))
	assert.Nil(t, ended, "not before the confirmation")

	done := b.endSession(http.MethodPost, seen.Form)
	require.Equal(t, http.StatusOK, done.Status, "the signed-out page: %s", done.Body)
	require.NotNil(t, ended, "OnLogout learns of the end")
	assert.Equal(t, defaultUser, ended.Subject)
	assert.Contains(t, done.Header.Values("Set-Cookie"), "app-login=; Max-Age=0", "its cookies go out with the response")
}

// logoutReceiver is a relying party's back-channel logout endpoint: it
// keeps the logout tokens it is sent.
type logoutReceiver struct {
	*httptest.Server
	mu     sync.Mutex
	tokens []string
}

func newLogoutReceiver(t *testing.T) *logoutReceiver {
	lr := &logoutReceiver{}
	lr.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		lr.mu.Lock()
		lr.tokens = append(lr.tokens, r.PostFormValue("logout_token"))
		lr.mu.Unlock()
	}))
	t.Cleanup(lr.Close)
	return lr
}

func (lr *logoutReceiver) received() []string {
	lr.mu.Lock()
	defer lr.mu.Unlock()
	return slices.Clone(lr.tokens)
}

func TestBackChannelLogoutWhenTheSessionEnds(t *testing.T) {
	rp := newLogoutReceiver(t)
	h := newHarness(t, func(c *oidc.Config, _ *oauth2.Config, _ *memory.Store) {
		c.AllowPrivateAddresses = true // the relying party is on loopback
		c.PairwiseKey = pairwiseKey
	})
	h.addClient(storage.Client{ID: "bcl", RedirectURIs: []string{rpRedirect}, GrantTypes: []string{"authorization_code"},
		Scopes: []string{"openid"}, BackchannelLogoutURI: rp.URL + "/backchannel", BackchannelLogoutSessionRequired: true,
		SubjectType: oidc.SubjectPairwise})
	b := h.browser()
	_, r := b.signIn(newRequest(t, "bcl", "scope", "openid"), &oauth2.Approval{Subject: defaultUser})
	_, idc := h.verified(r.Str("id_token"))
	b.signIn(newRequest(t, "rp"), nil) // a client without a back-channel URI, same session

	form := confirmationForm(t, b.endSession(http.MethodGet, url.Values{}))
	require.Equal(t, http.StatusOK, b.endSession(http.MethodPost, form).Status)
	require.NoError(t, h.OP.Close(context.Background()), "delivers what is queued")

	got := rp.received()
	require.Len(t, got, 1, "one token, for the one client that registered a back-channel URI")
	header, c := h.verified(got[0])
	assert.Equal(t, "logout+jwt", header["typ"])
	assert.Equal(t, idc["sid"], c["sid"], "the session the ID token named")
	assert.Equal(t, idc["sub"], c["sub"], "the sub that client knows (pairwise)")
	assert.Equal(t, "bcl", c["aud"])
	assert.NotContains(t, c, "nonce")
	assert.Contains(t, c["events"], "http://schemas.openid.net/event/backchannel-logout")
}

func TestBackChannelLogoutWhenAnotherUserLogsIn(t *testing.T) {
	rp := newLogoutReceiver(t)
	h := newHarness(t, func(c *oidc.Config, _ *oauth2.Config, _ *memory.Store) { c.AllowPrivateAddresses = true })
	h.addClient(storage.Client{ID: "bcl", RedirectURIs: []string{rpRedirect}, GrantTypes: []string{"authorization_code"},
		Scopes: []string{"openid"}, BackchannelLogoutURI: rp.URL + "/backchannel"})
	b := h.browser()
	_, r := b.signIn(newRequest(t, "bcl", "scope", "openid"), &oauth2.Approval{Subject: defaultUser})
	_, idc := h.verified(r.Str("id_token"))
	b.signIn(newRequest(t, "bcl", "scope", "openid", "prompt", "login"), &oauth2.Approval{Subject: "bob", AuthTime: h.Now()})
	require.NoError(t, h.OP.Close(context.Background()))

	got := rp.received()
	require.Len(t, got, 1, "alice's session ended when bob logged in in her browser")
	_, c := h.verified(got[0])
	assert.Equal(t, idc["sid"], c["sid"])
	assert.Equal(t, defaultUser, c["sub"])
}
