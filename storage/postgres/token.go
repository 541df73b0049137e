package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/grantor-dev/grantor/storage"
)

// tokenColumns are the columns of a token record, in the order of
// tokenArgs: its key, then readColumns.
const tokenColumns = `key, ` + readColumns

// readColumns are the columns that scanToken reads: those of a record but
// its key, which a read knows already. Sixteen of them, no more: pgconn
// describes a row of up to sixteen columns without an allocation.
const readColumns = `kind, grant_id, client_id, subject, scopes, audience, claims,
	issued_at, expires_at, grant_expires_at, access_token_lifetime_ns, refresh_token_lifetime_ns,
	key_thumbprint, extensions, consumed_at, revoked_at`

// SQL of the token operations.
const (
	// lockGrantsShared takes, for the rest of the transaction, a shared
	// lock on each grant whose lock key is in $2: creations of tokens of a
	// grant do not wait for each other, but a revocation of the grant
	// (lockGrant) waits for them to commit, and they for it.
	lockGrantsShared = `SELECT pg_advisory_xact_lock_shared($1, k) FROM unnest($2::int4[]) AS k`
	lockGrant        = `SELECT pg_advisory_xact_lock($1, $2)`

	// insertToken stores a record. Its RevokedAt is the one given, or
	// else the revocation time of its grant, if that is revoked: the
	// statement runs after lockGrantsShared, so it sees every revocation
	// committed before.
	insertToken = `INSERT INTO tokens (` + tokenColumns + `)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,
	COALESCE($17, (SELECT revoked_at FROM revoked_grants WHERE grant_id = $3 AND $3 <> '')))`

	selectToken = `SELECT ` + readColumns + ` FROM tokens WHERE key = $1`

	revokeToken = `UPDATE tokens SET revoked_at = COALESCE(revoked_at, $2) WHERE key = $1`

	// markGrantRevoked remembers the revocation; a grant revoked already
	// keeps its first revocation time and the later end of retention.
	markGrantRevoked = `INSERT INTO revoked_grants (grant_id, revoked_at, keep_until) VALUES ($1, $2, $3)
ON CONFLICT (grant_id) DO UPDATE SET keep_until = GREATEST(revoked_grants.keep_until, excluded.keep_until)`

	revokeGrantTokens = `UPDATE tokens SET revoked_at = $2 WHERE grant_id = $1 AND revoked_at IS NULL`

	// consumeToken is the compare-and-set of ConsumeToken: of concurrent
	// updates of one row, PostgreSQL lets the first through and re-checks
	// the condition of the others against its result.
	consumeToken = `UPDATE tokens SET consumed_at = $2 WHERE key = $1 AND consumed_at IS NULL
RETURNING ` + readColumns
)

// tokenArgs returns the values of tokenColumns for t, or an error if t
// cannot be stored.
func tokenArgs(t *storage.Token) ([]any, error) {
	n, err := t.Size()
	if err := storage.CheckSize("token record", n, err, t.Key, t.GrantID); err != nil {
		return nil, err
	}
	for _, f := range []struct {
		name string
		strs []string
	}{
		{"Key", []string{t.Key}}, {"GrantID", []string{t.GrantID}}, {"ClientID", []string{t.ClientID}},
		{"Subject", []string{t.Subject}}, {"Scopes", t.Scopes}, {"Audience", t.Audience},
		{"KeyThumbprint", []string{t.KeyThumbprint}},
	} {
		if err := checkText(f.name, f.strs...); err != nil {
			return nil, err
		}
	}
	claims, err := claimsArg(t.Claims)
	if err != nil {
		return nil, err
	}
	extensions, err := stringMapArg("Extensions", t.Extensions)
	if err != nil {
		return nil, err
	}
	// The lifetimes are passed as int64 nanoseconds: pgx would encode a
	// time.Duration as an interval.
	return []any{t.Key, int16(t.Kind), t.GrantID, t.ClientID, t.Subject, t.Scopes, t.Audience, claims,
		t.IssuedAt, t.ExpiresAt, timeArg(t.GrantExpiresAt),
		int64(t.AccessTokenLifetime), int64(t.RefreshTokenLifetime), t.KeyThumbprint, extensions,
		timeArg(t.ConsumedAt), timeArg(t.RevokedAt)}, nil
}

