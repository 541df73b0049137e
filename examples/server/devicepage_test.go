package main

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	xoauth2 "golang.org/x/oauth2"

	"github.com/grantor-dev/grantor/grant"
	"github.com/grantor-dev/grantor/storage/storagetest"
)

// deviceAuthorization is a device authorization response (RFC 8628 §3.2)
// to the demo device client.
type deviceAuthorization struct {
	deviceCode, userCode, verificationURI, verificationURIComplete string
	interval                                                       int
}

// requestDevice asks the server at addr for a device authorization, as the
// demo device client, for scope.
func requestDevice(t *testing.T, addr, scope string) *deviceAuthorization {
	t.Helper()
	r := postForm(t, "http://"+addr+grant.DeviceAuthorizationPath,
		url.Values{"client_id": {demoDeviceClientID}, "scope": {scope}}, "", "")
	require.Equal(t, http.StatusOK, r.status, "%v", r.body)
	interval, _ := r.body["interval"].(float64)
	da := &deviceAuthorization{deviceCode: r.str("device_code"), userCode: r.str("user_code"),
		verificationURI: r.str("verification_uri"), verificationURIComplete: r.str("verification_uri_complete"),
		interval: int(interval)}
	require.NotEmpty(t, da.deviceCode)
	require.NotEmpty(t, da.userCode)
	return da
}

// poll polls the token endpoint of the server at addr with a device code,
// as the demo device client (RFC 8628 §3.4).
func poll(t *testing.T, addr, deviceCode string) *response {
	t.Helper()
	return postForm(t, "http://"+addr+"/token", url.Values{"grant_type": {grant.GrantTypeDeviceCode},
		"client_id": {demoDeviceClientID}, "device_code": {deviceCode}}, "", "")
}

// pagePath is the path and query of one of the server's URLs, as a
// browser loads it.
func pagePath(t *testing.T, rawURL string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	require.NoError(t, err)
	return u.RequestURI()
}

// userCodeField is the user code form's text field.
var userCodeField = regexp.MustCompile(`<input id="user_code" name="user_code"[^>]* value="([^"]*)">`)

// userCodeInput returns the value the device page's code field holds.
func userCodeInput(t *testing.T, p *page) string {
	t.Helper()
	m := userCodeField.FindStringSubmatch(p.body)
	require.Len(t, m, 2, "no user code field in:\n%s", p.body)
	return html.UnescapeString(m[1])
}

// deviceLogin opens the device page at path in b, which no one is logged in
// to: the page sends it to the login form, which, once alice has logged
// in, sends it back to path. It returns the device page.
func deviceLogin(t *testing.T, b *testBrowser, path string) *page {
	t.Helper()
	return deviceLoginAs(t, b, path, demoUsername, demoPassword)
}

// deviceLoginAs is deviceLogin as another user.
func deviceLoginAs(t *testing.T, b *testBrowser, path, username, password string) *page {
	t.Helper()
	r := b.get(path)
	require.Equal(t, http.StatusSeeOther, r.status, r.body)
	require.Equal(t, "/login?"+url.Values{"next": {path}}.Encode(), r.location(), "the query is kept")
	login := b.get(r.location())
	require.Equal(t, http.StatusOK, login.status, login.body)
	checkPageHeaders(t, login, "the device page's login")
	assert.Contains(t, login.body, "Log in to connect a device")
	r = b.post("/login", url.Values{"next": {html.UnescapeString(login.field(t, "next"))},
		"csrf": {login.field(t, "csrf")}, "username": {username}, "password": {password}})
	require.Equal(t, http.StatusSeeOther, r.status, r.body)
	require.Equal(t, path, r.location(), "back to the device page, with its code")
	dev := b.get(path)
	require.Equal(t, http.StatusOK, dev.status, dev.body)
	return dev
}

// submitCode sends the user code form of the device page dev.
func submitCode(t *testing.T, b *testBrowser, dev *page, code string) *page {
	t.Helper()
	return b.post(devicePath, url.Values{"csrf": {dev.field(t, "csrf")}, "user_code": {code}})
}

// decideDevice sends the confirmation form of page confirm.
func decideDevice(t *testing.T, b *testBrowser, confirm *page, decision string) *page {
	t.Helper()
	return b.post(deviceDecisionPath, url.Values{"interaction": {confirm.field(t, "interaction")},
		"csrf": {confirm.field(t, "csrf")}, "decision": {decision}})
}

// confirmDevice logs b in through the device page and submits the user
// code of da: it returns the confirmation page.
func confirmDevice(t *testing.T, b *testBrowser, da *deviceAuthorization) *page {
	t.Helper()
	dev := deviceLogin(t, b, devicePath)
	confirm := submitCode(t, b, dev, da.userCode)
	require.Equal(t, http.StatusOK, confirm.status, confirm.body)
	return confirm
}

