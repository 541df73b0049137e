package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/grantor-dev/grantor/storage"
)

// The statements of the key store (see migrations/0007_key_sets.sql): a
// set's version is its row of key_sets, its keys are rows of stored_keys.
const (
	// loadKeySet reads a set's version and its keys, in their order, in
	// one statement, so from one snapshot of the database: the keys are
	// those of the version read, even while another Store saves the set.
	// A set without keys is one row of NULL keys; a set never written, no
	// row.
	loadKeySet = `SELECT s.version, k.id, k.algorithm, k.state, k.sealed, k.added_at, k.promoted_at, k.retired_at
FROM key_sets s LEFT JOIN stored_keys k ON k.set_name = s.name
WHERE s.name = ? ORDER BY k.position`

	// createKeySet is the compare-and-set of a first save (version 0): it
	// changes no row when the set exists.
	createKeySet = `INSERT INTO key_sets (name, version) VALUES (?, 1) ON CONFLICT (name) DO NOTHING`
	// bumpKeySet is the compare-and-set of a later save: it changes no row
	// unless the set is at the version the caller read.
	bumpKeySet = `UPDATE key_sets SET version = version + 1 WHERE name = ? AND version = ?`
	// keySetVersion reads the version of a set, for the message of a
	// conflict.
	keySetVersion = `SELECT version FROM key_sets WHERE name = ?`

	deleteStoredKeys = `DELETE FROM stored_keys WHERE set_name = ?`
	insertStoredKey  = `INSERT INTO stored_keys
(set_name, position, id, algorithm, state, sealed, added_at, promoted_at, retired_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`
)

// LoadKeySet implements [storage.KeyStore]: it returns the version and the
// keys of the set named name, in the order they were saved, read in one
// statement so that the keys are those of the version returned. A set
// never written has Version 0 and no keys. Times come back in UTC,
// truncated to the microsecond; the sealed material byte for byte, in a
// new slice the caller may modify.
func (s *Store) LoadKeySet(ctx context.Context, name string) (storage.StoredKeySet, error) {
	if err := ctx.Err(); err != nil {
		return storage.StoredKeySet{}, wrap("load key set", err)
	}
	st, err := s.prepared(ctx, loadKeySet)
	if err != nil {
		return storage.StoredKeySet{}, wrap("load key set", err)
	}
	rows, err := st.QueryContext(ctx, name)
	if err != nil {
		return storage.StoredKeySet{}, wrap("load key set", err)
	}
	defer rows.Close()
	var set storage.StoredKeySet
	for rows.Next() {
		var (
			id, alg, state           sql.NullString
			sealed                   []byte
			added, promoted, retired sql.NullInt64
		)
		if err := rows.Scan(&set.Version, &id, &alg, &state, &sealed, &added, &promoted, &retired); err != nil {
			return storage.StoredKeySet{}, wrap("load key set", err)
		}
		if !id.Valid {
			continue // a set without keys
		}
		set.Keys = append(set.Keys, storage.StoredKey{
			ID:        id.String,
			Algorithm: alg.String,
			State:     storage.KeyState(state.String),
			Sealed:    sealed,
			Added:     timeVal(added),
			Promoted:  timeVal(promoted),
			Retired:   timeVal(retired),
		})
	}
	if err := rows.Err(); err != nil {
		return storage.StoredKeySet{}, wrap("load key set", err)
	}
	return set, nil
}

// SaveKeySet implements [storage.KeyStore]: if the set named name is still
// at version, it replaces its keys with keys and returns version+1. It
// checks keys with [storage.CheckKeySet] first, and writes nothing if they
// break it. Then, in one transaction that holds the database's write lock
// from its start, it moves the set's version by compare-and-set (an
// INSERT that does nothing if the set exists, for version 0; else an
// UPDATE of the row at version), and rewrites the set's keys in their
// order. A set at another version is left as it was, and the error wraps
// [storage.ErrVersionConflict]: of concurrent saves at one version,
// through this Store or others over the file, in this process or another,
// exactly one wins.
func (s *Store) SaveKeySet(ctx context.Context, name string, version int64, keys []storage.StoredKey) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, wrap("save key set", err)
	}
	if err := storage.CheckKeySet(name, version, keys); err != nil {
		return 0, wrap("save key set", err)
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		cas, args := bumpKeySet, []any{name, version}
		if version == 0 {
			cas, args = createKeySet, []any{name}
		}
		st, err := s.txStmt(ctx, tx, cas)
		if err != nil {
			return err
		}
		res, err := st.ExecContext(ctx, args...)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n != 1 {
			var current int64
			err := tx.QueryRowContext(ctx, keySetVersion, name).Scan(&current)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			return fmt.Errorf("%w: key set is at version %d, not %d", storage.ErrVersionConflict, current, version)
		}
		del, err := s.txStmt(ctx, tx, deleteStoredKeys)
		if err != nil {
			return err
		}
		if _, err := del.ExecContext(ctx, name); err != nil {
			return err
		}
		insert, err := s.txStmt(ctx, tx, insertStoredKey)
		if err != nil {
			return err
		}
		for i, k := range keys {
			if _, err := insert.ExecContext(ctx, name, i, k.ID, k.Algorithm, string(k.State), k.Sealed,
				timeArg(k.Added), timeArg(k.Promoted), timeArg(k.Retired)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, wrap("save key set", err)
	}
	return version + 1, nil
}
