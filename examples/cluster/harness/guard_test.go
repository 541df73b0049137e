package harness

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCheckLoopbackURL(t *testing.T) {
	for _, tc := range []struct {
		name, url string
		ok        bool
	}{
		{"127.0.0.1 with a port", "http://127.0.0.1:8080/token", true},
		{"another loopback address", "http://127.0.0.2:8080/token", false},
		{"IPv6 loopback", "http://[::1]:8080/token", false},
		{"a name that resolves to loopback", "http://localhost:8080/token", false},
		{"a private address", "http://10.0.0.1:8080/token", false},
		{"a public name", "http://auth.example.com:8080/token", false},
		{"no port", "http://127.0.0.1/token", false},
		{"https", "https://127.0.0.1:8443/token", false},
		{"credentials in the URL", "http://user:pass@127.0.0.1:8080/token", false},
		{"not a URL", "http://127.0.0.1:8080/%zz", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckLoopbackURL(tc.url)
			if tc.ok {
				assert.NoError(t, err)
			} else {
				assert.Error(t, err)
			}
		})
	}
}

func TestTransportConnectsTo127001Only(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") }))
	t.Cleanup(srv.Close)
	c := &http.Client{Transport: newTransport(1)}

	resp, err := c.Get(srv.URL)
	require.NoError(t, err, "127.0.0.1 is reachable")
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)

	// Refused before a packet is sent, so this test needs no network: the
	// dialer checks the address it is about to connect to.
	for _, addr := range []string{"10.255.255.1:80", "192.0.2.1:443", "127.0.0.2:80", "[::1]:80"} {
		req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, "http://"+addr+"/", nil)
		require.NoError(t, err)
		_, err = c.Do(req)
		assert.ErrorContains(t, err, "127.0.0.1 only", addr)
	}
}

func TestCheckLocalDSN(t *testing.T) {
	for _, tc := range []struct {
		name, dsn string
		ok        bool
	}{
		{"a Unix socket, as with-postgres.sh gives", "postgres:///grantor?host=/tmp/grantor-pg.x&user=postgres", true},
		{"a Unix socket in keyword form", "host=/tmp/pg dbname=grantor", true},
		{"127.0.0.1", "postgres://grantor@127.0.0.1:5432/grantor", true},
		{"::1", "postgres://grantor@[::1]:5432/grantor", true},
		{"a remote host", "postgres://grantor:secret@db.example.com/grantor", false},
		{"a remote fallback host", "postgres://grantor@127.0.0.1,db.example.com/grantor", false},
		{"a name, which may resolve anywhere", "postgres://grantor@localhost/grantor", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckLocalDSN(tc.dsn)
			if tc.ok {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.NotContains(t, err.Error(), "secret", "the DSN's password stays out of errors")
		})
	}
}
