package dpop

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestVerifyAlgorithms accepts proofs made with jws.Sign for each default
// algorithm and returns the key's RFC 7638 thumbprint (RFC 9449 §6.1).
func TestVerifyAlgorithms(t *testing.T) {
	for _, alg := range []string{"ES256", "EdDSA", "RS256", "PS256"} {
		t.Run(alg, func(t *testing.T) {
			v, _ := newTestVerifier(t, Config{})
			s := newSigner(t, alg)
			proof, err := v.Verify(context.Background(), req(s.jwxProof(t, nil)))
			require.NoError(t, err)
			want, err := Thumbprint(s.pub)
			require.NoError(t, err)
			assert.Equal(t, want, proof.Thumbprint)
			assert.Len(t, proof.Thumbprint, ThumbprintLength)
			assert.Equal(t, alg, proof.Algorithm)
			assert.Equal(t, testMethod, proof.Method)
			assert.Equal(t, testURL, proof.URL)
			assert.Equal(t, testNow, proof.IssuedAt.UTC())
			assert.NotEmpty(t, proof.ID)
			assert.NotNil(t, proof.PublicKey)
			assert.Empty(t, proof.NextNonce)
		})
	}
}

// TestVerifyConfiguredAlgorithms accepts the other asymmetric algorithms
// once configured.
func TestVerifyConfiguredAlgorithms(t *testing.T) {
	for _, alg := range []string{"ES384", "ES512", "RS384", "PS512"} {
		t.Run(alg, func(t *testing.T) {
			v, _ := newTestVerifier(t, Config{Algorithms: []string{alg}})
			_, err := v.Verify(context.Background(), req(newSigner(t, alg).jwxProof(t, nil)))
			require.NoError(t, err)
		})
	}
}

// refusal is one proof that a check of RFC 9449 §4.3 refuses.
type refusal struct {
	name string
	cfg  Config
	req  func(t *testing.T) Request
	desc string
}

func checkRefusals(t *testing.T, cases []refusal) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v, store := newTestVerifier(t, tc.cfg)
			_, err := v.Verify(context.Background(), tc.req(t))
			var e *Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, CodeInvalidProof, e.Code)
			assert.Equal(t, tc.desc, e.Description)
			assert.ErrorIs(t, err, ErrInvalidProof)
			assert.Empty(t, e.Nonce)
			assert.Zero(t, store.calls, "a refused proof must not burn its jti")
		})
	}
}

func withProof(p string) func(*testing.T) Request {
	return func(*testing.T) Request { return req(p) }
}

// es256 is a signer shared by the refusal tables.
func es256(t *testing.T) *signer { return newSigner(t, "ES256") }

// TestStep1OneHeader: "there is not more than one DPoP HTTP request
// header field" (RFC 9449 §4.3 step 1).
func TestStep1OneHeader(t *testing.T) {
	checkRefusals(t, []refusal{
		{name: "no DPoP header", desc: descMissing, req: func(*testing.T) Request {
			return Request{Method: testMethod, URL: testURL}
		}},
		{name: "an empty DPoP header", desc: descMissing, req: withProof("")},
		{name: "two DPoP headers, both valid proofs", desc: descMultiple, req: func(t *testing.T) Request {
			s := es256(t)
			r := req(s.proof(t, nil, nil))
			r.Proofs = append(r.Proofs, s.proof(t, nil, nil))
			return r
		}},
		{name: "two proofs joined in one field value (RFC 9110 §5.3)", desc: descNotJWS, req: func(t *testing.T) Request {
			s := es256(t)
			return req(s.proof(t, nil, nil) + ", " + s.proof(t, nil, nil))
		}},
	})
}

// TestStep2WellFormedJWT: "the DPoP HTTP request header field value is a
// single and well-formed JWT" (RFC 9449 §4.3 step 2), with the strict
// parsing of internal/jose and a size limit before any decoding.
func TestStep2WellFormedJWT(t *testing.T) {
	good := func(t *testing.T) string { return es256(t).proof(t, nil, nil) }
	checkRefusals(t, []refusal{
		{name: "longer than MaxProofSize", desc: descTooLong, cfg: Config{MaxProofSize: 200}, req: func(t *testing.T) Request {
			return req(good(t))
		}},
		{name: "header and payload only", desc: descNotJWS, req: func(t *testing.T) Request {
			p := good(t)
			return req(p[:strings.LastIndexByte(p, '.')])
		}},
		{name: "JWE, five parts", desc: descNotJWS, req: func(t *testing.T) Request {
			return req(good(t) + ".AAAA.AAAA")
		}},
		{name: "unsigned, empty signature", desc: descNotJWS, req: func(t *testing.T) Request {
			p := good(t)
			return req(p[:strings.LastIndexByte(p, '.')+1])
		}},
		{name: "padded base64url", desc: descNotJWS, req: func(t *testing.T) Request {
			return req(good(t) + "==")
		}},
		{name: "JSON serialization", desc: descNotJWS, req: withProof(`{"payload":"e30","signatures":[]}`)},
		{name: "header not JSON", desc: descHeaderJSON, req: func(t *testing.T) Request {
			return req(es256(t).signRaw(t, []byte(`not json`), mustJSON(t, claims(nil))))
		}},
		{name: "duplicate header member", desc: descHeaderJSON, req: func(t *testing.T) Request {
			s := es256(t)
			h := `{"typ":"dpop+jwt","alg":"ES256","alg":"ES256","jwk":` + string(s.jwk) + `}`
			return req(s.signRaw(t, []byte(h), mustJSON(t, claims(nil))))
		}},
		{name: "header nested too deeply", desc: descHeaderJSON, req: func(t *testing.T) Request {
			s := es256(t)
			h := `{"typ":"dpop+jwt","alg":"ES256","x":[[[[[[[[[]]]]]]]]],"jwk":` + string(s.jwk) + `}`
			return req(s.signRaw(t, []byte(h), mustJSON(t, claims(nil))))
		}},
		{name: "claims not JSON", desc: descClaimsJSON, req: func(t *testing.T) Request {
			s := es256(t)
			return req(s.signRaw(t, mustJSON(t, s.header(nil)), []byte(`[1]`)))
		}},
		{name: "duplicate jti claim", desc: descClaimsJSON, req: func(t *testing.T) Request {
			s := es256(t)
			c := `{"jti":"a","jti":"b","htm":"POST","htu":"` + testURL + `","iat":` + jsonInt(testNow.Unix()) + `}`
			return req(s.signRaw(t, mustJSON(t, s.header(nil)), []byte(c)))
		}},
	})
}

