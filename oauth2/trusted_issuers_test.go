package oauth2_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/oauth2"
)

// Tests of VerifyTrustedJWT and TrustedIssuerList: JWTs of issuers the
// host trusts (RFC 8693 §2.1 subject tokens, RFC 7523 §2.1 assertions).

const tjIssuer = "https://idp.example.com"

var tjNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

type tjKeySet struct {
	ec  *ecdsa.PrivateKey
	rsa *rsa.PrivateKey
	ed  ed25519.PrivateKey
}

var (
	tjKeysOnce sync.Once
	tjKeysVal  tjKeySet
)

func tjKeys() *tjKeySet {
	tjKeysOnce.Do(func() {
		tjKeysVal.ec = caMust(ecdsa.GenerateKey(elliptic.P256(), rand.Reader))
		tjKeysVal.rsa = caMust(rsa.GenerateKey(rand.Reader, 2048))
		_, tjKeysVal.ed = caMust2(ed25519.GenerateKey(rand.Reader))
	})
	return &tjKeysVal
}

// tjJWKS is a JWK Set document of the public parts of keys, with the
// given kids ("" for none).
func tjJWKS(t testing.TB, kids []string, keys ...any) json.RawMessage {
	t.Helper()
	set := jwk.NewSet()
	for i, k := range keys {
		switch kk := k.(type) {
		case rawKey:
			k = kk.key
		case rawEd:
			k = kk.key
		case crypto.Signer:
			k = kk.Public()
		}
		key, err := jwk.FromRaw(k)
		require.NoError(t, err)
		if kids[i] != "" {
			require.NoError(t, key.Set(jwk.KeyIDKey, kids[i]))
		}
		require.NoError(t, set.AddKey(key))
	}
	return caMust(json.Marshal(set))
}

// tjList trusts tjIssuer with the EC ("ec"), RSA ("rsa") and Ed25519
// ("ed") keys, inline.
func tjList(t testing.TB) *oauth2.TrustedIssuerList {
	t.Helper()
	k := tjKeys()
	l, err := oauth2.NewTrustedIssuerList([]oauth2.TrustedIssuer{
		{Issuer: tjIssuer, JWKS: tjJWKS(t, []string{"ec", "rsa", "ed"}, &k.ec.PublicKey, &k.rsa.PublicKey, k.ed.Public())},
	}, nil)
	require.NoError(t, err)
	return l
}

func tjClaims() map[string]any {
	return map[string]any{
		"iss": tjIssuer,
		"sub": "alice",
		"aud": "https://as.example.com",
		"exp": tjNow.Add(5 * time.Minute).Unix(),
		"iat": tjNow.Unix(),
		"jti": "id-1",
	}
}

// tjSign signs header and claims (JSON-encoded) with alg and key.
func tjSign(t testing.TB, alg string, key any, header, claims map[string]any) string {
	t.Helper()
	h := map[string]any{"alg": alg}
	for k, v := range header {
		if v == nil {
			delete(h, k)
			continue
		}
		h[k] = v
	}
	return signRaw(t, alg, key, caMust(json.Marshal(h)), caMust(json.Marshal(claims)))
}

func tjES256(t testing.TB, header, claims map[string]any) string {
	t.Helper()
	if header == nil {
		header = map[string]any{"kid": "ec"}
	}
	return tjSign(t, "ES256", tjKeys().ec, header, claims)
}

func tjOpts() oauth2.TrustedJWTOptions { return oauth2.TrustedJWTOptions{Now: tjNow} }

// assertUntrusted checks a refusal: it wraps ErrUntrustedJWT and does not
// quote the token.
func assertUntrusted(t *testing.T, err error, token string) {
	t.Helper()
	require.Error(t, err)
	assert.ErrorIs(t, err, oauth2.ErrUntrustedJWT)
	for _, part := range strings.Split(token, ".") {
		if len(part) >= 8 {
			assert.NotContains(t, err.Error(), part)
		}
	}
}

func TestVerifyTrustedJWT_KeyTypes(t *testing.T) {
	k := tjKeys()
	l := tjList(t)
	for _, c := range []struct {
		alg, kid string
		key      any
	}{
		{"ES256", "ec", k.ec},
		{"RS256", "rsa", k.rsa},
		{"PS256", "rsa", k.rsa},
		{"EdDSA", "ed", k.ed},
		{"ES256", "", k.ec}, // without kid every fitting key is tried
	} {
		t.Run(c.alg+" kid="+c.kid, func(t *testing.T) {
			claims := tjClaims()
			claims["ext"] = map[string]any{"n": 12345678901234567, "list": []any{"a"}}
			header := map[string]any{"kid": c.kid, "typ": "JWT"}
			if c.kid == "" {
				header["kid"] = nil // no kid member
			}
			tok := tjSign(t, c.alg, c.key, header, claims)
			got, err := oauth2.VerifyTrustedJWT(context.Background(), l, tok, tjOpts())
			require.NoError(t, err)
			assert.Equal(t, tjIssuer, got.Issuer)
			assert.Equal(t, "alice", got.Subject)
			assert.Equal(t, []string{"https://as.example.com"}, got.Audience)
			assert.Equal(t, "id-1", got.ID)
			assert.Equal(t, tjNow.Add(5*time.Minute), got.ExpiresAt)
			assert.Equal(t, tjNow, got.IssuedAt)
			assert.True(t, got.NotBefore.IsZero())
			assert.Equal(t, "JWT", got.Type)
			assert.Equal(t, c.alg, got.Algorithm)
			assert.Equal(t, tjIssuer, got.Claims["iss"])
			assert.Equal(t, json.Number(fmt.Sprint(tjNow.Add(5*time.Minute).Unix())), got.Claims["exp"])
			assert.Equal(t, map[string]any{"n": json.Number("12345678901234567"), "list": []any{"a"}}, got.Claims["ext"])
		})
	}
}

