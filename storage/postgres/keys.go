package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/grantor-dev/grantor/storage"
)

// SQL of the key store (see migrations/0007_key_sets.sql): a set's version
// is its row of key_sets, its keys are rows of stored_keys.
const (
	// loadKeySet reads a set's version and its keys, in their order, in
	// one statement, so from one snapshot: the keys are those of the
	// version read, even while another instance saves the set. A set
	// without keys is one row of NULL keys; a set never written, no row.
	loadKeySet = `SELECT s.version, k.id, k.algorithm, k.state, k.sealed, k.added_at, k.promoted_at, k.retired_at
FROM key_sets s LEFT JOIN stored_keys k ON k.set_name = s.name
WHERE s.name = $1 ORDER BY k.position`

	// createKeySet is the compare-and-set of a first save (version 0): it
	// inserts no row when the set exists. A concurrent first save waits
	// for the transaction that inserted the row, and then inserts nothing
	// once that one commits.
	createKeySet = `INSERT INTO key_sets (name, version) VALUES ($1, 1) ON CONFLICT (name) DO NOTHING`
	// bumpKeySet is the compare-and-set of a later save: it updates no row
	// unless the set is at the version $2 the caller read. A concurrent
	// save waits for the row's lock, then checks the version again on the
	// row as the winner left it, and updates nothing.
	bumpKeySet = `UPDATE key_sets SET version = version + 1 WHERE name = $1 AND version = $2`
	// keySetVersion reads the version of a set, for the message of a
	// conflict.
	keySetVersion = `SELECT version FROM key_sets WHERE name = $1`

	deleteStoredKeys = `DELETE FROM stored_keys WHERE set_name = $1`
	insertStoredKey  = `INSERT INTO stored_keys
(set_name, position, id, algorithm, state, sealed, added_at, promoted_at, retired_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`
)

// LoadKeySet implements [storage.KeyStore]: it returns the version and the
// keys of the set named name, in the order they were saved, read in one
// statement so that the keys are those of the version returned. A set
// never written has Version 0 and no keys, and so has a name that
// PostgreSQL text cannot hold (a NUL byte, invalid UTF-8), which no save
// accepts. Times come back in UTC; the sealed material byte for byte, in a
// new slice the caller may modify.
func (s *Store) LoadKeySet(ctx context.Context, name string) (storage.StoredKeySet, error) {
	const op = "load key set"
	if err := ctx.Err(); err != nil {
		return storage.StoredKeySet{}, fmt.Errorf("postgres: %s: %w", op, err)
	}
	if !isText(name) {
		return storage.StoredKeySet{}, nil
	}
	var set storage.StoredKeySet
	err := s.retry(ctx, func() error {
		set = storage.StoredKeySet{}
		rows, err := s.pool.Query(ctx, loadKeySet, name)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				id, alg, state *string
				k              storage.StoredKey
			)
			if err := rows.Scan(&set.Version, &id, &alg, &state, &k.Sealed,
				timeDest{&k.Added}, timeDest{&k.Promoted}, timeDest{&k.Retired}); err != nil {
				return err
			}
			if id == nil || alg == nil || state == nil {
				continue // a set without keys
			}
			k.ID, k.Algorithm, k.State = *id, *alg, storage.KeyState(*state)
			set.Keys = append(set.Keys, k)
		}
		return rows.Err()
	})
	if err != nil {
		return storage.StoredKeySet{}, fail(ctx, op, err)
	}
	return set, nil
}

// SaveKeySet implements [storage.KeyStore]: if the set named name is still
// at version, it replaces its keys with keys and returns version+1. It
// checks keys with [storage.CheckKeySet] first, and writes nothing if they
// break it. Then, in one transaction, it moves the set's version by
// compare-and-set (an INSERT ... ON CONFLICT DO NOTHING for version 0, an
// UPDATE of the row at version otherwise, each checked by the rows it
// changed), and rewrites the set's keys in their order under the lock of
// the set's row. A set at another version is left as it was, and the error
// wraps [storage.ErrVersionConflict]: of concurrent saves at one version,
// through this Store or others over the database, exactly one wins, and
// the others get that error, never a serialization failure or a unique
// violation.
//
// The transaction runs at READ COMMITTED whatever the database's default,
// so that a loser, once the winner's lock is released, sees the winner's
// row and changes nothing.
func (s *Store) SaveKeySet(ctx context.Context, name string, version int64, keys []storage.StoredKey) (int64, error) {
	const op = "save key set"
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("postgres: %s: %w", op, err)
	}
	if err := storage.CheckKeySet(name, version, keys); err != nil {
		return 0, fmt.Errorf("postgres: %s: %w", op, err)
	}
	err := s.retry(ctx, func() error {
		return pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.ReadCommitted}, func(tx pgx.Tx) error {
			var (
				tag pgconn.CommandTag
				err error
			)
			if version == 0 {
				tag, err = tx.Exec(ctx, createKeySet, name)
			} else {
				tag, err = tx.Exec(ctx, bumpKeySet, name, version)
			}
			if err != nil {
				return err
			}
			if tag.RowsAffected() != 1 {
				var current int64
				err := tx.QueryRow(ctx, keySetVersion, name).Scan(&current)
				if err != nil && !errors.Is(err, pgx.ErrNoRows) {
					return err
				}
				return fmt.Errorf("%w: key set is at version %d, not %d", storage.ErrVersionConflict, current, version)
			}
			b := &pgx.Batch{}
			b.Queue(deleteStoredKeys, name)
			for i, k := range keys {
				b.Queue(insertStoredKey, name, int32(i), k.ID, k.Algorithm, string(k.State), k.Sealed,
					timeArg(k.Added), timeArg(k.Promoted), timeArg(k.Retired))
			}
			return tx.SendBatch(ctx, b).Close()
		})
	})
	switch {
	case err == nil:
		return version + 1, nil
	case errors.Is(err, storage.ErrVersionConflict):
		return 0, fmt.Errorf("postgres: %s: %w", op, err)
	default:
		return 0, fail(ctx, op, err)
	}
}
