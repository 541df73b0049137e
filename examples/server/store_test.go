package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	xoauth2 "golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/grantor-dev/grantor/storage"
)

// billingSecret is the secret of the client in billingClientsFile's file:
// unlike the demo clients' secrets, it is the same on every start.
const billingSecret = "correct horse battery staple"

// billingClientsFile writes a clients file registering "billing", a client
// credentials client, and returns its name.
func billingClientsFile(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "clients.json")
	require.NoError(t, os.WriteFile(path, []byte(`[
		{"client_id": "billing", "client_secret": "`+billingSecret+`",
		 "token_endpoint_auth_method": "client_secret_post",
		 "grant_types": ["client_credentials"], "scope": "invoices:read"}
	]`), 0o600))
	return path
}

// billingToken gets an access token for "billing" from the server at addr.
func billingToken(t *testing.T, addr string) *xoauth2.Token {
	t.Helper()
	cc := clientcredentials.Config{ClientID: "billing", ClientSecret: billingSecret,
		TokenURL: "http://" + addr + "/token", Scopes: []string{"invoices:read"}, AuthStyle: xoauth2.AuthStyleInParams}
	tok, err := cc.Token(context.Background())
	require.NoError(t, err)
	return tok
}

// jwtID returns the "jti" claim of a JWT, unverified: the key its record
// is stored under.
func jwtID(t *testing.T, jwt string) string {
	t.Helper()
	parts := strings.Split(jwt, ".")
	require.Len(t, parts, 3, "a compact JWS")
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	require.NoError(t, err)
	var claims struct {
		ID string `json:"jti"`
	}
	require.NoError(t, json.Unmarshal(payload, &claims))
	require.NotEmpty(t, claims.ID)
	return claims.ID
}

// checkRestart runs the server twice on the database of storeFlag: first
// with a clients file, where "billing" gets a token, then without it, where
// "billing" must still get one, as the database remembers it. The token of
// the first run is then looked up in the database. It returns the first
// run's output. (TestTokensSurviveARestart checks that it is still valid.)
func checkRestart(t *testing.T, storeFlag string) string {
	addr, out, stop := runServer(t, "-store", storeFlag, "-tokens", "jwt", "-clients", billingClientsFile(t))
	jti := jwtID(t, billingToken(t, addr).AccessToken)
	stop()

	addr, _, stop = runServer(t, "-store", storeFlag, "-tokens", "jwt")
	billingToken(t, addr)
	stop()

	spec, err := parseStore(storeFlag)
	require.NoError(t, err)
	st, err := openStore(context.Background(), spec)
	require.NoError(t, err)
	defer func() { assert.NoError(t, st.close()) }()
	_, err = st.deleteExpired(context.Background())
	require.NoError(t, err)
	rec, err := st.Token(context.Background(), jti)
	require.NoError(t, err, "the first run's token is recorded, and not yet expired")
	assert.Equal(t, "billing", rec.ClientID)
	assert.Equal(t, storage.AccessToken, rec.Kind)
	return out.String()
}

func TestSQLiteStoreSurvivesRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "grantor.db")
	out := checkRestart(t, "sqlite:"+path)
	assert.Contains(t, out, "store:          sqlite ("+path+")")
	_, err := os.Stat(path)
	assert.NoError(t, err)
}

// This test needs a PostgreSQL server, named by GRANTOR_TEST_POSTGRES, as
// `make test` gives it:
//
//	../scripts/with-postgres.sh go test -run Postgres ./server
//
// Without one it fails, unless the user asked to skip the PostgreSQL tests
// with GRANTOR_SKIP_POSTGRES=1.
func TestPostgresStoreSurvivesRestart(t *testing.T) {
	dsn := os.Getenv("GRANTOR_TEST_POSTGRES")
	if dsn == "" {
		if os.Getenv("GRANTOR_SKIP_POSTGRES") == "1" {
			t.Skip("GRANTOR_SKIP_POSTGRES=1: skipping the PostgreSQL test as asked")
		}
		t.Fatal("GRANTOR_TEST_POSTGRES is not set: run the tests with a throwaway server, " +
			"`../scripts/with-postgres.sh go test ./...` (it needs `apt-get install postgresql`; " +
			"`make test` does both), or skip them explicitly with GRANTOR_SKIP_POSTGRES=1")
	}
	out := checkRestart(t, "postgres:"+dsn)
	assert.Contains(t, out, "store:          postgres\n")
	assert.NotContains(t, out, dsn, "the DSN is never printed")
}

func TestStoreFlag(t *testing.T) {
	o, err := parseFlags(nil, &syncBuffer{})
	require.NoError(t, err)
	assert.Equal(t, storeSpec{kind: "memory"}, o.store)
	for arg, want := range map[string]storeSpec{
		"memory":                                 {kind: "memory"},
		"sqlite:/var/lib/grantor/grantor.db":     {kind: "sqlite", target: "/var/lib/grantor/grantor.db"},
		"sqlite:file:grantor.db?cache=private":   {kind: "sqlite", target: "file:grantor.db?cache=private"},
		"postgres:postgres://u:pw@db:5432/g":     {kind: "postgres", target: "postgres://u:pw@db:5432/g"},
		"postgres:host=/run/postgresql dbname=g": {kind: "postgres", target: "host=/run/postgresql dbname=g"},
	} {
		o, err := parseFlags([]string{"-store", arg}, &syncBuffer{})
		require.NoError(t, err, arg)
		assert.Equal(t, want, o.store, arg)
	}
	for _, arg := range []string{"", "memory:", "memory:x", "sqlite", "sqlite:", "postgres", "postgres:",
		"mysql:grantor", "postgresql://u:hunter2@db/g", "postgresql:u:hunter2@db/g"} {
		_, err := parseFlags([]string{"-store", arg}, &syncBuffer{})
		if assert.Error(t, err, arg) {
			assert.NotContains(t, err.Error(), "hunter2", "a DSN is not quoted")
		}
	}
}

// A store that cannot be opened stops the server before it serves, and the
// error tells no password.
func TestStoreOpenFailures(t *testing.T) {
	for _, arg := range []string{
		"sqlite:" + filepath.Join(t.TempDir(), "no", "such", "dir", "grantor.db"),
		"postgres:postgres://grantor:hunter2@127.0.0.1:1/grantor?connect_timeout=5", // nothing listens
		"postgres:postgres://grantor:hunter2@127.0.0.1:1/grantor?sslmode=bogus",     // malformed
	} {
		out := &syncBuffer{}
		err := run(context.Background(), []string{"-addr", "127.0.0.1:0", "-store", arg}, out, nil)
		if assert.Error(t, err, arg) {
			assert.NotContains(t, err.Error(), "hunter2", arg)
		}
		assert.NotContains(t, out.String(), "hunter2", arg)
	}
}

// The sweeper calls deleteExpired every interval, logs its failures, and
// stops with its context.
func TestSweepExpired(t *testing.T) {
	var calls atomic.Int32
	deleteExpired := func(context.Context) (int, error) {
		calls.Add(1)
		return 0, errors.New("disk on fire")
	}
	out := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		sweepExpired(ctx, deleteExpired, time.Millisecond, slog.New(slog.NewTextHandler(out, nil)))
	}()
	require.Eventually(t, func() bool { return calls.Load() >= 2 }, 10*time.Second, time.Millisecond)
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the sweeper did not stop")
	}
	assert.Contains(t, out.String(), "disk on fire")
}
