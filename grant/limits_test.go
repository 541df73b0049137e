package grant_test

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/internal/testkit"
	"github.com/grantor-dev/grantor/oauth2"
	"github.com/grantor-dev/grantor/storage/memory"
)

// scopeOf returns a scope parameter of n distinct tokens.
func scopeOf(n int) string {
	toks := make([]string, n)
	for i := range toks {
		toks[i] = "s" + strconv.Itoa(i)
	}
	return strings.Join(toks, " ")
}

// jsonAuthorize sends an authorization request asking for a JSON error
// page, so that an error that is not redirected can be read.
func (h *codeHarness) jsonAuthorize(rawQuery string) *testkit.Response {
	h.T.Helper()
	req, err := http.NewRequest(http.MethodGet, h.Provider.AuthorizationEndpoint()+"?"+rawQuery, nil)
	require.NoError(h.T, err)
	req.Header.Set("Accept", "application/json")
	return h.DoNoFollow(req)
}

// RFC 6749 §10: what an unauthenticated caller sends is bounded before it
// is parsed further. A GET of about a megabyte with 235,000 scope tokens
// once cost two minutes of CPU; now the query's length refuses it, and a
// scope within the query bound but with too many values is refused before
// it is parsed, at every endpoint that takes one.
func TestScopeAndQueryAreBounded(t *testing.T) {
	h := newCode(t, nil)
	params, _ := authParams(t, "scope", scopeOf(100_000)) // 0.9 MB, under net/http's 1 MB of headers
	r := h.jsonAuthorize(params.Encode())
	testkit.RequireOAuthError(t, r, http.StatusRequestURITooLong, oauth2.ErrInvalidRequest)

	params, _ = authParams(t, "scope", scopeOf(oauth2.MaxScopeValues+1))
	testkit.RequireOAuthError(t, h.jsonAuthorize(params.Encode()), http.StatusBadRequest, oauth2.ErrInvalidRequest)
	testkit.RequireOAuthError(t, h.push(params), http.StatusBadRequest, oauth2.ErrInvalidRequest)
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {scopeOf(oauth2.MaxScopeValues + 1)}}
	testkit.RequireOAuthError(t, h.Token("web", h.webSecret, form), http.StatusBadRequest, oauth2.ErrInvalidRequest)

	// At the bound, the scope is parsed and checked as always.
	params, _ = authParams(t, "scope", scopeOf(oauth2.MaxScopeValues))
	h.errorRedirect(t, h.authorize(params), oauth2.ErrInvalidScope)
}

// Authorization requests are stored for the whole interaction: every
// parameter is bounded before anything is stored. A request with a 1 MB
// state once grew the server by 1 MB for 30 minutes.
func TestAuthorizationParametersAreBoundedBeforeStorage(t *testing.T) {
	h := newCode(t, nil)
	long := strings.Repeat("a", oauth2.MaxParameterBytes+1)
	for name, params := range map[string][]string{
		"state":        {"state", long},
		"nonce":        {"nonce", long},
		"prompt":       {"prompt", strings.Repeat("login ", oauth2.MaxParameterBytes/6+1)},
		"unknown":      {"x-extra", long},
		"redirect_uri": {"redirect_uri", "https://c.example/cb?" + long},
	} {
		t.Run(name, func(t *testing.T) {
			p, _ := authParams(t, params...)
			r := h.jsonAuthorize(p.Encode())
			testkit.RequireOAuthError(t, r, http.StatusBadRequest, oauth2.ErrInvalidRequest)
			assert.Empty(t, r.Header.Get("Location"), "nothing is stored, nothing redirected")
			testkit.RequireOAuthError(t, h.push(p), http.StatusBadRequest, oauth2.ErrInvalidRequest)
		})
	}
	t.Run("too many parameters", func(t *testing.T) {
		p, _ := authParams(t)
		for i := range oauth2.MaxParameters {
			p.Set("x"+strconv.Itoa(i), "1")
		}
		testkit.RequireOAuthError(t, h.jsonAuthorize(p.Encode()), http.StatusBadRequest, oauth2.ErrInvalidRequest)
	})
	t.Run("a state at the bound is kept whole", func(t *testing.T) {
		state := strings.Repeat("~", oauth2.MaxParameterBytes)
		p, _ := authParams(t, "state", state)
		id, cookie := h.interaction(h.authorize(p))
		rec := h.approve(id, cookie, oauth2.Approval{Subject: "alice"})
		q := redirectParams(t, rec.Code, rec.Header().Get("Location"), "https://c.example/cb?")
		assert.Equal(t, state, q.Get("state"))
	})
}

