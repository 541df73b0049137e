package storagetest_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/storage"
	"github.com/grantor-dev/grantor/storage/memory"
	"github.com/grantor-dev/grantor/storage/storagetest"
)

// brokenKeyStoreEnv names the variable that makes
// TestKeyStoreSuiteCatchesBrokenStores run RunKeyStore against one broken
// key store, in a child process.
const brokenKeyStoreEnv = "STORAGETEST_BROKEN_KEYSTORE"

// brokenKeyStores are key stores that break one rule of storage.KeyStore
// the way a hand-written adapter does, with the test that must catch it.
var brokenKeyStores = map[string]struct {
	wrap   func(s *memory.Store) storage.KeyStore
	caught string
}{
	"none (control)": {
		wrap:   func(s *memory.Store) storage.KeyStore { return s },
		caught: "",
	},
	"SaveKeySet reads the version, then writes": {
		wrap:   func(s *memory.Store) storage.KeyStore { return &readThenWriteKeys{Store: s} },
		caught: "concurrent saves at one version: exactly one wins",
	},
	"SaveKeySet ignores the version": {
		wrap:   func(s *memory.Store) storage.KeyStore { return &lastWriterWins{Store: s} },
		caught: "a save with a stale or future version is a conflict and writes nothing",
	},
	"LoadKeySet shares the sealed bytes": {
		wrap:   func(s *memory.Store) storage.KeyStore { return &sharedSealed{Store: s} },
		caught: "the loaded keys are copies the caller may modify",
	},
}

func TestKeyStoreSuiteCatchesBrokenStores(t *testing.T) {
	if name := os.Getenv(brokenKeyStoreEnv); name != "" {
		b := brokenKeyStores[name]
		storagetest.RunKeyStore(t, func(t *testing.T) storage.KeyStore { return b.wrap(memory.New()) })
		return
	}
	const control = "every field of every key round trips, in order"
	for name, b := range brokenKeyStores {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			test := b.caught
			if test == "" {
				test = control
			}
			path := "TestKeyStoreSuiteCatchesBrokenStores/KeyStore/" + strings.ReplaceAll(test, " ", "_")
			pattern := "^TestKeyStoreSuiteCatchesBrokenStores$/^KeyStore$/^" + regexp.QuoteMeta(strings.ReplaceAll(test, " ", "_")) + "$"
			cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run="+pattern, "-test.v", "-test.count=1")
			cmd.Env = append(os.Environ(), brokenKeyStoreEnv+"="+name)
			out, err := cmd.CombinedOutput()
			if b.caught == "" {
				assert.NoError(t, err, "the unbroken store passes:\n%s", out)
				assert.Contains(t, string(out), "--- PASS: "+path+" ", "the test ran and passed")
				return
			}
			var exit *exec.ExitError
			require.True(t, errors.As(err, &exit), "the suite must fail against the broken store (err %v):\n%s", err, out)
			assert.Contains(t, string(out), "--- FAIL: "+path+" ", "the test that must catch it failed")
		})
	}
}

// readThenWriteKeys checks the version and saves in two steps, so that
// concurrent writers can all pass the check.
type readThenWriteKeys struct {
	*memory.Store
	mu sync.Mutex
}

func (s *readThenWriteKeys) SaveKeySet(ctx context.Context, name string, version int64, keys []storage.StoredKey) (int64, error) {
	set, err := s.LoadKeySet(ctx, name)
	if err != nil {
		return 0, err
	}
	if set.Version != version {
		return 0, storage.ErrVersionConflict
	}
	// Another writer may save between the check and the write below; a
	// database round trip gives it the time this pause does.
	time.Sleep(time.Millisecond)
	s.mu.Lock()
	defer s.mu.Unlock()
	current, err := s.LoadKeySet(ctx, name)
	if err != nil {
		return 0, err
	}
	return s.Store.SaveKeySet(ctx, name, current.Version, keys)
}

// lastWriterWins saves whatever version it is given.
type lastWriterWins struct{ *memory.Store }

func (s *lastWriterWins) SaveKeySet(ctx context.Context, name string, _ int64, keys []storage.StoredKey) (int64, error) {
	set, err := s.LoadKeySet(ctx, name)
	if err != nil {
		return 0, err
	}
	return s.Store.SaveKeySet(ctx, name, set.Version, keys)
}

// sharedSealed returns the same sealed bytes to every caller.
type sharedSealed struct {
	*memory.Store
	mu    sync.Mutex
	cache map[string][]byte
}

func (s *sharedSealed) LoadKeySet(ctx context.Context, name string) (storage.StoredKeySet, error) {
	set, err := s.Store.LoadKeySet(ctx, name)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cache == nil {
		s.cache = map[string][]byte{}
	}
	for i, k := range set.Keys {
		if b, ok := s.cache[name+"/"+k.ID]; ok {
			set.Keys[i].Sealed = b
		} else {
			s.cache[name+"/"+k.ID] = k.Sealed
		}
	}
	return set, err
}
