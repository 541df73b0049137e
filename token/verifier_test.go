package token_test

import (
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/token"
)

const testAudience = "https://rs.example.com"

// goodPayload: iat 1700000000, exp 1700000300.
var verifyNow = time.Unix(1_700_000_100, 0)

func newVerifier(t testing.TB, keys token.VerificationKeys, leeway time.Duration, now time.Time) *token.JWTVerifier {
	t.Helper()
	v, err := token.NewJWTVerifier(token.JWTVerifierConfig{
		Keys: keys, Issuer: testIssuer, Audience: testAudience,
		Clock: func() time.Time { return now }, Leeway: leeway,
	})
	require.NoError(t, err)
	return v
}

// publicOnly is a KeySet holding only the public half of k: what a
// resource server in the same process, or a test, has.
func publicOnly(t testing.TB, k jwk.Key) token.VerificationKeys {
	t.Helper()
	return mapKeys{k.KeyID(): mustPublic(t, k)}
}

// mapKeys is a VerificationKeys of the application's own, not of package
// token: it exercises the generic path.
type mapKeys map[string]jwk.Key

func (m mapKeys) VerificationKey(_ context.Context, kid string) (jwk.Key, error) {
	if k, ok := m[kid]; ok {
		return k, nil
	}
	return nil, token.ErrUnknownKey
}

func TestJWTVerifierConfigValidation(t *testing.T) {
	ks, err := token.NewKeySet(cachedKey(t, jwa.ES256))
	require.NoError(t, err)
	tests := []struct {
		name string
		cfg  token.JWTVerifierConfig
	}{
		{"Keys required", token.JWTVerifierConfig{Issuer: testIssuer, Audience: testAudience}},
		{"Issuer required (RFC 9068 §4)", token.JWTVerifierConfig{Keys: ks, Audience: testAudience}},
		{"Audience required (RFC 9068 §4)", token.JWTVerifierConfig{Keys: ks, Issuer: testIssuer}},
		{"negative leeway", token.JWTVerifierConfig{Keys: ks, Issuer: testIssuer, Audience: testAudience, Leeway: -time.Second}},
		{"leeway above 5 minutes", token.JWTVerifierConfig{Keys: ks, Issuer: testIssuer, Audience: testAudience, Leeway: token.MaxLeeway + time.Second}},
		{"zero KeySet", token.JWTVerifierConfig{Keys: &token.KeySet{}, Issuer: testIssuer, Audience: testAudience}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := token.NewJWTVerifier(tc.cfg)
			assert.Error(t, err)
		})
	}
	_, err = token.NewJWTVerifier(token.JWTVerifierConfig{Keys: ks, Issuer: testIssuer, Audience: testAudience, Leeway: token.MaxLeeway})
	assert.NoError(t, err, "5 minutes is allowed")
}

func TestJWTVerifierAcceptsValidTokens(t *testing.T) {
	for _, alg := range mainAlgs {
		t.Run(alg.String()+" minted by JWT, verified with public keys only", func(t *testing.T) {
			j, _, k := newJWT(t, alg)
			c := testClaims()
			c.Extra = map[string]any{"acr": "2"}
			tok := mint(t, j, c)
			v := newVerifier(t, publicOnly(t, k), 0, testIAT.Add(time.Minute))
			got, err := v.Verify(ctx, tok)
			require.NoError(t, err)
			assert.Equal(t, testIssuer, got.Issuer)
			assert.Equal(t, "alice", got.Subject)
			assert.Equal(t, []string{testAudience}, got.Audience)
			assert.Equal(t, "client-1", got.ClientID)
			assert.Equal(t, []string{"read", "write"}, got.Scopes)
			assert.Equal(t, c.ID, got.ID)
			assert.Equal(t, testEXP.Unix(), got.ExpiresAt.Unix())
			assert.Equal(t, map[string]any{"acr": "2"}, got.Extra)
		})
	}
	t.Run("with the KeySet of the same process", func(t *testing.T) {
		j, ks, _ := newJWT(t, jwa.ES256)
		_, err := newVerifier(t, ks, 0, testIAT).Verify(ctx, mint(t, j, testClaims()))
		assert.NoError(t, err)
	})
	t.Run("aud array containing this resource server", func(t *testing.T) {
		k := cachedKey(t, jwa.ES256)
		tok := craft(t, k, jwa.ES256, header("ES256", k.KeyID()),
			strings.Replace(goodPayload, `"aud":"https://rs.example.com"`, `"aud":["https://other.example","https://rs.example.com"]`, 1))
		_, err := newVerifier(t, publicOnly(t, k), 0, verifyNow).Verify(ctx, tok)
		assert.NoError(t, err)
	})
}

