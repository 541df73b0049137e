package main

import (
	"crypto/rand"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/grantor-dev/grantor/oauth2"
	"github.com/grantor-dev/grantor/oidc"
	"github.com/grantor-dev/grantor/storage"
	"github.com/grantor-dev/grantor/storage/memory"
)

// templateFS holds the HTML templates and the one stylesheet. Pages load
// nothing else: no script, no third-party resource (RFC 9700 §4.2.4).
//
//go:embed templates
var templateFS embed.FS

// maxFormBytes bounds the body of the login and consent forms.
const maxFormBytes = 16 << 10

// pages are the application's own login, consent, logout and error pages:
// the part of an authorization server that Grantor leaves to its host,
// which signs the user in and asks for consent. They find the pending
// request with Provider.PendingAuthorization and end it with Approve or
// Deny; the Provider writes the redirect to the client. The device page
// (devicepage.go) does the same for the device grant, by user code, and
// the OpenID Provider shows the logout pages (openid.go).
type pages struct {
	provider *oauth2.Provider
	// openID is the OpenID Provider (openid.go), whose LoginContext
	// decides the login of OpenID Connect requests; set with provider.
	// Nil: every request is an OAuth request.
	openID   *oidc.Provider
	users    *users
	sessions *sessionStore
	// consents are the scopes users allowed clients on the consent page,
	// which answer prompt=none (consents.go).
	consents *consents
	// csrfKey keys the HMAC that derives each form's CSRF token (csrf.go)
	// and each device cookie's entry (devicecookie.go).
	csrfKey []byte
	// origin is the issuer's origin, the only one our forms may be
	// posted from (RFC 6749 §10.12).
	origin string
	// secure marks cookies Secure, and __Host- prefixed, when the issuer
	// is https.
	secure bool
	// cookieName names the session cookie.
	cookieName string
	// loginCookieName names the login form's nonce cookie (csrf.go).
	loginCookieName string
	// deviceCookieName names the device cookie (devicecookie.go).
	deviceCookieName string
	clock            func() time.Time
	templates        map[string]*template.Template
	// logger records what users are not shown, such as why storage
	// failed.
	logger *slog.Logger
	// limiter counts login attempts (throttle.go). A cluster of servers
	// would share one kept in its database.
	limiter storage.Limiter
	// verifySlots holds one element for each password verification
	// running; verifyWait bounds the wait for a free slot (throttle.go).
	verifySlots chan struct{}
	verifyWait  time.Duration
}

