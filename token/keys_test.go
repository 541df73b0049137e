package token_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"strconv"
	"sync"
	"testing"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/token"
)

// allAlgs are the algorithms on the allow-list; mainAlgs are the ones
// FAPI 2.0 §5.4.1 allows (ES256, PS256, EdDSA) and RS256.
var (
	mainAlgs = []jwa.SignatureAlgorithm{jwa.ES256, jwa.RS256, jwa.PS256, jwa.EdDSA}
	allAlgs  = []jwa.SignatureAlgorithm{
		jwa.ES256, jwa.ES384, jwa.ES512, jwa.RS256, jwa.RS384, jwa.RS512,
		jwa.PS256, jwa.PS384, jwa.PS512, jwa.EdDSA,
	}
)

var (
	keyCacheMu sync.Mutex
	keyCache   = map[jwa.SignatureAlgorithm]jwk.Key{}
)

// cachedKey returns one signing key per algorithm for the whole test run
// (RSA key generation is slow).
func cachedKey(t testing.TB, alg jwa.SignatureAlgorithm) jwk.Key {
	t.Helper()
	keyCacheMu.Lock()
	defer keyCacheMu.Unlock()
	if k, ok := keyCache[alg]; ok {
		return k
	}
	k, err := token.GenerateSigningKey(alg)
	require.NoError(t, err)
	keyCache[alg] = k
	return k
}

func newKey(t testing.TB, alg jwa.SignatureAlgorithm) jwk.Key {
	t.Helper()
	k, err := token.GenerateSigningKey(alg)
	require.NoError(t, err)
	return k
}

func TestGenerateSigningKey(t *testing.T) {
	for _, alg := range allAlgs {
		t.Run(alg.String(), func(t *testing.T) {
			k := cachedKey(t, alg)
			assert.Equal(t, alg.String(), k.Algorithm().String())
			assert.Equal(t, string(jwk.ForSignature), k.KeyUsage())
			tp, err := k.Thumbprint(crypto.SHA256)
			require.NoError(t, err)
			assert.Equal(t, base64.RawURLEncoding.EncodeToString(tp), k.KeyID(), "kid is the RFC 7638 thumbprint")
			assert.True(t, isPrivate(k))
		})
	}
}

func isPrivate(k jwk.Key) bool {
	var raw any
	if err := k.Raw(&raw); err != nil {
		return false
	}
	switch raw.(type) {
	case *ecdsa.PrivateKey, *rsa.PrivateKey, ed25519.PrivateKey:
		return true
	}
	return false
}

// FAPI 2.0 §5.4.1, RFC 7518 §3: unsupported algorithms and weak keys are
// refused.
func TestUnsupportedAlgorithmsAndWeakKeys(t *testing.T) {
	rsa1024, err := rsa.GenerateKey(rand.Reader, 1024)
	require.NoError(t, err)
	p224, err := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	require.NoError(t, err)
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	require.NoError(t, err)
	p256, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	_, ed, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)

	for _, alg := range []jwa.SignatureAlgorithm{jwa.NoSignature, jwa.HS256, jwa.HS384, jwa.HS512, jwa.ES256K, "ES256 ", "es256", ""} {
		t.Run("GenerateSigningKey refuses "+strconv.Quote(alg.String()), func(t *testing.T) {
			_, err := token.GenerateSigningKey(alg)
			assert.ErrorIs(t, err, token.ErrUnsupportedAlgorithm)
		})
	}

	tests := []struct {
		name string
		raw  any
		alg  jwa.SignatureAlgorithm
		want error
	}{
		{"RSA 1024 bits (RFC 7518 §3.3)", rsa1024, jwa.RS256, token.ErrWeakKey},
		{"RSA 1024 bits for PS256", rsa1024, jwa.PS256, token.ErrWeakKey},
		{"P-224 below P-256 (RFC 7518 §3.4)", p224, jwa.ES256, token.ErrWeakKey},
		{"P-384 key for ES256", p384, jwa.ES256, token.ErrWeakKey},
		{"P-256 key for ES384", p256, jwa.ES384, token.ErrWeakKey},
		{"EC key for RS256", p256, jwa.RS256, token.ErrWeakKey},
		{"Ed25519 key for ES256", ed, jwa.ES256, token.ErrWeakKey},
		{"RSA key for EdDSA", rsa1024, jwa.EdDSA, token.ErrWeakKey},
		{"symmetric key (RFC 9068 §2.1)", []byte("0123456789abcdef0123456789abcdef"), jwa.HS256, token.ErrUnsupportedAlgorithm},
		{"symmetric key with an asymmetric alg", []byte("0123456789abcdef0123456789abcdef"), jwa.ES256, token.ErrWeakKey},
		{"alg none (RFC 8725 §3.1)", p256, jwa.NoSignature, token.ErrUnsupportedAlgorithm},
		{"public key cannot sign", &p256.PublicKey, jwa.ES256, token.ErrWeakKey},
		{"nil", nil, jwa.ES256, token.ErrWeakKey},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := token.NewSigningKey(tc.raw, tc.alg)
			assert.ErrorIs(t, err, tc.want)
		})
	}
}

