package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	xoauth2 "golang.org/x/oauth2"

	"github.com/grantor-dev/grantor/oidc"
	"github.com/grantor-dev/grantor/storage"
)

// openIDScopes are the scopes the OpenID tests of the demo web client ask
// for.
const openIDScopes = "openid profile email"

// startOpenID sends b through the authorization endpoint with an OpenID
// Connect request of the demo web client (OpenID Connect Core §3.1.2.1):
// scope openid profile email, a nonce, and the extra parameters given as
// name, value pairs.
func (cf *codeFlow) startOpenID(t *testing.T, b *testBrowser, state string, extra ...string) *flow {
	t.Helper()
	opts := []xoauth2.AuthCodeOption{xoauth2.SetAuthURLParam("scope", openIDScopes),
		xoauth2.SetAuthURLParam("nonce", "nonce-"+state)}
	for i := 0; i+1 < len(extra); i += 2 {
		opts = append(opts, xoauth2.SetAuthURLParam(extra[i], extra[i+1]))
	}
	return cf.start(t, b, state, opts...)
}

// skipsLogin checks that the flow's login page went straight on to
// consent, without the password, and returns the consent page.
func (f *flow) skipsLogin(t *testing.T) *page {
	t.Helper()
	require.Equal(t, http.StatusSeeOther, f.login.status, "no login form:\n%s", f.login.body)
	require.Equal(t, "/consent?interaction="+f.interaction, f.login.location())
	c := f.b.get(f.login.location())
	require.Equal(t, http.StatusOK, c.status, c.body)
	return c
}

// asksPassword checks that the flow's login page shows the login form.
func (f *flow) asksPassword(t *testing.T, msg string) {
	t.Helper()
	require.Equal(t, http.StatusOK, f.login.status, "%s: %s", msg, f.login.location())
	require.Contains(t, f.login.body, `name="password"`, msg)
}

// approveAndRedeem approves on the consent page and redeems the code with
// the flow's PKCE verifier.
func (cf *codeFlow) approveAndRedeem(t *testing.T, f *flow, consent *page) *xoauth2.Token {
	t.Helper()
	r := f.decide(t, consent, "approve")
	require.Equal(t, http.StatusSeeOther, r.status, r.body)
	return cf.redeem(t, f, redirectQuery(t, r, cf.cb.URL))
}

// redeem exchanges the code of an authorization response.
func (cf *codeFlow) redeem(t *testing.T, f *flow, q url.Values) *xoauth2.Token {
	t.Helper()
	require.NotEmpty(t, q.Get("code"), "%v", q)
	tok, err := cf.cfg.Exchange(context.Background(), q.Get("code"), xoauth2.VerifierOption(f.verifier))
	require.NoError(t, err)
	return tok
}

// idTokenClaims returns the claims of the ID token of a token response,
// unverified (the end-to-end test verifies them as a relying party does).
func idTokenClaims(t *testing.T, tok *xoauth2.Token) map[string]any {
	t.Helper()
	raw, _ := tok.Extra("id_token").(string)
	require.NotEmpty(t, raw, "an ID token (OpenID Connect Core §3.1.3.3)")
	return payload(t, raw)
}

// authTime is the auth_time of ID token claims, as a time.
func authTime(t *testing.T, c map[string]any) time.Time {
	t.Helper()
	v, ok := c["auth_time"].(float64)
	require.True(t, ok, "auth_time in %v", c)
	return time.Unix(int64(v), 0)
}

