package harness

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// A server the checks must catch: one that redeems every code and refresh
// token again, calls every token active or inactive whatever happened to
// it, or fails with a 5xx. Each check passes against a server that answers
// right (TestLoadAgainstOneServer) and fails against these.
func TestChecksCatchAWrongServer(t *testing.T) {
	type server struct {
		token      func(w http.ResponseWriter)
		introspect func(w http.ResponseWriter)
	}
	ok := func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": "again", "token_type": "Bearer"})
	}
	refuse := func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"error":"invalid_grant"}`))
	}
	activity := func(active bool) func(w http.ResponseWriter) {
		return func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(map[string]any{"active": active})
		}
	}
	fail := func(w http.ResponseWriter) { w.WriteHeader(http.StatusInternalServerError) }

	start := func(t *testing.T, s server) (*Load, *Instance) {
		t.Helper()
		ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch r.URL.Path {
			case "/token":
				s.token(w)
			case "/introspect":
				s.introspect(w)
			}
		}))
		t.Cleanup(ts.Close)
		in := &Instance{Name: "F", Addr: strings.TrimPrefix(ts.URL, "http://"), client: ts.Client()}
		in.up.Store(true)
		c := &Cluster{Instances: []*Instance{in}, Credentials: &Credentials{
			Web: ClientCredentials{ID: "web", Secret: "s"}, API: ClientCredentials{ID: "api", Secret: "s"}}}
		l := NewLoad(c, LoadConfig{Workers: 1, Record: true})
		now := time.Now()
		g := &grantRecord{}
		l.ledger.addCode(&codeRecord{value: "code-1", verifier: "v"})
		l.ledger.addToken(&tokenRecord{value: "at-live", kind: accessToken, grant: g, issuedBy: "F", issuedAt: now})
		l.ledger.addToken(&tokenRecord{value: "at-revoked", kind: accessToken, grant: g, issuedBy: "F", issuedAt: now, revoked: true})
		l.ledger.addToken(&tokenRecord{value: "rt-rotated", kind: refreshToken, grant: g, issuedBy: "F", issuedAt: now, rotated: true})
		return l, in
	}
	all := func(*tokenRecord) bool { return true }

	t.Run("a code or refresh token redeemed again", func(t *testing.T) {
		l, in := start(t, server{token: ok, introspect: activity(true)})
		chk := l.checkReplays(in, 2)
		assert.False(t, chk.Pass, chk.Detail)
		assert.Contains(t, chk.Detail, redeemedTwice)
	})
	t.Run("replays refused: the control", func(t *testing.T) {
		l, in := start(t, server{token: refuse, introspect: activity(true)})
		chk := l.checkReplays(in, 2)
		assert.True(t, chk.Pass, chk.Detail)
	})
	t.Run("a live token inactive", func(t *testing.T) {
		l, in := start(t, server{token: refuse, introspect: activity(false)})
		assert.False(t, l.checkIntrospection("check", in, all, 2).Pass)
	})
	t.Run("a revoked or rotated token active", func(t *testing.T) {
		l, in := start(t, server{token: refuse, introspect: activity(true)})
		chk := l.checkIntrospection("check", in, all, 2)
		assert.False(t, chk.Pass, chk.Detail)
		assert.Contains(t, chk.Detail, "active")
	})
	t.Run("no token to introspect", func(t *testing.T) {
		l, in := start(t, server{token: refuse, introspect: activity(true)})
		assert.False(t, l.checkIntrospection("check", in, func(*tokenRecord) bool { return false }, 2).Pass)
	})
	t.Run("a 5xx", func(t *testing.T) {
		l, in := start(t, server{token: fail, introspect: fail})
		assert.False(t, l.checkReplays(in, 2).Pass, "a 500 is no refusal")
		assert.False(t, l.checkNo5xx(in, "survivor").Pass)
	})
}
