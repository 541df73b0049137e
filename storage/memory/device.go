package memory

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/grantor-dev/grantor/storage"
)

// Device authorizations (RFC 8628) are kept like the records of the
// authorization code flow, under Store.authMu and with their sweep: a
// onceTable whose used time is ConsumedAt, and an index by user code.

// deviceTable holds the device authorizations: by Key in the onceTable,
// and by UserCodeKey in userCodes. Its methods expect Store.authMu to be
// held (for writing, but for byUserCode).
type deviceTable struct {
	onceTable[storage.DeviceAuthorization]
	// userCodes maps each user code key held to the Key of its holder.
	// A record that gave its user code up to a newer one is not listed;
	// the onceTable's deleted hook takes a deleted holder out.
	userCodes     map[string]string
	userCodesPeak int
}

// newDeviceTable returns an empty table bounded to bound records.
func newDeviceTable(bound int) *deviceTable {
	t := &deviceTable{userCodes: map[string]string{}}
	t.onceTable = onceTable[storage.DeviceAuthorization]{
		what:    "device authorization",
		records: map[string]*storage.DeviceAuthorization{},
		max:     bound,
		clone:   cloneDeviceAuthorization,
		strings: deviceStrings,
		check: func(d *storage.DeviceAuthorization) error {
			n, err := d.Size()
			return storage.CheckSize("memory: device authorization", n, err, d.Key, d.UserCodeKey)
		},
		key:     func(d *storage.DeviceAuthorization) *string { return &d.Key },
		used:    func(d *storage.DeviceAuthorization) *time.Time { return &d.ConsumedAt },
		expires: func(d *storage.DeviceAuthorization) time.Time { return d.ExpiresAt },
		deleted: t.forget,
	}
	return t
}

// forget takes d out of the user code index if it holds its user code.
func (t *deviceTable) forget(d *storage.DeviceAuthorization) {
	if t.userCodes[d.UserCodeKey] == d.Key {
		delete(t.userCodes, d.UserCodeKey)
	}
}

// create stores a deep copy of d. Its Key must be new, and its UserCodeKey
// held by no record that has not expired at d.IssuedAt (storage.ErrDuplicate
// otherwise); an expired holder gives the user code up to d.
func (t *deviceTable) create(d *storage.DeviceAuthorization, now int64) error {
	if _, ok := t.records[d.Key]; ok {
		return storage.ErrDuplicate
	}
	if key, ok := t.userCodes[d.UserCodeKey]; ok {
		if holder, ok := t.records[key]; ok && holder.ExpiresAt.After(d.IssuedAt) {
			return fmt.Errorf("memory: user code held by a device authorization until %v: %w", holder.ExpiresAt, storage.ErrDuplicate)
		}
	}
	if err := t.onceTable.create(d, now); err != nil {
		return err
	}
	c := t.records[d.Key] // the stored copy, whose strings the index shares
	t.userCodes[c.UserCodeKey] = c.Key
	return nil
}

// byUserCode returns a deep copy of the record holding userCodeKey, or
// storage.ErrNotFound.
func (t *deviceTable) byUserCode(userCodeKey string) (*storage.DeviceAuthorization, error) {
	key, ok := t.userCodes[userCodeKey]
	if !ok {
		return nil, storage.ErrNotFound
	}
	return t.get(key)
}

// decide records decision d at time at on the pending record under key.
func (t *deviceTable) decide(key string, d *storage.DeviceDecision, at time.Time) (*storage.DeviceAuthorization, error) {
	r, ok := t.records[key]
	if !ok {
		return nil, storage.ErrNotFound
	}
	if r.Status != storage.DevicePending {
		return t.clone(r), storage.ErrConsumed
	}
	c := t.clone(r)
	c.Status, c.DecidedAt = d.Status, at.UTC()
	if d.Status == storage.DeviceApproved {
		c.Subject, c.GrantedScopes, c.AuthTime, c.Claims = d.Subject, d.Scopes, d.AuthTime.UTC(), d.Claims
		storage.CloneLists(&c.GrantedScopes)
		c.Claims = storage.CloneClaims(c.Claims)
		strs := []*string{&c.Subject}
		for i := range c.GrantedScopes {
			strs = append(strs, &c.GrantedScopes[i])
		}
		copyStrings(strs)
	}
	n, err := c.Size()
	if err := storage.CheckSize("memory: device authorization", n, err); err != nil {
		return nil, err
	}
	t.records[key] = c
	return t.clone(c), nil
}

