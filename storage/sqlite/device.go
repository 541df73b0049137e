package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/grantor-dev/grantor/storage"
)

// Device authorizations (RFC 8628). Every change to a record is one
// transaction that holds the database's write lock from its start (BEGIN
// IMMEDIATE) or one conditional statement under it, so that Stores of
// several processes over one file see one interval, one decision and one
// redemption.

// deviceColumns are the columns of a device authorization, in scanDevice's
// order. holds_user_code is not among them: it is no field of the record.
const deviceColumns = `key, user_code_key, client_id, scopes, issued_at, expires_at, poll_interval_ns,
	last_polled_at, status, decided_at, subject, granted_scopes, auth_time, claims, consumed_at`

// scanDevice reads a row of deviceColumns.
func scanDevice(row scanner) (*storage.DeviceAuthorization, error) {
	var (
		d                                                    storage.DeviceAuthorization
		status                                               int64
		scopes, granted, claims                              sql.NullString
		issued, expires, polled, decided, authTime, consumed sql.NullInt64
	)
	// The interval is scanned as the int64 nanoseconds it is stored as (see
	// scanToken).
	if err := row.Scan(&d.Key, &d.UserCodeKey, &d.ClientID, &scopes, &issued, &expires, (*int64)(&d.Interval),
		&polled, &status, &decided, &d.Subject, &granted, &authTime, &claims, &consumed); err != nil {
		return nil, err
	}
	d.Status = storage.DeviceAuthorizationStatus(status)
	var err error
	if d.Scopes, err = listVal(scopes); err != nil {
		return nil, err
	}
	if d.GrantedScopes, err = listVal(granted); err != nil {
		return nil, err
	}
	if d.Claims, err = claimsVal(claims); err != nil {
		return nil, err
	}
	d.IssuedAt, d.ExpiresAt, d.LastPolledAt = timeVal(issued), timeVal(expires), timeVal(polled)
	d.DecidedAt, d.AuthTime, d.ConsumedAt = timeVal(decided), timeVal(authTime), timeVal(consumed)
	return &d, nil
}

