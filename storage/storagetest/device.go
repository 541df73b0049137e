package storagetest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/storage"
)

// The rules of storage.DeviceAuthorizationStore (RFC 8628): user codes
// unique among live records, one decision, polls that add the slow-down
// step atomically in the store, one redemption.

// newDeviceStore returns an empty store of device authorizations.
type newDeviceStore = func(t *testing.T) storage.DeviceAuthorizationStore

// slowDown is the step the suite adds to a polling interval: the 5
// seconds of RFC 8628 §3.5.
const slowDown = 5 * time.Second

// deviceInterval is the interval of the fixtures: RFC 8628 §3.2's default
// of 5 seconds, plus microseconds that a store keeping whole seconds or
// milliseconds would lose.
const deviceInterval = 5*time.Second + 250*time.Microsecond

// deviceAuthorization returns a pending device authorization with every
// field set that the device authorization endpoint sets, issued now and
// valid for an hour.
func deviceAuthorization(t *testing.T) *storage.DeviceAuthorization {
	t.Helper()
	n := now()
	return &storage.DeviceAuthorization{
		Key:         newKey(t),
		UserCodeKey: newKey(t),
		ClientID:    "client-a",
		Scopes:      []string{"openid", "profile", "offline_access"},
		IssuedAt:    n,
		ExpiresAt:   n.Add(time.Hour),
		Interval:    deviceInterval,
	}
}

// approvedDeviceAuthorization returns a device authorization with every
// field set but ConsumedAt: polled, and approved with claims.
func approvedDeviceAuthorization(t *testing.T) *storage.DeviceAuthorization {
	t.Helper()
	d := deviceAuthorization(t)
	d.LastPolledAt = d.IssuedAt.Add(7 * time.Second)
	d.Interval += 2 * slowDown
	d.Status = storage.DeviceApproved
	d.DecidedAt = d.IssuedAt.Add(20 * time.Second)
	d.Subject = "user-1"
	d.GrantedScopes = []string{"openid", "profile"}
	d.AuthTime = d.IssuedAt.Add(15 * time.Second)
	d.Claims = map[string]any{
		"tenant": "acme",
		"level":  float64(3),
		"admin":  true,
		"none":   nil,
		"groups": []any{"a", "b"},
		"org":    map[string]any{"id": "o-1", "tier": float64(2), "tags": []any{"x"}},
	}
	return d
}

// minimalDeviceAuthorization returns a pending device authorization with
// only what every one has: no scopes.
func minimalDeviceAuthorization(t *testing.T) *storage.DeviceAuthorization {
	t.Helper()
	n := now()
	return &storage.DeviceAuthorization{
		Key:         newKey(t),
		UserCodeKey: newKey(t),
		ClientID:    "client-a",
		IssuedAt:    n,
		ExpiresAt:   n.Add(10 * time.Minute),
		Interval:    5 * time.Second,
	}
}

// approval returns a decision that approves, with every field set.
func approval() storage.DeviceDecision {
	return storage.DeviceDecision{
		Status:   storage.DeviceApproved,
		Subject:  "user-1",
		Scopes:   []string{"openid", "profile"},
		AuthTime: now().Add(-time.Minute),
		Claims: map[string]any{
			"tenant": "acme",
			"groups": []any{"a", "b"},
			"org":    map[string]any{"id": "o-1", "tags": []any{"x", map[string]any{"deep": "y"}}},
		},
	}
}

// denial returns a decision that denies.
func denial() storage.DeviceDecision {
	return storage.DeviceDecision{Status: storage.DeviceDenied}
}

// decided returns a copy of d as DecideDeviceAuthorization leaves it after
// recording dec at time at.
func decided(t *testing.T, d *storage.DeviceAuthorization, dec storage.DeviceDecision, at time.Time) *storage.DeviceAuthorization {
	t.Helper()
	c := cloneDevice(t, d)
	c.Status, c.DecidedAt = dec.Status, at
	if dec.Status == storage.DeviceApproved {
		c.Subject, c.GrantedScopes, c.AuthTime = dec.Subject, slices.Clone(dec.Scopes), dec.AuthTime
		c.Claims = cloneClaims(t, dec.Claims)
	}
	return c
}

// assertDevice checks that got holds every field of want.
func assertDevice(t *testing.T, want, got *storage.DeviceAuthorization) {
	t.Helper()
	if !assert.NotNil(t, got, "record") {
		return
	}
	assert.Equal(t, want.Key, got.Key, "Key")
	assert.Equal(t, want.UserCodeKey, got.UserCodeKey, "UserCodeKey")
	assert.Equal(t, want.ClientID, got.ClientID, "ClientID")
	assertStrings(t, "Scopes", want.Scopes, got.Scopes)
	assertTime(t, "IssuedAt", want.IssuedAt, got.IssuedAt)
	assertTime(t, "ExpiresAt", want.ExpiresAt, got.ExpiresAt)
	assert.Equal(t, want.Interval, got.Interval, "Interval")
	assertTime(t, "LastPolledAt", want.LastPolledAt, got.LastPolledAt)
	assert.Equal(t, want.Status, got.Status, "Status")
	assertTime(t, "DecidedAt", want.DecidedAt, got.DecidedAt)
	assert.Equal(t, want.Subject, got.Subject, "Subject")
	assertStrings(t, "GrantedScopes", want.GrantedScopes, got.GrantedScopes)
	assertTime(t, "AuthTime", want.AuthTime, got.AuthTime)
	assertClaims(t, want.Claims, got.Claims)
	assertTime(t, "ConsumedAt", want.ConsumedAt, got.ConsumedAt)
}

// createDevice stores d, failing the test if it cannot.
func createDevice(t *testing.T, s storage.DeviceAuthorizationStore, d *storage.DeviceAuthorization) {
	t.Helper()
	require.NoError(t, s.CreateDeviceAuthorization(t.Context(), d), "CreateDeviceAuthorization")
}

// byUserCode returns the record holding userCodeKey, failing the test if
// there is none.
func byUserCode(t *testing.T, s storage.DeviceAuthorizationStore, userCodeKey string) *storage.DeviceAuthorization {
	t.Helper()
	got, err := s.DeviceAuthorizationByUserCode(t.Context(), userCodeKey)
	require.NoError(t, err, "DeviceAuthorizationByUserCode")
	require.NotNil(t, got, "DeviceAuthorizationByUserCode returned a nil record and no error")
	return got
}

// assertNoUserCode checks that no record holds userCodeKey.
func assertNoUserCode(t *testing.T, s storage.DeviceAuthorizationStore, userCodeKey string) {
	t.Helper()
	rec, err := s.DeviceAuthorizationByUserCode(t.Context(), userCodeKey)
	assert.ErrorIs(t, err, storage.ErrNotFound, "DeviceAuthorizationByUserCode of a user code no record may hold")
	assert.Nil(t, rec, "no record with ErrNotFound")
}

// assertNoKey checks that no record is stored under key for clientID:
// a poll of it is ErrNotFound (and, if a record were there, the test
// fails anyway).
func assertNoKey(t *testing.T, s storage.DeviceAuthorizationStore, key, clientID string) {
	t.Helper()
	rec, err := s.PollDeviceAuthorization(t.Context(), key, clientID, now(), slowDown)
	assert.ErrorIs(t, err, storage.ErrNotFound, "PollDeviceAuthorization of a key that must not be stored")
	assert.Nil(t, rec, "no record with ErrNotFound")
}

// assertNotStored checks that d is found neither by its user code nor by
// its Key.
func assertNotStored(t *testing.T, s storage.DeviceAuthorizationStore, d *storage.DeviceAuthorization) {
	t.Helper()
	assertNoUserCode(t, s, d.UserCodeKey)
	assertNoKey(t, s, d.Key, d.ClientID)
}

