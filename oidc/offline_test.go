package oidc_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/grant"
	"github.com/grantor-dev/grantor/internal/testkit"
	"github.com/grantor-dev/grantor/oauth2"
	"github.com/grantor-dev/grantor/oidc"
	"github.com/grantor-dev/grantor/resource"
	"github.com/grantor-dev/grantor/storage"
	"github.com/grantor-dev/grantor/storage/memory"
)

// newOfflineHarness is a harness with the client "app", which may ask for
// offline_access and refreshes its tokens, and may log out to afterLogout.
func newOfflineHarness(t *testing.T, configure func(*oidc.Config, *oauth2.Config, *memory.Store)) *harness {
	h := newHarness(t, configure)
	h.addClient(storage.Client{ID: "app", RedirectURIs: []string{rpRedirect},
		GrantTypes: []string{"authorization_code", "refresh_token"},
		Scopes:     []string{"openid", "offline_access", "read"}, PostLogoutRedirectURIs: []string{afterLogout}})
	return h
}

// pendingScopes sends params from b and returns the scopes the login page
// is shown.
func (b *browser) pendingScopes(params url.Values) []string {
	b.h.T.Helper()
	r := b.authorize(params)
	require.Equal(b.h.T, http.StatusSeeOther, r.Status, "%s", r.Body)
	id := strings.TrimPrefix(r.Header.Get("Location"), loginPath+"?interaction=")
	pa, err := b.h.Provider.PendingAuthorization(b.page(), id)
	require.NoError(b.h.T, err)
	return pa.Scopes
}

// Core §11: offline_access counts only in a request that returns a code
// and carries prompt=consent, unless the application's consent page
// always asks for it; otherwise the OP ignores it, so that neither the
// consent page nor the tokens see it.
func TestOfflineAccessNeedsPromptConsent(t *testing.T) {
	h := newOfflineHarness(t, nil)
	scope := "openid offline_access read"

	t.Run("without prompt=consent it is ignored", func(t *testing.T) {
		b := h.browser()
		assert.Equal(t, []string{"openid", "read"}, b.pendingScopes(newRequest(t, "app", "scope", scope).params))
		_, r := b.signIn(newRequest(t, "app", "scope", scope), &oauth2.Approval{Subject: defaultUser})
		assert.Equal(t, "openid read", r.Str("scope"))
	})
	t.Run("prompt=login is not consent", func(t *testing.T) {
		assert.Equal(t, []string{"openid", "read"},
			h.browser().pendingScopes(newRequest(t, "app", "scope", scope, "prompt", "login").params))
	})
	t.Run("with prompt=consent it is kept", func(t *testing.T) {
		b := h.browser()
		req := newRequest(t, "app", "scope", scope, "prompt", "consent")
		assert.Equal(t, []string{"openid", "offline_access", "read"}, b.pendingScopes(req.params))
		_, r := b.signIn(req, &oauth2.Approval{Subject: defaultUser})
		assert.Equal(t, scope, r.Str("scope"))
	})
	t.Run("an OAuth request without openid is not OpenID's to change", func(t *testing.T) {
		assert.Equal(t, []string{"offline_access", "read"},
			h.browser().pendingScopes(newRequest(t, "app", "scope", "offline_access read").params))
	})

	kept := newOfflineHarness(t, func(c *oidc.Config, _ *oauth2.Config, _ *memory.Store) {
		c.OfflineAccessWithoutPromptConsent = true
	})
	t.Run("OfflineAccessWithoutPromptConsent keeps it", func(t *testing.T) {
		assert.Equal(t, []string{"openid", "offline_access", "read"},
			kept.browser().pendingScopes(newRequest(t, "app", "scope", scope).params))
	})
}

// logout ends the login session of b at the end-session endpoint, as
// confirmed by the user.
func (b *browser) logout(idToken string) {
	b.h.T.Helper()
	page := b.endSession(http.MethodGet, url.Values{"id_token_hint": {idToken}, "post_logout_redirect_uri": {afterLogout}})
	done := b.endSession(http.MethodPost, confirmationForm(b.h.T, page))
	require.Equal(b.h.T, http.StatusSeeOther, done.Status, "%s", done.Body)
	require.Nil(b.h.T, b.cookies[sessionCookie], "logged out")
}

// requireEndedGrant checks that r refused tokens because the grant's login
// session ended, and that the grant's refresh token is revoked.
func requireEndedGrant(t *testing.T, h *harness, r *testkit.Response, refreshToken string) {
	t.Helper()
	require.Equal(t, http.StatusBadRequest, r.Status, "%s", r.Body)
	assert.Equal(t, "invalid_grant", r.Str("error"))
	rec, err := h.RefreshTokenRecord(refreshToken)
	require.NoError(t, err)
	assert.False(t, rec.RevokedAt.IsZero(), "the grant is revoked")
	assert.Equal(t, false, h.Introspect("app", h.secrets["app"], refreshToken).JSON["active"])
}

