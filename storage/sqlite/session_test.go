package sqlite_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/storage"
)

// TestDeleteExpiredLoginSessions checks that DeleteExpired deletes the
// login sessions whose ExpiresAt is not after its time, and counts them:
// a session ends at its ExpiresAt, and the table must not keep every
// session of every browser ever.
func TestDeleteExpiredLoginSessions(t *testing.T) {
	ctx := t.Context()
	clock := now()
	s, _ := open(t)
	session := func(key string, expires time.Time) *storage.LoginSession {
		return &storage.LoginSession{Key: key, ID: "sid-" + key, Subject: "user-1", AuthTime: clock.Add(-time.Hour),
			Clients: []string{"app"}, CreatedAt: clock.Add(-time.Hour), ExpiresAt: expires}
	}
	require.NoError(t, s.CreateLoginSession(ctx, session("ended", clock)))
	require.NoError(t, s.CreateLoginSession(ctx, session("live", clock.Add(time.Microsecond))))

	n, err := s.DeleteExpired(ctx, clock)
	require.NoError(t, err)
	assert.Equal(t, 1, n, "the session that ended at the sweep's time")
	_, err = s.LoginSession(ctx, "ended")
	assert.ErrorIs(t, err, storage.ErrNotFound)
	got, err := s.LoginSession(ctx, "live")
	require.NoError(t, err, "a live session is kept")
	assert.Equal(t, []string{"app"}, got.Clients)
}
