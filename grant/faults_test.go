package grant_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/grant"
	"github.com/grantor-dev/grantor/internal/testkit"
	"github.com/grantor-dev/grantor/oauth2"
	"github.com/grantor-dev/grantor/storage"
	"github.com/grantor-dev/grantor/storage/memory"
	"github.com/grantor-dev/grantor/storage/storagetest"
)

// newFaulty is the code-flow harness with every store behind a
// storagetest.Faulty, so a test can make any storage operation fail.
func newFaulty(t *testing.T) (*codeHarness, *storagetest.Faulty) {
	var f *storagetest.Faulty
	h := newCode(t, func(cfg *oauth2.Config, store *memory.Store) {
		f = storagetest.NewFaulty(store)
		cfg.Clients, cfg.Tokens, cfg.Interactions, cfg.PushedRequests = f, f, f, f
		cfg.Grants = []oauth2.GrantFactory{
			grant.AuthorizationCode(f, grant.AuthorizationCodeOptions{}),
			grant.RefreshToken(f, grant.RefreshTokenOptions{}),
			grant.ClientCredentials(grant.ClientCredentialsOptions{}),
		}
	})
	h.AddClient(storageClient("svc", "https://svc.example/cb"))
	return h, f
}

// requireUnavailable asserts the one answer of every endpoint to a storage
// outage: 503 temporarily_unavailable with Retry-After, so that the client
// retries rather than starts over.
func requireUnavailable(t *testing.T, r *testkit.Response) {
	t.Helper()
	testkit.RequireOAuthError(t, r, http.StatusServiceUnavailable, oauth2.ErrTemporarilyUnavailable)
	assert.NotEmpty(t, r.Header.Get("Retry-After"))
	assert.NotContains(t, string(r.Body), "injected", "the cause is never sent")
}

// A failed write is answered 503 temporarily_unavailable with the RFC 6749
// §5.2 body, never a token, and the endpoint works again once storage does.
func TestFaultTokenWriteIsUnavailable(t *testing.T) {
	h, f := newFaulty(t)
	secret := h.AddClient(storageClientCC("cc"))
	f.Fail(storagetest.OpCreateTokens, nil)
	r := h.Token("cc", secret, url.Values{"grant_type": {"client_credentials"}})
	requireUnavailable(t, r)
	assert.NotContains(t, string(r.Body), "injected", "the cause is never sent")
	f.Heal()
	assert.Equal(t, http.StatusOK, h.Token("cc", secret, url.Values{"grant_type": {"client_credentials"}}).Status)

	// A client lookup that fails is not a bad credential.
	f.Fail(storagetest.OpClient, nil)
	requireUnavailable(t, h.Token("cc", secret, url.Values{"grant_type": {"client_credentials"}}))
}

// A code whose tokens could not be stored cannot be redeemed twice: it was
// consumed, so the retry is a replay, refused.
func TestFaultCodeCannotBeRedeemedTwice(t *testing.T) {
	for name, fail := range map[string]func(*storagetest.Faulty){
		"token write fails":            func(f *storagetest.Faulty) { f.Fail(storagetest.OpCreateTokens, nil) },
		"consume succeeds but reports": func(f *storagetest.Faulty) { f.FailAfter(storagetest.OpConsumeAuthorizationCode, nil) },
	} {
		t.Run(name, func(t *testing.T) {
			h, f := newFaulty(t)
			params, verifier := authParams(t)
			code := h.code(params)
			fail(f)
			requireUnavailable(t, h.redeem("web", h.webSecret, code, verifier))
			f.Heal()
			testkit.RequireOAuthError(t, h.redeem("web", h.webSecret, code, verifier), http.StatusBadRequest, oauth2.ErrInvalidGrant)
		})
	}
}

// A refresh rotation that failed leaves the old refresh token usable, or
// the grant revoked: never a consumed token and a live grant both gone
// quiet, never two valid refresh tokens.
func TestFaultRefreshRotation(t *testing.T) {
	setup := func(t *testing.T) (*codeHarness, *storagetest.Faulty, string, string) {
		h, f := newFaulty(t)
		params, verifier := authParams(t)
		tok := h.redeem("web", h.webSecret, h.code(params), verifier)
		require.Equal(t, http.StatusOK, tok.Status)
		return h, f, tok.Str("access_token"), tok.Str("refresh_token")
	}
	refresh := func(h *codeHarness, rt string) *testkit.Response {
		return h.Token("web", h.webSecret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}})
	}
	rs := func(h *codeHarness) string {
		return h.AddClient(storageClientRS("rs", h.Provider.Issuer()))
	}

	t.Run("consume fails: the old token stays usable", func(t *testing.T) {
		h, f, _, rt := setup(t)
		f.Fail(storagetest.OpConsumeToken, nil)
		requireUnavailable(t, refresh(h, rt))
		f.Heal()
		assert.Equal(t, http.StatusOK, refresh(h, rt).Status)
	})
	for name, fail := range map[string]func(*storagetest.Faulty){
		"token write fails":            func(f *storagetest.Faulty) { f.Fail(storagetest.OpCreateTokens, nil) },
		"consume succeeds but reports": func(f *storagetest.Faulty) { f.FailAfter(storagetest.OpConsumeToken, nil) },
	} {
		t.Run(name+": the grant ends", func(t *testing.T) {
			h, f, at, rt := setup(t)
			secret := rs(h)
			fail(f)
			requireUnavailable(t, refresh(h, rt))
			f.Heal()
			testkit.RequireOAuthError(t, refresh(h, rt), http.StatusBadRequest, oauth2.ErrInvalidGrant)
			assert.Equal(t, false, h.Introspect("rs", secret, at).JSON["active"], "every token of the grant is revoked")
		})
	}
}

