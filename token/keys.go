package token

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
)

// MinRSABits is the smallest RSA modulus accepted for a signing or
// verification key (RFC 7518 §3.3, §3.5; FAPI 2.0 §5.4.1).
const MinRSABits = 2048

// generatedRSABits is the modulus size of keys made by GenerateSigningKey.
const generatedRSABits = 2048

// maxKIDLen bounds the key identifiers a KeySet accepts. A kid is opaque
// (RFC 7515 §4.1.4); the bound only keeps headers and JWKS documents small.
const maxKIDLen = 256

// Errors returned when a key is not acceptable for signing access tokens.
var (
	// ErrUnsupportedAlgorithm means the algorithm is not on the allow-list:
	// ES256, ES384, ES512, RS256, RS384, RS512, PS256, PS384, PS512 and
	// EdDSA (Ed25519). "none" and the HMAC algorithms are never accepted
	// (RFC 8725 §3.1, §3.2).
	ErrUnsupportedAlgorithm = errors.New("token: unsupported signature algorithm")
	// ErrWeakKey means an RSA key shorter than MinRSABits, an elliptic
	// curve below P-256, or a key whose type does not fit its algorithm.
	ErrWeakKey = errors.New("token: key unsuitable for algorithm")
)

// algInfo describes one allowed signature algorithm.
type algInfo struct {
	hash  crypto.Hash    // zero for EdDSA
	curve elliptic.Curve // ECDSA only
	kind  keyKind
}

type keyKind uint8

const (
	kindEC keyKind = iota + 1
	kindRSA
	kindRSAPSS
	kindEd25519
)

// allowedAlgs is the allow-list of signature algorithms. It is never
// mutated after package initialisation.
var allowedAlgs = map[jwa.SignatureAlgorithm]algInfo{
	jwa.ES256: {hash: crypto.SHA256, curve: elliptic.P256(), kind: kindEC},
	jwa.ES384: {hash: crypto.SHA384, curve: elliptic.P384(), kind: kindEC},
	jwa.ES512: {hash: crypto.SHA512, curve: elliptic.P521(), kind: kindEC},
	jwa.RS256: {hash: crypto.SHA256, kind: kindRSA},
	jwa.RS384: {hash: crypto.SHA384, kind: kindRSA},
	jwa.RS512: {hash: crypto.SHA512, kind: kindRSA},
	jwa.PS256: {hash: crypto.SHA256, kind: kindRSAPSS},
	jwa.PS384: {hash: crypto.SHA384, kind: kindRSAPSS},
	jwa.PS512: {hash: crypto.SHA512, kind: kindRSAPSS},
	jwa.EdDSA: {kind: kindEd25519},
}

// GenerateSigningKey generates a new private signing key for alg: P-256,
// P-384 or P-521 for ES256/ES384/ES512, a 2048-bit RSA key for RS* and PS*,
// Ed25519 for EdDSA. The returned JWK carries "alg", "use":"sig" and a
// "kid" that is its RFC 7638 JWK thumbprint (SHA-256, base64url).
func GenerateSigningKey(alg jwa.SignatureAlgorithm) (jwk.Key, error) {
	info, ok := allowedAlgs[alg]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnsupportedAlgorithm, alg.String())
	}
	var raw crypto.Signer
	var err error
	switch info.kind {
	case kindEC:
		raw, err = ecdsa.GenerateKey(info.curve, rand.Reader)
	case kindRSA, kindRSAPSS:
		raw, err = rsa.GenerateKey(rand.Reader, generatedRSABits)
	case kindEd25519:
		_, raw, err = ed25519.GenerateKey(rand.Reader)
	}
	if err != nil {
		return nil, fmt.Errorf("token: generating %s key: %w", alg.String(), err)
	}
	return NewSigningKey(raw, alg)
}