// The statements of the device authorization store.
const (
	// giveUpUserCode takes a user code from the record that holds it if
	// that record has expired at the new record's IssuedAt (a record
	// without an expiry counts as expired, as for DeleteExpired).
	giveUpUserCode = `UPDATE device_authorizations SET holds_user_code = 0
WHERE user_code_key = ? AND holds_user_code = 1 AND (expires_at IS NULL OR expires_at <= ?)`
	insertDevice = `INSERT INTO device_authorizations (` + deviceColumns + `)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	deviceByKey      = `SELECT ` + deviceColumns + ` FROM device_authorizations WHERE key = ?`
	deviceByUserCode = `SELECT ` + deviceColumns + ` FROM device_authorizations
WHERE user_code_key = ? AND holds_user_code = 1`
	// deviceForPoll reads the record under a key if it is the given
	// client's: another client's poll finds nothing (RFC 8628 §3.4).
	deviceForPoll = `SELECT ` + deviceColumns + ` FROM device_authorizations WHERE key = ? AND client_id = ?`
	recordPoll    = `UPDATE device_authorizations SET poll_interval_ns = ?, last_polled_at = ? WHERE key = ?`
	// approveDevice and denyDevice change a pending record only, though
	// the write transaction that reads it first already sees to that: a
	// decision stays once even under a connection that did not take the
	// write lock up front.
	approveDevice = `UPDATE device_authorizations
SET status = ?, decided_at = ?, subject = ?, granted_scopes = ?, auth_time = ?, claims = ?
WHERE key = ? AND status = 0 RETURNING ` + deviceColumns
	denyDevice = `UPDATE device_authorizations SET status = ?, decided_at = ?
WHERE key = ? AND status = 0 RETURNING ` + deviceColumns
	consumeDevice = `UPDATE device_authorizations SET consumed_at = ?
WHERE key = ? AND consumed_at IS NULL RETURNING ` + deviceColumns
)

// txStmt returns the prepared statement of query, for use in tx.
func (s *Store) txStmt(ctx context.Context, tx *sql.Tx, query string) (*sql.Stmt, error) {
	st, err := s.prepared(ctx, query)
	if err != nil {
		return nil, err
	}
	return tx.StmtContext(ctx, st), nil
}

// CreateDeviceAuthorization implements [storage.DeviceAuthorizationStore]
// (RFC 8628 §3.2). In one transaction it takes the user code from the
// record that holds it if that record has expired at d.IssuedAt (the old
// record is then no longer found by its user code, but is still polled,
// decided and redeemed by its Key), and inserts d. An existing Key, or a
// UserCodeKey held by a record that has not expired at d.IssuedAt, is
// [storage.ErrDuplicate], and nothing changes: of concurrent calls for one
// user code, in this process or another, at most one stores its record. A
// nil record, an empty Key or an empty UserCodeKey is an error. Every field
// is stored as given (a decision or a poll set at creation is kept).
//
// A record larger than [storage.MaxRecordBytes], or with a Key or
// UserCodeKey longer than [storage.MaxKeyBytes], is refused with an error
// wrapping [storage.ErrTooLarge], and a string of invalid UTF-8 in Scopes
// or GrantedScopes with an error naming the field (see the package
// documentation). Nothing is stored then.
func (s *Store) CreateDeviceAuthorization(ctx context.Context, d *storage.DeviceAuthorization) error {
	if err := ctx.Err(); err != nil {
		return wrap("create device authorization", err)
	}
	if d == nil {
		return errors.New("sqlite: create device authorization: nil device authorization")
	}
	if d.Key == "" {
		return errors.New("sqlite: create device authorization: empty key")
	}
	if d.UserCodeKey == "" {
		return errors.New("sqlite: create device authorization: empty user code key")
	}
	n, err := d.Size()
	if err := storage.CheckSize("device authorization", n, err, d.Key, d.UserCodeKey); err != nil {
		return wrap("create device authorization", err)
	}
	scopes, err := listArg("Scopes", d.Scopes)
	if err != nil {
		return wrap("create device authorization", err)
	}
	granted, err := listArg("GrantedScopes", d.GrantedScopes)
	if err != nil {
		return wrap("create device authorization", err)
	}
	claims, err := claimsArg(d.Claims)
	if err != nil {
		return wrap("create device authorization", err)
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		giveUp, err := s.txStmt(ctx, tx, giveUpUserCode)
		if err != nil {
			return err
		}
		if _, err := giveUp.ExecContext(ctx, d.UserCodeKey, timeArg(d.IssuedAt)); err != nil {
			return fmt.Errorf("give up an expired user code: %w", err)
		}
		insert, err := s.txStmt(ctx, tx, insertDevice)
		if err != nil {
			return err
		}
		_, err = insert.ExecContext(ctx, d.Key, d.UserCodeKey, d.ClientID, scopes,
			timeArg(d.IssuedAt), timeArg(d.ExpiresAt), int64(d.Interval), timeArg(d.LastPolledAt),
			int64(d.Status), timeArg(d.DecidedAt), d.Subject, granted, timeArg(d.AuthTime), claims,
			timeArg(d.ConsumedAt))
		if isDuplicate(err) {
			// The transaction is rolled back: the user code given up
			// above, if any, stays with its holder.
			return storage.ErrDuplicate
		}
		return err
	})
	return wrap("create device authorization", err)
}

// DeviceAuthorizationByUserCode implements
// [storage.DeviceAuthorizationStore] (RFC 8628 §3.3): it returns a new copy
// of the record that holds userCodeKey, whatever its status, or
// [storage.ErrNotFound]. An expired record is returned until a new record
// takes its user code or [Store.DeleteExpired] deletes it: checking
// ExpiresAt is the caller's job.
func (s *Store) DeviceAuthorizationByUserCode(ctx context.Context, userCodeKey string) (*storage.DeviceAuthorization, error) {
	d, err := getOne(ctx, s, scanDevice, deviceByUserCode, userCodeKey)
	return d, wrap("device authorization by user code", err)
}

// device returns the record under key, or storage.ErrNotFound.
func (s *Store) device(ctx context.Context, key string) (*storage.DeviceAuthorization, error) {
	return getOne(ctx, s, scanDevice, deviceByKey, key)
}

// DecideDeviceAuthorization implements [storage.DeviceAuthorizationStore]
// (RFC 8628 §3.3): in one transaction that holds the write lock, it reads
// the record under key and, if it is still pending, records the decision
// at time at (DecidedAt; a zero at is the store clock's now): Status, and
// for an approval Subject, GrantedScopes (d.Scopes), AuthTime and Claims.
// Of many concurrent calls for one key, in this process or another,
// exactly one returns a nil error; the others get the record as the
// winner left it and [storage.ErrConsumed]. An unknown key is
// [storage.ErrNotFound]. A decision whose Status is neither
// [storage.DeviceApproved] nor [storage.DeviceDenied] is an error that
// wraps no sentinel, and changes nothing. The record is decided whatever
// its expiry; checking it is the caller's job.
//
// A decision that would make the record larger than
// [storage.MaxRecordBytes] (the record's Size plus the decision's) is
// refused with an error wrapping [storage.ErrTooLarge], and a string of
// invalid UTF-8 in the approval's Scopes with an error naming the field.
// The record is unchanged then.
func (s *Store) DecideDeviceAuthorization(ctx context.Context, key string, d storage.DeviceDecision, at time.Time) (*storage.DeviceAuthorization, error) {
	if err := ctx.Err(); err != nil {
		return nil, wrap("decide device authorization", err)
	}
	if d.Status != storage.DeviceApproved && d.Status != storage.DeviceDenied {
		return nil, fmt.Errorf("sqlite: decide device authorization: decision status %d is neither approved nor denied", d.Status)
	}
	dn, sizeErr := d.Size()
	if err := storage.CheckSize("device decision", dn, sizeErr); err != nil {
		return nil, wrap("decide device authorization", err)
	}
	decidedAt := timeArg(s.clock(at))
	query, args := denyDevice, []any{int64(d.Status), decidedAt, key}
	if d.Status == storage.DeviceApproved {
		scopes, err := listArg("Scopes", d.Scopes)
		if err != nil {
			return nil, wrap("decide device authorization", err)
		}
		claims, err := claimsArg(d.Claims)
		if err != nil {
			return nil, wrap("decide device authorization", err)
		}
		query = approveDevice
		args = []any{int64(d.Status), decidedAt, d.Subject, scopes, timeArg(d.AuthTime), claims, key}
	}
	var rec *storage.DeviceAuthorization
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		get, err := s.txStmt(ctx, tx, deviceByKey)
		if err != nil {
			return err
		}
		r, err := scanDevice(get.QueryRowContext(ctx, key))
		if errors.Is(err, sql.ErrNoRows) {
			return storage.ErrNotFound
		}
		if err != nil {
			return err
		}
		if r.Status != storage.DevicePending {
			rec = r
			return storage.ErrConsumed
		}
		n, err := r.Size()
		if err := storage.CheckSize("device authorization", n+dn, err); err != nil {
			return err
		}
		update, err := s.txStmt(ctx, tx, query)
		if err != nil {
			return err
		}
		rec, err = scanDevice(update.QueryRowContext(ctx, args...))
		if errors.Is(err, sql.ErrNoRows) { // decided meanwhile
			rec = r
			return storage.ErrConsumed
		}
		return err
	})
	if errors.Is(err, storage.ErrConsumed) {
		return rec, wrap("decide device authorization", err)
	}
	if err != nil {
		return nil, wrap("decide device authorization", err)
	}
	return rec, nil
}

// PollDeviceAuthorization implements [storage.DeviceAuthorizationStore]
// (RFC 8628 §3.4–3.5) as one transaction that holds the database's write
// lock from its start: it reads the record under key if it is clientID's,
// and writes its new interval and LastPolledAt. A poll sooner than
// LastPolledAt plus Interval after a poll before adds slowDown to Interval
// and returns the record with [storage.ErrSlowDown]; either way
// LastPolledAt becomes at (a zero at is the store clock's now), truncated
// to the microsecond as every stored time is, and the comparison is made
// on that stored time. Concurrent polls, in this process or another, are
// serialised: each sees the one before it. An unknown key, or a record of
// another client, is [storage.ErrNotFound], and nothing changes. The
// record is polled whatever its status or expiry.
func (s *Store) PollDeviceAuthorization(ctx context.Context, key, clientID string, at time.Time, slowDown time.Duration) (*storage.DeviceAuthorization, error) {
	if err := ctx.Err(); err != nil {
		return nil, wrap("poll device authorization", err)
	}
	polled := time.UnixMicro(s.clock(at).UnixMicro()).UTC()
	var (
		rec  *storage.DeviceAuthorization
		soon bool
	)
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		get, err := s.txStmt(ctx, tx, deviceForPoll)
		if err != nil {
			return err
		}
		r, err := scanDevice(get.QueryRowContext(ctx, key, clientID))
		if errors.Is(err, sql.ErrNoRows) {
			return storage.ErrNotFound
		}
		if err != nil {
			return err
		}
		// RFC 8628 §3.5: a poll sooner than the interval after the one
		// before is answered slow_down, and the interval grows.
		soon = !r.LastPolledAt.IsZero() && polled.Before(r.LastPolledAt.Add(r.Interval))
		if soon {
			r.Interval += slowDown
		}
		r.LastPolledAt = polled
		update, err := s.txStmt(ctx, tx, recordPoll)
		if err != nil {
			return err
		}
		if _, err := update.ExecContext(ctx, int64(r.Interval), polled.UnixMicro(), key); err != nil {
			return err
		}
		rec = r
		return nil
	})
	if err != nil {
		return nil, wrap("poll device authorization", err)
	}
	if soon {
		return rec, wrap("poll device authorization", storage.ErrSlowDown)
	}
	return rec, nil
}

// ConsumeDeviceAuthorization implements [storage.DeviceAuthorizationStore],
// the use-once step of the device code's redemption (RFC 8628 §3.5), as
// one conditional statement: of many concurrent calls for one key, in this
// process or another, exactly one returns a nil error; the others get the
// record with the winner's ConsumedAt and [storage.ErrConsumed]. A zero at
// is replaced by the store clock's now. An unknown key is
// [storage.ErrNotFound]. The record is consumed whatever its status or
// expiry; checking those is the caller's job.
func (s *Store) ConsumeDeviceAuthorization(ctx context.Context, key string, at time.Time) (*storage.DeviceAuthorization, error) {
	if err := ctx.Err(); err != nil {
		return nil, wrap("consume device authorization", err)
	}
	d, err := useOnce(ctx, s, key, consumeDevice, timeArg(s.clock(at)), scanDevice, s.device,
		func(d *storage.DeviceAuthorization) time.Time { return d.ConsumedAt })
	return d, wrap("consume device authorization", err)
}
