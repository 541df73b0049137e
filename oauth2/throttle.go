package oauth2

import (
	"sync"
	"time"
)

// failureLimiter counts failed client authentications per client id in a
// fixed window and blocks a client that has too many (RFC 6749 §2.3.1:
// the server MUST protect its password endpoints against brute force).
// It is bounded: past maxTrackedClients entries it stops tracking new ids
// until a sweep frees room, so that a flood of made-up ids cannot grow it.
type failureLimiter struct {
	limit  int
	window time.Duration

	mu       sync.Mutex
	counts   map[string]*failureCount
	lastScan time.Time
}

type failureCount struct {
	start time.Time
	n     int
}

const maxTrackedClients = 100_000

func newFailureLimiter(limit int, window time.Duration) *failureLimiter {
	if limit == 0 {
		limit = defaultAuthFailureLimit
	}
	return &failureLimiter{limit: limit, window: window, counts: make(map[string]*failureCount)}
}

// blocked reports whether clientID has reached the limit in its current
// window, and how long until the window ends.
func (l *failureLimiter) blocked(clientID string, now time.Time) (time.Duration, bool) {
	if l.limit < 0 {
		return 0, false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	c, ok := l.counts[clientID]
	if !ok || now.Sub(c.start) >= l.window || c.n < l.limit {
		return 0, false
	}
	return c.start.Add(l.window).Sub(now), true
}

// fail records one failure of clientID.
func (l *failureLimiter) fail(clientID string, now time.Time) {
	if l.limit < 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.lastScan) >= l.window {
		for id, c := range l.counts {
			if now.Sub(c.start) >= l.window {
				delete(l.counts, id)
			}
		}
		l.lastScan = now
	}
	c, ok := l.counts[clientID]
	switch {
	case !ok:
		if len(l.counts) >= maxTrackedClients {
			return
		}
		l.counts[clientID] = &failureCount{start: now, n: 1}
	case now.Sub(c.start) >= l.window:
		c.start, c.n = now, 1
	default:
		c.n++
	}
}
