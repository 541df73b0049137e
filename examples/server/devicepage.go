package main

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"

	"github.com/grantor-dev/grantor/oauth2"
)

// The device verification page of the device authorization grant (RFC
// 8628 §3.3): a TV or a command-line tool shows a user code and this
// page's URL; the user opens it on a phone or a computer, logs in, types
// the code and approves. Like the consent page, it is the application's:
// Grantor finds the device authorization by its code
// (Provider.PendingDeviceAuthorization) and records the decision
// (ApproveDevice, DenyDevice); the device's next poll of the token
// endpoint gets the tokens or access_denied.
//
//	GET  /device[?user_code=CODE]  the code form, pre-filled from
//	                               verification_uri_complete (login first)
//	POST /device                   the confirmation page: the client, the
//	                               scopes and the code, to compare with the
//	                               device's screen (RFC 8628 §5.4)
//	POST /device/decision          approve or deny
//
// A code in the URL only fills the form: nothing is looked up or approved
// until the user sends the form and then presses Approve, so that a link
// sent by an attacker (remote phishing, RFC 8628 §5.4) cannot approve the
// attacker's device by itself. Every code tried counts against the
// browser's and the address's budgets (RFC 8628 §5.1); beyond them the
// page answers 429 until the window ends.

const (
	// devicePath is the verification page: the grant's VerificationURI
	// is the issuer followed by it.
	devicePath = "/device"
	// deviceDecisionPath receives the confirmation form.
	deviceDecisionPath = "/device/decision"
	// maxUserCodeInput bounds a user code the page shows again or puts
	// in a URL. A user code is 9 characters; a longer one is no code.
	maxUserCodeInput = 64
)

// deviceURL is the device page's path with the user code, if any, in its
// query: where a login for the page returns to.
func deviceURL(userCode string) string {
	if userCode == "" || len(userCode) > maxUserCodeInput {
		return devicePath
	}
	return devicePath + "?" + url.Values{"user_code": {userCode}}.Encode()
}

// showDevice is GET /device: the form to type the user code in, filled in
// with the user_code parameter of verification_uri_complete (RFC 8628
// §3.3.1). It looks nothing up. A visitor logs in first and comes back
// with the same code.
func (pg *pages) showDevice(w http.ResponseWriter, r *http.Request) {
	code := r.URL.Query().Get("user_code")
	if len(code) > maxUserCodeInput {
		code = ""
	}
	sid, s := pg.session(r)
	if s == nil {
		setPageHeaders(w.Header(), pageCSP)
		redirect(w, "/login?"+url.Values{"next": {deviceURL(code)}}.Encode())
		return
	}
	pg.render(w, http.StatusOK, "device.html", pageCSP, pageData{
		Title: "Connect a device", UserName: s.user.Name, UserCode: code, CSRF: pg.userCodeCSRF(sid),
	})
}

// submitUserCode is POST /device: it looks up the device authorization of
// the code the user typed and shows what approving it would grant, with
// the code itself, for the user to compare with the device's screen (RFC
// 8628 §5.4). A wrong, expired or used code shows the form again.
func (pg *pages) submitUserCode(w http.ResponseWriter, r *http.Request) {
	sid, s := pg.session(r)
	if !pg.checkForm(w, r, func(url.Values) string {
		if s == nil {
			return ""
		}
		return pg.userCodeCSRF(sid)
	}) {
		return
	}
	typed := r.PostForm.Get("user_code")
	form := pageData{Title: "Connect a device", UserName: s.user.Name, CSRF: pg.userCodeCSRF(sid)}
	if len(typed) <= maxUserCodeInput {
		form.UserCode = typed
	}
	pda, err := pg.provider.PendingDeviceAuthorization(w, r, typed)
	var throttled *oauth2.ThrottledError
	switch {
	case errors.As(err, &throttled):
		secs := throttled.RetryAfterSeconds()
		w.Header().Set("Retry-After", secs)
		n, _ := strconv.Atoi(secs)
		form.Error = "Too many codes tried. Try again in " + waitText(n) + "."
		pg.render(w, http.StatusTooManyRequests, "device.html", pageCSP, form)
	case errors.Is(err, oauth2.ErrUserCodeNotFound):
		form.Error = "This code is unknown, has expired or was already used. Check the code on your device and try again."
		pg.render(w, http.StatusBadRequest, "device.html", pageCSP, form)
	case errors.Is(err, oauth2.ErrStorageFailure):
		pg.logger.ErrorContext(r.Context(), "device page: storage failed", "err", err)
		pg.unavailable(w, unavailableRetryAfter)
	case err != nil:
		pg.logger.ErrorContext(r.Context(), "device page: the Provider refused the lookup", "err", err)
		pg.renderError(w, http.StatusInternalServerError, "This device cannot be connected",
			"Something went wrong on our side. Try again later.")
	default:
		pg.render(w, http.StatusOK, "device_confirm.html", pageCSP, pageData{
			Title: "Connect this device?", ClientName: clientName(pda.Client), UserName: s.user.Name,
			Scopes: scopeViews(pda.Scopes), UserCode: pda.UserCode, Interaction: pda.ID,
			CSRF: pg.deviceDecisionCSRF(sid, pda.ID),
		})
	}
}

