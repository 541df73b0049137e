// Command cluster runs Grantor's example server as a cluster, two
// instances over one PostgreSQL database with one issuer as behind a load
// balancer, and proves what that must hold under a mixed OAuth load
// (client credentials, the code flow with PKCE through the real login and
// consent pages, refresh rotation, introspection, revocation, failed
// client authentications):
//
//	go run ./examples/cluster crash   # kill -9 one instance mid-load, restart it, check
//	go run ./examples/cluster soak -duration 10m   # rate, errors, p99, heap growth
//
// Both take the database server from -dsn or GRANTOR_TEST_POSTGRES, which
// must be on a Unix socket or a loopback address, and run in a database of
// their own that they create on it and drop afterwards (the DSN's role
// needs CREATEDB): what the instances share there, their sealed token keys
// and their limits, is the run's alone. `make cluster-test` and `make
// soak` run them with a throwaway PostgreSQL (scripts/with-postgres.sh).
// The command builds ./examples/server once, into a temporary directory
// with the clients, users and secret files and the servers' logs, and
// starts each instance on a free port of 127.0.0.1. It sends traffic to
// 127.0.0.1 only and refuses any other address.
//
// crash sends the load through both instances, kills the first with
// SIGKILL at 40% of -duration, keeps the load on the survivor, restarts
// the killed one with the same flags at 65%, and after the load checks
// and prints: that the load got the answers it expected, no 5xx from the
// survivor, every token the load received still active at the survivor
// unless it was revoked or rotated, the restarted instance serving the
// tokens issued before it came back, and no code or refresh token
// redeemed twice (each used one is presented again and must be refused).
//
// soak sends the load through both instances for -duration and reports
// the requests per second, the unexpected answers (errors, which must be
// none), the 99th percentile of the latency, and each instance's live heap
// (after a forced collection, through the server's -debug-addr) after the
// warm-up and at the end, which must not grow by more than -max-heap-growth.
//
// Either exits 1 when a check fails, 2 on bad usage, and prints its
// figures as short tables on stdout.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/grantor-dev/grantor/examples/cluster/harness"
)

// main runs a subcommand until it ends or SIGINT or SIGTERM comes.
func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// usage is the text of -h.
const usage = `usage: cluster crash|soak [flags]

  crash   kill -9 one of two instances mid-load, restart it, and check that
          nothing was lost or redeemed twice (make cluster-test)
  soak    run the load for -duration and report rate, errors, p99 latency
          and heap growth (make soak)

Run "cluster crash -h" or "cluster soak -h" for the flags.
`

