package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/grantor-dev/grantor/storage"
)

// deviceColumns are the columns of a device authorization, in the order of
// deviceArgs and scanDevice.
const deviceColumns = `key, user_code_key, client_id, scopes, issued_at, expires_at, poll_interval_ns,
	last_polled_at, status, decided_at, subject, granted_scopes, auth_time, claims, consumed_at`

// SQL of the device authorization operations (RFC 8628).
const (
	// releaseUserCode makes an expired holder of the user code $1 give it
	// up; a record has expired at $2 (the new record's IssuedAt) when its
	// ExpiresAt is not after it. It runs before insertDevice in one
	// transaction: a concurrent creation with the same user code waits for
	// the row lock, re-checks holds_user_code, finds it given up, and then
	// meets this record in the unique index.
	releaseUserCode = `UPDATE device_authorizations SET holds_user_code = false
WHERE user_code_key = $1 AND holds_user_code AND expires_at <= $2`

	insertDevice = `INSERT INTO device_authorizations (` + deviceColumns + `, kept_bytes)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`

	selectDevice = `SELECT ` + deviceColumns + ` FROM device_authorizations WHERE key = $1`

	selectDeviceByUserCode = `SELECT ` + deviceColumns + ` FROM device_authorizations
WHERE user_code_key = $1 AND holds_user_code`

	// pollDevice is the whole of a poll, in one statement: the subquery
	// locks the record of key $1 and client $2 (a concurrent poll waits,
	// then reads the row this one wrote) and decides whether the poll at
	// $3 came too soon, before the interval since the last poll ended;
	// the update adds the slow-down step $4 to the interval if so, and
	// sets the time of the last poll. The difference of two timestamptz
	// is exact, in microseconds, and EXTRACT returns it as an exact numeric
	// (PostgreSQL 14 and later; a float before).
	pollDevice = `UPDATE device_authorizations SET
	poll_interval_ns = locked_interval_ns + CASE WHEN too_soon THEN $4::bigint ELSE 0 END,
	last_polled_at = $3
FROM (
	SELECT key AS locked_key, poll_interval_ns AS locked_interval_ns,
		last_polled_at IS NOT NULL
			AND EXTRACT(EPOCH FROM $3::timestamptz - last_polled_at) * 1000000000 < poll_interval_ns AS too_soon
	FROM device_authorizations WHERE key = $1 AND client_id = $2
	FOR UPDATE
) locked
WHERE key = locked_key
RETURNING too_soon, ` + deviceColumns

	// approveDevice and denyDevice are the compare-and-set of a decision:
	// they change a pending record ($2) only, and an approval only if the
	// record it makes stays within the bound $4: kept_bytes plus the
	// decision's size $3.
	approveDevice = `UPDATE device_authorizations SET status = $5, decided_at = $6,
	subject = $7, granted_scopes = $8, auth_time = $9, claims = $10
WHERE key = $1 AND status = $2 AND kept_bytes + $3::integer <= $4::integer
RETURNING ` + deviceColumns
	denyDevice = `UPDATE device_authorizations SET status = $3, decided_at = $4
WHERE key = $1 AND status = $2
RETURNING ` + deviceColumns

	consumeDevice = `UPDATE device_authorizations SET consumed_at = $2 WHERE key = $1 AND consumed_at IS NULL
RETURNING ` + deviceColumns
)

// deviceArgs returns the values of deviceColumns and kept_bytes for d, or
// an error if d cannot be stored.
func deviceArgs(d *storage.DeviceAuthorization) ([]any, error) {
	n, err := d.Size()
	if err := storage.CheckSize("device authorization", n, err, d.Key, d.UserCodeKey); err != nil {
		return nil, err
	}
	for _, f := range []struct {
		name string
		strs []string
	}{
		{"Key", []string{d.Key}}, {"UserCodeKey", []string{d.UserCodeKey}}, {"ClientID", []string{d.ClientID}},
		{"Scopes", d.Scopes}, {"Subject", []string{d.Subject}}, {"GrantedScopes", d.GrantedScopes},
	} {
		if err := checkText(f.name, f.strs...); err != nil {
			return nil, err
		}
	}
	claims, err := claimsArg(d.Claims)
	if err != nil {
		return nil, err
	}
	// What an approval keeps: all but what it replaces.
	kept := *d
	kept.Subject, kept.GrantedScopes, kept.Claims = "", nil, nil
	keptBytes, err := kept.Size()
	if err != nil {
		return nil, err
	}
	// The interval is passed as int64 nanoseconds: pgx would encode a
	// time.Duration as an interval, in microseconds.
	return []any{d.Key, d.UserCodeKey, d.ClientID, d.Scopes, d.IssuedAt, d.ExpiresAt, int64(d.Interval),
		timeArg(d.LastPolledAt), int16(d.Status), timeArg(d.DecidedAt), d.Subject, d.GrantedScopes,
		timeArg(d.AuthTime), claims, timeArg(d.ConsumedAt), keptBytes}, nil
}

