package harness

import (
	"bytes"
	"context"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testDSN returns the PostgreSQL database of GRANTOR_TEST_POSTGRES, which
// the test needs unless GRANTOR_SKIP_POSTGRES is 1.
func testDSN(t *testing.T) string {
	t.Helper()
	dsn := os.Getenv("GRANTOR_TEST_POSTGRES")
	if dsn == "" {
		if os.Getenv("GRANTOR_SKIP_POSTGRES") == "1" {
			t.Skip("GRANTOR_SKIP_POSTGRES=1: skipping the PostgreSQL test as asked")
		}
		t.Fatal("GRANTOR_TEST_POSTGRES is not set: run the tests with ../../scripts/with-postgres.sh " +
			"(`make test` does), or skip them explicitly with GRANTOR_SKIP_POSTGRES=1")
	}
	return dsn
}

// The crash scenario of `make cluster-test`, shortened: two instances over
// one database, one killed with SIGKILL mid-load and restarted. Nothing the
// load received may be lost, nothing used may be used again, and the
// survivor answers no 5xx.
func TestCrashLosesNothing(t *testing.T) {
	dsn := testDSN(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out bytes.Buffer
	res, err := Crash(ctx, CrashConfig{DSN: dsn, Dir: t.TempDir(), Duration: 10 * time.Second, Tokens: "opaque", Out: &out,
		Load: LoadConfig{Workers: 4, Rate: 100, Route: Balanced}})
	t.Log("\n" + out.String())
	require.NoError(t, err)
	for _, f := range mix {
		assert.Positive(t, res.Flows[f.name], "the load runs every flow: %s", f.name)
	}
	require.Len(t, res.Checks, 5)
	for _, c := range res.Checks {
		assert.True(t, c.Pass, "%s: %s", c.Name, c.Detail)
	}
	assert.True(t, res.Passed())
}
