package main

import (
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	xoauth2 "golang.org/x/oauth2"
)

// e2eAudience is the API's identifier in the end-to-end tests: the
// audience of every client's tokens, and the resource of the API's client.
const e2eAudience = "https://api.example"

// e2eSecret is the secret of every confidential client of e2eClients.
const e2eSecret = "correct horse battery staple"

// e2eClients is a clients file with a client credentials client "svc", a
// confidential web application "web", a public client "spa" (a single-page
// or native application: its refresh tokens are what DPoP protects, RFC
// 9449 §5) and the API's own client "api", which may introspect their
// tokens.
const e2eClients = `[
	{"client_id": "svc", "client_secret": "` + e2eSecret + `", "grant_types": ["client_credentials"],
	 "scope": "read write", "audience": ["` + e2eAudience + `"]},
	{"client_id": "web", "client_secret": "` + e2eSecret + `", "redirect_uris": ["http://127.0.0.1/callback"],
	 "grant_types": ["authorization_code", "refresh_token"], "scope": "read write", "audience": ["` + e2eAudience + `"]},
	{"client_id": "spa", "token_endpoint_auth_method": "none", "redirect_uris": ["http://127.0.0.1/callback"],
	 "grant_types": ["authorization_code", "refresh_token"], "scope": "read", "audience": ["` + e2eAudience + `"]},
	{"client_id": "api", "client_secret": "` + e2eSecret + `", "resources": ["` + e2eAudience + `"]}
]`

// buildResource builds examples/resource into a directory of the test and
// returns the binary's path. The API is a command of its own, run as a user
// runs it.
func buildResource(t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go") // go test puts its own toolchain first in PATH
	require.NoError(t, err)
	bin := filepath.Join(t.TempDir(), "resource")
	cmd := exec.Command(goBin, "build", "-o", bin, ".")
	cmd.Dir = filepath.Join("..", "resource")
	outb, err := cmd.CombinedOutput()
	require.NoError(t, err, "go build ./examples/resource:\n%s", outb)
	return bin
}

// apiLine is the line examples/resource prints once it listens.
var apiLine = regexp.MustCompile(`(?m)^API on (http://\S+) `)

