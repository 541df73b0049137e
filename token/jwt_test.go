package token_test

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/lestrrat-go/jwx/v2/jwt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/token"
)

const testIssuer = "https://as.example.com"

var ctx = context.Background()

var (
	testIAT = time.Unix(1_700_000_000, 0)
	testEXP = testIAT.Add(5 * time.Minute)
)

func testClaims() *token.Claims {
	return &token.Claims{
		Subject:   "alice",
		Audience:  []string{"https://rs.example.com"},
		ClientID:  "client-1",
		Scopes:    []string{"read", "write"},
		IssuedAt:  testIAT,
		ExpiresAt: testEXP,
	}
}

func newJWT(t testing.TB, alg jwa.SignatureAlgorithm) (*token.JWT, *token.KeySet, jwk.Key) {
	t.Helper()
	k := cachedKey(t, alg)
	ks, err := token.NewKeySet(k)
	require.NoError(t, err)
	j, err := token.NewJWT(token.JWTConfig{Keys: ks, Issuer: testIssuer})
	require.NoError(t, err)
	return j, ks, k
}

func mint(t testing.TB, j *token.JWT, c *token.Claims) string {
	t.Helper()
	tok, _, err := j.MintAccessToken(ctx, c)
	require.NoError(t, err)
	return tok
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// craft builds a compact JWS from literal header and payload JSON, signed
// with key under alg by jwx's own signer.
func craft(t testing.TB, key jwk.Key, alg jwa.SignatureAlgorithm, header, payload string) string {
	t.Helper()
	input := b64(header) + "." + b64(payload)
	s, err := jws.NewSigner(alg)
	require.NoError(t, err)
	var raw any
	if key != nil {
		require.NoError(t, key.Raw(&raw))
	}
	sig, err := s.Sign([]byte(input), raw)
	require.NoError(t, err)
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func header(alg, kid string) string {
	return `{"alg":"` + alg + `","kid":"` + kid + `","typ":"at+jwt"}`
}

const goodPayload = `{"iss":"https://as.example.com","sub":"alice","aud":"https://rs.example.com","client_id":"client-1","iat":1700000000,"exp":1700000300,"jti":"jti-1","scope":"read"}`

func decodeSegment(t *testing.T, tok string, i int) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	require.Len(t, parts, 3)
	raw, err := base64.RawURLEncoding.DecodeString(parts[i])
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(raw, &m))
	return m
}

func TestNewJWTValidation(t *testing.T) {
	_, err := token.NewJWT(token.JWTConfig{})
	assert.Error(t, err, "no KeySet")
	var zero token.KeySet
	_, err = token.NewJWT(token.JWTConfig{Keys: &zero})
	assert.Error(t, err, "empty KeySet")
	assert.Error(t, zero.Add(cachedKey(t, jwa.ES256)), "a zero KeySet refuses changes instead of panicking")
	assert.Error(t, zero.Promote("x"))
	assert.Error(t, zero.Remove("x"))
	_, err = zero.JWKS()
	assert.Error(t, err)
}

// RFC 9068 §2.1: the header is typ at+jwt, the alg and the kid.
func TestJWTHeader(t *testing.T) {
	for _, alg := range mainAlgs {
		t.Run(alg.String(), func(t *testing.T) {
			j, _, k := newJWT(t, alg)
			h := decodeSegment(t, mint(t, j, testClaims()), 0)
			assert.Equal(t, map[string]any{"typ": "at+jwt", "alg": alg.String(), "kid": k.KeyID()}, h)
		})
	}
}

