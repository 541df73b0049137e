package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	sqlite3 "modernc.org/sqlite"
	sqlite3lib "modernc.org/sqlite/lib"

	"github.com/grantor-dev/grantor/storage"
)

// Defaults of the options.
const (
	// DefaultBusyTimeout is how long a statement waits for another
	// connection's (or process's) write lock before it fails.
	DefaultBusyTimeout = 5 * time.Second

	// DefaultRevokedGrantRetention is how long a revoked grant is
	// remembered after its revocation once it has no token records left.
	DefaultRevokedGrantRetention = 24 * time.Hour

	// DefaultDeleteBatchSize is how many rows one statement of
	// [Store.DeleteExpired] deletes before it lets other writers in.
	DefaultDeleteBatchSize = 1000

	// DefaultLimiterKeys is how many keys the limiter's table keeps past
	// a sweep (see [Store.Take]).
	DefaultLimiterKeys = 100_000

	// DefaultLimiterSweepInterval is how often at most a [Store.Take]
	// sweeps the limiter's table.
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
// authorizations, the sealed key sets of the token strategies and the
// login sessions of an OpenID Provider in one SQLite database file, and
// counts the events of [storage.Limiter] there. It implements
// [storage.ClientStore], [storage.TokenStore],
// [storage.RefreshTokenStore], [storage.ReplayStore],
// [storage.InteractionStore], [storage.AuthorizationCodeStore],
// [storage.PushedRequestStore], [storage.DeviceAuthorizationStore],
// [storage.Limiter], [storage.KeyStore] and [storage.LoginSessionStore],
// and is safe for concurrent use.
//
// Create one with [Open] and release it with [Store.Close]; the zero value
// is not usable.
type Store struct {
	db *sql.DB

	now            func() time.Time
	busyTimeout    time.Duration
	maxOpenConns   int
	grantRetention time.Duration
	batchSize      int
	syncNormal     bool

	limiterKeys          int
	limiterSweepInterval time.Duration
	// nextLimiterSweep is the store clock's time, in Unix nanoseconds,
	// from which a Take sweeps the limiter's table again.
	nextLimiterSweep atomic.Int64

	// stmts caches the prepared statements, by query text (see prepared).
	stmtsMu sync.Mutex
	stmts   map[string]*sql.Stmt

	// wlock serialises this Store's writes: SQLite has one writer per
	// database, so writers of one process queue here (honouring their
	// contexts) instead of spinning in SQLite's busy handler. Writers of
	// other processes, or of another Store on the same file, are waited
	// for by the busy timeout.
	wlock chan struct{}
}

// Option configures a [Store].
type Option func(*Store)

// WithBusyTimeout sets how long a statement waits for a lock held by
// another connection or process before it fails with SQLITE_BUSY. The
// default is [DefaultBusyTimeout]. Zero or a negative duration keeps the
// default: a store that fails at the first contention is never wanted.
func WithBusyTimeout(d time.Duration) Option {
	return func(s *Store) {
		if d > 0 {
			s.busyTimeout = d
		}
	}
}

// WithMaxOpenConns sets the size of the connection pool. Reads run in
// parallel on up to n connections (WAL mode lets them read while one
// connection writes); writes are serialised whatever n is. The default is
// max(4, GOMAXPROCS). Values below 1 keep the default.
func WithMaxOpenConns(n int) Option {
	return func(s *Store) {
		if n > 0 {
			s.maxOpenConns = n
		}
	}
}

// WithClock sets the clock the store reads where the contract speaks of
// "now": to decide whether a replay entry has expired ([Store.Remember]), to
// time the retention of revoked-grant markers, and in place of a zero time
// passed to a method. The default is [time.Now]. A nil clock is ignored.
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
// The default is [DefaultRevokedGrantRetention]; negative durations count as
// zero. The marker exists so that tokens created for the grant after its
// revocation are stored revoked, as [storage.TokenStore] requires.
func WithRevokedGrantRetention(d time.Duration) Option {
	return func(s *Store) { s.grantRetention = max(d, 0) }
}

// WithDeleteBatchSize sets how many rows one statement of
// [Store.DeleteExpired] deletes; the write lock is released between
// batches so that requests are not held up by a large sweep. The default
// is [DefaultDeleteBatchSize]. Values below 1 keep the default.
func WithDeleteBatchSize(n int) Option {
	return func(s *Store) {
		if n > 0 {
			s.batchSize = n
		}
	}
}

// WithLimiterKeys sets how many keys the limiter's table keeps past a
// sweep: a sweep that finds more deletes those with the smallest counts
// first, down to n (see [Store.Take]). The default is
// [DefaultLimiterKeys]. Values below 1 keep the default.
func WithLimiterKeys(n int) Option {
	return func(s *Store) {
		if n > 0 {
			s.limiterKeys = n
		}
	}
}

// WithLimiterSweepInterval sets how often at most [Store.Take] sweeps the
// limiter's table, by the store clock: the first Take after the interval
// sweeps, the others only count. The default is
// [DefaultLimiterSweepInterval]; a longer interval lets the table grow
// further past [WithLimiterKeys] between sweeps. Zero or a negative
// duration keeps the default.
func WithLimiterSweepInterval(d time.Duration) Option {
	return func(s *Store) {
		if d > 0 {
			s.limiterSweepInterval = d
		}
	}
}

// WithSynchronousNormal trades durability for write throughput: commits
// are written to the WAL without waiting for the disk to sync each one
// (PRAGMA synchronous=NORMAL), about twice the rotations per second. A
// crash of the process loses nothing, but a power loss or an operating
// system crash may lose the last commits: a code redeemed or a refresh
// token rotated just before could then be used again, and a revocation be
// undone. The default syncs every commit (synchronous=FULL).
func WithSynchronousNormal() Option {
	return func(s *Store) { s.syncNormal = true }
}

// Open opens (creating it if needed) the SQLite database file at path,
// and brings its schema up to date with [Store.Migrate].
//
// The database runs in WAL journal mode (readers do not block the
// writer), every connection with the busy timeout of [WithBusyTimeout], foreign keys on,
// synchronous commits (a consumed code or a revocation survives a
// power loss; see [WithSynchronousNormal]), and transactions that take the write lock when they begin
// (BEGIN IMMEDIATE), so that no read-modify-write can lose a race.
//
// path is a file name, or a "file:" URI whose query parameters are passed
// on to SQLite. An in-memory database (":memory:") is refused: each pooled
// connection would see a database of its own; use package
// [github.com/grantor-dev/grantor/storage/memory] instead.
func Open(ctx context.Context, path string, opts ...Option) (*Store, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: open: %w", err)
	}
	s := &Store{
		now:            time.Now,
		busyTimeout:    DefaultBusyTimeout,
		maxOpenConns:   max(4, runtime.GOMAXPROCS(0)),
		grantRetention: DefaultRevokedGrantRetention,
		batchSize:      DefaultDeleteBatchSize,
		limiterKeys:    DefaultLimiterKeys,
		wlock:          make(chan struct{}, 1),
		stmts:          make(map[string]*sql.Stmt),

		limiterSweepInterval: DefaultLimiterSweepInterval,
	}
	for _, opt := range opts {
		if opt != nil {
			opt(s)
		}
	}
	dsn, err := s.dsn(path)
	if err != nil {
		return nil, err
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open: %w", err)
	}
	db.SetMaxOpenConns(s.maxOpenConns)
	db.SetMaxIdleConns(s.maxOpenConns)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	s.db = db

	if err := s.enableWAL(ctx); err != nil {
		_ = db.Close()
		return nil, wrap("open", err)
	}
	if err := s.Migrate(ctx); err != nil {
		_ = db.Close()
		return nil, err
	}
	return s, nil
}

