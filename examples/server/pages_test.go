package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	xoauth2 "golang.org/x/oauth2"

	"github.com/grantor-dev/grantor/storage/storagetest"
)

// testBrowser is a browser without JavaScript: it keeps cookies and
// follows no redirect by itself, so each hop can be checked.
type testBrowser struct {
	t    *testing.T
	base string
	c    *http.Client
	// remote, when set, is the client address a serveTest server sees.
	remote string
}

// newTestBrowser returns a browser with an empty cookie jar for the server
// at addr.
func newTestBrowser(t *testing.T, addr string) *testBrowser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &testBrowser{t: t, base: "http://" + addr, c: &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// page is a response as the tests look at it.
type page struct {
	status int
	header http.Header
	body   string
}

// location is the page's redirect target.
func (p *page) location() string { return p.header.Get("Location") }

// field returns the value of the hidden input name of the page's form.
func (p *page) field(t *testing.T, name string) string {
	t.Helper()
	m := regexp.MustCompile(`name="` + name + `" value="([^"]*)"`).FindStringSubmatch(p.body)
	require.Len(t, m, 2, "no %s field in:\n%s", name, p.body)
	return m[1]
}

// do sends req and reads the whole response.
func (b *testBrowser) do(req *http.Request) *page {
	b.t.Helper()
	if b.remote != "" {
		req.Header.Set(testRemoteAddr, b.remote)
	}
	resp, err := b.c.Do(req)
	require.NoError(b.t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(b.t, err)
	return &page{status: resp.StatusCode, header: resp.Header, body: string(body)}
}

// url makes a path absolute.
func (b *testBrowser) url(u string) string {
	if strings.HasPrefix(u, "/") {
		return b.base + u
	}
	return u
}

// get loads a page, without following a redirect.
func (b *testBrowser) get(u string) *page {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodGet, b.url(u), nil)
	require.NoError(b.t, err)
	return b.do(req)
}

// post submits a form as Chromium does from our pages, whose
// Referrer-Policy makes it send "Origin: null" with Sec-Fetch-Site. The
// headers argument replaces those (an empty value removes one).
func (b *testBrowser) post(path string, form url.Values, headers ...string) *page {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodPost, b.url(path), strings.NewReader(form.Encode()))
	require.NoError(b.t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "null")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] == "" {
			req.Header.Del(headers[i])
		} else {
			req.Header.Set(headers[i], headers[i+1])
		}
	}
	return b.do(req)
}

// flow is one running authorization of the demo web client.
type flow struct {
	b           *testBrowser
	interaction string
	verifier    string
	login       *page
}

// codeFlow is a running server with the demo web client's configuration,
// its redirect URI on a loopback callback listener.
type codeFlow struct {
	addr string
	cfg  *xoauth2.Config
	cb   *callback
}

// newCodeFlow starts a server with args and a callback listener.
func newCodeFlow(t *testing.T, args ...string) *codeFlow {
	t.Helper()
	addr, out := startServer(t, args...)
	cb := newCallback(t)
	return &codeFlow{addr: addr, cfg: demoWebConfig(t, addr, out.String(), cb.URL), cb: cb}
}

// start sends b through the authorization endpoint to the login page.
func (cf *codeFlow) start(t *testing.T, b *testBrowser, state string, opts ...xoauth2.AuthCodeOption) *flow {
	t.Helper()
	verifier := xoauth2.GenerateVerifier()
	opts = append(opts, xoauth2.S256ChallengeOption(verifier))
	r := b.get(cf.cfg.AuthCodeURL(state, opts...))
	require.Equal(t, http.StatusSeeOther, r.status, r.body)
	loc := r.location()
	require.True(t, strings.HasPrefix(loc, "/login?interaction="), loc)
	f := &flow{b: b, interaction: strings.TrimPrefix(loc, "/login?interaction="), verifier: verifier}
	f.login = b.get(loc)
	return f
}

// logIn submits the login form with the credentials and the page's token.
func (f *flow) logIn(t *testing.T, username, password string) *page {
	t.Helper()
	return f.b.post("/login", url.Values{"interaction": {f.interaction}, "csrf": {f.login.field(t, "csrf")},
		"username": {username}, "password": {password}})
}