// Back-Channel Logout 1.0 §2.7, Core §11: refresh tokens issued without
// offline_access end with the login session they were issued in.
func TestRefreshTokensEndWithTheLoginSession(t *testing.T) {
	t.Run("a logout", func(t *testing.T) {
		h := newOfflineHarness(t, nil)
		b := h.browser()
		_, r := b.signIn(newRequest(t, "app", "scope", "openid read"), &oauth2.Approval{Subject: defaultUser})
		refresh := h.refresh("app", r.Str("refresh_token"))
		require.Equal(t, http.StatusOK, refresh.Status, "%s", refresh.Body)
		_, c := h.verified(refresh.Str("id_token"))
		require.NotEmpty(t, c["sid"], "the refreshed ID token names the session while it lasts")

		b.logout(r.Str("id_token"))
		rt := refresh.Str("refresh_token")
		requireEndedGrant(t, h, h.refresh("app", rt, "scope", "read"), rt)
		ev := h.Events(oauth2.EventGrantRevoked)
		require.Len(t, ev, 1)
		assert.Equal(t, "app", ev[0].ClientID)
		assert.Equal(t, "login session ended", ev[0].Reason)
	})
	t.Run("another user's login in the same browser", func(t *testing.T) {
		h := newOfflineHarness(t, nil)
		b := h.browser()
		_, r := b.signIn(newRequest(t, "app", "scope", "openid read"), &oauth2.Approval{Subject: defaultUser})
		b.signIn(newRequest(t, "rp", "prompt", "login"), &oauth2.Approval{Subject: "bob", AuthTime: h.Now()})
		requireEndedGrant(t, h, h.refresh("app", r.Str("refresh_token")), r.Str("refresh_token"))
	})
	t.Run("the session's lifetime", func(t *testing.T) {
		h := newOfflineHarness(t, func(c *oidc.Config, _ *oauth2.Config, _ *memory.Store) { c.SessionLifetime = time.Hour })
		_, r := h.browser().signIn(newRequest(t, "app", "scope", "openid read"), &oauth2.Approval{Subject: defaultUser})
		h.Advance(59 * time.Minute)
		refresh := h.refresh("app", r.Str("refresh_token"))
		require.Equal(t, http.StatusOK, refresh.Status, "%s", refresh.Body)
		h.Advance(time.Minute)
		rt := refresh.Str("refresh_token")
		requireEndedGrant(t, h, h.refresh("app", rt), rt)
	})
	t.Run("a code redeemed after the logout", func(t *testing.T) {
		h := newOfflineHarness(t, nil)
		b := h.browser()
		_, r := b.signIn(newRequest(t, "app", "scope", "openid"), &oauth2.Approval{Subject: defaultUser})
		req := newRequest(t, "app", "scope", "openid read")
		_, q := b.login(b.authorize(req.params), nil) // the session's approval
		b.logout(r.Str("id_token"))
		redeemed := h.redeem(req, q.Get("code"))
		require.Equal(t, http.StatusBadRequest, redeemed.Status, "%s", redeemed.Body)
		assert.Equal(t, "invalid_grant", redeemed.Str("error"))
	})
	t.Run("a new login of the same user keeps the grants", func(t *testing.T) {
		h := newOfflineHarness(t, nil)
		b := h.browser()
		_, r := b.signIn(newRequest(t, "app", "scope", "openid read"), &oauth2.Approval{Subject: defaultUser})
		h.Advance(time.Minute)
		b.signIn(newRequest(t, "rp", "prompt", "login"), &oauth2.Approval{Subject: defaultUser, AuthTime: h.Now()})
		refresh := h.refresh("app", r.Str("refresh_token"))
		assert.Equal(t, http.StatusOK, refresh.Status, "%s", refresh.Body)
	})
	// Anyone can fill a store of sessions by signing in again and again:
	// a grant approved without a session still ends when one would have.
	t.Run("a grant approved without a session, SessionLifetime after its approval", func(t *testing.T) {
		h := newOfflineHarness(t, func(c *oidc.Config, _ *oauth2.Config, store *memory.Store) {
			c.Sessions = memory.New(memory.WithClock(store.Now), memory.WithMaxLoginSessions(1))
		})
		h.browser().signIn(newRequest(t, "rp"), &oauth2.Approval{Subject: "bob"}) // fills the store
		// A login of the day before, as a session's would be.
		_, r := h.browser().signIn(newRequest(t, "app", "scope", "openid read"),
			&oauth2.Approval{Subject: defaultUser, AuthTime: h.Now().Add(-25 * time.Hour)})
		_, c := h.verified(r.Str("id_token"))
		require.NotContains(t, c, "sid", "no session")
		h.Advance(oidc.DefaultSessionLifetime - time.Second)
		refresh := h.refresh("app", r.Str("refresh_token"))
		require.Equal(t, http.StatusOK, refresh.Status, "%s", refresh.Body)
		h.Advance(time.Second)
		rt := refresh.Str("refresh_token")
		requireEndedGrant(t, h, h.refresh("app", rt), rt)
	})
}