// poll records a poll of the record under key by clientID at time at,
// adding slowDown to its interval if the poll came too soon.
func (t *deviceTable) poll(key, clientID string, at time.Time, slowDown time.Duration) (*storage.DeviceAuthorization, error) {
	r, ok := t.records[key]
	if !ok || r.ClientID != clientID {
		return nil, storage.ErrNotFound
	}
	var err error
	if !r.LastPolledAt.IsZero() && at.Before(r.LastPolledAt.Add(r.Interval)) {
		r.Interval += slowDown
		err = storage.ErrSlowDown
	}
	r.LastPolledAt = at.UTC()
	return t.clone(r), err
}

// sweepDevices deletes the device authorizations whose ExpiresAt plus
// storage.DeviceAuthorizationRetention is not after now (Unix
// nanoseconds), consumed ones included.
// A store at its bound deletes expired ones sooner (onceTable.create).
func (t *deviceTable) sweepDevices(now int64) int {
	// Kept past its expiry, for polls to learn of it (expired_token).
	n := t.sweep(now-int64(storage.DeviceAuthorizationRetention), false)
	t.userCodes = shrink(t.userCodes, &t.userCodesPeak)
	return n
}

// CreateDeviceAuthorization implements [storage.DeviceAuthorizationStore]
// (RFC 8628 §3.2). It stores a deep copy of d, Claims included. A nil
// record, an empty Key or an empty UserCodeKey is an error. An existing
// Key is [storage.ErrDuplicate], and so is a UserCodeKey held by a record
// that has not expired at d.IssuedAt; a holder that has expired by then
// gives the user code up to d, and is still found by its Key. A record
// larger than [storage.MaxRecordBytes] (Claims counted as JSON), or with a
// Key or UserCodeKey longer than [storage.MaxKeyBytes], is refused with an
// error wrapping [storage.ErrTooLarge].
//
// The store holds a bounded number of device authorizations
// ([WithMaxDeviceAuthorizations]): at the bound it first deletes the
// expired and consumed ones, and if none has, it stores nothing and
// returns an error wrapping [storage.ErrFull].
func (s *Store) CreateDeviceAuthorization(ctx context.Context, d *storage.DeviceAuthorization) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	switch {
	case d == nil:
		return errors.New("memory: nil device authorization")
	case d.Key == "":
		return errors.New("memory: device authorization with an empty key")
	case d.UserCodeKey == "":
		return errors.New("memory: device authorization with an empty user code key")
	}
	if err := s.devices.check(d); err != nil {
		return err
	}
	now := s.now()
	s.authMu.Lock()
	defer s.authMu.Unlock()
	s.maybeSweepAuthLocked(now)
	return s.devices.create(d, clampNano(now))
}

// DeviceAuthorizationByUserCode implements
// [storage.DeviceAuthorizationStore] (RFC 8628 §3.3). It returns a deep copy
// of the record holding userCodeKey, whatever its status, or
// [storage.ErrNotFound]. An expired record is returned until a sweep
// deletes it or a new record takes its user code: checking ExpiresAt is
// the caller's job. A consumed one may be deleted early to make room (see
// [WithMaxDeviceAuthorizations]).
func (s *Store) DeviceAuthorizationByUserCode(ctx context.Context, userCodeKey string) (*storage.DeviceAuthorization, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.authMu.RLock()
	defer s.authMu.RUnlock()
	return s.devices.byUserCode(userCodeKey)
}

