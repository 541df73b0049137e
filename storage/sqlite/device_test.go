package sqlite_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/storage"
	"github.com/grantor-dev/grantor/storage/sqlite"
)

// deviceAuthorization returns a pending device authorization of client
// "tv", issued at issued for ten minutes, with the polling interval of
// RFC 8628 §3.2's default.
func deviceAuthorization(t testing.TB, issued time.Time) *storage.DeviceAuthorization {
	return &storage.DeviceAuthorization{
		Key: newKey(t), UserCodeKey: newKey(t), ClientID: "tv", Scopes: []string{"openid", "profile"},
		IssuedAt: issued, ExpiresAt: issued.Add(10 * time.Minute), Interval: 5 * time.Second,
	}
}

// openMany opens n Store values on one new database file, each with its
// own connections, as n processes would.
func openMany(t *testing.T, n int) []*sqlite.Store {
	first, path := open(t)
	stores := []*sqlite.Store{first}
	for len(stores) < n {
		stores = append(stores, openPath(t, path))
	}
	return stores
}

func TestDeviceAuthorizationRoundTrip(t *testing.T) {
	ctx := t.Context()
	a, path := open(t)
	issued := now()
	d := deviceAuthorization(t, issued)
	d.Interval = 5*time.Second + time.Nanosecond // a Go duration round trips exactly
	require.NoError(t, a.CreateDeviceAuthorization(ctx, d))

	// Another process finds it by its user code.
	b := openPath(t, path)
	got, err := b.DeviceAuthorizationByUserCode(ctx, d.UserCodeKey)
	require.NoError(t, err)
	assert.Equal(t, d, got)

	polled, err := b.PollDeviceAuthorization(ctx, d.Key, "tv", issued.Add(time.Second), time.Second)
	require.NoError(t, err)
	assert.Equal(t, d.Interval, polled.Interval)
	assert.True(t, issued.Add(time.Second).Equal(polled.LastPolledAt))

	authTime := issued.Add(-time.Hour)
	decided, err := a.DecideDeviceAuthorization(ctx, d.Key, storage.DeviceDecision{
		Status: storage.DeviceApproved, Subject: "user-1", Scopes: []string{"openid"}, AuthTime: authTime,
		Claims: map[string]any{"tenant": "acme", "level": float64(3)},
	}, issued.Add(2*time.Second))
	require.NoError(t, err)
	consumed, err := b.ConsumeDeviceAuthorization(ctx, d.Key, issued.Add(3*time.Second))
	require.NoError(t, err)

	want := *d
	want.LastPolledAt = issued.Add(time.Second)
	want.Status, want.DecidedAt = storage.DeviceApproved, issued.Add(2*time.Second)
	want.Subject, want.GrantedScopes, want.AuthTime = "user-1", []string{"openid"}, authTime
	want.Claims = map[string]any{"tenant": "acme", "level": float64(3)}
	assert.Equal(t, &want, decided)
	want.ConsumedAt = issued.Add(3 * time.Second)
	assert.Equal(t, &want, consumed)

	// The record survives the stores' closing.
	require.NoError(t, a.Close())
	got, err = openPath(t, path).DeviceAuthorizationByUserCode(ctx, d.UserCodeKey)
	require.NoError(t, err)
	assert.Equal(t, &want, got)
}

