package postgres_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/grantortest"
	"github.com/grantor-dev/grantor/storage"
	"github.com/grantor-dev/grantor/storage/postgres"
)

// limiterStart is an aligned hour, so that windows of a second, a minute
// and an hour all start there.
var limiterStart = time.Date(2030, 1, 2, 3, 0, 0, 0, time.UTC)

// mustTake counts one event, failing the test on an error.
func mustTake(t *testing.T, l storage.Limiter, key string, window time.Duration, at time.Time) (int64, time.Time) {
	t.Helper()
	n, resetAt, err := l.Take(t.Context(), key, window, at)
	require.NoError(t, err, "Take")
	return n, resetAt
}

// limiterRows returns how many keys the limiter table holds.
func limiterRows(t *testing.T, pool *pgxpool.Pool) int {
	t.Helper()
	var n int
	require.NoError(t, pool.QueryRow(t.Context(), "SELECT count(*) FROM limiter").Scan(&n))
	return n
}

func TestTake(t *testing.T) {
	ts := newTestServer(t)

	t.Run("a key of MaxKeyBytes is counted, a longer one is refused as too large and not counted", func(t *testing.T) {
		pool, _ := ts.migratedPool(t)
		s := postgres.New(pool)
		key := strings.Repeat("k", storage.MaxKeyBytes)
		n, _ := mustTake(t, s, key, time.Minute, limiterStart)
		assert.Equal(t, int64(1), n)
		_, _, err := s.Take(t.Context(), key+"k", time.Minute, limiterStart)
		assert.ErrorIs(t, err, storage.ErrTooLarge)
		assert.NotContains(t, err.Error(), key, "the error does not quote the key")
		assert.Equal(t, 1, limiterRows(t, pool))
	})

	t.Run("an empty key is an error", func(t *testing.T) {
		pool, _ := ts.migratedPool(t)
		s := postgres.New(pool)
		_, _, err := s.Take(t.Context(), "", time.Minute, limiterStart)
		assert.Error(t, err)
		assert.Zero(t, limiterRows(t, pool))
	})

	t.Run("a zero now is the store clock's now", func(t *testing.T) {
		pool, _ := ts.migratedPool(t)
		clock := grantortest.NewClock(limiterStart.Add(90 * time.Second))
		s := postgres.New(pool, postgres.WithClock(clock.Now))
		n, resetAt := mustTake(t, s, "k", time.Minute, time.Time{})
		assert.Equal(t, int64(1), n)
		assert.True(t, limiterStart.Add(2*time.Minute).Equal(resetAt), "resetAt %v", resetAt)
		n, _ = mustTake(t, s, "k", time.Minute, clock.Now())
		assert.Equal(t, int64(2), n, "the same window as the clock's now")
	})

	// timestamptz keeps microseconds: a window whose length is not a
	// whole number of them still ends where storage.WindowStart says.
	t.Run("windows are exact to the nanosecond", func(t *testing.T) {
		pool, _ := ts.migratedPool(t)
		s := postgres.New(pool)
		const w = time.Minute + 1001*time.Nanosecond
		at := limiterStart.Add(123456789 * time.Nanosecond)
		end := storage.WindowStart(at, w).Add(w)
		n, resetAt := mustTake(t, s, "k", w, at)
		assert.Equal(t, int64(1), n)
		assert.True(t, end.Equal(resetAt), "resetAt %v, want %v", resetAt, end)
		n, resetAt = mustTake(t, s, "k", w, end.Add(-time.Nanosecond))
		assert.Equal(t, int64(2), n, "a nanosecond before the end is the same window")
		assert.True(t, end.Equal(resetAt), "resetAt %v, want %v", resetAt, end)
		n, resetAt = mustTake(t, s, "k", w, end)
		assert.Equal(t, int64(1), n, "the end starts the next window")
		assert.True(t, end.Add(w).Equal(resetAt), "resetAt %v, want %v", resetAt, end.Add(w))
	})

	t.Run("a row of an ended window starts again at 1, and a now of an earlier window counts in the current one", func(t *testing.T) {
		pool, _ := ts.migratedPool(t)
		s := postgres.New(pool)
		for i := range 3 {
			n, _ := mustTake(t, s, "k", time.Minute, limiterStart.Add(time.Duration(i)*time.Second))
			require.Equal(t, int64(i+1), n)
		}
		// Two windows later, the row of the first is not counted on.
		later := limiterStart.Add(2 * time.Minute)
		n, resetAt := mustTake(t, s, "k", time.Minute, later)
		assert.Equal(t, int64(1), n)
		assert.True(t, later.Add(time.Minute).Equal(resetAt), "resetAt %v", resetAt)
		// A caller that read the clock in the window before (just before
		// the boundary) counts in the current one: it never starts the
		// count again, and learns the current window's end.
		n, resetAt = mustTake(t, s, "k", time.Minute, later.Add(-time.Millisecond))
		assert.Equal(t, int64(2), n)
		assert.True(t, later.Add(time.Minute).Equal(resetAt), "resetAt %v", resetAt)
		n, _ = mustTake(t, s, "k", time.Minute, later.Add(30*time.Second))
		assert.Equal(t, int64(3), n)
		assert.Equal(t, 1, limiterRows(t, pool), "one row per key")
	})
}