// RFC 9068 §2.2: the claims of a minted token.
func TestJWTClaims(t *testing.T) {
	j, _, _ := newJWT(t, jwa.ES256)
	c := testClaims()
	tok, key, err := j.MintAccessToken(ctx, c)
	require.NoError(t, err)
	require.NotEmpty(t, c.ID, "a jti is generated and set on the claims")
	assert.Equal(t, c.ID, key, "the storage key is the jti")
	raw, err := base64.RawURLEncoding.DecodeString(c.ID)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, len(raw)*8, 128, "jti has at least 128 random bits")

	m := decodeSegment(t, tok, 1)
	assert.Equal(t, map[string]any{
		"iss":       testIssuer,
		"sub":       "alice",
		"aud":       "https://rs.example.com",
		"client_id": "client-1",
		"iat":       float64(testIAT.Unix()),
		"exp":       float64(testEXP.Unix()),
		"jti":       c.ID,
		"scope":     "read write",
	}, m)
	assert.NotContains(t, strings.Split(tok, ".")[1], "=", "no padding")

	t.Run("no scope claim without scopes", func(t *testing.T) {
		c := testClaims()
		c.Scopes = nil
		assert.NotContains(t, decodeSegment(t, mint(t, j, c), 1), "scope")
	})
	t.Run("key binding in cnf.jkt (RFC 9449 §6.1)", func(t *testing.T) {
		c := testClaims()
		c.KeyThumbprint = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"
		tok := mint(t, j, c)
		assert.Equal(t, map[string]any{"jkt": c.KeyThumbprint}, decodeSegment(t, tok, 1)["cnf"])
		got, err := j.Parse(ctx, tok)
		require.NoError(t, err)
		assert.Equal(t, c.KeyThumbprint, got.KeyThumbprint)
		assert.NotContains(t, got.Extra, "cnf")
	})
	t.Run("given jti is kept", func(t *testing.T) {
		c := testClaims()
		c.ID = "my-id"
		_, key, err := j.MintAccessToken(ctx, c)
		require.NoError(t, err)
		assert.Equal(t, "my-id", key)
	})
	t.Run("jti unique", func(t *testing.T) {
		seen := map[string]bool{}
		for range 1000 {
			_, key, err := j.MintAccessToken(ctx, testClaims())
			require.NoError(t, err)
			assert.False(t, seen[key])
			seen[key] = true
		}
	})
	t.Run("strings needing escapes", func(t *testing.T) {
		c := testClaims()
		c.Subject = "al\"ice\\\n\u00e9\u2028<>&"
		c.Audience = []string{"a", "b\"c"}
		got, err := j.Parse(ctx, mint(t, j, c))
		require.NoError(t, err)
		assert.Equal(t, c.Subject, got.Subject)
		assert.Equal(t, c.Audience, got.Audience)
	})
}

// RFC 9068 §3, RFC 8707 §2: the audience of a minted token.
func TestJWTAudience(t *testing.T) {
	j, _, _ := newJWT(t, jwa.ES256)
	one := testClaims()
	assert.Equal(t, "https://rs.example.com", decodeSegment(t, mint(t, j, one), 1)["aud"], "one audience is a string")

	two := testClaims()
	two.Audience = []string{"https://a.example", "https://b.example"}
	assert.Equal(t, []any{"https://a.example", "https://b.example"}, decodeSegment(t, mint(t, j, two), 1)["aud"], "several audiences are an array")
	got, err := j.Parse(ctx, mint(t, j, two))
	require.NoError(t, err)
	assert.Equal(t, two.Audience, got.Audience)
}

func TestJWTMintRefusesIncompleteClaims(t *testing.T) {
	j, _, _ := newJWT(t, jwa.ES256)
	tests := []struct {
		name   string
		modify func(*token.Claims)
	}{
		{"aud is required (RFC 9068 §2.2)", func(c *token.Claims) { c.Audience = nil }},
		{"aud members are not empty", func(c *token.Claims) { c.Audience = []string{"x", ""} }},
		{"sub is required", func(c *token.Claims) { c.Subject = "" }},
		{"client_id is required", func(c *token.Claims) { c.ClientID = "" }},
		{"iat is required", func(c *token.Claims) { c.IssuedAt = time.Time{} }},
		{"exp is required", func(c *token.Claims) { c.ExpiresAt = time.Time{} }},
		{"exp after iat", func(c *token.Claims) { c.ExpiresAt = c.IssuedAt }},
		{"issuer differs from the configured one (RFC 9207 §2, RFC 9700 §4.4)", func(c *token.Claims) { c.Issuer = "https://other.example" }},
		{"extra claim that does not encode", func(c *token.Claims) { c.Extra = map[string]any{"x": func() {}} }},
		{"token longer than MaxJWTLength", func(c *token.Claims) { c.Extra = map[string]any{"big": strings.Repeat("x", token.MaxJWTLength)} }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := testClaims()
			tc.modify(c)
			_, _, err := j.MintAccessToken(ctx, c)
			assert.Error(t, err)
		})
	}
	_, _, err := j.MintAccessToken(ctx, nil)
	assert.Error(t, err)

	t.Run("issuer from the claims when none is configured", func(t *testing.T) {
		ks, err := token.NewKeySet(cachedKey(t, jwa.ES256))
		require.NoError(t, err)
		j2, err := token.NewJWT(token.JWTConfig{Keys: ks})
		require.NoError(t, err)
		_, _, err = j2.MintAccessToken(ctx, testClaims())
		assert.Error(t, err, "no issuer at all")
		c := testClaims()
		c.Issuer = "https://tenant.example"
		got, err := j2.Parse(ctx, mint(t, j2, c))
		require.NoError(t, err)
		assert.Equal(t, "https://tenant.example", got.Issuer)
	})
}