// The whole flow as a user meets it (RFC 8628 §3.3): the device's link
// opens the device page, which has the user log in and comes back with the
// code filled in; the confirmation page shows the client, the scopes and
// the code (§5.4); Approve gives the device its tokens, issued to alice.
func TestDevicePageApprovesTheDevice(t *testing.T) {
	addr, out := startServer(t)
	da := requestDevice(t, addr, "read write")
	assert.Equal(t, "http://"+addr+devicePath, da.verificationURI)
	assert.Equal(t, da.verificationURI+"?"+url.Values{"user_code": {da.userCode}}.Encode(), da.verificationURIComplete)

	b := newTestBrowser(t, addr)
	dev := deviceLogin(t, b, pagePath(t, da.verificationURIComplete))
	checkPageHeaders(t, dev, "device page")
	assert.Equal(t, da.userCode, userCodeInput(t, dev), "pre-filled from verification_uri_complete")
	assert.Contains(t, dev.body, `action="/device"`)

	confirm := submitCode(t, b, dev, userCodeInput(t, dev))
	require.Equal(t, http.StatusOK, confirm.status, confirm.body)
	checkPageHeaders(t, confirm, "confirmation page")
	assert.Contains(t, confirm.body, demoDeviceClientName)
	assert.Contains(t, confirm.body, `<p class="user-code" id="user-code">`+da.userCode+`</p>`,
		"the code, to compare with the device's screen (RFC 8628 §5.4)")
	assert.Contains(t, confirm.body, "Read your data")
	assert.Contains(t, confirm.body, "Change your data")
	assert.Contains(t, confirm.body, demoName)
	assert.Contains(t, confirm.body, `value="approve"`)
	assert.Contains(t, confirm.body, `value="deny"`)

	done := decideDevice(t, b, confirm, "approve")
	require.Equal(t, http.StatusOK, done.status, done.body)
	checkPageHeaders(t, done, "approved page")
	assert.Contains(t, done.body, "Return to your device")

	r := poll(t, addr, da.deviceCode)
	require.Equal(t, http.StatusOK, r.status, "%v", r.body)
	assert.Equal(t, "Bearer", r.str("token_type"))
	assert.Equal(t, "read write", r.str("scope"))
	assert.NotEmpty(t, r.str("refresh_token"), "the client is registered for refresh_token")

	secrets := map[string]string{}
	for _, m := range secretLine.FindAllStringSubmatch(out.String(), -1) {
		secrets[m[1]] = m[2]
	}
	in := postForm(t, "http://"+addr+"/introspect", url.Values{"token": {r.str("access_token")}},
		demoAPIClientID, secrets[demoAPIClientID])
	require.Equal(t, http.StatusOK, in.status)
	assert.Equal(t, true, in.body["active"])
	assert.Equal(t, demoUsername, in.str("sub"), "the logged-in user approved")
	assert.Equal(t, demoDeviceClientID, in.str("client_id"))
}

// Deny refuses the device: its next poll is access_denied (RFC 8628 §3.5).
func TestDevicePageDeniesTheDevice(t *testing.T) {
	addr, _ := startServer(t)
	da := requestDevice(t, addr, "read")
	b := newTestBrowser(t, addr)
	done := decideDevice(t, b, confirmDevice(t, b, da), "deny")
	require.Equal(t, http.StatusOK, done.status, done.body)
	checkPageHeaders(t, done, "denied page")
	assert.Contains(t, done.body, "Request denied")
	assert.NotContains(t, done.body, "Return to your device")

	r := poll(t, addr, da.deviceCode)
	assert.Equal(t, http.StatusBadRequest, r.status)
	assert.Equal(t, "access_denied", r.str("error"))
}

// verification_uri_complete only fills the form in (RFC 8628 §5.4, remote
// phishing): a logged-in user who merely opens the link, however often,
// approves nothing, denies nothing and spends none of the browser's code
// attempts; only the form and then Approve do.
func TestDeviceLinkAloneApprovesNothing(t *testing.T) {
	addr, _ := startServer(t)
	da := requestDevice(t, addr, "read")
	b := newTestBrowser(t, addr)
	link := pagePath(t, da.verificationURIComplete)
	deviceLogin(t, b, link)
	for range 10 {
		dev := b.get(link)
		require.Equal(t, http.StatusOK, dev.status)
		assert.Equal(t, da.userCode, userCodeInput(t, dev))
		assert.NotContains(t, dev.body, "approve")
		assert.NotContains(t, dev.body, demoDeviceClientName, "nothing is looked up")
	}
	r := poll(t, addr, da.deviceCode)
	assert.Equal(t, http.StatusBadRequest, r.status)
	assert.Equal(t, "authorization_pending", r.str("error"), "%v", r.body)

	// Ten views spent none of the five codes the browser may try.
	dev := b.get(devicePath)
	for range 4 {
		assert.Equal(t, http.StatusBadRequest, submitCode(t, b, dev, "BBBB-BBBB").status)
	}
	assert.Equal(t, http.StatusOK, submitCode(t, b, dev, da.userCode).status)
}

