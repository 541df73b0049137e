package sqlite_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/storage"
	"github.com/grantor-dev/grantor/storage/sqlite"
)

func newKey(t testing.TB) string {
	t.Helper()
	b := make([]byte, 32)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return base64.RawURLEncoding.EncodeToString(b)
}

func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

func refreshToken(t testing.TB, grantID string) *storage.Token {
	n := now()
	return &storage.Token{
		Key: newKey(t), Kind: storage.RefreshToken, GrantID: grantID, ClientID: "app", Subject: "user-1",
		Scopes: []string{"openid", "offline_access"}, Audience: []string{"https://api.example"},
		Claims:   map[string]any{"tenant": "acme", "level": float64(3)},
		IssuedAt: n, ExpiresAt: n.Add(time.Hour), GrantExpiresAt: n.Add(24 * time.Hour),
	}
}

func TestReopenKeepsEverything(t *testing.T) {
	ctx := t.Context()
	s, path := open(t)
	client := &storage.Client{ID: "app", SecretHash: "$sha256$v=1$c2FsdA$aGFzaA",
		RedirectURIs: []string{"https://app.example/cb"}, GrantTypes: []string{"authorization_code"}}
	require.NoError(t, s.PutClient(ctx, client))

	consumed, live := refreshToken(t, "grant-1"), refreshToken(t, "grant-2")
	require.NoError(t, s.CreateTokens(ctx, consumed, live))
	consumedAt := now()
	_, err := s.ConsumeToken(ctx, consumed.Key, consumedAt)
	require.NoError(t, err)
	revokedAt := now()
	require.NoError(t, s.RevokeGrant(ctx, "grant-revoked", revokedAt))
	jti := newKey(t)
	require.NoError(t, s.Remember(ctx, jti, now().Add(time.Hour)))
	code := &storage.AuthorizationCode{Key: newKey(t), GrantID: "grant-3", Subject: "user-1",
		Request:  storage.AuthorizationRequest{ClientID: "app", RedirectURI: "https://app.example/cb", Scopes: []string{"openid"}},
		IssuedAt: now(), ExpiresAt: now().Add(time.Minute)}
	require.NoError(t, s.CreateAuthorizationCode(ctx, code))
	codeAt := now()
	_, err = s.ConsumeAuthorizationCode(ctx, code.Key, codeAt)
	require.NoError(t, err)
	par := &storage.PushedRequest{Key: newKey(t), Request: code.Request, CreatedAt: now(), ExpiresAt: now().Add(time.Minute)}
	require.NoError(t, s.CreatePushedRequest(ctx, par))
	inter := &storage.Interaction{Key: newKey(t), Request: code.Request, BrowserBinding: "b", CreatedAt: now(), ExpiresAt: now().Add(time.Minute)}
	require.NoError(t, s.CreateInteraction(ctx, inter))
	require.NoError(t, s.Close())

	// A new process opens the file.
	r := openPath(t, path)
	got, err := r.Client(ctx, "app")
	require.NoError(t, err)
	assert.Equal(t, client, got)

	tok, err := r.Token(ctx, consumed.Key)
	require.NoError(t, err)
	assert.True(t, consumedAt.Equal(tok.ConsumedAt), "ConsumedAt")
	_, err = r.ConsumeToken(ctx, consumed.Key, now())
	assert.ErrorIs(t, err, storage.ErrConsumed, "a rotated refresh token stays rotated")
	tok, err = r.ConsumeToken(ctx, live.Key, now())
	require.NoError(t, err, "an unused refresh token stays usable")
	assert.Equal(t, live.Claims, tok.Claims)

	later := refreshToken(t, "grant-revoked")
	require.NoError(t, r.CreateTokens(ctx, later))
	tok, err = r.Token(ctx, later.Key)
	require.NoError(t, err)
	assert.True(t, revokedAt.Equal(tok.RevokedAt), "the revoked-grant marker survives")

	assert.ErrorIs(t, r.Remember(ctx, jti, now().Add(time.Hour)), storage.ErrConsumed, "a remembered jti stays remembered")
	c, err := r.ConsumeAuthorizationCode(ctx, code.Key, now())
	assert.ErrorIs(t, err, storage.ErrConsumed, "a redeemed code stays redeemed")
	if assert.NotNil(t, c) {
		assert.True(t, codeAt.Equal(c.ConsumedAt))
	}
	_, err = r.ConsumePushedRequest(ctx, par.Key, now())
	assert.NoError(t, err)
	_, err = r.CompleteInteraction(ctx, inter.Key, now())
	assert.NoError(t, err)
}

