package oidc

import (
	"cmp"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"html/template"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/grantor-dev/grantor/oauth2"
	"github.com/grantor-dev/grantor/storage"
)

// LogoutRequest is a logout a relying party asked for at the end-session
// endpoint (OpenID Connect RP-Initiated Logout 1.0 §2), validated, waiting
// for the user's confirmation.
type LogoutRequest struct {
	// Client is the client that asked, named by client_id or by the
	// id_token_hint's audience; nil when it is unknown. Show its Name.
	Client *storage.Client
	// Subject is the user of the browser's login session.
	Subject string
	// PostLogoutRedirectURI is where the browser goes afterwards, "" for
	// the OpenID Provider's own page.
	PostLogoutRedirectURI string
	// UILocales are the ui_locales parameter's values.
	UILocales []string
	// Action and Form are what the confirmation page posts: a form to
	// Action (the end-session endpoint) with Form's fields as hidden
	// inputs, including the confirmation field, which only this browser's
	// page can know. A page that posts the form ends the session.
	Action string
	Form   url.Values
}

// confirmField is the form field that confirms a logout: a value derived
// from the browser's session cookie, which a page of another site cannot
// read, so that it cannot log the user out by posting the form itself.
const confirmField = "logout_confirm"

// logoutConfirmation returns the confirmation value of the session whose
// cookie holds value.
func logoutConfirmation(value string) string {
	sum := sha256.Sum256([]byte("grantor end_session\x00" + value))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// serveEndSession serves the end-session endpoint: it validates the
// request, asks the user to confirm (Config.LogoutPage, or a plain page),
// and once confirmed ends the browser's login session, tells the
// session's clients (Back-Channel Logout 1.0) and sends the browser to
// the post_logout_redirect_uri with state, or to the logged-out page.
func (o *Provider) serveEndSession(w http.ResponseWriter, r *http.Request) {
	params, err := o.endSessionParams(w, r)
	if err != nil {
		o.p.WriteErrorPage(w, r, err)
		return
	}
	lr, err := o.checkEndSession(r, params)
	if err != nil {
		o.p.WriteErrorPage(w, r, err)
		return
	}
	ls, value, err := o.currentSession(r)
	if err != nil {
		o.p.WriteErrorPage(w, r, err)
		return
	}
	if ls == nil && r.Method == http.MethodPost && params.Get(confirmField) == "" && o.cookieValue(r) == "" {
		// A relying party's form posted from its own site: the browser
		// leaves the SameSite=Lax session cookie off such a POST, so no
		// session shows. Send the browser back as a top-level GET, which
		// carries it, rather than report a logout that did not happen.
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Location", lr.Action+"?"+params.Encode())
		w.WriteHeader(http.StatusSeeOther)
		return
	}
	if ls != nil {
		confirm := params.Get(confirmField)
		if r.Method != http.MethodPost || subtle.ConstantTimeCompare([]byte(confirm), []byte(logoutConfirmation(value))) != 1 {
			lr.Subject = ls.Subject
			lr.Form = url.Values{confirmField: {logoutConfirmation(value)}}
			for _, name := range []string{"client_id", "post_logout_redirect_uri", "state", "ui_locales"} {
				if v := params.Get(name); v != "" {
					lr.Form.Set(name, v)
				}
			}
			if lr.Client != nil {
				lr.Form.Set("client_id", lr.Client.ID)
			}
			o.confirmLogout(w, r, lr)
			return
		}
		// Ended whatever the browser does meanwhile: a user who leaves the
		// page must not leave half a logout behind.
		if err := o.endSession(context.WithoutCancel(r.Context()), ls); err != nil {
			o.p.WriteErrorPage(w, r, oauth2.StorageError("the login session could not be ended", err))
			return
		}
		o.setSessionCookie(w, "", -1)
		if o.cfg.OnLogout != nil {
			o.cfg.OnLogout(w, r, &Session{ID: ls.ID, Subject: ls.Subject, AuthTime: ls.AuthTime, ACR: ls.ACR,
				AMR: slices.Clone(ls.AMR), ExpiresAt: ls.ExpiresAt})
		}
	}
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	if lr.PostLogoutRedirectURI != "" {
		target := lr.PostLogoutRedirectURI
		if state := params.Get("state"); state != "" {
			sep := "?"
			if strings.Contains(target, "?") {
				sep = "&"
			}
			target += sep + url.Values{"state": {state}}.Encode()
		}
		h.Set("Location", target)
		w.WriteHeader(http.StatusSeeOther)
		return
	}
	o.loggedOut(w, r)
}

// endSessionParams reads the parameters of an end-session request: the
// query of a GET, the form of a POST (RP-Initiated Logout 1.0 §2),
// bounded, none repeated.
func (o *Provider) endSessionParams(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	var raw string
	switch r.Method {
	case http.MethodGet:
		raw = r.URL.RawQuery
	case http.MethodPost:
		mediaType, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if err != nil || mediaType != "application/x-www-form-urlencoded" {
			return nil, oauth2.NewError(oauth2.ErrInvalidRequest, "the body must be application/x-www-form-urlencoded")
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, oauth2.MaxAuthorizationQueryBytes))
		if err != nil {
			return nil, &oauth2.Error{Code: oauth2.ErrInvalidRequest, Description: "the request body is too large", Status: http.StatusRequestEntityTooLarge}
		}
		raw = string(body)
	default:
		w.Header().Set("Allow", "GET, POST")
		return nil, &oauth2.Error{Code: oauth2.ErrInvalidRequest, Description: "the method must be GET or POST", Status: http.StatusMethodNotAllowed}
	}
	if len(raw) > oauth2.MaxAuthorizationQueryBytes {
		return nil, oauth2.NewError(oauth2.ErrInvalidRequest, "the request is too long")
	}
	params, err := url.ParseQuery(raw)
	if err != nil || len(params) > oauth2.MaxParameters {
		return nil, oauth2.NewError(oauth2.ErrInvalidRequest, "the request is not valid form encoding")
	}
	for _, vs := range params {
		if len(vs) > 1 {
			return nil, oauth2.NewError(oauth2.ErrInvalidRequest, "a parameter is repeated")
		}
	}
	return params, nil
}