func TestVerifyTrustedJWT_Audience(t *testing.T) {
	l := tjList(t)
	for name, c := range map[string]struct {
		aud  any
		want []string
	}{
		"aud as a string":            {"https://as.example.com", []string{"https://as.example.com"}},
		"aud as an array of strings": {[]string{"a", "b"}, []string{"a", "b"}},
	} {
		t.Run(name, func(t *testing.T) {
			claims := tjClaims()
			claims["aud"] = c.aud
			got, err := oauth2.VerifyTrustedJWT(context.Background(), l, tjES256(t, nil, claims), tjOpts())
			require.NoError(t, err)
			assert.Equal(t, c.want, got.Audience)
		})
	}
	t.Run("no aud, no sub, no jti", func(t *testing.T) {
		claims := tjClaims()
		delete(claims, "aud")
		delete(claims, "sub")
		delete(claims, "jti")
		got, err := oauth2.VerifyTrustedJWT(context.Background(), l, tjES256(t, nil, claims), tjOpts())
		require.NoError(t, err)
		assert.Nil(t, got.Audience)
		assert.Empty(t, got.Subject)
		assert.Empty(t, got.ID)
	})
}

// TestVerifyTrustedJWT_Rules: one refusal per rule; and, where a rule has
// a tolerance, the accepted side of it.
func TestVerifyTrustedJWT_Rules(t *testing.T) {
	k := tjKeys()
	l := tjList(t)
	attacker := caMust(ecdsa.GenerateKey(elliptic.P256(), rand.Reader))
	attackerJWK := caMust(jwk.FromRaw(&attacker.PublicKey))
	rel := func(d time.Duration) int64 { return tjNow.Add(d).Unix() }
	with := func(mod func(map[string]any)) map[string]any {
		c := tjClaims()
		mod(c)
		return c
	}
	goodSig := strings.Split(tjES256(t, nil, tjClaims()), ".")[2]
	raw := func(header, claims string) string {
		return signRaw(t, "ES256", k.ec, []byte(header), []byte(claims))
	}
	okClaims := string(caMust(json.Marshal(tjClaims())))

	cases := []struct {
		name  string
		token string
		opts  func(*oauth2.TrustedJWTOptions)
		ok    bool
		// reason, when set, must be in the error: for rules that a
		// later one would also catch.
		reason string
	}{
		// Form (RFC 7515 §7.1, Authlib CVE-2025-61920).
		{name: "longer than MaxTrustedJWTSize", token: tjES256(t, nil, with(func(c map[string]any) { c["pad"] = strings.Repeat("a", oauth2.MaxTrustedJWTSize) }))},
		{name: "JWE (five parts)", token: "eyJhbGciOiJSU0EtT0FFUCIsImVuYyI6IkEyNTZHQ00ifQ.a.b.c.d"},
		{name: "JSON serialization", token: `{"payload":"e30","signatures":[]}`},
		{name: "bare header.payload", token: "eyJhbGciOiJFUzI1NiJ9.e30"},
		{name: "padded base64", token: tjES256(t, nil, tjClaims()) + "=="},
		{name: "empty signature", token: func() string {
			parts := strings.Split(tjES256(t, nil, tjClaims()), ".")
			return parts[0] + "." + parts[1] + "."
		}()},
		{name: "header not an object", token: raw(`["alg","ES256"]`, okClaims)},
		{name: "claims not an object", token: raw(`{"alg":"ES256","kid":"ec"}`, `"x"`)},
		{name: "duplicate alg (RFC 7515 §5.2)", token: raw(`{"alg":"ES256","alg":"ES256","kid":"ec"}`, okClaims)},
		{name: "duplicate exp (RFC 7519 §4)", token: raw(`{"alg":"ES256","kid":"ec"}`, strings.TrimSuffix(okClaims, "}")+fmt.Sprintf(`,"exp":%d}`, rel(time.Hour)))},
		{name: "claims nested too deep", token: raw(`{"alg":"ES256","kid":"ec"}`, strings.TrimSuffix(okClaims, "}")+`,"x":`+strings.Repeat("[", 40)+strings.Repeat("]", 40)+"}")},

		// Header (RFC 7515 §4.1, RFC 8725 §3).
		{name: "alg none (RFC 8725 §3.1)", token: caB64([]byte(`{"alg":"none"}`)) + "." + caB64([]byte(okClaims)) + "." + goodSig, reason: "unsigned JWS"},
		{name: "alg None", token: caB64([]byte(`{"alg":"None"}`)) + "." + caB64([]byte(okClaims)) + "." + goodSig, reason: "unsigned JWS"},
		{name: "alg missing", token: raw(`{"kid":"ec"}`, okClaims)},
		{name: "alg not a string", token: raw(`{"alg":1,"kid":"ec"}`, okClaims)},
		{name: "alg not in Algorithms", token: tjSign(t, "RS256", k.rsa, map[string]any{"kid": "rsa"}, tjClaims()),
			opts: func(o *oauth2.TrustedJWTOptions) { o.Algorithms = []string{"ES256"} }},
		{name: "alg confusion: HS256 with the RSA public key as secret", token: tjSign(t, "HS256",
			caMust(x509.MarshalPKIXPublicKey(&k.rsa.PublicKey)), map[string]any{"kid": "rsa"}, tjClaims())},
		{name: "alg ES256 from the RSA key's kid (key decides the alg)", token: tjSign(t, "ES256", k.ec, map[string]any{"kid": "rsa"}, tjClaims())},
		{name: "crit", token: tjES256(t, map[string]any{"kid": "ec", "crit": []string{"exp"}}, tjClaims())},
		{name: "b64 (RFC 7797)", token: tjES256(t, map[string]any{"kid": "ec", "b64": false}, tjClaims())},
		{name: "zip", token: tjES256(t, map[string]any{"kid": "ec", "zip": "DEF"}, tjClaims())},
		{name: "enc", token: tjES256(t, map[string]any{"kid": "ec", "enc": "A256GCM"}, tjClaims())},
		{name: "kid not a string", token: tjES256(t, map[string]any{"kid": 7}, tjClaims())},
		{name: "typ not a string", token: tjES256(t, map[string]any{"kid": "ec", "typ": 1}, tjClaims())},
		{name: "typ dpop+jwt (RFC 8725 §3.11)", token: tjES256(t, map[string]any{"kid": "ec", "typ": "dpop+jwt"}, tjClaims())},
		{name: "typ application/DPoP+JWT", token: tjES256(t, map[string]any{"kid": "ec", "typ": "application/DPoP+JWT"}, tjClaims())},
		{name: "typ client-authentication+jwt", token: tjES256(t, map[string]any{"kid": "ec", "typ": "client-authentication+jwt"}, tjClaims())},
		{name: "typ logout+jwt", token: tjES256(t, map[string]any{"kid": "ec", "typ": "logout+jwt"}, tjClaims())},
		{name: "typ secevent+jwt", token: tjES256(t, map[string]any{"kid": "ec", "typ": "secevent+jwt"}, tjClaims())},
		{name: "typ token-introspection+jwt", token: tjES256(t, map[string]any{"kid": "ec", "typ": "Token-Introspection+JWT"}, tjClaims())},
		{name: "typ JWT accepted", token: tjES256(t, map[string]any{"kid": "ec", "typ": "JWT"}, tjClaims()), ok: true},
		{name: "typ at+jwt accepted", token: tjES256(t, map[string]any{"kid": "ec", "typ": "at+jwt"}, tjClaims()), ok: true},
		// Keys named by the token itself are never used (RFC 8725 §3.10).
		{name: "signed by the key in its own jwk header", token: tjSign(t, "ES256", attacker, map[string]any{"jwk": attackerJWK}, tjClaims())},
		{name: "signed by a key at its own jku", token: tjSign(t, "ES256", attacker, map[string]any{"jku": "https://attacker.example/jwks"}, tjClaims())},
		{name: "signed by an unknown key, kid of a trusted one", token: tjSign(t, "ES256", attacker, map[string]any{"kid": "ec"}, tjClaims())},
		{name: "unknown kid", token: tjES256(t, map[string]any{"kid": "nope"}, tjClaims())},
		{name: "claims changed after signing", token: func() string {
			parts := strings.Split(tjES256(t, nil, tjClaims()), ".")
			return parts[0] + "." + caB64(caMust(json.Marshal(with(func(c map[string]any) { c["sub"] = "admin" })))) + "." + parts[2]
		}()},

		// Claims (RFC 7519 §4.1, RFC 7523 §3).
		{name: "iss missing", token: tjES256(t, nil, with(func(c map[string]any) { delete(c, "iss") }))},
		{name: "iss not a string", token: tjES256(t, nil, with(func(c map[string]any) { c["iss"] = []string{tjIssuer} }))},
		{name: "iss empty", token: tjES256(t, nil, with(func(c map[string]any) { c["iss"] = "" })), reason: "iss claim is missing"},
		{name: "iss differs in case", token: tjES256(t, nil, with(func(c map[string]any) { c["iss"] = strings.ToUpper(tjIssuer) }))},
		{name: "exp missing (RFC 7523 §3 item 4)", token: tjES256(t, nil, with(func(c map[string]any) { delete(c, "exp") }))},
		{name: "exp a string", token: tjES256(t, nil, with(func(c map[string]any) { c["exp"] = fmt.Sprint(rel(time.Hour)) }))},
		{name: "exp before 1970", token: tjES256(t, nil, with(func(c map[string]any) { c["exp"] = -1 }))},
		{name: "expired beyond leeway", token: tjES256(t, nil, with(func(c map[string]any) { c["exp"] = rel(-61 * time.Second); c["iat"] = rel(-time.Hour) }))},
		{name: "expired exactly at leeway", token: tjES256(t, nil, with(func(c map[string]any) { c["exp"] = rel(-60 * time.Second); c["iat"] = rel(-time.Hour) }))},
		{name: "expired within leeway accepted", token: tjES256(t, nil, with(func(c map[string]any) { c["exp"] = rel(-59 * time.Second); c["iat"] = rel(-time.Hour) })), ok: true},
		{name: "expired beyond a custom leeway", token: tjES256(t, nil, with(func(c map[string]any) { c["exp"] = rel(-6 * time.Second) })),
			opts: func(o *oauth2.TrustedJWTOptions) { o.Leeway = 5 * time.Second }},
		{name: "nbf beyond leeway", token: tjES256(t, nil, with(func(c map[string]any) { c["nbf"] = rel(61 * time.Second) }))},
		{name: "nbf within leeway accepted", token: tjES256(t, nil, with(func(c map[string]any) { c["nbf"] = rel(60 * time.Second) })), ok: true},
		{name: "nbf not a NumericDate", token: tjES256(t, nil, with(func(c map[string]any) { c["nbf"] = "now" }))},
		{name: "iat beyond leeway", token: tjES256(t, nil, with(func(c map[string]any) { c["iat"] = rel(61 * time.Second) }))},
		{name: "iat within leeway accepted", token: tjES256(t, nil, with(func(c map[string]any) { c["iat"] = rel(60 * time.Second) })), ok: true},
		{name: "iat not a NumericDate", token: tjES256(t, nil, with(func(c map[string]any) { c["iat"] = true }))},
		{name: "iat after exp", token: tjES256(t, nil, with(func(c map[string]any) { c["iat"] = rel(30 * time.Second); c["exp"] = rel(20 * time.Second) }))},
		{name: "no MaxLifetime: exp a year ahead accepted", token: tjES256(t, nil, with(func(c map[string]any) { c["exp"] = rel(365 * 24 * time.Hour) })), ok: true},
		{name: "exp beyond MaxLifetime+leeway (RFC 7523 §3 item 4)", token: tjES256(t, nil, with(func(c map[string]any) { c["exp"] = rel(11*time.Minute + time.Second) })),
			opts: func(o *oauth2.TrustedJWTOptions) { o.MaxLifetime = 10 * time.Minute }},
		{name: "exp within MaxLifetime+leeway accepted", token: tjES256(t, nil, with(func(c map[string]any) { c["exp"] = rel(11 * time.Minute) })),
			opts: func(o *oauth2.TrustedJWTOptions) { o.MaxLifetime = 10 * time.Minute }, ok: true},
		{name: "iat older than MaxLifetime+leeway (RFC 7523 §3 item 6)", token: tjES256(t, nil, with(func(c map[string]any) { c["iat"] = rel(-11*time.Minute - time.Second) })),
			opts: func(o *oauth2.TrustedJWTOptions) { o.MaxLifetime = 10 * time.Minute }},
		{name: "iat within MaxLifetime+leeway accepted", token: tjES256(t, nil, with(func(c map[string]any) { c["iat"] = rel(-11 * time.Minute) })),
			opts: func(o *oauth2.TrustedJWTOptions) { o.MaxLifetime = 10 * time.Minute }, ok: true},
		{name: "no MaxLifetime: iat a day old accepted", token: tjES256(t, nil, with(func(c map[string]any) { c["iat"] = rel(-24 * time.Hour) })), ok: true},
		{name: "RequireJTI: jti with a control character", token: tjES256(t, nil, with(func(c map[string]any) { c["jti"] = "id\x00-1" })),
			opts: func(o *oauth2.TrustedJWTOptions) { o.RequireJTI = true }},
		{name: "sub not a string", token: tjES256(t, nil, with(func(c map[string]any) { c["sub"] = 42 }))},
		{name: "aud a number", token: tjES256(t, nil, with(func(c map[string]any) { c["aud"] = 1 }))},
		{name: "aud an array with a number", token: tjES256(t, nil, with(func(c map[string]any) { c["aud"] = []any{"a", 1} }))},
		{name: "jti not a string", token: tjES256(t, nil, with(func(c map[string]any) { c["jti"] = 1 }))},
		{name: "RequireJTI: jti missing", token: tjES256(t, nil, with(func(c map[string]any) { delete(c, "jti") })),
			opts: func(o *oauth2.TrustedJWTOptions) { o.RequireJTI = true }},
		{name: "RequireJTI: jti empty", token: tjES256(t, nil, with(func(c map[string]any) { c["jti"] = "" })),
			opts: func(o *oauth2.TrustedJWTOptions) { o.RequireJTI = true }},
		{name: "RequireJTI: jti of 256 bytes", token: tjES256(t, nil, with(func(c map[string]any) { c["jti"] = strings.Repeat("j", 256) })),
			opts: func(o *oauth2.TrustedJWTOptions) { o.RequireJTI = true }},
		{name: "RequireJTI: jti of 255 bytes accepted", token: tjES256(t, nil, with(func(c map[string]any) { c["jti"] = strings.Repeat("j", 255) })),
			opts: func(o *oauth2.TrustedJWTOptions) { o.RequireJTI = true }, ok: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			opts := tjOpts()
			if c.opts != nil {
				c.opts(&opts)
			}
			got, err := oauth2.VerifyTrustedJWT(context.Background(), l, c.token, opts)
			if c.ok {
				require.NoError(t, err)
				assert.NotNil(t, got)
				return
			}
			assert.Nil(t, got)
			assertUntrusted(t, err, c.token)
			if c.reason != "" {
				assert.ErrorContains(t, err, c.reason)
			}
		})
	}
}

