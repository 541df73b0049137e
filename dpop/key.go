package dpop

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"math/big"
	"slices"
	"sync"

	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/grantor-dev/grantor/internal/jose"
)

// The jwk header of a proof (RFC 9449 §4.2) is the key the proof is signed
// with and whose thumbprint binds tokens to it. It must be a public key of
// a type the proof's alg uses (RFC 9449 §4.3 steps 6 and 7).

// RSA keys accepted: below MinRSAKeyBits is too weak (RFC 7518 §3.3);
// above Config.MaxRSAKeyBits (at most MaxRSAKeyBits), or with another
// public exponent than 65537, a key costs more to verify a made-up proof
// with than any client needs: the exponent of every common
// implementation is 65537 (FIPS 186-5 allows any odd e from 2^16+1 to
// 2^256, and verifying costs more as e grows).
const (
	// MinRSAKeyBits is the smallest RSA modulus of a proof's jwk, in bits
	// (RFC 7518 §3.3).
	MinRSAKeyBits = 2048
	// MaxRSAKeyBits is the largest RSA modulus of a proof's jwk, in bits,
	// and the largest Config.MaxRSAKeyBits.
	MaxRSAKeyBits = 4096
	rsaExponent   = 65537
)

// ed25519SmallOrder are the encodings of the eight points of small order
// of edwards25519 (the 8-torsion subgroup), with the two encodings of x
// = 0 with the sign bit set: a public key among them verifies signatures
// that no private key made ("Taming the many EdDSAs", Brendel et al.,
// 2020, §3), so anyone could make proofs for its thumbprint.
var ed25519SmallOrder = [...][ed25519.PublicKeySize]byte{
	// (0, 1), the identity, and its encoding with the sign bit set.
	{0x01},
	{0x01, 31: 0x80},
	// (0, -1), of order 2, and its encoding with the sign bit set.
	{0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
	{0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
	// (±sqrt(-1), 0), of order 4.
	{},
	{31: 0x80},
	// The four points of order 8.
	{0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b, 0x76, 0x0d, 0x10, 0x67, 0x0f,
		0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39, 0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac, 0x03, 0x7a},
	{0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b, 0x76, 0x0d, 0x10, 0x67, 0x0f,
		0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39, 0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac, 0x03, 0xfa},
	{0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4, 0x89, 0xf2, 0xef, 0x98, 0xf0,
		0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6, 0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53, 0xfc, 0x05},
	{0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4, 0x89, 0xf2, 0xef, 0x98, 0xf0,
		0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6, 0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53, 0xfc, 0x85},
}

// ed25519Acceptable reports whether pub is the canonical encoding (RFC
// 8032 §5.1.3: y below p = 2^255 - 19) of a point that is not of small
// order. crypto/ed25519 accepts both kinds: a non-canonical encoding is
// a second JWK, with another thumbprint, for the same point.
func ed25519Acceptable(pub []byte) bool {
	if len(pub) != ed25519.PublicKeySize {
		return false
	}
	for i := range ed25519SmallOrder {
		if [ed25519.PublicKeySize]byte(pub) == ed25519SmallOrder[i] {
			return false
		}
	}
	// y >= p exactly when bytes 1 to 30 are 0xff, the top byte without
	// the sign bit 0x7f and the first at least 0xed.
	if pub[31]&0x7f != 0x7f || pub[0] < 0xed {
		return true
	}
	for _, b := range pub[1:31] {
		if b != 0xff {
			return true
		}
	}
	return false
}

// privateJWKMembers are the members that only a private or symmetric key
// has (RFC 7518 §6.2.2, §6.3.2, §6.4.1; RFC 8037 §2). Any of them refuses
// the proof (RFC 9449 §4.3 step 7): the client has published its key.
var privateJWKMembers = [...]string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"}

// proofKey is a parsed jwk header, reduced to what the checks need.
type proofKey struct {
	kind       keyKind
	raw        any    // *ecdsa.PublicKey, ed25519.PublicKey or *rsa.PublicKey
	alg        string // the JWK's own "alg" member, if any (RFC 7517 §4.4)
	thumbprint string // RFC 7638 SHA-256, base64url
}

type keyKind uint8

const (
	keyP256 keyKind = iota + 1
	keyP384
	keyP521
	keyEd25519
	keyRSA
)

// fits reports whether k can verify a signature with alg: the key's type
// and curve decide it, not the header alone (RFC 8725 §3.1).
func (k *proofKey) fits(alg string) bool {
	if k.alg != "" && k.alg != alg {
		return false
	}
	switch alg {
	case "ES256":
		return k.kind == keyP256
	case "ES384":
		return k.kind == keyP384
	case "ES512":
		return k.kind == keyP521
	case "EdDSA":
		return k.kind == keyEd25519
	case "RS256", "RS384", "RS512", "PS256", "PS384", "PS512":
		return k.kind == keyRSA
	}
	return false
}

// parseProofKey parses the raw JSON value of a jwk header: a JSON object
// without duplicate members (RFC 7515 §5.2), nested at most maxJSONDepth
// deep, with no private member (RFC 9449 §4.3 step 7), that jwx parses as
// an EC (P-256, P-384, P-521, on the curve), Ed25519 (canonical, not of
// small order) or RSA (MinRSAKeyBits to maxRSABits, e = 65537) public
// key whose "use", if any, is "sig" and whose "key_ops", if any, include
// "verify" (RFC 7517 §4.2, §4.3). It returns a fixed description of the
// first failure.
func parseProofKey(b []byte, maxRSABits int) (*proofKey, string) {
	var r jose.ObjectReader
	if r.Init(b, maxJSONDepth) != nil {
		return nil, descJWKNotObject
	}
	for {
		name, _, ok, err := r.Next()
		if err != nil {
			return nil, descJWKNotObject
		}
		if !ok {
			break
		}
		for _, m := range privateJWKMembers {
			if string(name) == m {
				return nil, descJWKPrivate
			}
		}
	}
	key, err := jwk.ParseKey(b)
	if err != nil {
		return nil, descJWKUnusable
	}
	if use := key.KeyUsage(); use != "" && use != string(jwk.ForSignature) {
		return nil, descJWKUnusable
	}
	if ops := key.KeyOps(); len(ops) > 0 {
		verify := false
		for _, op := range ops {
			verify = verify || op == jwk.KeyOpVerify
		}
		if !verify {
			return nil, descJWKUnusable
		}
	}
	pk := &proofKey{alg: key.Algorithm().String()}
	switch key.(type) {
	case jwk.ECDSAPublicKey, jwk.OKPPublicKey, jwk.RSAPublicKey:
	default: // a symmetric key without "k", say
		return nil, descJWKUnusable
	}
	var raw any
	if err := key.Raw(&raw); err != nil {
		return nil, descJWKUnusable
	}
	switch pub := raw.(type) {
	case *ecdsa.PublicKey:
		switch pub.Curve {
		case elliptic.P256():
			pk.kind = keyP256
		case elliptic.P384():
			pk.kind = keyP384
		case elliptic.P521():
			pk.kind = keyP521
		default:
			return nil, descJWKUnusable
		}
		if _, err := pub.ECDH(); err != nil { // not a point on the curve
			return nil, descJWKUnusable
		}
	case ed25519.PublicKey:
		if !ed25519Acceptable(pub) {
			return nil, descJWKUnusable
		}
		pk.kind = keyEd25519
	case *rsa.PublicKey:
		if bits := pub.N.BitLen(); bits < MinRSAKeyBits || bits > maxRSABits || pub.E != rsaExponent {
			return nil, descJWKUnusable
		}
		pk.kind = keyRSA
	default: // X25519 and other OKP curves
		return nil, descJWKUnusable
	}
	pk.raw = raw
	if pk.thumbprint, err = Thumbprint(key); err != nil {
		return nil, descJWKUnusable
	}
	return pk, ""
}

// copyPublicKey returns a deep copy of a key of proofKey.raw, so that a
// caller who changes the key of a Proof does not change the cached one.
func copyPublicKey(raw any) any {
	switch k := raw.(type) {
	case *ecdsa.PublicKey:
		b, err := k.Bytes()
		if err != nil {
			return nil
		}
		c, err := ecdsa.ParseUncompressedPublicKey(k.Curve, b)
		if err != nil {
			return nil
		}
		return c
	case ed25519.PublicKey:
		return slices.Clone(k)
	case *rsa.PublicKey:
		return &rsa.PublicKey{N: new(big.Int).Set(k.N), E: k.E}
	}
	return nil
}

// keyCacheSize bounds the parsed keys a Verifier keeps; the cache is
// emptied when full, so that keys made up by an attacker cost memory only
// up to this bound.
const keyCacheSize = 1024

// maxCachedJWKLength bounds the JSON text of a jwk the cache keeps, so
// that the cache holds at most keyCacheSize times this many bytes of
// keys: an RSA-4096 public JWK with every optional member takes less
// than 1 KiB. A longer jwk, whitespace or unknown members, is parsed
// each time it is used.
const maxCachedJWKLength = 2 << 10

// keyCache keeps parsed jwk headers by their exact JSON text: a client
// signs its proofs with one key for a long time, and parsing it (jwx, the
// thumbprint, the curve check) costs more than the rest of a proof's
// checks but the signature. Equal bytes parse to equal keys, so the cache
// changes no outcome. Only keys that verified a proof's signature are
// added: a key taken from a refused proof, which anyone can make up,
// neither evicts the keys of clients nor takes their place.
type keyCache struct {
	mu sync.RWMutex
	m  map[string]*proofKey
}

// lookup returns the key parsed from b, if the cache has it.
func (c *keyCache) lookup(b []byte) (*proofKey, bool) {
	c.mu.RLock()
	k, ok := c.m[string(b)]
	c.mu.RUnlock()
	return k, ok
}

// add keeps k, parsed from b, unless b is longer than maxCachedJWKLength.
func (c *keyCache) add(b []byte, k *proofKey) {
	if len(b) > maxCachedJWKLength {
		return
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= keyCacheSize {
		c.m = make(map[string]*proofKey)
	}
	c.m[string(b)] = k
	c.mu.Unlock()
}
