package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/grantor-dev/grantor/storage"
)

// tokenColumns are the columns of a token record: its key, then
// readColumns.
const tokenColumns = `key, ` + readColumns

// readColumns are the columns that scanToken reads: those of a record but
// its key, which a read knows already (the driver allocates for each
// column of a result).
const readColumns = `kind, grant_id, client_id, subject, scopes, audience, claims,
	issued_at, expires_at, grant_expires_at, access_token_lifetime_ns, refresh_token_lifetime_ns,
	key_thumbprint, extensions, consumed_at, revoked_at`

// scanToken reads a row of readColumns: a record without its Key, which
// the caller sets.
func scanToken(row scanner) (*storage.Token, error) {
	var (
		t                                       storage.Token
		kind                                    int64
		scopes, audience, claims, extensions    sql.NullString
		issued, expires, grantExp, cons, revoke sql.NullInt64
	)
	// The lifetimes are scanned as the int64 nanoseconds they are stored
	// as: into a *time.Duration, database/sql would take its slower path
	// of reflect conversions.
	if err := row.Scan(&kind, &t.GrantID, &t.ClientID, &t.Subject, &scopes, &audience, &claims,
		&issued, &expires, &grantExp, (*int64)(&t.AccessTokenLifetime), (*int64)(&t.RefreshTokenLifetime),
		&t.KeyThumbprint, &extensions, &cons, &revoke); err != nil {
		return nil, err
	}
	t.Kind = storage.TokenKind(kind)
	var err error
	if t.Scopes, err = listVal(scopes); err != nil {
		return nil, err
	}
	if t.Audience, err = listVal(audience); err != nil {
		return nil, err
	}
	if t.Claims, err = claimsVal(claims); err != nil {
		return nil, err
	}
	if t.Extensions, err = stringMapVal(extensions); err != nil {
		return nil, err
	}
	t.IssuedAt = timeVal(issued)
	t.ExpiresAt = timeVal(expires)
	t.GrantExpiresAt = timeVal(grantExp)
	t.ConsumedAt = timeVal(cons)
	t.RevokedAt = timeVal(revoke)
	return &t, nil
}

// insertToken stores a token record, revoked if its grant is. Its last
// parameter is the grant ID again, or NULL for a record without one, which
// no revoked grant matches. The parameters are anonymous: the driver copies
// the name of each numbered one ("?3") on every execution.
const insertToken = `INSERT INTO tokens (` + tokenColumns + `)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,
	COALESCE(?, (SELECT revoked_at FROM revoked_grants WHERE grant_id = ?)))`

// CreateTokens implements [storage.TokenStore]. It stores the records in
// one transaction: if one of them is nil, has an empty Key, or has a Key
// that is already stored or repeated in the batch, nothing is stored. A
// duplicate key is [storage.ErrDuplicate]. A record for a revoked grant is
// stored with RevokedAt set to the grant's revocation time, unless it is
// already set.
//
// A record with an empty GrantID belongs to no grant: no RevokeGrant call
// reaches it.
//
// A record larger than [storage.MaxRecordBytes] (Claims counted as JSON),
// or with a Key or GrantID longer than [storage.MaxKeyBytes], is refused
// with an error wrapping [storage.ErrTooLarge], and a string of invalid
// UTF-8 in Scopes, Audience or Extensions with an error naming the field (see the
// package documentation). Nothing of the batch is stored then.
func (s *Store) CreateTokens(ctx context.Context, tokens ...*storage.Token) error {
	if err := ctx.Err(); err != nil {
		return wrap("create tokens", err)
	}
	args := make([][]any, len(tokens))
	for i, t := range tokens {
		if t == nil {
			return errors.New("sqlite: create tokens: nil token record")
		}
		if t.Key == "" {
			return errors.New("sqlite: create tokens: token record with an empty key")
		}
		n, err := t.Size()
		if err := storage.CheckSize("token record", n, err, t.Key, t.GrantID); err != nil {
			return wrap("create tokens", err)
		}
		scopes, err := listArg("Scopes", t.Scopes)
		if err != nil {
			return wrap("create tokens", err)
		}
		audience, err := listArg("Audience", t.Audience)
		if err != nil {
			return wrap("create tokens", err)
		}
		claims, err := claimsArg(t.Claims)
		if err != nil {
			return wrap("create tokens", err)
		}
		extensions, err := stringMapArg("Extensions", t.Extensions)
		if err != nil {
			return wrap("create tokens", err)
		}
		// The grant ID is boxed once and passed twice: to be stored, and
		// to look up its revocation, unless it is empty (no grant).
		grantID, revokedGrant := any(t.GrantID), any(nil)
		if t.GrantID != "" {
			revokedGrant = grantID
		}
		args[i] = []any{t.Key, int64(t.Kind), grantID, t.ClientID, t.Subject, scopes, audience, claims,
			timeArg(t.IssuedAt), timeArg(t.ExpiresAt), timeArg(t.GrantExpiresAt),
			int64(t.AccessTokenLifetime), int64(t.RefreshTokenLifetime), t.KeyThumbprint, extensions,
			timeArg(t.ConsumedAt), timeArg(t.RevokedAt), revokedGrant}
	}
	if len(tokens) == 0 {
		return nil
	}
	// Writes are serialised, so RevokeGrant commits either before this
	// transaction (its marker is read here) or after it (its UPDATE
	// reaches these rows): a new record of a revoked grant is never left
	// unrevoked.
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		prep, err := s.prepared(ctx, insertToken)
		if err != nil {
			return err
		}
		stmt := tx.StmtContext(ctx, prep)
		defer stmt.Close()
		for _, a := range args {
			if _, err := stmt.ExecContext(ctx, a...); err != nil {
				if isDuplicate(err) {
					return storage.ErrDuplicate
				}
				return err
			}
		}
		return nil
	})
	return wrap("create tokens", err)
}

