package jose

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"errors"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
)

// KeyType is the kind of a verification Key: it decides, with the curve and
// the JWK's alg member, which JWS algorithms the key may verify.
type KeyType int

// Key types (RFC 7518 §6.1, RFC 8037 §2).
const (
	// KeyRSA is an RSA public key ("kty":"RSA", RFC 7518 §6.3).
	KeyRSA KeyType = iota + 1
	// KeyEC is an elliptic curve public key on P-256, P-384 or P-521
	// ("kty":"EC", RFC 7518 §6.2).
	KeyEC
	// KeyEd25519 is an Ed25519 public key ("kty":"OKP", RFC 8037 §2).
	KeyEd25519
	// KeyOct is a symmetric (HMAC) key ("kty":"oct", RFC 7518 §6.4). Only
	// HMACKey makes one: PublicKeys never returns it.
	KeyOct
)

// Key is a verification key reduced to what a JWS verifier needs. The
// zero Key verifies nothing.
type Key struct {
	// KID is the JWK's "kid" (RFC 7517 §4.5), "" without one.
	KID string
	// Alg is the JWK's "alg" member (RFC 7517 §4.4), "" without one. When
	// set, the key verifies that algorithm only.
	Alg string
	// Type is the key's type.
	Type KeyType
	// Curve is the curve of a KeyEC key, nil otherwise.
	Curve elliptic.Curve
	// Raw is the key itself: *rsa.PublicKey, *ecdsa.PublicKey,
	// ed25519.PublicKey, or []byte for KeyOct.
	Raw any
}

// HMACKey returns the symmetric key secret as a Key, for client_secret_jwt
// (RFC 7523 §2.2, RFC 7518 §3.2). It verifies HS256, HS384 or HS512 only,
// and only when secret is at least as long as the hash output.
func HMACKey(secret []byte) Key {
	return Key{Type: KeyOct, Raw: secret}
}

// Supports reports whether k may verify a JWS with alg. The algorithm is
// decided by the key's type, curve and alg member, never by the header
// alone (RFC 8725 §3.1, Authlib CVE-2024-37568): an RSA, EC or OKP key
// never verifies HS*, and a key with an alg member verifies that one only.
func (k *Key) Supports(alg string) bool {
	if k.Alg != "" && k.Alg != alg {
		return false
	}
	switch alg {
	case "RS256", "RS384", "RS512", "PS256", "PS384", "PS512":
		return k.Type == KeyRSA
	case "ES256":
		return k.Type == KeyEC && k.Curve == elliptic.P256()
	case "ES384":
		return k.Type == KeyEC && k.Curve == elliptic.P384()
	case "ES512":
		return k.Type == KeyEC && k.Curve == elliptic.P521()
	case "EdDSA":
		return k.Type == KeyEd25519
	case "HS256":
		return k.hmacLen() >= 32
	case "HS384":
		return k.hmacLen() >= 48
	case "HS512":
		return k.hmacLen() >= 64
	}
	return false
}

func (k *Key) hmacLen() int {
	if k.Type != KeyOct {
		return -1
	}
	b, ok := k.Raw.([]byte)
	if !ok {
		return -1
	}
	return len(b)
}

// PublicKeys converts a JWK Set (RFC 7517 §5) into verification keys, in
// set order. It keeps public signature keys only: private keys (a
// published private key is compromised), symmetric keys, keys whose use or
// key_ops exclude verification (IsPublicSignatureJWK), RSA keys outside
// 2048-8192 bits (RFC 7518 §3.3), EC keys on other curves than P-256,
// P-384 and P-521 or not on their curve, and malformed Ed25519 keys are
// dropped. A nil set gives no keys.
func PublicKeys(set jwk.Set) []Key {
	if set == nil {
		return nil
	}
	keys := make([]Key, 0, set.Len())
	for i := 0; i < set.Len(); i++ {
		k, ok := set.Key(i)
		if !ok || !IsPublicSignatureJWK(k) {
			continue
		}
		vk := Key{KID: k.KeyID(), Alg: k.Algorithm().String()}
		var raw any
		if err := k.Raw(&raw); err != nil {
			continue
		}
		switch pub := raw.(type) {
		case *rsa.PublicKey:
			if bits := pub.N.BitLen(); bits < 2048 || bits > 8192 {
				continue
			}
			vk.Type, vk.Raw = KeyRSA, pub
		case *ecdsa.PublicKey:
			if pub.Curve != elliptic.P256() && pub.Curve != elliptic.P384() && pub.Curve != elliptic.P521() {
				continue
			}
			if _, err := pub.ECDH(); err != nil { // not a point on the curve
				continue
			}
			vk.Type, vk.Curve, vk.Raw = KeyEC, pub.Curve, pub
		case ed25519.PublicKey:
			if len(pub) != ed25519.PublicKeySize {
				continue
			}
			vk.Type, vk.Raw = KeyEd25519, pub
		default:
			continue
		}
		keys = append(keys, vk)
	}
	return keys
}