func TestMigrate(t *testing.T) {
	ctx := t.Context()
	s, path := open(t)

	t.Run("twice is idempotent", func(t *testing.T) {
		tok := refreshToken(t, "g")
		require.NoError(t, s.CreateTokens(ctx, tok))
		require.NoError(t, s.Migrate(ctx))
		require.NoError(t, s.Migrate(ctx))
		var n, version int
		require.NoError(t, s.DB().QueryRowContext(ctx, "SELECT COUNT(*), MAX(version) FROM schema_migrations").Scan(&n, &version))
		assert.Equal(t, sqlite.SchemaVersion(), n, "one row per version")
		assert.Equal(t, sqlite.SchemaVersion(), version)
		_, err := s.Token(ctx, tok.Key)
		assert.NoError(t, err, "migrating again keeps the data")
	})

	t.Run("concurrent Opens of a new file", func(t *testing.T) {
		path := t.TempDir() + "/new.db"
		errs := make([]error, 4)
		var wg sync.WaitGroup
		for i := range errs {
			wg.Go(func() {
				st, err := sqlite.Open(ctx, path)
				if err == nil {
					err = st.Close()
				}
				errs[i] = err
			})
		}
		wg.Wait()
		for _, err := range errs {
			assert.NoError(t, err)
		}
	})

	t.Run("a version 1 database migrates forward and its clients keep the default lifetimes", func(t *testing.T) {
		st := openAtVersion(t, 1,
			`INSERT INTO clients (id, redirect_uris, grant_types) VALUES ('old', '["https://old.example/cb"]', '["authorization_code"]')`)
		old, err := st.Client(ctx, "old")
		require.NoError(t, err)
		assert.Equal(t, []string{"https://old.example/cb"}, old.RedirectURIs)
		assert.Zero(t, old.AccessTokenLifetime)
		assert.Zero(t, old.RefreshTokenLifetime)

		old.AccessTokenLifetime, old.RefreshTokenLifetime = time.Minute, time.Hour
		require.NoError(t, st.PutClient(ctx, old))
		got, err := st.Client(ctx, "old")
		require.NoError(t, err)
		assert.Equal(t, old, got)
	})

	t.Run("a version 2 database migrates forward and its tokens keep no lifetimes", func(t *testing.T) {
		n := now()
		st := openAtVersion(t, 2, fmt.Sprintf(`INSERT INTO tokens (key, kind, grant_id, client_id, subject, issued_at, expires_at)
VALUES ('old', %d, 'old-grant', 'app', 'user-1', %d, %d)`, storage.RefreshToken, n.UnixMicro(), n.Add(time.Hour).UnixMicro()))
		old, err := st.Token(ctx, "old")
		require.NoError(t, err)
		assert.Equal(t, "old-grant", old.GrantID)
		assert.Zero(t, old.AccessTokenLifetime)
		assert.Zero(t, old.RefreshTokenLifetime)
		consumed, err := st.ConsumeToken(ctx, "old", n)
		require.NoError(t, err)
		assert.Zero(t, consumed.AccessTokenLifetime)
		assert.Zero(t, consumed.RefreshTokenLifetime)

		// The refresh token that replaces it keeps the grant's lifetimes.
		next := refreshToken(t, "old-grant")
		next.AccessTokenLifetime, next.RefreshTokenLifetime = time.Minute+time.Nanosecond, time.Hour
		require.NoError(t, st.CreateTokens(ctx, next))
		got, err := st.Token(ctx, next.Key)
		require.NoError(t, err)
		assert.Equal(t, next, got)
	})

	t.Run("a version 3 database migrates forward and its records keep no DPoP key bindings", func(t *testing.T) {
		n := now()
		// A request of version 3, stored before dpop_jkt.
		const req = `'{"client_id":"app","redirect_uri":"https://a.example/cb","scopes":["openid"]}'`
		iat, exp := n.UnixMicro(), n.Add(time.Hour).UnixMicro()
		st := openAtVersion(t, 3,
			`INSERT INTO clients (id, redirect_uris, grant_types) VALUES ('old', '["https://old.example/cb"]', '["authorization_code"]')`,
			fmt.Sprintf(`INSERT INTO tokens (key, kind, grant_id, client_id, subject, issued_at, expires_at)
VALUES ('old', %d, 'old-grant', 'app', 'user-1', %d, %d)`, storage.RefreshToken, iat, exp),
			fmt.Sprintf(`INSERT INTO interactions (key, request, browser_binding, created_at, expires_at)
VALUES ('old', %s, 'b', %d, %d)`, req, iat, exp),
			fmt.Sprintf(`INSERT INTO authorization_codes (key, grant_id, request, subject, issued_at, expires_at)
VALUES ('old', 'old-grant', %s, 'user-1', %d, %d)`, req, iat, exp),
			fmt.Sprintf(`INSERT INTO pushed_requests (key, request, created_at, expires_at) VALUES ('old', %s, %d, %d)`, req, iat, exp))

		client, err := st.Client(ctx, "old")
		require.NoError(t, err)
		assert.Equal(t, []string{"https://old.example/cb"}, client.RedirectURIs)
		assert.False(t, client.DPoPBoundAccessTokens)
		tok, err := st.Token(ctx, "old")
		require.NoError(t, err)
		assert.Equal(t, "old-grant", tok.GrantID)
		assert.Empty(t, tok.KeyThumbprint, "a token of version 3 is a bearer token")
		consumed, err := st.ConsumeToken(ctx, "old", n)
		require.NoError(t, err)
		assert.Empty(t, consumed.KeyThumbprint)
		inter, err := st.CompleteInteraction(ctx, "old", n)
		require.NoError(t, err)
		assert.Equal(t, "app", inter.Request.ClientID)
		assert.Empty(t, inter.Request.DPoPKeyThumbprint)
		code, err := st.ConsumeAuthorizationCode(ctx, "old", n)
		require.NoError(t, err)
		assert.Equal(t, "user-1", code.Subject)
		assert.Empty(t, code.Request.DPoPKeyThumbprint)
		par, err := st.ConsumePushedRequest(ctx, "old", n)
		require.NoError(t, err)
		assert.Equal(t, "https://a.example/cb", par.Request.RedirectURI)
		assert.Empty(t, par.Request.DPoPKeyThumbprint)

		// Records written now keep their bindings.
		const jkt = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
		client.DPoPBoundAccessTokens = true
		require.NoError(t, st.PutClient(ctx, client))
		gotClient, err := st.Client(ctx, "old")
		require.NoError(t, err)
		assert.Equal(t, client, gotClient)
		next := refreshToken(t, "old-grant")
		next.KeyThumbprint = jkt
		require.NoError(t, st.CreateTokens(ctx, next))
		gotTok, err := st.Token(ctx, next.Key)
		require.NoError(t, err)
		assert.Equal(t, next, gotTok)
		bound := &storage.PushedRequest{Key: "new", Request: par.Request, CreatedAt: n, ExpiresAt: n.Add(time.Hour)}
		bound.Request.DPoPKeyThumbprint = jkt
		require.NoError(t, st.CreatePushedRequest(ctx, bound))
		gotPAR, err := st.PushedRequest(ctx, "new")
		require.NoError(t, err)
		assert.Equal(t, bound, gotPAR)
	})

	t.Run("a version 4 database migrates forward and its interactions verify no device authorization", func(t *testing.T) {
		n := now()
		st := openAtVersion(t, 4, fmt.Sprintf(`INSERT INTO interactions (key, request, browser_binding, created_at, expires_at)
VALUES ('old', '{"client_id":"app","redirect_uri":"https://a.example/cb","scopes":["openid"]}', 'b', %d, %d)`,
			n.UnixMicro(), n.Add(time.Hour).UnixMicro()))
		old, err := st.Interaction(ctx, "old")
		require.NoError(t, err)
		assert.Equal(t, "app", old.Request.ClientID)
		assert.Empty(t, old.DeviceAuthorizationKey, "an interaction of version 4 is the authorization endpoint's")
		done, err := st.CompleteInteraction(ctx, "old", n)
		require.NoError(t, err)
		assert.Empty(t, done.DeviceAuthorizationKey)

		// The device authorization grant works on the migrated file, and an
		// interaction written now keeps the device authorization it verifies.
		d := deviceAuthorization(t, n)
		require.NoError(t, st.CreateDeviceAuthorization(ctx, d))
		got, err := st.DeviceAuthorizationByUserCode(ctx, d.UserCodeKey)
		require.NoError(t, err)
		assert.Equal(t, d, got)
		verify := &storage.Interaction{Key: "new", Request: storage.AuthorizationRequest{ClientID: "tv", Scopes: d.Scopes},
			BrowserBinding: "b", CreatedAt: n, ExpiresAt: n.Add(time.Minute), DeviceAuthorizationKey: d.Key}
		require.NoError(t, st.CreateInteraction(ctx, verify))
		gotVerify, err := st.Interaction(ctx, "new")
		require.NoError(t, err)
		assert.Equal(t, verify, gotVerify)
		completed, err := st.CompleteInteraction(ctx, "new", n)
		require.NoError(t, err)
		assert.Equal(t, d.Key, completed.DeviceAuthorizationKey)
	})

	t.Run("a version 5 database migrates forward and counts limiter windows", func(t *testing.T) {
		n := now()
		d := deviceAuthorization(t, n)
		st := openAtVersion(t, 5, fmt.Sprintf(`INSERT INTO device_authorizations
(key, user_code_key, client_id, issued_at, expires_at, poll_interval_ns, status, subject)
VALUES ('%s', '%s', 'tv', %d, %d, %d, 0, '')`, d.Key, d.UserCodeKey, n.UnixMicro(), n.Add(10*time.Minute).UnixMicro(), d.Interval))
		old, err := st.DeviceAuthorizationByUserCode(ctx, d.UserCodeKey)
		require.NoError(t, err)
		assert.Equal(t, d.Key, old.Key, "the records of version 5 are kept")

		for want := range int64(3) {
			got, resetAt, err := st.Take(ctx, "client-secret:app\x00", time.Minute, n)
			require.NoError(t, err)
			assert.Equal(t, want+1, got)
			assert.True(t, storage.WindowStart(n, time.Minute).Add(time.Minute).Equal(resetAt), "resetAt %v", resetAt)
		}
		deleted, err := st.DeleteExpired(ctx, n.Add(time.Minute))
		require.NoError(t, err)
		assert.Equal(t, 1, deleted, "the limiter's window, ended")
	})

	t.Run("a version 6 database migrates forward and keeps key sets", func(t *testing.T) {
		n := now()
		start := storage.WindowStart(n, time.Hour)
		st := openAtVersion(t, 6, fmt.Sprintf(`INSERT INTO limiter_windows (key, window_start_ns, window_end_ns, count)
VALUES (X'6b', %d, %d, 2)`, start.UnixNano(), start.Add(time.Hour).UnixNano()))
		got, _, err := st.Take(ctx, "k", time.Hour, n)
		require.NoError(t, err)
		assert.Equal(t, int64(3), got, "the limiter's windows of version 6 are kept")

		set, err := st.LoadKeySet(ctx, "jwt-signing")
		require.NoError(t, err)
		assert.Zero(t, set.Version, "no key set before version 7")
		keys := []storage.StoredKey{{ID: "k1", Algorithm: "ES256", State: storage.KeySigning, Sealed: []byte{1, 2, 3},
			Added: n, Promoted: n}}
		v, err := st.SaveKeySet(ctx, "jwt-signing", 0, keys)
		require.NoError(t, err)
		assert.Equal(t, int64(1), v)
		set, err = st.LoadKeySet(ctx, "jwt-signing")
		require.NoError(t, err)
		assert.Equal(t, storage.StoredKeySet{Version: 1, Keys: keys}, set)
	})

	t.Run("a version 7 database migrates forward and its records keep no OpenID Connect values", func(t *testing.T) {
		n := now()
		// A request of version 7, stored before response_type and parameters.
		const req = `'{"client_id":"app","redirect_uri":"https://a.example/cb","response_mode":"query","scopes":["openid"]}'`
		iat, exp := n.UnixMicro(), n.Add(time.Hour).UnixMicro()
		st := openAtVersion(t, 7,
			`INSERT INTO clients (id, redirect_uris, grant_types) VALUES ('old', '["https://old.example/cb"]', '["authorization_code"]')`,
			fmt.Sprintf(`INSERT INTO tokens (key, kind, grant_id, client_id, subject, claims, issued_at, expires_at)
VALUES ('old', %d, 'old-grant', 'app', 'user-1', '{"tenant":"acme"}', %d, %d)`, storage.RefreshToken, iat, exp),
			fmt.Sprintf(`INSERT INTO authorization_codes (key, grant_id, request, subject, claims, issued_at, expires_at)
VALUES ('old', 'old-grant', %s, 'user-1', '{"tenant":"acme"}', %d, %d)`, req, iat, exp),
			fmt.Sprintf(`INSERT INTO interactions (key, request, browser_binding, created_at, expires_at)
VALUES ('old', %s, 'b', %d, %d)`, req, iat, exp))

		client, err := st.Client(ctx, "old")
		require.NoError(t, err)
		assert.Equal(t, &storage.Client{ID: "old", RedirectURIs: []string{"https://old.example/cb"},
			GrantTypes: []string{"authorization_code"}}, client, "a client of version 7 has no OpenID Connect registration")
		tok, err := st.ConsumeToken(ctx, "old", n)
		require.NoError(t, err)
		assert.Equal(t, map[string]any{"tenant": "acme"}, tok.Claims)
		assert.Nil(t, tok.Extensions, "a token of version 7 keeps no extensions")
		code, err := st.ConsumeAuthorizationCode(ctx, "old", n)
		require.NoError(t, err)
		assert.Equal(t, "user-1", code.Subject)
		assert.Nil(t, code.Extensions, "a code of version 7 keeps no extensions")
		assert.Empty(t, code.Request.ResponseType, `a request of version 7 is "code"`)
		assert.Nil(t, code.Request.Parameters)
		inter, err := st.CompleteInteraction(ctx, "old", n)
		require.NoError(t, err)
		assert.Equal(t, "query", inter.Request.ResponseMode)
		assert.Nil(t, inter.Request.Parameters)

		// Records written now keep them.
		client.SubjectType, client.SectorIdentifierURI = "pairwise", "https://old.example/sector.json"
		client.IDTokenSignedResponseAlg, client.UserinfoSignedResponseAlg = "RS256", "ES256"
		client.RequireAuthTime, client.DefaultMaxAge = true, 10*time.Minute
		client.PostLogoutRedirectURIs = []string{"https://old.example/bye"}
		client.BackchannelLogoutURI, client.BackchannelLogoutSessionRequired = "https://old.example/logout", true
		require.NoError(t, st.PutClient(ctx, client))
		gotClient, err := st.Client(ctx, "old")
		require.NoError(t, err)
		assert.Equal(t, client, gotClient)
		next := refreshToken(t, "old-grant")
		next.Extensions = map[string]string{"sid": "s-1", "auth_time": "1700000000", "acr": ""}
		require.NoError(t, st.CreateTokens(ctx, next))
		gotTok, err := st.Token(ctx, next.Key)
		require.NoError(t, err)
		assert.Equal(t, next, gotTok)
		newCode := &storage.AuthorizationCode{Key: "new", GrantID: "new-grant", Request: code.Request, Subject: "user-1",
			Extensions: map[string]string{"sid": "s-1"}, IssuedAt: n, ExpiresAt: n.Add(time.Minute)}
		newCode.Request.ResponseType = "code"
		newCode.Request.Parameters = map[string]string{"nonce": "n-0S6_WzA2Mj", "max_age": "0"}
		require.NoError(t, st.CreateAuthorizationCode(ctx, newCode))
		gotCode, err := st.AuthorizationCode(ctx, "new")
		require.NoError(t, err)
		assert.Equal(t, newCode, gotCode)
	})

	t.Run("a version 9 database migrates forward and its login sessions are found by their ID", func(t *testing.T) {
		n := now()
		created, expires := n.UnixMicro(), n.Add(time.Hour).UnixMicro()
		st := openAtVersion(t, 9, fmt.Sprintf(`INSERT INTO login_sessions
(key, id, subject, auth_time, acr, amr, clients, created_at, expires_at)
VALUES ('old', 'sid-old', 'user-1', %d, '', '["pwd"]', '["app"]', %d, %d)`, created, created, expires))

		got, err := st.LoginSessionByID(ctx, "sid-old")
		require.NoError(t, err, "a session of version 9")
		assert.Equal(t, "old", got.Key)
		assert.Equal(t, []string{"pwd"}, got.AMR)
		assert.Equal(t, []string{"app"}, got.Clients)
		_, err = st.LoginSessionByID(ctx, "old")
		assert.ErrorIs(t, err, storage.ErrNotFound, "a key is not an ID")
	})

	t.Run("a newer schema is refused", func(t *testing.T) {
		_, err := s.DB().ExecContext(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, 'future.sql', 0)",
			sqlite.SchemaVersion()+1)
		require.NoError(t, err)
		_, err = sqlite.Open(ctx, path)
		assert.ErrorContains(t, err, "newer")
	})
}

