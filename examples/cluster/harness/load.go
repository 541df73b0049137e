package harness

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/cookiejar"
	"sync"
	"sync/atomic"
	"time"
)

// Route says how the load picks the instance of each request.
type Route string

const (
	// Balanced sends each request to the next instance that is up, in
	// turn, as a round-robin load balancer does: a token issued by one
	// instance is refreshed, introspected and revoked at another. Only
	// the login and consent pages of one authorization stay on one
	// instance (session affinity), since the example server keeps its
	// sessions in memory.
	Balanced Route = "balanced"
	// Sticky sends every request of a grant to the instance that issued
	// its latest token while that instance is up, as a load balancer with
	// session affinity does; new flows are spread in turn.
	Sticky Route = "sticky"
)

// LoadConfig says how much load to send and how.
type LoadConfig struct {
	// Workers run flows one after the other, each as its own user.
	Workers int
	// Rate bounds the requests per second of all workers together; zero
	// means no bound but the workers'.
	Rate float64
	// Route picks the instance of each request.
	Route Route
	// CodeFlowRate bounds the authorization requests per second, all
	// workers together; zero means DefaultCodeFlowRate. A worker whose
	// code flow must wait runs the client credentials grant instead.
	CodeFlowRate float64
	// GuessesPerMinute is how many wrong secrets a minute are presented
	// for the client with a slow-hashed secret, all workers together, as
	// soon as each minute begins; zero means DefaultGuessesPerMinute.
	// The other failed authentications go to a client whose secret was
	// generated, which costs the servers no slow hash.
	GuessesPerMinute int
	// Record keeps a ledger of every token and code for the checks after
	// the load; the soak keeps none, so that its memory stays flat.
	Record bool
}

// DefaultCodeFlowRate is the default LoadConfig.CodeFlowRate: 4 a second,
// 240 a minute, well within the Provider's default budget of 600
// authorization requests a minute per client address
// (oauth2.Config.InteractionRateLimit), which the instances share through
// the store and which every request of the harness, from 127.0.0.1,
// counts against. Beyond it the authorization endpoint answers
// temporarily_unavailable (RFC 6749 §4.1.2.1).
const DefaultCodeFlowRate = 4

// DefaultGuessesPerMinute is the default LoadConfig.GuessesPerMinute: 12,
// two more than the servers verify for one client and address a minute
// (oauth2.Config.AuthFailureLimit, 10 by default, counted in the store
// that the instances share), so that the last two of each minute are
// refused with 429, whichever instance they reach. Every wrong secret at a
// slow-hashed client also counts against its address's budget of all
// such attempts, ten times the limit, which the instances share with
// anything else at 127.0.0.1 over the same database (the other tests of
// `make test`): the load takes an eighth of it.
const DefaultGuessesPerMinute = 12

// Load is the mixed load: client credentials, the authorization code flow
// with PKCE through the login and consent pages, refresh rotation,
// introspection, revocation and failed client authentications, over the
// instances of a cluster.
type Load struct {
	cluster *Cluster
	cfg     LoadConfig
	stats   *Stats
	ledger  *ledger
	pace    *pacer
	// codeFlows spaces the authorization requests.
	codeFlows *pacer
	// guesses counts the wrong secrets at the slow-hashed client.
	guesses *windowBudget
	// gate is read-locked by each flow: Pause write-locks it, and so
	// waits for the flows in flight and holds the next ones.
	gate sync.RWMutex
	// next is the round robin's counter.
	next atomic.Uint64

	stop chan struct{}
	wg   sync.WaitGroup
}

// NewLoad returns the load for cluster, not started.
func NewLoad(c *Cluster, cfg LoadConfig) *Load {
	if cfg.CodeFlowRate <= 0 {
		cfg.CodeFlowRate = DefaultCodeFlowRate
	}
	if cfg.GuessesPerMinute <= 0 {
		cfg.GuessesPerMinute = DefaultGuessesPerMinute
	}
	l := &Load{cluster: c, cfg: cfg, stats: newStats(), stop: make(chan struct{})}
	if cfg.Record {
		l.ledger = &ledger{}
	}
	if cfg.Rate > 0 {
		l.pace = &pacer{interval: time.Duration(float64(time.Second) / cfg.Rate)}
	}
	l.codeFlows = &pacer{interval: time.Duration(float64(time.Second) / cfg.CodeFlowRate)}
	l.guesses = &windowBudget{limit: cfg.GuessesPerMinute, window: time.Minute}
	return l
}

// Stats are the load's figures.
func (l *Load) Stats() *Stats { return l.stats }

// begin starts the load in its first phase, named phase, and returns when
// it started and a function that stops it and ends its last phase, which
// may be called more than once.
func (l *Load) begin(phase string) (t0 time.Time, stop func()) {
	t0 = time.Now()
	l.stats.StartPhase(phase, t0)
	l.Start()
	var once sync.Once
	return t0, func() {
		once.Do(func() {
			l.Stop()
			l.stats.EndPhase(time.Now())
		})
	}
}

// Start starts the workers.
func (l *Load) Start() {
	users := l.cluster.Credentials.Users
	for i := range l.cfg.Workers {
		w := &worker{l: l, user: users[i%len(users)], rng: rand.New(rand.NewPCG(uint64(i), uint64(time.Now().UnixNano()))),
			browsers: make(map[*Instance]*http.Client)}
		l.wg.Go(w.run)
	}
}

// Stop stops the workers after their current flow and waits for them.
func (l *Load) Stop() {
	close(l.stop)
	l.wg.Wait()
}

