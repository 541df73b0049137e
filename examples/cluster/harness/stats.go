package harness

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"slices"
	"sync"
	"time"
)

// Stats counts what the load sent and what came back: per instance and
// phase, the answers by class, the latency of every request, and every
// unexpected outcome by its reason. It is safe for concurrent use.
type Stats struct {
	mu     sync.Mutex
	phase  string
	phases []*PhaseStats
	byName map[string]*PhaseStats
	// instances are the counts per instance, over all phases.
	instances map[string]*InstanceStats
	// errors counts the unexpected outcomes by reason.
	errors map[string]int
	// flows counts the flows run to their end, by name.
	flows map[string]int
}

// PhaseStats are the figures of one phase of the load.
type PhaseStats struct {
	// Name says what the cluster was like: both up, one killed...
	Name string
	// Start and End bound the phase.
	Start, End time.Time
	// Latencies are those of every answered request of the phase.
	Latencies []time.Duration
}

// InstanceStats are the answers of one instance.
type InstanceStats struct {
	// Requests counts the requests sent to it; Status the answers by
	// status class: 200, 300, 400 and 500 for 2xx to 5xx.
	Requests int
	Status   map[int]int
	// Refused counts the requests that got no answer while the instance
	// was down or being killed: a load balancer's retries, not errors.
	Refused int
}

// newStats returns empty statistics.
func newStats() *Stats {
	return &Stats{byName: make(map[string]*PhaseStats), instances: make(map[string]*InstanceStats),
		errors: make(map[string]int), flows: make(map[string]int)}
}

// StartPhase ends the current phase, if any, and starts one called name.
func (s *Stats) StartPhase(name string, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := len(s.phases); n > 0 {
		s.phases[n-1].End = now
	}
	p := &PhaseStats{Name: name, Start: now}
	s.phases = append(s.phases, p)
	s.byName[name] = p
	s.phase = name
}

// EndPhase ends the current phase.
func (s *Stats) EndPhase(now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := len(s.phases); n > 0 && s.phases[n-1].End.IsZero() {
		s.phases[n-1].End = now
	}
}

// instance returns the counts of instance name, made on first use. The
// caller holds s.mu.
func (s *Stats) instance(name string) *InstanceStats {
	in := s.instances[name]
	if in == nil {
		in = &InstanceStats{Status: make(map[int]int)}
		s.instances[name] = in
	}
	return in
}

// answered records an answer of instance with status, after latency.
func (s *Stats) answered(instance string, status int, latency time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	in := s.instance(instance)
	in.Requests++
	in.Status[status/100*100]++
	if p := s.byName[s.phase]; p != nil {
		p.Latencies = append(p.Latencies, latency)
	}
}

// refused records a request to instance that got no answer because the
// instance was down.
func (s *Stats) refused(instance string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	in := s.instance(instance)
	in.Requests++
	in.Refused++
}

// unexpected records an outcome the load did not expect, by reason.
func (s *Stats) unexpected(reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.errors[reason]++
}

// flowDone records a flow run to its end.
func (s *Stats) flowDone(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.flows[name]++
}

// Errors returns the number of unexpected outcomes.
func (s *Stats) Errors() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.errors {
		n += c
	}
	return n
}

// Reason is an unexpected outcome and how often it happened.
type Reason struct {
	Reason string
	Count  int
}

// Reasons returns the unexpected outcomes, the most frequent first.
func (s *Stats) Reasons() []Reason {
	s.mu.Lock()
	defer s.mu.Unlock()
	var rs []Reason
	for r, c := range s.errors {
		rs = append(rs, Reason{r, c})
	}
	slices.SortFunc(rs, func(a, b Reason) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Reason, b.Reason))
	})
	return rs
}

// Instance returns a copy of the counts of instance name.
func (s *Stats) Instance(name string) InstanceStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	in := *s.instance(name)
	in.Status = maps.Clone(in.Status)
	return in
}

// Phases returns a copy of the phases, in order.
func (s *Stats) Phases() []PhaseStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	ps := make([]PhaseStats, len(s.phases))
	for i, p := range s.phases {
		ps[i] = *p
		ps[i].Latencies = slices.Clone(p.Latencies)
	}
	return ps
}

// Flows returns how many flows of each kind ran to their end.
func (s *Stats) Flows() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.flows)
}

// Percentile returns the p-th percentile (0 < p <= 100) of samples by the
// nearest-rank method: the least sample that at least p percent of the
// samples do not exceed. It is 0 for no samples. samples is not changed.
func Percentile(samples []time.Duration, p float64) time.Duration {
	if len(samples) == 0 {
		return 0
	}
	sorted := slices.Clone(samples)
	slices.Sort(sorted)
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

// Rate returns n events over d, per second; 0 for no time.
func Rate(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// CheckHeapGrowth returns an error when the heap grew from warm to end by
// more than maxGrowth (0.10 is 10%) of warm. A smaller heap at the end
// passes.
func CheckHeapGrowth(warm, end uint64, maxGrowth float64) error {
	if warm == 0 {
		return fmt.Errorf("no heap measured after warm-up")
	}
	if end <= warm {
		return nil
	}
	if growth := float64(end-warm) / float64(warm); growth > maxGrowth {
		return fmt.Errorf("the heap grew by %.1f%% (%s to %s), more than %.0f%%",
			growth*100, formatBytes(warm), formatBytes(end), maxGrowth*100)
	}
	return nil
}

// heapWindow is how many readings of a soak's live heap make its value
// after the warm-up, and at the end: the median of the first and of the
// last ones. A single reading of a heap of a megabyte moves by several
// percent with what the server happens to hold (a connection's buffers,
// a timer's work); a leak moves the median too.
const heapWindow = 3

// WarmAndEnd returns an instance's live heap after the warm-up and at the
// end from its readings in order, the first taken at the end of the
// warm-up and the last at the end of the load: the median of the first
// heapWindow readings and of the last ones, or of the first and second
// half when there are fewer than twice as many (a single reading each
// with two).
func WarmAndEnd(readings []uint64) (warm, end uint64) {
	if len(readings) == 0 {
		return 0, 0
	}
	k := min(heapWindow, max(1, len(readings)/2))
	return median(readings[:k]), median(readings[len(readings)-k:])
}

// median returns the median of xs, the lower of the two middle values for
// an even count; xs is not modified.
func median(xs []uint64) uint64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[(len(s)-1)/2]
}

// formatBytes writes a byte count in MiB with two decimals.
func formatBytes(n uint64) string {
	return fmt.Sprintf("%.2f MiB", float64(n)/(1<<20))
}
