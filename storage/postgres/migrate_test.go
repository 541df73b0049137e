package postgres_test

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/storage"
	"github.com/grantor-dev/grantor/storage/postgres"
)

// appliedMigrations returns the versions that schema_migrations lists.
func appliedMigrations(t *testing.T, pool *pgxpool.Pool) []int32 {
	t.Helper()
	rows, err := pool.Query(t.Context(), "SELECT version FROM schema_migrations ORDER BY version")
	require.NoError(t, err)
	versions, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	require.NoError(t, err)
	return versions
}

// assertUsable checks that a store over pool works: the schema is there.
func assertUsable(t *testing.T, pool *pgxpool.Pool) {
	t.Helper()
	s := postgres.New(pool)
	n := time.Now().UTC()
	tok := &storage.Token{Key: "k", Kind: storage.RefreshToken, GrantID: "g", ClientID: "c",
		IssuedAt: n, ExpiresAt: n.Add(time.Hour)}
	require.NoError(t, s.CreateTokens(t.Context(), tok))
	_, err := s.ConsumeToken(t.Context(), tok.Key, n)
	assert.NoError(t, err)
}

func TestMigrate(t *testing.T) {
	ts := newTestServer(t)

	t.Run("twice is idempotent", func(t *testing.T) {
		pool := newPool(t, ts.newSchema(t))
		require.NoError(t, postgres.Migrate(t.Context(), pool), "first Migrate")
		first := appliedMigrations(t, pool)
		require.NotEmpty(t, first, "schema_migrations after the first Migrate")
		require.NoError(t, postgres.Migrate(t.Context(), pool), "second Migrate")
		assert.Equal(t, first, appliedMigrations(t, pool), "schema_migrations after the second Migrate")
		assertUsable(t, pool)
	})

	t.Run("from 8 instances at once: all succeed, each migration applied once", func(t *testing.T) {
		cfg := ts.newSchema(t)
		const instances = 8
		pools := make([]*pgxpool.Pool, instances)
		for i := range pools {
			pools[i] = newPool(t, cfg.Copy())
		}
		start := make(chan struct{})
		errs := make([]error, instances)
		var wg sync.WaitGroup
		for i, pool := range pools {
			wg.Go(func() {
				<-start
				errs[i] = postgres.Migrate(t.Context(), pool)
			})
		}
		close(start)
		wg.Wait()
		for i, err := range errs {
			assert.NoError(t, err, "Migrate of instance %d", i)
		}
		versions := appliedMigrations(t, pools[0])
		require.NotEmpty(t, versions)
		for i := 1; i < len(versions); i++ {
			assert.Less(t, versions[i-1], versions[i], "versions listed once each")
		}
		assertUsable(t, pools[instances-1])
	})

	t.Run("a version 1 schema migrates forward and its clients keep the default lifetimes", func(t *testing.T) {
		pool := schemaAtVersion(t, ts, 1)
		ctx := t.Context()
		_, err := pool.Exec(ctx, "INSERT INTO clients (id, redirect_uris, grant_types) VALUES ('old', '{https://old.example/cb}', '{authorization_code}')")
		require.NoError(t, err)

		s := migrateForward(t, pool, 1)
		old, err := s.Client(ctx, "old")
		require.NoError(t, err)
		assert.Equal(t, []string{"https://old.example/cb"}, old.RedirectURIs)
		assert.Zero(t, old.AccessTokenLifetime)
		assert.Zero(t, old.RefreshTokenLifetime)

		old.AccessTokenLifetime, old.RefreshTokenLifetime = time.Minute, time.Hour
		require.NoError(t, s.PutClient(ctx, old))
		got, err := s.Client(ctx, "old")
		require.NoError(t, err)
		assert.Equal(t, old, got)
	})

	t.Run("a version 2 schema migrates forward and its tokens keep no lifetimes", func(t *testing.T) {
		pool := schemaAtVersion(t, ts, 2)
		ctx := t.Context()
		n := time.Now().UTC().Truncate(time.Microsecond)
		_, err := pool.Exec(ctx, `INSERT INTO tokens (key, kind, grant_id, client_id, subject, issued_at, expires_at)
VALUES ('old', $1, 'old-grant', 'client-a', 'user-1', $2, $3)`, int16(storage.RefreshToken), n, n.Add(time.Hour))
		require.NoError(t, err, "a token of the version 2 schema")

		s := migrateForward(t, pool, 2)
		old, err := s.Token(ctx, "old")
		require.NoError(t, err)
		assert.Equal(t, "old-grant", old.GrantID)
		assert.Zero(t, old.AccessTokenLifetime)
		assert.Zero(t, old.RefreshTokenLifetime)
		consumed, err := s.ConsumeToken(ctx, "old", n)
		require.NoError(t, err)
		assert.Zero(t, consumed.AccessTokenLifetime)
		assert.Zero(t, consumed.RefreshTokenLifetime)

		// The refresh token that replaces it keeps the grant's lifetimes.
		next := &storage.Token{Key: "next", Kind: storage.RefreshToken, GrantID: "old-grant", ClientID: "client-a",
			Subject: "user-1", Scopes: []string{"openid", "offline_access"}, IssuedAt: n, ExpiresAt: n.Add(time.Hour),
			AccessTokenLifetime: time.Minute + time.Nanosecond, RefreshTokenLifetime: time.Hour}
		require.NoError(t, s.CreateTokens(ctx, next))
		got, err := s.Token(ctx, next.Key)
		require.NoError(t, err)
		assert.Equal(t, next, got)
	})

	t.Run("a version 3 schema migrates forward and its records keep no DPoP key bindings", func(t *testing.T) {
		pool := schemaAtVersion(t, ts, 3)
		ctx := t.Context()
		n := time.Now().UTC().Truncate(time.Microsecond)
		// The request columns of version 3, before req_dpop_jkt.
		const reqColumns = `req_client_id, req_redirect_uri, req_redirect_uri_given, req_response_mode, req_state,
	req_code_challenge, req_code_challenge_method, req_pushed_key`
		const reqValues = `'client-a', 'https://a.example/cb', false, 'query', '', '', '', ''`
		for _, q := range []struct {
			sql  string
			args []any
		}{
			{"INSERT INTO clients (id, redirect_uris, grant_types) VALUES ('old', '{https://old.example/cb}', '{authorization_code}')", nil},
			{`INSERT INTO tokens (key, kind, grant_id, client_id, subject, issued_at, expires_at)
VALUES ('old', $1, 'old-grant', 'client-a', 'user-1', $2, $3)`, []any{int16(storage.RefreshToken), n, n.Add(time.Hour)}},
			{`INSERT INTO interactions (key, ` + reqColumns + `, browser_binding, created_at, expires_at)
VALUES ('old', ` + reqValues + `, 'b', $1, $2)`, []any{n, n.Add(time.Hour)}},
			{`INSERT INTO authorization_codes (key, grant_id, ` + reqColumns + `, subject, issued_at, expires_at)
VALUES ('old', 'old-grant', ` + reqValues + `, 'user-1', $1, $2)`, []any{n, n.Add(time.Hour)}},
			{`INSERT INTO pushed_requests (key, ` + reqColumns + `, created_at, expires_at)
VALUES ('old', ` + reqValues + `, $1, $2)`, []any{n, n.Add(time.Hour)}},
		} {
			_, err := pool.Exec(ctx, q.sql, q.args...)
			require.NoError(t, err, q.sql)
		}

		s := migrateForward(t, pool, 3)

		client, err := s.Client(ctx, "old")
		require.NoError(t, err)
		assert.Equal(t, []string{"https://old.example/cb"}, client.RedirectURIs)
		assert.False(t, client.DPoPBoundAccessTokens)
		tok, err := s.Token(ctx, "old")
		require.NoError(t, err)
		assert.Equal(t, "old-grant", tok.GrantID)
		assert.Empty(t, tok.KeyThumbprint, "a token of version 3 is a bearer token")
		consumed, err := s.ConsumeToken(ctx, "old", n)
		require.NoError(t, err)
		assert.Empty(t, consumed.KeyThumbprint)
		inter, err := s.CompleteInteraction(ctx, "old", n)
		require.NoError(t, err)
		assert.Equal(t, "client-a", inter.Request.ClientID)
		assert.Empty(t, inter.Request.DPoPKeyThumbprint)
		code, err := s.ConsumeAuthorizationCode(ctx, "old", n)
		require.NoError(t, err)
		assert.Equal(t, "user-1", code.Subject)
		assert.Empty(t, code.Request.DPoPKeyThumbprint)
		par, err := s.ConsumePushedRequest(ctx, "old", n)
		require.NoError(t, err)
		assert.Equal(t, "https://a.example/cb", par.Request.RedirectURI)
		assert.Empty(t, par.Request.DPoPKeyThumbprint)

		// Records written now keep their bindings.
		const jkt = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
		client.DPoPBoundAccessTokens = true
		require.NoError(t, s.PutClient(ctx, client))
		gotClient, err := s.Client(ctx, "old")
		require.NoError(t, err)
		assert.Equal(t, client, gotClient)
		next := &storage.Token{Key: "next", Kind: storage.RefreshToken, GrantID: "old-grant", ClientID: "client-a",
			Subject: "user-1", Scopes: []string{"openid", "offline_access"}, IssuedAt: n, ExpiresAt: n.Add(time.Hour),
			KeyThumbprint: jkt}
		require.NoError(t, s.CreateTokens(ctx, next))
		gotTok, err := s.Token(ctx, next.Key)
		require.NoError(t, err)
		assert.Equal(t, next, gotTok)
		bound := &storage.PushedRequest{Key: "new", Request: par.Request, CreatedAt: n, ExpiresAt: n.Add(time.Hour)}
		bound.Request.DPoPKeyThumbprint = jkt
		require.NoError(t, s.CreatePushedRequest(ctx, bound))
		gotPAR, err := s.PushedRequest(ctx, "new")
		require.NoError(t, err)
		assert.Equal(t, bound, gotPAR)
	})

	t.Run("a version 4 schema migrates forward and its interactions verify no device authorization", func(t *testing.T) {
		pool := schemaAtVersion(t, ts, 4)
		ctx := t.Context()
		n := time.Now().UTC().Truncate(time.Microsecond)
		_, err := pool.Exec(ctx, `INSERT INTO interactions (key, req_client_id, req_redirect_uri, req_redirect_uri_given,
	req_response_mode, req_state, req_scopes, req_code_challenge, req_code_challenge_method, req_pushed_key,
	req_dpop_jkt, browser_binding, created_at, expires_at)
VALUES ('old', 'client-a', 'https://a.example/cb', false, 'query', 'xyz', '{openid}', '', '', '', '', 'b', $1, $2)`,
			n, n.Add(time.Hour))
		require.NoError(t, err, "an interaction of the version 4 schema")

		s := migrateForward(t, pool, 4)

		old, err := s.Interaction(ctx, "old")
		require.NoError(t, err)
		assert.Equal(t, "client-a", old.Request.ClientID)
		assert.Equal(t, "b", old.BrowserBinding)
		assert.Empty(t, old.DeviceAuthorizationKey, "an interaction of version 4 verifies no device authorization")
		completed, err := s.CompleteInteraction(ctx, "old", n)
		require.NoError(t, err)
		assert.Empty(t, completed.DeviceAuthorizationKey)

		// Interactions written now keep the device authorization they verify
		// (RFC 8628 §3.3), and device authorizations are stored.
		d := &storage.DeviceAuthorization{Key: "device", UserCodeKey: "user-code", ClientID: "client-a",
			Scopes: []string{"openid"}, IssuedAt: n, ExpiresAt: n.Add(10 * time.Minute), Interval: 5 * time.Second}
		require.NoError(t, s.CreateDeviceAuthorization(ctx, d))
		verify := &storage.Interaction{Key: "new", Request: storage.AuthorizationRequest{ClientID: "client-a",
			Scopes: []string{"openid"}}, CreatedAt: n, ExpiresAt: n.Add(10 * time.Minute), DeviceAuthorizationKey: d.Key}
		require.NoError(t, s.CreateInteraction(ctx, verify))
		got, err := s.Interaction(ctx, "new")
		require.NoError(t, err)
		assert.Equal(t, verify, got)
		gotDevice, err := s.DeviceAuthorizationByUserCode(ctx, d.UserCodeKey)
		require.NoError(t, err)
		assert.Equal(t, d, gotDevice)
	})

	t.Run("a version 5 schema migrates forward and its stores count in one limiter", func(t *testing.T) {
		pool := schemaAtVersion(t, ts, 5)
		ctx := t.Context()
		n := time.Now().UTC().Truncate(time.Microsecond)
		_, err := pool.Exec(ctx, "INSERT INTO replay (key, expires_at) VALUES ('old-jti', $1)", n.Add(time.Hour))
		require.NoError(t, err, "a replay entry of the version 5 schema")

		s := migrateForward(t, pool, 5)
		assert.ErrorIs(t, s.Remember(ctx, "old-jti", n.Add(time.Hour)), storage.ErrConsumed, "the entry is kept")

		// Two stores over the migrated schema count in one budget.
		other := postgres.New(pool)
		start := storage.WindowStart(n, time.Minute)
		for i, l := range []storage.Limiter{s, other, s} {
			count, resetAt, err := l.Take(ctx, "client-secret:k\x00", time.Minute, start)
			require.NoError(t, err)
			assert.Equal(t, int64(i+1), count)
			assert.True(t, start.Add(time.Minute).Equal(resetAt), "resetAt %v", resetAt)
		}
		deleted, err := s.DeleteExpired(ctx, start.Add(time.Minute), 0)
		require.NoError(t, err)
		assert.Equal(t, 1, deleted, "the window is deleted once it has ended")
	})

	t.Run("a version 6 schema migrates forward and keeps key sets", func(t *testing.T) {
		pool := schemaAtVersion(t, ts, 6)
		ctx := t.Context()
		n := time.Now().UTC().Truncate(time.Microsecond)
		start := storage.WindowStart(n, time.Hour)
		end := start.Add(time.Hour)
		_, err := pool.Exec(ctx, `INSERT INTO limiter (key, window_start_ns, window_end_ns, expires_at, count)
VALUES ('\x6b', $1, $2, $3, 2)`, start.UnixNano(), end.UnixNano(), end)
		require.NoError(t, err, "a limiter window of the version 6 schema")

		s := migrateForward(t, pool, 6)
		count, _, err := s.Take(ctx, "k", time.Hour, n)
		require.NoError(t, err)
		assert.Equal(t, int64(3), count, "the limiter's windows of version 6 are kept")

		set, err := s.LoadKeySet(ctx, "jwt-signing")
		require.NoError(t, err)
		assert.Zero(t, set.Version, "no key set before version 7")
		keys := []storage.StoredKey{{ID: "k1", Algorithm: "ES256", State: storage.KeySigning, Sealed: []byte{1, 2, 3},
			Added: n, Promoted: n}}
		v, err := s.SaveKeySet(ctx, "jwt-signing", 0, keys)
		require.NoError(t, err)
		assert.Equal(t, int64(1), v)
		set, err = postgres.New(pool).LoadKeySet(ctx, "jwt-signing")
		require.NoError(t, err)
		assert.Equal(t, storage.StoredKeySet{Version: 1, Keys: keys}, set)
	})

	t.Run("a version 7 schema migrates forward and its records keep no OpenID Connect values", func(t *testing.T) {
		pool := schemaAtVersion(t, ts, 7)
		ctx := t.Context()
		n := time.Now().UTC().Truncate(time.Microsecond)
		// The request columns of version 7, before req_response_type and
		// req_parameters.
		const reqColumns = `req_client_id, req_redirect_uri, req_redirect_uri_given, req_response_mode, req_state,
	req_scopes, req_code_challenge, req_code_challenge_method, req_pushed_key, req_dpop_jkt`
		const reqValues = `'client-a', 'https://a.example/cb', false, 'query', 'xyz', '{openid}', '', '', '', ''`
		for _, q := range []struct {
			sql  string
			args []any
		}{
			{"INSERT INTO clients (id, redirect_uris, grant_types) VALUES ('old', '{https://old.example/cb}', '{authorization_code}')", nil},
			{`INSERT INTO tokens (key, kind, grant_id, client_id, subject, claims, issued_at, expires_at)
VALUES ('old', $1, 'old-grant', 'client-a', 'user-1', '{"tenant":"acme"}', $2, $3)`,
				[]any{int16(storage.RefreshToken), n, n.Add(time.Hour)}},
			{`INSERT INTO interactions (key, ` + reqColumns + `, browser_binding, created_at, expires_at)
VALUES ('old', ` + reqValues + `, 'b', $1, $2)`, []any{n, n.Add(time.Hour)}},
			{`INSERT INTO authorization_codes (key, grant_id, ` + reqColumns + `, subject, claims, issued_at, expires_at)
VALUES ('old', 'old-grant', ` + reqValues + `, 'user-1', '{"tenant":"acme"}', $1, $2)`, []any{n, n.Add(time.Hour)}},
			{`INSERT INTO pushed_requests (key, ` + reqColumns + `, created_at, expires_at)
VALUES ('old', ` + reqValues + `, $1, $2)`, []any{n, n.Add(time.Hour)}},
		} {
			_, err := pool.Exec(ctx, q.sql, q.args...)
			require.NoError(t, err, q.sql)
		}

		s := migrateForward(t, pool, 7)

		client, err := s.Client(ctx, "old")
		require.NoError(t, err)
		assert.Equal(t, &storage.Client{ID: "old", RedirectURIs: []string{"https://old.example/cb"},
			GrantTypes: []string{"authorization_code"}}, client, "a client of version 7 has no OpenID Connect registration")
		tok, err := s.ConsumeToken(ctx, "old", n)
		require.NoError(t, err)
		assert.Equal(t, map[string]any{"tenant": "acme"}, tok.Claims)
		assert.Nil(t, tok.Extensions, "a token of version 7 keeps no extensions")
		code, err := s.ConsumeAuthorizationCode(ctx, "old", n)
		require.NoError(t, err)
		assert.Equal(t, "user-1", code.Subject)
		assert.Nil(t, code.Extensions, "a code of version 7 keeps no extensions")
		assert.Empty(t, code.Request.ResponseType, `a request of version 7 is "code"`)
		assert.Nil(t, code.Request.Parameters)
		inter, err := s.CompleteInteraction(ctx, "old", n)
		require.NoError(t, err)
		assert.Equal(t, "xyz", inter.Request.State)
		assert.Nil(t, inter.Request.Parameters)
		par, err := s.ConsumePushedRequest(ctx, "old", n)
		require.NoError(t, err)
		assert.Empty(t, par.Request.ResponseType)
		assert.Nil(t, par.Request.Parameters)

		// Records written now keep them.
		client.SubjectType, client.SectorIdentifierURI = "pairwise", "https://old.example/sector.json"
		client.IDTokenSignedResponseAlg, client.UserinfoSignedResponseAlg = "RS256", "ES256"
		client.RequireAuthTime, client.DefaultMaxAge = true, 10*time.Minute+time.Nanosecond
		client.PostLogoutRedirectURIs = []string{"https://old.example/bye"}
		client.BackchannelLogoutURI, client.BackchannelLogoutSessionRequired = "https://old.example/logout", true
		require.NoError(t, s.PutClient(ctx, client))
		gotClient, err := s.Client(ctx, "old")
		require.NoError(t, err)
		assert.Equal(t, client, gotClient)
		next := &storage.Token{Key: "next", Kind: storage.RefreshToken, GrantID: "old-grant", ClientID: "client-a",
			Subject: "user-1", Scopes: []string{"openid", "offline_access"}, IssuedAt: n, ExpiresAt: n.Add(time.Hour),
			Extensions: map[string]string{"sid": "s-1", "auth_time": "1700000000", "acr": ""}}
		require.NoError(t, s.CreateTokens(ctx, next))
		gotTok, err := s.Token(ctx, next.Key)
		require.NoError(t, err)
		assert.Equal(t, next, gotTok)
		newPAR := &storage.PushedRequest{Key: "new", Request: par.Request, CreatedAt: n, ExpiresAt: n.Add(time.Hour)}
		newPAR.Request.ResponseType = "code"
		newPAR.Request.Parameters = map[string]string{"nonce": "n-0S6_WzA2Mj", "max_age": "0"}
		require.NoError(t, s.CreatePushedRequest(ctx, newPAR))
		gotPAR, err := s.PushedRequest(ctx, "new")
		require.NoError(t, err)
		assert.Equal(t, newPAR, gotPAR)
	})

	t.Run("a version 9 schema migrates forward and its login sessions are found by their ID", func(t *testing.T) {
		pool := schemaAtVersion(t, ts, 9)
		ctx := t.Context()
		n := time.Now().UTC().Truncate(time.Microsecond)
		_, err := pool.Exec(ctx, `INSERT INTO login_sessions
(key, id, subject, auth_time, acr, amr, clients, created_at, expires_at, record_bytes)
VALUES ('old', 'sid-old', 'user-1', $1, '', '{pwd}', '{app}', $1, $2, 0)`, n, n.Add(time.Hour))
		require.NoError(t, err, "a session of the version 9 schema")

		s := migrateForward(t, pool, 9)
		got, err := s.LoginSessionByID(ctx, "sid-old")
		require.NoError(t, err)
		assert.Equal(t, "old", got.Key)
		assert.Equal(t, []string{"pwd"}, got.AMR)
		assert.Equal(t, []string{"app"}, got.Clients)
		_, err = s.LoginSessionByID(ctx, "old")
		assert.ErrorIs(t, err, storage.ErrNotFound, "a key is not an ID")
	})

	t.Run("cancelled context is an error", func(t *testing.T) {
		pool := newPool(t, ts.newSchema(t))
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		assert.ErrorIs(t, postgres.Migrate(ctx, pool), context.Canceled)
	})
}

