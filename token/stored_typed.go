package token

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
)

// macAlgorithm is the Algorithm of stored HMAC keys.
const macAlgorithm = "HS256"

// StoredMACKeys are the HMAC keys of opaque tokens (and of authorization
// codes, device codes and user codes) kept in a storage.KeyStore, sealed:
// every instance over the store signs and verifies with the same keys, and
// tokens outlive a restart. Give MACKeySet to the Provider
// (oauth2.Config.TokenKeySet) and call Run in the background.
type StoredMACKeys struct {
	*StoredKeys
	set *MACKeySet
}

// OpenStoredMACKeys reads the HMAC key set of cfg.Store (creating its
// first key if it has none) and opens it with cfg.Secrets. A key sealed
// with none of the secrets is an error wrapping ErrUnknownSealingSecret,
// and one altered in the store an error wrapping ErrSealedKeyAltered: the
// keys are not used, and the error names the set and the key.
func OpenStoredMACKeys(ctx context.Context, cfg StoredKeysConfig) (*StoredMACKeys, error) {
	core, err := newStoredKeys(cfg, "opaque", macAlgorithm)
	if err != nil {
		return nil, err
	}
	s := &StoredMACKeys{StoredKeys: core, set: &MACKeySet{}}
	core.generate = func() (string, []byte, error) {
		id, err := randomKeyID(core.rand)
		if err != nil {
			return "", nil, err
		}
		key := make([]byte, MinOpaqueKeyLen)
		if _, err := io.ReadFull(core.rand, key); err != nil {
			return "", nil, err
		}
		return id, key, nil
	}
	core.install = func(keys []openedKey) error {
		material := make([][]byte, len(keys))
		ids := make([]string, len(keys))
		for i, k := range keys {
			material[i], ids[i] = k.material, k.rec.ID
		}
		return s.set.set(material, ids)
	}
	if err := core.start(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// MACKeySet returns the set the Provider signs and verifies with. It
// follows the store: a rotation made by any instance is in it after the
// next reload.
func (s *StoredMACKeys) MACKeySet() *MACKeySet { return s.set }

// StoredSigningKeys are the signing keys of JWT access tokens (RFC 9068)
// kept in a storage.KeyStore, sealed: every instance over the store signs
// with the same key and publishes the same JWK Set (RFC 7517 §5), and
// tokens outlive a restart. It is a KeySource: give it to NewJWT, and call
// Run in the background. A token whose kid it does not know makes it read
// the store again at once, at most once per MinReloadInterval.
type StoredSigningKeys struct {
	*StoredKeys
	set *KeySet
}

var (
	_ KeySource     = (*StoredSigningKeys)(nil)
	_ entryResolver = (*StoredSigningKeys)(nil)
)

// OpenStoredSigningKeys reads the signing key set of cfg.Store (creating
// its first key, of cfg.Algorithm, if it has none) and opens it with
// cfg.Secrets. Errors are those of OpenStoredMACKeys.
func OpenStoredSigningKeys(ctx context.Context, cfg StoredKeysConfig) (*StoredSigningKeys, error) {
	alg := jwa.SignatureAlgorithm(cmp.Or(cfg.Algorithm, jwa.ES256.String()))
	if _, ok := allowedAlgs[alg]; !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnsupportedAlgorithm, alg.String())
	}
	core, err := newStoredKeys(cfg, "jwt", alg.String())
	if err != nil {
		return nil, err
	}
	s := &StoredSigningKeys{StoredKeys: core, set: &KeySet{}}
	core.generate = func() (string, []byte, error) {
		k, err := GenerateSigningKey(alg)
		if err != nil {
			return "", nil, err
		}
		b, err := json.Marshal(k)
		if err != nil {
			return "", nil, fmt.Errorf("token: encoding key: %w", err)
		}
		return k.KeyID(), b, nil
	}
	core.install = func(keys []openedKey) error {
		entries := make([]*keyEntry, len(keys))
		life := make(map[string]keyLife, len(keys))
		for i, k := range keys {
			e, err := openedSigningKey(k)
			if err != nil {
				return err
			}
			entries[i] = e
			life[e.kid] = keyLife{added: k.rec.Added, promoted: k.rec.Promoted, demoted: k.rec.Retired}
		}
		st, err := newState(entries[0], entries, life)
		if err != nil {
			return err
		}
		s.set.mu.Lock()
		defer s.set.mu.Unlock()
		s.set.state.Store(st)
		return nil
	}
	if err := core.start(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// openedSigningKey parses the material of a stored signing key: a private
// JWK whose kid and alg are the stored key's, on the allow-list.
func openedSigningKey(k openedKey) (*keyEntry, error) {
	key, err := jwk.ParseKey(k.material)
	if err != nil {
		return nil, fmt.Errorf("key %q: %w", k.rec.ID, err)
	}
	e, err := newKeyEntry(key)
	if err != nil {
		return nil, err
	}
	if e.kid != k.rec.ID || e.alg.String() != k.rec.Algorithm || e.signer == nil {
		return nil, fmt.Errorf("key %q: the material is not the stored key's private key", k.rec.ID)
	}
	return e, nil
}

// Signer implements KeySource: the key that signs now for the whole
// cluster, as last read.
func (s *StoredSigningKeys) Signer(ctx context.Context) (Signer, error) { return s.set.Signer(ctx) }

// JWKS implements KeyPublisher: the public keys of the set as last read,
// the same document at every instance once they have read the same
// version (RFC 7517 §5).
func (s *StoredSigningKeys) JWKS() ([]byte, error) { return s.set.JWKS() }

// PublicKeys returns the public keys of the set as last read (see
// KeySet.PublicKeys).
func (s *StoredSigningKeys) PublicKeys() jwk.Set { return s.set.PublicKeys() }

// VerificationKey implements VerificationKeys. A kid the set does not
// know makes it read the store again first (at most once per
// MinReloadInterval), so that a key another instance has just started
// signing with is found.
func (s *StoredSigningKeys) VerificationKey(ctx context.Context, kid string) (jwk.Key, error) {
	if _, err := s.resolveEntry(ctx, []byte(kid)); err != nil {
		return nil, err
	}
	return s.set.VerificationKey(ctx, kid)
}

func (s *StoredSigningKeys) resolveEntry(ctx context.Context, kid []byte) (*keyEntry, error) {
	e, err := s.set.resolveEntry(ctx, kid)
	if !errors.Is(err, ErrUnknownKey) {
		return e, err
	}
	if err := s.reloadForUnknownKey(ctx); err != nil {
		s.log.WarnContext(ctx, "token: reading the key set for an unknown kid", "set", s.name, "err", err)
	}
	// Look again whether this call read the set or not: another caller's
	// read, or the periodic one, may have just installed the key.
	return s.set.resolveEntry(ctx, kid)
}
