package storagetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/storage"
)

func testCreateTokens(t *testing.T, newStore func(*testing.T) storage.TokenStore) {
	t.Run("round trip keeps every field", func(t *testing.T) {
		s := newStore(t)
		grantID := newGrantID(t)
		at := accessToken(t, grantID)
		at.Claims = map[string]any{
			"tenant": "acme",
			"level":  float64(3),
			"admin":  true,
			"groups": []any{"a", "b"},
			"org":    map[string]any{"id": "o-1", "tier": float64(2)},
		}
		rt := refreshToken(t, grantID)
		rt.Claims = map[string]any{"tenant": "acme"}
		create(t, s, at, rt)
		assertToken(t, at, get(t, s, at.Key))
		assertToken(t, rt, get(t, s, rt.Key))
	})

	t.Run("record with only the required fields round trips", func(t *testing.T) {
		s := newStore(t)
		n := now()
		want := &storage.Token{
			Key:       newKey(t),
			Kind:      storage.AccessToken,
			GrantID:   newGrantID(t),
			ClientID:  "client-a",
			IssuedAt:  n,
			ExpiresAt: n.Add(time.Minute),
		}
		create(t, s, want)
		assertToken(t, want, get(t, s, want.Key))
	})

	t.Run("ConsumedAt and RevokedAt given at creation are kept", func(t *testing.T) {
		s := newStore(t)
		tok := refreshToken(t, newGrantID(t))
		tok.ConsumedAt = tok.IssuedAt.Add(time.Second)
		tok.RevokedAt = tok.IssuedAt.Add(2 * time.Second)
		create(t, s, tok)
		assertToken(t, tok, get(t, s, tok.Key))
	})

	t.Run("kinds are kept apart", func(t *testing.T) {
		s := newStore(t)
		grantID := newGrantID(t)
		at, rt := accessToken(t, grantID), refreshToken(t, grantID)
		create(t, s, at)
		create(t, s, rt)
		assert.Equal(t, storage.AccessToken, get(t, s, at.Key).Kind)
		assert.Equal(t, storage.RefreshToken, get(t, s, rt.Key).Kind)
	})

	t.Run("empty batch is not an error", func(t *testing.T) {
		s := newStore(t)
		assert.NoError(t, s.CreateTokens(t.Context()))
	})

	t.Run("existing key is ErrDuplicate and the stored record is unchanged", func(t *testing.T) {
		s := newStore(t)
		first := accessToken(t, newGrantID(t))
		create(t, s, first)
		second := accessToken(t, newGrantID(t))
		second.Key = first.Key
		second.Subject = "user-2"
		err := s.CreateTokens(t.Context(), second)
		assert.ErrorIs(t, err, storage.ErrDuplicate)
		assertToken(t, first, get(t, s, first.Key))
	})

	t.Run("batch with an existing key stores none of its records", func(t *testing.T) {
		s := newStore(t)
		existing := accessToken(t, newGrantID(t))
		create(t, s, existing)
		grantID := newGrantID(t)
		fresh := refreshToken(t, grantID)
		dup := accessToken(t, grantID)
		dup.Key = existing.Key
		for _, batch := range [][]*storage.Token{{fresh, dup}, {dup, fresh}} {
			err := s.CreateTokens(t.Context(), batch...)
			assert.ErrorIs(t, err, storage.ErrDuplicate)
			assertNotFound(t, s, fresh.Key)
		}
		assertToken(t, existing, get(t, s, existing.Key))
	})

	t.Run("key repeated within a batch is ErrDuplicate and stores nothing", func(t *testing.T) {
		s := newStore(t)
		grantID := newGrantID(t)
		a, b, c := accessToken(t, grantID), accessToken(t, grantID), refreshToken(t, grantID)
		b.Key = a.Key
		err := s.CreateTokens(t.Context(), c, a, b)
		assert.ErrorIs(t, err, storage.ErrDuplicate)
		assertNotFound(t, s, a.Key)
		assertNotFound(t, s, c.Key)
	})

	t.Run("keys are matched exactly", func(t *testing.T) {
		s := newStore(t)
		grantID := newGrantID(t)
		a := accessToken(t, grantID)
		a.Key = "abcDEF_-0123456789abcdefghijklmnopqrstuvwxy"
		b := accessToken(t, grantID)
		b.Key = "ABCdef_-0123456789abcdefghijklmnopqrstuvwxy"
		create(t, s, a, b)
		assert.Equal(t, a.Key, get(t, s, a.Key).Key)
		assert.Equal(t, b.Key, get(t, s, b.Key).Key)
		assertNotFound(t, s, a.Key[:42])
		assertNotFound(t, s, a.Key+" ")
	})

	t.Run("concurrent callers with one key: exactly one wins", func(t *testing.T) {
		s := newStore(t)
		key := newKey(t)
		toks := make([]*storage.Token, concurrency)
		for i := range toks {
			toks[i] = accessToken(t, newGrantID(t))
			toks[i].Key = key
		}
		errs := make([]error, concurrency)
		race(concurrency, func(i int) { errs[i] = s.CreateTokens(t.Context(), toks[i]) })
		if w := countWinners(t, errs, storage.ErrDuplicate); w >= 0 {
			assertToken(t, toks[w], get(t, s, key))
		}
	})
}

