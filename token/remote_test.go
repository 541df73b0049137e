package token_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/token"
)

// jwksServer serves a KeySet's JWKS (or body, when set) and counts hits.
type jwksServer struct {
	*httptest.Server
	hits   atomic.Int32
	mu     sync.Mutex
	body   []byte
	status int
	delay  time.Duration
}

func newJWKSServer(t *testing.T, doc []byte) *jwksServer {
	t.Helper()
	s := &jwksServer{body: doc, status: http.StatusOK}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		s.mu.Lock()
		body, status, delay := s.body, s.status, s.delay
		s.mu.Unlock()
		time.Sleep(delay)
		w.Header().Set("Content-Type", "application/jwk-set+json")
		w.WriteHeader(status)
		_, _ = w.Write(body)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) set(body []byte, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.body, s.status = body, status
}

func jwksOf(t testing.TB, keys ...jwk.Key) []byte {
	t.Helper()
	set := jwk.NewSet()
	for _, k := range keys {
		require.NoError(t, set.AddKey(mustPublic(t, k)))
	}
	return mustJSON(t, set)
}

func newRemote(t *testing.T, url string, clock func() time.Time) *token.RemoteKeys {
	t.Helper()
	r, err := token.NewRemoteKeys(token.RemoteKeysConfig{URL: url, Clock: clock})
	require.NoError(t, err)
	return r
}

func TestRemoteKeysConfigValidation(t *testing.T) {
	for _, tc := range []struct {
		url string
		ok  bool
	}{
		{"https://as.example/jwks", true},
		{"http://127.0.0.1:8080/jwks", true},
		{"http://[::1]/jwks", true},
		{"http://localhost/jwks", true},
		{"http://as.example/jwks", false}, // FAPI 2.0 §5.4.2: JWKS over TLS only
		{"http://10.0.0.1/jwks", false},   // private is not loopback
		{"https://user:pw@as.example", false},
		{"/jwks", false},
		{"", false},
		{"ftp://as.example/jwks", false},
	} {
		t.Run(tc.url, func(t *testing.T) {
			_, err := token.NewRemoteKeys(token.RemoteKeysConfig{URL: tc.url})
			if tc.ok {
				assert.NoError(t, err)
			} else {
				assert.Error(t, err)
			}
		})
	}
	_, err := token.NewRemoteKeys(token.RemoteKeysConfig{URL: "https://as.example", CacheTTL: -1})
	assert.Error(t, err)
}

func TestRemoteKeysVerifiesAndCaches(t *testing.T) {
	j, _, k := newJWT(t, jwa.ES256)
	srv := newJWKSServer(t, jwksOf(t, k))
	now := time.Unix(1_700_000_000, 0)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); defer mu.Unlock(); now = now.Add(d) }
	rk := newRemote(t, srv.URL, clock)
	v := newVerifier(t, rk, 0, testIAT)
	tok := mint(t, j, testClaims())

	assert.Zero(t, srv.hits.Load(), "nothing fetched before use")
	for range 5 {
		_, err := v.Verify(ctx, tok)
		require.NoError(t, err)
	}
	assert.Equal(t, int32(1), srv.hits.Load(), "the set is cached")

	advance(token.DefaultJWKSCacheTTL - time.Second)
	_, err := v.Verify(ctx, tok)
	require.NoError(t, err)
	assert.Equal(t, int32(1), srv.hits.Load())

	advance(time.Second)
	_, err = v.Verify(ctx, tok)
	require.NoError(t, err)
	assert.Equal(t, int32(2), srv.hits.Load(), "fetched again after CacheTTL")

	got, err := rk.VerificationKey(ctx, k.KeyID())
	require.NoError(t, err)
	assert.False(t, isPrivate(got))
	assert.Equal(t, k.KeyID(), got.KeyID())
}

