package postgres_test

import (
	"crypto/rand"
	"testing"
	"time"

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
}