// TestDevicePollsOverOneDatabase races 50 polls of one device code, spread
// over three Store values on one file (three processes' connections): the
// slow_down rule of RFC 8628 §3.5 holds across them, each poll seeing the
// one before it.
func TestDevicePollsOverOneDatabase(t *testing.T) {
	const n = 50
	ctx := t.Context()
	stores := openMany(t, 3)
	for round := range 3 {
		at := now()
		d := deviceAuthorization(t, at)
		require.NoError(t, stores[0].CreateDeviceAuthorization(ctx, d))

		errs := make([]error, n)
		got := make([]*storage.DeviceAuthorization, n)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				<-start
				got[i], errs[i] = stores[i%len(stores)].PollDeviceAuthorization(ctx, d.Key, "tv", at, 5*time.Second)
			})
		}
		close(start)
		wg.Wait()

		first, slowed := 0, 0
		var intervals []time.Duration
		for i, err := range errs {
			switch {
			case err == nil:
				first++
			case errors.Is(err, storage.ErrSlowDown):
				slowed++
			default:
				t.Errorf("round %d, poll %d: %v", round, i, err)
				continue
			}
			if assert.NotNil(t, got[i], "round %d, poll %d", round, i) {
				intervals = append(intervals, got[i].Interval)
			}
		}
		assert.Equal(t, 1, first, "round %d: the first poll is not too soon", round)
		assert.Equal(t, n-1, slowed, "round %d: every later poll at the same time is", round)
		// Each poll saw the one before: the intervals returned are 5 s,
		// then each step of 5 s once.
		for k := range n {
			assert.Contains(t, intervals, time.Duration(k+1)*5*time.Second, "round %d", round)
		}

		final, err := stores[1].PollDeviceAuthorization(ctx, d.Key, "tv", at.Add(time.Hour), 5*time.Second)
		require.NoError(t, err, "a poll after the grown interval is on time")
		assert.Equal(t, 5*time.Second+(n-1)*5*time.Second, final.Interval, "round %d", round)
		assert.True(t, at.Add(time.Hour).Equal(final.LastPolledAt))
	}
}

// TestDevicePollsInTurn polls from two Store values in turn, each poll at
// the interval's edge or just before it.
func TestDevicePollsInTurn(t *testing.T) {
	ctx := t.Context()
	stores := openMany(t, 2)
	at := now()
	d := deviceAuthorization(t, at)
	require.NoError(t, stores[0].CreateDeviceAuthorization(ctx, d))

	for i, step := range []struct {
		after    time.Duration // since the poll before
		slowDown bool
		interval time.Duration
	}{
		{0, false, 5 * time.Second},
		{5 * time.Second, false, 5 * time.Second}, // exactly the interval later is on time
		{5*time.Second - time.Microsecond, true, 10 * time.Second},
		{9 * time.Second, true, 15 * time.Second}, // the grown interval counts
		{15 * time.Second, false, 15 * time.Second},
	} {
		at = at.Add(step.after)
		got, err := stores[i%2].PollDeviceAuthorization(ctx, d.Key, "tv", at, 5*time.Second)
		if step.slowDown {
			assert.ErrorIs(t, err, storage.ErrSlowDown, "poll %d", i)
		} else {
			assert.NoError(t, err, "poll %d", i)
		}
		if assert.NotNil(t, got, "poll %d", i) {
			assert.Equal(t, step.interval, got.Interval, "poll %d", i)
			assert.True(t, at.Equal(got.LastPolledAt), "poll %d", i)
		}
	}

	t.Run("another client's poll is not found and changes nothing", func(t *testing.T) {
		got, err := stores[1].PollDeviceAuthorization(ctx, d.Key, "other", at, 5*time.Second)
		assert.ErrorIs(t, err, storage.ErrNotFound)
		assert.Nil(t, got)
		got, err = stores[0].PollDeviceAuthorization(ctx, d.Key, "tv", at.Add(15*time.Second), 5*time.Second)
		require.NoError(t, err, "the other client's poll did not count")
		assert.Equal(t, 15*time.Second, got.Interval)
	})

	t.Run("an unknown key is not found", func(t *testing.T) {
		_, err := stores[0].PollDeviceAuthorization(ctx, "unknown", "tv", at, 5*time.Second)
		assert.ErrorIs(t, err, storage.ErrNotFound)
		_, err = stores[0].PollDeviceAuthorization(ctx, strings.Repeat("k", storage.MaxKeyBytes+1), "tv", at, 5*time.Second)
		assert.ErrorIs(t, err, storage.ErrNotFound)
	})
}

