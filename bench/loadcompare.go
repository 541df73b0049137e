package bench

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// LoadOptions tune CompareLoad.
type LoadOptions struct {
	// Command returns the program and arguments of the server process of
	// a contender of a scenario (see StartProcess).
	Command func(scenario, contender string) (exe string, args []string)
	// Rounds is how many times each point is measured; at least 1.
	Rounds int
	// Conns are the numbers of connections of the points.
	Conns []int
	// Budget is about how long each point should keep a server busy: the
	// number of requests of a point is Budget over the time a request
	// took in a warm-up, within [MinRequests, MaxRequests].
	Budget                   time.Duration
	MinRequests, MaxRequests int
	// SlowRequests is the number of requests of every point of a
	// contender with MaxN (fosite's bcrypt), at least the number of
	// connections.
	SlowRequests int
	// Progress, when not nil, receives a line per point.
	Progress io.Writer
}

// LoadResult is the medians, over the rounds, of one contender's points
// at one number of connections; each field is a median of its own.
type LoadResult struct {
	Name  string
	Conns int
	// Requests is the number of requests of each point.
	Requests                     int
	RPS                          float64
	P50, P99                     time.Duration
	CPUPer1000                   time.Duration
	MinCPUPer1000, MaxCPUPer1000 time.Duration
	Rounds                       int
}

// CompareLoad measures HTTP load on the contenders of sc, each in a server
// process of its own, all started at once. Each process first answers a
// warm-up of requests on one connection, whose pace sizes its points.
// Then, in each round, for each number of connections, every contender is
// measured once (MeasureLoad), the order rotated from round to round so
// that drift of the machine falls on all alike. It returns the medians,
// by number of connections, then contender in the order of sc.
func CompareLoad(sc Scenario, opts LoadOptions) ([]LoadResult, error) {
	if opts.Rounds < 1 {
		opts.Rounds = 1
	}
	ps := make([]*Process, len(sc.Contenders))
	defer func() {
		for _, p := range ps {
			if p != nil {
				p.Close()
			}
		}
	}()
	for i, c := range sc.Contenders {
		exe, args := opts.Command(sc.Name, c.Name)
		p, err := StartProcess(c.Name, exe, args...)
		if err != nil {
			return nil, err
		}
		ps[i] = p
	}
	maxConns := 1
	for _, n := range opts.Conns {
		maxConns = max(maxConns, n)
	}

	// size returns the number of requests of a point of contender i.
	sizes := make([]int, len(ps))
	for i, p := range ps {
		c := sc.Contenders[i]
		if c.MaxN > 0 {
			warm, err := MeasureLoad(p, max(1, min(opts.SlowRequests, c.MaxN)), 1)
			if err != nil {
				return nil, err
			}
			sizes[i] = opts.SlowRequests
			progress(opts.Progress, "%s %-14s warm-up: %d requests, %.0f req/s\n", sc.Name, c.Name, warm.Requests, warm.RPS())
			continue
		}
		warm, err := MeasureLoad(p, max(opts.MinRequests/2, 1), 1)
		if err != nil {
			return nil, err
		}
		perRequest := warm.Elapsed / time.Duration(warm.Requests)
		sizes[i] = min(max(int(opts.Budget/max(perRequest, 1)), opts.MinRequests, 4*maxConns), opts.MaxRequests)
		progress(opts.Progress, "%s %-14s warm-up: %d requests, %.0f req/s: %d requests per point\n",
			sc.Name, c.Name, warm.Requests, warm.RPS(), sizes[i])
	}

	points := make(map[[2]int][]LoadPoint) // by contender, conns
	for round := range opts.Rounds {
		for _, conns := range opts.Conns {
			for k := range ps {
				i := (k + round) % len(ps)
				n := max(sizes[i], conns)
				lp, err := MeasureLoad(ps[i], n, conns)
				if err != nil {
					return nil, err
				}
				key := [2]int{i, conns}
				points[key] = append(points[key], lp)
				progress(opts.Progress, "round %d/%d %s %-14s %2d conns: %6d req, %8.0f req/s, p50 %v, p99 %v, CPU %v per 1000\n",
					round+1, opts.Rounds, sc.Name, ps[i].Name, conns, lp.Requests, lp.RPS(),
					lp.P50.Round(time.Microsecond), lp.P99.Round(time.Microsecond), lp.CPUPer1000().Round(time.Microsecond))
			}
		}
	}

	var results []LoadResult
	for _, conns := range opts.Conns {
		for i, c := range sc.Contenders {
			results = append(results, summarizeLoad(c.Name, conns, points[[2]int{i, conns}]))
		}
	}
	return results, nil
}

