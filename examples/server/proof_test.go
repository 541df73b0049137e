package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/stretchr/testify/require"
)

// dpopKey is a client's DPoP key, making proofs as RFC 9449 §4.2 says, with
// jwx, as a client would: nothing of Grantor is used to make them.
type dpopKey struct {
	alg       jwa.SignatureAlgorithm
	priv, pub jwk.Key
	// jkt is the key's JWK SHA-256 thumbprint (RFC 7638), as dpop_jkt.
	jkt string
	// material is what of the key must never be logged: its public
	// and private members, base64url-encoded.
	material []string
	// sent are the proofs made so far, none of which may be logged.
	sent []string
}

// newDPoPKey returns a fresh ES256 or EdDSA key.
func newDPoPKey(t *testing.T, alg jwa.SignatureAlgorithm) *dpopKey {
	t.Helper()
	var raw any
	var err error
	switch alg {
	case jwa.ES256:
		raw, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case jwa.EdDSA:
		_, raw, err = ed25519.GenerateKey(rand.Reader)
	default:
		t.Fatalf("no DPoP key for %s", alg)
	}
	require.NoError(t, err)
	priv, err := jwk.FromRaw(raw)
	require.NoError(t, err)
	pub, err := priv.PublicKey()
	require.NoError(t, err)
	tp, err := pub.Thumbprint(crypto.SHA256)
	require.NoError(t, err)
	k := &dpopKey{alg: alg, priv: priv, pub: pub, jkt: base64.RawURLEncoding.EncodeToString(tp)}
	data, err := json.Marshal(priv)
	require.NoError(t, err)
	var members map[string]string
	require.NoError(t, json.Unmarshal(data, &members))
	for _, m := range []string{"x", "y", "d"} {
		if v := members[m]; v != "" {
			k.material = append(k.material, v)
		}
	}
	return k
}

// ath is the ath claim for an access token (RFC 9449 §4.2): the
// base64url SHA-256 of its ASCII.
func ath(accessToken string) string {
	sum := sha256.Sum256([]byte(accessToken))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// proofClaims are the claims of a proof; a random jti and iat now are
// added.
type proofClaims struct {
	method, htu string
	ath         string // empty: no ath
	nonce       string // empty: no nonce
}

// proof returns a DPoP proof JWT for c, signed by k. It is not safe for
// concurrent use.
func (k *dpopKey) proof(t *testing.T, c proofClaims) string {
	t.Helper()
	jti := make([]byte, 16)
	_, err := rand.Read(jti)
	require.NoError(t, err)
	claims := map[string]any{"jti": base64.RawURLEncoding.EncodeToString(jti), "htm": c.method, "htu": c.htu,
		"iat": time.Now().Unix()}
	if c.ath != "" {
		claims["ath"] = c.ath
	}
	if c.nonce != "" {
		claims["nonce"] = c.nonce
	}
	payload, err := json.Marshal(claims)
	require.NoError(t, err)
	hdr := jws.NewHeaders()
	require.NoError(t, hdr.Set(jws.TypeKey, "dpop+jwt"))
	require.NoError(t, hdr.Set(jws.JWKKey, k.pub))
	signed, err := jws.Sign(payload, jws.WithKey(k.alg, k.priv, jws.WithProtectedHeaders(hdr)))
	require.NoError(t, err)
	k.sent = append(k.sent, string(signed))
	return string(signed)
}