func jsonInt(n int64) string { b, _ := json.Marshal(n); return string(b) }

// TestStep3RequiredClaims: "all required claims per Section 4.2 are
// contained in the JWT" (RFC 9449 §4.3 step 3), with their types.
func TestStep3RequiredClaims(t *testing.T) {
	var cases []refusal
	for _, c := range []string{"jti", "htm", "htu", "iat"} {
		cases = append(cases, refusal{name: "no " + c, desc: descMissingClaim, req: func(t *testing.T) Request {
			return req(es256(t).proof(t, nil, map[string]any{c: omit{}}))
		}})
	}
	for name, change := range map[string]map[string]any{
		"jti a number":        {"jti": 7},
		"jti empty":           {"jti": ""},
		"jti longer than 256": {"jti": strings.Repeat("a", 257)},
		"htm null":            {"htm": nil},
		"htm empty":           {"htm": ""},
		"htu an array":        {"htu": []string{testURL}},
		"iat a string":        {"iat": "1795000000"},
		"iat negative":        {"iat": -1},
		"iat after year 9999": {"iat": int64(253402300800)},
		"ath a number":        {"ath": 1},
		"nonce an object":     {"nonce": map[string]any{}},
	} {
		cases = append(cases, refusal{name: name, desc: descClaimType, req: func(t *testing.T) Request {
			return req(es256(t).proof(t, nil, change))
		}})
	}
	checkRefusals(t, cases)
}

// TestStep4Typ: "the typ JOSE Header Parameter has the value dpop+jwt"
// (RFC 9449 §4.3 step 4).
func TestStep4Typ(t *testing.T) {
	var cases []refusal
	for name, typ := range map[string]any{
		"typ missing":        omit{},
		"typ JWT":            "JWT",
		"typ at+jwt":         "at+jwt",
		"typ dpop":           "dpop",
		"typ a number":       1,
		"typ with parameter": "dpop+jwt; q=1",
	} {
		cases = append(cases, refusal{name: name, desc: descTyp, req: func(t *testing.T) Request {
			return req(es256(t).proof(t, map[string]any{"typ": typ}, nil))
		}})
	}
	checkRefusals(t, cases)

	// RFC 7515 §4.1.9: media types compare case-insensitively, and
	// "application/" may be left out.
	for _, typ := range []string{"DPoP+JWT", "application/dpop+jwt"} {
		v, _ := newTestVerifier(t, Config{})
		_, err := v.Verify(context.Background(), req(es256(t).proof(t, map[string]any{"typ": typ}, nil)))
		assert.NoError(t, err, typ)
	}
}

// TestStep5Alg: "the alg JOSE Header Parameter indicates a registered
// asymmetric digital signature algorithm, is not none, is supported by
// the application, and is acceptable per local policy" (RFC 9449 §4.3
// step 5).
func TestStep5Alg(t *testing.T) {
	checkRefusals(t, []refusal{
		{name: "alg none with a signature", desc: descAlg, req: func(t *testing.T) Request {
			return req(es256(t).proof(t, map[string]any{"alg": "none"}, nil))
		}},
		{name: "alg HS256 over the jwk's bytes", desc: descAlg, req: func(t *testing.T) Request {
			return req(es256(t).proof(t, map[string]any{"alg": "HS256"}, nil))
		}},
		{name: "alg missing", desc: descAlg, req: func(t *testing.T) Request {
			return req(es256(t).proof(t, map[string]any{"alg": omit{}}, nil))
		}},
		{name: "alg a number", desc: descAlg, req: func(t *testing.T) Request {
			return req(es256(t).proof(t, map[string]any{"alg": 256}, nil))
		}},
		{name: "alg in lower case", desc: descAlg, req: func(t *testing.T) Request {
			return req(es256(t).proof(t, map[string]any{"alg": "es256"}, nil))
		}},
		{name: "asymmetric alg not configured", desc: descAlg, cfg: Config{Algorithms: []string{"EdDSA"}}, req: func(t *testing.T) Request {
			return req(es256(t).proof(t, nil, nil))
		}},
		{name: "ES384, not among the defaults", desc: descAlg, req: func(t *testing.T) Request {
			return req(newSigner(t, "ES384").proof(t, nil, nil))
		}},
		{name: "crit header", desc: descHeaderParam, req: func(t *testing.T) Request {
			return req(es256(t).proof(t, map[string]any{"crit": []string{"exp"}, "exp": 1}, nil))
		}},
		{name: "b64 header", desc: descHeaderParam, req: func(t *testing.T) Request {
			return req(es256(t).proof(t, map[string]any{"b64": false}, nil))
		}},
		{name: "jku header", desc: descHeaderParam, req: func(t *testing.T) Request {
			return req(es256(t).proof(t, map[string]any{"jku": "https://attacker.example/jwks"}, nil))
		}},
		{name: "x5c header", desc: descHeaderParam, req: func(t *testing.T) Request {
			return req(es256(t).proof(t, map[string]any{"x5c": []string{"AAAA"}}, nil))
		}},
	})
}

