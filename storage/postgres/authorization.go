package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/grantor-dev/grantor/storage"
)

// The records of the authorization code flow (interactions, authorization
// codes, pushed requests) share one implementation, onceTable: create,
// read, and a compare-and-set of the record's used time (completed_at or
// consumed_at) in one conditional UPDATE.

// onceTable describes the table of a kind of use-once record.
type onceTable[R any] struct {
	what    string // for error messages: "interaction"
	key     func(r *R) string
	args    func(r *R) ([]any, error) // values of the columns, in order
	scan    func(row pgx.Row) (*R, error)
	insert  string // SQL: stores a record
	selectq string // SQL: reads the record under $1
	use     string // SQL: sets the used time to $2 if unset, RETURNING the record
}

// newOnceTable returns the description of table, whose columns are listed
// key first, and whose used time is the column used.
func newOnceTable[R any](what, table string, columns []string, used string,
	key func(*R) string, args func(*R) ([]any, error), scan func(pgx.Row) (*R, error)) onceTable[R] {
	cols := strings.Join(columns, ", ")
	params := make([]string, len(columns))
	for i := range params {
		params[i] = "$" + strconv.Itoa(i+1)
	}
	return onceTable[R]{
		what: what, key: key, args: args, scan: scan,
		insert:  "INSERT INTO " + table + " (" + cols + ") VALUES (" + strings.Join(params, ", ") + ")",
		selectq: "SELECT " + cols + " FROM " + table + " WHERE key = $1",
		use: "UPDATE " + table + " SET " + used + " = $2 WHERE key = $1 AND " + used + " IS NULL RETURNING " +
			cols,
	}
}

// create stores r; an existing key is storage.ErrDuplicate.
func (t *onceTable[R]) create(ctx context.Context, s *Store, r *R) error {
	op := "create " + t.what
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("postgres: %s: %w", op, err)
	}
	if r == nil {
		return fmt.Errorf("postgres: %s: nil record", op)
	}
	if t.key(r) == "" {
		return fmt.Errorf("postgres: %s: empty key", op)
	}
	args, err := t.args(r)
	if err != nil {
		return fmt.Errorf("postgres: %s: %w", op, err)
	}
	err = s.retry(ctx, func() error {
		_, err := s.pool.Exec(ctx, t.insert, args...)
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

// get returns the record under key, used or not, or storage.ErrNotFound.
func (t *onceTable[R]) get(ctx context.Context, s *Store, key string) (*R, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("postgres: %s: %w", t.what, err)
	}
	if !isText(key) {
		return nil, fmt.Errorf("postgres: %s: %w", t.what, storage.ErrNotFound)
	}
	var r *R
	err := s.retry(ctx, func() (err error) {
		r, err = t.scan(s.pool.QueryRow(ctx, t.selectq, key))
		return err
	})
	switch {
	case err == nil:
		return r, nil
	case errors.Is(err, pgx.ErrNoRows):
		return nil, fmt.Errorf("postgres: %s: %w", t.what, storage.ErrNotFound)
	default:
		return nil, fail(ctx, t.what, err)
	}
}

// useOnce sets the record's used time to at unless it is set already, and
// returns the record; a record used before comes back with its first time
// and storage.ErrConsumed.
func (t *onceTable[R]) useOnce(ctx context.Context, s *Store, op, key string, at time.Time) (*R, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("postgres: %s: %w", op, err)
	}
	if !isText(key) {
		return nil, fmt.Errorf("postgres: %s: %w", op, storage.ErrNotFound)
	}
	at = s.orNow(at)
	var r *R
	err := s.retry(ctx, func() (err error) {
		r, err = t.scan(s.pool.QueryRow(ctx, t.use, key, at))
		return err
	})
	if err == nil {
		return r, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return nil, fail(ctx, op, err)
	}
	// Used already, or unknown.
	r, err = t.get(ctx, s, key)
	if err != nil {
		return nil, fmt.Errorf("postgres: %s: %w", op, errors.Unwrap(err))
	}
	return r, fmt.Errorf("postgres: %s: %w", op, storage.ErrConsumed)
}