// DecideDeviceAuthorization implements [storage.DeviceAuthorizationStore]:
// a compare-and-set of Status under the store's lock, so of many
// concurrent calls for one key exactly one returns a nil error. The others
// get a copy of the record with the winner's decision and
// [storage.ErrConsumed]. An approval sets Status, DecidedAt, Subject,
// GrantedScopes (d.Scopes), AuthTime and Claims; a denial sets Status and
// DecidedAt. A decision whose Status is neither [storage.DeviceApproved]
// nor [storage.DeviceDenied] is an error, and so is one that would make
// the record larger than [storage.MaxRecordBytes] ([storage.ErrTooLarge]);
// the record is then unchanged. A zero at is replaced by the store clock's
// now. An unknown key is [storage.ErrNotFound]. The record is decided
// whatever its expiry; checking it is the caller's job.
func (s *Store) DecideDeviceAuthorization(ctx context.Context, key string, d storage.DeviceDecision, at time.Time) (*storage.DeviceAuthorization, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if d.Status != storage.DeviceApproved && d.Status != storage.DeviceDenied {
		return nil, fmt.Errorf("memory: a device decision must approve or deny, not %v", d.Status)
	}
	now := s.now()
	if at.IsZero() {
		at = now
	}
	s.authMu.Lock()
	defer s.authMu.Unlock()
	s.maybeSweepAuthLocked(now)
	return s.devices.decide(key, &d, at)
}

// PollDeviceAuthorization implements [storage.DeviceAuthorizationStore]
// (RFC 8628 §3.4–3.5), in one step under the store's lock: concurrent
// polls of one record are serialised, each judged against the one before
// it. A poll earlier than LastPolledAt plus Interval adds slowDown to
// Interval and returns the record with [storage.ErrSlowDown]; every poll
// sets LastPolledAt to at. A zero at is replaced by the store clock's now.
// An unknown key, or a record issued to another client than clientID, is
// [storage.ErrNotFound] and changes nothing. Neither status nor expiry is
// judged.
func (s *Store) PollDeviceAuthorization(ctx context.Context, key, clientID string, at time.Time, slowDown time.Duration) (*storage.DeviceAuthorization, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	now := s.now()
	if at.IsZero() {
		at = now
	}
	s.authMu.Lock()
	defer s.authMu.Unlock()
	s.maybeSweepAuthLocked(now)
	return s.devices.poll(key, clientID, at, slowDown)
}

// ConsumeDeviceAuthorization implements [storage.DeviceAuthorizationStore]
// (RFC 8628 §3.5, tokens issued once): of many concurrent calls for one
// key exactly one returns a nil error; the others get the record with the
// winner's ConsumedAt and [storage.ErrConsumed]. A zero at is replaced by
// the store clock's now. An unknown key is [storage.ErrNotFound]. Neither
// status nor expiry is judged.
func (s *Store) ConsumeDeviceAuthorization(ctx context.Context, key string, at time.Time) (*storage.DeviceAuthorization, error) {
	return useAuth(ctx, s, &s.devices.onceTable, key, at)
}

// deviceStrings appends pointers to the strings of d to strs. Claims are
// the application's values, left as they are.
func deviceStrings(strs []*string, d *storage.DeviceAuthorization) []*string {
	strs = append(strs, &d.Key, &d.UserCodeKey, &d.ClientID, &d.Subject)
	for _, l := range [...][]string{d.Scopes, d.GrantedScopes} {
		for i := range l {
			strs = append(strs, &l[i])
		}
	}
	return strs
}

// cloneDeviceAuthorization returns a deep copy of d, Claims included, with
// its times in UTC.
func cloneDeviceAuthorization(d *storage.DeviceAuthorization) *storage.DeviceAuthorization {
	c := *d
	storage.CloneLists(&c.Scopes, &c.GrantedScopes)
	c.Claims = storage.CloneClaims(d.Claims)
	for _, at := range []*time.Time{&c.IssuedAt, &c.ExpiresAt, &c.LastPolledAt, &c.DecidedAt, &c.AuthTime, &c.ConsumedAt} {
		*at = at.UTC()
	}
	return &c
}
