package postgres_test

import (
	"crypto/rand"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/storage"
	"github.com/grantor-dev/grantor/storage/postgres"
)

// race runs f(i) for i in [0, n) in n goroutines released at once, and
// waits for them.
func race(n int, f func(i int)) {
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			f(i)
		})
	}
	close(start)
	wg.Wait()
}

// winners counts the nil errors of errs, and checks that every other one
// is storage.ErrConsumed.
func winners(t *testing.T, errs []error) int {
	t.Helper()
	n := 0
	for i, err := range errs {
		switch {
		case err == nil:
			n++
		case !errors.Is(err, storage.ErrConsumed):
			t.Errorf("call %d: %v, want nil or ErrConsumed", i, err)
		}
	}
	return n
}

// TestInstances checks that two instances, each with its own pool over one
// database, behave as one server: each use-once operation raced by 50
// goroutines, split across the two, has exactly one winner.
func TestInstances(t *testing.T) {
	ts := newTestServer(t)
	poolA, cfg := ts.migratedPool(t)
	poolB := newPool(t, cfg.Copy())
	instances := []*postgres.Store{postgres.New(poolA), postgres.New(poolB)}
	const n = 50
	now := time.Now().UTC().Truncate(time.Microsecond)

	t.Run("ConsumeToken: exactly one wins", func(t *testing.T) {
		tok := &storage.Token{Key: rand.Text(), Kind: storage.RefreshToken, GrantID: rand.Text(),
			ClientID: "client-a", IssuedAt: now, ExpiresAt: now.Add(time.Hour)}
		require.NoError(t, instances[0].CreateTokens(t.Context(), tok))
		errs := make([]error, n)
		recs := make([]*storage.Token, n)
		ats := make([]time.Time, n)
		for i := range ats {
			ats[i] = now.Add(time.Duration(i+1) * time.Millisecond)
		}
		race(n, func(i int) { recs[i], errs[i] = instances[i%2].ConsumeToken(t.Context(), tok.Key, ats[i]) })
		require.Equal(t, 1, winners(t, errs), "winners")
		w := 0
		for i, err := range errs {
			if err == nil {
				w = i
			}
		}
		for i, rec := range recs {
			if assert.NotNil(t, rec, "call %d", i) {
				assert.True(t, ats[w].Equal(rec.ConsumedAt), "call %d sees the winner's ConsumedAt", i)
			}
		}
	})

	t.Run("ConsumeAuthorizationCode: exactly one wins", func(t *testing.T) {
		code := &storage.AuthorizationCode{Key: rand.Text(), GrantID: rand.Text(),
			Request:  storage.AuthorizationRequest{ClientID: "client-a", RedirectURI: "https://a.example/cb"},
			IssuedAt: now, ExpiresAt: now.Add(time.Minute)}
		require.NoError(t, instances[1].CreateAuthorizationCode(t.Context(), code))
		errs := make([]error, n)
		race(n, func(i int) { _, errs[i] = instances[i%2].ConsumeAuthorizationCode(t.Context(), code.Key, now) })
		assert.Equal(t, 1, winners(t, errs), "winners")
	})

	t.Run("Remember: exactly one wins", func(t *testing.T) {
		key := rand.Text()
		errs := make([]error, n)
		race(n, func(i int) { errs[i] = instances[i%2].Remember(t.Context(), key, now.Add(time.Hour)) })
		assert.Equal(t, 1, winners(t, errs), "winners")
	})

	t.Run("Take: of 50 concurrent takes of one key, each sees a different count", func(t *testing.T) {
		key := rand.Text()
		counts := make([]int64, n)
		resets := make([]time.Time, n)
		errs := make([]error, n)
		race(n, func(i int) { counts[i], resets[i], errs[i] = instances[i%2].Take(t.Context(), key, time.Hour, now) })
		end := storage.WindowStart(now, time.Hour).Add(time.Hour)
		want := make([]int64, n)
		for i := range n {
			require.NoError(t, errs[i], "call %d", i)
			assert.True(t, end.Equal(resets[i]), "resetAt of call %d: %v", i, resets[i])
			want[i] = int64(i + 1)
		}
		slices.Sort(counts)
		assert.Equal(t, want, counts, "the counts 1 to 50, each once, across both instances")
	})

	t.Run("RevokeGrant on one instance revokes tokens the other creates later", func(t *testing.T) {
		grantID := rand.Text()
		require.NoError(t, instances[0].RevokeGrant(t.Context(), grantID, now))
		tok := &storage.Token{Key: rand.Text(), Kind: storage.AccessToken, GrantID: grantID,
			ClientID: "client-a", IssuedAt: now, ExpiresAt: now.Add(time.Hour)}
		require.NoError(t, instances[1].CreateTokens(t.Context(), tok))
		got, err := instances[0].Token(t.Context(), tok.Key)
		require.NoError(t, err)
		assert.True(t, now.Equal(got.RevokedAt), "RevokedAt")
	})
}
