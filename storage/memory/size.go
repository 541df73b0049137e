package memory

import (
	"fmt"

	"github.com/grantor-dev/grantor/storage"
)

// checkSize returns an error wrapping storage.ErrTooLarge if a record (a
// what) of size n has a key longer than storage.MaxKeyBytes or is larger
// than storage.MaxRecordBytes, and sizeErr, the error of its Size, if not
// nil. The store bounds records as the database adapters do, so that a
// record it takes any of them takes too, and what one request can make
// it hold is bounded.
func checkSize(what string, n int, sizeErr error, keys ...string) error {
	if sizeErr != nil {
		return fmt.Errorf("memory: %s: %w", what, sizeErr)
	}
	for _, k := range keys {
		if len(k) > storage.MaxKeyBytes {
			return fmt.Errorf("memory: %s with a key of %d bytes (at most %d): %w",
				what, len(k), storage.MaxKeyBytes, storage.ErrTooLarge)
		}
	}
	if n > storage.MaxRecordBytes {
		return fmt.Errorf("memory: %s of %d bytes (at most %d): %w", what, n, storage.MaxRecordBytes, storage.ErrTooLarge)
	}
	return nil
}
