package harness

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/jackc/pgx/v5"
)

// A run works in a database of its own, made on the server of the DSN it is
// given and dropped afterwards. The servers keep in their database what
// every instance over it shares: the token keys, sealed with the run's
// secret, the limiters' counts, the clients. Another user of the same
// database, such as the example server's own tests, which run beside the
// harness's in `make test`, would otherwise meet keys sealed with a secret
// it does not have, or the other way round, and budgets already spent.

// ScratchDatabase creates an empty database on the server of dsn, which
// must be local (CheckLocalDSN), and returns the DSN of the new database
// and a function that drops it. The role of dsn must be allowed to create
// databases, as the one of scripts/with-postgres.sh is.
func ScratchDatabase(ctx context.Context, dsn string) (scratch string, drop func(context.Context) error, err error) {
	if err := CheckLocalDSN(dsn); err != nil {
		return "", nil, err
	}
	name := "grantor_cluster_" + strings.ToLower(rand.Text()[:10])
	ident := pgx.Identifier{name}.Sanitize()
	exec := func(ctx context.Context, sql string) error {
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			return err // pgx leaves the password out of its errors
		}
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, sql)
		return err
	}
	if err := exec(ctx, "CREATE DATABASE "+ident); err != nil {
		return "", nil, fmt.Errorf("harness: creating the run's database %s: %w", name, err)
	}
	drop = func(ctx context.Context) error {
		// FORCE ends the connections a killed server may have left.
		if err := exec(ctx, "DROP DATABASE IF EXISTS "+ident+" WITH (FORCE)"); err != nil {
			return fmt.Errorf("harness: dropping the run's database %s: %w", name, err)
		}
		return nil
	}
	if scratch, err = withDatabase(dsn, name); err != nil {
		return "", nil, errors.Join(err, drop(ctx))
	}
	return scratch, drop, nil
}

// withDatabase returns dsn naming database name instead of its own: in a
// URL, the path; in the keyword/value form, a dbname added last, which
// wins over an earlier one.
func withDatabase(dsn, name string) (string, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "", errors.New("harness: the PostgreSQL DSN does not parse")
		}
		u.Path, u.RawPath = "/"+name, ""
		return u.String(), nil
	}
	return strings.TrimSpace(dsn) + " dbname=" + name, nil
}