// consent logs in as alice and returns the consent page.
func (f *flow) consent(t *testing.T) *page {
	t.Helper()
	r := f.logIn(t, demoUsername, demoPassword)
	require.Equal(t, http.StatusSeeOther, r.status, "RFC 9700 §4.12: 303 after a POST\n%s", r.body)
	require.Equal(t, "/consent?interaction="+f.interaction, r.location())
	c := f.b.get(r.location())
	require.Equal(t, http.StatusOK, c.status, c.body)
	return c
}

// decide submits the consent form.
func (f *flow) decide(t *testing.T, consent *page, decision string) *page {
	t.Helper()
	return f.b.post("/consent", url.Values{"interaction": {f.interaction}, "csrf": {consent.field(t, "csrf")},
		"decision": {decision}})
}

// checkPageHeaders checks the headers every page carries (RFC 9700 §4.16,
// §4.2.4).
func checkPageHeaders(t *testing.T, p *page, what string) {
	t.Helper()
	h := p.header
	assert.Equal(t, "DENY", h.Get("X-Frame-Options"), what)
	assert.Equal(t, "no-referrer", h.Get("Referrer-Policy"), what)
	assert.Equal(t, "no-store", h.Get("Cache-Control"), what)
	assert.Equal(t, "nosniff", h.Get("X-Content-Type-Options"), what)
	assert.Equal(t, "text/html; charset=utf-8", h.Get("Content-Type"), what)
	csp := h.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "frame-ancestors 'none'", "style-src 'self'", "form-action 'self'"} {
		assert.Contains(t, csp, want, what)
	}
	assert.NotContains(t, csp, "script-src", "%s: no script is allowed", what)
	assert.NotContains(t, csp, "unsafe", what)
	assert.NotContains(t, p.body, "<script", "%s: the pages work without JavaScript", what)
	assert.NotContains(t, p.body, " style=", "%s: no inline style", what)
	assert.NotContains(t, p.body, "http", "%s: no absolute link, so no third-party resource", what)
}

func TestApproveRedirectsWithCodeStateAndIss(t *testing.T) {
	cf := newCodeFlow(t)
	f := cf.start(t, newTestBrowser(t, cf.addr), "s1")
	assert.Contains(t, f.login.body, "Demo web app", "the login page names the client")
	consent := f.consent(t)
	assert.Contains(t, consent.body, "Demo web app")
	assert.Contains(t, consent.body, "Alice Liddell")
	assert.Contains(t, consent.body, "<code>read</code>")
	assert.Contains(t, consent.body, "<code>write</code>")

	r := f.decide(t, consent, "approve")
	require.Equal(t, http.StatusSeeOther, r.status, "RFC 9700 §4.12: 303, never 307\n%s", r.body)
	q := redirectQuery(t, r, cf.cb.URL)
	assert.Equal(t, "s1", q.Get("state"))
	assert.Equal(t, "http://"+cf.addr, q.Get("iss"))
	assert.True(t, strings.HasPrefix(q.Get("code"), "gr_ac_"), q.Get("code"))

	// Deciding twice is the error page, not a second code.
	again := f.decide(t, consent, "approve")
	assert.Equal(t, http.StatusBadRequest, again.status)
	assert.Empty(t, again.location())
	assert.Contains(t, again.body, "already completed")
}

// redirectQuery checks a redirect goes to prefix and returns its query.
func redirectQuery(t *testing.T, r *page, prefix string) url.Values {
	t.Helper()
	require.True(t, strings.HasPrefix(r.location(), prefix+"?"), "%q does not go to %s", r.location(), prefix)
	u, err := url.Parse(r.location())
	require.NoError(t, err)
	return u.Query()
}

func TestDenyRedirectsWithAccessDenied(t *testing.T) {
	cf := newCodeFlow(t)
	f := cf.start(t, newTestBrowser(t, cf.addr), "s2")
	r := f.decide(t, f.consent(t), "deny")
	require.Equal(t, http.StatusSeeOther, r.status, r.body)
	q := redirectQuery(t, r, cf.cb.URL)
	assert.Equal(t, "access_denied", q.Get("error"))
	assert.Equal(t, "s2", q.Get("state"))
	assert.Equal(t, "http://"+cf.addr, q.Get("iss"))
	assert.Empty(t, q.Get("code"))
}

