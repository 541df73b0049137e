package oauth2

import (
	"io"
	"net/http"
	"net/url"
	"strings"
)

// endpoint is one row of the table of what Handler serves. Handler's doc
// comment lists the same rows (a test holds them together).
type endpoint struct {
	// path is below the issuer's path, or, for the metadata document,
	// the well-known prefix put before the issuer's path (RFC 8414 §3.1).
	path      string
	wellKnown bool
	// doc is what Handler's doc comment says of the endpoint.
	doc     string
	handler func(*Provider) http.Handler
	// enabled reports whether the Provider serves the endpoint; nil
	// means always.
	enabled func(*Provider) bool
}

// endpoints are the endpoints Handler serves, in the order of its doc.
var endpoints = []endpoint{
	{path: AuthorizePath, doc: "the authorization endpoint (RFC 6749 §3.1), when a grant answers it (grant.AuthorizationCode)",
		handler: (*Provider).AuthorizeHandler, enabled: (*Provider).authorizeEnabled},
	{path: PARPath, doc: "the pushed authorization request endpoint (RFC 9126 §2), when Config.PushedRequests is set",
		handler: (*Provider).PushedAuthorizationHandler, enabled: (*Provider).parEnabled},
	{path: TokenPath, doc: "the token endpoint (RFC 6749 §3.2)",
		handler: (*Provider).TokenHandler},
	{path: RevocationPath, doc: "the token revocation endpoint (RFC 7009 §2)",
		handler: (*Provider).RevocationHandler},
	{path: IntrospectionPath, doc: "the token introspection endpoint (RFC 7662 §2)",
		handler: (*Provider).IntrospectionHandler},
	{path: JWKSPath, doc: "the keys that verify the JWTs the Provider signs (RFC 7517 §5), when it signs any",
		handler: (*Provider).JWKSHandler, enabled: (*Provider).jwksEnabled},
	{path: MetadataPath, wellKnown: true, doc: "the metadata document (RFC 8414 §3), outside the issuer's path: see Provider.MetadataPath",
		handler: (*Provider).MetadataHandler},
}

func (p *Provider) authorizeEnabled() bool { return len(p.responseTypes) > 0 }
func (p *Provider) parEnabled() bool       { return p.pushed != nil }

// endpointPath is the path of e for the Provider's issuer.
func (p *Provider) endpointPath(e endpoint) string {
	if e.wellKnown {
		return e.path + p.issuerPath
	}
	return p.issuerPath + e.path
}

// Handler returns a handler that serves every endpoint of the Provider at
// the path its metadata document advertises. With the issuer's path
// written as {path} ("" for an issuer such as https://as.example,
// "/oauth" for https://as.example/oauth), it serves:
//
//   - {path}/authorize: the authorization endpoint (RFC 6749 §3.1), when a grant answers it (grant.AuthorizationCode)
//   - {path}/par: the pushed authorization request endpoint (RFC 9126 §2), when Config.PushedRequests is set
//   - {path}/token: the token endpoint (RFC 6749 §3.2)
//   - {path}/revoke: the token revocation endpoint (RFC 7009 §2)
//   - {path}/introspect: the token introspection endpoint (RFC 7662 §2)
//   - {path}/jwks.json: the keys that verify the JWTs the Provider signs (RFC 7517 §5), when it signs any
//   - /.well-known/oauth-authorization-server{path}: the metadata document (RFC 8414 §3), outside the issuer's path: see Provider.MetadataPath
//
// and the endpoints the registered grants and features bring (EndpointProvider), at
// {path} followed by their Endpoint.Path. Every other path, and an
// endpoint that is not enabled, answers 404.
//
// For an issuer without a path, serve Handler at the root:
//
//	http.ListenAndServe(addr, p.Handler())
//
// For an issuer with a path, mount Handler under it, with or without
// http.StripPrefix (Handler serves the endpoints at the path the client
// asked for, whichever leading part of the issuer's path the mux
// stripped, with or without the slash after it), and the metadata
// document, which lives outside the issuer's path, at Provider.MetadataPath:
//
//	mux.Handle("/oauth/", p.Handler())
//	// or: mux.Handle("/oauth/", http.StripPrefix("/oauth", p.Handler()))
//	// or: mux.Handle("/oauth/", http.StripPrefix("/oauth/", p.Handler()))
//	mux.Handle(p.MetadataPath(), p.MetadataHandler())
//
// Handler matches the path of the request line (http.Request.RequestURI,
// which http.StripPrefix leaves alone) against the issuer's: an endpoint
// is served only at the URL the metadata advertises, never at a path that
// a handler in front of it rewrote into that URL's path (such as
// /oauth/oauth/token stripped to /oauth/token). To serve the endpoints at
// other paths, mount the handlers one by one (TokenHandler and the others)
// on a mux of your own.
//
// A request without a request line (RequestURI is empty: one made with
// http.NewRequest in a test, or by an adapter that builds requests from
// something other than HTTP) has only the path the handler is given, so
// Handler serves each endpoint at its full path and at what
// http.StripPrefix leaves of it after a leading part of the issuer's path
// (the metadata document at its full path only). Without a request line a
// stripped prefix cannot be told from a doubled one: /oauth/oauth/token
// stripped to /oauth/token is served as /oauth/token. Requests from an
// http.Server, and from httptest.NewRequest, have a request line.
func (p *Provider) Handler() http.Handler {
	h := &providerHandler{
		paths: make(map[string]route),
		// The 404 is the same for every path: built once, so that a
		// request for a path that names no endpoint costs little.
		notFound: "404 page not found: no endpoint at this path; the endpoints of this authorization server are listed at " + p.MetadataURL() + "\n",
	}
	for _, e := range endpoints {
		if e.enabled != nil && !e.enabled(p) {
			continue
		}
		h.add(p.endpointPath(e), e.handler(p), e.wellKnown, len(p.issuerPath))
	}
	for _, e := range p.grantEndpoints {
		h.add(p.issuerPath+e.Path, e.Handler, false, len(p.issuerPath))
	}
	return h
}