// TestDeviceUserCodeOneHolder races two Creates with one user code from
// two Store values on one file, a round with a free code and a round
// whose holder has expired: one stores its record, the other gets
// ErrDuplicate, and the user code finds the winner.
func TestDeviceUserCodeOneHolder(t *testing.T) {
	ctx := t.Context()
	stores := openMany(t, 2)
	at := now()
	userCode := newKey(t)
	var holder *storage.DeviceAuthorization
	for round, issued := range []time.Time{at, at.Add(time.Hour)} { // the first holder has expired by the second round
		var (
			recs  [2]*storage.DeviceAuthorization
			errs  [2]error
			wg    sync.WaitGroup
			start = make(chan struct{})
		)
		for i := range recs {
			recs[i] = deviceAuthorization(t, issued)
			recs[i].UserCodeKey = userCode
			wg.Go(func() {
				<-start
				errs[i] = stores[i].CreateDeviceAuthorization(ctx, recs[i])
			})
		}
		close(start)
		wg.Wait()

		var winner *storage.DeviceAuthorization
		for i, err := range errs {
			if err == nil {
				assert.Nil(t, winner, "round %d: a second winner", round)
				winner = recs[i]
			} else {
				assert.ErrorIs(t, err, storage.ErrDuplicate, "round %d", round)
			}
		}
		require.NotNil(t, winner, "round %d: no winner", round)
		got, err := stores[round%2].DeviceAuthorizationByUserCode(ctx, userCode)
		require.NoError(t, err)
		assert.Equal(t, winner, got, "round %d: the user code finds the winner", round)

		if holder != nil {
			// The expired holder gave its user code up, and is still
			// polled, decided and redeemed by its key.
			_, err := stores[0].PollDeviceAuthorization(ctx, holder.Key, "tv", issued, time.Second)
			assert.NoError(t, err)
			_, err = stores[1].DecideDeviceAuthorization(ctx, holder.Key, storage.DeviceDecision{Status: storage.DeviceDenied}, issued)
			assert.NoError(t, err)
			old, err := stores[0].ConsumeDeviceAuthorization(ctx, holder.Key, issued)
			require.NoError(t, err)
			assert.Equal(t, userCode, old.UserCodeKey, "the record itself is unchanged")
		}
		holder = winner
	}

	t.Run("a holder that has not expired keeps its user code", func(t *testing.T) {
		live := holder
		for _, issued := range []time.Time{live.IssuedAt, live.ExpiresAt.Add(-time.Microsecond)} {
			d := deviceAuthorization(t, issued)
			d.UserCodeKey = userCode
			assert.ErrorIs(t, stores[0].CreateDeviceAuthorization(ctx, d), storage.ErrDuplicate)
			_, err := stores[1].PollDeviceAuthorization(ctx, d.Key, "tv", issued, time.Second)
			assert.ErrorIs(t, err, storage.ErrNotFound, "the refused record was not stored")
		}
		got, err := stores[1].DeviceAuthorizationByUserCode(ctx, userCode)
		require.NoError(t, err)
		assert.Equal(t, live, got)
	})

	t.Run("a duplicate key does not take an expired holder's user code", func(t *testing.T) {
		expiring := deviceAuthorization(t, at)
		require.NoError(t, stores[0].CreateDeviceAuthorization(ctx, expiring))
		dup := deviceAuthorization(t, expiring.ExpiresAt)
		dup.Key, dup.UserCodeKey = holder.Key, expiring.UserCodeKey
		assert.ErrorIs(t, stores[1].CreateDeviceAuthorization(ctx, dup), storage.ErrDuplicate)
		got, err := stores[0].DeviceAuthorizationByUserCode(ctx, expiring.UserCodeKey)
		require.NoError(t, err, "the refused Create changed nothing")
		assert.Equal(t, expiring, got)
	})
}

