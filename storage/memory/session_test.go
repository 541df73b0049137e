package memory_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/storage"
	"github.com/grantor-dev/grantor/storage/memory"
	"github.com/grantor-dev/grantor/storage/storagetest"
)

func TestLoginSessionStoreConformance(t *testing.T) {
	storagetest.RunLoginSessionStore(t, func(t *testing.T) storage.LoginSessionStore { return memory.New() })
}

func session(key string, created time.Time, ttl time.Duration) *storage.LoginSession {
	return &storage.LoginSession{
		Key: key, ID: "sid-" + key, Subject: "user-1", AuthTime: created,
		Clients: []string{"client-a"}, CreatedAt: created, ExpiresAt: created.Add(ttl),
	}
}

// A login session ends at its ExpiresAt (OpenID Connect RP-Initiated
// Logout 1.0 §2 leaves the length of a session to the OP); its memory is
// given back by DeleteExpired, as that of every other expiring record.
func TestDeleteExpiredLoginSessions(t *testing.T) {
	ctx := t.Context()
	clock := newFakeClock()
	s := memory.New(memory.WithClock(clock.Now), memory.WithSweepInterval(0))
	t0 := clock.Now()
	require.NoError(t, s.CreateLoginSession(ctx, session("short", t0, time.Minute)))
	require.NoError(t, s.CreateLoginSession(ctx, session("long", t0, time.Hour)))

	clock.Advance(time.Minute - time.Nanosecond)
	n, err := s.DeleteExpired(ctx)
	require.NoError(t, err)
	assert.Zero(t, n, "just before ExpiresAt")

	clock.Advance(time.Nanosecond)
	n, err = s.DeleteExpired(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, n, "the session expired at this instant")
	_, err = s.DeleteLoginSession(ctx, "short")
	assert.ErrorIs(t, err, storage.ErrNotFound, "the expired session is gone")
	got, err := s.DeleteLoginSession(ctx, "long")
	require.NoError(t, err, "the live session stays")
	assert.Equal(t, "long", got.Key)
}
