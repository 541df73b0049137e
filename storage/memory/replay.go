package memory

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/grantor-dev/grantor/storage"
)

// Remember implements [storage.ReplayStore], the replay check of a client
// assertion's or DPoP proof's "jti" (RFC 7523 §3, RFC 9449 §11.1). It returns
// [storage.ErrConsumed] if key is recorded with an expiry after the store
// clock's now; otherwise it records key until expiresAt, replacing an
// expired entry. Of many concurrent calls for one key exactly one returns
// nil.
//
// A zero expiresAt is an error rather than an entry that expires at once:
// replay protection must never silently become a no-op. So is an empty
// key, which no assertion or proof yields. A key longer than
// [storage.MaxKeyBytes] is refused with an error wrapping
// [storage.ErrTooLarge].
func (s *Store) Remember(ctx context.Context, key string, expiresAt time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if expiresAt.IsZero() {
		return errors.New("memory: Remember with a zero expiry time")
	}
	if key == "" {
		return errors.New("memory: Remember with an empty key")
	}
	if err := storage.CheckSize("memory: replay entry", 0, nil, key); err != nil {
		return err
	}
	now := s.now()
	n := clampNano(now)
	s.replayMu.Lock()
	defer s.replayMu.Unlock()
	s.maybeSweepReplayLocked(now)
	if exp, ok := s.replay[key]; ok {
		if n < exp {
			return storage.ErrConsumed
		}
		s.replay[key] = clampNano(expiresAt)
		return nil
	}
	s.replay[strings.Clone(key)] = clampNano(expiresAt)
	return nil
}
