package jose_test

import (
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/internal/jose"
)

type testKeys struct {
	rsa     *rsa.PrivateKey
	rsa1024 *rsa.PrivateKey
	p256    *ecdsa.PrivateKey
	p384    *ecdsa.PrivateKey
	p521    *ecdsa.PrivateKey
	ed      ed25519.PrivateKey
}

var (
	keysOnce sync.Once
	keysVal  testKeys
)

func theKeys(t testing.TB) *testKeys {
	t.Helper()
	keysOnce.Do(func() {
		var err error
		k := &keysVal
		if k.rsa, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
		if k.rsa1024, err = rsa.GenerateKey(rand.Reader, 1024); err != nil {
			panic(err)
		}
		for _, c := range []struct {
			dst   **ecdsa.PrivateKey
			curve elliptic.Curve
		}{{&k.p256, elliptic.P256()}, {&k.p384, elliptic.P384()}, {&k.p521, elliptic.P521()}} {
			if *c.dst, err = ecdsa.GenerateKey(c.curve, rand.Reader); err != nil {
				panic(err)
			}
		}
		if _, k.ed, err = ed25519.GenerateKey(rand.Reader); err != nil {
			panic(err)
		}
	})
	return &keysVal
}

// jwkOf turns raw into a JWK with the given members set.
func jwkOf(t testing.TB, raw any, members map[string]any) jwk.Key {
	t.Helper()
	k, err := jwk.FromRaw(raw)
	require.NoError(t, err)
	for name, v := range members {
		require.NoError(t, k.Set(name, v))
	}
	return k
}

func setOf(t testing.TB, keys ...jwk.Key) jwk.Set {
	t.Helper()
	s := jwk.NewSet()
	for _, k := range keys {
		require.NoError(t, s.AddKey(k))
	}
	return s
}

func TestPublicKeysKeepsPublicSignatureKeysOnly(t *testing.T) {
	k := theKeys(t)
	x25519, err := ecdh.X25519().GenerateKey(rand.Reader)
	require.NoError(t, err)
	x25519JWK, err := jwk.ParseKey([]byte(`{"kty":"OKP","crv":"X25519","x":"` +
		base64.RawURLEncoding.EncodeToString(x25519.PublicKey().Bytes()) + `"}`))
	require.NoError(t, err)
	// An EC public key moved off its curve (RFC 7518 §6.2.1: the point
	// must be on the curve; invalid-curve attacks): y replaced by x.
	point, err := k.p256.PublicKey.Bytes()
	require.NoError(t, err)
	xB64 := base64.RawURLEncoding.EncodeToString(point[1:33])

	cases := []struct {
		name string
		key  jwk.Key
		keep bool
	}{
		{"RSA 2048 public key", jwkOf(t, &k.rsa.PublicKey, map[string]any{"kid": "rsa"}), true},
		{"P-256 public key", jwkOf(t, &k.p256.PublicKey, map[string]any{"kid": "p256"}), true},
		{"P-521 public key", jwkOf(t, &k.p521.PublicKey, nil), true},
		{"Ed25519 public key", jwkOf(t, k.ed.Public(), nil), true},
		{"use sig kept", jwkOf(t, &k.p384.PublicKey, map[string]any{"use": "sig"}), true},
		{"key_ops with verify kept", jwkOf(t, &k.p384.PublicKey, map[string]any{"key_ops": []string{"verify"}}), true},
		{"RSA private key dropped", jwkOf(t, k.rsa, nil), false},
		{"EC private key dropped", jwkOf(t, k.p256, nil), false},
		{"Ed25519 private key dropped", jwkOf(t, k.ed, nil), false},
		{"symmetric key dropped", jwkOf(t, make([]byte, 32), nil), false},
		{"use enc dropped", jwkOf(t, &k.rsa.PublicKey, map[string]any{"use": "enc"}), false},
		{"key_ops without verify dropped", jwkOf(t, &k.p256.PublicKey, map[string]any{"key_ops": []string{"encrypt"}}), false},
		{"RSA 1024 dropped (RFC 7518 §3.3)", jwkOf(t, &k.rsa1024.PublicKey, nil), false},
		{"X25519 (not a signature curve) dropped", x25519JWK, false},
	}
	if shortEd, err := jwk.FromRaw(ed25519.PublicKey(make([]byte, 31))); err == nil {
		cases = append(cases, struct {
			name string
			key  jwk.Key
			keep bool
		}{"Ed25519 key of 31 bytes dropped", shortEd, false})
	}
	offJWK, err := jwk.ParseKey([]byte(`{"kty":"EC","crv":"P-256","x":"` + xB64 + `","y":"` + xB64 + `"}`))
	if err == nil {
		cases = append(cases, struct {
			name string
			key  jwk.Key
			keep bool
		}{"EC point off the curve dropped", offJWK, false})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := jose.PublicKeys(setOf(t, c.key))
			if c.keep {
				require.Len(t, got, 1)
				assert.Equal(t, c.key.KeyID(), got[0].KID)
				assert.True(t, jose.IsPublicSignatureJWK(c.key))
			} else {
				assert.Empty(t, got)
			}
			if strings.Contains(c.name, "private") || strings.Contains(c.name, "symmetric") || strings.Contains(c.name, "use enc") || strings.Contains(c.name, "key_ops without") {
				assert.False(t, jose.IsPublicSignatureJWK(c.key), "RFC 7517 §4.2-4.3")
			}
		})
	}

	t.Run("order kept, nil set", func(t *testing.T) {
		got := jose.PublicKeys(setOf(t,
			jwkOf(t, k.rsa, map[string]any{"kid": "private"}),
			jwkOf(t, &k.p256.PublicKey, map[string]any{"kid": "a", "alg": "ES256"}),
			jwkOf(t, &k.rsa.PublicKey, map[string]any{"kid": "b"}),
		))
		require.Len(t, got, 2)
		assert.Equal(t, "a", got[0].KID)
		assert.Equal(t, "ES256", got[0].Alg)
		assert.Equal(t, jose.KeyEC, got[0].Type)
		assert.Equal(t, "b", got[1].KID)
		assert.Equal(t, jose.KeyRSA, got[1].Type)
		assert.Nil(t, jose.PublicKeys(nil))
	})
}