// poll polls d as its client, at time at.
func poll(t *testing.T, s storage.DeviceAuthorizationStore, d *storage.DeviceAuthorization, at time.Time) (*storage.DeviceAuthorization, error) {
	t.Helper()
	return s.PollDeviceAuthorization(t.Context(), d.Key, d.ClientID, at, slowDown)
}

// mustPoll polls d as its client at time at, and checks that the poll
// was not too soon.
func mustPoll(t *testing.T, s storage.DeviceAuthorizationStore, d *storage.DeviceAuthorization, at time.Time) *storage.DeviceAuthorization {
	t.Helper()
	got, err := poll(t, s, d, at)
	require.NoError(t, err, "PollDeviceAuthorization at %v", at)
	require.NotNil(t, got, "PollDeviceAuthorization returned a nil record and no error")
	return got
}

// mustDecide records dec on d at time at.
func mustDecide(t *testing.T, s storage.DeviceAuthorizationStore, d *storage.DeviceAuthorization, dec storage.DeviceDecision, at time.Time) *storage.DeviceAuthorization {
	t.Helper()
	got, err := s.DecideDeviceAuthorization(t.Context(), d.Key, dec, at)
	require.NoError(t, err, "DecideDeviceAuthorization")
	require.NotNil(t, got, "DecideDeviceAuthorization returned a nil record and no error")
	return got
}

// RunDeviceAuthorizationStore runs the conformance suite of
// [storage.DeviceAuthorizationStore] (RFC 8628) against stores made by
// newStore, one fresh store per subtest, in a subtest named
// "DeviceAuthorizationStore": every field round trips; keys and user codes
// are unique, a user code among the records that have not expired; a
// record is decided once and consumed once, of 50 concurrent callers
// exactly one winning; a poll sooner than the interval allows adds the
// slow-down step to the interval in the store, 50 concurrent polls each
// seeing the one before it; another client's poll is not found and
// changes nothing; and the rules of copies, input, sizes, text and
// context that every record follows.
//
//	storagetest.RunDeviceAuthorizationStore(t, func(t *testing.T) storage.DeviceAuthorizationStore {
//		return newMyStore(t)
//	})
func RunDeviceAuthorizationStore(t *testing.T, newStore func(t *testing.T) storage.DeviceAuthorizationStore) {
	t.Helper()
	if newStore == nil {
		t.Fatal("storagetest: nil DeviceAuthorizationStore constructor")
	}
	t.Run("DeviceAuthorizationStore", func(t *testing.T) {
		t.Run("CreateDeviceAuthorization", func(t *testing.T) { testCreateDevice(t, newStore) })
		t.Run("DeviceAuthorizationByUserCode", func(t *testing.T) { testDeviceByUserCode(t, newStore) })
		t.Run("DecideDeviceAuthorization", func(t *testing.T) { testDecideDevice(t, newStore) })
		t.Run("PollDeviceAuthorization", func(t *testing.T) { testPollDevice(t, newStore) })
		t.Run("ConsumeDeviceAuthorization", func(t *testing.T) { testConsumeDevice(t, newStore) })
		t.Run("Keys", func(t *testing.T) { testDeviceKeys(t, newStore) })
		t.Run("Copies", func(t *testing.T) { testDeviceCopies(t, newStore) })
		t.Run("Input", func(t *testing.T) { testDeviceInput(t, newStore) })
		t.Run("Size", func(t *testing.T) { testDeviceSize(t, newStore) })
		t.Run("Text", func(t *testing.T) { testDeviceText(t, newStore) })
		t.Run("Context", func(t *testing.T) { testDeviceContext(t, newStore) })
	})
}