// Core §11: offline access is for when the user is not logged in: its
// refresh tokens outlive the session, and their ID tokens, for the same
// user and login, name no session any more.
func TestOfflineAccessOutlivesTheLoginSession(t *testing.T) {
	h := newOfflineHarness(t, nil)
	b := h.browser()
	_, r := b.signIn(newRequest(t, "app", "scope", "openid offline_access", "prompt", "consent", "max_age", "600"),
		&oauth2.Approval{Subject: defaultUser, AuthTime: h.Now()})
	_, first := h.verified(r.Str("id_token"))
	require.NotEmpty(t, first["sid"])
	b.logout(r.Str("id_token"))

	refresh := h.refresh("app", r.Str("refresh_token"))
	require.Equal(t, http.StatusOK, refresh.Status, "%s", refresh.Body)
	_, c := h.verified(refresh.Str("id_token"))
	assert.NotContains(t, c, "sid", "the session has ended")
	assert.Equal(t, first["sub"], c["sub"])
	assert.Equal(t, first["auth_time"], c["auth_time"])
	assert.Empty(t, h.Events(oauth2.EventGrantRevoked))
}

// brokenSessionLookup fails every lookup of a session by its sid once
// broken.
type brokenSessionLookup struct {
	*memory.Store
	broken bool
}

func (s *brokenSessionLookup) LoginSessionByID(ctx context.Context, id string) (*storage.LoginSession, error) {
	if s.broken {
		return nil, errors.New("the database is down")
	}
	return s.Store.LoginSessionByID(ctx, id)
}

// A store that cannot say whether the session lasts gets the tokens
// refused for now (503, temporarily_unavailable), and nothing revoked;
// introspection and an API of the same process cannot tell either.
func TestARefreshWhoseSessionCannotBeReadIsRefusedForNow(t *testing.T) {
	var sessions *brokenSessionLookup
	h := newOfflineHarness(t, func(c *oidc.Config, _ *oauth2.Config, store *memory.Store) {
		sessions = &brokenSessionLookup{Store: store}
		c.Sessions = sessions
	})
	_, r := h.browser().signIn(newRequest(t, "app", "scope", "openid read"), &oauth2.Approval{Subject: defaultUser})
	sessions.broken = true
	refused := h.refresh("app", r.Str("refresh_token"))
	require.Equal(t, http.StatusServiceUnavailable, refused.Status, "%s", refused.Body)
	assert.Equal(t, "temporarily_unavailable", refused.Str("error"))
	in := h.Introspect("app", h.secrets["app"], r.Str("access_token"))
	assert.Equal(t, http.StatusServiceUnavailable, in.Status, "introspection cannot tell: %s", in.Body)
	_, err := resource.Store(h.Provider, h.Store, nil).Validate(context.Background(), r.Str("access_token"))
	assert.ErrorIs(t, err, resource.ErrUnavailable)
	assert.Empty(t, h.Events(oauth2.EventGrantRevoked))
	sessions.broken = false
	again := h.refresh("app", r.Str("refresh_token"))
	assert.Equal(t, http.StatusOK, again.Status, "the refresh token was not used up: %s", again.Body)
}

// noneResponse answers response_type=none (OAuth 2.0 Multiple Response
// Type Encoding Practices §4): no code, nothing to redeem.
type noneResponse struct{}

func (noneResponse) GrantType() string { return "urn:example:none" }

func (noneResponse) HandleTokenRequest(context.Context, *oauth2.TokenRequest) (*oauth2.Issue, error) {
	return nil, oauth2.NewError(oauth2.ErrUnsupportedGrantType, "nothing to redeem")
}

func (noneResponse) ResponseType() string { return "none" }

func (noneResponse) Authorize(context.Context, *oauth2.Authorization) (url.Values, error) {
	return url.Values{}, nil
}

// Core §11: the OP ignores offline_access with a response type that
// returns no code, prompt=consent or not.
func TestOfflineAccessNeedsAResponseTypeWithACode(t *testing.T) {
	h := newOfflineHarness(t, func(c *oidc.Config, cfg *oauth2.Config, _ *memory.Store) {
		c.OfflineAccessWithoutPromptConsent = true
		cfg.Grants = append(cfg.Grants, func(*oauth2.Provider) (oauth2.GrantHandler, error) { return noneResponse{}, nil })
	})
	req := newRequest(t, "app", "scope", "openid offline_access", "prompt", "consent", "response_type", "none")
	assert.Equal(t, []string{"openid"}, h.browser().pendingScopes(req.params))
}

// staleSessions answers lookups by sid with a session that has expired,
// or that belongs to another user, as a store written around Grantor
// might: the OpenID Provider checks both itself.
type staleSessions struct {
	*memory.Store
	edit func(*storage.LoginSession)
}

func (s staleSessions) LoginSessionByID(ctx context.Context, id string) (*storage.LoginSession, error) {
	ls, err := s.Store.LoginSessionByID(ctx, id)
	if err == nil && s.edit != nil {
		s.edit(ls)
	}
	return ls, err
}

func TestASessionOfTheSameSidMustLastAndBeTheSameUsers(t *testing.T) {
	for name, edit := range map[string]func(*storage.LoginSession){
		"expired":      func(ls *storage.LoginSession) { ls.ExpiresAt = time.Unix(1, 0) },
		"another user": func(ls *storage.LoginSession) { ls.Subject = "mallory" },
	} {
		t.Run(name, func(t *testing.T) {
			sessions := &staleSessions{}
			h := newOfflineHarness(t, func(c *oidc.Config, _ *oauth2.Config, store *memory.Store) {
				sessions.Store = store
				c.Sessions = sessions
			})
			_, r := h.browser().signIn(newRequest(t, "app", "scope", "openid read"), &oauth2.Approval{Subject: defaultUser})
			sessions.edit = edit
			requireEndedGrant(t, h, h.refresh("app", r.Str("refresh_token")), r.Str("refresh_token"))
		})
	}
}

