package oauth2_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/grant"
	"github.com/grantor-dev/grantor/internal/testkit"
	"github.com/grantor-dev/grantor/oauth2"
	"github.com/grantor-dev/grantor/storage"
	"github.com/grantor-dev/grantor/storage/memory"
)

// flakyReplay is a replay store that can be switched to failing.
type flakyReplay struct {
	storage.ReplayStore
	down bool
}

func (f *flakyReplay) Remember(ctx context.Context, key string, exp time.Time) error {
	if f.down {
		return errors.New("replay store unreachable")
	}
	return f.ReplayStore.Remember(ctx, key, exp)
}

// private_key_jwt through the token endpoint: a client identified by its
// assertion alone gets a token; the same assertion again is refused
// (RFC 7523 §3 item 7); an outage of the replay store is a server error,
// not a bad credential.
func TestPrivateKeyJWTThroughTheTokenEndpoint(t *testing.T) {
	var replay *flakyReplay
	h := testkit.New(t, func(cfg *oauth2.Config, store *memory.Store) {
		replay = &flakyReplay{ReplayStore: store}
		cfg.ClientAuthenticators = []oauth2.ClientAuthenticator{&oauth2.PrivateKeyJWT{Replay: replay}}
		cfg.Grants = []oauth2.GrantFactory{grant.ClientCredentials(grant.ClientCredentialsOptions{})}
	})
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	key, err := jwk.FromRaw(priv)
	require.NoError(t, err)
	require.NoError(t, key.Set(jwk.KeyIDKey, "k1"))
	require.NoError(t, key.Set(jwk.AlgorithmKey, jwa.ES256))
	pub, err := key.PublicKey()
	require.NoError(t, err)
	set := jwk.NewSet()
	require.NoError(t, set.AddKey(pub))
	jwks, err := json.Marshal(set)
	require.NoError(t, err)
	h.AddClient(storage.Client{ID: "robot", TokenEndpointAuthMethod: oauth2.AuthMethodPrivateKeyJWT, JWKS: jwks,
		GrantTypes: []string{"client_credentials"}})

	assertion := func(jti string) string {
		claims, err := json.Marshal(map[string]any{"iss": "robot", "sub": "robot", "aud": h.Provider.Issuer(),
			"jti": jti, "iat": h.Now().Unix(), "exp": h.Now().Add(time.Minute).Unix()})
		require.NoError(t, err)
		signed, err := jws.Sign(claims, jws.WithKey(jwa.ES256, key))
		require.NoError(t, err)
		return string(signed)
	}
	form := func(a string) url.Values {
		return url.Values{"grant_type": {"client_credentials"}, "client_assertion": {a},
			"client_assertion_type": {oauth2.ClientAssertionTypeJWTBearer}}
	}

	first := assertion("jti-1")
	r := h.Do(h.TokenRequest(form(first)))
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	rec, err := h.AccessTokenRecord(r.Str("access_token"))
	require.NoError(t, err)
	assert.Equal(t, "robot", rec.ClientID)

	testkit.RequireOAuthError(t, h.Do(h.TokenRequest(form(first))), http.StatusUnauthorized, oauth2.ErrInvalidClient)

	// draft-ietf-oauth-rfc7523bis §4: the token endpoint URL as audience is
	// refused by default.
	claims, err := json.Marshal(map[string]any{"iss": "robot", "sub": "robot", "aud": h.Provider.TokenEndpoint(),
		"jti": "jti-aud", "exp": h.Now().Add(time.Minute).Unix()})
	require.NoError(t, err)
	signed, err := jws.Sign(claims, jws.WithKey(jwa.ES256, key))
	require.NoError(t, err)
	testkit.RequireOAuthError(t, h.Do(h.TokenRequest(form(string(signed)))), http.StatusUnauthorized, oauth2.ErrInvalidClient)

	replay.down = true
	r = h.Do(h.TokenRequest(form(assertion("jti-2"))))
	testkit.RequireOAuthError(t, r, http.StatusServiceUnavailable, oauth2.ErrTemporarilyUnavailable)
	assert.NotEmpty(t, r.Header.Get("Retry-After"))
	assert.NotContains(t, string(r.Body), "unreachable")
}
