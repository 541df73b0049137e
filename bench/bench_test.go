package bench

import (
	"os"
	"strings"
	"testing"
)

// BenchmarkHarness is the cost of the request construction and recording
// included in every figure of the other benchmarks.
func BenchmarkHarness(b *testing.B) {
	ServeRequests(NewHarness())(b)
}

// TestCompare runs the table machinery on a few fast contenders with tiny
// runs, to keep it working; the figures mean nothing.
func TestCompare(t *testing.T) {
	cs := []Contender{{Name: NameBaseline, New: NewBaselineClientCredentials}, {Name: NameGrantor, New: NewGrantorClientCredentials}, NewHarness()}
	results, err := Compare(cs, CompareOptions{Rounds: 2, BenchTime: "20x"})
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != len(cs) {
		t.Fatalf("%d results for %d contenders", len(results), len(cs))
	}
	for i, r := range results {
		if r.Name != cs[i].Name || r.Runs != 2 || r.NsPerOp <= 0 {
			t.Errorf("result %d: %+v", i, r)
		}
	}
	var sb strings.Builder
	if err := WriteTable(&sb, results[:2], NameBaseline, NameFositeFast, &results[2]); err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(sb.String(), "\n"); got != 2+2 {
		t.Errorf("table has %d lines, want %d:\n%s", got, 4, sb.String())
	}
	if testing.Verbose() {
		_, _ = os.Stdout.WriteString(sb.String())
	}
}

// BenchmarkScenario is the handler benchmark of every contender of every
// scenario: BenchmarkScenario/<scenario>/<contender>.
//
// fosite-bcrypt costs about 200 ms per request: with the default
// -benchtime it runs a handful of iterations, and it is skipped when b.N
// would exceed its MaxN.
func BenchmarkScenario(b *testing.B) {
	for _, sc := range Scenarios() {
		b.Run(sc.Name, func(b *testing.B) {
			for _, c := range sc.Contenders {
				b.Run(c.Name, ServeRequests(c))
			}
		})
	}
}

// TestScenarios checks every contender of every scenario with
// checkServer, fosite's bcrypt too.
func TestScenarios(t *testing.T) {
	for _, sc := range Scenarios() {
		for _, c := range sc.Contenders {
			t.Run(sc.Name+"/"+c.Name, func(t *testing.T) {
				t.Parallel()
				s, err := c.New()
				if err != nil {
					t.Fatal(err)
				}
				checkServer(t, sc.Kind, s)
			})
		}
	}
}