// startResource runs the examples/resource binary with args on a free
// loopback port until the test ends, and returns its URL and its output.
func startResource(t *testing.T, bin string, args ...string) (string, *syncBuffer) {
	t.Helper()
	out := &syncBuffer{}
	cmd := exec.Command(bin, append([]string{"-addr", "127.0.0.1:0"}, args...)...)
	cmd.Stdout, cmd.Stderr = out, out
	require.NoError(t, cmd.Start())
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case err := <-done:
			assert.NoError(t, err, "the API shuts down gracefully:\n%s", out)
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			t.Error("the API did not shut down")
		}
	})
	deadline := time.After(15 * time.Second)
	for {
		if m := apiLine.FindStringSubmatch(out.String()); m != nil {
			return m[1], out
		}
		select {
		case err := <-done:
			t.Fatalf("the API exited: %v\n%s", err, out)
		case <-deadline:
			t.Fatalf("the API did not start:\n%s", out)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// e2e is examples/server with -dpop and examples/resource in front of it.
type e2e struct {
	addr, api     string
	asOut, apiOut *syncBuffer
	cb            *callback
}

// tokenURL is the server's token endpoint.
func (e *e2e) tokenURL() string { return "http://" + e.addr + "/token" }

// token posts a token request with a proof of key (none when key is nil)
// for the token endpoint, as user when user is not empty, and returns the
// answer.
func (e *e2e) token(t *testing.T, form url.Values, user string, key *dpopKey) *response {
	t.Helper()
	var proofs []string
	if key != nil {
		proofs = append(proofs, key.proof(t, proofClaims{method: http.MethodPost, htu: e.tokenURL()}))
	}
	pass := ""
	if user != "" {
		pass = e2eSecret
	}
	return postForm(t, e.tokenURL(), form, user, pass, proofs...)
}

// requireBound checks that r issued an access token bound to a DPoP key
// (RFC 9449 §5) and returns it.
func requireBound(t *testing.T, r *response) string {
	t.Helper()
	require.Equal(t, http.StatusOK, r.status, "%v", r.body)
	require.Equal(t, "DPoP", r.str("token_type"))
	require.NotEmpty(t, r.str("access_token"))
	return r.str("access_token")
}

// authorize sends a browser through the authorization request of
// authURL, logs in as alice, consents, and returns the code the
// callback receives.
func (e *e2e) authorize(t *testing.T, authURL string) string {
	t.Helper()
	b := newTestBrowser(t, e.addr)
	r := b.get(authURL)
	require.Equal(t, http.StatusSeeOther, r.status, r.body)
	loc := r.location()
	require.True(t, strings.HasPrefix(loc, "/login?interaction="), loc)
	f := &flow{b: b, interaction: strings.TrimPrefix(loc, "/login?interaction=")}
	f.login = b.get(loc)
	r = f.decide(t, f.consent(t), "approve")
	require.Equal(t, http.StatusSeeOther, r.status, r.body)
	require.Equal(t, http.StatusOK, b.get(r.location()).status)
	q := <-e.cb.queries
	require.NotEmpty(t, q.Get("code"), "%v", q)
	return q.Get("code")
}

// authCodeURL is the authorization request of client for the callback,
// with verifier's S256 challenge and extra parameters.
func (e *e2e) authCodeURL(client, verifier string, extra ...xoauth2.AuthCodeOption) string {
	cfg := xoauth2.Config{ClientID: client, RedirectURL: e.cb.URL, Scopes: []string{"read"},
		Endpoint: xoauth2.Endpoint{AuthURL: "http://" + e.addr + "/authorize"}}
	return cfg.AuthCodeURL("st", append(extra, xoauth2.S256ChallengeOption(verifier))...)
}

// redeem is the token request that redeems code for client.
func (e *e2e) redeem(code, client, verifier string) url.Values {
	return url.Values{"grant_type": {"authorization_code"}, "code": {code}, "client_id": {client},
		"redirect_uri": {e.cb.URL}, "code_verifier": {verifier}}
}

// callAPI calls the API's /hello with the token under scheme and the
// proofs, and returns the status and the challenges.
func (e *e2e) callAPI(t *testing.T, scheme, tok string, proofs ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, e.api+"/hello", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", scheme+" "+tok)
	for _, p := range proofs {
		req.Header.Add("DPoP", p)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	return resp.StatusCode, strings.Join(resp.Header.Values("WWW-Authenticate"), "\n")
}

// checkAtTheAPI checks that tok, bound to key, is accepted at the API with
// a proof of key, and refused without a proof, with a proof by thief, with
// a proof whose ath is another token's, and as a Bearer token (RFC 9449
// §7).
func (e *e2e) checkAtTheAPI(t *testing.T, tok string, key, thief *dpopKey) {
	t.Helper()
	hello := func(k *dpopKey, athOf string) string {
		return k.proof(t, proofClaims{method: http.MethodGet, htu: e.api + "/hello", ath: ath(athOf)})
	}
	status, www := e.callAPI(t, "DPoP", tok, hello(key, tok))
	assert.Equal(t, http.StatusOK, status, "with a proof of its key: %s", www)
	for name, proofs := range map[string][]string{
		"without a proof":             nil,
		"with a proof by another key": {hello(thief, tok)},
		"with a wrong ath":            {hello(key, tok+"x")},
	} {
		status, www := e.callAPI(t, "DPoP", tok, proofs...)
		assert.Equal(t, http.StatusUnauthorized, status, name)
		assert.Contains(t, www, `error="invalid_dpop_proof"`, name)
	}
	status, www = e.callAPI(t, "Bearer", tok, hello(key, tok))
	assert.Equal(t, http.StatusUnauthorized, status, "as a Bearer token (RFC 9449 §7.2)")
	assert.Contains(t, www, `error="invalid_token"`)
}

// checkLogs checks that neither command logged a proof or a key.
func (e *e2e) checkLogs(t *testing.T, keys ...*dpopKey) {
	t.Helper()
	logs := e.asOut.String() + e.apiOut.String()
	require.Contains(t, logs, "DPoP:", "both outputs were captured")
	for _, k := range keys {
		for _, secret := range append(append([]string{}, k.sent...), k.material...) {
			if !assert.NotContains(t, logs, secret, "no log line holds a proof or a key") {
				return
			}
		}
		for _, p := range k.sent {
			header, _, _ := strings.Cut(p, ".")
			assert.NotContains(t, logs, header, "no log line holds a proof's header, which holds the key")
		}
	}
}

// The tokens of every grant examples/server -dpop issues with a proof are
// bound to the proof's key, and worthless at examples/resource without it
// (RFC 9449): client credentials; the code flow with dpop_jkt (§10) and
// through PAR with a proof (§10.1), where the code is redeemed only with a
// proof of that key; and the refresh of a public client, whose refresh
// token is bound to its key (§5). ES256 and EdDSA keys, opaque tokens
// (introspected, cnf §6.2) and JWTs (validated locally, cnf.jkt §6.1).
// Neither command logs a proof or a key.
func TestDPoPEndToEnd(t *testing.T) {
	bin := buildResource(t)
	clients := filepath.Join(t.TempDir(), "clients.json")
	require.NoError(t, os.WriteFile(clients, []byte(e2eClients), 0o600))
	for _, format := range []string{"opaque", "jwt"} {
		t.Run(format, func(t *testing.T) {
			addr, asOut := startServer(t, "-dpop", "-tokens", format, "-clients", clients)
			args := []string{"-issuer", "http://" + addr, "-audience", e2eAudience}
			if format == "opaque" {
				args = append(args, "-introspect-client", "api", "-introspect-secret", e2eSecret, "-cache-ttl", "-1s")
			}
			api, apiOut := startResource(t, bin, args...)
			require.Contains(t, apiOut.String(), "DPoP-bound tokens accepted")
			e := &e2e{addr: addr, api: api, asOut: asOut, apiOut: apiOut, cb: newCallback(t)}
			es, ed := newDPoPKey(t, jwa.ES256), newDPoPKey(t, jwa.EdDSA)

			t.Run("client credentials", func(t *testing.T) {
				for _, c := range []struct{ key, thief *dpopKey }{{es, ed}, {ed, es}} {
					tok := requireBound(t, e.token(t, ccForm, "svc", c.key))
					e.checkAtTheAPI(t, tok, c.key, c.thief)
				}
				bearer := e.token(t, ccForm, "svc", nil)
				require.Equal(t, http.StatusOK, bearer.status)
				assert.Equal(t, "Bearer", bearer.str("token_type"))
				status, _ := e.callAPI(t, "Bearer", bearer.str("access_token"))
				assert.Equal(t, http.StatusOK, status, "a token requested without a proof stays a bearer token")
			})

			t.Run("code flow with dpop_jkt", func(t *testing.T) {
				verifier := xoauth2.GenerateVerifier()
				code := e.authorize(t, e.authCodeURL("spa", verifier, xoauth2.SetAuthURLParam("dpop_jkt", ed.jkt)))
				r := e.token(t, e.redeem(code, "spa", verifier), "", nil)
				assert.Equal(t, "invalid_grant", r.str("error"), "RFC 9449 §10: the code needs a proof")
				r = e.token(t, e.redeem(code, "spa", verifier), "", es)
				assert.Equal(t, "invalid_grant", r.str("error"), "RFC 9449 §10: by the key dpop_jkt names")
				r = e.token(t, e.redeem(code, "spa", verifier), "", ed)
				tok := requireBound(t, r)
				e.checkAtTheAPI(t, tok, ed, es)

				t.Run("refresh of a public client", func(t *testing.T) {
					rt := r.str("refresh_token")
					require.NotEmpty(t, rt)
					refresh := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {"spa"}}
					r := e.token(t, refresh, "", es)
					assert.Equal(t, "invalid_grant", r.str("error"), "RFC 9449 §5: another key")
					r = e.token(t, refresh, "", nil)
					assert.Equal(t, "invalid_grant", r.str("error"), "RFC 9449 §5: no proof")
					r = e.token(t, refresh, "", ed)
					tok := requireBound(t, r)
					e.checkAtTheAPI(t, tok, ed, es)
					next := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {r.str("refresh_token")}, "client_id": {"spa"}}
					r = e.token(t, next, "", es)
					assert.Equal(t, "invalid_grant", r.str("error"), "the rotated refresh token is bound to the key too")
					requireBound(t, e.token(t, next, "", ed))
				})
			})

			t.Run("code flow through PAR", func(t *testing.T) {
				verifier := xoauth2.GenerateVerifier()
				par := postForm(t, "http://"+addr+"/par", url.Values{"response_type": {"code"}, "client_id": {"web"},
					"redirect_uri": {e.cb.URL}, "scope": {"read"}, "state": {"st"},
					"code_challenge": {xoauth2.S256ChallengeFromVerifier(verifier)}, "code_challenge_method": {"S256"}},
					"web", e2eSecret, es.proof(t, proofClaims{method: http.MethodPost, htu: "http://" + addr + "/par"}))
				require.Equal(t, http.StatusCreated, par.status, "%v", par.body)
				code := e.authorize(t, "http://"+addr+"/authorize?"+url.Values{"client_id": {"web"}, "request_uri": {par.str("request_uri")}}.Encode())
				r := e.token(t, e.redeem(code, "web", verifier), "web", ed)
				assert.Equal(t, "invalid_grant", r.str("error"), "RFC 9449 §10.1: by the key of the proof at PAR")
				tok := requireBound(t, e.token(t, e.redeem(code, "web", verifier), "web", es))
				e.checkAtTheAPI(t, tok, es, ed)
			})

			e.checkLogs(t, es, ed)
		})
	}
}

// With -dpop-nonce the first token request gets use_dpop_nonce and a
// DPoP-Nonce (RFC 9449 §8), the retry with that nonce a bound token, which
// examples/resource accepts with a proof of its key.
func TestDPoPNonceEndToEnd(t *testing.T) {
	bin := buildResource(t)
	addr, asOut := startServer(t, "-dpop-nonce", "-tokens", "jwt")
	cc := secretLine.FindStringSubmatch(asOut.String())
	require.Len(t, cc, 3)
	api, apiOut := startResource(t, bin, "-issuer", "http://"+addr)
	e := &e2e{addr: addr, api: api, asOut: asOut, apiOut: apiOut}
	key, thief := newDPoPKey(t, jwa.EdDSA), newDPoPKey(t, jwa.ES256)

	r := postForm(t, e.tokenURL(), ccForm, cc[1], cc[2], ccProof(t, key, addr, ""))
	assert.Equal(t, http.StatusBadRequest, r.status)
	assert.Equal(t, "use_dpop_nonce", r.str("error"))
	nonce := r.header.Get("DPoP-Nonce")
	require.NotEmpty(t, nonce)
	tok := requireBound(t, postForm(t, e.tokenURL(), ccForm, cc[1], cc[2], ccProof(t, key, addr, nonce)))
	e.checkAtTheAPI(t, tok, key, thief)
	e.checkLogs(t, key, thief)
}