func TestJWTExtraCannotOverrideRegisteredClaims(t *testing.T) {
	j, _, _ := newJWT(t, jwa.ES256)
	for _, name := range []string{"iss", "sub", "aud", "exp", "nbf", "iat", "jti", "client_id", "scope", "cnf"} {
		t.Run(name, func(t *testing.T) {
			c := testClaims()
			c.Extra = map[string]any{name: "evil", "ok": 1}
			_, _, err := j.MintAccessToken(ctx, c)
			assert.ErrorIs(t, err, token.ErrReservedClaim)
		})
	}
	t.Run("other claims are added", func(t *testing.T) {
		c := testClaims()
		c.Extra = map[string]any{"roles": []string{"admin"}, "acr": "urn:mace:incommon:iap:silver", "n": 7}
		tok := mint(t, j, c)
		m := decodeSegment(t, tok, 1)
		assert.Equal(t, []any{"admin"}, m["roles"])
		got, err := j.Parse(ctx, tok)
		require.NoError(t, err)
		assert.Equal(t, map[string]any{"roles": []any{"admin"}, "acr": "urn:mace:incommon:iap:silver", "n": float64(7)}, got.Extra)
	})
}

func TestJWTRoundTripEveryAlgorithm(t *testing.T) {
	for _, alg := range allAlgs {
		t.Run(alg.String(), func(t *testing.T) {
			j, _, _ := newJWT(t, alg)
			c := testClaims()
			tok, key, err := j.MintAccessToken(ctx, c)
			require.NoError(t, err)
			got, err := j.AccessTokenKey(ctx, tok)
			require.NoError(t, err)
			assert.Equal(t, key, got)

			parsed, err := j.Parse(ctx, tok)
			require.NoError(t, err)
			want := *c
			want.Issuer = testIssuer
			assert.Equal(t, &want, parsed)
		})
	}
}

// TestThirdPartyVerifiesWithJWKS proves that a resource server with
// nothing but the published JWKS and plain jwx can verify our tokens (RFC
// 9068 §2.1).
func TestThirdPartyVerifiesWithJWKS(t *testing.T) {
	for _, alg := range allAlgs {
		t.Run(alg.String(), func(t *testing.T) {
			j, _, _ := newJWT(t, alg)
			doc, err := j.JWKS()
			require.NoError(t, err)
			set, err := jwk.Parse(doc)
			require.NoError(t, err)

			tok := mint(t, j, testClaims())
			parsed, err := jwt.Parse([]byte(tok),
				jwt.WithKeySet(set, jws.WithRequireKid(true)),
				jwt.WithValidate(true),
				jwt.WithClock(jwt.ClockFunc(func() time.Time { return testIAT.Add(time.Minute) })),
				jwt.WithIssuer(testIssuer),
				jwt.WithAudience("https://rs.example.com"),
			)
			require.NoError(t, err)
			assert.Equal(t, "alice", parsed.Subject())
			cid, _ := parsed.Get("client_id")
			assert.Equal(t, "client-1", cid)

			msg, err := jws.Parse([]byte(tok))
			require.NoError(t, err)
			assert.Equal(t, "at+jwt", msg.Signatures()[0].ProtectedHeaders().Type())
		})
	}
}

