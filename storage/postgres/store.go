package postgres

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/grantor-dev/grantor/storage"
)

// Defaults of the options.
const (
	// DefaultRevokedGrantRetention is how long a revoked grant is
	// remembered after its revocation once it has no token records left.
	DefaultRevokedGrantRetention = 24 * time.Hour

	// DefaultRetries is how many times an operation that failed with a
	// transient error (a serialization failure or a deadlock) is tried
	// again.
	DefaultRetries = 4

	// DefaultDeleteBatch is how many rows DeleteExpired deletes per
	// statement when given a batch size of zero.
	DefaultDeleteBatch = 1000
)

// The store implements every storage interface.
var (
	_ storage.ClientStore       = (*Store)(nil)
	_ storage.TokenStore        = (*Store)(nil)
	_ storage.RefreshTokenStore = (*Store)(nil)
	_ storage.ReplayStore       = (*Store)(nil)

	_ storage.InteractionStore       = (*Store)(nil)
	_ storage.AuthorizationCodeStore = (*Store)(nil)
	_ storage.PushedRequestStore     = (*Store)(nil)

	_ storage.DeviceAuthorizationStore = (*Store)(nil)
)

// Store keeps clients, token records, replay entries, interactions,
// authorization codes, pushed authorization requests and device
// authorizations in a PostgreSQL database. It implements
// [storage.ClientStore], [storage.TokenStore], [storage.RefreshTokenStore],
// [storage.ReplayStore], [storage.InteractionStore],
// [storage.AuthorizationCodeStore], [storage.PushedRequestStore] and
// [storage.DeviceAuthorizationStore].
//
// It is safe for concurrent use, and so are several Stores, in one process
// or many, over one database: every use-once operation is a single
// conditional statement that the database serializes, so a code issued by
// one instance is redeemed once across all of them.
//
// Create one with [New] after [Migrate]; the zero value is not usable.
type Store struct {
	pool           *pgxpool.Pool
	now            func() time.Time
	grantRetention time.Duration
	retries        int
}

// Option configures a [Store].
type Option func(*Store)

// WithClock sets the clock the store reads to decide whether a replay entry
// has expired, to time the retention of revoked-grant markers, and to
// replace a zero time given to a method. The default is [time.Now]. A nil
// clock is ignored. Instances sharing a database should have synchronised
// clocks.
func WithClock(now func() time.Time) Option {
	return func(s *Store) {
		if now != nil {
			s.now = now
		}
	}
}

// WithRevokedGrantRetention sets how long a revoked grant is remembered
// after its revocation (measured from the later of the revocation time and
// the store clock at the call), once no token record of the grant is left.
// The default is [DefaultRevokedGrantRetention]. Negative durations count as
// zero. See [storage.TokenStore.RevokeGrant] for why the marker exists.
func WithRevokedGrantRetention(d time.Duration) Option {
	return func(s *Store) { s.grantRetention = max(d, 0) }
}

// WithRetries sets how many times an operation that failed with a
// transient error (SQLSTATE 40001 serialization_failure or 40P01
// deadlock_detected) is tried again, after a short pause that doubles each
// time. The default is [DefaultRetries]; zero or a negative number disables
// retrying.
func WithRetries(n int) Option {
	return func(s *Store) { s.retries = max(n, 0) }
}

// New returns a store over pool. The schema must be up to date: call
// [Migrate] first. Tables are looked up through the connections'
// search_path, so a schema other than "public" is chosen with the
// search_path run-time parameter of the pool's configuration.
func New(pool *pgxpool.Pool, opts ...Option) *Store {
	s := &Store{
		pool:           pool,
		now:            time.Now,
		grantRetention: DefaultRevokedGrantRetention,
		retries:        DefaultRetries,
	}
	for _, opt := range opts {
		if opt != nil {
			opt(s)
		}
	}
	return s
}

// orNow returns at, or the store clock's now if at is zero.
func (s *Store) orNow(at time.Time) time.Time {
	if at.IsZero() {
		return s.now()
	}
	return at
}