// TestJWTVerifierRejects covers RFC 9068 §4 at the resource server: each
// row names the rule, the sentinel the error must wrap besides ErrInvalid,
// and the clock and leeway.
func TestJWTVerifierRejects(t *testing.T) {
	k := cachedKey(t, jwa.ES256)
	kid := k.KeyID()
	other := newKey(t, jwa.ES256)
	keys := publicOnly(t, k)
	claims := func(replace ...string) string {
		return craft(t, k, jwa.ES256, header("ES256", kid), strings.NewReplacer(replace...).Replace(goodPayload))
	}
	good := claims()
	parts := strings.Split(good, ".")
	exp := time.Unix(1_700_000_300, 0)
	iat := time.Unix(1_700_000_000, 0)

	tests := []struct {
		name   string
		tok    string
		now    time.Time
		leeway time.Duration
		want   error // besides ErrInvalid; nil: ErrInvalid alone is enough
	}{
		{"exp reached", good, exp, 0, token.ErrExpired},
		{"exp passed", good, exp.Add(time.Hour), 0, token.ErrExpired},
		{"exp passed beyond the leeway", good, exp.Add(30 * time.Second), 30 * time.Second, token.ErrExpired},
		{"exp fractional, reached", claims(`"exp":1700000300`, `"exp":1700000299.5`), exp.Add(-time.Second), 0, token.ErrExpired},
		{"nbf in the future", claims(`"scope"`, `"nbf":1700000200,"scope"`), verifyNow, 0, token.ErrNotYetValid},
		{"nbf in the future beyond the leeway", claims(`"scope"`, `"nbf":1700000200,"scope"`), verifyNow, 99 * time.Second, token.ErrNotYetValid},
		{"nbf fractional, a bit in the future", claims(`"scope"`, `"nbf":1700000100.2,"scope"`), verifyNow, 0, token.ErrNotYetValid},
		{"iat in the future", good, iat.Add(-time.Second), 0, token.ErrNotYetValid},
		{"iat in the future beyond the leeway", good, iat.Add(-time.Minute), 59 * time.Second, token.ErrNotYetValid},
		{"wrong issuer (RFC 9207 §2, RFC 9700 §4.4)", claims(testIssuer, "https://evil.example"), verifyNow, 0, token.ErrWrongIssuer},
		{"issuer with a trailing slash", claims(testIssuer, testIssuer+"/"), verifyNow, 0, token.ErrWrongIssuer},
		{"audience of another resource server (RFC 9700 §4.10.2)", claims(testAudience, "https://other.example"), verifyNow, 0, token.ErrWrongAudience},
		{"audience is a prefix (RFC 9700 §4.10.2)", claims(`"aud":"https://rs.example.com"`, `"aud":"https://rs.example.co"`), verifyNow, 0, token.ErrWrongAudience},
		{"audience array without this resource server (RFC 9700 §4.10.2)", claims(`"aud":"https://rs.example.com"`, `"aud":["a","b"]`), verifyNow, 0, token.ErrWrongAudience},
		{"aud missing (RFC 7519 §4.1)", claims(`"aud":"https://rs.example.com",`, ``), verifyNow, 0, nil},
		{"exp missing (RFC 7519 §4.1)", claims(`"exp":1700000300,`, ``), verifyNow, 0, nil},
		{"exp as a string (RFC 7519 §4.1)", claims(`"exp":1700000300`, `"exp":"1700000300"`), verifyNow, 0, nil},
		{"unknown kid (RFC 8725 §3.10)", craft(t, other, jwa.ES256, header("ES256", other.KeyID()), goodPayload), verifyNow, 0, token.ErrUnknownKey},
		{"kid path traversal (RFC 8725 §3.10)", craft(t, k, jwa.ES256, header("ES256", "../../dev/null"), goodPayload), verifyNow, 0, token.ErrUnknownKey},
		{"signed by another key claiming our kid", craft(t, other, jwa.ES256, header("ES256", kid), goodPayload), verifyNow, 0, nil},
		{"alg none (RFC 8725 §3.1)", b64(header("none", kid)) + "." + b64(goodPayload) + ".", verifyNow, 0, nil},
		{"header alg ES384 on an ES256 key (RFC 8725 §3.1)", b64(header("ES384", kid)) + "." + b64(goodPayload) + "." + parts[2], verifyNow, 0, nil},
		{"typ JWT: an ID token is not an access token (RFC 9068 §4)", craft(t, k, jwa.ES256, `{"alg":"ES256","kid":"`+kid+`","typ":"JWT"}`, goodPayload), verifyNow, 0, nil},
		{"crit (RFC 7515 §4.1.11)", craft(t, k, jwa.ES256, `{"alg":"ES256","kid":"`+kid+`","typ":"at+jwt","crit":["x"],"x":1}`, goodPayload), verifyNow, 0, nil},
		{"duplicate exp (RFC 7519 §4)", claims(`"exp":1700000300`, `"exp":1700000300,"exp":1800000000`), verifyNow, 0, nil},
		{"1 MB (Authlib CVE-2025-61920)", strings.Repeat("A", 1<<20), verifyNow, 0, nil},
		{"a JWE (RFC 7515 §7.1)", "eyJhbGciOiJSU0EtT0FFUCIsImVuYyI6IkEyNTZHQ00ifQ.a.b.c.d", verifyNow, 0, nil},
		{"tampered payload", parts[0] + "." + b64(strings.Replace(goodPayload, "alice", "mallory", 1)) + "." + parts[2], verifyNow, 0, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := newVerifier(t, keys, tc.leeway, tc.now).Verify(ctx, tc.tok)
			assert.Nil(t, c)
			assert.ErrorIs(t, err, token.ErrInvalid)
			if tc.want != nil {
				assert.ErrorIs(t, err, tc.want)
			}
			if err != nil {
				assert.NotContains(t, err.Error(), kid, "errors do not echo the token (Keycloak GHSA-qgmm-f2qw-r95f)")
			}
		})
	}

	// The boundaries, accepted.
	for _, tc := range []struct {
		name   string
		tok    string
		now    time.Time
		leeway time.Duration
	}{
		{"one second before exp", good, exp.Add(-time.Second), 0},
		{"exp passed within the leeway", good, exp.Add(29 * time.Second), 30 * time.Second},
		{"iat now", good, iat, 0},
		{"iat in the future within the leeway", good, iat.Add(-time.Minute), time.Minute},
		{"nbf now", claims(`"scope"`, `"nbf":1700000100,"scope"`), verifyNow, 0},
		{"nbf in the future within the leeway", claims(`"scope"`, `"nbf":1700000200,"scope"`), verifyNow, 100 * time.Second},
	} {
		t.Run("accepts "+tc.name, func(t *testing.T) {
			_, err := newVerifier(t, keys, tc.leeway, tc.now).Verify(ctx, tc.tok)
			assert.NoError(t, err)
		})
	}
}

