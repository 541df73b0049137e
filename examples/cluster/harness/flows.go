package harness

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// answer is an HTTP answer as the flows look at it.
type answer struct {
	status int
	header http.Header
	body   []byte
}

// errNoAnswer wraps a request that got no answer.
var errNoAnswer = errors.New("no answer")

// field returns the string member name of a JSON answer, "" if none.
func (a *answer) field(name string) string {
	var m map[string]any
	if json.Unmarshal(a.body, &m) != nil {
		return ""
	}
	s, _ := m[name].(string)
	return s
}

// active returns the active member of an introspection answer (RFC 7662
// §2.2), and whether the answer is one.
func (a *answer) active() (active, ok bool) {
	var m struct {
		Active *bool `json:"active"`
	}
	if a.status != http.StatusOK || json.Unmarshal(a.body, &m) != nil || m.Active == nil {
		return false, false
	}
	return *m.Active, true
}

// String describes the answer for a reason: its status and, for an OAuth
// error, the error code (RFC 6749 §5.2). Never a token.
func (a *answer) String() string {
	if code := a.field("error"); code != "" {
		return fmt.Sprintf("%d %s", a.status, code)
	}
	return fmt.Sprint(a.status)
}

// request sends one request to instance in with client c, paced, and
// records it: an answer by its status and latency; no answer, while in is
// down or being killed, as refused; no answer while it is up as
// unexpected, under step. It returns errNoAnswer, wrapped, when nothing
// came back.
func (l *Load) request(c *http.Client, in *Instance, step string, req *http.Request) (*answer, error) {
	if err := CheckLoopbackURL(req.URL.String()); err != nil {
		return nil, err
	}
	l.pace.wait()
	start := time.Now()
	resp, err := c.Do(req)
	var body []byte
	if err == nil {
		body, err = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	if err != nil {
		if in.Up() {
			l.stats.unexpected(fmt.Sprintf("%s at %s: no answer", step, in.Name))
			l.stats.answered(in.Name, 0, time.Since(start))
		} else {
			l.stats.refused(in.Name)
		}
		return nil, fmt.Errorf("%w from %s: %v", errNoAnswer, in.Name, err)
	}
	l.stats.answered(in.Name, resp.StatusCode, time.Since(start))
	return &answer{status: resp.StatusCode, header: resp.Header, body: body}, nil
}

// post sends a form to an endpoint of in, authenticated with HTTP Basic as
// cred (RFC 6749 §2.3.1), unless cred.ID is "".
func (l *Load) post(in *Instance, step, path string, form url.Values, cred ClientCredentials) (*answer, error) {
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, in.BaseURL()+path, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if cred.ID != "" {
		// RFC 6749 §2.3.1: the id and secret are form-urlencoded first.
		req.SetBasicAuth(url.QueryEscape(cred.ID), url.QueryEscape(cred.Secret))
	}
	return l.request(in.client, in, step, req)
}

// unexpected records an unexpected answer of step at in.
func (l *Load) unexpected(step string, in *Instance, what string) {
	l.stats.unexpected(fmt.Sprintf("%s at %s: %s", step, in.Name, what))
}

// tokenAnswer is the token endpoint's answer (RFC 6749 §5.1).
type tokenAnswer struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
}

// token sends a token request and returns its answer's tokens, or an
// error when no 200 with an access token (and a refresh token, when
// wantRefresh) came back: an unexpected answer, which is recorded, or
// none (errNoAnswer).
func (l *Load) token(in *Instance, step string, form url.Values, cred ClientCredentials, wantRefresh bool) (tok tokenAnswer, err error) {
	a, err := l.post(in, step, "/token", form, cred)
	if err != nil {
		return tok, err
	}
	if a.status != http.StatusOK || json.Unmarshal(a.body, &tok) != nil || tok.AccessToken == "" ||
		(wantRefresh && tok.RefreshToken == "") {
		l.unexpected(step, in, a.String())
		return tokenAnswer{}, fmt.Errorf("%s at %s: %s", step, in.Name, a)
	}
	return tok, nil
}

// label names the instance that issued a token: its name, and whether it
// had been restarted.
func label(in *Instance) string {
	if in.Starts() > 1 {
		return in.Name + " (restarted)"
	}
	return in.Name
}