func TestUnknownDecisionIsAnError(t *testing.T) {
	cf := newCodeFlow(t)
	f := cf.start(t, newTestBrowser(t, cf.addr), "s")
	consent := f.consent(t)
	r := f.decide(t, consent, "maybe")
	assert.Equal(t, http.StatusBadRequest, r.status)
	assert.Empty(t, r.location())
	// The interaction is still open.
	r = f.decide(t, consent, "approve")
	assert.NotEmpty(t, redirectQuery(t, r, cf.cb.URL).Get("code"))
}

// A storage failure while a page looks up or completes an interaction is
// a temporary problem: 503 with Retry-After and a page that says to try
// again, not the 400 that sends the user back to the start. Once the store
// is back, doing the same again goes on where the user was.
func TestStorageFailureIsATemporaryError(t *testing.T) {
	type action func(t *testing.T, f *flow, consent *page) *page
	getLogin := func(t *testing.T, f *flow, _ *page) *page { return f.b.get("/login?interaction=" + f.interaction) }
	postLogin := func(t *testing.T, f *flow, _ *page) *page { return f.logIn(t, demoUsername, demoPassword) }
	getConsent := func(t *testing.T, f *flow, _ *page) *page { return f.b.get("/consent?interaction=" + f.interaction) }
	approve := func(t *testing.T, f *flow, c *page) *page { return f.decide(t, c, "approve") }
	deny := func(t *testing.T, f *flow, c *page) *page { return f.decide(t, c, "deny") }
	for name, c := range map[string]struct {
		op        storagetest.Op
		loggedIn  bool
		act       action
		retryWant int
	}{
		"the login page, reading the interaction":   {storagetest.OpInteraction, false, getLogin, http.StatusOK},
		"the login page, reading the client":        {storagetest.OpClient, false, getLogin, http.StatusOK},
		"logging in, reading the interaction":       {storagetest.OpInteraction, false, postLogin, http.StatusSeeOther},
		"the consent page, reading the interaction": {storagetest.OpInteraction, true, getConsent, http.StatusOK},
		"the consent page, reading the client":      {storagetest.OpClient, true, getConsent, http.StatusOK},
		"approving, reading the interaction":        {storagetest.OpInteraction, true, approve, http.StatusSeeOther},
		"approving, completing the interaction":     {storagetest.OpCompleteInteraction, true, approve, http.StatusSeeOther},
		"denying, completing the interaction":       {storagetest.OpCompleteInteraction, true, deny, http.StatusSeeOther},
	} {
		t.Run(name, func(t *testing.T) {
			st, faults := newFaultyStore()
			_, cf := serveTest(t, st)
			f := cf.start(t, newTestBrowser(t, cf.addr), "s")
			var consent *page
			if c.loggedIn {
				consent = f.consent(t)
			}

			faults.Fail(c.op, nil)
			r := c.act(t, f, consent)
			faults.Heal()
			assert.Equal(t, http.StatusServiceUnavailable, r.status, r.body)
			retry, err := strconv.Atoi(r.header.Get("Retry-After"))
			assert.NoError(t, err, "Retry-After is a number of seconds")
			assert.Positive(t, retry)
			assert.Contains(t, r.body, "temporary problem")
			assert.Contains(t, r.body, "try again")
			assert.NotContains(t, r.body, "start again", "nothing is lost: no need to start over")
			assert.NotContains(t, r.body, storagetest.ErrInjected.Error(), "the cause stays in the server")
			assert.Empty(t, r.location())
			checkPageHeaders(t, r, "503 page")

			r = c.act(t, f, consent)
			assert.Equal(t, c.retryWant, r.status, "the same request, once the store is back\n%s", r.body)
		})
	}
}