func progress(w io.Writer, format string, args ...any) {
	if w != nil {
		fmt.Fprintf(w, format, args...)
	}
}

// summarizeLoad takes the medians of the points of one contender at one
// number of connections.
func summarizeLoad(name string, conns int, lps []LoadPoint) LoadResult {
	rps := make([]float64, len(lps))
	p50 := make([]int64, len(lps))
	p99 := make([]int64, len(lps))
	cpu := make([]int64, len(lps))
	for i, lp := range lps {
		rps[i] = lp.RPS()
		p50[i] = int64(lp.P50)
		p99[i] = int64(lp.P99)
		cpu[i] = int64(lp.CPUPer1000())
	}
	r := LoadResult{
		Name: name, Conns: conns, Requests: lps[0].Requests, Rounds: len(lps),
		RPS: median(rps), P50: time.Duration(median(p50)), P99: time.Duration(median(p99)),
		CPUPer1000: time.Duration(median(cpu)),
	}
	r.MinCPUPer1000, r.MaxCPUPer1000 = time.Duration(cpu[0]), time.Duration(cpu[len(cpu)-1]) // median sorted cpu
	return r
}

// WriteLoadTable writes load results as a markdown table, a row per
// contender and number of connections: requests per second, latency
// percentiles, the server's CPU time per 1,000 requests and its ratios to
// the contenders named baseline and reference at the same number of
// connections (a column is left out when its contender is missing).
func WriteLoadTable(w io.Writer, results []LoadResult, baseline, reference string) error {
	find := func(name string, conns int) *LoadResult {
		for i := range results {
			if results[i].Name == name && results[i].Conns == conns {
				return &results[i]
			}
		}
		return nil
	}
	hasRef := func(name string) bool {
		for _, r := range results {
			if r.Name == name {
				return true
			}
		}
		return false
	}
	var sb strings.Builder
	sb.WriteString("| handler | conns | requests | req/s | p50 | p99 | CPU per 1000 req | ±")
	refs := []string{}
	for _, name := range []string{baseline, reference} {
		if hasRef(name) {
			refs = append(refs, name)
			sb.WriteString(" | CPU ÷ " + name)
		}
	}
	sb.WriteString(" |\n|---|--:|--:|--:|--:|--:|--:|--:")
	for range refs {
		sb.WriteString("|--:")
	}
	sb.WriteString("|\n")
	for _, r := range results {
		spread := "–"
		if r.CPUPer1000 > 0 {
			spread = fmt.Sprintf("%.0f%%", float64(r.MaxCPUPer1000-r.MinCPUPer1000)/2/float64(r.CPUPer1000)*100)
		}
		fmt.Fprintf(&sb, "| %s | %d | %d | %s | %s | %s | %s | %s", r.Name, r.Conns, r.Requests,
			FormatNs(r.RPS), formatDuration(r.P50), formatDuration(r.P99), formatDuration(r.CPUPer1000), spread)
		for _, name := range refs {
			ref := find(name, r.Conns)
			cell := "–"
			if ref != nil {
				cell = ratio(float64(r.CPUPer1000), float64(ref.CPUPer1000))
			}
			sb.WriteString(" | " + cell)
		}
		sb.WriteString(" |\n")
	}
	_, err := io.WriteString(w, sb.String())
	return err
}

// formatDuration formats d with three significant digits in the unit that
// suits it: µs, ms or s.
func formatDuration(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return strconv.FormatFloat(float64(d)/float64(time.Microsecond), 'f', sigDecimals(float64(d)/1e3), 64) + " µs"
	case d < time.Second:
		return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', sigDecimals(float64(d)/1e6), 64) + " ms"
	default:
		return strconv.FormatFloat(d.Seconds(), 'f', sigDecimals(d.Seconds()), 64) + " s"
	}
}

// sigDecimals is the number of decimals that gives x three significant
// digits (none at 100 and above).
func sigDecimals(x float64) int {
	switch {
	case x >= 100:
		return 0
	case x >= 10:
		return 1
	default:
		return 2
	}
}
