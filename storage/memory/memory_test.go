package memory_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/storage"
	"github.com/grantor-dev/grantor/storage/memory"
	"github.com/grantor-dev/grantor/storage/storagetest"
)

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T, clients ...*storage.Client) storagetest.Store {
		s := memory.New()
		for _, c := range clients {
			require.NoError(t, s.PutClient(c))
		}
		return s
	})
}

// fakeClock is a settable clock safe for concurrent use.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func token(key, grantID string, issued time.Time, ttl time.Duration) *storage.Token {
	return &storage.Token{
		Key:       key,
		Kind:      storage.AccessToken,
		GrantID:   grantID,
		ClientID:  "client-a",
		Subject:   "user-1",
		Scopes:    []string{"openid", "profile"},
		Audience:  []string{"https://api.example"},
		IssuedAt:  issued,
		ExpiresAt: issued.Add(ttl),
	}
}

func TestPutClient(t *testing.T) {
	ctx := t.Context()

	t.Run("empty ID is an error", func(t *testing.T) {
		s := memory.New()
		assert.Error(t, s.PutClient(&storage.Client{}))
		assert.Error(t, s.PutClient(nil))
		_, err := s.Client(ctx, "")
		assert.ErrorIs(t, err, storage.ErrNotFound)
	})

	t.Run("replaces the client with the same ID", func(t *testing.T) {
		s := memory.New()
		require.NoError(t, s.PutClient(&storage.Client{ID: "a", Name: "one"}))
		require.NoError(t, s.PutClient(&storage.Client{ID: "a", Name: "two"}))
		got, err := s.Client(ctx, "a")
		require.NoError(t, err)
		assert.Equal(t, "two", got.Name)
	})

	t.Run("DeleteClient removes it", func(t *testing.T) {
		s := memory.New()
		require.NoError(t, s.PutClient(&storage.Client{ID: "a"}))
		s.DeleteClient("a")
		s.DeleteClient("unknown")
		_, err := s.Client(ctx, "a")
		assert.ErrorIs(t, err, storage.ErrNotFound)
	})

	t.Run("the stored client does not alias the argument or the result", func(t *testing.T) {
		s := memory.New()
		c := &storage.Client{
			ID:            "a",
			JWKS:          []byte(`{"keys":[]}`),
			RedirectURIs:  []string{"https://a.example/cb"},
			GrantTypes:    []string{"authorization_code"},
			Scopes:        []string{"openid"},
			DefaultScopes: []string{"openid"},
			Audience:      []string{"https://api.example"},
			Resources:     []string{"https://rs.example"},
		}
		require.NoError(t, s.PutClient(c))
		want := *c
		want.JWKS = []byte(`{"keys":[]}`)
		want.RedirectURIs = []string{"https://a.example/cb"}
		want.GrantTypes = []string{"authorization_code"}
		want.Scopes = []string{"openid"}
		want.DefaultScopes = []string{"openid"}
		want.Audience = []string{"https://api.example"}
		want.Resources = []string{"https://rs.example"}

		c.JWKS[0] = 'X'
		c.RedirectURIs[0] = "https://evil.example/cb"
		c.GrantTypes[0] = "password"
		c.Scopes[0] = "admin"
		c.DefaultScopes[0] = "admin"
		c.Audience[0] = "evil"
		c.Resources[0] = "evil"
		c.Name = "changed"

		got, err := s.Client(ctx, "a")
		require.NoError(t, err)
		assert.Equal(t, &want, got)

		// Changing every field of a returned client, in place or by
		// appending, changes neither the store nor the client's other
		// lists (the copies share one array).
		got.ID, got.SecretHash, got.Disabled = "b", "$other", true
		got.JWKS[0] = 'X'
		for _, l := range []*[]string{&got.RedirectURIs, &got.GrantTypes, &got.Scopes, &got.DefaultScopes, &got.Audience, &got.Resources} {
			(*l)[0] = "changed"
		}
		got.RedirectURIs = append(got.RedirectURIs, "https://evil.example/cb")
		got.GrantTypes = append(got.GrantTypes, "password")
		got.Scopes = append(got.Scopes, "admin")
		got.DefaultScopes = append(got.DefaultScopes, "admin")
		got.Audience = append(got.Audience, "evil")
		assert.Equal(t, []string{"changed", "https://evil.example/cb"}, got.RedirectURIs)
		assert.Equal(t, []string{"changed", "password"}, got.GrantTypes)
		assert.Equal(t, []string{"changed", "admin"}, got.Scopes)
		assert.Equal(t, []string{"changed"}, got.Resources)
		again, err := s.Client(ctx, "a")
		require.NoError(t, err)
		assert.Equal(t, &want, again)
	})
}