// newPages returns the pages of an authorization server with this issuer.
// The provider is set once it is built, since its Config.ErrorPage needs
// the pages first.
func newPages(issuer string, u *users) (*pages, error) {
	iu, err := url.Parse(issuer)
	if err != nil {
		return nil, err
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	pg := &pages{
		users:            u,
		sessions:         newSessionStore(maxSessions, maxSessionsPerUser),
		consents:         newConsents(maxConsents),
		csrfKey:          key,
		origin:           iu.Scheme + "://" + iu.Host,
		secure:           iu.Scheme == "https",
		cookieName:       "grantor-example-session",
		loginCookieName:  "grantor-example-login",
		deviceCookieName: "grantor-example-device",
		clock:            time.Now,
		templates:        make(map[string]*template.Template),
		logger:           slog.New(slog.DiscardHandler),
		limiter:          memory.NewLimiter(loginLimiterKeys),
		verifySlots:      make(chan struct{}, maxConcurrentVerifications),
		verifyWait:       maxVerifyWait,
	}
	if pg.secure {
		// __Host-: the browser refuses it unless Secure, Path=/ and
		// host-only, so a sibling subdomain cannot plant one. For the
		// login cookie this is what makes the double-submit pattern hold.
		pg.cookieName = "__Host-grantor-example-session"
		pg.loginCookieName = "__Host-grantor-example-login"
		pg.deviceCookieName = "__Host-grantor-example-device"
	}
	for _, name := range []string{"login.html", "consent.html", "error.html", "device.html", "device_confirm.html", "device_done.html",
		"logout.html", "logged_out.html"} {
		t, err := template.New("layout.html").ParseFS(templateFS, "templates/layout.html", "templates/"+name)
		if err != nil {
			return nil, err
		}
		pg.templates[name] = t
	}
	return pg, nil
}

// register mounts the pages on mux, next to the Provider's endpoints.
func (pg *pages) register(mux *http.ServeMux) {
	mux.HandleFunc("GET /login", pg.showLogin)
	mux.HandleFunc("POST /login", pg.login)
	mux.HandleFunc("GET /consent", pg.showConsent)
	mux.HandleFunc("POST /consent", pg.decide)
	mux.HandleFunc("GET "+devicePath, pg.showDevice)
	mux.HandleFunc("POST "+devicePath, pg.submitUserCode)
	mux.HandleFunc("POST "+deviceDecisionPath, pg.decideDevice)
	mux.HandleFunc("GET /static/style.css", pg.stylesheet)
}

// pageCSP allows the stylesheet and forms posted to ourselves, and nothing
// else: no script at all, no framing (RFC 9700 §4.16).
const pageCSP = "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// consentCSP is the policy of the consent page. Its form is posted to
// ourselves, but the answer is a 303 to the client's redirect URI, and
// Chromium checks form-action on every redirect of a form submission: with
// 'self' alone it blocks the way back to the client. So the origin of the
// request's redirect URI is added, and nothing else.
func consentCSP(redirectURI string) string {
	sources := []string{"'self'"}
	if src, ok := redirectSource(redirectURI); ok {
		sources = append(sources, src)
	}
	return "default-src 'none'; style-src 'self'; form-action " + strings.Join(sources, " ") +
		"; frame-ancestors 'none'; base-uri 'none'"
}

// redirectSource is the CSP source expression (CSP3 §2.3.1) that matches
// a redirect URI's origin.
func redirectSource(redirectURI string) (string, bool) {
	u, err := url.Parse(redirectURI)
	if err != nil || u.Scheme == "" {
		return "", false
	}
	var src string
	switch {
	case u.Host == "":
		// A private-use scheme of a native app (RFC 8252 §7.1).
		src = u.Scheme + ":"
	case u.Scheme == "http" && u.Hostname() == "127.0.0.1":
		// The request's own port (RFC 8252 §7.3) is in u.Host; keep it.
		src = "http://" + u.Host
	case u.Scheme == "http" && u.Hostname() == "::1":
		// A CSP host cannot be an IPv6 literal: only the scheme can be
		// named.
		src = "http:"
	default:
		src = u.Scheme + "://" + u.Host
	}
	// Registration already refused odd URIs; still, nothing but URI
	// characters may reach the header, so no ';' can end the directive.
	if strings.ContainsFunc(src, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune(".-+:/*[]", r))
	}) {
		return "", false
	}
	return src, true
}

// setPageHeaders sets the headers of every page (RFC 9700 §4.16, §4.2.4):
// no framing, no referrer (the URL holds the interaction id), no caching
// (the pages hold CSRF tokens), and a policy that runs no script.
func setPageHeaders(h http.Header, csp string) {
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", csp)
}

// pageData is what the templates see.
type pageData struct {
	Title       string
	ClientName  string
	Interaction string
	CSRF        string
	// Username refills the login form after a failure.
	Username string
	// Error is the login form's message.
	Error string
	// UserName is who is logged in, on the consent page.
	UserName string
	Scopes   []scopeView
	// Message explains an error page.
	Message string
	// Code is the OAuth error code on Grantor's error pages.
	Code string
	// Next is where a login form not made for an interaction returns to
	// (the device page, which needs a logged-in user).
	Next string
	// UserCode is the user code of the device pages: as typed, in the
	// code form; as the device shows it, on the confirmation page.
	UserCode string
	// Retry is a page of ours where the user may try again, linked from
	// an error page.
	Retry string
	// Action and Hidden are the target and the hidden fields of the
	// logout confirmation form (openid.go).
	Action string
	Hidden []hiddenField
}

// scopeView is a scope as the consent page lists it.
type scopeView struct{ Name, Description string }

// scopeDescriptions say what each scope lets the client do.
var scopeDescriptions = map[string]string{
	"read":  "Read your data",
	"write": "Change your data",
	// OpenID Connect Core §3.1.2.1, §5.4.
	"openid":  "Know who you are",
	"profile": "See your name and username",
	"email":   "See your email address",
}

