package storagetest

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/storage"
)

// cancelled returns a context that is already cancelled.
func cancelled(t *testing.T) context.Context {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	return ctx
}

func testClientContext(t *testing.T, newStore NewClientStore) {
	t.Run("cancelled Client is an error", func(t *testing.T) {
		s := newStore(t, confidentialClient())
		_, err := s.Client(cancelled(t), "client-a")
		assert.ErrorIs(t, err, context.Canceled)
	})
}

func testTokenContext(t *testing.T, newStore func(*testing.T) storage.TokenStore) {
	t.Run("cancelled CreateTokens is an error and stores nothing", func(t *testing.T) {
		s := newStore(t)
		tok := accessToken(t, newGrantID(t))
		assert.ErrorIs(t, s.CreateTokens(cancelled(t), tok), context.Canceled)
		assertNotFound(t, s, tok.Key)
	})

	t.Run("cancelled Token is an error", func(t *testing.T) {
		s := newStore(t)
		tok := accessToken(t, newGrantID(t))
		create(t, s, tok)
		_, err := s.Token(cancelled(t), tok.Key)
		assert.ErrorIs(t, err, context.Canceled)
	})

	t.Run("cancelled RevokeToken is an error and revokes nothing", func(t *testing.T) {
		s := newStore(t)
		tok := accessToken(t, newGrantID(t))
		create(t, s, tok)
		assert.ErrorIs(t, s.RevokeToken(cancelled(t), tok.Key, now()), context.Canceled)
		assert.True(t, get(t, s, tok.Key).RevokedAt.IsZero(), "RevokedAt")
	})

	t.Run("cancelled RevokeGrant is an error and revokes nothing", func(t *testing.T) {
		s := newStore(t)
		grantID := newGrantID(t)
		tok := accessToken(t, grantID)
		create(t, s, tok)
		assert.ErrorIs(t, s.RevokeGrant(cancelled(t), grantID, now()), context.Canceled)
		assert.True(t, get(t, s, tok.Key).RevokedAt.IsZero(), "RevokedAt")
		later := accessToken(t, grantID)
		create(t, s, later)
		assert.True(t, get(t, s, later.Key).RevokedAt.IsZero(), "RevokedAt of a later token")
	})
}

func testConsumeTokenContext(t *testing.T, newStore func(*testing.T) storage.RefreshTokenStore) {
	t.Run("cancelled ConsumeToken is an error and consumes nothing", func(t *testing.T) {
		s := newStore(t)
		tok := refreshToken(t, newGrantID(t))
		create(t, s, tok)
		_, err := s.ConsumeToken(cancelled(t), tok.Key, now())
		assert.ErrorIs(t, err, context.Canceled)
		_, err = s.ConsumeToken(t.Context(), tok.Key, now())
		assert.NoError(t, err, "the token is still unconsumed")
	})
}

func testRememberContext(t *testing.T, newStore func(*testing.T) storage.ReplayStore) {
	t.Run("cancelled Remember is an error and remembers nothing", func(t *testing.T) {
		s := newStore(t)
		key := newKey(t)
		assert.ErrorIs(t, s.Remember(cancelled(t), key, now().Add(time.Hour)), context.Canceled)
		require.NoError(t, s.Remember(t.Context(), key, now().Add(time.Hour)), "the key is still new")
	})
}