func TestTokenCopies(t *testing.T) {
	ctx := t.Context()
	s := memory.New()
	issued := time.Now().UTC().Truncate(time.Second)
	tok := token("key-1", "grant-1", issued, time.Hour)
	tok.Claims = map[string]any{
		"tenant": "acme",
		"groups": []any{"a", "b"},
		"roles":  []string{"x"},
		"org":    map[string]any{"id": "o-1"},
	}
	want := token("key-1", "grant-1", issued, time.Hour)
	want.Claims = map[string]any{
		"tenant": "acme",
		"groups": []any{"a", "b"},
		"roles":  []string{"x"},
		"org":    map[string]any{"id": "o-1"},
	}
	require.NoError(t, s.CreateTokens(ctx, tok))

	// Mutating the argument after the call changes nothing stored.
	tok.Scopes[0] = "admin"
	tok.Audience[0] = "evil"
	tok.Claims["tenant"] = "evil"
	tok.Claims["groups"].([]any)[0] = "evil"
	tok.Claims["roles"].([]string)[0] = "evil"
	tok.Claims["org"].(map[string]any)["id"] = "evil"
	tok.Subject = "user-2"

	got, err := s.Token(ctx, "key-1")
	require.NoError(t, err)
	assert.Equal(t, want, got)

	// Mutating a result changes nothing stored either.
	got.Scopes[0] = "admin"
	got.Audience = append(got.Audience[:0], "evil")
	got.Claims["groups"].([]any)[1] = "evil"
	got.Claims["org"].(map[string]any)["id"] = "evil"
	again, err := s.Token(ctx, "key-1")
	require.NoError(t, err)
	assert.Equal(t, want, again)

	// Records sharing interned scope lists do not see each other's changes.
	other := token("key-2", "grant-1", issued, time.Hour)
	require.NoError(t, s.CreateTokens(ctx, other))
	o, err := s.Token(ctx, "key-2")
	require.NoError(t, err)
	o.Scopes[0] = "admin"
	again, err = s.Token(ctx, "key-1")
	require.NoError(t, err)
	assert.Equal(t, []string{"openid", "profile"}, again.Scopes)

	// A result's lists share one array: appending to the scopes does
	// not write over the audience.
	got, err = s.Token(ctx, "key-1")
	require.NoError(t, err)
	got.Scopes = append(got.Scopes, "admin")
	assert.Equal(t, want.Audience, got.Audience)
	again, err = s.Token(ctx, "key-1")
	require.NoError(t, err)
	assert.Equal(t, want, again)
}

