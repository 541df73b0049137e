package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	xoauth2 "golang.org/x/oauth2"
)

// defaultChromium is where Debian's chromium package puts the browser.
const defaultChromium = "/usr/bin/chromium"

// chromiumPath is the browser to drive: $GRANTOR_CHROMIUM, or Debian's.
func chromiumPath() string {
	if p := os.Getenv("GRANTOR_CHROMIUM"); p != "" {
		return p
	}
	return defaultChromium
}

// noBrowser fails the test: a browser test that cannot run is a failure,
// not a reason to skip, unless the user asked to skip it (newBrowser).
func noBrowser(t *testing.T, format string, args ...any) {
	t.Helper()
	t.Fatalf(format+"\ninstall Chromium with `apt-get install chromium fonts-liberation` "+
		"(`make test` does it when it can), set GRANTOR_CHROMIUM to a Chromium binary, "+
		"or skip the browser test explicitly with GRANTOR_SKIP_BROWSER=1", args...)
}

// newBrowser starts headless Chromium for one test and returns a context
// that drives it, with the test's deadline.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	if os.Getenv("GRANTOR_SKIP_BROWSER") == "1" {
		t.Skip("GRANTOR_SKIP_BROWSER=1: skipping the browser test as asked")
	}
	path := chromiumPath()
	if _, err := exec.LookPath(path); err != nil {
		noBrowser(t, "no browser at %s: %v", path, err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Headless,
		chromedp.NoSandbox, // the tests may run as root
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		// Without these Chromium keeps calling home, which on a closed
		// network means a stream of failing connections.
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("no-proxy-server", true),
		chromedp.Flag("password-store", "basic"),
		chromedp.Flag("use-mock-keychain", true),
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancelAlloc)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	t.Cleanup(cancelBrowser)
	// Run with no action starts the browser: a failure here is the
	// browser's, not the flow's.
	if err := chromedp.Do(bctx); err != nil {
		noBrowser(t, "%s does not start: %v", path, err)
	}
	return bctx
}

// callback is a client's redirect endpoint on a free loopback port: it
// records the query of each authorization response it receives.
type callback struct {
	URL     string
	queries chan url.Values
}

// newCallback starts a callback listener on 127.0.0.1:0, stopped when the
// test ends.
func newCallback(t *testing.T) *callback {
	t.Helper()
	cb := &callback{queries: make(chan url.Values, 4)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/callback" {
			http.NotFound(w, r)
			return
		}
		cb.queries <- r.URL.Query()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte("<!DOCTYPE html><title>Done</title><p id=done>You can close this window.</p>"))
	}))
	t.Cleanup(srv.Close)
	cb.URL = srv.URL + "/callback"
	return cb
}

// wait returns the next query the callback receives, or fails the test
// with where the browser is stuck instead.
func (cb *callback) wait(t *testing.T, ctx context.Context) url.Values {
	t.Helper()
	select {
	case q := <-cb.queries:
		return q
	case <-time.After(15 * time.Second):
	case <-ctx.Done():
	}
	// A short-lived context of its own: ctx may be the one that expired.
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	body, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
	t.Fatalf("the callback received nothing; the browser is at %q showing:\n%s", loc, body)
	return nil
}