// TestRemoteKeysRefreshOnUnknownKid: after the authorization server
// rotates, a token with the new kid makes the resource server fetch the
// set again, but no more often than MinRefreshInterval (OpenID Connect Core
// §10.1.1).
func TestRemoteKeysRefreshOnUnknownKid(t *testing.T) {
	k1, k2 := newKey(t, jwa.ES256), newKey(t, jwa.ES256)
	srv := newJWKSServer(t, jwksOf(t, k1))
	now := time.Unix(1_700_000_000, 0)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); defer mu.Unlock(); now = now.Add(d) }
	rk := newRemote(t, srv.URL, clock)

	_, err := rk.VerificationKey(ctx, k1.KeyID())
	require.NoError(t, err)
	require.Equal(t, int32(1), srv.hits.Load())

	t.Run("a flood of random kids within MinRefreshInterval does not fetch", func(t *testing.T) {
		for i := range 100 {
			_, err := rk.VerificationKey(ctx, strings.Repeat("x", i+1))
			assert.ErrorIs(t, err, token.ErrUnknownKey)
		}
		assert.Equal(t, int32(1), srv.hits.Load())
	})

	srv.set(jwksOf(t, k1, k2), http.StatusOK)
	advance(token.DefaultJWKSMinRefresh)
	t.Run("the next unknown kid after MinRefreshInterval fetches once", func(t *testing.T) {
		_, err := rk.VerificationKey(ctx, k2.KeyID())
		require.NoError(t, err)
		assert.Equal(t, int32(2), srv.hits.Load())
		_, err = rk.VerificationKey(ctx, "random")
		assert.ErrorIs(t, err, token.ErrUnknownKey)
		assert.Equal(t, int32(2), srv.hits.Load())
	})

	t.Run("a failed fetch keeps the previous set", func(t *testing.T) {
		srv.set([]byte("oops"), http.StatusInternalServerError)
		advance(token.DefaultJWKSCacheTTL)
		_, err := rk.VerificationKey(ctx, k1.KeyID())
		require.NoError(t, err, "stale keys are better than none")
		assert.Equal(t, int32(3), srv.hits.Load())
		_, err = rk.VerificationKey(ctx, k2.KeyID())
		require.NoError(t, err, "and the failed attempt is rate-limited too")
		assert.Equal(t, int32(3), srv.hits.Load())
	})
}

func TestRemoteKeysOneFetchInFlight(t *testing.T) {
	k := newKey(t, jwa.ES256)
	srv := newJWKSServer(t, jwksOf(t, k))
	srv.delay = 50 * time.Millisecond
	rk := newRemote(t, srv.URL, nil)
	var wg sync.WaitGroup
	for i := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			kid := k.KeyID()
			if i%2 == 1 {
				kid = "unknown"
			}
			_, _ = rk.VerificationKey(ctx, kid)
		}()
	}
	wg.Wait()
	assert.Equal(t, int32(1), srv.hits.Load(), "concurrent callers share one fetch")

	t.Run("a caller's cancelled context returns at once", func(t *testing.T) {
		srv2 := newJWKSServer(t, jwksOf(t, k))
		srv2.delay = 200 * time.Millisecond
		rk := newRemote(t, srv2.URL, nil)
		cctx, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
		defer cancel()
		_, err := rk.VerificationKey(cctx, k.KeyID())
		assert.ErrorIs(t, err, context.DeadlineExceeded)
	})
}

