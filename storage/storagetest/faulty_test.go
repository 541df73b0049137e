package storagetest_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/storage"
	"github.com/grantor-dev/grantor/storage/memory"
	"github.com/grantor-dev/grantor/storage/storagetest"
)

func TestFaulty(t *testing.T) {
	ctx := context.Background()
	store := memory.New()
	f := storagetest.NewFaulty(store)
	now := time.Now()
	rec := func(key string) *storage.Token {
		return &storage.Token{Key: key, Kind: storage.RefreshToken, GrantID: "g", ClientID: "c", IssuedAt: now, ExpiresAt: now.Add(time.Hour)}
	}

	// Fail: nothing reaches the store.
	f.Fail(storagetest.OpCreateTokens, nil)
	assert.ErrorIs(t, f.CreateTokens(ctx, rec("a")), storagetest.ErrInjected)
	_, err := store.Token(ctx, "a")
	assert.ErrorIs(t, err, storage.ErrNotFound)

	// FailAfter: the write happens, the caller sees an error.
	f.Heal()
	boom := errors.New("connection reset")
	f.FailAfter(storagetest.OpCreateTokens, boom)
	assert.ErrorIs(t, f.CreateTokens(ctx, rec("b")), boom)
	_, err = store.Token(ctx, "b")
	assert.NoError(t, err)
	assert.Equal(t, 2, f.Calls(storagetest.OpCreateTokens))

	// A use-once loser's ErrConsumed and record pass through untouched.
	f.Heal()
	_, err = f.ConsumeToken(ctx, "b", now)
	require.NoError(t, err)
	got, err := f.ConsumeToken(ctx, "b", now.Add(time.Second))
	assert.ErrorIs(t, err, storage.ErrConsumed)
	require.NotNil(t, got)
	assert.True(t, got.ConsumedAt.Equal(now))

	// FailAfter on a use-once operation: consumed, but reported failed.
	require.NoError(t, f.CreateTokens(ctx, rec("c")))
	f.FailAfter(storagetest.OpConsumeToken, nil)
	got, err = f.ConsumeToken(ctx, "c", now)
	assert.ErrorIs(t, err, storagetest.ErrInjected)
	assert.Nil(t, got)
	direct, err := store.Token(ctx, "c")
	require.NoError(t, err)
	assert.False(t, direct.ConsumedAt.IsZero())
}
