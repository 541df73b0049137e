package dpop

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/stretchr/testify/require"
)

// testNow is the time of every test clock.
var testNow = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

const (
	testURL    = "https://server.example.com/token"
	testMethod = "POST"
)

// fakeReplay is a ReplayStore on a mutex-guarded map, with the contract
// of storage.ReplayStore: a key remembered and not expired is refused
// with an error wrapping ErrReplayed.
type fakeReplay struct {
	mu    sync.Mutex
	now   func() time.Time
	keys  map[string]time.Time
	err   error // when set, every call fails with it
	calls int
}

func newFakeReplay() *fakeReplay {
	return &fakeReplay{now: func() time.Time { return testNow }, keys: map[string]time.Time{}}
}

func (f *fakeReplay) Remember(_ context.Context, key string, expiresAt time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.err != nil {
		return f.err
	}
	if exp, ok := f.keys[key]; ok && f.now().Before(exp) {
		return fmt.Errorf("fake store: %w", ErrReplayed)
	}
	f.keys[key] = expiresAt
	return nil
}

// signer makes proofs with jwx, for one key.
type signer struct {
	alg  string
	priv crypto.Signer
	pub  jwk.Key
	jwk  json.RawMessage // the public JWK, as the jwk header carries it
}

var (
	keyMu    sync.Mutex
	testKeys = map[string]crypto.Signer{}
)

// testKey returns a private key for alg, generated once per test binary
// and name.
func testKey(t testing.TB, alg, name string) crypto.Signer {
	keyMu.Lock()
	defer keyMu.Unlock()
	if k, ok := testKeys[alg+"/"+name]; ok {
		return k
	}
	var k crypto.Signer
	var err error
	switch alg {
	case "ES256":
		k, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "ES384":
		k, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case "ES512":
		k, err = ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	case "EdDSA":
		_, k, err = ed25519.GenerateKey(rand.Reader)
	case "RS256", "PS256", "RS384", "PS384", "RS512", "PS512":
		k, err = rsa.GenerateKey(rand.Reader, 2048)
	default:
		t.Fatalf("no key for %s", alg)
	}
	require.NoError(t, err)
	testKeys[alg+"/"+name] = k
	return k
}

func newSigner(t testing.TB, alg string) *signer {
	return newSignerNamed(t, alg, "default")
}

func newSignerNamed(t testing.TB, alg, name string) *signer {
	priv := testKey(t, alg, name)
	pub, err := jwk.FromRaw(priv.Public())
	require.NoError(t, err)
	b, err := json.Marshal(pub)
	require.NoError(t, err)
	return &signer{alg: alg, priv: priv, pub: pub, jwk: b}
}

// omit removes a member from the header or the claims.
type omit struct{}

// header returns the proof header with changes applied.
func (s *signer) header(changes map[string]any) map[string]any {
	h := map[string]any{"typ": "dpop+jwt", "alg": s.alg, "jwk": s.jwk}
	return apply(h, changes)
}

// claims returns valid claims for testMethod and testURL, with changes.
func claims(changes map[string]any) map[string]any {
	var id [16]byte
	_, _ = rand.Read(id[:])
	c := map[string]any{
		"jti": base64.RawURLEncoding.EncodeToString(id[:]),
		"htm": testMethod,
		"htu": testURL,
		"iat": testNow.Unix(),
	}
	return apply(c, changes)
}

func apply(m, changes map[string]any) map[string]any {
	for k, v := range changes {
		if _, ok := v.(omit); ok {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	return m
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func mustJSON(t testing.TB, v any) []byte {
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}

// signRaw signs header and claims, given as JSON text, with the signer's
// key under its own algorithm, whatever the header says.
func (s *signer) signRaw(t testing.TB, header, claims []byte) string {
	input := b64(header) + "." + b64(claims)
	js, err := jws.NewSigner(jwa.SignatureAlgorithm(s.alg))
	require.NoError(t, err)
	sig, err := js.Sign([]byte(input), s.priv)
	require.NoError(t, err)
	return input + "." + b64(sig)
}

// proof returns a proof with header and claim changes.
func (s *signer) proof(t testing.TB, hdr, cl map[string]any) string {
	return s.signRaw(t, mustJSON(t, s.header(hdr)), mustJSON(t, claims(cl)))
}

// jwxProof makes a proof the way a client would, with jws.Sign.
func (s *signer) jwxProof(t testing.TB, cl map[string]any) string {
	h := jws.NewHeaders()
	require.NoError(t, h.Set(jws.TypeKey, "dpop+jwt"))
	require.NoError(t, h.Set(jws.JWKKey, s.pub))
	tok, err := jws.Sign(mustJSON(t, claims(cl)), jws.WithKey(jwa.SignatureAlgorithm(s.alg), s.priv, jws.WithProtectedHeaders(h)))
	require.NoError(t, err)
	return string(tok)
}

// newTestVerifier returns a Verifier on the test clock and a fake store.
func newTestVerifier(t testing.TB, cfg Config) (*Verifier, *fakeReplay) {
	store := newFakeReplay()
	if cfg.Replay == nil {
		cfg.Replay = store
	}
	if cfg.Clock == nil {
		cfg.Clock = func() time.Time { return testNow }
	}
	v, err := NewVerifier(cfg)
	require.NoError(t, err)
	return v, store
}

func req(proof string) Request {
	return Request{Proofs: []string{proof}, Method: testMethod, URL: testURL}
}
