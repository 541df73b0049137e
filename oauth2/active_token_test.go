package oauth2_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/grant"
	"github.com/grantor-dev/grantor/internal/testkit"
	"github.com/grantor-dev/grantor/oauth2"
	"github.com/grantor-dev/grantor/storage"
	"github.com/grantor-dev/grantor/storage/memory"
)

// activeHarness issues client credentials tokens, with refresh tokens, to
// client "svc".
func activeHarness(t *testing.T) (*testkit.Harness, string) {
	h := testkit.New(t, func(cfg *oauth2.Config, store *memory.Store) {
		cfg.Grants = []oauth2.GrantFactory{
			grant.ClientCredentials(grant.ClientCredentialsOptions{IssueRefreshTokens: true}),
			grant.RefreshToken(store, grant.RefreshTokenOptions{}),
		}
	})
	secret := h.AddClient(storage.Client{ID: "svc", GrantTypes: []string{"client_credentials", "refresh_token"}, Scopes: []string{"read"}})
	return h, secret
}

// ActiveToken recognises the server's tokens by their format and record
// (RFC 7662 §2.2's notion of active), whatever kind a caller asks for.
func TestActiveToken(t *testing.T) {
	issue := func(t *testing.T, h *testkit.Harness, secret string) (access, refresh string) {
		r := h.Token("svc", secret, url.Values{"grant_type": {"client_credentials"}})
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		return r.Str("access_token"), r.Str("refresh_token")
	}
	t.Run("an active access or refresh token, of the kind asked for", func(t *testing.T) {
		h, secret := activeHarness(t)
		access, refresh := issue(t, h, secret)
		ctx := t.Context()
		rec, err := h.Provider.ActiveToken(ctx, access, 0)
		require.NoError(t, err)
		assert.Equal(t, storage.AccessToken, rec.Kind)
		assert.Equal(t, "svc", rec.ClientID)
		rec, err = h.Provider.ActiveToken(ctx, refresh, storage.RefreshToken)
		require.NoError(t, err)
		assert.Equal(t, storage.RefreshToken, rec.Kind)

		_, err = h.Provider.ActiveToken(ctx, refresh, storage.AccessToken)
		assert.ErrorIs(t, err, oauth2.ErrInactiveToken, "a refresh token is no access token, whatever the caller says")
		assert.NotErrorIs(t, err, oauth2.ErrUnknownToken, "it is ours")
		_, err = h.Provider.ActiveToken(ctx, access, storage.RefreshToken)
		assert.ErrorIs(t, err, oauth2.ErrInactiveToken)
	})
	t.Run("a token that is not ours", func(t *testing.T) {
		h, secret := activeHarness(t)
		access, _ := issue(t, h, secret)
		for _, tok := range []string{"", "nonsense", access[:len(access)-2] + "xx", string(make([]byte, oauth2.MaxTokenParameterBytes+1))} {
			_, err := h.Provider.ActiveToken(t.Context(), tok, 0)
			assert.ErrorIs(t, err, oauth2.ErrUnknownToken)
			assert.ErrorIs(t, err, oauth2.ErrInactiveToken)
		}
	})
	t.Run("revoked, expired, rotated, or its client disabled or gone", func(t *testing.T) {
		h, secret := activeHarness(t)
		ctx := t.Context()
		access, refresh := issue(t, h, secret)
		require.Equal(t, http.StatusOK, h.Revoke("svc", secret, access).Status)
		_, err := h.Provider.ActiveToken(ctx, access, 0)
		assert.ErrorIs(t, err, oauth2.ErrInactiveToken, "revoked")
		assert.NotErrorIs(t, err, oauth2.ErrUnknownToken)

		r := h.Token("svc", secret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}})
		require.Equal(t, http.StatusOK, r.Status)
		_, err = h.Provider.ActiveToken(ctx, refresh, 0)
		assert.ErrorIs(t, err, oauth2.ErrInactiveToken, "rotated")
		_, err = h.Provider.ActiveToken(ctx, r.Str("refresh_token"), 0)
		require.NoError(t, err, "its successor")

		access, _ = issue(t, h, secret)
		h.Advance(time.Hour)
		_, err = h.Provider.ActiveToken(ctx, access, 0)
		assert.ErrorIs(t, err, oauth2.ErrInactiveToken, "expired")

		access, _ = issue(t, h, secret)
		c, err := h.Store.Client(ctx, "svc")
		require.NoError(t, err)
		c.Disabled = true
		require.NoError(t, h.Store.PutClient(c))
		_, err = h.Provider.ActiveToken(ctx, access, 0)
		assert.ErrorIs(t, err, oauth2.ErrInactiveToken, "its client is disabled")
	})
	t.Run("issued in the future (a clock behind the issuer's)", func(t *testing.T) {
		h, _ := activeHarness(t)
		refresh := h.SeedRefreshToken(storage.Token{ClientID: "svc", Subject: "client:svc", IssuedAt: h.Now().Add(time.Minute)})
		_, err := h.Provider.ActiveToken(t.Context(), refresh, 0)
		assert.ErrorIs(t, err, oauth2.ErrInactiveToken)
	})
}