// TestStep6Signature: "the JWT signature verifies with the public key
// contained in the jwk JOSE Header Parameter" (RFC 9449 §4.3 step 6).
func TestStep6Signature(t *testing.T) {
	checkRefusals(t, []refusal{
		{name: "signed by another key than its jwk", desc: descSignature, req: func(t *testing.T) Request {
			victim, attacker := es256(t), newSignerNamed(t, "ES256", "attacker")
			return req(attacker.signRaw(t, mustJSON(t, victim.header(nil)), mustJSON(t, claims(nil))))
		}},
		{name: "claims changed after signing", desc: descSignature, req: func(t *testing.T) Request {
			s := es256(t)
			p := s.proof(t, nil, nil)
			parts := strings.Split(p, ".")
			other := s.proof(t, nil, nil)
			return req(parts[0] + "." + strings.Split(other, ".")[1] + "." + parts[2])
		}},
		{name: "EdDSA signature under ES256 with an Ed25519 jwk", desc: descJWKUnusable, req: func(t *testing.T) Request {
			return req(newSigner(t, "EdDSA").proof(t, map[string]any{"alg": "ES256"}, nil))
		}},
		{name: "RS256 alg with an EC jwk", desc: descJWKUnusable, req: func(t *testing.T) Request {
			return req(es256(t).proof(t, map[string]any{"alg": "RS256"}, nil))
		}},
		{name: "ES256 with a P-384 jwk", desc: descJWKUnusable, cfg: Config{Algorithms: []string{"ES256", "ES384"}}, req: func(t *testing.T) Request {
			return req(newSigner(t, "ES384").proof(t, map[string]any{"alg": "ES256"}, nil))
		}},
		{name: "jwk alg member names another alg", desc: descJWKUnusable, cfg: Config{Algorithms: []string{"RS256", "PS256"}}, req: func(t *testing.T) Request {
			s := newSigner(t, "RS256")
			var m map[string]any
			require.NoError(t, json.Unmarshal(s.jwk, &m))
			m["alg"] = "PS256"
			return req(s.proof(t, map[string]any{"jwk": m}, nil))
		}},
		{name: "jwk use enc", desc: descJWKUnusable, req: func(t *testing.T) Request {
			return req(es256(t).proof(t, map[string]any{"jwk": jwkWith(t, es256(t), "use", "enc")}, nil))
		}},
		{name: "jwk key_ops without verify", desc: descJWKUnusable, req: func(t *testing.T) Request {
			return req(es256(t).proof(t, map[string]any{"jwk": jwkWith(t, es256(t), "key_ops", []string{"encrypt"})}, nil))
		}},
		{name: "jwk point not on the curve", desc: descJWKUnusable, req: func(t *testing.T) Request {
			s := es256(t)
			other := newSignerNamed(t, "ES256", "attacker")
			var o map[string]any
			require.NoError(t, json.Unmarshal(other.jwk, &o))
			return req(s.proof(t, map[string]any{"jwk": jwkWith(t, s, "y", o["y"])}, nil))
		}},
		{name: "RSA jwk of 1024 bits", desc: descJWKUnusable, req: func(t *testing.T) Request {
			k, err := rsa.GenerateKey(rand.Reader, 1024)
			require.NoError(t, err)
			pub, err := jwk.FromRaw(k.Public())
			require.NoError(t, err)
			s := &signer{alg: "RS256", priv: k, pub: pub, jwk: mustJSON(t, pub)}
			return req(s.proof(t, nil, nil))
		}},
		{name: "X25519 jwk", desc: descJWKUnusable, req: func(t *testing.T) Request {
			s := newSigner(t, "EdDSA")
			return req(s.proof(t, map[string]any{"jwk": jwkWith(t, s, "crv", "X25519")}, nil))
		}},
		{name: "jwk missing", desc: descJWKMissing, req: func(t *testing.T) Request {
			return req(es256(t).proof(t, map[string]any{"jwk": omit{}}, nil))
		}},
		{name: "jwk a string", desc: descJWKNotObject, req: func(t *testing.T) Request {
			s := es256(t)
			return req(s.proof(t, map[string]any{"jwk": string(s.jwk)}, nil))
		}},
		{name: "jwk with a duplicate member", desc: descJWKNotObject, req: func(t *testing.T) Request {
			s := es256(t)
			dup := json.RawMessage(`{"kty":"EC","kty":"RSA",` + string(s.jwk[1:]))
			return req(s.proof(t, map[string]any{"jwk": dup}, nil))
		}},
		{name: "jwk of an unknown kty", desc: descJWKUnusable, req: func(t *testing.T) Request {
			return req(es256(t).proof(t, map[string]any{"jwk": map[string]any{"kty": "XYZ"}}, nil))
		}},
	})
}

