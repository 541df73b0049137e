package storagetest_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/storage"
	"github.com/grantor-dev/grantor/storage/memory"
	"github.com/grantor-dev/grantor/storage/storagetest"
)

// TestMyStore is the test README.md shows the author of a storage
// adapter: the conformance suite run over the adapter, here myStore.
func TestMyStore(t *testing.T) {
	storagetest.Run(t, func(t *testing.T, clients ...*storage.Client) storagetest.Store {
		s := newMyStore(t) // your adapter, over a fresh, empty database
		for _, c := range clients {
			require.NoError(t, s.PutClient(t.Context(), c))
		}
		return s
	})
}

// myStore stands for an application's own adapter of the storage
// interfaces: the memory store, with the PutClient of a database adapter,
// which takes a context.
type myStore struct{ *memory.Store }

// PutClient registers c.
func (s myStore) PutClient(_ context.Context, c *storage.Client) error { return s.Store.PutClient(c) }

// newMyStore stands for opening the adapter over an empty test database
// (and closing it with t.Cleanup).
func newMyStore(*testing.T) myStore { return myStore{memory.New()} }
