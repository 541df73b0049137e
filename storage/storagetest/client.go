package storagetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/storage"
)

// confidentialClient has every field set.
func confidentialClient() *storage.Client {
	return &storage.Client{
		ID:                                 "client-a",
		Name:                               "Client A",
		SecretHash:                         "$sha256$v=1$c2FsdA$aGFzaA",
		TokenEndpointAuthMethod:            "private_key_jwt",
		TokenEndpointAuthSigningAlg:        "ES256",
		JWKS:                               []byte(`{"keys":[{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}`),
		RedirectURIs:                       []string{"https://a.example/cb", "https://a.example/cb2"},
		GrantTypes:                         []string{"authorization_code", "refresh_token"},
		Scopes:                             []string{"openid", "profile", "offline_access"},
		DefaultScopes:                      []string{"openid"},
		Audience:                           []string{"https://api.example"},
		Resources:                          []string{"https://api.example", "https://billing.example"},
		PKCEOptional:                       true,
		RequirePushedAuthorizationRequests: true,
		DPoPBoundAccessTokens:              true,
		// Lifetimes that no coarser unit than the nanosecond holds.
		AccessTokenLifetime:  5*time.Minute + 7*time.Nanosecond,
		RefreshTokenLifetime: 30*24*time.Hour + time.Microsecond + 3*time.Nanosecond,
		// The OpenID Connect registration (OpenID Connect Dynamic Client
		// Registration 1.0 §2, RP-Initiated Logout 1.0 §3.1, Back-Channel
		// Logout 1.0 §2.2).
		SubjectType:                      "pairwise",
		SectorIdentifierURI:              "https://a.example/sector.json",
		IDTokenSignedResponseAlg:         "RS256",
		UserinfoSignedResponseAlg:        "ES256",
		RequireAuthTime:                  true,
		DefaultMaxAge:                    time.Hour + 7*time.Nanosecond, // kept to the nanosecond, as the lifetimes
		PostLogoutRedirectURIs:           []string{"https://a.example/logged-out", "https://a.example/bye?from=op"},
		BackchannelLogoutURI:             "https://a.example/backchannel-logout",
		BackchannelLogoutSessionRequired: true,
		Disabled:                         true,
	}
}

// publicClient has only what a public client needs.
func publicClient() *storage.Client {
	return &storage.Client{
		ID:           "client-b",
		RedirectURIs: []string{"http://127.0.0.1/cb"},
		GrantTypes:   []string{"authorization_code"},
	}
}

func testClient(t *testing.T, newStore NewClientStore) {
	t.Run("registered client is returned with every field", func(t *testing.T) {
		want := confidentialClient()
		s := newStore(t, want, publicClient())
		got, err := s.Client(t.Context(), want.ID)
		require.NoError(t, err)
		require.NotNil(t, got)
		assert.Equal(t, confidentialClient(), got)
	})

	t.Run("client with only the required fields is returned", func(t *testing.T) {
		want := publicClient()
		s := newStore(t, confidentialClient(), want)
		got, err := s.Client(t.Context(), want.ID)
		require.NoError(t, err)
		require.NotNil(t, got)
		assert.Equal(t, want.ID, got.ID)
		assert.Equal(t, want.RedirectURIs, got.RedirectURIs)
		assert.Equal(t, want.GrantTypes, got.GrantTypes)
		assert.Empty(t, got.Name)
		assert.Empty(t, got.SecretHash)
		assert.Empty(t, got.TokenEndpointAuthMethod)
		assert.Empty(t, got.TokenEndpointAuthSigningAlg)
		assert.Empty(t, got.JWKS)
		assert.Empty(t, got.JWKSURI)
		assert.Empty(t, got.Scopes)
		assert.Empty(t, got.DefaultScopes)
		assert.Empty(t, got.Audience)
		assert.Empty(t, got.Resources)
		assert.False(t, got.PKCEOptional)
		assert.False(t, got.RequirePushedAuthorizationRequests)
		assert.False(t, got.DPoPBoundAccessTokens)
		assert.Zero(t, got.AccessTokenLifetime)
		assert.Zero(t, got.RefreshTokenLifetime)
		assert.Empty(t, got.SubjectType)
		assert.Empty(t, got.SectorIdentifierURI)
		assert.Empty(t, got.IDTokenSignedResponseAlg)
		assert.Empty(t, got.UserinfoSignedResponseAlg)
		assert.False(t, got.RequireAuthTime)
		assert.Zero(t, got.DefaultMaxAge)
		assert.Empty(t, got.PostLogoutRedirectURIs)
		assert.Empty(t, got.BackchannelLogoutURI)
		assert.False(t, got.BackchannelLogoutSessionRequired)
		assert.False(t, got.Disabled)
		assert.True(t, got.IsPublic())
	})

	t.Run("unknown id is ErrNotFound", func(t *testing.T) {
		s := newStore(t, confidentialClient())
		_, err := s.Client(t.Context(), "client-unknown")
		assert.ErrorIs(t, err, storage.ErrNotFound)
	})

	t.Run("empty id is ErrNotFound", func(t *testing.T) {
		s := newStore(t, confidentialClient())
		_, err := s.Client(t.Context(), "")
		assert.ErrorIs(t, err, storage.ErrNotFound)
	})

	t.Run("ids are matched exactly", func(t *testing.T) {
		s := newStore(t, confidentialClient())
		for _, id := range []string{"CLIENT-A", "client-a ", "client-"} {
			_, err := s.Client(t.Context(), id)
			assert.ErrorIs(t, err, storage.ErrNotFound, "id %q", id)
		}
	})

	t.Run("store without clients finds none", func(t *testing.T) {
		s := newStore(t)
		_, err := s.Client(t.Context(), "client-a")
		assert.ErrorIs(t, err, storage.ErrNotFound)
	})
}
