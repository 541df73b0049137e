package sqlite_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/grant"
	"github.com/grantor-dev/grantor/oauth2"
	"github.com/grantor-dev/grantor/storage"
)

// es256Proof returns a DPoP proof (RFC 9449 §4.2) of a POST to htu, signed
// with jwx by a fresh ES256 key, as a client library would.
func es256Proof(t *testing.T, htu string) string {
	t.Helper()
	raw, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	priv, err := jwk.FromRaw(raw)
	require.NoError(t, err)
	pub, err := priv.PublicKey()
	require.NoError(t, err)
	payload, err := json.Marshal(map[string]any{
		"jti": rand.Text(), "htm": http.MethodPost, "htu": htu, "iat": time.Now().Unix()})
	require.NoError(t, err)
	hdr := jws.NewHeaders()
	require.NoError(t, hdr.Set(jws.TypeKey, "dpop+jwt"))
	require.NoError(t, hdr.Set(jws.JWKKey, pub))
	signed, err := jws.Sign(payload, jws.WithKey(jwa.ES256, priv, jws.WithProtectedHeaders(hdr)))
	require.NoError(t, err)
	return string(signed)
}

// TestDPoPProofIsAcceptedOnce sends one DPoP proof twenty times at once to
// two Providers, each with its own Store over one database file (issue
// 11): the proof's jti is remembered in the database (RFC 9449 §11.1), so
// one request gets a DPoP-bound token and the nineteen others are
// invalid_dpop_proof.
func TestDPoPProofIsAcceptedOnce(t *testing.T) {
	_, path := open(t)
	key := make([]byte, 32)
	_, err := rand.Read(key)
	require.NoError(t, err)
	const issuer = "https://as.example"
	var instances []*oauth2.Provider
	for range 2 {
		s := openPath(t, path)
		p, err := oauth2.NewProvider(oauth2.Config{
			Issuer: issuer, Clients: s, Tokens: s, TokenKeys: [][]byte{key},
			Grants: []oauth2.GrantFactory{grant.ClientCredentials(grant.ClientCredentialsOptions{})},
			DPoP:   &oauth2.DPoPConfig{Replay: s},
		})
		require.NoError(t, err)
		instances = append(instances, p)
	}
	secret, hash, err := oauth2.GenerateClientSecret(nil)
	require.NoError(t, err)
	require.NoError(t, openPath(t, path).PutClient(t.Context(), &storage.Client{
		ID: "svc", SecretHash: hash, GrantTypes: []string{"client_credentials"}, Scopes: []string{"read"}}))

	proof := es256Proof(t, instances[0].TokenEndpoint())
	form := url.Values{"grant_type": {"client_credentials"}}.Encode()
	const n = 20
	statuses := make([]int, n)
	bodies := make([]map[string]any, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			req := httptest.NewRequest(http.MethodPost, issuer+oauth2.TokenPath, strings.NewReader(form))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth("svc", secret)
			req.Header.Set("DPoP", proof)
			rec := httptest.NewRecorder()
			<-start
			instances[i%2].Handler().ServeHTTP(rec, req)
			statuses[i] = rec.Code
			_ = json.Unmarshal(rec.Body.Bytes(), &bodies[i])
		})
	}
	close(start)
	wg.Wait()
	ok := 0
	for i, status := range statuses {
		if status == http.StatusOK {
			ok++
			assert.Equal(t, "DPoP", bodies[i]["token_type"])
			continue
		}
		assert.Equal(t, http.StatusBadRequest, status, "request %d: %v", i, bodies[i])
		assert.Equal(t, string(oauth2.ErrInvalidDPoPProof), bodies[i]["error"], "request %d: %v", i, bodies[i])
	}
	assert.Equal(t, 1, ok, "requests answered with a token")
}