// failingKeys is a key store that is down.
type failingKeys struct{}

func (failingKeys) VerificationKey(context.Context, string) (jwk.Key, error) {
	return nil, errors.New("store unreachable")
}

func TestJWTVerifierKeySourceErrors(t *testing.T) {
	k := cachedKey(t, jwa.ES256)
	tok := craft(t, k, jwa.ES256, header("ES256", k.KeyID()), goodPayload)

	t.Run("an unreachable store is not an invalid token", func(t *testing.T) {
		_, err := newVerifier(t, failingKeys{}, 0, verifyNow).Verify(ctx, tok)
		require.Error(t, err)
		assert.NotErrorIs(t, err, token.ErrInvalid, "the middleware answers 503, not invalid_token")
	})
	t.Run("a key without alg is refused (RFC 8725 §3.1)", func(t *testing.T) {
		pub := mustPublic(t, k)
		require.NoError(t, pub.Remove(jwk.AlgorithmKey))
		_, err := newVerifier(t, mapKeys{k.KeyID(): pub}, 0, verifyNow).Verify(ctx, tok)
		assert.Error(t, err)
	})
	t.Run("a key with another kid than asked is unknown", func(t *testing.T) {
		_, err := newVerifier(t, mapKeys{k.KeyID(): mustPublic(t, cachedKey(t, jwa.EdDSA))}, 0, verifyNow).Verify(ctx, tok)
		assert.ErrorIs(t, err, token.ErrUnknownKey)
	})
	t.Run("an HMAC key from the store is refused (RFC 8725 §3.1)", func(t *testing.T) {
		sym, err := jwk.FromRaw([]byte("0123456789abcdef0123456789abcdef"))
		require.NoError(t, err)
		require.NoError(t, sym.Set(jwk.KeyIDKey, "h"))
		require.NoError(t, sym.Set(jwk.AlgorithmKey, jwa.HS256))
		hs := craft(t, sym, jwa.HS256, header("HS256", "h"), goodPayload)
		_, err = newVerifier(t, mapKeys{"h": sym}, 0, verifyNow).Verify(ctx, hs)
		assert.Error(t, err)
	})
}

