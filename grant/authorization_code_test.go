package grant_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/internal/testkit"
	"github.com/grantor-dev/grantor/oauth2"
	"github.com/grantor-dev/grantor/pkce"
	"github.com/grantor-dev/grantor/storage"
	"github.com/grantor-dev/grantor/storage/memory"
)

func TestCodeFlowEndToEnd(t *testing.T) {
	h := newCode(t, nil)
	params, verifier := authParams(t, "scope", "read write")
	r := h.authorize(params)
	id, cookie := h.interaction(r)
	assert.Equal(t, "no-store", r.Header.Get("Cache-Control"))
	assert.True(t, cookie.HttpOnly)
	assert.Equal(t, http.SameSiteLaxMode, cookie.SameSite)

	pa, err := h.Provider.PendingAuthorization(browserRequest(cookie), id)
	require.NoError(t, err)
	assert.Equal(t, "Web App", pa.Client.Name)
	assert.Equal(t, []string{"read", "write"}, pa.Scopes)

	rec := h.approve(id, cookie, oauth2.Approval{Subject: "alice", Claims: map[string]any{"amr": []any{"pwd"}}})
	q := redirectParams(t, rec.Code, rec.Header().Get("Location"), "https://c.example/cb?")
	assert.Equal(t, "xyz", q.Get("state"))
	assert.Equal(t, h.Provider.Issuer(), q.Get("iss"))
	code := q.Get("code")
	assert.True(t, strings.HasPrefix(code, "gr_ac_"))

	tok := h.redeem("web", h.webSecret, code, verifier)
	require.Equal(t, http.StatusOK, tok.Status, "%s", tok.Body)
	assert.NotEmpty(t, tok.Str("refresh_token"), "the client may refresh")
	at, err := h.AccessTokenRecord(tok.Str("access_token"))
	require.NoError(t, err)
	assert.Equal(t, "alice", at.Subject)
	assert.Equal(t, []string{"read", "write"}, at.Scopes)
	assert.Equal(t, []any{"pwd"}, at.Claims["amr"])

	// The refresh grant runs on the code's grant.
	ref := h.Token("web", h.webSecret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.Str("refresh_token")}})
	require.Equal(t, http.StatusOK, ref.Status, "%s", ref.Body)
	at2, err := h.AccessTokenRecord(ref.Str("access_token"))
	require.NoError(t, err)
	assert.Equal(t, at.GrantID, at2.GrantID)
}

func TestApprovalMayNarrowScopes(t *testing.T) {
	h := newCode(t, nil)
	params, verifier := authParams(t, "scope", "read write")
	id, cookie := h.interaction(h.authorize(params))
	rec := h.approve(id, cookie, oauth2.Approval{Subject: "alice", Scopes: []string{"read"}})
	q := redirectParams(t, rec.Code, rec.Header().Get("Location"), "https://c.example/cb")
	tok := h.redeem("web", h.webSecret, q.Get("code"), verifier)
	require.Equal(t, http.StatusOK, tok.Status)
	assert.Equal(t, "read", tok.Str("scope"))

	params, _ = authParams(t, "scope", "read")
	id, cookie = h.interaction(h.authorize(params))
	err := h.Provider.Approve(httptestRecorder(), browserRequest(cookie), id, oauth2.Approval{Subject: "alice", Scopes: []string{"write"}})
	assert.Error(t, err, "an approval cannot grant what was not asked for")
	err = h.Provider.Approve(httptestRecorder(), browserRequest(cookie), id, oauth2.Approval{})
	assert.Error(t, err, "an approval needs a subject")
}

