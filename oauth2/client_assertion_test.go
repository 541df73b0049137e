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
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
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

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/oauth2"
	"github.com/grantor-dev/grantor/storage"
)

// Tests of private_key_jwt and client_secret_jwt (RFC 7523 §3, OIDC Core §9,
// draft-ietf-oauth-rfc7523bis), each citing the section or advisory it
// checks.

const (
	caIssuer   = "https://as.example"
	caEndpoint = "https://as.example/token"
	caPAR      = "https://as.example/par"
	caClientID = "client-1"
)

var caNow = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

// caReplay is a tiny ReplayStore for these tests: a map and a mutex, with
// its own clock so that expiry can be tested exactly.
type caReplay struct {
	mu      sync.Mutex
	now     func() time.Time
	entries map[string]time.Time
	err     error // returned by every call when set
}

func newCAReplay() *caReplay {
	return &caReplay{now: func() time.Time { return caNow }, entries: map[string]time.Time{}}
}

func (r *caReplay) Remember(_ context.Context, key string, expiresAt time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return r.err
	}
	if exp, ok := r.entries[key]; ok && r.now().Before(exp) {
		return storage.ErrConsumed
	}
	r.entries[key] = expiresAt
	return nil
}

// Keys are generated once per test binary.
var (
	caRSA     = sync.OnceValue(func() *rsa.PrivateKey { return caMust(rsa.GenerateKey(rand.Reader, 2048)) })
	caRSA2    = sync.OnceValue(func() *rsa.PrivateKey { return caMust(rsa.GenerateKey(rand.Reader, 2048)) })
	caEC      = sync.OnceValue(func() *ecdsa.PrivateKey { return caMust(ecdsa.GenerateKey(elliptic.P256(), rand.Reader)) })
	caEC2     = sync.OnceValue(func() *ecdsa.PrivateKey { return caMust(ecdsa.GenerateKey(elliptic.P256(), rand.Reader)) })
	caEd      = sync.OnceValue(func() ed25519.PrivateKey { _, k := caMust2(ed25519.GenerateKey(rand.Reader)); return k })
	caSecret  = []byte("0123456789abcdef0123456789abcdef") // 32 bytes
	caJTISeq  atomic.Int64
	caRandJTI = func() string {
		var b [8]byte
		_, _ = rand.Read(b[:])
		return fmt.Sprintf("jti-%d-%s", caJTISeq.Add(1), hex.EncodeToString(b[:]))
	}
)

