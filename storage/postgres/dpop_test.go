package postgres_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/grant"
	"github.com/grantor-dev/grantor/oauth2"
	"github.com/grantor-dev/grantor/storage"
	"github.com/grantor-dev/grantor/storage/postgres"
)

// dpopKey is a client's ES256 DPoP key: it signs proofs with jwx as RFC
// 9449 §4.2 describes them, as a client library would.
type dpopKey struct{ priv, pub jwk.Key }

func newDPoPKey(t *testing.T) *dpopKey {
	t.Helper()
	raw, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	priv, err := jwk.FromRaw(raw)
	require.NoError(t, err)
	pub, err := priv.PublicKey()
	require.NoError(t, err)
	return &dpopKey{priv: priv, pub: pub}
}

// proof returns a fresh proof (a new jti, iat now) of a POST to htu, with
// nonce unless it is empty.
func (k *dpopKey) proof(t *testing.T, htu, nonce string) string {
	t.Helper()
	claims := map[string]any{"jti": rand.Text(), "htm": http.MethodPost, "htu": htu, "iat": time.Now().Unix()}
	if nonce != "" {
		claims["nonce"] = nonce
	}
	payload, err := json.Marshal(claims)
	require.NoError(t, err)
	hdr := jws.NewHeaders()
	require.NoError(t, hdr.Set(jws.TypeKey, "dpop+jwt"))
	require.NoError(t, hdr.Set(jws.JWKKey, k.pub))
	signed, err := jws.Sign(payload, jws.WithKey(jwa.ES256, k.priv, jws.WithProtectedHeaders(hdr)))
	require.NoError(t, err)
	return string(signed)
}

// dpopResponse is what the token endpoint answered.
type dpopResponse struct {
	status int
	nonce  string // the DPoP-Nonce header
	body   map[string]any
}