// TestJWTAcceptsJWXSignedTokens checks the other direction: a token signed
// by jwx with our key and the right header verifies.
func TestJWTAcceptsJWXSignedTokens(t *testing.T) {
	for _, alg := range mainAlgs {
		t.Run(alg.String(), func(t *testing.T) {
			j, _, k := newJWT(t, alg)
			h := jws.NewHeaders()
			require.NoError(t, h.Set(jws.TypeKey, "at+jwt"))
			signed, err := jws.Sign([]byte(goodPayload), jws.WithKey(alg, k, jws.WithProtectedHeaders(h)))
			require.NoError(t, err)
			key, err := j.AccessTokenKey(ctx, string(signed))
			require.NoError(t, err)
			assert.Equal(t, "jti-1", key)
		})
	}
}

func TestJWTAccessTokenKeyDoesNotCheckExpiry(t *testing.T) {
	j, _, _ := newJWT(t, jwa.ES256)
	c := testClaims()
	c.IssuedAt = time.Unix(1000, 0)
	c.ExpiresAt = time.Unix(2000, 0) // long expired
	tok, key, err := j.MintAccessToken(ctx, c)
	require.NoError(t, err)
	got, err := j.AccessTokenKey(ctx, tok)
	require.NoError(t, err, "expiry is checked on the storage record by the caller")
	assert.Equal(t, key, got)
}

// ZITADEL CVE-2026-27840: truncated, extended and altered tokens are
// invalid.
func TestJWTTamperedTokensRejected(t *testing.T) {
	for _, alg := range mainAlgs {
		t.Run(alg.String(), func(t *testing.T) {
			j, _, _ := newJWT(t, alg)
			tok := mint(t, j, testClaims())
			for name, bad := range tamperings(tok) {
				_, err := j.AccessTokenKey(ctx, bad)
				assert.ErrorIs(t, err, token.ErrInvalid, name)
			}
		})
	}
}