func testCreateDevice(t *testing.T, newStore newDeviceStore) {
	t.Run("round trip keeps every field", func(t *testing.T) {
		s := newStore(t)
		d := deviceAuthorization(t)
		createDevice(t, s, d)
		assertDevice(t, d, byUserCode(t, s, d.UserCodeKey))
		at := d.IssuedAt.Add(time.Second)
		d.LastPolledAt = at
		assertDevice(t, d, mustPoll(t, s, d, at))
	})

	t.Run("decided, polled record keeps every field", func(t *testing.T) {
		for _, status := range []storage.DeviceAuthorizationStatus{storage.DeviceApproved, storage.DeviceDenied} {
			t.Run(status.String(), func(t *testing.T) {
				s := newStore(t)
				d := approvedDeviceAuthorization(t)
				d.Status = status
				createDevice(t, s, d)
				assertDevice(t, d, byUserCode(t, s, d.UserCodeKey))
				at := d.DecidedAt.Add(time.Second)
				got, err := s.ConsumeDeviceAuthorization(t.Context(), d.Key, at)
				require.NoError(t, err, "ConsumeDeviceAuthorization")
				d.ConsumedAt = at
				assertDevice(t, d, got)
			})
		}
	})

	t.Run("ConsumedAt given at creation is kept", func(t *testing.T) {
		s := newStore(t)
		d := approvedDeviceAuthorization(t)
		d.ConsumedAt = d.DecidedAt.Add(time.Second)
		createDevice(t, s, d)
		assertDevice(t, d, byUserCode(t, s, d.UserCodeKey))
	})

	t.Run("Interval round trips to the microsecond", func(t *testing.T) {
		s := newStore(t)
		for _, interval := range []time.Duration{
			time.Microsecond, time.Second, 5 * time.Second, 5*time.Second + time.Microsecond,
			2*time.Minute + 999_999*time.Microsecond, 24 * time.Hour,
		} {
			d := deviceAuthorization(t)
			d.Interval = interval
			createDevice(t, s, d)
			assert.Equal(t, interval, byUserCode(t, s, d.UserCodeKey).Interval, "Interval")
		}
	})

	t.Run("record with only the required fields round trips", func(t *testing.T) {
		s := newStore(t)
		d := minimalDeviceAuthorization(t)
		createDevice(t, s, d)
		assertDevice(t, d, byUserCode(t, s, d.UserCodeKey))
	})

	t.Run("device authorizations are kept apart", func(t *testing.T) {
		s := newStore(t)
		a, b := deviceAuthorization(t), approvedDeviceAuthorization(t)
		createDevice(t, s, a)
		createDevice(t, s, b)
		assertDevice(t, a, byUserCode(t, s, a.UserCodeKey))
		assertDevice(t, b, byUserCode(t, s, b.UserCodeKey))
	})

	t.Run("existing key is ErrDuplicate and the stored record is unchanged", func(t *testing.T) {
		s := newStore(t)
		first := deviceAuthorization(t)
		createDevice(t, s, first)
		second := minimalDeviceAuthorization(t)
		second.Key = first.Key
		assert.ErrorIs(t, s.CreateDeviceAuthorization(t.Context(), second), storage.ErrDuplicate)
		assertDevice(t, first, byUserCode(t, s, first.UserCodeKey))
		assertNoUserCode(t, s, second.UserCodeKey)
	})

	t.Run("existing consumed key is ErrDuplicate and the record stays consumed", func(t *testing.T) {
		s := newStore(t)
		first := approvedDeviceAuthorization(t)
		createDevice(t, s, first)
		at := now()
		_, err := s.ConsumeDeviceAuthorization(t.Context(), first.Key, at)
		require.NoError(t, err)
		second := approvedDeviceAuthorization(t)
		second.Key = first.Key
		assert.ErrorIs(t, s.CreateDeviceAuthorization(t.Context(), second), storage.ErrDuplicate,
			"a consumed key cannot be stored again to be consumed again")
		assertTime(t, "ConsumedAt", at, byUserCode(t, s, first.UserCodeKey).ConsumedAt)
	})

	t.Run("user code held by a live record is ErrDuplicate and nothing is stored", func(t *testing.T) {
		s := newStore(t)
		first := deviceAuthorization(t)
		createDevice(t, s, first)
		second := deviceAuthorization(t)
		second.UserCodeKey = first.UserCodeKey
		second.ClientID = "client-b"
		assert.ErrorIs(t, s.CreateDeviceAuthorization(t.Context(), second), storage.ErrDuplicate)
		assertDevice(t, first, byUserCode(t, s, first.UserCodeKey))
		assertNoKey(t, s, second.Key, second.ClientID)
	})

	t.Run("user code held by a record expiring just after IssuedAt is ErrDuplicate", func(t *testing.T) {
		s := newStore(t)
		first := deviceAuthorization(t)
		createDevice(t, s, first)
		second := deviceAuthorization(t)
		second.UserCodeKey = first.UserCodeKey
		second.IssuedAt = first.ExpiresAt.Add(-time.Microsecond)
		second.ExpiresAt = second.IssuedAt.Add(time.Hour)
		assert.ErrorIs(t, s.CreateDeviceAuthorization(t.Context(), second), storage.ErrDuplicate,
			"the holder has not expired at the new record's IssuedAt")
		assertDevice(t, first, byUserCode(t, s, first.UserCodeKey))
		assertNoKey(t, s, second.Key, second.ClientID)
	})

	t.Run("a holder expired at IssuedAt gives the user code up: the new record is found by it, the old one still by its Key", func(t *testing.T) {
		s := newStore(t)
		// Both records lie in the future of the real clock: the store
		// may delete a record once its ExpiresAt has passed, and the old
		// one must still be there. The rule is judged at the new
		// record's IssuedAt, which is the old one's ExpiresAt: a record
		// has expired at its ExpiresAt.
		old := deviceAuthorization(t)
		createDevice(t, s, old)
		fresh := deviceAuthorization(t)
		fresh.UserCodeKey = old.UserCodeKey
		fresh.IssuedAt = old.ExpiresAt
		fresh.ExpiresAt = fresh.IssuedAt.Add(time.Hour)
		require.NoError(t, s.CreateDeviceAuthorization(t.Context(), fresh), "CreateDeviceAuthorization over an expired holder")
		assertDevice(t, fresh, byUserCode(t, s, old.UserCodeKey))

		polled := mustPoll(t, s, old, old.IssuedAt.Add(time.Second))
		assert.Equal(t, old.Key, polled.Key, "the old record, by its Key")
		assertStrings(t, "Scopes of the old record", old.Scopes, polled.Scopes)
		consumed, err := s.ConsumeDeviceAuthorization(t.Context(), old.Key, now())
		assert.NoError(t, err, "ConsumeDeviceAuthorization of the old record")
		if assert.NotNil(t, consumed) {
			assert.Equal(t, old.Key, consumed.Key, "the old record, by its Key")
		}
		assertDevice(t, fresh, byUserCode(t, s, old.UserCodeKey))

		third := deviceAuthorization(t)
		third.UserCodeKey = old.UserCodeKey
		third.IssuedAt = old.ExpiresAt
		third.ExpiresAt = third.IssuedAt.Add(time.Hour)
		assert.ErrorIs(t, s.CreateDeviceAuthorization(t.Context(), third), storage.ErrDuplicate,
			"the new holder keeps the user code while it lives")
		assertDevice(t, fresh, byUserCode(t, s, old.UserCodeKey))
	})

	t.Run("keys are matched exactly", func(t *testing.T) {
		s := newStore(t)
		a, b := deviceAuthorization(t), deviceAuthorization(t)
		a.Key = "abcDEF_-0123456789abcdefghijklmnopqrstuvwxy"
		b.Key = "ABCdef_-0123456789abcdefghijklmnopqrstuvwxy"
		createDevice(t, s, a)
		createDevice(t, s, b)
		assertNoKey(t, s, a.Key[:42], a.ClientID)
		assertNoKey(t, s, a.Key+" ", a.ClientID)
		assert.Equal(t, a.Key, mustPoll(t, s, a, now()).Key)
		assert.Equal(t, b.Key, mustPoll(t, s, b, now()).Key)
	})

	t.Run("user code keys are matched exactly", func(t *testing.T) {
		s := newStore(t)
		a, b := deviceAuthorization(t), deviceAuthorization(t)
		a.UserCodeKey = "abcDEF_-0123456789abcdefghijklmnopqrstuvwxy"
		b.UserCodeKey = "ABCdef_-0123456789abcdefghijklmnopqrstuvwxy"
		createDevice(t, s, a)
		createDevice(t, s, b)
		assertDevice(t, a, byUserCode(t, s, a.UserCodeKey))
		assertDevice(t, b, byUserCode(t, s, b.UserCodeKey))
		assertNoUserCode(t, s, a.UserCodeKey[:42])
		assertNoUserCode(t, s, a.UserCodeKey+" ")
	})

	t.Run("concurrent callers with one key: exactly one wins", func(t *testing.T) {
		s := newStore(t)
		key := newKey(t)
		recs, w := raceCreates(t, s, func(d *storage.DeviceAuthorization) { d.Key = key })
		if w < 0 {
			return
		}
		assertDevice(t, recs[w], byUserCode(t, s, recs[w].UserCodeKey))
		for i, r := range recs {
			if i != w {
				assertNoUserCode(t, s, r.UserCodeKey)
			}
		}
	})

	t.Run("concurrent callers with one user code: exactly one wins", func(t *testing.T) {
		s := newStore(t)
		userCodeKey := newKey(t)
		recs, w := raceCreates(t, s, func(d *storage.DeviceAuthorization) { d.UserCodeKey = userCodeKey })
		if w < 0 {
			return
		}
		assertDevice(t, recs[w], byUserCode(t, s, userCodeKey))
		for i, r := range recs {
			if i != w {
				assertNoKey(t, s, r.Key, r.ClientID)
			}
		}
	})
}

// raceCreates creates concurrency records at once, each changed by same to
// share what makes them clash, and returns them with the index of the one
// create that won (negative when countWinners has failed the test).
func raceCreates(t *testing.T, s storage.DeviceAuthorizationStore, same func(*storage.DeviceAuthorization)) ([]*storage.DeviceAuthorization, int) {
	t.Helper()
	recs := make([]*storage.DeviceAuthorization, concurrency)
	for i := range recs {
		recs[i] = deviceAuthorization(t)
		same(recs[i])
	}
	errs := make([]error, concurrency)
	race(concurrency, func(i int) { errs[i] = s.CreateDeviceAuthorization(t.Context(), recs[i]) })
	return recs, countWinners(t, errs, storage.ErrDuplicate)
}

func testDeviceByUserCode(t *testing.T, newStore newDeviceStore) {
	t.Run("unknown user code is ErrNotFound", func(t *testing.T) {
		s := newStore(t)
		createDevice(t, s, deviceAuthorization(t))
		assertNoUserCode(t, s, newKey(t))
	})

	t.Run("the record is returned whatever its status: pending, approved, denied, consumed", func(t *testing.T) {
		s := newStore(t)
		approved, denied := deviceAuthorization(t), deviceAuthorization(t)
		createDevice(t, s, approved)
		createDevice(t, s, denied)
		assertDevice(t, approved, byUserCode(t, s, approved.UserCodeKey))

		at, dec := now(), approval()
		mustDecide(t, s, approved, dec, at)
		mustDecide(t, s, denied, denial(), at)
		wantApproved := decided(t, approved, dec, at)
		assertDevice(t, wantApproved, byUserCode(t, s, approved.UserCodeKey))
		assertDevice(t, decided(t, denied, denial(), at), byUserCode(t, s, denied.UserCodeKey))

		consumedAt := at.Add(time.Second)
		_, err := s.ConsumeDeviceAuthorization(t.Context(), approved.Key, consumedAt)
		require.NoError(t, err)
		wantApproved.ConsumedAt = consumedAt
		assertDevice(t, wantApproved, byUserCode(t, s, approved.UserCodeKey))
	})

	t.Run("reading is not polling: the first poll after reads is not slow", func(t *testing.T) {
		s := newStore(t)
		d := deviceAuthorization(t)
		createDevice(t, s, d)
		for range 3 {
			assert.True(t, byUserCode(t, s, d.UserCodeKey).LastPolledAt.IsZero(), "LastPolledAt")
		}
		mustPoll(t, s, d, d.IssuedAt)
	})
}

