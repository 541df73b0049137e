package postgres_test

import (
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/storage"
	"github.com/grantor-dev/grantor/storage/postgres"
)

// deviceAuthorization returns a pending device authorization of client-a,
// issued at issued and valid for ten minutes, with the polling interval of
// RFC 8628 §3.2's default.
func deviceAuthorization(issued time.Time) *storage.DeviceAuthorization {
	return &storage.DeviceAuthorization{Key: rand.Text(), UserCodeKey: rand.Text(), ClientID: "client-a",
		Scopes: []string{"openid", "profile"}, IssuedAt: issued, ExpiresAt: issued.Add(10 * time.Minute),
		Interval: 5 * time.Second}
}

// outcomes counts the errors of errs that are nil and those that match
// want, and reports any other error.
func outcomes(t *testing.T, errs []error, want error) (nils, wanted int) {
	t.Helper()
	for i, err := range errs {
		switch {
		case err == nil:
			nils++
		case errors.Is(err, want):
			wanted++
		default:
			t.Errorf("call %d: %v, want nil or %v", i, err, want)
		}
	}
	return nils, wanted
}

// TestDeviceAuthorizations checks what the PostgreSQL store of device
// authorizations (RFC 8628) must do as a database: keep every field
// exactly, and stay one server when several instances, each with its own
// pool, share the database.
func TestDeviceAuthorizations(t *testing.T) {
	ts := newTestServer(t)
	const n = 50
	now := time.Now().UTC().Truncate(time.Microsecond)

	// twoInstances returns two stores, each with a pool of its own, over
	// one new database schema.
	twoInstances := func(t *testing.T) []*postgres.Store {
		poolA, cfg := ts.migratedPool(t)
		poolB := newPool(t, cfg.Copy())
		return []*postgres.Store{postgres.New(poolA), postgres.New(poolB)}
	}

	t.Run("every field round trips, the interval to the nanosecond", func(t *testing.T) {
		pool, _ := ts.migratedPool(t)
		s := postgres.New(pool)
		d := deviceAuthorization(now)
		d.Interval = 5*time.Second + 3*time.Microsecond + 7*time.Nanosecond
		d.LastPolledAt = now.Add(time.Second)
		d.Status, d.DecidedAt = storage.DeviceApproved, now.Add(2*time.Second)
		d.Subject, d.GrantedScopes, d.AuthTime = "user-1", []string{"openid"}, now.Add(-time.Minute)
		d.Claims = map[string]any{"acr": "urn:mace:incommon:iap:silver", "amr": []any{"pwd", "otp"}}
		d.ConsumedAt = now.Add(3 * time.Second)
		require.NoError(t, s.CreateDeviceAuthorization(t.Context(), d))
		got, err := s.DeviceAuthorizationByUserCode(t.Context(), d.UserCodeKey)
		require.NoError(t, err)
		assert.Equal(t, d, got)
	})

	t.Run("a poll sooner than the interval after the last, to the nanosecond, is too soon", func(t *testing.T) {
		pool, _ := ts.migratedPool(t)
		s := postgres.New(pool)
		d := deviceAuthorization(now)
		d.Interval = 5*time.Second + time.Nanosecond
		require.NoError(t, s.CreateDeviceAuthorization(t.Context(), d))
		const step = 5 * time.Second
		poll := func(at time.Time) (*storage.DeviceAuthorization, error) {
			return s.PollDeviceAuthorization(t.Context(), d.Key, d.ClientID, at, step)
		}

		got, err := poll(now)
		require.NoError(t, err, "the first poll")
		assert.Equal(t, d.Interval, got.Interval)
		// 5 s after the last poll is 1 ns short of the interval.
		got, err = poll(now.Add(5 * time.Second))
		assert.ErrorIs(t, err, storage.ErrSlowDown, "a poll 1 ns before the interval ends")
		require.NotNil(t, got)
		assert.Equal(t, d.Interval+step, got.Interval, "the interval grows by the step (RFC 8628 §3.5)")
		assert.True(t, now.Add(5*time.Second).Equal(got.LastPolledAt), "LastPolledAt")

		// The interval is now 10 s + 1 ns; 10 s + 1 µs later is in time.
		at := now.Add(5*time.Second + 10*time.Second + time.Microsecond)
		got, err = poll(at)
		assert.NoError(t, err, "a poll after the interval")
		require.NotNil(t, got)
		assert.Equal(t, d.Interval+step, got.Interval, "a poll in time keeps the interval")
		assert.True(t, at.Equal(got.LastPolledAt), "LastPolledAt")
	})

	t.Run("a poll by another client is not found and changes nothing", func(t *testing.T) {
		pool, _ := ts.migratedPool(t)
		s := postgres.New(pool)
		d := deviceAuthorization(now)
		require.NoError(t, s.CreateDeviceAuthorization(t.Context(), d))
		got, err := s.PollDeviceAuthorization(t.Context(), d.Key, "client-b", now, 5*time.Second)
		assert.ErrorIs(t, err, storage.ErrNotFound)
		assert.Nil(t, got)
		got, err = s.PollDeviceAuthorization(t.Context(), d.Key, d.ClientID, now, 5*time.Second)
		require.NoError(t, err, "the client's first poll: the other's left no trace")
		assert.Equal(t, d.Interval, got.Interval)
	})

	t.Run("50 polls at once from two instances: one in time, 49 slow downs", func(t *testing.T) {
		instances := twoInstances(t)
		d := deviceAuthorization(now)
		require.NoError(t, instances[0].CreateDeviceAuthorization(t.Context(), d))
		const step = 5 * time.Second
		errs := make([]error, n)
		recs := make([]*storage.DeviceAuthorization, n)
		race(n, func(i int) {
			recs[i], errs[i] = instances[i%2].PollDeviceAuthorization(t.Context(), d.Key, d.ClientID, now, step)
		})
		nils, slow := outcomes(t, errs, storage.ErrSlowDown)
		assert.Equal(t, 1, nils, "polls in time")
		assert.Equal(t, n-1, slow, "polls too soon")
		// Each poll saw the one before: the intervals returned are the
		// steps 0 to 49, once each.
		seen := map[time.Duration]bool{}
		for i, rec := range recs {
			if assert.NotNil(t, rec, "call %d", i) {
				seen[rec.Interval] = true
			}
		}
		assert.Len(t, seen, n, "distinct intervals returned")
		got, err := instances[1].PollDeviceAuthorization(t.Context(), d.Key, d.ClientID, now, 0)
		assert.ErrorIs(t, err, storage.ErrSlowDown)
		require.NotNil(t, got)
		assert.Equal(t, d.Interval+(n-1)*step, got.Interval, "the interval grew by 49 steps")
	})

	t.Run("50 creations with one user code from two instances: one wins", func(t *testing.T) {
		instances := twoInstances(t)
		userCode := rand.Text()
		recs := make([]*storage.DeviceAuthorization, n)
		for i := range recs {
			recs[i] = deviceAuthorization(now)
			recs[i].UserCodeKey = userCode
		}
		errs := make([]error, n)
		race(n, func(i int) { errs[i] = instances[i%2].CreateDeviceAuthorization(t.Context(), recs[i]) })
		nils, dups := outcomes(t, errs, storage.ErrDuplicate)
		require.Equal(t, 1, nils, "creations stored")
		assert.Equal(t, n-1, dups, "creations refused")
		got, err := instances[1].DeviceAuthorizationByUserCode(t.Context(), userCode)
		require.NoError(t, err)
		for i, err := range errs {
			if err == nil {
				assert.Equal(t, recs[i].Key, got.Key, "the user code finds the winner")
			} else {
				_, err := instances[0].ConsumeDeviceAuthorization(t.Context(), recs[i].Key, now)
				assert.ErrorIs(t, err, storage.ErrNotFound, "a loser is not stored")
			}
		}
	})

	t.Run("50 creations with the user code of an expired record from two instances: one wins", func(t *testing.T) {
		instances := twoInstances(t)
		expired := deviceAuthorization(now.Add(-time.Hour))
		require.NoError(t, instances[0].CreateDeviceAuthorization(t.Context(), expired))
		recs := make([]*storage.DeviceAuthorization, n)
		for i := range recs {
			recs[i] = deviceAuthorization(now)
			recs[i].UserCodeKey = expired.UserCodeKey
		}
		errs := make([]error, n)
		race(n, func(i int) { errs[i] = instances[i%2].CreateDeviceAuthorization(t.Context(), recs[i]) })
		nils, dups := outcomes(t, errs, storage.ErrDuplicate)
		require.Equal(t, 1, nils, "creations stored")
		assert.Equal(t, n-1, dups, "creations refused")
		got, err := instances[1].DeviceAuthorizationByUserCode(t.Context(), expired.UserCodeKey)
		require.NoError(t, err)
		assert.NotEqual(t, expired.Key, got.Key, "the expired record gave its user code up")
		old, err := instances[1].PollDeviceAuthorization(t.Context(), expired.Key, expired.ClientID, now, time.Second)
		require.NoError(t, err, "the expired record is still found by its key")
		assert.Equal(t, expired.UserCodeKey, old.UserCodeKey, "and it is unchanged")
	})

	t.Run("a creation refused for its key keeps the expired holder of its user code", func(t *testing.T) {
		pool, _ := ts.migratedPool(t)
		s := postgres.New(pool)
		expired := deviceAuthorization(now.Add(-time.Hour))
		taken := deviceAuthorization(now)
		require.NoError(t, s.CreateDeviceAuthorization(t.Context(), expired))
		require.NoError(t, s.CreateDeviceAuthorization(t.Context(), taken))
		again := deviceAuthorization(now)
		again.Key, again.UserCodeKey = taken.Key, expired.UserCodeKey
		assert.ErrorIs(t, s.CreateDeviceAuthorization(t.Context(), again), storage.ErrDuplicate)
		got, err := s.DeviceAuthorizationByUserCode(t.Context(), expired.UserCodeKey)
		require.NoError(t, err, "the user code is given up only with a record stored")
		assert.Equal(t, expired.Key, got.Key)
	})

	t.Run("50 decisions from two instances: exactly one wins", func(t *testing.T) {
		instances := twoInstances(t)
		d := deviceAuthorization(now)
		require.NoError(t, instances[0].CreateDeviceAuthorization(t.Context(), d))
		errs := make([]error, n)
		recs := make([]*storage.DeviceAuthorization, n)
		race(n, func(i int) {
			decision := storage.DeviceDecision{Status: storage.DeviceApproved, Subject: "user-" + string(rune('a'+i%26)),
				Scopes: []string{"openid"}, AuthTime: now}
			if i%3 == 0 {
				decision = storage.DeviceDecision{Status: storage.DeviceDenied}
			}
			recs[i], errs[i] = instances[i%2].DecideDeviceAuthorization(t.Context(), d.Key, decision, now)
		})
		require.Equal(t, 1, winners(t, errs), "winners")
		var won *storage.DeviceAuthorization
		for i, err := range errs {
			if err == nil {
				won = recs[i]
			}
		}
		for i, rec := range recs {
			if assert.NotNil(t, rec, "call %d", i) {
				assert.Equal(t, won, rec, "call %d sees the winner's decision", i)
			}
		}
	})

	t.Run("50 redemptions from two instances: exactly one wins", func(t *testing.T) {
		instances := twoInstances(t)
		d := deviceAuthorization(now)
		require.NoError(t, instances[1].CreateDeviceAuthorization(t.Context(), d))
		errs := make([]error, n)
		race(n, func(i int) {
			_, errs[i] = instances[i%2].ConsumeDeviceAuthorization(t.Context(), d.Key, now.Add(time.Duration(i)))
		})
		assert.Equal(t, 1, winners(t, errs), "winners")
	})

	t.Run("an approval that makes the record too large is refused and changes nothing", func(t *testing.T) {
		pool, _ := ts.migratedPool(t)
		s := postgres.New(pool)
		d := deviceAuthorization(now)
		d.Scopes = []string{strings.Repeat("s", storage.MaxRecordBytes/2)}
		require.NoError(t, s.CreateDeviceAuthorization(t.Context(), d))
		approval := storage.DeviceDecision{Status: storage.DeviceApproved, Subject: "user-1",
			Scopes: d.Scopes, AuthTime: now}
		got, err := s.DecideDeviceAuthorization(t.Context(), d.Key, approval, now)
		assert.ErrorIs(t, err, storage.ErrTooLarge)
		assert.Nil(t, got)
		got, err = s.DeviceAuthorizationByUserCode(t.Context(), d.UserCodeKey)
		require.NoError(t, err)
		assert.Equal(t, d, got, "the record is still pending")
		_, err = s.DecideDeviceAuthorization(t.Context(), d.Key, storage.DeviceDecision{Status: storage.DeviceDenied}, now)
		assert.NoError(t, err, "a denial adds nothing")
	})

	t.Run("an approval is bounded by the record it makes: what it replaces does not count", func(t *testing.T) {
		pool, _ := ts.migratedPool(t)
		s := postgres.New(pool)
		// A pending record created with a subject, scopes granted and
		// claims, which the approval replaces.
		d := deviceAuthorization(now)
		d.Subject = strings.Repeat("u", storage.MaxRecordBytes/4)
		d.GrantedScopes = []string{strings.Repeat("g", storage.MaxRecordBytes/4)}
		d.Claims = map[string]any{"c": strings.Repeat("c", storage.MaxRecordBytes/4)}
		require.NoError(t, s.CreateDeviceAuthorization(t.Context(), d))
		approval := storage.DeviceDecision{Status: storage.DeviceApproved, Subject: "user-1",
			Scopes: []string{strings.Repeat("s", storage.MaxRecordBytes/2)}, AuthTime: now}
		approved := *d
		approved.Status, approved.DecidedAt = storage.DeviceApproved, now
		approved.Subject, approved.GrantedScopes, approved.AuthTime, approved.Claims = approval.Subject,
			approval.Scopes, approval.AuthTime, nil
		size, err := approved.Size()
		require.NoError(t, err)
		require.LessOrEqual(t, size, storage.MaxRecordBytes, "the approved record is within the bound")

		got, err := s.DecideDeviceAuthorization(t.Context(), d.Key, approval, now)
		require.NoError(t, err)
		assert.Equal(t, &approved, got)
	})
}
