package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"slices"

	"github.com/grantor-dev/grantor/storage"
)

// Login sessions of an OpenID Provider (see
// migrations/0009_login_sessions.sql and 0010_login_session_ids.sql).

// sessionColumns are the columns of a login session, in scanSession's
// order.
const sessionColumns = `key, id, subject, auth_time, acr, amr, clients, created_at, expires_at`

// The statements of the login session store.
const (
	insertSession = `INSERT INTO login_sessions (` + sessionColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`
	selectSession = `SELECT ` + sessionColumns + ` FROM login_sessions WHERE key = ?`
	// selectSessionByID reads a session by its id through the index
	// login_sessions_id. Two rows share an id while a new login replaces a
	// session, or when a replaced row was left behind: the one that lasts
	// longest, so that an expired row never hides a live one.
	selectSessionByID = `SELECT ` + sessionColumns + ` FROM login_sessions WHERE id = ? ORDER BY expires_at DESC LIMIT 1`
	// setSessionClients writes the clients that AddSessionClient read and
	// extended, in the transaction that read them.
	setSessionClients = `UPDATE login_sessions SET clients = ? WHERE key = ?`
	deleteSession     = `DELETE FROM login_sessions WHERE key = ? RETURNING ` + sessionColumns
)

// scanSession reads a row of sessionColumns.
func scanSession(row scanner) (*storage.LoginSession, error) {
	var (
		ls                         storage.LoginSession
		amr, clients               sql.NullString
		authTime, created, expires sql.NullInt64
	)
	if err := row.Scan(&ls.Key, &ls.ID, &ls.Subject, &authTime, &ls.ACR, &amr, &clients, &created, &expires); err != nil {
		return nil, err
	}
	var err error
	if ls.AMR, err = listVal(amr); err != nil {
		return nil, err
	}
	if ls.Clients, err = listVal(clients); err != nil {
		return nil, err
	}
	ls.AuthTime, ls.CreatedAt, ls.ExpiresAt = timeVal(authTime), timeVal(created), timeVal(expires)
	return &ls, nil
}

// CreateLoginSession implements [storage.LoginSessionStore]. An existing
// Key is [storage.ErrDuplicate]. A nil session or an empty Key is an
// error; a session larger than [storage.MaxRecordBytes], or with a Key
// longer than [storage.MaxKeyBytes], is refused with an error wrapping
// [storage.ErrTooLarge], and a string of invalid UTF-8 in AMR or Clients
// with an error naming the field (see the package documentation).
// Nothing is stored then.
func (s *Store) CreateLoginSession(ctx context.Context, ls *storage.LoginSession) error {
	if err := ctx.Err(); err != nil {
		return wrap("create login session", err)
	}
	if ls == nil {
		return errors.New("sqlite: create login session: nil session")
	}
	if ls.Key == "" {
		return errors.New("sqlite: create login session: empty key")
	}
	if err := storage.CheckSize("login session", ls.Size(), nil, ls.Key); err != nil {
		return wrap("create login session", err)
	}
	amr, err := listArg("AMR", ls.AMR)
	if err != nil {
		return wrap("create login session", err)
	}
	clients, err := listArg("Clients", ls.Clients)
	if err != nil {
		return wrap("create login session", err)
	}
	_, err = s.exec(ctx, insertSession, ls.Key, ls.ID, ls.Subject, timeArg(ls.AuthTime), ls.ACR, amr, clients,
		timeArg(ls.CreatedAt), timeArg(ls.ExpiresAt))
	if isDuplicate(err) {
		return wrap("create login session", storage.ErrDuplicate)
	}
	return wrap("create login session", err)
}

// LoginSession implements [storage.LoginSessionStore]: it returns a new
// copy of the session under key, or [storage.ErrNotFound]. An expired
// session is returned until [Store.DeleteExpired] deletes it: checking
// ExpiresAt is the caller's job.
func (s *Store) LoginSession(ctx context.Context, key string) (*storage.LoginSession, error) {
	ls, err := getOne(ctx, s, scanSession, selectSession, key)
	return ls, wrap("login session", err)
}

// LoginSessionByID implements [storage.LoginSessionStore]: one SELECT,
// through the index on the sessions' ids, returns a new copy of a session
// whose ID is id, or [storage.ErrNotFound]. Of several sessions that
// share the ID, it returns the one that expires last. As
// [Store.LoginSession], it returns an expired session until
// [Store.DeleteExpired] deletes it: checking ExpiresAt is the caller's
// job.
func (s *Store) LoginSessionByID(ctx context.Context, id string) (*storage.LoginSession, error) {
	ls, err := getOne(ctx, s, scanSession, selectSessionByID, id)
	return ls, wrap("login session by id", err)
}

// AddSessionClient implements [storage.LoginSessionStore]: in one
// transaction that holds the database's write lock from its start, it
// reads the session's clients and, unless clientID is among them or they
// number [storage.MaxSessionClients], writes them back with clientID last.
// Of concurrent calls, through this Store or others over the file, none
// is lost and none adds a client twice. An unknown key is
// [storage.ErrNotFound]. A client that would make the session larger than
// [storage.MaxRecordBytes] is refused with an error wrapping
// [storage.ErrTooLarge], and one of invalid UTF-8 with an error naming
// the field; the session is unchanged then.
func (s *Store) AddSessionClient(ctx context.Context, key, clientID string) error {
	if err := ctx.Err(); err != nil {
		return wrap("add session client", err)
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		get, err := s.txStmt(ctx, tx, selectSession)
		if err != nil {
			return err
		}
		ls, err := scanSession(get.QueryRowContext(ctx, key))
		if errors.Is(err, sql.ErrNoRows) {
			return storage.ErrNotFound
		}
		if err != nil {
			return err
		}
		if slices.Contains(ls.Clients, clientID) || len(ls.Clients) >= storage.MaxSessionClients {
			return nil
		}
		if err := storage.CheckSize("login session", ls.Size()+len(clientID), nil); err != nil {
			return err
		}
		clients, err := listArg("Clients", append(ls.Clients, clientID))
		if err != nil {
			return err
		}
		update, err := s.txStmt(ctx, tx, setSessionClients)
		if err != nil {
			return err
		}
		_, err = update.ExecContext(ctx, clients, key)
		return err
	})
	return wrap("add session client", err)
}

// DeleteLoginSession implements [storage.LoginSessionStore]: one DELETE
// ... RETURNING statement deletes the session under key and returns it as
// it was, so of concurrent calls, through this Store or others over the
// file, exactly one gets it and the others [storage.ErrNotFound]. An
// unknown key is ErrNotFound.
func (s *Store) DeleteLoginSession(ctx context.Context, key string) (*storage.LoginSession, error) {
	if err := ctx.Err(); err != nil {
		return nil, wrap("delete login session", err)
	}
	unlock, err := s.lockWrite(ctx)
	if err != nil {
		return nil, wrap("delete login session", err)
	}
	defer unlock()
	row, err := s.queryRow(ctx, deleteSession, key)
	if err != nil {
		return nil, wrap("delete login session", err)
	}
	ls, err := scanSession(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, wrap("delete login session", storage.ErrNotFound)
	}
	if err != nil {
		return nil, wrap("delete login session", err)
	}
	return ls, nil
}