// clientCredentials gets a token with the client credentials grant (RFC
// 6749 §4.4), introspects it, and revokes one in four.
func (w *worker) clientCredentials() {
	l := w.l
	creds := l.cluster.Credentials
	in := l.pick(nil)
	if in == nil {
		return
	}
	tok, err := l.token(in, "client credentials", url.Values{"grant_type": {"client_credentials"}, "scope": {"read"}}, creds.CC, false)
	if err != nil {
		return
	}
	t := &tokenRecord{value: tok.AccessToken, kind: accessToken, issuedBy: label(in), issuedAt: time.Now()}
	l.ledger.addToken(t)
	if !w.introspectToken(in, t) {
		return
	}
	if w.rng.IntN(4) == 0 && !w.revokeToken(in, t, creds.CC) {
		return
	}
	l.stats.flowDone("client credentials")
}

// introspectToken introspects t at an instance (RFC 7662 §2), as the API
// for an access token and as its own client for a refresh token (§4), and
// checks the answer against the ledger. It reports whether the flow may go
// on.
func (w *worker) introspectToken(home *Instance, t *tokenRecord) bool {
	l := w.l
	in := l.pick(home)
	if in == nil {
		return false
	}
	cred := l.cluster.Credentials.API
	if t.kind == refreshToken {
		cred = l.cluster.Credentials.Web
	}
	want := l.ledger.expectOf(t)
	a, err := l.post(in, "introspection", "/introspect", url.Values{"token": {t.value}}, cred)
	if err != nil {
		return false
	}
	active, ok := a.active()
	switch {
	case !ok:
		l.unexpected("introspection", in, a.String())
		return false
	case want == expectActive && !active:
		l.unexpected("introspection", in, fmt.Sprintf("%s of %s inactive", t.kind, t.issuedBy))
		return false
	case want == expectInactive && active:
		l.unexpected("introspection", in, fmt.Sprintf("revoked or rotated %s of %s active", t.kind, t.issuedBy))
		return false
	}
	return true
}

// revokeToken revokes t as cred at an instance (RFC 7009 §2.1), records
// it, and checks that introspection then finds it inactive. A refresh
// token takes its grant with it. It reports whether the flow may go on.
func (w *worker) revokeToken(home *Instance, t *tokenRecord, cred ClientCredentials) bool {
	l := w.l
	in := l.pick(home)
	if in == nil {
		return false
	}
	a, err := l.post(in, "revocation", "/revoke", url.Values{"token": {t.value}}, cred)
	if err != nil {
		l.ledger.update(func() {
			if t.kind == refreshToken {
				t.grant.doubt = true
			} else {
				t.doubt = true
			}
		})
		return false
	}
	if a.status != http.StatusOK {
		l.unexpected("revocation", in, a.String())
		return false
	}
	l.ledger.update(func() {
		if t.kind == refreshToken {
			t.grant.revoked = true
		} else {
			t.revoked = true
		}
	})
	return w.introspectToken(in, t)
}

// pkcePair returns a code verifier and its S256 challenge (RFC 7636 §4.1,
// §4.2).
func pkcePair() (verifier, challenge string) {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	verifier = base64.RawURLEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}

// codeFlow runs the authorization code flow with PKCE (RFC 6749 §4.1, RFC
// 7636) as a browser and a web application would: the authorization
// request, the login page (unless the browser has a session there), the
// consent page, then the code's redemption and an introspection.
func (w *worker) codeFlow() {
	l := w.l
	if !l.codeFlows.allow() {
		w.clientCredentials()
		return
	}
	creds := l.cluster.Credentials
	in := l.pick(nil)
	if in == nil {
		return
	}
	code, verifier, ok := w.authorize(in)
	if !ok {
		return
	}
	red := l.pick(in)
	if red == nil {
		return
	}
	c := &codeRecord{value: code, verifier: verifier}
	tok, err := l.token(red, "code redemption", url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {redirectURI}, "code_verifier": {verifier}}, creds.Web, true)
	switch {
	case errors.Is(err, errNoAnswer):
		c.doubt = true
		l.ledger.addCode(c)
		return
	case err != nil:
		return
	}
	l.ledger.addCode(c)
	g := w.newGrant(red, tok)
	if !w.introspectToken(red, g.access) {
		return
	}
	l.stats.flowDone("code + PKCE")
}

// newGrant records the tokens of a new grant, issued by in, and keeps it in
// use.
func (w *worker) newGrant(in *Instance, tok tokenAnswer) *liveGrant {
	g := &liveGrant{rec: &grantRecord{}}
	w.l.issued(g, in, tok)
	w.keep(g)
	return g
}