// render writes a page. Only the consent page passes a csp of its own.
func (pg *pages) render(w http.ResponseWriter, status int, name, csp string, data pageData) {
	setPageHeaders(w.Header(), csp)
	w.WriteHeader(status)
	// An error here is a broken connection: nothing more can be sent.
	_ = pg.templates[name].Execute(w, data)
}

// renderError shows the error page: for every error of our own pages and,
// through Config.ErrorPage, for Grantor's errors that cannot be
// redirected to a client.
func (pg *pages) renderError(w http.ResponseWriter, status int, title, message string) {
	pg.render(w, status, "error.html", pageCSP, pageData{Title: title, Message: message})
}

// grantorError is Config.ErrorPage: the authorization endpoint's errors
// that must not be redirected (an unknown client or redirect URI, RFC 6749
// §4.1.2.1) in the application's own look.
func (pg *pages) grantorError(w http.ResponseWriter, _ *http.Request, oe *oauth2.Error) {
	for k, vs := range oe.Header {
		w.Header()[k] = vs
	}
	pg.render(w, oe.HTTPStatus(), "error.html", pageCSP, pageData{
		Title: "The request could not be processed", Code: string(oe.Code), Message: oe.Description,
	})
}

// interactionError shows why an interaction cannot go on. An unknown,
// finished or foreign interaction is a 400: the user has to start again
// from the application. Any other error of PendingAuthorization, Approve
// or Deny is storage failing, and the interaction is still there: the user
// only has to try again.
func (pg *pages) interactionError(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, oauth2.ErrInteractionNotFound):
		pg.renderError(w, http.StatusBadRequest, "This sign-in cannot continue",
			"This sign-in request is unknown, has expired or was already completed. Return to the application and start again.")
	case errors.Is(err, oauth2.ErrInteractionBrowser):
		pg.renderError(w, http.StatusBadRequest, "This sign-in cannot continue",
			"This sign-in request was started in another browser. Finish it there, or start again from the application in this browser.")
	case errors.Is(err, oauth2.ErrStorageFailure):
		// The cause goes to the log, not to the page.
		pg.logger.ErrorContext(r.Context(), "login and consent pages: storage failed", "path", r.URL.Path, "err", err)
		pg.unavailable(w, unavailableRetryAfter)
	default:
		// A mistake of these pages (an approval the Provider refuses):
		// retrying will not help.
		pg.logger.ErrorContext(r.Context(), "login and consent pages: the Provider refused the decision", "path", r.URL.Path, "err", err)
		pg.renderError(w, http.StatusInternalServerError, "This sign-in cannot continue",
			"Something went wrong on our side. Return to the application and start again.")
	}
}

// unavailableRetryAfter is the Retry-After of a page that storage failed
// or that found the sessions full: long enough for a database to fail
// over, short enough to try again.
const unavailableRetryAfter = 5 * time.Second

// unavailable answers 503 with Retry-After: a temporary problem, which
// the same request, sent again later, may not meet.
func (pg *pages) unavailable(w http.ResponseWriter, retryAfter time.Duration) {
	w.Header().Set("Retry-After", strconv.Itoa(int((retryAfter+time.Second-1)/time.Second)))
	pg.renderError(w, http.StatusServiceUnavailable, "Please try again",
		"A temporary problem on our side stopped this page. Wait a few seconds, then reload the page or send the form again.")
}

// forbidden answers a POST that failed the CSRF or origin check
// (RFC 6749 §10.12). The request is not acted on.
func (pg *pages) forbidden(w http.ResponseWriter) {
	pg.renderError(w, http.StatusForbidden, "Request refused",
		"This form was not sent from this site, or it has expired. Go back, reload the page and try again.")
}

// seeOther redirects a browser after a form (303, never 307: a 307 would
// have the browser post the password on, RFC 9700 §4.12).
func seeOther(w http.ResponseWriter, path, interaction string) {
	redirect(w, path+"?interaction="+url.QueryEscape(interaction))
}

// redirect answers 303 See Other to a path of ours.
func redirect(w http.ResponseWriter, location string) {
	w.Header().Set("Location", location)
	w.WriteHeader(http.StatusSeeOther)
}

