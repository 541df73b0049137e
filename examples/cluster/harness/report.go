package harness

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// writeLoadReport writes the load's figures: per phase, the requests
// answered, their rate and latency; per instance, the answers by class;
// and the flows run to their end.
func writeLoadReport(out io.Writer, l *Load, c *Cluster) {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "phase\ttime\tanswered\treq/s\tp50\tp99\t")
	var all []time.Duration
	var total time.Duration
	for _, p := range l.stats.Phases() {
		d := p.End.Sub(p.Start)
		fmt.Fprintf(tw, "%s\t%s\t%d\t%.0f\t%s\t%s\t\n", p.Name, round(d), len(p.Latencies), Rate(len(p.Latencies), d),
			latency(Percentile(p.Latencies, 50)), latency(Percentile(p.Latencies, 99)))
		if p.Name != "checks" {
			all = append(all, p.Latencies...)
			total += d
		}
	}
	fmt.Fprintf(tw, "load\t%s\t%d\t%.0f\t%s\t%s\t\n", round(total), len(all), Rate(len(all), total),
		latency(Percentile(all, 50)), latency(Percentile(all, 99)))
	tw.Flush()

	fmt.Fprintln(out)
	tw = tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "instance (load and checks)\trequests\t2xx\t3xx\t4xx\t5xx\tno answer, up\tno answer, down\t")
	for _, in := range c.Instances {
		s := l.stats.Instance(in.Name)
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t\n", in.Name, s.Requests, s.Status[200], s.Status[300], s.Status[400],
			s.Status[500], s.Status[0], s.Refused)
	}
	tw.Flush()

	flows := l.stats.Flows()
	var names []string
	for name := range flows {
		names = append(names, name)
	}
	slices.Sort(names)
	var parts []string
	for _, n := range names {
		parts = append(parts, fmt.Sprintf("%s %d", n, flows[n]))
	}
	fmt.Fprintf(out, "\nflows run to their end: %s\n", strings.Join(parts, ", "))
}

// writeSoakSummary writes the soak's figures: requests per second, errors,
// p99 latency, and each instance's live heap.
func writeSoakSummary(out io.Writer, l *Load, c *Cluster, warm, end []uint64) {
	var all []time.Duration
	var total time.Duration
	for _, p := range l.stats.Phases() {
		all = append(all, p.Latencies...)
		total += p.End.Sub(p.Start)
	}
	fmt.Fprintf(out, "\nsoak: %.0f requests/s over %s, %d errors, p99 latency %s\n",
		Rate(len(all), total), round(total), l.stats.Errors(), latency(Percentile(all, 99)))
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "instance\tlive heap after warm-up\tat the end\tgrowth\t")
	for i, in := range c.Instances {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%+.1f%%\t\n", in.Name, formatBytes(warm[i]), formatBytes(end[i]),
			(float64(end[i])-float64(warm[i]))/float64(warm[i])*100)
	}
	tw.Flush()
}

// writeChecks writes one line per check: PASS or FAIL, what, and why.
func writeChecks(out io.Writer, checks []Check) {
	for _, c := range checks {
		verdict := "PASS"
		if !c.Pass {
			verdict = "FAIL"
		}
		fmt.Fprintf(out, "  %s  %s\n        %s\n", verdict, c.Name, c.Detail)
	}
}

// latency writes a latency for the report.
func latency(d time.Duration) string {
	if d < 10*time.Millisecond {
		return d.Round(10 * time.Microsecond).String()
	}
	return d.Round(time.Millisecond).String()
}
