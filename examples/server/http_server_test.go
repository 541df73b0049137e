package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The server run starts has every timeout set, each bounded, and its
// headers bounded below net/http's 1 MiB default.
func TestHTTPServerTimeoutsAreSetAndBounded(t *testing.T) {
	hs := newHTTPServer(http.NotFoundHandler(), defaultTimeouts)
	for name, d := range map[string]time.Duration{
		"ReadHeaderTimeout": hs.ReadHeaderTimeout, "ReadTimeout": hs.ReadTimeout,
		"WriteTimeout": hs.WriteTimeout, "IdleTimeout": hs.IdleTimeout,
	} {
		assert.Positive(t, d, "%s is set", name)
		assert.LessOrEqual(t, d, 2*time.Minute, "%s is bounded", name)
	}
	assert.LessOrEqual(t, hs.ReadHeaderTimeout, hs.ReadTimeout)
	assert.Greater(t, hs.WriteTimeout, hs.ReadTimeout+maxVerifyWait,
		"a login that used all its read time and waited for a verification slot can still be answered")
	assert.Positive(t, hs.MaxHeaderBytes)
	assert.Less(t, hs.MaxHeaderBytes, http.DefaultMaxHeaderBytes)
}

// A client that trickles its request, or keeps a connection open and says
// nothing, has it closed by the server. The server runs with short
// timeouts; the test only waits for the close, and fails if the
// connection is still open after a deadline far longer than those.
func TestServerClosesSlowAndIdleConnections(t *testing.T) {
	srv, err := newServer(context.Background(), options{issuer: "http://127.0.0.1:1", tokens: "opaque"},
		newMemoryStore(), io.Discard)
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	hs := newHTTPServer(srv.handler, httpTimeouts{
		readHeader: 100 * time.Millisecond, read: 200 * time.Millisecond,
		write: 400 * time.Millisecond, idle: 200 * time.Millisecond,
	})
	go func() { _ = hs.Serve(ln) }()
	t.Cleanup(func() { _ = hs.Close() })

	for name, talk := range map[string]func(t *testing.T, c net.Conn, trickle func(string)){
		"headers trickled": func(t *testing.T, c net.Conn, trickle func(string)) {
			_, err := io.WriteString(c, "POST /login HTTP/1.1\r\nHost: x\r\n")
			require.NoError(t, err)
			trickle("X-Slow: " + strings.Repeat("a", 1000))
		},
		"body trickled": func(t *testing.T, c net.Conn, trickle func(string)) {
			_, err := io.WriteString(c, "POST /login HTTP/1.1\r\nHost: x\r\n"+
				"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\n")
			require.NoError(t, err)
			trickle("username=" + strings.Repeat("a", 991))
		},
		"idle keep-alive": func(t *testing.T, c net.Conn, _ func(string)) {
			_, err := io.WriteString(c, "GET /static/style.css HTTP/1.1\r\nHost: x\r\n\r\n")
			require.NoError(t, err)
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			require.NoError(t, err)
			_, err = io.Copy(io.Discard, resp.Body)
			require.NoError(t, err)
			resp.Body.Close()
			require.Equal(t, http.StatusOK, resp.StatusCode)
			require.False(t, resp.Close, "a keep-alive connection")
		},
	} {
		t.Run(name, func(t *testing.T) {
			c, err := net.Dial("tcp", ln.Addr().String())
			require.NoError(t, err)
			defer c.Close()
			stop := make(chan struct{})
			done := make(chan struct{})
			defer func() { close(stop); <-done }()
			// trickle writes s one byte at a time, in the background,
			// until the connection fails or the test ends.
			started := false
			trickle := func(s string) {
				started = true
				go func() {
					defer close(done)
					tick := time.NewTicker(20 * time.Millisecond)
					defer tick.Stop()
					for i := 0; i < len(s); i++ {
						select {
						case <-stop:
							return
						case <-tick.C:
						}
						if _, err := c.Write([]byte{s[i]}); err != nil {
							return
						}
					}
				}()
			}
			talk(t, c, trickle)
			if !started {
				close(done)
			}

			// Far beyond the server's timeouts: reaching it means the
			// server would have held the connection.
			require.NoError(t, c.SetReadDeadline(time.Now().Add(30*time.Second)))
			_, err = io.Copy(io.Discard, c)
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatal("the server still holds the connection")
			}
			// EOF, or a reset when the server closed with bytes unread:
			// either way, closed by the server.
		})
	}
}