// dsn returns the data source name of the modernc.org/sqlite driver for
// path: a "file:" URI, so that any file name (one with a '?' or a '#' in
// it) is opened as it is, with the connection settings as parameters.
func (s *Store) dsn(path string) (string, error) {
	switch path {
	case "":
		return "", errors.New("sqlite: open: empty path")
	case ":memory:":
		return "", errors.New("sqlite: open: in-memory databases are not supported (each connection would have its own)")
	}
	params := url.Values{}
	params.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", s.busyTimeout.Milliseconds()))
	params.Add("_pragma", "foreign_keys(1)")
	if s.syncNormal {
		params.Add("_pragma", "synchronous(NORMAL)")
	} else {
		params.Add("_pragma", "synchronous(FULL)")
	}
	params.Set("_txlock", "immediate")
	if strings.HasPrefix(path, "file:") {
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		return path + sep + params.Encode(), nil
	}
	u := url.URL{Path: path}
	return "file:" + u.EscapedPath() + "?" + params.Encode(), nil
}

// enableWAL switches the database file to WAL mode, which it keeps: every
// later connection uses it. Changing the journal mode needs the database to
// itself and fails with SQLITE_BUSY, without waiting, while another
// connection (another process opening the same new file) uses it, so the
// change is retried for up to the busy timeout.
func (s *Store) enableWAL(ctx context.Context) error {
	deadline := time.Now().Add(s.busyTimeout)
	delay := time.Millisecond
	for {
		var mode string
		err := s.db.QueryRowContext(ctx, "PRAGMA journal_mode = WAL").Scan(&mode)
		switch {
		case err == nil && strings.EqualFold(mode, "wal"):
			return nil
		case err == nil:
			return fmt.Errorf("journal mode is %q, not WAL", mode)
		case !isBusy(err) || time.Now().After(deadline):
			return err
		}
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			return ctx.Err()
		}
		delay = min(2*delay, 50*time.Millisecond)
	}
}