// jwkWith returns s's public JWK with one member changed.
func jwkWith(t *testing.T, s *signer, name string, value any) map[string]any {
	var m map[string]any
	require.NoError(t, json.Unmarshal(s.jwk, &m))
	m[name] = value
	return m
}

// TestStep7NoPrivateKey: "the jwk JOSE Header Parameter does not contain a
// private key" (RFC 9449 §4.3 step 7): a private member refuses the proof,
// even when the signature verifies.
func TestStep7NoPrivateKey(t *testing.T) {
	private := func(t *testing.T, alg string) map[string]any {
		s := newSigner(t, alg)
		k, err := jwk.FromRaw(s.priv)
		require.NoError(t, err)
		var m map[string]any
		require.NoError(t, json.Unmarshal(mustJSON(t, k), &m))
		return m
	}
	var cases []refusal
	for _, alg := range []string{"ES256", "EdDSA", "RS256"} {
		cases = append(cases, refusal{name: alg + " private jwk", desc: descJWKPrivate, req: func(t *testing.T) Request {
			return req(newSigner(t, alg).proof(t, map[string]any{"jwk": private(t, alg)}, nil))
		}})
	}
	for _, member := range []string{"p", "q", "dp", "dq", "qi", "oth"} {
		cases = append(cases, refusal{name: "RSA jwk with " + member + " only", desc: descJWKPrivate, req: func(t *testing.T) Request {
			s := newSigner(t, "RS256")
			m := private(t, "RS256")
			pub := jwkWith(t, s, member, m["p"])
			return req(s.proof(t, map[string]any{"jwk": pub}, nil))
		}})
	}
	cases = append(cases, refusal{name: "symmetric jwk", desc: descJWKPrivate, req: func(t *testing.T) Request {
		return req(es256(t).proof(t, map[string]any{"jwk": map[string]any{"kty": "oct", "k": "AAAA"}}, nil))
	}})
	checkRefusals(t, cases)
}

// TestStep8HTM: "the htm claim matches the HTTP method of the current
// request" (RFC 9449 §4.3 step 8); methods are case-sensitive (RFC 9110
// §9.1).
func TestStep8HTM(t *testing.T) {
	var cases []refusal
	for _, htm := range []string{"GET", "post", "POST ", "PUT"} {
		cases = append(cases, refusal{name: "htm " + htm, desc: descHTM, req: func(t *testing.T) Request {
			return req(es256(t).proof(t, nil, map[string]any{"htm": htm}))
		}})
	}
	checkRefusals(t, cases)
}

// TestStep9HTU: "the htu claim matches the HTTP URI value for the HTTP
// request in which the JWT was received, ignoring any query and fragment
// parts" (RFC 9449 §4.3 step 9), after RFC 3986 §6 normalisation.
func TestStep9HTU(t *testing.T) {
	var cases []refusal
	for _, htu := range []string{
		"https://server.example.com/token2",
		"https://server.example.com/",
		"https://attacker.example.com/token",
		"http://server.example.com/token",
		"https://server.example.com:8443/token",
		"https://server.example.com/Token",
		"https://server.example.com/token/",
		"https://server.example.com/a/../../token/x",
		"https://user@server.example.com/token",
		"//server.example.com/token",
		"/token",
		"",
		"https://server.example.com/%zz",
		"https://server.example.com:0/token",
		"https://server.example.com:00/token",
		"https://%73erver.example.com/token",
		"https://server.example.com/token" + strings.Repeat("/a/..", MaxURLLength/5),
	} {
		cases = append(cases, refusal{name: "htu " + htu, desc: descHTU, req: func(t *testing.T) Request {
			return req(es256(t).proof(t, nil, map[string]any{"htu": htu}))
		}})
	}
	checkRefusals(t, cases)

	for _, htu := range []string{
		"HTTPS://Server.Example.COM/token",
		"https://server.example.com:443/token",
		"https://server.example.com:/token",
		"https://server.example.com/%74oken",
		"https://server.example.com/a/../token",
		"https://server.example.com/./token",
		"https://server.example.com/token?x=1",
		"https://server.example.com/token#frag",
	} {
		v, _ := newTestVerifier(t, Config{})
		_, err := v.Verify(context.Background(), req(es256(t).proof(t, nil, map[string]any{"htu": htu})))
		assert.NoError(t, err, htu)
	}

	// A host is folded to lower case as ASCII, never by Unicode rules:
	// "İ" (U+0130) is not "i".
	v, _ := newTestVerifier(t, Config{})
	r := req(es256(t).proof(t, nil, map[string]any{"htu": "https://\u0130dp.example/token"}))
	r.URL = "https://idp.example/token"
	_, err := v.Verify(context.Background(), r)
	var e *Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, descHTU, e.Description)

	// The caller's URL is normalised too, and its query ignored.
	v, _ = newTestVerifier(t, Config{})
	r = req(es256(t).proof(t, nil, nil))
	r.URL = "https://SERVER.example.com:443/x/../token?a=b"
	_, err = v.Verify(context.Background(), r)
	assert.NoError(t, err)

	// A caller URL that is not absolute is the caller's error, not the
	// proof's.
	for _, url := range []string{"/token", "token", "ftp://server.example.com/token", "https:///token", "https://user@server.example.com/token"} {
		r.URL = url
		_, err = v.Verify(context.Background(), r)
		require.Error(t, err, url)
		assert.False(t, errors.As(err, &e), url)
	}
}

