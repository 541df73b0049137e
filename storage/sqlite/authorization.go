package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/grantor-dev/grantor/storage"
)

// The records of the authorization code flow (interactions, authorization
// codes, pushed requests) share their shape of rules: create once (an
// existing key is storage.ErrDuplicate), read any number of times, use
// once with a compare-and-set of one column (useOnce).

// create runs an INSERT of a new record, mapping a key conflict to
// storage.ErrDuplicate.
func (s *Store) create(ctx context.Context, query string, args ...any) error {
	_, err := s.exec(ctx, query, args...)
	if isDuplicate(err) {
		return storage.ErrDuplicate
	}
	return err
}

// getOne reads one record with scan, mapping no row to
// storage.ErrNotFound.
func getOne[R any](ctx context.Context, s *Store, scan func(scanner) (*R, error), query, key string) (*R, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	row, err := s.queryRow(ctx, query, key)
	if err != nil {
		return nil, err
	}
	r, err := scan(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, storage.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	return r, nil
}

// Interactions.

const interactionColumns = "key, request, browser_binding, created_at, expires_at, completed_at, device_authorization_key"

func scanInteraction(row scanner) (*storage.Interaction, error) {
	var (
		i                          storage.Interaction
		req                        string
		created, expires, complete sql.NullInt64
	)
	if err := row.Scan(&i.Key, &req, &i.BrowserBinding, &created, &expires, &complete, &i.DeviceAuthorizationKey); err != nil {
		return nil, err
	}
	var err error
	if i.Request, err = requestVal(req); err != nil {
		return nil, err
	}
	i.CreatedAt, i.ExpiresAt, i.CompletedAt = timeVal(created), timeVal(expires), timeVal(complete)
	return &i, nil
}

// CreateInteraction implements [storage.InteractionStore]. A nil record or
// an empty Key is an error; an existing Key is [storage.ErrDuplicate]. A
// CompletedAt set at creation is kept, and so is DeviceAuthorizationKey,
// the device authorization the interaction verifies (RFC 8628 §3.3).
//
// A record larger than [storage.MaxRecordBytes], or with a key longer than
// [storage.MaxKeyBytes], is refused with an error wrapping
// [storage.ErrTooLarge], and a string of invalid UTF-8 in a list or the
// request with an error naming the field (see the package documentation).
// Nothing is stored then.
func (s *Store) CreateInteraction(ctx context.Context, i *storage.Interaction) error {
	if err := ctx.Err(); err != nil {
		return wrap("create interaction", err)
	}
	if i == nil {
		return errors.New("sqlite: create interaction: nil interaction")
	}
	if i.Key == "" {
		return errors.New("sqlite: create interaction: empty key")
	}
	if err := storage.CheckSize("interaction", i.Size(), nil, i.Key); err != nil {
		return wrap("create interaction", err)
	}
	req, err := requestArg(&i.Request)
	if err != nil {
		return wrap("create interaction", err)
	}
	return wrap("create interaction", s.create(ctx,
		"INSERT INTO interactions ("+interactionColumns+") VALUES (?, ?, ?, ?, ?, ?, ?)",
		i.Key, req, i.BrowserBinding, timeArg(i.CreatedAt), timeArg(i.ExpiresAt), timeArg(i.CompletedAt),
		i.DeviceAuthorizationKey))
}

// Interaction implements [storage.InteractionStore]. It returns a new copy
// of the interaction, completed or not, or [storage.ErrNotFound]. An
// expired interaction is returned until [Store.DeleteExpired] deletes it:
// checking ExpiresAt is the caller's job.
func (s *Store) Interaction(ctx context.Context, key string) (*storage.Interaction, error) {
	i, err := s.interaction(ctx, key)
	return i, wrap("interaction", err)
}

func (s *Store) interaction(ctx context.Context, key string) (*storage.Interaction, error) {
	return getOne(ctx, s, scanInteraction, "SELECT "+interactionColumns+" FROM interactions WHERE key = ?", key)
}

// CompleteInteraction implements [storage.InteractionStore] as one
// conditional statement (UPDATE ... WHERE completed_at IS NULL RETURNING),
// so of many concurrent calls for one key exactly one returns a nil error.
// The others get the interaction, with the winner's CompletedAt, and
// [storage.ErrConsumed]. A zero at is replaced by the store clock's now. An
// unknown key is [storage.ErrNotFound]. The interaction is completed
// whatever its expiry; checking it is the caller's job.
func (s *Store) CompleteInteraction(ctx context.Context, key string, at time.Time) (*storage.Interaction, error) {
	if err := ctx.Err(); err != nil {
		return nil, wrap("complete interaction", err)
	}
	i, err := useOnce(ctx, s, key,
		"UPDATE interactions SET completed_at = ? WHERE key = ? AND completed_at IS NULL RETURNING "+interactionColumns,
		timeArg(s.clock(at)), scanInteraction, s.interaction,
		func(i *storage.Interaction) time.Time { return i.CompletedAt })
	return i, wrap("complete interaction", err)
}

// Authorization codes.

const codeColumns = "key, grant_id, request, subject, scopes, auth_time, claims, extensions, issued_at, expires_at, consumed_at"

func scanCode(row scanner) (*storage.AuthorizationCode, error) {
	var (
		c                                 storage.AuthorizationCode
		req                               string
		scopes, claims, extensions        sql.NullString
		authTime, issued, expires, consum sql.NullInt64
	)
	if err := row.Scan(&c.Key, &c.GrantID, &req, &c.Subject, &scopes, &authTime, &claims, &extensions,
		&issued, &expires, &consum); err != nil {
		return nil, err
	}
	var err error
	if c.Request, err = requestVal(req); err != nil {
		return nil, err
	}
	if c.Scopes, err = listVal(scopes); err != nil {
		return nil, err
	}
	if c.Claims, err = claimsVal(claims); err != nil {
		return nil, err
	}
	if c.Extensions, err = stringMapVal(extensions); err != nil {
		return nil, err
	}
	c.AuthTime, c.IssuedAt, c.ExpiresAt, c.ConsumedAt = timeVal(authTime), timeVal(issued), timeVal(expires), timeVal(consum)
	return &c, nil
}

// CreateAuthorizationCode implements [storage.AuthorizationCodeStore]
// (RFC 6749 §4.1.2). It stores the record, Claims and Extensions included. A nil record or
// an empty Key is an error; an existing Key is [storage.ErrDuplicate]. A
// ConsumedAt set at creation is kept.
//
// A record larger than [storage.MaxRecordBytes], or with a key longer than
// [storage.MaxKeyBytes], is refused with an error wrapping
// [storage.ErrTooLarge], and a string of invalid UTF-8 in a list, the
// request or Extensions with an error naming the field (see the package
// documentation). Nothing is stored then.
func (s *Store) CreateAuthorizationCode(ctx context.Context, c *storage.AuthorizationCode) error {
	if err := ctx.Err(); err != nil {
		return wrap("create authorization code", err)
	}
	if c == nil {
		return errors.New("sqlite: create authorization code: nil code")
	}
	if c.Key == "" {
		return errors.New("sqlite: create authorization code: empty key")
	}
	n, err := c.Size()
	if err := storage.CheckSize("authorization code", n, err, c.Key, c.GrantID); err != nil {
		return wrap("create authorization code", err)
	}
	req, err := requestArg(&c.Request)
	if err != nil {
		return wrap("create authorization code", err)
	}
	scopes, err := listArg("Scopes", c.Scopes)
	if err != nil {
		return wrap("create authorization code", err)
	}
	claims, err := claimsArg(c.Claims)
	if err != nil {
		return wrap("create authorization code", err)
	}
	extensions, err := stringMapArg("Extensions", c.Extensions)
	if err != nil {
		return wrap("create authorization code", err)
	}
	return wrap("create authorization code", s.create(ctx,
		"INSERT INTO authorization_codes ("+codeColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		c.Key, c.GrantID, req, c.Subject, scopes, timeArg(c.AuthTime), claims, extensions,
		timeArg(c.IssuedAt), timeArg(c.ExpiresAt), timeArg(c.ConsumedAt)))
}

// AuthorizationCode implements [storage.AuthorizationCodeStore]. It returns
// a new copy of the code record, redeemed or not, or [storage.ErrNotFound].
// An expired record is returned until [Store.DeleteExpired] deletes it.
func (s *Store) AuthorizationCode(ctx context.Context, key string) (*storage.AuthorizationCode, error) {
	c, err := s.code(ctx, key)
	return c, wrap("authorization code", err)
}

func (s *Store) code(ctx context.Context, key string) (*storage.AuthorizationCode, error) {
	return getOne(ctx, s, scanCode, "SELECT "+codeColumns+" FROM authorization_codes WHERE key = ?", key)
}

// ConsumeAuthorizationCode implements [storage.AuthorizationCodeStore], the
// use-once step of code redemption (RFC 6749 §4.1.2, §10.5), as one
// conditional statement: of many concurrent calls for one key, in this
// process or another, exactly one returns a nil error; the others get the
// record with the winner's ConsumedAt and [storage.ErrConsumed]. A zero at
// is replaced by the store clock's now. An unknown key is
// [storage.ErrNotFound].
func (s *Store) ConsumeAuthorizationCode(ctx context.Context, key string, at time.Time) (*storage.AuthorizationCode, error) {
	if err := ctx.Err(); err != nil {
		return nil, wrap("consume authorization code", err)
	}
	c, err := useOnce(ctx, s, key,
		"UPDATE authorization_codes SET consumed_at = ? WHERE key = ? AND consumed_at IS NULL RETURNING "+codeColumns,
		timeArg(s.clock(at)), scanCode, s.code,
		func(c *storage.AuthorizationCode) time.Time { return c.ConsumedAt })
	return c, wrap("consume authorization code", err)
}

// Pushed authorization requests.

const pushedColumns = "key, request, created_at, expires_at, consumed_at"

func scanPushed(row scanner) (*storage.PushedRequest, error) {
	var (
		r                        storage.PushedRequest
		req                      string
		created, expires, consum sql.NullInt64
	)
	if err := row.Scan(&r.Key, &req, &created, &expires, &consum); err != nil {
		return nil, err
	}
	var err error
	if r.Request, err = requestVal(req); err != nil {
		return nil, err
	}
	r.CreatedAt, r.ExpiresAt, r.ConsumedAt = timeVal(created), timeVal(expires), timeVal(consum)
	return &r, nil
}

// CreatePushedRequest implements [storage.PushedRequestStore] (RFC 9126
// §2.2). A nil record or an empty Key is an error; an existing Key is
// [storage.ErrDuplicate]. A ConsumedAt set at creation is kept.
//
// A record larger than [storage.MaxRecordBytes], or with a key longer than
// [storage.MaxKeyBytes], is refused with an error wrapping
// [storage.ErrTooLarge], and a string of invalid UTF-8 in a list or the
// request with an error naming the field (see the package documentation).
// Nothing is stored then.
func (s *Store) CreatePushedRequest(ctx context.Context, r *storage.PushedRequest) error {
	if err := ctx.Err(); err != nil {
		return wrap("create pushed request", err)
	}
	if r == nil {
		return errors.New("sqlite: create pushed request: nil pushed request")
	}
	if r.Key == "" {
		return errors.New("sqlite: create pushed request: empty key")
	}
	if err := storage.CheckSize("pushed request", r.Size(), nil, r.Key); err != nil {
		return wrap("create pushed request", err)
	}
	req, err := requestArg(&r.Request)
	if err != nil {
		return wrap("create pushed request", err)
	}
	return wrap("create pushed request", s.create(ctx,
		"INSERT INTO pushed_requests ("+pushedColumns+") VALUES (?, ?, ?, ?, ?)",
		r.Key, req, timeArg(r.CreatedAt), timeArg(r.ExpiresAt), timeArg(r.ConsumedAt)))
}

// PushedRequest implements [storage.PushedRequestStore]. It returns a new
// copy of the pushed request, used or not, or [storage.ErrNotFound]. An
// expired record is returned until [Store.DeleteExpired] deletes it.
func (s *Store) PushedRequest(ctx context.Context, key string) (*storage.PushedRequest, error) {
	r, err := s.pushed(ctx, key)
	return r, wrap("pushed request", err)
}

func (s *Store) pushed(ctx context.Context, key string) (*storage.PushedRequest, error) {
	return getOne(ctx, s, scanPushed, "SELECT "+pushedColumns+" FROM pushed_requests WHERE key = ?", key)
}

// ConsumePushedRequest implements [storage.PushedRequestStore] (RFC 9126
// §4, single use) as one conditional statement: of many concurrent calls
// for one key exactly one returns a nil error; the others get the record
// with the winner's ConsumedAt and [storage.ErrConsumed]. A zero at is
// replaced by the store clock's now. An unknown key is
// [storage.ErrNotFound].
func (s *Store) ConsumePushedRequest(ctx context.Context, key string, at time.Time) (*storage.PushedRequest, error) {
	if err := ctx.Err(); err != nil {
		return nil, wrap("consume pushed request", err)
	}
	r, err := useOnce(ctx, s, key,
		"UPDATE pushed_requests SET consumed_at = ? WHERE key = ? AND consumed_at IS NULL RETURNING "+pushedColumns,
		timeArg(s.clock(at)), scanPushed, s.pushed,
		func(r *storage.PushedRequest) time.Time { return r.ConsumedAt })
	return r, wrap("consume pushed request", err)
}
