package sqlite

import (
	"context"
	"time"

	"github.com/grantor-dev/grantor/storage"
)

// DeleteExpired deletes, in batches of [WithDeleteBatchSize] rows, the
// records whose ExpiresAt is not after before: token records (consumed
// refresh tokens included, so that a reuse is detected until they expire),
// replay entries, interactions, authorization codes (consumed ones
// included, so that a replayed code is recognised until then), pushed
// requests, device authorizations (whatever their status) once their
// ExpiresAt is storage.DeviceAuthorizationRetention past, and login
// sessions; a record without an ExpiresAt counts as expired. Then it
// deletes the revoked-grant markers whose retention ended by before and
// whose grant has no token record left. Last it sweeps the limiter's
// table (see [Store.Take]): the windows that ended by before, then, past
// [WithLimiterKeys] keys, those with the smallest counts. It returns how
// many records, replay entries and limiter windows it deleted, markers not
// counted. A zero before is the store clock's now.
//
// The store deletes nothing on its own: call it periodically (every minute,
// say) to keep the database small. Each batch is a short write, so
// requests are served between batches.
func (s *Store) DeleteExpired(ctx context.Context, before time.Time) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, wrap("delete expired", err)
	}
	cutoff := s.clock(before).UnixMicro()
	total := 0
	for _, table := range []string{"tokens", "replay", "interactions", "authorization_codes", "pushed_requests",
		"device_authorizations", "login_sessions"} {
		tableCutoff := cutoff
		if table == "device_authorizations" {
			// Kept past their expiry, so that a late poll is answered
			// expired_token (RFC 8628 §3.5).
			tableCutoff -= storage.DeviceAuthorizationRetention.Microseconds()
		}
		n, err := s.deleteBatches(ctx, `DELETE FROM `+table+` WHERE key IN (
	SELECT key FROM `+table+` WHERE expires_at <= ?1 OR expires_at IS NULL LIMIT ?2)`, tableCutoff)
		total += n
		if err != nil {
			return total, wrap("delete expired "+table, err)
		}
	}
	_, err := s.deleteBatches(ctx, `DELETE FROM revoked_grants WHERE grant_id IN (
	SELECT g.grant_id FROM revoked_grants g
	WHERE g.keep_until <= ?1 AND NOT EXISTS (SELECT 1 FROM tokens t WHERE t.grant_id = g.grant_id)
	LIMIT ?2)`, cutoff)
	if err != nil {
		return total, wrap("delete expired revoked grants", err)
	}
	n, err := s.sweepLimiter(ctx, s.clock(before))
	return total + n, err
}

// deleteBatches runs query, a DELETE of at most ?2 rows chosen by ?1 (the
// rows expired at ?1, say), until a batch deletes fewer rows than the
// batch size. Each batch takes the write lock on its own.
func (s *Store) deleteBatches(ctx context.Context, query string, arg1 int64) (int, error) {
	total := 0
	for {
		res, err := s.exec(ctx, query, arg1, s.batchSize)
		if err != nil {
			return total, err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, err
		}
		total += int(n)
		if n < int64(s.batchSize) {
			return total, nil
		}
	}
}
