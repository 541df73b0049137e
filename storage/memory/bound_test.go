package memory_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/storage"
	"github.com/grantor-dev/grantor/storage/memory"
)

// pendingKind is a kind of record the store holds a bounded number of.
type pendingKind struct {
	name           string
	used           string // what a used record is: "completed", "consumed"
	option         func(n int) memory.Option
	defaultMax     int
	defaultMaxName string
	create         func(t *testing.T, s *memory.Store, key string, created time.Time, ttl time.Duration) error
	get            func(t *testing.T, s *memory.Store, key string) error
	use            func(t *testing.T, s *memory.Store, key string, at time.Time) error
}

var pendingKinds = []pendingKind{
	{
		name: "interaction", used: "completed",
		option: memory.WithMaxInteractions, defaultMax: memory.DefaultMaxInteractions,
		defaultMaxName: "DefaultMaxInteractions",
		create: func(t *testing.T, s *memory.Store, key string, created time.Time, ttl time.Duration) error {
			return s.CreateInteraction(t.Context(), interaction(key, created, ttl))
		},
		get: func(t *testing.T, s *memory.Store, key string) error {
			_, err := s.Interaction(t.Context(), key)
			return err
		},
		use: func(t *testing.T, s *memory.Store, key string, at time.Time) error {
			_, err := s.CompleteInteraction(t.Context(), key, at)
			return err
		},
	},
	{
		name: "pushed request", used: "consumed",
		option: memory.WithMaxPushedRequests, defaultMax: memory.DefaultMaxPushedRequests,
		defaultMaxName: "DefaultMaxPushedRequests",
		create: func(t *testing.T, s *memory.Store, key string, created time.Time, ttl time.Duration) error {
			return s.CreatePushedRequest(t.Context(), pushed(key, created, ttl))
		},
		get: func(t *testing.T, s *memory.Store, key string) error {
			_, err := s.PushedRequest(t.Context(), key)
			return err
		},
		use: func(t *testing.T, s *memory.Store, key string, at time.Time) error {
			_, err := s.ConsumePushedRequest(t.Context(), key, at)
			return err
		},
	},
	{
		name: "device authorization", used: "consumed",
		option: memory.WithMaxDeviceAuthorizations, defaultMax: memory.DefaultMaxDeviceAuthorizations,
		defaultMaxName: "DefaultMaxDeviceAuthorizations",
		create: func(t *testing.T, s *memory.Store, key string, created time.Time, ttl time.Duration) error {
			return s.CreateDeviceAuthorization(t.Context(), device(key, created, ttl))
		},
		get: func(t *testing.T, s *memory.Store, key string) error {
			_, err := s.DeviceAuthorizationByUserCode(t.Context(), "u-"+key)
			return err
		},
		use: func(t *testing.T, s *memory.Store, key string, at time.Time) error {
			_, err := s.ConsumeDeviceAuthorization(t.Context(), key, at)
			return err
		},
	},
}

func TestPendingBound(t *testing.T) {
	for _, k := range pendingKinds {
		t.Run(k.name, func(t *testing.T) { testPendingBound(t, k) })
	}
}