// exchange trades token (of type typ) at the token endpoint as client
// (RFC 8693 §2.1).
func (h *harness) exchange(client, token, typ string) *testkit.Response {
	h.T.Helper()
	return h.Token(client, h.secrets[client], url.Values{"grant_type": {grant.GrantTypeTokenExchange},
		"subject_token": {token}, "subject_token_type": {typ}})
}

// Once the session has ended, the tokens of a grant without
// offline_access are inactive wherever the server looks them up, not only
// at their next refresh: introspection (RFC 7662 §2.2), UserInfo, an API
// of the same process (resource.Store) and token exchange, whose subject
// token could otherwise buy access tokens without end. Those of a grant
// with offline_access stay active.
func TestTheTokensOfAnEndedSessionAreInactive(t *testing.T) {
	h := newOfflineHarness(t, func(_ *oidc.Config, cfg *oauth2.Config, _ *memory.Store) {
		cfg.Grants = append(cfg.Grants, grant.TokenExchange(grant.TokenExchangeOptions{
			Policy: grant.TokenExchangePolicyFunc(func(context.Context, *grant.TokenExchangeRequest) (*grant.Allowance, error) {
				return &grant.Allowance{RefreshToken: true}, nil
			})}))
	})
	h.addClient(storage.Client{ID: "app", RedirectURIs: []string{rpRedirect},
		GrantTypes: []string{"authorization_code", "refresh_token", grant.GrantTypeTokenExchange},
		Scopes:     []string{"openid", "offline_access", "read"}, PostLogoutRedirectURIs: []string{afterLogout}})
	api := resource.Store(h.Provider, h.Store, nil)
	b := h.browser()
	_, online := b.signIn(newRequest(t, "app", "scope", "openid read"), &oauth2.Approval{Subject: defaultUser})
	_, offline := b.signIn(newRequest(t, "app", "scope", "openid offline_access read", "prompt", "consent"), nil)
	require.Equal(t, "openid offline_access read", offline.Str("scope"))

	active := func(tok string) bool {
		t.Helper()
		r := h.Introspect("app", h.secrets["app"], tok)
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		return r.JSON["active"] == true
	}
	// Tokens exchanged for the grant's access token join its grant (RFC
	// 8693 §2.1), and its session; their response has no ID token.
	exchanged := h.exchange("app", online.Str("access_token"), "urn:ietf:params:oauth:token-type:access_token")
	require.Equal(t, http.StatusOK, exchanged.Status, "%s", exchanged.Body)
	require.Equal(t, "openid read", exchanged.Str("scope"))
	require.NotContains(t, exchanged.JSON, "id_token")
	require.NotEmpty(t, exchanged.Str("refresh_token"))
	for _, r := range []*testkit.Response{online, offline, exchanged} {
		require.True(t, active(r.Str("access_token")))
		require.True(t, active(r.Str("refresh_token")))
	}
	b.logout(online.Str("id_token"))

	t.Run("without offline_access", func(t *testing.T) {
		assert.False(t, active(online.Str("access_token")), "introspection")
		assert.False(t, active(online.Str("refresh_token")), "introspection")
		assert.Equal(t, http.StatusUnauthorized, h.userInfo(http.MethodGet, online.Str("access_token")).Status, "UserInfo")
		_, err := api.Validate(context.Background(), online.Str("access_token"))
		assert.ErrorIs(t, err, resource.ErrInvalidToken, "resource.Store")
		x := h.exchange("app", online.Str("refresh_token"), "urn:ietf:params:oauth:token-type:refresh_token")
		assert.Equal(t, http.StatusBadRequest, x.Status, "token exchange: %s", x.Body)
		assert.False(t, active(exchanged.Str("access_token")), "an exchanged token")
		assert.False(t, active(exchanged.Str("refresh_token")), "an exchanged token")
		requireEndedGrant(t, h, h.refresh("app", exchanged.Str("refresh_token")), exchanged.Str("refresh_token"))
	})
	t.Run("with offline_access", func(t *testing.T) {
		assert.True(t, active(offline.Str("access_token")))
		assert.True(t, active(offline.Str("refresh_token")))
		assert.Equal(t, http.StatusOK, h.userInfo(http.MethodGet, offline.Str("access_token")).Status)
		_, err := api.Validate(context.Background(), offline.Str("access_token"))
		assert.NoError(t, err)
		x := h.exchange("app", offline.Str("refresh_token"), "urn:ietf:params:oauth:token-type:refresh_token")
		assert.Equal(t, http.StatusOK, x.Status, "%s", x.Body)
	})
}

// failingDeletes fails the next delete of a login session.
type failingDeletes struct {
	*memory.Store
	fail bool
}

