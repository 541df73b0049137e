package storagetest

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/storage"
)

// useOnce describes a kind of record that is created once, read any number
// of times and used once: an interaction (completed), an authorization code
// or a pushed request (consumed). The rules the three stores share are
// written once, below, against this description.
type useOnce[S, R any] struct {
	// Method names, as they appear in the subtest names.
	create, get, use string
	// usedField is the field the use sets: "CompletedAt" or "ConsumedAt";
	// used says what the record then is: "completed" or "consumed"; noun
	// names the record.
	usedField, used, noun string

	// full returns a new record under a fresh key with every field set,
	// not used yet; minimal one with only the fields the Provider always
	// sets.
	full, minimal func(t *testing.T) *R

	key    func(r *R) string
	setKey func(r *R, key string)
	// request points at the record's authorization request; size is
	// the record's Size.
	request func(r *R) *storage.AuthorizationRequest
	size    func(r *R) (int, error)
	usedAt  func(r *R) time.Time
	setUsed func(r *R, at time.Time)
	// assertEqual checks that got holds every field of want.
	assertEqual func(t *testing.T, want, got *R)
	// clone returns a deep copy of a record; scribble changes every
	// field of one in place, down to the elements of its lists and the
	// values inside its claims.
	clone    func(t *testing.T, r *R) *R
	scribble func(r *R)

	// The store's methods.
	doCreate func(ctx context.Context, s S, r *R) error
	doGet    func(ctx context.Context, s S, key string) (*R, error)
	doUse    func(ctx context.Context, s S, key string, at time.Time) (*R, error)
}

// mustCreate stores r, failing the test if it cannot.
func (k *useOnce[S, R]) mustCreate(t *testing.T, s S, r *R) {
	t.Helper()
	require.NoError(t, k.doCreate(t.Context(), s, r), k.create)
}

// mustGet returns the record under key, failing the test if there is none.
func (k *useOnce[S, R]) mustGet(t *testing.T, s S, key string) *R {
	t.Helper()
	got, err := k.doGet(t.Context(), s, key)
	require.NoError(t, err, k.get)
	require.NotNil(t, got, "%s returned a nil record and no error", k.get)
	return got
}

// assertNotFound checks that no record is stored under key.
func (k *useOnce[S, R]) assertNotFound(t *testing.T, s S, key string) {
	t.Helper()
	_, err := k.doGet(t.Context(), s, key)
	assert.ErrorIs(t, err, storage.ErrNotFound, "%s of a key that must not be stored", k.get)
}

