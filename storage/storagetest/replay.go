package storagetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/storage"
)

func testRemember(t *testing.T, newStore func(*testing.T) storage.ReplayStore) {
	t.Run("first call is nil", func(t *testing.T) {
		s := newStore(t)
		assert.NoError(t, s.Remember(t.Context(), newKey(t), now().Add(time.Hour)))
	})

	t.Run("second call before expiry is ErrConsumed", func(t *testing.T) {
		s := newStore(t)
		key := newKey(t)
		require.NoError(t, s.Remember(t.Context(), key, now().Add(time.Hour)))
		assert.ErrorIs(t, s.Remember(t.Context(), key, now().Add(time.Hour)), storage.ErrConsumed)
		assert.ErrorIs(t, s.Remember(t.Context(), key, now().Add(2*time.Hour)), storage.ErrConsumed,
			"a later expiry does not let the key through")
		assert.ErrorIs(t, s.Remember(t.Context(), key, now().Add(-time.Hour)), storage.ErrConsumed,
			"an expired expiry does not let the key through")
	})

	t.Run("expired key may be remembered again", func(t *testing.T) {
		s := newStore(t)
		key := newKey(t)
		require.NoError(t, s.Remember(t.Context(), key, now().Add(-time.Hour)))
		assert.NoError(t, s.Remember(t.Context(), key, now().Add(time.Hour)))
		assert.ErrorIs(t, s.Remember(t.Context(), key, now().Add(time.Hour)), storage.ErrConsumed,
			"the new entry is remembered")
	})

	t.Run("keys are independent", func(t *testing.T) {
		s := newStore(t)
		key := newKey(t)
		require.NoError(t, s.Remember(t.Context(), key, now().Add(time.Hour)))
		assert.NoError(t, s.Remember(t.Context(), newKey(t), now().Add(time.Hour)))
		assert.NoError(t, s.Remember(t.Context(), key[:42], now().Add(time.Hour)), "a prefix of a remembered key")
	})

	t.Run("concurrent callers: exactly one wins", func(t *testing.T) {
		s := newStore(t)
		key := newKey(t)
		exp := now().Add(time.Hour)
		errs := make([]error, concurrency)
		race(concurrency, func(i int) { errs[i] = s.Remember(t.Context(), key, exp) })
		countWinners(t, errs, storage.ErrConsumed)
	})

	t.Run("concurrent callers on an expired key: exactly one wins", func(t *testing.T) {
		s := newStore(t)
		key := newKey(t)
		require.NoError(t, s.Remember(t.Context(), key, now().Add(-time.Hour)))
		exp := now().Add(time.Hour)
		errs := make([]error, concurrency)
		race(concurrency, func(i int) { errs[i] = s.Remember(t.Context(), key, exp) })
		countWinners(t, errs, storage.ErrConsumed)
	})
}