// clientName is how the pages call a client.
func clientName(c *storage.Client) string {
	if c.Name != "" {
		return c.Name
	}
	return c.ID
}

// scopeViews lists scopes as the consent and device pages show them.
func scopeViews(scopes []string) []scopeView {
	views := make([]scopeView, 0, len(scopes))
	for _, sc := range scopes {
		views = append(views, scopeView{Name: sc, Description: scopeDescriptions[sc]})
	}
	return views
}

// waitText says how long a user must wait, in whole minutes, rounded up.
func waitText(secs int) string {
	if mins := (secs + 59) / 60; mins > 1 {
		return fmt.Sprintf("%d minutes", mins)
	}
	return "1 minute"
}

// loginTarget is what a login form is for: the interaction of an
// authorization request, whose consent page follows the login, or, when
// interaction is "", a page of ours that needs a logged-in user (next,
// one that localNext accepts).
type loginTarget struct {
	interaction string
	next        string
	// clientName names the client of the interaction.
	clientName string
	// username fills the form's username: the client's hint of who
	// logs in (openid.go).
	username string
}

// csrf is the token of the login form for the target, in the browser
// whose login cookie holds nonce.
func (t loginTarget) csrf(pg *pages, nonce string) string {
	if t.interaction != "" {
		return pg.loginCSRF(nonce, t.interaction)
	}
	return pg.loginNextCSRF(nonce, t.next)
}

// form is the login form for the target.
func (t loginTarget) form(pg *pages, nonce string) pageData {
	return pageData{Title: "Log in", ClientName: t.clientName, Interaction: t.interaction, Next: t.next,
		CSRF: t.csrf(pg, nonce), Username: t.username}
}

// localNext returns the page a login may return to when it is not for an
// interaction, from a next parameter: only the device page (devicepage.go),
// with the user code it was opened with, if any. Anything else, another
// path or another site, is refused, so that the login form redirects
// nowhere an attacker chooses. The result is rebuilt, not copied.
func localNext(raw string) (string, bool) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" ||
		u.Path != devicePath || u.Fragment != "" || strings.Contains(raw, "#") {
		return "", false
	}
	return deviceURL(u.Query().Get("user_code")), true
}

// showLogin is GET /login?interaction=ID, where the authorization endpoint
// sends the browser. A logged-in user goes straight on to consent when
// loginFor allows it: for an OAuth request, unless the client asked for
// prompt=login; for an OpenID Connect request, as the OpenID Provider's
// LoginContext allows (prompt=login, max_age, id_token_hint and
// select_account show the form). A browser with a usable OpenID login
// session but no session of the pages gets one from it. The form's
// username is filled with the request's login_hint. GET /login?next=PAGE
// is the login of a page of ours (the device page); a logged-in user goes
// straight back.
func (pg *pages) showLogin(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	id := q.Get("interaction")
	var target loginTarget
	if id == "" && q.Has("next") {
		next, ok := localNext(q.Get("next"))
		if !ok {
			pg.renderError(w, http.StatusBadRequest, "This sign-in cannot continue",
				"This login link is not valid. Open the page you wanted again.")
			return
		}
		if _, s := pg.session(r); s != nil {
			setPageHeaders(w.Header(), pageCSP) // the location may carry a user code
			redirect(w, next)
			return
		}
		target = loginTarget{next: next}
	} else {
		pa, err := pg.provider.PendingAuthorization(r, id)
		if err != nil {
			pg.interactionError(w, r, err)
			return
		}
		_, s := pg.session(r)
		a, lc, err := pg.loginFor(r, pa, s)
		if err != nil {
			pg.interactionError(w, r, err)
			return
		}
		loggedIn := a != nil
		if !loggedIn && s == nil && openIDSessionUsable(lc) {
			// The OpenID login session logs the browser in to the pages:
			// single sign-on, no second password.
			adopted, err := pg.adoptOpenIDSession(w, lc)
			if err != nil {
				pg.unavailable(w, unavailableRetryAfter)
				return
			}
			loggedIn = adopted != nil
		}
		if loggedIn {
			seeOther(w, "/consent", id)
			return
		}
		target = loginTarget{interaction: id, clientName: clientName(pa.Client), username: loginHint(lc)}
	}
	// No session for a visitor: the form's CSRF token is bound to a nonce
	// in the login cookie, kept if the browser has one (other tabs'
	// forms use it).
	nonce, err := pg.setLoginNonce(w, pg.loginNonce(r))
	if err != nil {
		pg.unavailable(w, unavailableRetryAfter)
		return
	}
	pg.render(w, http.StatusOK, "login.html", pageCSP, target.form(pg, nonce))
}