func testDecideDevice(t *testing.T, newStore newDeviceStore) {
	t.Run("approval sets Status, DecidedAt, Subject, GrantedScopes, AuthTime and Claims, and returns the record", func(t *testing.T) {
		s := newStore(t)
		d := deviceAuthorization(t)
		createDevice(t, s, d)
		at, dec := now(), approval()
		got := mustDecide(t, s, d, dec, at)
		want := decided(t, d, dec, at)
		assertDevice(t, want, got)
		assertDevice(t, want, byUserCode(t, s, d.UserCodeKey))
	})

	t.Run("denial sets Status and DecidedAt, and no approval", func(t *testing.T) {
		s := newStore(t)
		d := deviceAuthorization(t)
		createDevice(t, s, d)
		at := now()
		got := mustDecide(t, s, d, denial(), at)
		want := decided(t, d, denial(), at)
		assertDevice(t, want, got)
		assertDevice(t, want, byUserCode(t, s, d.UserCodeKey))
	})

	t.Run("a decision keeps the polling state", func(t *testing.T) {
		s := newStore(t)
		d := deviceAuthorization(t)
		createDevice(t, s, d)
		first := d.IssuedAt.Add(time.Second)
		mustPoll(t, s, d, first)
		_, err := poll(t, s, d, first.Add(time.Second))
		require.ErrorIs(t, err, storage.ErrSlowDown)
		d.LastPolledAt, d.Interval = first.Add(time.Second), d.Interval+slowDown
		at, dec := now(), approval()
		assertDevice(t, decided(t, d, dec, at), mustDecide(t, s, d, dec, at))
	})

	t.Run("a second decision returns the record as decided first, with ErrConsumed", func(t *testing.T) {
		for name, tc := range map[string]struct{ first, second storage.DeviceDecision }{
			"denied, then approved": {denial(), approval()},
			"approved, then denied": {approval(), denial()},
			"approved, then approved for another subject": {approval(), func() storage.DeviceDecision {
				dec := approval()
				dec.Subject, dec.Scopes, dec.Claims = "user-2", []string{"admin"}, map[string]any{"admin": true}
				return dec
			}()},
		} {
			t.Run(name, func(t *testing.T) {
				s := newStore(t)
				d := deviceAuthorization(t)
				createDevice(t, s, d)
				at := now()
				mustDecide(t, s, d, tc.first, at)
				want := decided(t, d, tc.first, at)
				got, err := s.DecideDeviceAuthorization(t.Context(), d.Key, tc.second, at.Add(time.Second))
				assert.ErrorIs(t, err, storage.ErrConsumed)
				require.NotNil(t, got, "the record must come with ErrConsumed")
				assertDevice(t, want, got)
				assertDevice(t, want, byUserCode(t, s, d.UserCodeKey))
			})
		}
	})

	t.Run("record created decided is ErrConsumed", func(t *testing.T) {
		for _, status := range []storage.DeviceAuthorizationStatus{storage.DeviceApproved, storage.DeviceDenied} {
			t.Run(status.String(), func(t *testing.T) {
				s := newStore(t)
				d := approvedDeviceAuthorization(t)
				d.Status = status
				createDevice(t, s, d)
				got, err := s.DecideDeviceAuthorization(t.Context(), d.Key, approval(), now())
				assert.ErrorIs(t, err, storage.ErrConsumed)
				if assert.NotNil(t, got, "the record must come with ErrConsumed") {
					assertDevice(t, d, got)
				}
				assertDevice(t, d, byUserCode(t, s, d.UserCodeKey))
			})
		}
	})

	t.Run("a decision that neither approves nor denies is invalid input, not a sentinel, and changes nothing", func(t *testing.T) {
		for _, status := range []storage.DeviceAuthorizationStatus{storage.DevicePending, storage.DeviceDenied + 1, 255} {
			t.Run(fmt.Sprintf("status %d", status), func(t *testing.T) {
				s := newStore(t)
				d := deviceAuthorization(t)
				createDevice(t, s, d)
				dec := approval()
				dec.Status = status
				got, err := s.DecideDeviceAuthorization(t.Context(), d.Key, dec, now())
				assertInvalid(t, err)
				assert.Nil(t, got, "no record with an error")
				assertDevice(t, d, byUserCode(t, s, d.UserCodeKey))
				mustDecide(t, s, d, denial(), now())
			})
		}
	})

	t.Run("unknown key is ErrNotFound", func(t *testing.T) {
		s := newStore(t)
		createDevice(t, s, deviceAuthorization(t))
		rec, err := s.DecideDeviceAuthorization(t.Context(), newKey(t), approval(), now())
		assert.ErrorIs(t, err, storage.ErrNotFound)
		assert.Nil(t, rec, "no record with ErrNotFound")
	})

	t.Run("one decision leaves the other records alone", func(t *testing.T) {
		s := newStore(t)
		a, b := deviceAuthorization(t), deviceAuthorization(t)
		createDevice(t, s, a)
		createDevice(t, s, b)
		mustDecide(t, s, a, approval(), now())
		assertDevice(t, b, byUserCode(t, s, b.UserCodeKey))
		mustDecide(t, s, b, denial(), now())
	})

	t.Run("concurrent deciders: exactly one wins, and the record holds its decision", func(t *testing.T) {
		s := newStore(t)
		d := deviceAuthorization(t)
		createDevice(t, s, d)
		base := now()
		decs := make([]storage.DeviceDecision, concurrency)
		ats := make([]time.Time, concurrency)
		for i := range decs {
			decs[i] = denial()
			if i%2 == 0 {
				decs[i] = approval()
				decs[i].Subject = "user-" + randomID(t, 8)
			}
			ats[i] = base.Add(time.Duration(i+1) * time.Millisecond)
		}
		recs := make([]*storage.DeviceAuthorization, concurrency)
		errs := make([]error, concurrency)
		race(concurrency, func(i int) { recs[i], errs[i] = s.DecideDeviceAuthorization(t.Context(), d.Key, decs[i], ats[i]) })
		w := countWinners(t, errs, storage.ErrConsumed)
		if w < 0 {
			return
		}
		assertRaceRecords(t, s, decided(t, d, decs[w], ats[w]), recs)
	})
}

