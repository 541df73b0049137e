package bench

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/grantor-dev/grantor/token"
)

// BenchmarkStoredKeys is the stored keys comparison:
// BenchmarkStoredKeys/<case>/<side>, where the case is one of KeysCases
// and the side memory-keys (keys given in memory) or stored-keys (keys
// loaded from a storage.KeyStore).
func BenchmarkStoredKeys(b *testing.B) {
	for _, bm := range keysBenchmarks(KeysCases()) {
		b.Run(bm.name, bm.run)
	}
}

// accessTokenPrefix is the prefix of the Provider's opaque access tokens.
const accessTokenPrefix = "gr_at_"

// TestStoredKeysProviders checks what the comparison measures, on the
// Providers of its benchmarks: on both sides, a client credentials request
// gets an access token, its introspection says it is active for the bench
// client and the scope read (RFC 7662 §2.2), and a JWT access token
// verifies at a resource server with the Provider's keys (RFC 9068 §4).
// On the stored side the keys are those of the store: the set opened
// again from the key store with the secret verifies the token (the MAC of
// an opaque token, the signature of a JWT), and the keys of the memory
// side do not.
func TestStoredKeysProviders(t *testing.T) {
	ctx := context.Background()
	for _, jwt := range []bool{false, true} {
		var tokens [2]string
		for i, stored := range []bool{false, true} {
			g, err := newKeyedGrantor(stored, jwt)
			if err != nil {
				t.Fatal(err)
			}
			name := NameMemoryKeys
			if stored {
				name = NameStoredKeys
			}
			if jwt {
				name += "/jwt"
			}
			w := Serve(g.handler, ClientCredentialsRequest(benchClientID, g.secret))
			if err := CheckResponse(KindClientCredentials, w.Code, w.Body.Bytes()); err != nil {
				t.Fatalf("%s: client credentials: %v", name, err)
			}
			tok, err := g.accessToken()
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			tokens[i] = tok
			if isJWT := strings.Count(tok, ".") == 2; isJWT != jwt {
				t.Errorf("%s: access token %q, want a JWT: %v", name, tok, jwt)
			}
			w = Serve(g.handler, IntrospectionRequest(benchClientID, g.secret, tok))
			if err := CheckResponse(KindIntrospection, w.Code, w.Body.Bytes()); err != nil {
				t.Errorf("%s: introspection: %v", name, err)
			}
			if jwt {
				v, err := g.verifier()
				if err != nil {
					t.Fatal(err)
				}
				c, err := v.Verify(ctx, tok)
				if err != nil || c.ClientID != benchClientID {
					t.Errorf("%s: Verify: %+v, %v", name, c, err)
				}
			}
			if stored != (g.keyStore != nil) {
				t.Fatalf("%s: key store %v", name, g.keyStore)
			}
		}

		// The keys of the store, opened again, are the stored side's.
		g, err := newKeyedGrantor(true, jwt)
		if err != nil {
			t.Fatal(err)
		}
		tok, err := g.accessToken()
		if err != nil {
			t.Fatal(err)
		}
		cfg := storedKeysConfig(g.keyStore, g.sealing)
		if !jwt {
			macs, err := token.OpenStoredMACKeys(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			o, err := token.NewOpaqueWithKeys(accessTokenPrefix, macs.MACKeySet())
			if err != nil {
				t.Fatal(err)
			}
			if _, err := o.Signature(tok); err != nil {
				t.Errorf("the stored MAC keys, opened again, refuse the stored side's token: %v", err)
			}
			if _, err := o.Signature(tokens[0]); !errors.Is(err, token.ErrInvalid) {
				t.Errorf("the stored MAC keys accept the memory side's token: %v", err)
			}
			continue
		}
		cfg.RetireAfter = 2 * time.Hour // as newKeyedGrantor opens them
		keys, err := token.OpenStoredSigningKeys(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		v, err := token.NewJWTVerifier(token.JWTVerifierConfig{Keys: keys, Issuer: BenchIssuer, Audience: BenchIssuer})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := v.Verify(ctx, tok); err != nil {
			t.Errorf("the stored signing keys, opened again, refuse the stored side's token: %v", err)
		}
		if _, err := v.Verify(ctx, tokens[0]); !errors.Is(err, token.ErrInvalid) {
			t.Errorf("the stored signing keys accept the memory side's token: %v", err)
		}
	}
}

// TestStoredKeysBenchmarks runs every benchmark of the comparison for a
// few iterations, so that none of them rots: each passes every check of
// its loop.
func TestStoredKeysBenchmarks(t *testing.T) {
	for _, bm := range keysBenchmarks(KeysCases()) {
		if _, err := compareBenchmarks([]benchmark{bm}, CompareOptions{Rounds: 1, BenchTime: "10x"}); err != nil {
			t.Errorf("%s: %v", bm.name, err)
		}
	}
}

// TestCompareStoredKeys runs the comparison with tiny runs: every case,
// each with its two rows in order. The figures mean nothing.
func TestCompareStoredKeys(t *testing.T) {
	rs, err := CompareStoredKeys(CompareOptions{Rounds: 2, BenchTime: "20x"})
	if err != nil {
		t.Fatal(err)
	}
	cs := KeysCases()
	if len(rs) != len(cs) || len(cs) != 5 {
		t.Fatalf("%d cases of %d: %+v", len(rs), len(cs), rs)
	}
	for _, c := range cs {
		r := rs[c.Name]
		if len(r) != 2 {
			t.Errorf("%s: %d rows, want 2: %+v", c.Name, len(r), r)
			continue
		}
		for i, name := range []string{NameMemoryKeys, NameStoredKeys} {
			if r[i].Name != name || r[i].NsPerOp <= 0 || r[i].Runs != 2 || r[i].N != 40 {
				t.Errorf("%s row %d: %+v, want %s", c.Name, i, r[i], name)
			}
		}
	}
}

// TestStoredKeysTargets checks the targets of issue 17: with keys from
// the store at 1.05 times keys in memory each target is met, above it is
// missed, and without both rows of a case it is not measured; the
// allocations per operation are shown.
func TestStoredKeysTargets(t *testing.T) {
	find := func(ts []Target, c string) Target {
		t.Helper()
		for _, tg := range ts {
			if strings.HasPrefix(tg.Text, "keys from the store, "+c+":") {
				return tg
			}
		}
		t.Fatalf("no target for %s", c)
		return Target{}
	}
	report := func(stored float64) Report {
		rep := Report{Keys: map[string][]Result{}}
		for _, c := range KeysCases() {
			rep.Keys[c.Name] = []Result{
				{Name: NameMemoryKeys, NsPerOp: 1000, AllocsPerOp: 40},
				{Name: NameStoredKeys, NsPerOp: stored, AllocsPerOp: 41},
			}
		}
		return rep
	}
	met, missed := Targets(report(1050)), Targets(report(1051))
	for _, c := range KeysCases() {
		if tg := find(met, c.Name); !tg.Checked || !tg.Met || tg.Measured != "1.05x (41 vs 40 allocs per operation)" {
			t.Errorf("%s at 1.05x: %+v", c.Name, tg)
		}
		if tg := find(missed, c.Name); !tg.Checked || tg.Met {
			t.Errorf("%s at 1.051x: %+v", c.Name, tg)
		}
		if tg := find(Targets(Report{}), c.Name); tg.Checked {
			t.Errorf("%s checked without figures: %+v", c.Name, tg)
		}
		rep := report(1000)
		rep.Keys[c.Name] = rep.Keys[c.Name][1:]
		if tg := find(Targets(rep), c.Name); tg.Checked {
			t.Errorf("%s checked without the memory side: %+v", c.Name, tg)
		}
	}
}