// retry runs f, and runs it again while it fails with a transient error,
// at most s.retries more times. The pauses between attempts (1, 2, 4 ms...)
// end early when ctx is done.
func (s *Store) retry(ctx context.Context, f func() error) error {
	pause := time.Millisecond
	for attempt := 0; ; attempt++ {
		err := f()
		if err == nil || attempt >= s.retries || !transient(err) {
			return err
		}
		timer := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			timer.Stop()
			return errors.Join(ctx.Err(), err)
		case <-timer.C:
		}
		pause *= 2
	}
}

// SQLSTATE codes the store tells apart.
const (
	codeUniqueViolation      = "23505"
	codeSerializationFailure = "40001"
	codeDeadlockDetected     = "40P01"
)

// transient reports whether err is a failure that a new attempt may not
// meet: a serialization failure or a deadlock.
func transient(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) &&
		(pgErr.Code == codeSerializationFailure || pgErr.Code == codeDeadlockDetected)
}

// isUniqueViolation reports whether err is a unique_violation.
func isUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == codeUniqueViolation
}

// sanitize returns err without the parts of a server error that may quote
// stored values (a key, in the detail of a unique violation): the message,
// SQLSTATE and names of the constraint, table and column are kept.
func sanitize(err error) error {
	var pgErr *pgconn.PgError
	if err == nil || !errors.As(err, &pgErr) {
		return err
	}
	return &pgconn.PgError{
		Severity:            pgErr.Severity,
		SeverityUnlocalized: pgErr.SeverityUnlocalized,
		Code:                pgErr.Code,
		Message:             pgErr.Message,
		SchemaName:          pgErr.SchemaName,
		TableName:           pgErr.TableName,
		ColumnName:          pgErr.ColumnName,
		DataTypeName:        pgErr.DataTypeName,
		ConstraintName:      pgErr.ConstraintName,
	}
}

// fail wraps err, from operation op, for the caller: it names the
// operation, never the key or record, and keeps the context's error
// matchable with errors.Is when the context ended the operation.
func fail(ctx context.Context, op string, err error) error {
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("postgres: %s: %w", op, errors.Join(cerr, sanitize(err)))
	}
	return fmt.Errorf("postgres: %s: %w", op, sanitize(err))
}

// grantLockClass is the first key of the advisory locks that order
// CreateTokens and RevokeGrant on one grant; the second is grantLockKey of
// the grant ID.
const grantLockClass int32 = 0x47524E54 // "GRNT"

// grantLockKey returns the second advisory lock key of a grant: a 32-bit
// FNV-1a hash of its ID. Two grants may share one; that only makes their
// writes wait for each other.
func grantLockKey(grantID string) int32 {
	h := fnv.New32a()
	h.Write([]byte(grantID))
	return int32(h.Sum32())
}

// grantLockKeys returns the lock keys of the non-empty grant IDs of tokens,
// sorted and without repeats, so that every caller takes them in one order.
func grantLockKeys(tokens []*storage.Token) []int32 {
	keys := make([]int32, 0, 1)
	for _, t := range tokens {
		if t.GrantID != "" {
			keys = append(keys, grantLockKey(t.GrantID))
		}
	}
	slices.Sort(keys)
	return slices.Compact(keys)
}

// timeArg is a time as a query argument: the zero time is NULL.
type timeArg time.Time

// TimestamptzValue implements [pgtype.TimestamptzValuer].
func (t timeArg) TimestamptzValue() (pgtype.Timestamptz, error) {
	tt := time.Time(t)
	return pgtype.Timestamptz{Time: tt, Valid: !tt.IsZero()}, nil
}

// timeDest is a scan destination for a time: NULL is the zero time, and
// other times are in UTC.
type timeDest struct{ t *time.Time }

// ScanTimestamptz implements [pgtype.TimestamptzScanner].
func (d timeDest) ScanTimestamptz(v pgtype.Timestamptz) error {
	if !v.Valid || v.InfinityModifier != pgtype.Finite {
		*d.t = time.Time{}
		return nil
	}
	*d.t = v.Time.UTC()
	return nil
}
