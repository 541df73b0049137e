package bench

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"strings"
	"sync"
	"testing"
)

func TestFositeClientCredentialsJWT(t *testing.T) {
	for _, alg := range []Alg{ES256, EdDSA, RS256} {
		t.Run(string(alg), func(t *testing.T) {
			s, pub, err := newFositeClientCredentialsJWT(SHA256Hasher{}, alg)
			if err != nil {
				t.Fatal(err)
			}
			reqs, err := s.Requests(1)
			if err != nil {
				t.Fatal(err)
			}
			w := Serve(s.Handler, reqs[0])
			var resp struct {
				AccessToken string `json:"access_token"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil {
				t.Fatalf("response %s: %v", w.Body.Bytes(), err)
			}
			checkFositeJWT(t, resp.AccessToken, alg, pub)
		})
	}
}

func TestFositeClientCredentialsJWTUnknownAlg(t *testing.T) {
	if _, err := NewFositeClientCredentialsJWT(SHA256Hasher{}, "HS256"); !errors.Is(err, ErrFositeUnsupported) {
		t.Fatalf("HS256: error %v, want ErrFositeUnsupported", err)
	}
}

// checkFositeJWT checks that token is a JWT access token signed with alg
// by the key of pub, with the header and claims NewFositeClientCredentialsJWT
// promises. The signature is checked with the standard library, not with
// the JOSE library fosite signs with.
func checkFositeJWT(t *testing.T, token string, alg Alg, pub crypto.PublicKey) {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token %q: %d parts, want 3", token, len(parts))
	}
	var header struct{ Alg, Typ, Kid string }
	var claims struct {
		Iss, Sub, Scope, Jti string
		ClientID             string `json:"client_id"`
		Iat, Exp             int64
	}
	for i, v := range []any{&header, &claims} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatalf("part %d: %v", i, err)
		}
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("part %d %s: %v", i, b, err)
		}
	}
	if header.Alg != string(alg) || header.Typ != "at+jwt" || header.Kid == "" {
		t.Errorf("header %+v, want alg %s, typ at+jwt and a kid", header, alg)
	}
	if claims.Iss != BenchIssuer || claims.Sub != benchClientID || claims.ClientID != benchClientID ||
		claims.Scope != "read" || claims.Jti == "" || claims.Exp-claims.Iat != 3600 {
		t.Errorf("claims %+v", claims)
	}

	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		t.Fatalf("signature: %v", err)
	}
	input := []byte(parts[0] + "." + parts[1])
	digest := sha256.Sum256(input)
	var ok bool
	switch pub := pub.(type) {
	case *ecdsa.PublicKey:
		ok = len(sig) == 64 && ecdsa.Verify(pub, digest[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:]))
	case *rsa.PublicKey:
		ok = rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig) == nil
	case ed25519.PublicKey:
		ok = ed25519.Verify(pub, input, sig)
	default:
		t.Fatalf("public key of type %T", pub)
	}
	if !ok {
		t.Errorf("%s signature does not verify with the public key", alg)
	}
}

// TestFositeRefreshConcurrent rotates refresh tokens from several
// goroutines: fosite's own MemoryStore crashes here (see
// fositeMemoryStore), and the HTTP load measure does exactly this.
func TestFositeRefreshConcurrent(t *testing.T) {
	s, err := NewFositeRefresh(SHA256Hasher{})
	if err != nil {
		t.Fatal(err)
	}
	reqs, err := s.Requests(64)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, r := range reqs[i*8 : (i+1)*8] {
				if w := Serve(s.Handler, r); w.Code != 200 {
					t.Errorf("status %d: %s", w.Code, w.Body.Bytes())
				}
			}
		}()
	}
	wg.Wait()
}
