package oidc_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/internal/testkit"
	"github.com/grantor-dev/grantor/oauth2"
	"github.com/grantor-dev/grantor/oidc"
	"github.com/grantor-dev/grantor/storage"
	"github.com/grantor-dev/grantor/storage/memory"
	"github.com/grantor-dev/grantor/token"
)

// browser keeps a browser's cookies across the Provider's endpoints and
// the application's pages.
type browser struct {
	h       *harness
	cookies map[string]*http.Cookie
}

func (h *harness) browser() *browser { return &browser{h: h, cookies: make(map[string]*http.Cookie)} }

// keep takes the cookies a response sets (a negative MaxAge deletes).
func (b *browser) keep(header http.Header) {
	for _, c := range (&http.Response{Header: header}).Cookies() {
		if c.MaxAge < 0 {
			delete(b.cookies, c.Name)
			continue
		}
		b.cookies[c.Name] = c
	}
}

func (b *browser) send(req *http.Request) *testkit.Response {
	b.h.T.Helper()
	for _, c := range b.cookies {
		req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	r := b.h.DoNoFollow(req)
	b.keep(r.Header)
	return r
}

// authorize sends an authorization request and returns the response.
func (b *browser) authorize(params url.Values) *testkit.Response {
	b.h.T.Helper()
	req, err := http.NewRequest(http.MethodGet, b.h.Provider.AuthorizationEndpoint()+"?"+params.Encode(), nil)
	require.NoError(b.h.T, err)
	return b.send(req)
}

// page is a request of the application's login page from this browser.
func (b *browser) page() *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/login", nil)
	for _, c := range b.cookies {
		r.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	return r
}

// login runs the login page: it reads the pending authorization and its
// OpenID side, then approves with a (or, when a is nil, with the
// session's approval).
func (b *browser) login(r *testkit.Response, a *oauth2.Approval) (*oidc.LoginContext, url.Values) {
	b.h.T.Helper()
	t := b.h.T
	require.Equal(t, http.StatusSeeOther, r.Status, "%s", r.Body)
	loc := r.Header.Get("Location")
	require.True(t, strings.HasPrefix(loc, loginPath+"?interaction="), loc)
	id := strings.TrimPrefix(loc, loginPath+"?interaction=")
	pa, err := b.h.Provider.PendingAuthorization(b.page(), id)
	require.NoError(t, err)
	lc, err := b.h.OP.LoginContext(b.page(), pa)
	require.NoError(t, err)
	if a == nil {
		require.NotNil(t, lc.Session, "a usable session")
		approval := lc.Session.Approval(nil)
		a = &approval
	}
	rec := httptest.NewRecorder()
	require.NoError(t, b.h.Provider.Approve(rec, b.page(), id, *a))
	b.keep(rec.Header())
	return lc, answer(t, rec)
}

// signIn runs a whole sign-in of req approved with a (nil: the session's)
// and returns the login context and the token response.
func (b *browser) signIn(req request, a *oauth2.Approval) (*oidc.LoginContext, *testkit.Response) {
	b.h.T.Helper()
	lc, q := b.login(b.authorize(req.params), a)
	require.NotEmpty(b.h.T, q.Get("code"), q.Encode())
	r := b.h.redeem(req, q.Get("code"))
	require.Equal(b.h.T, http.StatusOK, r.Status, "%s", r.Body)
	return lc, r
}

// sessionCookie is the name of the session cookie over http.
const sessionCookie = "grantor-session"

func TestALoginSessionSpansAuthorizations(t *testing.T) {
	h := newHarness(t, nil)
	b := h.browser()
	login := h.Now().Add(-time.Minute)
	lc, first := b.signIn(newRequest(t, "rp"), &oauth2.Approval{Subject: defaultUser, AuthTime: login, ACR: "2", AMR: []string{"pwd"}})
	assert.Nil(t, lc.Session, "no session before the first login")

	c := b.cookies[sessionCookie]
	require.NotNil(t, c, "the approval starts a session")
	assert.True(t, c.HttpOnly)
	assert.Equal(t, http.SameSiteLaxMode, c.SameSite)
	assert.Equal(t, "/", c.Path)
	_, idc := h.verified(first.Str("id_token"))
	sid, _ := idc["sid"].(string)
	require.NotEmpty(t, sid, "ID tokens name the session")

	lc, second := b.signIn(newRequest(t, "rs256"), nil)
	require.NotNil(t, lc.Session)
	assert.Equal(t, defaultUser, lc.Session.Subject)
	assert.Equal(t, login.Unix(), lc.Session.AuthTime.Unix())
	assert.Equal(t, "2", lc.Session.ACR)
	assert.Equal(t, []string{"pwd"}, lc.Session.AMR)
	assert.Equal(t, sid, lc.Session.ID)
	_, idc2 := h.verified(second.Str("id_token"))
	assert.Equal(t, sid, idc2["sid"], "the same session")
	assert.Equal(t, "2", idc2["acr"])

	ls, err := h.Store.LoginSession(context.Background(), h.OP.SessionKeyForTest(b.cookies[sessionCookie].Value))
	require.NoError(t, err)
	assert.Equal(t, []string{"rp", "rs256"}, ls.Clients, "the clients to tell at logout")
	assert.NotEqual(t, b.cookies[sessionCookie].Value, ls.Key, "the cookie itself is not stored")

	t.Run("another browser has no session", func(t *testing.T) {
		lc, _ := h.browser().signIn(newRequest(t, "rp"), &oauth2.Approval{Subject: "bob"})
		assert.Nil(t, lc.Session)
	})
	t.Run("a login of another user starts a new session and ends the old", func(t *testing.T) {
		old := b.cookies[sessionCookie].Value
		_, r := b.signIn(newRequest(t, "rp", "prompt", "login"), &oauth2.Approval{Subject: "bob", AuthTime: h.Now()})
		_, c := h.verified(r.Str("id_token"))
		assert.NotEqual(t, sid, c["sid"])
		assert.NotEqual(t, old, b.cookies[sessionCookie].Value)
		_, err := h.Store.LoginSession(context.Background(), h.OP.SessionKeyForTest(old))
		assert.ErrorIs(t, err, storage.ErrNotFound)
	})
}

func TestLoginContextSaysWhenTheSessionCannotBeUsed(t *testing.T) {
	h := newHarness(t, nil)
	b := h.browser()
	_, first := b.signIn(newRequest(t, "rp"), &oauth2.Approval{Subject: defaultUser})
	h.Advance(10 * time.Minute)

	for name, tc := range map[string]struct {
		extra  []string
		reason string
	}{
		"prompt=login":             {[]string{"prompt", "login"}, "prompt=login"},
		"max_age exceeded":         {[]string{"max_age", "300"}, "max_age"},
		"max_age=0":                {[]string{"max_age", "0"}, "max_age"},
		"id_token_hint of other":   {[]string{"id_token_hint", h.idTokenFor(t, "carol")}, "id_token_hint"},
		"a requested sub of other": {[]string{"claims", `{"id_token":{"sub":{"value":"carol"}}}`}, "claims"},
		"an essential acr":         {[]string{"claims", `{"id_token":{"acr":{"essential":true,"values":["urn:mfa"]}}}`}, "acr"},
	} {
		t.Run(name, func(t *testing.T) {
			r := b.authorize(newRequest(t, "rp", tc.extra...).params)
			id := strings.TrimPrefix(r.Header.Get("Location"), loginPath+"?interaction=")
			pa, err := h.Provider.PendingAuthorization(b.page(), id)
			require.NoError(t, err)
			lc, err := h.OP.LoginContext(b.page(), pa)
			require.NoError(t, err)
			assert.Nil(t, lc.Session)
			assert.Equal(t, tc.reason, lc.LoginRequired)
		})
	}

	t.Run("the request's hints reach the page", func(t *testing.T) {
		r := b.authorize(newRequest(t, "rp", "login_hint", "alice@example.com", "ui_locales", "fr-CA  en",
			"acr_values", "urn:a urn:b", "id_token_hint", first.Str("id_token"), "prompt", "consent select_account", "max_age", "3600").params)
		id := strings.TrimPrefix(r.Header.Get("Location"), loginPath+"?interaction=")
		pa, err := h.Provider.PendingAuthorization(b.page(), id)
		require.NoError(t, err)
		lc, err := h.OP.LoginContext(b.page(), pa)
		require.NoError(t, err)
		assert.Equal(t, "alice@example.com", lc.LoginHint)
		assert.Equal(t, []string{"fr-CA", "en"}, lc.UILocales)
		assert.Equal(t, []string{"urn:a", "urn:b"}, lc.ACRValues)
		assert.Equal(t, defaultUser, lc.HintSubject, "the expired ID token still identifies the user")
		assert.True(t, lc.ConsentRequired)
		assert.True(t, lc.SelectAccount)
		assert.Equal(t, time.Hour, lc.MaxAge)
		assert.True(t, lc.HasMaxAge)
		assert.NotNil(t, lc.Session, "the same user, within max_age")
	})
	t.Run("approving another user than id_token_hint names is refused", func(t *testing.T) {
		req := newRequest(t, "rp", "id_token_hint", h.idTokenFor(t, "carol"))
		_, q := b.login(b.authorize(req.params), &oauth2.Approval{Subject: defaultUser})
		assert.Equal(t, string(oauth2.ErrLoginRequired), q.Get("error"), "Core §3.1.2.1")
		assert.Empty(t, q.Get("code"))
	})
	t.Run("a login made for this request satisfies prompt=login and max_age", func(t *testing.T) {
		br := h.browser()
		br.signIn(newRequest(t, "rp"), &oauth2.Approval{Subject: defaultUser})
		h.Advance(time.Hour)
		r := br.authorize(newRequest(t, "rp", "prompt", "login", "max_age", "0").params)
		id := strings.TrimPrefix(r.Header.Get("Location"), loginPath+"?interaction=")
		h.Advance(5 * time.Second)
		// The user logs in again for this request, in another tab's
		// authorization that finishes first.
		br.signIn(newRequest(t, "rs256", "prompt", "login"), &oauth2.Approval{Subject: defaultUser, AuthTime: h.Now()})
		h.Advance(5 * time.Second)
		pa, err := h.Provider.PendingAuthorization(br.page(), id)
		require.NoError(t, err)
		lc, err := h.OP.LoginContext(br.page(), pa)
		require.NoError(t, err)
		assert.NotNil(t, lc.Session, "the login since the request arrived: %s", lc.LoginRequired)
	})
	t.Run("an OAuth request has no OpenID side", func(t *testing.T) {
		r := b.authorize(newRequest(t, "rp", "scope", "read").params)
		id := strings.TrimPrefix(r.Header.Get("Location"), loginPath+"?interaction=")
		pa, err := h.Provider.PendingAuthorization(b.page(), id)
		require.NoError(t, err)
		lc, err := h.OP.LoginContext(b.page(), pa)
		require.NoError(t, err)
		assert.Nil(t, lc)
	})
}

// idTokenFor signs in subject in a browser of its own and returns the ID
// token.
func (h *harness) idTokenFor(t *testing.T, subject string) string {
	t.Helper()
	_, r := h.browser().signIn(newRequest(t, "rp"), &oauth2.Approval{Subject: subject})
	return r.Str("id_token")
}

// consents is a ConsentFunc over a set of "subject client" pairs.
type consents map[string]bool

func (c consents) consented(_ context.Context, subject string, client *storage.Client, _ []string) (bool, error) {
	return c[subject+" "+client.ID], nil
}

func TestPromptNone(t *testing.T) {
	given := consents{defaultUser + " rp": true}
	interaction := false // the consent check asks for more than consent
	consented := func(ctx context.Context, subject string, client *storage.Client, scopes []string) (bool, error) {
		if interaction {
			return false, oauth2.NewError(oauth2.ErrInteractionRequired, "the user must accept new terms")
		}
		return given.consented(ctx, subject, client, scopes)
	}
	var op *oidc.Provider
	h := newHarness(t, func(_ *oidc.Config, cfg *oauth2.Config, _ *memory.Store) {
		cfg.SilentAuthorize = func(ctx context.Context, r *http.Request, pa *oauth2.PendingAuthorization) (*oauth2.Approval, error) {
			return op.SilentAuthorize(consented)(ctx, r, pa)
		}
	})
	op = h.OP
	silent := func(b *browser, extra ...string) (request, url.Values) {
		req := newRequest(t, "rp", append([]string{"prompt", "none"}, extra...)...)
		return req, redirected(t, b.authorize(req.params))
	}

	t.Run("no session: login_required, never a page", func(t *testing.T) {
		_, q := silent(h.browser())
		assert.Equal(t, string(oauth2.ErrLoginRequired), q.Get("error"))
		assert.Equal(t, "st", q.Get("state"))
		assert.Equal(t, h.Provider.Issuer(), q.Get("iss"))
	})

	b := h.browser()
	login := h.Now()
	_, first := b.signIn(newRequest(t, "rp"), &oauth2.Approval{Subject: defaultUser, AuthTime: login})
	_, c1 := h.verified(first.Str("id_token"))
	h.Advance(5 * time.Minute)

	t.Run("a session and consent: a code, silently", func(t *testing.T) {
		req, q := silent(b)
		require.NotEmpty(t, q.Get("code"), q.Encode())
		r := h.redeem(req, q.Get("code"))
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		_, c := h.verified(r.Str("id_token"))
		assert.Equal(t, defaultUser, c["sub"])
		assert.Equal(t, c1["sid"], c["sid"], "the session goes on")
		assert.Equal(t, "n-0S6_WzA2Mj", c["nonce"])
	})
	t.Run("no consent: consent_required", func(t *testing.T) {
		h.addClient(storage.Client{ID: "new-rp", RedirectURIs: []string{rpRedirect}, GrantTypes: []string{"authorization_code"},
			Scopes: []string{"openid"}})
		req := newRequest(t, "new-rp", "prompt", "none", "scope", "openid")
		q := redirected(t, b.authorize(req.params))
		assert.Equal(t, string(oauth2.ErrConsentRequired), q.Get("error"))
	})
	t.Run("the consent check chooses interaction_required", func(t *testing.T) {
		given[defaultUser+" rp"] = false
		defer func() { given[defaultUser+" rp"] = true }()
		interaction = true
		defer func() { interaction = false }()
		_, q := silent(b)
		assert.Equal(t, string(oauth2.ErrInteractionRequired), q.Get("error"))
		assert.Equal(t, "st", q.Get("state"))
	})
	t.Run("a session older than max_age: login_required", func(t *testing.T) {
		_, q := silent(b, "max_age", "60")
		assert.Equal(t, string(oauth2.ErrLoginRequired), q.Get("error"))
	})
	t.Run("an id_token_hint of another user: login_required", func(t *testing.T) {
		_, q := silent(b, "id_token_hint", h.idTokenFor(t, "carol"))
		assert.Equal(t, string(oauth2.ErrLoginRequired), q.Get("error"))
	})
	t.Run("an id_token_hint of this user: a code", func(t *testing.T) {
		_, q := silent(b, "id_token_hint", first.Str("id_token"))
		assert.NotEmpty(t, q.Get("code"), q.Encode())
	})
}

func TestIDTokenHintIsVerified(t *testing.T) {
	var accessTokens *token.JWT
	h := newHarness(t, func(c *oidc.Config, cfg *oauth2.Config, _ *memory.Store) {
		jwt, err := token.NewJWT(token.JWTConfig{Keys: c.Keys[0]})
		require.NoError(t, err)
		accessTokens = jwt
		cfg.AccessTokens = jwt
	})
	r := h.tokens(newRequest(t, "rp"), oauth2.Approval{Subject: defaultUser})
	foreign := keySource(t, jwa.ES256)
	foreignJWT, err := token.NewJWT(token.JWTConfig{Keys: foreign})
	require.NoError(t, err)
	forged, err := foreignJWT.SignJWT(context.Background(), "JWT", []byte(`{"iss":"`+h.Provider.Issuer()+`","sub":"alice","aud":"rp"}`))
	require.NoError(t, err)
	logoutTyp, err := accessTokens.SignJWT(context.Background(), "logout+jwt", []byte(`{"iss":"`+h.Provider.Issuer()+`","sub":"alice","aud":"rp"}`))
	require.NoError(t, err)
	otherIss, err := accessTokens.SignJWT(context.Background(), "JWT", []byte(`{"iss":"https://other.example","sub":"alice","aud":"rp"}`))
	require.NoError(t, err)
	parts := strings.Split(r.Str("id_token"), ".")

	for name, hint := range map[string]string{
		"an access token (at+jwt)": r.Str("access_token"),
		"a logout token":           logoutTyp,
		"signed by another key":    forged,
		"another issuer's":         otherIss,
		"unsigned":                 parts[0] + "." + parts[1] + ".",
		"a tampered payload":       parts[0] + "." + parts[1] + "x." + parts[2],
		"not a JWT":                "hello",
		"an opaque refresh token":  r.Str("refresh_token"),
	} {
		t.Run(name, func(t *testing.T) {
			q := redirected(t, h.authorize(newRequest(t, "rp", "id_token_hint", hint).params))
			assert.Equal(t, string(oauth2.ErrInvalidRequest), q.Get("error"))
		})
	}
	t.Run("an expired ID token of ours", func(t *testing.T) {
		h.Advance(24 * time.Hour)
		h.interaction(h.authorize(newRequest(t, "rp", "id_token_hint", r.Str("id_token")).params))
	})
}

// A new login of the same user (prompt=login, a step up) goes on with the
// same session under a new cookie: the other relying parties of the
// session are not logged out, and keep their sid.
func TestANewLoginOfTheSameUserKeepsTheSession(t *testing.T) {
	rp := newLogoutReceiver(t)
	h := newHarness(t, func(c *oidc.Config, _ *oauth2.Config, _ *memory.Store) { c.AllowPrivateAddresses = true })
	h.addClient(storage.Client{ID: "bcl", RedirectURIs: []string{rpRedirect}, GrantTypes: []string{"authorization_code"},
		Scopes: []string{"openid"}, BackchannelLogoutURI: rp.URL + "/backchannel"})
	b := h.browser()
	_, first := b.signIn(newRequest(t, "bcl", "scope", "openid"), &oauth2.Approval{Subject: defaultUser})
	_, c1 := h.verified(first.Str("id_token"))
	oldCookie := b.cookies[sessionCookie].Value
	h.Advance(time.Minute)

	_, again := b.signIn(newRequest(t, "rp", "prompt", "login"), &oauth2.Approval{Subject: defaultUser, AuthTime: h.Now(), ACR: "2"})
	_, c2 := h.verified(again.Str("id_token"))
	require.NoError(t, h.OP.Close(context.Background()))
	assert.Empty(t, rp.received(), "no logout for a re-authentication")
	assert.Equal(t, c1["sid"], c2["sid"], "the same session")
	assert.NotEqual(t, oldCookie, b.cookies[sessionCookie].Value, "under a new cookie")
	_, err := h.Store.LoginSession(context.Background(), h.OP.SessionKeyForTest(oldCookie))
	assert.ErrorIs(t, err, storage.ErrNotFound, "the old cookie no longer works")
	ls, err := h.Store.LoginSession(context.Background(), h.OP.SessionKeyForTest(b.cookies[sessionCookie].Value))
	require.NoError(t, err)
	assert.Equal(t, []string{"bcl", "rp"}, ls.Clients, "both relying parties stay in it")
	assert.Equal(t, h.Now().Unix(), ls.AuthTime.Unix(), "with the new login's time")
	assert.Equal(t, "2", ls.ACR)
}

// endingSessions ends a session just before a client is added to it: a
// logout in another tab between joinSession's read and its update.
type endingSessions struct {
	*memory.Store
	end bool
}

func (s *endingSessions) AddSessionClient(ctx context.Context, key, clientID string) error {
	if s.end {
		_, _ = s.Store.DeleteLoginSession(ctx, key)
	}
	return s.Store.AddSessionClient(ctx, key, clientID)
}

func TestASessionEndedMeanwhileIsNotJoined(t *testing.T) {
	var es *endingSessions
	h := newHarness(t, func(c *oidc.Config, _ *oauth2.Config, store *memory.Store) {
		es = &endingSessions{Store: store}
		c.Sessions = es
	})
	b := h.browser()
	_, first := b.signIn(newRequest(t, "rp"), &oauth2.Approval{Subject: defaultUser})
	_, c1 := h.verified(first.Str("id_token"))
	es.end = true
	_, second := b.signIn(newRequest(t, "rs256"), nil) // continues the session, which a logout ends meanwhile
	_, c2 := h.verified(second.Str("id_token"))
	assert.NotEqual(t, c1["sid"], c2["sid"], "never the sid of an ended session")
	ls, err := h.Store.LoginSession(context.Background(), h.OP.SessionKeyForTest(b.cookies[sessionCookie].Value))
	require.NoError(t, err, "a new session")
	assert.Equal(t, []string{"rs256"}, ls.Clients)
}

func TestAFullSessionStoreDoesNotStopTheSignIn(t *testing.T) {
	h := newHarness(t, func(c *oidc.Config, _ *oauth2.Config, store *memory.Store) {
		c.Sessions = memory.New(memory.WithClock(store.Now), memory.WithMaxLoginSessions(1))
	})
	h.browser().signIn(newRequest(t, "rp"), &oauth2.Approval{Subject: defaultUser}) // fills the store
	_, r := h.browser().signIn(newRequest(t, "rp"), &oauth2.Approval{Subject: "bob"})
	_, c := h.verified(r.Str("id_token"))
	assert.Equal(t, "bob", c["sub"])
	assert.NotContains(t, c, "sid", "no session to name")
}

// fullSessions refuses to grow a session, as a store does at
// storage.MaxRecordBytes.
type fullSessions struct{ *memory.Store }

func (fullSessions) AddSessionClient(context.Context, string, string) error {
	return fmt.Errorf("session of too many bytes: %w", storage.ErrTooLarge)
}

func TestASessionThatCannotGrowStillServesItsBrowser(t *testing.T) {
	h := newHarness(t, func(c *oidc.Config, _ *oauth2.Config, store *memory.Store) {
		c.Sessions = fullSessions{store}
	})
	b := h.browser()
	_, first := b.signIn(newRequest(t, "rp"), &oauth2.Approval{Subject: defaultUser})
	_, c1 := h.verified(first.Str("id_token"))
	_, second := b.signIn(newRequest(t, "rs256"), nil)
	_, c2 := h.verified(second.Str("id_token"))
	assert.Equal(t, c1["sid"], c2["sid"], "the session goes on")
}
