package postgres_test

import (
	"context"
	"crypto/rand"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/storage"
	"github.com/grantor-dev/grantor/storage/postgres"
)

// queryCounter is a pgx tracer that counts the statements sent to the
// server, those of batches included, and the round trips: a batch is one.
type queryCounter struct{ n, trips atomic.Int64 }

func (c *queryCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	c.n.Add(1)
	c.trips.Add(1)
	return ctx
}

func (c *queryCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (c *queryCounter) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	c.trips.Add(1)
	return ctx
}

func (c *queryCounter) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {
	c.n.Add(1)
}

func (c *queryCounter) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

// benchStore returns a store over a new schema, and the counter of the
// statements its pool sends.
func benchStore(b *testing.B) (*postgres.Store, *queryCounter) {
	b.Helper()
	ts := newTestServer(b)
	cfg := ts.newSchema(b)
	qc := &queryCounter{}
	cfg.ConnConfig.Tracer = qc
	pool := newPool(b, cfg)
	require.NoError(b, postgres.Migrate(b.Context(), pool))
	return postgres.New(pool), qc
}

// tokenPair returns an access and a refresh token record of a grant, as
// one token response writes them.
func tokenPair(grantID string, now time.Time) []*storage.Token {
	return []*storage.Token{
		{Key: rand.Text(), Kind: storage.AccessToken, GrantID: grantID, ClientID: "client-a", Subject: "user-1",
			Scopes: []string{"openid", "profile"}, Audience: []string{"https://api.example"},
			IssuedAt: now, ExpiresAt: now.Add(time.Hour)},
		{Key: rand.Text(), Kind: storage.RefreshToken, GrantID: grantID, ClientID: "client-a", Subject: "user-1",
			Scopes: []string{"openid", "profile", "offline_access"}, Audience: []string{"https://api.example"},
			Claims:   map[string]any{"tenant": "acme"},
			IssuedAt: now, ExpiresAt: now.Add(24 * time.Hour)},
	}
}

// prepare stores n records with create, before the timer runs.
func prepare(b *testing.B, n int, create func(i int) error) {
	b.Helper()
	for i := range n {
		require.NoError(b, create(i))
	}
}

// measure runs op b.N times and reports, besides the defaults, the
// operations per second, the statements per operation and the round trips
// per operation.
func measure(b *testing.B, qc *queryCounter, op func(i int) error) {
	b.Helper()
	b.ReportAllocs()
	q0, t0 := qc.n.Load(), qc.trips.Load()
	start := time.Now()
	b.ResetTimer()
	for i := range b.N {
		if err := op(i); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "ops/s")
	b.ReportMetric(float64(qc.n.Load()-q0)/float64(b.N), "queries/op")
	b.ReportMetric(float64(qc.trips.Load()-t0)/float64(b.N), "roundtrips/op")
}

// BenchmarkConsumeToken measures the use-once step of a refresh: one
// conditional UPDATE.
func BenchmarkConsumeToken(b *testing.B) {
	s, qc := benchStore(b)
	ctx := b.Context()
	now := time.Now().UTC()
	keys := make([]string, b.N)
	prepare(b, b.N, func(i int) error {
		pair := tokenPair(rand.Text(), now)
		keys[i] = pair[1].Key
		return s.CreateTokens(ctx, pair...)
	})
	measure(b, qc, func(i int) error {
		_, err := s.ConsumeToken(ctx, keys[i], now)
		return err
	})
}

// BenchmarkCreateTokens measures storing a token response's access and
// refresh token records: one batch, in one implicit transaction.
func BenchmarkCreateTokens(b *testing.B) {
	s, qc := benchStore(b)
	ctx := b.Context()
	now := time.Now().UTC()
	pairs := make([][]*storage.Token, b.N)
	for i := range pairs {
		pairs[i] = tokenPair(rand.Text(), now)
	}
	measure(b, qc, func(i int) error { return s.CreateTokens(ctx, pairs[i]...) })
}

