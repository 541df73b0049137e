package postgres_test

import (
	"context"
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/storage"
	"github.com/grantor-dev/grantor/storage/postgres"
)

func token(kind storage.TokenKind, grantID string, issued, expires time.Time) *storage.Token {
	return &storage.Token{Key: rand.Text(), Kind: kind, GrantID: grantID, ClientID: "client-a",
		IssuedAt: issued, ExpiresAt: expires}
}

func TestDeleteExpired(t *testing.T) {
	ts := newTestServer(t)
	now := time.Now().UTC().Truncate(time.Microsecond)
	hour := time.Hour

	t.Run("deletes expired records in batches and keeps the others", func(t *testing.T) {
		pool, _ := ts.migratedPool(t)
		s := postgres.New(pool)
		ctx := t.Context()
		var expired []*storage.Token
		for range 25 {
			expired = append(expired, token(storage.AccessToken, rand.Text(), now.Add(-2*hour), now.Add(-hour)))
		}
		require.NoError(t, s.CreateTokens(ctx, expired...))
		live := token(storage.AccessToken, rand.Text(), now, now.Add(hour))
		consumed := token(storage.RefreshToken, rand.Text(), now, now.Add(hour))
		require.NoError(t, s.CreateTokens(ctx, live, consumed))
		_, err := s.ConsumeToken(ctx, consumed.Key, now)
		require.NoError(t, err)

		require.NoError(t, s.Remember(ctx, "old-jti", now.Add(-hour)))
		require.NoError(t, s.Remember(ctx, "new-jti", now.Add(hour)))

		oldCode := &storage.AuthorizationCode{Key: rand.Text(), GrantID: rand.Text(),
			IssuedAt: now.Add(-2 * hour), ExpiresAt: now.Add(-hour)}
		usedCode := &storage.AuthorizationCode{Key: rand.Text(), GrantID: rand.Text(),
			IssuedAt: now, ExpiresAt: now.Add(hour)}
		require.NoError(t, s.CreateAuthorizationCode(ctx, oldCode))
		require.NoError(t, s.CreateAuthorizationCode(ctx, usedCode))
		_, err = s.ConsumeAuthorizationCode(ctx, usedCode.Key, now)
		require.NoError(t, err)
		require.NoError(t, s.CreateInteraction(ctx, &storage.Interaction{Key: rand.Text(),
			CreatedAt: now.Add(-2 * hour), ExpiresAt: now.Add(-hour)}))
		require.NoError(t, s.CreatePushedRequest(ctx, &storage.PushedRequest{Key: rand.Text(),
			CreatedAt: now.Add(-2 * hour), ExpiresAt: now.Add(-hour)}))
		oldDevice, liveDevice := deviceAuthorization(now.Add(-hour)), deviceAuthorization(now)
		// Expired 5 minutes ago: within its retention.
		recentDevice := deviceAuthorization(now.Add(-15 * time.Minute))
		require.NoError(t, s.CreateDeviceAuthorization(ctx, oldDevice))
		require.NoError(t, s.CreateDeviceAuthorization(ctx, liveDevice))
		require.NoError(t, s.CreateDeviceAuthorization(ctx, recentDevice))
		_, err = s.ConsumeDeviceAuthorization(ctx, liveDevice.Key, now)
		require.NoError(t, err)

		n, err := s.DeleteExpired(ctx, now, 10)
		require.NoError(t, err)
		assert.Equal(t, 25+1+1+1+1+1, n,
			"deleted: tokens, replay entry, code, interaction, pushed request, device authorization")

		for _, tok := range expired {
			_, err := s.Token(ctx, tok.Key)
			assert.ErrorIs(t, err, storage.ErrNotFound)
		}
		_, err = s.Token(ctx, live.Key)
		assert.NoError(t, err, "a live token is kept")
		_, err = s.ConsumeToken(ctx, consumed.Key, now)
		assert.ErrorIs(t, err, storage.ErrConsumed, "a consumed refresh token is kept until it expires")
		_, err = s.ConsumeAuthorizationCode(ctx, usedCode.Key, now)
		assert.ErrorIs(t, err, storage.ErrConsumed, "a consumed code is kept until it expires")
		_, err = s.AuthorizationCode(ctx, oldCode.Key)
		assert.ErrorIs(t, err, storage.ErrNotFound)
		_, err = s.PollDeviceAuthorization(ctx, oldDevice.Key, oldDevice.ClientID, now, 0)
		assert.ErrorIs(t, err, storage.ErrNotFound, "an expired device authorization is deleted")
		_, err = s.DeviceAuthorizationByUserCode(ctx, oldDevice.UserCodeKey)
		assert.ErrorIs(t, err, storage.ErrNotFound, "and no longer found by its user code")
		_, err = s.ConsumeDeviceAuthorization(ctx, liveDevice.Key, now)
		assert.ErrorIs(t, err, storage.ErrConsumed, "a redeemed device authorization is kept until it expires")
		_, err = s.PollDeviceAuthorization(ctx, recentDevice.Key, recentDevice.ClientID, now, 0)
		assert.NoError(t, err, "an expired device authorization is kept for storage.DeviceAuthorizationRetention (RFC 8628 §3.5: expired_token)")
		assert.NoError(t, s.Remember(ctx, "old-jti", now.Add(hour)), "an expired jti may be used again")
		assert.ErrorIs(t, s.Remember(ctx, "new-jti", now.Add(hour)), storage.ErrConsumed)

		n, err = s.DeleteExpired(ctx, now, 0)
		require.NoError(t, err)
		assert.Zero(t, n, "a second call finds nothing")
	})

	t.Run("revoked-grant markers outlive their retention while a token of the grant exists", func(t *testing.T) {
		pool, _ := ts.migratedPool(t)
		clock := now
		s := postgres.New(pool, postgres.WithClock(func() time.Time { return clock }),
			postgres.WithRevokedGrantRetention(24*hour))
		ctx := t.Context()
		// Grant a: its only token expires within the hour. Grant b: its
		// token lives two days.
		a, b := rand.Text(), rand.Text()
		require.NoError(t, s.CreateTokens(ctx, token(storage.RefreshToken, a, now, now.Add(hour))))
		require.NoError(t, s.CreateTokens(ctx, token(storage.RefreshToken, b, now, now.Add(48*hour))))
		require.NoError(t, s.RevokeGrant(ctx, a, now))
		require.NoError(t, s.RevokeGrant(ctx, b, now))

		revokedLater := func(grantID string) bool {
			tok := token(storage.AccessToken, grantID, now, now.Add(72*hour))
			require.NoError(t, s.CreateTokens(ctx, tok))
			got, err := s.Token(ctx, tok.Key)
			require.NoError(t, err)
			require.NoError(t, pool.QueryRow(ctx, "DELETE FROM tokens WHERE key = $1 RETURNING true", tok.Key).Scan(new(bool)))
			return !got.RevokedAt.IsZero()
		}

		_, err := s.DeleteExpired(ctx, now.Add(2*hour), 0)
		require.NoError(t, err)
		assert.True(t, revokedLater(a), "within the retention, a token of grant a is stored revoked")

		_, err = s.DeleteExpired(ctx, now.Add(25*hour), 0)
		require.NoError(t, err)
		assert.False(t, revokedLater(a), "after the retention, with no token left, grant a is forgotten")
		assert.True(t, revokedLater(b), "grant b still has a token: its marker stays")

		_, err = s.DeleteExpired(ctx, now.Add(49*hour), 0)
		require.NoError(t, err)
		assert.False(t, revokedLater(b), "grant b is forgotten once its last token is gone")
	})

	t.Run("cancelled context is an error", func(t *testing.T) {
		pool, _ := ts.migratedPool(t)
		s := postgres.New(pool)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, err := s.DeleteExpired(ctx, now, 0)
		assert.ErrorIs(t, err, context.Canceled)
	})
}

