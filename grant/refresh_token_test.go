package grant_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/grant"
	"github.com/grantor-dev/grantor/internal/testkit"
	"github.com/grantor-dev/grantor/oauth2"
	"github.com/grantor-dev/grantor/storage"
	"github.com/grantor-dev/grantor/storage/memory"
	"github.com/grantor-dev/grantor/token"
)

// rtHarness has the refresh grant, a confidential client "app" and a
// public client "spa", both registered for refresh_token.
type rtHarness struct {
	*testkit.Harness
	appSecret   string
	otherSecret string
}

func newRT(t *testing.T, opts grant.RefreshTokenOptions) *rtHarness {
	h := testkit.New(t, func(cfg *oauth2.Config, store *memory.Store) {
		cfg.Grants = []oauth2.GrantFactory{grant.RefreshToken(store, opts)}
	})
	r := &rtHarness{Harness: h}
	r.appSecret = h.AddClient(storage.Client{ID: "app", GrantTypes: []string{"refresh_token"}, Scopes: []string{"read", "write"}, Audience: []string{"https://api.example"}})
	r.otherSecret = h.AddClient(storage.Client{ID: "other", GrantTypes: []string{"refresh_token"}, Scopes: []string{"read", "write"}, Audience: []string{"https://api.example"}})
	h.AddClient(storage.Client{ID: "spa", TokenEndpointAuthMethod: oauth2.AuthMethodNone, GrantTypes: []string{"refresh_token"}, Scopes: []string{"read"}})
	return r
}

// seed stores a refresh token of "app" for alice with scopes read write.
func (h *rtHarness) seed() string {
	return h.SeedRefreshToken(storage.Token{ClientID: "app", Subject: "alice", Scopes: []string{"read", "write"},
		Audience: []string{"https://api.example"}, Claims: map[string]any{"tenant": "acme"}})
}

func (h *rtHarness) refresh(rt string, extra ...string) *testkit.Response {
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}
	for i := 0; i+1 < len(extra); i += 2 {
		form.Set(extra[i], extra[i+1])
	}
	return h.Token("app", h.appSecret, form)
}

func TestRefreshRotatesAndKeepsTheGrant(t *testing.T) {
	h := newRT(t, grant.RefreshTokenOptions{})
	rt1 := h.seed()
	old, err := h.RefreshTokenRecord(rt1)
	require.NoError(t, err)

	r := h.refresh(rt1)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	rt2 := r.Str("refresh_token")
	require.NotEmpty(t, rt2)
	assert.NotEqual(t, rt1, rt2)
	// No scope was asked for, so the response says what was granted.
	assert.Equal(t, "read write", r.Str("scope"))

	at, err := h.AccessTokenRecord(r.Str("access_token"))
	require.NoError(t, err)
	assert.Equal(t, old.GrantID, at.GrantID)
	assert.Equal(t, "alice", at.Subject)
	assert.Equal(t, []string{"read", "write"}, at.Scopes)
	assert.Equal(t, []string{"https://api.example"}, at.Audience)
	assert.Equal(t, "acme", at.Claims["tenant"])

	next, err := h.RefreshTokenRecord(rt2)
	require.NoError(t, err)
	assert.Equal(t, old.GrantID, next.GrantID)
	assert.True(t, next.Active(h.Now()))
}

// RFC 6749 §6 (zitadel GHSA-xqxv-4jc2-x56x): a refresh token is bound to
// its client.
func TestRefreshTokenIsBoundToItsClient(t *testing.T) {
	h := newRT(t, grant.RefreshTokenOptions{})
	rt := h.seed()
	r := h.Token("other", h.otherSecret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}})
	testkit.RequireOAuthError(t, r, http.StatusBadRequest, oauth2.ErrInvalidGrant)
	// The owner's token is untouched by the foreign attempt.
	assert.Equal(t, http.StatusOK, h.refresh(rt).Status)
}