// Token implements [storage.TokenStore]. It returns a new copy of the
// record, revoked or consumed or not, or [storage.ErrNotFound]. An expired
// record is returned until [Store.DeleteExpired] deletes it.
func (s *Store) Token(ctx context.Context, key string) (*storage.Token, error) {
	t, err := s.token(ctx, key)
	return t, wrap("token", err)
}

func (s *Store) token(ctx context.Context, key string) (*storage.Token, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	row, err := s.queryRow(ctx, "SELECT "+readColumns+" FROM tokens WHERE key = ?", key)
	if err != nil {
		return nil, err
	}
	t, err := scanToken(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, storage.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	t.Key = key
	return t, nil
}

// RevokeToken implements [storage.TokenStore] (RFC 7009 §2.1) with one
// conditional UPDATE. A record revoked already keeps its first RevokedAt.
// A zero at is replaced by the store clock's now. An unknown key is
// [storage.ErrNotFound].
func (s *Store) RevokeToken(ctx context.Context, key string, at time.Time) error {
	if err := ctx.Err(); err != nil {
		return wrap("revoke token", err)
	}
	res, err := s.exec(ctx, "UPDATE tokens SET revoked_at = COALESCE(revoked_at, ?) WHERE key = ?",
		timeArg(s.clock(at)), key)
	if err != nil {
		return wrap("revoke token", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return wrap("revoke token", err)
	}
	if n == 0 {
		return wrap("revoke token", storage.ErrNotFound)
	}
	return nil
}

// RevokeGrant implements [storage.TokenStore]: revoking a grant revokes
// every token issued from it (RFC 7009 §2.1, RFC 9700 §4.14.2). In one
// transaction it sets RevokedAt on every record of the grant that is not
// revoked yet (through an index on the grant ID) and records the grant in
// the table revoked_grants, so that records created for it later are stored
// revoked. The marker is kept while a record of the grant exists and at
// least [WithRevokedGrantRetention] after the revocation; a second
// revocation keeps the first time and may extend the retention. A zero at
// is replaced by the store clock's now. An empty grantID names no grant and
// does nothing.
func (s *Store) RevokeGrant(ctx context.Context, grantID string, at time.Time) error {
	if err := ctx.Err(); err != nil {
		return wrap("revoke grant", err)
	}
	if grantID == "" {
		return nil
	}
	now := s.now()
	if at.IsZero() {
		at = now
	}
	keepUntil := now
	if at.After(now) {
		keepUntil = at
	}
	keepUntil = keepUntil.Add(s.grantRetention)
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO revoked_grants (grant_id, revoked_at, keep_until)
VALUES (?, ?, ?)
ON CONFLICT (grant_id) DO UPDATE SET keep_until = MAX(keep_until, excluded.keep_until)`,
			grantID, at.UnixMicro(), keepUntil.UnixMicro()); err != nil {
			return fmt.Errorf("mark grant: %w", err)
		}
		if _, err := tx.ExecContext(ctx, "UPDATE tokens SET revoked_at = ? WHERE grant_id = ? AND revoked_at IS NULL",
			at.UnixMicro(), grantID); err != nil {
			return fmt.Errorf("revoke tokens: %w", err)
		}
		return nil
	})
	return wrap("revoke grant", err)
}

// ConsumeToken implements [storage.RefreshTokenStore], the use-once step
// of refresh token rotation (RFC 9700 §4.14.2), as one conditional
// statement: UPDATE ... SET consumed_at WHERE consumed_at IS NULL
// RETURNING the record. Of many concurrent calls for one key, in this
// process or another, exactly one changes the row and returns a nil error;
// the others read the record, with the winner's ConsumedAt, and return it
// with [storage.ErrConsumed]. A zero at is replaced by the store clock's
// now. An unknown key is [storage.ErrNotFound].
//
// The record is consumed whatever its kind, expiry or revocation; checking
// those is the caller's job, on the returned record.
func (s *Store) ConsumeToken(ctx context.Context, key string, at time.Time) (*storage.Token, error) {
	if err := ctx.Err(); err != nil {
		return nil, wrap("consume token", err)
	}
	t, err := useOnce(ctx, s, key,
		"UPDATE tokens SET consumed_at = ? WHERE key = ? AND consumed_at IS NULL RETURNING "+readColumns,
		timeArg(s.clock(at)), scanToken, s.token, func(t *storage.Token) time.Time { return t.ConsumedAt })
	if t != nil {
		t.Key = key
	}
	return t, wrap("consume token", err)
}

// useOnce runs the compare-and-set update, which returns the record when
// it wins; when it changes nothing, get reads the record to return it with
// storage.ErrConsumed (or storage.ErrNotFound if there is none).
func useOnce[R any](ctx context.Context, s *Store, key, update string, at any,
	scan func(scanner) (*R, error), get func(context.Context, string) (*R, error), usedAt func(*R) time.Time,
) (*R, error) {
	unlock, err := s.lockWrite(ctx)
	if err != nil {
		return nil, err
	}
	row, err := s.queryRow(ctx, update, at, key)
	if err != nil {
		unlock()
		return nil, err
	}
	r, err := scan(row)
	unlock()
	switch {
	case err == nil:
		return r, nil
	case !errors.Is(err, sql.ErrNoRows):
		return nil, err
	}
	r, err = get(ctx, key)
	if err != nil {
		return nil, err
	}
	if usedAt(r).IsZero() {
		// Created after the update looked for it: the use came first.
		return nil, storage.ErrNotFound
	}
	return r, storage.ErrConsumed
}