func testPollDevice(t *testing.T, newStore newDeviceStore) {
	t.Run("first poll is never slow: it sets LastPolledAt and returns the record", func(t *testing.T) {
		s := newStore(t)
		d := deviceAuthorization(t)
		createDevice(t, s, d)
		at := d.IssuedAt // at once: no poll came before it
		got := mustPoll(t, s, d, at)
		d.LastPolledAt = at
		assertDevice(t, d, got)
		assertDevice(t, d, byUserCode(t, s, d.UserCodeKey))
	})

	t.Run("poll at exactly LastPolledAt+Interval is not slow", func(t *testing.T) {
		s := newStore(t)
		d := deviceAuthorization(t)
		createDevice(t, s, d)
		first := d.IssuedAt.Add(time.Second)
		mustPoll(t, s, d, first)
		second := first.Add(d.Interval)
		got := mustPoll(t, s, d, second)
		d.LastPolledAt = second
		assertDevice(t, d, got)
		third := second.Add(d.Interval + time.Minute)
		d.LastPolledAt = third
		assertDevice(t, d, mustPoll(t, s, d, third))
		assertDevice(t, d, byUserCode(t, s, d.UserCodeKey))
	})

	t.Run("poll sooner is ErrSlowDown: Interval grows by slowDown and LastPolledAt moves", func(t *testing.T) {
		s := newStore(t)
		d := deviceAuthorization(t)
		createDevice(t, s, d)
		first := d.IssuedAt.Add(time.Second)
		mustPoll(t, s, d, first)
		second := first.Add(d.Interval - time.Microsecond)
		got, err := poll(t, s, d, second)
		assert.ErrorIs(t, err, storage.ErrSlowDown)
		require.NotNil(t, got, "the record must come with ErrSlowDown")
		d.Interval += slowDown
		d.LastPolledAt = second
		assertDevice(t, d, got)
		assertDevice(t, d, byUserCode(t, s, d.UserCodeKey))
	})

	t.Run("the grown interval persists: a poll at the old interval is slow again, at the new one it is not", func(t *testing.T) {
		s := newStore(t)
		d := deviceAuthorization(t)
		createDevice(t, s, d)
		old := d.Interval
		first := d.IssuedAt.Add(time.Second)
		mustPoll(t, s, d, first)
		second := first.Add(time.Second)
		_, err := poll(t, s, d, second)
		require.ErrorIs(t, err, storage.ErrSlowDown, "a poll a second after the first")

		third := second.Add(old)
		got, err := poll(t, s, d, third)
		assert.ErrorIs(t, err, storage.ErrSlowDown, "a poll at the old interval after the last")
		if assert.NotNil(t, got, "the record must come with ErrSlowDown") {
			assert.Equal(t, old+2*slowDown, got.Interval, "Interval after two polls too soon")
		}

		fourth := third.Add(old + 2*slowDown)
		got = mustPoll(t, s, d, fourth)
		d.Interval, d.LastPolledAt = old+2*slowDown, fourth
		assertDevice(t, d, got)
		assertDevice(t, d, byUserCode(t, s, d.UserCodeKey))
	})

	t.Run("the slow-down step is the one given", func(t *testing.T) {
		s := newStore(t)
		d := deviceAuthorization(t)
		createDevice(t, s, d)
		first := d.IssuedAt.Add(time.Second)
		mustPoll(t, s, d, first)
		for i, step := range []time.Duration{7*time.Second + 3*time.Microsecond, time.Microsecond, 0} {
			at := first.Add(time.Duration(i+1) * time.Millisecond)
			got, err := s.PollDeviceAuthorization(t.Context(), d.Key, d.ClientID, at, step)
			assert.ErrorIs(t, err, storage.ErrSlowDown, "a poll too soon with a step of %v", step)
			d.Interval += step
			d.LastPolledAt = at
			assertDevice(t, d, got)
		}
		assertDevice(t, d, byUserCode(t, s, d.UserCodeKey))
	})

	t.Run("a poll dated before the last one is slow, and LastPolledAt takes its time", func(t *testing.T) {
		// Two instances whose clocks differ may record polls out of
		// order; each poll is judged against the one recorded before it.
		s := newStore(t)
		d := deviceAuthorization(t)
		createDevice(t, s, d)
		first := d.IssuedAt.Add(time.Minute)
		mustPoll(t, s, d, first)
		earlier := first.Add(-time.Second)
		got, err := poll(t, s, d, earlier)
		assert.ErrorIs(t, err, storage.ErrSlowDown)
		d.Interval += slowDown
		d.LastPolledAt = earlier
		assertDevice(t, d, got)
		assertDevice(t, d, byUserCode(t, s, d.UserCodeKey))
	})

	t.Run("a poll judges neither status nor expiry", func(t *testing.T) {
		s := newStore(t)
		d := approvedDeviceAuthorization(t)
		createDevice(t, s, d)
		_, err := s.ConsumeDeviceAuthorization(t.Context(), d.Key, now())
		require.NoError(t, err)
		at := d.ExpiresAt.Add(time.Minute)
		got := mustPoll(t, s, d, at)
		assertTime(t, "LastPolledAt", at, got.LastPolledAt)
		assert.Equal(t, storage.DeviceApproved, got.Status, "Status")
	})

	t.Run("another client's poll is ErrNotFound and changes neither Interval nor LastPolledAt", func(t *testing.T) {
		s := newStore(t)
		d := deviceAuthorization(t)
		createDevice(t, s, d)
		other := func(at time.Time) {
			t.Helper()
			for _, client := range []string{"client-b", "", d.ClientID + " ", "CLIENT-A"} {
				rec, err := s.PollDeviceAuthorization(t.Context(), d.Key, client, at, slowDown)
				assert.ErrorIs(t, err, storage.ErrNotFound, "a poll by %q", client)
				assert.Nil(t, rec, "no record with ErrNotFound")
			}
		}
		first := d.IssuedAt.Add(time.Second)
		other(first)
		assertDevice(t, d, byUserCode(t, s, d.UserCodeKey))
		mustPoll(t, s, d, first.Add(time.Second)) // not slow: the other client's poll did not count
		d.LastPolledAt = first.Add(time.Second)

		other(first.Add(2 * time.Second))
		assertDevice(t, d, byUserCode(t, s, d.UserCodeKey))
		mustPoll(t, s, d, d.LastPolledAt.Add(d.Interval)) // judged from the client's own last poll
	})

	t.Run("unknown key is ErrNotFound", func(t *testing.T) {
		s := newStore(t)
		d := deviceAuthorization(t)
		createDevice(t, s, d)
		assertNoKey(t, s, newKey(t), d.ClientID)
	})

	t.Run("concurrent polls: each sees the one before it", func(t *testing.T) {
		s := newStore(t)
		d := deviceAuthorization(t)
		createDevice(t, s, d)
		at := d.IssuedAt.Add(time.Second)
		recs := make([]*storage.DeviceAuthorization, concurrency)
		errs := make([]error, concurrency)
		race(concurrency, func(i int) { recs[i], errs[i] = poll(t, s, d, at) })
		if countWinners(t, errs, storage.ErrSlowDown) < 0 {
			return
		}
		// The first poll is not slow; every later one, at the same
		// instant, is, and adds its step to what the one before left.
		want := make([]time.Duration, concurrency)
		got := make([]time.Duration, concurrency)
		for i := range concurrency {
			want[i] = d.Interval + time.Duration(i)*slowDown
			if assert.NotNil(t, recs[i], "call %d returned no record", i) {
				got[i] = recs[i].Interval
			}
		}
		slices.Sort(got)
		assert.Equal(t, want, got, "the intervals the polls returned, sorted")
		d.Interval += (concurrency - 1) * slowDown
		d.LastPolledAt = at
		assertDevice(t, d, byUserCode(t, s, d.UserCodeKey))
	})

	t.Run("concurrent polls of different records are not slow", func(t *testing.T) {
		s := newStore(t)
		recs := make([]*storage.DeviceAuthorization, concurrency)
		for i := range recs {
			recs[i] = deviceAuthorization(t)
			createDevice(t, s, recs[i])
		}
		errs := make([]error, concurrency)
		race(concurrency, func(i int) { _, errs[i] = poll(t, s, recs[i], recs[i].IssuedAt) })
		for i, err := range errs {
			assert.NoError(t, err, "call %d", i)
		}
	})
}