func TestVerifyTrustedJWT_UnknownIssuer(t *testing.T) {
	claims := tjClaims()
	claims["iss"] = "https://other.example.com"
	tok := tjES256(t, nil, claims)
	_, err := oauth2.VerifyTrustedJWT(context.Background(), tjList(t), tok, tjOpts())
	assertUntrusted(t, err, tok)
	assert.ErrorIs(t, err, oauth2.ErrUnknownIssuer)
}

func TestVerifyTrustedJWT_Options(t *testing.T) {
	l := tjList(t)
	tok := tjES256(t, nil, tjClaims())
	for name, c := range map[string]struct {
		issuers oauth2.TrustedIssuers
		opts    oauth2.TrustedJWTOptions
	}{
		"zero Now":               {l, oauth2.TrustedJWTOptions{}},
		"negative Leeway":        {l, oauth2.TrustedJWTOptions{Now: tjNow, Leeway: -time.Second}},
		"HS256 in Algorithms":    {l, oauth2.TrustedJWTOptions{Now: tjNow, Algorithms: []string{"ES256", "HS256"}}},
		"none in Algorithms":     {l, oauth2.TrustedJWTOptions{Now: tjNow, Algorithms: []string{"none"}}},
		"nil TrustedIssuers":     {nil, tjOpts()},
		"nil *TrustedIssuerList": {(*oauth2.TrustedIssuerList)(nil), tjOpts()},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := oauth2.VerifyTrustedJWT(context.Background(), c.issuers, tok, c.opts)
			require.Error(t, err)
			assert.NotErrorIs(t, err, oauth2.ErrUntrustedJWT)
		})
	}
}

