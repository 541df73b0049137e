package sqlite

import (
	"context"
	"errors"
	"time"

	"github.com/grantor-dev/grantor/storage"
)

// The statements of the limiter. Window starts and ends are Unix
// nanoseconds (see migrations/0006_limiter_windows.sql); keys are BLOBs.
const (
	// takeWindow counts one event as one upsert. A row of an earlier
	// window starts again at 1 in the new one; a now of a window earlier
	// than the row's (a caller that read its clock just before the
	// window's end, and reached the database after a call of the next
	// window) is counted in the row's window, which throttles sooner,
	// never later. SQLite evaluates every SET expression on the row as it
	// was, so the three CASEs see the old window.
	takeWindow = `INSERT INTO limiter_windows (key, window_start_ns, window_end_ns, count) VALUES (?1, ?2, ?3, 1)
ON CONFLICT (key) DO UPDATE SET
	count = CASE WHEN excluded.window_start_ns > limiter_windows.window_start_ns
		THEN 1 ELSE limiter_windows.count + 1 END,
	window_end_ns = CASE WHEN excluded.window_start_ns > limiter_windows.window_start_ns
		THEN excluded.window_end_ns ELSE limiter_windows.window_end_ns END,
	window_start_ns = MAX(excluded.window_start_ns, limiter_windows.window_start_ns)
RETURNING count, window_end_ns`

	// deleteEndedWindows deletes at most ?2 rows whose window ended by
	// ?1.
	deleteEndedWindows = `DELETE FROM limiter_windows WHERE key IN (
	SELECT key FROM limiter_windows WHERE window_end_ns <= ?1 LIMIT ?2)`

	// evictWindows deletes at most ?2 of the rows past the cap ?1, the
	// smallest counts first and, of equal counts, the windows that end
	// first. It counts the rows in the statement, under the write lock,
	// so that two Stores sweeping at once do not both delete the same
	// excess.
	evictWindows = `DELETE FROM limiter_windows WHERE key IN (
	SELECT key FROM limiter_windows ORDER BY count, window_end_ns
	LIMIT MIN(?2, MAX(0, (SELECT COUNT(*) FROM limiter_windows) - ?1)))`
)

// Take implements [storage.Limiter] in the database: every Store over one
// file, in this process or another, counts in the same windows, so that
// several Provider instances share one budget for failed client
// authentications (RFC 6749 §2.3.1), pushed authorization requests (RFC
// 9126 §2.3) and the like. It counts one event for key in the aligned
// window of length window that holds now, as one upsert (INSERT ... ON
// CONFLICT DO UPDATE ... RETURNING), and returns the count and the end of
// the key's window. Of concurrent calls for one key, whatever Store they
// go through, each sees a different count. A zero now is the store
// clock's now; a window shorter than a nanosecond is a nanosecond.
//
// An empty key is an error, and a key longer than [storage.MaxKeyBytes]
// is refused with an error wrapping [storage.ErrTooLarge]; nothing is
// counted then. Keys are kept byte for byte, whatever bytes they hold.
//
// The table of windows is bounded by sweeps: [Store.DeleteExpired], and
// Take itself at most once per [WithLimiterSweepInterval] of the store
// clock, before it counts. A sweep deletes the windows that have ended (for
// Take's, ended by both its now and the store clock's), then, while more keys than [WithLimiterKeys] are left, those with the
// smallest counts (of equal counts, those whose window ends first), down
// to the cap: a flood of made-up keys, each counted once or twice,
// pushes out mostly its own keys, and a key counted more often keeps its
// count. Between two sweeps the table may exceed the cap by the keys
// counted for the first time since the last one: with every instance
// taking, about the new keys of one sweep interval, all instances
// together. A sweep that fails (its context ended, say) is retried an
// interval later; the Take that ran it still counts, or returns its own
// error.
func (s *Store) Take(ctx context.Context, key string, window time.Duration, now time.Time) (int64, time.Time, error) {
	if err := ctx.Err(); err != nil {
		return 0, time.Time{}, wrap("take", err)
	}
	if key == "" {
		return 0, time.Time{}, errors.New("sqlite: take: empty key")
	}
	if err := storage.CheckSize("limiter window", 0, nil, key); err != nil {
		return 0, time.Time{}, wrap("take", err)
	}
	now = s.clock(now)
	start := storage.WindowStart(now, window)
	end := start.Add(max(window, 1))
	if s.limiterSweepDue() {
		// A window is swept once it has ended by both clocks: a caller
		// whose clock lags the store's (or the other way round) still
		// counts in the window it is in.
		before := s.now()
		if now.Before(before) {
			before = now
		}
		_, _ = s.sweepLimiter(ctx, before)
	}

	unlock, err := s.lockWrite(ctx)
	if err != nil {
		return 0, time.Time{}, wrap("take", err)
	}
	defer unlock()
	row, err := s.queryRow(ctx, takeWindow, []byte(key), start.UnixNano(), end.UnixNano())
	if err != nil {
		return 0, time.Time{}, wrap("take", err)
	}
	var count, endNS int64
	if err := row.Scan(&count, &endNS); err != nil {
		return 0, time.Time{}, wrap("take", err)
	}
	return count, time.Unix(0, endNS).UTC(), nil
}

// limiterSweepDue reports whether a sweep interval has passed since the
// last sweep a Take of this Store ran, and if so claims the next one: of
// concurrent calls, one runs the sweep.
func (s *Store) limiterSweepDue() bool {
	now := s.now().UnixNano()
	next := s.nextLimiterSweep.Load()
	if now < next {
		return false
	}
	return s.nextLimiterSweep.CompareAndSwap(next, now+int64(s.limiterSweepInterval))
}

// sweepLimiter deletes, in batches, the limiter windows that ended by
// before, then the rows past the cap of [WithLimiterKeys], the smallest
// counts first. It returns how many rows it deleted.
func (s *Store) sweepLimiter(ctx context.Context, before time.Time) (int, error) {
	ended, err := s.deleteBatches(ctx, deleteEndedWindows, before.UnixNano())
	if err != nil {
		return ended, wrap("delete ended limiter windows", err)
	}
	evicted, err := s.deleteBatches(ctx, evictWindows, int64(s.limiterKeys))
	return ended + evicted, wrap("delete limiter windows past the cap", err)
}