func testToken(t *testing.T, newStore func(*testing.T) storage.TokenStore) {
	t.Run("unknown key is ErrNotFound", func(t *testing.T) {
		s := newStore(t)
		create(t, s, accessToken(t, newGrantID(t)))
		_, err := s.Token(t.Context(), newKey(t))
		assert.ErrorIs(t, err, storage.ErrNotFound)
	})

	t.Run("empty key is ErrNotFound", func(t *testing.T) {
		s := newStore(t)
		create(t, s, accessToken(t, newGrantID(t)))
		_, err := s.Token(t.Context(), "")
		assert.ErrorIs(t, err, storage.ErrNotFound)
	})

	t.Run("revoked and consumed records are returned", func(t *testing.T) {
		s := newStore(t)
		rt := refreshToken(t, newGrantID(t))
		rt.ConsumedAt = rt.IssuedAt.Add(time.Second)
		create(t, s, rt)
		revokedAt := rt.ConsumedAt.Add(time.Second)
		require.NoError(t, s.RevokeToken(t.Context(), rt.Key, revokedAt))
		got := get(t, s, rt.Key)
		rt.RevokedAt = revokedAt
		assertToken(t, rt, got)
		assert.False(t, got.Active(revokedAt))
	})
}

func testRevokeToken(t *testing.T, newStore func(*testing.T) storage.TokenStore) {
	t.Run("sets RevokedAt", func(t *testing.T) {
		s := newStore(t)
		tok := accessToken(t, newGrantID(t))
		create(t, s, tok)
		at := now()
		require.NoError(t, s.RevokeToken(t.Context(), tok.Key, at))
		got := get(t, s, tok.Key)
		assertTime(t, "RevokedAt", at, got.RevokedAt)
		assert.False(t, got.Active(at), "a revoked token is not active")
		tok.RevokedAt = at
		assertToken(t, tok, got)
	})

	t.Run("unknown key is ErrNotFound", func(t *testing.T) {
		s := newStore(t)
		create(t, s, accessToken(t, newGrantID(t)))
		err := s.RevokeToken(t.Context(), newKey(t), now())
		assert.ErrorIs(t, err, storage.ErrNotFound)
	})

	t.Run("other tokens of the grant stay unrevoked", func(t *testing.T) {
		s := newStore(t)
		grantID := newGrantID(t)
		at, rt := accessToken(t, grantID), refreshToken(t, grantID)
		create(t, s, at, rt)
		require.NoError(t, s.RevokeToken(t.Context(), at.Key, now()))
		assert.True(t, get(t, s, rt.Key).RevokedAt.IsZero(), "RevokedAt of the other token")
	})

	t.Run("revoking twice leaves the token revoked", func(t *testing.T) {
		s := newStore(t)
		tok := accessToken(t, newGrantID(t))
		create(t, s, tok)
		at := now()
		require.NoError(t, s.RevokeToken(t.Context(), tok.Key, at))
		assert.NoError(t, s.RevokeToken(t.Context(), tok.Key, at.Add(time.Second)))
		assert.False(t, get(t, s, tok.Key).RevokedAt.IsZero())
	})

	t.Run("a second revocation keeps the first RevokedAt", func(t *testing.T) {
		s := newStore(t)
		tok := accessToken(t, newGrantID(t))
		create(t, s, tok)
		first := now()
		require.NoError(t, s.RevokeToken(t.Context(), tok.Key, first))
		require.NoError(t, s.RevokeToken(t.Context(), tok.Key, first.Add(time.Second)), "a later revocation")
		assertTime(t, "RevokedAt after a later revocation", first, get(t, s, tok.Key).RevokedAt)
		require.NoError(t, s.RevokeToken(t.Context(), tok.Key, first.Add(-time.Second)), "an earlier revocation")
		assertTime(t, "RevokedAt after an earlier revocation", first, get(t, s, tok.Key).RevokedAt)
	})

	t.Run("a token created revoked, or revoked with its grant, keeps that RevokedAt", func(t *testing.T) {
		s := newStore(t)
		grantID := newGrantID(t)
		created, ofGrant := accessToken(t, newGrantID(t)), refreshToken(t, grantID)
		created.RevokedAt = created.IssuedAt.Add(time.Second)
		create(t, s, created, ofGrant)
		grantAt := now()
		require.NoError(t, s.RevokeGrant(t.Context(), grantID, grantAt))
		for _, tok := range []*storage.Token{created, ofGrant} {
			require.NoError(t, s.RevokeToken(t.Context(), tok.Key, grantAt.Add(time.Minute)))
		}
		assertTime(t, "RevokedAt of the token created revoked", created.RevokedAt, get(t, s, created.Key).RevokedAt)
		assertTime(t, "RevokedAt of the token revoked with its grant", grantAt, get(t, s, ofGrant.Key).RevokedAt)
	})

	t.Run("does not consume", func(t *testing.T) {
		s := newStore(t)
		tok := refreshToken(t, newGrantID(t))
		create(t, s, tok)
		require.NoError(t, s.RevokeToken(t.Context(), tok.Key, now()))
		assert.True(t, get(t, s, tok.Key).ConsumedAt.IsZero(), "ConsumedAt")
	})
}