// funcIssuers is a TrustedIssuers of a host application.
type funcIssuers func(ctx context.Context, issuer string, refresh bool) (jwk.Set, error)

func (f funcIssuers) IssuerKeys(ctx context.Context, issuer string, refresh bool) (jwk.Set, error) {
	return f(ctx, issuer, refresh)
}

func TestVerifyTrustedJWT_HostIssuers(t *testing.T) {
	k := tjKeys()
	tok := tjES256(t, nil, tjClaims())
	set := caMust(jwk.Parse(tjJWKS(t, []string{"ec"}, &k.ec.PublicKey)))

	t.Run("outage is not a refusal", func(t *testing.T) {
		outage := errors.New("database down")
		_, err := oauth2.VerifyTrustedJWT(context.Background(), funcIssuers(func(context.Context, string, bool) (jwk.Set, error) {
			return nil, outage
		}), tok, tjOpts())
		require.Error(t, err)
		assert.ErrorIs(t, err, outage)
		assert.NotErrorIs(t, err, oauth2.ErrUntrustedJWT)
	})
	t.Run("wrapped ErrUnknownIssuer is a refusal", func(t *testing.T) {
		_, err := oauth2.VerifyTrustedJWT(context.Background(), funcIssuers(func(context.Context, string, bool) (jwk.Set, error) {
			return nil, fmt.Errorf("lookup: %w", oauth2.ErrUnknownIssuer)
		}), tok, tjOpts())
		assertUntrusted(t, err, tok)
	})
	t.Run("refresh asked once, after no key verified", func(t *testing.T) {
		other := caMust(jwk.Parse(tjJWKS(t, []string{"old"}, caMust(ecdsa.GenerateKey(elliptic.P256(), rand.Reader)))))
		var calls []bool
		got, err := oauth2.VerifyTrustedJWT(context.Background(), funcIssuers(func(_ context.Context, iss string, refresh bool) (jwk.Set, error) {
			assert.Equal(t, tjIssuer, iss)
			calls = append(calls, refresh)
			if refresh {
				return set, nil
			}
			return other, nil
		}), tok, tjOpts())
		require.NoError(t, err)
		assert.Equal(t, "alice", got.Subject)
		assert.Equal(t, []bool{false, true}, calls)
	})
	t.Run("private and symmetric keys from a host are never used", func(t *testing.T) {
		// A careless host returns the private key; a token MACed with
		// a symmetric key it returns must not verify either.
		secret := []byte(strings.Repeat("s", 32))
		hs := tjSign(t, "HS256", secret, nil, tjClaims())
		bad := jwk.NewSet()
		require.NoError(t, bad.AddKey(caMust(jwk.FromRaw(secret))))
		require.NoError(t, bad.AddKey(caMust(jwk.FromRaw(k.ec))))
		issuers := funcIssuers(func(context.Context, string, bool) (jwk.Set, error) { return bad, nil })
		for _, tok := range []string{hs, tok} {
			_, err := oauth2.VerifyTrustedJWT(context.Background(), issuers, tok, tjOpts())
			assertUntrusted(t, err, tok)
		}
	})
}