// TestDPoPProvidersShareOneDatabase runs two Providers, each with a pool
// of its own, over one database, with DPoP nonces at the token endpoint
// and the same nonce keys (issue 11): a nonce one instance hands out is
// accepted by the other (RFC 9449 §8), and a proof one instance accepted
// is a replay to the other (§11.1), also when it is sent to both twenty
// times at once.
func TestDPoPProvidersShareOneDatabase(t *testing.T) {
	ts := newTestServer(t)
	poolA, cfg := ts.migratedPool(t)
	poolB := newPool(t, cfg.Copy())
	tokenKey, nonceKey := make([]byte, 32), make([]byte, 32)
	_, err := rand.Read(tokenKey)
	require.NoError(t, err)
	_, err = rand.Read(nonceKey)
	require.NoError(t, err)
	const issuer = "https://as.example"
	provider := func(pool *pgxpool.Pool) *oauth2.Provider {
		t.Helper()
		s := postgres.New(pool)
		p, err := oauth2.NewProvider(oauth2.Config{
			Issuer: issuer, Clients: s, Tokens: s, TokenKeys: [][]byte{tokenKey},
			Grants: []oauth2.GrantFactory{grant.ClientCredentials(grant.ClientCredentialsOptions{})},
			// The instances share their nonce keys, not their memory.
			DPoP: &oauth2.DPoPConfig{Replay: s, Nonce: oauth2.DPoPNonceTokenEndpoint, NonceKeys: [][]byte{nonceKey}},
		})
		require.NoError(t, err)
		return p
	}
	a, b := provider(poolA), provider(poolB)
	htu := a.TokenEndpoint()
	require.Equal(t, htu, b.TokenEndpoint())
	// Each instance serves HTTP of its own, as behind a load balancer; the
	// proofs name the issuer's token endpoint, which both serve.
	servers := map[*oauth2.Provider]*httptest.Server{}
	for _, p := range []*oauth2.Provider{a, b} {
		srv := httptest.NewServer(p.Handler())
		t.Cleanup(srv.Close)
		servers[p] = srv
	}

	secret, hash, err := oauth2.GenerateClientSecret(nil)
	require.NoError(t, err)
	require.NoError(t, postgres.New(poolA).PutClient(t.Context(), &storage.Client{
		ID: "svc", SecretHash: hash, GrantTypes: []string{"client_credentials"}, Scopes: []string{"read"}}))

	// token posts a client credentials request with the proof to p. It
	// may run in any goroutine: it reports errors in the response.
	token := func(p *oauth2.Provider, proof string) dpopResponse {
		form := url.Values{"grant_type": {"client_credentials"}}
		srv := servers[p]
		req, err := http.NewRequest(http.MethodPost, srv.URL+oauth2.TokenPath, strings.NewReader(form.Encode()))
		if err != nil {
			return dpopResponse{body: map[string]any{"request": err.Error()}}
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("svc", secret)
		req.Header.Set("DPoP", proof)
		resp, err := srv.Client().Do(req)
		if err != nil {
			return dpopResponse{body: map[string]any{"request": err.Error()}}
		}
		defer resp.Body.Close()
		r := dpopResponse{status: resp.StatusCode, nonce: resp.Header.Get("DPoP-Nonce")}
		if err := json.NewDecoder(resp.Body).Decode(&r.body); err != nil {
			r.body = map[string]any{"decode": err.Error()}
		}
		return r
	}
	// nonceFrom returns the nonce p demands of a proof without one.
	nonceFrom := func(t *testing.T, p *oauth2.Provider, key *dpopKey) string {
		t.Helper()
		r := token(p, key.proof(t, htu, ""))
		require.Equal(t, http.StatusBadRequest, r.status, "%v", r.body)
		require.Equal(t, string(oauth2.ErrUseDPoPNonce), r.body["error"])
		require.NotEmpty(t, r.nonce, "the DPoP-Nonce header of use_dpop_nonce")
		return r.nonce
	}
	requireIssued := func(t *testing.T, r dpopResponse) {
		t.Helper()
		require.Equal(t, http.StatusOK, r.status, "%v", r.body)
		assert.Equal(t, "DPoP", r.body["token_type"])
		assert.NotEmpty(t, r.body["access_token"])
	}

	t.Run("a nonce from one instance is accepted by the other", func(t *testing.T) {
		key := newDPoPKey(t)
		requireIssued(t, token(b, key.proof(t, htu, nonceFrom(t, a, key))))
		requireIssued(t, token(a, key.proof(t, htu, nonceFrom(t, b, key))))
	})

	t.Run("a proof accepted by one instance is refused by the other", func(t *testing.T) {
		key := newDPoPKey(t)
		nonce := nonceFrom(t, a, key)
		proof := key.proof(t, htu, nonce)
		requireIssued(t, token(a, proof))
		r := token(b, proof)
		assert.Equal(t, http.StatusBadRequest, r.status)
		assert.Equal(t, string(oauth2.ErrInvalidDPoPProof), r.body["error"], "%v", r.body)
		assert.NotContains(t, r.body, "access_token")

		// And the other way round.
		proof = key.proof(t, htu, nonce)
		requireIssued(t, token(b, proof))
		r = token(a, proof)
		assert.Equal(t, http.StatusBadRequest, r.status)
		assert.Equal(t, string(oauth2.ErrInvalidDPoPProof), r.body["error"], "%v", r.body)
	})

	t.Run("the same proof sent 20 times at once to both is accepted once", func(t *testing.T) {
		key := newDPoPKey(t)
		proof := key.proof(t, htu, nonceFrom(t, b, key))
		instances := []*oauth2.Provider{a, b}
		const n = 20
		got := make([]dpopResponse, n)
		race(n, func(i int) { got[i] = token(instances[i%2], proof) })
		ok := 0
		for i, r := range got {
			if r.status == http.StatusOK {
				ok++
				continue
			}
			assert.Equal(t, http.StatusBadRequest, r.status, "request %d", i)
			assert.Equal(t, string(oauth2.ErrInvalidDPoPProof), r.body["error"], "request %d: %v", i, r.body)
		}
		assert.Equal(t, 1, ok, "requests answered with a token")
	})
}