// checkEndSession validates an end-session request (RP-Initiated Logout
// 1.0 §2, §3): an id_token_hint must be ours; a client_id must be its
// audience; a post_logout_redirect_uri needs a client, whose registered
// URIs it must equal exactly.
func (o *Provider) checkEndSession(r *http.Request, params url.Values) (*LogoutRequest, error) {
	ctx := r.Context()
	lr := &LogoutRequest{UILocales: strings.Fields(params.Get(paramUILocales)), Action: o.p.EndpointURL(EndSessionPath)}
	if len(lr.UILocales) > maxListValues {
		lr.UILocales = lr.UILocales[:maxListValues]
	}
	clientID := params.Get("client_id")
	if raw := params.Get("id_token_hint"); raw != "" {
		hint, err := o.verifyIDTokenHint(ctx, raw)
		switch {
		case errors.Is(err, errBadHint):
			return nil, oauth2.NewError(oauth2.ErrInvalidRequest, "the id_token_hint is not a valid ID token of this OpenID Provider")
		case err != nil:
			return nil, oauth2.NewError(oauth2.ErrTemporarilyUnavailable, "the id_token_hint could not be checked").WithCause(err)
		}
		switch {
		case clientID != "" && !slices.Contains(hint.Audience, clientID):
			return nil, oauth2.NewError(oauth2.ErrInvalidRequest, "client_id is not the audience of the id_token_hint")
		case clientID == "" && len(hint.Audience) == 1:
			clientID = hint.Audience[0]
		}
	}
	if clientID != "" {
		client, err := o.p.Client(ctx, clientID)
		switch {
		case errors.Is(err, storage.ErrNotFound):
			return nil, oauth2.NewError(oauth2.ErrInvalidRequest, "unknown client")
		case err != nil:
			return nil, oauth2.StorageError("the client could not be looked up", err)
		}
		lr.Client = client
	}
	if uri := params.Get("post_logout_redirect_uri"); uri != "" {
		if lr.Client == nil {
			return nil, oauth2.NewError(oauth2.ErrInvalidRequest, "post_logout_redirect_uri needs client_id or id_token_hint")
		}
		if !slices.Contains(lr.Client.PostLogoutRedirectURIs, uri) {
			return nil, oauth2.NewError(oauth2.ErrInvalidRequest, "the post_logout_redirect_uri is not registered for this client")
		}
		lr.PostLogoutRedirectURI = uri
	}
	return lr, nil
}

