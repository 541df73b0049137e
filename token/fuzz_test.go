package token_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"

	"github.com/grantor-dev/grantor/token"
)

// FuzzJWTAccessTokenKey feeds arbitrary strings to the JWT parser: it must
// never panic, and every failure must wrap ErrInvalid.
func FuzzJWTAccessTokenKey(f *testing.F) {
	j, _, k := newJWT(f, jwa.ES256)
	valid := mint(f, j, testClaims())
	parts := strings.Split(valid, ".")
	f.Add(valid)
	f.Add(craft(f, k, jwa.ES256, header("ES256", k.KeyID()), goodPayload))
	f.Add(b64(header("none", k.KeyID())) + "." + b64(goodPayload) + ".")
	f.Add(b64(`{"alg":"ES256","kid":"`+k.KeyID()+`","typ":"at+jwt","crit":["x"]}`) + "." + parts[1] + "." + parts[2])
	f.Add(b64(`{"alg":"ES256","alg":"ES256"}`) + "." + b64(`{"aud":[1,{}]}`) + ".AAAA")
	f.Add(b64(`{"\u0061lg":"ES256","kid":"\"","typ":"at+jwt"}`) + "." + b64(`{"exp":"1","iss":null}`) + ".")
	f.Add("eyJhbGciOiJSU0EtT0FFUCIsImVuYyI6IkEyNTZHQ00ifQ.a.b.c.d")
	f.Add("..")
	f.Add("")
	f.Fuzz(func(t *testing.T, tok string) {
		key, err := j.AccessTokenKey(ctx, tok)
		if err != nil {
			if !errors.Is(err, token.ErrInvalid) {
				t.Fatalf("error does not wrap ErrInvalid: %v", err)
			}
			if key != "" {
				t.Fatal("key returned with an error")
			}
		}
		c, perr := j.Parse(ctx, tok)
		if (perr == nil) != (err == nil) {
			t.Fatalf("Parse and AccessTokenKey disagree: %v / %v", perr, err)
		}
		if perr == nil && c.ID != key {
			t.Fatal("Parse and AccessTokenKey return different jti")
		}
	})
}

// FuzzOpaqueSignature feeds arbitrary strings to Opaque.Signature: it must
// never panic, fail only with ErrInvalid, and accept only genuine tokens.
func FuzzOpaqueSignature(f *testing.F) {
	// Fixed randomness: every fuzz worker process must see the same token.
	o, err := token.NewOpaque("gr_at_", [][]byte{key32(3)}, token.WithRand(bytes.NewReader(bytes.Repeat([]byte{42}, 32))))
	if err != nil {
		f.Fatal(err)
	}
	tok, _, err := o.Generate()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(tok)
	f.Add(tok[:len(tok)-1])
	f.Add(tok + "A")
	f.Add(strings.ToUpper(tok))
	f.Add("gr_rt_" + tok[6:])
	f.Add("gr_at_" + strings.Repeat("A", 43) + "." + strings.Repeat("A", 43))
	f.Add("gr_at_.")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		sig, err := o.Signature(s)
		if err != nil {
			if !errors.Is(err, token.ErrInvalid) || sig != "" {
				t.Fatalf("unexpected result %q, %v", sig, err)
			}
			return
		}
		if s != tok {
			t.Fatalf("accepted a token that was never generated: %q", s)
		}
	})
}

