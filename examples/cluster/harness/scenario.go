package harness

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Result is the verdict of a run.
type Result struct {
	// Checks are the verdicts, in the order they were made.
	Checks []Check
	// Flows counts the flows the load ran to their end, by name.
	Flows map[string]int
}

// Passed reports whether every check held.
func (r *Result) Passed() bool {
	for _, c := range r.Checks {
		if !c.Pass {
			return false
		}
	}
	return len(r.Checks) > 0
}

// CrashConfig configures Crash.
type CrashConfig struct {
	// DSN is the PostgreSQL database of the cluster.
	DSN string
	// Dir holds the server binary, its files and logs.
	Dir string
	// Duration is the load's; the kill comes at 40% of it, the restart at
	// 65%.
	Duration time.Duration
	// Load is the load; its Record is set.
	Load LoadConfig
	// Tokens is the access token format, opaque or jwt.
	Tokens string
	// Out receives the report.
	Out io.Writer
}

// startTimeout bounds the start of an instance: building nothing, it
// migrates the schema and hashes the users' passwords.
const startTimeout = time.Minute

// Crash starts two instances over one database, sends the load through
// both, kills the first with SIGKILL at 40% of the load, keeps the load on
// the survivor, restarts the killed one with the same flags at 65%, and
// after the load checks what a crash must not break: no code or refresh
// token redeemed twice, every token still active at the survivor unless
// revoked or rotated, no 5xx from the survivor, and the restarted instance
// serving the tokens issued before it came back.
func Crash(ctx context.Context, cfg CrashConfig) (*Result, error) {
	cfg.Load.Record = true
	c, done, err := startCluster(ctx, cfg.Out, cfg.Dir, cfg.DSN, cfg.Tokens, cfg.Load.Workers, false)
	if err != nil {
		return nil, err
	}
	defer done()
	a, b := c.Instances[0], c.Instances[1]
	fmt.Fprintf(cfg.Out, "load: %s, for %s; %s is killed at %s and restarted at %s\n",
		cfg.Load, cfg.Duration, a.Name, round(cfg.Duration*40/100), round(cfg.Duration*65/100))

	l := NewLoad(c, cfg.Load)
	t0, stop := l.begin("A and B")
	defer stop()

	if err := sleepUntil(ctx, t0.Add(cfg.Duration*40/100)); err != nil {
		return nil, err
	}
	killAt := time.Now()
	l.stats.StartPhase("B alone, A killed", killAt)
	if err := a.Kill(); err != nil {
		return nil, err
	}
	fmt.Fprintf(cfg.Out, "%6s  %s killed with SIGKILL\n", round(killAt.Sub(t0)), a.Name)

	if err := sleepUntil(ctx, t0.Add(cfg.Duration*65/100)); err != nil {
		return nil, err
	}
	restartAt := time.Now()
	if err := a.Start(ctx, startTimeout); err != nil {
		return nil, fmt.Errorf("harness: restarting %s: %w", a.Name, err)
	}
	upAt := time.Now()
	l.stats.StartPhase("A restarted and B", upAt)
	fmt.Fprintf(cfg.Out, "%6s  %s restarted with the same flags, answering after %s\n", round(restartAt.Sub(t0)), a.Name, round(upAt.Sub(restartAt)))

	if err := sleepUntil(ctx, t0.Add(cfg.Duration)); err != nil {
		return nil, err
	}
	stop()
	fmt.Fprintf(cfg.Out, "%6s  load stopped; checking\n", round(time.Since(t0)))

	// The checks go as fast as the servers answer.
	l.pace = nil
	l.stats.StartPhase("checks", time.Now())
	checksStart := time.Now()
	parallel := max(cfg.Load.Workers, 1)
	res := &Result{Checks: []Check{
		l.checkAnswers(),
		l.checkNo5xx(b, "survivor"),
		l.checkIntrospection("every token still active at the survivor unless revoked or rotated", b,
			func(*tokenRecord) bool { return true }, parallel),
		l.checkIntrospection("the restarted instance serves the tokens issued before it came back", a,
			issuedBefore(upAt), parallel),
	}}
	// Last: a replay revokes its grant.
	res.Checks = append(res.Checks, l.checkReplays(b, parallel))
	res.Flows = l.stats.Flows()
	l.stats.EndPhase(time.Now())
	writeLoadReport(cfg.Out, l, c)
	fmt.Fprintf(cfg.Out, "checks, in %s:\n", round(time.Since(checksStart)))
	writeChecks(cfg.Out, res.Checks)
	return res, nil
}

