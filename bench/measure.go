package bench

import (
	"flag"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// ServeRequests returns the benchmark of c: each run builds a fresh
// server and asks it for b.N requests (Server.Requests), both outside the
// timer, then sends them one by one to its handler and fails unless each
// is answered 200. Each request is built as the net/http server would
// build it (Request.HTTPRequest) and answered into one reused Recorder;
// that harness is part of every figure, and NewHarness measures it alone.
//
// A contender with MaxN skips runs with a larger b.N: with the default
// -benchtime of 1s, fosite's bcrypt runs a handful of iterations.
func ServeRequests(c Contender) func(*testing.B) {
	return func(b *testing.B) {
		if c.MaxN > 0 && b.N > c.MaxN {
			b.Skipf("%s takes long per request: b.N=%d > %d; use a -benchtime of 1s or -benchtime=%dx", c.Name, b.N, c.MaxN, c.MaxN)
		}
		s, err := c.New()
		if err != nil {
			b.Fatal(err)
		}
		reqs, err := s.Requests(b.N)
		if err != nil {
			b.Fatal(err)
		}
		w := NewRecorder()
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			w.Reset()
			s.Handler.ServeHTTP(w, reqs[i].HTTPRequest())
			if w.Code != http.StatusOK {
				b.Fatalf("%s: status %d: %s", c.Name, w.Code, w.Body.Bytes())
			}
		}
	}
}

