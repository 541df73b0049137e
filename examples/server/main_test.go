package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	xoauth2 "golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startServer runs the server as `go run ./examples/server ARGS` would, on
// a free loopback port, and stops it when the test ends.
func startServer(t *testing.T, args ...string) (addr string, out *syncBuffer) {
	t.Helper()
	addr, out, _ = runServer(t, args...)
	return addr, out
}

// testSecretFile seals the token keys of every test's persistent store:
// the tests share one PostgreSQL database, whose keys every test opens.
const testSecretFile = "testdata/secret"

// withTestSecret adds -secret-file testSecretFile to the arguments of a
// server over a persistent store that name none.
func withTestSecret(args []string) []string {
	persistent := false
	for i, a := range args {
		if a == "-secret-file" {
			return args
		}
		if a == "-store" && i+1 < len(args) && args[i+1] != "memory" {
			persistent = true
		}
	}
	if !persistent {
		return args
	}
	return append(append([]string(nil), args...), "-secret-file", testSecretFile)
}

// runServer is startServer that also returns a function to stop the server
// before the test ends; it checks the shutdown was graceful.
func runServer(t *testing.T, args ...string) (addr string, out *syncBuffer, stop func()) {
	t.Helper()
	args = withTestSecret(args)
	ctx, cancel := context.WithCancel(context.Background())
	out = &syncBuffer{}
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- run(ctx, append([]string{"-addr", "127.0.0.1:0"}, args...), out, ready) }()
	select {
	case addr = <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("server did not start: %v\n%s", err, out)
	case <-time.After(10 * time.Second):
		cancel()
		t.Fatal("server did not start in time")
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				assert.NoError(t, err, "graceful shutdown")
				assert.Contains(t, out.String(), "shutting down")
			case <-time.After(10 * time.Second):
				t.Error("server did not shut down")
			}
		})
	}
	t.Cleanup(stop)
	return addr, out, stop
}

var secretLine = regexp.MustCompile(`client_id=(\S+) client_secret=(\S+)`)

func TestDemoClientGetsTokensInBothFormats(t *testing.T) {
	for _, format := range []string{"opaque", "jwt"} {
		t.Run(format, func(t *testing.T) {
			addr, out := startServer(t, "-tokens", format)
			m := secretLine.FindStringSubmatch(out.String())
			require.Len(t, m, 3, "the demo client's credentials are printed:\n%s", out)
			assert.Equal(t, demoClientID, m[1])
			assert.Contains(t, out.String(), "curl -s -u "+m[1]+":"+m[2])

			for _, style := range []xoauth2.AuthStyle{xoauth2.AuthStyleInHeader, xoauth2.AuthStyleInParams} {
				cc := clientcredentials.Config{ClientID: m[1], ClientSecret: m[2], TokenURL: "http://" + addr + "/token",
					Scopes: []string{"read"}, AuthStyle: style}
				if style == xoauth2.AuthStyleInParams {
					// The demo client registered client_secret_basic; the
					// body method is refused.
					_, err := cc.Token(context.Background())
					require.Error(t, err)
					continue
				}
				tok, err := cc.Token(context.Background())
				require.NoError(t, err)
				assert.Equal(t, "Bearer", tok.TokenType)
				if format == "jwt" {
					assert.Equal(t, 2, strings.Count(tok.AccessToken, "."), "a compact JWS")
				} else {
					assert.True(t, strings.HasPrefix(tok.AccessToken, "gr_at_"))
				}
			}

			resp, err := http.Get("http://" + addr + "/.well-known/oauth-authorization-server")
			require.NoError(t, err)
			resp.Body.Close()
			assert.Equal(t, http.StatusOK, resp.StatusCode)
			if format == "jwt" {
				resp, err := http.Get("http://" + addr + "/jwks.json")
				require.NoError(t, err)
				resp.Body.Close()
				assert.Equal(t, http.StatusOK, resp.StatusCode)
			}
		})
	}
}

