package resource_test

import (
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/oauth2"
	"github.com/grantor-dev/grantor/resource"
	"github.com/grantor-dev/grantor/token"
)

// TestRemoteKeysFollowKeyRotation: an API validating JWTs with the
// authorization server's jwks_uri (token.RemoteKeys) accepts tokens of a
// key it has not seen yet, by refreshing the JWK Set on the unknown kid,
// and keeps accepting tokens of the old key while it is published.
func TestRemoteKeysFollowKeyRotation(t *testing.T) {
	e := newEnv(t, "jwt")
	jwks := func() int { return e.count(oauth2.JWKSPath) }
	rk, err := token.NewRemoteKeys(token.RemoteKeysConfig{URL: e.Proxy.URL + oauth2.JWKSPath, Clock: e.Now})
	require.NoError(t, err)
	h := api(resource.JWT(e.verifier(rk)))

	old := e.svcToken()
	require.Equal(t, http.StatusOK, call(h, old).status)
	require.Equal(t, http.StatusOK, call(h, old).status)
	assert.Equal(t, 1, jwks(), "the JWK Set is fetched once and cached")

	// The authorization server rotates at once, without publishing the
	// new key ahead: the API learns it from the first token it signs.
	e.Advance(token.DefaultJWKSMinRefresh)
	next, err := token.GenerateSigningKey(jwa.ES256)
	require.NoError(t, err)
	require.NoError(t, e.keys.Add(next))
	require.NoError(t, e.keys.Promote(next.KeyID()))
	fresh := e.svcToken()
	oldHeader, _, _ := strings.Cut(old, ".")
	freshHeader, _, _ := strings.Cut(fresh, ".")
	require.NotEqual(t, oldHeader, freshHeader, "a new kid in the header")

	res := call(h, fresh)
	require.Equal(t, http.StatusOK, res.status, res.www)
	assert.Equal(t, 2, jwks(), "an unknown kid refreshed the JWK Set")
	assert.Equal(t, http.StatusOK, call(h, old).status, "the old key is still published")

	// Tokens with unknown kids cannot make the API hammer the server.
	forged, _ := newEnv(t, "jwt").forgeJWT("at+jwt", nil)
	for range 5 {
		requireInvalid(t, call(h, forged), forged)
	}
	assert.Equal(t, 2, jwks(), "no fetch within MinRefreshInterval")

	// Once the old key is retired, its tokens fail after the next fetch.
	require.NoError(t, e.keys.Remove(e.signer.KeyID()))
	e.Advance(token.DefaultJWKSCacheTTL + time.Second)
	requireInvalid(t, call(h, old), old)
	assert.Equal(t, http.StatusOK, call(h, fresh).status)
}

// TestRemoteKeysOutageIs503: no JWK Set at all is an outage, not an
// invalid token.
func TestRemoteKeysOutageIs503(t *testing.T) {
	e := newEnv(t, "jwt")
	s, _ := stubAS(t, jsonAnswer(500, `{}`))
	rk, err := token.NewRemoteKeys(token.RemoteKeysConfig{URL: s.URL + "/jwks.json", Clock: e.Now})
	require.NoError(t, err)
	res := call(api(resource.JWT(e.verifier(rk))), e.svcToken())
	assert.Equal(t, http.StatusServiceUnavailable, res.status)
}

// TestRemoteKeysStaleIs503: while the authorization server keeps issuing
// tokens but its jwks_uri cannot be reached, the API keeps verifying with
// the JWK Set it has for token.DefaultJWKSMaxStale after the last
// successful fetch, then answers 503 (an outage, RFC 6750 §3.1 has no
// code for it) rather than trust keys the server may have removed; a
// successful fetch restores service.
func TestRemoteKeysStaleIs503(t *testing.T) {
	e := newEnv(t, "jwt")
	var down atomic.Bool
	s, _ := stubAS(t, func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			jsonAnswer(http.StatusBadGateway, `{}`)(w, r)
			return
		}
		resp, err := http.Get(e.Proxy.URL + oauth2.JWKSPath)
		if err != nil {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		w.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
	})
	rk, err := token.NewRemoteKeys(token.RemoteKeysConfig{URL: s.URL + "/jwks.json", Clock: e.Now})
	require.NoError(t, err)
	h := api(resource.JWT(e.verifier(rk)))
	require.Equal(t, http.StatusOK, call(h, e.svcToken()).status)

	down.Store(true)
	e.Advance(token.DefaultJWKSMaxStale - time.Second)
	assert.Equal(t, http.StatusOK, call(h, e.svcToken()).status, "an outage shorter than MaxStale")
	e.Advance(time.Second)
	res := call(h, e.svcToken())
	assert.Equal(t, http.StatusServiceUnavailable, res.status)
	assert.Empty(t, res.www, "not a challenge: the token may be fine")

	down.Store(false)
	e.Advance(token.DefaultJWKSMinRefresh)
	assert.Equal(t, http.StatusOK, call(h, e.svcToken()).status, "a successful fetch restores service")
}
