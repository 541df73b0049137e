package harness

import (
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The servers of a run get the run's own database, on the server and as
// the user of the DSN given.
func TestWithDatabase(t *testing.T) {
	for _, tc := range []struct{ name, dsn string }{
		{"a URL, as scripts/with-postgres.sh gives", "postgres:///grantor?host=/tmp/grantor-pg.x&user=postgres"},
		{"a URL with a host and a password", "postgresql://grantor:pw@127.0.0.1:5432/grantor?sslmode=disable"},
		{"a URL without a database", "postgres://grantor@127.0.0.1:5432"},
		{"keywords", "host=/tmp/pg user=grantor dbname=grantor"},
		{"keywords without a database", "host=/tmp/pg user=grantor"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			orig, err := pgconn.ParseConfig(tc.dsn)
			require.NoError(t, err)
			dsn, err := withDatabase(tc.dsn, "grantor_cluster_x")
			require.NoError(t, err)
			got, err := pgconn.ParseConfig(dsn)
			require.NoError(t, err)
			assert.Equal(t, "grantor_cluster_x", got.Database)
			assert.Equal(t, orig.Host, got.Host)
			assert.Equal(t, orig.Port, got.Port)
			assert.Equal(t, orig.User, got.User)
			assert.Equal(t, orig.Password, got.Password)
			assert.Equal(t, orig.RuntimeParams, got.RuntimeParams)
		})
	}
}