func TestOpenChecks(t *testing.T) {
	for _, path := range []string{"", ":memory:"} {
		_, err := sqlite.Open(t.Context(), path)
		assert.Error(t, err, "path %q", path)
	}
	s, _ := open(t)
	var mode string
	require.NoError(t, s.DB().QueryRowContext(t.Context(), "PRAGMA journal_mode").Scan(&mode))
	assert.Equal(t, "wal", mode)
	var fk int
	require.NoError(t, s.DB().QueryRowContext(t.Context(), "PRAGMA foreign_keys").Scan(&fk))
	assert.Equal(t, 1, fk)
	var timeout int
	require.NoError(t, s.DB().QueryRowContext(t.Context(), "PRAGMA busy_timeout").Scan(&timeout))
	assert.Equal(t, int(sqlite.DefaultBusyTimeout/time.Millisecond), timeout)
	var sync int
	require.NoError(t, s.DB().QueryRowContext(t.Context(), "PRAGMA synchronous").Scan(&sync))
	assert.Equal(t, 2, sync, "FULL")
	relaxed, _ := open(t, sqlite.WithSynchronousNormal(), sqlite.WithBusyTimeout(time.Second))
	require.NoError(t, relaxed.DB().QueryRowContext(t.Context(), "PRAGMA synchronous").Scan(&sync))
	assert.Equal(t, 1, sync, "NORMAL")
	require.NoError(t, relaxed.DB().QueryRowContext(t.Context(), "PRAGMA busy_timeout").Scan(&timeout))
	assert.Equal(t, 1000, timeout)

	t.Run("odd file names", func(t *testing.T) {
		path := t.TempDir() + "/a?b#c%20d.db"
		st := openPath(t, path)
		require.NoError(t, st.Remember(t.Context(), "k", now().Add(time.Hour)))
		require.FileExists(t, path)
	})
}

