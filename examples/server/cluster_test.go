package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	xoauth2 "golang.org/x/oauth2"
)

// The proofs that servers over one database are one server, and that a
// restart loses nothing: the token keys live in the store, sealed with the
// -secret-file's secret.

// writeE2EClients writes e2eClients to a file and returns its path.
func writeE2EClients(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "clients.json")
	require.NoError(t, os.WriteFile(path, []byte(e2eClients), 0o600))
	return path
}

// freeAddr returns a loopback address that was free a moment ago, for a
// server that must come back on the same address after a restart.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

// webTokens runs the code flow of the confidential client "web" through
// the browser pages of e's server and redeems the code at the server at
// redeemAddr, returning the answer (access and refresh token).
func webTokens(t *testing.T, e *e2e, redeemAddr string) *response {
	t.Helper()
	verifier := xoauth2.GenerateVerifier()
	code := e.authorize(t, e.authCodeURL("web", verifier))
	form := e.redeem(code, "web", verifier)
	form.Del("client_id") // web authenticates with Basic
	return postForm(t, "http://"+redeemAddr+"/token", form, "web", e2eSecret)
}

// active asks the server at addr whether tok is active, as the API's
// client "api" (RFC 7662 §2).
func active(t *testing.T, addr, tok string) bool {
	t.Helper()
	r := postForm(t, "http://"+addr+"/introspect", url.Values{"token": {tok}}, "api", e2eSecret)
	require.Equal(t, http.StatusOK, r.status, "%v", r.body)
	return r.body["active"] == true
}

// Tokens issued before a restart, opaque and JWT, on SQLite and
// PostgreSQL, are active after it, at introspection and at
// examples/resource, and a refresh token from before it refreshes.
func TestTokensSurviveARestart(t *testing.T) {
	bin := buildResource(t)
	clients := writeE2EClients(t)
	for _, storeFlag := range everyStore(t)[1:] {
		for _, format := range []string{"opaque", "jwt"} {
			t.Run(strings.SplitN(storeFlag, ":", 2)[0]+"/"+format, func(t *testing.T) {
				addr := freeAddr(t)
				args := []string{"-addr", addr, "-store", storeFlag, "-tokens", format, "-clients", clients}
				_, out, stop := runServer(t, args...)
				e := &e2e{addr: addr, asOut: out, cb: newCallback(t)}
				svc := accessToken(t, postForm(t, "http://"+addr+"/token", ccForm, "svc", e2eSecret))
				web := webTokens(t, e, addr)
				webAT := accessToken(t, web)
				webRT := web.str("refresh_token")
				require.NotEmpty(t, webRT)
				stop()

				_, _, _ = runServer(t, args...)
				for name, tok := range map[string]string{"client credentials": svc, "code flow": webAT} {
					assert.True(t, active(t, addr, tok), "%s: active at introspection after the restart", name)
				}
				apiArgs := []string{"-issuer", "http://" + addr, "-audience", e2eAudience}
				if format == "opaque" {
					apiArgs = append(apiArgs, "-introspect-client", "api", "-introspect-secret", e2eSecret, "-cache-ttl", "-1s")
				}
				api, _ := startResource(t, bin, apiArgs...)
				e.api = api
				for name, tok := range map[string]string{"client credentials": svc, "code flow": webAT} {
					status, www := e.callAPI(t, "Bearer", tok)
					assert.Equal(t, http.StatusOK, status, "%s: accepted at examples/resource after the restart: %s", name, www)
				}
				refreshed := postForm(t, "http://"+addr+"/token",
					url.Values{"grant_type": {"refresh_token"}, "refresh_token": {webRT}}, "web", e2eSecret)
				accessToken(t, refreshed)
				assert.NotEmpty(t, refreshed.str("refresh_token"), "the refresh token from before the restart refreshes")
			})
		}
	}
}

// instance is one example server of a cluster test, reachable at addr.
type instance struct {
	srv  *server
	addr string
	out  *bytes.Buffer
}

// startInstance serves an example server over its own connection to the
// database of storeFlag, as a process of a cluster behind a load balancer:
// every instance has the cluster's issuer, and reads the token keys again
// every second.
func startInstance(t *testing.T, storeFlag, issuer, tokens, clients string) *instance {
	t.Helper()
	return startInstanceWith(t, storeFlag, options{issuer: issuer, tokens: tokens, clients: clients})
}