// The first OpenID sign-in asks for the password and reports it: amr pwd,
// auth_time the time of the login. A second one in the same browser
// needs no password and continues the same login session; prompt=login,
// max_age and select_account bring the form back, as OpenID Connect Core
// §3.1.2.1 asks.
func TestOpenIDLoginHonoursPromptAndMaxAge(t *testing.T) {
	clock := newTestClock(time.Now().Truncate(time.Second))
	_, cf := serveTestWith(t, newMemoryStore(), options{clock: clock.now})
	b := newTestBrowser(t, cf.addr)
	login := clock.now()

	first := cf.startOpenID(t, b, "first", "max_age", "3600")
	first.asksPassword(t, "no session yet")
	consent := first.consent(t)
	for _, want := range []string{"Know who you are", "See your name and username", "See your email address"} {
		assert.Contains(t, consent.body, want, "the consent page says what the OpenID scopes reveal")
	}
	c1 := idTokenClaims(t, cf.approveAndRedeem(t, first, consent))
	assert.Equal(t, demoUsername, c1["sub"])
	assert.Equal(t, "nonce-first", c1["nonce"], "Core §3.1.3.7: the nonce as sent")
	assert.Equal(t, []any{amrPassword}, c1["amr"], "RFC 8176 §2: a password")
	assert.Equal(t, login, authTime(t, c1), "the time of the password login")
	require.NotEmpty(t, c1["sid"])

	clock.set(login.Add(2 * time.Minute))
	t.Run("a second sign-in continues the session without the password", func(t *testing.T) {
		f := cf.startOpenID(t, b, "second", "max_age", "3600")
		c := idTokenClaims(t, cf.approveAndRedeem(t, f, f.skipsLogin(t)))
		assert.Equal(t, login, authTime(t, c), "auth_time stays the time of the real login")
		assert.Equal(t, c1["sid"], c["sid"], "the same login session")
		assert.Equal(t, []any{amrPassword}, c["amr"])
	})
	t.Run("prompt=login asks for the password again", func(t *testing.T) {
		f := cf.startOpenID(t, b, "again", "prompt", "login")
		f.asksPassword(t, "prompt=login")
		r := b.get("/consent?interaction=" + f.interaction)
		assert.Equal(t, "/login?interaction="+f.interaction, r.location(), "no consent before the new login")
		c := idTokenClaims(t, cf.approveAndRedeem(t, f, f.consent(t)))
		assert.Equal(t, []any{amrPassword}, c["amr"])
		assert.Equal(t, c1["sid"], c["sid"], "the same user's new login goes on with the session")
		assert.NotEqual(t, c1["auth_time"], c["auth_time"], "with the new login's time")
	})
	t.Run("select_account shows the login form", func(t *testing.T) {
		cf.startOpenID(t, b, "select", "prompt", "select_account").asksPassword(t, "prompt=select_account")
	})
	t.Run("a login older than max_age asks for the password", func(t *testing.T) {
		clock.set(login.Add(10 * time.Minute))
		f := cf.startOpenID(t, b, "max-age", "max_age", "300")
		f.asksPassword(t, "max_age=300 after 8 minutes")
		c := idTokenClaims(t, cf.approveAndRedeem(t, f, f.consent(t)))
		assert.Equal(t, clock.now(), authTime(t, c), "auth_time is the new login's")
	})
	t.Run("max_age=0 asks for the password, and takes it however long consent takes", func(t *testing.T) {
		clock.set(login.Add(20 * time.Minute))
		f := cf.startOpenID(t, b, "zero", "max_age", "0")
		f.asksPassword(t, "max_age=0")
		consent := f.consent(t) // the password, now
		loggedIn := clock.now()
		clock.set(loggedIn.Add(30 * time.Second)) // the user reads the consent page
		c := idTokenClaims(t, cf.approveAndRedeem(t, f, consent))
		assert.Equal(t, loggedIn, authTime(t, c))
	})
	t.Run("an OAuth request still uses the pages' session", func(t *testing.T) {
		cf.start(t, b, "oauth").skipsLogin(t)
	})
}

// The login form is filled with the request's login_hint (OpenID Connect
// Core §3.1.2.1).
func TestOpenIDLoginHintFillsTheUsername(t *testing.T) {
	_, cf := serveTest(t, newMemoryStore())
	f := cf.startOpenID(t, newTestBrowser(t, cf.addr), "hint", "login_hint", "bob")
	f.asksPassword(t, "no session")
	assert.Regexp(t, `<input id="username" name="username" [^>]*value="bob">`, f.login.body)
}