// testCreateOnce checks the create method of k.
func testCreateOnce[S, R any](t *testing.T, newStore func(*testing.T) S, k useOnce[S, R]) {
	t.Run("round trip keeps every field", func(t *testing.T) {
		s := newStore(t)
		want := k.full(t)
		k.mustCreate(t, s, want)
		k.assertEqual(t, want, k.mustGet(t, s, k.key(want)))
	})

	t.Run(k.noun+" with only the required fields round trips", func(t *testing.T) {
		s := newStore(t)
		want := k.minimal(t)
		k.mustCreate(t, s, want)
		k.assertEqual(t, want, k.mustGet(t, s, k.key(want)))
	})

	t.Run(k.usedField+" given at creation is kept", func(t *testing.T) {
		s := newStore(t)
		want := k.full(t)
		k.setUsed(want, now().Add(-time.Second))
		k.mustCreate(t, s, want)
		k.assertEqual(t, want, k.mustGet(t, s, k.key(want)))
	})

	t.Run(k.noun+"s are kept apart", func(t *testing.T) {
		s := newStore(t)
		a, b := k.full(t), k.full(t)
		k.mustCreate(t, s, a)
		k.mustCreate(t, s, b)
		k.assertEqual(t, a, k.mustGet(t, s, k.key(a)))
		k.assertEqual(t, b, k.mustGet(t, s, k.key(b)))
	})

	t.Run("existing key is ErrDuplicate and the stored record is unchanged", func(t *testing.T) {
		s := newStore(t)
		first := k.full(t)
		k.mustCreate(t, s, first)
		second := k.minimal(t)
		k.setKey(second, k.key(first))
		assert.ErrorIs(t, k.doCreate(t.Context(), s, second), storage.ErrDuplicate)
		k.assertEqual(t, first, k.mustGet(t, s, k.key(first)))
	})

	t.Run("existing "+k.used+" key is ErrDuplicate and the record stays "+k.used, func(t *testing.T) {
		s := newStore(t)
		first := k.full(t)
		k.mustCreate(t, s, first)
		at := now()
		_, err := k.doUse(t.Context(), s, k.key(first), at)
		require.NoError(t, err, k.use)
		second := k.full(t)
		k.setKey(second, k.key(first))
		assert.ErrorIs(t, k.doCreate(t.Context(), s, second), storage.ErrDuplicate,
			"a "+k.used+" key cannot be stored again to be used again")
		assertTime(t, k.usedField, at, k.usedAt(k.mustGet(t, s, k.key(first))))
	})

	t.Run("keys are matched exactly", func(t *testing.T) {
		s := newStore(t)
		a, b := k.full(t), k.full(t)
		k.setKey(a, "abcDEF_-0123456789abcdefghijklmnopqrstuvwxy")
		k.setKey(b, "ABCdef_-0123456789abcdefghijklmnopqrstuvwxy")
		k.mustCreate(t, s, a)
		k.mustCreate(t, s, b)
		k.assertEqual(t, a, k.mustGet(t, s, k.key(a)))
		k.assertEqual(t, b, k.mustGet(t, s, k.key(b)))
		k.assertNotFound(t, s, k.key(a)[:42])
		k.assertNotFound(t, s, k.key(a)+" ")
	})

	t.Run("concurrent callers with one key: exactly one wins", func(t *testing.T) {
		s := newStore(t)
		key := newKey(t)
		recs := make([]*R, concurrency)
		for i := range recs {
			recs[i] = k.full(t)
			k.setKey(recs[i], key)
		}
		errs := make([]error, concurrency)
		race(concurrency, func(i int) { errs[i] = k.doCreate(t.Context(), s, recs[i]) })
		if w := countWinners(t, errs, storage.ErrDuplicate); w >= 0 {
			k.assertEqual(t, recs[w], k.mustGet(t, s, key))
		}
	})
}

// testGetOnce checks the read method of k.
func testGetOnce[S, R any](t *testing.T, newStore func(*testing.T) S, k useOnce[S, R]) {
	t.Run("unknown key is ErrNotFound", func(t *testing.T) {
		s := newStore(t)
		k.mustCreate(t, s, k.full(t))
		rec, err := k.doGet(t.Context(), s, newKey(t))
		assert.ErrorIs(t, err, storage.ErrNotFound)
		assert.Nil(t, rec, "no record with ErrNotFound")
	})

	t.Run("empty key is ErrNotFound", func(t *testing.T) {
		s := newStore(t)
		k.mustCreate(t, s, k.full(t))
		_, err := k.doGet(t.Context(), s, "")
		assert.ErrorIs(t, err, storage.ErrNotFound)
	})

	t.Run(k.used+" "+k.noun+" is returned with "+k.usedField, func(t *testing.T) {
		s := newStore(t)
		want := k.full(t)
		k.mustCreate(t, s, want)
		at := now()
		_, err := k.doUse(t.Context(), s, k.key(want), at)
		require.NoError(t, err, k.use)
		k.setUsed(want, at)
		k.assertEqual(t, want, k.mustGet(t, s, k.key(want)))
	})

	t.Run("reading leaves the "+k.noun+" not "+k.used, func(t *testing.T) {
		s := newStore(t)
		want := k.full(t)
		k.mustCreate(t, s, want)
		for range 3 {
			assert.True(t, k.usedAt(k.mustGet(t, s, k.key(want))).IsZero(), k.usedField)
		}
		_, err := k.doUse(t.Context(), s, k.key(want), now())
		assert.NoError(t, err, "the "+k.noun+" is still not "+k.used)
	})
}