// run runs the subcommand of args and returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || (args[0] != "crash" && args[0] != "soak") {
		fmt.Fprint(stderr, usage)
		if len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help") {
			return 0
		}
		return 2
	}
	cmd := args[0]
	fs := flag.NewFlagSet("cluster "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	// Not the environment's value as the default: -h would print it, and a
	// DSN may hold a password.
	dsn := fs.String("dsn", "", "PostgreSQL DSN, on a Unix socket or a loopback address, whose server gets a database for the run (default: $GRANTOR_TEST_POSTGRES)")
	workers := fs.Int("workers", 8, "concurrent workers, each a user of its own")
	rate := fs.Float64("rate", 150, "at most this many requests per second, all workers together; 0 for no bound")
	codeRate := fs.Float64("code-flow-rate", harness.DefaultCodeFlowRate, "at most this many authorization requests per second: the server allows 600 a minute per client address, and all come from 127.0.0.1")
	guesses := fs.Int("guesses", harness.DefaultGuessesPerMinute, "wrong secrets a minute for the client with a slow-hashed secret, which the servers throttle beyond 10 a minute; the other failed authentications are for a client whose secret is never throttled")
	route := fs.String("route", string(harness.Balanced), "balanced: each request to the next instance, as a round-robin load balancer; sticky: each grant's requests to the instance that issued its tokens")
	tokens := fs.String("tokens", "opaque", "access token format of the servers: opaque or jwt")
	keep := fs.Bool("keep", false, "keep the temporary directory (files and server logs) and print its path")
	var duration time.Duration
	var warmup time.Duration
	var maxGrowth float64
	var progress time.Duration
	switch cmd {
	case "crash":
		fs.DurationVar(&duration, "duration", 45*time.Second, "how long the load runs")
	case "soak":
		fs.DurationVar(&duration, "duration", 10*time.Minute, "how long the load runs")
		fs.DurationVar(&warmup, "warmup", 0, "when the heap is first measured (default: 2m, at most half of -duration, at least a tenth of it)")
		fs.Float64Var(&maxGrowth, "max-heap-growth", 0.10, "the most each instance's live heap may grow from the warm-up to the end (0.10 is 10%)")
		fs.DurationVar(&progress, "progress", time.Minute, "print progress this often; 0 for never")
	}
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "cluster %s: unexpected argument %q\n", cmd, fs.Arg(0))
		return 2
	}
	if *dsn == "" {
		*dsn = os.Getenv("GRANTOR_TEST_POSTGRES")
	}
	if *dsn == "" {
		fmt.Fprintf(stderr, "cluster %s: no database: give -dsn or set GRANTOR_TEST_POSTGRES (scripts/with-postgres.sh does)\n", cmd)
		return 2
	}
	if err := harness.CheckLocalDSN(*dsn); err != nil {
		fmt.Fprintf(stderr, "cluster %s: %v\n", cmd, err)
		return 2
	}
	r := harness.Route(*route)
	if r != harness.Balanced && r != harness.Sticky {
		fmt.Fprintf(stderr, "cluster %s: -route must be balanced or sticky, not %q\n", cmd, *route)
		return 2
	}
	if *tokens != "opaque" && *tokens != "jwt" {
		fmt.Fprintf(stderr, "cluster %s: -tokens must be opaque or jwt, not %q\n", cmd, *tokens)
		return 2
	}
	if *workers < 1 || duration <= 0 || *rate < 0 || *codeRate <= 0 || *guesses <= 0 {
		fmt.Fprintf(stderr, "cluster %s: -workers, -duration, -code-flow-rate and -guesses must be positive, -rate not negative\n", cmd)
		return 2
	}
	dir, err := os.MkdirTemp("", "grantor-cluster-")
	if err != nil {
		fmt.Fprintf(stderr, "cluster %s: %v\n", cmd, err)
		return 1
	}
	if *keep {
		fmt.Fprintf(stdout, "files and server logs in %s\n", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	load := harness.LoadConfig{Workers: *workers, Rate: *rate, Route: r, CodeFlowRate: *codeRate, GuessesPerMinute: *guesses}
	start := time.Now()
	var res *harness.Result
	switch cmd {
	case "crash":
		res, err = harness.Crash(ctx, harness.CrashConfig{DSN: *dsn, Dir: dir, Duration: duration, Load: load, Tokens: *tokens, Out: stdout})
	case "soak":
		if warmup <= 0 {
			// Two minutes, by which the servers' database pools and
			// statement caches have seen their periodic work (the
			// sweep of expired records, the key reloads) and stopped
			// growing, but no more than half a short run, and a tenth
			// of a long one.
			warmup = max(min(2*time.Minute, duration/2), duration/10)
		}
		if warmup >= duration {
			fmt.Fprintf(stderr, "cluster soak: -warmup must be shorter than -duration\n")
			return 2
		}
		res, err = harness.Soak(ctx, harness.SoakConfig{DSN: *dsn, Dir: dir, Duration: duration, Warmup: warmup, Load: load,
			Tokens: *tokens, MaxHeapGrowth: maxGrowth, Progress: progress, Out: stdout})
	}
	if err != nil {
		fmt.Fprintf(stderr, "cluster %s: %v\n", cmd, err)
		return 1
	}
	verdict, status := "PASS", 0
	if !res.Passed() {
		verdict, status = "FAIL", 1
	}
	fmt.Fprintf(stdout, "cluster %s: %s in %s\n", cmd, verdict, time.Since(start).Round(100*time.Millisecond))
	return status
}