// issued records the tokens that in issued for grant g, now its latest.
func (l *Load) issued(g *liveGrant, in *Instance, tok tokenAnswer) {
	now := time.Now()
	g.access = &tokenRecord{value: tok.AccessToken, kind: accessToken, grant: g.rec, issuedBy: label(in), issuedAt: now}
	g.refresh = &tokenRecord{value: tok.RefreshToken, kind: refreshToken, grant: g.rec, issuedBy: label(in), issuedAt: now}
	g.home = in
	l.ledger.addToken(g.access)
	l.ledger.addToken(g.refresh)
}

// authorize runs the browser's part of the code flow at in and returns the
// code and its verifier; ok is false when the flow cannot go on, for a
// reason recorded.
func (w *worker) authorize(in *Instance) (code, verifier string, ok bool) {
	l := w.l
	creds := l.cluster.Credentials
	b := w.browser(in)
	verifier, challenge := pkcePair()
	state := rand.Text()
	q := url.Values{"response_type": {"code"}, "client_id": {creds.Web.ID}, "redirect_uri": {redirectURI},
		"scope": {"read write"}, "state": {state}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}}
	page, err := w.page(b, in, "authorization request", http.MethodGet, "/authorize?"+q.Encode(), nil)
	if err != nil {
		return "", "", false
	}
	// The authorization endpoint sends the browser to the login page, which
	// sends a browser with a session on to consent.
	for hop := 0; page.status == http.StatusSeeOther && hop < 4; hop++ {
		loc := page.header.Get("Location")
		if strings.HasPrefix(loc, redirectURI+"?") {
			break
		}
		if !strings.HasPrefix(loc, "/") {
			l.unexpected("authorization request", in, "redirect off the server")
			return "", "", false
		}
		if page, err = w.page(b, in, pageStep(loc), http.MethodGet, loc, nil); err != nil {
			return "", "", false
		}
		if page.status != http.StatusOK {
			continue
		}
		action := "/consent"
		if strings.HasPrefix(loc, "/login") {
			action = "/login"
		}
		f, err := parseForm(string(page.body), action)
		if err != nil {
			l.unexpected(pageStep(loc), in, err.Error())
			return "", "", false
		}
		form := url.Values{}
		for k, v := range f.hidden {
			form.Set(k, v)
		}
		for _, name := range []string{"interaction", "csrf"} {
			if _, err := f.field(name); err != nil {
				l.unexpected(pageStep(loc), in, err.Error())
				return "", "", false
			}
		}
		if action == "/login" {
			form.Set("username", w.user.Username)
			form.Set("password", w.user.Password)
		} else {
			form.Set("decision", "approve")
		}
		if page, err = w.page(b, in, pageStep(action)+" form", http.MethodPost, action, form); err != nil {
			return "", "", false
		}
	}
	loc := page.header.Get("Location")
	if page.status != http.StatusSeeOther || !strings.HasPrefix(loc, redirectURI+"?") {
		l.unexpected("authorization", in, fmt.Sprintf("%d instead of the redirect to the client", page.status))
		return "", "", false
	}
	u, err := url.Parse(loc)
	if err != nil {
		l.unexpected("authorization", in, "malformed redirect")
		return "", "", false
	}
	rq := u.Query()
	switch {
	case rq.Get("error") != "":
		l.unexpected("authorization", in, "redirect with error "+rq.Get("error"))
		return "", "", false
	case rq.Get("state") != state:
		l.unexpected("authorization", in, "redirect with another state")
		return "", "", false
	case rq.Get("iss") != l.cluster.Issuer:
		// RFC 9207 §2: every instance speaks for the one issuer.
		l.unexpected("authorization", in, "redirect with another iss")
		return "", "", false
	case rq.Get("code") == "":
		l.unexpected("authorization", in, "redirect without a code")
		return "", "", false
	}
	return rq.Get("code"), verifier, true
}

// pageStep names the page at path for the reasons.
func pageStep(path string) string {
	switch {
	case strings.HasPrefix(path, "/login"):
		return "login page"
	case strings.HasPrefix(path, "/consent"):
		return "consent page"
	}
	return "page " + path
}

