package memory

import (
	"context"
	"hash/maphash"
	"strings"
	"sync"
	"time"

	"github.com/grantor-dev/grantor/storage"
)

var _ storage.Limiter = (*Limiter)(nil)

// DefaultLimiterKeys is how many keys a [Limiter] counts one by one.
const DefaultLimiterKeys = 100_000

// limiterOverflowBuckets is how many shared counters take the keys that
// find the table full.
const limiterOverflowBuckets = 4096

// Limiter is an in-memory [storage.Limiter]: it counts the events of one
// process. It is what a Provider uses when no other is configured; a
// cluster of Providers shares a limiter kept in its database instead.
//
// It holds a bounded number of keys (see [NewLimiter]). A key whose window
// has ended is forgotten at the next sweep, which runs when the table is
// full and a window of its keys has ended since the last one. When the table is still full after a sweep, a new key is counted
// in one of 4,096 shared buckets chosen by a hash of the key, together with
// the other keys that hash there: a flood of made-up keys then makes
// throttling stricter for new keys, never laxer, and cannot grow memory.
// Keys already in the table keep their own counts. A key that finds room
// again after a sweep goes on from its bucket's count until its window
// ends, since some of its events may have been counted there.
//
// The zero value is not usable; a Limiter is safe for concurrent use.
type Limiter struct {
	maxKeys int
	seed    maphash.Seed

	mu       sync.Mutex
	keys     map[string]*limiterCount
	overflow [limiterOverflowBuckets]limiterCount
	// firstEnd is a time before which no window of keys ends (the
	// earliest end, or earlier): a full table is not scanned again
	// before it, so that a flood of new keys costs each call a hash,
	// not a pass over every key.
	firstEnd time.Time
	sweeps   int // scans of keys, for tests
}

type limiterCount struct {
	start, end time.Time
	n          int64
}

// NewLimiter returns an empty Limiter that counts up to maxKeys keys one
// by one; zero or a negative maxKeys means [DefaultLimiterKeys].
func NewLimiter(maxKeys int) *Limiter {
	if maxKeys <= 0 {
		maxKeys = DefaultLimiterKeys
	}
	return &Limiter{maxKeys: maxKeys, seed: maphash.MakeSeed(), keys: make(map[string]*limiterCount)}
}

// Take implements [storage.Limiter].
func (l *Limiter) Take(ctx context.Context, key string, window time.Duration, now time.Time) (int64, time.Time, error) {
	if err := ctx.Err(); err != nil {
		return 0, time.Time{}, err
	}
	start := storage.WindowStart(now, window)
	end := start.Add(max(window, 1))
	l.mu.Lock()
	defer l.mu.Unlock()
	c, ok := l.keys[key]
	if !ok && len(l.keys) >= l.maxKeys && !now.Before(l.firstEnd) {
		l.sweep(now)
	}
	switch {
	case ok:
		if !c.start.Equal(start) {
			c.start, c.end, c.n = start, end, 0
		}
	case len(l.keys) >= l.maxKeys:
		c = l.bucket(key)
		if !c.end.After(now) {
			c.start, c.end, c.n = start, end, 0
		}
		// A bucket holds keys of any window length: it ends with the
		// latest window that counted in it, so that no key's count is
		// cut short.
		if end.After(c.end) {
			c.end = end
		}
	default:
		// The key may have been counted in its bucket earlier in this
		// window, while the table was full: it goes on from the
		// bucket's count, which is at least its own. (The bucket has
		// not started again since: it ends no sooner than this
		// window.)
		c = &limiterCount{start: start, end: end}
		if b := l.bucket(key); b.end.After(now) {
			c.n = b.n
		}
		if len(l.keys) == 0 || end.Before(l.firstEnd) {
			l.firstEnd = end
		}
		// A copy: key may be cut from a larger string (a request body)
		// that the table must not keep alive.
		l.keys[strings.Clone(key)] = c
	}
	c.n++
	return c.n, c.end, nil
}

// bucket returns the shared counter of key.
func (l *Limiter) bucket(key string) *limiterCount {
	return &l.overflow[maphash.String(l.seed, key)%limiterOverflowBuckets]
}

// sweep forgets the keys whose window has ended, and notes when the
// first window of the others ends.
func (l *Limiter) sweep(now time.Time) {
	l.sweeps++
	l.firstEnd = time.Time{}
	for k, c := range l.keys {
		switch {
		case !c.end.After(now):
			delete(l.keys, k)
		case l.firstEnd.IsZero() || c.end.Before(l.firstEnd):
			l.firstEnd = c.end
		}
	}
}

// Len returns how many keys the limiter counts one by one, for tests and
// metrics.
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.keys)
}

// Take implements [storage.Limiter] with a [Limiter] of the store's own,
// which counts up to [WithLimiterKeys] keys one by one. A zero now is
// replaced by the store clock's now.
func (s *Store) Take(ctx context.Context, key string, window time.Duration, now time.Time) (int64, time.Time, error) {
	if now.IsZero() {
		now = s.now()
	}
	return s.limiter().Take(ctx, key, window, now)
}