func TestJWTRejects(t *testing.T) {
	j, ks, k := newJWT(t, jwa.ES256)
	kid := k.KeyID()
	other := newKey(t, jwa.ES256)
	ed := cachedKey(t, jwa.EdDSA)
	require.NoError(t, ks.Add(ed))
	good := craft(t, k, jwa.ES256, header("ES256", kid), goodPayload)
	_, err := j.AccessTokenKey(ctx, good)
	require.NoError(t, err, "the crafting helper makes valid tokens")

	withPayload := func(p string) string { return craft(t, k, jwa.ES256, header("ES256", kid), p) }
	withHeader := func(h string) string { return craft(t, k, jwa.ES256, h, goodPayload) }
	claims := func(replace ...string) string {
		return withPayload(strings.NewReplacer(replace...).Replace(goodPayload))
	}

	pubDER, err := x509.MarshalPKIXPublicKey(mustRaw(t, mustPublic(t, k)))
	require.NoError(t, err)
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	pubJWK, err := json.Marshal(mustPublic(t, k))
	require.NoError(t, err)
	hmacWith := func(secret []byte) string {
		sk, err := jwk.FromRaw(secret)
		require.NoError(t, err)
		return craft(t, sk, jwa.HS256, header("HS256", kid), goodPayload)
	}
	// A valid token whose encoding uses '-' or '_', so that the standard
	// alphabet really changes it. ES256 signatures are random: a few
	// tries find one.
	withURLChars := good
	for i := 0; i < 100 && !strings.ContainsAny(withURLChars, "-_"); i++ {
		withURLChars = craft(t, k, jwa.ES256, header("ES256", kid), goodPayload)
	}
	require.True(t, strings.ContainsAny(withURLChars, "-_"))
	_, err = j.AccessTokenKey(ctx, withURLChars)
	require.NoError(t, err)
	parts := strings.Split(good, ".")

	tests := []struct {
		name string
		tok  string
	}{
		// alg none, unsigned: RFC 8725 §3.1-3.2
		{"alg none with empty signature", b64(header("none", kid)) + "." + b64(goodPayload) + "."},
		{"alg none with the valid signature", b64(header("none", kid)) + "." + b64(goodPayload) + "." + parts[2]},
		{"alg None", b64(header("None", kid)) + "." + b64(goodPayload) + "."},
		{"unsigned, two segments", b64(header("none", kid)) + "." + b64(goodPayload)},
		{"no alg", withHeader(`{"kid":"` + kid + `","typ":"at+jwt"}`)},
		// alg bound to the key: RFC 8725 §3.1, Authlib CVE-2024-37568
		{"HS256 MAC'd with the public key PEM", hmacWith(pubPEM)},
		{"HS256 MAC'd with the public key DER", hmacWith(pubDER)},
		{"HS256 MAC'd with the public key JWK", hmacWith(pubJWK)},
		{"header alg ES384 on an ES256 key", b64(header("ES384", kid)) + "." + b64(goodPayload) + "." + parts[2]},
		{"header alg of another key in the set", craft(t, k, jwa.ES256, header("EdDSA", kid), goodPayload)},
		{"EdDSA key's kid with an ES256 signature", craft(t, k, jwa.ES256, header("ES256", ed.KeyID()), goodPayload)},
		{"alg in lower case", craft(t, k, jwa.ES256, header("es256", kid), goodPayload)},
		// kid is opaque: RFC 8725 §3.10
		{"kid path traversal", craft(t, k, jwa.ES256, header("ES256", "../../dev/null"), goodPayload)},
		{"kid SQL injection", craft(t, k, jwa.ES256, header("ES256", `' OR '1'='1`), goodPayload)},
		{"kid 64 kB", craft(t, k, jwa.ES256, header("ES256", strings.Repeat("k", 64<<10)), goodPayload)},
		{"kid 5 kB under the size limit", craft(t, k, jwa.ES256, header("ES256", strings.Repeat("k", 5<<10)), goodPayload)},
		{"no kid", withHeader(`{"alg":"ES256","typ":"at+jwt"}`)},
		{"empty kid", withHeader(header("ES256", ""))},
		{"kid not a string", withHeader(`{"alg":"ES256","kid":1,"typ":"at+jwt"}`)},
		{"signed by an unknown key", craft(t, other, jwa.ES256, header("ES256", other.KeyID()), goodPayload)},
		{"signed by an unknown key claiming our kid", craft(t, other, jwa.ES256, header("ES256", kid), goodPayload)},
		// keys never from the header: RFC 8725 §3.10, RFC 7515 §4.1.3
		{"embedded jwk of the attacker", craft(t, other, jwa.ES256, `{"alg":"ES256","typ":"at+jwt","kid":"`+other.KeyID()+`","jwk":`+string(mustJSON(t, mustPublic(t, other)))+`}`, goodPayload)},
		// crit and duplicate members: RFC 7515 §4.1.11, RFC 7519 §4
		{"crit with an unknown extension", withHeader(`{"alg":"ES256","kid":"` + kid + `","typ":"at+jwt","crit":["exp"],"exp":1}`)},
		{"crit empty", withHeader(`{"alg":"ES256","kid":"` + kid + `","typ":"at+jwt","crit":[]}`)},
		{"b64 false", withHeader(`{"alg":"ES256","kid":"` + kid + `","typ":"at+jwt","b64":false}`)},
		{"duplicate alg in header", withHeader(`{"alg":"ES256","kid":"` + kid + `","typ":"at+jwt","alg":"none"}`)},
		{"duplicate alg, escaped", withHeader(`{"alg":"ES256","kid":"` + kid + `","typ":"at+jwt","\u0061lg":"ES256"}`)},
		{"duplicate kid", withHeader(`{"alg":"ES256","kid":"` + kid + `","typ":"at+jwt","kid":"` + kid + `"}`)},
		{"duplicate exp", claims(`"exp":1700000300`, `"exp":1700000300,"exp":1700000300`)},
		{"duplicate aud", claims(`"aud":"https://rs.example.com"`, `"aud":"https://rs.example.com","aud":"x"`)},
		{"duplicate jti", claims(`"jti":"jti-1"`, `"jti":"jti-1","jti":"jti-2"`)},
		// typ: RFC 9068 §4, RFC 8725 §3.12
		{"no typ", withHeader(`{"alg":"ES256","kid":"` + kid + `"}`)},
		{"typ JWT (an ID token is not an access token)", withHeader(`{"alg":"ES256","kid":"` + kid + `","typ":"JWT"}`)},
		{"typ at+jwt with trailing space", withHeader(`{"alg":"ES256","kid":"` + kid + `","typ":"at+jwt "}`)},
		{"typ application/jwt", withHeader(`{"alg":"ES256","kid":"` + kid + `","typ":"application/jwt"}`)},
		{"typ not a string", withHeader(`{"alg":"ES256","kid":"` + kid + `","typ":["at+jwt"]}`)},
		// claim types and presence: RFC 7519 §4.1, RFC 9068 §2.2
		{"aud with non-strings", claims(`"aud":"https://rs.example.com"`, `"aud":[1,{}]`)},
		{"aud null member", claims(`"aud":"https://rs.example.com"`, `"aud":[null]`)},
		{"aud empty array", claims(`"aud":"https://rs.example.com"`, `"aud":[]`)},
		{"aud empty string", claims(`"aud":"https://rs.example.com"`, `"aud":""`)},
		{"aud number", claims(`"aud":"https://rs.example.com"`, `"aud":1`)},
		{"aud missing", claims(`"aud":"https://rs.example.com",`, ``)},
		{"exp as a string", claims(`"exp":1700000300`, `"exp":"1700000300"`)},
		{"exp null", claims(`"exp":1700000300`, `"exp":null`)},
		{"exp missing", claims(`"exp":1700000300,`, ``)},
		{"iat missing", claims(`"iat":1700000000,`, ``)},
		{"iat as a bool", claims(`"iat":1700000000`, `"iat":true`)},
		{"nbf as a string", claims(`"iat":1700000000`, `"iat":1700000000,"nbf":"1"`)},
		{"jti missing", claims(`,"jti":"jti-1"`, ``)},
		{"jti a number", claims(`"jti":"jti-1"`, `"jti":1`)},
		{"jti empty", claims(`"jti":"jti-1"`, `"jti":""`)},
		{"sub missing", claims(`"sub":"alice",`, ``)},
		{"sub a number", claims(`"sub":"alice"`, `"sub":42`)},
		{"client_id missing", claims(`"client_id":"client-1",`, ``)},
		{"iss missing", claims(`"iss":"https://as.example.com",`, ``)},
		{"scope an array", claims(`"scope":"read"`, `"scope":["read"]`)},
		// key binding: RFC 7800 §3.1, RFC 9449 §6.1; a confirmation this
		// package cannot check must not pass for a bearer token
		{"cnf a string", claims(`"scope":"read"`, `"scope":"read","cnf":"x"`)},
		{"cnf empty", claims(`"scope":"read"`, `"scope":"read","cnf":{}`)},
		{"cnf x5t#S256 (mutual TLS)", claims(`"scope":"read"`, `"scope":"read","cnf":{"x5t#S256":"bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2"}`)},
		{"cnf jkt and another method", claims(`"scope":"read"`, `"scope":"read","cnf":{"jkt":"a","jwk":{}}`)},
		{"cnf jkt empty", claims(`"scope":"read"`, `"scope":"read","cnf":{"jkt":""}`)},
		{"cnf jkt a number", claims(`"scope":"read"`, `"scope":"read","cnf":{"jkt":1}`)},
		{"cnf jkt twice", claims(`"scope":"read"`, `"scope":"read","cnf":{"jkt":"a","jkt":"b"}`)},
		{"wrong issuer (RFC 9207 §2, RFC 9700 §4.4)", claims(testIssuer, "https://evil.example")},
		{"claims an array", withPayload(`[]`)},
		{"claims null", withPayload(`null`)},
		{"claims a string", withPayload(`"x"`)},
		{"claims not JSON", withPayload(`{"iss":`)},
		{"claims trailing garbage", withPayload(goodPayload + `x`)},
		{"claims two objects", withPayload(goodPayload + goodPayload)},
		{"header not JSON", withHeader(`{alg:ES256}`)},
		{"header an array", withHeader(`["ES256"]`)},
		// size (Authlib CVE-2025-61920) and structure (RFC 7515 §7.1)
		{"longer than 8 KiB", claims(`"scope":"read"`, `"scope":"`+strings.Repeat("r", 8<<10)+`"`)},
		{"1 MB", strings.Repeat("A", 1<<20)},
		{"deeply nested JSON", withPayload(`{"x":` + strings.Repeat("[", 3000) + strings.Repeat("]", 3000) + `}`)},
		{"a JWE (five segments)", "eyJhbGciOiJSU0EtT0FFUCIsImVuYyI6IkEyNTZHQ00ifQ.a.b.c.d"},
		{"four segments", good + ".x"},
		{"empty", ""},
		{"dots only", ".."},
		{"empty header", "." + parts[1] + "." + parts[2]},
		{"empty payload", parts[0] + ".." + parts[2]},
		{"empty signature", parts[0] + "." + parts[1] + "."},
		{"padded signature", good + "=="},
		{"standard base64 alphabet", strings.NewReplacer("-", "+", "_", "/").Replace(withURLChars)},
		{"JSON serialization", `{"payload":"` + parts[1] + `","protected":"` + parts[0] + `","signature":"` + parts[2] + `"}`},
		{"signature of another token", parts[0] + "." + b64(strings.Replace(goodPayload, "alice", "mallory", 1)) + "." + parts[2]},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			key, err := j.AccessTokenKey(ctx, tc.tok)
			assert.ErrorIs(t, err, token.ErrInvalid)
			assert.Empty(t, key)
			_, err = j.Parse(ctx, tc.tok)
			assert.ErrorIs(t, err, token.ErrInvalid)
			if err != nil {
				assert.NotContains(t, err.Error(), kid, "errors do not echo token content (Keycloak GHSA-qgmm-f2qw-r95f)")
			}
		})
	}
}

