package oauth2_test

import (
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
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

// instance is one Provider over a shared store, with token keys opened
// from it, as one process of a cluster (or one life of a restarted one).
type instance struct {
	provider *oauth2.Provider
	server   *httptest.Server
	macs     *token.StoredMACKeys
	signing  *token.StoredSigningKeys
}

// newInstance opens the token keys of store with secret and builds a
// Provider over it with cfg's clients, grants and clock; jwt chooses JWT
// access tokens.
func newInstance(t *testing.T, cfg oauth2.Config, store *memory.Store, secret []byte, jwt bool) *instance {
	t.Helper()
	keyCfg := token.StoredKeysConfig{
		Store: store, Secrets: [][]byte{secret},
		Interval: 24 * time.Hour, PublishAhead: time.Hour, RetireAfter: 31 * 24 * time.Hour,
		Now: cfg.Clock,
	}
	in := &instance{}
	var err error
	in.macs, err = token.OpenStoredMACKeys(t.Context(), keyCfg)
	require.NoError(t, err)
	cfg.TokenKeys, cfg.TokenKeySet = nil, in.macs.MACKeySet()
	if jwt {
		keyCfg.RetireAfter = 2 * time.Hour
		in.signing, err = token.OpenStoredSigningKeys(t.Context(), keyCfg)
		require.NoError(t, err)
		cfg.AccessTokens, err = token.NewJWT(token.JWTConfig{Keys: in.signing, Issuer: cfg.Issuer})
		require.NoError(t, err)
	}
	in.provider, err = oauth2.NewProvider(cfg)
	require.NoError(t, err)
	in.server = httptest.NewServer(in.provider.Handler())
	t.Cleanup(in.server.Close)
	return in
}

// post sends form to the instance's endpoint at path with Basic
// credentials.
func (in *instance) post(t *testing.T, path, id, secret string, form url.Values) *testkit.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, in.server.URL+path, strings.NewReader(form.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	resp, err := in.server.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	out := &testkit.Response{Status: resp.StatusCode, Header: resp.Header, Body: body}
	_ = json.Unmarshal(body, &out.JSON)
	return out
}

func TestInstancesOverOneStoreAreOneServer(t *testing.T) {
	for _, jwt := range []bool{false, true} {
		name := "opaque"
		if jwt {
			name = "jwt"
		}
		t.Run(name, func(t *testing.T) {
			h := testkit.New(t, func(cfg *oauth2.Config, store *memory.Store) {
				cfg.Grants = []oauth2.GrantFactory{
					grant.ClientCredentials(grant.ClientCredentialsOptions{IssueRefreshTokens: true}),
					grant.RefreshToken(store, grant.RefreshTokenOptions{}),
				}
			})
			secret := h.AddClient(storage.Client{ID: "svc", GrantTypes: []string{"client_credentials", "refresh_token"}, Scopes: []string{"read"}})
			sealing := make([]byte, 32)
			_, err := rand.Read(sealing)
			require.NoError(t, err)
			a := newInstance(t, h.Config, h.Store, sealing, jwt)
			b := newInstance(t, h.Config, h.Store, sealing, jwt)

			issued := a.post(t, oauth2.TokenPath, "svc", secret, url.Values{"grant_type": {"client_credentials"}, "scope": {"read"}})
			require.Equal(t, http.StatusOK, issued.Status, "%s", issued.Body)
			at, rt := issued.Str("access_token"), issued.Str("refresh_token")
			require.NotEmpty(t, rt)

			// A's access token is active at B.
			intro := b.post(t, oauth2.IntrospectionPath, "svc", secret, url.Values{"token": {at}})
			require.Equal(t, http.StatusOK, intro.Status)
			assert.Equal(t, true, intro.JSON["active"], "A's access token is active at B")

			// Both publish the same JWK Set.
			if jwt {
				ja, err := a.signing.JWKS()
				require.NoError(t, err)
				jb, err := b.signing.JWKS()
				require.NoError(t, err)
				assert.JSONEq(t, string(ja), string(jb))
			}

			// A refresh at B rotates A's refresh token: A refuses it after
			// (and, reuse detected, revokes the grant).
			refreshed := b.post(t, oauth2.TokenPath, "svc", secret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}})
			require.Equal(t, http.StatusOK, refreshed.Status, "%s", refreshed.Body)
			reused := a.post(t, oauth2.TokenPath, "svc", secret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}})
			assert.Equal(t, http.StatusBadRequest, reused.Status)
			assert.Equal(t, "invalid_grant", reused.Str("error"))

			// A restart: a new instance with the same secret serves the
			// tokens issued before it, and their refresh token refreshes.
			before := b.post(t, oauth2.TokenPath, "svc", secret, url.Values{"grant_type": {"client_credentials"}, "scope": {"read"}})
			require.Equal(t, http.StatusOK, before.Status, "%s", before.Body)
			c := newInstance(t, h.Config, h.Store, sealing, jwt)
			intro = c.post(t, oauth2.IntrospectionPath, "svc", secret, url.Values{"token": {before.Str("access_token")}})
			assert.Equal(t, true, intro.JSON["active"], "an access token from before the restart is active")
			again := c.post(t, oauth2.TokenPath, "svc", secret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {before.Str("refresh_token")}})
			assert.Equal(t, http.StatusOK, again.Status, "a refresh token from before the restart refreshes: %s", again.Body)
		})
	}
}

func TestTokenKeySetConfiguration(t *testing.T) {
	store := memory.New()
	base := oauth2.Config{
		Issuer: "https://as.example", Clients: store, Tokens: store,
		Grants: []oauth2.GrantFactory{grant.ClientCredentials(grant.ClientCredentialsOptions{})},
	}
	set, err := token.NewMACKeySet(make([]byte, 32))
	require.NoError(t, err)

	both := base
	both.TokenKeys, both.TokenKeySet = [][]byte{make([]byte, 32)}, set
	_, err = oauth2.NewProvider(both)
	assert.ErrorContains(t, err, "not both")

	zero := base
	zero.TokenKeySet = &token.MACKeySet{}
	_, err = oauth2.NewProvider(zero)
	assert.Error(t, err, "a MACKeySet not made by its constructors")

	_, err = oauth2.NewProvider(base)
	assert.ErrorContains(t, err, "TokenKeys", "one of them is required")

	withSet := base
	withSet.TokenKeySet = set
	_, err = oauth2.NewProvider(withSet)
	assert.NoError(t, err)
}