func TestKeySupports(t *testing.T) {
	k := theKeys(t)
	one := func(raw any, members map[string]any) jose.Key {
		keys := jose.PublicKeys(setOf(t, jwkOf(t, raw, members)))
		require.Len(t, keys, 1)
		return keys[0]
	}
	algs := []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA", "HS256", "HS384", "HS512", "none", ""}
	cases := []struct {
		name string
		key  jose.Key
		ok   []string
	}{
		{"RSA", one(&k.rsa.PublicKey, nil), []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}},
		{"P-256", one(&k.p256.PublicKey, nil), []string{"ES256"}},
		{"P-384", one(&k.p384.PublicKey, nil), []string{"ES384"}},
		{"P-521", one(&k.p521.PublicKey, nil), []string{"ES512"}},
		{"Ed25519", one(k.ed.Public(), nil), []string{"EdDSA"}},
		{"RSA with alg PS256 (RFC 7517 §4.4)", one(&k.rsa.PublicKey, map[string]any{"alg": "PS256"}), []string{"PS256"}},
		{"P-256 with alg ES384 verifies nothing", one(&k.p256.PublicKey, map[string]any{"alg": "ES384"}), nil},
		{"HMAC 32 bytes", jose.HMACKey(make([]byte, 32)), []string{"HS256"}},
		{"HMAC 48 bytes", jose.HMACKey(make([]byte, 48)), []string{"HS256", "HS384"}},
		{"HMAC 64 bytes", jose.HMACKey(make([]byte, 64)), []string{"HS256", "HS384", "HS512"}},
		{"HMAC 31 bytes", jose.HMACKey(make([]byte, 31)), nil},
		{"zero key", jose.Key{}, nil},
		// An RSA key claiming to be oct must not make HS* reachable.
		{"RSA raw typed as oct", jose.Key{Type: jose.KeyOct, Raw: &k.rsa.PublicKey}, nil},
		{"bytes typed as RSA never verify HS*", jose.Key{Type: jose.KeyRSA, Raw: make([]byte, 64)}, []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, alg := range algs {
				want := false
				for _, a := range c.ok {
					want = want || a == alg
				}
				assert.Equal(t, want, c.key.Supports(alg), "alg %q", alg)
			}
		})
	}
}