func TestRoundTripExact(t *testing.T) {
	ctx := t.Context()
	s := memory.New()
	tests := []struct {
		name string
		tok  *storage.Token
	}{
		{"nanosecond times", &storage.Token{
			Key: "a", Kind: storage.RefreshToken, GrantID: "g",
			IssuedAt:       time.Date(2030, 1, 1, 0, 0, 0, 123456789, time.UTC),
			ExpiresAt:      time.Date(2030, 1, 2, 0, 0, 0, 1, time.UTC),
			GrantExpiresAt: time.Date(2030, 2, 1, 0, 0, 0, 0, time.UTC),
		}},
		{"times outside the Unix nanosecond range", &storage.Token{
			Key: "b", Kind: storage.AccessToken, GrantID: "g",
			IssuedAt:       time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC),
			ExpiresAt:      time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
			GrantExpiresAt: time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC),
		}},
		{"the Unix epoch is not the zero time", &storage.Token{
			Key: "c", Kind: storage.AccessToken,
			IssuedAt:  time.Unix(0, 0).UTC(),
			ExpiresAt: time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC),
		}},
		{"empty lists and claims stay empty, not nil", &storage.Token{
			Key: "d", Kind: storage.AccessToken, GrantID: "g2",
			Scopes: []string{}, Audience: []string{}, Claims: map[string]any{},
			ExpiresAt: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.NoError(t, s.CreateTokens(ctx, tt.tok))
			got, err := s.Token(ctx, tt.tok.Key)
			require.NoError(t, err)
			assert.Equal(t, tt.tok, got)
		})
	}

	t.Run("setting a time outside the range later keeps the others", func(t *testing.T) {
		far := time.Date(2500, 1, 1, 0, 0, 0, 0, time.UTC)
		got, err := s.ConsumeToken(ctx, "a", far)
		require.NoError(t, err)
		want := *tests[0].tok
		want.ConsumedAt = far
		assert.Equal(t, &want, got)
	})

	t.Run("local times come back in UTC", func(t *testing.T) {
		loc := time.FixedZone("X", 3600)
		tok := &storage.Token{Key: "e", IssuedAt: time.Date(2030, 1, 1, 1, 0, 0, 0, loc),
			ExpiresAt: time.Date(2030, 1, 1, 2, 0, 0, 0, loc)}
		require.NoError(t, s.CreateTokens(ctx, tok))
		got, err := s.Token(ctx, "e")
		require.NoError(t, err)
		assert.Equal(t, time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), got.IssuedAt)
		assert.Equal(t, time.UTC, got.IssuedAt.Location())
	})
}

func TestCreateTokensInvalid(t *testing.T) {
	ctx := t.Context()
	s := memory.New()
	ok := token("ok", "g", time.Now(), time.Hour)
	for name, batch := range map[string][]*storage.Token{
		"nil record":    {ok, nil},
		"empty key":     {ok, {Kind: storage.AccessToken}},
		"duplicate key": {ok, token("ok", "g", time.Now(), time.Hour)},
	} {
		t.Run(name+" stores nothing", func(t *testing.T) {
			assert.Error(t, s.CreateTokens(ctx, batch...))
			_, err := s.Token(ctx, "ok")
			assert.ErrorIs(t, err, storage.ErrNotFound)
		})
	}
}