// IsPublicSignatureJWK reports whether k is a public key usable to verify
// signatures: an RSA, EC or OKP public key whose "use", if any, is "sig"
// and whose "key_ops", if any, include "verify" (RFC 7517 §4.2-4.3).
// Private and symmetric keys are not.
func IsPublicSignatureJWK(k jwk.Key) bool {
	// Private keys first: jwx's OKP private key also satisfies
	// jwk.OKPPublicKey.
	switch k.(type) {
	case jwk.RSAPrivateKey, jwk.ECDSAPrivateKey, jwk.OKPPrivateKey, jwk.SymmetricKey:
		return false
	case jwk.RSAPublicKey, jwk.ECDSAPublicKey, jwk.OKPPublicKey:
	default:
		return false
	}
	if use := k.KeyUsage(); use != "" && use != "sig" {
		return false
	}
	if ops := k.KeyOps(); len(ops) > 0 {
		for _, op := range ops {
			if op == jwk.KeyOpVerify {
				return true
			}
		}
		return false
	}
	return true
}

// ErrUnsupportedAlg is returned by VerifyWithKeys for an algorithm jwx
// cannot verify.
var ErrUnsupportedAlg = errors.New("jose: alg is not supported")

// VerifyWithKeys verifies signature over signingInput with alg, trying
// each key of keys that Supports alg, at most maxTrials of them, and
// reports whether one verified it. With byKID, only the keys whose KID is
// kid are tried, or, when no key carries kid, the keys without a KID
// (RFC 7515 §4.1.4 leaves the matching to the application). It returns
// ErrUnsupportedAlg when alg is not a JWS algorithm jwx verifies.
func VerifyWithKeys(keys []Key, alg, kid string, byKID bool, signingInput, signature []byte, maxTrials int) (bool, error) {
	v, err := jws.NewVerifier(jwa.SignatureAlgorithm(alg))
	if err != nil {
		return false, ErrUnsupportedAlg
	}
	if byKID && !HasKID(keys, kid) {
		kid = ""
	}
	trials := 0
	for i := range keys {
		k := &keys[i]
		if byKID && k.KID != kid {
			continue
		}
		if !k.Supports(alg) {
			continue
		}
		if trials >= maxTrials {
			break
		}
		trials++
		if v.Verify(signingInput, signature, k.Raw) == nil {
			return true, nil
		}
	}
	return false, nil
}

// HasKID reports whether one of keys has the KID kid.
func HasKID(keys []Key, kid string) bool {
	for i := range keys {
		if keys[i].KID == kid {
			return true
		}
	}
	return false
}

// SameKeys reports whether a and b hold the same keys in the same order,
// so that a verifier that refreshed a key set knows whether retrying is
// worth it.
func SameKeys(a, b []Key) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].KID != b[i].KID || a[i].Alg != b[i].Alg || a[i].Type != b[i].Type {
			return false
		}
		if !rawKeyEqual(a[i].Raw, b[i].Raw) {
			return false
		}
	}
	return true
}

func rawKeyEqual(a, b any) bool {
	type equaler interface{ Equal(crypto.PublicKey) bool }
	switch x := a.(type) {
	case []byte:
		y, ok := b.([]byte)
		return ok && bytes.Equal(x, y)
	case ed25519.PublicKey:
		y, ok := b.(ed25519.PublicKey)
		return ok && bytes.Equal(x, y)
	case equaler:
		return x.Equal(b)
	}
	return false
}

// MaxNumericDate is the latest NumericDate NumericDateTime accepts,
// 9999-12-31T23:59:59Z.
const MaxNumericDate = 253402300799

// ErrDateRange is returned by NumericDateTime for a date before 1970 or
// after MaxNumericDate.
var ErrDateRange = errors.New("jose: NumericDate out of range")

// NumericDateTime decodes a raw JSON value from ObjectReader.Next that must
// be a NumericDate (RFC 7519 §2), possibly fractional, into a UTC time.
// It refuses a value that is not a number (ErrType) and one before 1970 or
// after MaxNumericDate (ErrDateRange): no JWT Grantor accepts was issued
// or expires outside that range.
func NumericDateTime(raw []byte) (time.Time, error) {
	sec, frac, err := NumericDate(raw)
	if err != nil {
		return time.Time{}, err
	}
	if sec < 0 || frac < 0 || sec > MaxNumericDate || (sec == MaxNumericDate && frac > 0) {
		return time.Time{}, ErrDateRange
	}
	return time.Unix(sec, int64(frac*1e9)).UTC(), nil
}