// tjIssuerServer serves a JWK Set that a test can replace, and counts
// requests.
type tjIssuerServer struct {
	*httptest.Server
	mu   sync.Mutex
	doc  []byte
	code int
	hits atomic.Int64
}

func newTJIssuerServer(t *testing.T, doc []byte) *tjIssuerServer {
	s := &tjIssuerServer{doc: doc, code: http.StatusOK}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		s.mu.Lock()
		defer s.mu.Unlock()
		w.WriteHeader(s.code)
		_, _ = w.Write(s.doc)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *tjIssuerServer) set(doc []byte, code int) {
	s.mu.Lock()
	s.doc, s.code = doc, code
	s.mu.Unlock()
}

type tjClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *tjClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *tjClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func TestVerifyTrustedJWT_JWKSURI(t *testing.T) {
	k := tjKeys()
	newKey := caMust(ecdsa.GenerateKey(elliptic.P256(), rand.Reader))
	srv := newTJIssuerServer(t, tjJWKS(t, []string{"ec"}, &k.ec.PublicKey))
	clock := &tjClock{now: tjNow}
	fetcher := &oauth2.JWKSFetcher{AllowPrivateAddresses: true, Now: clock.Now, MinRefetchInterval: 30 * time.Second}
	l, err := oauth2.NewTrustedIssuerList([]oauth2.TrustedIssuer{{Issuer: tjIssuer, JWKSURI: srv.URL + "/jwks"}}, fetcher)
	require.NoError(t, err)
	ctx := context.Background()

	// The first JWT fetches the set; the next ones use the cache.
	for range 3 {
		_, err := oauth2.VerifyTrustedJWT(ctx, l, tjES256(t, nil, tjClaims()), tjOpts())
		require.NoError(t, err)
	}
	assert.Equal(t, int64(1), srv.hits.Load())

	// The issuer rotates to a new key: a JWT with the new kid makes one
	// refresh, then verifies.
	clock.Advance(time.Minute)
	srv.set(tjJWKS(t, []string{"ec", "new"}, &k.ec.PublicKey, &newKey.PublicKey), http.StatusOK)
	rotated := tjSign(t, "ES256", newKey, map[string]any{"kid": "new"}, tjClaims())
	got, err := oauth2.VerifyTrustedJWT(ctx, l, rotated, tjOpts())
	require.NoError(t, err)
	assert.Equal(t, "alice", got.Subject)
	assert.Equal(t, int64(2), srv.hits.Load())

	// A flood of made-up kids: at most one fetch per MinRefetchInterval.
	for i := range 50 {
		tok := tjES256(t, map[string]any{"kid": fmt.Sprintf("made-up-%d", i)}, tjClaims())
		_, err := oauth2.VerifyTrustedJWT(ctx, l, tok, tjOpts())
		assertUntrusted(t, err, tok)
	}
	assert.Equal(t, int64(2), srv.hits.Load(), "within MinRefetchInterval of the last fetch")
	clock.Advance(31 * time.Second)
	for i := range 50 {
		tok := tjES256(t, map[string]any{"kid": fmt.Sprintf("again-%d", i)}, tjClaims())
		_, err := oauth2.VerifyTrustedJWT(ctx, l, tok, tjOpts())
		assertUntrusted(t, err, tok)
	}
	assert.Equal(t, int64(3), srv.hits.Load(), "one more fetch in the next interval")

	// IssuerKeys gives the fetched set.
	set, err := l.IssuerKeys(ctx, tjIssuer, false)
	require.NoError(t, err)
	assert.Equal(t, 2, set.Len())
}

