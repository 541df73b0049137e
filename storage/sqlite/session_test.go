package sqlite_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/storage"
	"github.com/grantor-dev/grantor/storage/sqlite"
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
	_, err = s.LoginSessionByID(ctx, "sid-ended")
	assert.ErrorIs(t, err, storage.ErrNotFound, "nor is it found by its ID")
	got, err = s.LoginSessionByID(ctx, "sid-live")
	require.NoError(t, err, "the live session is found by its ID")
	assert.Equal(t, "live", got.Key)
}

// TestLoginSessionByIDReturnsExpiredUntilDeleted checks that
// LoginSessionByID treats an expired session as LoginSession does: it is
// returned, ExpiresAt and all, until DeleteExpired deletes it.
func TestLoginSessionByIDReturnsExpiredUntilDeleted(t *testing.T) {
	ctx := t.Context()
	clock := now()
	s, _ := open(t)
	ls := &storage.LoginSession{Key: "k", ID: "sid-k", Subject: "user-1", AuthTime: clock.Add(-2 * time.Hour),
		CreatedAt: clock.Add(-2 * time.Hour), ExpiresAt: clock.Add(-time.Hour)}
	require.NoError(t, s.CreateLoginSession(ctx, ls))
	got, err := s.LoginSessionByID(ctx, ls.ID)
	require.NoError(t, err, "an expired session not yet deleted")
	assert.Equal(t, ls.ExpiresAt.UnixMicro(), got.ExpiresAt.UnixMicro(), "for the caller to judge")
	_, err = s.DeleteExpired(ctx, clock)
	require.NoError(t, err)
	_, err = s.LoginSessionByID(ctx, ls.ID)
	assert.ErrorIs(t, err, storage.ErrNotFound)
}

// TestLoginSessionByIDUsesTheIndex checks that LoginSessionByID reads the
// index on the sessions' ids rather than every session: an OpenID
// Provider calls it at each refresh.
func TestLoginSessionByIDUsesTheIndex(t *testing.T) {
	s, _ := open(t)
	rows, err := s.DB().QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+sqlite.SelectSessionByID, "sid")
	require.NoError(t, err)
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		require.NoError(t, rows.Scan(&id, &parent, &unused, &detail))
		plan = append(plan, detail)
	}
	require.NoError(t, rows.Err())
	require.Len(t, plan, 1, "one step: %q", plan)
	assert.Contains(t, plan[0], "USING INDEX login_sessions_id", "the plan: %q", plan)
}
