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

// The index of sessions by ID holds every stored session once and
// nothing else: a deleted or swept session leaves it, and a session
// refused at creation never enters it. Otherwise it would grow with every
// login ever made, past the bound of WithMaxLoginSessions.
func TestLoginSessionIDIndexFollowsTheSessions(t *testing.T) {
	ctx := t.Context()
	clock := newFakeClock()
	s := memory.New(memory.WithClock(clock.Now), memory.WithSweepInterval(0), memory.WithMaxLoginSessions(4))
	t0 := clock.Now()
	assertIndex := func(ids, keys int, msg string) {
		t.Helper()
		gotIDs, gotKeys := memory.SessionIDIndex(s)
		assert.Equal(t, ids, gotIDs, "IDs indexed: %s", msg)
		assert.Equal(t, keys, gotKeys, "keys indexed: %s", msg)
	}
	byID := func(id string) string {
		t.Helper()
		ls, err := s.LoginSessionByID(ctx, id)
		if err != nil {
			require.ErrorIs(t, err, storage.ErrNotFound)
			return ""
		}
		return ls.Key
	}

	old, replacement := session("old", t0, time.Hour), session("new", t0, time.Hour)
	replacement.ID = old.ID // a new login replacing the session
	require.NoError(t, s.CreateLoginSession(ctx, old))
	require.NoError(t, s.CreateLoginSession(ctx, replacement))
	require.NoError(t, s.CreateLoginSession(ctx, session("short", t0, time.Minute)))
	assertIndex(2, 3, "two sessions share an ID")
	assert.Equal(t, "new", byID(old.ID), "the session created last")

	dup := session("short", t0, time.Hour)
	dup.ID = "sid-dup"
	require.ErrorIs(t, s.CreateLoginSession(ctx, dup), storage.ErrDuplicate)
	assertIndex(2, 3, "a duplicate key is not indexed")
	assert.Empty(t, byID("sid-dup"))

	_, err := s.DeleteLoginSession(ctx, "old")
	require.NoError(t, err)
	assertIndex(2, 2, "the deleted session leaves, its ID stays for the other")
	assert.Equal(t, "new", byID(old.ID))
	_, err = s.DeleteLoginSession(ctx, "new")
	require.NoError(t, err)
	assertIndex(1, 1, "the ID leaves with its last session")
	assert.Empty(t, byID(old.ID))

	clock.Advance(time.Minute)
	assert.Empty(t, byID("sid-short"), "expired, not yet swept")
	n, err := s.DeleteExpired(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	assertIndex(0, 0, "DeleteExpired sweeps the index too")

	// A full store sweeps the expired sessions before it refuses one.
	t1 := clock.Now()
	for _, k := range []string{"a", "b", "c", "d"} {
		require.NoError(t, s.CreateLoginSession(ctx, session(k, t1, time.Minute)))
	}
	assertIndex(4, 4, "a full store")
	require.ErrorIs(t, s.CreateLoginSession(ctx, session("e", t1, time.Minute)), storage.ErrFull)
	assertIndex(4, 4, "a session refused as the store is full is not indexed")
	clock.Advance(time.Minute)
	require.NoError(t, s.CreateLoginSession(ctx, session("f", clock.Now(), time.Minute)))
	assertIndex(1, 1, "the sweep of a full store leaves only the new session")
	assert.Equal(t, "f", byID("sid-f"))
	_, err = s.DeleteLoginSession(ctx, "f")
	require.NoError(t, err)
	assertIndex(0, 0, "nothing left")
}
