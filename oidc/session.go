package oidc

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/grantor-dev/grantor/oauth2"
	"github.com/grantor-dev/grantor/storage"
)

// DefaultSessionLifetime is how long a login session lasts when
// Config.SessionLifetime is zero.
const DefaultSessionLifetime = 24 * time.Hour

// Session is a user's login session in the browser, as the OpenID
// Provider remembers it: the login the application's page reported with
// its approval (oauth2.Approval's Subject, AuthTime, ACR and AMR).
type Session struct {
	// ID is the session's sid, as ID tokens and logout tokens carry it.
	ID string
	// Subject is the user.
	Subject string
	// AuthTime, ACR and AMR describe the login.
	AuthTime time.Time
	ACR      string
	AMR      []string
	// ExpiresAt is when the session ends by itself.
	ExpiresAt time.Time
}

// Approval returns an approval of the session's user, for the scopes
// given (nil: all that were asked for), that continues the session rather
// than starting a new one.
func (s *Session) Approval(scopes []string) oauth2.Approval {
	return oauth2.Approval{Subject: s.Subject, Scopes: scopes, AuthTime: s.AuthTime, ACR: s.ACR, AMR: slices.Clone(s.AMR)}
}

// sessionCookieName returns the name of the session cookie: __Host-
// prefixed (Secure, Path=/, no Domain) when the issuer uses TLS.
func (o *Provider) sessionCookieName() string {
	if o.secureCookies {
		return "__Host-grantor-session"
	}
	return "grantor-session"
}

// handleBytes is the length of a session cookie value: 256 random bits,
// base64url.
const handleBytes = 32

// randomHandle returns n random bytes, base64url.
func randomHandle(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// sessionKey returns the storage key of a session cookie value: a digest
// of the value bound to the issuer, so that a store shared by two
// issuers (two tenants on one host, say) never gives one the other's
// sessions.
func (o *Provider) sessionKey(value string) string {
	sum := sha256.Sum256([]byte(o.p.Issuer() + "\x00" + value))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// cookieValue returns the browser's session cookie value, "" when it has
// none or a malformed one.
func (o *Provider) cookieValue(r *http.Request) string {
	c, err := r.Cookie(o.sessionCookieName())
	if err != nil || len(c.Value) != base64.RawURLEncoding.EncodedLen(handleBytes) {
		return ""
	}
	if _, err := base64.RawURLEncoding.DecodeString(c.Value); err != nil {
		return ""
	}
	return c.Value
}

// currentSession returns the browser's login session and its cookie
// value; nil when it has none or it has ended. A failing store is an
// error.
func (o *Provider) currentSession(r *http.Request) (*storage.LoginSession, string, error) {
	value := o.cookieValue(r)
	if value == "" {
		return nil, "", nil
	}
	ls, err := o.cfg.Sessions.LoginSession(r.Context(), o.sessionKey(value))
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return nil, "", nil
	case err != nil:
		return nil, "", oauth2.StorageError("the login session could not be read", err)
	case !o.p.Now().Before(ls.ExpiresAt):
		return nil, "", nil
	}
	switch ended, err := o.sidEnded(r.Context(), ls.ID, o.p.Now()); {
	case err != nil:
		return nil, "", oauth2.StorageError("the login session could not be read", err)
	case ended:
		return nil, "", nil // a record a login that raced the logout left
	}
	return ls, value, nil
}

// endedKey is the storage key, and the ID, of the mark that the session
// sid has ended: a record with no user or clients, under a key no
// cookie's digest and an ID no sid can be (neither holds a colon). An
// end is for good: a login that raced the logout may still write a
// record of the sid, which the mark outlives.
func endedKey(sid string) string { return "ended:" + sid }

// endedMarkMargin is how much longer than a session the mark of its end
// is kept: longer than any login that read the session before its end
// can take to write a record of it.
const endedMarkMargin = time.Hour

// markEnded marks the session sid ended.
func (o *Provider) markEnded(ctx context.Context, sid string) {
	now := o.p.Now()
	// Its ID is its key: a store's index of IDs holds each mark once.
	err := o.cfg.Sessions.CreateLoginSession(ctx, &storage.LoginSession{Key: endedKey(sid), ID: endedKey(sid),
		CreatedAt: now, ExpiresAt: now.Add(o.sessionLifetime + endedMarkMargin)})
	if err != nil && !errors.Is(err, storage.ErrDuplicate) {
		o.p.Logger().LogAttrs(ctx, slog.LevelWarn, "oidc: the end of a login session could not be marked",
			slog.String("sid", sid), slog.String("error", err.Error()))
	}
}

// sidEnded reports whether the session sid is marked ended at now.
func (o *Provider) sidEnded(ctx context.Context, sid string, now time.Time) (bool, error) {
	mark, err := o.cfg.Sessions.LoginSession(ctx, endedKey(sid))
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return false, nil
	case err != nil:
		return false, err
	}
	return now.Before(mark.ExpiresAt), nil
}