func testConsumeDevice(t *testing.T, newStore newDeviceStore) {
	t.Run("sets ConsumedAt and returns the record", func(t *testing.T) {
		s := newStore(t)
		d := approvedDeviceAuthorization(t)
		createDevice(t, s, d)
		at := now()
		got, err := s.ConsumeDeviceAuthorization(t.Context(), d.Key, at)
		require.NoError(t, err)
		d.ConsumedAt = at
		assertDevice(t, d, got)
		assertDevice(t, d, byUserCode(t, s, d.UserCodeKey))
	})

	t.Run("second call returns the record with the first ConsumedAt and ErrConsumed", func(t *testing.T) {
		s := newStore(t)
		d := approvedDeviceAuthorization(t)
		createDevice(t, s, d)
		first := now()
		_, err := s.ConsumeDeviceAuthorization(t.Context(), d.Key, first)
		require.NoError(t, err)
		got, err := s.ConsumeDeviceAuthorization(t.Context(), d.Key, first.Add(time.Second))
		assert.ErrorIs(t, err, storage.ErrConsumed)
		require.NotNil(t, got, "the record must come with ErrConsumed")
		d.ConsumedAt = first
		assertDevice(t, d, got)
		assertDevice(t, d, byUserCode(t, s, d.UserCodeKey))
	})

	t.Run("record created consumed is ErrConsumed", func(t *testing.T) {
		s := newStore(t)
		d := approvedDeviceAuthorization(t)
		d.ConsumedAt = d.DecidedAt.Add(time.Second)
		createDevice(t, s, d)
		got, err := s.ConsumeDeviceAuthorization(t.Context(), d.Key, now())
		assert.ErrorIs(t, err, storage.ErrConsumed)
		if assert.NotNil(t, got, "the record must come with ErrConsumed") {
			assertDevice(t, d, got)
		}
	})

	t.Run("unknown key is ErrNotFound", func(t *testing.T) {
		s := newStore(t)
		createDevice(t, s, approvedDeviceAuthorization(t))
		rec, err := s.ConsumeDeviceAuthorization(t.Context(), newKey(t), now())
		assert.ErrorIs(t, err, storage.ErrNotFound)
		assert.Nil(t, rec, "no record with ErrNotFound")
	})

	t.Run("concurrent callers: exactly one wins", func(t *testing.T) {
		s := newStore(t)
		d := approvedDeviceAuthorization(t)
		createDevice(t, s, d)
		base := now()
		ats := make([]time.Time, concurrency)
		recs := make([]*storage.DeviceAuthorization, concurrency)
		errs := make([]error, concurrency)
		for i := range ats {
			ats[i] = base.Add(time.Duration(i+1) * time.Millisecond)
		}
		race(concurrency, func(i int) { recs[i], errs[i] = s.ConsumeDeviceAuthorization(t.Context(), d.Key, ats[i]) })
		w := countWinners(t, errs, storage.ErrConsumed)
		if w < 0 {
			return
		}
		d.ConsumedAt = ats[w]
		assertRaceRecords(t, s, d, recs)
	})
}

// testDeviceKeys checks that a record is found by exactly the keys it was
// given: the store derives nothing from them (they are already digests of
// the device code and the user code, which it never sees), and keeps
// Keys and UserCodeKeys apart.
func testDeviceKeys(t *testing.T, newStore newDeviceStore) {
	t.Run("a record is found by exactly its Key and its UserCodeKey", func(t *testing.T) {
		s := newStore(t)
		d := deviceAuthorization(t)
		createDevice(t, s, d)
		assertNoUserCode(t, s, d.Key)
		assertNoKey(t, s, d.UserCodeKey, d.ClientID)
		rec, err := s.DecideDeviceAuthorization(t.Context(), d.UserCodeKey, approval(), now())
		assert.ErrorIs(t, err, storage.ErrNotFound, "DecideDeviceAuthorization by the UserCodeKey")
		assert.Nil(t, rec)
		rec, err = s.ConsumeDeviceAuthorization(t.Context(), d.UserCodeKey, now())
		assert.ErrorIs(t, err, storage.ErrNotFound, "ConsumeDeviceAuthorization by the UserCodeKey")
		assert.Nil(t, rec)
		assertDevice(t, d, byUserCode(t, s, d.UserCodeKey))
		mustPoll(t, s, d, d.IssuedAt)
	})

	t.Run("one record's UserCodeKey may be another's Key", func(t *testing.T) {
		s := newStore(t)
		a, b := deviceAuthorization(t), deviceAuthorization(t)
		b.Key = a.UserCodeKey
		createDevice(t, s, a)
		createDevice(t, s, b)
		assertDevice(t, a, byUserCode(t, s, a.UserCodeKey))
		assertDevice(t, b, byUserCode(t, s, b.UserCodeKey))
		got, err := s.ConsumeDeviceAuthorization(t.Context(), a.UserCodeKey, now())
		require.NoError(t, err)
		assert.Equal(t, b.Key, got.Key, "the record consumed by b's Key")
		assert.True(t, byUserCode(t, s, a.UserCodeKey).ConsumedAt.IsZero(), "ConsumedAt of a")
	})
}

func cloneDevice(t *testing.T, d *storage.DeviceAuthorization) *storage.DeviceAuthorization {
	c := *d
	c.Scopes, c.GrantedScopes = slices.Clone(d.Scopes), slices.Clone(d.GrantedScopes)
	c.Claims = cloneClaims(t, d.Claims)
	return &c
}

func scribbleDevice(d *storage.DeviceAuthorization) {
	for _, s := range []*string{&d.Key, &d.UserCodeKey, &d.ClientID, &d.Subject} {
		*s = scribbled
	}
	scribbleStrings(d.Scopes)
	scribbleStrings(d.GrantedScopes)
	scribbleClaims(d.Claims)
	for _, at := range []*time.Time{&d.IssuedAt, &d.ExpiresAt, &d.LastPolledAt, &d.DecidedAt, &d.AuthTime, &d.ConsumedAt} {
		shift(at)
	}
	d.Interval++
	d.Status = 3 - d.Status
}

func scribbleDecision(d *storage.DeviceDecision) {
	d.Subject = scribbled
	scribbleStrings(d.Scopes)
	scribbleClaims(d.Claims)
	shift(&d.AuthTime)
	d.Status = storage.DeviceDenied
}

func testDeviceCopies(t *testing.T, newStore newDeviceStore) {
	t.Run("the record DeviceAuthorizationByUserCode returns may be modified: the stored one stays", func(t *testing.T) {
		s := newStore(t)
		d := approvedDeviceAuthorization(t)
		createDevice(t, s, d)
		scribbleDevice(byUserCode(t, s, d.UserCodeKey))
		assertDevice(t, d, byUserCode(t, s, d.UserCodeKey))
	})

	t.Run("the records PollDeviceAuthorization returns may be modified: the stored one stays", func(t *testing.T) {
		s := newStore(t)
		d := approvedDeviceAuthorization(t)
		createDevice(t, s, d)
		at := d.LastPolledAt.Add(d.Interval)
		scribbleDevice(mustPoll(t, s, d, at))
		d.LastPolledAt = at
		assertDevice(t, d, byUserCode(t, s, d.UserCodeKey))

		slow, err := poll(t, s, d, at)
		require.ErrorIs(t, err, storage.ErrSlowDown)
		require.NotNil(t, slow)
		scribbleDevice(slow)
		d.Interval += slowDown
		assertDevice(t, d, byUserCode(t, s, d.UserCodeKey))
	})

	t.Run("the records DecideDeviceAuthorization returns may be modified: the stored one stays", func(t *testing.T) {
		s := newStore(t)
		d := deviceAuthorization(t)
		createDevice(t, s, d)
		at, dec := now(), approval()
		scribbleDevice(mustDecide(t, s, d, dec, at))
		want := decided(t, d, dec, at)
		assertDevice(t, want, byUserCode(t, s, d.UserCodeKey))

		lost, err := s.DecideDeviceAuthorization(t.Context(), d.Key, approval(), at)
		require.ErrorIs(t, err, storage.ErrConsumed)
		require.NotNil(t, lost)
		scribbleDevice(lost)
		assertDevice(t, want, byUserCode(t, s, d.UserCodeKey))
	})

	t.Run("the records ConsumeDeviceAuthorization returns may be modified: the stored one stays", func(t *testing.T) {
		s := newStore(t)
		d := approvedDeviceAuthorization(t)
		createDevice(t, s, d)
		at := now()
		won, err := s.ConsumeDeviceAuthorization(t.Context(), d.Key, at)
		require.NoError(t, err)
		require.NotNil(t, won)
		scribbleDevice(won)
		d.ConsumedAt = at
		assertDevice(t, d, byUserCode(t, s, d.UserCodeKey))

		lost, err := s.ConsumeDeviceAuthorization(t.Context(), d.Key, at.Add(time.Second))
		require.ErrorIs(t, err, storage.ErrConsumed)
		require.NotNil(t, lost)
		scribbleDevice(lost)
		assertDevice(t, d, byUserCode(t, s, d.UserCodeKey))
	})

	t.Run("the record given to CreateDeviceAuthorization may be modified afterwards", func(t *testing.T) {
		s := newStore(t)
		given := approvedDeviceAuthorization(t)
		want := cloneDevice(t, given)
		createDevice(t, s, given)
		scribbleDevice(given)
		assertDevice(t, want, byUserCode(t, s, want.UserCodeKey))
	})

	t.Run("the decision given to DecideDeviceAuthorization may be modified afterwards", func(t *testing.T) {
		s := newStore(t)
		d := deviceAuthorization(t)
		createDevice(t, s, d)
		at, given := now(), approval()
		want := decided(t, d, given, at)
		mustDecide(t, s, d, given, at)
		scribbleDecision(&given)
		assertDevice(t, want, byUserCode(t, s, d.UserCodeKey))
	})
}

