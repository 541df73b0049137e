package sqlite_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/storage"
	"github.com/grantor-dev/grantor/storage/sqlite"
)

// limiterStart is an aligned hour, so that windows of a second, a minute
// and an hour all start there.
var limiterStart = time.Date(2030, 1, 2, 3, 0, 0, 0, time.UTC)

// fakeClock is a store clock that tests move by hand, safe for concurrent
// use.
type fakeClock struct{ ns atomic.Int64 }

func newFakeClock(at time.Time) *fakeClock {
	c := &fakeClock{}
	c.set(at)
	return c
}

func (c *fakeClock) Now() time.Time   { return time.Unix(0, c.ns.Load()).UTC() }
func (c *fakeClock) set(at time.Time) { c.ns.Store(at.UnixNano()) }

// mustTake counts one event, failing the test on an error.
func mustTake(t *testing.T, l storage.Limiter, key string, window time.Duration, at time.Time) (int64, time.Time) {
	t.Helper()
	n, resetAt, err := l.Take(t.Context(), key, window, at)
	require.NoError(t, err, "Take")
	return n, resetAt
}

// limiterRows returns how many keys the limiter's table holds.
func limiterRows(t *testing.T, s *sqlite.Store) int {
	t.Helper()
	var n int
	require.NoError(t, s.DB().QueryRowContext(t.Context(), "SELECT COUNT(*) FROM limiter_windows").Scan(&n))
	return n
}

// TestLimiterOneBudgetOverOneDatabase races 50 Takes of one key, half
// through each of two Store values on one file (the connections of two
// processes): they share one count, so an attacker spreading failed
// client authentications (RFC 6749 §2.3.1) over two instances gets the
// budget of one.
func TestLimiterOneBudgetOverOneDatabase(t *testing.T) {
	const n = 50
	stores := openMany(t, 3)
	for round := range 3 {
		key := fmt.Sprintf("client-secret:app-%d", round)
		at := now()
		end := storage.WindowStart(at, time.Hour).Add(time.Hour)
		counts := make([]int64, n)
		resets := make([]time.Time, n)
		errs := make([]error, n)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				<-start
				counts[i], resets[i], errs[i] = stores[i%2].Take(t.Context(), key, time.Hour, at)
			})
		}
		close(start)
		wg.Wait()
		want := make([]int64, n)
		for i := range want {
			want[i] = int64(i + 1)
			require.NoError(t, errs[i], "round %d, call %d", round, i)
			assert.True(t, end.Equal(resets[i]), "round %d, call %d: resetAt %v", round, i, resets[i])
		}
		slices.Sort(counts)
		assert.Equal(t, want, counts, "round %d: the counts the calls saw, sorted", round)
		got, _ := mustTake(t, stores[2], key, time.Hour, at)
		assert.Equal(t, int64(n+1), got, "round %d: a third Store counts on", round)
	}
}

