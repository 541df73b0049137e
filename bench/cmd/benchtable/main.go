// Command benchtable compares the token endpoints of Grantor, fosite and a
// bare net/http baseline, scenario by scenario, and prints markdown tables
// of medians with ratios, then the targets of the comparison:
//
//	make bench                                  # the same as:
//	cd bench && go run ./cmd/benchtable
//	go run ./cmd/benchtable -scenarios cc-opaque,introspect -measure handler
//
// The measures, each interleaved and repeated so that drift of the
// machine falls on every contender alike:
//
//   - handler: the go test benchmark of each contender (bench.ServeRequests),
//     -rounds runs of -benchtime each;
//   - load: HTTP/1.1 over keep-alive loopback connections to each contender
//     in a server process of its own (this program, run with -serve), at
//     -conns connections, -load-rounds times, with the server's CPU time per
//     1,000 requests read from the operating system;
//   - memory: the live heap per issued access token over -memory-n client
//     credentials requests;
//   - dpop: DPoP proof validation (RFC 9449 §4.3) per algorithm, Grantor's
//     dpop.Verifier against jws.Verify alone (bench.CompareProofs),
//     -rounds runs of -benchtime each;
//   - dpop-cc: client credentials with a DPoP proof (ES256, EdDSA client
//     keys) through Grantor's token handler against the same handler
//     without DPoP plus jws.Verify of the proof, summed
//     (bench.CompareDPoPTokens), -rounds runs of -benchtime each;
//   - device: the device authorization grant (RFC 8628) through Grantor's
//     handler: a poll answered authorization_pending and a device
//     authorization request against a client credentials request
//     (bench.CompareDevice), -rounds runs of -benchtime each;
//   - exchange: the token exchange (RFC 8693) and JWT bearer (RFC 7523
//     §2.1) grants through Grantor's handler: a token exchange of an
//     opaque access token against a client credentials request, and a JWT
//     bearer request with an ES256 assertion against a client credentials
//     request plus jws.Verify of an ES256 assertion, summed
//     (bench.CompareExchange), -rounds runs of -benchtime each;
//   - keys: keys loaded from the store against keys given in memory
//     (bench.CompareStoredKeys): client credentials with opaque and ES256
//     JWT access tokens and introspection (RFC 7662) of each through
//     Grantor's handler, and a resource server's JWTVerifier.Verify with
//     the Provider's keys, -rounds runs of -benchtime each;
//   - oidc: the OpenID Provider (issue 18) through Grantor's handler
//     (bench.CompareOIDC): a code redemption with openid against the
//     same without it, with ES256 JWT and with opaque access tokens, and
//     a UserInfo request against an introspection request, -rounds runs
//     of -benchtime each; then the same over HTTP, each side in a server
//     process of its own at one connection (bench.CompareOIDCLoad),
//     -load-rounds times.
//
// Progress goes to stderr, the tables to stdout.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/grantor-dev/grantor/bench"
)

// measureNames are the measures, in the order they run.
var measureNames = []string{"handler", "load", "memory", "dpop", "dpop-cc", "device", "exchange", "keys", "oidc"}

type options struct {
	scenarios  []string
	measures   []string
	rounds     int
	benchTime  string
	slowN      int
	loadRounds int
	conns      []int
	budget     time.Duration
	maxLoad    int
	memoryN    int
	quiet      bool
}