// TestErrorsDoNotQuoteKeys checks that no error message carries a key: the
// server quotes the key of a unique violation in its detail.
func TestErrorsDoNotQuoteKeys(t *testing.T) {
	ts := newTestServer(t)
	pool, _ := ts.migratedPool(t)
	s := postgres.New(pool)
	now := time.Now().UTC()
	tok := token(storage.AccessToken, rand.Text(), now, now.Add(time.Hour))
	require.NoError(t, s.CreateTokens(t.Context(), tok))

	err := s.CreateTokens(t.Context(), tok)
	require.ErrorIs(t, err, storage.ErrDuplicate)
	assert.NotContains(t, err.Error(), tok.Key)

	code := &storage.AuthorizationCode{Key: rand.Text(), IssuedAt: now, ExpiresAt: now.Add(time.Minute)}
	require.NoError(t, s.CreateAuthorizationCode(t.Context(), code))
	err = s.CreateAuthorizationCode(t.Context(), code)
	require.ErrorIs(t, err, storage.ErrDuplicate)
	assert.NotContains(t, err.Error(), code.Key)

	// A value the server refuses (a NUL byte in text): its error names
	// neither the key nor the value.
	bad := token(storage.AccessToken, rand.Text(), now, now.Add(time.Hour))
	bad.Subject = "user\x00" + strings.Repeat("s", 8)
	err = s.CreateTokens(t.Context(), bad)
	require.Error(t, err)
	assert.NotContains(t, err.Error(), bad.Key)
	assert.NotContains(t, err.Error(), bad.Subject[5:])
}