// TestStep9MalformedRequestURL: a request whose path is not RFC 3986
// syntax cannot be matched by any htu (RFC 9449 §4.3 step 9); the path is
// the client's, so the proof is refused as invalid_dpop_proof rather than
// reported as the server's failure.
func TestStep9MalformedRequestURL(t *testing.T) {
	var cases []refusal
	for _, path := range []string{"/token%zz", "/token|", "/to ken", "/" + strings.Repeat("a", MaxURLLength)} {
		cases = append(cases, refusal{name: "request path " + path[:min(len(path), 12)], desc: descRequestURL, req: func(t *testing.T) Request {
			r := req(es256(t).proof(t, nil, nil))
			r.URL = "https://server.example.com" + path
			return r
		}})
	}
	checkRefusals(t, cases)
}

// TestStep10Nonce: "if the server provided a nonce value to the client,
// the nonce claim matches the server-provided nonce value" (RFC 9449 §4.3
// step 10): without one, use_dpop_nonce and a fresh nonce (§8, §9).
func TestStep10Nonce(t *testing.T) {
	now := testNow
	clock := func() time.Time { return now }
	nonces, err := NewNonces(NonceConfig{Keys: [][]byte{key32('a')}, Step: time.Minute, Clock: clock})
	require.NoError(t, err)
	other, err := NewNonces(NonceConfig{Keys: [][]byte{key32('b')}, Step: time.Minute, Clock: clock})
	require.NoError(t, err)
	v, store := newTestVerifier(t, Config{Nonces: nonces, Clock: clock})
	s := es256(t)

	refused := func(name string, nonce any, desc string) {
		t.Helper()
		_, err := v.Verify(context.Background(), req(s.proof(t, nil, map[string]any{"nonce": nonce, "iat": now.Unix()})))
		var e *Error
		require.ErrorAs(t, err, &e, name)
		assert.Equal(t, CodeUseNonce, e.Code, name)
		assert.Equal(t, desc, e.Description, name)
		assert.ErrorIs(t, err, ErrUseNonce, name)
		assert.True(t, nonces.Valid(e.Nonce), name+": the error carries a fresh nonce")
	}
	refused("no nonce", omit{}, descNonceMissing)
	refused("empty nonce", "", descNonceMissing)
	refused("made-up nonce", "abc", descNonceInvalid)
	refused("nonce of another key", other.Issue(), descNonceInvalid)
	old := nonces.Issue()
	now = now.Add(2 * time.Minute)
	refused("nonce two steps old", old, descNonceInvalid)
	assert.Zero(t, store.calls, "a refused proof must not burn its jti")

	// The current nonce: accepted, nothing to refresh.
	cur := nonces.Issue()
	p, err := v.Verify(context.Background(), req(s.proof(t, nil, map[string]any{"nonce": cur, "iat": now.Unix()})))
	require.NoError(t, err)
	assert.Equal(t, cur, p.Nonce)
	assert.Empty(t, p.NextNonce)

	// The previous step's nonce: accepted, with the next one to send.
	now = now.Add(time.Minute)
	p, err = v.Verify(context.Background(), req(s.proof(t, nil, map[string]any{"nonce": cur, "iat": now.Unix()})))
	require.NoError(t, err)
	assert.NotEmpty(t, p.NextNonce)
	assert.NotEqual(t, cur, p.NextNonce)
	assert.True(t, nonces.Valid(p.NextNonce))
}

// TestStep10NonceBeforeKey: the nonce (RFC 9449 §4.3 step 10) is checked
// before the jwk is parsed and the signature verified (steps 6 and 7),
// which cost far more: a proof without the server's nonce gets
// use_dpop_nonce whatever its signature, and nothing of its key is kept.
func TestStep10NonceBeforeKey(t *testing.T) {
	nonces, err := NewNonces(NonceConfig{Keys: [][]byte{key32('a')}, Clock: func() time.Time { return testNow }})
	require.NoError(t, err)
	v, store := newTestVerifier(t, Config{Nonces: nonces})
	for name, p := range map[string]string{
		"ES256, bad signature":       madeUpProof(t, "ES256", string(es256(t).jwk), 64),
		"RSA-4096 made up":           madeUpProof(t, "RS256", syntheticRSAJWK(t, 4096, 65537), 512),
		"jwk with a private member":  madeUpProof(t, "ES256", `{"kty":"EC","d":"AAAA"}`, 64),
		"Ed25519 identity, R=1, S=0": madeUpProof(t, "EdDSA", fmt.Sprintf(`{"kty":"OKP","crv":"Ed25519","x":"%s"}`, b64(ed25519SmallOrder[0][:])), 64),
	} {
		_, err := v.Verify(context.Background(), req(p))
		var e *Error
		require.ErrorAs(t, err, &e, name)
		assert.Equal(t, CodeUseNonce, e.Code, name)
		assert.Equal(t, descNonceMissing, e.Description, name)
	}
	assert.Empty(t, v.keys.m)
	assert.Zero(t, store.calls)
}

func key32(c byte) []byte { return []byte(strings.Repeat(string(c), 32)) }

