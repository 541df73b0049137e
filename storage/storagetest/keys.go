package storagetest

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/storage"
)

// NewKeyStore returns the key store one subtest of [RunKeyStore] uses. It
// fails t if it cannot, and registers with t.Cleanup whatever must be
// released. Every subtest uses key sets of its own names, so NewKeyStore
// may return a new store each time or the same one.
type NewKeyStore func(t *testing.T) storage.KeyStore

// RunKeyStore runs the conformance suite of [storage.KeyStore] against
// stores made by newKeyStore, in a subtest named "KeyStore": a set never
// written, every field of a key round tripping, the compare-and-set on the
// version (stale, future and concurrent writers), sets kept apart by name,
// copies, the bounds of [storage.CheckKeySet] with nothing written when
// they refuse, and a cancelled context.
func RunKeyStore(t *testing.T, newKeyStore NewKeyStore) {
	t.Helper()
	if newKeyStore == nil {
		t.Fatal("storagetest: nil NewKeyStore")
	}
	t.Run("KeyStore", func(t *testing.T) { testKeyStore(t, newKeyStore) })
}

// newKeySetName returns a name no other subtest uses.
func newKeySetName(t *testing.T) string { return "set-" + randomID(t, 20) }

// storedKey returns a key with every field set: sealed material holding
// every byte value, times of microsecond precision.
func storedKey(t *testing.T, state storage.KeyState) storage.StoredKey {
	t.Helper()
	sealed := make([]byte, 512)
	for i := range sealed {
		sealed[i] = byte(i)
	}
	n := now()
	k := storage.StoredKey{
		ID:        randomID(t, 43),
		Algorithm: "ES256",
		State:     state,
		Sealed:    sealed,
		Added:     n.Add(-2 * time.Hour),
	}
	if state != storage.KeyPublished {
		k.Promoted = n.Add(-time.Hour)
	}
	if state == storage.KeyRetired {
		k.Retired = n.Add(-time.Minute)
	}
	return k
}

func loadKeySet(t *testing.T, s storage.KeyStore, name string) storage.StoredKeySet {
	t.Helper()
	set, err := s.LoadKeySet(t.Context(), name)
	require.NoError(t, err, "LoadKeySet")
	return set
}

func saveKeySet(t *testing.T, s storage.KeyStore, name string, version int64, keys ...storage.StoredKey) int64 {
	t.Helper()
	v, err := s.SaveKeySet(t.Context(), name, version, keys)
	require.NoError(t, err, "SaveKeySet")
	return v
}

func assertKeySet(t *testing.T, wantVersion int64, want []storage.StoredKey, got storage.StoredKeySet) {
	t.Helper()
	assert.Equal(t, wantVersion, got.Version, "Version")
	require.Len(t, got.Keys, len(want), "Keys")
	for i := range want {
		w, g := want[i], got.Keys[i]
		assert.Equal(t, w.ID, g.ID, "key %d: ID", i)
		assert.Equal(t, w.Algorithm, g.Algorithm, "key %d: Algorithm", i)
		assert.Equal(t, w.State, g.State, "key %d: State", i)
		assert.Equal(t, w.Sealed, g.Sealed, "key %d: Sealed", i)
		assertTime(t, "Added", w.Added, g.Added)
		assertTime(t, "Promoted", w.Promoted, g.Promoted)
		assertTime(t, "Retired", w.Retired, g.Retired)
	}
}

