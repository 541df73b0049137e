package memory_test

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/storage"
	"github.com/grantor-dev/grantor/storage/memory"
	"github.com/grantor-dev/grantor/storage/storagetest"
)

func TestLimiterConformance(t *testing.T) {
	storagetest.RunLimiter(t, func(t *testing.T) storage.Limiter { return memory.NewLimiter(0) })
}

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

func TestLimiterBound(t *testing.T) {
	t.Run("at the bound, keys whose window has ended are forgotten", func(t *testing.T) {
		l := memory.NewLimiter(3)
		for _, key := range []string{"a", "b", "c"} {
			mustTake(t, l, key, time.Minute, limiterStart)
		}
		require.Equal(t, 3, l.Len())
		next := limiterStart.Add(time.Minute)
		n, resetAt := mustTake(t, l, "d", time.Minute, next)
		assert.Equal(t, int64(1), n)
		assert.True(t, next.Add(time.Minute).Equal(resetAt), "resetAt %v", resetAt)
		assert.Equal(t, 1, l.Len(), "the three ended keys are gone, the new one counted alone")
		n, _ = mustTake(t, l, "d", time.Minute, next)
		assert.Equal(t, int64(2), n)
	})

	t.Run("at the bound, keys whose window goes on are kept", func(t *testing.T) {
		l := memory.NewLimiter(2)
		mustTake(t, l, "hour", time.Hour, limiterStart)
		mustTake(t, l, "minute", time.Minute, limiterStart)
		later := limiterStart.Add(time.Minute)
		mustTake(t, l, "new", time.Minute, later)
		assert.Equal(t, 2, l.Len())
		n, resetAt := mustTake(t, l, "hour", time.Hour, later)
		assert.Equal(t, int64(2), n, "the hour's key keeps its count")
		assert.True(t, limiterStart.Add(time.Hour).Equal(resetAt), "resetAt %v", resetAt)
	})

	t.Run("a flood of new keys at the bound: each counts at least its own events, keys counted more often exactly theirs", func(t *testing.T) {
		const maxKeys, flood = 5, 20_000 // the table keys and one more
		l := memory.NewLimiter(maxKeys)
		// Counted more often than any key of the flood (at most three
		// times each), they are never the one evicted.
		table := []string{"t0", "t1", "t2", "t3"}
		for _, key := range table {
			for range 5 {
				mustTake(t, l, key, time.Hour, limiterStart)
			}
		}
		own := make(map[string]int64)
		for i := range flood {
			at := limiterStart.Add(time.Duration(i) * time.Millisecond)
			key := fmt.Sprintf("flood-%d", i)
			for range 1 + i%3 {
				n, resetAt := mustTake(t, l, key, time.Minute, at)
				own[key]++
				if n < own[key] {
					require.GreaterOrEqual(t, n, own[key], "count of %s", key)
				}
				if resetAt.Before(storage.WindowStart(at, time.Minute).Add(time.Minute)) {
					require.Fail(t, "resetAt before the key's window ends", "%s: %v", key, resetAt)
				}
			}
			if i%1000 == 0 {
				// Every key of the table keeps its exact count.
				for _, key := range table {
					n, resetAt := mustTake(t, l, key, time.Hour, at)
					assert.Equal(t, int64(6+i/1000), n, "count of %s", key)
					assert.True(t, limiterStart.Add(time.Hour).Equal(resetAt), "resetAt of %s: %v", key, resetAt)
				}
			}
			require.LessOrEqual(t, l.Len(), maxKeys)
		}
	})

	t.Run("a new key at the bound starts from its own count, not from the flood's", func(t *testing.T) {
		// Issue 15: a flood of made-up keys once sent new keys into shared
		// buckets already past every limit, throttling a real client on
		// its first attempt.
		const maxKeys = 100
		l := memory.NewLimiter(maxKeys)
		for i := range 50_000 {
			mustTake(t, l, fmt.Sprintf("flood-%d", i), time.Minute, limiterStart)
		}
		for i := range 200 {
			n, _ := mustTake(t, l, fmt.Sprintf("real-%d", i), time.Minute, limiterStart)
			require.Equal(t, int64(1), n, "real-%d", i)
		}
	})

	t.Run("a key counted with others keeps its count when it finds room", func(t *testing.T) {
		l := memory.NewLimiter(1)
		mustTake(t, l, "second", time.Second, limiterStart)
		for i := range 3 {
			n, _ := mustTake(t, l, "hour", time.Hour, limiterStart)
			require.GreaterOrEqual(t, n, int64(i+1))
		}
		// "second" has ended: the sweep makes room, and "hour", in the
		// middle of its window, must not start again from 1.
		n, resetAt := mustTake(t, l, "hour", time.Hour, limiterStart.Add(time.Second))
		assert.GreaterOrEqual(t, n, int64(4))
		assert.True(t, limiterStart.Add(time.Hour).Equal(resetAt), "resetAt %v", resetAt)
		assert.Equal(t, 1, l.Len(), "hour now has the table's one place")
	})

	t.Run("random keys, windows and times: exact counts while the keys fit, no more keys than the bound", func(t *testing.T) {
		const maxKeys, keys, steps = 40, 40, 50_000
		windows := []time.Duration{time.Second, 10 * time.Second, time.Minute, 7 * time.Minute}
		rnd := rand.New(rand.NewPCG(1, 2))
		l := memory.NewLimiter(maxKeys)
		type window struct {
			start time.Time
			n     int64
		}
		own := make(map[string]window)
		at := limiterStart
		for step := range steps {
			at = at.Add(time.Duration(rnd.IntN(400)) * time.Millisecond)
			k := rnd.IntN(keys)
			key := fmt.Sprintf("key-%d", k)
			w := windows[k%len(windows)]
			start := storage.WindowStart(at, w)
			if own[key].start != start {
				own[key] = window{start: start}
			}
			o := own[key]
			o.n++
			own[key] = o
			n, resetAt := mustTake(t, l, key, w, at)
			if n < o.n || resetAt.Before(start.Add(w)) {
				require.Failf(t, "counted less than happened",
					"step %d, %s: count %d of %d events, resetAt %v before %v", step, key, n, o.n, resetAt, start.Add(w))
			}
			require.LessOrEqual(t, l.Len(), maxKeys)
		}
	})

	t.Run("a flood at the bound does not scan the table until a window ends", func(t *testing.T) {
		const maxKeys = 1000
		l := memory.NewLimiter(maxKeys)
		for i := range maxKeys {
			mustTake(t, l, fmt.Sprintf("table-%d", i), time.Minute, limiterStart.Add(time.Duration(i)*time.Millisecond))
		}
		for i := range 10_000 {
			mustTake(t, l, fmt.Sprintf("flood-%d", i), time.Minute, limiterStart.Add(time.Second))
		}
		// A scan costs a pass over maxKeys entries under the lock; one
		// per call would make every throttle of the process wait in
		// line during a flood.
		assert.Equal(t, 0, memory.LimiterSweeps(l), "scans while no window ended")
		mustTake(t, l, "after", time.Minute, limiterStart.Add(time.Minute))
		assert.Equal(t, 1, memory.LimiterSweeps(l), "scans once the first window ended")
		assert.Equal(t, 1, l.Len(), "every table key had ended")
	})

	t.Run("concurrent floods at the bound", func(t *testing.T) {
		const maxKeys, goroutines, perGoroutine = 16, 8, 2_000
		l := memory.NewLimiter(maxKeys)
		var wg sync.WaitGroup
		for g := range goroutines {
			wg.Go(func() {
				for i := range perGoroutine {
					at := limiterStart.Add(time.Duration(i) * time.Millisecond)
					n, _, err := l.Take(t.Context(), fmt.Sprintf("g%d-%d", g, i), time.Second, at)
					if err != nil || n < 1 {
						t.Errorf("Take: %d, %v", n, err)
						return
					}
				}
			})
		}
		wg.Wait()
		assert.LessOrEqual(t, l.Len(), maxKeys)
	})

	t.Run("zero or negative maxKeys is the default", func(t *testing.T) {
		for _, n := range []int{0, -1} {
			l := memory.NewLimiter(n)
			for i := range 2 * 4096 {
				mustTake(t, l, fmt.Sprintf("k%d", i), time.Minute, limiterStart)
			}
			assert.Equal(t, 2*4096, l.Len(), "every key counted on its own, far below DefaultLimiterKeys")
		}
	})

	t.Run("a key is kept as a copy, not as the larger string it was cut from", func(t *testing.T) {
		const keys, size = 64, 1 << 20
		l := memory.NewLimiter(0)
		growth := heapGrowth(func() {
			for i := range keys {
				// A key cut from a request's body, say: a form value.
				body := fmt.Sprintf("user-%02d&", i) + strings.Repeat("x", size)
				mustTake(t, l, body[:7], time.Minute, limiterStart)
			}
		})
		runtime.KeepAlive(l)
		assert.Less(t, growth, int64(keys*size/8), "heap kept by %d keys of 7 bytes", keys)
	})
}