func TestWrongPasswordShowsTheFormAgain(t *testing.T) {
	cf := newCodeFlow(t)
	b := newTestBrowser(t, cf.addr)
	f := cf.start(t, b, "s")
	first := f.login
	wrong := f.logIn(t, demoUsername, "looking-glass")
	assert.Equal(t, http.StatusUnauthorized, wrong.status)
	assert.Contains(t, wrong.body, "Wrong username or password.")
	assert.Contains(t, wrong.body, `value="alice"`, "the username is kept")
	assert.NotContains(t, wrong.body, "looking-glass", "the password is not")
	checkPageHeaders(t, wrong, "failed login")

	// A failure issues a fresh token; the failed attempt's no longer passes.
	assert.NotEqual(t, first.field(t, "csrf"), wrong.field(t, "csrf"))
	r := f.logIn(t, demoUsername, demoPassword)
	assert.Equal(t, http.StatusForbidden, r.status, "the failed attempt's token, replayed")
	f.login = wrong

	unknown := f.logIn(t, "bob", "looking-glass")
	assert.Equal(t, wrong.status, unknown.status)
	assert.Equal(t, withoutCSRF(strings.Replace(wrong.body, `value="alice"`, `value="bob"`, 1)), withoutCSRF(unknown.body),
		"an unknown user looks exactly like a wrong password")
	f.login = unknown

	empty := f.logIn(t, "", "")
	assert.Equal(t, http.StatusUnauthorized, empty.status)
	f.login = empty

	// Not logged in: the consent page sends back to the login page.
	r = b.get("/consent?interaction=" + f.interaction)
	assert.Equal(t, http.StatusSeeOther, r.status)
	assert.Equal(t, "/login?interaction="+f.interaction, r.location())

	// The form of the last failure page works.
	assert.Equal(t, http.StatusSeeOther, f.logIn(t, demoUsername, demoPassword).status)
}

// csrfField matches the CSRF token of a form.
var csrfField = regexp.MustCompile(`name="csrf" value="[^"]*"`)

// withoutCSRF blanks the CSRF token of a page, to compare pages that
// differ only by it.
func withoutCSRF(body string) string {
	return csrfField.ReplaceAllString(body, `name="csrf" value=""`)
}