// TestTwoStoresConsumeOneWinner races 50 goroutines, half on each of two
// Store values opened on one file (the connections of two processes), for
// one refresh token and one authorization code: exactly one wins each.
func TestTwoStoresConsumeOneWinner(t *testing.T) {
	const n = 50
	ctx := t.Context()
	a, path := open(t)
	b := openPath(t, path)
	stores := []*sqlite.Store{a, b}
	for round := range 5 {
		tok := refreshToken(t, "grant")
		require.NoError(t, a.CreateTokens(ctx, tok))
		code := &storage.AuthorizationCode{Key: newKey(t), GrantID: "g", Subject: "u",
			Request: storage.AuthorizationRequest{ClientID: "app"}, IssuedAt: now(), ExpiresAt: now().Add(time.Minute)}
		require.NoError(t, b.CreateAuthorizationCode(ctx, code))

		tokErrs, codeErrs := make([]error, n), make([]error, n)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				<-start
				s := stores[i%2]
				_, tokErrs[i] = s.ConsumeToken(ctx, tok.Key, now())
				_, codeErrs[i] = s.ConsumeAuthorizationCode(ctx, code.Key, now())
			})
		}
		close(start)
		wg.Wait()
		for name, errs := range map[string][]error{"ConsumeToken": tokErrs, "ConsumeAuthorizationCode": codeErrs} {
			winners := 0
			for _, err := range errs {
				if err == nil {
					winners++
				} else {
					assert.ErrorIs(t, err, storage.ErrConsumed, "round %d, %s", round, name)
				}
			}
			assert.Equal(t, 1, winners, "round %d, %s: winners", round, name)
		}
	}
}