// An interaction is single use and bound to the browser that started it.
func TestInteractionIsBoundAndSingleUse(t *testing.T) {
	h := newCode(t, nil)
	params, _ := authParams(t)
	id, cookie := h.interaction(h.authorize(params))

	other := &http.Cookie{Name: cookie.Name, Value: strings.Repeat("A", 43)}
	_, err := h.Provider.PendingAuthorization(browserRequest(other), id)
	assert.ErrorIs(t, err, oauth2.ErrInteractionBrowser)
	assert.ErrorIs(t, h.Provider.Approve(httptestRecorder(), browserRequest(nil), id, oauth2.Approval{Subject: "mallory"}), oauth2.ErrInteractionBrowser)
	assert.ErrorIs(t, h.Provider.Deny(httptestRecorder(), browserRequest(other), id), oauth2.ErrInteractionBrowser)

	h.approve(id, cookie, oauth2.Approval{Subject: "alice"})
	assert.ErrorIs(t, h.Provider.Approve(httptestRecorder(), browserRequest(cookie), id, oauth2.Approval{Subject: "alice"}), oauth2.ErrInteractionNotFound)
	_, err = h.Provider.PendingAuthorization(browserRequest(cookie), "unknown")
	assert.ErrorIs(t, err, oauth2.ErrInteractionNotFound)

	// A second authorization in the same browser reuses its binding.
	params, _ = authParams(t)
	r := h.authorize(params, cookie)
	id2, cookie2 := h.interaction(r)
	assert.Equal(t, cookie.Value, cookie2.Value)
	h.Advance(31 * time.Minute)
	_, err = h.Provider.PendingAuthorization(browserRequest(cookie), id2)
	assert.ErrorIs(t, err, oauth2.ErrInteractionNotFound, "expired")
}

// RFC 6749 §4.1.2.1, RFC 9207 §2: a denial redirects with access_denied,
// the state and iss.
func TestDenialRedirectsWithAccessDenied(t *testing.T) {
	h := newCode(t, nil)
	params, _ := authParams(t)
	id, cookie := h.interaction(h.authorize(params))
	rec := httptestRecorder()
	require.NoError(t, h.Provider.Deny(rec, browserRequest(cookie), id))
	q := redirectParams(t, rec.Code, rec.Header().Get("Location"), "https://c.example/cb?")
	assert.Equal(t, "access_denied", q.Get("error"))
	assert.Equal(t, "xyz", q.Get("state"))
	assert.Equal(t, h.Provider.Issuer(), q.Get("iss"))
	assert.Empty(t, q.Get("code"))
}

