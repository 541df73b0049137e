package main

import (
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDebugAddrIsLoopbackOnly(t *testing.T) {
	for _, tc := range []struct {
		name, addr string
		ok         bool
	}{
		{"IPv4 loopback", "127.0.0.1:6060", true},
		{"another IPv4 loopback address", "127.0.0.2:6060", true},
		{"IPv6 loopback", "[::1]:6060", true},
		{"a free loopback port", "127.0.0.1:0", true},
		{"every interface", ":6060", false},
		{"every IPv4 interface", "0.0.0.0:6060", false},
		{"every IPv6 interface", "[::]:6060", false},
		{"a private address", "10.0.0.1:6060", false},
		{"a name, which may resolve anywhere", "localhost:6060", false},
		{"no port", "127.0.0.1", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseFlags([]string{"-debug-addr", tc.addr}, io.Discard)
			if tc.ok {
				assert.NoError(t, err)
			} else {
				assert.ErrorContains(t, err, "loopback")
			}
		})
	}
}

func TestNoDebugListenerByDefault(t *testing.T) {
	_, out := startServer(t)
	assert.NotContains(t, out.String(), "debug statistics")
}

// debugLine is what the server prints once its debug listener listens.
var debugLine = regexp.MustCompile(`debug statistics on (http://\S+)/debug/vars`)

// debugVars is the part of the debug document the tests read.
type debugVars struct {
	Memstats struct {
		HeapAlloc uint64
		NumGC     uint32
	}
	Goroutines int
}

func TestDebugListenerServesMemoryStatistics(t *testing.T) {
	_, out := startServer(t, "-debug-addr", "127.0.0.1:0")
	m := debugLine.FindStringSubmatch(out.String())
	require.NotNil(t, m, out.String())
	base := m[1]
	c := &http.Client{Timeout: 10 * time.Second}

	resp, err := c.Get(base + "/debug/vars")
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	var before debugVars
	require.NoError(t, json.Unmarshal(body, &before), string(body))
	assert.NotZero(t, before.Memstats.HeapAlloc)
	assert.Positive(t, before.Goroutines)
	// The command line may hold a database password (-store postgres:DSN).
	assert.NotContains(t, string(body), "cmdline")

	resp, err = c.Post(base+"/debug/gc", "", nil)
	require.NoError(t, err)
	body, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	var after debugVars
	require.NoError(t, json.Unmarshal(body, &after), string(body))
	assert.GreaterOrEqual(t, after.Memstats.NumGC, before.Memstats.NumGC+2, "POST /debug/gc collects, twice")

	// A GET must not collect: a link or a prefetch would.
	resp, err = c.Get(base + "/debug/gc")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)

	// Only the statistics: the authorization server is not on this port.
	resp, err = c.Get(base + "/.well-known/oauth-authorization-server")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	assert.False(t, strings.HasPrefix(base, "http://0.0.0.0"))
}