func TestLimiterSweep(t *testing.T) {
	ts := newTestServer(t)
	hour := time.Hour

	t.Run("Take sweeps at most once per interval, to the cap, forgetting the smallest counts first", func(t *testing.T) {
		pool, _ := ts.migratedPool(t)
		clock := grantortest.NewClock(limiterStart)
		s := postgres.New(pool, postgres.WithClock(clock.Now),
			postgres.WithLimiterKeys(10), postgres.WithLimiterSweepInterval(time.Minute))
		at := limiterStart.Add(time.Minute)
		for range 5 {
			mustTake(t, s, "hot", hour, at)
		}
		for range 3 {
			mustTake(t, s, "warm", hour, at)
		}
		mustTake(t, s, "ended", time.Second, limiterStart)
		for i := range 50 {
			mustTake(t, s, fmt.Sprintf("flood-%d", i), hour, at)
		}
		assert.Equal(t, 53, limiterRows(t, pool), "no sweep within the interval: the cap is exceeded by the keys of one interval")

		clock.Advance(time.Minute)
		n, _ := mustTake(t, s, "new", hour, at)
		assert.Equal(t, int64(1), n)
		assert.Equal(t, 10+1, limiterRows(t, pool), "the sweep left the cap, then Take counted its new key")
		var ended int
		require.NoError(t, pool.QueryRow(t.Context(), "SELECT count(*) FROM limiter WHERE key = 'ended'::bytea").Scan(&ended))
		assert.Zero(t, ended, "the ended window is deleted")
		n, _ = mustTake(t, s, "hot", hour, at)
		assert.Equal(t, int64(6), n, "the largest count is kept")
		n, _ = mustTake(t, s, "warm", hour, at)
		assert.Equal(t, int64(4), n, "and the next")

		for i := range 5 {
			mustTake(t, s, fmt.Sprintf("next-%d", i), hour, at)
		}
		clock.Advance(59 * time.Second)
		mustTake(t, s, "next-5", hour, at)
		assert.Equal(t, 11+6, limiterRows(t, pool), "no sweep before the interval has passed")
		clock.Advance(time.Second)
		mustTake(t, s, "next-6", hour, at)
		assert.Equal(t, 10+1, limiterRows(t, pool), "one sweep once it has")
		n, _ = mustTake(t, s, "hot", hour, at)
		assert.Equal(t, int64(7), n)
	})

	t.Run("DeleteExpired deletes ended windows and trims to the cap, smallest counts first, never raising one", func(t *testing.T) {
		pool, _ := ts.migratedPool(t)
		clock := grantortest.NewClock(limiterStart)
		s := postgres.New(pool, postgres.WithClock(clock.Now), postgres.WithLimiterKeys(3))
		at := limiterStart.Add(time.Minute)
		counts := map[string]int{"a": 5, "b": 4, "c": 2, "d": 1, "e": 1}
		for key, n := range counts {
			for range n {
				mustTake(t, s, key, hour, at)
			}
		}
		mustTake(t, s, "ended", time.Second, limiterStart)

		n, err := s.DeleteExpired(t.Context(), at, 0)
		require.NoError(t, err)
		assert.Equal(t, 1, n, "the ended window is counted as deleted, the keys trimmed are not")
		assert.Equal(t, 3, limiterRows(t, pool))
		for key, want := range map[string]int64{"a": 6, "b": 5, "c": 3, "d": 1, "e": 1, "ended": 1} {
			n, _ := mustTake(t, s, key, hour, at)
			assert.Equal(t, want, n, "count of %s", key)
		}
	})

	t.Run("a sweep under the cap forgets no key whose window goes on", func(t *testing.T) {
		pool, _ := ts.migratedPool(t)
		s := postgres.New(pool, postgres.WithLimiterKeys(3))
		at := limiterStart.Add(time.Minute)
		for _, key := range []string{"a", "b", "c"} {
			mustTake(t, s, key, hour, at)
		}
		n, err := s.DeleteExpired(t.Context(), at.Add(59*time.Minute-time.Microsecond), 0)
		require.NoError(t, err)
		assert.Zero(t, n)
		assert.Equal(t, 3, limiterRows(t, pool))
		n, err = s.DeleteExpired(t.Context(), at.Add(59*time.Minute), 0)
		require.NoError(t, err)
		assert.Equal(t, 3, n, "deleted once their window has ended")
	})

	t.Run("two instances sweeping at once leave the cap, not fewer keys", func(t *testing.T) {
		poolA, cfg := ts.migratedPool(t)
		poolB := newPool(t, cfg.Copy())
		const maxKeys = 10
		clock := grantortest.NewClock(limiterStart)
		a := postgres.New(poolA, postgres.WithClock(clock.Now), postgres.WithLimiterKeys(maxKeys))
		b := postgres.New(poolB, postgres.WithClock(clock.Now), postgres.WithLimiterKeys(maxKeys))
		at := limiterStart.Add(time.Minute)
		for i := range maxKeys {
			mustTake(t, a, fmt.Sprintf("kept-%d", i), hour, at)
			mustTake(t, b, fmt.Sprintf("kept-%d", i), hour, at)
		}
		for i := range 200 {
			mustTake(t, []*postgres.Store{a, b}[i%2], fmt.Sprintf("once-%d", i), hour, at)
		}
		errs := make([]error, 2)
		race(2, func(i int) { _, errs[i] = []*postgres.Store{a, b}[i].DeleteExpired(t.Context(), at, 7) })
		require.NoError(t, errs[0])
		require.NoError(t, errs[1])
		assert.Equal(t, maxKeys, limiterRows(t, poolA))
		for i := range maxKeys {
			n, _ := mustTake(t, b, fmt.Sprintf("kept-%d", i), hour, at)
			assert.Equal(t, int64(3), n, "count of kept-%d", i)
		}
	})
}