// setSessionCookie sets (or with maxAge < 0 clears) the session cookie.
func (o *Provider) setSessionCookie(w http.ResponseWriter, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name: o.sessionCookieName(), Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: o.secureCookies, SameSite: http.SameSiteLaxMode,
	})
}

// joinSession records an approval in the browser's login session and
// returns the session's sid:
//   - an approval that continues the session (its user and login time)
//     adds the client to it;
//   - a new login of the same user (prompt=login, max_age, a step up)
//     goes on with the same session, under a new cookie, with the new
//     login's time, acr and amr: its relying parties are not logged out;
//   - a login of another user starts a new session and ends the browser's
//     previous one, whose relying parties are told.
//
// A store that is full (storage.ErrFull) does not stop the sign-in: the
// login is then remembered in no session, and the ID token has no sid.
func (o *Provider) joinSession(w http.ResponseWriter, r *http.Request, a *oauth2.Authorization) (string, error) {
	ctx := r.Context()
	cur, _, err := o.currentSession(r)
	if err != nil {
		return "", err
	}
	if cur != nil && cur.Subject == a.Subject && cur.AuthTime.Unix() == a.AuthTime.Unix() {
		switch err := o.cfg.Sessions.AddSessionClient(ctx, cur.Key, a.Client.ID); {
		case err == nil:
			return cur.ID, nil
		case errors.Is(err, storage.ErrTooLarge):
			// As at MaxSessionClients: the session goes on, and this
			// client is not told when it ends.
			o.p.Logger().LogAttrs(ctx, slog.LevelWarn, "oidc: the login session is full: the client is not added to it",
				slog.String("client_id", a.Client.ID))
			return cur.ID, nil
		case !errors.Is(err, storage.ErrNotFound):
			return "", oauth2.StorageError("the login session could not be updated", err)
		}
		cur = nil // ended meanwhile (a logout in another tab): start a new one
	}
	sid, value, err := o.startSession(ctx, a, cur)
	if err == nil && value == "" && cur != nil && cur.Subject != a.Subject {
		o.setSessionCookie(w, "", -1) // the other user's session has ended
	}
	if err != nil || value == "" {
		return sid, err
	}
	o.setSessionCookie(w, value, int(o.sessionLifetime/time.Second))
	return sid, nil
}

// startSession stores a new record of the user's login a and returns its
// sid and the value of its cookie; "" for both when the store is full.
// A new login of cur's user goes on under cur's sid, so that its relying
// parties keep one session; another user's ends cur.
func (o *Provider) startSession(ctx context.Context, a *oauth2.Authorization, cur *storage.LoginSession) (sid, value string, err error) {
	if value, err = randomHandle(handleBytes); err != nil {
		return "", "", oauth2.NewError(oauth2.ErrServerError, "randomness unavailable").WithCause(err)
	}
	next := &storage.LoginSession{
		Key: o.sessionKey(value), Subject: a.Subject, AuthTime: a.AuthTime, ACR: a.ACR, AMR: a.AMR,
		Clients: []string{a.Client.ID}, CreatedAt: a.Now, ExpiresAt: a.Now.Add(o.sessionLifetime),
	}
	sameUser := cur != nil && cur.Subject == a.Subject
	if sameUser {
		next.ID = cur.ID
		next.Clients = slices.Clone(cur.Clients)
		if !slices.Contains(next.Clients, a.Client.ID) && len(next.Clients) < storage.MaxSessionClients {
			next.Clients = append(next.Clients, a.Client.ID)
		}
	} else if next.ID, err = randomHandle(16); err != nil {
		return "", "", oauth2.NewError(oauth2.ErrServerError, "randomness unavailable").WithCause(err)
	}
	switch err := o.cfg.Sessions.CreateLoginSession(ctx, next); {
	case errors.Is(err, storage.ErrFull):
		o.p.Logger().LogAttrs(ctx, slog.LevelWarn, "oidc: the login session store is full: a sign-in without a session",
			slog.String("client_id", a.Client.ID))
		if cur != nil && !sameUser {
			// Another user's login ends the session before it all the
			// same (joinSession clears its cookie).
			o.endOtherUsersSession(ctx, cur)
		}
		return "", "", nil
	case err != nil:
		return "", "", oauth2.StorageError("the login session could not be stored", err)
	}
	switch {
	case cur == nil:
	case !sameUser:
		// One browser, one user: another user's login ends the session
		// before it.
		o.endOtherUsersSession(ctx, cur)
	default:
		// The session goes on under the new cookie: the old record goes
		// without a logout.
		if _, err := o.cfg.Sessions.DeleteLoginSession(ctx, cur.Key); errors.Is(err, storage.ErrNotFound) {
			return o.replacedMeanwhile(ctx, a, next, value)
		}
	}
	return next.ID, value, nil
}