func TestClientsFileIsLoadedAndSecretsHashed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "clients.json")
	require.NoError(t, os.WriteFile(path, []byte(`[
		{"client_id": "billing", "client_secret": "correct horse battery staple",
		 "token_endpoint_auth_method": "client_secret_post",
		 "grant_types": ["client_credentials"], "scope": "invoices:read invoices:write"},
		{"client_id": "spa", "token_endpoint_auth_method": "none",
		 "grant_types": ["refresh_token"], "redirect_uris": ["https://spa.example/cb"]}
	]`), 0o600))

	var out bytes.Buffer
	srv, err := newServer(context.Background(), options{issuer: "http://127.0.0.1:1", tokens: "opaque", clients: path}, newMemoryStore(), &out)
	require.NoError(t, err)
	assert.NotContains(t, out.String(), "correct horse", "no secret is printed")
	c, err := srv.store.Client(context.Background(), "billing")
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(c.SecretHash, "$argon2id$"), c.SecretHash)
	assert.NotContains(t, c.SecretHash, "correct horse")

	addr, _ := startServer(t, "-clients", path)
	cc := clientcredentials.Config{ClientID: "billing", ClientSecret: "correct horse battery staple",
		TokenURL: "http://" + addr + "/token", Scopes: []string{"invoices:read"}, AuthStyle: xoauth2.AuthStyleInParams}
	tok, err := cc.Token(context.Background())
	require.NoError(t, err)
	assert.NotEmpty(t, tok.AccessToken)
}

func TestBadClientsFileIsAnError(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"not json":             `{`,
		"no id":                `[{"client_secret": "x"}]`,
		"fragment redirect":    `[{"client_id": "a", "token_endpoint_auth_method": "none", "redirect_uris": ["https://a.example/cb#f"]}]`,
		"basic without secret": `[{"client_id": "a"}]`,
	} {
		path := filepath.Join(dir, strings.ReplaceAll(name, " ", "_")+".json")
		require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
		_, err := newServer(context.Background(), options{issuer: "http://127.0.0.1:1", tokens: "opaque", clients: path}, newMemoryStore(), &bytes.Buffer{})
		assert.Error(t, err, name)
	}
	_, err := newServer(context.Background(), options{issuer: "http://127.0.0.1:1", tokens: "opaque", clients: filepath.Join(dir, "missing.json")}, newMemoryStore(), &bytes.Buffer{})
	assert.Error(t, err)
}

func TestFlags(t *testing.T) {
	_, err := parseFlags([]string{"-tokens", "paseto"}, &bytes.Buffer{})
	assert.Error(t, err)
	_, err = parseFlags([]string{"extra"}, &bytes.Buffer{})
	assert.Error(t, err)
	o, err := parseFlags(nil, &bytes.Buffer{})
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1:8080", o.addr)
	assert.Equal(t, "opaque", o.tokens)
	assert.Equal(t, 5*time.Second, o.deviceInterval, "RFC 8628 §3.2: 5 seconds when absent")
	o, err = parseFlags([]string{"-device-interval", "2s"}, &bytes.Buffer{})
	require.NoError(t, err)
	assert.Equal(t, 2*time.Second, o.deviceInterval)
	for _, bad := range []time.Duration{500 * time.Millisecond, 1500 * time.Millisecond, 2 * time.Minute} {
		_, err = newServer(context.Background(), options{issuer: "http://127.0.0.1:1", tokens: "opaque", deviceInterval: bad},
			newMemoryStore(), &bytes.Buffer{})
		assert.Error(t, err, "-device-interval %v: whole seconds from 1 to 60", bad)
	}
	// An issuer that is not https outside loopback is refused.
	_, err = newServer(context.Background(), options{issuer: "http://as.example", tokens: "opaque"}, newMemoryStore(), &bytes.Buffer{})
	assert.Error(t, err)
}