func testPendingBound(t *testing.T, k pendingKind) {
	// newStore returns a store bounded to n records whose automatic
	// sweeps are off: only the bound deletes anything.
	newStore := func(n int) (*memory.Store, *fakeClock) {
		clock := newFakeClock()
		return memory.New(memory.WithClock(clock.Now), memory.WithSweepInterval(0), k.option(n)), clock
	}
	// fill stores n records "k0"... valid for ttl.
	fill := func(t *testing.T, s *memory.Store, clock *fakeClock, n int, ttl time.Duration) {
		t.Helper()
		for i := range n {
			require.NoError(t, k.create(t, s, fmt.Sprintf("k%d", i), clock.Now(), ttl), "record %d", i)
		}
	}

	t.Run("at the bound, a new "+k.name+" is ErrFull and nothing is stored", func(t *testing.T) {
		s, clock := newStore(3)
		fill(t, s, clock, 3, 30*time.Minute)
		err := k.create(t, s, "new", clock.Now(), 30*time.Minute)
		assert.ErrorIs(t, err, storage.ErrFull)
		assert.ErrorIs(t, k.get(t, s, "new"), storage.ErrNotFound)
		clock.Advance(29 * time.Minute)
		assert.ErrorIs(t, k.create(t, s, "new", clock.Now(), 30*time.Minute), storage.ErrFull, "none has expired yet")
	})

	t.Run("at the bound, the stored ones are untouched and each can still be "+k.used, func(t *testing.T) {
		s, clock := newStore(3)
		fill(t, s, clock, 3, 30*time.Minute)
		for range 10 {
			require.ErrorIs(t, k.create(t, s, "new", clock.Now(), 30*time.Minute), storage.ErrFull)
		}
		for i := range 3 {
			key := fmt.Sprintf("k%d", i)
			assert.NoError(t, k.get(t, s, key), key)
			assert.NoError(t, k.use(t, s, key, clock.Now()), key)
		}
	})

	t.Run("an expired "+k.name+" makes room", func(t *testing.T) {
		s, clock := newStore(3)
		require.NoError(t, k.create(t, s, "short", clock.Now(), 10*time.Minute))
		fill(t, s, clock, 2, 30*time.Minute)
		clock.Advance(10 * time.Minute)
		require.NoError(t, k.create(t, s, "new", clock.Now(), 30*time.Minute))
		assert.ErrorIs(t, k.get(t, s, "short"), storage.ErrNotFound, "the expired one")
		for _, key := range []string{"k0", "k1", "new"} {
			assert.NoError(t, k.get(t, s, key), key)
		}
		assert.ErrorIs(t, k.create(t, s, "more", clock.Now(), 30*time.Minute), storage.ErrFull, "full again")
	})

	t.Run("a "+k.used+" "+k.name+" makes room and is then ErrNotFound", func(t *testing.T) {
		s, clock := newStore(3)
		fill(t, s, clock, 3, 30*time.Minute)
		require.NoError(t, k.use(t, s, "k1", clock.Now()))
		require.NoError(t, k.create(t, s, "new", clock.Now(), 30*time.Minute))
		assert.ErrorIs(t, k.get(t, s, "k1"), storage.ErrNotFound, "the %s one", k.used)
		assert.ErrorIs(t, k.use(t, s, "k1", clock.Now()), storage.ErrNotFound, "a second use")
		for _, key := range []string{"k0", "k2", "new"} {
			assert.NoError(t, k.get(t, s, key), key)
		}
		assert.ErrorIs(t, k.create(t, s, "more", clock.Now(), 30*time.Minute), storage.ErrFull, "full again")
	})

	t.Run("below the bound, "+k.used+" ones are kept until they expire", func(t *testing.T) {
		s, clock := newStore(3)
		fill(t, s, clock, 2, 30*time.Minute)
		require.NoError(t, k.use(t, s, "k1", clock.Now()))
		require.NoError(t, k.create(t, s, "new", clock.Now(), 30*time.Minute))
		assert.NoError(t, k.get(t, s, "k1"), "the %s one", k.used)
		assert.ErrorIs(t, k.use(t, s, "k1", clock.Now()), storage.ErrConsumed, "a second use")
	})

	t.Run("an existing key at the bound is ErrDuplicate", func(t *testing.T) {
		s, clock := newStore(2)
		fill(t, s, clock, 2, 30*time.Minute)
		assert.ErrorIs(t, k.create(t, s, "k1", clock.Now(), 30*time.Minute), storage.ErrDuplicate)
	})

	t.Run("the bound is "+k.defaultMaxName+", and zero or a negative n keeps it", func(t *testing.T) {
		for _, s := range []*memory.Store{memory.New(), memory.New(k.option(0)), memory.New(k.option(-1))} {
			now := time.Now()
			for i := range k.defaultMax {
				require.NoError(t, k.create(t, s, fmt.Sprintf("k%d", i), now, time.Hour), "record %d", i)
			}
			assert.ErrorIs(t, k.create(t, s, "one more", now, time.Hour), storage.ErrFull)
		}
	})

	t.Run("concurrent creations at the bound: as many succeed as there is room", func(t *testing.T) {
		const room, callers = 10, 50
		s, clock := newStore(20)
		fill(t, s, clock, 20-room, 30*time.Minute)
		errs := make([]error, callers)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range callers {
			wg.Go(func() {
				<-start
				errs[i] = k.create(t, s, fmt.Sprintf("c%d", i), clock.Now(), 30*time.Minute)
			})
		}
		close(start)
		wg.Wait()
		won := 0
		for i, err := range errs {
			if err == nil {
				won++
				continue
			}
			assert.ErrorIs(t, err, storage.ErrFull, "call %d", i)
		}
		assert.Equal(t, room, won)
	})
}