// NewSigningKey wraps a private key (*ecdsa.PrivateKey, *rsa.PrivateKey or
// ed25519.PrivateKey) as a JWK for alg, with "alg", "use":"sig" and the
// RFC 7638 thumbprint as "kid". Weak keys (RSA below 2048 bits, curves
// below P-256) and keys that do not fit alg are rejected with ErrWeakKey.
func NewSigningKey(raw any, alg jwa.SignatureAlgorithm) (jwk.Key, error) {
	if _, ok := allowedAlgs[alg]; !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnsupportedAlgorithm, alg.String())
	}
	switch raw.(type) {
	case *ecdsa.PrivateKey, *rsa.PrivateKey, ed25519.PrivateKey:
	default:
		return nil, fmt.Errorf("%w: %T is not a supported private key", ErrWeakKey, raw)
	}
	if err := checkRawKey(raw, alg); err != nil {
		return nil, err
	}
	key, err := jwk.FromRaw(raw)
	if err != nil {
		return nil, fmt.Errorf("token: wrapping key: %w", err)
	}
	tp, err := key.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("token: key thumbprint: %w", err)
	}
	for k, v := range map[string]any{
		jwk.AlgorithmKey: alg,
		jwk.KeyUsageKey:  jwk.ForSignature,
		jwk.KeyIDKey:     base64.RawURLEncoding.EncodeToString(tp),
	} {
		if err := key.Set(k, v); err != nil {
			return nil, fmt.Errorf("token: setting %s: %w", k, err)
		}
	}
	return key, nil
}

// checkRawKey checks that raw (a private or public key) is strong enough
// and of the type alg needs (RFC 7518 §3.1; RFC 8037 §3.1).
func checkRawKey(raw any, alg jwa.SignatureAlgorithm) error {
	info, ok := allowedAlgs[alg]
	if !ok {
		return fmt.Errorf("%w: %q", ErrUnsupportedAlgorithm, alg.String())
	}
	switch k := raw.(type) {
	case *ecdsa.PrivateKey:
		return checkRawKey(&k.PublicKey, alg)
	case *ecdsa.PublicKey:
		if info.kind != kindEC {
			return fmt.Errorf("%w: EC key for %s", ErrWeakKey, alg.String())
		}
		if k.Curve != info.curve {
			return fmt.Errorf("%w: %s needs curve %s", ErrWeakKey, alg.String(), info.curve.Params().Name)
		}
	case *rsa.PrivateKey:
		return checkRawKey(&k.PublicKey, alg)
	case *rsa.PublicKey:
		if info.kind != kindRSA && info.kind != kindRSAPSS {
			return fmt.Errorf("%w: RSA key for %s", ErrWeakKey, alg.String())
		}
		if k.N == nil || k.N.BitLen() < MinRSABits {
			return fmt.Errorf("%w: RSA key shorter than %d bits", ErrWeakKey, MinRSABits)
		}
	case ed25519.PrivateKey:
		if len(k) != ed25519.PrivateKeySize {
			return fmt.Errorf("%w: malformed Ed25519 key", ErrWeakKey)
		}
		return checkRawKey(k.Public(), alg)
	case ed25519.PublicKey:
		if info.kind != kindEd25519 {
			return fmt.Errorf("%w: Ed25519 key for %s", ErrWeakKey, alg.String())
		}
		if len(k) != ed25519.PublicKeySize {
			return fmt.Errorf("%w: malformed Ed25519 key", ErrWeakKey)
		}
	default:
		// Symmetric keys ([]byte), X25519 and anything else.
		return fmt.Errorf("%w: %T cannot sign %s", ErrWeakKey, raw, alg.String())
	}
	return nil
}

// keyEntry is one key of a KeySet, with everything the hot paths need
// pre-computed.
type keyEntry struct {
	kid    string
	alg    jwa.SignatureAlgorithm
	info   algInfo
	priv   jwk.Key       // nil for a verification-only key
	signer crypto.Signer // raw private key; nil for a verification-only key
	pub    jwk.Key       // public parts only
	rawPub any           // *ecdsa.PublicKey, *rsa.PublicKey or ed25519.PublicKey
	// atHeader is the base64url-encoded protected header of an RFC 9068
	// access token signed with this key.
	atHeader string
	// jwsSigner and jwsVerifier are jwx's primitives for the key's own
	// algorithm, made once: the algorithm is never taken from a header.
	jwsSigner   jws.Signer
	jwsVerifier jws.Verifier
}

