package memory_test

import (
	"testing"

	"github.com/grantor-dev/grantor/storage"
	"github.com/grantor-dev/grantor/storage/memory"
	"github.com/grantor-dev/grantor/storage/storagetest"
)

func TestKeyStoreConformance(t *testing.T) {
	storagetest.RunKeyStore(t, func(t *testing.T) storage.KeyStore { return memory.New() })
}
