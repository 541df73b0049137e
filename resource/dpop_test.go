package resource_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/dpop"
	"github.com/grantor-dev/grantor/internal/testkit"
	"github.com/grantor-dev/grantor/oauth2"
	"github.com/grantor-dev/grantor/resource"
	"github.com/grantor-dev/grantor/storage"
	"github.com/grantor-dev/grantor/storage/memory"
)

// The API's public URL, which proofs' htu must name.
const apiBase = "https://api.a.example"

// dpopEnv is env with DPoP on at the Provider, a client key, and a
// verifier for the API over its own replay store.
type dpopEnv struct {
	*env
	key      *testkit.DPoPKey
	verifier *dpop.Verifier
}

func newDPoPEnv(t *testing.T, format string, nonces *dpop.Nonces) *dpopEnv {
	e := newEnv(t, format, func(cfg *oauth2.Config, store *memory.Store) {
		cfg.DPoP = &oauth2.DPoPConfig{Replay: store}
	})
	apiStore := memory.New(memory.WithClock(e.Now))
	v, err := dpop.NewVerifier(dpop.Config{Replay: apiStore, Clock: e.Now, Nonces: nonces,
		IsReplay: func(err error) bool { return errors.Is(err, storage.ErrConsumed) }})
	require.NoError(t, err)
	return &dpopEnv{env: e, key: testkit.NewDPoPKey(t, jwa.ES256), verifier: v}
}

// boundSvcToken is an access token of "svc" bound to the env's key, from
// the token endpoint with a proof.
func (e *dpopEnv) boundSvcToken() string {
	e.T.Helper()
	req := e.TokenRequest(url.Values{"grant_type": {"client_credentials"}, "scope": {"read"}})
	req.SetBasicAuth("svc", e.svcSecret)
	req.Header.Set("DPoP", e.key.Proof(e.T, testkit.ProofClaims{Method: "POST", URL: e.Provider.TokenEndpoint(), IssuedAt: e.Now()}))
	r := e.Do(req)
	require.Equal(e.T, http.StatusOK, r.Status, "%s", r.Body)
	require.Equal(e.T, "DPoP", r.Str("token_type"))
	return r.Str("access_token")
}

// api is the API of apiA with DPoP on.
func (e *dpopEnv) api(v resource.Validator) http.Handler {
	return resource.Middleware(resource.Config{Validator: v, Realm: "api-a", Audience: apiA,
		DPoP: &resource.DPoP{Verifier: e.verifier, BaseURL: apiBase}})(echo)
}

// request is GET /hello with the token under scheme and the proofs.
func request(scheme, tok string, proofs ...string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/hello", nil)
	r.Header.Set("Authorization", scheme+" "+tok)
	for _, p := range proofs {
		r.Header.Add("DPoP", p)
	}
	return r
}

// proof is a proof of key for GET /hello with ath of tok.
func (e *dpopEnv) proof(key *testkit.DPoPKey, tok string) string {
	return key.Proof(e.T, testkit.ProofClaims{Method: http.MethodGet, URL: apiBase + "/hello", IssuedAt: e.Now(), AccessToken: tok})
}

// forEachDPoP runs f for each validator of each format.
func forEachDPoP(t *testing.T, f func(t *testing.T, e *dpopEnv, h http.Handler)) {
	for _, format := range formats {
		e := newDPoPEnv(t, format, nil)
		for name, v := range e.validators() {
			t.Run(format+"/"+name, func(t *testing.T) { f(t, e, e.api(v)) })
		}
	}
}

// A DPoP-bound token with a proof of its key, with ath, reaches the
// handler (RFC 9449 §7.1), whichever way the token is validated.
func TestDPoPBoundTokenWithItsProof(t *testing.T) {
	forEachDPoP(t, func(t *testing.T, e *dpopEnv, h http.Handler) {
		tok := e.boundSvcToken()
		res := serve(h, request("DPoP", tok, e.proof(e.key, tok)))
		require.Equal(t, http.StatusOK, res.status, "challenge: %s", res.www)
		assert.Contains(t, res.body, `"KeyThumbprint":"`+e.key.Thumbprint+`"`)
	})
}

// Everything a thief of the token lacks is refused: the proof, the key,
// the right ath, and the downgrade to Bearer (RFC 9449 §4.3, §7.2).
func TestDPoPBoundTokenWithoutItsKeyIsWorthless(t *testing.T) {
	forEachDPoP(t, func(t *testing.T, e *dpopEnv, h http.Handler) {
		tok := e.boundSvcToken()
		thief := testkit.NewDPoPKey(t, jwa.EdDSA)
		other := e.boundSvcToken()
		for name, r := range map[string]*http.Request{
			"no proof":                        request("DPoP", tok),
			"a proof by another key":          request("DPoP", tok, e.proof(thief, tok)),
			"a proof with the ath of another": request("DPoP", tok, e.proof(e.key, other)),
			"a proof for another URL":         request("DPoP", tok, e.key.Proof(t, testkit.ProofClaims{Method: "GET", URL: apiBase + "/admin", IssuedAt: e.Now(), AccessToken: tok})),
			"a proof for another method":      request("DPoP", tok, e.key.Proof(t, testkit.ProofClaims{Method: "POST", URL: apiBase + "/hello", IssuedAt: e.Now(), AccessToken: tok})),
			"a proof without ath":             request("DPoP", tok, e.key.Proof(t, testkit.ProofClaims{Method: "GET", URL: apiBase + "/hello", IssuedAt: e.Now()})),
		} {
			res := serve(h, r)
			assert.Equal(t, http.StatusUnauthorized, res.status, name)
			assert.Contains(t, res.www, `DPoP algs="ES256 EdDSA RS256 PS256", error="invalid_dpop_proof"`, name)
		}
		res := serve(h, request("Bearer", tok, e.proof(e.key, tok)))
		assert.Equal(t, http.StatusUnauthorized, res.status)
		assert.Contains(t, res.header.Values("WWW-Authenticate"), `Bearer realm="api-a", error="invalid_token", error_description="the access token is sender-constrained and cannot be used as a bearer token"`)
	})
}