// Revocation and introspection answer 503 when storage fails (RFC 7009
// §2.2.1), never 200 for a token that may still be valid.
func TestFaultRevocationAndIntrospection(t *testing.T) {
	h, f := newFaulty(t)
	params, verifier := authParams(t)
	tok := h.redeem("web", h.webSecret, h.code(params), verifier)
	require.Equal(t, http.StatusOK, tok.Status)
	secret := h.AddClient(storageClientRS("rs", h.Provider.Issuer()))

	f.Fail(storagetest.OpRevokeGrant, nil)
	testkit.RequireOAuthError(t, h.Revoke("web", h.webSecret, tok.Str("refresh_token")), http.StatusServiceUnavailable, oauth2.ErrTemporarilyUnavailable)
	f.Heal()
	assert.Equal(t, true, h.Introspect("rs", secret, tok.Str("access_token")).JSON["active"], "still active: nothing was revoked")

	f.Fail(storagetest.OpToken, nil)
	requireUnavailable(t, h.Introspect("rs", secret, tok.Str("access_token")))
	f.Heal()

	// The client lookup fails first: the same answer, not a 500.
	f.Fail(storagetest.OpClient, nil)
	requireUnavailable(t, h.Introspect("rs", secret, tok.Str("access_token")))
	requireUnavailable(t, h.Revoke("web", h.webSecret, tok.Str("access_token")))
}

// The authorization side: an outage is temporarily_unavailable (RFC 6749
// §4.1.2.1), redirected once the redirect URI is trusted, an error page
// before; a store that is full (storage.ErrFull) is answered alike.
func TestFaultAuthorizationSide(t *testing.T) {
	h, f := newFaulty(t)
	params, _ := authParams(t)

	f.Fail(storagetest.OpClient, nil)
	r := h.authorize(params)
	assert.Equal(t, http.StatusServiceUnavailable, r.Status)
	assert.NotEmpty(t, r.Header.Get("Retry-After"))
	assert.Empty(t, r.Header.Get("Location"), "the client is unknown: no redirect")
	f.Heal()

	f.Fail(storagetest.OpCreateInteraction, nil)
	h.errorRedirect(t, h.authorize(params), oauth2.ErrTemporarilyUnavailable)
	f.Fail(storagetest.OpCreateInteraction, storage.ErrFull)
	h.errorRedirect(t, h.authorize(params), oauth2.ErrTemporarilyUnavailable)
	f.Heal()

	id, cookie := h.interaction(h.authorize(params))
	f.Fail(storagetest.OpCreateAuthorizationCode, nil)
	rec := h.approve(id, cookie, oauth2.Approval{Subject: "alice"})
	q := redirectParams(t, rec.Code, rec.Header().Get("Location"), "https://c.example/cb?")
	assert.Equal(t, "temporarily_unavailable", q.Get("error"))
	assert.Empty(t, q.Get("code"))
	f.Heal()

	f.Fail(storagetest.OpCreatePushedRequest, nil)
	requireUnavailable(t, h.push(params))
}

// The application's pages learn which failures are temporary: a store that
// fails behind PendingAuthorization, Approve or Deny wraps
// oauth2.ErrStorageFailure (retry), and a client deleted during the
// interaction is oauth2.ErrInteractionNotFound (start over).
func TestFaultInteractionAPI(t *testing.T) {
	h, f := newFaulty(t)
	params, _ := authParams(t)
	id, cookie := h.interaction(h.authorize(params))

	for _, op := range []storagetest.Op{storagetest.OpInteraction, storagetest.OpClient} {
		f.Fail(op, nil)
		_, err := h.Provider.PendingAuthorization(browserRequest(cookie), id)
		assert.ErrorIs(t, err, oauth2.ErrStorageFailure, "%s", op)
		f.Heal()
	}
	f.Fail(storagetest.OpCompleteInteraction, nil)
	assert.ErrorIs(t, h.Provider.Deny(httptest.NewRecorder(), browserRequest(cookie), id), oauth2.ErrStorageFailure)
	err := h.Provider.Approve(httptest.NewRecorder(), browserRequest(cookie), id, oauth2.Approval{Subject: "alice"})
	assert.ErrorIs(t, err, oauth2.ErrStorageFailure)
	f.Heal()

	h.Store.DeleteClient("web")
	_, err = h.Provider.PendingAuthorization(browserRequest(cookie), id)
	assert.ErrorIs(t, err, oauth2.ErrInteractionNotFound)
}
