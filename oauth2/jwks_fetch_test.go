package oauth2

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Tests of JWKSFetcher (RFC 7591 §2 jwks_uri; FAPI 2.0 §5.4.2).
// They are internal so that the address filter can be checked on
// addresses a test cannot dial.

// fetchTestServer counts requests and serves what handler writes.
type fetchTestServer struct {
	*httptest.Server
	hits atomic.Int64
}

func newFetchTestServer(t *testing.T, tls bool, handler http.HandlerFunc) *fetchTestServer {
	t.Helper()
	s := &fetchTestServer{}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		handler(w, r)
	})
	if tls {
		s.Server = httptest.NewTLSServer(h)
	} else {
		s.Server = httptest.NewServer(h)
	}
	t.Cleanup(s.Close)
	return s
}

func fetchTestJWKS(t *testing.T, withPrivate bool) []byte {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	set := jwk.NewSet()
	pub, err := jwk.FromRaw(&priv.PublicKey)
	require.NoError(t, err)
	require.NoError(t, pub.Set(jwk.KeyIDKey, "pub"))
	require.NoError(t, set.AddKey(pub))
	if withPrivate {
		pk, err := jwk.FromRaw(priv)
		require.NoError(t, err)
		require.NoError(t, pk.Set(jwk.KeyIDKey, "priv"))
		require.NoError(t, set.AddKey(pk))
		oct, err := jwk.FromRaw([]byte("0123456789abcdef0123456789abcdef"))
		require.NoError(t, err)
		require.NoError(t, oct.Set(jwk.KeyIDKey, "oct"))
		require.NoError(t, set.AddKey(oct))
	}
	b, err := json.Marshal(set)
	require.NoError(t, err)
	return b
}

// TestJWKSFetcherDialCheck: the default client's dial check refuses the
// addresses urlpolicy.IsPublicAddr refuses, judged after DNS resolution
// (its table test holds the address rules).
func TestJWKSFetcherDialCheck(t *testing.T) {
	for _, s := range []string{"127.0.0.1", "::1", "10.0.0.1", "169.254.169.254", "::ffff:127.0.0.1", "64:ff9b::a9fe:a9fe"} {
		assert.Error(t, refuseNonPublicAddress("tcp", netip.AddrPortFrom(netip.MustParseAddr(s), 443).String(), nil), s)
	}
	for _, s := range []string{"8.8.8.8", "2606:4700:4700::1111"} {
		assert.NoError(t, refuseNonPublicAddress("tcp", netip.AddrPortFrom(netip.MustParseAddr(s), 443).String(), nil), s)
	}
	assert.Error(t, refuseNonPublicAddress("tcp", "example.com:443", nil), "only resolved addresses are dialled")
}

func TestDefaultRefusesInternalAddressesWithoutARequest(t *testing.T) {
	srv := newFetchTestServer(t, true, func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write(fetchTestJWKS(t, false))
	})
	_, port, err := net.SplitHostPort(srv.Listener.Addr().String())
	require.NoError(t, err)
	f := &JWKSFetcher{Timeout: 2 * time.Second}
	for _, uri := range []string{
		srv.URL + "/jwks",                              // https://127.0.0.1:port
		"https://localhost:" + port + "/jwks",          // a name that resolves to loopback
		"https://[::ffff:127.0.0.1]:" + port + "/x",    // mapped loopback
		"https://[::7f00:1]:" + port + "/x",            // IPv4-compatible loopback
		"https://[64:ff9b::7f00:1%251]:" + port + "/x", // NAT64 loopback behind a zone
		"https://169.254.169.254/latest/meta-data/",    // cloud metadata
		"https://[fd00:ec2::254]/latest/meta-data/",    // AWS IPv6 metadata
		"https://10.0.0.1/jwks",
		"https://100.64.0.1/jwks",
		"https://0.0.0.0:" + port + "/jwks",
		"http://" + srv.Listener.Addr().String() + "/jwks", // http is refused before any dial
		"ftp://client.example/jwks",
		"https://user:pass@client.example/jwks",
		"https:///jwks",
		"://bad",
	} {
		t.Run(uri, func(t *testing.T) {
			set, err := f.KeySet(context.Background(), uri, false)
			assert.ErrorIs(t, err, ErrJWKSFetch)
			assert.Nil(t, set)
			assert.NotContains(t, err.Error(), "Timeout", "refused at dial time, not by a timeout")
			if strings.HasPrefix(uri, "https://") && !strings.Contains(uri, "@") && !strings.HasPrefix(uri, "https:///") {
				assert.ErrorContains(t, err, "not a public address", "refused by the dial check")
			}
		})
	}
	assert.Zero(t, srv.hits.Load(), "no request may reach an internal address")

	t.Run("the same server is reachable when private addresses are allowed", func(t *testing.T) {
		allow := &JWKSFetcher{AllowPrivateAddresses: true, HTTPClient: srv.Client()}
		set, err := allow.KeySet(context.Background(), srv.URL+"/jwks", false)
		require.NoError(t, err)
		assert.Equal(t, 1, set.Len())
	})
}