// TestBrowserCodeFlow runs the authorization code flow in a real browser:
// the login form, the consent page, and the redirect to the client, whose
// code golang.org/x/oauth2 then redeems with its PKCE verifier. It checks
// along the way that the pages' policy (no script, form-action) does not
// get in the flow's way.
func TestBrowserCodeFlow(t *testing.T) {
	start := time.Now()
	// The server and the callback first, so that their cleanups run after
	// the browser's: a server shutting down waits up to 5 s for the
	// browser's preconnected sockets, but not for a closed browser.
	addr, out := startServer(t)
	cb := newCallback(t)
	ctx := newBrowser(t)
	t.Logf("browser started in %v", time.Since(start).Round(time.Millisecond))
	cfg := demoWebConfig(t, addr, out.String(), cb.URL)

	t.Run("approve", func(t *testing.T) {
		verifier := xoauth2.GenerateVerifier()
		authURL := cfg.AuthCodeURL("state-approve", xoauth2.S256ChallengeOption(verifier))
		require.NoError(t, chromedp.Do(ctx,
			chromedp.Navigate(authURL),
			chromedp.WaitVisible(chromedp.ID("username")),
			chromedp.SendKeys(chromedp.ID("username"), demoUsername),
			chromedp.SendKeys(chromedp.ID("password"), demoPassword),
			chromedp.Click(chromedp.CSS("button[type=submit]")),
			chromedp.WaitVisible(chromedp.CSS("button[value=approve]")),
		))
		consentText, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main")))
		require.NoError(t, err)
		assert.Contains(t, consentText, "Demo web app")
		assert.Contains(t, consentText, "Alice Liddell")
		require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS("button[value=approve]"))))
		q := cb.wait(t, ctx)
		assert.Equal(t, "state-approve", q.Get("state"))
		assert.Equal(t, "http://"+addr, q.Get("iss"), "RFC 9207")
		require.NotEmpty(t, q.Get("code"), "%v", q)
		require.NoError(t, chromedp.Do(ctx, chromedp.WaitVisible(chromedp.ID("done"))),
			"the browser reached the client's page")

		tok, err := cfg.Exchange(ctx, q.Get("code"), xoauth2.VerifierOption(verifier))
		require.NoError(t, err)
		assert.Equal(t, "read write", tok.Extra("scope"))
		assert.NotEmpty(t, tok.RefreshToken)
	})

	t.Run("deny", func(t *testing.T) {
		verifier := xoauth2.GenerateVerifier()
		authURL := cfg.AuthCodeURL("state-deny", xoauth2.S256ChallengeOption(verifier))
		// The session from the approve run skips the login form.
		require.NoError(t, chromedp.Do(ctx,
			chromedp.Navigate(authURL),
			chromedp.WaitVisible(chromedp.CSS("button[value=deny]")),
			chromedp.Click(chromedp.CSS("button[value=deny]")),
		))
		q := cb.wait(t, ctx)
		// The callback server has seen the request; wait until the browser
		// has loaded its answer too, or the next navigation may abort
		// this one (net::ERR_ABORTED).
		require.NoError(t, chromedp.Do(ctx, chromedp.WaitVisible(chromedp.ID("done"))))
		assert.Equal(t, "access_denied", q.Get("error"))
		assert.Equal(t, "state-deny", q.Get("state"))
		assert.Equal(t, "http://"+addr, q.Get("iss"))
		assert.Empty(t, q.Get("code"))
	})

	t.Run("wrong password, then prompt=login", func(t *testing.T) {
		verifier := xoauth2.GenerateVerifier()
		authURL := cfg.AuthCodeURL("state-login", xoauth2.S256ChallengeOption(verifier),
			xoauth2.SetAuthURLParam("prompt", "login"))
		require.NoError(t, chromedp.Do(ctx,
			chromedp.Navigate(authURL),
			chromedp.WaitVisible(chromedp.ID("username")),
			chromedp.SendKeys(chromedp.ID("username"), demoUsername),
			chromedp.SendKeys(chromedp.ID("password"), "looking-glass"),
			chromedp.Click(chromedp.CSS("button[type=submit]")),
			chromedp.WaitVisible(chromedp.CSS("[role=alert]")),
		))
		alert, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("[role=alert]")))
		require.NoError(t, err)
		assert.Equal(t, "Wrong username or password.", alert)
		// The username is kept; only the password is typed again.
		require.NoError(t, chromedp.Do(ctx,
			chromedp.SendKeys(chromedp.ID("password"), demoPassword),
			chromedp.Click(chromedp.CSS("button[type=submit]")),
			chromedp.WaitVisible(chromedp.CSS("button[value=approve]")),
			chromedp.Click(chromedp.CSS("button[value=approve]")),
		))
		q := cb.wait(t, ctx)
		require.NoError(t, chromedp.Do(ctx, chromedp.WaitVisible(chromedp.ID("done"))))
		require.NotEmpty(t, q.Get("code"), "%v", q)
		_, err = cfg.Exchange(ctx, q.Get("code"), xoauth2.VerifierOption(verifier))
		require.NoError(t, err)
	})
	t.Logf("browser test took %v", time.Since(start).Round(time.Millisecond))
}