// holdWriteLock opens its own connection to path and holds the database's
// write lock until the returned function is called.
func holdWriteLock(t *testing.T, path string) func() {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path)
	require.NoError(t, err)
	conn, err := db.Conn(t.Context())
	require.NoError(t, err)
	_, err = conn.ExecContext(t.Context(), "BEGIN IMMEDIATE")
	require.NoError(t, err)
	return func() {
		_, err := conn.ExecContext(context.Background(), "COMMIT")
		assert.NoError(t, err)
		assert.NoError(t, conn.Close())
		assert.NoError(t, db.Close())
	}
}

func TestBusyTimeout(t *testing.T) {
	t.Run("a write waits for another process's lock", func(t *testing.T) {
		s, path := open(t)
		tok := refreshToken(t, "g")
		require.NoError(t, s.CreateTokens(t.Context(), tok))
		release := holdWriteLock(t, path)
		const hold = 300 * time.Millisecond
		timer := time.AfterFunc(hold, release)
		defer timer.Stop()
		start := time.Now()
		_, err := s.ConsumeToken(t.Context(), tok.Key, now())
		assert.NoError(t, err)
		assert.GreaterOrEqual(t, time.Since(start), hold-10*time.Millisecond, "the write waited for the lock")
		_, err = s.Token(t.Context(), tok.Key)
		assert.NoError(t, err)
	})

	t.Run("reads are not blocked by a writer", func(t *testing.T) {
		s, path := open(t)
		tok := refreshToken(t, "g")
		require.NoError(t, s.CreateTokens(t.Context(), tok))
		release := holdWriteLock(t, path)
		defer release()
		start := time.Now()
		_, err := s.Token(t.Context(), tok.Key)
		assert.NoError(t, err)
		assert.Less(t, time.Since(start), time.Second)
	})

	t.Run("past the timeout the write fails and changes nothing", func(t *testing.T) {
		s, path := open(t, sqlite.WithBusyTimeout(50*time.Millisecond))
		tok := refreshToken(t, "g")
		require.NoError(t, s.CreateTokens(t.Context(), tok))
		release := holdWriteLock(t, path)
		_, err := s.ConsumeToken(t.Context(), tok.Key, now())
		release()
		require.Error(t, err)
		assert.NotErrorIs(t, err, storage.ErrConsumed)
		assert.NotErrorIs(t, err, storage.ErrNotFound)
		_, err = s.ConsumeToken(t.Context(), tok.Key, now())
		assert.NoError(t, err, "the token is still unconsumed")
	})

	t.Run("a context that ends while waiting for the lock", func(t *testing.T) {
		s, path := open(t)
		tok := refreshToken(t, "g")
		require.NoError(t, s.CreateTokens(t.Context(), tok))
		release := holdWriteLock(t, path)
		defer release()
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := s.ConsumeToken(ctx, tok.Key, now())
		assert.Error(t, err)
		assert.Less(t, time.Since(start), 3*time.Second, "the call gave up with its context")
	})
}