// webSecretLine finds the demo web client's secret in the start-up text.
var webSecretLine = regexp.MustCompile(`client_id=` + demoWebClientID + ` client_secret=(\S+)`)

// demoWebConfig is golang.org/x/oauth2's configuration of the demo web
// client against the server at addr, whose start-up output printed the
// client's secret, with redirectURL as the redirect URI.
func demoWebConfig(t *testing.T, addr, out, redirectURL string) *xoauth2.Config {
	t.Helper()
	m := webSecretLine.FindStringSubmatch(out)
	require.Len(t, m, 2, "the demo web client's credentials are printed:\n%s", out)
	return &xoauth2.Config{
		ClientID: demoWebClientID, ClientSecret: m[1], RedirectURL: redirectURL,
		Scopes: []string{"read", "write"},
		Endpoint: xoauth2.Endpoint{AuthURL: "http://" + addr + "/authorize", TokenURL: "http://" + addr + "/token",
			AuthStyle: xoauth2.AuthStyleInHeader},
	}
}

// JWT mode rotates its signing keys; the rotation is configured so that a
// key outlives every token it signed (RetireAfter beyond the one-hour
// access token lifetime), and a new key is published for longer than the
// instances take to read it before it signs.
func TestJWTModeRotatesKeys(t *testing.T) {
	assert.Greater(t, jwtKeyRetireAfter, time.Hour)
	assert.GreaterOrEqual(t, jwtKeyPublishAhead, 2*keyReloadInterval)
	assert.GreaterOrEqual(t, macKeyPublishAhead, 2*keyReloadInterval)
	assert.Greater(t, macKeyRetireAfter, 30*24*time.Hour, "beyond the refresh tokens' idle lifetime")

	now := time.Now()
	clock := func() time.Time { return now }
	srv, err := newServer(t.Context(), options{issuer: "http://127.0.0.1:1", tokens: "jwt", clock: clock}, newMemoryStore(), &bytes.Buffer{})
	require.NoError(t, err)
	require.NotNil(t, srv.keys.signing)
	first := srv.keys.signing.Keys()
	require.Len(t, first, 1)
	now = now.Add(jwtKeyInterval - jwtKeyPublishAhead)
	require.NoError(t, srv.keys.signing.Tick(t.Context()))
	now = now.Add(jwtKeyPublishAhead)
	require.NoError(t, srv.keys.signing.Tick(t.Context()))
	keys := srv.keys.signing.Keys()
	require.Len(t, keys, 2)
	assert.True(t, keys[0].Signing)
	assert.NotEqual(t, first[0].KeyID, keys[0].KeyID, "a new key signs after a day")

	opaque, err := newServer(t.Context(), options{issuer: "http://127.0.0.1:1", tokens: "opaque"}, newMemoryStore(), &bytes.Buffer{})
	require.NoError(t, err)
	assert.Nil(t, opaque.keys.signing)
	assert.NotNil(t, opaque.keys.macs)
}

// A client that knows only the issuer finds every endpoint through the
// metadata document, and each answers where it is advertised.
func TestDiscoveryFindsEveryEndpoint(t *testing.T) {
	addr, _ := startServer(t, "-tokens", "jwt")
	resp, err := http.Get("http://" + addr + "/.well-known/oauth-authorization-server")
	require.NoError(t, err)
	defer resp.Body.Close()
	var md map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&md))
	assert.Equal(t, "http://"+addr, md["issuer"])
	for _, field := range []string{"authorization_endpoint", "token_endpoint", "pushed_authorization_request_endpoint",
		"revocation_endpoint", "introspection_endpoint", "jwks_uri", "device_authorization_endpoint"} {
		u, _ := md[field].(string)
		require.NotEmpty(t, u, field)
		r, err := http.Get(u)
		require.NoError(t, err, field)
		r.Body.Close()
		assert.NotEqual(t, http.StatusNotFound, r.StatusCode, "%s at %s", field, u)
	}
}