// RFC 6749 §10.12: a POST without the right CSRF token, or from another
// origin, is refused with 403 and changes nothing: afterwards the user is
// still logged out, or the interaction is still open.
func TestForgedPostsAreRefused(t *testing.T) {
	// Alice logs in once per case: each browser has an address of its
	// own, so that the login limits (throttle.go) stay out of the way.
	_, cf := serveTest(t, newMemoryStore())
	var browsers atomic.Int32
	newBrowser := func(t *testing.T) *testBrowser {
		b := newTestBrowser(t, cf.addr)
		b.remote = fmt.Sprintf("192.0.2.%d:4000", browsers.Add(1))
		return b
	}
	type attack struct {
		csrf    func(valid, other string) string
		headers []string
	}
	attacks := map[string]attack{
		"csrf token missing":                  {csrf: func(string, string) string { return "" }},
		"csrf token wrong":                    {csrf: func(v, _ string) string { return v[:len(v)-1] + differentChar(v[len(v)-1]) }},
		"csrf token not base64":               {csrf: func(string, string) string { return "%%%" }},
		"csrf token of another browser":       {csrf: func(_, o string) string { return o }},
		"foreign Origin":                      {headers: []string{"Origin", "https://evil.example", "Sec-Fetch-Site", ""}},
		"foreign Origin, same-site claim":     {headers: []string{"Origin", "https://evil.example"}},
		"cross-site Sec-Fetch-Site":           {headers: []string{"Sec-Fetch-Site", "cross-site"}},
		"same-site Sec-Fetch-Site":            {headers: []string{"Sec-Fetch-Site", "same-site"}},
		"null Origin without Sec-Fetch-Site":  {headers: []string{"Sec-Fetch-Site", ""}},
		"issuer origin with another port":     {headers: []string{"Origin", "http://127.0.0.1:1", "Sec-Fetch-Site", ""}},
		"cross-site even with issuer origin?": {headers: []string{"Sec-Fetch-Site", "cross-site", "Origin", "ISSUER"}},
	}
	// other is a valid token of another browser's session.
	otherFlow := cf.start(t, newBrowser(t), "other")
	other := otherFlow.login.field(t, "csrf")

	for name, a := range attacks {
		t.Run(name, func(t *testing.T) {
			headers := append([]string(nil), a.headers...)
			for i := range headers {
				if headers[i] == "ISSUER" {
					headers[i] = "http://" + cf.addr
				}
			}
			forge := func(form url.Values, valid string) url.Values {
				if a.csrf != nil {
					form.Set("csrf", a.csrf(valid, other))
				} else {
					form.Set("csrf", valid)
				}
				return form
			}

			// The login form.
			b := newBrowser(t)
			f := cf.start(t, b, "s")
			r := b.post("/login", forge(url.Values{"interaction": {f.interaction}, "username": {demoUsername},
				"password": {demoPassword}}, f.login.field(t, "csrf")), headers...)
			assert.Equal(t, http.StatusForbidden, r.status, r.body)
			assert.Empty(t, r.location())
			checkPageHeaders(t, r, "403 page")
			r = b.get("/consent?interaction=" + f.interaction)
			assert.Equal(t, "/login?interaction="+f.interaction, r.location(), "not logged in")

			// The consent form.
			consent := f.consent(t)
			r = b.post("/consent", forge(url.Values{"interaction": {f.interaction}, "decision": {"approve"}},
				consent.field(t, "csrf")), headers...)
			assert.Equal(t, http.StatusForbidden, r.status, r.body)
			assert.Empty(t, r.location(), "no code")
			// No grant was made: the interaction is still open and decides
			// once, with the genuine form.
			r = f.decide(t, consent, "approve")
			assert.NotEmpty(t, redirectQuery(t, r, cf.cb.URL).Get("code"))
		})
	}

	t.Run("a token is bound to its interaction", func(t *testing.T) {
		b := newBrowser(t)
		f1 := cf.start(t, b, "s1")
		f2 := cf.start(t, b, "s2")
		r := b.post("/login", url.Values{"interaction": {f2.interaction}, "csrf": {f1.login.field(t, "csrf")},
			"username": {demoUsername}, "password": {demoPassword}})
		assert.Equal(t, http.StatusForbidden, r.status)
	})

	t.Run("a login token needs its browser's login cookie", func(t *testing.T) {
		b := newBrowser(t)
		f := cf.start(t, b, "s")
		u, err := url.Parse(b.base)
		require.NoError(t, err)
		b.c.Jar.SetCookies(u, []*http.Cookie{{Name: "grantor-example-login", Path: "/", MaxAge: -1}})
		r := f.logIn(t, demoUsername, demoPassword)
		assert.Equal(t, http.StatusForbidden, r.status)
	})

	t.Run("the issuer's own origin passes", func(t *testing.T) {
		b := newBrowser(t)
		f := cf.start(t, b, "s")
		r := b.post("/login", url.Values{"interaction": {f.interaction}, "csrf": {f.login.field(t, "csrf")},
			"username": {demoUsername}, "password": {demoPassword}}, "Origin", "http://"+cf.addr, "Sec-Fetch-Site", "")
		assert.Equal(t, http.StatusSeeOther, r.status, r.body)
	})
}

// RFC 9700 §4.16 and §4.2.4: the login, consent and error pages all carry
// the headers checkPageHeaders checks.
func TestHeadersOnEveryPage(t *testing.T) {
	cf := newCodeFlow(t)
	b := newTestBrowser(t, cf.addr)
	f := cf.start(t, b, "s")
	checkPageHeaders(t, f.login, "login page")
	consent := f.consent(t)
	checkPageHeaders(t, consent, "consent page")
	assert.Regexp(t, `form-action 'self' http://127\.0\.0\.1:\d+;`, consent.header.Get("Content-Security-Policy"),
		"the answer may go on to the request's own loopback redirect URI, and nowhere else")

	r := b.get("/login?interaction=nope")
	assert.Equal(t, http.StatusBadRequest, r.status)
	checkPageHeaders(t, r, "error page")

	// Grantor's own unredirectable errors use our error page.
	r = b.get("/authorize?response_type=code&client_id=nobody&redirect_uri=https://evil.example/cb")
	assert.Equal(t, http.StatusBadRequest, r.status, r.body)
	assert.Empty(t, r.location())
	checkPageHeaders(t, r, "Grantor's error page")
	assert.Contains(t, r.body, "Grantor example", "the application's template")
	assert.Contains(t, r.body, "<code>invalid_client</code>")
	assert.NotContains(t, r.body, "evil.example")

	// The redirect to the client after consent.
	r = f.decide(t, consent, "approve")
	assert.Equal(t, http.StatusSeeOther, r.status)
	assert.Equal(t, "no-referrer", r.header.Get("Referrer-Policy"))
	assert.Equal(t, "no-store", r.header.Get("Cache-Control"))

	css := b.get("/static/style.css")
	assert.Equal(t, http.StatusOK, css.status)
	assert.Equal(t, "text/css; charset=utf-8", css.header.Get("Content-Type"))
}

