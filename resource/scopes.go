package resource

import (
	"net/http"
	"strings"
)

// RequireScopes returns a middleware that lets a request through only
// when the token Middleware accepted grants every one of scopes
// (RFC 6749 §3.3). Otherwise it answers 403 with
// `WWW-Authenticate: Bearer error="insufficient_scope", scope="..."`
// naming all of scopes (RFC 6750 §3.1), or the same in the DPoP scheme
// for a DPoP-bound token (RFC 9449 §7.1).
//
// It must run after Middleware: without a token in the request's context
// it answers 401, as for a request without a token (RFC 6750 §3.1), so
// that a misconfigured route fails closed.
func RequireScopes(scopes ...string) func(http.Handler) http.Handler {
	want := strings.Join(scopes, " ")
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			realm := realmFrom(r.Context())
			t, ok := FromContext(r.Context())
			if !ok {
				challenge(w, http.StatusUnauthorized, realm, "", "", "")
				return
			}
			for _, s := range scopes {
				if !t.HasScope(s) {
					const desc = "the access token does not grant the scope this resource requires"
					if t.KeyThumbprint != "" {
						// A DPoP-bound token is answered in its own scheme
						// (RFC 9449 §7.1).
						h := w.Header()
						h.Set("WWW-Authenticate", authChallenge("DPoP", realm, "insufficient_scope", desc, want))
						h.Set("Cache-Control", "no-store")
						w.WriteHeader(http.StatusForbidden)
						return
					}
					challenge(w, http.StatusForbidden, realm, "insufficient_scope", desc, want)
					return
				}
			}
			next.ServeHTTP(w, r)
		})
	}
}