func TestBodyIsCapped(t *testing.T) {
	const fifty = 50 << 20
	chunk := []byte(`{"keys":[` + strings.Repeat(" ", 32<<10))
	for name, declareLength := range map[string]bool{"chunked": false, "with Content-Length": true} {
		t.Run(name, func(t *testing.T) {
			var written atomic.Int64
			srv := newFetchTestServer(t, false, func(w http.ResponseWriter, r *http.Request) {
				if declareLength {
					w.Header().Set("Content-Length", strconv.Itoa(fifty))
				}
				for written.Load() < fifty {
					n, err := w.Write(chunk)
					written.Add(int64(n))
					if err != nil {
						return
					}
				}
			})
			f := &JWKSFetcher{AllowPrivateAddresses: true}
			_, err := f.KeySet(context.Background(), srv.URL, false)
			assert.ErrorIs(t, err, ErrJWKSFetch)
			assert.Contains(t, err.Error(), "larger than 65536 bytes")
			srv.CloseClientConnections()
			assert.Less(t, written.Load(), int64(fifty), "the body is not read to the end")
		})
	}
	t.Run("MaxBytes is configurable", func(t *testing.T) {
		body := fetchTestJWKS(t, false)
		srv := newFetchTestServer(t, false, func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(body) })
		_, err := (&JWKSFetcher{AllowPrivateAddresses: true, MaxBytes: int64(len(body) - 1)}).KeySet(context.Background(), srv.URL, false)
		assert.ErrorIs(t, err, ErrJWKSFetch)
		_, err = (&JWKSFetcher{AllowPrivateAddresses: true, MaxBytes: int64(len(body))}).KeySet(context.Background(), srv.URL, false)
		assert.NoError(t, err)
	})
}

func TestSlowServerTimesOut(t *testing.T) {
	for name, handler := range map[string]http.HandlerFunc{
		"no headers": func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
		},
		"slow body": func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusOK)
			for i := 0; i < 100; i++ {
				_, _ = w.Write([]byte(" "))
				w.(http.Flusher).Flush()
				select {
				case <-r.Context().Done():
					return
				case <-time.After(100 * time.Millisecond):
				}
			}
		},
	} {
		t.Run(name, func(t *testing.T) {
			srv := newFetchTestServer(t, false, handler)
			f := &JWKSFetcher{AllowPrivateAddresses: true, Timeout: 200 * time.Millisecond}
			_, err := f.KeySet(context.Background(), srv.URL, false)
			assert.ErrorIs(t, err, ErrJWKSFetch)
			// The fetch ended by its own timeout, not because the slow
			// server finished (which takes 10 s and would be a parse
			// error at worst).
			var ne net.Error
			require.ErrorAs(t, err, &ne)
			assert.True(t, ne.Timeout(), "%v", err)
			srv.CloseClientConnections()
		})
	}
}