// testUseOnce checks the use-once method of k.
func testUseOnce[S, R any](t *testing.T, newStore func(*testing.T) S, k useOnce[S, R]) {
	t.Run("sets "+k.usedField+" and returns the record", func(t *testing.T) {
		s := newStore(t)
		want := k.full(t)
		k.mustCreate(t, s, want)
		at := now()
		got, err := k.doUse(t.Context(), s, k.key(want), at)
		require.NoError(t, err)
		require.NotNil(t, got, "%s returned a nil record and no error", k.use)
		k.setUsed(want, at)
		k.assertEqual(t, want, got)
		k.assertEqual(t, want, k.mustGet(t, s, k.key(want)))
	})

	t.Run(k.noun+" with only the required fields is "+k.used+" and returned", func(t *testing.T) {
		s := newStore(t)
		want := k.minimal(t)
		k.mustCreate(t, s, want)
		at := now()
		got, err := k.doUse(t.Context(), s, k.key(want), at)
		require.NoError(t, err)
		k.setUsed(want, at)
		k.assertEqual(t, want, got)
	})

	t.Run("second call returns the record with the first "+k.usedField+" and ErrConsumed", func(t *testing.T) {
		s := newStore(t)
		want := k.full(t)
		k.mustCreate(t, s, want)
		first := now()
		_, err := k.doUse(t.Context(), s, k.key(want), first)
		require.NoError(t, err)
		got, err := k.doUse(t.Context(), s, k.key(want), first.Add(time.Second))
		assert.ErrorIs(t, err, storage.ErrConsumed)
		require.NotNil(t, got, "the record must come with ErrConsumed")
		k.setUsed(want, first)
		k.assertEqual(t, want, got)
		k.assertEqual(t, want, k.mustGet(t, s, k.key(want)))

		_, err = k.doUse(t.Context(), s, k.key(want), first.Add(2*time.Second))
		assert.ErrorIs(t, err, storage.ErrConsumed, "a third call")
		assertTime(t, "stored "+k.usedField, first, k.usedAt(k.mustGet(t, s, k.key(want))))
	})

	t.Run(k.noun+" created "+k.used+" is ErrConsumed", func(t *testing.T) {
		s := newStore(t)
		want := k.full(t)
		created := now().Add(-time.Second)
		k.setUsed(want, created)
		k.mustCreate(t, s, want)
		got, err := k.doUse(t.Context(), s, k.key(want), now())
		assert.ErrorIs(t, err, storage.ErrConsumed)
		if assert.NotNil(t, got, "the record must come with ErrConsumed") {
			k.assertEqual(t, want, got)
		}
	})

	t.Run("unknown key is ErrNotFound", func(t *testing.T) {
		s := newStore(t)
		k.mustCreate(t, s, k.full(t))
		rec, err := k.doUse(t.Context(), s, newKey(t), now())
		assert.ErrorIs(t, err, storage.ErrNotFound)
		assert.Nil(t, rec, "no record with ErrNotFound")
	})

	t.Run("empty key is ErrNotFound", func(t *testing.T) {
		s := newStore(t)
		k.mustCreate(t, s, k.full(t))
		_, err := k.doUse(t.Context(), s, "", now())
		assert.ErrorIs(t, err, storage.ErrNotFound)
	})

	t.Run("one "+k.noun+" "+k.used+" leaves the others alone", func(t *testing.T) {
		s := newStore(t)
		a, b := k.full(t), k.full(t)
		k.mustCreate(t, s, a)
		k.mustCreate(t, s, b)
		_, err := k.doUse(t.Context(), s, k.key(a), now())
		require.NoError(t, err)
		k.assertEqual(t, b, k.mustGet(t, s, k.key(b)))
		_, err = k.doUse(t.Context(), s, k.key(b), now())
		assert.NoError(t, err, "the other "+k.noun+" is still not "+k.used)
	})

	t.Run("concurrent callers: exactly one wins", func(t *testing.T) {
		s := newStore(t)
		want := k.full(t)
		k.mustCreate(t, s, want)
		base := now()
		ats := make([]time.Time, concurrency)
		recs := make([]*R, concurrency)
		errs := make([]error, concurrency)
		for i := range ats {
			ats[i] = base.Add(time.Duration(i+1) * time.Millisecond)
		}
		race(concurrency, func(i int) { recs[i], errs[i] = k.doUse(t.Context(), s, k.key(want), ats[i]) })
		w := countWinners(t, errs, storage.ErrConsumed)
		if w < 0 {
			return
		}
		k.setUsed(want, ats[w])
		for i, rec := range recs {
			if !assert.NotNil(t, rec, "call %d returned no record", i) {
				continue
			}
			assertTime(t, k.usedField+" seen by a caller", ats[w], k.usedAt(rec))
		}
		k.assertEqual(t, want, recs[w])
		k.assertEqual(t, want, k.mustGet(t, s, k.key(want)))
	})

	t.Run("concurrent callers on different keys all win", func(t *testing.T) {
		s := newStore(t)
		recs := make([]*R, concurrency)
		for i := range recs {
			recs[i] = k.full(t)
			k.mustCreate(t, s, recs[i])
		}
		errs := make([]error, concurrency)
		race(concurrency, func(i int) { _, errs[i] = k.doUse(t.Context(), s, k.key(recs[i]), now()) })
		for i, err := range errs {
			assert.NoError(t, err, "call %d", i)
		}
	})

	t.Run("concurrent with "+k.get+": readers see the "+k.noun+" before or after, never torn", func(t *testing.T) {
		s := newStore(t)
		want := k.full(t)
		k.mustCreate(t, s, want)
		at := now()
		used := k.full(t)
		k.setKey(used, k.key(want))
		k.setUsed(used, at)
		errs := make([]error, concurrency)
		recs := make([]*R, concurrency)
		race(concurrency, func(i int) {
			if i == 0 {
				_, errs[i] = k.doUse(t.Context(), s, k.key(want), at)
				return
			}
			recs[i], errs[i] = k.doGet(t.Context(), s, k.key(want))
		})
		for i, err := range errs {
			require.NoError(t, err, "call %d", i)
		}
		for _, rec := range recs[1:] {
			if k.usedAt(rec).IsZero() {
				k.assertEqual(t, want, rec)
			} else {
				assertTime(t, k.usedField, at, k.usedAt(rec))
			}
		}
	})
}