// RFC 6749 §6: scopes cannot grow; a narrower access token leaves the
// grant's scopes on the new refresh token.
func TestScopesOnlyNarrow(t *testing.T) {
	h := newRT(t, grant.RefreshTokenOptions{})
	rt := h.seed()
	testkit.RequireOAuthError(t, h.refresh(rt, "scope", "read admin"), http.StatusBadRequest, oauth2.ErrInvalidScope)

	r := h.refresh(rt, "scope", "read")
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	at, err := h.AccessTokenRecord(r.Str("access_token"))
	require.NoError(t, err)
	assert.Equal(t, []string{"read"}, at.Scopes)
	next, err := h.RefreshTokenRecord(r.Str("refresh_token"))
	require.NoError(t, err)
	assert.Equal(t, []string{"read", "write"}, next.Scopes)

	// The next refresh may ask for write again.
	r = h.refresh(r.Str("refresh_token"), "scope", "write")
	assert.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
}

// RFC 9700 §4.14.2: rotation for public clients.
func TestPublicClientsGetRotation(t *testing.T) {
	h := newRT(t, grant.RefreshTokenOptions{})
	rt1 := h.SeedRefreshToken(storage.Token{ClientID: "spa", Subject: "alice", Scopes: []string{"read"}})
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt1}, "client_id": {"spa"}}
	r := h.Do(h.TokenRequest(form))
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	rt2 := r.Str("refresh_token")
	assert.NotEmpty(t, rt2)
	testkit.RequireOAuthError(t, h.Do(h.TokenRequest(form)), http.StatusBadRequest, oauth2.ErrInvalidGrant)
}

// RFC 9700 §4.14.2: a reuse revokes the whole family.
func TestReuseRevokesTheFamily(t *testing.T) {
	h := newRT(t, grant.RefreshTokenOptions{})
	rt1 := h.seed()
	r := h.refresh(rt1)
	require.Equal(t, http.StatusOK, r.Status)
	rt2, at2 := r.Str("refresh_token"), r.Str("access_token")

	testkit.RequireOAuthError(t, h.refresh(rt1), http.StatusBadRequest, oauth2.ErrInvalidGrant)
	testkit.RequireOAuthError(t, h.refresh(rt2), http.StatusBadRequest, oauth2.ErrInvalidGrant)
	at, err := h.AccessTokenRecord(at2)
	require.NoError(t, err)
	assert.False(t, at.Active(h.Now()), "the access token of the grant is revoked")
	assert.False(t, at.RevokedAt.IsZero())

	reuse := h.Events(oauth2.EventRefreshTokenReuse)
	require.NotEmpty(t, reuse)
	assert.Equal(t, "app", reuse[0].ClientID)
	assert.NotEmpty(t, h.Events(oauth2.EventGrantRevoked))
}

// RFC 9700 §4.14.2 and the race of ory/hydra#1719: of two (here twenty)
// parallel refreshes with one token exactly one succeeds; the others are
// reuses, which revoke the family (Grantor rotates every refresh token and
// answers the loser of a race invalid_grant), so there are never two valid
// refresh tokens and never a 500.
func TestConcurrentRefreshes(t *testing.T) {
	h := newRT(t, grant.RefreshTokenOptions{})
	rt := h.seed()
	const n = 20
	statuses := make([]*testkit.Response, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = h.refresh(rt)
		}()
	}
	wg.Wait()
	var ok int
	var winner string
	for _, r := range statuses {
		switch r.Status {
		case http.StatusOK:
			ok++
			winner = r.Str("refresh_token")
		default:
			assert.Equal(t, http.StatusBadRequest, r.Status, "%s", r.Body)
			assert.Equal(t, "invalid_grant", r.Str("error"))
		}
	}
	require.Equal(t, 1, ok)
	// The reuse revoked the family, the winner's new token included.
	testkit.RequireOAuthError(t, h.refresh(winner), http.StatusBadRequest, oauth2.ErrInvalidGrant)
}

// Grantor's optional grace period (off by default): inside it a reuse is
// refused without revoking the grant, rather than treated as the replay of
// RFC 9700 §4.14.2.
func TestGracePeriodSparesTheGrant(t *testing.T) {
	h := newRT(t, grant.RefreshTokenOptions{GracePeriod: 10 * time.Second})
	rt1 := h.seed()
	r := h.refresh(rt1)
	require.Equal(t, http.StatusOK, r.Status)
	rt2 := r.Str("refresh_token")

	h.Advance(5 * time.Second)
	testkit.RequireOAuthError(t, h.refresh(rt1), http.StatusBadRequest, oauth2.ErrInvalidGrant)
	require.Equal(t, http.StatusOK, h.refresh(rt2).Status, "the grant survives a reuse within the grace period")
}

