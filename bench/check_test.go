package bench

import (
	"strings"
	"testing"
)

// checkServer checks that s does the work its scenario's comparison
// assumes: each of its requests is answered correctly (CheckResponse) and
// differently; a use-once request is refused with invalid_grant when
// replayed; a wrong secret or an unknown client gets 401 (invalid_client
// at the token endpoint) and no token.
func checkServer(t *testing.T, kind Kind, s *Server) {
	t.Helper()
	reqs, err := s.Requests(3)
	if err != nil {
		t.Fatalf("Requests: %v", err)
	}
	if len(reqs) != 3 {
		t.Fatalf("Requests(3) gave %d requests", len(reqs))
	}
	var bodies []string
	for i, r := range reqs {
		w := Serve(s.Handler, r)
		if err := CheckResponse(kind, w.Code, w.Body.Bytes()); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		for _, h := range []string{"Cache-Control", "Content-Type"} {
			if w.Header().Get(h) == "" {
				t.Errorf("request %d: no %s header", i, h)
			}
		}
		if kind != KindIntrospection {
			if got := w.Header().Get("Cache-Control"); got != "no-store" {
				t.Errorf("request %d: Cache-Control = %q, want no-store", i, got)
			}
			for _, prev := range bodies {
				if prev == w.Body.String() {
					t.Errorf("request %d: same answer as an earlier one: %s", i, prev)
				}
			}
		}
		bodies = append(bodies, w.Body.String())
	}
	if kind.UseOnce() {
		w := Serve(s.Handler, reqs[0])
		if w.Code != 400 || !strings.Contains(w.Body.String(), "invalid_grant") {
			t.Errorf("replay: status %d, want 400 invalid_grant: %s", w.Code, w.Body.Bytes())
		}
	}

	fresh, err := s.Requests(1)
	if err != nil {
		t.Fatalf("Requests: %v", err)
	}
	for _, tc := range []struct{ name, id, secret string }{
		{"wrong secret", s.ClientID, otherLastChar(s.ClientSecret)},
		{"unknown client", "someone-else", s.ClientSecret},
	} {
		r := fresh[0]
		r.Authorization = BasicAuthorization(tc.id, tc.secret)
		w := Serve(s.Handler, r)
		// RFC 7662 §2.1 asks for 401 at the introspection endpoint too,
		// but fosite names the error request_unauthorized there.
		if w.Code != 401 || (kind != KindIntrospection && !strings.Contains(w.Body.String(), "invalid_client")) {
			t.Errorf("%s: status %d, want 401 invalid_client: %s", tc.name, w.Code, w.Body.Bytes())
		}
		if strings.Contains(w.Body.String(), "access_token") || strings.Contains(w.Body.String(), `"active":true`) {
			t.Errorf("%s: answer gives something away: %s", tc.name, w.Body.Bytes())
		}
	}
}

// otherLastChar returns secret with its last character changed: always a
// different secret, whatever that character was.
func otherLastChar(secret string) string {
	last := byte('A')
	if secret[len(secret)-1] == 'A' {
		last = 'B'
	}
	return secret[:len(secret)-1] + string(last)
}