// RFC 6749 §3.1.2.4, §4.1.2.1 (Authlib CVE-2026-41479): no redirect until
// the client and the redirect URI are valid; the look-alike redirect URIs
// are those of RFC 9700 §4.1, and client_id twice breaks RFC 6749 §3.1.
func TestErrorPageBeforeRedirectURIIsTrusted(t *testing.T) {
	h := newCode(t, nil)
	cases := map[string][]string{
		"unknown client":                    {"client_id", "nobody"},
		"missing client":                    {"client_id", "<delete>"},
		"unregistered redirect":             {"redirect_uri", "https://evil.example/cb"},
		"unregistered redirect + bad type":  {"redirect_uri", "https://evil.example/cb", "response_type", "foo"},
		"unregistered redirect + bad scope": {"redirect_uri", "https://evil.example/cb", "scope", "admin"},
		"unregistered redirect + bad pkce":  {"redirect_uri", "https://evil.example/cb", "code_challenge_method", "plain"},
		"case-changed redirect":             {"redirect_uri", "https://C.EXAMPLE/cb"},
		"redirect with query added":         {"redirect_uri", "https://c.example/cb?x=1"},
		"path traversal":                    {"redirect_uri", "https://c.example/cb/../x"},
		"userinfo":                          {"redirect_uri", "https://c.example@evil.example/cb"},
		"client_id twice":                   {},
		"unknown request_uri":               {"request_uri", "urn:ietf:params:oauth:request_uri:nope"},
		"request_uri that is not ours":      {"request_uri", "https://evil.example/req"},
	}
	for name, extra := range cases {
		t.Run(name, func(t *testing.T) {
			params, _ := authParams(t, extra...)
			if name == "client_id twice" {
				params.Add("client_id", "web")
			}
			r := h.authorize(params)
			assert.Equal(t, http.StatusBadRequest, r.Status, "%s", r.Body)
			assert.Empty(t, r.Header.Get("Location"))
			assert.Contains(t, r.Header.Get("Content-Type"), "text/html")
			assert.Equal(t, "DENY", r.Header.Get("X-Frame-Options"))
			assert.Contains(t, r.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'")
			assert.Equal(t, "no-referrer", r.Header.Get("Referrer-Policy"))
			assert.NotContains(t, string(r.Body), "evil.example")
		})
	}
	// JSON for a caller that asks for it.
	params, _ := authParams(t, "client_id", "nobody")
	req, err := http.NewRequest(http.MethodGet, h.Provider.AuthorizationEndpoint()+"?"+params.Encode(), nil)
	require.NoError(t, err)
	req.Header.Set("Accept", "application/json")
	r := h.DoNoFollow(req)
	assert.Equal(t, http.StatusBadRequest, r.Status)
	assert.Equal(t, "invalid_client", r.Str("error"))
}

// errorRedirect asserts an error redirect to the client with state and
// iss.
func (h *codeHarness) errorRedirect(t *testing.T, r *testkit.Response, code oauth2.ErrorCode) {
	t.Helper()
	q := redirectParams(t, r.Status, r.Header.Get("Location"), "https://c.example/cb?")
	assert.Equal(t, string(code), q.Get("error"))
	assert.Equal(t, h.Provider.Issuer(), q.Get("iss"), "RFC 9207 §2: iss on errors too")
	assert.Empty(t, q.Get("code"))
}

// OAuth 2.1 §10.1, RFC 9700 §2.1.2: only response_type=code.
func TestOnlyResponseTypeCode(t *testing.T) {
	h := newCode(t, nil)
	for _, rt := range []string{"token", "code id_token", "code token", "id_token"} {
		params, _ := authParams(t, "response_type", rt)
		r := h.authorize(params)
		h.errorRedirect(t, r, oauth2.ErrUnsupportedResponseType)
		assert.NotContains(t, r.Header.Get("Location"), "#")
	}
	params, _ := authParams(t, "response_type", "<delete>")
	h.errorRedirect(t, h.authorize(params), oauth2.ErrInvalidRequest)
}

// RFC 6749 §3.1: duplicate, empty and unknown parameters.
func TestDuplicateEmptyUnknownParameters(t *testing.T) {
	h := newCode(t, nil)
	params, _ := authParams(t)
	params.Add("state", "abc")
	h.errorRedirect(t, h.authorize(params), oauth2.ErrInvalidRequest)

	params, _ = authParams(t, "client_id", "spa", "redirect_uri", "https://spa.example/cb", "code_challenge", "")
	r := h.authorize(params)
	q := redirectParams(t, r.Status, r.Header.Get("Location"), "https://spa.example/cb?")
	assert.Equal(t, "invalid_request", q.Get("error"), "an empty code_challenge counts as absent")

	params, _ = authParams(t, "extra", "foobar")
	h.interaction(h.authorize(params))
}

// RFC 6749 §3.1.2, §4.1.2: the response keeps the redirect URI's query and
// returns state exactly.
func TestResponseIsBuiltCorrectly(t *testing.T) {
	h := newCode(t, nil)
	h.AddClient(storageClient("q", "https://c.example/cb?t=a%20b"))
	state := strings.Repeat("&+% ~", 400)
	params, _ := authParams(t, "client_id", "q", "redirect_uri", "https://c.example/cb?t=a%20b", "state", state)
	id, cookie := h.interaction(h.authorize(params))
	rec := h.approve(id, cookie, oauth2.Approval{Subject: "alice"})
	loc := rec.Header().Get("Location")
	require.True(t, strings.HasPrefix(loc, "https://c.example/cb?t=a%20b&"), loc)
	q := redirectParams(t, rec.Code, loc, "https://c.example/cb")
	assert.Equal(t, state, q.Get("state"))
	assert.Equal(t, "a b", q.Get("t"))
	assert.NotEmpty(t, q.Get("code"))
}

// RFC 9207 §2: iss in the metadata and on every response.
func TestIssParameterAdvertised(t *testing.T) {
	h := newCode(t, nil)
	m := h.Provider.Metadata()
	assert.True(t, m.AuthorizationResponseIssParameterSupported)
	assert.Equal(t, h.Provider.Issuer()+"/authorize", m.AuthorizationEndpoint)
	assert.Equal(t, []string{"code"}, m.ResponseTypesSupported)
	assert.Equal(t, []string{"S256"}, m.CodeChallengeMethodsSupported, "RFC 9700 §2.1.1")
	assert.Equal(t, h.Provider.Issuer()+"/par", m.PushedAuthorizationRequestEndpoint)
	params, _ := authParams(t, "scope", "admin")
	h.errorRedirect(t, h.authorize(params), oauth2.ErrInvalidScope)
}

// RFC 9700 §2.1.1, RFC 7636 §4.4.1: PKCE is required, with an explicit
// exemption for confidential clients only.
func TestPKCEIsRequired(t *testing.T) {
	h := newCode(t, nil)
	params, _ := authParams(t, "code_challenge", "<delete>", "code_challenge_method", "<delete>")
	h.errorRedirect(t, h.authorize(params), oauth2.ErrInvalidRequest)

	params, _ = authParams(t, "client_id", "spa", "redirect_uri", "https://spa.example/cb", "code_challenge", "<delete>", "code_challenge_method", "<delete>")
	r := h.authorize(params)
	assert.Equal(t, "invalid_request", redirectParams(t, r.Status, r.Header.Get("Location"), "https://spa.example/cb?").Get("error"))

	params, _ = authParams(t, "client_id", "legacy", "redirect_uri", "https://legacy.example/cb", "code_challenge", "<delete>", "code_challenge_method", "<delete>")
	id, cookie := h.interaction(h.authorize(params))
	rec := h.approve(id, cookie, oauth2.Approval{Subject: "alice"})
	code := redirectParams(t, rec.Code, rec.Header().Get("Location"), "https://legacy.example/cb?").Get("code")
	tok := h.redeem("legacy", h.legacySecret, code, "", "redirect_uri", "https://legacy.example/cb")
	assert.Equal(t, http.StatusOK, tok.Status, "%s", tok.Body)
	assert.Empty(t, tok.Str("refresh_token"), "legacy is not registered for refresh_token")
}

// RFC 9700 §2.1.1, RFC 7636 §4.2: S256 only by default, and challenge
// syntax.
func TestChallengeMethodAndSyntax(t *testing.T) {
	h := newCode(t, nil)
	for _, extra := range [][]string{
		{"code_challenge_method", "plain"}, {"code_challenge_method", "<delete>"}, {"code_challenge_method", "S512"},
		{"code_challenge", strings.Repeat("a", 42)}, {"code_challenge", strings.Repeat("a", 129)},
		{"code_challenge", strings.Repeat("a", 42) + "+"},
	} {
		params, _ := authParams(t, extra...)
		h.errorRedirect(t, h.authorize(params), oauth2.ErrInvalidRequest)
	}

	plain := newCode(t, func(cfg *oauth2.Config, _ *memory.Store) { cfg.AllowPlainPKCE = true })
	verifier := strings.Repeat("v", 50)
	params, _ := authParams(t, "code_challenge", verifier, "code_challenge_method", "plain")
	code := plain.code(params)
	assert.Equal(t, http.StatusOK, plain.redeem("web", plain.webSecret, code, verifier).Status)
	assert.Contains(t, plain.Provider.Metadata().CodeChallengeMethodsSupported, "plain")
}

// RFC 7636 §4.1, §4.6, RFC 9700 §4.8.2: the verifier at the token endpoint.
func TestVerifierChecks(t *testing.T) {
	h := newCode(t, nil)
	params, verifier := authParams(t)
	code := h.code(params)
	other, _ := pkce.GenerateVerifier()
	testkit.RequireOAuthError(t, h.redeem("web", h.webSecret, code, other), http.StatusBadRequest, oauth2.ErrInvalidGrant)
	testkit.RequireOAuthError(t, h.redeem("web", h.webSecret, code, ""), http.StatusBadRequest, oauth2.ErrInvalidGrant)
	testkit.RequireOAuthError(t, h.redeem("web", h.webSecret, code, verifier+"+"), http.StatusBadRequest, oauth2.ErrInvalidGrant)
	// None of those used the code up.
	assert.Equal(t, http.StatusOK, h.redeem("web", h.webSecret, code, verifier).Status)

	// RFC 9700 §4.8.2 (Spring Authorization Server CVE-2024-22258): a code
	// issued without a challenge, redeemed with a verifier.
	params, _ = authParams(t, "client_id", "legacy", "redirect_uri", "https://legacy.example/cb", "code_challenge", "<delete>", "code_challenge_method", "<delete>")
	code = h.code(params)
	r := h.redeem("legacy", h.legacySecret, code, verifier, "redirect_uri", "https://legacy.example/cb")
	testkit.RequireOAuthError(t, r, http.StatusBadRequest, oauth2.ErrInvalidRequest)
	assert.NotContains(t, r.JSON, "access_token")
}

// RFC 6749 §4.1.2, RFC 6819 §5.2.1.1: a code is used once; a replay
// revokes what it produced.
func TestCodeReplayRevokesTheGrant(t *testing.T) {
	h := newCode(t, nil)
	params, verifier := authParams(t)
	code := h.code(params)
	first := h.redeem("web", h.webSecret, code, verifier)
	require.Equal(t, http.StatusOK, first.Status)

	h.Advance(time.Second)
	testkit.RequireOAuthError(t, h.redeem("web", h.webSecret, code, verifier), http.StatusBadRequest, oauth2.ErrInvalidGrant)
	h.Advance(29 * time.Second)
	testkit.RequireOAuthError(t, h.redeem("web", h.webSecret, code, verifier), http.StatusBadRequest, oauth2.ErrInvalidGrant)

	at, err := h.AccessTokenRecord(first.Str("access_token"))
	require.NoError(t, err)
	assert.False(t, at.Active(h.Now()), "the access token of the first redemption is revoked")
	ref := h.Token("web", h.webSecret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {first.Str("refresh_token")}})
	testkit.RequireOAuthError(t, ref, http.StatusBadRequest, oauth2.ErrInvalidGrant)
	assert.NotEmpty(t, h.Events(oauth2.EventGrantRevoked))
}