func TestVerifyTrustedJWT_JWKSFetchFailureIsNotARefusal(t *testing.T) {
	srv := newTJIssuerServer(t, []byte("oops"))
	srv.set([]byte("oops"), http.StatusInternalServerError)
	l, err := oauth2.NewTrustedIssuerList([]oauth2.TrustedIssuer{{Issuer: tjIssuer, JWKSURI: srv.URL}},
		&oauth2.JWKSFetcher{AllowPrivateAddresses: true})
	require.NoError(t, err)
	_, err = oauth2.VerifyTrustedJWT(context.Background(), l, tjES256(t, nil, tjClaims()), tjOpts())
	require.Error(t, err)
	assert.ErrorIs(t, err, oauth2.ErrJWKSFetch)
	assert.NotErrorIs(t, err, oauth2.ErrUntrustedJWT)

	_, err = l.IssuerKeys(context.Background(), tjIssuer, false)
	assert.ErrorIs(t, err, oauth2.ErrJWKSFetch)
}

func TestTrustedIssuerList(t *testing.T) {
	k := tjKeys()
	good := tjJWKS(t, []string{"ec"}, &k.ec.PublicKey)
	l, err := oauth2.NewTrustedIssuerList([]oauth2.TrustedIssuer{
		{Issuer: "https://b.example", JWKS: good},
		{Issuer: "https://a.example", JWKSURI: "https://a.example/jwks"},
	}, nil)
	require.NoError(t, err)
	assert.Equal(t, []string{"https://b.example", "https://a.example"}, l.Issuers())

	_, err = l.IssuerKeys(context.Background(), "https://c.example", false)
	assert.ErrorIs(t, err, oauth2.ErrUnknownIssuer)

	// The static set cannot be changed through what IssuerKeys returns.
	set, err := l.IssuerKeys(context.Background(), "https://b.example", false)
	require.NoError(t, err)
	require.Equal(t, 1, set.Len())
	require.NoError(t, set.AddKey(caMust(jwk.FromRaw(&caMust(ecdsa.GenerateKey(elliptic.P256(), rand.Reader)).PublicKey))))
	again, err := l.IssuerKeys(context.Background(), "https://b.example", false)
	require.NoError(t, err)
	assert.Equal(t, 1, again.Len())
	issuers := l.Issuers()
	issuers[0] = "changed"
	assert.Equal(t, "https://b.example", l.Issuers()[0])
}

