// Command benchtable measures the token endpoints of Grantor, fosite and a
// bare net/http baseline in one process and prints a markdown table of
// medians with ratios to the baseline and to fosite with a fast hasher:
//
//	cd bench && go run ./cmd/benchtable
//	go run ./cmd/benchtable -rounds 9 -benchtime 2s
//
// Each contender's benchmark (bench.ServeTokens, the same one go test runs)
// is repeated -rounds times, interleaved, the order rotated each round.
// fosite with bcrypt runs -slow-n requests per round. Progress goes to
// stderr, the table to stdout.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"strings"

	"github.com/grantor-dev/grantor/bench"
)

func main() {
	rounds := flag.Int("rounds", 5, "runs of each contender, interleaved")
	benchTime := flag.String("benchtime", "1s", "duration of each run, or Nx for N requests")
	slowN := flag.Int("slow-n", 5, "requests per run for fosite with bcrypt")
	quiet := flag.Bool("q", false, "do not print progress on stderr")
	flag.Parse()
	if err := run(*rounds, *benchTime, *slowN, *quiet); err != nil {
		fmt.Fprintln(os.Stderr, "benchtable:", err)
		os.Exit(1)
	}
}

func run(rounds int, benchTime string, slowN int, quiet bool) error {
	opts := bench.CompareOptions{Rounds: rounds, BenchTime: benchTime, SlowN: slowN}
	if !quiet {
		opts.Progress = os.Stderr
	}
	// The harness runs with the contenders, so that its figure comes
	// from the same conditions.
	contenders := append(bench.ClientCredentialsOpaque(), bench.NewHarness())
	results, err := bench.Compare(contenders, opts)
	if err != nil {
		return err
	}
	harness := results[len(results)-1]
	results = results[:len(results)-1]

	fmt.Printf("### Client credentials, opaque tokens (token handler through httptest)\n\n")
	if err := bench.WriteTable(os.Stdout, results, bench.NameBaseline, bench.NameFositeFast, &harness); err != nil {
		return err
	}
	fmt.Printf("\nMedians of %d interleaved runs of %s each (fosite-bcrypt: %d requests per run); %s, %s/%s, GOMAXPROCS=%d.\n",
		rounds, benchTime, slowN, runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.GOMAXPROCS(0))
	fmt.Printf("Every figure includes the harness (httptest request and recorder): %s ns/op, %d B/op, %d allocs/op;\n",
		bench.FormatNs(harness.NsPerOp), harness.BytesPerOp, harness.AllocsPerOp)
	fmt.Printf("the \"net\" ratios take it off both sides.\n")
	fmt.Printf("Command: %s\n", strings.Join(append([]string{"cd bench && go run ./cmd/benchtable"}, os.Args[1:]...), " "))
	return nil
}