// TestStep11IAT: "the creation time of the JWT ... is within an acceptable
// window" (RFC 9449 §4.3 step 11, §11.1): by default at most 60 s old and
// at most 5 s ahead.
func TestStep11IAT(t *testing.T) {
	checkRefusals(t, []refusal{
		{name: "iat 61 s old", desc: descIATPast, req: func(t *testing.T) Request {
			return req(es256(t).proof(t, nil, map[string]any{"iat": testNow.Add(-61 * time.Second).Unix()}))
		}},
		{name: "iat 6 s ahead", desc: descIATFuture, req: func(t *testing.T) Request {
			return req(es256(t).proof(t, nil, map[string]any{"iat": testNow.Add(6 * time.Second).Unix()}))
		}},
		{name: "iat 11 s old with MaxAge 10 s", desc: descIATPast, cfg: Config{MaxAge: 10 * time.Second}, req: func(t *testing.T) Request {
			return req(es256(t).proof(t, nil, map[string]any{"iat": testNow.Add(-11 * time.Second).Unix()}))
		}},
		{name: "iat 2 s ahead with ClockSkew 1 s", desc: descIATFuture, cfg: Config{ClockSkew: time.Second}, req: func(t *testing.T) Request {
			return req(es256(t).proof(t, nil, map[string]any{"iat": testNow.Add(2 * time.Second).Unix()}))
		}},
	})
	for name, iat := range map[string]any{
		"iat 60 s old":        testNow.Add(-60 * time.Second).Unix(),
		"iat 5 s ahead":       testNow.Add(5 * time.Second).Unix(),
		"iat with a fraction": float64(testNow.Unix()) + 0.5,
	} {
		v, _ := newTestVerifier(t, Config{})
		_, err := v.Verify(context.Background(), req(es256(t).proof(t, nil, map[string]any{"iat": iat})))
		assert.NoError(t, err, name)
	}
}

// TestStep12ATH: "if presented to a protected resource in conjunction with
// an access token, ensure that the value of the ath claim equals the hash
// of that access token" (RFC 9449 §4.3 step 12).
func TestStep12ATH(t *testing.T) {
	const token = "an-access-token"
	withToken := func(p string) Request {
		r := req(p)
		r.AccessToken = token
		return r
	}
	checkRefusals(t, []refusal{
		{name: "no ath with a token", desc: descATHMissing, req: func(t *testing.T) Request {
			return withToken(es256(t).proof(t, nil, nil))
		}},
		{name: "ath of another token", desc: descATH, req: func(t *testing.T) Request {
			return withToken(es256(t).proof(t, nil, map[string]any{"ath": AccessTokenHash("another")}))
		}},
		{name: "ath padded", desc: descATH, req: func(t *testing.T) Request {
			return withToken(es256(t).proof(t, nil, map[string]any{"ath": AccessTokenHash(token) + "="}))
		}},
		{name: "ath the token itself", desc: descATH, req: func(t *testing.T) Request {
			return withToken(es256(t).proof(t, nil, map[string]any{"ath": token}))
		}},
	})
	v, _ := newTestVerifier(t, Config{})
	_, err := v.Verify(context.Background(), withToken(es256(t).proof(t, nil, map[string]any{"ath": AccessTokenHash(token)})))
	assert.NoError(t, err)
	// RFC 9449 §4.2 example: the digest of this token.
	assert.Equal(t, "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo", AccessTokenHash("Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"))
}

// TestReplay: a proof is accepted once (RFC 9449 §11.1), keyed by its
// key's thumbprint and jti.
func TestReplay(t *testing.T) {
	v, store := newTestVerifier(t, Config{})
	s := es256(t)
	p := s.proof(t, nil, map[string]any{"jti": "one"})
	_, err := v.Verify(context.Background(), req(p))
	require.NoError(t, err)
	_, err = v.Verify(context.Background(), req(p))
	var e *Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, CodeInvalidProof, e.Code)
	assert.Equal(t, descReplayed, e.Description)
	assert.ErrorIs(t, err, ErrReplayed)
	assert.ErrorIs(t, err, ErrInvalidProof)

	// A new proof with the same jti by the same key is a replay too.
	_, err = v.Verify(context.Background(), req(s.proof(t, nil, map[string]any{"jti": "one"})))
	assert.ErrorIs(t, err, ErrReplayed)
	// The same jti from another key is another proof.
	_, err = v.Verify(context.Background(), req(newSigner(t, "EdDSA").proof(t, nil, map[string]any{"jti": "one"})))
	assert.NoError(t, err)

	// Keys are bounded digests, kept as long as the proof is accepted.
	long := strings.Repeat("j", maxJTILength)
	_, err = v.Verify(context.Background(), req(s.proof(t, nil, map[string]any{"jti": long})))
	require.NoError(t, err)
	for k, exp := range store.keys {
		assert.Len(t, k, len(replayKeyPrefix)+43)
		assert.NotContains(t, k, "one")
		assert.Equal(t, testNow.Add(DefaultMaxAge+DefaultClockSkew+ReplayMargin), exp)
	}
}

// TestProofPublicKeyIsACopy: a caller that changes Proof.PublicKey changes
// its own copy, not the key the Verifier checks the client's next proofs
// with.
func TestProofPublicKeyIsACopy(t *testing.T) {
	v, _ := newTestVerifier(t, Config{})
	for _, alg := range []string{"ES256", "EdDSA", "RS256"} {
		s := newSigner(t, alg)
		p, err := v.Verify(context.Background(), req(s.proof(t, nil, nil)))
		require.NoError(t, err, alg)
		// Overwrite the returned key with another one.
		other := newSignerNamed(t, alg, "other").priv.Public()
		switch k := p.PublicKey.(type) {
		case *ecdsa.PublicKey:
			*k = *other.(*ecdsa.PublicKey)
		case ed25519.PublicKey:
			copy(k, other.(ed25519.PublicKey))
		case *rsa.PublicKey:
			*k = *other.(*rsa.PublicKey)
		default:
			t.Fatalf("%s: %T", alg, k)
		}
		_, err = v.Verify(context.Background(), req(s.proof(t, nil, nil)))
		assert.NoError(t, err, alg)
	}
}

