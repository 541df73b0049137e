package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	xoauth2 "golang.org/x/oauth2"
)

// deviceCookie names the device cookie on an http issuer.
const deviceCookie = "grantor-example-device"

// knownBrowser returns a browser at remote in which each of usernames
// logged in a day before windowStart: by windowStart its session has
// ended, its device cookie has not. The clock is left at windowStart.
func knownBrowser(t *testing.T, cf *codeFlow, clock *testClock, remote string, usernames ...string) *testBrowser {
	t.Helper()
	clock.set(windowStart.Add(-24 * time.Hour))
	b := newTestBrowser(t, cf.addr)
	b.remote = remote
	for _, name := range usernames {
		// prompt=login: the form again, though the browser has a session.
		f := cf.start(t, b, "before", xoauth2.SetAuthURLParam("prompt", "login"))
		r := f.logIn(t, name, demoPassword)
		require.Equal(t, http.StatusSeeOther, r.status, "%s logs in: %s", name, r.body)
	}
	clock.set(windowStart)
	return b
}

// spendAccountBudget has a guesser spread over ten addresses, each within
// its own limits, spend username's per-account budget for the window.
func spendAccountBudget(t *testing.T, cf *codeFlow, username string) {
	t.Helper()
	f := cf.start(t, newTestBrowser(t, cf.addr), "guesser")
	for a := range maxAttemptsPerAccount / maxAttemptsPerAccountAddress {
		f.b.remote = fmt.Sprintf("198.51.100.%d:4000", a+1)
		for range maxAttemptsPerAccountAddress {
			require.Equal(t, http.StatusUnauthorized, f.guess(t, username).status)
		}
	}
}

// setCookie puts a cookie in b's jar, as a browser that had been given it
// would hold it.
func setCookie(t *testing.T, b *testBrowser, name, value string) {
	t.Helper()
	u, err := url.Parse(b.base)
	require.NoError(t, err)
	b.c.Jar.SetCookies(u, []*http.Cookie{{Name: name, Value: value, Path: "/"}})
}

// Guessers spread over many addresses spend alice's per-account budget:
// a browser that never logged in as alice is refused, even from her
// address and with her password, but her own browser, known by its device
// cookie, still logs her in, after a typo too.
func TestKnownDeviceLogsInWhileGuessersThrottleTheAccount(t *testing.T) {
	clock := newTestClock(windowStart)
	_, cf, verified := throttleServer(t, clock)
	alice := knownBrowser(t, cf, clock, "203.0.113.9:5000", demoUsername)
	spendAccountBudget(t, cf, demoUsername)

	stranger := newTestBrowser(t, cf.addr)
	stranger.remote = alice.remote
	before := verified.Load()
	checkThrottled(t, cf.start(t, stranger, "s").logIn(t, demoUsername, demoPassword))
	assert.Equal(t, before, verified.Load(), "a throttled attempt checks no password")

	f := cf.start(t, alice, "a")
	assert.Equal(t, http.StatusUnauthorized, f.guess(t, demoUsername).status, "a typo")
	r := f.logIn(t, demoUsername, demoPassword)
	assert.Equal(t, http.StatusSeeOther, r.status, "alice's own browser: %s", r.body)
	assert.Equal(t, "/consent?interaction="+f.interaction, r.location())
}

// A browser shared by alice and bob is a known device for both: bob
// logging in after alice does not push her out.
func TestOneBrowserIsAKnownDeviceForSeveralAccounts(t *testing.T) {
	clock := newTestClock(windowStart)
	srv, cf, _ := throttleServer(t, clock)
	require.NoError(t, srv.users.add("bob", demoPassword, "Bob"))
	shared := knownBrowser(t, cf, clock, "203.0.113.9:5000", demoUsername, "bob")
	spendAccountBudget(t, cf, demoUsername)
	spendAccountBudget(t, cf, "bob")

	for _, name := range []string{demoUsername, "bob"} {
		f := cf.start(t, shared, name, xoauth2.SetAuthURLParam("prompt", "login"))
		r := f.logIn(t, name, demoPassword)
		assert.Equal(t, http.StatusSeeOther, r.status, "%s: %s", name, r.body)
	}
}