func TestNewKeySetRejectsUnfitKeys(t *testing.T) {
	good := cachedKey(t, jwa.ES256)
	pub, err := good.PublicKey()
	require.NoError(t, err)

	sym, err := jwk.FromRaw([]byte("0123456789abcdef0123456789abcdef"))
	require.NoError(t, err)
	require.NoError(t, sym.Set(jwk.KeyIDKey, "sym"))
	require.NoError(t, sym.Set(jwk.AlgorithmKey, jwa.HS256))

	noKID, err := good.Clone()
	require.NoError(t, err)
	require.NoError(t, noKID.Remove(jwk.KeyIDKey))

	noAlg, err := good.Clone()
	require.NoError(t, err)
	require.NoError(t, noAlg.Remove(jwk.AlgorithmKey))

	wrongAlg, err := good.Clone()
	require.NoError(t, err)
	require.NoError(t, wrongAlg.Set(jwk.AlgorithmKey, jwa.RS256))

	noneAlg, err := good.Clone()
	require.NoError(t, err)
	require.NoError(t, noneAlg.Set(jwk.AlgorithmKey, jwa.NoSignature))

	encUse, err := good.Clone()
	require.NoError(t, err)
	require.NoError(t, encUse.Set(jwk.KeyUsageKey, jwk.ForEncryption))

	rsa1024, err := rsa.GenerateKey(rand.Reader, 1024)
	require.NoError(t, err)
	weak, err := jwk.FromRaw(rsa1024)
	require.NoError(t, err)
	require.NoError(t, weak.Set(jwk.KeyIDKey, "weak"))
	require.NoError(t, weak.Set(jwk.AlgorithmKey, jwa.RS256))

	tests := []struct {
		name string
		key  jwk.Key
	}{
		{"public key as signing key", pub},
		{"symmetric key (RFC 9068 §2.1)", sym},
		{"no kid", noKID},
		{"no alg", noAlg},
		{"alg does not fit the key type", wrongAlg},
		{"alg none (RFC 8725 §3.1)", noneAlg},
		{"use enc", encUse},
		{"RSA 1024 (RFC 7518 §3.3)", weak},
		{"nil key", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := token.NewKeySet(tc.key)
			assert.Error(t, err)
			_, err = token.NewKeySet(good, tc.key)
			if tc.name == "public key as signing key" {
				assert.Error(t, err, "duplicate kid")
				return
			}
			assert.Error(t, err, "also as a verification key")
		})
	}

	_, err = token.NewKeySet(good, good)
	assert.Error(t, err, "duplicate kid")
}

