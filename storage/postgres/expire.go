package postgres

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/grantor-dev/grantor/storage"
)

// expiredDeletes are the statements of DeleteExpired, one per table: each
// deletes at most $2 rows that expired at or before $1, picked through an
// index, so that no statement holds many row locks or runs long.
var expiredDeletes = []struct {
	table string
	sql   string
	count bool // whether the rows count in DeleteExpired's result
}{
	{"tokens", deleteExpired("tokens", "expires_at <= $1"), true},
	{"replay", deleteExpired("replay", "expires_at <= $1"), true},
	{"interactions", deleteExpired("interactions", "expires_at <= $1"), true},
	{"authorization_codes", deleteExpired("authorization_codes", "expires_at <= $1"), true},
	{"pushed_requests", deleteExpired("pushed_requests", "expires_at <= $1"), true},
	{"login_sessions", deleteExpired("login_sessions", "expires_at <= $1"), true},
	{"limiter", deleteEndedWindows, true},
	// Kept for storage.DeviceAuthorizationRetention past their expiry, so
	// that a late poll is answered expired_token (RFC 8628 §3.5).
	{"device_authorizations", deleteExpired("device_authorizations",
		"expires_at <= $1::timestamptz - make_interval(secs => "+
			strconv.Itoa(int(storage.DeviceAuthorizationRetention/time.Second))+")"), true},
	// A revoked-grant marker is kept past its retention while a token of
	// the grant exists. Tokens go first, so that markers can go in the
	// same call.
	{"revoked_grants", deleteExpired("revoked_grants",
		"keep_until <= $1 AND NOT EXISTS (SELECT 1 FROM tokens WHERE tokens.grant_id = revoked_grants.grant_id)"), false},
}

func deleteExpired(table, cond string) string {
	// ctid = ANY(ARRAY(...)) deletes by a TID scan of the rows the
	// subquery picked. A row updated meanwhile has a new ctid and is left
	// for the next call.
	return "DELETE FROM " + table + " WHERE ctid = ANY(ARRAY(SELECT ctid FROM " + table + " WHERE " + cond + " LIMIT $2))"
}

// DeleteExpired deletes the records that expired at or before the time
// before: token records whose ExpiresAt has passed (consumed refresh tokens
// included, so that a reuse is detected until then), expired replay
// entries, the interactions, authorization codes and pushed requests whose
// ExpiresAt has passed (completed and consumed ones included, so that a
// replayed code is recognised until then), the device authorizations whose
// ExpiresAt is storage.DeviceAuthorizationRetention past, the login
// sessions whose ExpiresAt has passed, and the revoked-grant markers past
// their retention whose grant has no token record left, and the limiter's
// windows (see [Store.Take]) that ended at
// or before before. It returns how many records, replay entries and
// limiter windows it deleted, revoked-grant markers not counted.
//
// It then sweeps the limiter as a Take does now and then: when more keys
// than the cap ([WithLimiterKeys]) are counted in windows that go on after
// before, it deletes those with the smallest counts, down to the cap (a
// key deleted so starts again from 1, which the contract of
// [storage.Limiter] allows for the smallest counts; no count is ever
// raised). The keys it so forgets are not counted in its result.
//
// It deletes expired rows batch per statement (DefaultDeleteBatch when
// batch is zero or negative), each statement its own transaction, so that
// it never holds many locks; the limiter's excess keys, which it must
// sort by count, go in one statement (see [WithLimiterKeys]). Call it
// periodically, from one instance or several, with before set to the
// current time. When ctx ends it stops and returns what it deleted so far
// with the context's error.
func (s *Store) DeleteExpired(ctx context.Context, before time.Time, batch int) (int, error) {
	if batch <= 0 {
		batch = DefaultDeleteBatch
	}
	total := 0
	for _, d := range expiredDeletes {
		for {
			if err := ctx.Err(); err != nil {
				return total, fmt.Errorf("postgres: delete expired: %w", err)
			}
			var n int64
			err := s.retry(ctx, func() error {
				tag, err := s.pool.Exec(ctx, d.sql, before, batch)
				n = tag.RowsAffected()
				return err
			})
			if err != nil {
				return total, fail(ctx, "delete expired "+d.table, err)
			}
			if d.count {
				total += int(n)
			}
			if n < int64(batch) {
				break
			}
		}
	}
	return total, s.trimLimiter(ctx, before)
}