// page loads a page of in in browser b, or posts a form to it as a
// browser does from the server's own pages, whose no-referrer policy
// makes it send "Origin: null" with Sec-Fetch-Site. A 200 or a 303 is
// expected; anything else is recorded and returned as an error.
func (w *worker) page(b *http.Client, in *Instance, step, method, path string, form url.Values) (*answer, error) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(context.Background(), method, in.BaseURL()+path, body)
	if err != nil {
		return nil, err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", "null")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
	}
	a, err := w.l.request(b, in, step, req)
	if err != nil {
		return nil, err
	}
	if a.status != http.StatusOK && a.status != http.StatusSeeOther {
		w.l.unexpected(step, in, fmt.Sprint(a.status))
		return nil, fmt.Errorf("%s at %s: %d", step, in.Name, a.status)
	}
	return a, nil
}

// refresh refreshes a grant in use (RFC 6749 §6), which rotates its
// refresh token, and introspects the new access token.
func (w *worker) refresh() {
	l := w.l
	g := w.anyGrant()
	if g == nil {
		w.codeFlow()
		return
	}
	in := l.pick(g.home)
	if in == nil {
		return
	}
	old := g.refresh
	tok, err := l.token(in, "refresh", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {old.value}},
		l.cluster.Credentials.Web, true)
	switch {
	case errors.Is(err, errNoAnswer):
		l.ledger.update(func() { old.doubt = true })
		w.drop(g)
		return
	case err != nil:
		w.drop(g)
		return
	}
	l.ledger.update(func() { old.rotated = true })
	l.issued(g, in, tok)
	if !w.introspectToken(in, g.access) {
		return
	}
	l.stats.flowDone("refresh")
}

// introspect introspects the latest tokens of a grant in use.
func (w *worker) introspect() {
	g := w.anyGrant()
	if g == nil {
		w.codeFlow()
		return
	}
	if !w.introspectToken(g.home, g.access) || !w.introspectToken(g.home, g.refresh) {
		return
	}
	w.l.stats.flowDone("introspection")
}

// revoke revokes, as the web client, the refresh token of a grant in use,
// and so the grant, or else its latest access token alone (RFC 7009 §2.1).
func (w *worker) revoke() {
	g := w.anyGrant()
	if g == nil {
		w.codeFlow()
		return
	}
	web := w.l.cluster.Credentials.Web
	if w.rng.IntN(2) == 0 {
		w.drop(g)
		if !w.revokeToken(g.home, g.refresh, web) || !w.introspectToken(g.home, g.access) {
			return
		}
	} else if !w.revokeToken(g.home, g.access, web) {
		return
	}
	w.l.stats.flowDone("revocation")
}

// failedAuthentication presents a wrong secret, mostly for the client
// whose secret was generated: the answer must be 401 invalid_client (RFC
// 6749 §5.2), never 429, since such a secret cannot be guessed and is
// never throttled. LoadConfig.GuessesPerMinute times a minute it is for
// the client with a slow-hashed secret instead, which the servers throttle
// together: 401, or 429 once ten a minute have failed.
func (w *worker) failedAuthentication() {
	l := w.l
	in := l.pick(nil)
	if in == nil {
		return
	}
	wrong, throttled := l.cluster.Credentials.Mistyped, false
	if l.guesses.allow() {
		wrong, throttled = l.cluster.Credentials.Intruder, true
	}
	wrong.Secret = "wrong " + rand.Text()
	a, err := l.post(in, "failed client authentication", "/token", url.Values{"grant_type": {"client_credentials"}}, wrong)
	if err != nil {
		return
	}
	switch {
	case a.status == http.StatusUnauthorized && a.field("error") == "invalid_client":
		l.stats.flowDone("failed client authentication")
		return
	case throttled && a.status == http.StatusTooManyRequests:
		l.stats.flowDone("failed client authentication, throttled")
		return
	}
	l.unexpected("failed client authentication", in, a.String())
}

// metadata reads the authorization server's metadata (RFC 8414 §3), whose
// issuer must be the cluster's at every instance.
func (w *worker) metadata() {
	l := w.l
	in := l.pick(nil)
	if in == nil {
		return
	}
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, in.BaseURL()+"/.well-known/oauth-authorization-server", nil)
	if err != nil {
		return
	}
	a, err := l.request(in.client, in, "metadata", req)
	if err != nil {
		return
	}
	if a.status != http.StatusOK || a.field("issuer") != l.cluster.Issuer {
		l.unexpected("metadata", in, a.String())
		return
	}
	l.stats.flowDone("metadata")
}