func signCompact(t testing.TB, alg jwa.SignatureAlgorithm, key any, kid string) (signingInput, signature []byte) {
	t.Helper()
	hdr := jws.NewHeaders()
	if kid != "" {
		require.NoError(t, hdr.Set(jws.KeyIDKey, kid))
	}
	tok, err := jws.Sign([]byte(`{"iss":"x"}`), jws.WithKey(alg, key, jws.WithProtectedHeaders(hdr)))
	require.NoError(t, err)
	c, err := jose.SplitCompact(string(tok), 1<<20)
	require.NoError(t, err)
	j, err := c.Decode()
	require.NoError(t, err)
	return j.SigningInput, j.Signature
}

func TestVerifyWithKeys(t *testing.T) {
	k := theKeys(t)
	other, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	pubKeys := func(keys ...jwk.Key) []jose.Key { return jose.PublicKeys(setOf(t, keys...)) }

	in, sig := signCompact(t, jwa.ES256, k.p256, "k1")

	t.Run("kid selects the key", func(t *testing.T) {
		keys := pubKeys(jwkOf(t, &other.PublicKey, map[string]any{"kid": "k0"}), jwkOf(t, &k.p256.PublicKey, map[string]any{"kid": "k1"}))
		ok, err := jose.VerifyWithKeys(keys, "ES256", "k1", true, in, sig, 1)
		require.NoError(t, err)
		assert.True(t, ok)
	})
	t.Run("a kid no key has falls back to the keys without kid", func(t *testing.T) {
		keys := pubKeys(jwkOf(t, &other.PublicKey, map[string]any{"kid": "k0"}), jwkOf(t, &k.p256.PublicKey, nil))
		ok, err := jose.VerifyWithKeys(keys, "ES256", "unknown", true, in, sig, 1)
		require.NoError(t, err)
		assert.True(t, ok)
	})
	t.Run("a kid some key has never tries the others", func(t *testing.T) {
		keys := pubKeys(jwkOf(t, &other.PublicKey, map[string]any{"kid": "k1"}), jwkOf(t, &k.p256.PublicKey, map[string]any{"kid": "k2"}))
		ok, err := jose.VerifyWithKeys(keys, "ES256", "k1", true, in, sig, 8)
		require.NoError(t, err)
		assert.False(t, ok)
	})
	t.Run("without byKID every fitting key is tried", func(t *testing.T) {
		keys := pubKeys(jwkOf(t, &other.PublicKey, map[string]any{"kid": "k1"}), jwkOf(t, &k.p256.PublicKey, map[string]any{"kid": "k2"}))
		ok, err := jose.VerifyWithKeys(keys, "ES256", "k1", false, in, sig, 8)
		require.NoError(t, err)
		assert.True(t, ok)
	})
	t.Run("at most maxTrials keys are tried", func(t *testing.T) {
		keys := pubKeys(jwkOf(t, &other.PublicKey, nil), jwkOf(t, &k.p256.PublicKey, nil))
		ok, err := jose.VerifyWithKeys(keys, "ES256", "", false, in, sig, 1)
		require.NoError(t, err)
		assert.False(t, ok)
		ok, err = jose.VerifyWithKeys(keys, "ES256", "", false, in, sig, 2)
		require.NoError(t, err)
		assert.True(t, ok)
	})
	t.Run("keys of another type do not count as trials", func(t *testing.T) {
		keys := pubKeys(jwkOf(t, &k.rsa.PublicKey, nil), jwkOf(t, k.ed.Public(), nil), jwkOf(t, &k.p256.PublicKey, nil))
		ok, err := jose.VerifyWithKeys(keys, "ES256", "", false, in, sig, 1)
		require.NoError(t, err)
		assert.True(t, ok)
	})
	t.Run("a signature over other bytes fails", func(t *testing.T) {
		keys := pubKeys(jwkOf(t, &k.p256.PublicKey, nil))
		bad := append([]byte{}, in...)
		bad[len(bad)-1] ^= 1
		ok, err := jose.VerifyWithKeys(keys, "ES256", "", false, bad, sig, 8)
		require.NoError(t, err)
		assert.False(t, ok)
	})
	t.Run("alg confusion: HS256 with the RSA public key as secret", func(t *testing.T) {
		pemLike := k.rsa.PublicKey.N.Bytes() // any bytes a forger knows
		hin, hsig := signCompact(t, jwa.HS256, pemLike, "")
		keys := pubKeys(jwkOf(t, &k.rsa.PublicKey, nil))
		ok, err := jose.VerifyWithKeys(keys, "HS256", "", false, hin, hsig, 8)
		require.NoError(t, err)
		assert.False(t, ok)
	})
	t.Run("HMAC key for client_secret_jwt", func(t *testing.T) {
		secret := make([]byte, 32)
		hin, hsig := signCompact(t, jwa.HS256, secret, "")
		ok, err := jose.VerifyWithKeys([]jose.Key{jose.HMACKey(secret)}, "HS256", "", false, hin, hsig, 8)
		require.NoError(t, err)
		assert.True(t, ok)
	})
	t.Run("unsupported alg", func(t *testing.T) {
		_, err := jose.VerifyWithKeys(nil, "XS999", "", false, in, sig, 8)
		assert.ErrorIs(t, err, jose.ErrUnsupportedAlg)
	})
}

