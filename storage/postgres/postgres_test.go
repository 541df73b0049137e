package postgres_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/storage"
	"github.com/grantor-dev/grantor/storage/postgres"
	"github.com/grantor-dev/grantor/storage/storagetest"
)

// TestConformance runs the storage contract's suite, each subtest against
// a store over a schema of its own.
func TestConformance(t *testing.T) {
	ts := newTestServer(t)
	storagetest.Run(t, func(t *testing.T, clients ...*storage.Client) storagetest.Store {
		pool, _ := ts.migratedPool(t)
		s := postgres.New(pool)
		for _, c := range clients {
			require.NoError(t, s.PutClient(t.Context(), c), "PutClient")
		}
		return s
	})
}

// TestLimiterConformance runs the storage.Limiter contract's suite, each
// subtest against a store over a schema of its own.
func TestLimiterConformance(t *testing.T) {
	ts := newTestServer(t)
	storagetest.RunLimiter(t, func(t *testing.T) storage.Limiter {
		pool, _ := ts.migratedPool(t)
		return postgres.New(pool)
	})
}
