package memory_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/storage"
	"github.com/grantor-dev/grantor/storage/memory"
)

// device returns a pending device authorization under key, whose user code
// key is "u-" and key, issued at issued and valid for ttl.
func device(key string, issued time.Time, ttl time.Duration) *storage.DeviceAuthorization {
	return &storage.DeviceAuthorization{
		Key:         key,
		UserCodeKey: "u-" + key,
		ClientID:    "client-a",
		Scopes:      []string{"openid", "profile"},
		IssuedAt:    issued,
		ExpiresAt:   issued.Add(ttl),
		Interval:    5 * time.Second,
	}
}

func TestDeviceAuthorizationSweep(t *testing.T) {
	ctx := t.Context()

	t.Run("DeleteExpired deletes device authorizations once their retention past ExpiresAt has passed, decided and consumed ones too", func(t *testing.T) {
		clock := newFakeClock()
		s := memory.New(memory.WithClock(clock.Now), memory.WithSweepInterval(0))
		t0 := clock.Now()
		for _, key := range []string{"pending", "approved", "consumed"} {
			require.NoError(t, s.CreateDeviceAuthorization(ctx, device(key, t0, 10*time.Minute)))
		}
		require.NoError(t, s.CreateDeviceAuthorization(ctx, device("long", t0, time.Hour)))
		_, err := s.DecideDeviceAuthorization(ctx, "approved", storage.DeviceDecision{Status: storage.DeviceApproved, Subject: "user-1"}, t0)
		require.NoError(t, err)
		_, err = s.ConsumeDeviceAuthorization(ctx, "consumed", t0)
		require.NoError(t, err)

		clock.Advance(10*time.Minute + storage.DeviceAuthorizationRetention - time.Nanosecond)
		n, err := s.DeleteExpired(ctx)
		require.NoError(t, err)
		assert.Zero(t, n, "just before the end of the retention (RFC 8628 §3.5: polls then get expired_token)")
		_, err = s.ConsumeDeviceAuthorization(ctx, "consumed", clock.Now())
		assert.ErrorIs(t, err, storage.ErrConsumed, "a consumed one is kept until then")
		rec, err := s.PollDeviceAuthorization(ctx, "pending", "client-a", clock.Now(), 5*time.Second)
		require.NoError(t, err, "an expired one is still polled")
		assert.True(t, rec.ExpiresAt.Before(clock.Now()))

		clock.Advance(time.Nanosecond)
		n, err = s.DeleteExpired(ctx)
		require.NoError(t, err)
		assert.Equal(t, 3, n)
		for _, key := range []string{"pending", "approved", "consumed"} {
			_, err := s.DeviceAuthorizationByUserCode(ctx, "u-"+key)
			assert.ErrorIs(t, err, storage.ErrNotFound, key)
			_, err = s.PollDeviceAuthorization(ctx, key, "client-a", clock.Now(), 5*time.Second)
			assert.ErrorIs(t, err, storage.ErrNotFound, key)
		}
		_, err = s.DeviceAuthorizationByUserCode(ctx, "u-long")
		assert.NoError(t, err)
		assert.Equal(t, 1, memory.DeviceUserCodes(s), "user codes indexed")

		// The key and the user code of a deleted record may be used again.
		require.NoError(t, s.CreateDeviceAuthorization(ctx, device("pending", clock.Now(), 10*time.Minute)))
	})

	t.Run("a write sweeps device authorizations once the interval has passed", func(t *testing.T) {
		clock := newFakeClock()
		s := memory.New(memory.WithClock(clock.Now), memory.WithSweepInterval(time.Minute))
		t0 := clock.Now()
		require.NoError(t, s.CreateDeviceAuthorization(ctx, device("short", t0, 10*time.Second)))
		clock.Advance(storage.DeviceAuthorizationRetention + time.Minute)
		_, err := s.PollDeviceAuthorization(ctx, "other", "client-a", clock.Now(), 5*time.Second)
		require.ErrorIs(t, err, storage.ErrNotFound)
		_, err = s.DeviceAuthorizationByUserCode(ctx, "u-short")
		assert.ErrorIs(t, err, storage.ErrNotFound)
		assert.Zero(t, memory.DeviceUserCodes(s), "user codes indexed")
	})

	t.Run("sweeping a holder that gave its user code up keeps the new holder's", func(t *testing.T) {
		clock := newFakeClock()
		s := memory.New(memory.WithClock(clock.Now), memory.WithSweepInterval(0))
		t0 := clock.Now()
		old := device("old", t0, 10*time.Minute)
		require.NoError(t, s.CreateDeviceAuthorization(ctx, old))
		clock.Advance(10 * time.Minute)
		fresh := device("fresh", clock.Now(), 10*time.Minute)
		fresh.UserCodeKey = old.UserCodeKey
		require.NoError(t, s.CreateDeviceAuthorization(ctx, fresh))
		clock.Advance(storage.DeviceAuthorizationRetention)

		n, err := s.DeleteExpired(ctx)
		require.NoError(t, err)
		assert.Equal(t, 1, n, "the old holder")
		got, err := s.DeviceAuthorizationByUserCode(ctx, old.UserCodeKey)
		require.NoError(t, err)
		assert.Equal(t, "fresh", got.Key)
		assert.Equal(t, 1, memory.DeviceUserCodes(s), "user codes indexed")
	})

	t.Run("an expired holder is returned by its user code until a sweep or a new holder", func(t *testing.T) {
		clock := newFakeClock()
		s := memory.New(memory.WithClock(clock.Now), memory.WithSweepInterval(0))
		require.NoError(t, s.CreateDeviceAuthorization(ctx, device("k", clock.Now(), time.Minute)))
		clock.Advance(time.Hour)
		got, err := s.DeviceAuthorizationByUserCode(ctx, "u-k")
		require.NoError(t, err, "checking ExpiresAt is the caller's job")
		assert.Equal(t, "k", got.Key)
	})
}