func caMust[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func caMust2[A, B any](a A, b B, err error) (A, B) {
	if err != nil {
		panic(err)
	}
	return a, b
}

func caB64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// jwksOf returns a JWK set document holding the public parts of keys,
// with kids "k0", "k1"...
func jwksOf(t testing.TB, keys ...any) []byte {
	t.Helper()
	set := jwk.NewSet()
	for i, k := range keys {
		if s, ok := k.(crypto.Signer); ok {
			k = s.Public()
		}
		key, err := jwk.FromRaw(k)
		require.NoError(t, err)
		require.NoError(t, key.Set(jwk.KeyIDKey, fmt.Sprintf("k%d", i)))
		require.NoError(t, set.AddKey(key))
	}
	return caMust(json.Marshal(set))
}

// signRaw signs exact header and claims bytes: what a test needs to send
// duplicates, odd types and anything else a JSON encoder would not write.
func signRaw(t testing.TB, alg string, key any, header, claims []byte) string {
	t.Helper()
	input := caB64(header) + "." + caB64(claims)
	signer, err := jws.NewSigner(jwa.SignatureAlgorithm(alg))
	require.NoError(t, err)
	sig, err := signer.Sign([]byte(input), key)
	require.NoError(t, err)
	return input + "." + caB64(sig)
}

func caClaims(now time.Time) map[string]any {
	return map[string]any{
		"iss": caClientID,
		"sub": caClientID,
		"aud": caIssuer,
		"iat": now.Unix(),
		"exp": now.Add(time.Minute).Unix(),
		"jti": caRandJTI(),
	}
}

// caSigner signs assertions for one method's client.
type caSigner struct {
	alg string
	key any
}

func (s caSigner) sign(t testing.TB, header, claims map[string]any) string {
	t.Helper()
	h := map[string]any{"alg": s.alg}
	for k, v := range header {
		if v == nil {
			delete(h, k)
		} else {
			h[k] = v
		}
	}
	return signRaw(t, s.alg, s.key, caMust(json.Marshal(h)), caMust(json.Marshal(claims)))
}

func caAuth(assertion string) *oauth2.ClientAuthentication {
	return &oauth2.ClientAuthentication{
		ClientID:      caClientID,
		Assertion:     assertion,
		AssertionType: oauth2.ClientAssertionTypeJWTBearer,
		Issuer:        caIssuer,
		Endpoint:      caEndpoint,
		Now:           caNow,
	}
}

// caMethod is one authenticator with a client registered for it.
type caMethod struct {
	name   string
	client *storage.Client
	signer caSigner
	auth   func(r storage.ReplayStore) oauth2.ClientAuthenticator
}

func pkjMethod(t testing.TB, alg string, key any) caMethod {
	return caMethod{
		name: "private_key_jwt/" + alg,
		client: &storage.Client{
			ID: caClientID, TokenEndpointAuthMethod: oauth2.AuthMethodPrivateKeyJWT,
			JWKS: jwksOf(t, key),
		},
		signer: caSigner{alg: alg, key: key},
		auth: func(r storage.ReplayStore) oauth2.ClientAuthenticator {
			return &oauth2.PrivateKeyJWT{Replay: r}
		},
	}
}

func csjMethod() caMethod {
	return caMethod{
		name:   "client_secret_jwt/HS256",
		client: &storage.Client{ID: caClientID, TokenEndpointAuthMethod: oauth2.AuthMethodClientSecretJWT},
		signer: caSigner{alg: "HS256", key: caSecret},
		auth: func(r storage.ReplayStore) oauth2.ClientAuthenticator {
			return &oauth2.ClientSecretJWT{Replay: r, Key: caSecretKey}
		},
	}
}

func caSecretKey(_ context.Context, c *storage.Client) ([]byte, error) {
	if c.ID != caClientID {
		return nil, storage.ErrNotFound
	}
	return caSecret, nil
}

func allMethods(t testing.TB) []caMethod {
	return []caMethod{
		pkjMethod(t, "ES256", caEC()),
		pkjMethod(t, "RS256", caRSA()),
		pkjMethod(t, "PS256", caRSA()),
		pkjMethod(t, "EdDSA", caEd()),
		csjMethod(),
	}
}

// assertRejected checks the shape every failure must have: the sentinel,
// and no trace of the assertion in the message (Keycloak
// GHSA-qgmm-f2qw-r95f).
func assertRejected(t *testing.T, err error, assertion string) {
	t.Helper()
	if !assert.Error(t, err) {
		return
	}
	assert.ErrorIs(t, err, oauth2.ErrClientAssertionInvalid)
	msg := err.Error()
	for _, part := range strings.Split(assertion, ".") {
		if len(part) >= 8 {
			assert.NotContains(t, msg, part, "the error must not quote the assertion")
		}
	}
	assert.NotContains(t, msg, string(caSecret))
}

func TestJWTClientAuthentication_HappyPath(t *testing.T) {
	for _, m := range allMethods(t) {
		t.Run(m.name, func(t *testing.T) {
			replay := newCAReplay()
			auth := m.auth(replay)
			require.NoError(t, auth.(oauth2.Validator).Validate())
			assertion := m.signer.sign(t, nil, caClaims(caNow))
			assert.NoError(t, auth.AuthenticateClient(context.Background(), m.client, caAuth(assertion)))
		})
	}
}

// caRule is one row of the protocol-rule table, run against every method.
type caRule struct {
	name   string
	header map[string]any                       // merged into the header; nil value deletes
	claims func(c map[string]any)               // edits the claims
	auth   func(a *oauth2.ClientAuthentication) // edits the request
	ok     bool
}

func delClaims(names ...string) func(map[string]any) {
	return func(c map[string]any) {
		for _, n := range names {
			delete(c, n)
		}
	}
}

func setClaim(name string, v any) func(map[string]any) {
	return func(c map[string]any) { c[name] = v }
}

func caRel(d time.Duration) int64 { return caNow.Add(d).Unix() }

func TestJWTClientAuthentication_Rules(t *testing.T) {
	rules := []caRule{
		// RFC 7521 §4.2, RFC 7523 §2.2: client_assertion_type.
		{name: "client_assertion_type missing", auth: func(a *oauth2.ClientAuthentication) { a.AssertionType = "" }},
		{name: "client_assertion_type is the SAML URN", auth: func(a *oauth2.ClientAuthentication) {
			a.AssertionType = "urn:ietf:params:oauth:client-assertion-type:saml2-bearer"
		}},
		{name: "client_assertion_type with a trailing space", auth: func(a *oauth2.ClientAuthentication) { a.AssertionType += " " }},

		// RFC 7523 §3 items 1-2: iss = sub = client_id.
		{name: "sub missing", claims: delClaims("sub")},
		{name: "iss missing", claims: delClaims("iss")},
		{name: "sub is not iss", claims: setClaim("sub", "client-2")},
		{name: "iss is not the client_id", claims: func(c map[string]any) { c["iss"], c["sub"] = "client-2", "client-2" }},
		{name: "request client_id is another client", auth: func(a *oauth2.ClientAuthentication) { a.ClientID = "client-2" }},
		{name: "sub differs only in case", claims: setClaim("sub", strings.ToUpper(caClientID))},

		// draft-ietf-oauth-rfc7523bis §4: aud is the issuer, as a string.
		{name: "aud is the issuer", ok: true},
		{name: "aud is the token endpoint URL", claims: setClaim("aud", caEndpoint)},
		{name: "aud is the PAR endpoint URL", claims: setClaim("aud", caPAR)},
		{name: "aud is an array holding the issuer", claims: setClaim("aud", []string{caIssuer})},
		{name: "aud is an array holding the issuer twice", claims: setClaim("aud", []string{caIssuer, caIssuer})},
		{name: "aud is another issuer", claims: setClaim("aud", "https://other-as.example")},
		{name: "aud is the issuer with a trailing slash", claims: setClaim("aud", caIssuer+"/")},
		{name: "aud missing", claims: delClaims("aud")},

		// RFC 7523 §3 items 4 and 6: exp required, lifetimes bounded.
		{name: "exp missing", claims: delClaims("exp")},
		{name: "exp 5 minutes in the past", claims: setClaim("exp", caRel(-5*time.Minute))},
		{name: "exp 61 seconds in the past", claims: setClaim("exp", caRel(-61*time.Second))},
		{name: "exp 30 seconds in the past, within clock skew", claims: func(c map[string]any) { c["iat"], c["exp"] = caRel(-90*time.Second), caRel(-30*time.Second) }, ok: true},
		{name: "exp 24 hours ahead", claims: setClaim("exp", caRel(24*time.Hour))},
		{name: "exp 6 minutes and 1 second ahead", claims: setClaim("exp", caRel(6*time.Minute+time.Second))},
		{name: "exp 5 minutes ahead", claims: setClaim("exp", caRel(5*time.Minute)), ok: true},
		{name: "iat 24 hours ago", claims: setClaim("iat", caRel(-24*time.Hour))},
		{name: "iat missing is accepted", claims: delClaims("iat"), ok: true},
		{name: "exp before iat", claims: func(c map[string]any) { c["iat"], c["exp"] = caRel(30*time.Second), caRel(10*time.Second) }},

		// RFC 7523 §3 item 5, FAPI 2.0 §5.3.2.1-13: clock skew.
		{name: "nbf 8 seconds in the future", claims: setClaim("nbf", caRel(8*time.Second)), ok: true},
		{name: "nbf 61 seconds in the future", claims: setClaim("nbf", caRel(61*time.Second))},
		{name: "iat 8 seconds in the future", claims: setClaim("iat", caRel(8*time.Second)), ok: true},
		{name: "iat 61 seconds in the future", claims: setClaim("iat", caRel(61*time.Second))},
		{name: "fractional nbf just inside the window", claims: setClaim("nbf", float64(caNow.Unix())+59.5), ok: true},

		// RFC 7523 §3 item 7, fosite GHSA-v3q9-2p3m-7g43: jti.
		{name: "jti missing", claims: delClaims("jti")},
		{name: "jti empty", claims: setClaim("jti", "")},
		{name: "jti a number", claims: setClaim("jti", 12345)},
		{name: "jti 257 bytes", claims: setClaim("jti", strings.Repeat("j", 257))},
		{name: "jti 256 bytes", claims: setClaim("jti", strings.Repeat("j", 256)), ok: true},

		// RFC 7519 §4.1: claim types.
		{name: "aud of a number and an object", claims: setClaim("aud", []any{1, map[string]any{}})},
		{name: "aud a number", claims: setClaim("aud", 1)},
		{name: "aud null", claims: setClaim("aud", nil)},
		{name: "exp a string", claims: setClaim("exp", fmt.Sprint(caRel(time.Minute)))},
		{name: "exp a boolean", claims: setClaim("exp", true)},
		{name: "exp null", claims: setClaim("exp", nil)},
		{name: "exp negative", claims: setClaim("exp", -1)},
		{name: "exp beyond year 9999", claims: setClaim("exp", 1e300)},
		{name: "iat a string", claims: setClaim("iat", "now")},
		{name: "nbf an object", claims: setClaim("nbf", map[string]any{})},
		{name: "iss a number", claims: setClaim("iss", 1)},
		{name: "sub an array", claims: setClaim("sub", []string{caClientID})},

		// RFC 8725 §3.11-3.12, rfc7523bis §4: other kinds of JWT.
		{name: "typ absent", ok: true},
		{name: "typ JWT", header: map[string]any{"typ": "JWT"}, ok: true},
		{name: "typ client-authentication+jwt", header: map[string]any{"typ": "client-authentication+jwt"}, ok: true},
		{name: "typ application/client-authentication+jwt", header: map[string]any{"typ": "application/client-authentication+JWT"}, ok: true},
		{name: "typ dpop+jwt", header: map[string]any{"typ": "dpop+jwt"}},
		{name: "typ at+jwt", header: map[string]any{"typ": "at+jwt"}},
		{name: "typ application/at+jwt", header: map[string]any{"typ": "application/at+jwt"}},
		{name: "typ oauth-authz-req+jwt", header: map[string]any{"typ": "oauth-authz-req+jwt"}},
		{name: "typ logout+jwt", header: map[string]any{"typ": "logout+jwt"}},
		{name: "typ secevent+jwt", header: map[string]any{"typ": "secevent+jwt"}},
		{name: "typ a number", header: map[string]any{"typ": 1}},
		{name: "cty JWT (nested)", header: map[string]any{"cty": "JWT"}},

		// RFC 7515 §4.1.11: crit.
		{name: "crit with an unknown extension", header: map[string]any{"crit": []string{"exp"}, "exp": 1}},
		{name: "crit b64 with b64 false", header: map[string]any{"crit": []string{"b64"}, "b64": false}},
		{name: "crit empty", header: map[string]any{"crit": []string{}}},
		{name: "b64 without crit", header: map[string]any{"b64": true}},

		// RFC 8725 §3.10: kid is opaque.
		{name: "kid path traversal", header: map[string]any{"kid": "../../dev/null"}},
		{name: "kid SQL", header: map[string]any{"kid": "' OR '1'='1"}},
		{name: "kid with CR LF", header: map[string]any{"kid": "k0\r\nlevel=ERROR msg=forged"}},
		{name: "kid with NUL", header: map[string]any{"kid": "k0\x00"}},
		{name: "kid 8 kB", header: map[string]any{"kid": strings.Repeat("k", 8<<10)}},
		{name: "kid a number", header: map[string]any{"kid": 0}},
		{name: "kid of the registered key", header: map[string]any{"kid": "k0"}, ok: true},

		// RFC 8725 §3.1-3.2: alg.
		{name: "alg missing", header: map[string]any{"alg": nil}},
		{name: "alg a number", header: map[string]any{"alg": 256}},

		// The client and the request.
		{name: "client_id empty", auth: func(a *oauth2.ClientAuthentication) { a.ClientID = "" }},
		{name: "assertion empty", auth: func(a *oauth2.ClientAuthentication) { a.Assertion = "" }},
	}
	for _, m := range allMethods(t) {
		for _, r := range rules {
			t.Run(m.name+"/"+r.name, func(t *testing.T) {
				if m.signer.alg == "HS256" && strings.HasPrefix(r.name, "kid ") {
					// client_secret_jwt has one key: kid is ignored.
					r.ok = !strings.Contains(r.name, "a number")
				}
				claims := caClaims(caNow)
				if r.claims != nil {
					r.claims(claims)
				}
				a := caAuth(m.signer.sign(t, r.header, claims))
				if r.auth != nil {
					r.auth(a)
				}
				err := m.auth(newCAReplay()).AuthenticateClient(context.Background(), m.client, a)
				if r.ok {
					assert.NoError(t, err)
				} else {
					assertRejected(t, err, a.Assertion)
				}
			})
		}
	}
}

// caRawRule sends exact bytes.
type caRawRule struct {
	name   string
	header string
	claims string
	ok     bool
}

// RFC 7515 §5.2, RFC 7519 §4: header and claims are each one JSON object,
// without duplicate members.
func TestDuplicateMembersAndStrictJSON(t *testing.T) {
	exp, iat := caRel(time.Minute), caNow.Unix()
	claims := func(extra string) string {
		return fmt.Sprintf(`{"iss":%q,"sub":%q,"aud":%q,"exp":%d,"iat":%d,"jti":%q%s}`,
			caClientID, caClientID, caIssuer, exp, iat, caRandJTI(), extra)
	}
	rows := []caRawRule{
		{name: "control: well-formed", header: `{"alg":"ES256"}`, claims: claims(""), ok: true},
		{name: "duplicate alg in header", header: `{"alg":"ES256","alg":"ES256"}`, claims: claims("")},
		{name: "duplicate alg, second none", header: `{"alg":"ES256","alg":"none"}`, claims: claims("")},
		{name: "duplicate alg through an escape", header: `{"alg":"ES256","\u0061lg":"ES256"}`, claims: claims("")},
		{name: "duplicate kid", header: `{"alg":"ES256","kid":"k0","kid":"k0"}`, claims: claims("")},
		{name: "duplicate aud", header: `{"alg":"ES256"}`, claims: claims(`,"aud":"https://evil.example"`)},
		{name: "duplicate exp", header: `{"alg":"ES256"}`, claims: claims(fmt.Sprintf(`,"exp":%d`, exp))},
		{name: "duplicate iss via escape", header: `{"alg":"ES256"}`, claims: claims(`,"\u0069ss":"client-1"`)},
		{name: "trailing data after the claims", header: `{"alg":"ES256"}`, claims: claims("") + `{}`},
		{name: "trailing data after the header", header: `{"alg":"ES256"} []`, claims: claims("")},
		{name: "header an array", header: `["alg","ES256"]`, claims: claims("")},
		{name: "claims an array", header: `{"alg":"ES256"}`, claims: `[` + claims("") + `]`},
		{name: "claims not JSON", header: `{"alg":"ES256"}`, claims: `iss=client-1`},
		{name: "claims truncated", header: `{"alg":"ES256"}`, claims: claims("")[:40]},
		{name: "deeply nested claim (Authlib CVE-2025-61920)", header: `{"alg":"ES256"}`, claims: claims(`,"x":` + strings.Repeat("[", 5000) + strings.Repeat("]", 5000))},
		{name: "nesting of 17 (Authlib CVE-2025-61920)", header: `{"alg":"ES256"}`, claims: claims(`,"x":` + strings.Repeat("[", 16) + strings.Repeat("]", 16))},
		{name: "nesting of 8 in an ignored claim", header: `{"alg":"ES256"}`, claims: claims(`,"x":` + strings.Repeat(`{"a":`, 7) + `1` + strings.Repeat("}", 7)), ok: true},
		{name: "brackets inside strings do not count", header: `{"alg":"ES256"}`, claims: claims(`,"x":"` + strings.Repeat("[", 100) + `\"{"`), ok: true},
	}
	m := pkjMethod(t, "ES256", caEC())
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			assertion := signRaw(t, "ES256", caEC(), []byte(r.header), []byte(r.claims))
			err := m.auth(newCAReplay()).AuthenticateClient(context.Background(), m.client, caAuth(assertion))
			if r.ok {
				assert.NoError(t, err)
			} else {
				assertRejected(t, err, assertion)
			}
		})
	}
}