// SoakConfig configures Soak.
type SoakConfig struct {
	// DSN is the PostgreSQL database of the cluster.
	DSN string
	// Dir holds the server binary, its files and logs.
	Dir string
	// Duration is the load's; Warmup the part of it after which the heap
	// is first measured.
	Duration, Warmup time.Duration
	// Load is the load; its Record is cleared.
	Load LoadConfig
	// Tokens is the access token format, opaque or jwt.
	Tokens string
	// MaxHeapGrowth is the most each instance's live heap may grow from
	// the warm-up to the end, 0.10 for 10%.
	MaxHeapGrowth float64
	// Progress is how often a line of progress is printed; zero is never.
	Progress time.Duration
	// Out receives the report.
	Out io.Writer
}

// Soak starts two instances over one database and sends the load through
// both for the duration, then reports the requests per second, the
// unexpected answers (there must be none), the 99th percentile of the
// latency, and each instance's live heap after the warm-up and at the end
// (WarmAndEnd: medians of the readings taken every Progress), which must
// not have grown by more than MaxHeapGrowth. The load pauses
// for each measurement, so that no request is in flight.
func Soak(ctx context.Context, cfg SoakConfig) (*Result, error) {
	cfg.Load.Record = false
	c, done, err := startCluster(ctx, cfg.Out, cfg.Dir, cfg.DSN, cfg.Tokens, cfg.Load.Workers, true)
	if err != nil {
		return nil, err
	}
	defer done()
	fmt.Fprintf(cfg.Out, "load: %s, for %s; heap measured after %s and at the end\n", cfg.Load, cfg.Duration, cfg.Warmup)

	l := NewLoad(c, cfg.Load)
	t0, stop := l.begin("warm-up")
	defer stop()
	// readings are each instance's live heap from the end of the warm-up
	// on, in order.
	readings := make([][]uint64, len(c.Instances))
	measuring := false
	record := func(hs []uint64) {
		for i, h := range hs {
			readings[i] = append(readings[i], h)
		}
	}
	progress := func(until time.Time) error {
		for cfg.Progress > 0 && time.Until(until) > cfg.Progress {
			if err := sleepUntil(ctx, time.Now().Add(cfg.Progress)); err != nil {
				return err
			}
			hs, err := l.heaps(ctx)
			if err != nil {
				return err
			}
			if measuring {
				record(hs)
			}
			var heaps []string
			for i, in := range c.Instances {
				heaps = append(heaps, fmt.Sprintf("%s %s", in.Name, formatBytes(hs[i])))
			}
			fmt.Fprintf(cfg.Out, "%6s  %d requests, %d unexpected answers, live heap %s\n", round(time.Since(t0)), l.requests(),
				l.stats.Errors(), strings.Join(heaps, ", "))
		}
		return sleepUntil(ctx, until)
	}

	if err := progress(t0.Add(cfg.Warmup)); err != nil {
		return nil, err
	}
	hs, err := l.heaps(ctx)
	if err != nil {
		return nil, err
	}
	record(hs)
	measuring = true
	l.stats.StartPhase("measured", time.Now())
	if err := progress(t0.Add(cfg.Duration)); err != nil {
		return nil, err
	}
	stop()
	if hs, err = l.heaps(ctx); err != nil {
		return nil, err
	}
	record(hs)
	warm, end := make([]uint64, len(c.Instances)), make([]uint64, len(c.Instances))
	for i := range c.Instances {
		warm[i], end[i] = WarmAndEnd(readings[i])
	}

	res := &Result{Checks: []Check{l.checkAnswers()}, Flows: l.stats.Flows()}
	for i, in := range c.Instances {
		chk := Check{Name: fmt.Sprintf("the live heap of %s grows by at most %.0f%%", in.Name, cfg.MaxHeapGrowth*100), Pass: true,
			Detail: fmt.Sprintf("%s after the warm-up, %s at the end (medians of the first and last %d of %d readings)",
				formatBytes(warm[i]), formatBytes(end[i]), min(heapWindow, max(1, len(readings[i])/2)), len(readings[i]))}
		if err := CheckHeapGrowth(warm[i], end[i], cfg.MaxHeapGrowth); err != nil {
			chk.Pass, chk.Detail = false, err.Error()
		}
		res.Checks = append(res.Checks, chk)
	}
	writeLoadReport(cfg.Out, l, c)
	writeSoakSummary(cfg.Out, l, c, warm, end)
	fmt.Fprintln(cfg.Out, "checks:")
	writeChecks(cfg.Out, res.Checks)
	return res, nil
}

// heapReadings is how many times heaps reads each live heap, keeping the
// least: an idle server's live heap still varies by a few percent between
// two readings (timers, its database pool's housekeeping), and a leak
// raises the least reading too.
const heapReadings = 3

