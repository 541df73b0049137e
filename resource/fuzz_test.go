package resource_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/grantor-dev/grantor/resource"
)

// FuzzMiddleware feeds untrusted Authorization headers and query strings
// to Middleware: it never panics, lets through only goodToken, and never
// quotes the presented value in its challenge.
func FuzzMiddleware(f *testing.F) {
	for _, seed := range []struct{ header, query string }{
		{"Bearer " + goodToken, ""}, {"bearer  " + goodToken, ""}, {"Bearer", ""}, {"Bearer a b", ""},
		{"Bearer ==", ""}, {"DPoP x", ""}, {"", "access_token=" + goodToken}, {"Bearer x", "access_token=y"},
		{"Bearer quoted", ""}, {"Bearer \x00\xff", "access_token=%00"},
	} {
		f.Add(seed.header, seed.query)
	}
	h := resource.Middleware(resource.Config{Validator: &fakeValidator{}, Realm: "api", AllowQueryToken: true})(echo)
	f.Fuzz(func(t *testing.T, header, query string) {
		r := httptest.NewRequest(http.MethodGet, "/hello", nil)
		r.URL.RawQuery = query
		if header != "" {
			r.Header["Authorization"] = []string{header}
		}
		res := serve(h, r)
		if res.status == http.StatusOK {
			if !strings.Contains(header+query, goodToken) && !strings.Contains(query, "Abc~%2B%2F%3D%3D") {
				t.Fatalf("accepted %q %q", header, query)
			}
			return
		}
		for _, c := range res.www {
			if c < 0x20 || c > 0x7e {
				t.Fatalf("challenge with a byte outside RFC 6750 §3: %q", res.www)
			}
		}
		if tok, found := strings.CutPrefix(header, "Bearer "); found && len(tok) >= 16 && strings.Contains(res.www, tok) {
			t.Fatalf("challenge quotes the token: %q", res.www)
		}
	})
}