// deviceDest returns the scan destinations of deviceColumns into d, the
// interval and the status going to interval and status, which the caller
// converts: they are stored as a bigint of nanoseconds and a smallint.
func deviceDest(d *storage.DeviceAuthorization, interval *int64, status *int16) []any {
	return []any{&d.Key, &d.UserCodeKey, &d.ClientID, &d.Scopes, timeDest{&d.IssuedAt}, timeDest{&d.ExpiresAt},
		interval, timeDest{&d.LastPolledAt}, status, timeDest{&d.DecidedAt}, &d.Subject, &d.GrantedScopes,
		timeDest{&d.AuthTime}, &d.Claims, timeDest{&d.ConsumedAt}}
}

// scanDevice reads a row of deviceColumns.
func scanDevice(row pgx.Row) (*storage.DeviceAuthorization, error) {
	var (
		d        storage.DeviceAuthorization
		interval int64
		status   int16
	)
	if err := row.Scan(deviceDest(&d, &interval, &status)...); err != nil {
		return nil, err
	}
	d.Interval, d.Status = time.Duration(interval), storage.DeviceAuthorizationStatus(status)
	return &d, nil
}

// CreateDeviceAuthorization implements [storage.DeviceAuthorizationStore]
// (RFC 8628 §3.2). A nil record, an empty Key or an empty UserCodeKey is an
// error. An existing Key is [storage.ErrDuplicate], and so is a
// UserCodeKey held by a record that has not expired at d.IssuedAt. A
// record that holds the UserCodeKey but has expired gives it up, in the
// same transaction as the insert: it is no longer found by
// [Store.DeviceAuthorizationByUserCode], and still is by its Key. Of
// concurrent calls with one user code, through one Store or several over
// the database, at most one stores its record. Claims are stored as jsonb
// (see [Store.CreateTokens]).
//
// A record larger than [storage.MaxRecordBytes], or with a Key or
// UserCodeKey longer than [storage.MaxKeyBytes], is refused with an error
// wrapping [storage.ErrTooLarge], and one with a string that PostgreSQL
// cannot store (a NUL byte, invalid UTF-8; see the package documentation)
// with an error naming the field. Nothing is stored then.
func (s *Store) CreateDeviceAuthorization(ctx context.Context, d *storage.DeviceAuthorization) error {
	const op = "create device authorization"
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("postgres: %s: %w", op, err)
	}
	if d == nil {
		return fmt.Errorf("postgres: %s: nil record", op)
	}
	if d.Key == "" {
		return fmt.Errorf("postgres: %s: empty key", op)
	}
	if d.UserCodeKey == "" {
		return fmt.Errorf("postgres: %s: empty user code key", op)
	}
	args, err := deviceArgs(d)
	if err != nil {
		return fmt.Errorf("postgres: %s: %w", op, err)
	}
	// A batch sent outside a transaction runs in one implicit
	// transaction: the user code is given up only if the insert commits.
	err = s.retry(ctx, func() error {
		b := &pgx.Batch{}
		b.Queue(releaseUserCode, d.UserCodeKey, d.IssuedAt)
		b.Queue(insertDevice, args...)
		return s.pool.SendBatch(ctx, b).Close()
	})
	switch {
	case err == nil:
		return nil
	case isUniqueViolation(err):
		return fmt.Errorf("postgres: %s: %w", op, storage.ErrDuplicate)
	default:
		return fail(ctx, op, err)
	}
}