// RFC 7515 §7.1 and Authlib CVE-2025-61920: only a compact JWS no longer
// than MaxClientAssertionSize is read.
func TestSerializationAndSize(t *testing.T) {
	m := pkjMethod(t, "ES256", caEC())
	good := m.signer.sign(t, nil, caClaims(caNow))
	parts := strings.Split(good, ".")
	jsonSerialization := fmt.Sprintf(`{"payload":%q,"protected":%q,"signature":%q}`, parts[1], parts[0], parts[2])
	flattened := fmt.Sprintf(`{"payload":%q,"signatures":[{"protected":%q,"signature":%q}]}`, parts[1], parts[0], parts[2])
	jwe := caB64([]byte(`{"alg":"RSA-OAEP","enc":"A256GCM"}`)) + ".a.b.c.d"
	bigKID := m.signer.sign(t, map[string]any{"kid": strings.Repeat("k", 64<<10)}, caClaims(caNow))
	huge := m.signer.sign(t, nil, func() map[string]any { c := caClaims(caNow); c["pad"] = strings.Repeat("x", 1<<20); return c }())

	rows := []struct{ name, assertion string }{
		{"1 MB assertion", huge},
		{"64 kB kid (RFC 8725 §3.10)", bigKID},
		{"1 MB of dots", strings.Repeat(".", 1<<20)},
		{"JWE compact serialization (5 parts)", jwe},
		{"JWS JSON serialization", jsonSerialization},
		{"JWS flattened JSON", flattened},
		{"four parts", good + ".x"},
		{"two parts", parts[0] + "." + parts[1]},
		{"empty signature (RFC 8725 §3.1)", parts[0] + "." + parts[1] + "."},
		{"empty header", "." + parts[1] + "." + parts[2]},
		{"empty payload (detached)", parts[0] + ".." + parts[2]},
		{"padded base64 header", parts[0] + "=." + parts[1] + "." + parts[2]},
		{"standard base64 signature", parts[0] + "." + parts[1] + "." + strings.NewReplacer("-", "+", "_", "/").Replace(parts[2]) + "+/"},
		{"whitespace inside", parts[0] + ". " + parts[1] + "." + parts[2]},
		{"not base64 at all", "%%%.%%%.%%%"},
		{"signature truncated", good[:len(good)-4]},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			err := m.auth(newCAReplay()).AuthenticateClient(context.Background(), m.client, caAuth(r.assertion))
			assertRejected(t, err, r.assertion)
		})
	}
	t.Run("1 MB assertion costs no allocation proportional to its size", func(t *testing.T) {
		auth := m.auth(newCAReplay())
		a := caAuth(huge)
		allocs := testing.AllocsPerRun(10, func() { _ = auth.AuthenticateClient(context.Background(), m.client, a) })
		assert.Less(t, allocs, 10.0)
	})
}

// RFC 8725 §3.1-3.2: alg none, in any case, is refused whatever the
// signature.
func TestAlgNone(t *testing.T) {
	m := pkjMethod(t, "ES256", caEC())
	claims := caB64(caMust(json.Marshal(caClaims(caNow))))
	good := m.signer.sign(t, nil, caClaims(caNow))
	goodSig := good[strings.LastIndexByte(good, '.')+1:]
	for _, alg := range []string{"none", "None", "NONE", ""} {
		header := caB64([]byte(fmt.Sprintf(`{"alg":%q}`, alg)))
		for name, assertion := range map[string]string{
			"no signature":       header + "." + claims + ".",
			"a real signature":   header + "." + claims + "." + goodSig,
			"a junk signature":   header + "." + claims + ".AAAA",
			"two parts (no dot)": header + "." + claims,
		} {
			t.Run(alg+"/"+name, func(t *testing.T) {
				err := m.auth(newCAReplay()).AuthenticateClient(context.Background(), m.client, caAuth(assertion))
				assertRejected(t, err, assertion)
			})
		}
	}
	t.Run("client_secret_jwt", func(t *testing.T) {
		c := csjMethod()
		assertion := caB64([]byte(`{"alg":"none"}`)) + "." + claims + "."
		assertRejected(t, c.auth(newCAReplay()).AuthenticateClient(context.Background(), c.client, caAuth(assertion)), assertion)
	})
}

// TestHMACWithPublicKeyBytes is the Authlib CVE-2024-37568 attack: the
// attacker knows the client's public key and MACs an assertion with its
// bytes, hoping the verifier takes the algorithm from the header.
func TestHMACWithPublicKeyBytes(t *testing.T) {
	for _, key := range []struct {
		name string
		priv any
		pub  any
	}{
		{"RSA", caRSA(), &caRSA().PublicKey},
		{"EC", caEC(), &caEC().PublicKey},
	} {
		der := caMust(x509.MarshalPKIXPublicKey(key.pub))
		pkcs1 := der
		if rk, ok := key.pub.(*rsa.PublicKey); ok {
			pkcs1 = x509.MarshalPKCS1PublicKey(rk)
		}
		pemBytes := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
		jwks := jwksOf(t, key.pub)
		var set struct{ Keys []json.RawMessage }
		require.NoError(t, json.Unmarshal(jwks, &set))
		forms := map[string][]byte{
			"PEM": pemBytes, "PEM without newline": []byte(strings.TrimSpace(string(pemBytes))),
			"DER (SPKI)": der, "DER (PKCS1)": pkcs1, "JWK JSON": set.Keys[0], "JWKS JSON": jwks,
		}
		client := &storage.Client{ID: caClientID, TokenEndpointAuthMethod: oauth2.AuthMethodPrivateKeyJWT, JWKS: jwks}
		for form, secret := range forms {
			for _, alg := range []string{"HS256", "HS384", "HS512"} {
				for _, cfg := range []struct {
					name string
					auth *oauth2.PrivateKeyJWT
				}{
					{"default config", &oauth2.PrivateKeyJWT{Replay: newCAReplay()}},
					// Defence in depth: even a configuration that lists HS*
					// and skipped Validate never verifies HS* with a
					// registered public key.
					{"HS listed in unvalidated Algorithms", &oauth2.PrivateKeyJWT{Replay: newCAReplay(), Algorithms: []string{alg, "RS256", "ES256"}}},
				} {
					t.Run(key.name+"/"+form+"/"+alg+"/"+cfg.name, func(t *testing.T) {
						for _, kid := range []any{nil, "k0"} {
							assertion := caSigner{alg: alg, key: secret}.sign(t, map[string]any{"kid": kid}, caClaims(caNow))
							assertRejected(t, cfg.auth.AuthenticateClient(context.Background(), client, caAuth(assertion)), assertion)
						}
					})
				}
			}
		}
	}
	t.Run("Validate refuses HS algorithms for private_key_jwt", func(t *testing.T) {
		for _, alg := range []string{"HS256", "HS384", "HS512", "none", "ES256K", "RSA-OAEP", ""} {
			assert.Error(t, (&oauth2.PrivateKeyJWT{Replay: newCAReplay(), Algorithms: []string{alg}}).Validate(), alg)
		}
		assert.Equal(t, []string{"ES256"}, (&oauth2.PrivateKeyJWT{Algorithms: []string{"HS256", "ES256", "none"}}).SigningAlgorithms())
	})
}