// RFC 6749 Appendix A.5: state is VSCHAR, printable ASCII. A state with a
// NUL or a byte that is not UTF-8 once reached PostgreSQL and came back as
// a 500. It is refused before storage with invalid_request, redirected
// (the client and redirect URI are valid) without the state it cannot
// carry; so are the other parameters of Appendix A.
func TestParameterCharacterSetsAreChecked(t *testing.T) {
	h := newCode(t, nil)
	for name, extra := range map[string][]string{
		"NUL in state":           {"state", "a\x00b"},
		"not UTF-8 in state":     {"state", "a\xffb"},
		"non-ASCII state":        {"state", "é"},
		"control in nonce":       {"nonce", "a\nb"},
		"not UTF-8, unknown one": {"x-extra", "\xc3\x28"},
		"C1 control, unknown":    {"x-extra", "a\u0085b"},
	} {
		t.Run(name, func(t *testing.T) {
			p, _ := authParams(t, extra...)
			r := h.authorize(p)
			q := redirectParams(t, r.Status, r.Header.Get("Location"), "https://c.example/cb?")
			assert.Equal(t, "invalid_request", q.Get("error"))
			if extra[0] == "state" {
				assert.NotContains(t, q, "state", "a state that is not VSCHAR is not sent back")
			} else {
				assert.Equal(t, "xyz", q.Get("state"))
			}
			testkit.RequireOAuthError(t, h.push(p), http.StatusBadRequest, oauth2.ErrInvalidRequest)
		})
	}
	// Unknown parameters may be any text, UTF-8 included.
	p, _ := authParams(t, "x-extra", "héllo wörld")
	h.interaction(h.authorize(p))
}

// Identifiers are bounded before they are looked up, counted or logged:
// 300 Basic headers naming 700 KB client ids once grew the log by 215 MB.
func TestClientIDsAreBoundedBeforeUse(t *testing.T) {
	var logs bytes.Buffer
	h := newCode(t, func(cfg *oauth2.Config, _ *memory.Store) {
		cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	})
	huge := strings.Repeat("c", 700<<10)
	req, err := http.NewRequest(http.MethodPost, h.Provider.TokenEndpoint(), strings.NewReader("grant_type=client_credentials"))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(huge+":secret")))
	testkit.RequireOAuthError(t, h.Do(req), http.StatusUnauthorized, oauth2.ErrInvalidClient)

	long := strings.Repeat("c", oauth2.MaxClientIDBytes+1)
	testkit.RequireOAuthError(t, h.Token(long, "secret", url.Values{"grant_type": {"client_credentials"}}),
		http.StatusUnauthorized, oauth2.ErrInvalidClient)
	testkit.RequireOAuthError(t, h.PostForm(h.Provider.TokenEndpoint(), long, "", url.Values{"grant_type": {"client_credentials"}}),
		http.StatusBadRequest, oauth2.ErrInvalidRequest)
	r := h.jsonAuthorize(url.Values{"client_id": {long}, "response_type": {"code"}}.Encode())
	testkit.RequireOAuthError(t, r, http.StatusBadRequest, oauth2.ErrInvalidRequest)

	assert.Less(t, logs.Len(), 4<<10, "the log holds no attacker-sized input")
	assert.NotContains(t, logs.String(), "cccccccccccccccc")
}

