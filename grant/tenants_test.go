package grant_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/internal/testkit"
	"github.com/grantor-dev/grantor/oauth2"
	"github.com/grantor-dev/grantor/storage"
)

// RFC 9207 §2, RFC 9700 §4.4: two authorization servers (tenants) stay
// apart: a code, a refresh token or an access token of tenant A means
// nothing at tenant B, even for a client registered under the same id at
// both, and their issuers differ.
func TestTenantsStaySeparate(t *testing.T) {
	a, b := newCode(t, nil), newCode(t, nil)
	require.NotEqual(t, a.Provider.Issuer(), b.Provider.Issuer())

	params, verifier := authParams(t)
	codeA := a.code(params)
	testkit.RequireOAuthError(t, b.redeem("web", b.webSecret, codeA, verifier), http.StatusBadRequest, oauth2.ErrInvalidGrant)

	tokA := a.redeem("web", a.webSecret, codeA, verifier)
	require.Equal(t, http.StatusOK, tokA.Status)
	r := b.Token("web", b.webSecret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tokA.Str("refresh_token")}})
	testkit.RequireOAuthError(t, r, http.StatusBadRequest, oauth2.ErrInvalidGrant)

	// Tenant A's credentials do not authenticate at B.
	testkit.RequireOAuthError(t, b.redeem("web", a.webSecret, codeA, verifier), http.StatusUnauthorized, oauth2.ErrInvalidClient)

	// B's introspection does not know A's access token.
	rs := b.AddClient(storage.Client{ID: "rs", Resources: []string{a.Provider.Issuer(), b.Provider.Issuer()}})
	assert.Equal(t, false, b.Introspect("rs", rs, tokA.Str("access_token")).JSON["active"])
}

// RFC 9700 §4.13: forwarded headers from an untrusted peer change nothing:
// the issuer, the endpoints and the redirect targets come from
// configuration.
func TestForwardedHeadersAreIgnored(t *testing.T) {
	h := newCode(t, nil)
	spoof := func(req *http.Request) {
		req.Header.Set("X-Forwarded-Host", "evil.example")
		req.Header.Set("X-Forwarded-Proto", "https")
		req.Header.Set("Forwarded", "host=evil.example;proto=https")
		req.Header.Set("X-Forwarded-For", "203.0.113.7")
	}
	md := mustGet(t, h.Server.URL+oauth2.MetadataPath)
	spoof(md)
	r := h.Do(md)
	require.Equal(t, http.StatusOK, r.Status)
	assert.NotContains(t, string(r.Body), "evil.example")
	assert.Equal(t, h.Provider.Issuer(), r.Str("issuer"))

	params, _ := authParams(t)
	req, err := http.NewRequest(http.MethodGet, h.Provider.AuthorizationEndpoint()+"?"+params.Encode(), nil)
	require.NoError(t, err)
	spoof(req)
	resp := h.DoNoFollow(req)
	require.Equal(t, http.StatusSeeOther, resp.Status)
	assert.NotContains(t, resp.Header.Get("Location"), "evil.example")
	id, cookie := h.interaction(resp)
	rec := h.approve(id, cookie, oauth2.Approval{Subject: "alice"})
	q := redirectParams(t, rec.Code, rec.Header().Get("Location"), "https://c.example/cb?")
	assert.Equal(t, h.Provider.Issuer(), q.Get("iss"))
}
