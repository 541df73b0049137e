package sqlite_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/internal/keystest"
	"github.com/grantor-dev/grantor/storage"
	"github.com/grantor-dev/grantor/storage/sqlite"
)

// raceSaves races n saves of the set name at version, the i-th through
// stores[i%len(stores)] with keys of its own, and returns which call won.
// Every other call must get storage.ErrVersionConflict, nothing else.
func raceSaves(t *testing.T, stores []*sqlite.Store, name string, version int64, n int) (winner int, keys [][]storage.StoredKey) {
	t.Helper()
	keys = make([][]storage.StoredKey, n)
	for i := range keys {
		keys[i] = []storage.StoredKey{keystest.StoredKey(storage.KeySigning), keystest.StoredKey(storage.KeyPublished)}
	}
	versions := make([]int64, n)
	errs := make([]error, n)
	start := make(chan struct{})
	done := make(chan struct{})
	for i := range n {
		go func() {
			defer func() { done <- struct{}{} }()
			<-start
			versions[i], errs[i] = stores[i%len(stores)].SaveKeySet(t.Context(), name, version, keys[i])
		}()
	}
	close(start)
	for range n {
		<-done
	}
	winner = -1
	for i, err := range errs {
		switch {
		case err == nil:
			assert.Equal(t, -1, winner, "calls %d and %d both won", winner, i)
			assert.Equal(t, version+1, versions[i], "the winner's new version")
			winner = i
		case !errors.Is(err, storage.ErrVersionConflict):
			t.Errorf("call %d: %v, want nil or ErrVersionConflict", i, err)
		}
	}
	require.NotEqual(t, -1, winner, "no call won")
	return winner, keys
}

// TestKeySetsOverOneDatabase runs the rotation of a key set by two
// instances, each with its own Store over one file: each loads what the
// other saved, and of the two deciding a rotation at once, through either
// Store, exactly one writes and the other is told to read again
// (storage.ErrVersionConflict), so the cluster rotates once.
func TestKeySetsOverOneDatabase(t *testing.T) {
	stores := openMany(t, 2)
	a, b := stores[0], stores[1]
	const name = "jwt-signing"

	first := []storage.StoredKey{keystest.StoredKey(storage.KeySigning)}
	v, err := a.SaveKeySet(t.Context(), name, 0, first)
	require.NoError(t, err)
	require.Equal(t, int64(1), v)
	got := keystest.MustLoad(t, b, name)
	assert.Equal(t, int64(1), got.Version, "B sees A's save")
	assert.Equal(t, first, got.Keys, "B loads A's keys as A saved them")

	// Both read version 1 and decide to publish a next key; B is first.
	next := append(keystest.MustLoad(t, a, name).Keys, keystest.StoredKey(storage.KeyPublished))
	v, err = b.SaveKeySet(t.Context(), name, 1, next)
	require.NoError(t, err)
	require.Equal(t, int64(2), v)
	_, err = a.SaveKeySet(t.Context(), name, 1, append(first, keystest.StoredKey(storage.KeyPublished)))
	assert.ErrorIs(t, err, storage.ErrVersionConflict, "A read version 1, B wrote version 2")
	got = keystest.MustLoad(t, a, name)
	assert.Equal(t, int64(2), got.Version, "A sees B's save, not its own")
	assert.Equal(t, keystest.IDs(next), keystest.IDs(got.Keys))

	t.Run("20 saves at one version through two Stores: exactly one wins", func(t *testing.T) {
		for round := range 3 {
			version := keystest.MustLoad(t, a, name).Version
			winner, keys := raceSaves(t, stores, name, version, 20)
			for i, s := range stores {
				got := keystest.MustLoad(t, s, name)
				assert.Equal(t, version+1, got.Version, "round %d, Store %d", round, i)
				assert.Equal(t, keystest.IDs(keys[winner]), keystest.IDs(got.Keys), "round %d, Store %d: the winner's keys", round, i)
			}
		}
	})

	t.Run("20 first saves of a new set through two Stores: exactly one wins", func(t *testing.T) {
		for round := range 3 {
			name := fmt.Sprintf("opaque-hmac-%d", round)
			winner, keys := raceSaves(t, stores, name, 0, 20)
			for i, s := range stores {
				got := keystest.MustLoad(t, s, name)
				assert.Equal(t, int64(1), got.Version, "round %d, Store %d", round, i)
				assert.Equal(t, keystest.IDs(keys[winner]), keystest.IDs(got.Keys), "round %d, Store %d: the winner's keys", round, i)
			}
		}
	})
}

// TestKeySetsSurviveARestart checks that a key set saved before the
// process stops is loaded, whole, by the next one: tokens signed before a
// restart verify after it.
func TestKeySetsSurviveARestart(t *testing.T) {
	s, path := open(t)
	keys := []storage.StoredKey{keystest.StoredKey(storage.KeyRetired), keystest.StoredKey(storage.KeySigning), keystest.StoredKey(storage.KeyPublished)}
	_, err := s.SaveKeySet(t.Context(), "jwt-signing", 0, keys)
	require.NoError(t, err)
	require.NoError(t, s.Close())

	got := keystest.MustLoad(t, openPath(t, path), "jwt-signing")
	assert.Equal(t, int64(1), got.Version)
	assert.Equal(t, keys, got.Keys)
}

// The token keys of package token over two Stores of one file: one
// rotation for both, each other's tokens verified, a restart, a wrong
// secret and an altered key refused.
func TestStoredTokenKeysOverOneFile(t *testing.T) {
	keystest.Run(t, func(t *testing.T) (storage.KeyStore, storage.KeyStore) {
		stores := openMany(t, 2)
		return stores[0], stores[1]
	})
}
