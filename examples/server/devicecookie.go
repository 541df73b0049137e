package main

import (
	"crypto/hmac"
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"strings"
	"time"
)

// Device cookies (OWASP, "Slow Down Online Guessing Attacks with Device
// Cookies"). A successful login gives the browser a cookie that shows,
// at its next login, that it logged in as that account before. The login
// limits (throttle.go) count such a known device's attempts by the device
// rather than by the account, so that guesses spread over many addresses,
// which throttle the account for unknown browsers, do not keep a user out
// of her own.
//
// The cookie holds one entry per account, newest first, separated by
// dots. An entry is a random nonce followed by the HMAC, under the pages'
// key (csrf.go), of the nonce and of the account: the SHA-256 of the
// username (accountKey). Neither the username nor its hash is in the
// cookie: the login form names the account, and an entry counts only for
// the account whose name it was made with, only on the server that made
// it, and only unchanged. The nonce names the budget of attempts the
// device has at that account (throttle.go, limit 4).
//
// One cookie holding several accounts, rather than one cookie per account
// or one for the browser's latest account: a browser shared by a family
// or at a front desk stays a known device for each of its users, so that
// bob logging in does not leave alice throttled like a stranger there;
// while a single cookie, of at most maxDeviceAccounts entries, keeps the
// requests small and needs no cookie name per account, which would tell
// anyone who reads the names which accounts use the browser.
//
// The entries need no state on the server, and so cannot be revoked one
// by one: one remains good for as long as the cookie lives (renewed by
// every login in that browser) or until the server restarts with a new
// key. That is acceptable because an entry is no credential: it only
// chooses the limits a login attempt counts against, and the password is
// checked all the same.
const (
	// deviceCookieLifetime is how long a device cookie lives after the
	// browser's last login: long enough to span the gaps between a
	// user's visits.
	deviceCookieLifetime = 90 * 24 * time.Hour
	// maxDeviceAccounts is how many accounts one browser's cookie
	// remembers; a login as another drops the one logged in to longest
	// ago.
	maxDeviceAccounts = 5
	// deviceNonceLen is the length of an entry's nonce: 128 random bits,
	// base64url, which no two devices share.
	deviceNonceLen = 22
	// deviceEntryLen is the length of an entry: the nonce and an
	// HMAC-SHA-256, base64url.
	deviceEntryLen = deviceNonceLen + 43
)

// deviceMAC is the MAC of a device cookie's entry for nonce and account.
// It is a csrfToken under a purpose name that no form has, so that no CSRF
// token passes for an entry, nor an entry for a CSRF token.
func (pg *pages) deviceMAC(nonce, account string) string {
	return pg.csrfToken("device", nonce, account)
}

// deviceEntries returns the entries of the browser's device cookie, or nil
// when it has none, or one that is malformed or longer than the server
// makes: garbage earns a browser nothing, and costs no HMAC.
func (pg *pages) deviceEntries(r *http.Request) []string {
	c, err := r.Cookie(pg.deviceCookieName)
	if err != nil || c.Value == "" || len(c.Value) > maxDeviceAccounts*(deviceEntryLen+1) {
		return nil
	}
	entries := strings.Split(c.Value, ".")
	if len(entries) > maxDeviceAccounts {
		return nil
	}
	for _, e := range entries {
		if len(e) != deviceEntryLen || strings.ContainsFunc(e, notBase64URL) {
			return nil
		}
	}
	return entries
}

// notBase64URL reports whether r is outside the base64url alphabet.
func notBase64URL(r rune) bool {
	return !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_')
}

// knownDevice returns the nonce of the browser's device cookie entry for
// account (an accountKey), or "" when the browser holds none: an unknown
// device.
func (pg *pages) knownDevice(r *http.Request, account string) string {
	for _, e := range pg.deviceEntries(r) {
		if pg.entryFor(e, account) {
			return e[:deviceNonceLen]
		}
	}
	return ""
}

// entryFor reports, in constant time, whether a well-formed entry was made
// by this server for account.
func (pg *pages) entryFor(entry, account string) bool {
	nonce, mac := entry[:deviceNonceLen], entry[deviceNonceLen:]
	return hmac.Equal([]byte(mac), []byte(pg.deviceMAC(nonce, account)))
}

// rememberDevice gives the browser, which has just logged in as account
// (an accountKey), a device cookie whose first entry is a new one for
// account, under a new nonce. The browser's entries for its other
// accounts follow, up to maxDeviceAccounts in all; they are kept as they
// are, since only the account's own name can check an entry. The cookie
// has the attributes of the session cookie, for the same reasons, and
// lives for deviceCookieLifetime.
func (pg *pages) rememberDevice(w http.ResponseWriter, r *http.Request, account string) error {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return err
	}
	nonce := base64.RawURLEncoding.EncodeToString(b[:])
	entries := []string{nonce + pg.deviceMAC(nonce, account)}
	for _, e := range pg.deviceEntries(r) {
		if len(entries) == maxDeviceAccounts {
			break
		}
		// The account's previous entry is replaced, not kept: a new nonce
		// at each login, as the OWASP guidance has it.
		if !pg.entryFor(e, account) {
			entries = append(entries, e)
		}
	}
	http.SetCookie(w, &http.Cookie{
		Name: pg.deviceCookieName, Value: strings.Join(entries, "."), Path: "/", HttpOnly: true,
		Secure: pg.secure, SameSite: http.SameSiteLaxMode, MaxAge: int(deviceCookieLifetime / time.Second),
	})
	return nil
}