// deviceAuthorization returns the record of query q with argument arg, or
// storage.ErrNotFound; op names the operation in errors.
func (s *Store) deviceAuthorization(ctx context.Context, op, q, arg string) (*storage.DeviceAuthorization, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("postgres: %s: %w", op, err)
	}
	if !isText(arg) {
		return nil, fmt.Errorf("postgres: %s: %w", op, storage.ErrNotFound)
	}
	var d *storage.DeviceAuthorization
	err := s.retry(ctx, func() (err error) {
		d, err = scanDevice(s.pool.QueryRow(ctx, q, arg))
		return err
	})
	switch {
	case err == nil:
		return d, nil
	case errors.Is(err, pgx.ErrNoRows):
		return nil, fmt.Errorf("postgres: %s: %w", op, storage.ErrNotFound)
	default:
		return nil, fail(ctx, op, err)
	}
}

// DeviceAuthorizationByUserCode implements
// [storage.DeviceAuthorizationStore] (RFC 8628 §3.3): it returns the
// record that holds userCodeKey, whatever its status or expiry, or
// [storage.ErrNotFound]. An expired record is returned until a new record
// takes its user code or [Store.DeleteExpired] deletes it.
func (s *Store) DeviceAuthorizationByUserCode(ctx context.Context, userCodeKey string) (*storage.DeviceAuthorization, error) {
	return s.deviceAuthorization(ctx, "device authorization by user code", selectDeviceByUserCode, userCodeKey)
}

// DecideDeviceAuthorization implements [storage.DeviceAuthorizationStore]
// (RFC 8628 §3.3): one conditional UPDATE records the decision only on a
// pending record, so of many concurrent calls for one key, through one
// Store or several over the database, exactly one returns a nil error; the
// others get the record with the winner's decision and
// [storage.ErrConsumed]. An approval sets Subject, GrantedScopes (the
// decision's Scopes), AuthTime and Claims; a denial sets only Status and
// DecidedAt. A zero at is replaced by the store clock's now. An unknown
// key is [storage.ErrNotFound]. The record is decided whatever its
// expiry; checking it is the caller's job.
//
// A decision whose Status is neither approved nor denied is refused with
// an error that wraps no sentinel. An approval that would make the record
// larger than [storage.MaxRecordBytes], its Subject, GrantedScopes and
// Claims the decision's, is refused with an error wrapping
// [storage.ErrTooLarge], and one with a string that PostgreSQL cannot
// store with an error naming the field. Nothing is changed then.
func (s *Store) DecideDeviceAuthorization(ctx context.Context, key string, d storage.DeviceDecision, at time.Time) (*storage.DeviceAuthorization, error) {
	const op = "decide device authorization"
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("postgres: %s: %w", op, err)
	}
	if d.Status != storage.DeviceApproved && d.Status != storage.DeviceDenied {
		return nil, fmt.Errorf("postgres: %s: a decision must approve or deny, not leave the status %s", op, d.Status)
	}
	if !isText(key) {
		return nil, fmt.Errorf("postgres: %s: %w", op, storage.ErrNotFound)
	}
	at = s.orNow(at)
	var (
		q    string
		args []any
	)
	if d.Status == storage.DeviceApproved {
		n, err := d.Size()
		if err := storage.CheckSize("device decision", n, err); err != nil {
			return nil, fmt.Errorf("postgres: %s: %w", op, err)
		}
		if err := checkText("Subject", d.Subject); err != nil {
			return nil, fmt.Errorf("postgres: %s: %w", op, err)
		}
		if err := checkText("Scopes", d.Scopes...); err != nil {
			return nil, fmt.Errorf("postgres: %s: %w", op, err)
		}
		claims, err := claimsArg(d.Claims)
		if err != nil {
			return nil, fmt.Errorf("postgres: %s: %w", op, err)
		}
		q = approveDevice
		args = []any{key, int16(storage.DevicePending), n, storage.MaxRecordBytes,
			int16(d.Status), at, d.Subject, d.Scopes, timeArg(d.AuthTime), claims}
	} else {
		q = denyDevice
		args = []any{key, int16(storage.DevicePending), int16(d.Status), at}
	}
	var rec *storage.DeviceAuthorization
	err := s.retry(ctx, func() (err error) {
		rec, err = scanDevice(s.pool.QueryRow(ctx, q, args...))
		return err
	})
	if err == nil {
		return rec, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return nil, fail(ctx, op, err)
	}
	// Decided already, unknown, or too large with the approval.
	rec, err = s.deviceAuthorization(ctx, op, selectDevice, key)
	switch {
	case err != nil:
		return nil, err
	case rec.Status == storage.DevicePending:
		return nil, fmt.Errorf("postgres: %s: the record with the approval would be larger than %d bytes: %w",
			op, storage.MaxRecordBytes, storage.ErrTooLarge)
	default:
		return rec, fmt.Errorf("postgres: %s: %w", op, storage.ErrConsumed)
	}
}

