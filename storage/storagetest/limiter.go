package storagetest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/storage"
)

// NewLimiter returns the limiter one subtest of [RunLimiter] counts with.
// It fails t if it cannot, and registers with t.Cleanup whatever must be
// released. Every subtest counts under keys of its own, so NewLimiter may
// return a new limiter each time or the same one.
type NewLimiter func(t *testing.T) storage.Limiter

// RunLimiter runs the conformance suite of [storage.Limiter] against
// limiters made by newLimiter: counts within a window and across windows,
// the windows' alignment and ends, keys counted apart, concurrent takes of
// one key, and a cancelled context.
//
// The times it passes to Take are around the real clock's now, truncated
// to microseconds; windows last from a second to an hour. Keys are random,
// a few dozen bytes long, and some hold bytes that are not text (NUL,
// invalid UTF-8): a limiter counts any key a caller builds.
func RunLimiter(t *testing.T, newLimiter NewLimiter) {
	t.Helper()
	if newLimiter == nil {
		t.Fatal("storagetest: nil NewLimiter")
	}
	t.Run("Take", func(t *testing.T) { testTake(t, newLimiter) })
}

// take counts one event, failing the test if the limiter returns an error.
func take(t *testing.T, l storage.Limiter, key string, window time.Duration, at time.Time) (int64, time.Time) {
	t.Helper()
	n, resetAt, err := l.Take(t.Context(), key, window, at)
	require.NoError(t, err, "Take")
	return n, resetAt
}

// assertTake counts one event and checks the count and the window's end.
func assertTake(t *testing.T, l storage.Limiter, key string, window time.Duration, at time.Time, want int64, wantReset time.Time) {
	t.Helper()
	n, resetAt := take(t, l, key, window, at)
	assert.Equal(t, want, n, "count at %v", at)
	assertTime(t, "resetAt", wantReset, resetAt)
}