func TestNewTrustedIssuerList_Errors(t *testing.T) {
	k := tjKeys()
	good := tjJWKS(t, []string{"ec"}, &k.ec.PublicKey)
	withPrivate := tjJWKS(t, []string{"ec", "priv"}, &k.ec.PublicKey, rawKey{k.ec})
	withEdPrivate := tjJWKS(t, []string{"ec", "priv"}, &k.ec.PublicKey, rawEd{k.ed})
	withSymmetric := tjJWKS(t, []string{"ec", "oct"}, &k.ec.PublicKey, []byte(strings.Repeat("s", 32)))
	onlyEnc := json.RawMessage(strings.Replace(string(good), `"kty"`, `"use":"enc","kty"`, 1))
	small := caMust(rsa.GenerateKey(rand.Reader, 1024))

	cases := []struct {
		name    string
		list    []oauth2.TrustedIssuer
		fetcher *oauth2.JWKSFetcher
		want    string
	}{
		{name: "private key in jwks", list: []oauth2.TrustedIssuer{{Issuer: "https://i.example", JWKS: withPrivate}}, want: "public keys only"},
		{name: "Ed25519 private key in jwks", list: []oauth2.TrustedIssuer{{Issuer: "https://i.example", JWKS: withEdPrivate}}, want: "public keys only"},
		{name: "symmetric key in jwks", list: []oauth2.TrustedIssuer{{Issuer: "https://i.example", JWKS: withSymmetric}}, want: "public keys only"},
		{name: "both jwks and jwks_uri", list: []oauth2.TrustedIssuer{{Issuer: "https://i.example", JWKS: good, JWKSURI: "https://i.example/jwks"}}},
		{name: "neither jwks nor jwks_uri", list: []oauth2.TrustedIssuer{{Issuer: "https://i.example"}}},
		{name: "http jwks_uri", list: []oauth2.TrustedIssuer{{Issuer: "https://i.example", JWKSURI: "http://i.example/jwks"}}},
		{name: "http loopback jwks_uri the default fetcher refuses", list: []oauth2.TrustedIssuer{{Issuer: "https://i.example", JWKSURI: "http://127.0.0.1/jwks"}}},
		{name: "jwks_uri with user info", list: []oauth2.TrustedIssuer{{Issuer: "https://i.example", JWKSURI: "https://u:p@i.example/jwks"}}},
		{name: "jwks_uri not absolute", list: []oauth2.TrustedIssuer{{Issuer: "https://i.example", JWKSURI: "/jwks"}}},
		{name: "duplicate issuer", list: []oauth2.TrustedIssuer{{Issuer: "https://i.example", JWKS: good}, {Issuer: "https://i.example", JWKSURI: "https://i.example/jwks"}}, want: "twice"},
		{name: "empty issuer", list: []oauth2.TrustedIssuer{{JWKS: good}}},
		{name: "issuer longer than 255 bytes", list: []oauth2.TrustedIssuer{{Issuer: "https://" + strings.Repeat("i", 250), JWKS: good}}},
		{name: "issuer with a control character", list: []oauth2.TrustedIssuer{{Issuer: "https://i.example\n", JWKS: good}}},
		{name: "jwks not JSON", list: []oauth2.TrustedIssuer{{Issuer: "https://i.example", JWKS: json.RawMessage(`{`)}}},
		{name: "jwks a single JWK, not a set", list: []oauth2.TrustedIssuer{{Issuer: "https://i.example", JWKS: caMust(json.Marshal(caMust(jwk.FromRaw(&k.ec.PublicKey))))}}},
		{name: "jwks with no keys", list: []oauth2.TrustedIssuer{{Issuer: "https://i.example", JWKS: json.RawMessage(`{"keys":[]}`)}}},
		{name: "jwks with only an encryption key", list: []oauth2.TrustedIssuer{{Issuer: "https://i.example", JWKS: onlyEnc}}},
		{name: "jwks with only a 1024-bit RSA key", list: []oauth2.TrustedIssuer{{Issuer: "https://i.example", JWKS: tjJWKS(t, []string{"r"}, &small.PublicKey)}}},
		{name: "invalid fetcher", list: nil, fetcher: &oauth2.JWKSFetcher{Timeout: -1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l, err := oauth2.NewTrustedIssuerList(c.list, c.fetcher)
			require.Error(t, err)
			assert.Nil(t, l)
			if c.want != "" {
				assert.Contains(t, err.Error(), c.want)
				assert.Contains(t, err.Error(), "https://i.example")
			}
		})
	}

	t.Run("http jwks_uri with AllowPrivateAddresses accepted", func(t *testing.T) {
		_, err := oauth2.NewTrustedIssuerList([]oauth2.TrustedIssuer{{Issuer: "https://i.example", JWKSURI: "http://10.0.0.1/jwks"}},
			&oauth2.JWKSFetcher{AllowPrivateAddresses: true})
		assert.NoError(t, err)
	})
}