// replacedMeanwhile finishes startSession when the record the new login
// replaces was gone already: another tab's new login replaced it too,
// and the session goes on under its sid with both records; or a logout
// ended the session since it was read, and marked its sid ended, and
// this login starts a session of its own. (A logout that has not marked
// it yet will: the mark, not this record, decides.)
func (o *Provider) replacedMeanwhile(ctx context.Context, a *oauth2.Authorization, next *storage.LoginSession, value string) (sid, cookie string, err error) {
	ended, err := o.sidEnded(ctx, next.ID, a.Now)
	if err != nil {
		return "", "", oauth2.StorageError("the login session could not be read", err)
	}
	// Unmarked, the sid may still have ended (a mark the store refused):
	// the new record steps aside while the sid is looked up, so that only
	// another tab's record can keep it.
	if _, err := o.cfg.Sessions.DeleteLoginSession(ctx, next.Key); err != nil && !errors.Is(err, storage.ErrNotFound) {
		return "", "", oauth2.StorageError("the login session could not be stored", err)
	}
	if !ended {
		switch _, err := o.cfg.Sessions.LoginSessionByID(ctx, next.ID); {
		case err == nil:
			if err := o.cfg.Sessions.CreateLoginSession(ctx, next); err != nil {
				return "", "", oauth2.StorageError("the login session could not be stored", err)
			}
			return next.ID, value, nil
		case !errors.Is(err, storage.ErrNotFound):
			return "", "", oauth2.StorageError("the login session could not be read", err)
		}
	}
	return o.startSession(ctx, a, nil)
}

// LoginContext is what the application's login page needs to know of an
// OpenID Connect authorization request, beyond oauth2.PendingAuthorization
// (OpenID Connect Core §3.1.2.1).
type LoginContext struct {
	// Session is the browser's login session when the request may use it:
	// nil when there is none, or when prompt=login, max_age or
	// id_token_hint rule it out. With one, the page may skip the login
	// and approve with Session.Approval (after consent).
	Session *Session
	// LoginRequired says why a session of the browser cannot be used:
	// "prompt=login", "max_age", "id_token_hint", "claims" (the claims
	// parameter asks for another sub) or "acr" (the session's acr is not
	// an essential one asked for); "" when it can, or there is none.
	LoginRequired string
	// Prompts are the prompt values asked for: login, consent,
	// select_account. ConsentRequired is prompt=consent: ask again even if
	// the user consented before.
	Prompts         []string
	ConsentRequired bool
	SelectAccount   bool
	// MaxAge is the max_age that applies (the request's, or the client's
	// default_max_age); HasMaxAge tells 0 from none.
	MaxAge    time.Duration
	HasMaxAge bool
	// LoginHint is the login_hint parameter, as sent.
	LoginHint string
	// HintSubject is the sub of a valid id_token_hint: the user the
	// client expects, as that client sees the user (for a pairwise client,
	// an identifier the application cannot read; the Session is offered
	// only when it is the hint's user).
	HintSubject string
	// UILocales and ACRValues are the ui_locales and acr_values
	// parameters, in order of preference.
	UILocales []string
	ACRValues []string
	// EssentialACR are the acr values the claims parameter asks for as
	// essential (Core §5.5.1.1): the login must meet one of them, or the
	// approval is refused with access_denied.
	EssentialACR []string
}