func TestDeleteExpired(t *testing.T) {
	ctx := t.Context()
	clock := now()
	s, _ := open(t, sqlite.WithClock(func() time.Time { return clock }), sqlite.WithDeleteBatchSize(3),
		sqlite.WithRevokedGrantRetention(24*time.Hour))

	var expired, kept []*storage.Token
	for i := range 10 {
		tok := refreshToken(t, "grant-a")
		tok.ExpiresAt = clock.Add(-time.Duration(i+1) * time.Second)
		expired = append(expired, tok)
	}
	consumedLive := refreshToken(t, "grant-b")
	consumedLive.ConsumedAt = clock
	kept = append(kept, consumedLive, refreshToken(t, "grant-b"))
	require.NoError(t, s.CreateTokens(ctx, append(expired, kept...)...))
	require.NoError(t, s.Remember(ctx, "old-jti", clock.Add(-time.Second)))
	require.NoError(t, s.Remember(ctx, "new-jti", clock.Add(time.Hour)))
	oldCode := &storage.AuthorizationCode{Key: "old-code", GrantID: "g", Request: storage.AuthorizationRequest{ClientID: "app"},
		IssuedAt: clock.Add(-2 * time.Minute), ExpiresAt: clock.Add(-time.Minute), ConsumedAt: clock.Add(-90 * time.Second)}
	usedCode := &storage.AuthorizationCode{Key: "used-code", GrantID: "g", Request: storage.AuthorizationRequest{ClientID: "app"},
		IssuedAt: clock, ExpiresAt: clock.Add(time.Minute), ConsumedAt: clock}
	require.NoError(t, s.CreateAuthorizationCode(ctx, oldCode))
	require.NoError(t, s.CreateAuthorizationCode(ctx, usedCode))
	require.NoError(t, s.CreateInteraction(ctx, &storage.Interaction{Key: "old-i", ExpiresAt: clock.Add(-time.Second)}))
	require.NoError(t, s.CreatePushedRequest(ctx, &storage.PushedRequest{Key: "old-p", ExpiresAt: clock}))
	// Device authorizations go once they have been expired for
	// storage.DeviceAuthorizationRetention, whatever became of them; until
	// then a poll learns that they expired (RFC 8628 §3.5).
	var oldDevices []*storage.DeviceAuthorization
	for _, status := range []storage.DeviceAuthorizationStatus{storage.DevicePending, storage.DeviceApproved, storage.DeviceDenied} {
		d := deviceAuthorization(t, clock.Add(-21*time.Minute))
		d.Status = status
		require.NoError(t, s.CreateDeviceAuthorization(ctx, d))
		oldDevices = append(oldDevices, d)
	}
	liveDevice := deviceAuthorization(t, clock)
	require.NoError(t, s.CreateDeviceAuthorization(ctx, liveDevice))
	recentDevice := deviceAuthorization(t, clock.Add(-11*time.Minute)) // expired a minute ago
	require.NoError(t, s.CreateDeviceAuthorization(ctx, recentDevice))
	require.NoError(t, s.RevokeGrant(ctx, "grant-a", clock))
	require.NoError(t, s.RevokeGrant(ctx, "grant-b", clock))
	require.NoError(t, s.RevokeGrant(ctx, "grant-empty", clock))

	n, err := s.DeleteExpired(ctx, clock)
	require.NoError(t, err)
	assert.Equal(t, 10+1+1+1+1+3, n, "expired tokens, replay entry, code, interaction, pushed request, device authorizations")
	for _, d := range oldDevices {
		_, err := s.DeviceAuthorizationByUserCode(ctx, d.UserCodeKey)
		assert.ErrorIs(t, err, storage.ErrNotFound)
		_, err = s.PollDeviceAuthorization(ctx, d.Key, "tv", clock, time.Second)
		assert.ErrorIs(t, err, storage.ErrNotFound)
	}
	_, err = s.DeviceAuthorizationByUserCode(ctx, liveDevice.UserCodeKey)
	assert.NoError(t, err, "a live device authorization is kept")
	_, err = s.PollDeviceAuthorization(ctx, recentDevice.Key, recentDevice.ClientID, clock, time.Second)
	assert.NoError(t, err, "one expired less than storage.DeviceAuthorizationRetention ago is kept")
	for _, tok := range expired {
		_, err := s.Token(ctx, tok.Key)
		assert.ErrorIs(t, err, storage.ErrNotFound)
	}
	for _, tok := range kept {
		_, err := s.Token(ctx, tok.Key)
		assert.NoError(t, err, "a live token, consumed or not, is kept")
	}
	_, err = s.AuthorizationCode(ctx, "used-code")
	assert.NoError(t, err, "a consumed code is kept until it expires")
	_, err = s.AuthorizationCode(ctx, "old-code")
	assert.ErrorIs(t, err, storage.ErrNotFound)
	assert.NoError(t, s.Remember(ctx, "old-jti", clock.Add(time.Hour)), "the expired entry is gone")
	assert.ErrorIs(t, s.Remember(ctx, "new-jti", clock.Add(time.Hour)), storage.ErrConsumed)

	revokedLater := func(grantID string) bool {
		tok := refreshToken(t, grantID)
		require.NoError(t, s.CreateTokens(ctx, tok))
		got, err := s.Token(ctx, tok.Key)
		require.NoError(t, err)
		require.NoError(t, s.RevokeToken(ctx, tok.Key, clock)) // keep it from reviving the marker question
		_, err = s.DB().ExecContext(ctx, "DELETE FROM tokens WHERE key = ?", tok.Key)
		require.NoError(t, err)
		return !got.RevokedAt.IsZero()
	}
	assert.True(t, revokedLater("grant-a"), "a marker is kept for its retention, even with no token left")

	// A day later: the marker of a grant with no token left goes; one whose
	// grant still has a token stays.
	dayLater := clock.Add(24*time.Hour + time.Second)
	_, err = s.DB().ExecContext(ctx, "UPDATE tokens SET expires_at = ? WHERE grant_id = 'grant-b'", dayLater.Add(time.Hour).UnixMicro())
	require.NoError(t, err)
	_, err = s.DeleteExpired(ctx, dayLater)
	require.NoError(t, err)
	assert.False(t, revokedLater("grant-a"), "the marker of a grant without tokens is gone after its retention")
	assert.False(t, revokedLater("grant-empty"))
	assert.True(t, revokedLater("grant-b"), "the marker stays while a token of the grant exists")
}

