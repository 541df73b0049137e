package bench

import (
	"encoding/json"
	"strings"
	"testing"
)

// BenchmarkDPoPToken is the DPoP token request comparison per algorithm:
// BenchmarkDPoPToken/<alg>/<name>, where grantor is the token handler
// without DPoP, jws-verify the bare proof verification and grantor-dpop
// the token handler with a proof. The target compares grantor-dpop with
// the sum of the other two.
func BenchmarkDPoPToken(b *testing.B) {
	for _, alg := range DPoPTokenAlgs {
		b.Run(string(alg), func(b *testing.B) {
			for _, bm := range dpopTokenBenchmarks([]Alg{alg}) {
				b.Run(strings.Fields(bm.name)[0], bm.run)
			}
		})
	}
}

// TestDPoPTokenRequests checks what the DPoP token request comparison
// measures: with DPoP on, each request of the pool gets a DPoP-bound
// access token (token_type DPoP, RFC 9449 §5; cnf.jkt at introspection,
// §6.2), a replayed proof is refused with invalid_dpop_proof until the
// replay store's clock moves on; with DPoP off, a Bearer token.
func TestDPoPTokenRequests(t *testing.T) {
	type answer struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		ExpiresIn   int64  `json:"expires_in"`
		Error       string `json:"error"`
		Active      bool   `json:"active"`
		Cnf         struct {
			JKT string `json:"jkt"`
		} `json:"cnf"`
	}
	send := func(t *testing.T, g *grantor, r Request) (int, answer) {
		t.Helper()
		w := Serve(g.handler, r)
		var a answer
		if err := json.Unmarshal(w.Body.Bytes(), &a); err != nil {
			t.Fatalf("%s: %v", w.Body.Bytes(), err)
		}
		return w.Code, a
	}
	for _, alg := range DPoPTokenAlgs {
		t.Run(string(alg), func(t *testing.T) {
			pool, err := ProofPool(alg)
			if err != nil {
				t.Fatal(err)
			}
			g, tick, err := newGrantorDPoPTokens(true)
			if err != nil {
				t.Fatal(err)
			}
			reqs := dpopTokenRequests(g, pool)
			if len(reqs) != len(pool) {
				t.Fatalf("%d requests for %d proofs", len(reqs), len(pool))
			}
			for i, r := range reqs[:3] {
				code, a := send(t, g, r)
				if code != 200 || a.TokenType != "DPoP" || len(a.AccessToken) < 43 || a.ExpiresIn <= 0 {
					t.Fatalf("request %d: status %d, %+v", i, code, a)
				}
				_, in := send(t, g, IntrospectionRequest(benchClientID, g.secret, a.AccessToken))
				if !in.Active || in.TokenType != "DPoP" || len(in.Cnf.JKT) != 43 {
					t.Errorf("request %d: introspection %+v, want an active DPoP token with cnf.jkt", i, in)
				}
			}
			if code, a := send(t, g, reqs[0]); code != 400 || a.Error != "invalid_dpop_proof" {
				t.Errorf("replayed proof: status %d, %+v, want 400 invalid_dpop_proof", code, a)
			}
			tick()
			if code, a := send(t, g, reqs[0]); code != 200 || a.TokenType != "DPoP" {
				t.Errorf("after a tick: status %d, %+v", code, a)
			}
		})
	}
	g, _, err := newGrantorDPoPTokens(false)
	if err != nil {
		t.Fatal(err)
	}
	reqs := dpopTokenRequests(g, nil)
	if len(reqs) != 1 || reqs[0].DPoP != "" {
		t.Fatalf("requests without DPoP: %+v", reqs)
	}
	w := Serve(g.handler, reqs[0])
	if err := CheckResponse(KindClientCredentials, w.Code, w.Body.Bytes()); err != nil {
		t.Errorf("without DPoP: %v", err)
	}
}