// testCancelledOnce checks that k's methods honour a cancelled context.
func testCancelledOnce[S, R any](t *testing.T, newStore func(*testing.T) S, k useOnce[S, R]) {
	t.Run("cancelled "+k.create+" is an error and stores nothing", func(t *testing.T) {
		s := newStore(t)
		r := k.full(t)
		assert.ErrorIs(t, k.doCreate(cancelled(t), s, r), context.Canceled)
		k.assertNotFound(t, s, k.key(r))
	})

	t.Run("cancelled "+k.get+" is an error", func(t *testing.T) {
		s := newStore(t)
		r := k.full(t)
		k.mustCreate(t, s, r)
		_, err := k.doGet(cancelled(t), s, k.key(r))
		assert.ErrorIs(t, err, context.Canceled)
	})

	t.Run("cancelled "+k.use+" is an error and leaves the "+k.noun+" not "+k.used, func(t *testing.T) {
		s := newStore(t)
		r := k.full(t)
		k.mustCreate(t, s, r)
		_, err := k.doUse(cancelled(t), s, k.key(r), now())
		assert.ErrorIs(t, err, context.Canceled)
		k.assertEqual(t, r, k.mustGet(t, s, k.key(r)))
		_, err = k.doUse(t.Context(), s, k.key(r), now())
		assert.NoError(t, err, "the "+k.noun+" is still not "+k.used)
	})
}
