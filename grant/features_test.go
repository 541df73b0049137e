package grant_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/internal/testkit"
	"github.com/grantor-dev/grantor/oauth2"
	"github.com/grantor-dev/grantor/storage"
	"github.com/grantor-dev/grantor/storage/memory"
)

// scopeChecker is a feature whose AuthorizationRequestChecker edits the
// scopes of every authorization request with edit.
type scopeChecker struct {
	edit func(scopes []string) []string
}

func (scopeChecker) FeatureName() string { return "scope-checker" }

func (f scopeChecker) CheckAuthorizationRequest(_ context.Context, _ url.Values, _ *storage.Client, req *storage.AuthorizationRequest) error {
	req.Scopes = f.edit(req.Scopes)
	return nil
}

func withScopeChecker(edit func([]string) []string) func(*oauth2.Config, *memory.Store) {
	return func(cfg *oauth2.Config, _ *memory.Store) {
		cfg.Features = []oauth2.FeatureFactory{func(*oauth2.Provider) (oauth2.Feature, error) {
			return scopeChecker{edit: edit}, nil
		}}
	}
}

// A feature may take a scope it ignores out of an authorization request:
// the application's consent page and the tokens never see it.
func TestFeatureMayNarrowTheScopesOfAnAuthorizationRequest(t *testing.T) {
	h := newCode(t, withScopeChecker(func(scopes []string) []string {
		return slices.DeleteFunc(scopes, func(s string) bool { return s == "write" })
	}))
	params, verifier := authParams(t, "scope", "read write")
	id, cookie := h.interaction(h.authorize(params))
	pa, err := h.Provider.PendingAuthorization(browserRequest(cookie), id)
	require.NoError(t, err)
	require.Equal(t, []string{"read"}, pa.Scopes)

	rec := h.approve(id, cookie, oauth2.Approval{Subject: "alice"})
	code := redirectParams(t, rec.Code, rec.Header().Get("Location"), "https://c.example/cb").Get("code")
	r := h.redeem("web", h.webSecret, code, verifier)
	require.Equal(t, 200, r.Status, "%s", r.Body)
	require.Equal(t, "read", r.Str("scope"))
}

// A feature that adds a scope the Provider did not check against the
// client gets the request refused with server_error at the redirect URI,
// and no interaction starts.
func TestFeatureMayNotAddScopesToAnAuthorizationRequest(t *testing.T) {
	for name, edit := range map[string]func([]string) []string{
		"another scope":    func(scopes []string) []string { return append(scopes, "admin") },
		"a scope it holds": func(scopes []string) []string { return append(scopes, scopes...) },
	} {
		t.Run(name, func(t *testing.T) {
			h := newCode(t, withScopeChecker(edit))
			params, _ := authParams(t)
			r := h.authorize(params)
			q := redirectParams(t, r.Status, r.Header.Get("Location"), "https://c.example/cb")
			require.Equal(t, "server_error", q.Get("error"))
			require.Equal(t, "xyz", q.Get("state"))
		})
	}
}

// grantEnder is a feature that keeps a value with each grant it approves
// (ApprovalExtender) and says whether such grants go on (GrantChecker).
type grantEnder struct {
	active bool
	err    error
	asked  int
}

func (*grantEnder) FeatureName() string { return "grant-ender" }

func (*grantEnder) ExtendApproval(_ http.ResponseWriter, _ *http.Request, a *oauth2.Authorization) error {
	a.Extensions = map[string]string{"ender": "1"}
	return nil
}

func (f *grantEnder) GrantActive(_ context.Context, rec *storage.Token) (bool, error) {
	f.asked++
	if rec.Extensions["ender"] != "1" {
		return false, errors.New("asked about a grant it took no part in")
	}
	return f.active, f.err
}

// A feature that ends a grant makes its tokens inactive at introspection
// (RFC 7662 §2.2); one that cannot tell fails the lookup (503). Tokens of
// grants it took no part in are not asked about.
func TestFeatureMayEndAGrant(t *testing.T) {
	ender := &grantEnder{active: true}
	h := newCode(t, func(cfg *oauth2.Config, _ *memory.Store) {
		cfg.Features = []oauth2.FeatureFactory{func(*oauth2.Provider) (oauth2.Feature, error) { return ender, nil }}
	})
	params, verifier := authParams(t)
	r := h.redeem("web", h.webSecret, h.code(params), verifier)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	active := func() *testkit.Response { return h.Introspect("web", h.webSecret, r.Str("access_token")) }

	require.Equal(t, true, active().JSON["active"])
	ender.active = false
	require.Equal(t, false, active().JSON["active"])
	ender.err = errors.New("the database is down")
	require.Equal(t, http.StatusServiceUnavailable, active().Status)

	asked := ender.asked
	seeded := h.SeedRefreshToken(storage.Token{ClientID: "web", Subject: "alice", Scopes: []string{"read"}})
	require.Equal(t, true, h.Introspect("web", h.webSecret, seeded).JSON["active"])
	require.Equal(t, asked, ender.asked, "a grant without Extensions is not asked about")
}