// Close closes the database. Calls made after it fail.
func (s *Store) Close() error {
	s.stmtsMu.Lock()
	for q, st := range s.stmts {
		_ = st.Close()
		delete(s.stmts, q)
	}
	s.stmtsMu.Unlock()
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("sqlite: close: %w", err)
	}
	return nil
}

// DB returns the underlying database handle, for backups, metrics or
// queries of one's own. Writing to Grantor's tables through it bypasses
// the store's rules.
func (s *Store) DB() *sql.DB { return s.db }

// lockWrite waits for this Store's write lock, or for ctx to end. The
// returned function releases the lock.
func (s *Store) lockWrite(ctx context.Context) (func(), error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	select {
	case s.wlock <- struct{}{}:
		return s.unlockWrite, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (s *Store) unlockWrite() { <-s.wlock }

// prepared returns the prepared statement of query, preparing it on first
// use. Parsing a statement costs as much as running a simple one, and the
// store runs a few statements over and over.
func (s *Store) prepared(ctx context.Context, query string) (*sql.Stmt, error) {
	s.stmtsMu.Lock()
	defer s.stmtsMu.Unlock()
	if st, ok := s.stmts[query]; ok {
		return st, nil
	}
	st, err := s.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	s.stmts[query] = st
	return st, nil
}

// queryRow runs a query expected to return at most one row, prepared.
func (s *Store) queryRow(ctx context.Context, query string, args ...any) (*sql.Row, error) {
	st, err := s.prepared(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryRowContext(ctx, args...), nil
}

// inTx runs f in a transaction that holds the database's write lock from
// its start (BEGIN IMMEDIATE) and commits it if f returns nil.
func (s *Store) inTx(ctx context.Context, f func(tx *sql.Tx) error) error {
	unlock, err := s.lockWrite(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := f(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// exec runs one writing statement under the write lock.
func (s *Store) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	unlock, err := s.lockWrite(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	st, err := s.prepared(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

// clock returns at, or the store clock's now if at is zero.
func (s *Store) clock(at time.Time) time.Time {
	if at.IsZero() {
		return s.now()
	}
	return at
}

// isDuplicate reports whether err is SQLite's violation of a primary key or
// unique constraint.
func isDuplicate(err error) bool {
	var e *sqlite3.Error
	if !errors.As(err, &e) {
		return false
	}
	switch e.Code() {
	case sqlite3lib.SQLITE_CONSTRAINT_PRIMARYKEY, sqlite3lib.SQLITE_CONSTRAINT_UNIQUE:
		return true
	}
	return false
}

// isBusy reports whether err is SQLite's SQLITE_BUSY or SQLITE_LOCKED, of
// any extended code.
func isBusy(err error) bool {
	var e *sqlite3.Error
	if !errors.As(err, &e) {
		return false
	}
	switch e.Code() & 0xff {
	case sqlite3lib.SQLITE_BUSY, sqlite3lib.SQLITE_LOCKED:
		return true
	}
	return false
}

// wrap returns err with the operation's name, unless it is nil. The
// message of a driver error never holds a bound value, so no key or secret
// ends up in it.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("sqlite: %s: %w", op, err)
}
