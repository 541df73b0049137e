package sqlite_test

import (
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/grantor-dev/grantor/storage"
	"github.com/grantor-dev/grantor/storage/sqlite"
)

// The statements each operation runs against SQLite:
//   - ConsumeToken, ConsumeAuthorizationCode: one UPDATE ... RETURNING
//     (and one SELECT for a loser);
//   - CreateTokens: BEGIN IMMEDIATE, one INSERT per record, COMMIT;
//   - a refresh rotation: ConsumeToken then CreateTokens of an access and
//     a refresh token, 5 statements and 2 commits;
//   - an authorization code exchange: ConsumeAuthorizationCode then
//     CreateTokens of an access and a refresh token, the same;
//   - PollDeviceAuthorization: BEGIN IMMEDIATE, one SELECT, one UPDATE,
//     COMMIT;
//   - Take: one INSERT ... ON CONFLICT DO UPDATE ... RETURNING (and, once
//     per sweep interval, the sweep's DELETEs).
//
// Commits are durable (synchronous=FULL), so the figures depend on the
// file system's fsync.

// accessToken returns the record of a typical access token of the grant.
func accessToken(b *testing.B, grantID string) *storage.Token {
	n := now()
	return &storage.Token{
		Key: newKey(b), Kind: storage.AccessToken, GrantID: grantID, ClientID: "app", Subject: "user-1",
		Scopes: []string{"openid", "profile"}, Audience: []string{"https://api.example"},
		IssuedAt: n, ExpiresAt: n.Add(time.Hour),
	}
}

// seedRefreshTokens stores n refresh tokens and returns their keys.
func seedRefreshTokens(b *testing.B, s *sqlite.Store, n int) []string {
	b.Helper()
	keys := make([]string, 0, n)
	for n > 0 {
		batch := make([]*storage.Token, 0, min(n, 500))
		for range cap(batch) {
			tok := refreshToken(b, newKey(b)[:16])
			batch = append(batch, tok)
			keys = append(keys, tok.Key)
		}
		if err := s.CreateTokens(b.Context(), batch...); err != nil {
			b.Fatal(err)
		}
		n -= len(batch)
	}
	return keys
}

func BenchmarkConsumeToken(b *testing.B) {
	s, _ := open(b)
	keys := seedRefreshTokens(b, s, b.N)
	at := now()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if _, err := s.ConsumeToken(b.Context(), keys[i], at); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}

func BenchmarkCreateTokens(b *testing.B) {
	s, _ := open(b)
	pairs := make([][]*storage.Token, b.N)
	for i := range pairs {
		grantID := newKey(b)[:16]
		pairs[i] = []*storage.Token{accessToken(b, grantID), refreshToken(b, grantID)}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if err := s.CreateTokens(b.Context(), pairs[i]...); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}

// BenchmarkRefreshRotation measures the storage side of one refresh_token
// grant: consume the presented refresh token, store the new pair.
func BenchmarkRefreshRotation(b *testing.B) {
	s, _ := open(b)
	keys := seedRefreshTokens(b, s, b.N)
	pairs := make([][]*storage.Token, b.N)
	for i := range pairs {
		pairs[i] = []*storage.Token{accessToken(b, "g"), refreshToken(b, "g")}
	}
	at := now()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		old, err := s.ConsumeToken(b.Context(), keys[i], at)
		if err != nil {
			b.Fatal(err)
		}
		for _, t := range pairs[i] {
			t.GrantID = old.GrantID
		}
		if err := s.CreateTokens(b.Context(), pairs[i]...); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rotations/s")
}

// BenchmarkCodeExchange measures the storage side of one authorization
// code exchange: redeem the code, store the access and refresh tokens.
func BenchmarkCodeExchange(b *testing.B) {
	s, _ := open(b)
	codes := make([]string, b.N)
	for i := range codes {
		c := &storage.AuthorizationCode{Key: newKey(b), GrantID: newKey(b)[:16], Subject: "user-1",
			Request: storage.AuthorizationRequest{ClientID: "app", RedirectURI: "https://app.example/cb",
				Scopes: []string{"openid"}, CodeChallenge: newKey(b), CodeChallengeMethod: "S256"},
			Scopes: []string{"openid"}, IssuedAt: now(), ExpiresAt: now().Add(time.Minute)}
		if err := s.CreateAuthorizationCode(b.Context(), c); err != nil {
			b.Fatal(err)
		}
		codes[i] = c.Key
	}
	pairs := make([][]*storage.Token, b.N)
	for i := range pairs {
		pairs[i] = []*storage.Token{accessToken(b, "g"), refreshToken(b, "g")}
	}
	at := now()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		c, err := s.ConsumeAuthorizationCode(b.Context(), codes[i], at)
		if err != nil {
			b.Fatal(err)
		}
		for _, t := range pairs[i] {
			t.GrantID = c.GrantID
		}
		if err := s.CreateTokens(b.Context(), pairs[i]...); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "exchanges/s")
}

// BenchmarkConsumeTokenParallel consumes distinct tokens from
// GOMAXPROCS goroutines: the writes queue on the store's write lock.
func BenchmarkConsumeTokenParallel(b *testing.B) {
	s, _ := open(b)
	keys := seedRefreshTokens(b, s, b.N)
	at := now()
	var next atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.ConsumeToken(b.Context(), keys[next.Add(1)-1], at); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}

// BenchmarkToken reads token records, as introspection does.
func BenchmarkToken(b *testing.B) {
	s, _ := open(b)
	keys := seedRefreshTokens(b, s, 1000)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if _, err := s.Token(b.Context(), keys[i%len(keys)]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPollDeviceAuthorization measures the storage side of a device
// polling the token endpoint (RFC 8628 §3.4): one write transaction that
// reads the record and records the poll, each poll on time.
func BenchmarkPollDeviceAuthorization(b *testing.B) {
	s, _ := open(b)
	at := now()
	d := deviceAuthorization(b, at)
	d.ExpiresAt = at.Add(time.Duration(b.N+1) * d.Interval)
	if err := s.CreateDeviceAuthorization(b.Context(), d); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if _, err := s.PollDeviceAuthorization(b.Context(), d.Key, d.ClientID, at.Add(time.Duration(i)*d.Interval), 5*time.Second); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "polls/s")
}

// BenchmarkTake counts events of the limiter, as a throttle of failed
// client authentications (RFC 6749 §2.3.1) or of pushed authorization
// requests (RFC 9126 §2.3) does: of one key over and over, and of a new
// key each time (a flood of made-up client IDs).
func BenchmarkTake(b *testing.B) {
	for _, bench := range []struct {
		name string
		key  func(i int) string
	}{
		{"one key", func(int) string { return "client-secret:app" }},
		{"new keys", func(i int) string { return "client-secret:" + strconv.Itoa(i) }},
	} {
		b.Run(bench.name, func(b *testing.B) {
			s, _ := open(b)
			at := now()
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				if _, _, err := s.Take(b.Context(), bench.key(i), time.Hour, at); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "takes/s")
		})
	}
}