func TestRemoteKeysDocumentRules(t *testing.T) {
	es, ed, rs := cachedKey(t, jwa.ES256), cachedKey(t, jwa.EdDSA), cachedKey(t, jwa.RS256)
	pubJSON := func(k jwk.Key, edit func(m map[string]any)) json.RawMessage {
		var m map[string]any
		require.NoError(t, json.Unmarshal(mustJSON(t, mustPublic(t, k)), &m))
		if edit != nil {
			edit(m)
		}
		return mustJSON(t, m)
	}
	doc := func(keys ...json.RawMessage) []byte { return mustJSON(t, map[string]any{"keys": keys}) }
	noAlg := func(m map[string]any) { delete(m, "alg") }

	tests := []struct {
		name    string
		body    []byte
		kid     string
		wantErr error // nil: the key is found
	}{
		{"public EC key", doc(pubJSON(es, nil)), es.KeyID(), nil},
		{"EC key without alg gets ES256 from its curve", doc(pubJSON(es, noAlg)), es.KeyID(), nil},
		{"Ed25519 key without alg gets EdDSA", doc(pubJSON(ed, noAlg)), ed.KeyID(), nil},
		{"RSA key without alg is ignored (RS256 or PS256?)", doc(pubJSON(rs, noAlg)), rs.KeyID(), token.ErrUnknownKey},
		{"a private key is never trusted (RFC 7518 §6)", doc(mustJSON(t, es)), es.KeyID(), token.ErrUnknownKey},
		{"an encryption key is ignored", doc(pubJSON(es, func(m map[string]any) { m["use"] = "enc" })), es.KeyID(), token.ErrUnknownKey},
		{"an alg off the allow-list is ignored (FAPI 2.0 §5.4.1)", doc(pubJSON(es, func(m map[string]any) { m["alg"] = "HS256" })), es.KeyID(), token.ErrUnknownKey},
		{"a symmetric key is ignored", doc(json.RawMessage(`{"kty":"oct","kid":"s","k":"c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0","alg":"HS256"}`)), "s", token.ErrUnknownKey},
		{"an unknown kty is skipped, the rest kept", doc(json.RawMessage(`{"kty":"XYZ","kid":"x"}`), pubJSON(es, nil)), es.KeyID(), nil},
		{"duplicate kids refuse the document (RFC 7517 §4.5)", doc(pubJSON(es, nil), pubJSON(ed, func(m map[string]any) { m["kid"] = es.KeyID() })), es.KeyID(), token.ErrJWKSUnavailable},
		{"not a JWK Set", []byte(`[]`), es.KeyID(), token.ErrJWKSUnavailable},
		{"no keys member", []byte(`{}`), es.KeyID(), token.ErrJWKSUnavailable},
		{"larger than 256 KiB", append(doc(pubJSON(es, nil))[:0:0], []byte(`{"keys":[],"x":"`+strings.Repeat("a", token.MaxJWKSSize)+`"}`)...), es.KeyID(), token.ErrJWKSUnavailable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := newJWKSServer(t, tc.body)
			k, err := newRemote(t, srv.URL, nil).VerificationKey(ctx, tc.kid)
			if tc.wantErr == nil {
				require.NoError(t, err)
				assert.False(t, isPrivate(k))
				assert.NotEmpty(t, k.Algorithm().String())
			} else {
				assert.ErrorIs(t, err, tc.wantErr)
			}
		})
	}

	t.Run("an HTTP error is unavailable, not an invalid token", func(t *testing.T) {
		srv := newJWKSServer(t, nil)
		srv.set([]byte("no"), http.StatusNotFound)
		v := newVerifier(t, newRemote(t, srv.URL, nil), 0, verifyNow)
		_, err := v.Verify(ctx, craft(t, es, jwa.ES256, header("ES256", es.KeyID()), goodPayload))
		assert.ErrorIs(t, err, token.ErrJWKSUnavailable)
		assert.NotErrorIs(t, err, token.ErrInvalid)
	})
	t.Run("a redirect to plain http is not followed (FAPI 2.0 §5.4.2)", func(t *testing.T) {
		redir := httptest.NewServer(http.RedirectHandler("http://as.example/jwks", http.StatusFound))
		defer redir.Close()
		_, err := newRemote(t, redir.URL, nil).VerificationKey(ctx, es.KeyID())
		assert.ErrorIs(t, err, token.ErrJWKSUnavailable)
	})
}