// requestColumns are the columns of a storage.AuthorizationRequest, in the
// order of requestArgs and requestDest.
var requestColumns = []string{
	"req_client_id", "req_redirect_uri", "req_redirect_uri_given", "req_response_mode", "req_state",
	"req_scopes", "req_resources", "req_code_challenge", "req_code_challenge_method", "req_prompt",
	"req_pushed_key", "req_dpop_jkt", "req_response_type", "req_parameters",
}

// requestArgs returns the values of requestColumns for r, whose strings
// checkRequest has checked.
func requestArgs(r *storage.AuthorizationRequest) ([]any, error) {
	params, err := stringMapArg("Request.Parameters", r.Parameters)
	if err != nil {
		return nil, err
	}
	return []any{r.ClientID, r.RedirectURI, r.RedirectURIGiven, r.ResponseMode, r.State,
		r.Scopes, r.Resources, r.CodeChallenge, r.CodeChallengeMethod, r.Prompt, r.PushedKey, r.DPoPKeyThumbprint,
		r.ResponseType, params}, nil
}

func requestDest(r *storage.AuthorizationRequest) []any {
	return []any{&r.ClientID, &r.RedirectURI, &r.RedirectURIGiven, &r.ResponseMode, &r.State,
		&r.Scopes, &r.Resources, &r.CodeChallenge, &r.CodeChallengeMethod, &r.Prompt, &r.PushedKey, &r.DPoPKeyThumbprint,
		&r.ResponseType, &r.Parameters}
}

// withRequest returns key, then the values of requestColumns for r.
func withRequest(key string, r *storage.AuthorizationRequest) ([]any, error) {
	req, err := requestArgs(r)
	if err != nil {
		return nil, err
	}
	return append([]any{key}, req...), nil
}

// checkOnce returns an error naming the first field of a record that
// cannot be stored in a text column: its key, its request, then the
// fields given as name, value pairs.
func checkOnce(key string, r *storage.AuthorizationRequest, more ...string) error {
	if err := checkText("Key", key); err != nil {
		return err
	}
	if err := checkRequest(r); err != nil {
		return err
	}
	for i := 0; i+1 < len(more); i += 2 {
		if err := checkText(more[i], more[i+1]); err != nil {
			return err
		}
	}
	return nil
}

// columns returns the columns key, then the request's, then more.
func columns(more ...string) []string {
	return append(append([]string{"key"}, requestColumns...), more...)
}

var interactions = newOnceTable("interaction", "interactions",
	columns("browser_binding", "created_at", "expires_at", "completed_at", "device_authorization_key"), "completed_at",
	func(i *storage.Interaction) string { return i.Key },
	func(i *storage.Interaction) ([]any, error) {
		if err := storage.CheckSize("interaction", i.Size(), nil, i.Key); err != nil {
			return nil, err
		}
		if err := checkOnce(i.Key, &i.Request, "BrowserBinding", i.BrowserBinding,
			"DeviceAuthorizationKey", i.DeviceAuthorizationKey); err != nil {
			return nil, err
		}
		args, err := withRequest(i.Key, &i.Request)
		if err != nil {
			return nil, err
		}
		return append(args, i.BrowserBinding, i.CreatedAt, i.ExpiresAt, timeArg(i.CompletedAt),
			i.DeviceAuthorizationKey), nil
	},
	func(row pgx.Row) (*storage.Interaction, error) {
		var i storage.Interaction
		dest := append([]any{&i.Key}, requestDest(&i.Request)...)
		dest = append(dest, &i.BrowserBinding,
			timeDest{&i.CreatedAt}, timeDest{&i.ExpiresAt}, timeDest{&i.CompletedAt}, &i.DeviceAuthorizationKey)
		if err := row.Scan(dest...); err != nil {
			return nil, err
		}
		return &i, nil
	})