func TestLimiterWindows(t *testing.T) {
	t.Run("the count starts again at 1 in the next window, and resetAt is the window's end", func(t *testing.T) {
		s, _ := open(t)
		for i := range 3 {
			n, resetAt := mustTake(t, s, "k", time.Minute, limiterStart.Add(time.Duration(i)*20*time.Second))
			assert.Equal(t, int64(i+1), n)
			assert.True(t, limiterStart.Add(time.Minute).Equal(resetAt), "resetAt %v", resetAt)
		}
		next := limiterStart.Add(time.Minute)
		n, resetAt := mustTake(t, s, "k", time.Minute, next)
		assert.Equal(t, int64(1), n)
		assert.True(t, next.Add(time.Minute).Equal(resetAt), "resetAt %v", resetAt)
		assert.Equal(t, time.UTC, resetAt.Location())
		n, _ = mustTake(t, s, "k", time.Minute, next.Add(59*time.Second))
		assert.Equal(t, int64(2), n)
	})

	// A caller that read the clock just before a window's end and reached
	// the database after a call of the next window counts in the newer
	// one: it never starts the count again, nor moves the window back.
	t.Run("a now of an earlier window counts in the current one", func(t *testing.T) {
		s, _ := open(t)
		next := limiterStart.Add(time.Minute)
		mustTake(t, s, "k", time.Minute, next)
		mustTake(t, s, "k", time.Minute, next)
		n, resetAt := mustTake(t, s, "k", time.Minute, next.Add(-time.Millisecond))
		assert.Equal(t, int64(3), n)
		assert.True(t, next.Add(time.Minute).Equal(resetAt), "resetAt %v", resetAt)
		n, resetAt = mustTake(t, s, "k", time.Minute, next.Add(time.Second))
		assert.Equal(t, int64(4), n)
		assert.True(t, next.Add(time.Minute).Equal(resetAt), "resetAt %v", resetAt)
	})

	t.Run("windows of any length are kept to the nanosecond", func(t *testing.T) {
		s, _ := open(t)
		const w = 1500 * time.Nanosecond
		at := limiterStart.Add(1234567 * time.Nanosecond)
		end := storage.WindowStart(at, w).Add(w)
		n, resetAt := mustTake(t, s, "k", w, at)
		assert.Equal(t, int64(1), n)
		assert.True(t, end.Equal(resetAt), "resetAt %v, want %v", resetAt, end)
		n, _ = mustTake(t, s, "k", w, end.Add(-time.Nanosecond))
		assert.Equal(t, int64(2), n)
		n, _ = mustTake(t, s, "k", w, end)
		assert.Equal(t, int64(1), n)
	})

	t.Run("a zero now is the store clock's now", func(t *testing.T) {
		clock := newFakeClock(limiterStart.Add(90 * time.Second))
		s, _ := open(t, sqlite.WithClock(clock.Now))
		n, resetAt := mustTake(t, s, "k", time.Minute, time.Time{})
		assert.Equal(t, int64(1), n)
		assert.True(t, limiterStart.Add(2*time.Minute).Equal(resetAt), "resetAt %v", resetAt)
		n, _ = mustTake(t, s, "k", time.Minute, clock.Now())
		assert.Equal(t, int64(2), n, "the same window as the clock's now")
	})

	t.Run("counts survive a restart", func(t *testing.T) {
		s, path := open(t)
		mustTake(t, s, "k", time.Hour, limiterStart)
		mustTake(t, s, "k", time.Hour, limiterStart)
		require.NoError(t, s.Close())
		n, _ := mustTake(t, openPath(t, path), "k", time.Hour, limiterStart)
		assert.Equal(t, int64(3), n)
	})
}

