package main

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/oauth2"
	"github.com/grantor-dev/grantor/storage/memory"
)

// withDPoP switches DPoP on at the authorization server, for algs (the
// default ones when empty).
func withDPoP(algs ...string) func(*oauth2.Config, *memory.Store) {
	return func(cfg *oauth2.Config, store *memory.Store) {
		cfg.DPoP = &oauth2.DPoPConfig{Replay: store, Algorithms: algs}
	}
}

// dpopToken gets an access token of "svc" by the client credentials grant
// with a proof of key (RFC 9449 §5): a DPoP-bound token.
func (a *as) dpopToken(t *testing.T, key *dpopKey) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, a.url+oauth2.TokenPath,
		strings.NewReader(url.Values{"grant_type": {"client_credentials"}, "scope": {"read"}}.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("svc", a.svcSecret)
	req.Header.Set("DPoP", key.proof(t, proofClaims{method: http.MethodPost, htu: a.url + oauth2.TokenPath}))
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var body struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "DPoP", body.TokenType)
	return body.AccessToken
}

// call sends GET path to the API with the token under scheme and the
// proofs, and returns the status and the WWW-Authenticate challenges.
func call(t *testing.T, base, path, scheme, tok string, proofs ...string) (int, []string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, base+path, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", scheme+" "+tok)
	for _, p := range proofs {
		req.Header.Add("DPoP", p)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Values("WWW-Authenticate")
}

// syncBuffer collects log lines from the API's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
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

// When the issuer advertises DPoP, a DPoP-bound token is accepted with a
// proof of its key and refused without one, with another key's, with the
// ath of another token, and as a Bearer token (RFC 9449 §7.1, §7.2),
// whether the API validates JWTs itself or introspects (cnf, RFC 9449
// §6). A bearer token of the same issuer still works. No log line shows a
// proof or the key.
func TestDPoPBoundTokensAtTheAPI(t *testing.T) {
	for _, c := range []struct{ format, validation string }{{"opaque", "introspection"}, {"jwt", "introspection"}, {"jwt", "local"}} {
		t.Run(c.format+"/"+c.validation, func(t *testing.T) {
			a := startAS(t, c.format, withDPoP())
			o, err := parseFlags([]string{"-issuer", a.url}, io.Discard)
			require.NoError(t, err)
			if c.validation == "introspection" {
				o.clientID, o.clientSecret, o.cacheTTL = "api", a.apiSecret, -1
			}
			logs := &syncBuffer{}
			srv, h := serveAPI(t, o, slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
			assert.Contains(t, h.dpop, "ES256, EdDSA, RS256, PS256", "the issuer's algorithms")
			assert.Contains(t, h.dpop, srv.URL, "the public URL")

			key, thief := newDPoPKey(t, jwa.ES256), newDPoPKey(t, jwa.EdDSA)
			tok, other := a.dpopToken(t, key), a.dpopToken(t, key)
			hello := func(k *dpopKey, tok string) string {
				return k.proof(t, proofClaims{method: http.MethodGet, htu: srv.URL + "/hello", ath: ath(tok)})
			}
			var sent []string
			for _, p := range []string{hello(key, tok), hello(key, tok)} {
				sent = append(sent, p)
				status, www := call(t, srv.URL, "/hello", "DPoP", tok, p)
				assert.Equal(t, http.StatusOK, status, "a proof of the token's key: %v", www)
			}
			for name, proofs := range map[string][]string{
				"without a proof":                 nil,
				"with a proof by another key":     {hello(thief, tok)},
				"with the ath of another token":   {hello(key, other)},
				"with a proof without ath":        {key.proof(t, proofClaims{method: http.MethodGet, htu: srv.URL + "/hello"})},
				"with a proof for another path":   {key.proof(t, proofClaims{method: http.MethodGet, htu: srv.URL + "/admin", ath: ath(tok)})},
				"with a proof used once already":  {sent[0]},
				"with a proof for another method": {key.proof(t, proofClaims{method: http.MethodPost, htu: srv.URL + "/hello", ath: ath(tok)})},
			} {
				sent = append(sent, proofs...)
				status, www := call(t, srv.URL, "/hello", "DPoP", tok, proofs...)
				assert.Equal(t, http.StatusUnauthorized, status, name)
				assert.Contains(t, strings.Join(www, "\n"), `DPoP algs="ES256 EdDSA RS256 PS256", error="invalid_dpop_proof"`, name)
			}
			p := hello(key, tok)
			sent = append(sent, p)
			status, www := call(t, srv.URL, "/hello", "Bearer", tok, p)
			assert.Equal(t, http.StatusUnauthorized, status, "RFC 9449 §7.2: no downgrade to Bearer")
			assert.Contains(t, strings.Join(www, "\n"), `error="invalid_token"`)

			bearer := a.token(t, "read")
			status, _ = call(t, srv.URL, "/hello", "Bearer", bearer)
			assert.Equal(t, http.StatusOK, status, "bearer tokens keep working")
			status, www = call(t, srv.URL, "/hello", "DPoP", bearer, hello(key, bearer))
			assert.Equal(t, http.StatusUnauthorized, status, "a bearer token is not bound to the proof's key")
			assert.Contains(t, strings.Join(www, "\n"), "not bound to a DPoP key")

			for _, secret := range append(append(sent, key.material...), thief.material...) {
				assert.NotContains(t, logs.String(), secret, "the API logs no proof and no key")
			}
		})
	}
}

// A proof's htu is compared with -public-url, never with the Host header a
// client chooses (RFC 9449 §4.3 step 9): behind a proxy, the API checks
// proofs for its public address.
func TestDPoPProofsNameThePublicURL(t *testing.T) {
	a := startAS(t, "jwt", withDPoP())
	o, err := parseFlags([]string{"-issuer", a.url, "-public-url", "https://api.example/v1"}, io.Discard)
	require.NoError(t, err)
	h, err := newAPI(t.Context(), o, http.DefaultClient, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	key := newDPoPKey(t, jwa.EdDSA)
	tok := a.dpopToken(t, key)

	status, www := call(t, srv.URL, "/hello", "DPoP", tok,
		key.proof(t, proofClaims{method: http.MethodGet, htu: "https://api.example/v1/hello", ath: ath(tok)}))
	assert.Equal(t, http.StatusOK, status, "%v", www)
	status, _ = call(t, srv.URL, "/hello", "DPoP", tok,
		key.proof(t, proofClaims{method: http.MethodGet, htu: srv.URL + "/hello", ath: ath(tok)}))
	assert.Equal(t, http.StatusUnauthorized, status, "a proof for the address the request reached")

	req, err := http.NewRequest(http.MethodGet, srv.URL+"/hello", nil)
	require.NoError(t, err)
	req.Host = "evil.example"
	req.Header.Set("Authorization", "DPoP "+tok)
	req.Header.Set("DPoP", key.proof(t, proofClaims{method: http.MethodGet, htu: "http://evil.example/hello", ath: ath(tok)}))
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "a proof for the Host header the client chose")
}

// The API accepts the algorithms the issuer advertises, and says so in its
// challenges (RFC 9449 §7.1).
func TestDPoPAlgorithmsAreTheIssuers(t *testing.T) {
	a := startAS(t, "jwt", withDPoP("EdDSA"))
	o, err := parseFlags([]string{"-issuer", a.url}, io.Discard)
	require.NoError(t, err)
	srv, h := serveAPI(t, o, slog.New(slog.DiscardHandler))
	assert.Contains(t, h.dpop, "(EdDSA)")
	key := newDPoPKey(t, jwa.EdDSA)
	tok := a.dpopToken(t, key)
	status, _ := call(t, srv.URL, "/hello", "DPoP", tok, key.proof(t, proofClaims{method: http.MethodGet, htu: srv.URL + "/hello", ath: ath(tok)}))
	assert.Equal(t, http.StatusOK, status)
	status, www := call(t, srv.URL, "/hello", "DPoP", tok)
	assert.Equal(t, http.StatusUnauthorized, status)
	assert.Contains(t, strings.Join(www, "\n"), `DPoP algs="EdDSA", error="invalid_dpop_proof"`)
}

// Without dpop_signing_alg_values_supported in the issuer's metadata the
// API takes Bearer tokens only, and its challenges name no DPoP scheme.
func TestDPoPOffWhenTheIssuerDoesNotAdvertiseIt(t *testing.T) {
	a := startAS(t, "jwt")
	o, err := parseFlags([]string{"-issuer", a.url}, io.Discard)
	require.NoError(t, err)
	srv, h := serveAPI(t, o, slog.New(slog.DiscardHandler))
	assert.Contains(t, h.dpop, "off")
	tok := a.token(t, "read")
	key := newDPoPKey(t, jwa.ES256)
	status, www := call(t, srv.URL, "/hello", "DPoP", tok, key.proof(t, proofClaims{method: http.MethodGet, htu: srv.URL + "/hello", ath: ath(tok)}))
	assert.Equal(t, http.StatusUnauthorized, status)
	assert.Equal(t, []string{`Bearer realm="example"`}, www)
	status, _ = call(t, srv.URL, "/hello", "Bearer", tok)
	assert.Equal(t, http.StatusOK, status)
}

func TestPublicURLFlag(t *testing.T) {
	for _, bad := range []string{"api.example", "ftp://api.example", "https://api.example/?q=1", "https://api.example/#f", "https://u:p@api.example", "https://"} {
		_, err := parseFlags([]string{"-public-url", bad}, io.Discard)
		assert.Error(t, err, bad)
	}
	o, err := parseFlags([]string{"-public-url", "https://api.example/v1"}, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, "https://api.example/v1", o.publicURL)
	o, err = parseFlags(nil, io.Discard)
	require.NoError(t, err)
	assert.Empty(t, o.publicURL, "run sets it to http://ADDR once it listens")
}