func TestJWTAcceptsTypVariants(t *testing.T) {
	j, _, k := newJWT(t, jwa.ES256)
	for _, typ := range []string{"at+jwt", "AT+JWT", "At+Jwt", "application/at+jwt", "Application/AT+JWT"} {
		t.Run(typ, func(t *testing.T) {
			tok := craft(t, k, jwa.ES256, `{"alg":"ES256","kid":"`+k.KeyID()+`","typ":"`+typ+`"}`, goodPayload)
			key, err := j.AccessTokenKey(ctx, tok)
			require.NoError(t, err)
			assert.Equal(t, "jti-1", key)
		})
	}
	t.Run("escaped member names and values", func(t *testing.T) {
		tok := craft(t, k, jwa.ES256, `{"\u0061lg":"ES256","kid":"`+k.KeyID()+`","typ":"at\u002bjwt"}`,
			strings.Replace(goodPayload, `"jti":"jti-1"`, `"j\u0074i":"jti\u002d1"`, 1))
		key, err := j.AccessTokenKey(ctx, tok)
		require.NoError(t, err)
		assert.Equal(t, "jti-1", key)
	})
	t.Run("aud array and whitespace", func(t *testing.T) {
		p := "{ \"iss\" : \"https://as.example.com\",\n\"sub\":\"alice\",\"aud\":[\"a\",\"b\"],\"client_id\":\"c\",\"iat\":1.5e9,\"exp\":1700000300,\"jti\":\"j\",\"nbf\":1 }"
		tok := craft(t, k, jwa.ES256, header("ES256", k.KeyID()), p)
		c, err := j.Parse(ctx, tok)
		require.NoError(t, err)
		assert.Equal(t, []string{"a", "b"}, c.Audience)
		assert.Equal(t, int64(1_500_000_000), c.IssuedAt.Unix())
	})
}