// TestNoClockSkew: with NoClockSkew an iat even one second ahead of the
// server's clock refuses the proof (RFC 9449 §4.3 step 11).
func TestNoClockSkew(t *testing.T) {
	v, _ := newTestVerifier(t, Config{ClockSkew: NoClockSkew})
	s := es256(t)
	_, err := v.Verify(context.Background(), req(s.proof(t, nil, map[string]any{"iat": testNow.Unix() + 1})))
	var e *Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, descIATFuture, e.Description)
	_, err = v.Verify(context.Background(), req(s.proof(t, nil, nil)))
	assert.NoError(t, err)
}

// TestReplayAcrossInstanceClocks: two instances share a replay store and
// one's clock runs 20 s behind the other's and the store's. The proof
// the first accepted is still within the second's window (RFC 9449 §4.3
// step 11) after MaxAge has passed by the store's clock; its jti must
// still be remembered then (§11.1).
func TestReplayAcrossInstanceClocks(t *testing.T) {
	storeNow := testNow
	store := newFakeReplay()
	store.now = func() time.Time { return storeNow }
	a, _ := newTestVerifier(t, Config{Replay: store, Clock: func() time.Time { return storeNow }})
	b, _ := newTestVerifier(t, Config{Replay: store, Clock: func() time.Time { return storeNow.Add(-20 * time.Second) }})
	p := es256(t).proof(t, nil, nil)
	_, err := a.Verify(context.Background(), req(p))
	require.NoError(t, err)
	storeNow = testNow.Add(DefaultMaxAge + 10*time.Second)
	_, err = b.Verify(context.Background(), req(p))
	assert.ErrorIs(t, err, ErrReplayed)
}

// TestReplayConcurrent sends the same proof 20 times at once: exactly one
// is accepted (RFC 9449 §11.1).
func TestReplayConcurrent(t *testing.T) {
	for _, alg := range []string{"ES256", "EdDSA"} {
		t.Run(alg, func(t *testing.T) {
			v, _ := newTestVerifier(t, Config{})
			p := newSigner(t, alg).proof(t, nil, nil)
			var ok, replayed atomic.Int32
			var wg sync.WaitGroup
			start := make(chan struct{})
			for range 20 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					_, err := v.Verify(context.Background(), req(p))
					switch {
					case err == nil:
						ok.Add(1)
					case errors.Is(err, ErrReplayed):
						replayed.Add(1)
					default:
						t.Error(err)
					}
				}()
			}
			close(start)
			wg.Wait()
			assert.Equal(t, int32(1), ok.Load())
			assert.Equal(t, int32(19), replayed.Load())
		})
	}
}

// TestReplayStoreErrors: a store that fails is not a bad proof, and
// IsReplay maps a store's own sentinel.
func TestReplayStoreErrors(t *testing.T) {
	outage := errors.New("connection refused")
	store := newFakeReplay()
	store.err = outage
	v, _ := newTestVerifier(t, Config{Replay: store})
	_, err := v.Verify(context.Background(), req(es256(t).proof(t, nil, nil)))
	require.ErrorIs(t, err, outage)
	var e *Error
	assert.False(t, errors.As(err, &e), "an outage is not an invalid proof")

	consumed := errors.New("storage: already consumed")
	store.err = consumed
	v, _ = newTestVerifier(t, Config{Replay: store, IsReplay: func(err error) bool { return errors.Is(err, consumed) }})
	_, err = v.Verify(context.Background(), req(es256(t).proof(t, nil, nil)))
	require.ErrorAs(t, err, &e)
	assert.Equal(t, descReplayed, e.Description)
	assert.ErrorIs(t, err, ErrReplayed)
}

// TestErrorNeverQuotesProof: descriptions and messages are fixed texts.
func TestErrorNeverQuotesProof(t *testing.T) {
	s := es256(t)
	p := s.proof(t, map[string]any{"typ": "secret-typ"}, map[string]any{"jti": "secret-jti"})
	v, _ := newTestVerifier(t, Config{})
	_, err := v.Verify(context.Background(), req(p))
	require.Error(t, err)
	for _, secret := range []string{"secret", p[:20], string(s.jwk)} {
		assert.NotContains(t, err.Error(), secret)
		assert.NotContains(t, v.Challenge(err), secret)
	}
}

func TestNewVerifierConfig(t *testing.T) {
	store := newFakeReplay()
	for name, cfg := range map[string]Config{
		"no replay store":          {},
		"alg none":                 {Replay: store, Algorithms: []string{"ES256", "none"}},
		"alg HS256":                {Replay: store, Algorithms: []string{"HS256"}},
		"unknown alg":              {Replay: store, Algorithms: []string{"ES256K"}},
		"duplicate alg":            {Replay: store, Algorithms: []string{"ES256", "ES256"}},
		"negative MaxAge":          {Replay: store, MaxAge: -time.Second},
		"MaxAge above bound":       {Replay: store, MaxAge: MaxMaxAge + time.Second},
		"negative ClockSkew":       {Replay: store, ClockSkew: -time.Second},
		"ClockSkew above bound":    {Replay: store, ClockSkew: MaxClockSkew + time.Second},
		"negative MaxProofSize":    {Replay: store, MaxProofSize: -1},
		"MaxProofSize above bound": {Replay: store, MaxProofSize: MaxMaxProofSize + 1},
	} {
		_, err := NewVerifier(cfg)
		assert.Error(t, err, name)
	}
	v, err := NewVerifier(Config{Replay: store})
	require.NoError(t, err)
	assert.Equal(t, DefaultAlgorithms, v.Algorithms())
	v.Algorithms()[0] = "changed"
	assert.Equal(t, "ES256", v.Algorithms()[0])
}