// confirmLogout shows the confirmation page: the application's, or a
// plain one.
func (o *Provider) confirmLogout(w http.ResponseWriter, r *http.Request, lr *LogoutRequest) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	if o.cfg.LogoutPage != nil {
		o.cfg.LogoutPage(w, r, lr)
		return
	}
	// The form posts to the end-session endpoint, which redirects to the
	// post_logout_redirect_uri: browsers check form-action on that
	// redirect too.
	setPageHeaders(h, lr.Action+redirectOrigin(lr.PostLogoutRedirectURI))
	name := ""
	if lr.Client != nil {
		name = cmp.Or(lr.Client.Name, lr.Client.ID)
	}
	_ = confirmTemplate.Execute(w, struct {
		Client string
		Action string
		Form   url.Values
	}{name, lr.Action, lr.Form})
}

// sessionEnded tells the clients of an ended login session that it ended
// (Back-Channel Logout 1.0 §2.5), in the background.
func (o *Provider) sessionEnded(ctx context.Context, ls *storage.LoginSession) {
	o.markEnded(ctx, ls.ID)
	ids := o.endOtherRecords(ctx, ls)
	clients := make([]*storage.Client, 0, len(ids))
	for _, id := range ids {
		c, err := o.p.Client(ctx, id)
		if err != nil {
			if !errors.Is(err, storage.ErrNotFound) {
				o.p.Logger().LogAttrs(ctx, slog.LevelWarn, "oidc: back-channel logout not sent: the client could not be looked up",
					slog.String("client_id", id), slog.String("error", err.Error()))
			}
			continue
		}
		clients = append(clients, c)
	}
	o.backchannel.notifyLogout(ctx, clients, ls.Subject, ls.ID, o.signLogoutToken)
}

// maxSessionRecords bounds the records of one sid that the end of a
// session deletes besides its own.
const maxSessionRecords = 16

// endOtherRecords deletes the other records of an ended session's sid
// and returns the clients of them all, ls's first. A new login of the
// same user creates its record under the sid before it deletes the old
// one: a delete that failed, or a login in another tab that raced the
// logout, leave a record that would keep the session's grants alive
// after the logout.
func (o *Provider) endOtherRecords(ctx context.Context, ls *storage.LoginSession) []string {
	ids := ls.Clients
	for range maxSessionRecords {
		other, err := o.cfg.Sessions.LoginSessionByID(ctx, ls.ID)
		if errors.Is(err, storage.ErrNotFound) {
			return ids
		}
		what := "read"
		if err == nil {
			what = "deleted"
			other, err = o.cfg.Sessions.DeleteLoginSession(ctx, other.Key)
		}
		switch {
		case errors.Is(err, storage.ErrNotFound):
			continue // deleted meanwhile
		case err != nil:
			o.p.Logger().LogAttrs(ctx, slog.LevelWarn, "oidc: a record of an ended login session could not be "+what,
				slog.String("error", err.Error()))
			return ids
		}
		for _, id := range other.Clients {
			if !slices.Contains(ids, id) {
				ids = append(slices.Clip(ids), id)
			}
		}
	}
	return ids
}

// loggedOut shows the page after a logout without a redirect URI.
func (o *Provider) loggedOut(w http.ResponseWriter, r *http.Request) {
	if o.cfg.LoggedOutPage != nil {
		o.cfg.LoggedOutPage(w, r)
		return
	}
	setPageHeaders(w.Header(), "")
	_, _ = io.WriteString(w, loggedOutPage)
}

// redirectOrigin returns " " and the origin of uri, for a CSP source
// list; "" when uri is empty or has none.
func redirectOrigin(uri string) string {
	u, err := url.Parse(uri)
	if uri == "" || err != nil || u.Scheme == "" || u.Host == "" {
		return ""
	}
	return " " + u.Scheme + "://" + u.Host
}

// setPageHeaders sets the headers of the plain pages: no script, no
// framing, a form that may only post to action.
func setPageHeaders(h http.Header, action string) {
	csp := "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; form-action 'none'"
	if action != "" {
		csp = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; form-action " + action
	}
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
}

var confirmTemplate = template.Must(template.New("confirm").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign out</title></head>
<body><main><h1>Sign out?</h1>
{{if .Client}}<p>{{.Client}} asks to sign you out.</p>{{end}}
<form method="post" action="{{.Action}}">{{range $k, $vs := .Form}}{{range $vs}}<input type="hidden" name="{{$k}}" value="{{.}}">{{end}}{{end}}
<button type="submit">Sign out</button></form></main></body></html>
`))

const loggedOutPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Signed out</title></head>
<body><main><h1>You are signed out.</h1></main></body></html>
`
