package token_test

import (
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/lestrrat-go/jwx/v2/jwt"
)

func BenchmarkOpaqueGenerate(b *testing.B) {
	o := newOpaque(b, "gr_at_")
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := o.Generate(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpaqueSignature(b *testing.B) {
	o := newOpaque(b, "gr_at_")
	tok, _, err := o.Generate()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := o.Signature(tok); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkJWTMint(b *testing.B) {
	for _, alg := range mainAlgs {
		b.Run(alg.String(), func(b *testing.B) {
			j, _, _ := newJWT(b, alg)
			b.ReportAllocs()
			for b.Loop() {
				c := testClaims()
				if _, _, err := j.MintAccessToken(ctx, c); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkJWXMintBaseline signs the same claims with jwx's jwt builder:
// the reference for BenchmarkJWTMint.
func BenchmarkJWXMintBaseline(b *testing.B) {
	for _, alg := range mainAlgs {
		b.Run(alg.String(), func(b *testing.B) {
			k := cachedKey(b, alg)
			h := jws.NewHeaders()
			_ = h.Set(jws.TypeKey, "at+jwt")
			b.ReportAllocs()
			for b.Loop() {
				c := testClaims()
				t, err := jwt.NewBuilder().Issuer(testIssuer).Subject(c.Subject).
					Audience(c.Audience).IssuedAt(c.IssuedAt).Expiration(c.ExpiresAt).
					JwtID("0123456789abcdef0123456789abcdef").
					Claim("client_id", c.ClientID).Claim("scope", "read write").Build()
				if err != nil {
					b.Fatal(err)
				}
				if _, err := jwt.Sign(t, jwt.WithKey(alg, k, jws.WithProtectedHeaders(h))); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkJWTAccessTokenKey(b *testing.B) {
	for _, alg := range mainAlgs {
		b.Run(alg.String(), func(b *testing.B) {
			j, _, _ := newJWT(b, alg)
			tok := mint(b, j, testClaims())
			b.ReportAllocs()
			for b.Loop() {
				if _, err := j.AccessTokenKey(ctx, tok); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkJWXParseBaseline verifies the same tokens with jwx's jwt.Parse
// and a key set: the reference for BenchmarkJWTAccessTokenKey.
func BenchmarkJWXParseBaseline(b *testing.B) {
	for _, alg := range mainAlgs {
		b.Run(alg.String(), func(b *testing.B) {
			j, _, _ := newJWT(b, alg)
			tok := []byte(mint(b, j, testClaims()))
			set := j.PublicKeys()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := jwt.Parse(tok, jwt.WithKeySet(set), jwt.WithValidate(false)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkJWTVerifierVerify is the resource server's hot path: a full
// RFC 9068 §4 validation, claims decoded, with the key from a KeySet.
func BenchmarkJWTVerifierVerify(b *testing.B) {
	for _, alg := range mainAlgs {
		b.Run(alg.String(), func(b *testing.B) {
			j, ks, _ := newJWT(b, alg)
			tok := mint(b, j, testClaims())
			v := newVerifier(b, ks, 0, testIAT.Add(time.Minute))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.Verify(ctx, tok); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