// RFC 8725 §3.1-3.2: only an allow-listed algorithm that fits the
// registered key verifies.
func TestAlgorithmAllowList(t *testing.T) {
	ctx := context.Background()
	t.Run("alg outside the client's token_endpoint_auth_signing_alg", func(t *testing.T) {
		client := &storage.Client{ID: caClientID, TokenEndpointAuthMethod: oauth2.AuthMethodPrivateKeyJWT,
			JWKS: jwksOf(t, caEC(), caRSA()), TokenEndpointAuthSigningAlg: "PS256"}
		auth := &oauth2.PrivateKeyJWT{Replay: newCAReplay()}
		for _, s := range []caSigner{{"ES256", caEC()}, {"RS256", caRSA()}} {
			assertion := s.sign(t, nil, caClaims(caNow))
			assertRejected(t, auth.AuthenticateClient(ctx, client, caAuth(assertion)), assertion)
		}
		assert.NoError(t, auth.AuthenticateClient(ctx, client, caAuth(caSigner{"PS256", caRSA()}.sign(t, nil, caClaims(caNow)))))
	})
	t.Run("RS256 refused when the Provider's list leaves it out (FAPI 2.0)", func(t *testing.T) {
		client := &storage.Client{ID: caClientID, TokenEndpointAuthMethod: oauth2.AuthMethodPrivateKeyJWT, JWKS: jwksOf(t, caRSA())}
		auth := &oauth2.PrivateKeyJWT{Replay: newCAReplay(), Algorithms: []string{"PS256", "ES256", "EdDSA"}}
		require.NoError(t, auth.Validate())
		assertion := caSigner{"RS256", caRSA()}.sign(t, nil, caClaims(caNow))
		assertRejected(t, auth.AuthenticateClient(ctx, client, caAuth(assertion)), assertion)
		assert.NoError(t, auth.AuthenticateClient(ctx, client, caAuth(caSigner{"PS256", caRSA()}.sign(t, nil, caClaims(caNow)))))
	})
	t.Run("client's signing alg that the Provider does not accept", func(t *testing.T) {
		client := &storage.Client{ID: caClientID, TokenEndpointAuthMethod: oauth2.AuthMethodPrivateKeyJWT,
			JWKS: jwksOf(t, caRSA()), TokenEndpointAuthSigningAlg: "RS512"}
		assertion := caSigner{"RS512", caRSA()}.sign(t, nil, caClaims(caNow))
		assertRejected(t, (&oauth2.PrivateKeyJWT{Replay: newCAReplay()}).AuthenticateClient(ctx, client, caAuth(assertion)), assertion)
	})
	t.Run("alg does not fit the key's curve", func(t *testing.T) {
		p384 := caMust(ecdsa.GenerateKey(elliptic.P384(), rand.Reader))
		client := &storage.Client{ID: caClientID, TokenEndpointAuthMethod: oauth2.AuthMethodPrivateKeyJWT, JWKS: jwksOf(t, p384)}
		auth := &oauth2.PrivateKeyJWT{Replay: newCAReplay(), Algorithms: []string{"ES256", "ES384"}}
		// ES256 signature made with the P-384 key (a curve mismatch).
		assertion := signRaw(t, "ES384", p384, []byte(`{"alg":"ES256"}`), caMust(json.Marshal(caClaims(caNow))))
		assertRejected(t, auth.AuthenticateClient(ctx, client, caAuth(assertion)), assertion)
		assert.NoError(t, auth.AuthenticateClient(ctx, client, caAuth(caSigner{"ES384", p384}.sign(t, nil, caClaims(caNow)))))
	})
	t.Run("the key's alg member binds it", func(t *testing.T) {
		key := caMust(jwk.FromRaw(&caRSA().PublicKey))
		require.NoError(t, key.Set(jwk.AlgorithmKey, jwa.PS256))
		set := jwk.NewSet()
		require.NoError(t, set.AddKey(key))
		client := &storage.Client{ID: caClientID, TokenEndpointAuthMethod: oauth2.AuthMethodPrivateKeyJWT, JWKS: caMust(json.Marshal(set))}
		auth := &oauth2.PrivateKeyJWT{Replay: newCAReplay()}
		assertion := caSigner{"RS256", caRSA()}.sign(t, nil, caClaims(caNow))
		assertRejected(t, auth.AuthenticateClient(ctx, client, caAuth(assertion)), assertion)
		assert.NoError(t, auth.AuthenticateClient(ctx, client, caAuth(caSigner{"PS256", caRSA()}.sign(t, nil, caClaims(caNow)))))
	})
	t.Run("keys registered for encryption are not used", func(t *testing.T) {
		key := caMust(jwk.FromRaw(&caEC().PublicKey))
		require.NoError(t, key.Set(jwk.KeyUsageKey, "enc"))
		set := jwk.NewSet()
		require.NoError(t, set.AddKey(key))
		client := &storage.Client{ID: caClientID, TokenEndpointAuthMethod: oauth2.AuthMethodPrivateKeyJWT, JWKS: caMust(json.Marshal(set))}
		assertion := caSigner{"ES256", caEC()}.sign(t, nil, caClaims(caNow))
		assertRejected(t, (&oauth2.PrivateKeyJWT{Replay: newCAReplay()}).AuthenticateClient(ctx, client, caAuth(assertion)), assertion)
	})
	t.Run("key_ops decide too", func(t *testing.T) {
		for ops, ok := range map[string]bool{"verify": true, "encrypt": false, "sign": false} {
			key := caMust(jwk.FromRaw(&caEC().PublicKey))
			require.NoError(t, key.Set(jwk.KeyOpsKey, jwk.KeyOperationList{jwk.KeyOperation(ops)}))
			set := jwk.NewSet()
			require.NoError(t, set.AddKey(key))
			client := &storage.Client{ID: caClientID, TokenEndpointAuthMethod: oauth2.AuthMethodPrivateKeyJWT, JWKS: caMust(json.Marshal(set))}
			assertion := caSigner{"ES256", caEC()}.sign(t, nil, caClaims(caNow))
			err := (&oauth2.PrivateKeyJWT{Replay: newCAReplay()}).AuthenticateClient(ctx, client, caAuth(assertion))
			if ok {
				assert.NoError(t, err, ops)
			} else {
				assertRejected(t, err, assertion)
			}
		}
	})
	t.Run("RSA keys under 2048 bits are not used", func(t *testing.T) {
		small := caMust(rsa.GenerateKey(rand.Reader, 1024))
		client := &storage.Client{ID: caClientID, TokenEndpointAuthMethod: oauth2.AuthMethodPrivateKeyJWT, JWKS: jwksOf(t, small)}
		assertion := caSigner{"RS256", small}.sign(t, nil, caClaims(caNow))
		assertRejected(t, (&oauth2.PrivateKeyJWT{Replay: newCAReplay()}).AuthenticateClient(ctx, client, caAuth(assertion)), assertion)
	})
	t.Run("symmetric and private keys in a registered JWKS are not used", func(t *testing.T) {
		oct := caMust(jwk.FromRaw(caSecret))
		priv := caMust(jwk.FromRaw(caEC()))
		set := jwk.NewSet()
		require.NoError(t, set.AddKey(oct))
		require.NoError(t, set.AddKey(priv))
		client := &storage.Client{ID: caClientID, TokenEndpointAuthMethod: oauth2.AuthMethodPrivateKeyJWT, JWKS: caMust(json.Marshal(set))}
		auth := &oauth2.PrivateKeyJWT{Replay: newCAReplay(), Algorithms: []string{"HS256", "ES256"}}
		for _, s := range []caSigner{{"HS256", caSecret}, {"ES256", caEC()}} {
			assertion := s.sign(t, nil, caClaims(caNow))
			assertRejected(t, auth.AuthenticateClient(ctx, client, caAuth(assertion)), assertion)
		}
	})
}

// TestKeysOnlyFromRegistration: header keys are never used or fetched
// (RFC 7523 §3 item 9; RFC 8725 §3.10; RFC 7515 §4.1.2-4.1.6).
func TestKeysOnlyFromRegistration(t *testing.T) {
	var hits atomic.Int64
	attackerJWKS := jwksOf(t, caEC2())
	attackerServer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(attackerJWKS)
	}))
	defer attackerServer.Close()

	attackerJWK := caMust(jwk.FromRaw(&caEC2().PublicKey))
	require.NoError(t, attackerJWK.Set(jwk.KeyIDKey, "k0")) // the client's kid
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: caClientID},
		NotBefore: caNow.Add(-time.Hour), NotAfter: caNow.Add(time.Hour)}
	cert := caMust(x509.CreateCertificate(rand.Reader, tmpl, tmpl, &caEC2().PublicKey, caEC2()))

	m := pkjMethod(t, "ES256", caEC())
	attacker := caSigner{alg: "ES256", key: caEC2()}
	for name, header := range map[string]map[string]any{
		"attacker key in jwk":                 {"jwk": attackerJWK},
		"attacker key in jwk with client kid": {"jwk": attackerJWK, "kid": "k0"},
		"attacker cert in x5c":                {"x5c": []string{base64.StdEncoding.EncodeToString(cert)}},
		"jku to attacker":                     {"jku": attackerServer.URL + "/jwks"},
		"jku to attacker with a new kid":      {"jku": attackerServer.URL + "/jwks", "kid": "attacker"},
		"x5u to attacker":                     {"x5u": attackerServer.URL + "/cert.pem"},
		"all of them":                         {"jwk": attackerJWK, "jku": attackerServer.URL, "x5u": attackerServer.URL, "x5c": []string{base64.StdEncoding.EncodeToString(cert)}},
	} {
		t.Run(name, func(t *testing.T) {
			assertion := attacker.sign(t, header, caClaims(caNow))
			err := m.auth(newCAReplay()).AuthenticateClient(context.Background(), m.client, caAuth(assertion))
			assertRejected(t, err, assertion)
		})
	}
	// A client's own assertion with a jwk header is fine: the header is
	// ignored, the registered key verifies.
	t.Run("client signs, jwk header ignored", func(t *testing.T) {
		assertion := m.signer.sign(t, map[string]any{"jwk": attackerJWK}, caClaims(caNow))
		assert.NoError(t, m.auth(newCAReplay()).AuthenticateClient(context.Background(), m.client, caAuth(assertion)))
	})
	t.Run("another key with the client's kid", func(t *testing.T) {
		assertion := attacker.sign(t, map[string]any{"kid": "k0"}, caClaims(caNow))
		assertRejected(t, m.auth(newCAReplay()).AuthenticateClient(context.Background(), m.client, caAuth(assertion)), assertion)
	})
	assert.Zero(t, hits.Load(), "no request may reach a URL from a token header")
}