// startInstanceWith is startInstance with the options o (its issuer,
// token format, clients and clock), to which it adds the test secret and a
// reload interval of a second.
func startInstanceWith(t *testing.T, storeFlag string, o options) *instance {
	t.Helper()
	spec, err := parseStore(storeFlag)
	require.NoError(t, err)
	st, err := openStore(context.Background(), spec)
	require.NoError(t, err)
	ts := httptest.NewUnstartedServer(nil)
	in := &instance{addr: ts.Listener.Addr().String(), out: &bytes.Buffer{}}
	if o.issuer == "" {
		o.issuer = "http://" + in.addr
	}
	o.secretFile, o.keyReloadInterval = testSecretFile, time.Second
	in.srv, err = newServer(context.Background(), o, st, in.out)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	keysDone := make(chan struct{})
	go func() { defer close(keysDone); in.srv.keys.run(ctx) }()
	ts.Config.Handler = in.srv.handler
	ts.Start()
	t.Cleanup(func() {
		ts.Close()
		cancel()
		<-keysDone
		assert.NoError(t, st.close())
	})
	return in
}

// Two servers over one PostgreSQL database are one server: a token from
// A is active at B; both publish the same JWK Set; a code issued through
// A redeems at B; a refresh at B rotates A's refresh token; a key rotated
// at A is served by B within the reload interval. (Failed client
// authentications spread over both meet one limit:
// TestTwoServersOverOneStoreShareTheThrottles.)
func TestTwoServersOverOneDatabaseAreOneServer(t *testing.T) {
	stores := everyStore(t)
	storeFlag := stores[len(stores)-1]
	if !strings.HasPrefix(storeFlag, "postgres:") {
		storeFlag = stores[1] // GRANTOR_SKIP_POSTGRES=1: SQLite, one file
	}
	clients := writeE2EClients(t)
	for _, format := range []string{"opaque", "jwt"} {
		t.Run(format, func(t *testing.T) {
			a := startInstance(t, storeFlag, "", format, clients)
			b := startInstance(t, storeFlag, "http://"+a.addr, format, clients)

			svc := accessToken(t, postForm(t, "http://"+a.addr+"/token", ccForm, "svc", e2eSecret))
			assert.True(t, active(t, b.addr, svc), "a token from A is active at B")

			if format == "jwt" {
				assert.Equal(t, jwks(t, a.addr), jwks(t, b.addr), "both publish the same JWK Set")
			}

			// A code issued through A's pages redeems at B, and a refresh
			// at B rotates the refresh token: A refuses it after.
			e := &e2e{addr: a.addr, cb: newCallback(t)}
			web := webTokens(t, e, b.addr)
			rt := web.str("refresh_token")
			require.NotEmpty(t, rt, "%v", web.body)
			refresh := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}
			accessToken(t, postForm(t, "http://"+b.addr+"/token", refresh, "web", e2eSecret))
			refused(t, postForm(t, "http://"+a.addr+"/token", refresh, "web", e2eSecret), "invalid_grant",
				"the refresh token B rotated")

			// A key rotated by hand at A: A signs with it at once, and B
			// accepts A's new tokens (a JWT names its key, which B reads
			// at once; an opaque token names none, which B learns within
			// its reload interval) and then signs with it too.
			if format == "jwt" {
				require.NoError(t, a.srv.keys.signing.Rotate(t.Context()))
			} else {
				require.NoError(t, a.srv.keys.macs.Rotate(t.Context()))
			}
			fresh := accessToken(t, postForm(t, "http://"+a.addr+"/token", ccForm, "svc", e2eSecret))
			require.Eventually(t, func() bool { return active(t, b.addr, fresh) }, 3*time.Second, 50*time.Millisecond,
				"A's token under the new key is active at B within the reload interval")
			assert.True(t, active(t, b.addr, svc), "the token under the old key still is")
			if format == "jwt" {
				require.Eventually(t, func() bool { return bytes.Equal(jwks(t, a.addr), jwks(t, b.addr)) },
					3*time.Second, 50*time.Millisecond, "B publishes the new key within the reload interval")
				assert.Equal(t, a.srv.keys.signing.Keys()[0].KeyID, b.srv.keys.signing.Keys()[0].KeyID, "B signs with it")
			} else {
				assert.Equal(t, a.srv.keys.macs.Keys()[0].KeyID, b.srv.keys.macs.Keys()[0].KeyID, "B signs with it")
			}
		})
	}
}

// jwks returns the JWK Set document of the server at addr.
func jwks(t *testing.T, addr string) []byte {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/jwks.json")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var buf bytes.Buffer
	_, err = buf.ReadFrom(resp.Body)
	require.NoError(t, err)
	return buf.Bytes()
}