func TestSameKeys(t *testing.T) {
	k := theKeys(t)
	a := jose.PublicKeys(setOf(t, jwkOf(t, &k.p256.PublicKey, map[string]any{"kid": "1"}), jwkOf(t, &k.rsa.PublicKey, nil)))
	b := jose.PublicKeys(setOf(t, jwkOf(t, &k.p256.PublicKey, map[string]any{"kid": "1"}), jwkOf(t, &k.rsa.PublicKey, nil)))
	assert.True(t, jose.SameKeys(a, b))
	assert.False(t, jose.SameKeys(a, b[:1]))
	c := jose.PublicKeys(setOf(t, jwkOf(t, &k.p256.PublicKey, map[string]any{"kid": "2"}), jwkOf(t, &k.rsa.PublicKey, nil)))
	assert.False(t, jose.SameKeys(a, c), "kid differs")
	d := jose.PublicKeys(setOf(t, jwkOf(t, &k.p384.PublicKey, map[string]any{"kid": "1"}), jwkOf(t, &k.rsa.PublicKey, nil)))
	assert.False(t, jose.SameKeys(a, d), "key differs")
	e1 := jose.PublicKeys(setOf(t, jwkOf(t, k.ed.Public(), nil)))
	e2 := jose.PublicKeys(setOf(t, jwkOf(t, k.ed.Public(), nil)))
	assert.True(t, jose.SameKeys(e1, e2))
	assert.True(t, jose.SameKeys([]jose.Key{jose.HMACKey([]byte("abc"))}, []jose.Key{jose.HMACKey([]byte("abc"))}))
	assert.False(t, jose.SameKeys([]jose.Key{jose.HMACKey([]byte("abc"))}, []jose.Key{jose.HMACKey([]byte("abd"))}))
}

func TestNumericDateTime(t *testing.T) {
	got, err := jose.NumericDateTime([]byte("1700000000"))
	require.NoError(t, err)
	assert.Equal(t, time.Unix(1700000000, 0).UTC(), got)
	got, err = jose.NumericDateTime([]byte("1700000000.5"))
	require.NoError(t, err)
	assert.Equal(t, time.Unix(1700000000, 5e8).UTC(), got)
	got, err = jose.NumericDateTime([]byte("253402300799"))
	require.NoError(t, err)
	assert.Equal(t, 9999, got.Year())
	for _, bad := range []string{"-1", "-0.5", "253402300800", "253402300799.5", "1e300"} {
		_, err := jose.NumericDateTime([]byte(bad))
		assert.True(t, errors.Is(err, jose.ErrDateRange) || errors.Is(err, jose.ErrType), "%s: %v", bad, err)
	}
	for _, bad := range []string{`"1700000000"`, "null", "true", "[1]"} {
		_, err := jose.NumericDateTime([]byte(bad))
		assert.ErrorIs(t, err, jose.ErrType, bad)
	}
}