// RFC 8725 §3.10: the kid is untrusted input and never reaches an error
// message.
func TestKIDNotInErrors(t *testing.T) {
	m := pkjMethod(t, "ES256", caEC())
	for _, kid := range []string{"../../dev/null", "' OR '1'='1", "k0\r\nlevel=ERROR msg=forged", strings.Repeat("Z", 4000)} {
		assertion := m.signer.sign(t, map[string]any{"kid": kid}, caClaims(caNow))
		err := m.auth(newCAReplay()).AuthenticateClient(context.Background(), m.client, caAuth(assertion))
		require.Error(t, err)
		assert.NotContains(t, err.Error(), kid)
		assert.NotContains(t, err.Error(), "\n")
	}
}

func TestPrivateKeyJWT_KeySelection(t *testing.T) {
	ctx := context.Background()
	client := &storage.Client{ID: caClientID, TokenEndpointAuthMethod: oauth2.AuthMethodPrivateKeyJWT,
		JWKS: jwksOf(t, caRSA2(), caEC2(), caEd(), caEC(), caRSA())} // kids k0..k4
	auth := &oauth2.PrivateKeyJWT{Replay: newCAReplay()}
	for _, r := range []struct {
		name string
		s    caSigner
		kid  any
		ok   bool
	}{
		{"ES256 without kid, second EC key", caSigner{"ES256", caEC()}, nil, true},
		{"RS256 without kid, second RSA key", caSigner{"RS256", caRSA()}, nil, true},
		{"EdDSA without kid", caSigner{"EdDSA", caEd()}, nil, true},
		{"ES256 with its kid", caSigner{"ES256", caEC()}, "k3", true},
		{"ES256 with another EC key's kid", caSigner{"ES256", caEC()}, "k1", false},
		{"ES256 with an RSA key's kid", caSigner{"ES256", caEC()}, "k4", false},
		{"ES256 with an unknown kid", caSigner{"ES256", caEC()}, "k9", false},
		{"ES256 with an empty kid", caSigner{"ES256", caEC()}, "", false},
		{"unregistered key without kid", caSigner{"ES256", caMust(ecdsa.GenerateKey(elliptic.P256(), rand.Reader))}, nil, false},
	} {
		t.Run(r.name, func(t *testing.T) {
			assertion := r.s.sign(t, map[string]any{"kid": r.kid}, caClaims(caNow))
			err := auth.AuthenticateClient(ctx, client, caAuth(assertion))
			if r.ok {
				assert.NoError(t, err)
			} else {
				assertRejected(t, err, assertion)
			}
		})
	}
}

func TestPrivateKeyJWT_KIDFallsBackToKeysWithoutKID(t *testing.T) {
	ctx := context.Background()
	noKID := func(keys ...any) []byte {
		set := jwk.NewSet()
		for _, k := range keys {
			key := caMust(jwk.FromRaw(k))
			require.NoError(t, set.AddKey(key))
		}
		return caMust(json.Marshal(set))
	}
	client := &storage.Client{ID: caClientID, TokenEndpointAuthMethod: oauth2.AuthMethodPrivateKeyJWT,
		JWKS: noKID(&caEC2().PublicKey, &caEC().PublicKey)}
	auth := &oauth2.PrivateKeyJWT{Replay: newCAReplay()}
	assert.NoError(t, auth.AuthenticateClient(ctx, client, caAuth(caSigner{"ES256", caEC()}.sign(t, map[string]any{"kid": "thumbprint"}, caClaims(caNow)))))
	forged := caSigner{"ES256", caMust(ecdsa.GenerateKey(elliptic.P256(), rand.Reader))}.sign(t, map[string]any{"kid": "thumbprint"}, caClaims(caNow))
	assertRejected(t, auth.AuthenticateClient(ctx, client, caAuth(forged)), forged)

	// A kid that is registered selects its key only: kid-less keys are
	// not tried.
	mixed := jwksOf(t, caEC2())
	var set struct{ Keys []json.RawMessage }
	require.NoError(t, json.Unmarshal(mixed, &set))
	var withoutKID struct{ Keys []json.RawMessage }
	require.NoError(t, json.Unmarshal(noKID(&caEC().PublicKey), &withoutKID))
	client.JWKS = caMust(json.Marshal(map[string]any{"keys": append(set.Keys, withoutKID.Keys...)}))
	a := caSigner{"ES256", caEC()}.sign(t, map[string]any{"kid": "k0"}, caClaims(caNow))
	assertRejected(t, auth.AuthenticateClient(ctx, client, caAuth(a)), a)
	assert.NoError(t, auth.AuthenticateClient(ctx, client, caAuth(caSigner{"ES256", caEC()}.sign(t, map[string]any{"kid": "other"}, caClaims(caNow)))))
}

func TestJWTClientAuthentication_ClientAndConfiguration(t *testing.T) {
	ctx := context.Background()
	m := pkjMethod(t, "ES256", caEC())
	assertion := func() string { return m.signer.sign(t, nil, caClaims(caNow)) }

	t.Run("client registered for another method", func(t *testing.T) {
		for _, method := range []string{"", oauth2.AuthMethodClientSecretBasic, oauth2.AuthMethodClientSecretJWT, oauth2.AuthMethodNone} {
			c := *m.client
			c.TokenEndpointAuthMethod = method
			a := assertion()
			assertRejected(t, m.auth(newCAReplay()).AuthenticateClient(ctx, &c, caAuth(a)), a)
		}
	})
	t.Run("disabled client", func(t *testing.T) {
		c := *m.client
		c.Disabled = true
		a := assertion()
		assertRejected(t, m.auth(newCAReplay()).AuthenticateClient(ctx, &c, caAuth(a)), a)
	})
	t.Run("client without keys", func(t *testing.T) {
		c := *m.client
		c.JWKS = nil
		a := assertion()
		assertRejected(t, m.auth(newCAReplay()).AuthenticateClient(ctx, &c, caAuth(a)), a)
	})
	t.Run("client with unparsable JWKS", func(t *testing.T) {
		for _, jwks := range []string{`{`, `{"keys":"no"}`, `[]`, `{"keys":[{"kty":"EC","crv":"P-256","x":"AAAA","y":"AAAA"}]}`} {
			c := *m.client
			c.JWKS = []byte(jwks)
			a := assertion()
			assertRejected(t, m.auth(newCAReplay()).AuthenticateClient(ctx, &c, caAuth(a)), a)
		}
	})
	t.Run("client with both jwks and jwks_uri", func(t *testing.T) {
		c := *m.client
		c.JWKSURI = "https://client.example/jwks"
		a := assertion()
		assertRejected(t, m.auth(newCAReplay()).AuthenticateClient(ctx, &c, caAuth(a)), a)
	})
	t.Run("nil replay store refuses everything, never a no-op", func(t *testing.T) {
		for _, auth := range []oauth2.ClientAuthenticator{&oauth2.PrivateKeyJWT{}, &oauth2.ClientSecretJWT{Key: caSecretKey}} {
			assert.Error(t, auth.(oauth2.Validator).Validate())
			assert.Error(t, auth.AuthenticateClient(ctx, m.client, caAuth(assertion())))
		}
	})
	t.Run("Provider clock and issuer must be set", func(t *testing.T) {
		a := caAuth(assertion())
		a.Now = time.Time{}
		assert.Error(t, m.auth(newCAReplay()).AuthenticateClient(ctx, m.client, a))
		a = caAuth(assertion())
		a.Issuer = ""
		assert.Error(t, m.auth(newCAReplay()).AuthenticateClient(ctx, m.client, a))
	})
	t.Run("nil client or authentication", func(t *testing.T) {
		assert.Error(t, m.auth(newCAReplay()).AuthenticateClient(ctx, nil, caAuth(assertion())))
		assert.Error(t, m.auth(newCAReplay()).AuthenticateClient(ctx, m.client, nil))
	})
	t.Run("the time is a.Now, not the wall clock", func(t *testing.T) {
		past := time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)
		a := caAuth(m.signer.sign(t, nil, caClaims(past)))
		a.Now = past
		assert.NoError(t, m.auth(newCAReplay()).AuthenticateClient(ctx, m.client, a))
	})
	t.Run("Validate", func(t *testing.T) {
		r := newCAReplay()
		assert.NoError(t, (&oauth2.PrivateKeyJWT{Replay: r}).Validate())
		assert.Error(t, (&oauth2.PrivateKeyJWT{Replay: r, MaxLifetime: -1}).Validate())
		assert.Error(t, (&oauth2.PrivateKeyJWT{Replay: r, ClockSkew: -1}).Validate())
		assert.Error(t, (&oauth2.PrivateKeyJWT{Replay: r, JWKSFetcher: &oauth2.JWKSFetcher{MaxBytes: -1}}).Validate())
		assert.NoError(t, (&oauth2.ClientSecretJWT{Replay: r, Key: caSecretKey}).Validate())
		assert.Error(t, (&oauth2.ClientSecretJWT{Replay: r}).Validate(), "Key is required")
		for _, alg := range []string{"RS256", "ES256", "none", "EdDSA"} {
			assert.Error(t, (&oauth2.ClientSecretJWT{Replay: r, Key: caSecretKey, Algorithms: []string{alg}}).Validate(), alg)
		}
		assert.Error(t, (&oauth2.ClientSecretJWT{Replay: r, Key: caSecretKey, ClockSkew: -time.Second}).Validate())
	})
	t.Run("SigningAlgorithms", func(t *testing.T) {
		var _ oauth2.SigningAlgorithmsReporter = &oauth2.PrivateKeyJWT{}
		var _ oauth2.SigningAlgorithmsReporter = &oauth2.ClientSecretJWT{}
		assert.Equal(t, []string{"ES256", "PS256", "EdDSA", "RS256"}, (&oauth2.PrivateKeyJWT{}).SigningAlgorithms())
		assert.Equal(t, []string{"HS256"}, (&oauth2.ClientSecretJWT{}).SigningAlgorithms())
		assert.Equal(t, []string{"HS512"}, (&oauth2.ClientSecretJWT{Algorithms: []string{"RS256", "HS512"}}).SigningAlgorithms())
		assert.Equal(t, oauth2.AuthMethodPrivateKeyJWT, (&oauth2.PrivateKeyJWT{}).Method())
		assert.Equal(t, oauth2.AuthMethodClientSecretJWT, (&oauth2.ClientSecretJWT{}).Method())
	})
}