func TestRevocation(t *testing.T) {
	ctx := t.Context()
	clock := newFakeClock()
	s := memory.New(memory.WithClock(clock.Now))
	t0 := clock.Now()

	t.Run("tokens of a revoked grant get the grant's revocation time", func(t *testing.T) {
		require.NoError(t, s.CreateTokens(ctx, token("a1", "ga", t0, time.Hour)))
		revokedAt := t0.Add(time.Minute)
		require.NoError(t, s.RevokeGrant(ctx, "ga", revokedAt))
		require.NoError(t, s.RevokeGrant(ctx, "ga", revokedAt.Add(time.Minute)))
		require.NoError(t, s.CreateTokens(ctx, token("a2", "ga", t0, time.Hour)))
		for _, key := range []string{"a1", "a2"} {
			got, err := s.Token(ctx, key)
			require.NoError(t, err)
			assert.Equal(t, revokedAt, got.RevokedAt, key)
		}
	})

	t.Run("the first revocation time is kept", func(t *testing.T) {
		require.NoError(t, s.CreateTokens(ctx, token("b1", "gb", t0, time.Hour)))
		require.NoError(t, s.RevokeToken(ctx, "b1", t0.Add(time.Second)))
		require.NoError(t, s.RevokeToken(ctx, "b1", t0.Add(2*time.Second)))
		require.NoError(t, s.RevokeGrant(ctx, "gb", t0.Add(3*time.Second)))
		got, err := s.Token(ctx, "b1")
		require.NoError(t, err)
		assert.Equal(t, t0.Add(time.Second), got.RevokedAt)
	})

	t.Run("a zero time still revokes and consumes, at the store clock", func(t *testing.T) {
		require.NoError(t, s.CreateTokens(ctx, token("c1", "gc", t0, time.Hour), token("c2", "gc2", t0, time.Hour)))
		require.NoError(t, s.RevokeToken(ctx, "c1", time.Time{}))
		require.NoError(t, s.RevokeGrant(ctx, "gc2", time.Time{}))
		for _, key := range []string{"c1", "c2"} {
			got, err := s.Token(ctx, key)
			require.NoError(t, err)
			assert.Equal(t, clock.Now(), got.RevokedAt, key)
		}
		require.NoError(t, s.CreateTokens(ctx, token("c3", "gc3", t0, time.Hour)))
		got, err := s.ConsumeToken(ctx, "c3", time.Time{})
		require.NoError(t, err)
		assert.Equal(t, clock.Now(), got.ConsumedAt)
		_, err = s.ConsumeToken(ctx, "c3", time.Time{})
		assert.ErrorIs(t, err, storage.ErrConsumed)
	})

	t.Run("records without a grant ID belong to no grant", func(t *testing.T) {
		require.NoError(t, s.CreateTokens(ctx, token("d1", "", t0, time.Hour)))
		require.NoError(t, s.RevokeGrant(ctx, "", t0))
		require.NoError(t, s.CreateTokens(ctx, token("d2", "", t0, time.Hour)))
		for _, key := range []string{"d1", "d2"} {
			got, err := s.Token(ctx, key)
			require.NoError(t, err)
			assert.True(t, got.RevokedAt.IsZero(), key)
			assert.Empty(t, got.GrantID, key)
		}
	})
}