// TestChallenge: the WWW-Authenticate value of RFC 9449 §7.1.
func TestChallenge(t *testing.T) {
	v, _ := newTestVerifier(t, Config{})
	assert.Equal(t, `DPoP algs="ES256 EdDSA RS256 PS256"`, v.Challenge(nil))
	assert.Equal(t, `DPoP algs="ES256 EdDSA RS256 PS256"`, v.Challenge(errors.New("outage")))
	_, err := v.Verify(context.Background(), Request{Method: testMethod, URL: testURL})
	assert.Equal(t, `DPoP algs="ES256 EdDSA RS256 PS256", error="invalid_dpop_proof", error_description="no DPoP proof"`, v.Challenge(err))
	assert.Equal(t, `DPoP algs="ES256", error="use_dpop_nonce", error_description="x"`,
		Challenge([]string{"ES256"}, useNonce("x", "n")))
}

// TestDescriptionsQuotable: every description can go in a quoted-string
// unescaped (RFC 9110 §5.6.4) and in error_description (RFC 6749 §5.2:
// %x20-21 / %x23-5B / %x5D-7E).
func TestDescriptionsQuotable(t *testing.T) {
	for _, d := range []string{descMissing, descMultiple, descTooLong, descNotJWS, descHeaderJSON, descClaimsJSON,
		descMissingClaim, descClaimType, descTyp, descAlg, descHeaderParam, descSignature, descJWKMissing,
		descJWKNotObject, descJWKUnusable, descJWKPrivate, descHTM, descHTU, descRequestURL, descNonceMissing, descNonceInvalid,
		descIATPast, descIATFuture, descATHMissing, descATH, descReplayed} {
		for _, c := range []byte(d) {
			assert.True(t, c >= 0x20 && c <= 0x7e && c != '"' && c != '\\', d)
		}
	}
}

// TestKeyCache: a key seen again is not parsed again, and the cache stays
// bounded.
func TestKeyCache(t *testing.T) {
	v, _ := newTestVerifier(t, Config{})
	s := es256(t)
	_, err := v.Verify(context.Background(), req(s.proof(t, nil, nil)))
	require.NoError(t, err)
	k1, ok := v.keys.lookup(s.jwk)
	require.True(t, ok)
	_, err = v.Verify(context.Background(), req(s.proof(t, nil, nil)))
	require.NoError(t, err)
	k2, _ := v.keys.lookup(s.jwk)
	assert.Same(t, k1, k2)

	var c keyCache
	for i := range keyCacheSize + 1 {
		c.add([]byte(fmt.Sprintf(`{"i":%d}`, i)), k1)
	}
	assert.LessOrEqual(t, len(c.m), keyCacheSize)
}

// TestKeyCacheOnlyVerifiedKeys: the key of a proof whose signature does
// not verify (RFC 9449 §4.3 step 6) is not cached, so made-up proofs,
// which need no private key, neither fill the cache nor evict the keys
// of clients.
func TestKeyCacheOnlyVerifiedKeys(t *testing.T) {
	v, _ := newTestVerifier(t, Config{})
	victim := newSignerNamed(t, "ES256", "victim")
	_, err := v.Verify(context.Background(), req(victim.proof(t, nil, nil)))
	require.NoError(t, err)

	attacker := es256(t)
	for i := range keyCacheSize {
		jwkText := strings.Replace(string(attacker.jwk), "{", "{"+strings.Repeat(" ", i+1), 1)
		hdr := fmt.Sprintf(`{"typ":"dpop+jwt","alg":"ES256","jwk":%s}`, jwkText)
		p := b64([]byte(hdr)) + "." + b64(mustJSON(t, claims(nil))) + "." + b64(make([]byte, 64))
		_, err := v.Verify(context.Background(), req(p))
		var e *Error
		require.ErrorAs(t, err, &e)
		require.Equal(t, descSignature, e.Description)
	}
	_, ok := v.keys.lookup(victim.jwk)
	assert.True(t, ok, "the victim's key was evicted by unsigned proofs")
	assert.Len(t, v.keys.m, 1)
}

// TestKeyCacheBoundsJWKLength: a jwk longer than maxCachedJWKLength, padded
// with whitespace, is accepted but not kept, so the cache's memory is
// bounded whatever MaxProofSize is.
func TestKeyCacheBoundsJWKLength(t *testing.T) {
	v, _ := newTestVerifier(t, Config{})
	s := es256(t)
	padded := strings.Replace(string(s.jwk), "{", "{"+strings.Repeat(" ", maxCachedJWKLength), 1)
	hdr := fmt.Sprintf(`{"typ":"dpop+jwt","alg":"ES256","jwk":%s}`, padded)
	_, err := v.Verify(context.Background(), req(s.signRaw(t, []byte(hdr), mustJSON(t, claims(nil)))))
	require.NoError(t, err)
	assert.Empty(t, v.keys.m)
}
