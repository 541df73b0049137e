package dpop

import (
	"context"
	"crypto/rand"
	"fmt"
	"math/big"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// syntheticRSAJWK returns an RSA public JWK with a random modulus of bits
// bits and exponent e: no private key exists for it, as for the key of a
// proof made up to cost the server work.
func syntheticRSAJWK(t testing.TB, bits int, e int64) string {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), uint(bits)))
	require.NoError(t, err)
	n.SetBit(n, bits-1, 1)
	n.SetBit(n, 0, 1)
	return fmt.Sprintf(`{"kty":"RSA","n":"%s","e":"%s"}`, b64(n.Bytes()), b64(big.NewInt(e).Bytes()))
}

// madeUpProof returns a proof whose header carries jwk under alg and
// whose signature is sigLen zero bytes but one.
func madeUpProof(t testing.TB, alg, jwk string, sigLen int) string {
	hdr := fmt.Sprintf(`{"typ":"dpop+jwt","alg":%q,"jwk":%s}`, alg, jwk)
	sig := make([]byte, sigLen)
	sig[0] = 1
	return b64([]byte(hdr)) + "." + b64(mustJSON(t, claims(nil))) + "." + b64(sig)
}

// TestStep6RSAKeyBounds: an RSA jwk must be usable for RS256 or PS256 at a
// bounded cost (RFC 9449 §4.3 step 6, RFC 7518 §3.3): 2048 to 4096 bits,
// e = 65537. A larger modulus or exponent is refused before any
// signature is checked.
func TestStep6RSAKeyBounds(t *testing.T) {
	var cases []refusal
	for _, k := range []struct {
		bits int
		e    int64
	}{{4097, 65537}, {8192, 65537}, {2048, 3}, {2048, 1<<31 - 1}, {4096, 1<<62 + 1}} {
		cases = append(cases, refusal{name: fmt.Sprintf("RSA-%d e=%d", k.bits, k.e), desc: descJWKUnusable, req: func(t *testing.T) Request {
			return req(madeUpProof(t, "RS256", syntheticRSAJWK(t, k.bits, k.e), (k.bits+7)/8))
		}})
	}
	checkRefusals(t, cases)
	k, desc := parseProofKey([]byte(syntheticRSAJWK(t, 4096, 65537)), MaxRSAKeyBits)
	require.Empty(t, desc)
	assert.Equal(t, keyRSA, k.kind)
}

// TestStep6MaxRSAKeyBits: Config.MaxRSAKeyBits lowers the largest RSA key
// accepted (RFC 9449 §4.3 step 6), and cannot raise it.
func TestStep6MaxRSAKeyBits(t *testing.T) {
	checkRefusals(t, []refusal{{name: "RSA-3072 with MaxRSAKeyBits 2048", cfg: Config{MaxRSAKeyBits: 2048}, desc: descJWKUnusable, req: func(t *testing.T) Request {
		return req(madeUpProof(t, "RS256", syntheticRSAJWK(t, 3072, 65537), 384))
	}}})
	v, _ := newTestVerifier(t, Config{MaxRSAKeyBits: 2048})
	_, err := v.Verify(context.Background(), req(newSigner(t, "RS256").proof(t, nil, nil)))
	assert.NoError(t, err)
	for _, bits := range []int{-1, 1024, MinRSAKeyBits - 1, MaxRSAKeyBits + 1, 8192} {
		_, err := NewVerifier(Config{Replay: newFakeReplay(), MaxRSAKeyBits: bits})
		assert.Error(t, err, bits)
	}
}