func TestExpirySweep(t *testing.T) {
	ctx := t.Context()

	t.Run("DeleteExpired deletes records once ExpiresAt has passed", func(t *testing.T) {
		clock := newFakeClock()
		s := memory.New(memory.WithClock(clock.Now), memory.WithSweepInterval(0))
		t0 := clock.Now()
		require.NoError(t, s.CreateTokens(ctx,
			token("short", "g", t0, time.Minute),
			token("long", "g", t0, time.Hour),
		))
		n, err := s.DeleteExpired(ctx)
		require.NoError(t, err)
		assert.Zero(t, n)

		clock.Advance(time.Minute) // "short" expires at exactly this instant
		n, err = s.DeleteExpired(ctx)
		require.NoError(t, err)
		assert.Equal(t, 1, n)
		_, err = s.Token(ctx, "short")
		assert.ErrorIs(t, err, storage.ErrNotFound)
		_, err = s.Token(ctx, "long")
		assert.NoError(t, err)

		// The key of a deleted record may be used again.
		assert.NoError(t, s.CreateTokens(ctx, token("short", "g", clock.Now(), time.Minute)))
	})

	t.Run("consumed refresh tokens are kept until they expire, so reuse is detected", func(t *testing.T) {
		clock := newFakeClock()
		s := memory.New(memory.WithClock(clock.Now))
		t0 := clock.Now()
		rt := token("rt", "g", t0, time.Hour)
		rt.Kind = storage.RefreshToken
		require.NoError(t, s.CreateTokens(ctx, rt))
		_, err := s.ConsumeToken(ctx, "rt", t0)
		require.NoError(t, err)

		clock.Advance(59 * time.Minute)
		_, err = s.DeleteExpired(ctx)
		require.NoError(t, err)
		_, err = s.ConsumeToken(ctx, "rt", clock.Now())
		assert.ErrorIs(t, err, storage.ErrConsumed)

		clock.Advance(time.Minute)
		_, err = s.DeleteExpired(ctx)
		require.NoError(t, err)
		_, err = s.ConsumeToken(ctx, "rt", clock.Now())
		assert.ErrorIs(t, err, storage.ErrNotFound)
	})

	t.Run("a write sweeps once the interval has passed", func(t *testing.T) {
		clock := newFakeClock()
		s := memory.New(memory.WithClock(clock.Now), memory.WithSweepInterval(time.Minute))
		t0 := clock.Now()
		require.NoError(t, s.CreateTokens(ctx, token("a", "g", t0, 10*time.Second)))

		clock.Advance(30 * time.Second) // expired, but no sweep is due
		require.NoError(t, s.CreateTokens(ctx, token("b", "g", clock.Now(), time.Hour)))
		_, err := s.Token(ctx, "a")
		assert.NoError(t, err, "expired records are returned until a sweep")

		clock.Advance(30 * time.Second) // a minute since the first write's sweep
		require.NoError(t, s.RevokeToken(ctx, "b", clock.Now()))
		_, err = s.Token(ctx, "a")
		assert.ErrorIs(t, err, storage.ErrNotFound)
	})

	t.Run("no automatic sweep when the interval is zero", func(t *testing.T) {
		clock := newFakeClock()
		s := memory.New(memory.WithClock(clock.Now), memory.WithSweepInterval(0))
		require.NoError(t, s.CreateTokens(ctx, token("a", "g", clock.Now(), time.Second)))
		clock.Advance(time.Hour)
		require.NoError(t, s.CreateTokens(ctx, token("b", "g", clock.Now(), time.Second)))
		_, err := s.Token(ctx, "a")
		assert.NoError(t, err)
	})

	t.Run("replay entries expire at the store clock", func(t *testing.T) {
		clock := newFakeClock()
		s := memory.New(memory.WithClock(clock.Now))
		t0 := clock.Now()
		require.NoError(t, s.Remember(ctx, "jti", t0.Add(time.Minute)))
		clock.Advance(59 * time.Second)
		assert.ErrorIs(t, s.Remember(ctx, "jti", clock.Now().Add(time.Minute)), storage.ErrConsumed)
		clock.Advance(time.Second)
		assert.NoError(t, s.Remember(ctx, "jti", clock.Now().Add(time.Minute)), "expired at exactly expiresAt")

		require.NoError(t, s.Remember(ctx, "other", clock.Now().Add(time.Second)))
		clock.Advance(time.Hour)
		n, err := s.DeleteExpired(ctx)
		require.NoError(t, err)
		assert.Equal(t, 2, n)
	})

	t.Run("Remember refuses a zero expiry", func(t *testing.T) {
		s := memory.New()
		err := s.Remember(ctx, "jti", time.Time{})
		require.Error(t, err)
		assert.NotErrorIs(t, err, storage.ErrConsumed)
	})

	t.Run("far-future replay entries never expire", func(t *testing.T) {
		clock := newFakeClock()
		s := memory.New(memory.WithClock(clock.Now))
		require.NoError(t, s.Remember(ctx, "jti", time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)))
		clock.Advance(100 * 365 * 24 * time.Hour)
		assert.ErrorIs(t, s.Remember(ctx, "jti", clock.Now().Add(time.Minute)), storage.ErrConsumed)
	})
}

