package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	xoauth2 "golang.org/x/oauth2"
)

// relyingParty is the web side of an OpenID relying party on a free
// loopback port: its redirect URI (/callback) and its post-logout
// redirect URI (/logged-out), which record the query of each visit.
type relyingParty struct {
	URL    string
	visits chan rpVisit
}

// rpVisit is one visit of the browser to the relying party.
type rpVisit struct {
	path  string
	query url.Values
}

// newRelyingParty starts the relying party's listener, stopped when the
// test ends.
func newRelyingParty(t *testing.T) *relyingParty {
	t.Helper()
	rp := &relyingParty{visits: make(chan rpVisit, 4)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/callback" && r.URL.Path != "/logged-out" {
			http.NotFound(w, r)
			return
		}
		rp.visits <- rpVisit{path: r.URL.Path, query: r.URL.Query()}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte("<!DOCTYPE html><title>Relying party</title><p id=done>Back at the relying party.</p>"))
	}))
	t.Cleanup(srv.Close)
	rp.URL = srv.URL
	return rp
}

// wait returns the query of the browser's next visit, which must be to
// path, once the browser has shown the page (so that the next navigation
// does not abort this one); or fails the test with where the browser is
// stuck.
func (rp *relyingParty) wait(t *testing.T, ctx context.Context, path string) url.Values {
	t.Helper()
	select {
	case v := <-rp.visits:
		require.Equal(t, path, v.path, "the browser came back to %s?%s", v.path, v.query.Encode())
		require.NoError(t, chromedp.Do(ctx, chromedp.WaitVisible(chromedp.ID("done"))))
		return v.query
	case <-time.After(15 * time.Second):
	case <-ctx.Done():
	}
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	body, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
	t.Fatalf("the relying party saw no visit to %s; the browser is at %q showing:\n%s", path, loc, body)
	return nil
}

// randomString returns a fresh random value for a nonce or a state.
func randomString() string { return rand.Text() }