// PollDeviceAuthorization implements [storage.DeviceAuthorizationStore],
// the polling of the token endpoint (RFC 8628 §3.4, §3.5) in one
// statement: it locks the record, decides whether the poll at at came
// sooner than LastPolledAt plus Interval, adds slowDown to Interval if it
// did, and sets LastPolledAt to at. Concurrent polls of one record,
// through one Store or several over the database, run one after the
// other, each seeing the one before: of n polls at one instant on a record
// polled before, n-1 return [storage.ErrSlowDown] and the interval grows
// by n-1 steps. A poll too soon returns the record after it with
// ErrSlowDown. A zero at is replaced by the store clock's now.
//
// An unknown key, or the record of a client other than clientID, is
// [storage.ErrNotFound], and the record is left unchanged. The poll does
// not judge status or expiry; the caller does, on the returned record.
func (s *Store) PollDeviceAuthorization(ctx context.Context, key, clientID string, at time.Time, slowDown time.Duration) (*storage.DeviceAuthorization, error) {
	const op = "poll device authorization"
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("postgres: %s: %w", op, err)
	}
	if !isText(key) || !isText(clientID) {
		return nil, fmt.Errorf("postgres: %s: %w", op, storage.ErrNotFound)
	}
	at = s.orNow(at)
	var (
		d        *storage.DeviceAuthorization
		tooSoon  bool
		interval int64
		status   int16
	)
	err := s.retry(ctx, func() error {
		rec := new(storage.DeviceAuthorization)
		dest := append([]any{&tooSoon}, deviceDest(rec, &interval, &status)...)
		if err := s.pool.QueryRow(ctx, pollDevice, key, clientID, at, int64(slowDown)).Scan(dest...); err != nil {
			return err
		}
		d = rec
		return nil
	})
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil, fmt.Errorf("postgres: %s: %w", op, storage.ErrNotFound)
	case err != nil:
		return nil, fail(ctx, op, err)
	}
	d.Interval, d.Status = time.Duration(interval), storage.DeviceAuthorizationStatus(status)
	if tooSoon {
		return d, fmt.Errorf("postgres: %s: %w", op, storage.ErrSlowDown)
	}
	return d, nil
}

// ConsumeDeviceAuthorization implements [storage.DeviceAuthorizationStore],
// the use-once step of redeeming an approval (RFC 8628 §3.5): one
// conditional UPDATE sets ConsumedAt only where it is not set, so of many
// concurrent calls for one key, through one Store or several over the
// database, exactly one returns a nil error; the others get the record
// with the winner's ConsumedAt and [storage.ErrConsumed]. A zero at is
// replaced by the store clock's now. An unknown key is
// [storage.ErrNotFound]. The record is consumed whatever its status or
// expiry; checking those is the caller's job, on the returned record.
func (s *Store) ConsumeDeviceAuthorization(ctx context.Context, key string, at time.Time) (*storage.DeviceAuthorization, error) {
	const op = "consume device authorization"
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("postgres: %s: %w", op, err)
	}
	if !isText(key) {
		return nil, fmt.Errorf("postgres: %s: %w", op, storage.ErrNotFound)
	}
	at = s.orNow(at)
	var d *storage.DeviceAuthorization
	err := s.retry(ctx, func() (err error) {
		d, err = scanDevice(s.pool.QueryRow(ctx, consumeDevice, key, at))
		return err
	})
	if err == nil {
		return d, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return nil, fail(ctx, op, err)
	}
	// Consumed already, or unknown.
	d, err = s.deviceAuthorization(ctx, op, selectDevice, key)
	if err != nil {
		return nil, err
	}
	return d, fmt.Errorf("postgres: %s: %w", op, storage.ErrConsumed)
}