// add routes the endpoint at full to handler: at all of full, and at what
// a mux in front may leave of it, what follows a leading part of the
// issuer's path (issuerPathLen bytes) that ends before a slash
// (http.StripPrefix("/oauth")) or after one (http.StripPrefix("/oauth/")).
// The metadata document (wellKnown) is outside the issuer's path: only a
// leading "/" may go.
func (h *providerHandler) add(full string, handler http.Handler, wellKnown bool, issuerPathLen int) {
	rt := route{full: full, handler: handler}
	last := issuerPathLen
	if wellKnown {
		last = 0
	}
	for i := 0; i <= last; i++ {
		if full[i] == '/' {
			h.paths[full[i:]] = rt
			h.paths[full[i+1:]] = rt
		}
	}
}

// providerHandler is the handler Handler returns.
type providerHandler struct {
	// paths maps the full path of each enabled endpoint, and each path a
	// mux in front of the handler may leave of it, to the endpoint.
	paths map[string]route
	// notFound is the body of every 404.
	notFound string
}

// route is an enabled endpoint of a providerHandler.
type route struct {
	full    string // the path the metadata document advertises
	handler http.Handler
}

func (h *providerHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// The path the handler was given must be in the table, written
	// without percent-escapes as every path there is. Looking it up
	// first makes a path that names no endpoint cost no parsing.
	given, ok := h.paths[r.URL.Path]
	if !ok || r.URL.RawPath != "" && r.URL.RawPath != r.URL.Path {
		h.answerNotFound(w)
		return
	}
	if r.RequestURI == "" {
		// No request line: the path is all there is.
		given.handler.ServeHTTP(w, r)
		return
	}
	// What the client asked for, which a mux that strips a prefix
	// (http.StripPrefix) leaves alone: it must be the route the given
	// path was cut from.
	asked := r.RequestURI
	if !strings.HasPrefix(asked, "/") {
		// absolute-form (RFC 9112 §3.2.2); authority-form and
		// asterisk-form name no endpoint and fail below.
		if target, _, _ := strings.Cut(asked, "?"); !strings.HasSuffix(target, given.full) {
			h.answerNotFound(w)
			return
		}
		u, err := url.ParseRequestURI(asked)
		if err != nil {
			h.answerNotFound(w)
			return
		}
		asked = u.EscapedPath()
	} else { // origin-form (RFC 9112 §3.2.1), escaped as sent
		asked, _, _ = strings.Cut(asked, "?")
	}
	if asked == given.full {
		given.handler.ServeHTTP(w, r)
		return
	}
	h.answerNotFound(w)
}

// answerNotFound answers 404 as http.Error does, with a hint for the
// developer who mounted the Provider: where its metadata document, which
// lists every endpoint, is.
func (h *providerHandler) answerNotFound(w http.ResponseWriter) {
	hd := w.Header()
	hd.Del("Content-Length")
	hd.Set("Content-Type", "text/plain; charset=utf-8")
	hd.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusNotFound)
	_, _ = io.WriteString(w, h.notFound)
}

// MetadataPath returns the path of the Provider's metadata document: the
// constant MetadataPath followed by the issuer's path (RFC 8414 §3.1), as
// /.well-known/oauth-authorization-server/oauth for the issuer
// https://as.example/oauth. For an issuer with a path it lies outside the
// issuer's path, so a Handler mounted under that path does not serve it:
// register it next to Handler with
//
//	mux.Handle(p.MetadataPath(), p.MetadataHandler())
func (p *Provider) MetadataPath() string { return MetadataPath + p.issuerPath }

// MetadataURL returns the URL of the Provider's metadata document (RFC
// 8414 §3.1): the issuer's scheme and host followed by MetadataPath.
func (p *Provider) MetadataURL() string {
	return strings.TrimSuffix(p.issuer, p.issuerPath) + p.MetadataPath()
}

// notFound answers 404 with a hint for the developer who mounted the
// Provider: where its metadata document, which lists every endpoint, is.
func (p *Provider) notFound(w http.ResponseWriter, why string) {
	http.Error(w, "404 page not found: "+why+"; the endpoints of this authorization server are listed at "+p.MetadataURL(), http.StatusNotFound)
}

// disabled is the handler of an endpoint the Provider does not serve: it
// answers every request with 404.
func (p *Provider) disabled(why string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { p.notFound(w, why) })
}
