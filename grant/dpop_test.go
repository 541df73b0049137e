package grant_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/internal/testkit"
	"github.com/grantor-dev/grantor/oauth2"
	"github.com/grantor-dev/grantor/storage/memory"
)

// newDPoPCode is the code harness with DPoP on.
func newDPoPCode(t *testing.T) *codeHarness {
	return newCode(t, func(cfg *oauth2.Config, store *memory.Store) {
		cfg.DPoP = &oauth2.DPoPConfig{Replay: store}
	})
}

// redeemWithProof redeems a code as "web" with a DPoP proof of key, or
// none when key is nil.
func (h *codeHarness) redeemWithProof(t *testing.T, key *testkit.DPoPKey, code, verifier string) *testkit.Response {
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {"https://c.example/cb"}, "code_verifier": {verifier}}
	req := h.TokenRequest(form)
	req.SetBasicAuth("web", h.webSecret)
	if key != nil {
		req.Header.Set("DPoP", key.Proof(t, testkit.ProofClaims{Method: http.MethodPost, URL: h.Provider.TokenEndpoint(), IssuedAt: h.Now()}))
	}
	return h.Do(req)
}

// RFC 9449 §10: a code asked for with dpop_jkt is redeemed only with a
// proof of that key, and its tokens are bound to it.
func TestDPoPKeyThumbprintBindsTheCode(t *testing.T) {
	h := newDPoPCode(t)
	key, other := testkit.NewDPoPKey(t, jwa.ES256), testkit.NewDPoPKey(t, jwa.EdDSA)

	params, verifier := authParams(t, "dpop_jkt", key.Thumbprint)
	code := h.code(params)
	testkit.RequireOAuthError(t, h.redeemWithProof(t, nil, code, verifier), http.StatusBadRequest, oauth2.ErrInvalidGrant)
	testkit.RequireOAuthError(t, h.redeemWithProof(t, other, code, verifier), http.StatusBadRequest, oauth2.ErrInvalidGrant)
	r := h.redeemWithProof(t, key, code, verifier)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	assert.Equal(t, "DPoP", r.Str("token_type"))
	rec, err := h.AccessTokenRecord(r.Str("access_token"))
	require.NoError(t, err)
	assert.Equal(t, key.Thumbprint, rec.KeyThumbprint)

	// A malformed dpop_jkt is a bad request, sent back to the client.
	params, _ = authParams(t, "dpop_jkt", "not-a-thumbprint")
	h.errorRedirect(t, h.authorize(params), oauth2.ErrInvalidRequest)
}

// RFC 9449 §10.1: a DPoP proof at the PAR endpoint binds the code as
// dpop_jkt does; both at once must name the same key.
func TestDPoPAtThePAREndpointBindsTheCode(t *testing.T) {
	h := newDPoPCode(t)
	key, other := testkit.NewDPoPKey(t, jwa.ES256), testkit.NewDPoPKey(t, jwa.EdDSA)
	push := func(params url.Values, key *testkit.DPoPKey) *testkit.Response {
		req, err := http.NewRequest(http.MethodPost, h.Provider.PAREndpoint(), strings.NewReader(params.Encode()))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("web", h.webSecret)
		req.Header.Set("DPoP", key.Proof(t, testkit.ProofClaims{Method: http.MethodPost, URL: h.Provider.PAREndpoint(), IssuedAt: h.Now()}))
		return h.Do(req)
	}

	params, _ := authParams(t, "dpop_jkt", other.Thumbprint)
	testkit.RequireOAuthError(t, push(params, key), http.StatusBadRequest, oauth2.ErrInvalidDPoPProof)

	params, verifier := authParams(t)
	r := push(params, key)
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	code := h.code(url.Values{"client_id": {"web"}, "request_uri": {r.Str("request_uri")}, "redirect_uri": {"https://c.example/cb"}})
	testkit.RequireOAuthError(t, h.redeemWithProof(t, other, code, verifier), http.StatusBadRequest, oauth2.ErrInvalidGrant)
	r = h.redeemWithProof(t, key, code, verifier)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	assert.Equal(t, "DPoP", r.Str("token_type"))
}

// A redeemed dpop_jkt-bound code replayed without its key proves nothing:
// it is refused, and the grant's tokens stay active (RFC 9449 §10).
func TestDPoPBoundCodeReplayedWithoutItsKeyLeavesTheGrant(t *testing.T) {
	h := newDPoPCode(t)
	key, other := testkit.NewDPoPKey(t, jwa.ES256), testkit.NewDPoPKey(t, jwa.EdDSA)
	params, verifier := authParams(t, "dpop_jkt", key.Thumbprint)
	code := h.code(params)
	r := h.redeemWithProof(t, key, code, verifier)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	testkit.RequireOAuthError(t, h.redeemWithProof(t, other, code, verifier), http.StatusBadRequest, oauth2.ErrInvalidGrant)
	intro := h.Introspect("web", h.webSecret, r.Str("access_token"))
	assert.Equal(t, true, intro.JSON["active"])
}

// With nonces everywhere the PAR endpoint demands one too (RFC 9449 §8);
// with nonces at the token endpoint only, it does not.
func TestDPoPNonceAtThePAREndpoint(t *testing.T) {
	for _, mode := range []oauth2.DPoPNonceMode{oauth2.DPoPNonceEverywhere, oauth2.DPoPNonceTokenEndpoint} {
		h := newCode(t, func(cfg *oauth2.Config, store *memory.Store) {
			cfg.DPoP = &oauth2.DPoPConfig{Replay: store, Nonce: mode, NonceKeys: [][]byte{make([]byte, 32)}}
		})
		key := testkit.NewDPoPKey(t, jwa.ES256)
		params, _ := authParams(t)
		req, err := http.NewRequest(http.MethodPost, h.Provider.PAREndpoint(), strings.NewReader(params.Encode()))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("web", h.webSecret)
		req.Header.Set("DPoP", key.Proof(t, testkit.ProofClaims{Method: http.MethodPost, URL: h.Provider.PAREndpoint(), IssuedAt: h.Now()}))
		r := h.Do(req)
		if mode == oauth2.DPoPNonceEverywhere {
			testkit.RequireOAuthError(t, r, http.StatusBadRequest, oauth2.ErrUseDPoPNonce)
			assert.NotEmpty(t, r.Header.Get("DPoP-Nonce"))
		} else {
			assert.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
		}
	}
}