// scanToken reads a row of readColumns, the record stored under key.
func scanToken(row pgx.Row, key string) (*storage.Token, error) {
	t := storage.Token{Key: key}
	var kind int16
	// The lifetimes are scanned as the int64 nanoseconds they are stored
	// as: pgx takes a time.Duration for an interval, in microseconds.
	err := row.Scan(&kind, &t.GrantID, &t.ClientID, &t.Subject, &t.Scopes, &t.Audience, &t.Claims,
		timeDest{&t.IssuedAt}, timeDest{&t.ExpiresAt}, timeDest{&t.GrantExpiresAt},
		(*int64)(&t.AccessTokenLifetime), (*int64)(&t.RefreshTokenLifetime),
		&t.KeyThumbprint, &t.Extensions, timeDest{&t.ConsumedAt}, timeDest{&t.RevokedAt})
	if err != nil {
		return nil, err
	}
	t.Kind = storage.TokenKind(kind)
	return &t, nil
}

// claimsArg returns claims as a jsonb argument: NULL when there are none.
func claimsArg(claims map[string]any) (any, error) {
	if claims == nil {
		return nil, nil
	}
	b, err := json.Marshal(claims)
	if err != nil {
		return nil, fmt.Errorf("encoding the claims: %w", err)
	}
	if err := checkClaimsJSON(b); err != nil {
		return nil, err
	}
	return string(b), nil
}

// stringMapArg returns m, the field named field, as a jsonb argument: NULL
// when it is empty, so that a record without one costs nothing.
func stringMapArg(field string, m map[string]string) (any, error) {
	if len(m) == 0 {
		return nil, nil
	}
	if err := checkStringMap(field, m); err != nil {
		return nil, err
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encoding %s: %w", field, err)
	}
	return string(b), nil
}

// CreateTokens implements [storage.TokenStore]. It stores the records
// atomically, in one transaction and one round trip: if one of them is nil,
// has an empty Key, or has a Key that is already stored or repeated in the
// batch, nothing is stored. A duplicate key is [storage.ErrDuplicate]. A
// record of a revoked grant is stored with RevokedAt set to the grant's
// revocation time, unless it is already set.
//
// Claims are stored as jsonb: they come back as decoded JSON (numbers as
// float64, invalid UTF-8 as U+FFFD), and a string holding the character
// U+0000 cannot be stored. Extensions are a jsonb object too, NULL when
// there are none; their names and values are text, exactly kept.
//
// A record larger than [storage.MaxRecordBytes] (Claims counted as JSON),
// or with a Key or GrantID longer than [storage.MaxKeyBytes], is refused
// with an error wrapping [storage.ErrTooLarge], and one with a string that
// PostgreSQL cannot store (a NUL byte, invalid UTF-8; see the package
// documentation) with an error naming the field. Nothing of the batch is
// stored then.
func (s *Store) CreateTokens(ctx context.Context, tokens ...*storage.Token) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("postgres: create tokens: %w", err)
	}
	if len(tokens) == 0 {
		return nil
	}
	args := make([][]any, len(tokens))
	for i, t := range tokens {
		if t == nil {
			return errors.New("postgres: create tokens: nil token record")
		}
		if t.Key == "" {
			return errors.New("postgres: create tokens: token record with an empty key")
		}
		var err error
		if args[i], err = tokenArgs(t); err != nil {
			return fmt.Errorf("postgres: create tokens: %w", err)
		}
	}
	keys := grantLockKeys(tokens)
	// A batch sent outside a transaction runs in one implicit
	// transaction: all the inserts commit, or none. Each attempt sends a
	// new batch: pgx ties a sent one to its connection's statements.
	err := s.retry(ctx, func() error {
		b := &pgx.Batch{}
		if len(keys) > 0 {
			b.Queue(lockGrantsShared, grantLockClass, keys)
		}
		for _, a := range args {
			b.Queue(insertToken, a...)
		}
		return s.pool.SendBatch(ctx, b).Close()
	})
	switch {
	case err == nil:
		return nil
	case isUniqueViolation(err):
		return fmt.Errorf("postgres: create tokens: %w", storage.ErrDuplicate)
	default:
		return fail(ctx, "create tokens", err)
	}
}