var authorizationCodes = newOnceTable("authorization code", "authorization_codes",
	append(columns("subject", "scopes", "auth_time", "claims", "issued_at", "expires_at", "consumed_at"),
		"grant_id", "extensions"), "consumed_at",
	func(c *storage.AuthorizationCode) string { return c.Key },
	func(c *storage.AuthorizationCode) ([]any, error) {
		n, err := c.Size()
		if err := storage.CheckSize("authorization code", n, err, c.Key, c.GrantID); err != nil {
			return nil, err
		}
		if err := checkOnce(c.Key, &c.Request, "GrantID", c.GrantID, "Subject", c.Subject); err != nil {
			return nil, err
		}
		if err := checkText("Scopes", c.Scopes...); err != nil {
			return nil, err
		}
		claims, err := claimsArg(c.Claims)
		if err != nil {
			return nil, err
		}
		extensions, err := stringMapArg("Extensions", c.Extensions)
		if err != nil {
			return nil, err
		}
		args, err := withRequest(c.Key, &c.Request)
		if err != nil {
			return nil, err
		}
		return append(args, c.Subject, c.Scopes, timeArg(c.AuthTime), claims,
			c.IssuedAt, c.ExpiresAt, timeArg(c.ConsumedAt), c.GrantID, extensions), nil
	},
	func(row pgx.Row) (*storage.AuthorizationCode, error) {
		var c storage.AuthorizationCode
		dest := append([]any{&c.Key}, requestDest(&c.Request)...)
		dest = append(dest, &c.Subject, &c.Scopes, timeDest{&c.AuthTime}, &c.Claims,
			timeDest{&c.IssuedAt}, timeDest{&c.ExpiresAt}, timeDest{&c.ConsumedAt}, &c.GrantID, &c.Extensions)
		if err := row.Scan(dest...); err != nil {
			return nil, err
		}
		return &c, nil
	})

var pushedRequests = newOnceTable("pushed request", "pushed_requests",
	columns("created_at", "expires_at", "consumed_at"), "consumed_at",
	func(r *storage.PushedRequest) string { return r.Key },
	func(r *storage.PushedRequest) ([]any, error) {
		if err := storage.CheckSize("pushed request", r.Size(), nil, r.Key); err != nil {
			return nil, err
		}
		if err := checkOnce(r.Key, &r.Request); err != nil {
			return nil, err
		}
		args, err := withRequest(r.Key, &r.Request)
		if err != nil {
			return nil, err
		}
		return append(args, r.CreatedAt, r.ExpiresAt, timeArg(r.ConsumedAt)), nil
	},
	func(row pgx.Row) (*storage.PushedRequest, error) {
		var r storage.PushedRequest
		dest := append([]any{&r.Key}, requestDest(&r.Request)...)
		dest = append(dest, timeDest{&r.CreatedAt}, timeDest{&r.ExpiresAt}, timeDest{&r.ConsumedAt})
		if err := row.Scan(dest...); err != nil {
			return nil, err
		}
		return &r, nil
	})

// CreateInteraction implements [storage.InteractionStore]. A nil record or
// an empty Key is an error; an existing Key is [storage.ErrDuplicate]. A
// CompletedAt set at creation is kept.
//
// A record larger than [storage.MaxRecordBytes], or with a key longer than
// [storage.MaxKeyBytes], is refused with an error wrapping
// [storage.ErrTooLarge], and one with a string that PostgreSQL cannot
// store (a NUL byte, invalid UTF-8; see the package documentation) with an
// error naming the field. Nothing is stored then.
func (s *Store) CreateInteraction(ctx context.Context, i *storage.Interaction) error {
	return interactions.create(ctx, s, i)
}

// Interaction implements [storage.InteractionStore]. It returns the
// interaction, completed or not, or [storage.ErrNotFound]. An expired
// interaction is returned until [Store.DeleteExpired] deletes it: checking
// ExpiresAt is the caller's job.
func (s *Store) Interaction(ctx context.Context, key string) (*storage.Interaction, error) {
	return interactions.get(ctx, s, key)
}