// OAuth 2.1 §7.5.2: an invalid replay revokes nothing.
func TestInvalidReplayRevokesNothing(t *testing.T) {
	h := newCode(t, nil)
	params, verifier := authParams(t)
	code := h.code(params)
	first := h.redeem("web", h.webSecret, code, verifier)
	require.Equal(t, http.StatusOK, first.Status)

	other, _ := pkce.GenerateVerifier()
	testkit.RequireOAuthError(t, h.redeem("web", h.webSecret, code, other), http.StatusBadRequest, oauth2.ErrInvalidGrant)
	testkit.RequireOAuthError(t, h.redeem("web", "", code, verifier), http.StatusUnauthorized, oauth2.ErrInvalidClient)
	testkit.RequireOAuthError(t, h.redeem("web", "wrong", code, verifier), http.StatusUnauthorized, oauth2.ErrInvalidClient)

	at, err := h.AccessTokenRecord(first.Str("access_token"))
	require.NoError(t, err)
	assert.True(t, at.Active(h.Now()))
	ref := h.Token("web", h.webSecret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {first.Str("refresh_token")}})
	assert.Equal(t, http.StatusOK, ref.Status)
}

// OAuth 2.1 §4.1.3: twenty concurrent redemptions, exactly one success.
func TestRedemptionIsAtomic(t *testing.T) {
	h := newCode(t, nil)
	params, verifier := authParams(t)
	code := h.code(params)
	const n = 20
	res := make([]*testkit.Response, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() { defer wg.Done(); res[i] = h.redeem("web", h.webSecret, code, verifier) }()
	}
	wg.Wait()
	ok := 0
	for _, r := range res {
		if r.Status == http.StatusOK {
			ok++
		} else {
			assert.Equal(t, "invalid_grant", r.Str("error"), "%s", r.Body)
		}
	}
	assert.Equal(t, 1, ok)
}