// TestDeviceDecideAndConsumeOnce races decisions and redemptions of one
// device authorization from two Store values: one of each wins.
func TestDeviceDecideAndConsumeOnce(t *testing.T) {
	const n = 20
	ctx := t.Context()
	stores := openMany(t, 2)
	at := now()
	d := deviceAuthorization(t, at)
	require.NoError(t, stores[0].CreateDeviceAuthorization(ctx, d))

	decideErrs, consumeErrs := make([]error, n), make([]error, n)
	decided := make([]*storage.DeviceAuthorization, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			s := stores[i%2]
			dec := storage.DeviceDecision{Status: storage.DeviceDenied}
			if i%2 == 0 {
				dec = storage.DeviceDecision{Status: storage.DeviceApproved, Subject: "user-1", Scopes: []string{"openid"}, AuthTime: at}
			}
			decided[i], decideErrs[i] = s.DecideDeviceAuthorization(ctx, d.Key, dec, at.Add(time.Duration(i)*time.Microsecond))
			_, consumeErrs[i] = s.ConsumeDeviceAuthorization(ctx, d.Key, at)
		})
	}
	close(start)
	wg.Wait()

	var winner *storage.DeviceAuthorization
	for i, err := range decideErrs {
		if err == nil {
			assert.Nil(t, winner, "a second decision won")
			winner = decided[i]
		} else {
			assert.ErrorIs(t, err, storage.ErrConsumed)
		}
	}
	require.NotNil(t, winner)
	for i, err := range decideErrs {
		if err != nil && assert.NotNil(t, decided[i]) {
			// ConsumedAt may differ: the redemptions race the decisions.
			loser := *decided[i]
			loser.ConsumedAt = winner.ConsumedAt
			assert.Equal(t, winner, &loser, "a loser gets the record as the winner decided it")
		}
	}
	wins := 0
	for _, err := range consumeErrs {
		if err == nil {
			wins++
		} else {
			assert.ErrorIs(t, err, storage.ErrConsumed)
		}
	}
	assert.Equal(t, 1, wins, "one redemption")

	t.Run("a decision that neither approves nor denies", func(t *testing.T) {
		pending := deviceAuthorization(t, at)
		require.NoError(t, stores[0].CreateDeviceAuthorization(ctx, pending))
		for _, status := range []storage.DeviceAuthorizationStatus{storage.DevicePending, 7} {
			got, err := stores[1].DecideDeviceAuthorization(ctx, pending.Key, storage.DeviceDecision{Status: status, Subject: "u"}, at)
			require.Error(t, err)
			assert.Nil(t, got)
			for _, sentinel := range []error{storage.ErrNotFound, storage.ErrConsumed, storage.ErrDuplicate, storage.ErrTooLarge} {
				assert.NotErrorIs(t, err, sentinel)
			}
		}
		got, err := stores[0].DeviceAuthorizationByUserCode(ctx, pending.UserCodeKey)
		require.NoError(t, err)
		assert.Equal(t, pending, got, "still pending")
	})

	t.Run("a decision too large for the record", func(t *testing.T) {
		pending := deviceAuthorization(t, at)
		require.NoError(t, stores[0].CreateDeviceAuthorization(ctx, pending))
		n, err := pending.Size()
		require.NoError(t, err)
		big := storage.DeviceDecision{Status: storage.DeviceApproved, Subject: strings.Repeat("s", storage.MaxRecordBytes-n+1)}
		_, err = stores[1].DecideDeviceAuthorization(ctx, pending.Key, big, at)
		assert.ErrorIs(t, err, storage.ErrTooLarge)
		big.Subject = big.Subject[1:]
		_, err = stores[1].DecideDeviceAuthorization(ctx, pending.Key, big, at)
		assert.NoError(t, err, "a record of exactly MaxRecordBytes is taken")
	})

	t.Run("unknown keys", func(t *testing.T) {
		_, err := stores[0].DecideDeviceAuthorization(ctx, "unknown", storage.DeviceDecision{Status: storage.DeviceDenied}, at)
		assert.ErrorIs(t, err, storage.ErrNotFound)
		_, err = stores[0].ConsumeDeviceAuthorization(ctx, "unknown", at)
		assert.ErrorIs(t, err, storage.ErrNotFound)
		_, err = stores[0].DeviceAuthorizationByUserCode(ctx, "")
		assert.ErrorIs(t, err, storage.ErrNotFound)
	})
}

