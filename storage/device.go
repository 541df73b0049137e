package storage

import (
	"context"
	"errors"
	"time"
)

// ErrSlowDown means a device authorization was polled sooner than its
// polling interval allows after the poll before (RFC 8628 §3.5): the
// store has added the slow-down step to the interval.
var ErrSlowDown = errors.New("storage: polled too soon")

// DeviceAuthorizationRetention is how long past its ExpiresAt a store keeps
// a device authorization, at least, so that a device that polls after the
// codes expired learns that they did (expired_token, RFC 8628 §3.5) rather
// than that its device code is unknown. A store that runs out of room may
// delete expired records sooner.
const DeviceAuthorizationRetention = 10 * time.Minute

// DeviceAuthorizationStatus is where the user's decision on a device
// authorization stands.
type DeviceAuthorizationStatus uint8

// The statuses of a device authorization. A decision is final: a pending
// authorization is approved or denied once.
const (
	// DevicePending: the user has not decided yet.
	DevicePending DeviceAuthorizationStatus = iota
	// DeviceApproved: the user approved; the device may redeem it once.
	DeviceApproved
	// DeviceDenied: the user refused.
	DeviceDenied
)

// String returns "pending", "approved" or "denied".
func (s DeviceAuthorizationStatus) String() string {
	switch s {
	case DevicePending:
		return "pending"
	case DeviceApproved:
		return "approved"
	case DeviceDenied:
		return "denied"
	}
	return "invalid"
}

// DeviceAuthorization is the record of a device authorization request (RFC
// 8628 §3.1–3.2) and of what became of it. It never holds the device code
// or the user code: Key is the device code's HMAC signature, UserCodeKey
// a keyed digest of the user code. Unlike other records, it is kept for
// DeviceAuthorizationRetention past its ExpiresAt before it may be
// deleted.
type DeviceAuthorization struct {
	// Key is the storage key: the device code's signature.
	Key string
	// UserCodeKey is the keyed digest of the user code, by which the
	// verification page finds the record. Among records that have not
	// expired no two have the same one.
	UserCodeKey string
	// ClientID is the client the codes were issued to, the only one that
	// may poll with the device code (RFC 8628 §3.4).
	ClientID string
	// Scopes are the scopes asked for (or the client's defaults).
	Scopes []string
	// IssuedAt and ExpiresAt bound the codes' life (expires_in).
	IssuedAt  time.Time
	ExpiresAt time.Time
	// Interval is the least time the client must leave between two polls:
	// the interval of the response (or a little less, which the grant
	// allows for network delays), plus the slow-down step for each poll
	// that came too soon (RFC 8628 §3.5).
	Interval time.Duration
	// LastPolledAt is the time of the latest poll; zero before the first.
	LastPolledAt time.Time
	// Status is the user's decision, DecidedAt its time.
	Status    DeviceAuthorizationStatus
	DecidedAt time.Time
	// Subject, GrantedScopes, AuthTime and Claims are the approval: the
	// resource owner, the scopes granted (a subset of Scopes), when the
	// resource owner authenticated, and extra claims for the access
	// tokens. Empty unless Status is DeviceApproved.
	Subject       string
	GrantedScopes []string
	AuthTime      time.Time
	Claims        map[string]any
	// ConsumedAt is set once tokens have been issued for the approval.
	ConsumedAt time.Time
}

// DeviceDecision is the user's decision on a pending device authorization,
// as DecideDeviceAuthorization records it.
type DeviceDecision struct {
	// Status is DeviceApproved or DeviceDenied.
	Status DeviceAuthorizationStatus
	// Subject, Scopes, AuthTime and Claims are the approval (see
	// DeviceAuthorization); empty for a denial.
	Subject  string
	Scopes   []string
	AuthTime time.Time
	Claims   map[string]any
}

// DeviceAuthorizationStore keeps device authorizations (RFC 8628) from the
// device authorization endpoint to the token that redeems them. Every
// change to a record is one atomic operation of the store, so that several
// Provider instances over one database see one interval, one decision and
// one redemption.
type DeviceAuthorizationStore interface {
	// CreateDeviceAuthorization stores a new record. It is ErrDuplicate
	// when a record has the same Key, or has the same UserCodeKey and has
	// not expired at d.IssuedAt; a record that holds the UserCodeKey but
	// has expired gives it up (it is then no longer found by it) and the
	// new one is stored.
	CreateDeviceAuthorization(ctx context.Context, d *DeviceAuthorization) error

	// DeviceAuthorizationByUserCode returns the record that holds
	// userCodeKey, whatever its status or expiry, or ErrNotFound.
	DeviceAuthorizationByUserCode(ctx context.Context, userCodeKey string) (*DeviceAuthorization, error)

	// DecideDeviceAuthorization records the user's decision d on the
	// record under key, at time at (DecidedAt), and returns the record. If
	// it was decided already it returns the record unchanged and
	// ErrConsumed; of concurrent calls exactly one returns a nil error.
	// A decision whose Status is neither DeviceApproved nor DeviceDenied
	// is refused with an error that wraps no sentinel.
	DecideDeviceAuthorization(ctx context.Context, key string, d DeviceDecision, at time.Time) (*DeviceAuthorization, error)

	// PollDeviceAuthorization records a poll at time at of the record
	// under key by client clientID, and returns the record after it. When
	// the record was polled before and at is earlier than LastPolledAt
	// plus Interval, the poll came too soon: the store adds slowDown to
	// Interval and returns the record with ErrSlowDown. Either way it sets
	// LastPolledAt to at, in one atomic step: of concurrent polls, each
	// sees the one before it. A record of another client is ErrNotFound,
	// and is left unchanged. It does not judge status or expiry.
	PollDeviceAuthorization(ctx context.Context, key, clientID string, at time.Time, slowDown time.Duration) (*DeviceAuthorization, error)

	// ConsumeDeviceAuthorization marks the record redeemed at time at
	// and returns it. If it was redeemed already it returns the record
	// and ErrConsumed; of concurrent calls exactly one returns a nil
	// error.
	ConsumeDeviceAuthorization(ctx context.Context, key string, at time.Time) (*DeviceAuthorization, error)
}

// Size returns the size of the record that stores compare with
// [MaxRecordBytes], its claims counted as their JSON encoding. It returns
// an error if the claims cannot be encoded as JSON, which no store can
// then keep.
func (d *DeviceAuthorization) Size() (int, error) {
	claims, err := claimsSize(d.Claims)
	return len(d.Key) + len(d.UserCodeKey) + len(d.ClientID) + len(d.Subject) +
		listSize(d.Scopes) + listSize(d.GrantedScopes) + claims, err
}

// Size returns the size of the decision that stores compare with
// [MaxRecordBytes] (added to the record's), its claims counted as their
// JSON encoding.
func (d *DeviceDecision) Size() (int, error) {
	claims, err := claimsSize(d.Claims)
	return len(d.Subject) + listSize(d.Scopes) + claims, err
}