func newKeyEntry(key jwk.Key) (*keyEntry, error) {
	if key == nil {
		return nil, errors.New("token: nil key")
	}
	kid := key.KeyID()
	if kid == "" {
		return nil, errors.New("token: key has no kid (use NewSigningKey or GenerateSigningKey)")
	}
	if len(kid) > maxKIDLen {
		return nil, fmt.Errorf("token: kid longer than %d bytes", maxKIDLen)
	}
	if u, ok := key.Get(jwk.KeyUsageKey); ok {
		if s, _ := u.(string); s != string(jwk.ForSignature) {
			return nil, fmt.Errorf("token: key %q has use %v, want sig", kid, u)
		}
	}
	if key.Algorithm() == nil || key.Algorithm().String() == "" {
		return nil, fmt.Errorf("%w: key %q has no alg", ErrUnsupportedAlgorithm, kid)
	}
	alg := jwa.SignatureAlgorithm(key.Algorithm().String())
	info, ok := allowedAlgs[alg]
	if !ok {
		return nil, fmt.Errorf("%w: key %q has alg %q", ErrUnsupportedAlgorithm, kid, alg.String())
	}
	var raw any
	if err := key.Raw(&raw); err != nil {
		return nil, fmt.Errorf("token: key %q: %w", kid, err)
	}
	if err := checkRawKey(raw, alg); err != nil {
		return nil, fmt.Errorf("key %q: %w", kid, err)
	}
	e := &keyEntry{kid: kid, alg: alg, info: info}
	switch k := raw.(type) {
	case *ecdsa.PrivateKey:
		e.signer, e.rawPub = k, &k.PublicKey
	case *rsa.PrivateKey:
		e.signer, e.rawPub = k, &k.PublicKey
	case ed25519.PrivateKey:
		e.signer, e.rawPub = k, k.Public()
	default:
		e.rawPub = raw
	}
	if e.signer != nil {
		e.priv = key
	}
	// Build the public JWK from the raw public key, so that no private or
	// custom member of the input can reach the JWKS (RFC 7518 §6).
	pub, err := jwk.FromRaw(e.rawPub)
	if err != nil {
		return nil, fmt.Errorf("token: key %q: %w", kid, err)
	}
	for k, v := range map[string]any{
		jwk.AlgorithmKey: alg,
		jwk.KeyUsageKey:  jwk.ForSignature,
		jwk.KeyIDKey:     kid,
	} {
		if err := pub.Set(k, v); err != nil {
			return nil, fmt.Errorf("token: key %q: %w", kid, err)
		}
	}
	e.pub = pub
	hdr, err := json.Marshal(struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
		Typ string `json:"typ"`
	}{alg.String(), kid, atJWTType})
	if err != nil {
		return nil, fmt.Errorf("token: key %q: %w", kid, err)
	}
	e.atHeader = base64.RawURLEncoding.EncodeToString(hdr)
	if e.jwsVerifier, err = jws.NewVerifier(alg); err != nil {
		return nil, fmt.Errorf("token: key %q: %w", kid, err)
	}
	if e.jwsSigner, err = jws.NewSigner(alg); err != nil {
		return nil, fmt.Errorf("token: key %q: %w", kid, err)
	}
	return e, nil
}

var errEmptyKeySet = errors.New("token: KeySet not made by NewKeySet")

// keySetState is an immutable snapshot of a KeySet.
type keySetState struct {
	signing *keyEntry
	keys    []*keyEntry // signing key first, then in order of addition
	jwks    []byte      // the encoded public JWKS (RFC 7517 §5)
	life    map[string]keyLife
}

// keyLife records when a key entered the phases of rotation.
type keyLife struct {
	added, promoted, demoted time.Time
}

func (st *keySetState) lookupBytes(kid []byte) *keyEntry {
	for _, e := range st.keys {
		if e.kid == string(kid) {
			return e
		}
	}
	return nil
}

func (st *keySetState) lookup(kid string) *keyEntry {
	for _, e := range st.keys {
		if e.kid == kid {
			return e
		}
	}
	return nil
}

// KeySet holds the keys that sign and verify access tokens, and publishes
// their public halves as a JWK Set (RFC 7517 §5).
//
// One key signs; every key in the set verifies and is published. Rotation
// without invalidating live tokens (OpenID Connect Core §10.1.1) is three
// steps: Add the new key (published, so that resource servers caching the
// JWKS learn it), Promote it once caches have refreshed (it signs from then
// on; the old key stays published and verifying), and Remove the old key
// when the last token it signed has expired.
//
// A KeySet is safe for concurrent use. Reads take no lock.
type KeySet struct {
	mu    sync.Mutex // serialises writers
	state atomic.Pointer[keySetState]
}