func (s *failingDeletes) DeleteLoginSession(ctx context.Context, key string) (*storage.LoginSession, error) {
	if s.fail {
		s.fail = false
		return nil, errors.New("the database is down")
	}
	return s.Store.DeleteLoginSession(ctx, key)
}

// A new login of the same user creates the session's new record under
// its sid before it deletes the old one. When that delete fails, the old
// record stays, named by no cookie: the logout ends it too, so that it
// keeps no grant of the session alive, and its clients are told.
func TestALogoutEndsEveryRecordOfTheSession(t *testing.T) {
	rp := newLogoutReceiver(t)
	sessions := &failingDeletes{}
	h := newOfflineHarness(t, func(c *oidc.Config, _ *oauth2.Config, store *memory.Store) {
		sessions.Store = store
		c.Sessions = sessions
		c.AllowPrivateAddresses = true
	})
	h.addClient(storage.Client{ID: "bcl", RedirectURIs: []string{rpRedirect}, GrantTypes: []string{"authorization_code"},
		Scopes: []string{"openid"}, BackchannelLogoutURI: rp.URL + "/backchannel"})
	b := h.browser()
	_, r := b.signIn(newRequest(t, "bcl", "scope", "openid"), &oauth2.Approval{Subject: defaultUser})
	_, c := h.verified(r.Str("id_token"))
	h.Advance(time.Minute)
	sessions.fail = true
	_, again := b.signIn(newRequest(t, "app", "scope", "openid read", "prompt", "login"), &oauth2.Approval{Subject: defaultUser, AuthTime: h.Now()})
	require.False(t, sessions.fail, "the old record's delete failed")

	b.logout(again.Str("id_token"))
	_, err := h.Store.LoginSessionByID(context.Background(), c["sid"].(string))
	assert.ErrorIs(t, err, storage.ErrNotFound, "no record of the session is left")
	requireEndedGrant(t, h, h.refresh("app", again.Str("refresh_token")), again.Str("refresh_token"))
	require.NoError(t, h.OP.Close(context.Background()))
	assert.Len(t, rp.received(), 1, "bcl, which both records list, is told once")
}

// hookedSessions runs a hook once, before the next creation or deletion
// (of the key given) of a login session: the step of another request
// that lands in the middle of this one's.
type hookedSessions struct {
	*memory.Store
	beforeCreate func()
	beforeDelete func()
	deleteKey    string
	// failDelete and failCreate, when set, fail the deletes and the
	// creations of the keys they name.
	failDelete func(key string) bool
	failCreate func(key string) bool
}

func (s *hookedSessions) CreateLoginSession(ctx context.Context, ls *storage.LoginSession) error {
	if hook := s.beforeCreate; hook != nil {
		s.beforeCreate = nil
		hook()
	}
	if s.failCreate != nil && s.failCreate(ls.Key) {
		return errors.New("the database is down")
	}
	return s.Store.CreateLoginSession(ctx, ls)
}

func (s *hookedSessions) DeleteLoginSession(ctx context.Context, key string) (*storage.LoginSession, error) {
	if hook := s.beforeDelete; hook != nil && key == s.deleteKey {
		s.beforeDelete = nil
		hook()
	}
	if s.failDelete != nil && s.failDelete(key) {
		return nil, errors.New("the database is down")
	}
	return s.Store.DeleteLoginSession(ctx, key)
}

// signedInWithHooks returns a harness whose session store runs hooks,
// and a browser signed in to "app" (openid read) with its token response.
func signedInWithHooks(t *testing.T) (*harness, *hookedSessions, *browser, *testkit.Response) {
	sessions := &hookedSessions{}
	h := newOfflineHarness(t, func(c *oidc.Config, _ *oauth2.Config, store *memory.Store) {
		sessions.Store = store
		c.Sessions = sessions
		c.AllowPrivateAddresses = true // back-channel logout to loopback
	})
	b := h.browser()
	_, first := b.signIn(newRequest(t, "app", "scope", "openid read"), &oauth2.Approval{Subject: defaultUser})
	return h, sessions, b, first
}

// A logout that lands between a new login's read of the session and its
// new record (in another tab) does not come undone: the sid stays ended,
// and the new login starts a session of its own.
func TestALoginRacingALogoutDoesNotReviveTheSession(t *testing.T) {
	t.Run("the end marked", func(t *testing.T) { testALoginRacingALogout(t, false) })
	t.Run("the mark refused by the store", func(t *testing.T) { testALoginRacingALogout(t, true) })
}

func testALoginRacingALogout(t *testing.T, refuseMarks bool) {
	h, sessions, b, first := signedInWithHooks(t)
	if refuseMarks {
		sessions.failCreate = func(key string) bool { return strings.HasPrefix(key, "ended:") }
	}
	_, c1 := h.verified(first.Str("id_token"))
	h.Advance(time.Minute)
	sessions.beforeCreate = func() { b.logout(first.Str("id_token")) }
	_, again := b.signIn(newRequest(t, "app", "scope", "openid read", "prompt", "login"),
		&oauth2.Approval{Subject: defaultUser, AuthTime: h.Now()})
	require.Nil(t, sessions.beforeCreate, "the logout ran")

	_, c2 := h.verified(again.Str("id_token"))
	assert.NotEqual(t, c1["sid"], c2["sid"], "a session of its own")
	_, err := h.Store.LoginSessionByID(context.Background(), c1["sid"].(string))
	assert.ErrorIs(t, err, storage.ErrNotFound, "the ended sid stays ended")
	requireEndedGrant(t, h, h.refresh("app", first.Str("refresh_token")), first.Str("refresh_token"))
	assert.Equal(t, http.StatusOK, h.refresh("app", again.Str("refresh_token")).Status)
}

