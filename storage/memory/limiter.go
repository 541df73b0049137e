package memory

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/grantor-dev/grantor/storage"
)

var _ storage.Limiter = (*Limiter)(nil)

// DefaultLimiterKeys is how many keys a [Limiter] counts one by one.
const DefaultLimiterKeys = 100_000

// Limiter is an in-memory [storage.Limiter]: it counts the events of one
// process. It is what a Provider uses when no other is configured; a
// cluster of Providers shares a limiter kept in its database instead.
//
// It holds a bounded number of keys (see [NewLimiter]). A key whose window
// has ended is forgotten at the next sweep, which runs when the table is
// full and a window of its keys has ended since the last one. When the
// table is still full after a sweep, a new key takes the place of one of
// a few keys sampled at random, the one with the smallest count, which is
// forgotten (see evict). So a flood of made-up keys, each counted once or
// twice, pushes out mostly its own keys and cannot grow memory; a key
// counted more often than the flood's keeps its count; and a new key, a
// real client's say, starts from its own count, not from the flood's.
//
// The zero value is not usable; a Limiter is safe for concurrent use.
type Limiter struct {
	maxKeys int

	mu   sync.Mutex
	keys map[string]*limiterCount
	// firstEnd is a time before which no window of keys ends (the
	// earliest end, or earlier): a full table is not scanned again
	// before it, so that a flood of new keys costs each call a hash,
	// not a pass over every key.
	firstEnd time.Time
	inserted uint64 // keys inserted so far
	sweeps   int    // scans of keys, for tests
}

type limiterCount struct {
	start, end time.Time
	n          int64
	seq        uint64 // order of insertion, to evict the oldest of equal counts
}

// NewLimiter returns an empty Limiter that counts up to maxKeys keys one
// by one; zero or a negative maxKeys means [DefaultLimiterKeys].
func NewLimiter(maxKeys int) *Limiter {
	if maxKeys <= 0 {
		maxKeys = DefaultLimiterKeys
	}
	return &Limiter{maxKeys: maxKeys, keys: make(map[string]*limiterCount)}
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
		// A later window starts again; a now of an earlier one (a
		// caller that read the clock just before the boundary and the
		// lock just after) counts in the current window, which throttles
		// sooner, never later.
		if start.After(c.start) {
			c.start, c.end, c.n = start, end, 0
		}
	default:
		if len(l.keys) >= l.maxKeys {
			l.evict(now)
		}
		l.inserted++
		c = &limiterCount{start: start, end: end, seq: l.inserted}
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

// evictionSample is how many keys evict looks at.
const evictionSample = 8

// evict makes room for one key in a full table: of a few keys taken at
// random, one whose window has ended, or else the one with the smallest
// count, the oldest of equal ones, is forgotten. A flood of made-up keys, each counted once or
// twice, so pushes out its own keys, while a key counted often (a client
// being guessed at) stays: to make the limiter forget a key counted n
// times, a flood must fill the table with keys counted as often, about n
// times its size in events a window. And a new key, a real client's, gets
// a count of its own, which no flood can raise.
func (l *Limiter) evict(now time.Time) {
	var victim string
	var vc *limiterCount
	i := 0
	for k, c := range l.keys {
		if !c.end.After(now) {
			victim = k
			break
		}
		if vc == nil || c.n < vc.n || c.n == vc.n && c.seq < vc.seq {
			victim, vc = k, c
		}
		if i++; i == evictionSample {
			break
		}
	}
	delete(l.keys, victim)
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
