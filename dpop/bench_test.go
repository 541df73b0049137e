package dpop

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// BenchmarkVerify is the full check of one proof (RFC 9449 §4.3), replay
// store included, per algorithm. The proofs come from a pool made before
// the timer starts; each time the pool wraps around, the fake store's
// clock moves past the entries' expiry, so that every proof is accepted
// while the Verifier's clock stays put.
func BenchmarkVerify(b *testing.B) {
	for _, alg := range []string{"ES256", "EdDSA", "RS256", "PS256"} {
		b.Run(alg, func(b *testing.B) {
			const pool = 256
			s := newSigner(b, alg)
			proofs := make([]Request, pool)
			for i := range proofs {
				proofs[i] = req(s.proof(b, nil, map[string]any{"jti": fmt.Sprint("bench-", i)}))
			}
			storeNow := testNow
			store := newFakeReplay()
			store.now = func() time.Time { return storeNow }
			v, _ := newTestVerifier(b, Config{Replay: store})
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				if i%pool == 0 && i > 0 {
					storeNow = storeNow.Add(2 * DefaultMaxAge)
				}
				if _, err := v.Verify(ctx, proofs[i%pool]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkParseProofKey is the cost of a jwk header the Verifier has not
// seen before: strict scan, jwx parse, curve check and thumbprint.
func BenchmarkParseProofKey(b *testing.B) {
	for _, alg := range []string{"ES256", "EdDSA", "RS256"} {
		b.Run(alg, func(b *testing.B) {
			s := newSigner(b, alg)
			b.ReportAllocs()
			for range b.N {
				if k, desc := parseProofKey(s.jwk); k == nil {
					b.Fatal(desc)
				}
			}
		})
	}
}