// login is POST /login: it checks the credentials, within the login
// limits (throttle.go), and starts a new session for the user (a new id,
// so that a session planted before login is worth nothing). Only here is
// a session made.
func (pg *pages) login(w http.ResponseWriter, r *http.Request) {
	nonce := pg.loginNonce(r)
	if !pg.checkForm(w, r, func(form url.Values) string {
		if nonce == "" {
			return ""
		}
		if id := form.Get("interaction"); id != "" {
			return pg.loginCSRF(nonce, id)
		}
		if next, ok := localNext(form.Get("next")); ok {
			return pg.loginNextCSRF(nonce, next)
		}
		return ""
	}) {
		return
	}
	var target loginTarget
	if id := r.PostForm.Get("interaction"); id != "" {
		pa, err := pg.provider.PendingAuthorization(r, id)
		if err != nil {
			pg.interactionError(w, r, err)
			return
		}
		target = loginTarget{interaction: id, clientName: clientName(pa.Client)}
	} else {
		// checkForm accepted it.
		target.next, _ = localNext(r.PostForm.Get("next"))
	}
	username := r.PostForm.Get("username")
	// The form again, for every answer but success.
	form := target.form(pg, nonce)
	form.Username = username
	now := pg.clock()
	account := accountKey(username)
	retryAt, err := pg.throttleLogin(r.Context(), account, pg.knownDevice(r, account), oauth2.PeerAddress(r), now)
	if err != nil {
		pg.logger.ErrorContext(r.Context(), "login limiter failed", "err", err)
		pg.unavailable(w, unavailableRetryAfter)
		return
	}
	if !retryAt.IsZero() {
		secs := retryAfter(now, retryAt)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		form.Error = "Too many login attempts. Try again in " + waitText(secs) + "."
		pg.render(w, http.StatusTooManyRequests, "login.html", pageCSP, form)
		return
	}
	usr, err := pg.authenticate(r.Context(), username, r.PostForm.Get("password"))
	switch {
	case errors.Is(err, errVerifyBusy):
		w.Header().Set("Retry-After", strconv.Itoa(retryAfter(now, now.Add(busyRetryAfter))))
		form.Error = "The server is busy. Try again in a moment."
		pg.render(w, http.StatusServiceUnavailable, "login.html", pageCSP, form)
		return
	case err != nil:
		// A new nonce, so a new token: the failed attempt's token no
		// longer matches the browser's login cookie.
		if nonce, err = pg.setLoginNonce(w, ""); err != nil {
			pg.unavailable(w, unavailableRetryAfter)
			return
		}
		form.CSRF, form.Error = target.csrf(pg, nonce), "Wrong username or password."
		pg.render(w, http.StatusUnauthorized, "login.html", pageCSP, form)
		return
	}
	// The browser is now a known device for the account (devicecookie.go),
	// even should the session fail: the password was right.
	if err := pg.rememberDevice(w, r, account); err != nil {
		pg.unavailable(w, unavailableRetryAfter)
		return
	}
	if sid, _ := pg.session(r); sid != "" {
		pg.sessions.delete(sid)
	}
	if _, err := pg.startSession(w, &session{user: usr, authTime: now, loggedInFor: target.interaction,
		expires: now.Add(sessionLifetime)}); err != nil {
		pg.unavailable(w, unavailableRetryAfter)
		return
	}
	if target.interaction == "" {
		redirect(w, target.next)
		return
	}
	seeOther(w, "/consent", target.interaction)
}