func TestRevokedGrantRetention(t *testing.T) {
	ctx := t.Context()

	isRevoked := func(t *testing.T, s *memory.Store, key, grantID string, now time.Time) bool {
		t.Helper()
		require.NoError(t, s.CreateTokens(ctx, token(key, grantID, now, time.Minute)))
		got, err := s.Token(ctx, key)
		require.NoError(t, err)
		return !got.RevokedAt.IsZero()
	}

	t.Run("a marker without tokens is kept for the retention period", func(t *testing.T) {
		clock := newFakeClock()
		s := memory.New(memory.WithClock(clock.Now))
		require.NoError(t, s.RevokeGrant(ctx, "g", clock.Now()))
		clock.Advance(24*time.Hour - time.Minute)
		_, err := s.DeleteExpired(ctx)
		require.NoError(t, err)
		assert.True(t, isRevoked(t, s, "a", "g", clock.Now()), "just before the retention ends")

		clock.Advance(time.Hour) // "a" has expired, the retention has ended
		_, err = s.DeleteExpired(ctx)
		require.NoError(t, err)
		assert.False(t, isRevoked(t, s, "b", "g", clock.Now()), "after the retention")
	})

	t.Run("a marker is kept while the grant has tokens", func(t *testing.T) {
		clock := newFakeClock()
		s := memory.New(memory.WithClock(clock.Now))
		require.NoError(t, s.CreateTokens(ctx, token("long", "g", clock.Now(), 48*time.Hour)))
		require.NoError(t, s.RevokeGrant(ctx, "g", clock.Now()))
		clock.Advance(47 * time.Hour)
		_, err := s.DeleteExpired(ctx)
		require.NoError(t, err)
		assert.True(t, isRevoked(t, s, "a", "g", clock.Now()))
	})

	t.Run("retention counts from a revocation time in the future", func(t *testing.T) {
		clock := newFakeClock()
		s := memory.New(memory.WithClock(clock.Now), memory.WithRevokedGrantRetention(time.Hour))
		require.NoError(t, s.RevokeGrant(ctx, "g", clock.Now().Add(time.Hour)))
		clock.Advance(90 * time.Minute)
		_, err := s.DeleteExpired(ctx)
		require.NoError(t, err)
		assert.True(t, isRevoked(t, s, "a", "g", clock.Now()))
	})

	t.Run("the retention is configurable", func(t *testing.T) {
		clock := newFakeClock()
		s := memory.New(memory.WithClock(clock.Now), memory.WithRevokedGrantRetention(time.Hour))
		require.NoError(t, s.RevokeGrant(ctx, "g", clock.Now()))
		clock.Advance(time.Hour)
		_, err := s.DeleteExpired(ctx)
		require.NoError(t, err)
		assert.False(t, isRevoked(t, s, "a", "g", clock.Now()))
	})
}

func TestCancelledContext(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	s := memory.New()
	_, err := s.DeleteExpired(ctx)
	assert.ErrorIs(t, err, context.Canceled)
}

func TestConcurrentMixedUse(t *testing.T) {
	// Run under -race: readers, writers and sweeps interleaving.
	ctx := t.Context()
	clock := newFakeClock()
	s := memory.New(memory.WithClock(clock.Now), memory.WithSweepInterval(time.Second))
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 200 {
				key := string(rune('a'+w)) + "-" + time.Duration(i).String()
				grantID := "g-" + string(rune('a'+w))
				now := clock.Now()
				assert.NoError(t, s.CreateTokens(ctx, token(key, grantID, now, time.Duration(i%5)*time.Second)))
				_, _ = s.Token(ctx, key)
				_, _ = s.ConsumeToken(ctx, key, now)
				if i%50 == 0 {
					assert.NoError(t, s.RevokeGrant(ctx, grantID, now))
				}
				_ = s.Remember(ctx, key, now.Add(time.Second))
				clock.Advance(100 * time.Millisecond)
			}
		})
	}
	wg.Wait()
	_, err := s.DeleteExpired(ctx)
	assert.NoError(t, err)
}

func TestSweepAfterClockSetBack(t *testing.T) {
	ctx := t.Context()
	clock := newFakeClock()
	s := memory.New(memory.WithClock(clock.Now), memory.WithSweepInterval(time.Minute))
	require.NoError(t, s.CreateTokens(ctx, token("a", "g", clock.Now(), time.Hour))) // sweeps, next in a minute
	clock.Advance(-24 * time.Hour)
	require.NoError(t, s.CreateTokens(ctx, token("b", "g", clock.Now(), time.Second)))
	// "b" has expired. The sweep schedule still says "a day from now"; the
	// set-back rule is what makes the next write sweep.
	clock.Advance(time.Hour)
	require.NoError(t, s.RevokeToken(ctx, "a", clock.Now()))
	_, err := s.Token(ctx, "b")
	assert.ErrorIs(t, err, storage.ErrNotFound)
}