// A visitor is sent to the login form and back, the code kept; a user
// already logged in is sent straight back. The login form returns to the
// device page only: any other target is refused, so that it cannot be
// made to redirect elsewhere.
func TestDevicePageLogin(t *testing.T) {
	addr, _ := startServer(t)
	b := newTestBrowser(t, addr)
	r := b.get("/device?user_code=WDJB-MJHT&other=x")
	require.Equal(t, http.StatusSeeOther, r.status)
	assert.Equal(t, "/login?next=%2Fdevice%3Fuser_code%3DWDJB-MJHT", r.location(), "the code is kept, and only it")
	assert.Equal(t, "no-store", r.header.Get("Cache-Control"))

	r = b.get("/device?user_code=" + strings.Repeat("B", maxUserCodeInput+1))
	assert.Equal(t, "/login?next=%2Fdevice", r.location(), "no code is that long")

	for _, next := range []string{"https://evil.example/device", "//evil.example/device", "/consent",
		"/device/decision", "/device#x", "http:/device", "/\\evil.example"} {
		r := b.get("/login?" + url.Values{"next": {next}}.Encode())
		assert.Equal(t, http.StatusBadRequest, r.status, next)
		assert.Empty(t, r.location(), next)
		checkPageHeaders(t, r, "bad next "+next)
	}
	login := b.get("/login?next=%2Fdevice")
	require.Equal(t, http.StatusOK, login.status)
	r = b.post("/login", url.Values{"next": {"//evil.example/device"}, "csrf": {login.field(t, "csrf")},
		"username": {demoUsername}, "password": {demoPassword}})
	assert.Equal(t, http.StatusForbidden, r.status, "the token is bound to the login's target")
	assert.Nil(t, cookieNamed(t, b, "grantor-example-session"))
	r = b.post("/login", url.Values{"next": {"/device?user_code=XXXX"}, "csrf": {login.field(t, "csrf")},
		"username": {demoUsername}, "password": {demoPassword}})
	assert.Equal(t, http.StatusForbidden, r.status, "even to another code")

	r = b.post("/login", url.Values{"next": {"/device"}, "csrf": {login.field(t, "csrf")},
		"username": {demoUsername}, "password": {"looking-glass"}})
	assert.Equal(t, http.StatusUnauthorized, r.status)
	assert.Contains(t, r.body, "Wrong username or password.")
	assert.Equal(t, "/device", html.UnescapeString(r.field(t, "next")), "the form returns to the same page")
	r = b.post("/login", url.Values{"next": {"/device"}, "csrf": {r.field(t, "csrf")},
		"username": {demoUsername}, "password": {demoPassword}})
	require.Equal(t, http.StatusSeeOther, r.status, r.body)
	assert.Equal(t, "/device", r.location())

	r = b.get("/login?next=%2Fdevice%3Fuser_code%3DWDJB-MJHT")
	assert.Equal(t, http.StatusSeeOther, r.status, "a logged-in user goes straight back")
	assert.Equal(t, "/device?user_code=WDJB-MJHT", r.location())
	checkPageHeaders(t, r, "the redirect that carries the code") // no-store, no-referrer
}