func TestInteractionFromAnotherBrowserIsAnError(t *testing.T) {
	cf := newCodeFlow(t)
	victim := newTestBrowser(t, cf.addr)
	f := cf.start(t, victim, "s")
	consent := f.consent(t)

	// Another browser, logged in itself, opens the victim's interaction.
	attacker := newTestBrowser(t, cf.addr)
	g := cf.start(t, attacker, "a")
	g.consent(t)
	for _, path := range []string{"/login", "/consent"} {
		r := attacker.get(path + "?interaction=" + f.interaction)
		assert.Equal(t, http.StatusBadRequest, r.status, path)
		assert.Contains(t, r.body, "started in another browser", path)
		assert.Empty(t, r.location())
		checkPageHeaders(t, r, path)
	}
	// Even with the victim's token, the attacker's session does not match.
	r := attacker.post("/consent", url.Values{"interaction": {f.interaction}, "csrf": {consent.field(t, "csrf")},
		"decision": {"approve"}})
	assert.Equal(t, http.StatusForbidden, r.status)

	for _, id := range []string{"", "nope", strings.Repeat("A", 43)} {
		r := victim.get("/login?interaction=" + id)
		assert.Equal(t, http.StatusBadRequest, r.status, id)
		assert.Contains(t, r.body, "unknown, has expired or was already completed", id)
	}
}

func TestLoggedInUserSkipsLoginUnlessPromptLogin(t *testing.T) {
	cf := newCodeFlow(t)
	b := newTestBrowser(t, cf.addr)
	f := cf.start(t, b, "first")
	assert.Nil(t, cookieNamed(t, b, "grantor-example-session"), "no session before login")
	f.consent(t)
	first := cookieNamed(t, b, "grantor-example-session")
	require.NotNil(t, first, "a session at login")

	second := cf.start(t, b, "second")
	assert.Equal(t, http.StatusSeeOther, second.login.status, "no login form with a session")
	assert.Equal(t, "/consent?interaction="+second.interaction, second.login.location())

	third := cf.start(t, b, "third", xoauth2.SetAuthURLParam("prompt", "login"))
	assert.Equal(t, http.StatusOK, third.login.status, "prompt=login asks again")
	assert.Contains(t, third.login.body, `name="password"`)
	r := b.get("/consent?interaction=" + third.interaction)
	assert.Equal(t, "/login?interaction="+third.interaction, r.location(), "consent waits for the new login")
	third.consent(t)
	again := cookieNamed(t, b, "grantor-example-session")
	require.NotNil(t, again)
	assert.NotEqual(t, first.Value, again.Value, "a new session id at each login")
}