// Pause waits for the flows in flight to end and holds the next ones until
// Resume, so that a measurement sees the servers idle.
func (l *Load) Pause() { l.gate.Lock() }

// Resume lets the workers go on after Pause.
func (l *Load) Resume() { l.gate.Unlock() }

// pick returns the instance of a request: home, the instance of the
// grant's latest token, when routing is sticky and home is up; else the
// next instance that is up. It returns nil when none is.
func (l *Load) pick(home *Instance) *Instance {
	if l.cfg.Route == Sticky && home != nil && home.Up() {
		return home
	}
	ins := l.cluster.Instances
	n := uint64(len(ins))
	start := l.next.Add(1)
	for i := range n {
		if in := ins[(start+i)%n]; in.Up() {
			return in
		}
	}
	return nil
}

// worker runs flows one after the other, as one user.
type worker struct {
	l    *Load
	user UserCredentials
	rng  *rand.Rand
	// browsers are the user's browsers, one cookie jar per instance:
	// cookies do not tell ports apart, and each instance keeps its own
	// sessions.
	browsers map[*Instance]*http.Client
	// grants are the grants of the code flow the worker keeps using.
	grants []*liveGrant
}

// maxLiveGrants bounds the grants a worker keeps using; older ones are
// left as they are.
const maxLiveGrants = 8

// liveGrant is a grant of the code flow in use: its latest tokens.
type liveGrant struct {
	rec             *grantRecord
	refresh, access *tokenRecord
	// home is the instance that issued its latest tokens.
	home *Instance
}

// mix is the flows of the load, with their weights.
var mix = []struct {
	name   string
	weight int
	run    func(w *worker)
}{
	{"client credentials", 25, (*worker).clientCredentials},
	{"code + PKCE", 8, (*worker).codeFlow},
	{"refresh", 25, (*worker).refresh},
	{"introspection", 20, (*worker).introspect},
	{"revocation", 6, (*worker).revoke},
	{"failed client authentication", 10, (*worker).failedAuthentication},
	{"metadata", 6, (*worker).metadata},
}

// run runs flows until the load stops.
func (w *worker) run() {
	total := 0
	for _, f := range mix {
		total += f.weight
	}
	for {
		select {
		case <-w.l.stop:
			return
		default:
		}
		n := w.rng.IntN(total)
		for _, f := range mix {
			if n < f.weight {
				w.l.gate.RLock()
				f.run(w)
				w.l.gate.RUnlock()
				break
			}
			n -= f.weight
		}
	}
}

// browser returns the user's browser for instance in.
func (w *worker) browser(in *Instance) *http.Client {
	b := w.browsers[in]
	if b == nil {
		jar, _ := cookiejar.New(nil) // never fails without options
		b = &http.Client{Transport: in.transport, Jar: jar, Timeout: 30 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		w.browsers[in] = b
	}
	return b
}

// keep adds g to the grants in use, forgetting the oldest beyond
// maxLiveGrants.
func (w *worker) keep(g *liveGrant) {
	w.grants = append(w.grants, g)
	if len(w.grants) > maxLiveGrants {
		w.grants = w.grants[1:]
	}
}

// drop stops using g.
func (w *worker) drop(g *liveGrant) {
	for i, x := range w.grants {
		if x == g {
			w.grants = append(w.grants[:i], w.grants[i+1:]...)
			return
		}
	}
}

// anyGrant returns a grant in use, or nil when there is none.
func (w *worker) anyGrant() *liveGrant {
	if len(w.grants) == 0 {
		return nil
	}
	return w.grants[w.rng.IntN(len(w.grants))]
}

// pacer spaces requests evenly at a rate, for all workers together.
type pacer struct {
	mu       sync.Mutex
	interval time.Duration
	next     time.Time
}

// wait waits for the next request's turn.
func (p *pacer) wait() {
	if p == nil {
		return
	}
	p.mu.Lock()
	now := time.Now()
	if p.next.Before(now) {
		p.next = now
	}
	at := p.next
	p.next = p.next.Add(p.interval)
	p.mu.Unlock()
	time.Sleep(time.Until(at))
}

// allow reports whether a request may go now, and if so takes its turn.
func (p *pacer) allow() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	if now.Before(p.next) {
		return false
	}
	p.next = now.Add(p.interval)
	return true
}

// windowBudget allows a number of events in each window of time, aligned
// on multiples of the window, as the servers' limiter counts them.
type windowBudget struct {
	mu     sync.Mutex
	limit  int
	window time.Duration
	// now is the clock; nil is time.Now.
	now   func() time.Time
	start time.Time
	used  int
}

// allow reports whether an event may happen now, and if so counts it.
func (b *windowBudget) allow() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := time.Now
	if b.now != nil {
		now = b.now
	}
	if start := now().Truncate(b.window); !start.Equal(b.start) {
		b.start, b.used = start, 0
	}
	if b.used >= b.limit {
		return false
	}
	b.used++
	return true
}

// String describes the configuration in the report.
func (c LoadConfig) String() string {
	rate := "unbounded"
	if c.Rate > 0 {
		rate = fmt.Sprintf("at most %.0f requests/s", c.Rate)
	}
	codes := c.CodeFlowRate
	if codes <= 0 {
		codes = DefaultCodeFlowRate
	}
	return fmt.Sprintf("%d workers, %s, at most %g code flows/s, %s routing", c.Workers, rate, codes, c.Route)
}