// A wrong, expired or already used code shows the form again, with what
// was typed and a message, and lets the user try again; a decision that
// comes too late shows a page that leads back to the form.
func TestDevicePageWrongExpiredOrUsedCode(t *testing.T) {
	clock := newTestClock(time.Now())
	_, cf := serveTestWith(t, newMemoryStore(), options{clock: clock.now})
	addr := cf.addr
	b := newTestBrowser(t, addr)
	dev := deviceLogin(t, b, devicePath)
	checkRetry := func(t *testing.T, r *page, typed string) {
		t.Helper()
		assert.Equal(t, http.StatusBadRequest, r.status, r.body)
		checkPageHeaders(t, r, "wrong code")
		assert.Contains(t, r.body, "This code is unknown, has expired or was already used.")
		assert.Equal(t, typed, userCodeInput(t, r), "what was typed, to correct it")
		assert.NotEmpty(t, r.field(t, "csrf"))
		assert.NotContains(t, r.body, demoDeviceClientName)
	}

	da := requestDevice(t, addr, "read")
	wrong := submitCode(t, b, dev, "BBBB-BBBB")
	checkRetry(t, wrong, "BBBB-BBBB")
	checkRetry(t, submitCode(t, b, wrong, "not a code!"), "not a code!")
	// The form of the answer works: the user corrects the code.
	lower := strings.ToLower(strings.ReplaceAll(da.userCode, "-", " "))
	confirm := submitCode(t, b, wrong, lower)
	require.Equal(t, http.StatusOK, confirm.status, "case and separators do not matter (RFC 8628 §6.1)\n%s", confirm.body)
	assert.Contains(t, confirm.body, da.userCode, "the code as the device shows it")
	require.Equal(t, http.StatusOK, decideDevice(t, b, confirm, "approve").status)

	// Used: the code again, and the decision again.
	checkRetry(t, submitCode(t, b, dev, da.userCode), da.userCode)
	again := decideDevice(t, b, confirm, "deny")
	assert.Equal(t, http.StatusBadRequest, again.status)
	assert.Contains(t, again.body, "already decided")
	assert.Contains(t, again.body, `<a href="/device">`, "a way to try again")
	checkPageHeaders(t, again, "decided page")
	polled := poll(t, addr, da.deviceCode)
	assert.Equal(t, http.StatusOK, polled.status, "the approval stands: %v", polled.body)

	// Expired: a code past its expires_in, and a confirmation page left
	// open past it.
	late := requestDevice(t, addr, "read")
	lateConfirm := submitCode(t, b, dev, late.userCode)
	require.Equal(t, http.StatusOK, lateConfirm.status)
	expired := requestDevice(t, addr, "read")
	clock.set(clock.now().Add(grant.DefaultDeviceCodeLifetime))
	checkRetry(t, submitCode(t, b, dev, expired.userCode), expired.userCode)
	r := decideDevice(t, b, lateConfirm, "approve")
	assert.Equal(t, http.StatusBadRequest, r.status)
	assert.Contains(t, r.body, "has expired")
	assert.Contains(t, r.body, `<a href="/device">`)

	r = b.post(deviceDecisionPath, url.Values{"interaction": {lateConfirm.field(t, "interaction")},
		"csrf": {lateConfirm.field(t, "csrf")}, "decision": {"maybe"}})
	assert.Equal(t, http.StatusBadRequest, r.status)
	assert.Contains(t, r.body, "Choose Approve or Deny.")
}

// RFC 8628 §5.1: after a few wrong codes the browser is answered 429 with
// Retry-After, even for the right code, until the window ends; another
// browser at another address is not held back.
func TestDevicePageThrottlesCodeGuessing(t *testing.T) {
	clock := newTestClock(time.Now())
	_, cf := serveTestWith(t, newMemoryStore(), options{clock: clock.now}, addBob)
	da := requestDevice(t, cf.addr, "read")
	guesser := newTestBrowser(t, cf.addr)
	guesser.remote = "192.0.2.1:4000"
	dev := deviceLogin(t, guesser, devicePath)
	for i := range 5 {
		r := submitCode(t, guesser, dev, fmt.Sprintf("BBBB-BBB%c", "CDFGH"[i]))
		require.Equal(t, http.StatusBadRequest, r.status, "guess %d", i)
	}
	r := submitCode(t, guesser, dev, da.userCode)
	assert.Equal(t, http.StatusTooManyRequests, r.status, r.body)
	retry, err := strconv.Atoi(r.header.Get("Retry-After"))
	require.NoError(t, err, "Retry-After is a number of seconds")
	assert.Positive(t, retry)
	assert.LessOrEqual(t, retry, 600)
	assert.Contains(t, r.body, "Too many codes tried.")
	assert.NotContains(t, r.body, demoDeviceClientName, "the right code is not looked up either")
	checkPageHeaders(t, r, "429 page")

	other := newTestBrowser(t, cf.addr)
	other.remote = "198.51.100.1:4000"
	r = submitCode(t, other, deviceLoginAs(t, other, devicePath, "bob", bobPassword), da.userCode)
	assert.Equal(t, http.StatusOK, r.status, "another user's browser still gets in")

	// The window's end lifts it (a new device code: the first one may
	// have expired with the window).
	clock.set(clock.now().Add(time.Duration(retry) * time.Second))
	r = submitCode(t, guesser, dev, requestDevice(t, cf.addr, "read").userCode)
	assert.Equal(t, http.StatusOK, r.status, "the window's end lifts it\n%s", r.body)
}

// bobPassword is the password of the second user addBob registers.
const bobPassword = "through-the-looking-glass"