// BenchmarkCodeExchange measures the storage work of an authorization code
// exchange (RFC 6749 §4.1.3): consume the code, store the tokens.
func BenchmarkCodeExchange(b *testing.B) {
	s, qc := benchStore(b)
	ctx := b.Context()
	now := time.Now().UTC()
	codes := make([]*storage.AuthorizationCode, b.N)
	prepare(b, b.N, func(i int) error {
		codes[i] = &storage.AuthorizationCode{Key: rand.Text(), GrantID: rand.Text(),
			Request: storage.AuthorizationRequest{ClientID: "client-a", RedirectURI: "https://a.example/cb",
				ResponseMode: "query", Scopes: []string{"openid", "profile"},
				CodeChallenge: rand.Text(), CodeChallengeMethod: "S256"},
			Subject: "user-1", Scopes: []string{"openid", "profile"},
			IssuedAt: now, ExpiresAt: now.Add(time.Minute)}
		return s.CreateAuthorizationCode(ctx, codes[i])
	})
	measure(b, qc, func(i int) error {
		code, err := s.ConsumeAuthorizationCode(ctx, codes[i].Key, now)
		if err != nil {
			return err
		}
		return s.CreateTokens(ctx, tokenPair(code.GrantID, now)...)
	})
}

// BenchmarkRefreshRotation measures the storage work of a refresh (RFC
// 6749 §6, rotation of RFC 9700 §4.14.2): consume the refresh token, store
// the new pair.
func BenchmarkRefreshRotation(b *testing.B) {
	s, qc := benchStore(b)
	ctx := b.Context()
	now := time.Now().UTC()
	refresh := make([]string, b.N)
	prepare(b, b.N, func(i int) error {
		pair := tokenPair(rand.Text(), now)
		refresh[i] = pair[1].Key
		return s.CreateTokens(ctx, pair...)
	})
	measure(b, qc, func(i int) error {
		old, err := s.ConsumeToken(ctx, refresh[i], now)
		if err != nil {
			return err
		}
		return s.CreateTokens(ctx, tokenPair(old.GrantID, now)...)
	})
}

// BenchmarkPollDeviceAuthorization measures the storage side of a device
// polling the token endpoint (RFC 8628 §3.4), the device grant's most
// frequent write: one statement that locks the record and records the
// poll, each poll on time.
func BenchmarkPollDeviceAuthorization(b *testing.B) {
	s, qc := benchStore(b)
	ctx := b.Context()
	now := time.Now().UTC().Truncate(time.Microsecond)
	d := deviceAuthorization(now)
	d.ExpiresAt = now.Add(time.Duration(b.N+1) * d.Interval)
	require.NoError(b, s.CreateDeviceAuthorization(ctx, d))
	measure(b, qc, func(i int) error {
		_, err := s.PollDeviceAuthorization(ctx, d.Key, d.ClientID, now.Add(time.Duration(i)*d.Interval), 5*time.Second)
		return err
	})
}

// BenchmarkTake measures counting one event in the limiter: one upsert,
// for the key of a client being guessed at and for a flood of new keys.
func BenchmarkTake(b *testing.B) {
	for _, bc := range []struct {
		name string
		key  func(i int) string
	}{
		{"one key", func(int) string { return "client-secret:6:client@192.0.2.1" }},
		{"new keys", func(i int) string { return "client-secret:6:client@192.0.2." + strconv.Itoa(i) }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			s, qc := benchStore(b)
			ctx := b.Context()
			now := time.Now().UTC()
			// The first Take of a store sweeps: not the cost of the others.
			_, _, err := s.Take(ctx, "warm-up", time.Minute, now)
			require.NoError(b, err)
			measure(b, qc, func(i int) error {
				_, _, err := s.Take(ctx, bc.key(i), time.Minute, now)
				return err
			})
		})
	}
}