func TestErrors(t *testing.T) {
	ctx := t.Context()
	s, _ := open(t)
	tok := refreshToken(t, "g")
	require.NoError(t, s.CreateTokens(ctx, tok))

	t.Run("messages hold no key", func(t *testing.T) {
		errs := []error{s.CreateTokens(ctx, tok), s.RevokeToken(ctx, "unknown-"+tok.Key, now())}
		_, err := s.Token(ctx, "unknown-"+tok.Key)
		errs = append(errs, err)
		for _, err := range errs {
			require.Error(t, err)
			assert.NotContains(t, err.Error(), tok.Key)
		}
	})

	t.Run("invalid input wraps no sentinel", func(t *testing.T) {
		errs := []error{
			s.CreateTokens(ctx, nil),
			s.CreateTokens(ctx, &storage.Token{Kind: storage.AccessToken}),
			s.CreateInteraction(ctx, nil),
			s.CreateInteraction(ctx, &storage.Interaction{}),
			s.CreateAuthorizationCode(ctx, nil),
			s.CreateAuthorizationCode(ctx, &storage.AuthorizationCode{}),
			s.CreatePushedRequest(ctx, nil),
			s.CreatePushedRequest(ctx, &storage.PushedRequest{}),
			s.PutClient(ctx, nil),
			s.PutClient(ctx, &storage.Client{}),
			s.Remember(ctx, "k", time.Time{}),
			s.CreateDeviceAuthorization(ctx, nil),
			s.CreateDeviceAuthorization(ctx, &storage.DeviceAuthorization{UserCodeKey: "u"}),
			s.CreateDeviceAuthorization(ctx, &storage.DeviceAuthorization{Key: "k"}),
		}
		for i, err := range errs {
			require.Error(t, err, "call %d", i)
			for _, sentinel := range []error{storage.ErrNotFound, storage.ErrConsumed, storage.ErrDuplicate} {
				assert.False(t, errors.Is(err, sentinel), "call %d: %v", i, err)
			}
			assert.True(t, strings.HasPrefix(err.Error(), "sqlite: "), "call %d: %v", i, err)
		}
	})

	t.Run("a string of invalid UTF-8 in a JSON column is refused with an error naming the field", func(t *testing.T) {
		n := now()
		bad := "st\xffate"
		for field, err := range map[string]error{
			"Request.State": s.CreateInteraction(ctx, &storage.Interaction{Key: newKey(t),
				Request:   storage.AuthorizationRequest{ClientID: "app", State: bad},
				CreatedAt: n, ExpiresAt: n.Add(time.Hour)}),
			"Request.Scopes": s.CreatePushedRequest(ctx, &storage.PushedRequest{Key: newKey(t),
				Request:   storage.AuthorizationRequest{ClientID: "app", Scopes: []string{"openid", bad}},
				CreatedAt: n, ExpiresAt: n.Add(time.Hour)}),
			"Scopes": s.CreateAuthorizationCode(ctx, &storage.AuthorizationCode{Key: newKey(t), GrantID: "g",
				Scopes: []string{bad}, IssuedAt: n, ExpiresAt: n.Add(time.Minute)}),
			"Audience":     s.CreateTokens(ctx, &storage.Token{Key: newKey(t), Kind: storage.AccessToken, Audience: []string{bad}}),
			"RedirectURIs": s.PutClient(ctx, &storage.Client{ID: "bad", RedirectURIs: []string{"https://a.example/" + bad}}),
			"Request.Parameters": s.CreateAuthorizationCode(ctx, &storage.AuthorizationCode{Key: newKey(t), GrantID: "g",
				Request:  storage.AuthorizationRequest{ClientID: "app", Parameters: map[string]string{"nonce": bad}},
				IssuedAt: n, ExpiresAt: n.Add(time.Minute)}),
			"Extensions": s.CreateTokens(ctx, &storage.Token{Key: newKey(t), Kind: storage.RefreshToken,
				Extensions: map[string]string{bad: "sid"}}),
			"PostLogoutRedirectURIs": s.PutClient(ctx, &storage.Client{ID: "bad-logout",
				PostLogoutRedirectURIs: []string{"https://a.example/" + bad}}),
		} {
			require.Error(t, err, field)
			assert.Contains(t, err.Error(), field+" is not valid UTF-8")
			assert.NotContains(t, err.Error(), bad, "the value itself is not quoted")
		}
		for _, id := range []string{"bad", "bad-logout"} {
			_, err := s.Client(ctx, id)
			assert.ErrorIs(t, err, storage.ErrNotFound, "the client %s was not stored", id)
		}
	})

	t.Run("zero times are the store clock's now", func(t *testing.T) {
		before := time.Now()
		got, err := s.ConsumeToken(ctx, tok.Key, time.Time{})
		require.NoError(t, err)
		assert.False(t, got.ConsumedAt.Before(before.Truncate(time.Microsecond)))
		require.NoError(t, s.RevokeToken(ctx, tok.Key, time.Time{}))
		got, err = s.Token(ctx, tok.Key)
		require.NoError(t, err)
		assert.False(t, got.RevokedAt.IsZero())
	})

	t.Run("closed store", func(t *testing.T) {
		c, _ := open(t)
		require.NoError(t, c.Close())
		_, err := c.Token(ctx, tok.Key)
		assert.Error(t, err)
		assert.NotErrorIs(t, err, storage.ErrNotFound)
	})
}