// NewKeySet returns a KeySet whose first key signs; verifyOnly keys are
// published and verify tokens but do not sign until promoted. The signing
// key must be a private key on the algorithm allow-list with a "kid" and
// an "alg"; verification keys may be public keys. kids must be unique.
func NewKeySet(signing jwk.Key, verifyOnly ...jwk.Key) (*KeySet, error) {
	first, err := newKeyEntry(signing)
	if err != nil {
		return nil, err
	}
	if first.signer == nil {
		return nil, fmt.Errorf("token: signing key %q is not a private key", first.kid)
	}
	keys := []*keyEntry{first}
	for _, k := range verifyOnly {
		e, err := newKeyEntry(k)
		if err != nil {
			return nil, err
		}
		keys = append(keys, e)
	}
	now := time.Now()
	life := make(map[string]keyLife, len(keys))
	for _, e := range keys {
		life[e.kid] = keyLife{added: now}
	}
	life[first.kid] = keyLife{added: now, promoted: now}
	st, err := newState(first, keys, life)
	if err != nil {
		return nil, err
	}
	s := &KeySet{}
	s.state.Store(st)
	return s, nil
}

func newState(signing *keyEntry, keys []*keyEntry, life map[string]keyLife) (*keySetState, error) {
	set := jwk.NewSet()
	for i, e := range keys {
		for _, prev := range keys[:i] {
			if prev.kid == e.kid {
				return nil, fmt.Errorf("token: duplicate kid %q", e.kid)
			}
		}
		if err := set.AddKey(e.pub); err != nil {
			return nil, fmt.Errorf("token: key %q: %w", e.kid, err)
		}
	}
	b, err := json.Marshal(set)
	if err != nil {
		return nil, fmt.Errorf("token: encoding JWKS: %w", err)
	}
	return &keySetState{signing: signing, keys: keys, jwks: b, life: life}, nil
}

func (s *KeySet) load() *keySetState {
	if s == nil {
		return nil
	}
	return s.state.Load()
}

// Add publishes key and accepts tokens it signed; it does not sign until
// promoted. A kid already in the set is an error. Add is the first phase
// of a rotation (OpenID Connect Core §10.1.1): publish the key at least as
// long before promoting it as resource servers cache the JWK Set.
func (s *KeySet) Add(key jwk.Key) error { return s.addAt(key, time.Now()) }

func (s *KeySet) addAt(key jwk.Key, now time.Time) error {
	e, err := newKeyEntry(key)
	if err != nil {
		return err
	}
	return s.update(func(old *keySetState) (*keySetState, error) {
		keys := append(append(make([]*keyEntry, 0, len(old.keys)+1), old.keys...), e)
		life := old.copyLife()
		life[e.kid] = keyLife{added: now}
		return newState(old.signing, keys, life)
	})
}

// Promote makes the key with kid the signing key. The previous signing key
// stays published and verifying. The key must be a private key.
func (s *KeySet) Promote(kid string) error { return s.promoteAt(kid, time.Now()) }

func (s *KeySet) promoteAt(kid string, now time.Time) error {
	return s.update(func(old *keySetState) (*keySetState, error) {
		e, err := old.find(kid)
		if err != nil {
			return nil, err
		}
		if e.signer == nil {
			return nil, fmt.Errorf("token: key %q is a public key and cannot sign", kid)
		}
		if e == old.signing {
			return old, nil
		}
		life := old.copyLife()
		l := life[e.kid]
		l.promoted, l.demoted = now, time.Time{}
		life[e.kid] = l
		l = life[old.signing.kid]
		l.demoted = now
		life[old.signing.kid] = l
		keys := append(make([]*keyEntry, 0, len(old.keys)), e)
		return newState(e, append(keys, old.without(e)...), life)
	})
}

// Remove unpublishes the key with kid; tokens it signed no longer verify.
// The signing key cannot be removed: promote another key first.
func (s *KeySet) Remove(kid string) error {
	return s.update(func(old *keySetState) (*keySetState, error) {
		e, err := old.find(kid)
		if err != nil {
			return nil, err
		}
		if e == old.signing {
			return nil, fmt.Errorf("token: key %q is the signing key", kid)
		}
		life := old.copyLife()
		delete(life, kid)
		return newState(old.signing, old.without(e), life)
	})
}

func (st *keySetState) copyLife() map[string]keyLife {
	life := make(map[string]keyLife, len(st.life)+1)
	for k, v := range st.life {
		life[k] = v
	}
	return life
}