// RFC 6749 §4.1.3 (zitadel GHSA-xqxv-4jc2-x56x): a code is bound to its
// client.
func TestCodeIsBoundToItsClient(t *testing.T) {
	h := newCode(t, nil)
	otherSecret := h.AddClient(storageClient("other", "https://c.example/cb"))
	params, verifier := authParams(t)
	code := h.code(params)
	testkit.RequireOAuthError(t, h.redeem("other", otherSecret, code, verifier), http.StatusBadRequest, oauth2.ErrInvalidGrant)
	testkit.RequireOAuthError(t, h.redeem("spa", "", code, verifier), http.StatusBadRequest, oauth2.ErrInvalidGrant)
	assert.Equal(t, http.StatusOK, h.redeem("web", h.webSecret, code, verifier).Status, "the owner still can")
}

// RFC 6749 §4.1.3: the redirect URI binding.
func TestRedirectURIBinding(t *testing.T) {
	h := newCode(t, nil)
	params, verifier := authParams(t)
	code := h.code(params)
	testkit.RequireOAuthError(t, h.redeem("web", h.webSecret, code, verifier, "redirect_uri", "https://c.example/other"), http.StatusBadRequest, oauth2.ErrInvalidGrant)
	testkit.RequireOAuthError(t, h.redeem("web", h.webSecret, code, verifier, "redirect_uri", "<delete>"), http.StatusBadRequest, oauth2.ErrInvalidGrant)
	assert.Equal(t, http.StatusOK, h.redeem("web", h.webSecret, code, verifier).Status)

	// OAuth 2.1 §2.3.2: a request that omitted redirect_uri (one registered)
	// needs none at the token endpoint.
	params, verifier = authParams(t, "redirect_uri", "<delete>")
	id, cookie := h.interaction(h.authorize(params))
	rec := h.approve(id, cookie, oauth2.Approval{Subject: "alice"})
	code = redirectParams(t, rec.Code, rec.Header().Get("Location"), "https://c.example/cb?").Get("code")
	assert.Equal(t, http.StatusOK, h.redeem("web", h.webSecret, code, verifier, "redirect_uri", "<delete>").Status)
}

