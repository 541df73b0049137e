package storage

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrVersionConflict means a compare-and-set lost: the record changed
// since the caller read it, so nothing was written. The caller reads it
// again and decides anew; another writer already made its decision.
var ErrVersionConflict = errors.New("storage: version conflict")

// Bounds of a key set, which every KeyStore enforces before it writes.
const (
	// MaxKeySetKeys is how many keys one key set holds at most. A
	// rotation keeps three at a time (the one that signs, the next, the
	// previous); the rest is room for keys added by hand.
	MaxKeySetKeys = 32
	// MaxKeyIDBytes bounds a stored key's ID (its JWS "kid",
	// RFC 7515 §4.1.4) and its Algorithm.
	MaxKeyIDBytes = 256
	// MaxSealedKeyBytes bounds a stored key's sealed material: room for
	// an RSA-4096 private JWK, sealed.
	MaxSealedKeyBytes = 16 << 10
	// MaxKeySetNameBytes bounds the name of a key set.
	MaxKeySetNameBytes = 64
)

// KeyState is where a stored key stands in its rotation (OpenID Connect
// Core §10.1.1): published first, then signing, then retired, then
// removed from its set.
type KeyState string

// The states of a stored key.
const (
	// KeyPublished is a key that verifies but does not sign yet: every
	// instance learns it before it signs, and resource servers caching
	// the JWK Set (RFC 7517 §5) find it there.
	KeyPublished KeyState = "published"
	// KeySigning is the key that signs new tokens; a set has one.
	KeySigning KeyState = "signing"
	// KeyRetired is a key that signed and no longer does: it verifies
	// until the tokens it signed have expired, then it is removed.
	KeyRetired KeyState = "retired"
)

// Valid reports whether s is one of the three states.
func (s KeyState) Valid() bool {
	return s == KeyPublished || s == KeySigning || s == KeyRetired
}

// StoredKey is one key of a key set as a KeyStore keeps it. Its private
// material is sealed (encrypted and authenticated) by package token
// before it reaches the store, so that a copy of the store without the
// host's secret yields no key.
type StoredKey struct {
	// ID names the key in its set: a JWT signing key's "kid", a random
	// name for an HMAC key. Unique within the set; 1 to MaxKeyIDBytes
	// printable ASCII characters (no space).
	ID string
	// Algorithm is what the key is for: a JWS "alg" (RFC 7518 §3.1) for
	// a signing key, "HS256" for an HMAC key. Printable ASCII, like ID.
	Algorithm string
	// State is where the key stands in its rotation.
	State KeyState
	// Sealed is the key's private material, sealed; at most
	// MaxSealedKeyBytes bytes, never empty. Stores keep it as opaque
	// bytes.
	Sealed []byte
	// Added is when the key was published; Promoted when it started
	// signing (zero before); Retired when it stopped (zero before).
	Added, Promoted, Retired time.Time
}

// StoredKeySet is the content of one named key set at one version.
type StoredKeySet struct {
	// Version counts the writes of the set: 0 for a set never written,
	// then 1, 2, … Each SaveKeySet that wins increments it by one.
	Version int64
	// Keys are the set's keys in the order they were saved.
	Keys []StoredKey
}

// KeyStore keeps the key sets of the token strategies (the HMAC keys of
// opaque tokens, the JWT signing keys), so that every instance of a
// cluster signs and verifies with the same keys and tokens survive a
// restart. A set is read and written whole, and written only by
// compare-and-set on its version: of two instances that decide a rotation
// at the same moment, one writes and the other gets ErrVersionConflict,
// reads the set again and finds the rotation done. That is what makes a
// rotation happen once for the whole cluster.
//
// Sets are small (MaxKeySetKeys keys) and written rarely: on a rotation,
// every few hours or days. They are read often (every instance reloads on
// a short interval), so LoadKeySet should be one indexed read.
type KeyStore interface {
	// LoadKeySet returns the set named name: its version and its keys,
	// in the order they were saved, as copies the caller may modify. A
	// set never written has Version 0 and no keys; that is not an error.
	LoadKeySet(ctx context.Context, name string) (StoredKeySet, error)
	// SaveKeySet replaces the keys of the set named name with keys if
	// its version is still version, and returns the new version,
	// version+1. If the set's version is another, it writes nothing and
	// returns an error wrapping ErrVersionConflict. Keys that break
	// CheckKeySet are refused with its error and nothing is written.
	// Concurrent calls with one version: exactly one wins.
	SaveKeySet(ctx context.Context, name string, version int64, keys []StoredKey) (int64, error)
}

// CheckKeySet checks what a KeyStore is asked to save, before it writes:
// a name of 1 to MaxKeySetNameBytes printable ASCII characters, a version of 0 or more, at most
// MaxKeySetKeys keys, at most one of them KeySigning, each with an ID
// (unique in the set) and an Algorithm of 1 to MaxKeyIDBytes printable
// ASCII characters, a valid State, and 1 to MaxSealedKeyBytes
// bytes of sealed material. Errors wrap ErrTooLarge for sizes over the
// bounds. Every KeyStore of Grantor calls it, so that a set one store
// accepts every other accepts too.
func CheckKeySet(name string, version int64, keys []StoredKey) error {
	switch {
	case name == "":
		return errors.New("storage: key set name is empty")
	case len(name) > MaxKeySetNameBytes:
		return fmt.Errorf("%w: key set name longer than %d bytes", ErrTooLarge, MaxKeySetNameBytes)
	case !printableASCII(name):
		return errors.New("storage: key set name is not printable ASCII")
	case version < 0:
		return errors.New("storage: negative key set version")
	case len(keys) > MaxKeySetKeys:
		return fmt.Errorf("%w: more than %d keys in a set", ErrTooLarge, MaxKeySetKeys)
	}
	seen := make(map[string]bool, len(keys))
	signing := 0
	for i := range keys {
		k := &keys[i]
		switch {
		case k.ID == "" || k.Algorithm == "":
			return fmt.Errorf("storage: key %d has no ID or no algorithm", i)
		case len(k.ID) > MaxKeyIDBytes || len(k.Algorithm) > MaxKeyIDBytes:
			return fmt.Errorf("%w: key %d: ID or algorithm longer than %d bytes", ErrTooLarge, i, MaxKeyIDBytes)
		case !printableASCII(k.ID) || !printableASCII(k.Algorithm):
			return fmt.Errorf("storage: key %d: ID or algorithm is not printable ASCII", i)
		case seen[k.ID]:
			return fmt.Errorf("storage: key %d: ID used twice in the set", i)
		case !k.State.Valid():
			return fmt.Errorf("storage: key %d: invalid state", i)
		case len(k.Sealed) == 0:
			return fmt.Errorf("storage: key %d has no sealed material", i)
		case len(k.Sealed) > MaxSealedKeyBytes:
			return fmt.Errorf("%w: key %d: sealed material longer than %d bytes", ErrTooLarge, i, MaxSealedKeyBytes)
		}
		seen[k.ID] = true
		if k.State == KeySigning {
			if signing++; signing > 1 {
				return fmt.Errorf("storage: key %d: a second signing key in the set", i)
			}
		}
	}
	return nil
}

// Clone returns a deep copy of k.
func (k StoredKey) Clone() StoredKey {
	k.Sealed = append([]byte(nil), k.Sealed...)
	return k
}

// printableASCII reports whether s holds only the characters from '!' to
// '~': what a kid or an alg is in practice, and what every database keeps
// as text unchanged.
func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '!' || s[i] > '~' {
			return false
		}
	}
	return true
}