func testRevokeGrant(t *testing.T, newStore func(*testing.T) storage.TokenStore) {
	t.Run("revokes every token of the grant", func(t *testing.T) {
		s := newStore(t)
		grantID := newGrantID(t)
		toks := []*storage.Token{accessToken(t, grantID), accessToken(t, grantID), refreshToken(t, grantID)}
		create(t, s, toks[:2]...)
		create(t, s, toks[2])
		at := now()
		require.NoError(t, s.RevokeGrant(t.Context(), grantID, at))
		for _, tok := range toks {
			got := get(t, s, tok.Key)
			assertTime(t, "RevokedAt", at, got.RevokedAt)
			tok.RevokedAt = at
			assertToken(t, tok, got)
		}
	})

	t.Run("revokes the grant's tokens of every client and subject", func(t *testing.T) {
		// A token exchanged from one of the grant's tokens (RFC 8693) is
		// issued to another client, maybe with an act claim, yet joins
		// the grant: revoking it must reach that token too.
		s := newStore(t)
		grantID := newGrantID(t)
		user := refreshToken(t, grantID)
		exchanged := accessToken(t, grantID)
		exchanged.ClientID, exchanged.Subject = "another-client", user.Subject
		exchanged.Claims = map[string]any{"act": map[string]any{"sub": "client:another-client"}}
		exchangedRT := refreshToken(t, grantID)
		exchangedRT.ClientID = "another-client"
		create(t, s, user)
		create(t, s, exchanged, exchangedRT)
		at := now()
		require.NoError(t, s.RevokeGrant(t.Context(), grantID, at))
		for _, tok := range []*storage.Token{user, exchanged, exchangedRT} {
			got := get(t, s, tok.Key)
			assertTime(t, "RevokedAt", at, got.RevokedAt)
			tok.RevokedAt = at
			assertToken(t, tok, got)
		}
	})

	t.Run("leaves the tokens of other grants alone", func(t *testing.T) {
		s := newStore(t)
		revoked, other := newGrantID(t), newGrantID(t)
		mine := accessToken(t, revoked)
		theirs := []*storage.Token{accessToken(t, other), refreshToken(t, other)}
		create(t, s, mine, theirs[0], theirs[1])
		require.NoError(t, s.RevokeGrant(t.Context(), revoked, now()))
		assert.False(t, get(t, s, mine.Key).RevokedAt.IsZero())
		for _, tok := range theirs {
			assertToken(t, tok, get(t, s, tok.Key))
		}
	})

	t.Run("grant ids are matched exactly", func(t *testing.T) {
		s := newStore(t)
		grantID := newGrantID(t)
		tok := accessToken(t, grantID)
		create(t, s, tok)
		for _, id := range []string{grantID[:15], grantID + " ", grantID + "x"} {
			require.NoError(t, s.RevokeGrant(t.Context(), id, now()))
		}
		assert.True(t, get(t, s, tok.Key).RevokedAt.IsZero(), "RevokedAt")
	})

	t.Run("keeps ConsumedAt of consumed tokens", func(t *testing.T) {
		s := newStore(t)
		grantID := newGrantID(t)
		rt := refreshToken(t, grantID)
		consumedAt := rt.IssuedAt.Add(time.Second)
		rt.ConsumedAt = consumedAt
		create(t, s, rt)
		require.NoError(t, s.RevokeGrant(t.Context(), grantID, consumedAt.Add(time.Second)))
		got := get(t, s, rt.Key)
		assertTime(t, "ConsumedAt", consumedAt, got.ConsumedAt)
		assert.False(t, got.RevokedAt.IsZero(), "RevokedAt")
	})

	t.Run("tokens created for the grant afterwards are stored revoked", func(t *testing.T) {
		s := newStore(t)
		grantID := newGrantID(t)
		create(t, s, refreshToken(t, grantID))
		require.NoError(t, s.RevokeGrant(t.Context(), grantID, now()))
		later := []*storage.Token{accessToken(t, grantID), refreshToken(t, grantID)}
		create(t, s, later...)
		for _, tok := range later {
			got := get(t, s, tok.Key)
			assert.False(t, got.RevokedAt.IsZero(), "RevokedAt")
			assert.False(t, got.Active(now()), "a token of a revoked grant is not active")
		}
	})

	t.Run("unknown grant is not an error", func(t *testing.T) {
		s := newStore(t)
		create(t, s, accessToken(t, newGrantID(t)))
		assert.NoError(t, s.RevokeGrant(t.Context(), newGrantID(t), now()))
	})

	t.Run("revoking an unknown grant revokes its later tokens", func(t *testing.T) {
		s := newStore(t)
		grantID := newGrantID(t)
		require.NoError(t, s.RevokeGrant(t.Context(), grantID, now()))
		tok := accessToken(t, grantID)
		create(t, s, tok)
		assert.False(t, get(t, s, tok.Key).RevokedAt.IsZero(), "RevokedAt")
	})

	t.Run("empty grant ID revokes nothing, not even the records created without a grant", func(t *testing.T) {
		s := newStore(t)
		noGrant := accessToken(t, "")
		other := refreshToken(t, newGrantID(t))
		create(t, s, noGrant, other)
		require.NoError(t, s.RevokeGrant(t.Context(), "", now()))
		assertToken(t, noGrant, get(t, s, noGrant.Key))
		assertToken(t, other, get(t, s, other.Key))
		later := accessToken(t, "")
		create(t, s, later)
		assertToken(t, later, get(t, s, later.Key))
	})

	t.Run("a token revoked before keeps its first RevokedAt", func(t *testing.T) {
		s := newStore(t)
		grantID := newGrantID(t)
		early, rest := accessToken(t, grantID), refreshToken(t, grantID)
		create(t, s, early, rest)
		first := now()
		require.NoError(t, s.RevokeToken(t.Context(), early.Key, first))
		require.NoError(t, s.RevokeGrant(t.Context(), grantID, first.Add(time.Second)))
		assertTime(t, "RevokedAt of the token revoked first", first, get(t, s, early.Key).RevokedAt)
		assertTime(t, "RevokedAt of the others", first.Add(time.Second), get(t, s, rest.Key).RevokedAt)
		require.NoError(t, s.RevokeGrant(t.Context(), grantID, first.Add(time.Minute)), "a second revocation")
		assertTime(t, "RevokedAt after a second revocation of the grant", first.Add(time.Second), get(t, s, rest.Key).RevokedAt)
	})

	t.Run("revoking twice is not an error", func(t *testing.T) {
		s := newStore(t)
		grantID := newGrantID(t)
		tok := accessToken(t, grantID)
		create(t, s, tok)
		at := now()
		require.NoError(t, s.RevokeGrant(t.Context(), grantID, at))
		assert.NoError(t, s.RevokeGrant(t.Context(), grantID, at.Add(time.Second)))
		assert.False(t, get(t, s, tok.Key).RevokedAt.IsZero(), "RevokedAt")
	})

	t.Run("concurrent with CreateTokens: the new tokens end up revoked", func(t *testing.T) {
		s := newStore(t)
		const rounds, creators = 20, 8
		for round := range rounds {
			grantID := newGrantID(t)
			old := refreshToken(t, grantID)
			create(t, s, old)
			fresh := make([][]*storage.Token, creators)
			for i := range fresh {
				fresh[i] = []*storage.Token{accessToken(t, grantID), refreshToken(t, grantID)}
			}
			errs := make([]error, creators+1)
			// The revocation races several creations, so that some of
			// them straddle it whatever order the goroutines start in.
			revoker := round % (creators + 1)
			race(creators+1, func(i int) {
				switch {
				case i == revoker:
					errs[i] = s.RevokeGrant(t.Context(), grantID, now())
				case i < revoker:
					errs[i] = s.CreateTokens(t.Context(), fresh[i]...)
				default:
					errs[i] = s.CreateTokens(t.Context(), fresh[i-1]...)
				}
			})
			for i, err := range errs {
				require.NoError(t, err, "round %d, call %d", round, i)
			}
			assert.False(t, get(t, s, old.Key).RevokedAt.IsZero(), "round %d: RevokedAt of the earlier token", round)
			for i, batch := range fresh {
				for _, tok := range batch {
					assert.False(t, get(t, s, tok.Key).RevokedAt.IsZero(),
						"round %d: RevokedAt of a token created concurrently (creator %d)", round, i)
				}
			}
		}
	})

	t.Run("concurrent revocations of one grant all succeed", func(t *testing.T) {
		s := newStore(t)
		grantID := newGrantID(t)
		tok := refreshToken(t, grantID)
		create(t, s, tok)
		errs := make([]error, concurrency)
		race(concurrency, func(i int) { errs[i] = s.RevokeGrant(t.Context(), grantID, now()) })
		for i, err := range errs {
			assert.NoError(t, err, "call %d", i)
		}
		assert.False(t, get(t, s, tok.Key).RevokedAt.IsZero(), "RevokedAt")
	})
}