// RFC 6749 §4.1.2, FAPI 2.0 §5.3.2.1-11: codes expire after 60 seconds.
func TestCodesExpire(t *testing.T) {
	h := newCode(t, nil)
	params, verifier := authParams(t)
	code := h.code(params)
	h.Advance(61 * time.Second)
	testkit.RequireOAuthError(t, h.redeem("web", h.webSecret, code, verifier), http.StatusBadRequest, oauth2.ErrInvalidGrant)
}

// RFC 8252 §7.3 through the endpoint: a native app's loopback redirect on
// any port.
func TestNativeLoopbackRedirect(t *testing.T) {
	h := newCode(t, nil)
	params, verifier := authParams(t, "client_id", "native", "redirect_uri", "http://127.0.0.1:51004/cb")
	id, cookie := h.interaction(h.authorize(params))
	rec := h.approve(id, cookie, oauth2.Approval{Subject: "alice"})
	code := redirectParams(t, rec.Code, rec.Header().Get("Location"), "http://127.0.0.1:51004/cb?").Get("code")
	tok := h.redeem("native", "", code, verifier, "redirect_uri", "http://127.0.0.1:51004/cb")
	assert.Equal(t, http.StatusOK, tok.Status, "%s", tok.Body)
}

func TestPromptNone(t *testing.T) {
	h := newCode(t, nil)
	params, _ := authParams(t, "prompt", "none")
	h.errorRedirect(t, h.authorize(params), oauth2.ErrLoginRequired)

	consent := newCode(t, func(cfg *oauth2.Config, _ *memory.Store) {
		cfg.SilentAuthorize = func(_ context.Context, _ *http.Request, pa *oauth2.PendingAuthorization) (*oauth2.Approval, error) {
			if pa.Client.ID == "web" {
				return &oauth2.Approval{Subject: "alice"}, nil
			}
			return nil, oauth2.NewError(oauth2.ErrConsentRequired, "ask the user")
		}
	})
	params, verifier := authParams(t, "prompt", "none")
	r := consent.authorize(params)
	code := redirectParams(t, r.Status, r.Header.Get("Location"), "https://c.example/cb?").Get("code")
	assert.Equal(t, http.StatusOK, consent.redeem("web", consent.webSecret, code, verifier).Status)

	params, _ = authParams(t, "client_id", "spa", "redirect_uri", "https://spa.example/cb", "prompt", "none")
	r = consent.authorize(params)
	assert.Equal(t, "consent_required", redirectParams(t, r.Status, r.Header.Get("Location"), "https://spa.example/cb?").Get("error"))

	params, _ = authParams(t, "prompt", "none login")
	h.errorRedirect(t, h.authorize(params), oauth2.ErrInvalidRequest)
}

