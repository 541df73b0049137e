package storage

import (
	"context"
	"time"
)

// Limiter counts events per key in fixed windows of time. Every throttle of
// Grantor goes through it: unrecognised attempts at a slow-hashed client
// secret (RFC 6749 §2.3.1), pushed authorization requests (RFC 9126 §2.3),
// introspections of tokens that are not ours (RFC 7662 §4), and the
// application's own (failed logins, say). The caller decides what a count
// means; the limiter only counts.
//
// Windows are aligned: the window of length w that holds now starts at the
// largest multiple of w since the Unix epoch not after now. A Limiter
// shared by several Provider instances (a database table, say) counts the
// events of all of them, so that N instances do not give an attacker N
// times the budget; [github.com/grantor-dev/grantor/storage/memory.Limiter]
// counts those of one process.
//
// Callers bound the length of keys (a few hundred bytes) and namespace
// them ("client-secret:" + a client id). An implementation counts every
// event of a key in its window, with one exception: one that runs out of
// room may forget the keys with the smallest counts first (memory.Limiter
// does), so that a flood of made-up keys can make it forget only keys
// counted no more often than the flood's own, and never raises the count
// of a key that was not counted. A now of a window earlier than the
// key's current one may be counted in the current one: that throttles
// sooner, never later.
type Limiter interface {
	// Take counts one event for key in the window of length window that
	// holds now, and returns the number of events counted for key in that
	// window, this one included, and the time the window ends. Of
	// concurrent calls for one key, each sees a different count.
	Take(ctx context.Context, key string, window time.Duration, now time.Time) (count int64, resetAt time.Time, err error)
}

// WindowStart returns the start of the aligned window of length window that
// holds now (see [Limiter]). A window shorter than a nanosecond is a
// nanosecond.
func WindowStart(now time.Time, window time.Duration) time.Time {
	w := max(int64(window), 1)
	n := now.UnixNano()
	start := n - n%w
	if n%w < 0 { // before the epoch: round down, not toward zero
		start -= w
	}
	return time.Unix(0, start)
}