// addBob registers a second user, bob.
func addBob(srv *server) {
	if err := srv.users.add("bob", bobPassword, "Bob"); err != nil {
		panic(err)
	}
}

// RFC 8628 §5.1: the Provider counts codes per browser and per address, and
// a browser is a cookie a guesser can drop; the page names the logged-in
// account (Config.UserCodeAccount), whose codes the Provider counts too. One session that drops the binding cookie
// before each guess and comes from a new address every time is answered
// 429 at its sixth code.
func TestDevicePageThrottlesCodeGuessingPerAccount(t *testing.T) {
	_, cf := serveTest(t, newMemoryStore())
	da := requestDevice(t, cf.addr, "read")
	guesser := newTestBrowser(t, cf.addr)
	dev := deviceLogin(t, guesser, devicePath)
	base, err := url.Parse(guesser.base)
	require.NoError(t, err)
	dropBinding := func() {
		var kept []*http.Cookie
		for _, c := range guesser.c.Jar.Cookies(base) {
			if !strings.Contains(c.Name, "grantor-binding") {
				kept = append(kept, c)
			}
		}
		jar, err := cookiejar.New(nil)
		require.NoError(t, err)
		jar.SetCookies(base, kept)
		guesser.c.Jar = jar
	}
	for i := range 5 {
		dropBinding()
		guesser.remote = fmt.Sprintf("203.0.113.%d:4000", i+1)
		r := submitCode(t, guesser, dev, fmt.Sprintf("BBBB-BBB%c", "CDFGH"[i]))
		require.Equal(t, http.StatusBadRequest, r.status, "guess %d", i)
	}
	dropBinding()
	guesser.remote = "203.0.113.99:4000"
	r := submitCode(t, guesser, dev, da.userCode)
	assert.Equal(t, http.StatusTooManyRequests, r.status, r.body)
	assert.NotEmpty(t, r.header.Get("Retry-After"))
	assert.NotContains(t, r.body, demoDeviceClientName, "the right code is not looked up either")
}

// A storage failure is temporary: 503 with Retry-After, and the same form
// sent again once the store is back goes on.
func TestDevicePageStorageFailureIsTemporary(t *testing.T) {
	for name, c := range map[string]struct {
		op     storagetest.Op
		decide bool
	}{
		"looking the code up, storing the interaction": {op: storagetest.OpCreateInteraction},
		"looking the code up, reading the client":      {op: storagetest.OpClient},
		"approving, recording the decision":            {op: storagetest.OpDecideDeviceAuthorization, decide: true},
	} {
		t.Run(name, func(t *testing.T) {
			st, faults := newFaultyStore()
			_, cf := serveTest(t, st)
			da := requestDevice(t, cf.addr, "read")
			b := newTestBrowser(t, cf.addr)
			dev := deviceLogin(t, b, devicePath)
			act := func() *page { return submitCode(t, b, dev, da.userCode) }
			if c.decide {
				confirm := submitCode(t, b, dev, da.userCode)
				require.Equal(t, http.StatusOK, confirm.status)
				act = func() *page { return decideDevice(t, b, confirm, "approve") }
			}
			faults.Fail(c.op, nil)
			r := act()
			faults.Heal()
			assert.Equal(t, http.StatusServiceUnavailable, r.status, r.body)
			retry, err := strconv.Atoi(r.header.Get("Retry-After"))
			assert.NoError(t, err)
			assert.Positive(t, retry)
			assert.Contains(t, r.body, "temporary problem")
			assert.NotContains(t, r.body, storagetest.ErrInjected.Error(), "the cause stays in the server")
			checkPageHeaders(t, r, "503 page")

			r = act()
			assert.Equal(t, http.StatusOK, r.status, "the same form, once the store is back\n%s", r.body)
		})
	}
}