// A proof is used once at the API too (RFC 9449 §11.1): sent twenty times
// at once, it is accepted once.
func TestDPoPProofIsSingleUseAtTheAPI(t *testing.T) {
	e := newDPoPEnv(t, "opaque", nil)
	h := e.api(resource.Store(e.Provider, e.Store, e.Now))
	tok := e.boundSvcToken()
	proof := e.proof(e.key, tok)
	var mu sync.Mutex
	statuses := map[int]int{}
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res := serve(h, request("DPoP", tok, proof))
			mu.Lock()
			statuses[res.status]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	assert.Equal(t, map[int]int{http.StatusOK: 1, http.StatusUnauthorized: 19}, statuses)
}

// A bearer token is refused with the DPoP scheme, and still accepted as a
// bearer token; a 401 names both schemes (RFC 9449 §7.1).
func TestDPoPSchemeAndBearerTokens(t *testing.T) {
	e := newDPoPEnv(t, "opaque", nil)
	h := e.api(resource.Store(e.Provider, e.Store, e.Now))
	bearer := e.svcToken()
	res := serve(h, request("DPoP", bearer, e.proof(e.key, bearer)))
	assert.Equal(t, http.StatusUnauthorized, res.status)
	assert.Contains(t, res.www, "not bound to a DPoP key")
	assert.Equal(t, http.StatusOK, serve(h, request("Bearer", bearer)).status)

	res = serve(h, httptest.NewRequest(http.MethodGet, "/hello", nil))
	assert.Equal(t, []string{`Bearer realm="api-a"`, `DPoP algs="ES256 EdDSA RS256 PS256"`}, res.header.Values("WWW-Authenticate"))
}

// With nonces, the API answers use_dpop_nonce and a DPoP-Nonce (RFC 9449
// §9); the proof with that nonce is accepted.
func TestDPoPNonceAtTheAPI(t *testing.T) {
	clock := newDPoPEnv(t, "opaque", nil).Now // only for the nonces' clock
	nonces, err := dpop.NewNonces(dpop.NonceConfig{Keys: [][]byte{make([]byte, 32)}, Clock: clock})
	require.NoError(t, err)
	e := newDPoPEnv(t, "opaque", nonces)
	h := e.api(resource.Store(e.Provider, e.Store, e.Now))
	tok := e.boundSvcToken()
	res := serve(h, request("DPoP", tok, e.proof(e.key, tok)))
	assert.Equal(t, http.StatusUnauthorized, res.status)
	assert.Contains(t, res.www, `error="use_dpop_nonce"`)
	nonce := res.header.Get("DPoP-Nonce")
	require.NotEmpty(t, nonce)
	proof := e.key.Proof(t, testkit.ProofClaims{Method: "GET", URL: apiBase + "/hello", IssuedAt: e.Now(), AccessToken: tok, Nonce: nonce})
	res = serve(h, request("DPoP", tok, proof))
	assert.Equal(t, http.StatusOK, res.status, res.www)
}

// Without Config.DPoP, the DPoP scheme carries no token the middleware
// takes, and a bound token is refused as before.
func TestDPoPOffAtTheAPI(t *testing.T) {
	e := newDPoPEnv(t, "opaque", nil)
	h := api(resource.Store(e.Provider, e.Store, e.Now))
	tok := e.boundSvcToken()
	res := serve(h, request("DPoP", tok, e.proof(e.key, tok)))
	assert.Equal(t, http.StatusUnauthorized, res.status)
	assert.Equal(t, `Bearer realm="api-a"`, res.www)
	assert.False(t, strings.Contains(res.www, "DPoP"))
}

// RequireScopes answers a DPoP-bound token's missing scope in the DPoP
// scheme (RFC 9449 §7.1).
func TestDPoPInsufficientScope(t *testing.T) {
	e := newDPoPEnv(t, "opaque", nil)
	h := resource.Middleware(resource.Config{Validator: resource.Store(e.Provider, e.Store, e.Now), Realm: "api-a",
		DPoP: &resource.DPoP{Verifier: e.verifier, BaseURL: apiBase}})(resource.RequireScopes("write")(echo))
	tok := e.boundSvcToken()
	res := serve(h, request("DPoP", tok, e.proof(e.key, tok)))
	assert.Equal(t, http.StatusForbidden, res.status)
	assert.True(t, strings.HasPrefix(res.www, `DPoP realm="api-a", error="insufficient_scope"`), res.www)
}

// A token refused under the DPoP scheme is answered in a DPoP challenge,
// where a DPoP client looks for the error (RFC 9449 §7.1).
func TestDPoPInvalidTokenIsAnsweredInTheDPoPScheme(t *testing.T) {
	e := newDPoPEnv(t, "opaque", nil)
	h := e.api(resource.Store(e.Provider, e.Store, e.Now))
	tok := e.boundSvcToken()
	require.Equal(t, http.StatusOK, e.Revoke("svc", e.svcSecret, tok).Status)
	res := serve(h, request("DPoP", tok, e.proof(e.key, tok)))
	assert.Equal(t, http.StatusUnauthorized, res.status)
	assert.Equal(t, []string{`DPoP realm="api-a", error="invalid_token", error_description="the access token was revoked", algs="ES256 EdDSA RS256 PS256"`},
		res.header.Values("WWW-Authenticate"))
}