// draft-ietf-oauth-rfc7523bis §4: the token endpoint URL as aud is accepted
// only with AllowEndpointAudience.
func TestEndpointAudienceCompatibilityOption(t *testing.T) {
	ctx := context.Background()
	for _, m := range []caMethod{pkjMethod(t, "ES256", caEC()), csjMethod()} {
		t.Run(m.name, func(t *testing.T) {
			var strict, legacy oauth2.ClientAuthenticator
			if m.signer.alg == "HS256" {
				strict = &oauth2.ClientSecretJWT{Replay: newCAReplay(), Key: caSecretKey}
				legacy = &oauth2.ClientSecretJWT{Replay: newCAReplay(), Key: caSecretKey, AllowEndpointAudience: true}
			} else {
				strict = &oauth2.PrivateKeyJWT{Replay: newCAReplay()}
				legacy = &oauth2.PrivateKeyJWT{Replay: newCAReplay(), AllowEndpointAudience: true}
			}
			for _, r := range []struct {
				name     string
				aud      any
				endpoint string
				strictOK bool
				legacyOK bool
			}{
				{"issuer", caIssuer, caEndpoint, true, true},
				{"token endpoint URL", caEndpoint, caEndpoint, false, true},
				{"PAR endpoint URL at /par", caPAR, caPAR, false, true},
				{"PAR endpoint URL at /token", caPAR, caEndpoint, false, false},
				{"token endpoint URL in an array", []string{caEndpoint}, caEndpoint, false, false},
				{"token endpoint URL, no endpoint known", caEndpoint, "", false, false},
				{"empty aud, no endpoint known", "", "", false, false},
			} {
				for _, c := range []struct {
					auth oauth2.ClientAuthenticator
					ok   bool
					name string
				}{{strict, r.strictOK, "strict"}, {legacy, r.legacyOK, "legacy"}} {
					t.Run(r.name+"/"+c.name, func(t *testing.T) {
						claims := caClaims(caNow)
						claims["aud"] = r.aud
						a := caAuth(m.signer.sign(t, nil, claims))
						a.Endpoint = r.endpoint
						err := c.auth.AuthenticateClient(ctx, m.client, a)
						if c.ok {
							assert.NoError(t, err)
						} else {
							assertRejected(t, err, a.Assertion)
						}
					})
				}
			}
		})
	}
}

// RFC 7523 §3 item 7 (fosite GHSA-v3q9-2p3m-7g43): an assertion is accepted
// once.
func TestAssertionUsedOnce(t *testing.T) {
	ctx := context.Background()
	for _, m := range allMethods(t) {
		t.Run(m.name, func(t *testing.T) {
			replay := newCAReplay()
			auth := m.auth(replay)
			claims := caClaims(caNow)
			assertion := m.signer.sign(t, nil, claims)
			require.NoError(t, auth.AuthenticateClient(ctx, m.client, caAuth(assertion)))

			err := auth.AuthenticateClient(ctx, m.client, caAuth(assertion))
			assertRejected(t, err, assertion)
			assert.ErrorIs(t, err, oauth2.ErrClientAssertionReplayed)
			assert.ErrorIs(t, err, storage.ErrConsumed)

			// At another endpoint (/par then /token): same store, same key.
			a := caAuth(assertion)
			a.Endpoint = caPAR
			assert.ErrorIs(t, auth.AuthenticateClient(ctx, m.client, a), oauth2.ErrClientAssertionReplayed)

			// A new assertion with the same jti is a replay too.
			again := m.signer.sign(t, map[string]any{"typ": "JWT"}, claims)
			assert.ErrorIs(t, auth.AuthenticateClient(ctx, m.client, caAuth(again)), oauth2.ErrClientAssertionReplayed)
		})
	}
}

// RFC 7523 §3 item 7 (node-oidc-provider commit f167233): the replay entry
// outlives exp plus the clock skew.
func TestReplayStoreKeptThroughClockSkew(t *testing.T) {
	ctx := context.Background()
	m := pkjMethod(t, "ES256", caEC())
	now := caNow
	replay := newCAReplay()
	replay.now = func() time.Time { return now }
	auth := m.auth(replay)
	claims := caClaims(caNow)
	exp := time.Unix(claims["exp"].(int64), 0)
	assertion := m.signer.sign(t, nil, claims)
	require.NoError(t, auth.AuthenticateClient(ctx, m.client, caAuth(assertion)))

	// The entry lives until exp + skew, the last instant the assertion
	// would be accepted.
	var found bool
	for k, v := range replay.entries {
		found = true
		assert.True(t, exp.Add(60*time.Second).Equal(v), "expiresAt %v", v)
		assert.Contains(t, k, claims["jti"].(string))
		assert.True(t, strings.HasPrefix(k, "client_assertion:"), k)
	}
	require.True(t, found)

	now = exp.Add(60*time.Second - time.Second)
	a := caAuth(assertion)
	a.Now = now
	err := auth.AuthenticateClient(ctx, m.client, a)
	assert.ErrorIs(t, err, oauth2.ErrClientAssertionReplayed, "replay at exp + skew - 1 s")

	now = exp.Add(60 * time.Second)
	a.Now = now
	err = auth.AuthenticateClient(ctx, m.client, a)
	assertRejected(t, err, assertion)
	assert.NotErrorIs(t, err, oauth2.ErrClientAssertionReplayed, "past exp + skew the assertion is expired, whatever the store says")
}

// RFC 7523 §3 item 7: of concurrent identical assertions at most one is
// accepted.
func TestConcurrentIdenticalAssertions(t *testing.T) {
	for _, m := range allMethods(t) {
		t.Run(m.name, func(t *testing.T) {
			auth := m.auth(newCAReplay())
			assertion := m.signer.sign(t, nil, caClaims(caNow))
			var wins, replays atomic.Int64
			var wg sync.WaitGroup
			start := make(chan struct{})
			for range 10 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					err := auth.AuthenticateClient(context.Background(), m.client, caAuth(assertion))
					switch {
					case err == nil:
						wins.Add(1)
					case errors.Is(err, oauth2.ErrClientAssertionReplayed):
						replays.Add(1)
					}
				}()
			}
			close(start)
			wg.Wait()
			assert.EqualValues(t, 1, wins.Load())
			assert.EqualValues(t, 9, replays.Load())
		})
	}
}