// TestKeyURLsInHeaderAreNotFetched signs a token with an attacker key
// and points jku/x5u at a server that would serve it (RFC 8725 §3.10).
func TestKeyURLsInHeaderAreNotFetched(t *testing.T) {
	j, _, k := newJWT(t, jwa.ES256)
	attacker := newKey(t, jwa.ES256)
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		pub := mustPublic(t, attacker)
		set := jwk.NewSet()
		_ = set.AddKey(pub)
		_ = json.NewEncoder(w).Encode(set)
	}))
	defer srv.Close()

	for _, member := range []string{"jku", "x5u"} {
		t.Run(member+" to an attacker key is ignored", func(t *testing.T) {
			h := `{"alg":"ES256","kid":"` + attacker.KeyID() + `","typ":"at+jwt","` + member + `":"` + srv.URL + `"}`
			_, err := j.AccessTokenKey(ctx, craft(t, attacker, jwa.ES256, h, goodPayload))
			assert.ErrorIs(t, err, token.ErrInvalid)
		})
		t.Run(member+" on a valid token is ignored", func(t *testing.T) {
			h := `{"alg":"ES256","kid":"` + k.KeyID() + `","typ":"at+jwt","` + member + `":"` + srv.URL + `"}`
			key, err := j.AccessTokenKey(ctx, craft(t, k, jwa.ES256, h, goodPayload))
			require.NoError(t, err)
			assert.Equal(t, "jti-1", key)
		})
	}
	assert.Zero(t, hits.Load(), "no outbound request")
}