func main() {
	var o options
	var scenarios, measures, conns string
	serve := flag.String("serve", "", "run as the server process of `scenario/contender` for the load measure")
	flag.StringVar(&scenarios, "scenarios", "", "comma-separated scenarios to run (default all: "+strings.Join(scenarioNames(), ",")+")")
	flag.StringVar(&measures, "measure", strings.Join(measureNames, ","), "comma-separated measures: "+strings.Join(measureNames, ", "))
	flag.IntVar(&o.rounds, "rounds", 5, "handler measure: runs of each contender, interleaved")
	flag.StringVar(&o.benchTime, "benchtime", "1s", "handler measure: duration of each run, or Nx for N requests")
	flag.IntVar(&o.slowN, "slow-n", 5, "requests per run (and per load point, at least one per connection) for fosite with bcrypt")
	flag.IntVar(&o.loadRounds, "load-rounds", 3, "load measure: measures of each point, interleaved")
	flag.StringVar(&conns, "conns", "1,16,64", "load measure: comma-separated numbers of connections")
	flag.DurationVar(&o.budget, "load-budget", 400*time.Millisecond, "load measure: about how long each point keeps a server busy")
	flag.IntVar(&o.maxLoad, "load-max", 20000, "load measure: most requests in a point")
	flag.IntVar(&o.memoryN, "memory-n", 200000, "memory measure: access tokens issued")
	flag.BoolVar(&o.quiet, "q", false, "do not print progress on stderr")
	flag.Parse()

	var err error
	if *serve != "" {
		err = serveProcess(*serve)
	} else {
		o.scenarios = split(scenarios)
		o.measures = split(measures)
		if o.conns, err = parseInts(conns); err == nil {
			err = run(os.Stdout, o)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchtable:", err)
		os.Exit(1)
	}
}

func run(out io.Writer, o options) error {
	var progress io.Writer = os.Stderr
	if o.quiet {
		progress = nil
	}
	for _, m := range o.measures {
		if !slices.Contains(measureNames, m) {
			return fmt.Errorf("unknown measure %q", m)
		}
	}
	var scs []bench.Scenario
	for _, sc := range bench.Scenarios() {
		if len(o.scenarios) == 0 || slices.Contains(o.scenarios, sc.Name) {
			scs = append(scs, sc)
		}
	}
	if len(scs) == 0 {
		return fmt.Errorf("no scenario among %v; there are %v", o.scenarios, scenarioNames())
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	rep := bench.Report{Handler: map[string][]bench.Result{}, Load: map[string][]bench.LoadResult{}, Heap: map[string]float64{}, DPoP: map[bench.Alg][]bench.Result{}, DPoPToken: map[bench.Alg][]bench.Result{}}
	fmt.Fprintf(out, "## Grantor, fosite and a bare net/http baseline\n\n")
	fmt.Fprintf(out, "%s, %s/%s, %d CPUs, GOMAXPROCS=%d.\n", runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.GOMAXPROCS(0))
	fmt.Fprintf(out, "Command: %s\n", strings.Join(append([]string{"cd bench && go run ./cmd/benchtable"}, os.Args[1:]...), " "))

	if slices.Contains(o.measures, "handler") {
		// The harness runs with the contenders, so that its figure comes
		// from the same conditions.
		opts := bench.CompareOptions{Rounds: o.rounds, BenchTime: o.benchTime, SlowN: o.slowN, Progress: progress}
		harness, err := bench.Compare([]bench.Contender{bench.NewHarness()}, opts)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "\n### Handler benchmarks\n\n")
		fmt.Fprintf(out, "Medians of %d interleaved runs of %s each (fosite-bcrypt: %d requests per run) of the go test benchmark\n", o.rounds, o.benchTime, o.slowN)
		fmt.Fprintf(out, "through each handler (bench.ServeRequests). Every figure includes the harness, which alone costs %s ns/op,\n", bench.FormatNs(harness[0].NsPerOp))
		fmt.Fprintf(out, "%d B/op and %d allocs/op; the \"net\" ratios take it off both sides.\n", harness[0].BytesPerOp, harness[0].AllocsPerOp)
		for _, sc := range scs {
			results, err := bench.Compare(sc.Contenders, opts)
			if err != nil {
				return fmt.Errorf("%s: %w", sc.Name, err)
			}
			rep.Handler[sc.Name] = results
			fmt.Fprintf(out, "\n#### %s (%s)\n\n", sc.Title, sc.Name)
			if err := bench.WriteTable(out, results, bench.NameBaseline, bench.NameFositeFast, &harness[0]); err != nil {
				return err
			}
		}
	}

	if slices.Contains(o.measures, "load") {
		fmt.Fprintf(out, "\n### HTTP load\n\n")
		fmt.Fprintf(out, "Each server in a process of its own on loopback, HTTP/1.1 keep-alive connections each sending its next request\n")
		fmt.Fprintf(out, "when the last answer is read. Medians of %d interleaved measures of each point; each point is about %v\n", o.loadRounds, o.budget)
		fmt.Fprintf(out, "of the server's time (at most %d requests; fosite-bcrypt: %d, at least one per connection).\n", o.maxLoad, o.slowN)
		fmt.Fprintf(out, "CPU is the server process's user and system time; ± is half its range over the measures.\n")
		fmt.Fprintf(out, "The load generator shares the machine's %d CPUs with the server.\n", runtime.NumCPU())
		fmt.Fprintf(out, "The harness row is net/http's own cost: a server that answers every request with a fixed body.\n")
		for _, sc := range scs {
			sc.Contenders = append(slices.Clone(sc.Contenders), bench.NewHarness())
			results, err := bench.CompareLoad(sc, bench.LoadOptions{
				Command: func(scenario, contender string) (string, []string) {
					return exe, []string{"-serve", scenario + "/" + contender}
				},
				Rounds: o.loadRounds, Conns: o.conns, Budget: o.budget,
				MinRequests: 200, MaxRequests: o.maxLoad, SlowRequests: o.slowN, Progress: progress,
			})
			if err != nil {
				return fmt.Errorf("%s: %w", sc.Name, err)
			}
			rep.Load[sc.Name] = results
			fmt.Fprintf(out, "\n#### %s (%s)\n\n", sc.Title, sc.Name)
			if err := bench.WriteLoadTable(out, results, bench.NameBaseline, bench.NameFositeFast); err != nil {
				return err
			}
		}
	}

	if slices.Contains(o.measures, "memory") {
		sc, _ := bench.FindScenario("cc-opaque")
		fmt.Fprintf(out, "\n### Heap per issued opaque access token\n\n")
		fmt.Fprintf(out, "Live heap after %d client credentials requests less before, over %d, each read after a full GC.\n\n", o.memoryN, o.memoryN)
		fmt.Fprintf(out, "| handler | bytes per token |\n|---|--:|\n")
		for _, c := range sc.Contenders {
			if c.MaxN > 0 {
				continue // the same store as fosite-fast, at bcrypt's pace
			}
			b, err := bench.HeapPerToken(c, o.memoryN)
			if err != nil {
				return err
			}
			rep.Heap[c.Name] = b
			if progress != nil {
				fmt.Fprintf(progress, "memory %-14s %.1f B per token\n", c.Name, b)
			}
			fmt.Fprintf(out, "| %s | %.1f |\n", c.Name, b)
		}
	}

	if slices.Contains(o.measures, "dpop") {
		opts := bench.CompareOptions{Rounds: o.rounds, BenchTime: o.benchTime, Progress: progress}
		fmt.Fprintf(out, "\n### DPoP proof validation (RFC 9449 §4.3)\n\n")
		fmt.Fprintf(out, "Medians of %d interleaved runs of %s each of the go test benchmark (bench.ValidateProofs) over %d\n", o.rounds, o.benchTime, bench.ProofPoolSize)
		fmt.Fprintf(out, "distinct proofs. baseline: jws.Verify with the key of the proof's jwk header, nothing else; grantor:\n")
		fmt.Fprintf(out, "dpop.Verifier.Verify, every check of §4.3 and the jti in storage/memory.\n")
		for _, alg := range bench.DPoPAlgs {
			results, err := bench.CompareProofs(alg, opts)
			if err != nil {
				return fmt.Errorf("dpop %s: %w", alg, err)
			}
			rep.DPoP[alg] = results
			fmt.Fprintf(out, "\n#### %s\n\n", alg)
			if err := bench.WriteTable(out, results, bench.NameBaseline, "", nil); err != nil {
				return err
			}
		}
	}

	if slices.Contains(o.measures, "dpop-cc") {
		opts := bench.CompareOptions{Rounds: o.rounds, BenchTime: o.benchTime, Progress: progress}
		results, err := bench.CompareDPoPTokens(bench.DPoPTokenAlgs, opts)
		if err != nil {
			return fmt.Errorf("dpop-cc: %w", err)
		}
		fmt.Fprintf(out, "\n### Client credentials with a DPoP proof (RFC 9449 §5)\n\n")
		fmt.Fprintf(out, "Medians of %d interleaved runs of %s each of the go test benchmarks, all algorithms in one rotation.\n", o.rounds, o.benchTime)
		fmt.Fprintf(out, "grantor: the token handler without DPoP (bench.ServeDPoPTokens); %s: jws.Verify of a proof with the key of\n", bench.NameJWSVerify)
		fmt.Fprintf(out, "its jwk header (bench.ValidateProofs); baseline: their sum per request (± from the sums of their fastest and\n")
		fmt.Fprintf(out, "slowest runs); %s: the token handler with Config.DPoP on, the jti in storage/memory, each request with\n", bench.NameGrantorDPoP)
		fmt.Fprintf(out, "a proof of a pool of %d, answered 200 with token_type DPoP.\n", bench.ProofPoolSize)
		for _, alg := range bench.DPoPTokenAlgs {
			rep.DPoPToken[alg] = results[alg]
			fmt.Fprintf(out, "\n#### %s\n\n", alg)
			if err := bench.WriteTable(out, results[alg], bench.NameBaseline, "", nil); err != nil {
				return err
			}
		}
	}

	if slices.Contains(o.measures, "device") {
		opts := bench.CompareOptions{Rounds: o.rounds, BenchTime: o.benchTime, Progress: progress}
		results, err := bench.CompareDevice(opts)
		if err != nil {
			return fmt.Errorf("device: %w", err)
		}
		rep.Device = results
		fmt.Fprintf(out, "\n### Device authorization grant (RFC 8628)\n\n")
		fmt.Fprintf(out, "Medians of %d interleaved runs of %s each of the go test benchmarks (bench.CompareDevice), each through\n", o.rounds, o.benchTime)
		fmt.Fprintf(out, "the handler of a Provider with the memory store and the device grant, for one confidential client with a\n")
		fmt.Fprintf(out, "generated secret. %s: as grantor in cc-opaque, answered 200 with an access token whose record the\n", bench.NameDeviceClientCredentials)
		fmt.Fprintf(out, "store keeps; %s: a poll with one of %d device codes made outside the timer and polled in turn, the\n", bench.NameDevicePendingPoll, bench.DevicePoolSize)
		fmt.Fprintf(out, "clock moving more than the interval between two polls of a code, answered 400 authorization_pending;\n")
		fmt.Fprintf(out, "%s: answered 200 with a device code, the clock moving past the codes' expiry every %d\n", bench.NameDeviceAuthorization, bench.DeviceAuthorizationBatch)
		fmt.Fprintf(out, "requests so that the store sweeps them, and the grant's limit on requests per client off.\n")
		fmt.Fprintf(out, "\n")
		if err := bench.WriteTable(out, results, bench.NameDeviceClientCredentials, "", nil); err != nil {
			return err
		}
	}

	if slices.Contains(o.measures, "exchange") {
		opts := bench.CompareOptions{Rounds: o.rounds, BenchTime: o.benchTime, Progress: progress}
		results, err := bench.CompareExchange(opts)
		if err != nil {
			return fmt.Errorf("exchange: %w", err)
		}
		rep.Exchange = results
		fmt.Fprintf(out, "\n### Token exchange (RFC 8693) and JWT bearer grant (RFC 7523 §2.1)\n\n")
		fmt.Fprintf(out, "Medians of %d interleaved runs of %s each of the go test benchmarks (bench.CompareExchange), the requests each\n", o.rounds, o.benchTime)
		fmt.Fprintf(out, "through the handler of a Provider with the memory store and both grants, for one confidential client with a\n")
		fmt.Fprintf(out, "generated secret, the Provider's clock fixed. %s: as grantor in cc-opaque, answered 200 with an access\n", bench.NameExchangeClientCredentials)
		fmt.Fprintf(out, "token whose record the store keeps; %s: the client exchanges one of its opaque access tokens, got\n", bench.NameTokenExchange)
		fmt.Fprintf(out, "outside the timer, for an access token (a policy that allows it), answered 200; %s: jws.Verify of an\n", bench.NameES256Verify)
		fmt.Fprintf(out, "ES256 assertion with the issuer's public key, nothing else; %s: their sum per request (± from the\n", bench.NameCCES256Verify)
		fmt.Fprintf(out, "sums of their fastest and slowest runs); %s: an ES256 assertion of a trusted issuer with a static JWKS,\n", bench.NameJWTBearer)
		fmt.Fprintf(out, "each used once (signed %d at a time outside the timer, its jti remembered in the store), answered 200.\n", bench.AssertionPoolSize)
		fmt.Fprintf(out, "\n")
		if err := bench.WriteTable(out, results, bench.NameExchangeClientCredentials, bench.NameCCES256Verify, nil); err != nil {
			return err
		}
	}

	if slices.Contains(o.measures, "keys") {
		opts := bench.CompareOptions{Rounds: o.rounds, BenchTime: o.benchTime, Progress: progress}
		results, err := bench.CompareStoredKeys(opts)
		if err != nil {
			return fmt.Errorf("keys: %w", err)
		}
		rep.Keys = results
		fmt.Fprintf(out, "\n### Keys from the store\n\n")
		fmt.Fprintf(out, "Medians of %d interleaved runs of %s each of the go test benchmarks (bench.CompareStoredKeys), all cases in\n", o.rounds, o.benchTime)
		fmt.Fprintf(out, "one rotation, each on a Provider of its own built as grantor in cc-opaque, the two sides of a case differing only\n")
		fmt.Fprintf(out, "in where the token keys come from. %s: Config.TokenKeys (one HMAC key) and, for JWT access tokens, a\n", bench.NameMemoryKeys)
		fmt.Fprintf(out, "token.KeySet of one ES256 key; %s: Config.TokenKeySet from token.OpenStoredMACKeys and\n", bench.NameStoredKeys)
		fmt.Fprintf(out, "token.OpenStoredSigningKeys (ES256), sealed in a memory store, opened before the timer starts and not reloaded\n")
		fmt.Fprintf(out, "while it runs. Introspection and verification present one access token, got outside the timer, again and again.\n")
		for _, c := range bench.KeysCases() {
			fmt.Fprintf(out, "\n#### %s (%s)\n\n", c.Title, c.Name)
			if err := bench.WriteTable(out, results[c.Name], bench.NameMemoryKeys, "", nil); err != nil {
				return err
			}
		}
	}

	if slices.Contains(o.measures, "oidc") {
		if err := runOIDC(out, o, exe, progress, &rep); err != nil {
			return fmt.Errorf("oidc: %w", err)
		}
	}

	fmt.Fprintf(out, "\n### Targets\n\n")
	return bench.WriteTargets(out, bench.Targets(rep))
}

// runOIDC runs the oidc measure: the handler comparison, then the HTTP
// one, and writes, for each case, both tables and the verdicts.
func runOIDC(out io.Writer, o options, exe string, progress io.Writer, rep *bench.Report) error {
	opts := bench.CompareOptions{Rounds: o.rounds, BenchTime: o.benchTime, Progress: progress}
	results, err := bench.CompareOIDC(opts)
	if err != nil {
		return err
	}
	load, err := bench.CompareOIDCLoad(bench.LoadOptions{
		Command: func(scenario, contender string) (string, []string) {
			return exe, []string{"-serve", scenario + "/" + contender}
		},
		Rounds: o.loadRounds, Conns: []int{1}, Budget: o.budget,
		MinRequests: 200, MaxRequests: o.maxLoad, Progress: progress,
	})
	if err != nil {
		return err
	}
	rep.OIDC, rep.OIDCLoad = results, load
	fmt.Fprintf(out, "\n### OpenID Provider (issue 18)\n\n")
	fmt.Fprintf(out, "Handler: medians of %d interleaved runs of %s each of the go test benchmarks (bench.CompareOIDC), every side of\n", o.rounds, o.benchTime)
	fmt.Fprintf(out, "every case and the signature in one rotation, each side on a Provider of its own built as grantor in cc-opaque\n")
	fmt.Fprintf(out, "with an OpenID Provider registered (oidc.New: ES256 ID tokens, an RS256 key source beside it, login sessions and\n")
	fmt.Fprintf(out, "a ClaimsFunc of name and email over the memory store). Code redemptions: PKCE S256, client_secret_basic, each\n")
	fmt.Fprintf(out, "code approved through Provider.Approve before the timer starts; scope \"openid profile email read\" (%s,\n", bench.NameWithOpenID)
	fmt.Fprintf(out, "answered with an id_token) or \"profile email read\" (%s, answered without), a nonce in both. %s: one\n", bench.NameWithoutOpenID, bench.NameES256Sign)
	fmt.Fprintf(out, "token.JWT.SignJWT of an ID token's claims with ES256; %s: its sum with %s, what an ID token\n", bench.NameWithoutPlusSign, bench.NameWithoutOpenID)
	fmt.Fprintf(out, "costs at the least. UserInfo: a GET with a Bearer access token of an OpenID code flow, answered sub, name and\n")
	fmt.Fprintf(out, "email; introspection: the same kind of access token posted by a confidential resource server client.\n")
	fmt.Fprintf(out, "HTTP: each side in a server process of its own, one keep-alive connection, medians of %d interleaved measures\n", o.loadRounds)
	fmt.Fprintf(out, "of about %v of the server's time each; the harness row is net/http's own cost.\n", o.budget)
	for _, c := range bench.OIDCCases() {
		fmt.Fprintf(out, "\n#### %s (%s)\n\n", c.Title, c.Name)
		if err := bench.WriteTable(out, results[c.Name], c.Sides[0].Name, "", nil); err != nil {
			return err
		}
		what := c.Sides[1].Name + " ÷ " + c.Sides[0].Name
		bound := "no target"
		if c.Bound > 0 {
			bound = fmt.Sprintf("target ≤ %.2fx", c.Bound)
		}
		q := bench.OIDCHandlerRatio(results, c)
		fmt.Fprintf(out, "\nHandler: %s = %.2fx (%s): **%s**", what, q.Ratio, bound, q.Verdict(c.Bound))
		if f := bench.OIDCFloor(results, c); f.Checked {
			fmt.Fprintf(out, "; %s ÷ %s = %.2fx", bench.NameWithOpenID, bench.NameWithoutPlusSign, f.Ratio)
		}
		fmt.Fprintf(out, ".\n\n")
		if err := bench.WriteLoadTable(out, load[c.Name], c.Sides[0].Name, ""); err != nil {
			return err
		}
		q = bench.OIDCLoadRatio(load, c)
		fmt.Fprintf(out, "\nHTTP, 1 connection: %s, CPU per 1000 requests = %.2fx", what, q.Ratio)
		if q.Net > 0 {
			fmt.Fprintf(out, " (%.2fx net of net/http)", q.Net)
		}
		fmt.Fprintf(out, " (%s): **%s**.\n", bound, q.Verdict(c.Bound))
	}
	return nil
}

// serveProcess is the server process of the load measure: it serves the
// contender named by "scenario/contender" on a loopback port, prints
// "listening ADDR", and exits when its standard input closes.
func serveProcess(name string) error {
	scName, cName, _ := strings.Cut(name, "/")
	sc, ok := bench.FindScenario(scName)
	if !ok {
		return fmt.Errorf("no scenario %q", scName)
	}
	c, ok := sc.FindContender(cName)
	if cName == bench.NameHarness {
		c, ok = bench.NewHarness(), true
	}
	if !ok {
		return fmt.Errorf("no contender %q in %s", cName, scName)
	}
	s, err := c.New()
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		cancel()
	}()
	fmt.Printf("listening %s\n", ln.Addr())
	return bench.ServeProcess(ctx, s, ln)
}

func scenarioNames() []string {
	var names []string
	for _, sc := range bench.Scenarios() {
		names = append(names, sc.Name)
	}
	return names
}

func split(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range split(s) {
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 {
			return nil, errors.New("-conns must be positive integers, comma-separated")
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		return nil, errors.New("-conns is empty")
	}
	return out, nil
}