// RFC 7523 §3 item 7: which assertions burn their jti, and under which key.
func TestReplayRules(t *testing.T) {
	ctx := context.Background()
	m := pkjMethod(t, "ES256", caEC())

	t.Run("a forged assertion does not burn the jti", func(t *testing.T) {
		replay := newCAReplay()
		auth := m.auth(replay)
		claims := caClaims(caNow)
		forged := caSigner{"ES256", caEC2()}.sign(t, nil, claims)
		assertRejected(t, auth.AuthenticateClient(ctx, m.client, caAuth(forged)), forged)
		assert.Empty(t, replay.entries)
		assert.NoError(t, auth.AuthenticateClient(ctx, m.client, caAuth(m.signer.sign(t, nil, claims))))
	})
	t.Run("an invalid claim does not burn the jti", func(t *testing.T) {
		replay := newCAReplay()
		claims := caClaims(caNow)
		claims["aud"] = caEndpoint
		_ = m.auth(replay).AuthenticateClient(ctx, m.client, caAuth(m.signer.sign(t, nil, claims)))
		assert.Empty(t, replay.entries)
	})
	t.Run("jti is per client", func(t *testing.T) {
		replay := newCAReplay()
		auth := m.auth(replay)
		claims := caClaims(caNow)
		require.NoError(t, auth.AuthenticateClient(ctx, m.client, caAuth(m.signer.sign(t, nil, claims))))
		other := *m.client
		other.ID = "client-2"
		claims["iss"], claims["sub"] = other.ID, other.ID
		a := caAuth(m.signer.sign(t, nil, claims))
		a.ClientID = other.ID
		assert.NoError(t, auth.AuthenticateClient(ctx, &other, a))
	})
	t.Run("client IDs with ':' cannot collide", func(t *testing.T) {
		replay := newCAReplay()
		auth := m.auth(replay)
		c1, c2 := *m.client, *m.client
		c1.ID, c2.ID = "a:b", "a"
		for _, x := range []struct {
			c   *storage.Client
			jti string
		}{{&c1, "c"}, {&c2, "b:c"}} {
			claims := caClaims(caNow)
			claims["iss"], claims["sub"], claims["jti"] = x.c.ID, x.c.ID, x.jti
			a := caAuth(m.signer.sign(t, nil, claims))
			a.ClientID = x.c.ID
			assert.NoError(t, auth.AuthenticateClient(ctx, x.c, a))
		}
	})
	t.Run("a replay store failure is not an invalid assertion", func(t *testing.T) {
		replay := newCAReplay()
		replay.err = errors.New("database is down")
		err := m.auth(replay).AuthenticateClient(ctx, m.client, caAuth(m.signer.sign(t, nil, caClaims(caNow))))
		require.Error(t, err)
		assert.NotErrorIs(t, err, oauth2.ErrClientAssertionInvalid)
		assert.ErrorIs(t, err, replay.err)
	})
}

func TestClientSecretJWT(t *testing.T) {
	ctx := context.Background()
	client := &storage.Client{ID: caClientID, TokenEndpointAuthMethod: oauth2.AuthMethodClientSecretJWT}
	long := []byte(strings.Repeat("s", 64))
	keyOf := func(k []byte) func(context.Context, *storage.Client) ([]byte, error) {
		return func(context.Context, *storage.Client) ([]byte, error) { return k, nil }
	}
	for _, r := range []struct {
		name string
		auth *oauth2.ClientSecretJWT
		s    caSigner
		ok   bool
	}{
		{"HS256 with the secret", &oauth2.ClientSecretJWT{Key: caSecretKey}, caSigner{"HS256", caSecret}, true},
		{"HS256 with another secret", &oauth2.ClientSecretJWT{Key: caSecretKey}, caSigner{"HS256", []byte(strings.Repeat("x", 32))}, false},
		{"HS512 when only HS256 is accepted", &oauth2.ClientSecretJWT{Key: keyOf(long)}, caSigner{"HS512", long}, false},
		{"HS512 when configured", &oauth2.ClientSecretJWT{Key: keyOf(long), Algorithms: []string{"HS512"}}, caSigner{"HS512", long}, true},
		{"HS384 when configured", &oauth2.ClientSecretJWT{Key: keyOf(long), Algorithms: []string{"HS384"}}, caSigner{"HS384", long}, true},
		{"HS512 with a 32-byte key (RFC 7518 §3.2)", &oauth2.ClientSecretJWT{Key: caSecretKey, Algorithms: []string{"HS512"}}, caSigner{"HS512", caSecret}, false},
		{"key shorter than 32 bytes", &oauth2.ClientSecretJWT{Key: keyOf(caSecret[:31])}, caSigner{"HS256", caSecret[:31]}, false},
		{"empty key", &oauth2.ClientSecretJWT{Key: keyOf(nil)}, caSigner{"HS256", caSecret}, false},
		{"RS256 even when listed (RFC 8725 §3.1)", &oauth2.ClientSecretJWT{Key: caSecretKey, Algorithms: []string{"RS256", "HS256"}}, caSigner{"RS256", caRSA()}, false},
		{"ES256 (RFC 8725 §3.1)", &oauth2.ClientSecretJWT{Key: caSecretKey}, caSigner{"ES256", caEC()}, false},
	} {
		t.Run(r.name, func(t *testing.T) {
			r.auth.Replay = newCAReplay()
			assertion := r.s.sign(t, nil, caClaims(caNow))
			err := r.auth.AuthenticateClient(ctx, client, caAuth(assertion))
			if r.ok {
				assert.NoError(t, err)
			} else {
				assertRejected(t, err, assertion)
				assert.NotContains(t, err.Error(), string(long))
			}
		})
	}
	t.Run("alg outside the client's token_endpoint_auth_signing_alg (RFC 8725 §3.1)", func(t *testing.T) {
		c := *client
		c.TokenEndpointAuthSigningAlg = "HS512"
		auth := &oauth2.ClientSecretJWT{Replay: newCAReplay(), Key: caSecretKey, Algorithms: []string{"HS256", "HS512"}}
		assertion := caSigner{"HS256", caSecret}.sign(t, nil, caClaims(caNow))
		assertRejected(t, auth.AuthenticateClient(ctx, &c, caAuth(assertion)), assertion)
	})
	t.Run("Key errors are returned, not reported as a bad assertion", func(t *testing.T) {
		kmsDown := errors.New("kms unavailable")
		auth := &oauth2.ClientSecretJWT{Replay: newCAReplay(), Key: func(context.Context, *storage.Client) ([]byte, error) { return nil, kmsDown }}
		err := auth.AuthenticateClient(ctx, client, caAuth(caSigner{"HS256", caSecret}.sign(t, nil, caClaims(caNow))))
		assert.ErrorIs(t, err, kmsDown)
		assert.NotErrorIs(t, err, oauth2.ErrClientAssertionInvalid)
	})
	t.Run("Key is not called for an assertion that fails cheap checks", func(t *testing.T) {
		var calls atomic.Int64
		auth := &oauth2.ClientSecretJWT{Replay: newCAReplay(), Key: func(ctx context.Context, c *storage.Client) ([]byte, error) {
			calls.Add(1)
			return caSecretKey(ctx, c)
		}}
		claims := caClaims(caNow)
		claims["aud"] = "https://other.example"
		_ = auth.AuthenticateClient(ctx, client, caAuth(caSigner{"HS256", caSecret}.sign(t, nil, claims)))
		assert.Zero(t, calls.Load())
	})
	t.Run("nil Key refuses", func(t *testing.T) {
		auth := &oauth2.ClientSecretJWT{Replay: newCAReplay()}
		assert.Error(t, auth.AuthenticateClient(ctx, client, caAuth(caSigner{"HS256", caSecret}.sign(t, nil, caClaims(caNow)))))
	})
}

func TestClientAssertionSubject(t *testing.T) {
	s := caSigner{"ES256", caEC()}
	for _, r := range []struct {
		name   string
		claims map[string]any
		raw    string
		want   string
	}{
		{name: "sub", claims: map[string]any{"sub": "c1", "iss": "c2"}, want: "c1"},
		{name: "iss when no sub", claims: map[string]any{"iss": "c2"}, want: "c2"},
		{name: "neither", claims: map[string]any{"aud": caIssuer}},
		{name: "sub a number", claims: map[string]any{"sub": 1, "iss": "c2"}},
		{name: "sub empty", claims: map[string]any{"sub": ""}},
		{name: "duplicate sub", raw: caB64([]byte(`{"alg":"ES256"}`)) + "." + caB64([]byte(`{"sub":"a","sub":"b"}`)) + ".sig"},
		{name: "1 MB", raw: "a." + strings.Repeat("A", 1<<20) + ".b"},
		{name: "JWE", raw: "a.b.c.d.e"},
		{name: "garbage", raw: "garbage"},
		{name: "empty", raw: ""},
	} {
		t.Run(r.name, func(t *testing.T) {
			assertion := r.raw
			if r.claims != nil {
				assertion = s.sign(t, nil, r.claims)
			}
			got, err := oauth2.ClientAssertionSubject(assertion)
			if r.want != "" {
				assert.NoError(t, err)
				assert.Equal(t, r.want, got)
			} else {
				assert.ErrorIs(t, err, oauth2.ErrClientAssertionInvalid)
				assert.Empty(t, got)
			}
		})
	}
	t.Run("unsigned assertions are read, and still untrusted", func(t *testing.T) {
		got, err := oauth2.ClientAssertionSubject(caB64([]byte(`{"alg":"none"}`)) + "." + caB64([]byte(`{"sub":"c1"}`)) + ".x")
		assert.NoError(t, err)
		assert.Equal(t, "c1", got)
	})
}

// jwksServer serves a key set that the test can change, and counts hits.
type jwksServer struct {
	*httptest.Server
	hits atomic.Int64
	mu   sync.Mutex
	body []byte
}

func newJWKSServer(t testing.TB, body []byte) *jwksServer {
	s := &jwksServer{body: body}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		s.mu.Lock()
		b := s.body
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/jwk-set+json")
		_, _ = w.Write(b)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) setBody(b []byte) {
	s.mu.Lock()
	s.body = b
	s.mu.Unlock()
}