// A resource owner's approval, from the login pages or SilentAuthorize,
// never carries a subject of the clients' namespace (RFC 9700 §4.15) or
// one that is not a valid subject: the approval is refused, no code issued.
func TestApprovalSubjectIsChecked(t *testing.T) {
	bad := []string{"", oauth2.ClientSubjectPrefix + "web", "alice\x00", strings.Repeat("a", oauth2.MaxSubjectBytes+1)}
	for _, subject := range bad {
		h := newCode(t, nil)
		params, _ := authParams(t)
		id, cookie := h.interaction(h.authorize(params))
		err := h.Provider.Approve(httptestRecorder(), browserRequest(cookie), id, oauth2.Approval{Subject: subject})
		assert.Error(t, err, "%q", subject)
	}
	for _, subject := range bad {
		h := newCode(t, func(cfg *oauth2.Config, _ *memory.Store) {
			cfg.SilentAuthorize = func(context.Context, *http.Request, *oauth2.PendingAuthorization) (*oauth2.Approval, error) {
				return &oauth2.Approval{Subject: subject}, nil
			}
		})
		params, _ := authParams(t, "prompt", "none")
		h.errorRedirect(t, h.authorize(params), oauth2.ErrServerError)
	}
}

// form_post delivers the response in an auto-submitting form whose values
// are escaped (RFC 9700 §4.2.4).
func TestFormPostResponseMode(t *testing.T) {
	h := newCode(t, nil)
	params, _ := authParams(t, "response_mode", "form_post", "state", `"><script>alert(1)</script>`)
	id, cookie := h.interaction(h.authorize(params))
	rec := h.approve(id, cookie, oauth2.Approval{Subject: "alice"})
	assert.Equal(t, http.StatusOK, rec.Code)
	body := rec.Body.String()
	assert.Contains(t, body, `action="https://c.example/cb"`)
	assert.Contains(t, body, `name="code"`)
	assert.Contains(t, body, `name="iss"`)
	assert.NotContains(t, body, "<script>alert(1)")
	assert.Contains(t, body, "&lt;script&gt;")
	assert.Contains(t, rec.Header().Get("Content-Security-Policy"), "script-src 'sha256-")
	assert.Equal(t, "no-referrer", rec.Header().Get("Referrer-Policy"))
	assert.Equal(t, "DENY", rec.Header().Get("X-Frame-Options"))

	params, _ = authParams(t, "response_mode", "fragment")
	h.errorRedirect(t, h.authorize(params), oauth2.ErrInvalidRequest)
}

// RFC 9700 §4.12: authorization responses are 303, never 307.
func TestSeeOtherRedirects(t *testing.T) {
	h := newCode(t, nil)
	params, _ := authParams(t)
	r := h.authorize(params)
	assert.Equal(t, http.StatusSeeOther, r.Status)
	id, cookie := h.interaction(r)
	assert.Equal(t, http.StatusSeeOther, h.approve(id, cookie, oauth2.Approval{Subject: "alice"}).Code)
}