// RFC 6749 §10.12: the device page's forms refuse, with 403, a POST
// without the right CSRF token or from another site, and do nothing: no
// code is looked up, no device decided.
func TestDevicePageRefusesForgedPosts(t *testing.T) {
	// Every browser here is alice's, and types more codes than her
	// account's budget allows in ten minutes.
	_, cf := serveTestWith(t, newMemoryStore(), options{userCodeAttempts: 100})
	var browsers atomic.Int32
	newBrowser := func(t *testing.T) *testBrowser {
		b := newTestBrowser(t, cf.addr)
		b.remote = fmt.Sprintf("192.0.2.%d:4000", browsers.Add(1))
		return b
	}
	// other's tokens are valid, for another browser's session.
	otherBrowser := newBrowser(t)
	otherDev := deviceLogin(t, otherBrowser, devicePath)
	otherConfirm := submitCode(t, otherBrowser, otherDev, requestDevice(t, cf.addr, "read").userCode)
	require.Equal(t, http.StatusOK, otherConfirm.status)

	type attack struct {
		csrf    func(valid, other string) string
		headers []string
	}
	for name, a := range map[string]attack{
		"csrf token missing":                 {csrf: func(string, string) string { return "" }},
		"csrf token wrong":                   {csrf: func(v, _ string) string { return v[:len(v)-1] + differentChar(v[len(v)-1]) }},
		"csrf token of another browser":      {csrf: func(_, o string) string { return o }},
		"foreign Origin":                     {headers: []string{"Origin", "https://evil.example", "Sec-Fetch-Site", ""}},
		"cross-site Sec-Fetch-Site":          {headers: []string{"Sec-Fetch-Site", "cross-site"}},
		"null Origin without Sec-Fetch-Site": {headers: []string{"Sec-Fetch-Site", ""}},
	} {
		t.Run(name, func(t *testing.T) {
			forge := func(form url.Values, valid, other string) url.Values {
				form.Set("csrf", valid)
				if a.csrf != nil {
					form.Set("csrf", a.csrf(valid, other))
				}
				return form
			}
			da := requestDevice(t, cf.addr, "read")
			b := newBrowser(t)
			dev := deviceLogin(t, b, devicePath)

			r := b.post(devicePath, forge(url.Values{"user_code": {da.userCode}}, dev.field(t, "csrf"),
				otherDev.field(t, "csrf")), a.headers...)
			assert.Equal(t, http.StatusForbidden, r.status, r.body)
			assert.NotContains(t, r.body, demoDeviceClientName, "no code was looked up")
			checkPageHeaders(t, r, "403 page")

			confirm := submitCode(t, b, dev, da.userCode)
			require.Equal(t, http.StatusOK, confirm.status)
			r = b.post(deviceDecisionPath, forge(url.Values{"interaction": {confirm.field(t, "interaction")},
				"decision": {"approve"}}, confirm.field(t, "csrf"), otherConfirm.field(t, "csrf")), a.headers...)
			assert.Equal(t, http.StatusForbidden, r.status, r.body)
			assert.NotContains(t, r.body, "Return to your device")
			checkPageHeaders(t, r, "403 page")
			// Nothing was decided: the genuine form decides once.
			r = decideDevice(t, b, confirm, "deny")
			assert.Equal(t, http.StatusOK, r.status, r.body)
			assert.Contains(t, r.body, "Request denied")
		})
	}

	t.Run("a confirmation token is bound to its interaction", func(t *testing.T) {
		b := newBrowser(t)
		dev := deviceLogin(t, b, devicePath)
		first := submitCode(t, b, dev, requestDevice(t, cf.addr, "read").userCode)
		second := submitCode(t, b, dev, requestDevice(t, cf.addr, "read").userCode)
		r := b.post(deviceDecisionPath, url.Values{"interaction": {second.field(t, "interaction")},
			"csrf": {first.field(t, "csrf")}, "decision": {"approve"}})
		assert.Equal(t, http.StatusForbidden, r.status)
	})

	t.Run("logged out, the forms are refused", func(t *testing.T) {
		b := newBrowser(t)
		dev := deviceLogin(t, b, devicePath)
		confirm := submitCode(t, b, dev, requestDevice(t, cf.addr, "read").userCode)
		u, err := url.Parse(b.base)
		require.NoError(t, err)
		b.c.Jar.SetCookies(u, []*http.Cookie{{Name: "grantor-example-session", Path: "/", MaxAge: -1}})
		assert.Equal(t, http.StatusForbidden, submitCode(t, b, dev, "BBBB-BBBB").status)
		assert.Equal(t, http.StatusForbidden, decideDevice(t, b, confirm, "approve").status)
	})

	t.Run("another browser cannot decide, even logged in", func(t *testing.T) {
		// The attacker has the victim's interaction id and posts it with
		// a form of their own session: the token does not match, and the
		// interaction is bound to the victim's browser anyway.
		victim := newBrowser(t)
		confirm := submitCode(t, victim, deviceLogin(t, victim, devicePath), requestDevice(t, cf.addr, "read").userCode)
		r := otherBrowser.post(deviceDecisionPath, url.Values{"interaction": {confirm.field(t, "interaction")},
			"csrf": {confirm.field(t, "csrf")}, "decision": {"approve"}})
		assert.Equal(t, http.StatusForbidden, r.status)
		assert.Equal(t, http.StatusOK, decideDevice(t, victim, confirm, "approve").status)
	})
}

// poller is a device polling the token endpoint for its device code, as
// RFC 8628 §3.4–3.5 has it, in a goroutine of its own.
type poller struct {
	// pending receives a value after each authorization_pending answer;
	// done receives the final answer.
	pending chan struct{}
	done    chan *response
	errc    chan error
}

