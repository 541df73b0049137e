package memory_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/grantor-dev/grantor/storage"
	"github.com/grantor-dev/grantor/storage/memory"
)

// heapTokens is how many tokens the heap measurement stores.
const heapTokens = 200_000

// typicalAccessToken returns the record of an opaque access token as the
// Provider stores it: a 43-character key, a 16-character grant ID, a client
// from a small set, one or two scopes, one audience, no claims. Every string
// is freshly allocated, as it would be when read from a request.
func typicalAccessToken(i int, now time.Time) *storage.Token {
	var raw [32]byte
	_, _ = rand.Read(raw[:])
	scopes := []string{"openid"}
	if i%2 == 0 {
		scopes = append(scopes, "profile")
	}
	return &storage.Token{
		Key:       base64.RawURLEncoding.EncodeToString(raw[:]),
		Kind:      storage.AccessToken,
		GrantID:   base64.RawURLEncoding.EncodeToString(raw[:12]),
		ClientID:  fmt.Sprintf("client-%03d", i%10),
		Subject:   fmt.Sprintf("user-%07d", i%50_000),
		Scopes:    scopes,
		Audience:  []string{"https://api.example"},
		IssuedAt:  now,
		ExpiresAt: now.Add(time.Hour),
	}
}

// heapPerToken stores heapTokens typical access tokens in a new store and
// returns the live heap they take, in bytes per token.
func heapPerToken(tb testing.TB) float64 {
	ctx := context.Background()
	now := time.Now()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	s := memory.New()
	for i := range heapTokens {
		if err := s.CreateTokens(ctx, typicalAccessToken(i, now)); err != nil {
			tb.Fatal(err)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(s)
	return float64(after.HeapAlloc-before.HeapAlloc) / heapTokens
}

// BenchmarkHeapPerAccessToken reports the live heap per stored opaque access
// token (B/token) over 200,000 typical records:
//
//	go test -run '^$' -bench HeapPerAccessToken -benchtime 3x ./storage/memory
func BenchmarkHeapPerAccessToken(b *testing.B) {
	var sum float64
	n := 0
	for b.Loop() {
		sum += heapPerToken(b)
		n++
	}
	b.ReportMetric(sum/float64(n), "B/token")
}

func BenchmarkCreateTokens(b *testing.B) {
	ctx := context.Background()
	s := memory.New()
	now := time.Now()
	toks := make([]*storage.Token, b.N)
	for i := range toks {
		toks[i] = typicalAccessToken(i, now)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if err := s.CreateTokens(ctx, toks[i]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkToken(b *testing.B) {
	ctx := context.Background()
	s := memory.New()
	now := time.Now()
	keys := make([]string, 10_000)
	for i := range keys {
		tok := typicalAccessToken(i, now)
		keys[i] = tok.Key
		if err := s.CreateTokens(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := s.Token(ctx, keys[i%len(keys)]); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
}

func BenchmarkConsumeToken(b *testing.B) {
	ctx := context.Background()
	s := memory.New()
	now := time.Now()
	keys := make([]string, b.N)
	for i := range keys {
		tok := typicalAccessToken(i, now)
		tok.Kind = storage.RefreshToken
		keys[i] = tok.Key
		if err := s.CreateTokens(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if _, err := s.ConsumeToken(ctx, keys[i], now); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRemember(b *testing.B) {
	ctx := context.Background()
	s := memory.New()
	keys := make([]string, b.N)
	for i := range keys {
		keys[i] = fmt.Sprintf("jti-%d", i)
	}
	exp := time.Now().Add(time.Minute)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if err := s.Remember(ctx, keys[i], exp); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSweep measures a full sweep of 200,000 live records, the pause
// a write takes once per sweep interval.
func BenchmarkSweep(b *testing.B) {
	ctx := context.Background()
	s := memory.New()
	now := time.Now()
	for i := range heapTokens {
		if err := s.CreateTokens(ctx, typicalAccessToken(i, now)); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := s.DeleteExpired(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLimiterFlood measures a Take of a new key when the table of a
// default Limiter is full of keys whose windows go on: the case of a flood
// of made-up keys (client IDs, user names), where every call counts in a
// shared bucket.
func BenchmarkLimiterFlood(b *testing.B) {
	ctx := context.Background()
	l := memory.NewLimiter(0)
	now := time.Now()
	for i := range memory.DefaultLimiterKeys {
		if _, _, err := l.Take(ctx, fmt.Sprintf("table-%d", i), time.Hour, now); err != nil {
			b.Fatal(err)
		}
	}
	keys := make([]string, 1<<16)
	for i := range keys {
		keys[i] = fmt.Sprintf("flood-%d", i)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, _, err := l.Take(ctx, keys[i%len(keys)], time.Hour, now); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