// CompleteInteraction implements [storage.InteractionStore]: one conditional
// UPDATE sets CompletedAt only where it is not set, so of many concurrent
// calls for one key exactly one returns a nil error. The others get the
// interaction, with the winner's CompletedAt, and [storage.ErrConsumed]. A
// zero at is replaced by the store clock's now. An unknown key is
// [storage.ErrNotFound]. The interaction is completed whatever its expiry;
// checking it is the caller's job.
func (s *Store) CompleteInteraction(ctx context.Context, key string, at time.Time) (*storage.Interaction, error) {
	return interactions.useOnce(ctx, s, "complete interaction", key, at)
}

// CreateAuthorizationCode implements [storage.AuthorizationCodeStore]. A nil
// record or an empty Key is an error; an existing Key is
// [storage.ErrDuplicate]. A ConsumedAt set at creation is kept. Claims and
// Extensions are stored as jsonb (see [Store.CreateTokens]).
//
// A record larger than [storage.MaxRecordBytes], or with a key longer than
// [storage.MaxKeyBytes], is refused with an error wrapping
// [storage.ErrTooLarge], and one with a string that PostgreSQL cannot
// store (a NUL byte, invalid UTF-8; see the package documentation) with an
// error naming the field. Nothing is stored then.
func (s *Store) CreateAuthorizationCode(ctx context.Context, c *storage.AuthorizationCode) error {
	return authorizationCodes.create(ctx, s, c)
}

// AuthorizationCode implements [storage.AuthorizationCodeStore]. It returns
// the code record, redeemed or not, or [storage.ErrNotFound]. An expired
// record is returned until [Store.DeleteExpired] deletes it.
func (s *Store) AuthorizationCode(ctx context.Context, key string) (*storage.AuthorizationCode, error) {
	return authorizationCodes.get(ctx, s, key)
}

// ConsumeAuthorizationCode implements [storage.AuthorizationCodeStore], the
// use-once step of code redemption (RFC 6749 §4.1.2, §10.5): one conditional
// UPDATE, so of many concurrent calls for one key, through one Store or
// several over the database, exactly one returns a nil error; the others
// get the record with the winner's ConsumedAt and [storage.ErrConsumed]. A
// zero at is replaced by the store clock's now. An unknown key is
// [storage.ErrNotFound].
func (s *Store) ConsumeAuthorizationCode(ctx context.Context, key string, at time.Time) (*storage.AuthorizationCode, error) {
	return authorizationCodes.useOnce(ctx, s, "consume authorization code", key, at)
}

// CreatePushedRequest implements [storage.PushedRequestStore]. A nil record
// or an empty Key is an error; an existing Key is [storage.ErrDuplicate]. A
// ConsumedAt set at creation is kept.
//
// A record larger than [storage.MaxRecordBytes], or with a key longer than
// [storage.MaxKeyBytes], is refused with an error wrapping
// [storage.ErrTooLarge], and one with a string that PostgreSQL cannot
// store (a NUL byte, invalid UTF-8; see the package documentation) with an
// error naming the field. Nothing is stored then.
func (s *Store) CreatePushedRequest(ctx context.Context, r *storage.PushedRequest) error {
	return pushedRequests.create(ctx, s, r)
}

// PushedRequest implements [storage.PushedRequestStore]. It returns the
// pushed request, used or not, or [storage.ErrNotFound]. An expired record is
// returned until [Store.DeleteExpired] deletes it.
func (s *Store) PushedRequest(ctx context.Context, key string) (*storage.PushedRequest, error) {
	return pushedRequests.get(ctx, s, key)
}

// ConsumePushedRequest implements [storage.PushedRequestStore] (RFC 9126 §4,
// single use): one conditional UPDATE, so of many concurrent calls for one
// key exactly one returns a nil error; the others get the record with the
// winner's ConsumedAt and [storage.ErrConsumed]. A zero at is replaced by
// the store clock's now. An unknown key is [storage.ErrNotFound].
func (s *Store) ConsumePushedRequest(ctx context.Context, key string, at time.Time) (*storage.PushedRequest, error) {
	return pushedRequests.useOnce(ctx, s, "consume pushed request", key, at)
}