// Once the grace period is over, a reuse is the replay of RFC 9700 §4.14.2
// again and revokes the grant.
func TestReuseAfterGracePeriodRevokes(t *testing.T) {
	h := newRT(t, grant.RefreshTokenOptions{GracePeriod: 10 * time.Second})
	rt1 := h.seed()
	r := h.refresh(rt1)
	require.Equal(t, http.StatusOK, r.Status)
	h.Advance(11 * time.Second)
	testkit.RequireOAuthError(t, h.refresh(rt1), http.StatusBadRequest, oauth2.ErrInvalidGrant)
	testkit.RequireOAuthError(t, h.refresh(r.Str("refresh_token")), http.StatusBadRequest, oauth2.ErrInvalidGrant)
}

// OAuth 2.1 §4.3.1, RFC 9700 §4.14.2: the grant is re-checked at refresh.
func TestGrantIsRecheckedAtRefresh(t *testing.T) {
	disabled := map[string]bool{"alice": true}
	h := newRT(t, grant.RefreshTokenOptions{CheckGrant: func(_ context.Context, _ *storage.Client, rec *storage.Token) error {
		if disabled[rec.Subject] {
			return errors.New("user is disabled")
		}
		return nil
	}})
	rt := h.seed()
	testkit.RequireOAuthError(t, h.refresh(rt), http.StatusBadRequest, oauth2.ErrInvalidGrant)
	// The refused refresh did not consume the token.
	delete(disabled, "alice")
	assert.Equal(t, http.StatusOK, h.refresh(rt).Status)

	// A disabled client cannot refresh either.
	rt = h.seed()
	c, err := h.Store.Client(context.Background(), "app")
	require.NoError(t, err)
	off := *c
	off.Disabled = true
	require.NoError(t, h.Store.PutClient(&off))
	testkit.RequireOAuthError(t, h.refresh(rt), http.StatusUnauthorized, oauth2.ErrInvalidClient)
}

// RFC 9700 §4.14.2: absolute and idle expiry.
func TestAbsoluteAndIdleExpiry(t *testing.T) {
	h := newRT(t, grant.RefreshTokenOptions{})
	idle := h.SeedRefreshToken(storage.Token{ClientID: "app", Subject: "alice", ExpiresAt: h.Now().Add(time.Hour)})
	absolute := h.SeedRefreshToken(storage.Token{ClientID: "app", Subject: "alice",
		ExpiresAt: h.Now().Add(48 * time.Hour), GrantExpiresAt: h.Now().Add(2 * time.Hour)})
	h.Advance(time.Hour + time.Second)
	testkit.RequireOAuthError(t, h.refresh(idle), http.StatusBadRequest, oauth2.ErrInvalidGrant)

	// The absolute limit caps the rotated token's lifetime too.
	r := h.refresh(absolute)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	next, err := h.RefreshTokenRecord(r.Str("refresh_token"))
	require.NoError(t, err)
	assert.True(t, next.ExpiresAt.Equal(testkit.Start.Add(2*time.Hour)), "expires %v", next.ExpiresAt)
	h.Advance(time.Hour)
	testkit.RequireOAuthError(t, h.refresh(r.Str("refresh_token")), http.StatusBadRequest, oauth2.ErrInvalidGrant)
}

// RFC 9700 §4.14.2, RFC 6749 §10.4: integrity and type of the refresh
// token.
func TestRefreshTokenIntegrityAndType(t *testing.T) {
	h := newRT(t, grant.RefreshTokenOptions{})
	rt := h.seed()
	flip := []byte(rt)
	flip[len(flip)-3] ^= 1
	cases := map[string]string{
		"one byte flipped":    string(flip),
		"truncated":           rt[:len(rt)-1],
		"extended":            rt + "A",
		"access-token prefix": "gr_at_" + rt[len("gr_rt_"):],
		"random string":       "not-a-token",
	}
	for name, bad := range cases {
		t.Run(name, func(t *testing.T) {
			testkit.RequireOAuthError(t, h.refresh(bad), http.StatusBadRequest, oauth2.ErrInvalidGrant)
		})
	}
	testkit.RequireOAuthError(t, h.refresh(""), http.StatusBadRequest, oauth2.ErrInvalidRequest)

	// An access token presented as a refresh token.
	r := h.refresh(rt)
	require.Equal(t, http.StatusOK, r.Status)
	testkit.RequireOAuthError(t, h.refresh(r.Str("access_token")), http.StatusBadRequest, oauth2.ErrInvalidGrant)
	// The failed attempts did not disturb the real one.
	assert.Equal(t, http.StatusOK, h.refresh(r.Str("refresh_token")).Status)
}

