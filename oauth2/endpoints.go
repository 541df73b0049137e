package oauth2

import (
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
	{path: JWKSPath, doc: "the keys that verify JWT access tokens (RFC 7517 §5), when access tokens are JWTs",
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
//   - {path}/jwks.json: the keys that verify JWT access tokens (RFC 7517 §5), when access tokens are JWTs
//   - /.well-known/oauth-authorization-server{path}: the metadata document (RFC 8414 §3), outside the issuer's path: see Provider.MetadataPath
//
// Every other path, and an endpoint that is not enabled, answers 404.
//
// For an issuer without a path, serve Handler at the root:
//
//	http.ListenAndServe(addr, p.Handler())
//
// For an issuer with a path, mount Handler under it, with or without
// http.StripPrefix (Handler serves the endpoints at the path the client
// asked for, whichever part of it the mux stripped), and the metadata
// document, which lives outside the issuer's path, at Provider.MetadataPath:
//
//	mux.Handle("/oauth/", p.Handler())
//	// or: mux.Handle("/oauth/", http.StripPrefix("/oauth", p.Handler()))
//	mux.Handle(p.MetadataPath(), p.MetadataHandler())
//
// Handler matches the path of the request line (http.Request.RequestURI,
// which http.StripPrefix leaves alone) against the issuer's: an endpoint
// is served only at the URL the metadata advertises, never at a path that
// a handler in front of it rewrote into that URL's path (such as
// /oauth/oauth/token stripped to /oauth/token). To serve the endpoints at
// other paths, mount the handlers one by one (TokenHandler and the others)
// on a mux of your own.
func (p *Provider) Handler() http.Handler {
	h := &providerHandler{p: p, routes: make(map[string]http.Handler, len(endpoints))}
	for _, e := range endpoints {
		if e.enabled == nil || e.enabled(p) {
			h.routes[p.endpointPath(e)] = e.handler(p)
		}
	}
	return h
}

// providerHandler is the handler Handler returns.
type providerHandler struct {
	p *Provider
	// routes maps the full path of each enabled endpoint to its handler.
	routes map[string]http.Handler
}

func (h *providerHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// path is what the handler was given, asked what the client asked
	// for. A mux that strips a prefix (http.StripPrefix) changes the
	// first, never the second; a request made in process without a
	// request line has only the first.
	path := r.URL.EscapedPath()
	asked := path
	switch uri := r.RequestURI; {
	case strings.HasPrefix(uri, "/"): // origin-form (RFC 9112 §3.2.1), escaped as sent
		asked, _, _ = strings.Cut(uri, "?")
	case uri != "":
		u, err := url.ParseRequestURI(uri)
		if err != nil {
			h.p.notFound(w, "no endpoint at this path")
			return
		}
		asked = u.EscapedPath()
	}
	// The handler may be mounted below any leading part of the asked
	// path, cut at a slash: /oauth/token reaches it as /oauth/token or as
	// /token, never as /oauth/oauth/token stripped to /oauth/token.
	if e, ok := h.routes[asked]; ok && strings.HasPrefix(path, "/") && strings.HasSuffix(asked, path) {
		e.ServeHTTP(w, r)
		return
	}
	h.p.notFound(w, "no endpoint at this path")
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