// KeyInfo describes one key of a KeySet and where it stands in rotation
// (OpenID Connect Core §10.1.1; RFC 7517 §4.5 for the kid). Times are those
// of the KeySet's writers: time.Now for Add, Promote and NewKeySet, the
// Rotator's clock for the changes it makes.
type KeyInfo struct {
	// KeyID is the key's "kid" and Algorithm its "alg" (RFC 7517 §4.4).
	KeyID     string
	Algorithm jwa.SignatureAlgorithm
	// Private reports whether the set holds the private key, so that the
	// key can be promoted to sign.
	Private bool
	// Signing reports whether the key signs new tokens.
	Signing bool
	// Added is when the key was published in the set.
	Added time.Time
	// Promoted is when the key last started signing; zero if it never
	// signed in this set.
	Promoted time.Time
	// Demoted is when the key last stopped signing; zero if it signs or
	// never signed in this set.
	Demoted time.Time
}

// Keys describes the keys of the set (the JWK Set of RFC 7517 §5 plus
// their rotation phases, OpenID Connect Core §10.1.1), signing key first,
// then in order of addition. The Rotator decides from it; operators may
// display it.
func (s *KeySet) Keys() []KeyInfo {
	st := s.load()
	if st == nil {
		return nil
	}
	out := make([]KeyInfo, 0, len(st.keys))
	for _, e := range st.keys {
		l := st.life[e.kid]
		out = append(out, KeyInfo{
			KeyID:     e.kid,
			Algorithm: e.alg,
			Private:   e.signer != nil,
			Signing:   e == st.signing,
			Added:     l.added,
			Promoted:  l.promoted,
			Demoted:   l.demoted,
		})
	}
	return out
}

// update replaces the set's state with what change makes of it. Writers
// are serialised; readers keep using the state they loaded.
func (s *KeySet) update(change func(old *keySetState) (*keySetState, error)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.state.Load()
	if old == nil {
		return errEmptyKeySet
	}
	st, err := change(old)
	if err != nil {
		return err
	}
	s.state.Store(st)
	return nil
}

// find returns the entry of kid or an error naming it.
func (st *keySetState) find(kid string) (*keyEntry, error) {
	if e := st.lookup(kid); e != nil {
		return e, nil
	}
	return nil, fmt.Errorf("token: no key %q", kid)
}

// without returns the entries other than e, in order, as a new slice.
func (st *keySetState) without(e *keyEntry) []*keyEntry {
	keys := make([]*keyEntry, 0, len(st.keys))
	for _, k := range st.keys {
		if k != e {
			keys = append(keys, k)
		}
	}
	return keys
}

// SigningKey returns the current private signing key and its algorithm.
func (s *KeySet) SigningKey() (jwk.Key, jwa.SignatureAlgorithm) {
	st := s.load()
	if st == nil {
		return nil, ""
	}
	return st.signing.priv, st.signing.alg
}

// PublicKeys returns the public halves of all keys, signing key first, as a
// new JWK Set (RFC 7517 §5). It never holds private members (d, p, q, dp,
// dq, qi, k) and every kid is unique. The caller may modify it.
func (s *KeySet) PublicKeys() jwk.Set {
	set := jwk.NewSet()
	st := s.load()
	if st == nil {
		return set
	}
	for _, e := range st.keys {
		if k, err := e.pub.Clone(); err == nil {
			_ = set.AddKey(k) // kids are unique: cannot fail
		}
	}
	return set
}

// VerificationKey implements VerificationKeys: it returns a copy of the
// public key with kid (RFC 7515 §4.1.4), or an error wrapping
// ErrUnknownKey when the set holds none. It never returns private members.
func (s *KeySet) VerificationKey(_ context.Context, kid string) (jwk.Key, error) {
	st := s.load()
	if st == nil {
		return nil, errEmptyKeySet
	}
	e := st.lookup(kid)
	if e == nil {
		return nil, ErrUnknownKey
	}
	k, err := e.pub.Clone()
	if err != nil {
		return nil, fmt.Errorf("token: key %q: %w", kid, err)
	}
	return k, nil
}

// JWKS returns the JSON encoding of PublicKeys, the document served at the
// authorization server's jwks_uri (RFC 8414 §2). It is encoded once per
// change of the set; each call returns a fresh copy.
func (s *KeySet) JWKS() ([]byte, error) {
	st := s.load()
	if st == nil {
		return nil, errEmptyKeySet
	}
	return append([]byte(nil), st.jwks...), nil
}