// OAuth 2.1 §3.2.1, RFC 6749 §6: a confidential client must authenticate
// to refresh.
func TestConfidentialClientMustAuthenticateToRefresh(t *testing.T) {
	h := newRT(t, grant.RefreshTokenOptions{})
	rt := h.seed()
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {"app"}}
	testkit.RequireOAuthError(t, h.Do(h.TokenRequest(form)), http.StatusUnauthorized, oauth2.ErrInvalidClient)
}

// A failed write of the new tokens leaves the grant revoked, never a
// consumed token with a live grant and no way forward.
func TestRefreshStoreFailureRevokesTheGrant(t *testing.T) {
	var failing *failingTokens
	h := testkit.New(t, func(cfg *oauth2.Config, store *memory.Store) {
		failing = &failingTokens{RefreshTokenStore: store}
		cfg.Tokens = failing
		cfg.Grants = []oauth2.GrantFactory{grant.RefreshToken(failing, grant.RefreshTokenOptions{})}
	})
	secret := h.AddClient(storage.Client{ID: "app", GrantTypes: []string{"refresh_token"}, Scopes: []string{"read"}})
	rt := h.SeedRefreshToken(storage.Token{ClientID: "app", Subject: "alice", Scopes: []string{"read"}})
	failing.failCreate = true
	r := h.Token("app", secret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}})
	requireUnavailable(t, r)
	rec, err := h.RefreshTokenRecord(rt)
	require.NoError(t, err)
	assert.False(t, rec.RevokedAt.IsZero(), "the grant was revoked")
}

type failingTokens struct {
	storage.RefreshTokenStore
	failCreate bool
}

func (f *failingTokens) CreateTokens(ctx context.Context, tokens ...*storage.Token) error {
	if f.failCreate {
		return errors.New("disk full")
	}
	return f.RefreshTokenStore.CreateTokens(ctx, tokens...)
}

func TestRefreshTokenFactoryValidation(t *testing.T) {
	store := memory.New()
	_, err := oauth2.NewProvider(oauth2.Config{Issuer: "https://as.example", Clients: store, Tokens: store,
		TokenKeys: [][]byte{make([]byte, 32)}, Grants: []oauth2.GrantFactory{grant.RefreshToken(nil, grant.RefreshTokenOptions{})}})
	assert.Error(t, err)
	_, err = oauth2.NewProvider(oauth2.Config{Issuer: "https://as.example", Clients: store, Tokens: store,
		TokenKeys: [][]byte{make([]byte, 32)}, Grants: []oauth2.GrantFactory{grant.RefreshToken(store, grant.RefreshTokenOptions{GracePeriod: -1})}})
	assert.Error(t, err)
}

// RFC 8707 §2.2: a refresh cannot add a resource; it may narrow the
// audience, and the refresh token keeps the grant's.
func TestResourcesOnlyNarrowOnRefresh(t *testing.T) {
	h := newRT(t, grant.RefreshTokenOptions{})
	h.appSecret = h.AddClient(storage.Client{ID: "app", GrantTypes: []string{"refresh_token"}, Scopes: []string{"read"},
		Audience: []string{"https://a.example", "https://b.example"}})
	rt := h.SeedRefreshToken(storage.Token{ClientID: "app", Subject: "alice", Scopes: []string{"read"},
		Audience: []string{"https://a.example", "https://b.example"}})
	testkit.RequireOAuthError(t, h.refresh(rt, "resource", "https://c.example"), http.StatusBadRequest, oauth2.ErrInvalidTarget)

	r := h.refresh(rt, "resource", "https://b.example")
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	at, err := h.AccessTokenRecord(r.Str("access_token"))
	require.NoError(t, err)
	assert.Equal(t, []string{"https://b.example"}, at.Audience)
	next, err := h.RefreshTokenRecord(r.Str("refresh_token"))
	require.NoError(t, err)
	assert.Equal(t, []string{"https://a.example", "https://b.example"}, next.Audience)
}