func TestJWTKeyRotation(t *testing.T) {
	k1, k2 := newKey(t, jwa.ES256), newKey(t, jwa.EdDSA)
	ks, err := token.NewKeySet(k1)
	require.NoError(t, err)
	j, err := token.NewJWT(token.JWTConfig{Keys: ks, Issuer: testIssuer})
	require.NoError(t, err)
	kidOf := func(tok string) string { return decodeSegment(t, tok, 0)["kid"].(string) }

	old := mint(t, j, testClaims())
	assert.Equal(t, k1.KeyID(), kidOf(old))

	require.NoError(t, ks.Add(k2))
	doc, err := j.JWKS()
	require.NoError(t, err)
	assert.Contains(t, string(doc), k2.KeyID(), "an added key is published")
	assert.Equal(t, k1.KeyID(), kidOf(mint(t, j, testClaims())), "but does not sign yet")

	require.NoError(t, ks.Promote(k2.KeyID()))
	fresh := mint(t, j, testClaims())
	assert.Equal(t, k2.KeyID(), kidOf(fresh), "a promoted key signs")
	_, err = j.AccessTokenKey(ctx, old)
	assert.NoError(t, err, "the old key still verifies")
	assert.Equal(t, 2, j.PublicKeys().Len())

	require.NoError(t, ks.Remove(k1.KeyID()))
	_, err = j.AccessTokenKey(ctx, old)
	assert.ErrorIs(t, err, token.ErrInvalid, "tokens of a removed key are rejected")
	_, err = j.AccessTokenKey(ctx, fresh)
	assert.NoError(t, err)
}

func TestJWTConcurrentMintVerifyRotate(t *testing.T) {
	ks, err := token.NewKeySet(newKey(t, jwa.EdDSA))
	require.NoError(t, err)
	j, err := token.NewJWT(token.JWTConfig{Keys: ks, Issuer: testIssuer})
	require.NoError(t, err)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				c := testClaims()
				tok, key, err := j.MintAccessToken(ctx, c)
				if !assert.NoError(t, err) {
					return
				}
				got, err := j.AccessTokenKey(ctx, tok)
				assert.NoError(t, err)
				assert.Equal(t, key, got)
			}
		}()
	}
	for range 5 {
		k := newKey(t, jwa.EdDSA)
		require.NoError(t, ks.Add(k))
		require.NoError(t, ks.Promote(k.KeyID()))
	}
	wg.Wait()
}

func mustPublic(t testing.TB, k jwk.Key) jwk.Key {
	t.Helper()
	p, err := k.PublicKey()
	require.NoError(t, err)
	return p
}

func mustRaw(t testing.TB, k jwk.Key) any {
	t.Helper()
	var raw any
	require.NoError(t, k.Raw(&raw))
	return raw
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}

// SignJWT signs other JWTs of the authorization server (RFC 9701
// introspection responses) and can never mint an access token.
func TestSignJWT(t *testing.T) {
	j, keys, _ := newJWT(t, jwa.ES256)
	ctx := context.Background()
	signed, err := j.SignJWT(ctx, "token-introspection+jwt", []byte(`{"iss":"x","token_introspection":{"active":false}}`))
	require.NoError(t, err)
	payload, err := jws.Verify([]byte(signed), jws.WithKeySet(keys.PublicKeys(), jws.WithInferAlgorithmFromKey(true)))
	require.NoError(t, err)
	assert.JSONEq(t, `{"iss":"x","token_introspection":{"active":false}}`, string(payload))
	_, err = j.AccessTokenKey(ctx, signed)
	assert.ErrorIs(t, err, token.ErrInvalid, "not an access token (typ)")

	for _, typ := range []string{"", "at+jwt", "AT+JWT", "application/at+jwt"} {
		_, err := j.SignJWT(ctx, typ, []byte(`{}`))
		assert.Error(t, err, typ)
	}
	for _, claims := range []string{"", "[]", `"x"`, "{", "null"} {
		_, err := j.SignJWT(ctx, "x+jwt", []byte(claims))
		assert.Error(t, err, claims)
	}
	alg, err := j.SigningAlgorithm(ctx)
	require.NoError(t, err)
	assert.Equal(t, jwa.ES256, alg)
}
