package dpop_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"

	"github.com/grantor-dev/grantor/dpop"
)

// memoryReplay is the smallest ReplayStore: a map under a mutex. A real
// server shares one store between its instances (Grantor's
// storage.ReplayStore adapters all satisfy dpop.ReplayStore).
type memoryReplay struct {
	mu   sync.Mutex
	seen map[string]time.Time
}

func (m *memoryReplay) Remember(_ context.Context, key string, expiresAt time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if exp, ok := m.seen[key]; ok && time.Now().Before(exp) {
		return dpop.ErrReplayed
	}
	m.seen[key] = expiresAt
	return nil
}

// A client signs a proof with jwx; the token endpoint verifies it and binds
// the tokens it issues to the key's thumbprint.
func ExampleVerifier_Verify() {
	// The client: a key pair, and a proof for one request (RFC 9449 §4.2).
	priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	pub, _ := jwk.FromRaw(priv.Public())
	hdr := jws.NewHeaders()
	_ = hdr.Set(jws.TypeKey, dpop.TypeDPoPJWT)
	_ = hdr.Set(jws.JWKKey, pub)
	claims, _ := json.Marshal(map[string]any{
		"jti": "e1j3V_bKic8-LAEB",
		"htm": "POST",
		"htu": "https://server.example.com/token",
		"iat": time.Now().Unix(),
	})
	proof, _ := jws.Sign(claims, jws.WithKey(jwa.ES256, priv, jws.WithProtectedHeaders(hdr)))

	// The server.
	v, err := dpop.NewVerifier(dpop.Config{Replay: &memoryReplay{seen: map[string]time.Time{}}})
	if err != nil {
		panic(err)
	}
	r := dpop.Request{
		Proofs: []string{string(proof)}, // r.Header.Values("DPoP")
		Method: "POST",
		URL:    "https://server.example.com/token", // from configuration, never from Host
	}
	p, err := v.Verify(context.Background(), r)
	if err != nil {
		panic(err)
	}
	jkt, _ := dpop.PublicKeyThumbprint(priv)
	fmt.Println("bound to the client's key:", dpop.SameThumbprint(p.Thumbprint, jkt))

	// The same proof again is a replay (RFC 9449 §11.1).
	_, err = v.Verify(context.Background(), r)
	var e *dpop.Error
	if errors.As(err, &e) {
		fmt.Println(e.Code+":", e.Description)
	}
	// Output:
	// bound to the client's key: true
	// invalid_dpop_proof: DPoP proof already used
}
