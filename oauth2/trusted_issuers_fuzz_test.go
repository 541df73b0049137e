package oauth2_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/oauth2"
)

// The fuzz target's keys are fixed, so that the signed seeds checked in
// under testdata/fuzz/FuzzVerifyTrustedJWT keep verifying.
var tjFuzzKeys = sync.OnceValues(func() (*ecdsa.PrivateKey, ed25519.PrivateKey) {
	scalar := make([]byte, 32)
	copy(scalar, "grantor trusted-issuer fuzz key")
	ec, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), scalar)
	if err != nil {
		panic(err)
	}
	return ec, ed25519.NewKeyFromSeed([]byte("grantor trusted-issuer fuzz ed25")) // 32 bytes
})

func tjFuzzList(t testing.TB) *oauth2.TrustedIssuerList {
	ec, ed := tjFuzzKeys()
	l, err := oauth2.NewTrustedIssuerList([]oauth2.TrustedIssuer{
		{Issuer: tjIssuer, JWKS: tjJWKS(t, []string{"ec", "ed"}, &ec.PublicKey, ed.Public())},
	}, nil)
	require.NoError(t, err)
	return l
}

// FuzzVerifyTrustedJWT: whatever the input, VerifyTrustedJWT does not
// panic, refuses with an error wrapping ErrUntrustedJWT that does not
// quote the token, and accepts only a JWT whose signature jwx verifies
// with the trusted key of its alg, within its lifetime (RFC 7519 §7.2,
// RFC 8725 §3.1).
func FuzzVerifyTrustedJWT(f *testing.F) {
	ec, ed := tjFuzzKeys()
	claims := tjClaims()
	f.Add(tjSign(f, "ES256", ec, map[string]any{"kid": "ec"}, claims))
	f.Add(tjSign(f, "EdDSA", ed, map[string]any{"typ": "JWT"}, claims))
	f.Add(signRaw(f, "ES256", ec, []byte(`{"alg":"ES256","alg":"none"}`), []byte(`{"aud":[1,{}],"exp":"x"}`)))
	f.Add(caB64([]byte(`{"alg":"none"}`)) + "." + caB64(caMust(json.Marshal(claims))) + ".")
	f.Add(caB64([]byte(`{"alg":"ES256","crit":["x"]}`)) + "." + caB64([]byte(`{"exp":1e999}`)) + ".AA")
	f.Add("a.b.c.d.e")
	f.Add("..")
	f.Add("")
	l := tjFuzzList(f)
	keyFor := map[string]any{"ES256": &ec.PublicKey, "EdDSA": ed.Public()}
	f.Fuzz(func(t *testing.T, token string) {
		got, err := oauth2.VerifyTrustedJWT(context.Background(), l, token, oauth2.TrustedJWTOptions{Now: tjNow})
		if err != nil {
			if !errors.Is(err, oauth2.ErrUntrustedJWT) {
				t.Fatalf("not a refusal: %v", err)
			}
			if len(token) >= 16 && strings.Contains(err.Error(), token) {
				t.Fatal("error quotes the token")
			}
			return
		}
		key, ok := keyFor[got.Algorithm]
		if !ok {
			t.Fatalf("accepted alg %q, which no trusted key has", got.Algorithm)
		}
		if _, err := jws.Verify([]byte(token), jws.WithKey(jwa.SignatureAlgorithm(got.Algorithm), key)); err != nil {
			t.Fatalf("accepted a JWT whose signature jwx does not verify: %v", err)
		}
		if got.Issuer != tjIssuer || !tjNow.Before(got.ExpiresAt.Add(oauth2.DefaultTrustedJWTLeeway)) {
			t.Fatalf("accepted issuer %q, exp %v", got.Issuer, got.ExpiresAt)
		}
		if got.Claims["iss"] != tjIssuer {
			t.Fatal("Claims disagree with Issuer")
		}
	})
}

// BenchmarkVerifyTrustedJWT is the cost of verifying an ES256 JWT of an
// issuer with an inline JWKS, next to the baseline of the ES256 signature
// verification alone with jwx (jws.NewVerifier) on the same input: what
// the JWT bearer grant adds to a client credentials request (its budget
// is 1.3x client credentials plus one ES256 verification).
func BenchmarkVerifyTrustedJWT(b *testing.B) {
	ec, _ := tjFuzzKeys()
	l := tjFuzzList(b)
	token := tjSign(b, "ES256", ec, map[string]any{"kid": "ec", "typ": "JWT"}, tjClaims())
	opts := oauth2.TrustedJWTOptions{Now: tjNow, MaxLifetime: 10 * time.Minute, RequireJTI: true}
	ctx := context.Background()

	b.Run("VerifyTrustedJWT", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := oauth2.VerifyTrustedJWT(ctx, l, token, opts); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("baseline-jwx-ES256-verify", func(b *testing.B) {
		parts := strings.Split(token, ".")
		input := []byte(parts[0] + "." + parts[1])
		sig, err := base64.RawURLEncoding.DecodeString(parts[2])
		require.NoError(b, err)
		pub, err := jwk.FromRaw(&ec.PublicKey)
		require.NoError(b, err)
		var raw ecdsa.PublicKey
		require.NoError(b, pub.Raw(&raw))
		v, err := jws.NewVerifier(jwa.ES256)
		require.NoError(b, err)
		b.ReportAllocs()
		for b.Loop() {
			if err := v.Verify(input, sig, &raw); err != nil {
				b.Fatal(err)
			}
		}
	})
}