// TestStep6Ed25519WeakKeys: an Ed25519 jwk of small order verifies
// signatures no private key made, so anyone could sign proofs for its
// thumbprint; a non-canonical encoding (RFC 8032 §5.1.3) is a second
// thumbprint for one key. Both are refused (RFC 9449 §4.3 step 6).
func TestStep6Ed25519WeakKeys(t *testing.T) {
	jwkOf := func(x []byte) string { return fmt.Sprintf(`{"kty":"OKP","crv":"Ed25519","x":"%s"}`, b64(x)) }
	var cases []refusal
	for i, x := range ed25519SmallOrder {
		cases = append(cases, refusal{name: fmt.Sprintf("small order %d", i), desc: descJWKUnusable, req: func(t *testing.T) Request {
			// R = the identity, S = 0: valid under the identity key.
			sig := make([]byte, 64)
			sig[0] = 1
			hdr := fmt.Sprintf(`{"typ":"dpop+jwt","alg":"EdDSA","jwk":%s}`, jwkOf(x[:]))
			return req(b64([]byte(hdr)) + "." + b64(mustJSON(t, claims(nil))) + "." + b64(sig))
		}})
	}
	// y = p + 2 .. 2^255 - 1: the same points as y = 2 .. 18.
	for _, low := range []byte{0xef, 0xff} {
		x := [32]byte{low}
		for i := 1; i < 31; i++ {
			x[i] = 0xff
		}
		x[31] = 0x7f
		cases = append(cases, refusal{name: fmt.Sprintf("y above p, low byte %#x", low), desc: descJWKUnusable, req: func(t *testing.T) Request {
			return req(madeUpProof(t, "EdDSA", jwkOf(x[:]), 64))
		}})
	}
	checkRefusals(t, cases)

	// A real key is still accepted.
	s := newSigner(t, "EdDSA")
	k, desc := parseProofKey(s.jwk, MaxRSAKeyBits)
	require.Empty(t, desc)
	assert.Equal(t, keyEd25519, k.kind)
}

// TestEd25519SmallOrderList checks the list against the curve: each entry
// decodes to a point P of edwards25519 with [8]P the identity, and the
// canonical entries are eight distinct points, the whole 8-torsion
// subgroup (RFC 8032 §5.1: the cofactor is 8).
func TestEd25519SmallOrderList(t *testing.T) {
	p := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 255), big.NewInt(19))
	// d = -121665/121666 (RFC 8032 §5.1).
	d := new(big.Int).Mul(big.NewInt(-121665), new(big.Int).ModInverse(big.NewInt(121666), p))
	d.Mod(d, p)
	mod := func(x *big.Int) *big.Int { return x.Mod(x, p) }
	mul := func(a, b *big.Int) *big.Int { return mod(new(big.Int).Mul(a, b)) }
	inv := func(a *big.Int) *big.Int { return new(big.Int).ModInverse(a, p) }
	add := func(x1, y1, x2, y2 *big.Int) (*big.Int, *big.Int) {
		// -x^2 + y^2 = 1 + d x^2 y^2 (RFC 8032 §5.1.4).
		t := mul(d, mul(mul(x1, x2), mul(y1, y2)))
		x3 := mul(mod(new(big.Int).Add(mul(x1, y2), mul(y1, x2))), inv(mod(new(big.Int).Add(big.NewInt(1), t))))
		y3 := mul(mod(new(big.Int).Add(mul(y1, y2), mul(x1, x2))), inv(mod(new(big.Int).Sub(big.NewInt(1), t))))
		return x3, y3
	}
	seen := map[string]bool{}
	for i, enc := range ed25519SmallOrder {
		le := enc
		sign := le[31] >> 7
		le[31] &= 0x7f
		be := make([]byte, 32)
		for j := range be {
			be[j] = le[31-j]
		}
		y := new(big.Int).SetBytes(be)
		require.Equal(t, -1, y.Cmp(p), i)
		// x^2 = (y^2 - 1) / (d y^2 + 1) (RFC 8032 §5.1.3).
		y2 := mul(y, y)
		x2 := mul(mod(new(big.Int).Sub(y2, big.NewInt(1))), inv(mod(new(big.Int).Add(mul(d, y2), big.NewInt(1)))))
		x := new(big.Int).ModSqrt(x2, p)
		require.NotNil(t, x, "entry %d is not on the curve", i)
		if x.Bit(0) != uint(sign) {
			x = mod(new(big.Int).Neg(x))
		}
		canonical := x.Sign() != 0 || sign == 0
		qx, qy := x, y
		for range 3 {
			qx, qy = add(qx, qy, qx, qy)
		}
		assert.Zero(t, qx.Sign(), i)
		assert.Zero(t, qy.Cmp(big.NewInt(1)), "entry %d: [8]P is not the identity", i)
		if canonical {
			key := x.String() + "," + y.String()
			assert.False(t, seen[key], i)
			seen[key] = true
		}
	}
	assert.Len(t, seen, 8)
}