// TestServeDPoPTokensChecksTokenType checks that the benchmark refuses an
// answer whose token_type is not the one its contender must give, so that
// a Provider that ignored the proofs could not pass for one that binds
// tokens: a proof sent to the Provider without DPoP gets a Bearer token.
func TestServeDPoPTokensChecksTokenType(t *testing.T) {
	pool, err := ProofPool(ES256)
	if err != nil {
		t.Fatal(err)
	}
	g, _, err := newGrantorDPoPTokens(false)
	if err != nil {
		t.Fatal(err)
	}
	w := Serve(g.handler, dpopTokenRequests(g, pool)[0])
	if w.Code != 200 || strings.Contains(w.Body.String(), string(tokenTypeDPoP)) || !strings.Contains(w.Body.String(), string(tokenTypeBearer)) {
		t.Errorf("a proof to a Provider without DPoP: status %d: %s", w.Code, w.Body.Bytes())
	}
	g, _, err = newGrantorDPoPTokens(true)
	if err != nil {
		t.Fatal(err)
	}
	w = Serve(g.handler, dpopTokenRequests(g, pool)[1])
	if w.Code != 200 || !strings.Contains(w.Body.String(), string(tokenTypeDPoP)) {
		t.Errorf("a proof to a Provider with DPoP: status %d: %s", w.Code, w.Body.Bytes())
	}
}

// TestCompareDPoPTokens runs the comparison with tiny runs: four rows per
// algorithm, the baseline the sum of the handler without DPoP and the
// proof verification. The figures mean nothing.
func TestCompareDPoPTokens(t *testing.T) {
	// 300 requests wrap the pool of 256 proofs: the replay store's clock
	// must move on for the last ones to be accepted.
	out, err := CompareDPoPTokens(DPoPTokenAlgs, CompareOptions{Rounds: 2, BenchTime: "300x"})
	if err != nil {
		t.Fatal(err)
	}
	for _, alg := range DPoPTokenAlgs {
		rs := out[alg]
		if len(rs) != 4 {
			t.Fatalf("%s: %d rows: %+v", alg, len(rs), rs)
		}
		for i, name := range []string{NameGrantor, NameJWSVerify, NameBaseline, NameGrantorDPoP} {
			if rs[i].Name != name || rs[i].NsPerOp <= 0 || rs[i].Runs != 2 || rs[i].N != 600 {
				t.Errorf("%s row %d: %+v, want %s", alg, i, rs[i], name)
			}
		}
		plain, verify, sum := rs[0], rs[1], rs[2]
		if sum.NsPerOp != plain.NsPerOp+verify.NsPerOp || sum.AllocsPerOp != plain.AllocsPerOp+verify.AllocsPerOp ||
			sum.BytesPerOp != plain.BytesPerOp+verify.BytesPerOp {
			t.Errorf("%s: baseline %+v is not the sum of %+v and %+v", alg, sum, plain, verify)
		}
	}
}

// TestDPoPTokenTargets checks the DPoP token request targets of issue 11:
// met at 1.25x the sum, missed above, not measured without figures, and
// the allocations per request shown, and those the proof adds to the
// request without DPoP.
func TestDPoPTokenTargets(t *testing.T) {
	find := func(ts []Target, alg Alg) Target {
		for _, tg := range ts {
			if strings.HasPrefix(tg.Text, "client credentials with a DPoP proof "+string(alg)+":") {
				return tg
			}
		}
		t.Fatalf("no target for %s", alg)
		return Target{}
	}
	rows := func(g float64) []Result {
		return []Result{
			{Name: NameGrantor, NsPerOp: 60, AllocsPerOp: 70},
			{Name: NameJWSVerify, NsPerOp: 40, AllocsPerOp: 60},
			{Name: NameBaseline, NsPerOp: 100, AllocsPerOp: 130},
			{Name: NameGrantorDPoP, NsPerOp: g, AllocsPerOp: 150},
		}
	}
	ts := Targets(Report{DPoPToken: map[Alg][]Result{ES256: rows(125), EdDSA: rows(126)}})
	es, ed := find(ts, ES256), find(ts, EdDSA)
	if !es.Checked || !es.Met || es.Measured != "1.25x (150 vs 130 allocs per request; +80 per proof)" {
		t.Errorf("ES256 at 1.25x: %+v", es)
	}
	if !ed.Checked || ed.Met {
		t.Errorf("EdDSA at 1.26x: %+v", ed)
	}
	if tg := find(Targets(Report{}), ES256); tg.Checked {
		t.Errorf("checked without figures: %+v", tg)
	}
}