// rawKey keeps a private key from being reduced to its public part by
// tjJWKS.
type rawKey struct{ key *ecdsa.PrivateKey }

// rawEd does the same for an Ed25519 private key.
type rawEd struct{ key ed25519.PrivateKey }

func TestParseTrustedIssuers(t *testing.T) {
	got, err := oauth2.ParseTrustedIssuers([]byte(` [
		{"issuer": "https://a.example", "jwks": {"keys": []}},
		{"issuer": "https://b.example", "jwks_uri": "https://b.example/jwks"}
	] `))
	require.NoError(t, err)
	require.Len(t, got, 2)
	assert.Equal(t, "https://a.example", got[0].Issuer)
	assert.JSONEq(t, `{"keys": []}`, string(got[0].JWKS))
	assert.Equal(t, "https://b.example/jwks", got[1].JWKSURI)

	got, err = oauth2.ParseTrustedIssuers([]byte(`[]`))
	require.NoError(t, err)
	assert.Empty(t, got)

	for name, doc := range map[string]string{
		"not JSON":                      `[`,
		"an object, not an array":       `{"issuer": "https://a.example"}`,
		"null":                          `null`,
		"trailing data":                 `[] []`,
		"trailing garbage":              `[{"issuer": "https://a.example"}] x`,
		"unknown member":                `[{"issuer": "https://a.example", "jwks_url": "https://a.example/jwks"}]`,
		"member in another case":        `[{"Issuer": "https://a.example", "jwks_uri": "https://a.example/jwks"}]`,
		"duplicate member":              `[{"issuer": "https://a.example", "issuer": "https://b.example", "jwks_uri": "https://a.example/jwks"}]`,
		"duplicate member inside jwks":  `[{"issuer": "https://a.example", "jwks": {"keys": [], "keys": []}}]`,
		"duplicate member inside a key": `[{"issuer": "https://a.example", "jwks": {"keys": [{"kty": "EC", "kty": "RSA"}]}}]`,
		"element not an object":         `["https://a.example"]`,
		"issuer not a string":           `[{"issuer": 1, "jwks_uri": "https://a.example/jwks"}]`,
		"jwks null":                     `[{"issuer": "https://a.example", "jwks": null}]`,
		"larger than 1 MiB":             `[` + strings.Repeat(" ", 1<<20) + `]`,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := oauth2.ParseTrustedIssuers([]byte(doc))
			assert.Error(t, err)
		})
	}
}

// RFC 8725 §3.10: keys are never taken from, nor fetched because of, the
// token's own headers. A JWT signed by an attacker's key that it names in
// jku, x5u (served, and counted) and x5c (a certificate of that key) is
// refused, and nothing is fetched.
func TestVerifyTrustedJWT_NeverFetchesHeaderKeys(t *testing.T) {
	attacker := caMust(ecdsa.GenerateKey(elliptic.P256(), rand.Reader))
	pub := caMust(jwk.FromRaw(&attacker.PublicKey))
	set := jwk.NewSet()
	require.NoError(t, set.AddKey(pub))
	var fetched atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetched.Add(1)
		_ = json.NewEncoder(w).Encode(set)
	}))
	t.Cleanup(srv.Close)
	tmpl := &x509.Certificate{SerialNumber: caMust(rand.Int(rand.Reader, big.NewInt(1<<62))), NotBefore: tjNow.Add(-time.Hour), NotAfter: tjNow.Add(time.Hour)}
	cert := caMust(x509.CreateCertificate(rand.Reader, tmpl, tmpl, &attacker.PublicKey, attacker))
	header := map[string]any{
		"jku": srv.URL + "/jwks",
		"x5u": srv.URL + "/cert",
		"x5c": []string{base64.StdEncoding.EncodeToString(cert)},
	}
	tok := tjSign(t, "ES256", attacker, header, tjClaims())
	_, err := oauth2.VerifyTrustedJWT(context.Background(), tjList(t), tok, tjOpts())
	assertUntrusted(t, err, tok)
	assert.Zero(t, fetched.Load(), "nothing a header names is fetched")
	// The same headers on a JWT of the issuer's key change nothing.
	tok = tjSign(t, "ES256", tjKeys().ec, map[string]any{"kid": "ec", "jku": srv.URL, "x5u": srv.URL, "x5c": header["x5c"]}, tjClaims())
	_, err = oauth2.VerifyTrustedJWT(context.Background(), tjList(t), tok, tjOpts())
	require.NoError(t, err)
	assert.Zero(t, fetched.Load())
}

func TestTrustedJWTIsAccessToken(t *testing.T) {
	for typ, want := range map[string]bool{
		"at+jwt": true, "AT+JWT": true, "application/at+jwt": true, "Application/At+Jwt": true,
		"": false, "JWT": false, "application/jwt": false, "at+jwt2": false, "application/": false, "dpop+jwt": false,
	} {
		assert.Equal(t, want, (&oauth2.TrustedJWT{Type: typ}).IsAccessToken(), "typ %q", typ)
	}
}