// heapGrowth returns how much the live heap grew across f.
func heapGrowth(f func()) int64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.GC()
	runtime.ReadMemStats(&after)
	return int64(after.HeapAlloc) - int64(before.HeapAlloc)
}

func TestStoreLimiterConformance(t *testing.T) {
	storagetest.RunLimiter(t, func(t *testing.T) storage.Limiter { return memory.New() })
}

func TestStoreTake(t *testing.T) {
	t.Run("a zero now is the store clock's now", func(t *testing.T) {
		clock := newFakeClock()
		s := memory.New(memory.WithClock(clock.Now))
		n, resetAt := mustTake(t, s, "k", time.Minute, time.Time{})
		assert.Equal(t, int64(1), n)
		want := storage.WindowStart(clock.Now(), time.Minute).Add(time.Minute)
		assert.True(t, want.Equal(resetAt), "resetAt %v, want %v", resetAt, want)
		n, _ = mustTake(t, s, "k", time.Minute, clock.Now())
		assert.Equal(t, int64(2), n, "the same window as the clock's now")
	})

	// Past the keys it holds, the store's limiter forgets the smallest
	// counts: a key counted more often than 5,000 keys taken once keeps
	// its count.
	t.Run("WithLimiterKeys bounds the keys counted one by one", func(t *testing.T) {
		s := memory.New(memory.WithLimiterKeys(10))
		for range 5 {
			mustTake(t, s, "hot", time.Minute, limiterStart)
		}
		for i := range 5000 {
			mustTake(t, s, fmt.Sprintf("k%d", i), time.Minute, limiterStart)
		}
		n, _ := mustTake(t, s, "hot", time.Minute, limiterStart)
		assert.Equal(t, int64(6), n)
	})

	// A key counted often is not forgotten under a flood of keys counted
	// once: a guesser cannot reset its own count by flooding.
	t.Run("a flood does not make a key counted often forget its count", func(t *testing.T) {
		l := memory.NewLimiter(1000)
		for range 3 {
			mustTake(t, l, "guessed", time.Minute, limiterStart)
		}
		for i := range 100_000 {
			mustTake(t, l, fmt.Sprintf("flood-%d", i), time.Minute, limiterStart)
		}
		n, _ := mustTake(t, l, "guessed", time.Minute, limiterStart)
		assert.Equal(t, int64(4), n)
	})

	// A caller that read the clock just before a window's end and takes
	// the lock after a call of the next window counts in the newer one:
	// it never starts the count again.
	t.Run("a now of an earlier window does not reset the count", func(t *testing.T) {
		l := memory.NewLimiter(0)
		next := limiterStart.Add(time.Minute)
		mustTake(t, l, "k", time.Minute, next)
		mustTake(t, l, "k", time.Minute, next)
		n, _ := mustTake(t, l, "k", time.Minute, next.Add(-time.Millisecond))
		assert.Equal(t, int64(3), n)
	})

	t.Run("by default 5,000 keys are each counted on their own", func(t *testing.T) {
		for _, s := range []*memory.Store{memory.New(), memory.New(memory.WithLimiterKeys(0))} {
			for i := range 5000 {
				n, _ := mustTake(t, s, fmt.Sprintf("k%d", i), time.Minute, limiterStart)
				require.Equal(t, int64(1), n, "count of k%d", i)
			}
		}
	})
}