// Only a device cookie the server made for the account being logged in
// to counts: bob's does not help alice, nor does a cookie changed in any
// way; such an attempt is counted as an unknown browser's, and refused
// once the account's budget is spent.
func TestDeviceCookieCountsOnlyForItsAccount(t *testing.T) {
	clock := newTestClock(windowStart)
	srv, cf, _ := throttleServer(t, clock)
	require.NoError(t, srv.users.add("bob", demoPassword, "Bob"))
	aliceCookie := cookieNamed(t, knownBrowser(t, cf, clock, "203.0.113.9:5000", demoUsername), deviceCookie)
	require.NotNil(t, aliceCookie, "a device cookie at login")
	bobCookie := cookieNamed(t, knownBrowser(t, cf, clock, "203.0.113.10:5000", "bob"), deviceCookie)
	require.NotNil(t, bobCookie)
	spendAccountBudget(t, cf, demoUsername)

	v := aliceCookie.Value
	for i, c := range []struct{ name, value string }{
		{"bob's device cookie", bobCookie.Value},
		{"a character of the MAC changed", v[:len(v)-5] + differentChar(v[len(v)-5]) + v[len(v)-4:]},
		{"a character of the nonce changed", differentChar(v[0]) + v[1:]},
		{"cut short", v[:len(v)-1]},
		{"one character more", v + "A"},
		{"the nonce alone", v[:len(v)/2]},
		{"junk", "not-a-device-cookie"},
		{"empty", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := newTestBrowser(t, cf.addr)
			b.remote = fmt.Sprintf("203.0.113.%d:5000", 100+i)
			setCookie(t, b, deviceCookie, c.value)
			checkThrottled(t, cf.start(t, b, "s").logIn(t, demoUsername, demoPassword))
		})
	}

	t.Run("alice's own, as a check on the others", func(t *testing.T) {
		b := newTestBrowser(t, cf.addr)
		b.remote = "203.0.113.99:5000"
		setCookie(t, b, deviceCookie, v)
		assert.Equal(t, http.StatusSeeOther, cf.start(t, b, "s").logIn(t, demoUsername, demoPassword).status)
	})
}

// A device cookie copied to another browser gets that device's budget and
// no more, however many addresses the guesses come from; the password is
// not checked once it is spent.
func TestStolenDeviceCookieGetsOnlyItsDevicesBudget(t *testing.T) {
	clock := newTestClock(windowStart)
	_, cf, verified := throttleServer(t, clock)
	stolen := cookieNamed(t, knownBrowser(t, cf, clock, "203.0.113.9:5000", demoUsername), deviceCookie)
	require.NotNil(t, stolen, "a device cookie at login")

	thief := newTestBrowser(t, cf.addr)
	setCookie(t, thief, deviceCookie, stolen.Value)
	f := cf.start(t, thief, "t")
	for i := range maxAttemptsPerDevice {
		f.b.remote = fmt.Sprintf("198.51.100.%d:4000", i+1)
		assert.Equal(t, http.StatusUnauthorized, f.guess(t, demoUsername).status, "guess %d", i+1)
	}
	f.b.remote = "198.51.100.200:4000"
	before := verified.Load()
	checkThrottled(t, f.logIn(t, demoUsername, demoPassword))
	assert.Equal(t, before, verified.Load(), "a throttled attempt checks no password")
}