// showConsent is GET /consent?interaction=ID: the client and the scopes it
// asks for, and the buttons to approve or deny.
func (pg *pages) showConsent(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("interaction")
	pa, err := pg.provider.PendingAuthorization(r, id)
	if err != nil {
		pg.interactionError(w, r, err)
		return
	}
	sid, s := pg.session(r)
	a, _, err := pg.loginFor(r, pa, s)
	if err != nil {
		pg.interactionError(w, r, err)
		return
	}
	if a == nil {
		seeOther(w, "/login", id)
		return
	}
	pg.render(w, http.StatusOK, "consent.html", consentCSP(pa.RedirectURI), pageData{
		Title: "Allow access?", ClientName: clientName(pa.Client), Interaction: id, CSRF: pg.sessionCSRF(sid, id),
		UserName: s.user.Name, Scopes: scopeViews(pa.Scopes),
	})
}

// decide is POST /consent. Grantor writes the answer: a 303 to the client
// with the code, or with error=access_denied, plus state and iss. An
// approval is remembered for the requests with prompt=none, a denial
// forgets what the user allowed the client before (consents.go).
func (pg *pages) decide(w http.ResponseWriter, r *http.Request) {
	sid, s := pg.session(r)
	if !pg.checkForm(w, r, func(form url.Values) string {
		if s == nil {
			return ""
		}
		return pg.sessionCSRF(sid, form.Get("interaction"))
	}) {
		return
	}
	id := r.PostForm.Get("interaction")
	pa, err := pg.provider.PendingAuthorization(r, id)
	if err != nil {
		pg.interactionError(w, r, err)
		return
	}
	a, _, err := pg.loginFor(r, pa, s)
	if err != nil {
		pg.interactionError(w, r, err)
		return
	}
	if a == nil {
		seeOther(w, "/login", id)
		return
	}
	switch r.PostForm.Get("decision") {
	case "approve":
		if err = pg.provider.Approve(w, r, id, *a); err == nil {
			// Remembered for prompt=none (consents.go).
			pg.consents.remember(a.Subject, pa.Client.ID, pa.Scopes)
		}
	case "deny":
		if err = pg.provider.Deny(w, r, id); err == nil {
			pg.consents.forget(a.Subject, pa.Client.ID)
		}
	default:
		pg.renderError(w, http.StatusBadRequest, "This sign-in cannot continue", "Choose Allow or Deny.")
		return
	}
	if err != nil {
		pg.interactionError(w, r, err)
	}
}

// checkForm runs the checks every POST passes before it is acted on
// (RFC 6749 §10.12): a same-origin request, a parsed form within the size
// limit, and a CSRF token equal to want(the form). want returns "" when
// the browser lacks what the token is bound to (a session, a login
// cookie). On failure it has answered and returns false.
func (pg *pages) checkForm(w http.ResponseWriter, r *http.Request, want func(form url.Values) string) bool {
	setPageHeaders(w.Header(), pageCSP)
	if !pg.sameOrigin(r) {
		pg.forbidden(w)
		return false
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		pg.renderError(w, http.StatusBadRequest, "Bad request", "The form could not be read.")
		return false
	}
	expected := want(r.PostForm)
	if expected == "" || !validCSRF(r.PostForm.Get("csrf"), expected) {
		pg.forbidden(w)
		return false
	}
	return true
}

// sameOrigin reports whether a POST comes from our own pages. The CSRF
// token is the main defence; this refuses a cross-site post early, even
// one that somehow carries a token.
//
// Browsers send "Origin: null" rather than our origin when the page's
// Referrer-Policy is no-referrer (Fetch §3.1, "serializing a request
// origin"), which ours is. Such a post is accepted only when the browser
// vouches for it with Sec-Fetch-Site: same-origin.
func (pg *pages) sameOrigin(r *http.Request) bool {
	site := r.Header.Get("Sec-Fetch-Site")
	if site != "" && site != "same-origin" {
		return false
	}
	switch origin := r.Header.Get("Origin"); origin {
	case "":
		// Not a browser, or an old one: the CSRF token decides.
		return true
	case "null":
		return site == "same-origin"
	default:
		return origin == pg.origin
	}
}

// stylesheet serves the pages' only stylesheet, which the policy allows
// as 'self' so that no inline style needs a hash.
func (pg *pages) stylesheet(w http.ResponseWriter, _ *http.Request) {
	css, err := templateFS.ReadFile("templates/style.css")
	if err != nil {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	_, _ = w.Write(css)
}