func testDeviceInput(t *testing.T, newStore newDeviceStore) {
	t.Run("nil record is invalid input, not a sentinel", func(t *testing.T) {
		s := newStore(t)
		assertInvalid(t, s.CreateDeviceAuthorization(t.Context(), nil))
	})

	t.Run("empty key is invalid input, not a sentinel, and nothing is stored", func(t *testing.T) {
		s := newStore(t)
		d := deviceAuthorization(t)
		d.Key = ""
		assertInvalid(t, s.CreateDeviceAuthorization(t.Context(), d))
		assertNotStored(t, s, d)
	})

	t.Run("empty user code key is invalid input, not a sentinel, and nothing is stored", func(t *testing.T) {
		s := newStore(t)
		d := deviceAuthorization(t)
		d.UserCodeKey = ""
		assertInvalid(t, s.CreateDeviceAuthorization(t.Context(), d))
		assertNotStored(t, s, d)
	})

	for what, key := range unkeepable(t) {
		t.Run(what+" is ErrNotFound to DeviceAuthorizationByUserCode, PollDeviceAuthorization, DecideDeviceAuthorization and ConsumeDeviceAuthorization", func(t *testing.T) {
			s := newStore(t)
			d := deviceAuthorization(t)
			createDevice(t, s, d)
			assertNoUserCode(t, s, key)
			assertNoKey(t, s, key, d.ClientID)
			rec, err := s.DecideDeviceAuthorization(t.Context(), key, approval(), now())
			assert.ErrorIs(t, err, storage.ErrNotFound, "DecideDeviceAuthorization")
			assert.Nil(t, rec, "no record with ErrNotFound")
			rec, err = s.ConsumeDeviceAuthorization(t.Context(), key, now())
			assert.ErrorIs(t, err, storage.ErrNotFound, "ConsumeDeviceAuthorization")
			assert.Nil(t, rec, "no record with ErrNotFound")
			assertDevice(t, d, byUserCode(t, s, d.UserCodeKey))
		})
	}
}

// padScopes sets the last of the record's scopes so that size, measured
// after the change, is n.
func padScopes(t *testing.T, d *storage.DeviceAuthorization, size func() (int, error), n int) {
	t.Helper()
	d.Scopes = append(slices.Clone(d.Scopes), "")
	base, err := size()
	require.NoError(t, err)
	require.LessOrEqual(t, base, n, "the record without its padding")
	d.Scopes[len(d.Scopes)-1] = strings.Repeat("s", n-base)
	got, err := size()
	require.NoError(t, err)
	require.Equal(t, n, got, "Size after padding")
}

func testDeviceSize(t *testing.T, newStore newDeviceStore) {
	t.Run("device authorization of MaxRecordBytes is stored whole", func(t *testing.T) {
		s := newStore(t)
		d := deviceAuthorization(t)
		padScopes(t, d, d.Size, storage.MaxRecordBytes)
		createDevice(t, s, d)
		assertDevice(t, d, byUserCode(t, s, d.UserCodeKey))
	})

	t.Run("device authorization one byte larger is ErrTooLarge and nothing is stored", func(t *testing.T) {
		s := newStore(t)
		d := deviceAuthorization(t)
		padScopes(t, d, d.Size, storage.MaxRecordBytes+1)
		assertTooLarge(t, s.CreateDeviceAuthorization(t.Context(), d))
		assertNotStored(t, s, d)
	})

	t.Run("claims count as their JSON: approved record of MaxRecordBytes is stored whole", func(t *testing.T) {
		s := newStore(t)
		d := approvedDeviceAuthorization(t)
		padClaims(t, d.Claims, d.Size, storage.MaxRecordBytes)
		createDevice(t, s, d)
		assertDevice(t, d, byUserCode(t, s, d.UserCodeKey))
	})

	t.Run("claims count as their JSON: approved record one byte larger is ErrTooLarge", func(t *testing.T) {
		s := newStore(t)
		d := approvedDeviceAuthorization(t)
		padClaims(t, d.Claims, d.Size, storage.MaxRecordBytes+1)
		assertTooLarge(t, s.CreateDeviceAuthorization(t.Context(), d))
		assertNotStored(t, s, d)
	})

	t.Run("a long list counts: device authorization of many scopes is ErrTooLarge", func(t *testing.T) {
		s := newStore(t)
		d := deviceAuthorization(t)
		d.Scopes = longList(t)
		assertTooLarge(t, s.CreateDeviceAuthorization(t.Context(), d))
		assertNotStored(t, s, d)
	})

	for _, tc := range keyLengths {
		for field, set := range map[string]func(d *storage.DeviceAuthorization, key string){
			"keys":           func(d *storage.DeviceAuthorization, key string) { d.Key = key },
			"user code keys": func(d *storage.DeviceAuthorization, key string) { d.UserCodeKey = key },
		} {
			t.Run("device authorization "+field+" "+tc.name, func(t *testing.T) {
				s := newStore(t)
				d := deviceAuthorization(t)
				set(d, randomID(t, tc.n))
				err := s.CreateDeviceAuthorization(t.Context(), d)
				if tc.allow {
					require.NoError(t, err)
					assertDevice(t, d, byUserCode(t, s, d.UserCodeKey))
					mustPoll(t, s, d, d.IssuedAt)
					return
				}
				assertTooLarge(t, err)
				assertNotStored(t, s, d)
			})
		}
	}

	// decisionSized returns a pending record, stored, and an approval
	// that makes it n bytes.
	decisionSized := func(t *testing.T, s storage.DeviceAuthorizationStore, n int) (*storage.DeviceAuthorization, storage.DeviceDecision, time.Time) {
		t.Helper()
		d, dec, at := deviceAuthorization(t), approval(), now()
		padScopes(t, d, func() (int, error) { return decided(t, d, dec, at).Size() }, n)
		createDevice(t, s, d)
		return d, dec, at
	}

	t.Run("a decision that makes the record MaxRecordBytes is recorded", func(t *testing.T) {
		s := newStore(t)
		d, dec, at := decisionSized(t, s, storage.MaxRecordBytes)
		assertDevice(t, decided(t, d, dec, at), mustDecide(t, s, d, dec, at))
		assertDevice(t, decided(t, d, dec, at), byUserCode(t, s, d.UserCodeKey))
	})

	t.Run("a decision that makes the record one byte larger is ErrTooLarge and changes nothing", func(t *testing.T) {
		s := newStore(t)
		d, dec, at := decisionSized(t, s, storage.MaxRecordBytes+1)
		rec, err := s.DecideDeviceAuthorization(t.Context(), d.Key, dec, at)
		assertTooLarge(t, err)
		assert.Nil(t, rec, "no record with ErrTooLarge")
		assertDevice(t, d, byUserCode(t, s, d.UserCodeKey))
		mustDecide(t, s, d, denial(), at)
	})

	t.Run("a decision with claims of a megabyte is ErrTooLarge and changes nothing", func(t *testing.T) {
		s := newStore(t)
		d := deviceAuthorization(t)
		createDevice(t, s, d)
		dec := approval()
		dec.Claims["big"] = strings.Repeat("b", 1<<20)
		_, err := s.DecideDeviceAuthorization(t.Context(), d.Key, dec, now())
		assertTooLarge(t, err)
		assertDevice(t, d, byUserCode(t, s, d.UserCodeKey))
		mustDecide(t, s, d, approval(), now())
	})
}