// A browser whose pages' session is gone (a restart, a full session
// store) but whose OpenID login session goes on is logged in to the pages
// by it: single sign-on, no second password.
func TestOpenIDSessionLogsInThePages(t *testing.T) {
	_, cf := serveTest(t, newMemoryStore())
	b := newTestBrowser(t, cf.addr)
	first := cf.startOpenID(t, b, "first")
	c1 := idTokenClaims(t, cf.approveAndRedeem(t, first, first.consent(t)))

	u, err := url.Parse(b.base)
	require.NoError(t, err)
	b.c.Jar.SetCookies(u, []*http.Cookie{{Name: "grantor-example-session", Value: "", Path: "/", MaxAge: -1}})
	require.Nil(t, cookieNamed(t, b, "grantor-example-session"))

	f := cf.startOpenID(t, b, "sso")
	consent := f.skipsLogin(t)
	assert.Contains(t, consent.body, demoName)
	require.NotNil(t, cookieNamed(t, b, "grantor-example-session"), "the pages' session again")
	c := idTokenClaims(t, cf.approveAndRedeem(t, f, consent))
	assert.Equal(t, c1["sid"], c["sid"], "the OpenID session goes on")
	assert.Equal(t, c1["auth_time"], c["auth_time"])
}

// An id_token_hint naming another user than the browser's session rules
// the session out (OpenID Connect Core §3.1.2.1), and the form is filled
// with that user.
func TestOpenIDIDTokenHintOfAnotherUser(t *testing.T) {
	_, cf := serveTest(t, newMemoryStore(), addBob)
	bob := newTestBrowser(t, cf.addr)
	fb := cf.startOpenID(t, bob, "bob")
	r := fb.logIn(t, "bob", bobPassword)
	require.Equal(t, http.StatusSeeOther, r.status, r.body)
	bobToken := cf.approveAndRedeem(t, fb, bob.get(r.location()))

	alice := newTestBrowser(t, cf.addr)
	fa := cf.startOpenID(t, alice, "alice")
	cf.approveAndRedeem(t, fa, fa.consent(t))
	f := cf.startOpenID(t, alice, "hint", "id_token_hint", bobToken.Extra("id_token").(string))
	f.asksPassword(t, "the session is alice's, the hint bob's")
	assert.Contains(t, f.login.body, `value="bob"`)
}

// The claims come from the user directory: the profile scope's name and
// preferred_username, the email scope's email and email_verified, and
// nothing the scopes do not allow (OpenID Connect Core §5.4).
func TestOpenIDClaimsFromTheUserDirectory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "users.json")
	require.NoError(t, os.WriteFile(path, []byte(`[
		{"username": "bob", "password": "builder of things", "name": "Bob", "email": "bob@example.org"},
		{"username": "carol", "password": "c4r0l-pass", "name": "Carol", "email": "carol@example.org", "email_verified": true},
		{"username": "dave", "password": "d4ve-pass"}
	]`), 0o600))
	var out bytes.Buffer
	srv, err := newServer(context.Background(), options{issuer: "http://127.0.0.1:1", tokens: "opaque", users: path}, newMemoryStore(), &out)
	require.NoError(t, err)
	for _, c := range []struct {
		user string
		want map[string]any
	}{
		{demoUsername, map[string]any{"name": demoName, "preferred_username": demoUsername, "email": demoEmail, "email_verified": true}},
		{"bob", map[string]any{"name": "Bob", "preferred_username": "bob", "email": "bob@example.org", "email_verified": false}},
		{"carol", map[string]any{"name": "Carol", "preferred_username": "carol", "email": "carol@example.org", "email_verified": true}},
		{"dave", map[string]any{"name": "dave", "preferred_username": "dave"}},
		{"nobody", nil},
	} {
		got, err := srv.users.claims(context.Background(), &oidc.ClaimsRequest{Subject: c.user})
		require.NoError(t, err)
		if c.want == nil {
			assert.Empty(t, got, "a user gone from the directory has no claims")
			continue
		}
		assert.Equal(t, c.want, got, c.user)
	}

	t.Run("through UserInfo, only what the scopes allow", func(t *testing.T) {
		_, cf := serveTest(t, newMemoryStore())
		for scope, want := range map[string]map[string]any{
			"openid profile email": {"sub": demoUsername, "name": demoName, "preferred_username": demoUsername,
				"email": demoEmail, "email_verified": true},
			"openid email": {"sub": demoUsername, "email": demoEmail, "email_verified": true},
			"openid":       {"sub": demoUsername},
		} {
			f := cf.startOpenID(t, newTestBrowser(t, cf.addr), "claims", "scope", scope)
			tok := cf.approveAndRedeem(t, f, f.consent(t))
			req, err := http.NewRequest(http.MethodGet, "http://"+cf.addr+oidc.UserInfoPath, nil)
			require.NoError(t, err)
			tok.SetAuthHeader(req)
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			var got map[string]any
			require.NoError(t, json.NewDecoder(resp.Body).Decode(&got))
			resp.Body.Close()
			assert.Equal(t, want, got, scope)
		}
	})
}

