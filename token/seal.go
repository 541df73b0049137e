package token

import (
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"

	"golang.org/x/crypto/chacha20poly1305"
)

// MinSealingSecretLen is the shortest secret that seals stored keys: 256
// bits from a secure random source.
const MinSealingSecretLen = 32

// Errors of opening a sealed key.
var (
	// ErrUnknownSealingSecret means a stored key was sealed with a
	// secret that is not among the configured ones: the secret is wrong,
	// or the one the key was sealed with was dropped from the list too
	// early. Give the secret it was sealed with, after the one that seals.
	ErrUnknownSealingSecret = errors.New("token: stored key sealed with a secret that is not configured")
	// ErrSealedKeyAltered means a stored key's sealed material does not
	// authenticate under the secret that sealed it: it was changed in the
	// store (or belongs to another key or set). It is never used.
	ErrSealedKeyAltered = errors.New("token: stored key fails authentication: altered in the store")
)

// The sealed format, version 1:
//
//	0x01 | secret id (8 bytes) | nonce (24 bytes) | XChaCha20-Poly1305 ciphertext and tag
//
// The AEAD key and the secret id are derived from the secret with HKDF
// (RFC 5869) under different labels, so the id tells which secret to try
// and reveals nothing about the key. The additional data binds the
// ciphertext to its set, its ID and its algorithm: material moved to
// another row does not open.
const (
	sealVersion    = 1
	sealIDLen      = 8
	sealHeaderLen  = 1 + sealIDLen + chacha20poly1305.NonceSizeX
	sealKeyLabel   = "grantor sealed key v1: aead key"
	sealIDLabel    = "grantor sealed key v1: secret id"
	sealAADContext = "grantor sealed key v1\x00"
)

// sealingSecret is one configured secret, ready to seal and open.
type sealingSecret struct {
	id   [sealIDLen]byte
	aead cipher.AEAD
}

// sealer seals with its first secret and opens with any.
type sealer struct {
	secrets []sealingSecret
	rand    io.Reader
}

func newSealer(secrets [][]byte, random io.Reader) (*sealer, error) {
	if len(secrets) == 0 {
		return nil, errors.New("token: at least one sealing secret is required")
	}
	s := &sealer{rand: random}
	if s.rand == nil {
		s.rand = rand.Reader
	}
	for i, secret := range secrets {
		if len(secret) < MinSealingSecretLen {
			return nil, fmt.Errorf("token: sealing secret %d is shorter than %d bytes", i+1, MinSealingSecretLen)
		}
		key, err := hkdf.Key(sha256.New, secret, nil, sealKeyLabel, chacha20poly1305.KeySize)
		if err != nil {
			return nil, fmt.Errorf("token: sealing secret %d: %w", i+1, err)
		}
		id, err := hkdf.Key(sha256.New, secret, nil, sealIDLabel, sealIDLen)
		if err != nil {
			return nil, fmt.Errorf("token: sealing secret %d: %w", i+1, err)
		}
		aead, err := chacha20poly1305.NewX(key)
		if err != nil {
			return nil, fmt.Errorf("token: sealing secret %d: %w", i+1, err)
		}
		ss := sealingSecret{aead: aead}
		copy(ss.id[:], id)
		for j, prev := range s.secrets {
			if hmac.Equal(prev.id[:], ss.id[:]) {
				return nil, fmt.Errorf("token: sealing secrets %d and %d are the same", j+1, i+1)
			}
		}
		s.secrets = append(s.secrets, ss)
	}
	return s, nil
}

// sealAAD is the additional data of a key's seal.
func sealAAD(set, id, alg string) []byte {
	b := make([]byte, 0, len(sealAADContext)+len(set)+len(id)+len(alg)+2)
	b = append(b, sealAADContext...)
	b = append(b, set...)
	b = append(b, 0)
	b = append(b, id...)
	b = append(b, 0)
	return append(b, alg...)
}

// seal seals material with the first secret.
func (s *sealer) seal(set, id, alg string, material []byte) ([]byte, error) {
	first := &s.secrets[0]
	out := make([]byte, sealHeaderLen, sealHeaderLen+len(material)+first.aead.Overhead())
	out[0] = sealVersion
	copy(out[1:], first.id[:])
	nonce := out[1+sealIDLen : sealHeaderLen]
	if _, err := io.ReadFull(s.rand, nonce); err != nil {
		return nil, fmt.Errorf("token: sealing key %q: reading a nonce: %w", id, err)
	}
	return first.aead.Seal(out, nonce, material, sealAAD(set, id, alg)), nil
}

// open returns the material of a sealed key, and whether it was sealed
// with another secret than the first (it should be sealed again).
func (s *sealer) open(set, id, alg string, sealed []byte) (material []byte, stale bool, err error) {
	if len(sealed) < sealHeaderLen+chacha20poly1305.Overhead || sealed[0] != sealVersion {
		return nil, false, fmt.Errorf("%w (key %q of set %q: not a sealed key of this version)", ErrSealedKeyAltered, id, set)
	}
	sid := sealed[1 : 1+sealIDLen]
	for i := range s.secrets {
		ss := &s.secrets[i]
		if !hmac.Equal(ss.id[:], sid) {
			continue
		}
		m, err := ss.aead.Open(nil, sealed[1+sealIDLen:sealHeaderLen], sealed[sealHeaderLen:], sealAAD(set, id, alg))
		if err != nil {
			return nil, false, fmt.Errorf("%w (key %q of set %q)", ErrSealedKeyAltered, id, set)
		}
		return m, i != 0, nil
	}
	return nil, false, fmt.Errorf("%w (key %q of set %q was sealed with the secret whose id is %s; "+
		"the configured secrets have ids %s)", ErrUnknownSealingSecret, id, set, hex.EncodeToString(sid), s.ids())
}

// ids lists the ids of the configured secrets, for error messages: they
// tell an operator which secret a key needs, and reveal nothing of it.
func (s *sealer) ids() string {
	out := ""
	for i, ss := range s.secrets {
		if i > 0 {
			out += ", "
		}
		out += hex.EncodeToString(ss.id[:])
	}
	return out
}

// SealingSecretID returns the id of a sealing secret as the errors of
// stored keys name it (16 hexadecimal digits, derived with HKDF; it
// reveals nothing of the secret), so that an operator can tell which of
// several secrets a key needs. It is an error for a secret shorter than
// MinSealingSecretLen.
func SealingSecretID(secret []byte) (string, error) {
	s, err := newSealer([][]byte{secret}, nil)
	if err != nil {
		return "", err
	}
	return s.ids(), nil
}
