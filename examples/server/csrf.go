package main

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"time"
)

// The CSRF tokens of the forms (RFC 6749 §10.12) keep nothing on the
// server: each is an HMAC, under the pages' random key, of something only
// the right browser holds and of the interaction the form is for. So a
// token is worthless in another browser and for another interaction.
//
//   - The consent form is shown to a logged-in user: its token is bound to
//     the session id.
//   - The login form is shown to anyone (login CSRF, RFC 6749 §10.12): its
//     token is bound to a random nonce in a cookie of its own, the login
//     cookie (the "signed double-submit cookie" pattern). Storing a session
//     instead let a flood of page views fill the session store (issue 15).
//     A login for the device page is bound to the page it returns to
//     instead of an interaction.
//   - The device page's forms (devicepage.go) are shown to a logged-in
//     user: the user code form's token is bound to the session id, the
//     confirmation form's to the session id and the interaction.
//
// Each token names its form, so that one form's token never passes
// another's check.

// loginFormLifetime is how long a login cookie lives: as long as an
// interaction, which the form cannot outlive.
const loginFormLifetime = 30 * time.Minute

// nonceLen is the length of a login nonce: 256 random bits, base64url.
const nonceLen = 43

// sessionCSRF is the token of the consent form of session sid for an
// interaction.
func (pg *pages) sessionCSRF(sid, interaction string) string {
	return pg.csrfToken("consent", sid, interaction)
}

// loginCSRF is the token of the login form of the browser whose login
// cookie holds nonce, for an interaction.
func (pg *pages) loginCSRF(nonce, interaction string) string {
	return pg.csrfToken("login", nonce, interaction)
}

// loginNextCSRF is the token of the login form of the browser whose login
// cookie holds nonce, for a login that returns to next (localNext).
func (pg *pages) loginNextCSRF(nonce, next string) string {
	return pg.csrfToken("login-next", nonce, next)
}

// userCodeCSRF is the token of the device page's user code form of
// session sid.
func (pg *pages) userCodeCSRF(sid string) string {
	return pg.csrfToken("device-code", sid, "")
}

// deviceDecisionCSRF is the token of the device confirmation form of
// session sid for an interaction.
func (pg *pages) deviceDecisionCSRF(sid, interaction string) string {
	return pg.csrfToken("device-decision", sid, interaction)
}

// csrfToken is the HMAC-SHA-256 of a form's name, the browser's secret
// (session id or login nonce) and the interaction id, separated so that
// no two triples run together, base64url-encoded.
func (pg *pages) csrfToken(form, secret, interaction string) string {
	m := hmac.New(sha256.New, pg.csrfKey)
	m.Write([]byte(form))
	m.Write([]byte{0})
	m.Write([]byte(secret))
	m.Write([]byte{0})
	m.Write([]byte(interaction))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// validCSRF checks a token against the expected one in constant time. It
// compares the encoded strings: a lenient decoder would also accept the
// token with the unused bits of its last character changed.
func validCSRF(token, want string) bool {
	return hmac.Equal([]byte(token), []byte(want))
}

// loginNonce returns the nonce of the browser's login cookie, or "" when
// it has none or a malformed one.
func (pg *pages) loginNonce(r *http.Request) string {
	c, err := r.Cookie(pg.loginCookieName)
	if err != nil || len(c.Value) != nonceLen {
		return ""
	}
	if _, err := base64.RawURLEncoding.DecodeString(c.Value); err != nil {
		return ""
	}
	return c.Value
}

// setLoginNonce gives the browser a login cookie holding nonce: a new
// one when nonce is "", else the same one again, with its lifetime
// renewed, so that the forms of other tabs keep working. It returns the
// nonce.
func (pg *pages) setLoginNonce(w http.ResponseWriter, nonce string) (string, error) {
	if nonce == "" {
		var b [32]byte
		if _, err := rand.Read(b[:]); err != nil {
			return "", err
		}
		nonce = base64.RawURLEncoding.EncodeToString(b[:])
	}
	// The attributes of the session cookie, for the same reasons.
	http.SetCookie(w, &http.Cookie{
		Name: pg.loginCookieName, Value: nonce, Path: "/", HttpOnly: true, Secure: pg.secure,
		SameSite: http.SameSiteLaxMode, MaxAge: int(loginFormLifetime / time.Second),
	})
	return nonce, nil
}
