package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/grantor-dev/grantor/storage"
)

// sessionColumns are the columns of a login session, in the order of
// scanSession (see migrations/0009_login_sessions.sql, and
// 0010_login_session_ids.sql for the index on id).
const sessionColumns = `key, id, subject, auth_time, acr, amr, clients, created_at, expires_at`

// SQL of the login session operations.
const (
	insertSession = `INSERT INTO login_sessions (` + sessionColumns + `, record_bytes)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`

	selectSession = `SELECT ` + sessionColumns + ` FROM login_sessions WHERE key = $1`

	// selectSessionByID reads a session by its id through the index
	// login_sessions_id. Two rows share an id while a new login replaces a
	// session, or when a replaced row was left behind: the one that lasts
	// longest, so that an expired row never hides a live one.
	selectSessionByID = `SELECT ` + sessionColumns + ` FROM login_sessions WHERE id = $1 ORDER BY expires_at DESC LIMIT 1`

	// addSessionClient appends the client $2 to the session $1 in one
	// statement, unless the session has it, holds $3 clients already, or
	// would grow past $4 bytes. A concurrent call for the same session
	// waits for the row's lock, then checks the conditions again on the
	// row as this one left it (READ COMMITTED): no addition is lost, and
	// none is made twice.
	addSessionClient = `UPDATE login_sessions
SET clients = array_append(clients, $2::text), record_bytes = record_bytes + octet_length($2::text)
WHERE key = $1
	AND NOT ($2::text = ANY(coalesce(clients, '{}')))
	AND coalesce(cardinality(clients), 0) < $3::integer
	AND record_bytes + octet_length($2::text) <= $4::integer`

	// sessionClientState tells why addSessionClient changed nothing.
	sessionClientState = `SELECT $2::text = ANY(coalesce(clients, '{}')), coalesce(cardinality(clients), 0), record_bytes
FROM login_sessions WHERE key = $1`

	deleteSession = `DELETE FROM login_sessions WHERE key = $1 RETURNING ` + sessionColumns
)

// scanSession reads a row of sessionColumns.
func scanSession(row pgx.Row) (*storage.LoginSession, error) {
	var ls storage.LoginSession
	if err := row.Scan(&ls.Key, &ls.ID, &ls.Subject, timeDest{&ls.AuthTime}, &ls.ACR, &ls.AMR, &ls.Clients,
		timeDest{&ls.CreatedAt}, timeDest{&ls.ExpiresAt}); err != nil {
		return nil, err
	}
	return &ls, nil
}

