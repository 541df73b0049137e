package bench

import (
	"bytes"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/grantor-dev/grantor/oauth2"
	"github.com/grantor-dev/grantor/storage/memory"
)

// Client credentials with a DPoP proof through Grantor's token handler
// (RFC 9449 §5), against what it adds up to without DPoP's own work: the
// same token handler without DPoP, plus the bare proof verification of
// NewBaselineProofValidator (jws.Verify with the jwk header's key). The
// three are measured in one run, interleaved, and the baseline is the sum
// of the last two per request.

// Names of the DPoP token request comparison (CompareDPoPTokens).
const (
	// NameGrantorDPoP is Grantor's token handler with Config.DPoP on,
	// each request carrying a fresh proof.
	NameGrantorDPoP = "grantor-dpop"
	// NameJWSVerify is the bare proof verification of
	// NewBaselineProofValidator.
	NameJWSVerify = "jws-verify"
)

// DPoPTokenAlgs are the algorithms of the client keys of the DPoP token
// request comparison.
var DPoPTokenAlgs = []Alg{ES256, EdDSA}

// newGrantorDPoPTokens builds Grantor for client credentials with opaque
// access tokens, its clock and its store's fixed at the time the proofs
// of ProofPool are made. With withDPoP, Config.DPoP is on with the
// defaults (no nonces) and a memory store of its own as the replay store,
// whose clock moves two minutes at each call of tick, past the expiry of
// every jti remembered before; the token store keeps the fixed clock, so
// that both contenders store and sweep their tokens alike.
func newGrantorDPoPTokens(withDPoP bool) (g *grantor, tick func(), err error) {
	fixed := func() time.Time { return dpopBenchNow }
	o := grantorOptions{clock: fixed}
	tick = func() {}
	if withDPoP {
		var mu sync.Mutex
		replayNow := dpopBenchNow
		replay := memory.New(memory.WithClock(func() time.Time {
			mu.Lock()
			defer mu.Unlock()
			return replayNow
		}))
		tick = func() {
			mu.Lock()
			replayNow = replayNow.Add(2 * time.Minute)
			mu.Unlock()
		}
		o.dpop = &oauth2.DPoPConfig{Replay: replay}
	}
	g, err = newGrantorWith(nil, o)
	if err != nil {
		return nil, nil, err
	}
	if withDPoP && g.p.TokenEndpoint() != dpopBenchURL {
		return nil, nil, fmt.Errorf("bench: token endpoint %s, proofs are made for %s", g.p.TokenEndpoint(), dpopBenchURL)
	}
	return g, tick, nil
}

// dpopTokenRequests returns the requests of the DPoP token request
// comparison for g: the client credentials request with each proof of
// pool, in order; with a nil pool, the one request without a proof.
func dpopTokenRequests(g *grantor, pool []string) []Request {
	r := ClientCredentialsRequest(benchClientID, g.secret)
	if pool == nil {
		return []Request{r}
	}
	rs := make([]Request, len(pool))
	for i, p := range pool {
		rs[i] = r
		rs[i].DPoP = p
	}
	return rs
}

// tokenTypeDPoP and tokenTypeBearer are how the token types appear in
// Grantor's token responses, checked after each measured request.
var (
	tokenTypeDPoP   = []byte(`"token_type":"DPoP"`)
	tokenTypeBearer = []byte(`"token_type":"Bearer"`)
)

// ServeDPoPTokens returns the go test benchmark of client credentials
// token requests through Grantor's token handler: with alg, Config.DPoP on
// and each request carrying a proof of ProofPool(alg), which must be
// answered 200 with token_type DPoP; with alg "", DPoP off and no proof,
// answered 200 with token_type Bearer. Each run builds a fresh Provider.
// The proofs are made before the timer starts and cycled through; when
// the pool wraps around, the replay store's clock moves past the expiry
// of the previous round's jti (the Provider's clock stays at the proofs'
// iat), so that every request carries a proof the Provider has not seen
// live.
func ServeDPoPTokens(alg Alg) func(*testing.B) {
	return func(b *testing.B) {
		var pool []string
		want := tokenTypeBearer
		if alg != "" {
			var err error
			if pool, err = ProofPool(alg); err != nil {
				b.Fatal(err)
			}
			want = tokenTypeDPoP
		}
		g, tick, err := newGrantorDPoPTokens(alg != "")
		if err != nil {
			b.Fatal(err)
		}
		reqs := dpopTokenRequests(g, pool)
		w := NewRecorder()
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			if alg != "" && i > 0 && i%len(reqs) == 0 {
				tick()
			}
			w.Reset()
			g.handler.ServeHTTP(w, reqs[i%len(reqs)].HTTPRequest())
			if w.Code != http.StatusOK || !bytes.Contains(w.Body.Bytes(), want) {
				b.Fatalf("request %d: status %d, want 200 with %s: %s", i, w.Code, want, w.Body.Bytes())
			}
		}
	}
}

// dpopTokenBenchmarks are the benchmarks of CompareDPoPTokens for algs:
// the token handler without DPoP once, then jws-verify and grantor-dpop
// of each algorithm, named "<name> <alg>".
func dpopTokenBenchmarks(algs []Alg) []benchmark {
	bs := []benchmark{{name: NameGrantor, run: ServeDPoPTokens("")}}
	jwsVerify := ProofContender{Name: NameJWSVerify, New: func() (ProofValidator, func(), error) {
		return NewBaselineProofValidator(), func() {}, nil
	}}
	for _, alg := range algs {
		bs = append(bs,
			benchmark{name: NameJWSVerify + " " + string(alg), run: ValidateProofs(jwsVerify, alg)},
			benchmark{name: NameGrantorDPoP + " " + string(alg), run: ServeDPoPTokens(alg)},
		)
	}
	return bs
}

// CompareDPoPTokens runs the DPoP token request comparison for each of
// algs: the benchmarks of the token handler without DPoP (ServeDPoPTokens
// with ""), and of each algorithm's bare proof verification (ValidateProofs
// of NameJWSVerify) and token handler with DPoP (ServeDPoPTokens), all in
// one compareBenchmarks, interleaved and rotated. It returns, for each
// algorithm, four rows: NameGrantor (without DPoP; the same figures for
// every algorithm), NameJWSVerify, NameBaseline (their sum: ns/op, B/op
// and allocs/op added, its fastest and slowest the sums of theirs) and
// NameGrantorDPoP.
func CompareDPoPTokens(algs []Alg, opts CompareOptions) (map[Alg][]Result, error) {
	rs, err := compareBenchmarks(dpopTokenBenchmarks(algs), opts)
	if err != nil {
		return nil, err
	}
	out := make(map[Alg][]Result, len(algs))
	plain := rs[0]
	for i, alg := range algs {
		verify, withDPoP := rs[1+2*i], rs[2+2*i]
		verify.Name, withDPoP.Name = NameJWSVerify, NameGrantorDPoP
		sum := Result{
			Name:        NameBaseline,
			NsPerOp:     plain.NsPerOp + verify.NsPerOp,
			BytesPerOp:  plain.BytesPerOp + verify.BytesPerOp,
			AllocsPerOp: plain.AllocsPerOp + verify.AllocsPerOp,
			MinNs:       plain.MinNs + verify.MinNs,
			MaxNs:       plain.MaxNs + verify.MaxNs,
			Runs:        min(plain.Runs, verify.Runs),
			N:           min(plain.N, verify.N),
		}
		out[alg] = []Result{plain, verify, sum, withDPoP}
	}
	return out, nil
}