// A successful login, and only that, gives the browser a device cookie
// that scripts cannot read, that is sent on the top-level navigation from
// a client, that lives for 90 days and that names no account.
func TestDeviceCookieAttributes(t *testing.T) {
	clock := newTestClock(windowStart)
	_, cf, _ := throttleServer(t, clock)
	f := cf.start(t, newTestBrowser(t, cf.addr), "s")
	named := func(r *page) *http.Cookie {
		for _, c := range (&http.Response{Header: r.header}).Cookies() {
			if c.Name == deviceCookie {
				return c
			}
		}
		return nil
	}
	assert.Nil(t, named(f.guess(t, demoUsername)), "no device cookie for a wrong password")

	c := named(f.logIn(t, demoUsername, demoPassword))
	require.NotNil(t, c, "a device cookie at login")
	assert.True(t, c.HttpOnly)
	assert.Equal(t, http.SameSiteLaxMode, c.SameSite)
	assert.Equal(t, "/", c.Path)
	assert.Empty(t, c.Domain, "host-only")
	assert.Equal(t, 90*24*60*60, c.MaxAge)
	assert.False(t, c.Secure, "http issuer")
	assert.NotContains(t, strings.ToLower(c.Value), demoUsername)
	assert.NotContains(t, c.Value, accountKey(demoUsername), "not even the account's hash")

	// On an https issuer: Secure, and __Host- so that no sibling
	// subdomain can set one.
	u, err := newUsers()
	require.NoError(t, err)
	pg, err := newPages("https://as.example", u)
	require.NoError(t, err)
	rec := httptest.NewRecorder()
	require.NoError(t, pg.rememberDevice(rec, httptest.NewRequest(http.MethodPost, "https://as.example/login", nil),
		accountKey(demoUsername)))
	cookies := rec.Result().Cookies()
	require.Len(t, cookies, 1)
	c = cookies[0]
	assert.Equal(t, "__Host-grantor-example-device", c.Name)
	assert.True(t, c.Secure)
	assert.True(t, c.HttpOnly)
	assert.Equal(t, http.SameSiteLaxMode, c.SameSite)
	assert.Equal(t, "/", c.Path)
	assert.Equal(t, 90*24*60*60, c.MaxAge)
}

// A browser's device cookie remembers its latest maxDeviceAccounts
// accounts, newest first, so that it stays small; logging in again as one
// of them renews that account's entry instead of adding one.
func TestDeviceCookieKeepsTheLatestAccounts(t *testing.T) {
	u, err := newUsers()
	require.NoError(t, err)
	pg, err := newPages("http://127.0.0.1:1", u)
	require.NoError(t, err)
	var cookie *http.Cookie
	// remember logs name in from the browser holding cookie, and returns
	// the browser's cookie afterwards.
	remember := func(name string) *http.Cookie {
		req := httptest.NewRequest(http.MethodPost, "/login", nil)
		if cookie != nil {
			req.AddCookie(cookie)
		}
		rec := httptest.NewRecorder()
		require.NoError(t, pg.rememberDevice(rec, req, accountKey(name)))
		cookies := rec.Result().Cookies()
		require.Len(t, cookies, 1)
		return cookies[0]
	}
	known := func(name string) string {
		req := httptest.NewRequest(http.MethodPost, "/login", nil)
		req.AddCookie(cookie)
		return pg.knownDevice(req, accountKey(name))
	}
	names := make([]string, maxDeviceAccounts+1)
	for i := range names {
		names[i] = fmt.Sprint("user", i)
		cookie = remember(names[i])
	}
	assert.Empty(t, known(names[0]), "the oldest account is forgotten")
	for _, name := range names[1:] {
		assert.NotEmpty(t, known(name), name)
	}

	size := len(cookie.Value)
	renewed := known(names[1])
	cookie = remember(names[1])
	assert.Len(t, cookie.Value, size, "no second entry for one account")
	assert.NotEmpty(t, known(names[1]))
	assert.NotEqual(t, renewed, known(names[1]), "a new device nonce at each login")
	for _, name := range names[2:] {
		assert.NotEmpty(t, known(name), name)
	}
}