func TestDeviceAuthorizationZeroTime(t *testing.T) {
	ctx := t.Context()
	clock := newFakeClock()
	s := memory.New(memory.WithClock(clock.Now))
	t0 := clock.Now()
	require.NoError(t, s.CreateDeviceAuthorization(ctx, device("d", t0, time.Hour)))
	clock.Advance(time.Second)

	p, err := s.PollDeviceAuthorization(ctx, "d", "client-a", time.Time{}, 5*time.Second)
	require.NoError(t, err)
	assert.Equal(t, clock.Now(), p.LastPolledAt, "a zero time polls at the store clock")
	_, err = s.PollDeviceAuthorization(ctx, "d", "client-a", time.Time{}, 5*time.Second)
	assert.ErrorIs(t, err, storage.ErrSlowDown, "a second poll at the same store-clock instant")
	d, err := s.DecideDeviceAuthorization(ctx, "d", storage.DeviceDecision{Status: storage.DeviceDenied}, time.Time{})
	require.NoError(t, err)
	assert.Equal(t, clock.Now(), d.DecidedAt, "a zero time decides at the store clock")
	c, err := s.ConsumeDeviceAuthorization(ctx, "d", time.Time{})
	require.NoError(t, err)
	assert.Equal(t, clock.Now(), c.ConsumedAt, "a zero time consumes at the store clock")
}

func TestDeviceAuthorizationTimesInUTC(t *testing.T) {
	ctx := t.Context()
	s := memory.New()
	zone := time.FixedZone("UTC+2", 2*60*60)
	t0 := time.Date(2030, 1, 2, 5, 4, 5, 0, zone)
	require.NoError(t, s.CreateDeviceAuthorization(ctx, device("d", t0, time.Hour)))
	got, err := s.PollDeviceAuthorization(ctx, "d", "client-a", t0.Add(time.Second), 5*time.Second)
	require.NoError(t, err)
	for name, at := range map[string]time.Time{"IssuedAt": got.IssuedAt, "ExpiresAt": got.ExpiresAt, "LastPolledAt": got.LastPolledAt} {
		assert.Equal(t, time.UTC, at.Location(), name)
	}
	assert.True(t, t0.Equal(got.IssuedAt))
}

func TestDeviceAuthorizationConcurrentMixedUse(t *testing.T) {
	// Run under -race: creations, lookups, polls, decisions, redemptions
	// and sweeps interleaving.
	ctx := t.Context()
	clock := newFakeClock()
	s := memory.New(memory.WithClock(clock.Now), memory.WithSweepInterval(time.Second))
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 200 {
				key := fmt.Sprintf("%c-%d", 'a'+w, i%50)
				now := clock.Now()
				d := device(key, now, time.Duration(i%5)*time.Second)
				d.UserCodeKey = fmt.Sprintf("u-%d", i%20) // shared across workers
				_ = s.CreateDeviceAuthorization(ctx, d)
				_, _ = s.DeviceAuthorizationByUserCode(ctx, d.UserCodeKey)
				_, _ = s.PollDeviceAuthorization(ctx, key, "client-a", now, 5*time.Second)
				_, _ = s.DecideDeviceAuthorization(ctx, key, storage.DeviceDecision{Status: storage.DeviceApproved, Subject: "u"}, now)
				_, _ = s.ConsumeDeviceAuthorization(ctx, key, now)
				if i%40 == 0 {
					_, err := s.DeleteExpired(ctx)
					assert.NoError(t, err)
				}
				clock.Advance(100 * time.Millisecond)
			}
		})
	}
	wg.Wait()
	clock.Advance(time.Hour)
	_, err := s.DeleteExpired(ctx)
	assert.NoError(t, err)
	assert.Zero(t, memory.DeviceUserCodes(s), "user codes indexed once every record is swept")
}

// BenchmarkPollDeviceAuthorization measures the poll that answers
// authorization_pending (RFC 8628 §3.5), which every waiting device repeats
// every few seconds: 1,000 devices, each polled at its interval.
func BenchmarkPollDeviceAuthorization(b *testing.B) {
	ctx := context.Background()
	s := memory.New()
	now := time.Now()
	keys := make([]string, 1000)
	for i := range keys {
		keys[i] = fmt.Sprintf("device-code-signature-%d", i)
		if err := s.CreateDeviceAuthorization(ctx, device(keys[i], now, 10*time.Minute)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		at := now.Add(time.Duration(i/len(keys)) * 5 * time.Second)
		if _, err := s.PollDeviceAuthorization(ctx, keys[i%len(keys)], "client-a", at, 5*time.Second); err != nil {
			b.Fatal(err)
		}
	}
}
