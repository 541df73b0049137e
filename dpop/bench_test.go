package dpop

import (
	"context"
	"fmt"
	"strings"
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
				if k, desc := parseProofKey(s.jwk, MaxRSAKeyBits); k == nil {
					b.Fatal(desc)
				}
			}
		})
	}
}

// BenchmarkVerifyRefused is the cost of proofs anyone can make without a
// private key, each refused: a signature that does not verify with an
// ES256 or an RSA-4096 jwk (the largest accepted), an RSA-8192 or
// small-order Ed25519 jwk (refused before the signature), and an htu
// padded with dot segments to the proof size limit.
func BenchmarkVerifyRefused(b *testing.B) {
	longHTU := testURL + strings.Repeat("/a/..", (DefaultMaxProofSize/2)/5)
	for _, c := range []struct {
		name  string
		proof func() string
	}{
		{"ES256BadSignature", func() string { return madeUpProof(b, "ES256", string(newSigner(b, "ES256").jwk), 64) }},
		{"RSA4096BadSignature", func() string { return madeUpProof(b, "RS256", syntheticRSAJWK(b, 4096, 65537), 512) }},
		{"RSA8192", func() string { return madeUpProof(b, "RS256", syntheticRSAJWK(b, 8192, 65537), 1024) }},
		{"Ed25519SmallOrder", func() string {
			return madeUpProof(b, "EdDSA", fmt.Sprintf(`{"kty":"OKP","crv":"Ed25519","x":"%s"}`, b64(ed25519SmallOrder[0][:])), 64)
		}},
		{"LongHTU", func() string {
			s := newSigner(b, "ES256")
			return s.proof(b, nil, map[string]any{"htu": longHTU})
		}},
	} {
		b.Run(c.name, func(b *testing.B) {
			v, _ := newTestVerifier(b, Config{})
			p := req(c.proof())
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if _, err := v.Verify(ctx, p); err == nil {
					b.Fatal("accepted")
				}
			}
		})
	}
}