// A new login (in another tab) that replaces the session between the
// logout's read of it and its delete is ended by the logout too: the
// logout wins, and nothing of the sid is left.
func TestALogoutRacingALoginEndsItsRecord(t *testing.T) {
	h, sessions, b, first := signedInWithHooks(t)
	_, c := h.verified(first.Str("id_token"))
	sid := c["sid"].(string)
	other := h.browser() // the other tab: the same cookie
	other.cookies[sessionCookie] = b.cookies[sessionCookie]
	h.Advance(time.Minute)
	var again *testkit.Response
	sessions.deleteKey = h.OP.SessionKeyForTest(b.cookies[sessionCookie].Value)
	sessions.beforeDelete = func() {
		_, again = other.signIn(newRequest(t, "app", "scope", "openid read", "prompt", "login"),
			&oauth2.Approval{Subject: defaultUser, AuthTime: h.Now()})
	}
	b.logout(first.Str("id_token"))
	require.NotNil(t, again, "the login ran")

	_, c2 := h.verified(again.Str("id_token"))
	require.Equal(t, sid, c2["sid"], "the login went on with the session")
	_, err := h.Store.LoginSessionByID(context.Background(), sid)
	assert.ErrorIs(t, err, storage.ErrNotFound, "which the logout ended")
	requireEndedGrant(t, h, h.refresh("app", first.Str("refresh_token")), first.Str("refresh_token"))
	requireEndedGrant(t, h, h.refresh("app", again.Str("refresh_token")), again.Str("refresh_token"))
}

// Every client that any record of the session lists is told of its end,
// once: a record left behind may list a client the cookie's does not.
func TestALogoutTellsTheClientsOfEveryRecord(t *testing.T) {
	rp := newLogoutReceiver(t)
	h := newOfflineHarness(t, func(c *oidc.Config, _ *oauth2.Config, _ *memory.Store) { c.AllowPrivateAddresses = true })
	for _, id := range []string{"bcl-1", "bcl-2"} {
		h.addClient(storage.Client{ID: id, RedirectURIs: []string{rpRedirect}, GrantTypes: []string{"authorization_code"},
			Scopes: []string{"openid"}, BackchannelLogoutURI: rp.URL + "/" + id, PostLogoutRedirectURIs: []string{afterLogout}})
	}
	b := h.browser()
	_, r := b.signIn(newRequest(t, "bcl-1", "scope", "openid"), &oauth2.Approval{Subject: defaultUser})
	_, c := h.verified(r.Str("id_token"))
	cur, err := h.Store.LoginSession(context.Background(), h.OP.SessionKeyForTest(b.cookies[sessionCookie].Value))
	require.NoError(t, err)
	left := *cur // as another tab's login would have left it
	left.Key, left.Clients = "left-behind", []string{"bcl-2", "bcl-1"}
	require.NoError(t, h.Store.CreateLoginSession(context.Background(), &left))

	b.logout(r.Str("id_token"))
	require.NoError(t, h.OP.Close(context.Background()))
	assert.Len(t, rp.received(), 2, "bcl-1 and bcl-2, once each")
	_, err = h.Store.LoginSessionByID(context.Background(), c["sid"].(string))
	assert.ErrorIs(t, err, storage.ErrNotFound)
}

// Two tabs of one browser that log in again at once both replace the
// session's record: the one whose replacement finds it gone already
// keeps the sid all the same, so that a logout ends both records and
// every grant, and tells the clients.
func TestTwoTabsLoggingInAgainKeepOneSession(t *testing.T) {
	rp := newLogoutReceiver(t)
	h, sessions, b, first := signedInWithHooks(t)
	h.addClient(storage.Client{ID: "bcl", RedirectURIs: []string{rpRedirect}, GrantTypes: []string{"authorization_code"},
		Scopes: []string{"openid"}, BackchannelLogoutURI: rp.URL + "/backchannel", PostLogoutRedirectURIs: []string{afterLogout}})
	_, r := b.signIn(newRequest(t, "bcl", "scope", "openid"), nil)
	_, c := h.verified(r.Str("id_token"))
	sid := c["sid"].(string)
	tabA := h.browser()
	tabA.cookies[sessionCookie] = b.cookies[sessionCookie]
	h.Advance(time.Minute)
	login := func(tab *browser) *testkit.Response {
		_, resp := tab.signIn(newRequest(t, "app", "scope", "openid read", "prompt", "login"),
			&oauth2.Approval{Subject: defaultUser, AuthTime: h.Now()})
		return resp
	}
	var a *testkit.Response
	sessions.deleteKey = h.OP.SessionKeyForTest(b.cookies[sessionCookie].Value)
	sessions.beforeDelete = func() { a = login(tabA) } // between tab B's new record and its delete
	bResp := login(b)
	require.NotNil(t, a, "tab A logged in meanwhile")
	for _, resp := range []*testkit.Response{a, bResp} {
		_, c := h.verified(resp.Str("id_token"))
		assert.Equal(t, sid, c["sid"], "one session")
	}

	b.logout(bResp.Str("id_token"))
	_, err := h.Store.LoginSessionByID(context.Background(), sid)
	assert.ErrorIs(t, err, storage.ErrNotFound, "both records ended")
	for _, resp := range []*testkit.Response{first, a, bResp} {
		requireEndedGrant(t, h, h.refresh("app", resp.Str("refresh_token")), resp.Str("refresh_token"))
	}
	require.NoError(t, h.OP.Close(context.Background()))
	assert.Len(t, rp.received(), 1, "bcl is told")
}