// A users file's email must be a bare address, and only an address can
// be verified.
func TestUsersFileEmails(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"not an address":          `[{"username": "bob", "password": "x", "email": "bob"}]`,
		"a display name":          `[{"username": "bob", "password": "x", "email": "Bob <bob@example.org>"}]`,
		"verified without email":  `[{"username": "bob", "password": "x", "email_verified": true}]`,
		"spaces around the email": `[{"username": "bob", "password": "x", "email": " bob@example.org"}]`,
	} {
		path := filepath.Join(dir, strings.ReplaceAll(name, " ", "_")+".json")
		require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
		_, err := newServer(context.Background(), options{issuer: "http://127.0.0.1:1", tokens: "opaque", users: path}, newMemoryStore(), &bytes.Buffer{})
		assert.Error(t, err, name)
	}
}

// The consents the consent page remembers for prompt=none are per user
// and client, grow with each approval, and are bounded: the least
// recently used go first.
func TestConsentMemory(t *testing.T) {
	c := newConsents(2)
	c.remember("alice", "web", []string{"openid", "profile"})
	assert.True(t, c.allowed("alice", "web", []string{"openid"}))
	assert.True(t, c.allowed("alice", "web", []string{"profile", "openid"}))
	assert.False(t, c.allowed("alice", "web", []string{"openid", "email"}), "a scope never allowed")
	assert.False(t, c.allowed("bob", "web", []string{"openid"}), "another user")
	assert.False(t, c.allowed("alice", "tv", []string{"openid"}), "another client")

	c.remember("alice", "web", []string{"email"})
	assert.True(t, c.allowed("alice", "web", []string{"openid", "profile", "email"}), "what was allowed before stays")

	c.remember("bob", "web", []string{"openid"})
	assert.True(t, c.allowed("alice", "web", []string{"openid"}), "alice's is now the most recently used")
	c.remember("carol", "web", []string{"openid"})
	assert.Len(t, c.byKey, 2, "at most max consents")
	assert.Equal(t, 2, c.order.Len())
	assert.False(t, c.allowed("bob", "web", []string{"openid"}), "the least recently used went")
	assert.True(t, c.allowed("alice", "web", []string{"openid"}))
	assert.True(t, c.allowed("carol", "web", []string{"openid"}))

	c.forget("alice", "web")
	assert.False(t, c.allowed("alice", "web", []string{"openid"}))
	assert.Equal(t, 1, c.order.Len())

	ok, err := c.consented(context.Background(), "carol", &storage.Client{ID: "web"}, []string{"openid"})
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Equal(t, 100_000, maxConsents)
}

