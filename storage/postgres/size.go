package postgres

import (
	"fmt"

	"github.com/grantor-dev/grantor/storage"
)

// checkSize returns an error wrapping storage.ErrTooLarge if a record (a
// what) of size n has a key longer than storage.MaxKeyBytes (the keys are
// indexed, and a B-tree entry holds about 2,700 bytes at most) or is larger
// than storage.MaxRecordBytes, and sizeErr, the error of its Size, if not
// nil.
func checkSize(what string, n int, sizeErr error, keys ...string) error {
	if sizeErr != nil {
		return sizeErr
	}
	for _, k := range keys {
		if len(k) > storage.MaxKeyBytes {
			return fmt.Errorf("%s with a key of %d bytes (at most %d): %w",
				what, len(k), storage.MaxKeyBytes, storage.ErrTooLarge)
		}
	}
	if n > storage.MaxRecordBytes {
		return fmt.Errorf("%s of %d bytes (at most %d): %w", what, n, storage.MaxRecordBytes, storage.ErrTooLarge)
	}
	return nil
}