// A new login that must step aside for a logout, and cannot delete its
// record, fails; the record it leaves revives nothing.
func TestALoginThatCannotStepAsideFails(t *testing.T) {
	h, sessions, b, first := signedInWithHooks(t)
	old := h.OP.SessionKeyForTest(b.cookies[sessionCookie].Value)
	h.Advance(time.Minute)
	sessions.beforeCreate = func() {
		b.logout(first.Str("id_token"))
		sessions.failDelete = func(key string) bool { return key != old }
	}
	_, q := b.login(b.authorize(newRequest(t, "app", "scope", "openid read", "prompt", "login").params),
		&oauth2.Approval{Subject: defaultUser, AuthTime: h.Now()})
	assert.Equal(t, "temporarily_unavailable", q.Get("error"), q.Encode())
	assert.Empty(t, q.Get("code"))
	sessions.failDelete = nil
	requireEndedGrant(t, h, h.refresh("app", first.Str("refresh_token")), first.Str("refresh_token"))
}

// The end of a session is for good: a record of its sid written after
// the logout (by a login that raced it, another instance, a restored
// backup) neither revives its grants nor signs in the browser it names.
func TestARecordWrittenAfterTheLogoutRevivesNothing(t *testing.T) {
	h, _, b, first := signedInWithHooks(t)
	_, c := h.verified(first.Str("id_token"))
	sid := c["sid"].(string)
	b.logout(first.Str("id_token"))

	late := h.browser()
	value := strings.Repeat("A", 43) // a well-formed cookie value: 32 bytes, base64url
	late.cookies[sessionCookie] = &http.Cookie{Name: sessionCookie, Value: value}
	require.NoError(t, h.Store.CreateLoginSession(context.Background(), &storage.LoginSession{
		Key: h.OP.SessionKeyForTest(value), ID: sid, Subject: defaultUser, AuthTime: h.Now(),
		Clients: []string{"app"}, CreatedAt: h.Now(), ExpiresAt: h.Now().Add(time.Hour)}))
	requireEndedGrant(t, h, h.refresh("app", first.Str("refresh_token")), first.Str("refresh_token"))
	lc, _ := late.login(late.authorize(newRequest(t, "app", "scope", "openid").params), &oauth2.Approval{Subject: defaultUser})
	assert.Nil(t, lc.Session, "no session to offer")
}

// A logout in one tab while another tab's new login replaces the
// session's record: the login finds the sid ended and starts a session
// of its own.
func TestALogoutWhileALoginReplacesTheSession(t *testing.T) {
	h, sessions, b, first := signedInWithHooks(t)
	_, c := h.verified(first.Str("id_token"))
	sid := c["sid"].(string)
	tabB := h.browser()
	tabB.cookies[sessionCookie] = b.cookies[sessionCookie]
	h.Advance(time.Minute)
	sessions.deleteKey = h.OP.SessionKeyForTest(b.cookies[sessionCookie].Value)
	sessions.beforeDelete = func() { // between tab A's new record and its delete of the old one
		_, r := tabB.signIn(newRequest(t, "app", "scope", "openid read", "prompt", "login"),
			&oauth2.Approval{Subject: defaultUser, AuthTime: h.Now()})
		tabB.logout(r.Str("id_token"))
	}
	_, a := b.signIn(newRequest(t, "app", "scope", "openid read", "prompt", "login"),
		&oauth2.Approval{Subject: defaultUser, AuthTime: h.Now()})
	_, ca := h.verified(a.Str("id_token"))
	assert.NotEqual(t, sid, ca["sid"], "a session of its own")
	requireEndedGrant(t, h, h.refresh("app", first.Str("refresh_token")), first.Str("refresh_token"))
	assert.Equal(t, http.StatusOK, h.refresh("app", a.Str("refresh_token")).Status)
}