// startPolling starts polling the server at addr for da every interval
// (five seconds more after a slow_down), until an answer other than
// authorization_pending or slow_down, or until ctx ends.
func startPolling(ctx context.Context, addr string, da *deviceAuthorization) *poller {
	p := &poller{pending: make(chan struct{}, 1000), done: make(chan *response, 1), errc: make(chan error, 1)}
	go func() {
		interval := time.Duration(da.interval) * time.Second
		form := url.Values{"grant_type": {grant.GrantTypeDeviceCode}, "client_id": {demoDeviceClientID},
			"device_code": {da.deviceCode}}
		for {
			select {
			case <-ctx.Done():
				p.errc <- ctx.Err()
				return
			case <-time.After(interval):
			}
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+"/token", strings.NewReader(form.Encode()))
			if err != nil {
				p.errc <- err
				return
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				p.errc <- err
				return
			}
			r := &response{status: resp.StatusCode, header: resp.Header}
			err = json.NewDecoder(resp.Body).Decode(&r.body)
			resp.Body.Close()
			if err != nil {
				p.errc <- err
				return
			}
			switch r.str("error") {
			case "authorization_pending":
				p.pending <- struct{}{}
				continue
			case "slow_down":
				interval += 5 * time.Second
				continue
			}
			p.done <- r
			return
		}
	}()
	return p
}

// waitPending waits for an authorization_pending answer.
func (p *poller) waitPending(t *testing.T) {
	t.Helper()
	select {
	case <-p.pending:
	case r := <-p.done:
		t.Fatalf("the device got an answer before the user acted: %d %v", r.status, r.body)
	case err := <-p.errc:
		t.Fatal(err)
	case <-time.After(15 * time.Second):
		t.Fatal("the device got no answer")
	}
}

// checkPending checks that the device has had no final answer so far.
func (p *poller) checkPending(t *testing.T, msg string) {
	t.Helper()
	select {
	case r := <-p.done:
		t.Fatalf("%s, yet the device got an answer: %d %v", msg, r.status, r.body)
	case err := <-p.errc:
		t.Fatal(err)
	default:
	}
}

// wait returns the device's final answer.
func (p *poller) wait(t *testing.T) *response {
	t.Helper()
	select {
	case r := <-p.done:
		return r
	case err := <-p.errc:
		t.Fatal(err)
	case <-time.After(15 * time.Second):
		t.Fatal("the device got no final answer")
	}
	return nil
}

