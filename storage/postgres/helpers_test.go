package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/oauth2"
	"github.com/grantor-dev/grantor/storage/postgres"
)

// dsnVar names the environment variable that gives the test server's DSN;
// `make test` sets it (see scripts/with-postgres.sh).
const dsnVar = "GRANTOR_TEST_POSTGRES"

// testDSN returns the DSN of the test server. Without one the test fails,
// saying how to start one, unless the user asked to skip the PostgreSQL
// tests with GRANTOR_SKIP_POSTGRES=1: a test that cannot run is a failure,
// not a reason to skip.
func testDSN(tb testing.TB) string {
	tb.Helper()
	dsn := os.Getenv(dsnVar)
	if dsn == "" {
		if os.Getenv("GRANTOR_SKIP_POSTGRES") == "1" {
			tb.Skipf("GRANTOR_SKIP_POSTGRES=1: skipping the PostgreSQL tests as asked")
		}
		tb.Fatalf("%s is not set: run the tests with a throwaway server, "+
			"`../../scripts/with-postgres.sh go test ./...` (it needs `apt-get install postgresql`; "+
			"`make test` does both), or skip them explicitly with GRANTOR_SKIP_POSTGRES=1", dsnVar)
	}
	return dsn
}

// testServer is the PostgreSQL server of a test: each newSchema call gives
// a schema of its own, so tests are isolated without a database each.
type testServer struct {
	dsn   string
	admin *pgxpool.Pool // creates and drops the schemas
}

// newTestServer connects to the test server, skipping or failing tb as
// testDSN does when there is none.
func newTestServer(tb testing.TB) *testServer {
	tb.Helper()
	dsn := testDSN(tb)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := pgxpool.New(ctx, dsn)
	require.NoError(tb, err, "connecting to %s", dsnVar)
	tb.Cleanup(admin.Close)
	require.NoError(tb, admin.Ping(ctx), "connecting to the server of %s", dsnVar)
	return &testServer{dsn: dsn, admin: admin}
}

// newSchema creates an empty schema, dropped with everything in it when tb
// ends, and returns a pool configuration whose connections use it.
func (ts *testServer) newSchema(tb testing.TB) *pgxpool.Config {
	tb.Helper()
	b := make([]byte, 8)
	_, err := rand.Read(b)
	require.NoError(tb, err)
	schema := "grantor_test_" + hex.EncodeToString(b)
	_, err = ts.admin.Exec(context.Background(), "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize())
	require.NoError(tb, err, "CREATE SCHEMA")
	tb.Cleanup(func() {
		_, err := ts.admin.Exec(context.Background(), "DROP SCHEMA "+pgx.Identifier{schema}.Sanitize()+" CASCADE")
		if err != nil {
			tb.Errorf("DROP SCHEMA %s: %v", schema, err)
		}
	})
	cfg, err := pgxpool.ParseConfig(ts.dsn)
	require.NoError(tb, err)
	// A run-time parameter of the startup message: no round trip more
	// than a plain connection.
	cfg.ConnConfig.RuntimeParams["search_path"] = schema
	// Enough connections that 50 racing goroutines meet in the server,
	// not only in the pool's queue.
	cfg.MaxConns = 16
	return cfg
}

// newPool returns a pool over cfg, closed when tb ends (before the schema
// is dropped, the cleanups running last-in first-out).
func newPool(tb testing.TB, cfg *pgxpool.Config) *pgxpool.Pool {
	tb.Helper()
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	require.NoError(tb, err)
	tb.Cleanup(pool.Close)
	return pool
}

// migratedPool returns a pool over a new schema, migrated.
func (ts *testServer) migratedPool(tb testing.TB) (*pgxpool.Pool, *pgxpool.Config) {
	tb.Helper()
	cfg := ts.newSchema(tb)
	pool := newPool(tb, cfg)
	require.NoError(tb, postgres.Migrate(context.Background(), pool), "Migrate")
	return pool, cfg
}

// twoInstances builds two Providers over one migrated database, each with
// a pool and a Store of its own, as a deployment behind a load balancer
// would: they share their issuer (twoInstancesIssuer) and token keys, and
// configure completes each one's Config with its Store (Issuer, Clients,
// Tokens and TokenKeys are set). It returns the Providers and their Stores.
func twoInstances(t *testing.T, configure func(cfg *oauth2.Config, s *postgres.Store)) (a, b *oauth2.Provider, storeA, storeB *postgres.Store) {
	t.Helper()
	ts := newTestServer(t)
	poolA, cfg := ts.migratedPool(t)
	poolB := newPool(t, cfg.Copy())
	key := make([]byte, 32)
	_, err := rand.Read(key)
	require.NoError(t, err)
	provider := func(pool *pgxpool.Pool) (*oauth2.Provider, *postgres.Store) {
		t.Helper()
		s := postgres.New(pool)
		c := oauth2.Config{Issuer: twoInstancesIssuer, Clients: s, Tokens: s, TokenKeys: [][]byte{key}} // the instances share their keys
		configure(&c, s)
		p, err := oauth2.NewProvider(c)
		require.NoError(t, err)
		return p, s
	}
	a, storeA = provider(poolA)
	b, storeB = provider(poolB)
	return a, b, storeA, storeB
}

// twoInstancesIssuer is the issuer of the Providers of twoInstances.
const twoInstancesIssuer = "https://as.example"