// NewHarness returns a contender whose handler only writes a fixed token
// response to any request: what ServeRequests costs by itself, included
// in every figure; and, served over HTTP, the floor of the load measure,
// the cost of net/http's server itself.
func NewHarness() Contender {
	return Contender{Name: NameHarness, New: func() (*Server, error) {
		h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"access_token":"x","token_type":"Bearer"}`)
		})
		req := ClientCredentialsRequest(benchClientID, "x")
		return &Server{Handler: h, ClientID: benchClientID, ClientSecret: "x",
			Requests: Repeated(req)}, nil
	}}
}

// Result is the median of the runs of one contender.
type Result struct {
	Name        string
	NsPerOp     float64 // median ns/op
	BytesPerOp  int64   // median B/op
	AllocsPerOp int64   // median allocs/op
	// MinNs and MaxNs are the fastest and slowest runs' ns/op.
	MinNs, MaxNs float64
	Runs         int // runs measured
	N            int // iterations over all runs
}

// CompareOptions tune Compare.
type CompareOptions struct {
	// Rounds is how many times each contender runs; at least 1.
	Rounds int
	// BenchTime is the -test.benchtime of each run ("1s" when empty).
	BenchTime string
	// SlowN is the number of iterations of each run of a contender with
	// MaxN, capped at MaxN; 0 means 5.
	SlowN int
	// Progress, when not nil, receives a line per run.
	Progress io.Writer
}

// Compare runs the benchmark (ServeRequests) of each contender opts.Rounds
// times with testing.Benchmark, interleaved: each round runs every
// contender once, and the order rotates from round to round, so that drift
// of the machine (heat, frequency, neighbours) falls on all of them alike.
// It returns each contender's medians, in the order of cs.
func Compare(cs []Contender, opts CompareOptions) ([]Result, error) {
	bs := make([]benchmark, len(cs))
	for i, c := range cs {
		bs[i] = benchmark{name: c.Name, run: ServeRequests(c), maxN: c.MaxN}
	}
	return compareBenchmarks(bs, opts)
}

// benchmark is one go test benchmark that compareBenchmarks runs.
type benchmark struct {
	name string
	run  func(*testing.B)
	maxN int // as Contender.MaxN
}

// compareBenchmarks runs each benchmark opts.Rounds times, interleaved and
// rotated as Compare describes, and returns their medians in order.
func compareBenchmarks(bs []benchmark, opts CompareOptions) ([]Result, error) {
	if opts.Rounds < 1 {
		opts.Rounds = 1
	}
	if opts.BenchTime == "" {
		opts.BenchTime = "1s"
	}
	if opts.SlowN <= 0 {
		opts.SlowN = 5
	}
	// testing.Benchmark reads its duration from the test.benchtime flag.
	testing.Init()
	bt := flag.Lookup("test.benchtime")
	defer func(old string) { _ = bt.Value.Set(old) }(bt.Value.String())

	runs := make([][]testing.BenchmarkResult, len(bs))
	for round := range opts.Rounds {
		for k := range bs {
			i := (k + round) % len(bs)
			c := bs[i]
			benchTime := opts.BenchTime
			if c.maxN > 0 {
				benchTime = strconv.Itoa(min(opts.SlowN, c.maxN)) + "x"
			}
			if err := bt.Value.Set(benchTime); err != nil {
				return nil, fmt.Errorf("benchtime %q: %w", benchTime, err)
			}
			r := testing.Benchmark(c.run)
			if r.N == 0 {
				return nil, fmt.Errorf("%s: benchmark failed or was skipped", c.name)
			}
			runs[i] = append(runs[i], r)
			if opts.Progress != nil {
				fmt.Fprintf(opts.Progress, "round %d/%d %-14s %s %s\n", round+1, opts.Rounds, c.name, r, r.MemString())
			}
		}
	}
	results := make([]Result, len(bs))
	for i, rs := range runs {
		results[i] = summarize(bs[i].name, rs)
	}
	return results, nil
}

// summarize takes the medians of runs, each figure on its own.
func summarize(name string, runs []testing.BenchmarkResult) Result {
	ns := make([]float64, len(runs))
	bytes := make([]int64, len(runs))
	allocs := make([]int64, len(runs))
	res := Result{Name: name, Runs: len(runs)}
	for i, r := range runs {
		ns[i] = float64(r.T.Nanoseconds()) / float64(r.N)
		bytes[i] = r.AllocedBytesPerOp()
		allocs[i] = r.AllocsPerOp()
		res.N += r.N
	}
	res.NsPerOp = median(ns)
	res.BytesPerOp = median(bytes)
	res.AllocsPerOp = median(allocs)
	res.MinNs, res.MaxNs = slices.Min(ns), slices.Max(ns)
	return res
}

// median returns the median of xs (the mean of the middle two for an even
// count), sorting xs.
func median[T int64 | float64](xs []T) T {
	slices.Sort(xs)
	n := len(xs)
	if n%2 == 1 {
		return xs[n/2]
	}
	return (xs[n/2-1] + xs[n/2]) / 2
}

// WriteTable writes results as a markdown table: the medians, the spread
// of ns/op over the runs (half the range between the fastest and the
// slowest run, as a share of the median), and ratios of ns/op to the
// contenders named baseline and reference, and of allocs/op to the
// baseline. A ratio column is left out when its contender is missing; a
// ratio above 1 means costlier.
//
// When harness is not nil, its ns/op (the cost of ServeRequests itself,
// included in every figure) is also taken off both sides of each ns/op
// ratio, in a "net" column: the shared cost of the harness pulls every
// ratio towards 1.
func WriteTable(w io.Writer, results []Result, baseline, reference string, harness *Result) error {
	find := func(name string) *Result {
		for i := range results {
			if results[i].Name == name {
				return &results[i]
			}
		}
		return nil
	}
	type column struct {
		head string
		cell func(r Result) string
	}
	cols := []column{
		{"handler", func(r Result) string { return r.Name }},
		{"ns/op", func(r Result) string { return FormatNs(r.NsPerOp) }},
		{"±", func(r Result) string {
			if r.NsPerOp == 0 {
				return "–"
			}
			return fmt.Sprintf("%.0f%%", (r.MaxNs-r.MinNs)/2/r.NsPerOp*100)
		}},
		{"B/op", func(r Result) string { return strconv.FormatInt(r.BytesPerOp, 10) }},
		{"allocs/op", func(r Result) string { return strconv.FormatInt(r.AllocsPerOp, 10) }},
	}
	ratioCols := func(name string, ref *Result) {
		if ref == nil {
			return
		}
		cols = append(cols, column{"÷ " + name, func(r Result) string { return ratio(r.NsPerOp, ref.NsPerOp) }})
		if harness != nil {
			h := harness.NsPerOp
			cols = append(cols, column{"÷ " + name + " net", func(r Result) string { return ratio(r.NsPerOp-h, ref.NsPerOp-h) }})
		}
	}
	base := find(baseline)
	ratioCols(baseline, base)
	ratioCols(reference, find(reference))
	if base != nil {
		cols = append(cols, column{"allocs ÷ " + baseline, func(r Result) string {
			return ratio(float64(r.AllocsPerOp), float64(base.AllocsPerOp))
		}})
	}

	var sb strings.Builder
	for _, c := range cols {
		sb.WriteString("| " + c.head + " ")
	}
	sb.WriteString("|\n|---")
	for range cols[1:] {
		sb.WriteString("|--:")
	}
	sb.WriteString("|\n")
	for _, r := range results {
		for _, c := range cols {
			sb.WriteString("| " + c.cell(r) + " ")
		}
		sb.WriteString("|\n")
	}
	_, err := io.WriteString(w, sb.String())
	return err
}

// FormatNs formats ns/op rounded to an integer, with thousands separators.
func FormatNs(ns float64) string {
	s := strconv.FormatInt(int64(ns+0.5), 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// ratio formats x/y: two decimals below 10, one below 100, none (with
// thousands separators) above.
func ratio(x, y float64) string {
	if y <= 0 {
		return "–"
	}
	q := x / y
	switch {
	case q >= 100:
		return FormatNs(q) + "x"
	case q >= 10:
		return strconv.FormatFloat(q, 'f', 1, 64) + "x"
	default:
		return strconv.FormatFloat(q, 'f', 2, 64) + "x"
	}
}