func TestLimiterSweep(t *testing.T) {
	t.Run("DeleteExpired deletes the windows that ended and counts them", func(t *testing.T) {
		clock := newFakeClock(limiterStart)
		s, _ := open(t, sqlite.WithClock(clock.Now))
		for _, key := range []string{"a", "b", "c"} {
			mustTake(t, s, key, time.Minute, limiterStart)
		}
		mustTake(t, s, "hour", time.Hour, limiterStart)
		mustTake(t, s, "hour", time.Hour, limiterStart)
		n, err := s.DeleteExpired(t.Context(), limiterStart.Add(time.Minute-time.Nanosecond))
		require.NoError(t, err)
		assert.Equal(t, 0, n, "no window has ended yet")
		n, err = s.DeleteExpired(t.Context(), limiterStart.Add(time.Minute))
		require.NoError(t, err)
		assert.Equal(t, 3, n, "the three minute windows")
		assert.Equal(t, 1, limiterRows(t, s))
		got, _ := mustTake(t, s, "hour", time.Hour, limiterStart.Add(time.Minute))
		assert.Equal(t, int64(3), got, "a window that goes on keeps its count")
	})

	t.Run("past the cap the smallest counts go first, of equal ones the window that ends first", func(t *testing.T) {
		clock := newFakeClock(limiterStart)
		s, _ := open(t, sqlite.WithClock(clock.Now), sqlite.WithLimiterKeys(3), sqlite.WithDeleteBatchSize(1))
		for key, n := range map[string]int{"five": 5, "four": 4, "two": 2, "one": 1} {
			for range n {
				mustTake(t, s, key, time.Hour, limiterStart)
			}
		}
		// Counted twice too, but its window ends before "two"'s.
		mustTake(t, s, "two-minute", time.Minute, limiterStart)
		mustTake(t, s, "two-minute", time.Minute, limiterStart)
		require.Equal(t, 5, limiterRows(t, s))

		n, err := s.DeleteExpired(t.Context(), limiterStart)
		require.NoError(t, err)
		assert.Equal(t, 2, n, "down to the cap")
		assert.Equal(t, 3, limiterRows(t, s))
		for key, want := range map[string]int64{"five": 6, "four": 5, "two": 3} {
			got, _ := mustTake(t, s, key, time.Hour, limiterStart)
			assert.Equal(t, want, got, "%s keeps its count", key)
		}
		for _, key := range []string{"one", "two-minute"} {
			got, _ := mustTake(t, s, key, time.Hour, limiterStart)
			assert.Equal(t, int64(1), got, "%s was forgotten", key)
		}
	})

	t.Run("a flood of keys counted once does not make a key counted often forget its count", func(t *testing.T) {
		clock := newFakeClock(limiterStart)
		s, _ := open(t, sqlite.WithClock(clock.Now), sqlite.WithLimiterKeys(100), sqlite.WithDeleteBatchSize(7))
		for range 3 {
			mustTake(t, s, "guessed", time.Minute, limiterStart)
		}
		for i := range 1000 {
			mustTake(t, s, fmt.Sprintf("flood-%d", i), time.Minute, limiterStart)
		}
		n, err := s.DeleteExpired(t.Context(), limiterStart)
		require.NoError(t, err)
		assert.Equal(t, 901, n)
		assert.Equal(t, 100, limiterRows(t, s))
		got, _ := mustTake(t, s, "guessed", time.Minute, limiterStart)
		assert.Equal(t, int64(4), got)
	})

	t.Run("Take sweeps at most once per sweep interval", func(t *testing.T) {
		clock := newFakeClock(limiterStart)
		s, _ := open(t, sqlite.WithClock(clock.Now), sqlite.WithLimiterKeys(10),
			sqlite.WithLimiterSweepInterval(time.Minute))
		for range 3 {
			mustTake(t, s, "hot", time.Hour, limiterStart)
		}
		for i := range 30 {
			mustTake(t, s, fmt.Sprintf("flood-%d", i), time.Hour, limiterStart)
		}
		assert.Equal(t, 31, limiterRows(t, s), "no sweep within the interval: the table may exceed the cap")
		clock.set(limiterStart.Add(time.Minute - time.Nanosecond))
		mustTake(t, s, "flood-30", time.Hour, clock.Now())
		assert.Equal(t, 32, limiterRows(t, s), "still within the interval")

		clock.set(limiterStart.Add(time.Minute))
		mustTake(t, s, "flood-31", time.Hour, clock.Now())
		assert.Equal(t, 11, limiterRows(t, s), "the first Take after the interval sweeps down to the cap, then counts")
		n, _ := mustTake(t, s, "hot", time.Hour, clock.Now())
		assert.Equal(t, int64(4), n, "the key counted most keeps its count")
		mustTake(t, s, "flood-32", time.Hour, clock.Now())
		assert.Equal(t, 12, limiterRows(t, s), "the next sweep waits for the next interval")
	})

	t.Run("Take's sweep deletes the windows that ended by the store clock and the caller's now", func(t *testing.T) {
		clock := newFakeClock(limiterStart)
		s, _ := open(t, sqlite.WithClock(clock.Now), sqlite.WithLimiterSweepInterval(time.Minute))
		for i := range 5 {
			mustTake(t, s, fmt.Sprintf("k%d", i), time.Second, limiterStart)
		}
		mustTake(t, s, "hour", time.Hour, limiterStart)
		clock.set(limiterStart.Add(time.Minute))
		mustTake(t, s, "new", time.Second, clock.Now())
		assert.Equal(t, 2, limiterRows(t, s), "the hour's window and the new one")
	})

	// Callers pass the Provider's clock, the store reads its own: a
	// window is swept once it has ended by both.
	t.Run("Take's sweep keeps the windows a caller whose clock lags is still in", func(t *testing.T) {
		clock := newFakeClock(limiterStart.Add(time.Hour))
		s, _ := open(t, sqlite.WithClock(clock.Now), sqlite.WithLimiterSweepInterval(time.Minute))
		mustTake(t, s, "k", time.Minute, limiterStart) // sweeps the empty table
		clock.set(limiterStart.Add(time.Hour + time.Minute))
		n, _ := mustTake(t, s, "k", time.Minute, limiterStart.Add(time.Second)) // sweeps
		assert.Equal(t, int64(2), n)
		clock.set(limiterStart.Add(time.Hour + 2*time.Minute))
		n, _ = mustTake(t, s, "k", time.Minute, limiterStart.Add(time.Minute)) // sweeps, then counts anew
		assert.Equal(t, int64(1), n)
		assert.Equal(t, 1, limiterRows(t, s))
	})

	t.Run("Stores sweeping at once delete down to the cap, not past it", func(t *testing.T) {
		const limit = 50
		clock := newFakeClock(limiterStart)
		opts := []sqlite.Option{sqlite.WithClock(clock.Now), sqlite.WithLimiterKeys(limit), sqlite.WithDeleteBatchSize(3)}
		first, path := open(t, opts...)
		stores := []*sqlite.Store{first, openPath(t, path, opts...), openPath(t, path, opts...)}
		for round := range 4 {
			for i := range 400 {
				for range 1 + i%4 {
					mustTake(t, first, fmt.Sprintf("r%d-k%d", round, i), time.Hour, limiterStart)
				}
			}
			errs := make([]error, len(stores))
			start := make(chan struct{})
			var wg sync.WaitGroup
			for i, s := range stores {
				wg.Go(func() {
					<-start
					_, errs[i] = s.DeleteExpired(t.Context(), limiterStart)
				})
			}
			close(start)
			wg.Wait()
			for i, err := range errs {
				require.NoError(t, err, "round %d, store %d", round, i)
			}
			require.Equal(t, limit, limiterRows(t, first), "round %d", round)
			var least int64
			require.NoError(t, first.DB().QueryRowContext(t.Context(), "SELECT MIN(count) FROM limiter_windows").Scan(&least))
			require.Equal(t, int64(4), least, "round %d: only keys counted four times, the most, are kept", round)
		}
	})
}