// heaps pauses the load and returns the live heap of every instance, the
// least of heapReadings readings. The harness's idle connections are closed first, so that each
// measurement finds the servers holding no connection's buffers, however
// many the load happened to keep open.
func (l *Load) heaps(ctx context.Context) ([]uint64, error) {
	select {
	case <-l.stop:
		// Stopped: nothing to pause.
	default:
		l.Pause()
		defer l.Resume()
	}
	if err := l.warmPools(ctx); err != nil {
		return nil, err
	}
	for _, in := range l.cluster.Instances {
		in.transport.CloseIdleConnections()
	}
	// The servers see the connections close, and end their goroutines.
	if err := sleepUntil(ctx, time.Now().Add(200*time.Millisecond)); err != nil {
		return nil, err
	}
	hs := make([]uint64, len(l.cluster.Instances))
	for i := range heapReadings {
		if i > 0 {
			if err := sleepUntil(ctx, time.Now().Add(100*time.Millisecond)); err != nil {
				return nil, err
			}
		}
		for j, in := range l.cluster.Instances {
			h, err := LiveHeap(ctx, in)
			if err != nil {
				return nil, err
			}
			if i == 0 || h < hs[j] {
				hs[j] = h
			}
		}
	}
	return hs, nil
}

// poolBurst is how many requests warmPools sends to each instance at once.
const poolBurst = 32

// warmPools sends each instance bursts of concurrent requests that each
// read the database, so that every connection of its pool is open and has
// run a query before the heap is read. A database connection allocates
// some of its memory on first use (pgx, 64 rows' worth on its first
// query, 62 KiB), and a pool hands out its most recently used connection
// first, so that under a light load its last connections may be first
// used at any time: 6% of a 1 MiB heap each, which would read as growth.
// The requests are introspections of a token that is no token, each of
// which looks its caller up (RFC 7662 §2.1); they are not counted in the
// load's figures.
func (l *Load) warmPools(ctx context.Context) error {
	api := l.cluster.Credentials.API
	for _, in := range l.cluster.Instances {
		for range 3 {
			errs := make(chan error, poolBurst)
			for range poolBurst {
				go func() {
					req, err := http.NewRequestWithContext(ctx, http.MethodPost, in.BaseURL()+"/introspect",
						strings.NewReader("token=not-a-token"))
					if err != nil {
						errs <- err
						return
					}
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					req.SetBasicAuth(url.QueryEscape(api.ID), url.QueryEscape(api.Secret))
					resp, err := in.client.Do(req)
					if err != nil {
						errs <- err
						return
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						err = fmt.Errorf("harness: warming the pool of %s: %d from /introspect", in.Name, resp.StatusCode)
					}
					errs <- err
				}()
			}
			for range poolBurst {
				if err := <-errs; err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// requests returns the requests sent so far to every instance.
func (l *Load) requests() int {
	n := 0
	for _, in := range l.cluster.Instances {
		n += l.stats.Instance(in.Name).Requests
	}
	return n
}

// startCluster builds the example server and starts two instances over a
// database of the run's own on the server of dsn (ScratchDatabase). done
// stops them and drops the database.
func startCluster(ctx context.Context, out io.Writer, dir, dsn, tokens string, users int, debug bool) (c *Cluster, done func(), err error) {
	t := time.Now()
	srv, err := BuildServer(ctx, dir)
	if err != nil {
		return nil, nil, err
	}
	fmt.Fprintf(out, "built the example server in %s\n", round(time.Since(t)))
	scratch, drop, err := ScratchDatabase(ctx, dsn)
	if err != nil {
		return nil, nil, err
	}
	dropDB := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := drop(ctx); err != nil {
			fmt.Fprintln(out, err)
		}
	}
	t = time.Now()
	c, err = StartCluster(ctx, ClusterConfig{Server: srv, Dir: dir, DSN: scratch, Instances: 2, Users: max(users, 1),
		Tokens: tokens, Debug: debug, StartTimeout: startTimeout})
	if err != nil {
		dropDB()
		return nil, nil, err
	}
	fmt.Fprintf(out, "started %s and %s over a new PostgreSQL database in %s: issuer %s, %s access tokens, "+
		"token keys in the store, sealed with -secret-file\n",
		c.Instances[0].Addr, c.Instances[1].Addr, round(time.Since(t)), c.Issuer, tokens)
	return c, func() { c.Stop(); dropDB() }, nil
}

// sleepUntil waits until t, or returns ctx's error when it ends first.
func sleepUntil(ctx context.Context, t time.Time) error {
	timer := time.NewTimer(time.Until(t))
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// round rounds d for the report.
func round(d time.Duration) time.Duration {
	if d < time.Second {
		return d.Round(time.Millisecond)
	}
	return d.Round(100 * time.Millisecond)
}
