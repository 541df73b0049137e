package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// response is an answer of the authorization server, as the DPoP tests
// look at it.
type response struct {
	status int
	header http.Header
	body   map[string]any
}

// str returns the string member name of the JSON body.
func (r *response) str(name string) string {
	s, _ := r.body[name].(string)
	return s
}

// postForm posts form to target, with Basic authentication when user is
// not empty and a DPoP header for each proof.
func postForm(t *testing.T, target string, form url.Values, user, pass string, proofs ...string) *response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, target, strings.NewReader(form.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if user != "" {
		req.SetBasicAuth(url.QueryEscape(user), url.QueryEscape(pass))
	}
	for _, p := range proofs {
		req.Header.Add("DPoP", p)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	r := &response{status: resp.StatusCode, header: resp.Header}
	_ = json.NewDecoder(resp.Body).Decode(&r.body)
	return r
}

// ccProof is a proof of key for the token endpoint of the server at addr.
func ccProof(t *testing.T, key *dpopKey, addr, nonce string) string {
	t.Helper()
	return key.proof(t, proofClaims{method: http.MethodPost, htu: "http://" + addr + "/token", nonce: nonce})
}

// ccForm is a client credentials request for the scope read.
var ccForm = url.Values{"grant_type": {"client_credentials"}, "scope": {"read"}}

func TestDPoPFlags(t *testing.T) {
	o, err := parseFlags(nil, &bytes.Buffer{})
	require.NoError(t, err)
	assert.False(t, o.dpop, "DPoP is off by default")
	o, err = parseFlags([]string{"-dpop"}, &bytes.Buffer{})
	require.NoError(t, err)
	assert.True(t, o.dpop)
	assert.False(t, o.dpopNonce)
	o, err = parseFlags([]string{"-dpop-nonce"}, &bytes.Buffer{})
	require.NoError(t, err)
	assert.True(t, o.dpop, "-dpop-nonce implies -dpop")
	assert.True(t, o.dpopNonce)

	var help bytes.Buffer
	_, err = parseFlags([]string{"-help"}, &help)
	require.True(t, errors.Is(err, flag.ErrHelp))
	assert.Contains(t, help.String(), "-dpop-nonce")
	assert.Contains(t, help.String(), "random per process", "the help says the nonce key is not shared")
}

// The banner says whether DPoP is on, and the metadata advertises the
// proof algorithms only when it is (RFC 9449 §5.1).
func TestDPoPBannerAndMetadata(t *testing.T) {
	for _, c := range []struct {
		args   []string
		banner string
		algs   any
	}{
		{nil, "  DPoP:           off", nil},
		{[]string{"-dpop"}, "  DPoP:           on (RFC 9449)", []any{"ES256", "EdDSA", "RS256", "PS256"}},
		{[]string{"-dpop-nonce"}, "  DPoP:           on (RFC 9449), with server nonces at the token endpoint", []any{"ES256", "EdDSA", "RS256", "PS256"}},
	} {
		t.Run(strings.Join(append([]string{"flags"}, c.args...), " "), func(t *testing.T) {
			addr, out := startServer(t, c.args...)
			assert.Contains(t, out.String(), c.banner)
			resp, err := http.Get("http://" + addr + "/.well-known/oauth-authorization-server")
			require.NoError(t, err)
			defer resp.Body.Close()
			var md map[string]any
			require.NoError(t, json.NewDecoder(resp.Body).Decode(&md))
			assert.Equal(t, c.algs, md["dpop_signing_alg_values_supported"])
		})
	}
}

// Without -dpop, a proof is ignored (RFC 9449 §5: the token is a bearer
// token); with it, the token is bound to the proof's key.
func TestDPoPFlagBindsTokens(t *testing.T) {
	key := newDPoPKey(t, jwa.ES256)
	for _, c := range []struct {
		args      []string
		tokenType string
	}{{nil, "Bearer"}, {[]string{"-dpop"}, "DPoP"}} {
		addr, out := startServer(t, c.args...)
		cc := secretLine.FindStringSubmatch(out.String())
		require.Len(t, cc, 3)
		r := postForm(t, "http://"+addr+"/token", ccForm, cc[1], cc[2], ccProof(t, key, addr, ""))
		require.Equal(t, http.StatusOK, r.status, "%v", r.body)
		assert.Equal(t, c.tokenType, r.str("token_type"), "%v", c.args)
	}
}

// A client of the clients file with "dpop_bound_access_tokens": true
// (RFC 9449 §5.2) gets no token without a proof; without -dpop it gets
// none at all, rather than a bearer token it did not ask for.
func TestClientsFileDPoPBoundAccessTokens(t *testing.T) {
	path := filepath.Join(t.TempDir(), "clients.json")
	require.NoError(t, os.WriteFile(path, []byte(`[
		{"client_id": "bound", "client_secret": "`+billingSecret+`", "dpop_bound_access_tokens": true,
		 "grant_types": ["client_credentials"], "scope": "read"},
		{"client_id": "free", "client_secret": "`+billingSecret+`",
		 "grant_types": ["client_credentials"], "scope": "read"}
	]`), 0o600))
	key := newDPoPKey(t, jwa.EdDSA)

	addr, _ := startServer(t, "-dpop", "-clients", path)
	r := postForm(t, "http://"+addr+"/token", ccForm, "bound", billingSecret)
	assert.Equal(t, http.StatusBadRequest, r.status)
	assert.Equal(t, "invalid_dpop_proof", r.str("error"), "RFC 9449 §5.2: a proof is required")
	r = postForm(t, "http://"+addr+"/token", ccForm, "bound", billingSecret, ccProof(t, key, addr, ""))
	require.Equal(t, http.StatusOK, r.status, "%v", r.body)
	assert.Equal(t, "DPoP", r.str("token_type"))
	r = postForm(t, "http://"+addr+"/token", ccForm, "free", billingSecret)
	require.Equal(t, http.StatusOK, r.status, "%v", r.body)
	assert.Equal(t, "Bearer", r.str("token_type"), "other clients may still ask for bearer tokens")

	addr, _ = startServer(t, "-clients", path)
	r = postForm(t, "http://"+addr+"/token", ccForm, "bound", billingSecret, ccProof(t, key, addr, ""))
	assert.Equal(t, http.StatusBadRequest, r.status)
	assert.Equal(t, "unauthorized_client", r.str("error"), "no bearer token for a client that requires DPoP")
}

// With -dpop-nonce the first token request gets use_dpop_nonce and a
// DPoP-Nonce (RFC 9449 §8); the retry with that nonce gets the token, and
// a proof without it is refused again.
func TestDPoPNonceAtTheTokenEndpoint(t *testing.T) {
	addr, out := startServer(t, "-dpop-nonce")
	cc := secretLine.FindStringSubmatch(out.String())
	require.Len(t, cc, 3)
	key := newDPoPKey(t, jwa.ES256)
	r := postForm(t, "http://"+addr+"/token", ccForm, cc[1], cc[2], ccProof(t, key, addr, ""))
	assert.Equal(t, http.StatusBadRequest, r.status)
	assert.Equal(t, "use_dpop_nonce", r.str("error"))
	nonce := r.header.Get("DPoP-Nonce")
	require.NotEmpty(t, nonce)

	r = postForm(t, "http://"+addr+"/token", ccForm, cc[1], cc[2], ccProof(t, key, addr, nonce))
	require.Equal(t, http.StatusOK, r.status, "%v", r.body)
	assert.Equal(t, "DPoP", r.str("token_type"))
	r = postForm(t, "http://"+addr+"/token", ccForm, cc[1], cc[2], ccProof(t, key, addr, "not-"+nonce))
	assert.Equal(t, "use_dpop_nonce", r.str("error"), "a nonce the server did not make")

	other, otherOut := startServer(t, "-dpop-nonce")
	cc = secretLine.FindStringSubmatch(otherOut.String())
	require.Len(t, cc, 3)
	r = postForm(t, "http://"+other+"/token", ccForm, cc[1], cc[2],
		key.proof(t, proofClaims{method: http.MethodPost, htu: "http://" + other + "/token", nonce: nonce}))
	assert.Equal(t, "use_dpop_nonce", r.str("error"), "another process has another nonce key")
}

// Every store the server offers remembers proofs: one is accepted once
// (RFC 9449 §11.1).
func TestDPoPProofIsUsedOnceInEveryStore(t *testing.T) {
	for _, storeFlag := range []string{"memory", "sqlite:" + filepath.Join(t.TempDir(), "grantor.db")} {
		t.Run(strings.SplitN(storeFlag, ":", 2)[0], func(t *testing.T) {
			addr, out := startServer(t, "-dpop", "-store", storeFlag)
			cc := secretLine.FindStringSubmatch(out.String())
			require.Len(t, cc, 3)
			proof := ccProof(t, newDPoPKey(t, jwa.ES256), addr, "")
			r := postForm(t, "http://"+addr+"/token", ccForm, cc[1], cc[2], proof)
			require.Equal(t, http.StatusOK, r.status, "%v", r.body)
			r = postForm(t, "http://"+addr+"/token", ccForm, cc[1], cc[2], proof)
			assert.Equal(t, http.StatusBadRequest, r.status)
			assert.Equal(t, "invalid_dpop_proof", r.str("error"), "a replayed proof")
		})
	}
}
