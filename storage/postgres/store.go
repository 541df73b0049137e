package postgres

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"sync/atomic"
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

	// DefaultLimiterKeys is how many keys the limiter (Store.Take) counts
	// in windows that go on, as of a sweep; see WithLimiterKeys.
	DefaultLimiterKeys = 100_000

	// DefaultLimiterSweepInterval is how often, at most, a Store sweeps
	// the limiter from Take; see WithLimiterSweepInterval.
	DefaultLimiterSweepInterval = 10 * time.Second
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

	_ storage.Limiter = (*Store)(nil)

	_ storage.KeyStore = (*Store)(nil)

	_ storage.LoginSessionStore = (*Store)(nil)
)

// Store keeps clients, token records, replay entries, interactions,
// authorization codes, pushed authorization requests, device
// authorizations, the limiter's counts, the sealed key sets of the token
// strategies and the login sessions of an OpenID Provider in a PostgreSQL
// database. It implements [storage.ClientStore], [storage.TokenStore],
// [storage.RefreshTokenStore], [storage.ReplayStore],
// [storage.InteractionStore], [storage.AuthorizationCodeStore],
// [storage.PushedRequestStore], [storage.DeviceAuthorizationStore],
// [storage.Limiter], [storage.KeyStore] and [storage.LoginSessionStore].
//
// It is safe for concurrent use, and so are several Stores, in one process
// or many, over one database: every use-once operation is a single
// conditional statement that the database serializes, so a code issued by
// one instance is redeemed once across all of them, every Take counts
// in the one budget of its key, so that N instances, each with its Store
// as Config.Limiter, give an attacker the budget of one, and every
// SaveKeySet is a compare-and-set on the set's version, so that a key
// rotation decided by two instances at once happens once.
//
// Create one with [New] after [Migrate]; the zero value is not usable.
type Store struct {
	pool           *pgxpool.Pool
	now            func() time.Time
	grantRetention time.Duration
	retries        int

	limiterKeys          int
	limiterSweepInterval time.Duration
	// nextLimiterSweep is the store clock's time, in nanoseconds since the
	// epoch, before which Take does not sweep the limiter.
	nextLimiterSweep atomic.Int64
}

// Option configures a [Store].
type Option func(*Store)

// WithClock sets the clock the store reads to decide whether a replay entry
// has expired, to time the retention of revoked-grant markers and the
// limiter's sweeps (WithLimiterSweepInterval), and to replace a zero time
// given to a method. The default is [time.Now]. A nil
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

// WithLimiterKeys caps how many keys the limiter ([Store.Take]) counts in
// windows that go on: when a sweep finds more, it deletes those with the
// smallest counts (the soonest to end first among equal ones) down to n,
// and they start again from 1. So a flood of made-up keys, each counted
// once or twice, makes the limiter forget mostly its own keys, and a key
// counted more often than the flood's (a client whose secret is being
// guessed) keeps its count. Zero or a negative n means
// [DefaultLimiterKeys].
//
// The cap holds as of each sweep; between sweeps the table may hold more:
// the keys first counted since the last sweep, which are at most the new
// keys that all instances over the database count in one sweep interval
// ([WithLimiterSweepInterval]), since each instance that counts sweeps at
// least that often; plus the windows that ended since, which the next
// sweep deletes. At 10,000 made-up keys a second and the default interval
// of 10 s, that is at most 100,000 rows more, each its key (a Provider's
// are a few dozen bytes, and none is longer than [storage.MaxKeyBytes])
// and about a hundred bytes more with its index entries. A sweep over the
// cap deletes the excess in one statement, which sorts the live keys by
// count (about a quarter of a second for 100,000 keys beyond 100,000);
// under the cap it counts them (a few milliseconds).
func WithLimiterKeys(n int) Option {
	return func(s *Store) {
		if n <= 0 {
			n = DefaultLimiterKeys
		}
		s.limiterKeys = n
	}
}

// WithLimiterSweepInterval sets how often, at most, a Store sweeps the
// limiter from [Store.Take], measured on the store clock: the first Take
// after the interval deletes the windows that ended and trims the keys to
// [WithLimiterKeys] before it counts, and the other Takes do not sweep.
// [Store.DeleteExpired] sweeps whenever it is called. The default is
// [DefaultLimiterSweepInterval]; zero or a negative d means the default.
func WithLimiterSweepInterval(d time.Duration) Option {
	return func(s *Store) {
		if d <= 0 {
			d = DefaultLimiterSweepInterval
		}
		s.limiterSweepInterval = d
	}
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

		limiterKeys:          DefaultLimiterKeys,
		limiterSweepInterval: DefaultLimiterSweepInterval,
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