func TestLimiterInputChecks(t *testing.T) {
	s, _ := open(t)
	at := now()

	t.Run("an empty key is an error, no sentinel", func(t *testing.T) {
		_, _, err := s.Take(t.Context(), "", time.Minute, at)
		require.Error(t, err)
		assert.True(t, strings.HasPrefix(err.Error(), "sqlite: "), "%v", err)
		for _, sentinel := range []error{storage.ErrNotFound, storage.ErrConsumed, storage.ErrDuplicate, storage.ErrTooLarge} {
			assert.False(t, errors.Is(err, sentinel), "%v", err)
		}
	})

	t.Run("a key longer than storage.MaxKeyBytes is ErrTooLarge and counts nothing", func(t *testing.T) {
		long := strings.Repeat("k", storage.MaxKeyBytes+1)
		_, _, err := s.Take(t.Context(), long, time.Minute, at)
		assert.ErrorIs(t, err, storage.ErrTooLarge)
		assert.NotContains(t, err.Error(), long[:64], "the message holds no key")
		n, _ := mustTake(t, s, long[:storage.MaxKeyBytes], time.Minute, at)
		assert.Equal(t, int64(1), n, "a key of storage.MaxKeyBytes is counted")
		assert.Equal(t, 1, limiterRows(t, s))
	})

	t.Run("a context that ends while waiting for the lock", func(t *testing.T) {
		s, path := open(t)
		release := holdWriteLock(t, path)
		defer release()
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, _, err := s.Take(ctx, "k", time.Minute, at)
		assert.Error(t, err)
		assert.Less(t, time.Since(start), 3*time.Second, "the call gave up with its context")
	})

	t.Run("a write that waits past the busy timeout is an error, not a count", func(t *testing.T) {
		s, path := open(t, sqlite.WithBusyTimeout(50*time.Millisecond))
		mustTake(t, s, "k", time.Minute, at)
		release := holdWriteLock(t, path)
		_, _, err := s.Take(t.Context(), "k", time.Minute, at)
		release()
		require.Error(t, err)
		assert.True(t, strings.HasPrefix(err.Error(), "sqlite: take: "), "%v", err)
		n, _ := mustTake(t, s, "k", time.Minute, at)
		assert.Equal(t, int64(2), n)
	})

	t.Run("closed store", func(t *testing.T) {
		c, _ := open(t)
		require.NoError(t, c.Close())
		_, _, err := c.Take(t.Context(), "k", time.Minute, at)
		assert.Error(t, err)
	})
}