// cookieNamed returns the browser's cookie of that name, or nil.
func cookieNamed(t *testing.T, b *testBrowser, name string) *http.Cookie {
	t.Helper()
	u, err := url.Parse(b.base)
	require.NoError(t, err)
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func TestSessionCookieAttributes(t *testing.T) {
	cf := newCodeFlow(t)
	f := cf.start(t, newTestBrowser(t, cf.addr), "s")
	// The login form's nonce cookie, the only one a visitor gets from us.
	cookies := (&http.Response{Header: f.login.header}).Cookies()
	require.Len(t, cookies, 1)
	c := cookies[0]
	assert.Equal(t, "grantor-example-login", c.Name)
	assert.True(t, c.HttpOnly)
	assert.Equal(t, http.SameSiteLaxMode, c.SameSite)
	assert.False(t, c.Secure, "http issuer")
	assert.Equal(t, "/", c.Path)

	r := f.logIn(t, demoUsername, demoPassword)
	c = nil
	for _, k := range (&http.Response{Header: r.header}).Cookies() {
		if k.Name == "grantor-example-session" {
			c = k
		}
	}
	require.NotNil(t, c, "the session cookie")
	assert.True(t, c.HttpOnly)
	assert.Equal(t, http.SameSiteLaxMode, c.SameSite)
	assert.False(t, c.Secure, "http issuer")
	assert.Equal(t, "/", c.Path)

	u, err := newUsers()
	require.NoError(t, err)
	pg, err := newPages("https://as.example", u)
	require.NoError(t, err)
	assert.True(t, pg.secure)
	assert.Equal(t, "__Host-grantor-example-session", pg.cookieName)
	assert.Equal(t, "__Host-grantor-example-login", pg.loginCookieName)
	assert.Equal(t, "https://as.example", pg.origin)
}

func TestConsentCSPAllowsOnlyTheRequestsRedirectOrigin(t *testing.T) {
	for uri, want := range map[string]string{
		"http://127.0.0.1/callback":      "http://127.0.0.1",
		"http://127.0.0.1:8000/callback": "http://127.0.0.1:8000",
		"http://[::1]/cb":                "http:",
		"https://app.example/cb":         "https://app.example",
		"https://app.example:8443/cb?x=": "https://app.example:8443",
		"com.example.app:/oauth":         "com.example.app:",
	} {
		got, ok := redirectSource(uri)
		assert.True(t, ok, uri)
		assert.Equal(t, want, got, uri)
	}
	for _, uri := range []string{"", "/relative", "%zz"} {
		_, ok := redirectSource(uri)
		assert.False(t, ok, uri)
	}
	assert.Contains(t, consentCSP("https://a.example/1"), "form-action 'self' https://a.example;")
	assert.Contains(t, consentCSP("%zz"), "form-action 'self';")
}

func TestUsersFileIsLoadedAndPasswordsHashed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "users.json")
	require.NoError(t, os.WriteFile(path, []byte(`[
		{"username": "bob", "password": "builder of things", "name": "Bob"},
		{"username": "carol", "password": "c4r0l-pass"}
	]`), 0o600))
	var out bytes.Buffer
	srv, err := newServer(context.Background(), options{issuer: "http://127.0.0.1:1", tokens: "opaque", users: path}, newMemoryStore(), &out)
	require.NoError(t, err)
	assert.Contains(t, out.String(), "loaded 2 users from "+path)
	assert.NotContains(t, out.String(), "builder of things")
	for _, name := range []string{"alice", "bob", "carol"} {
		u := srv.users.byName[name]
		require.NotNil(t, u, name)
		assert.True(t, strings.HasPrefix(u.hash, "$argon2id$"), u.hash)
	}
	assert.NotContains(t, srv.users.byName["bob"].hash, "builder")
	assert.Equal(t, "carol", srv.users.byName["carol"].Name, "the name defaults to the username")

	u, err := srv.users.authenticate("bob", "builder of things")
	require.NoError(t, err)
	assert.Equal(t, "Bob", u.Name)
	_, err = srv.users.authenticate("bob", "builder of thing")
	assert.ErrorIs(t, err, errBadCredentials)

	// And through the pages.
	cf := newCodeFlow(t, "-users", path)
	f := cf.start(t, newTestBrowser(t, cf.addr), "s")
	r := f.logIn(t, "carol", "c4r0l-pass")
	assert.Equal(t, http.StatusSeeOther, r.status, r.body)
}

func TestBadUsersFileIsAnError(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"not json":           `[{`,
		"not an array":       `{"username": "bob", "password": "x"}`,
		"unknown field":      `[{"username": "bob", "pasword": "x"}]`,
		"no password":        `[{"username": "bob"}]`,
		"no username":        `[{"password": "x"}]`,
		"spaces in username": `[{"username": " bob", "password": "x"}]`,
		"duplicate":          `[{"username": "bob", "password": "x"}, {"username": "bob", "password": "y"}]`,
		"the demo user":      `[{"username": "alice", "password": "x"}]`,
		"trailing data":      `[] []`,
	} {
		path := filepath.Join(dir, strings.ReplaceAll(name, " ", "_")+".json")
		require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
		_, err := newServer(context.Background(), options{issuer: "http://127.0.0.1:1", tokens: "opaque", users: path}, newMemoryStore(), &bytes.Buffer{})
		assert.Error(t, err, name)
	}
	_, err := newServer(context.Background(), options{issuer: "http://127.0.0.1:1", tokens: "opaque", users: filepath.Join(dir, "missing.json")}, newMemoryStore(), &bytes.Buffer{})
	assert.Error(t, err)
}