// prompt=none (OpenID Connect Core §3.1.2.1) never shows a page: it
// answers login_required without a login session, a code when the user
// is logged in and allowed the client those scopes on the consent page,
// consent_required otherwise; after a logout, login_required again.
func TestOpenIDPromptNone(t *testing.T) {
	_, cf := serveTest(t, newMemoryStore())
	b := newTestBrowser(t, cf.addr)
	silent := func(t *testing.T, state string, extra ...string) (*flow, url.Values) {
		t.Helper()
		verifier := xoauth2.GenerateVerifier()
		opts := []xoauth2.AuthCodeOption{xoauth2.S256ChallengeOption(verifier), xoauth2.SetAuthURLParam("prompt", "none"),
			xoauth2.SetAuthURLParam("scope", openIDScopes), xoauth2.SetAuthURLParam("nonce", "nonce-"+state)}
		for i := 0; i+1 < len(extra); i += 2 {
			opts = append(opts, xoauth2.SetAuthURLParam(extra[i], extra[i+1]))
		}
		r := b.get(cf.cfg.AuthCodeURL(state, opts...))
		require.Equal(t, http.StatusSeeOther, r.status, r.body)
		q := redirectQuery(t, r, cf.cb.URL)
		assert.Equal(t, state, q.Get("state"))
		assert.Equal(t, "http://"+cf.addr, q.Get("iss"), "RFC 9207")
		return &flow{b: b, verifier: verifier}, q
	}

	_, q := silent(t, "before")
	assert.Equal(t, "login_required", q.Get("error"), "no session")

	f := cf.startOpenID(t, b, "login")
	c1 := idTokenClaims(t, cf.approveAndRedeem(t, f, f.consent(t)))

	f, q = silent(t, "silent")
	c := idTokenClaims(t, cf.redeem(t, f, q))
	assert.Equal(t, demoUsername, c["sub"])
	assert.Equal(t, c1["sid"], c["sid"], "the session goes on")
	assert.Equal(t, "nonce-silent", c["nonce"])

	_, q = silent(t, "more", "scope", openIDScopes+" read")
	assert.Equal(t, "consent_required", q.Get("error"), "read was never allowed")

	deny := cf.startOpenID(t, b, "deny")
	r := deny.decide(t, deny.skipsLogin(t), "deny")
	assert.Equal(t, "access_denied", redirectQuery(t, r, cf.cb.URL).Get("error"))
	_, q = silent(t, "denied")
	assert.Equal(t, "consent_required", q.Get("error"), "a denial withdraws the consent")

	again := cf.startOpenID(t, b, "again")
	cf.approveAndRedeem(t, again, again.skipsLogin(t))
	f, q = silent(t, "allowed")
	idToken := cf.redeem(t, f, q).Extra("id_token").(string)

	logOut(t, b, url.Values{"id_token_hint": {idToken}})
	_, q = silent(t, "after")
	assert.Equal(t, "login_required", q.Get("error"), "after the logout")
}

// logOut runs an RP-initiated logout in b: the confirmation page, then
// its form, and returns the end-session endpoint's answer to the form.
func logOut(t *testing.T, b *testBrowser, params url.Values) *page {
	t.Helper()
	confirm := b.get(oidc.EndSessionPath + "?" + params.Encode())
	require.Equal(t, http.StatusOK, confirm.status, confirm.body)
	action := regexp.MustCompile(`<form method="post" action="([^"]+)">`).FindStringSubmatch(confirm.body)
	require.Len(t, action, 2, confirm.body)
	form := url.Values{}
	for _, m := range regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`).FindAllStringSubmatch(confirm.body, -1) {
		form.Add(m[1], unescapeHTML(m[2]))
	}
	return b.post(unescapeHTML(action[1]), form)
}

// unescapeHTML undoes html/template's escaping of an attribute value.
func unescapeHTML(s string) string {
	return strings.NewReplacer("&amp;", "&", "&#43;", "+", "&#34;", `"`, "&#39;", "'", "&lt;", "<", "&gt;", ">").Replace(s)
}

