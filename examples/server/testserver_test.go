package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/storage"
	"github.com/grantor-dev/grantor/storage/memory"
	"github.com/grantor-dev/grantor/storage/storagetest"
)

// testRemoteAddr is the header through which a test chooses the client
// address a request comes from. Only the tests' wrapper reads it: the
// server itself trusts nothing but the connection's address.
const testRemoteAddr = "X-Test-Remote-Addr"

// serveTest serves a server that newServer builds over st on a free
// loopback port, for tests that reach into it (its pages' clock, limits
// and sessions), and returns it with a code flow for the demo web client.
// A request's testRemoteAddr header, if any, replaces its RemoteAddr.
// Each configure function runs before the server starts, so that it may
// change the server without racing with its handlers.
func serveTest(t *testing.T, st *openedStore, configure ...func(*server)) (*server, *codeFlow) {
	t.Helper()
	return serveTestWith(t, st, options{}, configure...)
}

// serveTestWith is serveTest with options o, whose issuer and token
// format it sets.
func serveTestWith(t *testing.T, st *openedStore, o options, configure ...func(*server)) (*server, *codeFlow) {
	t.Helper()
	ts := httptest.NewUnstartedServer(nil)
	addr := ts.Listener.Addr().String()
	var out bytes.Buffer
	o.issuer, o.tokens = "http://"+addr, "opaque"
	if st.persistent && o.secretFile == "" {
		o.secretFile = testSecretFile
	}
	srv, err := newServer(context.Background(), o, st, &out)
	require.NoError(t, err)
	for _, c := range configure {
		c(srv)
	}
	ts.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a := r.Header.Get(testRemoteAddr); a != "" {
			r.RemoteAddr = a
		}
		srv.handler.ServeHTTP(w, r)
	})
	ts.Start()
	t.Cleanup(ts.Close)
	cb := newCallback(t)
	return srv, &codeFlow{addr: addr, cfg: demoWebConfig(t, addr, out.String(), cb.URL), cb: cb}
}

// faultyStore is an in-memory store whose operations a test can make fail.
type faultyStore struct {
	*storagetest.Faulty
	mem *memory.Store
}

// newFaultyStore returns an empty in-memory store wrapped in a Faulty.
func newFaultyStore() (*openedStore, *storagetest.Faulty) {
	mem := memory.New()
	f := storagetest.NewFaulty(mem)
	return &openedStore{store: faultyStore{Faulty: f, mem: mem}, name: "faulty memory",
		close: func() error { return nil }}, f
}

// CreateLoginSession keeps the session in the memory store; the tests
// make the other operations fail, not the login sessions.
func (s faultyStore) CreateLoginSession(ctx context.Context, ls *storage.LoginSession) error {
	return s.mem.CreateLoginSession(ctx, ls)
}

// LoginSession reads the memory store's session.
func (s faultyStore) LoginSession(ctx context.Context, key string) (*storage.LoginSession, error) {
	return s.mem.LoginSession(ctx, key)
}

// LoginSessionByID reads the memory store's session by its ID.
func (s faultyStore) LoginSessionByID(ctx context.Context, id string) (*storage.LoginSession, error) {
	return s.mem.LoginSessionByID(ctx, id)
}

// AddSessionClient adds to the memory store's session.
func (s faultyStore) AddSessionClient(ctx context.Context, key, clientID string) error {
	return s.mem.AddSessionClient(ctx, key, clientID)
}

// DeleteLoginSession deletes the memory store's session.
func (s faultyStore) DeleteLoginSession(ctx context.Context, key string) (*storage.LoginSession, error) {
	return s.mem.DeleteLoginSession(ctx, key)
}

// PutClient registers a client; the server only does so at start-up.
func (s faultyStore) PutClient(_ context.Context, c *storage.Client) error { return s.mem.PutClient(c) }

// Take counts in the memory store's limiter; the tests make the other
// operations fail, not the throttles.
func (s faultyStore) Take(ctx context.Context, key string, window time.Duration, now time.Time) (int64, time.Time, error) {
	return s.mem.Take(ctx, key, window, now)
}

// LoadKeySet reads the memory store's token keys; the tests make the
// other operations fail, not the keys.
func (s faultyStore) LoadKeySet(ctx context.Context, name string) (storage.StoredKeySet, error) {
	return s.mem.LoadKeySet(ctx, name)
}

// SaveKeySet writes the memory store's token keys.
func (s faultyStore) SaveKeySet(ctx context.Context, name string, version int64, keys []storage.StoredKey) (int64, error) {
	return s.mem.SaveKeySet(ctx, name, version, keys)
}

// testClock is a clock that tests set, safe for the server's goroutines.
type testClock struct{ ns atomic.Int64 }

// newTestClock returns a clock at t.
func newTestClock(t time.Time) *testClock {
	c := &testClock{}
	c.set(t)
	return c
}

func (c *testClock) now() time.Time  { return time.Unix(0, c.ns.Load()) }
func (c *testClock) set(t time.Time) { c.ns.Store(t.UnixNano()) }

// everyStore returns the -store values of every store the server offers:
// memory, a SQLite file, and the PostgreSQL database of
// GRANTOR_TEST_POSTGRES, which the tests need unless GRANTOR_SKIP_POSTGRES
// is 1.
func everyStore(t *testing.T) []string {
	t.Helper()
	stores := []string{"memory", "sqlite:" + filepath.Join(t.TempDir(), "grantor.db")}
	switch dsn := os.Getenv("GRANTOR_TEST_POSTGRES"); {
	case dsn != "":
		stores = append(stores, "postgres:"+dsn)
	case os.Getenv("GRANTOR_SKIP_POSTGRES") != "1":
		t.Fatal("GRANTOR_TEST_POSTGRES is not set: run the tests with ../scripts/with-postgres.sh, " +
			"or skip the PostgreSQL case explicitly with GRANTOR_SKIP_POSTGRES=1")
	}
	return stores
}
