package storage

import (
	"context"
	"time"
)

// ReplayStore remembers values that may be used only once until they
// expire: the "jti" of a client assertion (RFC 7523 §3) or of a DPoP proof
// (RFC 9449 §11.1).
type ReplayStore interface {
	// Remember records key until expiresAt, which is never zero. If key
	// is already recorded and has not expired it returns ErrConsumed; of
	// many concurrent calls for one key exactly one returns a nil error.
	// An empty key is invalid input: an error that wraps none of the
	// sentinels, and nothing is recorded.
	Remember(ctx context.Context, key string, expiresAt time.Time) error
}