// decideDevice is POST /device/decision: the user's Approve or Deny on the
// confirmation page. The approval is the logged-in user's.
func (pg *pages) decideDevice(w http.ResponseWriter, r *http.Request) {
	sid, s := pg.session(r)
	if !pg.checkForm(w, r, func(form url.Values) string {
		if s == nil || form.Get("interaction") == "" {
			return ""
		}
		return pg.deviceDecisionCSRF(sid, form.Get("interaction"))
	}) {
		return
	}
	id := r.PostForm.Get("interaction")
	var err error
	var done pageData
	switch r.PostForm.Get("decision") {
	case "approve":
		err = pg.provider.ApproveDevice(r, id, oauth2.Approval{Subject: s.user.Username, AuthTime: s.authTime})
		done = pageData{Title: "Device connected",
			Message: "Return to your device: it will continue on its own in a few seconds."}
	case "deny":
		err = pg.provider.DenyDevice(r, id)
		done = pageData{Title: "Request denied", Message: "The device was not given access to your account."}
	default:
		pg.renderError(w, http.StatusBadRequest, "This device cannot be connected", "Choose Approve or Deny.")
		return
	}
	if err != nil {
		pg.deviceError(w, r, err)
		return
	}
	pg.render(w, http.StatusOK, "device_done.html", pageCSP, done)
}

// deviceError shows why a decision on the device page cannot be made,
// with a way back to the code form where that helps.
func (pg *pages) deviceError(w http.ResponseWriter, r *http.Request, err error) {
	const title = "This device cannot be connected"
	switch {
	case errors.Is(err, oauth2.ErrInteractionNotFound):
		pg.render(w, http.StatusBadRequest, "error.html", pageCSP, pageData{Title: title, Retry: devicePath,
			Message: "This request is unknown, has expired or was already decided. Enter the code shown on your device again."})
	case errors.Is(err, oauth2.ErrInteractionBrowser):
		pg.render(w, http.StatusBadRequest, "error.html", pageCSP, pageData{Title: title, Retry: devicePath,
			Message: "This request was started in another browser. Enter the code shown on your device again here."})
	case errors.Is(err, oauth2.ErrStorageFailure):
		pg.logger.ErrorContext(r.Context(), "device page: storage failed", "err", err)
		pg.unavailable(w, unavailableRetryAfter)
	default:
		pg.logger.ErrorContext(r.Context(), "device page: the Provider refused the decision", "err", err)
		pg.renderError(w, http.StatusInternalServerError, title, "Something went wrong on our side. Try again later.")
	}
}

// userCodeAccount is the Provider's Config.UserCodeAccount: the account the
// device page is logged in as. The Provider counts the codes an account
// tries as well as a browser's and an address's: a browser is a cookie,
// which a guesser drops (RFC 8628 §5.1).
func (pg *pages) userCodeAccount(r *http.Request) string {
	if _, s := pg.session(r); s != nil {
		return s.user.Username
	}
	return ""
}
