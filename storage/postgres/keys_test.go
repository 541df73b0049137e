package postgres_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/internal/keystest"
	"github.com/grantor-dev/grantor/storage"
	"github.com/grantor-dev/grantor/storage/postgres"
)

// raceSaves races n saves of the set name at version, the i-th through
// stores[i%len(stores)] with keys of its own, checks that exactly one won
// and every other got storage.ErrVersionConflict, nothing else, and
// returns the winner's keys.
func raceSaves(t *testing.T, stores []*postgres.Store, name string, version int64, n int) []storage.StoredKey {
	t.Helper()
	keys := make([][]storage.StoredKey, n)
	for i := range keys {
		keys[i] = []storage.StoredKey{keystest.StoredKey(storage.KeySigning), keystest.StoredKey(storage.KeyPublished)}
	}
	versions := make([]int64, n)
	errs := make([]error, n)
	race(n, func(i int) {
		versions[i], errs[i] = stores[i%len(stores)].SaveKeySet(t.Context(), name, version, keys[i])
	})
	winner := -1
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
	return keys[winner]
}

// TestKeySetsAcrossInstances runs the rotation of a key set by two
// instances, each with a pool and a Store of its own over one database:
// each loads what the other saved, and of the two deciding a rotation at
// once exactly one writes and the other is told to read again
// (storage.ErrVersionConflict), so the cluster rotates once.
func TestKeySetsAcrossInstances(t *testing.T) {
	ts := newTestServer(t)
	poolA, cfg := ts.migratedPool(t)
	a, b := postgres.New(poolA), postgres.New(newPool(t, cfg.Copy()))
	stores := []*postgres.Store{a, b}
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
	assert.Equal(t, next, got.Keys)

	t.Run("20 saves at one version from two instances: exactly one wins", func(t *testing.T) {
		for round := range 3 {
			version := keystest.MustLoad(t, a, name).Version
			won := raceSaves(t, stores, name, version, 20)
			for i, s := range stores {
				got := keystest.MustLoad(t, s, name)
				assert.Equal(t, version+1, got.Version, "round %d, instance %d", round, i)
				assert.Equal(t, keystest.IDs(won), keystest.IDs(got.Keys), "round %d, instance %d: the winner's keys", round, i)
			}
		}
	})

	t.Run("20 first saves of a new set from two instances: exactly one wins", func(t *testing.T) {
		for round := range 3 {
			name := fmt.Sprintf("opaque-hmac-%d", round)
			won := raceSaves(t, stores, name, 0, 20)
			for i, s := range stores {
				got := keystest.MustLoad(t, s, name)
				assert.Equal(t, int64(1), got.Version, "round %d, instance %d", round, i)
				assert.Equal(t, keystest.IDs(won), keystest.IDs(got.Keys), "round %d, instance %d: the winner's keys", round, i)
			}
		}
	})
}

// TestKeySetsUnderSerializableDefault checks that a database whose
// default isolation is SERIALIZABLE (default_transaction_isolation, set by
// its administrator) changes nothing: of concurrent saves at one version,
// one wins and the others get storage.ErrVersionConflict, even with
// retries switched off, and never a serialization failure.
func TestKeySetsUnderSerializableDefault(t *testing.T) {
	ts := newTestServer(t)
	_, cfg := ts.migratedPool(t)
	serializable := cfg.Copy()
	serializable.ConnConfig.RuntimeParams["default_transaction_isolation"] = "serializable"
	stores := []*postgres.Store{
		postgres.New(newPool(t, serializable), postgres.WithRetries(0)),
		postgres.New(newPool(t, serializable.Copy()), postgres.WithRetries(0)),
	}
	var level string
	require.NoError(t, newPool(t, serializable.Copy()).QueryRow(t.Context(), "SHOW default_transaction_isolation").Scan(&level))
	require.Equal(t, "serializable", level)

	for round := range 3 {
		name := fmt.Sprintf("jwt-signing-%d", round)
		raceSaves(t, stores, name, 0, 20)
		raceSaves(t, stores, name, 1, 20)
		assert.Equal(t, int64(2), keystest.MustLoad(t, stores[0], name).Version, "round %d", round)
	}
}

// The token keys of package token over two instances of one database:
// one rotation for both, each other's tokens verified, a restart, a wrong
// secret and an altered key refused.
func TestStoredTokenKeysAcrossInstances(t *testing.T) {
	ts := newTestServer(t)
	keystest.Run(t, func(t *testing.T) (storage.KeyStore, storage.KeyStore) {
		poolA, cfg := ts.migratedPool(t)
		return postgres.New(poolA), postgres.New(newPool(t, cfg.Copy()))
	})
}
