package token_test

import (
	"testing"

	"github.com/grantor-dev/grantor/internal/keystest"
	"github.com/grantor-dev/grantor/storage"
	"github.com/grantor-dev/grantor/storage/memory"
)

// Two instances over one memory store (the fake of tests) behave as over
// a database; the adapters run the same checks over theirs.
func TestStoredKeysOverOneMemoryStore(t *testing.T) {
	keystest.Run(t, func(t *testing.T) (storage.KeyStore, storage.KeyStore) {
		s := memory.New()
		return s, s
	})
}
