package postgres

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/grantor-dev/grantor/storage"
)

// limiterTake counts one event for key $1 in the window [$2, $3)
// (nanoseconds since the epoch), whose end rounded up to the microsecond is
// $4, in one statement: PostgreSQL serializes the calls for one key on its
// row, so of concurrent calls each sees a different count, whichever
// instance made them. A row of an earlier window starts again at 1 in this
// one; a row of this window or a later one (a caller that read the clock
// just before the boundary, and reached the database after a call of the
// next window) counts this event in its own window, which throttles sooner,
// never later.
const limiterTake = `INSERT INTO limiter AS l (key, window_start_ns, window_end_ns, expires_at, count)
VALUES ($1, $2, $3, $4, 1)
ON CONFLICT (key) DO UPDATE SET
	count = CASE WHEN l.window_start_ns >= excluded.window_start_ns THEN l.count + 1 ELSE 1 END,
	window_start_ns = GREATEST(l.window_start_ns, excluded.window_start_ns),
	window_end_ns = CASE WHEN l.window_start_ns >= excluded.window_start_ns THEN l.window_end_ns ELSE excluded.window_end_ns END,
	expires_at = CASE WHEN l.window_start_ns >= excluded.window_start_ns THEN l.expires_at ELSE excluded.expires_at END
RETURNING count, window_end_ns`

// limiterSweepLock is the key of the transaction-level advisory lock a
// trim of the limiter holds, so that two instances that sweep at once do
// not both delete the excess and leave fewer keys than the cap. A single
// bigint key, as migrationLock.
const limiterSweepLock int64 = 0x4752_414E_544F_524C // "GRANTORL"

// limiterTrim deletes, of the rows whose window goes on after $1, those
// with the smallest counts (the soonest to end first among equal ones),
// as many as there are more such rows than $2. A row that a Take updated
// meanwhile has a new ctid and is kept.
const limiterTrim = `DELETE FROM limiter WHERE ctid = ANY(ARRAY(
	SELECT ctid FROM limiter WHERE expires_at > $1 ORDER BY count, expires_at
	LIMIT GREATEST(0, (SELECT count(*) FROM limiter WHERE expires_at > $1) - $2::bigint)))`

// Take implements [storage.Limiter] over the limiter table, so that every
// Store over one database, in one process or many, counts in one budget:
// N Provider instances give an attacker the budget of one. It counts one
// event for key in the aligned window of length window that holds now (a
// zero now is the store clock's now), in a single statement, and returns
// the count and the window's end. Of concurrent calls for one key, each
// sees a different count. A window shorter than a nanosecond is a
// nanosecond.
//
// Keys are bytes, matched byte for byte: a NUL or invalid UTF-8 is
// counted like any other key. An empty key is an error, and a key longer
// than [storage.MaxKeyBytes] is refused with an error wrapping
// [storage.ErrTooLarge]; neither is counted.
//
// The keys counted are bounded (see [WithLimiterKeys]): at most once per
// [WithLimiterSweepInterval] of the store clock, a Take first sweeps the
// table as [Store.DeleteExpired] does, deleting the windows that ended at
// or before now and, of the others, the smallest counts beyond the cap.
// An error of that sweep is returned, and the event is then not counted.
func (s *Store) Take(ctx context.Context, key string, window time.Duration, now time.Time) (int64, time.Time, error) {
	if err := ctx.Err(); err != nil {
		return 0, time.Time{}, fmt.Errorf("postgres: take: %w", err)
	}
	if key == "" {
		return 0, time.Time{}, errors.New("postgres: take: empty key")
	}
	if err := storage.CheckSize("limiter key", 0, nil, key); err != nil {
		return 0, time.Time{}, fmt.Errorf("postgres: take: %w", err)
	}
	now = s.orNow(now)
	if s.limiterSweepDue() {
		if _, err := s.sweepLimiter(ctx, now, DefaultDeleteBatch); err != nil {
			return 0, time.Time{}, err
		}
	}
	w := max(int64(window), 1)
	start := storage.WindowStart(now, window).UnixNano()
	end := int64(math.MaxInt64) // a window that ends after 2262 ends then
	if start <= math.MaxInt64-w {
		end = start + w
	}
	var count, endNs int64
	err := s.retry(ctx, func() error {
		return s.pool.QueryRow(ctx, limiterTake, []byte(key), start, end, ceilMicro(time.Unix(0, end))).Scan(&count, &endNs)
	})
	if err != nil {
		return 0, time.Time{}, fail(ctx, "take", err)
	}
	return count, time.Unix(0, endNs), nil
}

