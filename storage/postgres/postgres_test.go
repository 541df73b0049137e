package postgres_test

import (
	"context"
	"sync/atomic"
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

// TestKeyStoreConformance runs the storage.KeyStore contract's suite, each
// subtest against a store over a schema of its own.
func TestKeyStoreConformance(t *testing.T) {
	ts := newTestServer(t)
	storagetest.RunKeyStore(t, func(t *testing.T) storage.KeyStore {
		pool, _ := ts.migratedPool(t)
		return postgres.New(pool)
	})
}

// TestLoginSessionStoreConformance runs the storage.LoginSessionStore
// contract's suite, each subtest against a store over a schema of its own.
func TestLoginSessionStoreConformance(t *testing.T) {
	ts := newTestServer(t)
	storagetest.RunLoginSessionStore(t, func(t *testing.T) storage.LoginSessionStore {
		pool, _ := ts.migratedPool(t)
		return postgres.New(pool)
	})
}

// TestLoginSessionStoreConformanceTwoInstances runs the
// storage.LoginSessionStore contract's suite against two Stores, each with
// a pool of its own over one schema, the calls alternating between them:
// concurrent additions of clients and deletions then race from two
// instances, as a cluster's approvals and logouts would.
func TestLoginSessionStoreConformanceTwoInstances(t *testing.T) {
	ts := newTestServer(t)
	storagetest.RunLoginSessionStore(t, func(t *testing.T) storage.LoginSessionStore {
		poolA, cfg := ts.migratedPool(t)
		return &twoSessionStores{s: [2]*postgres.Store{postgres.New(poolA), postgres.New(newPool(t, cfg.Copy()))}}
	})
}

// twoSessionStores sends each call to one of two stores in turn.
type twoSessionStores struct {
	s [2]*postgres.Store
	n atomic.Uint32
}

func (p *twoSessionStores) next() *postgres.Store { return p.s[p.n.Add(1)%2] }

func (p *twoSessionStores) CreateLoginSession(ctx context.Context, ls *storage.LoginSession) error {
	return p.next().CreateLoginSession(ctx, ls)
}

func (p *twoSessionStores) LoginSession(ctx context.Context, key string) (*storage.LoginSession, error) {
	return p.next().LoginSession(ctx, key)
}

func (p *twoSessionStores) LoginSessionByID(ctx context.Context, id string) (*storage.LoginSession, error) {
	return p.next().LoginSessionByID(ctx, id)
}

func (p *twoSessionStores) AddSessionClient(ctx context.Context, key, clientID string) error {
	return p.next().AddSessionClient(ctx, key, clientID)
}

func (p *twoSessionStores) DeleteLoginSession(ctx context.Context, key string) (*storage.LoginSession, error) {
	return p.next().DeleteLoginSession(ctx, key)
}

// TestKeyStoreConformanceTwoInstances runs the storage.KeyStore contract's
// suite against two Stores, each with a pool of its own over one schema,
// the calls alternating between them: the concurrent saves at one version
// then race from two instances, as a cluster's rotations would, and
// exactly one may win.
func TestKeyStoreConformanceTwoInstances(t *testing.T) {
	ts := newTestServer(t)
	storagetest.RunKeyStore(t, func(t *testing.T) storage.KeyStore {
		poolA, cfg := ts.migratedPool(t)
		return &twoKeyStores{s: [2]*postgres.Store{postgres.New(poolA), postgres.New(newPool(t, cfg.Copy()))}}
	})
}

// twoKeyStores sends each call to one of two stores in turn.
type twoKeyStores struct {
	s [2]*postgres.Store
	n atomic.Uint32
}

func (p *twoKeyStores) next() *postgres.Store { return p.s[p.n.Add(1)%2] }

func (p *twoKeyStores) LoadKeySet(ctx context.Context, name string) (storage.StoredKeySet, error) {
	return p.next().LoadKeySet(ctx, name)
}

func (p *twoKeyStores) SaveKeySet(ctx context.Context, name string, version int64, keys []storage.StoredKey) (int64, error) {
	return p.next().SaveKeySet(ctx, name, version, keys)
}