// LoginContext returns the OpenID side of a pending authorization for the
// application's login page, or nil for a request that is not an OpenID
// Connect request. r is the browser's request: its session cookie counts.
// pa comes from oauth2.Provider.PendingAuthorization (or the
// SilentAuthorize hook).
func (o *Provider) LoginContext(r *http.Request, pa *oauth2.PendingAuthorization) (*LoginContext, error) {
	if !slices.Contains(pa.Scopes, ScopeOpenID) {
		return nil, nil
	}
	params := pa.Parameters
	lc := &LoginContext{
		Prompts:         slices.Clone(pa.Prompt),
		ConsentRequired: pa.HasPrompt(oauth2.PromptConsent),
		SelectAccount:   pa.HasPrompt(PromptSelectAccount),
		LoginHint:       params[paramLoginHint],
		HintSubject:     params[paramHintSubject],
		UILocales:       strings.Fields(params[paramUILocales]),
		ACRValues:       strings.Fields(params[paramACRValues]),
		EssentialACR:    essentialACR(params[paramClaims]),
	}
	if s, ok := params[paramMaxAge]; ok {
		n, _ := strconv.Atoi(s) // checked when kept
		lc.MaxAge, lc.HasMaxAge = time.Duration(n)*time.Second, true
	} else if pa.Client.DefaultMaxAge > 0 {
		lc.MaxAge, lc.HasMaxAge = pa.Client.DefaultMaxAge, true
	}
	ls, _, err := o.currentSession(r)
	if err != nil || ls == nil {
		return lc, err
	}
	// A login made since the request arrived was made for it: it
	// satisfies prompt=login and any max_age.
	fresh := !ls.AuthTime.Before(pa.StartedAt.Truncate(time.Second))
	hintUser, err := o.hintNames(r.Context(), params, ls.Subject)
	if err != nil {
		return nil, err
	}
	claimsUser, err := o.claimsNames(r.Context(), params, pa.Client, ls.Subject)
	if err != nil {
		return nil, err
	}
	switch {
	case pa.HasPrompt(oauth2.PromptLogin) && !fresh:
		lc.LoginRequired = "prompt=login"
	case lc.HasMaxAge && !fresh && o.p.Now().Sub(ls.AuthTime) > lc.MaxAge:
		lc.LoginRequired = "max_age"
	case !hintUser:
		lc.LoginRequired = "id_token_hint"
	case !claimsUser:
		lc.LoginRequired = "claims"
	case len(lc.EssentialACR) > 0 && !slices.Contains(lc.EssentialACR, ls.ACR):
		lc.LoginRequired = "acr"
	default:
		lc.Session = &Session{ID: ls.ID, Subject: ls.Subject, AuthTime: ls.AuthTime, ACR: ls.ACR,
			AMR: slices.Clone(ls.AMR), ExpiresAt: ls.ExpiresAt}
	}
	return lc, nil
}

// PromptSelectAccount is the prompt value that asks the user to choose an
// account (Core §3.1.2.1).
const PromptSelectAccount = "select_account"

// ConsentFunc reports whether the user (subject) has consented to client
// having scopes, for requests that cannot ask (prompt=none). Its error
// refuses the request: an *oauth2.Error chooses the answer (such as
// interaction_required, when the user must do more than log in or
// consent), any other is server_error.
type ConsentFunc func(ctx context.Context, subject string, client *storage.Client, scopes []string) (bool, error)

// SilentAuthorize returns an oauth2.Config.SilentAuthorize that answers
// prompt=none (Core §3.1.2.1) from the browser's login session: without a
// usable session (none, too old for max_age, another user than
// id_token_hint's) the answer is login_required; when consented says the
// user has not consented, consent_required; otherwise the session's user
// approves, and the session goes on. Requests that are not OpenID
// Connect requests are answered login_required.
func (o *Provider) SilentAuthorize(consented ConsentFunc) func(context.Context, *http.Request, *oauth2.PendingAuthorization) (*oauth2.Approval, error) {
	return func(ctx context.Context, r *http.Request, pa *oauth2.PendingAuthorization) (*oauth2.Approval, error) {
		lc, err := o.LoginContext(r, pa)
		if err != nil {
			return nil, err
		}
		if lc == nil || lc.Session == nil {
			return nil, oauth2.NewError(oauth2.ErrLoginRequired, "the user must log in")
		}
		if consented == nil {
			return nil, oauth2.NewError(oauth2.ErrConsentRequired, "the user must consent")
		}
		ok, err := consented(ctx, lc.Session.Subject, pa.Client, pa.Scopes)
		var oe *oauth2.Error
		switch {
		case errors.As(err, &oe):
			return nil, oe
		case err != nil:
			return nil, oauth2.NewError(oauth2.ErrServerError, "consent could not be checked").WithCause(err)
		case !ok:
			return nil, oauth2.NewError(oauth2.ErrConsentRequired, "the user must consent")
		}
		a := lc.Session.Approval(nil)
		return &a, nil
	}
}

