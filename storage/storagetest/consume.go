package storagetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/storage"
)

func testConsumeToken(t *testing.T, newStore func(*testing.T) storage.RefreshTokenStore) {
	t.Run("consumed record is returned by Token, revoked or not", func(t *testing.T) {
		s := newStore(t)
		rt := refreshToken(t, newGrantID(t))
		create(t, s, rt)
		consumedAt := now()
		_, err := s.ConsumeToken(t.Context(), rt.Key, consumedAt)
		require.NoError(t, err)
		rt.ConsumedAt = consumedAt
		assertToken(t, rt, get(t, s, rt.Key))
		revokedAt := consumedAt.Add(time.Second)
		require.NoError(t, s.RevokeToken(t.Context(), rt.Key, revokedAt))
		got := get(t, s, rt.Key)
		rt.RevokedAt = revokedAt
		assertToken(t, rt, got)
		assert.False(t, got.Active(consumedAt))
	})

	t.Run("RevokeGrant keeps the ConsumedAt of a consumed token", func(t *testing.T) {
		s := newStore(t)
		grantID := newGrantID(t)
		rt := refreshToken(t, grantID)
		create(t, s, rt)
		consumedAt := now()
		_, err := s.ConsumeToken(t.Context(), rt.Key, consumedAt)
		require.NoError(t, err)
		require.NoError(t, s.RevokeGrant(t.Context(), grantID, consumedAt.Add(time.Second)))
		got := get(t, s, rt.Key)
		assertTime(t, "ConsumedAt", consumedAt, got.ConsumedAt)
		assert.False(t, got.RevokedAt.IsZero(), "RevokedAt")
	})

	t.Run("sets ConsumedAt and returns the record", func(t *testing.T) {
		s := newStore(t)
		tok := refreshToken(t, newGrantID(t))
		create(t, s, tok)
		at := now()
		got, err := s.ConsumeToken(t.Context(), tok.Key, at)
		require.NoError(t, err)
		tok.ConsumedAt = at
		assertToken(t, tok, got)
		assertToken(t, tok, get(t, s, tok.Key))
		assert.False(t, get(t, s, tok.Key).Active(at), "a consumed token is not active")
	})

	t.Run("second call returns the record with the first ConsumedAt and ErrConsumed", func(t *testing.T) {
		s := newStore(t)
		tok := refreshToken(t, newGrantID(t))
		create(t, s, tok)
		first := now()
		_, err := s.ConsumeToken(t.Context(), tok.Key, first)
		require.NoError(t, err)
		got, err := s.ConsumeToken(t.Context(), tok.Key, first.Add(time.Second))
		assert.ErrorIs(t, err, storage.ErrConsumed)
		require.NotNil(t, got, "the record must come with ErrConsumed")
		tok.ConsumedAt = first
		assertToken(t, tok, got)
		assertTime(t, "stored ConsumedAt", first, get(t, s, tok.Key).ConsumedAt)
	})

	t.Run("record created consumed is ErrConsumed", func(t *testing.T) {
		s := newStore(t)
		tok := refreshToken(t, newGrantID(t))
		tok.ConsumedAt = tok.IssuedAt
		create(t, s, tok)
		got, err := s.ConsumeToken(t.Context(), tok.Key, now().Add(time.Second))
		assert.ErrorIs(t, err, storage.ErrConsumed)
		if assert.NotNil(t, got) {
			assertTime(t, "ConsumedAt", tok.IssuedAt, got.ConsumedAt)
		}
	})

	t.Run("unknown key is ErrNotFound", func(t *testing.T) {
		s := newStore(t)
		create(t, s, refreshToken(t, newGrantID(t)))
		_, err := s.ConsumeToken(t.Context(), newKey(t), now())
		assert.ErrorIs(t, err, storage.ErrNotFound)
	})

	t.Run("consuming one token leaves the others of the grant alone", func(t *testing.T) {
		s := newStore(t)
		grantID := newGrantID(t)
		a, b := refreshToken(t, grantID), accessToken(t, grantID)
		create(t, s, a, b)
		_, err := s.ConsumeToken(t.Context(), a.Key, now())
		require.NoError(t, err)
		assert.True(t, get(t, s, b.Key).ConsumedAt.IsZero(), "ConsumedAt of the other token")
	})

	t.Run("revoked record is consumed and returned with RevokedAt", func(t *testing.T) {
		s := newStore(t)
		grantID := newGrantID(t)
		tok := refreshToken(t, grantID)
		create(t, s, tok)
		revokedAt := now()
		require.NoError(t, s.RevokeGrant(t.Context(), grantID, revokedAt))
		consumedAt := revokedAt.Add(time.Second)
		got, err := s.ConsumeToken(t.Context(), tok.Key, consumedAt)
		require.NoError(t, err, "checking revocation is the caller's job")
		require.NotNil(t, got)
		assertTime(t, "RevokedAt", revokedAt, got.RevokedAt)
		assertTime(t, "ConsumedAt", consumedAt, got.ConsumedAt)
	})

	t.Run("concurrent callers: exactly one wins", func(t *testing.T) {
		s := newStore(t)
		tok := refreshToken(t, newGrantID(t))
		create(t, s, tok)
		base := now()
		ats := make([]time.Time, concurrency)
		recs := make([]*storage.Token, concurrency)
		errs := make([]error, concurrency)
		for i := range ats {
			ats[i] = base.Add(time.Duration(i+1) * time.Millisecond)
		}
		race(concurrency, func(i int) { recs[i], errs[i] = s.ConsumeToken(t.Context(), tok.Key, ats[i]) })
		w := countWinners(t, errs, storage.ErrConsumed)
		if w < 0 {
			return
		}
		for i, rec := range recs {
			if !assert.NotNil(t, rec, "call %d returned no record", i) {
				continue
			}
			assertTime(t, "ConsumedAt seen by a caller", ats[w], rec.ConsumedAt)
		}
		assertTime(t, "stored ConsumedAt", ats[w], get(t, s, tok.Key).ConsumedAt)
	})

	t.Run("concurrent callers on different keys all win", func(t *testing.T) {
		s := newStore(t)
		grantID := newGrantID(t)
		toks := make([]*storage.Token, concurrency)
		for i := range toks {
			toks[i] = refreshToken(t, grantID)
		}
		create(t, s, toks...)
		errs := make([]error, concurrency)
		race(concurrency, func(i int) { _, errs[i] = s.ConsumeToken(t.Context(), toks[i].Key, now()) })
		for i, err := range errs {
			assert.NoError(t, err, "call %d", i)
		}
	})
}