// The end-session endpoint asks the user to confirm on the pages' own
// confirmation page (RP-Initiated Logout 1.0 §2), whose form posts to it;
// the logout ends the OpenID session and the pages' session, and sends
// the browser to the client's post_logout_redirect_uri with state.
func TestOpenIDLogoutPage(t *testing.T) {
	_, cf := serveTest(t, newMemoryStore())
	b := newTestBrowser(t, cf.addr)
	f := cf.startOpenID(t, b, "login")
	idToken := cf.approveAndRedeem(t, f, f.consent(t)).Extra("id_token").(string)
	require.NotNil(t, cookieNamed(t, b, "grantor-example-session"))
	require.NotNil(t, cookieNamed(t, b, "grantor-session"))

	params := url.Values{"id_token_hint": {idToken}, "post_logout_redirect_uri": {demoPostLogoutRedirectURI}, "state": {"bye"}}
	confirm := b.get(oidc.EndSessionPath + "?" + params.Encode())
	require.Equal(t, http.StatusOK, confirm.status, confirm.body)
	assert.Contains(t, confirm.body, "Demo web app", "the page names the client")
	assert.Contains(t, confirm.body, demoName, "and the user")
	assert.Contains(t, confirm.body, `action="http://`+cf.addr+oidc.EndSessionPath+`"`)
	assert.Contains(t, confirm.body, `name="logout_confirm"`)
	assert.NotContains(t, confirm.body, "<script", "the pages work without JavaScript")
	h := confirm.header
	assert.Equal(t, "DENY", h.Get("X-Frame-Options"))
	assert.Equal(t, "no-store", h.Get("Cache-Control"))
	assert.Equal(t, "no-referrer", h.Get("Referrer-Policy"))
	assert.Equal(t, "default-src 'none'; style-src 'self'; form-action 'self' http://127.0.0.1; frame-ancestors 'none'; base-uri 'none'",
		h.Get("Content-Security-Policy"), "the form may post to us, and be redirected to the client's logout URI only")
	require.NotNil(t, cookieNamed(t, b, "grantor-session"), "nothing ends before the user confirms")

	done := logOut(t, b, params)
	require.Equal(t, http.StatusSeeOther, done.status, done.body)
	assert.Equal(t, demoPostLogoutRedirectURI+"?state=bye", done.location())
	assert.Nil(t, cookieNamed(t, b, "grantor-session"), "the OpenID session has ended")
	assert.Nil(t, cookieNamed(t, b, "grantor-example-session"), "and so has the pages' session (OnLogout)")

	t.Run("the pages ask for the password again", func(t *testing.T) {
		cf.start(t, b, "oauth").asksPassword(t, "an OAuth request after the logout")
		cf.startOpenID(t, b, "openid").asksPassword(t, "an OpenID request after the logout")
	})
	t.Run("without a redirect URI: the pages' logged-out page", func(t *testing.T) {
		p := b.get(oidc.EndSessionPath)
		require.Equal(t, http.StatusOK, p.status)
		assert.Contains(t, p.body, `<p id="logged-out">You are logged out.</p>`)
		checkPageHeaders(t, p, "logged-out page")
	})
	t.Run("a logout URI the client did not register is refused", func(t *testing.T) {
		p := b.get(oidc.EndSessionPath + "?" + url.Values{"client_id": {demoWebClientID},
			"post_logout_redirect_uri": {"http://127.0.0.1:8080/logged-out"}}.Encode())
		assert.Equal(t, http.StatusBadRequest, p.status)
		assert.Empty(t, p.location(), "RP-Initiated Logout 1.0 §3: never redirected to")
	})
}