func TestPendingBoundKinds(t *testing.T) {
	clock := newFakeClock()
	s := memory.New(memory.WithClock(clock.Now), memory.WithMaxInteractions(1), memory.WithMaxPushedRequests(1),
		memory.WithMaxDeviceAuthorizations(1))
	ctx, now := t.Context(), clock.Now()
	require.NoError(t, s.CreateInteraction(ctx, interaction("i", now, time.Hour)))
	require.NoError(t, s.CreatePushedRequest(ctx, pushed("p", now, time.Hour)))
	require.NoError(t, s.CreateDeviceAuthorization(ctx, device("d", now, time.Hour)))
	for i := range 100 {
		key := fmt.Sprintf("c%d", i)
		require.NoError(t, s.CreateAuthorizationCode(ctx, code(key, now, time.Minute)), "authorization codes are not bounded")
	}
	assert.ErrorIs(t, s.CreateInteraction(ctx, interaction("i2", now, time.Hour)), storage.ErrFull)
	assert.ErrorIs(t, s.CreatePushedRequest(ctx, pushed("p2", now, time.Hour)), storage.ErrFull)
	assert.ErrorIs(t, s.CreateDeviceAuthorization(ctx, device("d2", now, time.Hour)), storage.ErrFull)
}

// TestPendingBoundScans checks that a full store does not scan its
// interactions on every refused creation: during a flood of authorization
// requests each would hold the lock of the authorization code flow for a
// pass over every interaction.
func TestPendingBoundScans(t *testing.T) {
	clock := newFakeClock()
	s := memory.New(memory.WithClock(clock.Now), memory.WithSweepInterval(0), memory.WithMaxInteractions(100))
	ctx := t.Context()
	for i := range 100 {
		require.NoError(t, s.CreateInteraction(ctx, interaction(fmt.Sprintf("k%d", i), clock.Now(), 30*time.Minute)))
	}
	for i := range 1000 {
		require.ErrorIs(t, s.CreateInteraction(ctx, interaction(fmt.Sprintf("n%d", i), clock.Now(), 30*time.Minute)), storage.ErrFull)
	}
	assert.Equal(t, 0, memory.InteractionSweeps(s), "scans while nothing could be deleted")

	_, err := s.CompleteInteraction(ctx, "k0", clock.Now())
	require.NoError(t, err)
	require.NoError(t, s.CreateInteraction(ctx, interaction("after completion", clock.Now(), 30*time.Minute)))
	require.ErrorIs(t, s.CreateInteraction(ctx, interaction("full", clock.Now(), 30*time.Minute)), storage.ErrFull)
	assert.Equal(t, 1, memory.InteractionSweeps(s), "scans once one was completed")

	clock.Advance(30 * time.Minute)
	require.NoError(t, s.CreateInteraction(ctx, interaction("after expiry", clock.Now(), 30*time.Minute)))
	assert.Equal(t, 2, memory.InteractionSweeps(s), "scans once the first expired")
}