func TestDeviceAuthorizationInputChecks(t *testing.T) {
	ctx := t.Context()
	s, _ := open(t)
	at := now()
	long := strings.Repeat("k", storage.MaxKeyBytes+1)
	withKey := func(key, userCode string) *storage.DeviceAuthorization {
		d := deviceAuthorization(t, at)
		d.Key, d.UserCodeKey = key, userCode
		return d
	}

	for name, d := range map[string]*storage.DeviceAuthorization{
		"nil": nil, "empty key": withKey("", newKey(t)), "empty user code key": withKey(newKey(t), ""),
	} {
		err := s.CreateDeviceAuthorization(ctx, d)
		require.Error(t, err, name)
		for _, sentinel := range []error{storage.ErrNotFound, storage.ErrConsumed, storage.ErrDuplicate, storage.ErrTooLarge} {
			assert.NotErrorIs(t, err, sentinel, name)
		}
		assert.True(t, strings.HasPrefix(err.Error(), "sqlite: "), "%s: %v", name, err)
	}

	for name, d := range map[string]*storage.DeviceAuthorization{
		"key too long":           withKey(long, newKey(t)),
		"user code key too long": withKey(newKey(t), long),
	} {
		assert.ErrorIs(t, s.CreateDeviceAuthorization(ctx, d), storage.ErrTooLarge, name)
	}
	big := deviceAuthorization(t, at)
	big.Scopes = []string{strings.Repeat("s", storage.MaxRecordBytes)}
	assert.ErrorIs(t, s.CreateDeviceAuthorization(ctx, big), storage.ErrTooLarge)
	_, err := s.DeviceAuthorizationByUserCode(ctx, big.UserCodeKey)
	assert.ErrorIs(t, err, storage.ErrNotFound, "nothing was stored")

	bad := deviceAuthorization(t, at)
	bad.GrantedScopes = []string{"op\xffenid"}
	err = s.CreateDeviceAuthorization(ctx, bad)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "GrantedScopes is not valid UTF-8")

	t.Run("a cancelled context changes nothing", func(t *testing.T) {
		d := deviceAuthorization(t, at)
		require.NoError(t, s.CreateDeviceAuthorization(ctx, d))
		cancelled, cancel := context.WithCancel(ctx)
		cancel()
		other := deviceAuthorization(t, at)
		assert.ErrorIs(t, s.CreateDeviceAuthorization(cancelled, other), context.Canceled)
		_, err := s.DeviceAuthorizationByUserCode(cancelled, d.UserCodeKey)
		assert.ErrorIs(t, err, context.Canceled)
		_, err = s.PollDeviceAuthorization(cancelled, d.Key, "tv", at, time.Second)
		assert.ErrorIs(t, err, context.Canceled)
		_, err = s.DecideDeviceAuthorization(cancelled, d.Key, storage.DeviceDecision{Status: storage.DeviceDenied}, at)
		assert.ErrorIs(t, err, context.Canceled)
		_, err = s.ConsumeDeviceAuthorization(cancelled, d.Key, at)
		assert.ErrorIs(t, err, context.Canceled)

		got, err := s.DeviceAuthorizationByUserCode(ctx, d.UserCodeKey)
		require.NoError(t, err)
		assert.Equal(t, d, got)
		_, err = s.DeviceAuthorizationByUserCode(ctx, other.UserCodeKey)
		assert.ErrorIs(t, err, storage.ErrNotFound)
	})
}
