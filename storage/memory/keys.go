package memory

import (
	"context"
	"fmt"

	"github.com/grantor-dev/grantor/storage"
)

var _ storage.KeyStore = (*Store)(nil)

// storedKeySet is one key set of the store.
type storedKeySet struct {
	version int64
	keys    []storage.StoredKey
}

// LoadKeySet implements [storage.KeyStore].
func (s *Store) LoadKeySet(ctx context.Context, name string) (storage.StoredKeySet, error) {
	if err := ctx.Err(); err != nil {
		return storage.StoredKeySet{}, err
	}
	s.keySetsMu.Lock()
	defer s.keySetsMu.Unlock()
	set := s.keySets[name]
	if set == nil {
		return storage.StoredKeySet{}, nil
	}
	return storage.StoredKeySet{Version: set.version, Keys: cloneKeys(set.keys)}, nil
}

// SaveKeySet implements [storage.KeyStore].
func (s *Store) SaveKeySet(ctx context.Context, name string, version int64, keys []storage.StoredKey) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if err := storage.CheckKeySet(name, version, keys); err != nil {
		return 0, err
	}
	s.keySetsMu.Lock()
	defer s.keySetsMu.Unlock()
	set := s.keySets[name]
	var current int64
	if set != nil {
		current = set.version
	}
	if current != version {
		return 0, fmt.Errorf("%w: key set is at version %d, not %d", storage.ErrVersionConflict, current, version)
	}
	if s.keySets == nil {
		s.keySets = make(map[string]*storedKeySet)
	}
	s.keySets[name] = &storedKeySet{version: version + 1, keys: cloneKeys(keys)}
	return version + 1, nil
}

func cloneKeys(keys []storage.StoredKey) []storage.StoredKey {
	out := make([]storage.StoredKey, len(keys))
	for i, k := range keys {
		out[i] = k.Clone()
	}
	return out
}
