package oauth2

import (
	"crypto/sha256"
	"encoding/base64"
	"html/template"
	"net/http"
	"net/url"
	"sort"
	"strings"
)

// setPageHeaders sets the headers of every HTML page the Provider writes:
// no framing (RFC 9700 §4.16), no referrer (§4.2.4), no caching, and a
// content security policy that allows nothing but what the page needs.
func setPageHeaders(h http.Header, csp string) {
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", csp)
}

var errorPageTemplate = template.Must(template.New("error").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Authorization error</title></head>
<body><h1>The request could not be processed</h1>
<p><code>{{.Code}}</code>{{if .Description}}: {{.Description}}{{end}}</p>
<p>Return to the application you came from and try again.</p></body></html>
`))

// errorPage shows an error to the browser instead of redirecting: the
// client or its redirect URI could not be trusted (RFC 6749 §4.1.2.1). It
// answers JSON to a caller that asks for it. An application can replace it
// with Config.ErrorPage.
// WriteErrorPage writes err as the authorization endpoint writes the
// errors it cannot redirect to a client: Config.ErrorPage when set, else
// a plain page (JSON for a caller that accepts only that), with the
// error's status. For endpoints that features bring and browsers visit,
// such as an OpenID Provider's end-session endpoint.
func (p *Provider) WriteErrorPage(w http.ResponseWriter, r *http.Request, err error) {
	p.errorPage(w, r, err)
}

func (p *Provider) errorPage(w http.ResponseWriter, r *http.Request, err error) {
	oe := p.logFailure(r, AsError(err))
	if p.errorPageFunc != nil {
		p.errorPageFunc(w, r, oe)
		return
	}
	if strings.Contains(r.Header.Get("Accept"), "application/json") {
		WriteError(w, oe)
		return
	}
	for k, vs := range oe.Header {
		w.Header()[k] = vs
	}
	setPageHeaders(w.Header(), "default-src 'none'; frame-ancestors 'none'")
	w.WriteHeader(oe.HTTPStatus())
	_ = errorPageTemplate.Execute(w, struct{ Code, Description string }{
		sanitizeErrorText(string(oe.Code)), sanitizeErrorText(oe.Description)})
}

// formPostScript submits the form as soon as the page loads; its hash is
// the only script the page's policy allows.
const formPostScript = `document.forms[0].submit()`

var formPostScriptHash = func() string {
	sum := sha256.Sum256([]byte(formPostScript))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}()

var formPostTemplate = template.Must(template.New("form_post").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Returning to the application</title></head>
<body><form method="post" action="{{.Action}}">{{range .Fields}}
<input type="hidden" name="{{.Name}}" value="{{.Value}}">{{end}}
<noscript><p>JavaScript is off: press the button to continue.</p><button type="submit">Continue</button></noscript>
</form><script>` + formPostScript + `</script></body></html>
`))

// writeFormPost delivers an authorization response by a self-submitting
// form (OAuth 2.0 Form Post Response Mode). Values are HTML-escaped by the
// template.
func writeFormPost(w http.ResponseWriter, action string, params url.Values) {
	type field struct{ Name, Value string }
	fields := make([]field, 0, len(params))
	for name, vs := range params {
		for _, v := range vs {
			fields = append(fields, field{name, v})
		}
	}
	sort.Slice(fields, func(i, j int) bool { return fields[i].Name < fields[j].Name })
	// The action is a registered redirect URI, which may use a private
	// scheme html/template would refuse. Refuse the dangerous schemes
	// ourselves, in case a client record bypassed registration checks.
	target := template.URL(action)
	if u, err := url.Parse(action); err != nil || dangerousScheme(u.Scheme) {
		target = "about:blank"
	}
	setPageHeaders(w.Header(), "default-src 'none'; script-src "+formPostScriptHash+"; frame-ancestors 'none'")
	w.WriteHeader(http.StatusOK)
	_ = formPostTemplate.Execute(w, struct {
		Action template.URL
		Fields []field
	}{target, fields})
}

// dangerousScheme reports schemes that run code or read local data.
func dangerousScheme(scheme string) bool {
	switch strings.ToLower(scheme) {
	case "javascript", "data", "vbscript", "file", "blob":
		return true
	}
	return false
}