func TestClients(t *testing.T) {
	ctx := t.Context()
	s, _ := open(t)
	c := &storage.Client{ID: "app", Name: "one", RedirectURIs: []string{}, GrantTypes: []string{"client_credentials"},
		PostLogoutRedirectURIs: []string{}}
	require.NoError(t, s.PutClient(ctx, c))
	got, err := s.Client(ctx, "app")
	require.NoError(t, err)
	assert.Equal(t, c, got, "an empty list stays empty, a nil one nil")

	c.Name, c.Disabled, c.SecretHash = "two", true, "$h"
	require.NoError(t, s.PutClient(ctx, c), "PutClient replaces")
	got, err = s.Client(ctx, "app")
	require.NoError(t, err)
	assert.Equal(t, c, got)

	tok := refreshToken(t, "g")
	tok.ClientID = "app"
	require.NoError(t, s.CreateTokens(ctx, tok))
	require.NoError(t, s.DeleteClient(ctx, "app"))
	require.NoError(t, s.DeleteClient(ctx, "app"), "deleting an unknown client is not an error")
	_, err = s.Client(ctx, "app")
	assert.ErrorIs(t, err, storage.ErrNotFound)
	_, err = s.Token(ctx, tok.Key)
	assert.NoError(t, err, "the client's tokens are kept")
}

func TestTimesAreUTCMicroseconds(t *testing.T) {
	ctx := t.Context()
	s, _ := open(t)
	loc := time.FixedZone("X", 5*3600+1800)
	issued := time.Date(2031, 3, 4, 5, 6, 7, 123456789, loc)
	tok := &storage.Token{Key: "k", Kind: storage.AccessToken, GrantID: "g", IssuedAt: issued, ExpiresAt: issued.Add(time.Hour)}
	require.NoError(t, s.CreateTokens(ctx, tok))
	got, err := s.Token(ctx, "k")
	require.NoError(t, err)
	assert.Equal(t, time.UTC, got.IssuedAt.Location())
	assert.True(t, issued.Truncate(time.Microsecond).Equal(got.IssuedAt), "%v", got.IssuedAt)
	assert.True(t, got.GrantExpiresAt.IsZero())
	assert.True(t, got.ConsumedAt.IsZero())
}

// openAtVersion writes a database file of schema version n (its first n
// migrations, recorded as applied) holding rows, the INSERT statements of
// that version, then opens it with the adapter, which migrates it forward,
// and checks that it reached the latest version.
func openAtVersion(t *testing.T, n int, rows ...string) *sqlite.Store {
	t.Helper()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), fmt.Sprintf("v%d.db", n))
	db, err := sql.Open("sqlite", path)
	require.NoError(t, err)
	queries := []string{
		"CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT",
	}
	names, err := filepath.Glob("migrations/*.sql")
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(names), n)
	for i, name := range names[:n] {
		b, err := os.ReadFile(name)
		require.NoError(t, err)
		queries = append(queries, string(b), fmt.Sprintf("INSERT INTO schema_migrations VALUES (%d, '%s', 0)", i+1, filepath.Base(name)))
	}
	for _, q := range append(queries, rows...) {
		_, err := db.ExecContext(ctx, q)
		require.NoError(t, err, q)
	}
	require.NoError(t, db.Close())

	st := openPath(t, path)
	var version int
	require.NoError(t, st.DB().QueryRowContext(ctx, "SELECT MAX(version) FROM schema_migrations").Scan(&version))
	assert.Equal(t, sqlite.SchemaVersion(), version)
	return st
}