// The first record of a grant shares an allocation with the grant's index
// entry, which lists it in an inline slot. Whatever the grant's history,
// revoking it must reach exactly its live records.
func TestGrantIndexLifecycle(t *testing.T) {
	ctx := t.Context()
	revoked := func(t *testing.T, s *memory.Store, key string) bool {
		t.Helper()
		got, err := s.Token(ctx, key)
		require.NoError(t, err)
		return !got.RevokedAt.IsZero()
	}

	t.Run("a grant with one record, as of a client credentials token", func(t *testing.T) {
		clock := newFakeClock()
		s := memory.New(memory.WithClock(clock.Now))
		require.NoError(t, s.CreateTokens(ctx, token("cc1", "g1", clock.Now(), time.Hour)))
		require.NoError(t, s.CreateTokens(ctx, token("cc2", "g2", clock.Now(), time.Hour)))
		got, err := s.Token(ctx, "cc1")
		require.NoError(t, err)
		assert.Equal(t, "g1", got.GrantID)
		require.NoError(t, s.RevokeGrant(ctx, "g1", clock.Now()))
		assert.True(t, revoked(t, s, "cc1"))
		assert.False(t, revoked(t, s, "cc2"), "another grant")
	})

	t.Run("records added one by one past the inline slot", func(t *testing.T) {
		clock := newFakeClock()
		s := memory.New(memory.WithClock(clock.Now))
		keys := []string{"r1", "r2", "r3", "r4", "r5"}
		for _, k := range keys {
			require.NoError(t, s.CreateTokens(ctx, token(k, "g", clock.Now(), time.Hour)))
		}
		require.NoError(t, s.CreateTokens(ctx, token("other", "h", clock.Now(), time.Hour)))
		require.NoError(t, s.RevokeGrant(ctx, "g", clock.Now()))
		for _, k := range keys {
			assert.True(t, revoked(t, s, k), k)
		}
		assert.False(t, revoked(t, s, "other"))
	})

	t.Run("the first record swept, the grant's later records stay revocable", func(t *testing.T) {
		clock := newFakeClock()
		s := memory.New(memory.WithClock(clock.Now), memory.WithSweepInterval(0))
		require.NoError(t, s.CreateTokens(ctx, token("first", "g", clock.Now(), time.Minute)))
		require.NoError(t, s.CreateTokens(ctx, token("second", "g", clock.Now(), time.Hour)))
		clock.Advance(time.Minute)
		n, err := s.DeleteExpired(ctx)
		require.NoError(t, err)
		require.Equal(t, 1, n)
		require.NoError(t, s.CreateTokens(ctx, token("third", "g", clock.Now(), time.Hour)))
		require.NoError(t, s.RevokeGrant(ctx, "g", clock.Now()))
		assert.True(t, revoked(t, s, "second"))
		assert.True(t, revoked(t, s, "third"))
		_, err = s.Token(ctx, "first")
		assert.ErrorIs(t, err, storage.ErrNotFound)
	})

	t.Run("every record swept, a new record starts the grant afresh", func(t *testing.T) {
		clock := newFakeClock()
		s := memory.New(memory.WithClock(clock.Now), memory.WithSweepInterval(0))
		require.NoError(t, s.CreateTokens(ctx, token("old", "g", clock.Now(), time.Minute)))
		clock.Advance(time.Minute)
		_, err := s.DeleteExpired(ctx)
		require.NoError(t, err)
		require.NoError(t, s.CreateTokens(ctx, token("new", "g", clock.Now(), time.Hour)))
		assert.False(t, revoked(t, s, "new"))
		require.NoError(t, s.RevokeGrant(ctx, "g", clock.Now()))
		assert.True(t, revoked(t, s, "new"))
	})

	t.Run("a revoked grant whose records were swept still revokes its next record", func(t *testing.T) {
		clock := newFakeClock()
		s := memory.New(memory.WithClock(clock.Now), memory.WithSweepInterval(0))
		require.NoError(t, s.CreateTokens(ctx, token("old", "g", clock.Now(), time.Minute)))
		require.NoError(t, s.RevokeGrant(ctx, "g", clock.Now()))
		clock.Advance(time.Minute)
		_, err := s.DeleteExpired(ctx)
		require.NoError(t, err)
		require.NoError(t, s.CreateTokens(ctx, token("late", "g", clock.Now(), time.Hour)))
		assert.True(t, revoked(t, s, "late"))
	})
}