func testTake(t *testing.T, newLimiter NewLimiter) {
	t.Run("counts 1, 2, 3 within a window and resetAt is the window's end", func(t *testing.T) {
		l := newLimiter(t)
		key := newKey(t)
		start := storage.WindowStart(now(), time.Minute)
		end := start.Add(time.Minute)
		assertTake(t, l, key, time.Minute, start, 1, end)
		assertTake(t, l, key, time.Minute, start.Add(30*time.Second), 2, end)
		assertTake(t, l, key, time.Minute, end.Add(-time.Microsecond), 3, end)
	})

	t.Run("the next aligned window starts again at 1", func(t *testing.T) {
		l := newLimiter(t)
		key := newKey(t)
		start := storage.WindowStart(now(), time.Minute)
		end := start.Add(time.Minute)
		for i := range 3 {
			assertTake(t, l, key, time.Minute, start.Add(time.Duration(i)*time.Second), int64(i+1), end)
		}
		assertTake(t, l, key, time.Minute, end, 1, end.Add(time.Minute))
		assertTake(t, l, key, time.Minute, end.Add(59*time.Second), 2, end.Add(time.Minute))
	})

	t.Run("a window that skips one counts from 1", func(t *testing.T) {
		l := newLimiter(t)
		key := newKey(t)
		start := storage.WindowStart(now(), time.Minute)
		assertTake(t, l, key, time.Minute, start, 1, start.Add(time.Minute))
		assertTake(t, l, key, time.Minute, start.Add(5*time.Minute+time.Second), 1, start.Add(6*time.Minute))
	})

	t.Run("windows are aligned on the Unix epoch", func(t *testing.T) {
		l := newLimiter(t)
		key := newKey(t)
		// 7 s divides no minute: the window holding now starts at a
		// multiple of 7 s since the epoch, not at now.
		at := now()
		end := storage.WindowStart(at, 7*time.Second).Add(7 * time.Second)
		assertTake(t, l, key, 7*time.Second, at, 1, end)
		assertTake(t, l, key, 7*time.Second, end.Add(-time.Microsecond), 2, end)
		assertTake(t, l, key, 7*time.Second, end, 1, end.Add(7*time.Second))
	})

	t.Run("keys are counted apart", func(t *testing.T) {
		l := newLimiter(t)
		a, b := newKey(t), newKey(t)
		start := storage.WindowStart(now(), time.Minute)
		end := start.Add(time.Minute)
		for i := range 3 {
			assertTake(t, l, a, time.Minute, start.Add(time.Duration(i)*time.Second), int64(i+1), end)
		}
		assertTake(t, l, b, time.Minute, start.Add(4*time.Second), 1, end)
		assertTake(t, l, a, time.Minute, start.Add(5*time.Second), 4, end)
		assertTake(t, l, b, time.Minute, start.Add(6*time.Second), 2, end)
	})

	t.Run("keys are matched exactly, byte for byte", func(t *testing.T) {
		l := newLimiter(t)
		prefix := "test:" + newKey(t)
		start := storage.WindowStart(now(), time.Minute)
		keys := []string{
			prefix + "k", prefix + "K", prefix + "k ", prefix + "k\x00", prefix + "k\x00x",
			prefix + "k\xff", prefix + "k\xfe", prefix + "é", prefix + "e\u0301",
		}
		for _, key := range keys {
			assertTake(t, l, key, time.Minute, start, 1, start.Add(time.Minute))
		}
		for _, key := range keys {
			assertTake(t, l, key, time.Minute, start.Add(time.Second), 2, start.Add(time.Minute))
		}
	})

	t.Run("a long key is counted", func(t *testing.T) {
		l := newLimiter(t)
		key := "test:" + randomID(t, 500)
		start := storage.WindowStart(now(), time.Minute)
		assertTake(t, l, key, time.Minute, start, 1, start.Add(time.Minute))
		assertTake(t, l, key, time.Minute, start, 2, start.Add(time.Minute))
		assertTake(t, l, key[:len(key)-1], time.Minute, start, 1, start.Add(time.Minute))
	})

	t.Run("keys with windows of different lengths each keep their own", func(t *testing.T) {
		l := newLimiter(t)
		minute, hour := newKey(t), newKey(t)
		start := storage.WindowStart(now(), time.Hour)
		assertTake(t, l, minute, time.Minute, start.Add(10*time.Second), 1, start.Add(time.Minute))
		assertTake(t, l, hour, time.Hour, start.Add(10*time.Second), 1, start.Add(time.Hour))
		assertTake(t, l, minute, time.Minute, start.Add(20*time.Second), 2, start.Add(time.Minute))
		assertTake(t, l, hour, time.Hour, start.Add(20*time.Second), 2, start.Add(time.Hour))
		// The minute's window has ended, the hour's has not.
		assertTake(t, l, minute, time.Minute, start.Add(70*time.Second), 1, start.Add(2*time.Minute))
		assertTake(t, l, hour, time.Hour, start.Add(70*time.Second), 3, start.Add(time.Hour))
		assertTake(t, l, hour, time.Hour, start.Add(59*time.Minute), 4, start.Add(time.Hour))
		assertTake(t, l, hour, time.Hour, start.Add(time.Hour), 1, start.Add(2*time.Hour))
	})

	t.Run("a second window is a second long", func(t *testing.T) {
		l := newLimiter(t)
		key := newKey(t)
		start := storage.WindowStart(now(), time.Second)
		assertTake(t, l, key, time.Second, start, 1, start.Add(time.Second))
		assertTake(t, l, key, time.Second, start.Add(999*time.Millisecond), 2, start.Add(time.Second))
		assertTake(t, l, key, time.Second, start.Add(time.Second), 1, start.Add(2*time.Second))
	})

	t.Run("concurrent takes of one key see each count once", func(t *testing.T) {
		l := newLimiter(t)
		key := newKey(t)
		at := now()
		end := storage.WindowStart(at, time.Hour).Add(time.Hour)
		counts := make([]int64, concurrency)
		resets := make([]time.Time, concurrency)
		errs := make([]error, concurrency)
		race(concurrency, func(i int) { counts[i], resets[i], errs[i] = l.Take(t.Context(), key, time.Hour, at) })
		for i, err := range errs {
			require.NoError(t, err, "call %d", i)
			assertTime(t, "resetAt", end, resets[i])
		}
		want := make([]int64, concurrency)
		for i := range want {
			want[i] = int64(i + 1)
		}
		slices.Sort(counts)
		assert.Equal(t, want, counts, "the counts the calls saw, sorted")
		assertTake(t, l, key, time.Hour, at, concurrency+1, end)
	})

	t.Run("concurrent takes of different keys each count 1", func(t *testing.T) {
		l := newLimiter(t)
		keys := make([]string, concurrency)
		for i := range keys {
			keys[i] = newKey(t)
		}
		at := now()
		counts := make([]int64, concurrency)
		errs := make([]error, concurrency)
		race(concurrency, func(i int) { counts[i], _, errs[i] = l.Take(t.Context(), keys[i], time.Hour, at) })
		for i := range keys {
			require.NoError(t, errs[i], "call %d", i)
			assert.Equal(t, int64(1), counts[i], "count of call %d", i)
		}
	})

	t.Run("cancelled Take is an error and counts nothing", func(t *testing.T) {
		l := newLimiter(t)
		key := newKey(t)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		at := now()
		end := storage.WindowStart(at, time.Minute).Add(time.Minute)
		_, _, err := l.Take(ctx, key, time.Minute, at)
		assert.ErrorIs(t, err, context.Canceled)
		assertTake(t, l, key, time.Minute, at, 1, end)
	})
}