// Token implements [storage.TokenStore]. It returns the record, revoked or
// consumed ones included, or [storage.ErrNotFound]. An expired record is
// returned until [Store.DeleteExpired] deletes it.
func (s *Store) Token(ctx context.Context, key string) (*storage.Token, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("postgres: token: %w", err)
	}
	if !isText(key) {
		return nil, fmt.Errorf("postgres: token: %w", storage.ErrNotFound)
	}
	var t *storage.Token
	err := s.retry(ctx, func() (err error) {
		t, err = scanToken(s.pool.QueryRow(ctx, selectToken, key), key)
		return err
	})
	switch {
	case err == nil:
		return t, nil
	case errors.Is(err, pgx.ErrNoRows):
		return nil, fmt.Errorf("postgres: token: %w", storage.ErrNotFound)
	default:
		return nil, fail(ctx, "token", err)
	}
}

// RevokeToken implements [storage.TokenStore] (RFC 7009 §2.1). A record
// revoked already keeps its first RevokedAt. A zero at is replaced by the
// store clock's now. An unknown key is [storage.ErrNotFound].
func (s *Store) RevokeToken(ctx context.Context, key string, at time.Time) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("postgres: revoke token: %w", err)
	}
	if !isText(key) {
		return fmt.Errorf("postgres: revoke token: %w", storage.ErrNotFound)
	}
	at = s.orNow(at)
	var n int64
	err := s.retry(ctx, func() error {
		tag, err := s.pool.Exec(ctx, revokeToken, key, at)
		n = tag.RowsAffected()
		return err
	})
	switch {
	case err != nil:
		return fail(ctx, "revoke token", err)
	case n == 0:
		return fmt.Errorf("postgres: revoke token: %w", storage.ErrNotFound)
	default:
		return nil
	}
}

// RevokeGrant implements [storage.TokenStore]: revoking a grant revokes
// every token issued from it (RFC 7009 §2.1, RFC 9700 §4.14.2). In one
// transaction, it remembers the grant as revoked (see
// [WithRevokedGrantRetention]), so that records created for it later are
// stored revoked, and sets RevokedAt on every record of the grant that is
// not revoked yet. An advisory lock on the grant orders it with concurrent
// CreateTokens calls, in this process or another, so that none of their
// records escapes. A zero at is replaced by the store clock's now. An empty
// grantID names no grant and does nothing.
func (s *Store) RevokeGrant(ctx context.Context, grantID string, at time.Time) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("postgres: revoke grant: %w", err)
	}
	if grantID == "" || !isText(grantID) {
		// No record can have such a grant ID: CreateTokens refuses it.
		return nil
	}
	now := s.now()
	at = s.orNow(at)
	keepUntil := now
	if at.After(now) {
		keepUntil = at
	}
	keepUntil = keepUntil.Add(s.grantRetention)

	err := s.retry(ctx, func() error {
		b := &pgx.Batch{}
		b.Queue(lockGrant, grantLockClass, grantLockKey(grantID))
		b.Queue(markGrantRevoked, grantID, at, keepUntil)
		b.Queue(revokeGrantTokens, grantID, at)
		return s.pool.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return fail(ctx, "revoke grant", err)
	}
	return nil
}

// ConsumeToken implements [storage.RefreshTokenStore], the use-once step of
// refresh token rotation (RFC 9700 §4.14.2): a single conditional UPDATE
// sets ConsumedAt only where it is not set, so of many concurrent calls for
// one key, through one Store or several over the database, exactly one
// returns a nil error. The others read the record, with the winner's
// ConsumedAt, and return it with [storage.ErrConsumed]. A zero at is
// replaced by the store clock's now. An unknown key is
// [storage.ErrNotFound].
//
// The record is consumed whatever its kind, expiry or revocation; checking
// those is the caller's job, on the returned record.
func (s *Store) ConsumeToken(ctx context.Context, key string, at time.Time) (*storage.Token, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("postgres: consume token: %w", err)
	}
	if !isText(key) {
		return nil, fmt.Errorf("postgres: consume token: %w", storage.ErrNotFound)
	}
	at = s.orNow(at)
	var t *storage.Token
	err := s.retry(ctx, func() (err error) {
		t, err = scanToken(s.pool.QueryRow(ctx, consumeToken, key, at), key)
		return err
	})
	if err == nil {
		return t, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return nil, fail(ctx, "consume token", err)
	}
	// Consumed already, or unknown.
	t, err = s.Token(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("postgres: consume token: %w", errors.Unwrap(err))
	}
	return t, fmt.Errorf("postgres: consume token: %w", storage.ErrConsumed)
}
