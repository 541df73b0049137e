package bench

import (
	"context"
	"strings"
	"testing"
)

// BenchmarkDPoPProof is proof validation per algorithm and contender:
// BenchmarkDPoPProof/<alg>/<contender>.
func BenchmarkDPoPProof(b *testing.B) {
	for _, alg := range DPoPAlgs {
		b.Run(string(alg), func(b *testing.B) {
			for _, c := range DPoPProofContenders(alg) {
				b.Run(c.Name, ValidateProofs(c, alg))
			}
		})
	}
}

// TestDPoPProofContenders checks that both contenders accept the pool's
// proofs and refuse one whose signature does not verify, and that
// Grantor's refuses a replay until the pool wraps around: the figures
// compare validations that do their work.
func TestDPoPProofContenders(t *testing.T) {
	for _, alg := range DPoPAlgs {
		pool, err := ProofPool(alg)
		if err != nil {
			t.Fatal(err)
		}
		if len(pool) != ProofPoolSize {
			t.Fatalf("%s: pool of %d", alg, len(pool))
		}
		i := strings.LastIndexByte(pool[0], '.')
		forged := pool[0][:i+1] + strings.Split(pool[1], ".")[2]
		for _, c := range DPoPProofContenders(alg) {
			validate, tick, err := c.New()
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			if err := validate(ctx, forged); err == nil {
				t.Errorf("%s/%s accepted a forged signature", alg, c.Name)
			}
			for _, p := range pool[:3] {
				if err := validate(ctx, p); err != nil {
					t.Errorf("%s/%s: %v", alg, c.Name, err)
				}
			}
			if c.Name == NameGrantor {
				if err := validate(ctx, pool[0]); err == nil {
					t.Errorf("%s/%s accepted a replay", alg, c.Name)
				}
				tick()
				if err := validate(ctx, pool[0]); err != nil {
					t.Errorf("%s/%s after a tick: %v", alg, c.Name, err)
				}
			}
		}
	}
}

// TestCompareProofs runs the comparison with tiny runs; the figures mean
// nothing.
func TestCompareProofs(t *testing.T) {
	results, err := CompareProofs(EdDSA, CompareOptions{Rounds: 2, BenchTime: "300x"})
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 2 || results[0].Name != NameBaseline || results[1].Name != NameGrantor {
		t.Fatalf("results: %+v", results)
	}
	for _, r := range results {
		if r.Runs != 2 || r.NsPerOp <= 0 || r.N != 600 {
			t.Errorf("result %+v", r)
		}
	}
}

// TestDPoPTargets checks the proof validation targets of issue 11: met at
// 1.25x the baseline, missed above, not measured without figures.
func TestDPoPTargets(t *testing.T) {
	find := func(ts []Target, alg Alg) Target {
		for _, tg := range ts {
			if strings.HasPrefix(tg.Text, "DPoP proof validation "+string(alg)+":") {
				return tg
			}
		}
		t.Fatalf("no target for %s", alg)
		return Target{}
	}
	pair := func(g float64) []Result {
		return []Result{{Name: NameBaseline, NsPerOp: 100, AllocsPerOp: 100}, {Name: NameGrantor, NsPerOp: g, AllocsPerOp: 20}}
	}
	ts := Targets(Report{DPoP: map[Alg][]Result{ES256: pair(125), EdDSA: pair(126)}})
	es, ed := find(ts, ES256), find(ts, EdDSA)
	if !es.Checked || !es.Met || !strings.Contains(es.Measured, "1.25x (20 vs 100 allocs per proof)") {
		t.Errorf("ES256 at 1.25x: %+v", es)
	}
	if !ed.Checked || ed.Met {
		t.Errorf("EdDSA at 1.26x: %+v", ed)
	}
	if tg := find(Targets(Report{}), ES256); tg.Checked {
		t.Errorf("checked without figures: %+v", tg)
	}
}