// fetchClock is a settable clock.
type fetchClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fetchClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fetchClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func TestCacheAndRefetchRateLimit(t *testing.T) {
	body := fetchTestJWKS(t, false)
	srv := newFetchTestServer(t, false, func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(body) })
	clock := &fetchClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	f := &JWKSFetcher{AllowPrivateAddresses: true, Now: clock.Now}
	ctx := context.Background()

	first, err := f.KeySet(ctx, srv.URL, false)
	require.NoError(t, err)
	for range 100 {
		set, err := f.KeySet(ctx, srv.URL, false)
		require.NoError(t, err)
		assert.Same(t, first, set)
	}
	assert.EqualValues(t, 1, srv.hits.Load(), "cached")

	// A flood of forced refreshes (unknown kids) within the interval.
	for range 100 {
		_, err := f.KeySet(ctx, srv.URL, true)
		require.NoError(t, err)
	}
	assert.EqualValues(t, 1, srv.hits.Load(), "forced refreshes are rate-limited")

	clock.Advance(DefaultJWKSMinRefetchInterval)
	for range 100 {
		_, err := f.KeySet(ctx, srv.URL, true)
		require.NoError(t, err)
	}
	assert.EqualValues(t, 2, srv.hits.Load(), "one refetch per interval")

	clock.Advance(DefaultJWKSCacheTTL)
	_, err = f.KeySet(ctx, srv.URL, false)
	require.NoError(t, err)
	assert.EqualValues(t, 3, srv.hits.Load(), "refetched after the TTL")

	t.Run("concurrent requests for one URI share one fetch", func(t *testing.T) {
		f := &JWKSFetcher{AllowPrivateAddresses: true}
		slow := newFetchTestServer(t, false, func(w http.ResponseWriter, r *http.Request) {
			time.Sleep(50 * time.Millisecond)
			_, _ = w.Write(body)
		})
		var wg sync.WaitGroup
		for range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := f.KeySet(ctx, slow.URL, true)
				assert.NoError(t, err)
			}()
		}
		wg.Wait()
		assert.EqualValues(t, 1, slow.hits.Load())
	})
	t.Run("a failing server is not retried within the interval", func(t *testing.T) {
		failing := newFetchTestServer(t, false, func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "down", http.StatusInternalServerError)
		})
		f := &JWKSFetcher{AllowPrivateAddresses: true, Now: clock.Now}
		for range 50 {
			_, err := f.KeySet(ctx, failing.URL, false)
			assert.ErrorIs(t, err, ErrJWKSFetch)
		}
		assert.EqualValues(t, 1, failing.hits.Load())
		clock.Advance(DefaultJWKSMinRefetchInterval)
		_, _ = f.KeySet(ctx, failing.URL, false)
		assert.EqualValues(t, 2, failing.hits.Load())
	})
	t.Run("a failed forced refresh keeps the fresh cached set", func(t *testing.T) {
		var fail atomic.Bool
		flaky := newFetchTestServer(t, false, func(w http.ResponseWriter, r *http.Request) {
			if fail.Load() {
				http.Error(w, "down", http.StatusBadGateway)
				return
			}
			_, _ = w.Write(body)
		})
		f := &JWKSFetcher{AllowPrivateAddresses: true, Now: clock.Now}
		set, err := f.KeySet(ctx, flaky.URL, false)
		require.NoError(t, err)
		fail.Store(true)
		clock.Advance(DefaultJWKSMinRefetchInterval)
		again, err := f.KeySet(ctx, flaky.URL, true)
		require.NoError(t, err)
		assert.Same(t, set, again)
		clock.Advance(DefaultJWKSCacheTTL)
		_, err = f.KeySet(ctx, flaky.URL, false)
		assert.ErrorIs(t, err, ErrJWKSFetch, "a stale set is not used after a failed fetch")
	})
	t.Run("a cancelled caller does not poison the cache", func(t *testing.T) {
		f := &JWKSFetcher{AllowPrivateAddresses: true, Now: clock.Now}
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		_, err := f.KeySet(cctx, srv.URL, false)
		assert.Error(t, err)
		_, err = f.KeySet(ctx, srv.URL, false)
		assert.NoError(t, err)
	})
}

func TestOnlyPublicSignatureKeysAreKept(t *testing.T) {
	body := fetchTestJWKS(t, true)
	srv := newFetchTestServer(t, false, func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(body) })
	set, err := (&JWKSFetcher{AllowPrivateAddresses: true}).KeySet(context.Background(), srv.URL, false)
	require.NoError(t, err)
	require.Equal(t, 1, set.Len())
	k, _ := set.Key(0)
	assert.Equal(t, "pub", k.KeyID())
}

func TestBadResponses(t *testing.T) {
	for name, handler := range map[string]http.HandlerFunc{
		"404":            func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) },
		"not JSON":       func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("<html>")) },
		"keys not array": func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(`{"keys":1}`)) },
		"redirect loop": func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, r.URL.Path+"x", http.StatusFound)
		},
	} {
		t.Run(name, func(t *testing.T) {
			srv := newFetchTestServer(t, false, handler)
			_, err := (&JWKSFetcher{AllowPrivateAddresses: true}).KeySet(context.Background(), srv.URL+"/", false)
			assert.ErrorIs(t, err, ErrJWKSFetch)
			assert.LessOrEqual(t, srv.hits.Load(), int64(3))
		})
	}
	t.Run("an empty set is not an error", func(t *testing.T) {
		srv := newFetchTestServer(t, false, func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(`{"keys":[]}`)) })
		set, err := (&JWKSFetcher{AllowPrivateAddresses: true}).KeySet(context.Background(), srv.URL, false)
		require.NoError(t, err)
		assert.Zero(t, set.Len())
	})
}

func TestJWKSFetcher_Validate(t *testing.T) {
	assert.NoError(t, (&JWKSFetcher{}).Validate())
	for _, f := range []*JWKSFetcher{{Timeout: -1}, {MaxBytes: -1}, {CacheTTL: -1}, {MinRefetchInterval: -1}} {
		assert.Error(t, f.Validate())
	}
}

func TestJWKSFetcher_CacheIsBounded(t *testing.T) {
	clock := &fetchClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	f := &JWKSFetcher{Now: clock.Now}
	for i := range maxJWKSCacheEntries {
		f.entry("https://c" + strconv.Itoa(i) + ".example/jwks")
	}
	clock.Advance(time.Hour)
	f.entry("https://new.example/jwks")
	f.mu.Lock()
	defer f.mu.Unlock()
	assert.Len(t, f.cache, 1)
}
