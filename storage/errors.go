package storage

import "errors"

// Sentinel errors returned by stores. Callers match them with [errors.Is];
// implementations may wrap them with more context.
var (
	// ErrNotFound means no record exists under the given key, or it has
	// been deleted after expiring.
	ErrNotFound = errors.New("storage: not found")

	// ErrConsumed means a use-once operation lost: the record was already
	// used (a rotated refresh token, a remembered jti).
	ErrConsumed = errors.New("storage: already consumed")

	// ErrDuplicate means a record with the same key already exists.
	ErrDuplicate = errors.New("storage: duplicate key")
)

// Errors of stores that bound what they hold.
var (
	// ErrFull means the store refuses a new record because it holds as
	// many as it may (the in-memory store's bound on pending
	// interactions, say). Nothing was written; the Provider answers
	// temporarily_unavailable and the caller may retry later.
	ErrFull = errors.New("storage: store is full")

	// ErrTooLarge means a record is larger than the store accepts in one
	// write (see [MaxRecordBytes] and [MaxKeyBytes]). Nothing was
	// written.
	ErrTooLarge = errors.New("storage: record too large")
)