func testDeviceText(t *testing.T, newStore newDeviceStore) {
	for field, set := range map[string]func(d *storage.DeviceAuthorization, s string){
		"Key":            func(d *storage.DeviceAuthorization, s string) { d.Key += s },
		"UserCodeKey":    func(d *storage.DeviceAuthorization, s string) { d.UserCodeKey += s },
		"ClientID":       func(d *storage.DeviceAuthorization, s string) { d.ClientID = s },
		"Scopes":         func(d *storage.DeviceAuthorization, s string) { d.Scopes = []string{"openid", s} },
		"Subject":        func(d *storage.DeviceAuthorization, s string) { d.Subject = s },
		"GrantedScopes":  func(d *storage.DeviceAuthorization, s string) { d.GrantedScopes = []string{s} },
		"Claims":         func(d *storage.DeviceAuthorization, s string) { d.Claims["tenant"] = s },
		"a claim's name": func(d *storage.DeviceAuthorization, s string) { d.Claims = map[string]any{s: "acme"} },
	} {
		for what, s := range notText {
			t.Run(field+" with "+what+" is stored exactly or refused", func(t *testing.T) {
				st := newStore(t)
				d := approvedDeviceAuthorization(t)
				set(d, s)
				err := st.CreateDeviceAuthorization(t.Context(), d)
				if err != nil {
					assertRefusal(t, err)
					assertNotStored(t, st, d)
					return
				}
				assertDevice(t, d, byUserCode(t, st, d.UserCodeKey))
				mustPoll(t, st, d, d.LastPolledAt.Add(d.Interval))
				_, err = st.ConsumeDeviceAuthorization(t.Context(), d.Key, now())
				assert.NoError(t, err, "ConsumeDeviceAuthorization")
			})
		}
	}

	for field, set := range map[string]func(dec *storage.DeviceDecision, s string){
		"decision's Subject": func(dec *storage.DeviceDecision, s string) { dec.Subject = s },
		"decision's Scopes":  func(dec *storage.DeviceDecision, s string) { dec.Scopes = []string{"openid", s} },
		"decision's Claims":  func(dec *storage.DeviceDecision, s string) { dec.Claims["tenant"] = s },
	} {
		for what, s := range notText {
			t.Run(field+" with "+what+" is recorded exactly or refused", func(t *testing.T) {
				st := newStore(t)
				d := deviceAuthorization(t)
				createDevice(t, st, d)
				at, dec := now(), approval()
				set(&dec, s)
				_, err := st.DecideDeviceAuthorization(t.Context(), d.Key, dec, at)
				if err != nil {
					assertRefusal(t, err)
					assertDevice(t, d, byUserCode(t, st, d.UserCodeKey))
					mustDecide(t, st, d, denial(), at)
					return
				}
				assertDevice(t, decided(t, d, dec, at), byUserCode(t, st, d.UserCodeKey))
			})
		}
	}

	for what, s := range notText {
		t.Run("a key, user code key or client ID with "+what+" is ErrNotFound", func(t *testing.T) {
			st := newStore(t)
			d := deviceAuthorization(t)
			createDevice(t, st, d)
			assertNoUserCode(t, st, d.UserCodeKey+s)
			assertNoKey(t, st, d.Key+s, d.ClientID)
			rec, err := st.PollDeviceAuthorization(t.Context(), d.Key, d.ClientID+s, now(), slowDown)
			assert.ErrorIs(t, err, storage.ErrNotFound, "PollDeviceAuthorization by another client ID")
			assert.Nil(t, rec)
			_, err = st.DecideDeviceAuthorization(t.Context(), d.Key+s, approval(), now())
			assert.ErrorIs(t, err, storage.ErrNotFound, "DecideDeviceAuthorization")
			_, err = st.ConsumeDeviceAuthorization(t.Context(), d.Key+s, now())
			assert.ErrorIs(t, err, storage.ErrNotFound, "ConsumeDeviceAuthorization")
			assertDevice(t, d, byUserCode(t, st, d.UserCodeKey))
		})
	}
}

func testDeviceContext(t *testing.T, newStore newDeviceStore) {
	t.Run("cancelled CreateDeviceAuthorization is an error and stores nothing", func(t *testing.T) {
		s := newStore(t)
		d := deviceAuthorization(t)
		assert.ErrorIs(t, s.CreateDeviceAuthorization(cancelled(t), d), context.Canceled)
		assertNotStored(t, s, d)
	})

	t.Run("cancelled DeviceAuthorizationByUserCode is an error", func(t *testing.T) {
		s := newStore(t)
		d := deviceAuthorization(t)
		createDevice(t, s, d)
		_, err := s.DeviceAuthorizationByUserCode(cancelled(t), d.UserCodeKey)
		assert.ErrorIs(t, err, context.Canceled)
	})

	t.Run("cancelled DecideDeviceAuthorization is an error and leaves the record pending", func(t *testing.T) {
		s := newStore(t)
		d := deviceAuthorization(t)
		createDevice(t, s, d)
		_, err := s.DecideDeviceAuthorization(cancelled(t), d.Key, approval(), now())
		assert.ErrorIs(t, err, context.Canceled)
		assertDevice(t, d, byUserCode(t, s, d.UserCodeKey))
		mustDecide(t, s, d, denial(), now())
	})

	t.Run("cancelled PollDeviceAuthorization is an error and changes neither Interval nor LastPolledAt", func(t *testing.T) {
		s := newStore(t)
		d := deviceAuthorization(t)
		createDevice(t, s, d)
		first := d.IssuedAt.Add(time.Second)
		_, err := s.PollDeviceAuthorization(cancelled(t), d.Key, d.ClientID, first, slowDown)
		assert.ErrorIs(t, err, context.Canceled, "a first poll")
		assertDevice(t, d, byUserCode(t, s, d.UserCodeKey))
		mustPoll(t, s, d, first)
		d.LastPolledAt = first
		_, err = s.PollDeviceAuthorization(cancelled(t), d.Key, d.ClientID, first.Add(time.Second), slowDown)
		assert.ErrorIs(t, err, context.Canceled, "a poll too soon")
		assertDevice(t, d, byUserCode(t, s, d.UserCodeKey))
	})

	t.Run("cancelled ConsumeDeviceAuthorization is an error and leaves the record unconsumed", func(t *testing.T) {
		s := newStore(t)
		d := approvedDeviceAuthorization(t)
		createDevice(t, s, d)
		_, err := s.ConsumeDeviceAuthorization(cancelled(t), d.Key, now())
		assert.ErrorIs(t, err, context.Canceled)
		assertDevice(t, d, byUserCode(t, s, d.UserCodeKey))
		_, err = s.ConsumeDeviceAuthorization(t.Context(), d.Key, now())
		assert.NoError(t, err, "the record is still unconsumed")
	})
}

// assertRaceRecords checks what a race of use-once calls left: every call,
// winner and losers, returned the record as the winner made it, and the
// store holds it.
func assertRaceRecords(t *testing.T, s storage.DeviceAuthorizationStore, want *storage.DeviceAuthorization, recs []*storage.DeviceAuthorization) {
	t.Helper()
	for i, rec := range recs {
		if assert.NotNil(t, rec, "call %d returned no record", i) {
			assertDevice(t, want, rec)
		}
	}
	assertDevice(t, want, byUserCode(t, s, want.UserCodeKey))
}