// RFC 9126 §2.3: pushes are limited per client, counted before they are
// validated. A public client's budget is per client address: anyone can
// name a public client, so a third party elsewhere cannot spend it.
func TestPARLimitOfAPublicClientIsPerAddress(t *testing.T) {
	h := newCode(t, func(cfg *oauth2.Config, _ *memory.Store) { cfg.PushedRequestRateLimit = 3 })
	spa, _ := authParams(t, "client_id", "spa", "redirect_uri", "https://spa.example/cb")
	push := func(addr string, params url.Values) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, h.Provider.PAREndpoint(), strings.NewReader(params.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.RemoteAddr = addr
		req.Header.Set("X-Forwarded-For", "198.51.100.7") // never trusted
		rec := httptest.NewRecorder()
		h.Provider.PushedAuthorizationHandler().ServeHTTP(rec, req)
		return rec
	}
	bad, _ := authParams(t, "client_id", "spa", "redirect_uri", "https://spa.example/cb", "code_challenge", "<delete>")
	for range 3 {
		assert.Equal(t, http.StatusBadRequest, push("203.0.113.66:4000", bad).Code, "counted though invalid")
	}
	assert.Equal(t, http.StatusTooManyRequests, push("203.0.113.66:4001", spa).Code)
	assert.Equal(t, http.StatusCreated, push("198.51.100.7:5000", spa).Code, "the real client, elsewhere, is unaffected")
	// An IPv6 client counts by its /56, a site's block (RFC 6177): new
	// addresses or /64s in it get no new budget.
	for i := range 3 {
		assert.Equal(t, http.StatusCreated, push(fmt.Sprintf("[2001:db8::%x]:5000", i+1), spa).Code)
	}
	assert.Equal(t, http.StatusTooManyRequests, push("[2001:db8:0:ff::1]:5000", spa).Code)
	assert.Equal(t, http.StatusCreated, push("[2001:db8:0:100::1]:5000", spa).Code)
}

// Every authorization request that reaches the login pages is stored for
// the interaction's lifetime, so one address may start only so many a
// minute (Config.InteractionRateLimit): anonymous requests with a public
// client's id once filled the store and turned every new login away.
func TestInteractionsArePerAddressBudgeted(t *testing.T) {
	h := newCode(t, func(cfg *oauth2.Config, _ *memory.Store) { cfg.InteractionRateLimit = 5 })
	spa, _ := authParams(t, "client_id", "spa", "redirect_uri", "https://spa.example/cb")
	authorize := func(addr string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, h.Provider.AuthorizationEndpoint()+"?"+spa.Encode(), nil)
		req.RemoteAddr = addr
		rec := httptest.NewRecorder()
		h.Provider.AuthorizeHandler().ServeHTTP(rec, req)
		return rec
	}
	for i := range 5 {
		rec := authorize("203.0.113.66:4000")
		require.Equal(t, http.StatusSeeOther, rec.Code, "request %d", i)
		require.Contains(t, rec.Header().Get("Location"), "interaction=")
	}
	rec := authorize("203.0.113.66:4000")
	q := redirectParams(t, rec.Code, rec.Header().Get("Location"), "https://spa.example/cb?")
	assert.Equal(t, "temporarily_unavailable", q.Get("error"))
	assert.Contains(t, authorize("198.51.100.7:5000").Header().Get("Location"), "interaction=", "another address is unaffected")
	h.Advance(time.Minute)
	assert.Contains(t, authorize("203.0.113.66:4000").Header().Get("Location"), "interaction=")
}

// A token longer than any of ours is an invalid token, not an invalid
// request: revocation answers 200 (RFC 7009 §2.2), introspection
// {"active":false} (RFC 7662 §2.2), without parsing it.
func TestOverlongTokensAreInvalidTokens(t *testing.T) {
	h := newRTI(t, "opaque", nil)
	long := "gr_at_" + strings.Repeat("a", oauth2.MaxTokenParameterBytes)
	requireRevoked200(t, h.revokeWeb(long))
	requireInactive(t, h.Introspect("rs-b", h.rsBSecret, long))
}
