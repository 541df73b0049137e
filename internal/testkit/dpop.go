package testkit

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/dpop"
)

// DPoPKey is a client's DPoP key: it makes proofs as RFC 9449 §4.2
// describes them, signed with jwx, as a real client library would.
type DPoPKey struct {
	alg  jwa.SignatureAlgorithm
	priv jwk.Key
	pub  jwk.Key
	// Thumbprint is the key's JWK SHA-256 thumbprint (cnf.jkt, dpop_jkt).
	Thumbprint string
}

// NewDPoPKey returns a fresh key for alg: ES256 or EdDSA.
func NewDPoPKey(t testing.TB, alg jwa.SignatureAlgorithm) *DPoPKey {
	t.Helper()
	var raw any
	var err error
	switch alg {
	case jwa.ES256:
		raw, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case jwa.EdDSA:
		_, raw, err = ed25519.GenerateKey(rand.Reader)
	default:
		t.Fatalf("testkit: no DPoP key for %s", alg)
	}
	require.NoError(t, err)
	priv, err := jwk.FromRaw(raw)
	require.NoError(t, err)
	pub, err := priv.PublicKey()
	require.NoError(t, err)
	thumbprint, err := dpop.Thumbprint(pub)
	require.NoError(t, err)
	return &DPoPKey{alg: alg, priv: priv, pub: pub, Thumbprint: thumbprint}
}

// ProofClaims are the claims of a proof; zero values are filled in by
// Proof (a random jti, iat now).
type ProofClaims struct {
	Method, URL string
	IssuedAt    time.Time
	Nonce       string
	AccessToken string // sets ath (RFC 9449 §4.2)
	ID          string
}

// Proof returns a DPoP proof JWT for c.
func (k *DPoPKey) Proof(t testing.TB, c ProofClaims) string {
	t.Helper()
	if c.ID == "" {
		var b [16]byte
		_, err := rand.Read(b[:])
		require.NoError(t, err)
		c.ID = base64.RawURLEncoding.EncodeToString(b[:])
	}
	claims := map[string]any{"jti": c.ID, "htm": c.Method, "htu": c.URL, "iat": c.IssuedAt.Unix()}
	if c.Nonce != "" {
		claims["nonce"] = c.Nonce
	}
	if c.AccessToken != "" {
		claims["ath"] = dpop.AccessTokenHash(c.AccessToken)
	}
	payload, err := json.Marshal(claims)
	require.NoError(t, err)
	hdr := jws.NewHeaders()
	require.NoError(t, hdr.Set(jws.TypeKey, "dpop+jwt"))
	require.NoError(t, hdr.Set(jws.JWKKey, k.pub))
	signed, err := jws.Sign(payload, jws.WithKey(k.alg, k.priv, jws.WithProtectedHeaders(hdr)))
	require.NoError(t, err)
	return string(signed)
}
