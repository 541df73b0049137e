package bench

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"

	"github.com/grantor-dev/grantor/dpop"
	"github.com/grantor-dev/grantor/storage"
	"github.com/grantor-dev/grantor/storage/memory"
)

// DPoP proof validation (RFC 9449 §4.3), measured apart from any HTTP
// handler: Grantor's dpop.Verifier, every check and the replay store
// included, against a bare baseline that only parses the JWS and verifies
// its signature with jwx under the key of its own jwk header. Both
// validate the same proofs, made before the timer starts.

// Grantor's replay stores satisfy dpop.ReplayStore: the interface of the
// storage layer and the one the leaf package defines have one method set.
var _ dpop.ReplayStore = storage.ReplayStore(nil)

// ProofPoolSize is the number of distinct proofs each run cycles through.
const ProofPoolSize = 256

// dpopBenchURL and dpopBenchMethod are the request every proof is made for.
const (
	dpopBenchURL    = BenchIssuer + "/token"
	dpopBenchMethod = "POST"
)

// dpopBenchNow is the time the proofs are made at and the Verifier's clock.
var dpopBenchNow = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

// ProofValidator validates one DPoP proof for a POST to the token
// endpoint.
type ProofValidator func(ctx context.Context, proof string) error

// ProofContender is one way of validating proofs of an algorithm.
type ProofContender struct {
	Name string
	// New returns a fresh validator; tick is called whenever the proof
	// pool wraps around, so that a validator with a replay store can let
	// the previous round's entries expire.
	New func() (v ProofValidator, tick func(), err error)
}

// DPoPProofContenders returns the contenders of proof validation with alg:
// NameBaseline (jws.Verify with the jwk header's key) and NameGrantor
// (dpop.Verifier.Verify over storage/memory).
func DPoPProofContenders(alg Alg) []ProofContender {
	return []ProofContender{
		{Name: NameBaseline, New: func() (ProofValidator, func(), error) { return NewBaselineProofValidator(), func() {}, nil }},
		{Name: NameGrantor, New: func() (ProofValidator, func(), error) { return NewGrantorProofValidator() }},
	}
}

// NewBaselineProofValidator returns the baseline: jws.Verify, which parses
// the compact JWS, with a key provider that hands it the jwk header's key
// under the header's alg. It checks nothing else: no typ, no claims, no
// replay. The least any DPoP implementation on jwx does.
func NewBaselineProofValidator() ProofValidator {
	kp := jws.KeyProviderFunc(func(_ context.Context, sink jws.KeySink, sig *jws.Signature, _ *jws.Message) error {
		h := sig.ProtectedHeaders()
		if h.JWK() == nil {
			return errors.New("no jwk header")
		}
		sink.Key(h.Algorithm(), h.JWK())
		return nil
	})
	return func(_ context.Context, proof string) error {
		_, err := jws.Verify([]byte(proof), jws.WithKeyProvider(kp))
		return err
	}
}

// NewGrantorProofValidator returns Grantor's full validation: a
// dpop.Verifier with the default algorithms, the request's method and URL,
// and storage/memory as its replay store. The store's clock moves two
// minutes at each tick, past the expiry of every entry of the previous
// round, while the Verifier's stays at the proofs' iat.
func NewGrantorProofValidator() (ProofValidator, func(), error) {
	var mu sync.Mutex
	storeNow := dpopBenchNow
	store := memory.New(memory.WithClock(func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return storeNow
	}))
	v, err := dpop.NewVerifier(dpop.Config{
		Replay:   store,
		IsReplay: func(err error) bool { return errors.Is(err, storage.ErrConsumed) },
		Clock:    func() time.Time { return dpopBenchNow },
	})
	if err != nil {
		return nil, nil, err
	}
	tick := func() {
		mu.Lock()
		storeNow = storeNow.Add(2 * time.Minute)
		mu.Unlock()
	}
	validate := func(ctx context.Context, proof string) error {
		_, err := v.Verify(ctx, dpop.Request{Proofs: []string{proof}, Method: dpopBenchMethod, URL: dpopBenchURL})
		return err
	}
	return validate, tick, nil
}

var (
	proofPoolsMu sync.Mutex
	proofPools   = map[Alg][]string{}
)

// ProofPool returns ProofPoolSize distinct valid proofs signed with alg by
// one client key, made once per process.
func ProofPool(alg Alg) ([]string, error) {
	proofPoolsMu.Lock()
	defer proofPoolsMu.Unlock()
	if p, ok := proofPools[alg]; ok {
		return p, nil
	}
	var key crypto.Signer
	var err error
	switch alg {
	case ES256:
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case EdDSA:
		_, key, err = ed25519.GenerateKey(rand.Reader)
	case RS256:
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	default:
		return nil, fmt.Errorf("bench: unsupported algorithm %q", alg)
	}
	if err != nil {
		return nil, err
	}
	pub, err := jwk.FromRaw(key.Public())
	if err != nil {
		return nil, err
	}
	pool := make([]string, ProofPoolSize)
	for i := range pool {
		hdr := jws.NewHeaders()
		if err := hdr.Set(jws.TypeKey, dpop.TypeDPoPJWT); err != nil {
			return nil, err
		}
		if err := hdr.Set(jws.JWKKey, pub); err != nil {
			return nil, err
		}
		claims, err := json.Marshal(map[string]any{
			"jti": "bench-proof-" + strconv.Itoa(i),
			"htm": dpopBenchMethod,
			"htu": dpopBenchURL,
			"iat": dpopBenchNow.Unix(),
		})
		if err != nil {
			return nil, err
		}
		tok, err := jws.Sign(claims, jws.WithKey(jwa.SignatureAlgorithm(alg), key, jws.WithProtectedHeaders(hdr)))
		if err != nil {
			return nil, err
		}
		pool[i] = string(tok)
	}
	proofPools[alg] = pool
	return pool, nil
}

// ValidateProofs returns the go test benchmark of c validating proofs of
// alg: a fresh validator per run, b.N proofs from ProofPool, each of which
// must be accepted.
func ValidateProofs(c ProofContender, alg Alg) func(*testing.B) {
	return func(b *testing.B) {
		pool, err := ProofPool(alg)
		if err != nil {
			b.Fatal(err)
		}
		validate, tick, err := c.New()
		if err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			if i > 0 && i%len(pool) == 0 {
				tick()
			}
			if err := validate(ctx, pool[i%len(pool)]); err != nil {
				b.Fatalf("%s: %v", c.Name, err)
			}
		}
	}
}

// CompareProofs runs the proof validation benchmark of each contender of
// alg as Compare runs handler benchmarks: interleaved, rotated, medians.
func CompareProofs(alg Alg, opts CompareOptions) ([]Result, error) {
	cs := DPoPProofContenders(alg)
	bs := make([]benchmark, len(cs))
	for i, c := range cs {
		bs[i] = benchmark{name: c.Name, run: ValidateProofs(c, alg)}
	}
	return compareBenchmarks(bs, opts)
}

// DPoPAlgs are the algorithms of the proof validation comparison.
var DPoPAlgs = []Alg{ES256, EdDSA, RS256}