// A grant of an OpenID Connect request belongs to the login session it
// was approved in (its sid, kept with the grant). Once that session has
// ended (a logout, another user's login in the browser, its lifetime), a
// grant without offline_access ends with it, as Core §11 and
// Back-Channel Logout 1.0 §2.7 would have it: its tokens are inactive
// (GrantActive) and its next token request is refused and revokes it
// (checkGrantSession). A grant with offline_access goes on.

// grantSessionEnded reports whether the login session of a grant (its
// values ext, its user subject) has ended at now: its record is gone,
// has expired or is another user's. A grant approved without a session
// (a full store) ends when a session started at its approval would have.
func (o *Provider) grantSessionEnded(ctx context.Context, ext map[string]string, subject string, now time.Time) (bool, error) {
	sid := ext[extSID]
	if sid == "" {
		ends, err := strconv.ParseInt(ext[extSessionEnds], 10, 64)
		if err != nil {
			// Approved before grants kept when their session would end:
			// counted from the login.
			login, lerr := strconv.ParseInt(ext[extAuthTime], 10, 64)
			ends, err = login+int64(o.sessionLifetime/time.Second), lerr
		}
		return err != nil || !now.Before(time.Unix(ends, 0)), nil
	}
	ls, err := o.cfg.Sessions.LoginSessionByID(ctx, sid)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return true, nil
	case err != nil:
		return false, err
	case ls.Subject != subject || !now.Before(ls.ExpiresAt):
		return true, nil
	}
	return o.sidEnded(ctx, sid, now)
}

// GrantActive implements oauth2.GrantChecker: the tokens of a grant of an
// OpenID Connect request without offline_access are inactive once its
// login session has ended, at introspection, UserInfo, resource.Store and
// token exchange alike.
func (o *Provider) GrantActive(ctx context.Context, rec *storage.Token) (bool, error) {
	ext := rec.Extensions
	if _, ok := ext[extAuthTime]; !ok || ext[extOfflineAccess] != "" {
		return true, nil
	}
	ended, err := o.grantSessionEnded(ctx, ext, rec.Subject, o.p.Now())
	return !ended, err
}

// checkGrantSession checks, at a token request of a grant of an OpenID
// Connect request (a code's redemption, a refresh), that its login
// session goes on, and returns the grant's values for the ID token. Once
// the session has ended, a grant without offline_access gets no more
// tokens and is revoked; one with offline_access goes on, and its ID
// tokens name no session (the sid is gone: no logout token will ever
// name it again).
func (o *Provider) checkGrantSession(ctx context.Context, t *oauth2.IssuedTokens) (map[string]string, error) {
	ext := t.Issue.Extensions
	ended, err := o.grantSessionEnded(ctx, ext, t.Issue.Subject, t.Now)
	switch {
	case err != nil:
		return nil, oauth2.StorageError("the login session could not be read", err)
	case !ended:
		return ext, nil
	case ext[extOfflineAccess] != "":
		if _, ok := ext[extSID]; ok {
			ext = maps.Clone(ext)
			delete(ext, extSID)
		}
		return ext, nil
	}
	client := t.Request.Client.ID
	if err := o.p.RevokeGrant(ctx, t.GrantID, client, t.Issue.Subject, "login session ended"); err != nil {
		// The tokens are refused all the same; the next request tries again.
		o.p.Logger().LogAttrs(ctx, slog.LevelWarn, "oidc: the grant of an ended login session could not be revoked",
			slog.String("client_id", client), slog.Any("error", err))
	}
	return nil, oauth2.NewError(oauth2.ErrInvalidGrant, "the user's login session has ended")
}

// endSession deletes a login session and tells its clients. A record
// already gone ends all the same, for its sid does: a concurrent logout
// ended it (and told the clients), or a new login of its user in another
// tab replaced it with a record of the sid, which ends now. The error is
// a store's that failed to delete the record.
func (o *Provider) endSession(ctx context.Context, cur *storage.LoginSession) error {
	ls, err := o.cfg.Sessions.DeleteLoginSession(ctx, cur.Key)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		ls = &storage.LoginSession{ID: cur.ID, Subject: cur.Subject}
	case err != nil:
		return err
	}
	o.sessionEnded(ctx, ls)
	return nil
}

// endOtherUsersSession ends the session another user's login replaces,
// whatever the browser does meanwhile.
func (o *Provider) endOtherUsersSession(ctx context.Context, cur *storage.LoginSession) {
	if err := o.endSession(context.WithoutCancel(ctx), cur); err != nil {
		o.p.Logger().LogAttrs(ctx, slog.LevelWarn, "oidc: a login session could not be ended",
			slog.String("sid", cur.ID), slog.String("error", err.Error()))
	}
}