// An access token exchanged to another client (its audience, RFC 8693
// §2.1) joins the user's grant but is no sign-in of that client: UserInfo
// refuses it (403), and its response has no ID token.
func TestAnExchangedTokenOfAnotherClientGetsNoUserInfo(t *testing.T) {
	h := newOfflineHarness(t, func(_ *oidc.Config, cfg *oauth2.Config, _ *memory.Store) {
		cfg.Grants = append(cfg.Grants, grant.TokenExchange(grant.TokenExchangeOptions{
			Policy: grant.TokenExchangePolicyFunc(func(context.Context, *grant.TokenExchangeRequest) (*grant.Allowance, error) {
				return &grant.Allowance{}, nil
			})}))
	})
	h.addClient(storage.Client{ID: "app", RedirectURIs: []string{rpRedirect}, GrantTypes: []string{"authorization_code"},
		Scopes: []string{"openid", "read"}, Audience: []string{"api"}})
	h.addClient(storage.Client{ID: "api", GrantTypes: []string{grant.GrantTypeTokenExchange}, Scopes: []string{"openid", "read"}})
	_, r := h.browser().signIn(newRequest(t, "app", "scope", "openid read"), &oauth2.Approval{Subject: defaultUser})
	require.Equal(t, http.StatusOK, h.userInfo(http.MethodGet, r.Str("access_token")).Status, "the client signed in to")

	x := h.exchange("api", r.Str("access_token"), "urn:ietf:params:oauth:token-type:access_token")
	require.Equal(t, http.StatusOK, x.Status, "%s", x.Body)
	require.Equal(t, "openid read", x.Str("scope"))
	assert.NotContains(t, x.JSON, "id_token")
	assert.Equal(t, http.StatusForbidden, h.userInfo(http.MethodGet, x.Str("access_token")).Status)
}

// A grant approved before grants kept when they end without a session
// and which client the user signed in to: counted from its login, and
// its own client's.
func TestAnOlderGrantWithoutASessionEndsAfterItsLogin(t *testing.T) {
	h := newOfflineHarness(t, nil)
	login := h.Now().Add(-23 * time.Hour)
	rt := h.SeedRefreshToken(storage.Token{ClientID: "app", Subject: defaultUser, Scopes: []string{"openid", "read"},
		Extensions: map[string]string{"oidc_auth_time": strconv.FormatInt(login.Unix(), 10), "oidc_sid": ""}})
	refresh := h.refresh("app", rt)
	require.Equal(t, http.StatusOK, refresh.Status, "%s", refresh.Body)
	assert.NotEmpty(t, refresh.Str("id_token"), "Core §12.2")
	assert.Equal(t, http.StatusOK, h.userInfo(http.MethodGet, refresh.Str("access_token")).Status)
	h.Advance(time.Hour)
	next := refresh.Str("refresh_token")
	requireEndedGrant(t, h, h.refresh("app", next), next)
}

// Another user's login ends the session before it even when a new login
// of that session's user (in another tab) replaced its record meanwhile.
func TestAnotherUsersLoginEndsAReplacedSession(t *testing.T) {
	h, sessions, b, first := signedInWithHooks(t)
	_, c := h.verified(first.Str("id_token"))
	sid := c["sid"].(string)
	tabA := h.browser()
	tabA.cookies[sessionCookie] = b.cookies[sessionCookie]
	h.Advance(time.Minute)
	sessions.beforeCreate = func() { // after bob's login read the session
		tabA.signIn(newRequest(t, "app", "scope", "openid read", "prompt", "login"),
			&oauth2.Approval{Subject: defaultUser, AuthTime: h.Now()})
	}
	b.signIn(newRequest(t, "app", "scope", "openid", "prompt", "login"), &oauth2.Approval{Subject: "bob", AuthTime: h.Now()})
	_, err := h.Store.LoginSessionByID(context.Background(), sid)
	assert.ErrorIs(t, err, storage.ErrNotFound, "alice's session has ended")
	requireEndedGrant(t, h, h.refresh("app", first.Str("refresh_token")), first.Str("refresh_token"))
}

// Another user's login in a full store gets no session, and still ends
// the session before it: the browser no longer offers it.
func TestAnotherUsersLoginInAFullStoreEndsTheSession(t *testing.T) {
	h := newOfflineHarness(t, func(c *oidc.Config, _ *oauth2.Config, store *memory.Store) {
		c.Sessions = memory.New(memory.WithClock(store.Now), memory.WithMaxLoginSessions(1))
	})
	b := h.browser()
	_, first := b.signIn(newRequest(t, "app", "scope", "openid read"), &oauth2.Approval{Subject: defaultUser})
	_, bob := b.signIn(newRequest(t, "app", "scope", "openid", "prompt", "login"), &oauth2.Approval{Subject: "bob", AuthTime: h.Now()})
	_, c := h.verified(bob.Str("id_token"))
	assert.NotContains(t, c, "sid", "no room for bob's session")
	assert.Nil(t, b.cookies[sessionCookie], "alice's cookie is cleared")
	requireEndedGrant(t, h, h.refresh("app", first.Str("refresh_token")), first.Str("refresh_token"))
}

// The marks of ended sessions each have an ID of their own, so that a
// store's index of IDs never piles them up under one.
func TestMarksOfEndedSessionsHaveIDsOfTheirOwn(t *testing.T) {
	h := newOfflineHarness(t, nil)
	for range 2 {
		b := h.browser()
		_, r := b.signIn(newRequest(t, "app", "scope", "openid"), &oauth2.Approval{Subject: defaultUser})
		b.logout(r.Str("id_token"))
	}
	_, err := h.Store.LoginSessionByID(context.Background(), "")
	assert.ErrorIs(t, err, storage.ErrNotFound)
}