// A refresh refused after the handler's checks (here by the claims hook)
// consumes nothing: the same token works once the cause is gone.
func TestRefusedRefreshConsumesNothing(t *testing.T) {
	refuse := true
	h := testkit.New(t, func(cfg *oauth2.Config, store *memory.Store) {
		cfg.Grants = []oauth2.GrantFactory{grant.RefreshToken(store, grant.RefreshTokenOptions{})}
		cfg.AccessTokenClaims = func(context.Context, *oauth2.TokenRequest, *token.Claims) error {
			if refuse {
				return oauth2.NewError(oauth2.ErrAccessDenied, "policy says no")
			}
			return nil
		}
	})
	secret := h.AddClient(storage.Client{ID: "app", GrantTypes: []string{"refresh_token"}, Scopes: []string{"read"}})
	rt := h.SeedRefreshToken(storage.Token{ClientID: "app", Subject: "alice", Scopes: []string{"read"}})
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}
	testkit.RequireOAuthError(t, h.Token("app", secret, form), http.StatusBadRequest, oauth2.ErrAccessDenied)
	rec, err := h.RefreshTokenRecord(rt)
	require.NoError(t, err)
	assert.True(t, rec.ConsumedAt.IsZero())
	refuse = false
	assert.Equal(t, http.StatusOK, h.Token("app", secret, form).Status)
	assert.Empty(t, h.Events(oauth2.EventRefreshTokenReuse))
}

// EventTokenIssued of a refresh names the grant and both kinds issued.
func TestRefreshTokenIssuedEvent(t *testing.T) {
	h := newRT(t, grant.RefreshTokenOptions{})
	rt := h.seed()
	old, err := h.RefreshTokenRecord(rt)
	require.NoError(t, err)
	r := h.refresh(rt)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	issued := h.Events(oauth2.EventTokenIssued)
	require.Len(t, issued, 1)
	assert.Equal(t, []storage.TokenKind{storage.AccessToken, storage.RefreshToken}, issued[0].TokenKinds)
	assert.Equal(t, old.GrantID, issued[0].GrantID)
	assert.Equal(t, "app", issued[0].ClientID)
	assert.Equal(t, "alice", issued[0].Subject)
	assert.Equal(t, grant.GrantTypeRefreshToken, issued[0].GrantType)
}

// A client whose registration narrowed since its grant began gets no more
// than it may have now: the scopes it lost are dropped from a refresh, and
// asking for them is invalid_scope; a grant none of whose audience the
// client may still have is invalid_grant.
func TestRefreshFollowsANarrowedRegistration(t *testing.T) {
	h := newRT(t, grant.RefreshTokenOptions{})
	rt := h.seed() // scopes read write, audience https://api.example
	h.appSecret = h.AddClient(storage.Client{ID: "app", GrantTypes: []string{"refresh_token"}, Scopes: []string{"read"},
		Audience: []string{"https://api.example"}})
	testkit.RequireOAuthError(t, h.refresh(rt, "scope", "write"), http.StatusBadRequest, oauth2.ErrInvalidScope)
	r := h.refresh(rt)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	assert.Equal(t, "read", r.Str("scope"))
	next, err := h.RefreshTokenRecord(r.Str("refresh_token"))
	require.NoError(t, err)
	assert.Equal(t, []string{"read", "write"}, next.Scopes, "the grant keeps its scopes should the client get them back")

	h.appSecret = h.AddClient(storage.Client{ID: "app", GrantTypes: []string{"refresh_token"}, Scopes: []string{"read"},
		Audience: []string{"https://other-api.example"}})
	testkit.RequireOAuthError(t, h.refresh(r.Str("refresh_token")), http.StatusBadRequest, oauth2.ErrInvalidGrant)

	// A client that lost every scope of the grant gets no token that a
	// response without scope would pass off as the grant's (RFC 6749 §5.1).
	rt = h.seed()
	h.appSecret = h.AddClient(storage.Client{ID: "app", GrantTypes: []string{"refresh_token"}, Scopes: []string{"other"},
		Audience: []string{"https://api.example"}})
	testkit.RequireOAuthError(t, h.refresh(rt), http.StatusBadRequest, oauth2.ErrInvalidGrant)
}