// TestBrowserDeviceFlow runs the device authorization grant (RFC 8628) with
// a device polling the token endpoint while a real browser opens the
// device's verification_uri_complete, logs in, checks the code and
// approves; then again, denying. The pages' policy (no script,
// form-action 'self') must not get in the way, and the link must never
// approve by itself.
func TestBrowserDeviceFlow(t *testing.T) {
	start := time.Now()
	addr, _ := startServer(t, "-device-interval", "1s")
	ctx := newBrowser(t)
	t.Logf("browser started in %v", time.Since(start).Round(time.Millisecond))

	t.Run("approve", func(t *testing.T) {
		da := requestDevice(t, addr, "read write")
		require.Equal(t, 1, da.interval)
		polls := startPolling(ctx, addr, da)
		polls.waitPending(t)

		require.NoError(t, chromedp.Do(ctx,
			chromedp.Navigate(da.verificationURIComplete),
			chromedp.WaitVisible(chromedp.ID("username")),
			chromedp.SendKeys(chromedp.ID("username"), demoUsername),
			chromedp.SendKeys(chromedp.ID("password"), demoPassword),
			chromedp.Click(chromedp.CSS("button[type=submit]")),
			chromedp.WaitVisible(chromedp.ID("user_code")),
		))
		code, err := chromedp.Run(ctx, chromedp.Value(chromedp.ID("user_code")))
		require.NoError(t, err)
		assert.Equal(t, da.userCode, code, "back from the login with the code filled in")
		loc, err := chromedp.Run(ctx, chromedp.Location())
		require.NoError(t, err)
		assert.Equal(t, da.verificationURIComplete, loc)
		polls.checkPending(t, "the link and the login approve nothing")

		require.NoError(t, chromedp.Do(ctx,
			chromedp.Click(chromedp.CSS("button[type=submit]")),
			chromedp.WaitVisible(chromedp.CSS("button[value=approve]")),
		))
		confirmText, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main")))
		require.NoError(t, err)
		assert.Contains(t, confirmText, demoDeviceClientName)
		assert.Contains(t, confirmText, da.userCode)
		assert.Contains(t, confirmText, "Read your data")
		polls.checkPending(t, "the confirmation page approves nothing")

		require.NoError(t, chromedp.Do(ctx,
			chromedp.Click(chromedp.CSS("button[value=approve]")),
			chromedp.WaitVisible(chromedp.ID("done")),
		))
		doneText, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("done")))
		require.NoError(t, err)
		assert.Contains(t, doneText, "Return to your device")

		r := polls.wait(t)
		require.Equal(t, http.StatusOK, r.status, "%v", r.body)
		assert.NotEmpty(t, r.body["access_token"])
		assert.NotEmpty(t, r.body["refresh_token"])
		assert.Equal(t, "read write", r.body["scope"])
	})

	t.Run("deny", func(t *testing.T) {
		da := requestDevice(t, addr, "read")
		polls := startPolling(ctx, addr, da)
		// The session from the approve run skips the login form.
		require.NoError(t, chromedp.Do(ctx,
			chromedp.Navigate(da.verificationURIComplete),
			chromedp.WaitVisible(chromedp.ID("user_code")),
			chromedp.Click(chromedp.CSS("button[type=submit]")),
			chromedp.WaitVisible(chromedp.CSS("button[value=deny]")),
			chromedp.Click(chromedp.CSS("button[value=deny]")),
			chromedp.WaitVisible(chromedp.ID("done")),
		))
		h1, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("h1")))
		require.NoError(t, err)
		assert.Equal(t, "Request denied", h1)
		r := polls.wait(t)
		assert.Equal(t, http.StatusBadRequest, r.status)
		assert.Equal(t, "access_denied", r.body["error"])
	})
	t.Logf("browser test took %v", time.Since(start).Round(time.Millisecond))
}