func TestPrivateKeyJWT_JWKSURI(t *testing.T) {
	ctx := context.Background()
	srv := newJWKSServer(t, jwksOf(t, caEC()))
	clock := caNow
	var clockMu sync.Mutex
	fetcher := &oauth2.JWKSFetcher{AllowPrivateAddresses: true, Now: func() time.Time {
		clockMu.Lock()
		defer clockMu.Unlock()
		return clock
	}}
	advance := func(d time.Duration) { clockMu.Lock(); clock = clock.Add(d); clockMu.Unlock() }
	auth := &oauth2.PrivateKeyJWT{Replay: newCAReplay(), JWKSFetcher: fetcher}
	require.NoError(t, auth.Validate())
	client := &storage.Client{ID: caClientID, TokenEndpointAuthMethod: oauth2.AuthMethodPrivateKeyJWT, JWKSURI: srv.URL + "/jwks"}

	t.Run("keys from jwks_uri verify", func(t *testing.T) {
		for range 3 {
			assert.NoError(t, auth.AuthenticateClient(ctx, client, caAuth(caSigner{"ES256", caEC()}.sign(t, map[string]any{"kid": "k0"}, caClaims(caNow)))))
		}
		assert.EqualValues(t, 1, srv.hits.Load(), "the set is cached")
	})
	t.Run("a flood of unknown kids causes at most one refetch per interval", func(t *testing.T) {
		before := srv.hits.Load()
		advance(31 * time.Second)
		for i := range 50 {
			assertion := caSigner{"ES256", caEC2()}.sign(t, map[string]any{"kid": fmt.Sprintf("unknown-%d", i)}, caClaims(caNow))
			assertRejected(t, auth.AuthenticateClient(ctx, client, caAuth(assertion)), assertion)
		}
		assert.EqualValues(t, 1, srv.hits.Load()-before)
	})
	t.Run("a rotated key is found by one refetch", func(t *testing.T) {
		srv.setBody(jwksOf(t, caEC(), caEd()))
		advance(31 * time.Second)
		before := srv.hits.Load()
		assert.NoError(t, auth.AuthenticateClient(ctx, client, caAuth(caSigner{"EdDSA", caEd()}.sign(t, map[string]any{"kid": "k1"}, caClaims(caNow)))))
		assert.NoError(t, auth.AuthenticateClient(ctx, client, caAuth(caSigner{"EdDSA", caEd()}.sign(t, nil, caClaims(caNow)))))
		assert.EqualValues(t, 1, srv.hits.Load()-before)
	})
	t.Run("a rotated key without kid is found by one refetch", func(t *testing.T) {
		srv.setBody(jwksOf(t, caRSA()))
		advance(31 * time.Second)
		assert.NoError(t, auth.AuthenticateClient(ctx, client, caAuth(caSigner{"PS256", caRSA()}.sign(t, nil, caClaims(caNow)))))
		assertion := caSigner{"ES256", caEC()}.sign(t, nil, caClaims(caNow))
		assertRejected(t, auth.AuthenticateClient(ctx, client, caAuth(assertion)), assertion)
	})
	t.Run("jwks_uri at a blocked address fails cleanly", func(t *testing.T) {
		strict := &oauth2.PrivateKeyJWT{Replay: newCAReplay()} // default fetcher
		for _, uri := range []string{"https://169.254.169.254/latest/meta-data/jwks", srv.URL + "/jwks", "https://127.0.0.1/jwks", "http://client.example/jwks"} {
			c := *client
			c.JWKSURI = uri
			assertion := caSigner{"ES256", caEC()}.sign(t, nil, caClaims(caNow))
			err := strict.AuthenticateClient(ctx, &c, caAuth(assertion))
			assertRejected(t, err, assertion)
			assert.ErrorIs(t, err, oauth2.ErrJWKSFetch)
		}
	})
}

func FuzzClientAssertion(f *testing.F) {
	m := pkjMethod(f, "ES256", caEC())
	c := csjMethod()
	seeds := []string{
		m.signer.sign(f, nil, caClaims(caNow)),
		m.signer.sign(f, map[string]any{"kid": "k0", "typ": "client-authentication+jwt"}, caClaims(caNow)),
		c.signer.sign(f, nil, caClaims(caNow)),
		signRaw(f, "ES256", caEC(), []byte(`{"alg":"ES256","alg":"none"}`), []byte(`{"aud":[1,{}],"exp":"x"}`)),
		caB64([]byte(`{"alg":"none"}`)) + "." + caB64([]byte(`{"sub":"client-1"}`)) + ".",
		caB64([]byte(`{"alg":"ES256","crit":["x"]}`)) + "." + caB64([]byte(`{"exp":1e999}`)) + ".AA",
		"a.b.c.d.e", "..", "...", "{}", "", ".\x00.", "eyJ.eyJ.eyJ",
	}
	for _, s := range seeds {
		f.Add(s, "")
	}
	f.Add(seeds[0], "k0")
	pkj := m.auth(newCAReplay())
	csj := c.auth(newCAReplay())
	f.Fuzz(func(t *testing.T, assertion, clientID string) {
		a := caAuth(assertion)
		if clientID != "" {
			a.ClientID = clientID
		}
		for _, x := range []struct {
			auth   oauth2.ClientAuthenticator
			client *storage.Client
		}{{pkj, m.client}, {csj, c.client}} {
			if err := x.auth.AuthenticateClient(context.Background(), x.client, a); err != nil {
				assert.NotContains(t, err.Error(), string(caSecret))
				if len(assertion) > 16 {
					assert.NotContains(t, err.Error(), assertion)
				}
			}
		}
		sub, err := oauth2.ClientAssertionSubject(assertion)
		if err == nil && sub == "" {
			t.Fatal("empty subject without an error")
		}
	})
}

// FuzzClientAssertionJSON fuzzes the decoded header and claims of a
// correctly signed assertion, so that inputs reach the claim checks; an
// accepted assertion must satisfy every rule (RFC 7523 §3 items 1-7,
// draft-ietf-oauth-rfc7523bis §4, RFC 7515 §4.1.11, RFC 7519 §4.1).
func FuzzClientAssertionJSON(f *testing.F) {
	good := caMust(json.Marshal(caClaims(caNow)))
	for _, seed := range []struct{ header, claims string }{
		{`{"alg":"HS256"}`, string(good)},
		{`{"alg":"HS256","typ":"client-authentication+jwt","kid":"k0"}`, string(good)},
		{`{"alg":"HS256","alg":"HS256"}`, string(good)},
		{`{"alg":"HS256","crit":["exp"]}`, string(good)},
		{`{"alg":"none"}`, string(good)},
		{`{"alg":"HS256"}`, `{"iss":"client-1","sub":"client-1","aud":["https://as.example"],"exp":1,"jti":"x"}`},
		{`{"alg":"HS256"}`, `{"iss":"client-1","sub":"client-1","aud":"https://as.example","exp":"1","jti":"x"}`},
		{`{"alg":"HS256"}`, `{"iss":"client-1","sub":"client-1","aud":"https://as.example","exp":1.7726e9,"jti":"x","jti":"y"}`},
		{`{"alg":"HS256"}`, `{"\u0069ss":"client-1","sub":"client-1","aud":"https://as.example","exp":1772600827,"jti":"x"}`},
	} {
		f.Add([]byte(seed.header), []byte(seed.claims))
	}
	c := csjMethod()
	auth := c.auth(nopReplay{}) // every accepted input is checked, not only the first per jti
	f.Fuzz(func(t *testing.T, header, claims []byte) {
		assertion := signRaw(t, "HS256", caSecret, header, claims)
		if auth.AuthenticateClient(context.Background(), c.client, caAuth(assertion)) != nil {
			return
		}
		var h, cl map[string]any
		require.NoError(t, json.Unmarshal(header, &h))
		require.NoError(t, json.Unmarshal(claims, &cl))
		assert.Equal(t, "HS256", h["alg"])
		assert.NotContains(t, h, "crit")
		assert.Equal(t, caClientID, cl["iss"])
		assert.Equal(t, caClientID, cl["sub"])
		assert.Equal(t, caIssuer, cl["aud"])
		assert.IsType(t, "", cl["jti"])
		assert.NotEmpty(t, cl["jti"])
		expf, ok := cl["exp"].(float64)
		require.True(t, ok, "exp is a number")
		exp := time.Unix(int64(expf), 0)
		assert.True(t, exp.After(caNow.Add(-61*time.Second)) && exp.Before(caNow.Add(6*time.Minute+time.Second)), "exp %v", exp)
	})
}

// nopReplay accepts every jti: for the benchmark only, so that one
// assertion can be verified b.N times.
type nopReplay struct{}

func (nopReplay) Remember(context.Context, string, time.Time) error { return nil }

func BenchmarkPrivateKeyJWT(b *testing.B) {
	for _, m := range allMethods(b)[:4] {
		b.Run(strings.TrimPrefix(m.name, "private_key_jwt/"), func(b *testing.B) { benchmarkMethod(b, m) })
	}
}

func BenchmarkClientSecretJWT(b *testing.B) {
	b.Run("HS256", func(b *testing.B) { benchmarkMethod(b, csjMethod()) })
}

func benchmarkMethod(b *testing.B, m caMethod) {
	auth := m.auth(nopReplay{})
	a := caAuth(m.signer.sign(b, map[string]any{"kid": "k0"}, caClaims(caNow)))
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := auth.AuthenticateClient(ctx, m.client, a); err != nil {
			b.Fatal(err)
		}
	}
}
