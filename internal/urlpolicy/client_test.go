package urlpolicy

import (
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Tests of NewClient, the client for URLs that clients register (RFC 7591
// §2 jwks_uri, OpenID Connect Back-Channel Logout 1.0 §2.2
// backchannel_logout_uri; FAPI 2.0 §5.4.2).

// countingServer counts the requests that reach it.
type countingServer struct {
	*httptest.Server
	hits atomic.Int64
}

func newCountingServer(t *testing.T, tls bool, handler http.HandlerFunc) *countingServer {
	t.Helper()
	s := &countingServer{}
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

func ok(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }

// TestClientRefusesNonPublicAddresses: by default the client connects to
// public addresses only, judged on the address it is about to dial, after
// DNS, so that a URL a client registers cannot reach into the server's
// network (RFC 6890).
func TestClientRefusesNonPublicAddresses(t *testing.T) {
	srv := newCountingServer(t, true, ok)
	_, port, err := net.SplitHostPort(srv.Listener.Addr().String())
	require.NoError(t, err)
	c := NewClient(ClientOptions{Timeout: 2 * time.Second})
	for _, uri := range []string{
		srv.URL + "/",                               // https://127.0.0.1:port
		"https://localhost:" + port + "/",           // a name that resolves to loopback
		"https://[::ffff:127.0.0.1]:" + port + "/",  // IPv4-mapped loopback
		"https://10.0.0.1/",                         // RFC 1918
		"https://169.254.169.254/latest/meta-data/", // cloud metadata
		"https://[fd00:ec2::254]/latest/meta-data/", // AWS IPv6 metadata
		"https://100.64.0.1/",                       // CGNAT
	} {
		t.Run(uri, func(t *testing.T) {
			resp, err := c.Get(uri)
			if resp != nil {
				resp.Body.Close()
			}
			assert.ErrorIs(t, err, ErrNotPublic)
			var ne net.Error
			if errors.As(err, &ne) {
				assert.False(t, ne.Timeout(), "refused at dial time, not by a timeout: %v", err)
			}
		})
	}
	assert.Zero(t, srv.hits.Load(), "no request may reach an internal address")
}

// TestClientAllowPrivateAddresses: the switch for tests and intranets
// lets the client reach loopback, over http too.
func TestClientAllowPrivateAddresses(t *testing.T) {
	srv := newCountingServer(t, false, ok)
	resp, err := NewClient(ClientOptions{AllowPrivateAddresses: true}).Get(srv.URL + "/")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.EqualValues(t, 1, srv.hits.Load())
}

// TestClientRefusesHTTP: a registered URL that is not https is refused
// before any connection, whatever its address.
func TestClientRefusesHTTP(t *testing.T) {
	srv := newCountingServer(t, false, ok)
	c := NewClient(ClientOptions{})
	for _, uri := range []string{srv.URL + "/", "http://93.184.216.34/"} {
		resp, err := c.Get(uri)
		if resp != nil {
			resp.Body.Close()
		}
		assert.ErrorIs(t, err, ErrNotHTTPS, uri)
		assert.NotErrorIs(t, err, ErrNotPublic, "refused before dialing: %s", uri)
	}
	assert.Zero(t, srv.hits.Load())
}

// TestClientRefusesRedirectToHTTP: a redirect from an https URL to an
// http one is not followed, so that an https registration cannot be
// downgraded (and the check cannot be run end to end on loopback, which
// the dial check refuses: the redirect policy is asked directly).
func TestClientRefusesRedirectToHTTP(t *testing.T) {
	c := NewClient(ClientOptions{})
	from, err := http.NewRequest(http.MethodGet, "https://client.example/jwks", nil)
	require.NoError(t, err)
	for _, to := range []string{"http://client.example/jwks", "ftp://client.example/jwks"} {
		req, err := http.NewRequest(http.MethodGet, to, nil)
		require.NoError(t, err)
		assert.ErrorIs(t, c.CheckRedirect(req, []*http.Request{from}), ErrNotHTTPS, to)
	}
	req, err := http.NewRequest(http.MethodGet, "https://keys.client.example/jwks", nil)
	require.NoError(t, err)
	assert.NoError(t, c.CheckRedirect(req, []*http.Request{from}), "an https redirect is followed")

	allowed := NewClient(ClientOptions{AllowPrivateAddresses: true})
	req, err = http.NewRequest(http.MethodGet, "http://client.example/jwks", nil)
	require.NoError(t, err)
	assert.NoError(t, allowed.CheckRedirect(req, []*http.Request{from}), "http is allowed with private addresses")
}

// TestClientRedirectLimit: a chain of redirects is followed up to
// MaxRedirects; a negative MaxRedirects returns the redirect itself.
func TestClientRedirectLimit(t *testing.T) {
	// /n redirects to /n-1 until /0, which answers 200.
	srv := newCountingServer(t, false, func(w http.ResponseWriter, r *http.Request) {
		n, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/"))
		if err != nil || n == 0 {
			w.WriteHeader(http.StatusOK)
			return
		}
		http.Redirect(w, r, "/"+strconv.Itoa(n-1), http.StatusFound)
	})
	get := func(opts ClientOptions, n int) (*http.Response, error) {
		opts.AllowPrivateAddresses = true
		resp, err := NewClient(opts).Get(srv.URL + "/" + strconv.Itoa(n))
		if resp != nil {
			resp.Body.Close()
		}
		return resp, err
	}

	resp, err := get(ClientOptions{}, DefaultMaxRedirects)
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	_, err = get(ClientOptions{}, DefaultMaxRedirects+1)
	assert.ErrorContains(t, err, "too many redirects")

	resp, err = get(ClientOptions{MaxRedirects: 5}, 5)
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.StatusCode)

	resp, err = get(ClientOptions{MaxRedirects: -1}, 1)
	require.NoError(t, err, "the redirect is the response")
	assert.Equal(t, http.StatusFound, resp.StatusCode)
	assert.Equal(t, "/0", resp.Header.Get("Location"))
}

// TestClientTimeout: a server that never answers ends the request at the
// client's timeout, with a timeout error.
func TestClientTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := newCountingServer(t, false, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	t.Cleanup(func() { close(release) }) // runs before srv.Close
	resp, err := NewClient(ClientOptions{AllowPrivateAddresses: true, Timeout: 100 * time.Millisecond}).Get(srv.URL)
	if resp != nil {
		resp.Body.Close()
	}
	var ne net.Error
	require.ErrorAs(t, err, &ne)
	assert.True(t, ne.Timeout(), "%v", err)
}

// TestClientBoundsResponseHeaders: response headers larger than
// MaxResponseHeaderBytes are refused.
func TestClientBoundsResponseHeaders(t *testing.T) {
	srv := newCountingServer(t, false, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Big", strings.Repeat("a", 64<<10))
		w.WriteHeader(http.StatusOK)
	})
	resp, err := NewClient(ClientOptions{AllowPrivateAddresses: true}).Get(srv.URL)
	if resp != nil {
		resp.Body.Close()
	}
	assert.ErrorContains(t, err, "response headers exceeded")

	resp, err = NewClient(ClientOptions{AllowPrivateAddresses: true, MaxResponseHeaderBytes: 128 << 10}).Get(srv.URL)
	require.NoError(t, err, "a larger bound lets them through")
	resp.Body.Close()
}