func TestKeySetRotation(t *testing.T) {
	k1, k2 := newKey(t, jwa.ES256), newKey(t, jwa.EdDSA)
	ks, err := token.NewKeySet(k1)
	require.NoError(t, err)

	sk, alg := ks.SigningKey()
	assert.Equal(t, k1.KeyID(), sk.KeyID())
	assert.Equal(t, jwa.ES256, alg)

	require.NoError(t, ks.Add(k2))
	assert.Error(t, ks.Add(k2), "duplicate kid")
	sk, _ = ks.SigningKey()
	assert.Equal(t, k1.KeyID(), sk.KeyID(), "an added key does not sign")
	assert.Equal(t, []string{k1.KeyID(), k2.KeyID()}, kids(t, ks))
	_, err = ks.VerificationKey(ctx, k2.KeyID())
	assert.NoError(t, err)

	require.NoError(t, ks.Promote(k2.KeyID()))
	sk, alg = ks.SigningKey()
	assert.Equal(t, k2.KeyID(), sk.KeyID())
	assert.Equal(t, jwa.EdDSA, alg)
	assert.ElementsMatch(t, []string{k1.KeyID(), k2.KeyID()}, kids(t, ks), "the old key stays published")

	assert.Error(t, ks.Remove(k2.KeyID()), "the signing key cannot be removed")
	assert.Error(t, ks.Remove("nope"))
	assert.Error(t, ks.Promote("nope"))
	require.NoError(t, ks.Remove(k1.KeyID()))
	assert.Equal(t, []string{k2.KeyID()}, kids(t, ks))
	_, err = ks.VerificationKey(ctx, k1.KeyID())
	assert.ErrorIs(t, err, token.ErrUnknownKey)

	// A public key verifies but can never sign.
	pub, err := k1.PublicKey()
	require.NoError(t, err)
	require.NoError(t, ks.Add(pub))
	assert.Error(t, ks.Promote(k1.KeyID()))
}

func kids(t *testing.T, ks *token.KeySet) []string {
	t.Helper()
	b, err := ks.JWKS()
	require.NoError(t, err)
	var doc struct {
		Keys []map[string]any `json:"keys"`
	}
	require.NoError(t, json.Unmarshal(b, &doc))
	var out []string
	for _, k := range doc.Keys {
		out = append(out, k["kid"].(string))
	}
	return out
}

// RFC 7518 §6, RFC 7517 §4.5: the JWKS holds public members only, with
// distinct kids.
func TestJWKSHasOnlyPublicMembers(t *testing.T) {
	var keys []jwk.Key
	for _, alg := range allAlgs {
		keys = append(keys, cachedKey(t, alg))
	}
	ks, err := token.NewKeySet(keys[0], keys[1:]...)
	require.NoError(t, err)

	b, err := ks.JWKS()
	require.NoError(t, err)
	var doc struct {
		Keys []map[string]any `json:"keys"`
	}
	require.NoError(t, json.Unmarshal(b, &doc))
	require.Len(t, doc.Keys, len(allAlgs))
	seen := map[string]bool{}
	for i, k := range doc.Keys {
		for _, private := range []string{"d", "p", "q", "dp", "dq", "qi", "k", "oth"} {
			assert.NotContains(t, k, private, "key %d", i)
		}
		kid, _ := k["kid"].(string)
		assert.NotEmpty(t, kid)
		assert.False(t, seen[kid], "kids are unique")
		seen[kid] = true
		assert.Equal(t, "sig", k["use"])
		assert.Equal(t, allAlgs[i].String(), k["alg"])
	}

	set := ks.PublicKeys()
	assert.Equal(t, len(allAlgs), set.Len())
	for i := range set.Len() {
		k, _ := set.Key(i)
		assert.False(t, isPrivate(k))
	}
	for _, k := range keys {
		v, err := ks.VerificationKey(ctx, k.KeyID())
		require.NoError(t, err)
		assert.False(t, isPrivate(v))
	}

	// The returned document is a copy.
	b[0] = 'X'
	b2, err := ks.JWKS()
	require.NoError(t, err)
	assert.Equal(t, byte('{'), b2[0])

	// A key with private custom members does not leak them either.
	withExtra, err := cachedKey(t, jwa.ES256).Clone()
	require.NoError(t, err)
	require.NoError(t, withExtra.Set(jwk.KeyIDKey, "extra"))
	require.NoError(t, withExtra.Set("k", "c2VjcmV0"))
	require.NoError(t, ks.Add(withExtra))
	b, err = ks.JWKS()
	require.NoError(t, err)
	assert.NotContains(t, string(b), "c2VjcmV0")
}

func TestKeySetConcurrentUse(t *testing.T) {
	ks, err := token.NewKeySet(newKey(t, jwa.ES256))
	require.NoError(t, err)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k := newKey(t, jwa.EdDSA)
			assert.NoError(t, ks.Add(k))
			if i%2 == 0 {
				assert.NoError(t, ks.Promote(k.KeyID()))
			}
			_, _ = ks.JWKS()
			_ = ks.PublicKeys()
			_, _ = ks.SigningKey()
		}()
	}
	wg.Wait()
	assert.Equal(t, 9, ks.PublicKeys().Len())
}
