package main

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"

	"github.com/grantor-dev/grantor/oauth2"
	"github.com/grantor-dev/grantor/oidc"
)

// amrPassword is the authentication method of the login form: a password
// (RFC 8176 §2, "pwd").
const amrPassword = "pwd"

// newOpenIDProvider makes the server an OpenID Provider (OpenID Connect
// Core 1.0): ID tokens signed with the stored ID token keys (keys.go),
// the users' claims from the directory, login sessions kept in the store
// (so that every instance over one database shares them, and they survive
// a restart), and the pages' logout confirmation. It is registered with
// the oauth2.Provider through Config.Features.
func newOpenIDProvider(st *openedStore, keys *tokenKeys, usrs *users, pg *pages) (*oidc.Provider, error) {
	return oidc.New(oidc.Config{
		Keys:     keys.idTokenKeySources(),
		Claims:   oidc.ClaimsFunc(usrs.claims),
		Sessions: st.store,
		// The OpenID login session lasts as long as the pages' own.
		SessionLifetime: sessionLifetime,
		LogoutPage:      pg.logoutPage,
		LoggedOutPage:   pg.loggedOutPage,
		OnLogout:        pg.endPageSession,
	})
}

// claims is the OpenID Provider's ClaimsSource over the user directory
// (OpenID Connect Core §5.1): the claims of the profile scope it has
// (name, preferred_username) and of the email scope (email,
// email_verified). The Provider keeps only those the granted scopes
// allow. A user no longer in the directory has no claims but sub.
func (u *users) claims(_ context.Context, req *oidc.ClaimsRequest) (map[string]any, error) {
	usr, ok := u.byName[req.Subject]
	if !ok {
		return nil, nil
	}
	c := map[string]any{"name": usr.Name, "preferred_username": usr.Username}
	if usr.Email != "" {
		c["email"] = usr.Email
		c["email_verified"] = usr.EmailVerified
	}
	return c, nil
}

// loginFor returns the approval with which the browser's user, logged in
// to the pages with session s (nil: not logged in), may decide pa without
// typing the password, or nil when the login page must ask for it; and
// the OpenID side of the request, nil for an OAuth request.
//
// A login for this very interaction (its login form, just submitted)
// always may: its time is the real login time, and its method the
// password. Otherwise, for an OAuth request, the pages' session may,
// unless the client asked for prompt=login. For an OpenID Connect request
// the OpenID Provider's LoginContext decides (Core §3.1.2.1): its login
// session may unless prompt=login, max_age or id_token_hint rule it out,
// not with prompt=select_account (the user picks an account on the login
// form), and only if it is the pages' user; the approval then continues
// that session, with its login time, acr and amr.
func (pg *pages) loginFor(r *http.Request, pa *oauth2.PendingAuthorization, s *session) (*oauth2.Approval, *oidc.LoginContext, error) {
	var lc *oidc.LoginContext
	if pg.openID != nil {
		var err error
		if lc, err = pg.openID.LoginContext(r, pa); err != nil {
			return nil, nil, fmt.Errorf("%w: %w", oauth2.ErrStorageFailure, err)
		}
	}
	switch {
	case s == nil:
		return nil, lc, nil
	case s.loggedInFor != "" && s.loggedInFor == pa.ID:
		return &oauth2.Approval{Subject: s.user.Username, AuthTime: s.authTime, AMR: []string{amrPassword}}, lc, nil
	case lc == nil:
		if pa.HasPrompt(oauth2.PromptLogin) {
			return nil, nil, nil
		}
		return &oauth2.Approval{Subject: s.user.Username, AuthTime: s.authTime}, nil, nil
	case !openIDSessionUsable(lc) || lc.Session.Subject != s.user.Username:
		return nil, lc, nil
	}
	a := lc.Session.Approval(nil)
	return &a, lc, nil
}

// openIDSessionUsable reports whether the OpenID login session may decide
// the request without the login form.
func openIDSessionUsable(lc *oidc.LoginContext) bool {
	return lc != nil && lc.Session != nil && !lc.SelectAccount
}

// adoptOpenIDSession logs the browser in to the pages with its OpenID
// login session, when it has no session of the pages (a restart, or the
// pages' session was dropped) and the OpenID session may decide the
// request: single sign-on needs no second password. It returns the new
// session, or nil when the session's user is no longer in the directory.
func (pg *pages) adoptOpenIDSession(w http.ResponseWriter, lc *oidc.LoginContext) (*session, error) {
	usr, ok := pg.users.byName[lc.Session.Subject]
	if !ok {
		return nil, nil
	}
	expires := pg.clock().Add(sessionLifetime)
	if lc.Session.ExpiresAt.Before(expires) {
		expires = lc.Session.ExpiresAt
	}
	s := &session{user: usr, authTime: lc.Session.AuthTime, expires: expires}
	if _, err := pg.startSession(w, s); err != nil {
		return nil, err
	}
	return s, nil
}

// loginHint is what the login form's username is filled with for an
// OpenID Connect request: its login_hint, else the user its id_token_hint
// names (Core §3.1.2.1). Subjects are usernames here.
func loginHint(lc *oidc.LoginContext) string {
	if lc == nil {
		return ""
	}
	if lc.LoginHint != "" {
		return lc.LoginHint
	}
	return lc.HintSubject
}

// hiddenField is a hidden input of a form the pages render.
type hiddenField struct{ Name, Value string }

// logoutPage is the OpenID Provider's LogoutPage: it asks the user to
// confirm a logout that a relying party asked for (OpenID Connect
// RP-Initiated Logout 1.0 §2). Its form posts lr.Form to lr.Action, the
// end-session endpoint, which then redirects to the client's
// post_logout_redirect_uri: Chromium checks form-action on that redirect
// too, so the policy names the URI's origin, as the consent page's does.
func (pg *pages) logoutPage(w http.ResponseWriter, _ *http.Request, lr *oidc.LogoutRequest) {
	data := pageData{Title: "Log out?", Action: lr.Action, UserName: lr.Subject}
	if usr, ok := pg.users.byName[lr.Subject]; ok {
		data.UserName = usr.Name
	}
	if lr.Client != nil {
		data.ClientName = clientName(lr.Client)
	}
	for _, name := range slices.Sorted(maps.Keys(lr.Form)) {
		for _, v := range lr.Form[name] {
			data.Hidden = append(data.Hidden, hiddenField{Name: name, Value: v})
		}
	}
	pg.render(w, http.StatusOK, "logout.html", consentCSP(lr.PostLogoutRedirectURI), data)
}

// loggedOutPage is the OpenID Provider's LoggedOutPage, shown after a
// logout that names no post_logout_redirect_uri.
func (pg *pages) loggedOutPage(w http.ResponseWriter, _ *http.Request) {
	pg.render(w, http.StatusOK, "logged_out.html", pageCSP, pageData{Title: "Logged out",
		Message: "You are logged out."})
}

// endPageSession is the OpenID Provider's OnLogout: a logout at the
// end-session endpoint ends the pages' own session in the browser too, so
// that no page of ours still knows the user.
func (pg *pages) endPageSession(w http.ResponseWriter, r *http.Request, _ *oidc.Session) {
	if sid, _ := pg.session(r); sid != "" {
		pg.sessions.delete(sid)
	}
	http.SetCookie(w, &http.Cookie{Name: pg.cookieName, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: pg.secure, SameSite: http.SameSiteLaxMode})
}
