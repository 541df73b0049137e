package oauth2

import (
	"sync"
	"sync/atomic"
	"time"
)

// windowCounter counts events per key (a client id) in a fixed window and
// reports a key that has reached its limit until the window ends. It
// throttles failed client authentications (RFC 6749 §2.3.1: the server
// MUST protect its password endpoints against brute force) and pushed
// authorization requests (RFC 9126 §2.3 asks for rate limits).
//
// It is bounded: past maxTrackedKeys entries it stops tracking new keys
// until a sweep frees room, so that a flood of made-up ids cannot grow it.
// A negative limit switches it off.
type windowCounter struct {
	limit  int
	window time.Duration

	mu       sync.Mutex
	counts   map[string]*windowCount
	lastScan time.Time
	// tracked is len(counts), written under mu: blocked reads it without
	// the lock, so that requests need no lock while no key is tracked
	// (no client has failed lately), which is the usual case.
	tracked atomic.Int64
}

type windowCount struct {
	start time.Time
	n     int
}

const maxTrackedKeys = 100_000

func newWindowCounter(limit int, window time.Duration) *windowCounter {
	return &windowCounter{limit: limit, window: window, counts: make(map[string]*windowCount)}
}

// blocked reports whether key has reached the limit in its current
// window, and how long until the window ends.
func (l *windowCounter) blocked(key string, now time.Time) (time.Duration, bool) {
	if l.limit < 0 || l.tracked.Load() == 0 {
		return 0, false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	c, ok := l.counts[key]
	if !ok || now.Sub(c.start) >= l.window || c.n < l.limit {
		return 0, false
	}
	return c.start.Add(l.window).Sub(now), true
}

// add counts one event of key.
func (l *windowCounter) add(key string, now time.Time) {
	if l.limit < 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	defer func() { l.tracked.Store(int64(len(l.counts))) }()
	if now.Sub(l.lastScan) >= l.window {
		for k, c := range l.counts {
			if now.Sub(c.start) >= l.window {
				delete(l.counts, k)
			}
		}
		l.lastScan = now
	}
	c, ok := l.counts[key]
	switch {
	case !ok:
		if len(l.counts) >= maxTrackedKeys {
			return
		}
		l.counts[key] = &windowCount{start: now, n: 1}
	case now.Sub(c.start) >= l.window:
		c.start, c.n = now, 1
	default:
		c.n++
	}
}