// An unknown user costs one password verification, like a known one, so
// the time of the answer does not tell which usernames exist.
func TestUnknownUserCostsOneVerification(t *testing.T) {
	u, err := newUsers()
	require.NoError(t, err)
	var hashes []string
	verify := u.verify
	u.verify = func(hash, password string) error {
		hashes = append(hashes, hash)
		return verify(hash, password)
	}
	for _, c := range []struct{ user, password string }{
		{"alice", "wonderland"}, {"alice", "wrong"}, {"nobody", "wonderland"}, {"nobody", ""},
	} {
		hashes = nil
		_, err := u.authenticate(c.user, c.password)
		assert.Equal(t, c.user == "alice" && c.password == "wonderland", err == nil, c)
		require.Len(t, hashes, 1, c)
		assert.True(t, strings.HasPrefix(hashes[0], "$argon2id$"), "the same kind of hash for %v", c)
	}
	// The dummy hash matches nothing.
	_, err = u.authenticate("", "")
	assert.ErrorIs(t, err, errBadCredentials)
}

// golang.org/x/oauth2 runs the code flow with PKCE against the server,
// the browser part played by a cookie-keeping HTTP client that follows
// the last redirect to a callback listener, then refreshes.
func TestOAuth2ClientCodeFlowWithPKCEAndRefresh(t *testing.T) {
	cf := newCodeFlow(t)
	ctx := context.Background()
	b := newTestBrowser(t, cf.addr)
	f := cf.start(t, b, "xyz")
	r := f.decide(t, f.consent(t), "approve")
	require.Equal(t, http.StatusSeeOther, r.status)
	cb := b.get(r.location())
	require.Equal(t, http.StatusOK, cb.status)
	q := <-cf.cb.queries
	assert.Equal(t, "xyz", q.Get("state"))
	assert.Equal(t, "http://"+cf.addr, q.Get("iss"))

	// A wrong verifier is refused, which proves PKCE is checked; the code
	// survives a failed redemption (RFC 9700 §4.8.2 is about replays, not
	// this).
	_, err := cf.cfg.Exchange(ctx, q.Get("code"), xoauth2.VerifierOption(xoauth2.GenerateVerifier()))
	require.Error(t, err)
	tok, err := cf.cfg.Exchange(ctx, q.Get("code"), xoauth2.VerifierOption(f.verifier))
	require.NoError(t, err)
	assert.Equal(t, "Bearer", tok.TokenType)
	assert.Equal(t, "read write", tok.Extra("scope"))
	require.NotEmpty(t, tok.RefreshToken)

	// The token source refreshes an expired token.
	expired := *tok
	expired.Expiry = time.Now().Add(-time.Minute)
	fresh, err := cf.cfg.TokenSource(ctx, &expired).Token()
	require.NoError(t, err)
	assert.NotEqual(t, tok.AccessToken, fresh.AccessToken)
	assert.NotEqual(t, tok.RefreshToken, fresh.RefreshToken, "rotated")
	assert.True(t, fresh.Valid())

	// A second redemption of the code is invalid_grant, and revokes the
	// grant's tokens (RFC 6749 §4.1.2).
	_, err = cf.cfg.Exchange(ctx, q.Get("code"), xoauth2.VerifierOption(f.verifier))
	var re *xoauth2.RetrieveError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, "invalid_grant", re.ErrorCode)
	fresh.Expiry = time.Now().Add(-time.Minute)
	_, err = cf.cfg.TokenSource(ctx, fresh).Token()
	assert.Error(t, err, "the refresh token died with the grant")
}

// differentChar returns a one-character string other than c.
func differentChar(c byte) string {
	if c == 'A' {
		return "B"
	}
	return "A"
}