// TestRemoteKeysMaxStale: while refreshes fail, RemoteKeys keeps the set
// it has for at most MaxStale after the last successful fetch, so a key
// the authorization server has removed (RFC 7517 §5: the set is the keys
// it vouches for now) is not trusted for as long as the outage lasts.
// Then every kid is ErrJWKSUnavailable (an outage, 503 at the API, not an
// invalid token) until a fetch succeeds again.
func TestRemoteKeysMaxStale(t *testing.T) {
	j, _, k := newJWT(t, jwa.ES256)
	srv := newJWKSServer(t, jwksOf(t, k))
	now := time.Unix(1_700_000_000, 0)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); defer mu.Unlock(); now = now.Add(d) }
	rk := newRemote(t, srv.URL, clock)
	v := newVerifier(t, rk, 0, testIAT)
	tok := mint(t, j, testClaims())

	_, err := v.Verify(ctx, tok)
	require.NoError(t, err)
	require.Equal(t, int32(1), srv.hits.Load())
	srv.set([]byte("down"), http.StatusServiceUnavailable)

	t.Run("the default is twelve refresh intervals", func(t *testing.T) {
		assert.Equal(t, 12*token.DefaultJWKSCacheTTL, token.DefaultJWKSMaxStale)
	})

	t.Run("a short outage keeps the set in use", func(t *testing.T) {
		advance(token.DefaultJWKSCacheTTL)
		_, err := v.Verify(ctx, tok)
		require.NoError(t, err)
		assert.Equal(t, int32(2), srv.hits.Load(), "a refresh was tried")
		advance(token.DefaultJWKSMaxStale - token.DefaultJWKSCacheTTL - time.Second)
		_, err = v.Verify(ctx, tok)
		require.NoError(t, err, "one second short of MaxStale")
		assert.Equal(t, int32(3), srv.hits.Load())
	})

	t.Run("after MaxStale without a successful refresh the set is refused", func(t *testing.T) {
		// The last refresh failed a second ago: no fetch now.
		advance(time.Second)
		_, err := v.Verify(ctx, tok)
		assert.ErrorIs(t, err, token.ErrJWKSUnavailable)
		assert.NotErrorIs(t, err, token.ErrInvalid, "an outage, not a bad token")
		_, err = rk.VerificationKey(ctx, k.KeyID())
		assert.ErrorIs(t, err, token.ErrJWKSUnavailable)
		_, err = rk.VerificationKey(ctx, "unknown")
		assert.ErrorIs(t, err, token.ErrJWKSUnavailable, "no set: not an unknown kid either")
		assert.Equal(t, int32(3), srv.hits.Load())

		// A refresh tried and failed again.
		advance(token.DefaultJWKSMinRefresh)
		_, err = v.Verify(ctx, tok)
		assert.ErrorIs(t, err, token.ErrJWKSUnavailable)
		assert.NotErrorIs(t, err, token.ErrInvalid)
		assert.Equal(t, int32(4), srv.hits.Load())
	})

	t.Run("a successful refresh restores service", func(t *testing.T) {
		srv.set(jwksOf(t, k), http.StatusOK)
		advance(token.DefaultJWKSMinRefresh)
		_, err := v.Verify(ctx, tok)
		require.NoError(t, err)
		assert.Equal(t, int32(5), srv.hits.Load())
	})

	t.Run("MaxStale counts from the last successful fetch", func(t *testing.T) {
		srv.set([]byte("down"), http.StatusServiceUnavailable)
		advance(token.DefaultJWKSMaxStale - time.Second)
		_, err := v.Verify(ctx, tok)
		require.NoError(t, err)
		advance(time.Second)
		_, err = rk.VerificationKey(ctx, k.KeyID())
		assert.ErrorIs(t, err, token.ErrJWKSUnavailable)
	})
}

func TestRemoteKeysMaxStaleConfig(t *testing.T) {
	j, _, k := newJWT(t, jwa.ES256)
	srv := newJWKSServer(t, jwksOf(t, k))
	now := time.Unix(1_700_000_000, 0)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); defer mu.Unlock(); now = now.Add(d) }

	t.Run("MaxStale shorter than CacheTTL is refused", func(t *testing.T) {
		_, err := token.NewRemoteKeys(token.RemoteKeysConfig{URL: srv.URL, CacheTTL: time.Hour, MaxStale: time.Minute})
		assert.Error(t, err)
		_, err = token.NewRemoteKeys(token.RemoteKeysConfig{URL: srv.URL, MaxStale: -1})
		assert.Error(t, err)
	})

	t.Run("the default follows CacheTTL", func(t *testing.T) {
		rk, err := token.NewRemoteKeys(token.RemoteKeysConfig{URL: srv.URL, CacheTTL: time.Hour, Clock: clock})
		require.NoError(t, err)
		_, err = rk.VerificationKey(ctx, k.KeyID())
		require.NoError(t, err)
		srv.set([]byte("down"), http.StatusServiceUnavailable)
		advance(12*time.Hour - time.Second)
		_, err = rk.VerificationKey(ctx, k.KeyID())
		require.NoError(t, err)
		advance(time.Second)
		_, err = rk.VerificationKey(ctx, k.KeyID())
		assert.ErrorIs(t, err, token.ErrJWKSUnavailable)
		srv.set(jwksOf(t, k), http.StatusOK)
	})

	t.Run("MaxStale equal to CacheTTL fails closed at the first failed refresh", func(t *testing.T) {
		rk, err := token.NewRemoteKeys(token.RemoteKeysConfig{URL: srv.URL, MaxStale: token.DefaultJWKSCacheTTL, Clock: clock})
		require.NoError(t, err)
		v := newVerifier(t, rk, 0, testIAT)
		tok := mint(t, j, testClaims())
		_, err = v.Verify(ctx, tok)
		require.NoError(t, err)
		srv.set([]byte("down"), http.StatusServiceUnavailable)
		advance(token.DefaultJWKSCacheTTL - time.Second)
		_, err = v.Verify(ctx, tok)
		require.NoError(t, err, "fresh, no refresh due")
		advance(time.Second)
		_, err = v.Verify(ctx, tok)
		assert.ErrorIs(t, err, token.ErrJWKSUnavailable)
	})
}
