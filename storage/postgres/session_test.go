package postgres_test

import (
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/storage"
	"github.com/grantor-dev/grantor/storage/postgres"
)

// TestDeleteExpiredLoginSessions checks that DeleteExpired deletes the
// login sessions whose ExpiresAt is not after its time, and counts them:
// a session ends at its ExpiresAt, and the table must not keep every
// session of every browser ever.
func TestDeleteExpiredLoginSessions(t *testing.T) {
	ts := newTestServer(t)
	pool, _ := ts.migratedPool(t)
	s := postgres.New(pool)
	ctx := t.Context()
	now := time.Now().UTC().Truncate(time.Microsecond)
	session := func(expires time.Time) *storage.LoginSession {
		return &storage.LoginSession{Key: rand.Text(), ID: rand.Text(), Subject: "user-1", AuthTime: now.Add(-time.Hour),
			Clients: []string{"app"}, CreatedAt: now.Add(-time.Hour), ExpiresAt: expires}
	}
	ended, live := session(now), session(now.Add(time.Microsecond))
	require.NoError(t, s.CreateLoginSession(ctx, ended))
	require.NoError(t, s.CreateLoginSession(ctx, live))

	n, err := s.DeleteExpired(ctx, now, 0)
	require.NoError(t, err)
	assert.Equal(t, 1, n, "the session that ended at the sweep's time")
	_, err = s.LoginSession(ctx, ended.Key)
	assert.ErrorIs(t, err, storage.ErrNotFound)
	got, err := s.LoginSession(ctx, live.Key)
	require.NoError(t, err, "a live session is kept")
	assert.Equal(t, []string{"app"}, got.Clients)
	_, err = s.LoginSessionByID(ctx, ended.ID)
	assert.ErrorIs(t, err, storage.ErrNotFound, "nor is it found by its ID")
	got, err = s.LoginSessionByID(ctx, live.ID)
	require.NoError(t, err, "the live session is found by its ID")
	assert.Equal(t, live.Key, got.Key)
}

// TestLoginSessionByIDReturnsExpiredUntilDeleted checks that
// LoginSessionByID treats an expired session as LoginSession does: it is
// returned, ExpiresAt and all, until DeleteExpired deletes it.
func TestLoginSessionByIDReturnsExpiredUntilDeleted(t *testing.T) {
	ts := newTestServer(t)
	pool, _ := ts.migratedPool(t)
	s := postgres.New(pool)
	ctx := t.Context()
	now := time.Now().UTC().Truncate(time.Microsecond)
	ls := &storage.LoginSession{Key: rand.Text(), ID: rand.Text(), Subject: "user-1", AuthTime: now.Add(-2 * time.Hour),
		CreatedAt: now.Add(-2 * time.Hour), ExpiresAt: now.Add(-time.Hour)}
	require.NoError(t, s.CreateLoginSession(ctx, ls))
	got, err := s.LoginSessionByID(ctx, ls.ID)
	require.NoError(t, err, "an expired session not yet deleted")
	assert.True(t, ls.ExpiresAt.Equal(got.ExpiresAt), "for the caller to judge: %v", got.ExpiresAt)
	_, err = s.DeleteExpired(ctx, now, 0)
	require.NoError(t, err)
	_, err = s.LoginSessionByID(ctx, ls.ID)
	assert.ErrorIs(t, err, storage.ErrNotFound)
}

// TestLoginSessionByIDUsesTheIndex checks that the statement of
// LoginSessionByID can read the index on the sessions' ids rather than
// every session: an OpenID Provider calls it at each refresh. Sequential
// scans are made as costly as the planner allows, since on a table this
// small it would rightly prefer one.
func TestLoginSessionByIDUsesTheIndex(t *testing.T) {
	ts := newTestServer(t)
	pool, _ := ts.migratedPool(t)
	ctx := t.Context()
	tx, err := pool.Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = tx.Rollback(ctx) }()
	_, err = tx.Exec(ctx, "SET LOCAL enable_seqscan = off")
	require.NoError(t, err)
	rows, err := tx.Query(ctx, "EXPLAIN "+postgres.SelectSessionByID, "sid")
	require.NoError(t, err)
	plan, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	assert.Contains(t, strings.Join(plan, "\n"), "login_sessions_id", "the plan: %q", plan)
}