// The OpenID login sessions are kept in the server's store: on SQLite and
// PostgreSQL, a browser logged in at one instance is logged in at another
// over the same database, without a second password, in the same session
// (the same sid, OpenID Connect Back-Channel Logout 1.0 §2.1), so that a
// logout at either ends it for both.
func TestOpenIDLoginSessionsAreSharedThroughTheStore(t *testing.T) {
	for _, flag := range everyStore(t)[1:] {
		t.Run(strings.SplitN(flag, ":", 2)[0], func(t *testing.T) {
			spec, err := parseStore(flag)
			require.NoError(t, err)
			open := func() *openedStore {
				st, err := openStore(t.Context(), spec)
				require.NoError(t, err)
				t.Cleanup(func() { _ = st.close() })
				return st
			}
			// Two instances of one issuer behind one address, as behind a
			// load balancer: A serves the first sign-in, B the second.
			ts := httptest.NewUnstartedServer(nil)
			addr := ts.Listener.Addr().String()
			var current http.Handler
			ts.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { current.ServeHTTP(w, r) })
			ts.Start()
			t.Cleanup(ts.Close)
			cb := newCallback(t)
			instance := func() *codeFlow {
				var out bytes.Buffer
				srv, err := newServer(context.Background(), options{issuer: "http://" + addr, tokens: "opaque",
					secretFile: testSecretFile}, open(), &out)
				require.NoError(t, err)
				current = srv.handler
				return &codeFlow{addr: addr, cfg: demoWebConfig(t, addr, out.String(), cb.URL), cb: cb}
			}
			a := instance()
			atA := newTestBrowser(t, addr)
			first := a.startOpenID(t, atA, "first")
			c1 := idTokenClaims(t, a.approveAndRedeem(t, first, first.consent(t)))

			// The same browser at the other instance, whose pages never saw
			// it. (It starts now: each start registers the demo client with
			// a new secret, in the store they share.)
			b := instance()
			f := b.startOpenID(t, atA, "second")
			consent := f.skipsLogin(t)
			c2 := idTokenClaims(t, b.approveAndRedeem(t, f, consent))
			assert.Equal(t, c1["sid"], c2["sid"], "one login session")
			assert.Equal(t, c1["auth_time"], c2["auth_time"])
		})
	}
}

// The banner names the OpenID discovery document (OpenID Connect
// Discovery 1.0 §4), which is served there with the OpenID members, and
// whose JWK Set holds the ID token keys of both algorithms, in either
// access token format.
func TestBannerNamesTheDiscoveryDocument(t *testing.T) {
	for _, format := range []string{"opaque", "jwt"} {
		t.Run(format, func(t *testing.T) {
			addr, out := startServer(t, "-tokens", format)
			issuer := "http://" + addr
			discovery := issuer + oidc.DiscoveryPath
			assert.Regexp(t, `(?m)^  discovery:\s+`+regexp.QuoteMeta(discovery)+`$`, out.String())

			resp, err := http.Get(discovery)
			require.NoError(t, err)
			defer resp.Body.Close()
			require.Equal(t, http.StatusOK, resp.StatusCode)
			var md struct {
				Issuer     string   `json:"issuer"`
				UserInfo   string   `json:"userinfo_endpoint"`
				EndSession string   `json:"end_session_endpoint"`
				JWKS       string   `json:"jwks_uri"`
				Scopes     []string `json:"scopes_supported"`
				Algs       []string `json:"id_token_signing_alg_values_supported"`
			}
			require.NoError(t, json.NewDecoder(resp.Body).Decode(&md))
			assert.Equal(t, issuer, md.Issuer, "Discovery §4.3: the issuer it was asked for")
			assert.Equal(t, issuer+oidc.UserInfoPath, md.UserInfo)
			assert.Equal(t, issuer+oidc.EndSessionPath, md.EndSession)
			assert.Subset(t, md.Scopes, []string{"openid", "profile", "email", "read", "write"})
			assert.Equal(t, []string{"ES256", "RS256"}, md.Algs, "ES256 by default, RS256 as Discovery §3 requires")

			require.NotEmpty(t, md.JWKS)
			keys, err := http.Get(md.JWKS)
			require.NoError(t, err)
			defer keys.Body.Close()
			var set struct {
				Keys []struct {
					Alg string `json:"alg"`
				} `json:"keys"`
			}
			require.NoError(t, json.NewDecoder(keys.Body).Decode(&set))
			var algs []string
			for _, k := range set.Keys {
				algs = append(algs, k.Alg)
			}
			assert.Contains(t, algs, "ES256")
			assert.Contains(t, algs, "RS256")
		})
	}
}