func TestAuthorizeByPOST(t *testing.T) {
	h := newCode(t, nil)
	params, _ := authParams(t)
	req, err := http.NewRequest(http.MethodPost, h.Provider.AuthorizationEndpoint(), strings.NewReader(params.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	h.interaction(h.DoNoFollow(req))
	put, err := http.NewRequest(http.MethodPut, h.Provider.AuthorizationEndpoint(), nil)
	require.NoError(t, err)
	assert.Equal(t, http.StatusMethodNotAllowed, h.DoNoFollow(put).Status)
}

func TestAuthorizationConfigValidation(t *testing.T) {
	store := memory.New()
	base := func() oauth2.Config {
		return oauth2.Config{Issuer: "https://as.example", Clients: store, Tokens: store, TokenKeys: [][]byte{make([]byte, 32)},
			Grants: []oauth2.GrantFactory{grantAuthorizationCode(store)}, Interactions: store, LoginURL: "/login"}
	}
	_, err := oauth2.NewProvider(base())
	require.NoError(t, err)
	for name, mutate := range map[string]func(*oauth2.Config){
		"no interaction store":     func(c *oauth2.Config) { c.Interactions = nil },
		"no login URL":             func(c *oauth2.Config) { c.LoginURL = "" },
		"both login URL and func":  func(c *oauth2.Config) { c.StartInteraction = func(http.ResponseWriter, *http.Request, string) {} },
		"relative login URL":       func(c *oauth2.Config) { c.LoginURL = "login" },
		"PAR lifetime too long":    func(c *oauth2.Config) { c.PushedRequests = store; c.PushedRequestLifetime = time.Hour },
		"require PAR without PAR":  func(c *oauth2.Config) { c.RequirePushedAuthorizationRequests = true },
		"PAR without a code grant": func(c *oauth2.Config) { c.Grants = nil; c.PushedRequests = store },
	} {
		cfg := base()
		mutate(&cfg)
		_, err := oauth2.NewProvider(cfg)
		assert.Error(t, err, name)
	}
}

// OAuth 2.1 §4.1.2: a code reveals nothing about the request behind it: it
// is the same shape whatever the challenge, and contains neither the
// challenge nor the subject (a 5-letter match by chance is about 1 in
// 10^9).
func TestCodeRevealsNothingOfTheChallenge(t *testing.T) {
	h := newCode(t, nil)
	var lengths []int
	for range 3 {
		params, _ := authParams(t)
		code := h.code(params)
		assert.NotContains(t, code, params.Get("code_challenge"))
		assert.NotContains(t, code, "alice")
		lengths = append(lengths, len(code))
	}
	assert.Equal(t, lengths[0], lengths[1])
	assert.Equal(t, lengths[0], lengths[2])
}

// An approval cannot carry a claim that shadows a registered one: the
// application learns of it from Approve, and the interaction stays open.
func TestApprovalClaimsCannotShadowRegisteredClaims(t *testing.T) {
	h := newCode(t, nil)
	params, _ := authParams(t)
	id, cookie := h.interaction(h.authorize(params))
	err := h.Provider.Approve(httptestRecorder(), browserRequest(cookie), id,
		oauth2.Approval{Subject: "alice", Claims: map[string]any{"sub": "mallory"}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `"sub"`)
	h.approve(id, cookie, oauth2.Approval{Subject: "alice", Claims: map[string]any{"amr": []any{"pwd"}}})
}

// A client whose registration narrowed between the authorization and the
// token request cannot redeem a code for what it may no longer have: the
// code is invalid_grant, not a server error.
func TestCodeAfterTheClientWasNarrowed(t *testing.T) {
	h := newCode(t, nil)
	params, verifier := authParams(t, "scope", "read write")
	code := h.code(params)
	h.webSecret = h.AddClient(storage.Client{ID: "web", RedirectURIs: []string{"https://c.example/cb"},
		GrantTypes: []string{"authorization_code", "refresh_token"}, Scopes: []string{"read"}})
	testkit.RequireOAuthError(t, h.redeem("web", h.webSecret, code, verifier), http.StatusBadRequest, oauth2.ErrInvalidGrant)
}