// TestBrowserOpenIDRelyingParty signs in with github.com/coreos/go-oidc/v3
// as the relying party, registered through the clients file with its
// post_logout_redirect_uris, in a real browser: discovery (OpenID Connect
// Discovery 1.0 §4), a code flow through the login and consent pages with
// PKCE and a nonce, the ID token verified as Core §3.1.3.7 says, UserInfo
// (Core §5.3); then prompt=none signs in again without a page, and the
// refresh token gets a new ID token; then an RP-initiated logout through
// the confirmation page (RP-Initiated Logout 1.0 §2), after which
// prompt=none answers login_required and the refresh token is refused.
func TestBrowserOpenIDRelyingParty(t *testing.T) {
	start := time.Now()
	// The servers first, so that their cleanups run after the browser's.
	rp := newRelyingParty(t)
	secret := randomString()
	clients, err := json.Marshal([]map[string]any{{
		"client_id": "rp", "client_name": "Relying Party", "client_secret": secret,
		"token_endpoint_auth_method": "client_secret_basic",
		"grant_types":                []string{"authorization_code", "refresh_token"},
		"redirect_uris":              []string{rp.URL + "/callback"},
		"post_logout_redirect_uris":  []string{rp.URL + "/logged-out"},
		"scope":                      "openid profile email",
	}})
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "clients.json")
	require.NoError(t, os.WriteFile(path, clients, 0o600))
	addr, _ := startServer(t, "-clients", path)
	issuer := "http://" + addr
	ctx := newBrowser(t)
	t.Logf("browser started in %v", time.Since(start).Round(time.Millisecond))

	rpCtx := t.Context()
	provider, err := oidc.NewProvider(rpCtx, issuer)
	require.NoError(t, err, "discovery, whose issuer must be the URL asked")
	var discovery struct {
		EndSession string   `json:"end_session_endpoint"`
		Scopes     []string `json:"scopes_supported"`
	}
	require.NoError(t, provider.Claims(&discovery))
	assert.Equal(t, issuer+"/end_session", discovery.EndSession)
	assert.Subset(t, discovery.Scopes, []string{oidc.ScopeOpenID, "profile", "email"})
	cfg := &xoauth2.Config{
		ClientID: "rp", ClientSecret: secret, RedirectURL: rp.URL + "/callback",
		Endpoint: provider.Endpoint(), Scopes: []string{oidc.ScopeOpenID, "profile", "email"},
	}
	verifier := provider.Verifier(&oidc.Config{ClientID: "rp"})

	// authorize sends the browser with an authorization request; run
	// drives the pages, if any; the answer comes back to the callback.
	authorize := func(t *testing.T, nonce, pkce string, run []chromedp.Action[chromedp.Void], extra ...xoauth2.AuthCodeOption) url.Values {
		t.Helper()
		state := randomString()
		opts := append([]xoauth2.AuthCodeOption{xoauth2.S256ChallengeOption(pkce), oidc.Nonce(nonce)}, extra...)
		require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(cfg.AuthCodeURL(state, opts...))))
		require.NoError(t, chromedp.Do(ctx, run...))
		q := rp.wait(t, ctx, "/callback")
		assert.Equal(t, state, q.Get("state"))
		assert.Equal(t, issuer, q.Get("iss"), "RFC 9207")
		return q
	}
	// signIn redeems the code and verifies the ID token as a relying
	// party does, its nonce included.
	signIn := func(t *testing.T, q url.Values, nonce, pkce string) (*xoauth2.Token, *oidc.IDToken) {
		t.Helper()
		require.NotEmpty(t, q.Get("code"), "%v", q)
		tok, err := cfg.Exchange(rpCtx, q.Get("code"), xoauth2.VerifierOption(pkce))
		require.NoError(t, err)
		raw, _ := tok.Extra("id_token").(string)
		require.NotEmpty(t, raw, "an ID token (Core §3.1.3.3)")
		idt, err := verifier.Verify(rpCtx, raw)
		require.NoError(t, err, "signature, iss, aud and exp (Core §3.1.3.7)")
		assert.Equal(t, nonce, idt.Nonce, "Core §3.1.3.7 step 11")
		assert.Equal(t, demoUsername, idt.Subject)
		return tok, idt
	}
	var sessionClaims struct {
		SID string   `json:"sid"`
		AMR []string `json:"amr"`
	}

	var idToken string
	var signedIn *xoauth2.Token
	t.Run("sign in", func(t *testing.T) {
		nonce, pkce := randomString(), xoauth2.GenerateVerifier()
		q := authorize(t, nonce, pkce, []chromedp.Action[chromedp.Void]{
			chromedp.WaitVisible(chromedp.ID("username")),
			chromedp.SendKeys(chromedp.ID("username"), demoUsername),
			chromedp.SendKeys(chromedp.ID("password"), demoPassword),
			chromedp.Click(chromedp.CSS("button[type=submit]")),
			chromedp.WaitVisible(chromedp.CSS("button[value=approve]")),
			chromedp.Click(chromedp.CSS("button[value=approve]")),
		})
		tok, idt := signIn(t, q, nonce, pkce)
		idToken, signedIn = tok.Extra("id_token").(string), tok
		require.NoError(t, idt.Claims(&sessionClaims))
		assert.Equal(t, []string{amrPassword}, sessionClaims.AMR)
		require.NotEmpty(t, sessionClaims.SID)
		require.NoError(t, idt.VerifyAccessToken(tok.AccessToken), "at_hash (Core §3.1.3.8)")

		info, err := provider.UserInfo(rpCtx, xoauth2.StaticTokenSource(tok))
		require.NoError(t, err)
		assert.Equal(t, idt.Subject, info.Subject, "Core §5.3.2: the same sub as the ID token")
		assert.Equal(t, demoEmail, info.Email)
		assert.True(t, info.EmailVerified)
		var profile struct {
			Name              string `json:"name"`
			PreferredUsername string `json:"preferred_username"`
		}
		require.NoError(t, info.Claims(&profile))
		assert.Equal(t, demoName, profile.Name)
		assert.Equal(t, demoUsername, profile.PreferredUsername)
	})
	require.NotEmpty(t, idToken)

	t.Run("prompt=none signs in silently", func(t *testing.T) {
		nonce, pkce := randomString(), xoauth2.GenerateVerifier()
		q := authorize(t, nonce, pkce, nil, xoauth2.SetAuthURLParam("prompt", "none"))
		_, idt := signIn(t, q, nonce, pkce)
		var c struct {
			SID string `json:"sid"`
		}
		require.NoError(t, idt.Claims(&c))
		assert.Equal(t, sessionClaims.SID, c.SID, "the same login session")
	})

	// refresh redeems the refresh token of signedIn, as the relying
	// party's token source does once the access token has expired.
	refresh := func() (*xoauth2.Token, error) {
		return cfg.TokenSource(rpCtx, &xoauth2.Token{RefreshToken: signedIn.RefreshToken, Expiry: time.Now().Add(-time.Minute)}).Token()
	}
	t.Run("a refresh while the session lasts", func(t *testing.T) {
		require.NotEmpty(t, signedIn.RefreshToken)
		tok, err := refresh()
		require.NoError(t, err)
		raw, _ := tok.Extra("id_token").(string)
		idt, err := verifier.Verify(rpCtx, raw)
		require.NoError(t, err, "a new ID token (Core §12.2)")
		assert.Equal(t, demoUsername, idt.Subject)
		signedIn = tok // rotated
	})

	t.Run("logout through the confirmation page", func(t *testing.T) {
		state := randomString()
		logout := discovery.EndSession + "?" + url.Values{"id_token_hint": {idToken},
			"post_logout_redirect_uri": {rp.URL + "/logged-out"}, "state": {state}}.Encode()
		require.NoError(t, chromedp.Do(ctx,
			chromedp.Navigate(logout),
			chromedp.WaitVisible(chromedp.ID("logout")),
		))
		text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main")))
		require.NoError(t, err)
		assert.Contains(t, text, "Relying Party", "the page names the client")
		assert.Contains(t, text, demoName)
		require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.ID("logout"))))
		q := rp.wait(t, ctx, "/logged-out")
		assert.Equal(t, state, q.Get("state"), "RP-Initiated Logout 1.0 §3")
	})

	t.Run("then prompt=none answers login_required", func(t *testing.T) {
		q := authorize(t, randomString(), xoauth2.GenerateVerifier(), nil, xoauth2.SetAuthURLParam("prompt", "none"))
		assert.Equal(t, "login_required", q.Get("error"), "Core §3.1.2.6")
		assert.Empty(t, q.Get("code"))
	})

	t.Run("and the refresh token of the session is refused", func(t *testing.T) {
		_, err := refresh()
		var re *xoauth2.RetrieveError
		require.ErrorAs(t, err, &re, "Back-Channel Logout 1.0 §2.7: no offline_access was granted")
		assert.Equal(t, "invalid_grant", re.ErrorCode)
		assert.Equal(t, "the user's login session has ended", re.ErrorDescription)
	})
	t.Logf("browser test took %v", time.Since(start).Round(time.Millisecond))
}