// ceilMicro rounds t up to the microsecond, the precision of timestamptz
// (a time argument is truncated to it): a window's expires_at is never
// before its end, so that no sweep deletes a window that goes on.
func ceilMicro(t time.Time) time.Time {
	if r := t.Truncate(time.Microsecond); !r.Equal(t) {
		return r.Add(time.Microsecond)
	}
	return t
}

// limiterSweepDue reports whether a Take should sweep the limiter table:
// at most once per sweep interval of the store clock, and of concurrent
// callers of one Store only one.
func (s *Store) limiterSweepDue() bool {
	t := s.now().UnixNano()
	next := s.nextLimiterSweep.Load()
	return t >= next && s.nextLimiterSweep.CompareAndSwap(next, t+int64(s.limiterSweepInterval))
}

// sweepLimiter deletes the limiter's windows that ended at or before now,
// batch rows per statement, and then trims the others to the cap
// (trimLimiter). It returns how many ended windows it deleted.
func (s *Store) sweepLimiter(ctx context.Context, now time.Time, batch int) (int, error) {
	total := 0
	for {
		if err := ctx.Err(); err != nil {
			return total, fmt.Errorf("postgres: sweep limiter: %w", err)
		}
		var n int64
		err := s.retry(ctx, func() error {
			tag, err := s.pool.Exec(ctx, deleteEndedWindows, now, batch)
			n = tag.RowsAffected()
			return err
		})
		if err != nil {
			return total, fail(ctx, "sweep limiter", err)
		}
		total += int(n)
		if n < int64(batch) {
			break
		}
	}
	return total, s.trimLimiter(ctx, now)
}

// deleteEndedWindows deletes at most $2 limiter windows that ended at or
// before $1.
var deleteEndedWindows = deleteExpired("limiter", "expires_at <= $1")

// trimLimiter deletes the live limiter rows with the smallest counts
// beyond s.limiterKeys, in one statement under the sweep lock, so that two
// instances trimming at once leave the cap, not less: the statement counts
// the live rows once it holds the lock. When another instance holds it,
// that instance is trimming, and trimLimiter leaves the work to it.
//
// One statement rather than batches: without an index on the counts, each
// batch would scan and sort the whole table again. Under the cap it costs
// a count of the live rows; over it, a sort, and the rows it deletes stay
// locked until it ends, so that a Take of one of their keys waits for it
// and then counts from 1 (about a quarter of a second for 100,000 excess
// keys of 200,000).
func (s *Store) trimLimiter(ctx context.Context, now time.Time) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("postgres: trim limiter: %w", err)
	}
	err := s.retry(ctx, func() error {
		return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			var locked bool
			if err := tx.QueryRow(ctx, "SELECT pg_try_advisory_xact_lock($1)", limiterSweepLock).Scan(&locked); err != nil {
				return err
			}
			if !locked {
				return nil
			}
			// A statement of its own, after the lock: its snapshot holds
			// what a sweep before this one deleted.
			_, err := tx.Exec(ctx, limiterTrim, now, s.limiterKeys)
			return err
		})
	})
	if err != nil {
		return fail(ctx, "trim limiter", err)
	}
	return nil
}
