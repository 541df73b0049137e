package sqlite

import (
	"context"
	"errors"
	"time"

	"github.com/grantor-dev/grantor/storage"
)

// Remember implements [storage.ReplayStore], the replay check of a client
// assertion's or DPoP proof's "jti" (RFC 7523 §3, RFC 9449 §11.1), as one
// upsert: it inserts key with its expiry, or replaces an entry that has
// expired by the store clock's now; if a live entry is there, nothing
// changes and it returns [storage.ErrConsumed]. Of many concurrent calls
// for one key, in this process or another, exactly one returns nil.
//
// A zero expiresAt is an error rather than an entry that expires at once:
// replay protection must never silently become a no-op. So is an empty
// key, which no assertion or proof yields. A key longer than
// [storage.MaxKeyBytes] is refused with an error wrapping
// [storage.ErrTooLarge].
func (s *Store) Remember(ctx context.Context, key string, expiresAt time.Time) error {
	if err := ctx.Err(); err != nil {
		return wrap("remember", err)
	}
	if expiresAt.IsZero() {
		return errors.New("sqlite: remember: zero expiry time")
	}
	if key == "" {
		return errors.New("sqlite: remember: empty key")
	}
	if err := storage.CheckSize("replay entry", 0, nil, key); err != nil {
		return wrap("remember", err)
	}
	res, err := s.exec(ctx, `INSERT INTO replay (key, expires_at) VALUES (?, ?)
ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at WHERE replay.expires_at <= ?`,
		key, expiresAt.UnixMicro(), s.now().UnixMicro())
	if err != nil {
		return wrap("remember", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return wrap("remember", err)
	}
	if n == 0 {
		return wrap("remember", storage.ErrConsumed)
	}
	return nil
}
