package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/grantor-dev/grantor/storage"
)

// remember records a key, or replaces its entry if that has expired at $3.
// It returns a row only if it did either: of concurrent calls for one key,
// PostgreSQL lets one insert or update and re-checks the condition of the
// others against its result.
const remember = `INSERT INTO replay (key, expires_at) VALUES ($1, $2)
ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at WHERE replay.expires_at <= $3
RETURNING true`

// Remember implements [storage.ReplayStore], the replay check of a client
// assertion's or DPoP proof's "jti" (RFC 7523 §3, RFC 9449 §11.1), in one
// statement. It returns [storage.ErrConsumed] if key is recorded with an
// expiry after the store clock's now; otherwise it records key until
// expiresAt, replacing an expired entry. Of many concurrent calls for one
// key, through one Store or several over the database, exactly one returns
// nil.
//
// A zero expiresAt is an error rather than an entry that expires at once:
// replay protection must never silently become a no-op. So are an empty
// key, which no assertion or proof yields, and a key that
// PostgreSQL cannot store (a NUL byte, invalid UTF-8), and a key longer
// than [storage.MaxKeyBytes] is refused with an error wrapping
// [storage.ErrTooLarge].
func (s *Store) Remember(ctx context.Context, key string, expiresAt time.Time) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("postgres: remember: %w", err)
	}
	if expiresAt.IsZero() {
		return errors.New("postgres: remember: zero expiry time")
	}
	if key == "" {
		return errors.New("postgres: remember: empty key")
	}
	if err := storage.CheckSize("replay entry", 0, nil, key); err != nil {
		return fmt.Errorf("postgres: remember: %w", err)
	}
	if err := checkText("the key", key); err != nil {
		return fmt.Errorf("postgres: remember: %w", err)
	}
	now := s.now()
	var won bool
	err := s.retry(ctx, func() error {
		return s.pool.QueryRow(ctx, remember, key, expiresAt, now).Scan(&won)
	})
	switch {
	case err == nil:
		return nil
	case errors.Is(err, pgx.ErrNoRows):
		return fmt.Errorf("postgres: remember: %w", storage.ErrConsumed)
	default:
		return fail(ctx, "remember", err)
	}
}