// FuzzJWTSignedClaims signs arbitrary headers and claims with a trusted
// key, so that the fuzzer reaches the JSON readers behind the signature
// check. An accepted token must agree with encoding/json about its jti.
func FuzzJWTSignedClaims(f *testing.F) {
	j, _, k := newJWT(f, jwa.EdDSA)
	h := header("EdDSA", k.KeyID())
	f.Add(h, goodPayload)
	f.Add(h, `{"iss":"https://as.example.com","sub":"a","aud":["x","y"],"client_id":"c","iat":1,"exp":2.5,"jti":"\u0041"}`)
	f.Add(h, `{"exp":1,"exp":2}`)
	f.Add(`{"alg":"EdDSA","kid":"`+k.KeyID()+`","typ":"at+jwt","crit":["b64"],"b64":false}`, goodPayload)
	f.Add(`{"\u0061lg":"EdDSA","kid":"`+k.KeyID()+`","typ":"AT+JWT","x":{"a":[1,"}"]}}`, goodPayload)
	f.Fuzz(func(t *testing.T, hdr, payload string) {
		if len(hdr)+len(payload) > token.MaxJWTLength {
			return
		}
		tok := craft(t, k, jwa.EdDSA, hdr, payload)
		key, err := j.AccessTokenKey(ctx, tok)
		if err != nil {
			if !errors.Is(err, token.ErrInvalid) {
				t.Fatalf("error does not wrap ErrInvalid: %v", err)
			}
			return
		}
		var m map[string]any
		if jerr := json.Unmarshal([]byte(payload), &m); jerr != nil {
			t.Fatalf("accepted claims that encoding/json rejects: %v", jerr)
		}
		if m["jti"] != key {
			t.Fatalf("jti %q, encoding/json says %v", key, m["jti"])
		}
		if _, err := j.Parse(ctx, tok); err != nil {
			t.Fatalf("Parse rejects what AccessTokenKey accepts: %v", err)
		}
	})
}

// FuzzJWTVerifier feeds arbitrary strings to the resource server's
// verifier: it must never panic, every failure must wrap ErrInvalid (the
// KeySet never fails), and what it accepts JWT.Parse accepts too, with the
// same claims, for this resource server and within the token's lifetime.
func FuzzJWTVerifier(f *testing.F) {
	j, ks, k := newJWT(f, jwa.ES256)
	now := testIAT.Add(time.Minute)
	v, err := token.NewJWTVerifier(token.JWTVerifierConfig{
		Keys: ks, Issuer: testIssuer, Audience: "https://rs.example.com",
		Clock: func() time.Time { return now },
	})
	if err != nil {
		f.Fatal(err)
	}
	valid := mint(f, j, testClaims())
	parts := strings.Split(valid, ".")
	f.Add(valid)
	f.Add(craft(f, k, jwa.ES256, header("ES256", k.KeyID()), goodPayload))
	f.Add(craft(f, k, jwa.ES256, header("ES256", k.KeyID()), strings.Replace(goodPayload, `"scope"`, `"nbf":1800000000,"scope"`, 1)))
	f.Add(craft(f, k, jwa.ES256, header("ES256", k.KeyID()), strings.Replace(goodPayload, `"aud":"https://rs.example.com"`, `"aud":["x","https://rs.example.com"]`, 1)))
	f.Add(b64(header("none", k.KeyID())) + "." + b64(goodPayload) + ".")
	f.Add(b64(`{"alg":"ES256","kid":"`+k.KeyID()+`","typ":"at+jwt","crit":["x"]}`) + "." + parts[1] + "." + parts[2])
	f.Add(b64(`{"alg":"ES256","alg":"ES256"}`) + "." + b64(`{"aud":[1,{}]}`) + ".AAAA")
	f.Add("eyJhbGciOiJSU0EtT0FFUCIsImVuYyI6IkEyNTZHQ00ifQ.a.b.c.d")
	f.Add("..")
	f.Fuzz(func(t *testing.T, tok string) {
		c, err := v.Verify(ctx, tok)
		if err != nil {
			if !errors.Is(err, token.ErrInvalid) {
				t.Fatalf("error does not wrap ErrInvalid: %v", err)
			}
			if c != nil {
				t.Fatal("claims returned with an error")
			}
			return
		}
		pc, perr := j.Parse(ctx, tok)
		if perr != nil {
			t.Fatalf("Verify accepts what Parse refuses: %v", perr)
		}
		if pc.ID != c.ID || !slices.Contains(c.Audience, "https://rs.example.com") || !now.Before(c.ExpiresAt) {
			t.Fatal("Verify accepted a token Parse reads differently, of another audience, or expired")
		}
	})
}
