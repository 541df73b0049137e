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

// limiterBuckets is how many shared counters keep the counts of evicted
// keys: 1 MiB of them, made when the table first fills.
const limiterBuckets = 1 << 16

// Limiter is an in-memory [storage.Limiter]: it counts the events of one
// process. It is what a Provider uses when no other is configured; a
// cluster of Providers shares a limiter kept in its database instead.
//
// It holds a bounded number of keys (see [NewLimiter]). A key whose window
// has ended is forgotten at the next sweep, which runs when the table is
// full and a window of its keys has ended since the last one. When the
// table is still full after a sweep, a new key takes the place of one of
// a few keys sampled at random, the one with the smallest count, whose
// count goes into two of 65,536 shared buckets chosen by a hash of the
// key (a bucket keeps the largest count evicted into it until their
// windows end). A key that comes back goes on from the smaller of its two
// buckets' counts, which is at least its own. So a flood of made-up keys, each counted once or twice,
// pushes out mostly its own keys, cannot grow memory and never makes a
// key count less than it happened; and a new key, a real client's say,
// starts from its own count, not from the flood's.
//
// The zero value is not usable; a Limiter is safe for concurrent use.
type Limiter struct {
	maxKeys int
	seed    maphash.Seed

	mu      sync.Mutex
	keys    map[string]*limiterCount
	buckets *[limiterBuckets]limiterBucket
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

// limiterBucket keeps the largest count of the keys evicted into it until
// the last of their windows ends.
type limiterBucket struct {
	end int64 // Unix nanoseconds
	n   int64
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
	default:
		if len(l.keys) >= l.maxKeys {
			l.evict(now)
		}
		// The key may have been counted in its bucket earlier in this
		// window, while the table was full: it goes on from the
		// bucket's count, which is at least its own. (The bucket has
		// not started again since: it ends no sooner than this
		// window.)
		c = &limiterCount{start: start, end: end, n: l.evicted(key, now)}
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
// count, whose count goes into its bucket. A flood of made-up keys, each
// counted once or twice, so pushes out its own keys, while a key counted
// often (a client under attack) stays; and a new key always gets a count
// of its own, which made-up keys cannot raise.
func (l *Limiter) evict(now time.Time) {
	var victim string
	var vc *limiterCount
	i := 0
	for k, c := range l.keys {
		if !c.end.After(now) {
			victim, vc = k, nil
			break
		}
		if vc == nil || c.n < vc.n {
			victim, vc = k, c
		}
		if i++; i == evictionSample {
			break
		}
	}
	delete(l.keys, victim)
	if vc == nil {
		return
	}
	// Each of the key's two buckets keeps the largest count evicted into
	// it until the last of their windows ends: a key that comes back goes
	// on from the smaller of the two, never from less than its own count.
	if l.buckets == nil {
		l.buckets = new([limiterBuckets]limiterBucket)
	}
	end, nowNs := vc.end.UnixNano(), now.UnixNano()
	for _, b := range l.bucketsOf(victim) {
		if b.end <= nowNs {
			*b = limiterBucket{end: end, n: vc.n}
			continue
		}
		b.n, b.end = max(b.n, vc.n), max(b.end, end)
	}
}

// evicted returns the count a key evicted earlier in its window goes on
// from: the smaller of its two buckets' (each at least its own count when
// it was evicted), or zero.
func (l *Limiter) evicted(key string, now time.Time) int64 {
	if l.buckets == nil {
		return 0
	}
	n := int64(-1)
	for _, b := range l.bucketsOf(key) {
		c := int64(0)
		if b.end > now.UnixNano() {
			c = b.n
		}
		if n < 0 || c < n {
			n = c
		}
	}
	return n
}

// bucketsOf returns key's two buckets. Two, not one: a key a flood shares
// one bucket with rarely shares both.
func (l *Limiter) bucketsOf(key string) [2]*limiterBucket {
	h := maphash.String(l.seed, key)
	return [2]*limiterBucket{&l.buckets[h%limiterBuckets], &l.buckets[(h>>32)%limiterBuckets]}
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