// CreateLoginSession implements [storage.LoginSessionStore]. An existing
// Key is [storage.ErrDuplicate]. A nil session or an empty Key is an
// error; a session larger than [storage.MaxRecordBytes], or with a Key
// longer than [storage.MaxKeyBytes], is refused with an error wrapping
// [storage.ErrTooLarge], and one with a string that PostgreSQL cannot
// store (a NUL byte, invalid UTF-8; see the package documentation) with
// an error naming the field. Nothing is stored then.
func (s *Store) CreateLoginSession(ctx context.Context, ls *storage.LoginSession) error {
	const op = "create login session"
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("postgres: %s: %w", op, err)
	}
	if ls == nil {
		return fmt.Errorf("postgres: %s: nil session", op)
	}
	if ls.Key == "" {
		return fmt.Errorf("postgres: %s: empty key", op)
	}
	size := ls.Size()
	if err := storage.CheckSize("login session", size, nil, ls.Key); err != nil {
		return fmt.Errorf("postgres: %s: %w", op, err)
	}
	for _, f := range []struct {
		name string
		strs []string
	}{
		{"Key", []string{ls.Key}}, {"ID", []string{ls.ID}}, {"Subject", []string{ls.Subject}},
		{"ACR", []string{ls.ACR}}, {"AMR", ls.AMR}, {"Clients", ls.Clients},
	} {
		if err := checkText(f.name, f.strs...); err != nil {
			return fmt.Errorf("postgres: %s: %w", op, err)
		}
	}
	err := s.retry(ctx, func() error {
		_, err := s.pool.Exec(ctx, insertSession, ls.Key, ls.ID, ls.Subject, timeArg(ls.AuthTime), ls.ACR,
			ls.AMR, ls.Clients, timeArg(ls.CreatedAt), ls.ExpiresAt, int32(size))
		return err
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

// LoginSession implements [storage.LoginSessionStore]: it returns the
// session under key, or [storage.ErrNotFound]. An expired session is
// returned until [Store.DeleteExpired] deletes it: checking ExpiresAt is
// the caller's job.
func (s *Store) LoginSession(ctx context.Context, key string) (*storage.LoginSession, error) {
	return s.oneSession(ctx, "login session", selectSession, key)
}

// LoginSessionByID implements [storage.LoginSessionStore]: one SELECT,
// through the index on the sessions' ids, returns a session whose ID is
// id, or [storage.ErrNotFound]. Of several sessions that share the ID, it
// returns the one that expires last. As [Store.LoginSession], it
// returns an expired session until [Store.DeleteExpired] deletes it:
// checking ExpiresAt is the caller's job.
func (s *Store) LoginSessionByID(ctx context.Context, id string) (*storage.LoginSession, error) {
	return s.oneSession(ctx, "login session by id", selectSessionByID, id)
}

// AddSessionClient implements [storage.LoginSessionStore]: one conditional
// UPDATE appends clientID to the session's clients unless it is among them
// or they number [storage.MaxSessionClients], so of concurrent calls,
// through this Store or several over the database, none is lost and none
// adds a client twice. It runs at READ COMMITTED whatever the database's
// default, so that a concurrent call waits for the row and checks it
// again rather than failing. An unknown key is [storage.ErrNotFound]. A
// client that would make the session larger than [storage.MaxRecordBytes]
// is refused with an error wrapping [storage.ErrTooLarge], and one that
// PostgreSQL text cannot hold with an error naming the field; the session
// is unchanged then.
func (s *Store) AddSessionClient(ctx context.Context, key, clientID string) error {
	const op = "add session client"
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("postgres: %s: %w", op, err)
	}
	if !isText(key) {
		return fmt.Errorf("postgres: %s: %w", op, storage.ErrNotFound)
	}
	if err := checkText("Clients", clientID); err != nil {
		return fmt.Errorf("postgres: %s: %w", op, err)
	}
	var refused error
	err := s.retry(ctx, func() error {
		refused = nil
		return pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.ReadCommitted}, func(tx pgx.Tx) error {
			tag, err := tx.Exec(ctx, addSessionClient, key, clientID, int32(storage.MaxSessionClients),
				int32(storage.MaxRecordBytes))
			if err != nil || tag.RowsAffected() == 1 {
				return err
			}
			var (
				has         bool
				count, size int32
			)
			err = tx.QueryRow(ctx, sessionClientState, key, clientID).Scan(&has, &count, &size)
			switch {
			case errors.Is(err, pgx.ErrNoRows):
				refused = storage.ErrNotFound
				return nil
			case err != nil:
				return err
			case has || count >= storage.MaxSessionClients:
				return nil
			}
			refused = storage.CheckSize("login session", int(size)+len(clientID), nil)
			return nil
		})
	})
	if err != nil {
		return fail(ctx, op, err)
	}
	if refused != nil {
		return fmt.Errorf("postgres: %s: %w", op, refused)
	}
	return nil
}

// DeleteLoginSession implements [storage.LoginSessionStore]: one DELETE
// ... RETURNING statement deletes the session under key and returns it as
// it was, so of concurrent calls, through this Store or several over the
// database, exactly one gets it and the others [storage.ErrNotFound]. An
// unknown key is ErrNotFound.
func (s *Store) DeleteLoginSession(ctx context.Context, key string) (*storage.LoginSession, error) {
	return s.oneSession(ctx, "delete login session", deleteSession, key)
}

// oneSession runs query, a statement that returns the session under key
// (a SELECT, a DELETE ... RETURNING) or with the ID key (a SELECT by
// id), for op: the session, or [storage.ErrNotFound] when there is none.
// A key that PostgreSQL text cannot hold names no stored session.
func (s *Store) oneSession(ctx context.Context, op, query, key string) (*storage.LoginSession, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("postgres: %s: %w", op, err)
	}
	if !isText(key) {
		return nil, fmt.Errorf("postgres: %s: %w", op, storage.ErrNotFound)
	}
	var ls *storage.LoginSession
	err := s.retry(ctx, func() (err error) {
		ls, err = scanSession(s.pool.QueryRow(ctx, query, key))
		return err
	})
	switch {
	case err == nil:
		return ls, nil
	case errors.Is(err, pgx.ErrNoRows):
		return nil, fmt.Errorf("postgres: %s: %w", op, storage.ErrNotFound)
	default:
		return nil, fail(ctx, op, err)
	}
}