// kmsSigner is a Signer over a crypto.Signer, as a KMS client would be.
type kmsSigner struct {
	kid    string
	signer crypto.Signer
}

func (s kmsSigner) KeyID() string                     { return s.kid }
func (s kmsSigner) Algorithm() jwa.SignatureAlgorithm { return jwa.ES256 }
func (s kmsSigner) Sign(_ context.Context, in []byte) ([]byte, error) {
	js, err := jws.NewSigner(jwa.ES256)
	if err != nil {
		return nil, err
	}
	return js.Sign(in, s.signer)
}

// kmsSource is a KeySource of the host application's own.
type kmsSource struct {
	signer kmsSigner
	pub    jwk.Key
}

func (s kmsSource) Signer(context.Context) (token.Signer, error) { return s.signer, nil }
func (s kmsSource) JWKS() ([]byte, error) {
	set := jwk.NewSet()
	_ = set.AddKey(s.pub)
	return json.Marshal(set)
}
func (s kmsSource) VerificationKey(_ context.Context, kid string) (jwk.Key, error) {
	if kid == s.pub.KeyID() {
		return s.pub, nil
	}
	return nil, token.ErrUnknownKey
}

func TestJWTWithForeignKeySource(t *testing.T) {
	k := newKey(t, jwa.ES256)
	src := kmsSource{kmsSigner{k.KeyID(), mustRaw(t, k).(crypto.Signer)}, mustPublic(t, k)}
	j, err := token.NewJWT(token.JWTConfig{Keys: src, Issuer: testIssuer})
	require.NoError(t, err)
	tok := mint(t, j, testClaims())
	assert.Equal(t, map[string]any{"typ": "at+jwt", "alg": "ES256", "kid": k.KeyID()}, decodeSegment(t, tok, 0))
	key, err := j.AccessTokenKey(ctx, tok)
	require.NoError(t, err)
	assert.NotEmpty(t, key)
	_, err = newVerifier(t, publicOnly(t, k), 0, testIAT).Verify(ctx, tok)
	assert.NoError(t, err)
	assert.Equal(t, 1, j.PublicKeys().Len())
	doc, err := j.JWKS()
	require.NoError(t, err)
	assert.Contains(t, string(doc), k.KeyID())

	t.Run("a signer with an empty kid is refused", func(t *testing.T) {
		bad := src
		bad.signer.kid = ""
		j, err := token.NewJWT(token.JWTConfig{Keys: bad, Issuer: testIssuer})
		require.NoError(t, err)
		_, _, err = j.MintAccessToken(ctx, testClaims())
		assert.Error(t, err, "empty kid")
	})
	t.Run("nil KeySource", func(t *testing.T) {
		_, err := token.NewJWT(token.JWTConfig{Keys: nil})
		assert.Error(t, err)
		var nilSet *token.KeySet
		_, err = token.NewJWT(token.JWTConfig{Keys: nilSet})
		assert.Error(t, err, "a nil *KeySet")
	})
}