// golang.org/x/oauth2 completes the device flow as its users would: the
// endpoints from the metadata document (RFC 8414, RFC 8628 §4),
// Config.DeviceAuth, and Config.DeviceAccessToken polling while the user
// approves over HTTP; the refresh token then works through the same
// Config. A denial ends the polling with access_denied.
func TestOAuth2ClientDeviceFlow(t *testing.T) {
	addr, _ := startServer(t, "-device-interval", "1s")
	ctx := context.Background()
	resp, err := http.Get("http://" + addr + "/.well-known/oauth-authorization-server")
	require.NoError(t, err)
	var md struct {
		DeviceAuthorizationEndpoint string   `json:"device_authorization_endpoint"`
		TokenEndpoint               string   `json:"token_endpoint"`
		GrantTypesSupported         []string `json:"grant_types_supported"`
	}
	err = json.NewDecoder(resp.Body).Decode(&md)
	resp.Body.Close()
	require.NoError(t, err)
	assert.Equal(t, "http://"+addr+grant.DeviceAuthorizationPath, md.DeviceAuthorizationEndpoint)
	assert.Contains(t, md.GrantTypesSupported, grant.GrantTypeDeviceCode)
	cfg := &xoauth2.Config{ClientID: demoDeviceClientID, Scopes: []string{"read", "write"},
		Endpoint: xoauth2.Endpoint{DeviceAuthURL: md.DeviceAuthorizationEndpoint, TokenURL: md.TokenEndpoint,
			AuthStyle: xoauth2.AuthStyleInParams}}

	type result struct {
		tok *xoauth2.Token
		err error
	}
	// device starts a device authorization and polls for it in a
	// goroutine, as the device does while the user is at the page.
	device := func(t *testing.T) (*xoauth2.DeviceAuthResponse, <-chan result) {
		da, err := cfg.DeviceAuth(ctx)
		require.NoError(t, err)
		assert.Equal(t, "http://"+addr+devicePath, da.VerificationURI)
		assert.Equal(t, int64(1), da.Interval)
		assert.WithinDuration(t, time.Now().Add(grant.DefaultDeviceCodeLifetime), da.Expiry, time.Minute)
		res := make(chan result, 1)
		go func() {
			tok, err := cfg.DeviceAccessToken(ctx, da)
			res <- result{tok, err}
		}()
		return da, res
	}
	wait := func(t *testing.T, res <-chan result) result {
		t.Helper()
		select {
		case r := <-res:
			return r
		case <-time.After(15 * time.Second):
			t.Fatal("DeviceAccessToken did not return")
		}
		return result{}
	}
	b := newTestBrowser(t, addr)

	da, res := device(t)
	confirm := submitCode(t, b, deviceLogin(t, b, pagePath(t, da.VerificationURIComplete)), da.UserCode)
	require.Equal(t, http.StatusOK, confirm.status, confirm.body)
	time.Sleep(1500 * time.Millisecond) // a poll or two while the user reads the page
	select {
	case r := <-res:
		t.Fatalf("the device got an answer before the user approved: %v %v", r.tok, r.err)
	default:
	}
	require.Equal(t, http.StatusOK, decideDevice(t, b, confirm, "approve").status)
	r := wait(t, res)
	require.NoError(t, r.err)
	assert.Equal(t, "Bearer", r.tok.TokenType)
	// DeviceAccessToken sends the Config's scopes again; the answer omits
	// scope when it grants exactly those (RFC 6749 §5.1).
	if scope := r.tok.Extra("scope"); scope != nil {
		assert.Equal(t, "read write", scope)
	}
	require.NotEmpty(t, r.tok.RefreshToken)
	expired := *r.tok
	expired.Expiry = time.Now().Add(-time.Minute)
	fresh, err := cfg.TokenSource(ctx, &expired).Token()
	require.NoError(t, err)
	assert.NotEqual(t, r.tok.AccessToken, fresh.AccessToken)
	assert.NotEqual(t, r.tok.RefreshToken, fresh.RefreshToken, "rotated")

	da, res = device(t)
	dev := b.get(pagePath(t, da.VerificationURIComplete))
	require.Equal(t, http.StatusOK, dev.status, "logged in already")
	confirm = submitCode(t, b, dev, userCodeInput(t, dev))
	require.Equal(t, http.StatusOK, confirm.status, confirm.body)
	require.Equal(t, http.StatusOK, decideDevice(t, b, confirm, "deny").status)
	r = wait(t, res)
	var re *xoauth2.RetrieveError
	require.ErrorAs(t, r.err, &re)
	assert.Equal(t, "access_denied", re.ErrorCode)
	assert.Nil(t, r.tok)
}

// Every store the server offers carries the device flow: the device
// authorization, the interaction that verifies it, the decision and the
// one redemption (RFC 8628 §3.4–3.5), from the page to the token endpoint.
// The PostgreSQL case needs GRANTOR_TEST_POSTGRES, as
// TestPostgresStoreSurvivesRestart does.
func TestDeviceFlowInEveryStore(t *testing.T) {
	for _, storeFlag := range everyStore(t) {
		t.Run(strings.SplitN(storeFlag, ":", 2)[0], func(t *testing.T) {
			addr, _ := startServer(t, "-store", storeFlag, "-device-interval", "1s")
			approved, denied := requestDevice(t, addr, "read write"), requestDevice(t, addr, "read")
			b := newTestBrowser(t, addr)
			confirm := confirmDevice(t, b, approved)
			assert.Contains(t, confirm.body, demoDeviceClientName)
			r := poll(t, addr, approved.deviceCode)
			assert.Equal(t, "authorization_pending", r.str("error"), "%v", r.body)
			require.Equal(t, http.StatusOK, decideDevice(t, b, confirm, "approve").status)

			confirm = submitCode(t, b, b.get(devicePath), denied.userCode)
			require.Equal(t, http.StatusOK, confirm.status, confirm.body)
			require.Equal(t, http.StatusOK, decideDevice(t, b, confirm, "deny").status)
			r = poll(t, addr, denied.deviceCode)
			assert.Equal(t, "access_denied", r.str("error"), "%v", r.body)

			// The approved code was polled a moment ago: wait out its
			// interval.
			time.Sleep(time.Duration(approved.interval) * time.Second)
			r = poll(t, addr, approved.deviceCode)
			require.Equal(t, http.StatusOK, r.status, "%v", r.body)
			assert.Equal(t, "read write", r.str("scope"))
			time.Sleep(time.Duration(approved.interval) * time.Second)
			r = poll(t, addr, approved.deviceCode)
			assert.Equal(t, "invalid_grant", r.str("error"), "tokens once: %v", r.body)

			used := submitCode(t, b, b.get(devicePath), approved.userCode)
			assert.Equal(t, http.StatusBadRequest, used.status, "a used code")
		})
	}
}