// schemaAtVersion returns a pool over a new schema of version n: its first n
// migrations applied and recorded, as Migrate of that version left them.
func schemaAtVersion(t *testing.T, ts *testServer, n int) *pgxpool.Pool {
	t.Helper()
	pool := newPool(t, ts.newSchema(t))
	ctx := t.Context()
	_, err := pool.Exec(ctx, "CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())")
	require.NoError(t, err)
	names, err := filepath.Glob("migrations/*.sql")
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(names), n)
	for i, name := range names[:n] {
		b, err := os.ReadFile(name)
		require.NoError(t, err)
		_, err = pool.Exec(ctx, string(b), pgx.QueryExecModeSimpleProtocol)
		require.NoError(t, err, name)
		_, err = pool.Exec(ctx, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", i+1, filepath.Base(name))
		require.NoError(t, err)
	}
	return pool
}

// migrateForward migrates a schema of version from to the newest, checks
// that every later version was applied once, and returns a store over it.
func migrateForward(t *testing.T, pool *pgxpool.Pool, from int) *postgres.Store {
	t.Helper()
	require.NoError(t, postgres.Migrate(t.Context(), pool))
	versions := appliedMigrations(t, pool)
	require.Greater(t, len(versions), from, "schema_migrations after Migrate")
	assert.Equal(t, int32(len(versions)), versions[len(versions)-1], "versions 1 to the newest, once each")
	return postgres.New(pool)
}