func testKeyStore(t *testing.T, newKeyStore NewKeyStore) {
	t.Run("a set never written has version 0 and no keys", func(t *testing.T) {
		set := loadKeySet(t, newKeyStore(t), newKeySetName(t))
		assert.Zero(t, set.Version)
		assert.Empty(t, set.Keys)
	})

	t.Run("every field of every key round trips, in order", func(t *testing.T) {
		s := newKeyStore(t)
		name := newKeySetName(t)
		keys := []storage.StoredKey{
			storedKey(t, storage.KeySigning),
			storedKey(t, storage.KeyPublished),
			storedKey(t, storage.KeyRetired),
		}
		keys[1].Algorithm = "HS256"
		assert.Equal(t, int64(1), saveKeySet(t, s, name, 0, keys...))
		assertKeySet(t, 1, keys, loadKeySet(t, s, name))
	})

	t.Run("each save that wins increments the version and replaces the keys", func(t *testing.T) {
		s := newKeyStore(t)
		name := newKeySetName(t)
		a, b, c := storedKey(t, storage.KeySigning), storedKey(t, storage.KeyPublished), storedKey(t, storage.KeyRetired)
		require.Equal(t, int64(1), saveKeySet(t, s, name, 0, a, b))
		a.State, a.Retired = storage.KeyRetired, now()
		b.State, b.Promoted = storage.KeySigning, now()
		require.Equal(t, int64(2), saveKeySet(t, s, name, 1, b, a, c))
		assertKeySet(t, 2, []storage.StoredKey{b, a, c}, loadKeySet(t, s, name))
		require.Equal(t, int64(3), saveKeySet(t, s, name, 2, b))
		assertKeySet(t, 3, []storage.StoredKey{b}, loadKeySet(t, s, name))
		require.Equal(t, int64(4), saveKeySet(t, s, name, 3))
		assertKeySet(t, 4, nil, loadKeySet(t, s, name))
	})

	t.Run("a save with a stale or future version is a conflict and writes nothing", func(t *testing.T) {
		s := newKeyStore(t)
		name := newKeySetName(t)
		first := storedKey(t, storage.KeySigning)
		require.Equal(t, int64(1), saveKeySet(t, s, name, 0, first))
		require.Equal(t, int64(2), saveKeySet(t, s, name, 1, first))
		for _, version := range []int64{0, 1, 3, 1 << 40} {
			_, err := s.SaveKeySet(t.Context(), name, version, []storage.StoredKey{storedKey(t, storage.KeySigning)})
			assert.ErrorIs(t, err, storage.ErrVersionConflict, "version %d", version)
		}
		assertKeySet(t, 2, []storage.StoredKey{first}, loadKeySet(t, s, name))
	})

	t.Run("concurrent saves at one version: exactly one wins", func(t *testing.T) {
		s := newKeyStore(t)
		name := newKeySetName(t)
		require.Equal(t, int64(1), saveKeySet(t, s, name, 0, storedKey(t, storage.KeySigning)))
		const writers = 20
		keys := make([]storage.StoredKey, writers)
		for i := range keys {
			keys[i] = storedKey(t, storage.KeySigning)
		}
		var wg sync.WaitGroup
		errs := make([]error, writers)
		versions := make([]int64, writers)
		start := make(chan struct{})
		for i := range writers {
			wg.Go(func() {
				<-start
				versions[i], errs[i] = s.SaveKeySet(context.Background(), name, 1, keys[i:i+1])
			})
		}
		close(start)
		wg.Wait()
		winner := -1
		for i, err := range errs {
			if err == nil {
				assert.Equal(t, -1, winner, "writers %d and %d both won", winner, i)
				assert.Equal(t, int64(2), versions[i])
				winner = i
				continue
			}
			assert.ErrorIs(t, err, storage.ErrVersionConflict, "writer %d", i)
		}
		require.NotEqual(t, -1, winner, "no writer won")
		assertKeySet(t, 2, keys[winner:winner+1], loadKeySet(t, s, name))
	})

	t.Run("concurrent first saves of a new set: exactly one wins", func(t *testing.T) {
		s := newKeyStore(t)
		name := newKeySetName(t)
		const writers = 20
		var wins, conflicts int
		var mu sync.Mutex
		var wg sync.WaitGroup
		start := make(chan struct{})
		for range writers {
			k := storedKey(t, storage.KeySigning)
			wg.Go(func() {
				<-start
				_, err := s.SaveKeySet(context.Background(), name, 0, []storage.StoredKey{k})
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					wins++
				case errors.Is(err, storage.ErrVersionConflict):
					conflicts++
				default:
					t.Errorf("SaveKeySet: %v", err)
				}
			})
		}
		close(start)
		wg.Wait()
		assert.Equal(t, 1, wins, "winners")
		assert.Equal(t, writers-1, conflicts, "conflicts")
		set := loadKeySet(t, s, name)
		assert.Equal(t, int64(1), set.Version)
		assert.Len(t, set.Keys, 1)
	})

	t.Run("sets of different names are apart", func(t *testing.T) {
		s := newKeyStore(t)
		name := newKeySetName(t)
		a, b := storedKey(t, storage.KeySigning), storedKey(t, storage.KeySigning)
		require.Equal(t, int64(1), saveKeySet(t, s, name, 0, a))
		require.Equal(t, int64(1), saveKeySet(t, s, strings.ToUpper(name), 0, b), "a name differing in case is another set")
		require.Equal(t, int64(1), saveKeySet(t, s, name+"x", 0, b))
		assertKeySet(t, 1, []storage.StoredKey{a}, loadKeySet(t, s, name))
		assertKeySet(t, 1, []storage.StoredKey{b}, loadKeySet(t, s, strings.ToUpper(name)))
	})

	t.Run("the loaded keys are copies the caller may modify", func(t *testing.T) {
		s := newKeyStore(t)
		name := newKeySetName(t)
		k := storedKey(t, storage.KeySigning)
		want := k.Clone()
		input := []storage.StoredKey{k}
		require.Equal(t, int64(1), saveKeySet(t, s, name, 0, input...))
		input[0].Sealed[0] ^= 0xff
		input[0].ID = "changed"
		got := loadKeySet(t, s, name)
		require.Len(t, got.Keys, 1)
		got.Keys[0].Sealed[1] ^= 0xff
		got.Keys[0].State = storage.KeyRetired
		assertKeySet(t, 1, []storage.StoredKey{want}, loadKeySet(t, s, name))
	})

	t.Run("the largest set the bounds allow round trips", func(t *testing.T) {
		s := newKeyStore(t)
		name := "set-" + randomID(t, storage.MaxKeySetNameBytes-len("set-"))
		keys := make([]storage.StoredKey, storage.MaxKeySetKeys)
		for i := range keys {
			keys[i] = storedKey(t, storage.KeyRetired)
			keys[i].ID = randomID(t, 16) + strings.Repeat("~", storage.MaxKeyIDBytes-16)
			keys[i].Algorithm = strings.Repeat("A", storage.MaxKeyIDBytes)
			keys[i].Sealed = make([]byte, storage.MaxSealedKeyBytes)
			keys[i].Sealed[i] = 0xff
		}
		require.Equal(t, int64(1), saveKeySet(t, s, name, 0, keys...))
		assertKeySet(t, 1, keys, loadKeySet(t, s, name))
	})

	t.Run("a set the bounds refuse writes nothing", func(t *testing.T) {
		cases := map[string]func(keys []storage.StoredKey) []storage.StoredKey{
			"more than MaxKeySetKeys keys": func(keys []storage.StoredKey) []storage.StoredKey {
				for len(keys) <= storage.MaxKeySetKeys {
					keys = append(keys, storedKey(t, storage.KeyRetired))
				}
				return keys
			},
			"a second signing key": func(keys []storage.StoredKey) []storage.StoredKey {
				return append(keys, storedKey(t, storage.KeySigning))
			},
			"an ID used twice": func(keys []storage.StoredKey) []storage.StoredKey {
				k := storedKey(t, storage.KeyRetired)
				k.ID = keys[0].ID
				return append(keys, k)
			},
			"an empty ID":             func(keys []storage.StoredKey) []storage.StoredKey { keys[0].ID = ""; return keys },
			"an empty algorithm":      func(keys []storage.StoredKey) []storage.StoredKey { keys[0].Algorithm = ""; return keys },
			"an ID with a space":      func(keys []storage.StoredKey) []storage.StoredKey { keys[0].ID = "a b"; return keys },
			"an ID with a NUL":        func(keys []storage.StoredKey) []storage.StoredKey { keys[0].ID = "a\x00b"; return keys },
			"an ID that is not ASCII": func(keys []storage.StoredKey) []storage.StoredKey { keys[0].ID = "clé"; return keys },
			"an ID too long": func(keys []storage.StoredKey) []storage.StoredKey {
				keys[0].ID = strings.Repeat("a", storage.MaxKeyIDBytes+1)
				return keys
			},
			"an unknown state":   func(keys []storage.StoredKey) []storage.StoredKey { keys[0].State = "active"; return keys },
			"no sealed material": func(keys []storage.StoredKey) []storage.StoredKey { keys[0].Sealed = nil; return keys },
			"sealed material too large": func(keys []storage.StoredKey) []storage.StoredKey {
				keys[0].Sealed = make([]byte, storage.MaxSealedKeyBytes+1)
				return keys
			},
		}
		for rule, change := range cases {
			t.Run(rule, func(t *testing.T) {
				s := newKeyStore(t)
				name := newKeySetName(t)
				first := storedKey(t, storage.KeySigning)
				require.Equal(t, int64(1), saveKeySet(t, s, name, 0, first))
				keys := change([]storage.StoredKey{storedKey(t, storage.KeySigning)})
				_, err := s.SaveKeySet(t.Context(), name, 1, keys)
				assert.Error(t, err)
				assert.NotErrorIs(t, err, storage.ErrVersionConflict)
				assertKeySet(t, 1, []storage.StoredKey{first}, loadKeySet(t, s, name))
			})
		}
		for rule, name := range map[string]string{
			"an empty name":     "",
			"a name too long":   strings.Repeat("n", storage.MaxKeySetNameBytes+1),
			"a name with a NUL": "set\x00",
		} {
			t.Run(rule, func(t *testing.T) {
				s := newKeyStore(t)
				_, err := s.SaveKeySet(t.Context(), name, 0, []storage.StoredKey{storedKey(t, storage.KeySigning)})
				assert.Error(t, err)
			})
		}
	})

	t.Run("a cancelled context is an error and writes nothing", func(t *testing.T) {
		s := newKeyStore(t)
		name := newKeySetName(t)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, err := s.SaveKeySet(ctx, name, 0, []storage.StoredKey{storedKey(t, storage.KeySigning)})
		assert.Error(t, err, "SaveKeySet")
		_, err = s.LoadKeySet(ctx, name)
		assert.Error(t, err, "LoadKeySet")
		set := loadKeySet(t, s, name)
		assert.Zero(t, set.Version)
	})
}
