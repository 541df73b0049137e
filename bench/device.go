package bench

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/grantor-dev/grantor/grant"
	"github.com/grantor-dev/grantor/storage/memory"
)

// The device authorization grant (RFC 8628) through Grantor's handler,
// against client credentials through the same handler: a poll of the
// token endpoint that is answered authorization_pending (§3.5) and a
// device authorization request (§3.1), each compared with a client
// credentials request with an opaque access token (RFC 6749 §4.4). The
// three are measured in one run, interleaved, each on a Provider of its
// own built alike: the cc-opaque contender's configuration (memory store,
// opaque access tokens, the bench client with a generated secret) plus
// the device grant with deviceCodeOptions, the bench client registered
// for it too, and one benchClock for the Provider and its store.

// Names of the device grant comparison (CompareDevice).
const (
	// NameDeviceClientCredentials is a client credentials request,
	// answered 200 with an access token: the reference of the targets.
	NameDeviceClientCredentials = "client-credentials"
	// NameDevicePendingPoll is a poll with a device code that the user
	// has not decided on, answered 400 authorization_pending.
	NameDevicePendingPoll = "pending-poll"
	// NameDeviceAuthorization is a device authorization request,
	// answered 200 with a device code and a user code.
	NameDeviceAuthorization = "device-authorization"
)

// DevicePoolSize is the number of device codes that the pending poll
// benchmark polls in turn: the device authorizations the store holds
// while it runs, as if so many devices were waiting for their users.
const DevicePoolSize = 1000

// DeviceAuthorizationBatch is the number of device authorization requests
// that the benchmark of that request sends between two moves of the clock
// past the codes' expiry: the most device authorizations the store holds
// while it runs.
const DeviceAuthorizationBatch = 1000

// deviceBenchStart is the time the benchClock of every run starts at.
var deviceBenchStart = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

// benchClock is the clock of a Provider and its store that a benchmark
// moves: reading it costs an atomic load, the same in all three
// benchmarks of the comparison.
type benchClock struct{ ns atomic.Int64 }

// newBenchClock returns a clock that reads deviceBenchStart until it is
// moved.
func newBenchClock() *benchClock {
	c := new(benchClock)
	c.ns.Store(deviceBenchStart.UnixNano())
	return c
}

// Now returns the clock's time, in UTC.
func (c *benchClock) Now() time.Time { return time.Unix(0, c.ns.Load()).UTC() }

// Advance moves the clock forward by d.
func (c *benchClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// DeviceAuthorizationRequest is a device authorization request (RFC 8628
// §3.1) of a confidential client for the scope read, authenticated with
// client_secret_basic.
func DeviceAuthorizationRequest(clientID, secret string) Request {
	return Request{
		Path:          grant.DeviceAuthorizationPath,
		Form:          url.Values{"scope": {"read"}}.Encode(),
		Authorization: BasicAuthorization(clientID, secret),
	}
}

// DevicePollRequest is a device access token request (RFC 8628 §3.4):
// the poll of the token endpoint with a device code.
func DevicePollRequest(clientID, secret, deviceCode string) Request {
	return Request{
		Path:          "/token",
		Form:          url.Values{"grant_type": {grant.GrantTypeDeviceCode}, "device_code": {deviceCode}}.Encode(),
		Authorization: BasicAuthorization(clientID, secret),
	}
}

// deviceBench is the setup of the device grant benchmarks; the tests
// shrink it.
type deviceBench struct {
	// pool is how many device codes the pending poll benchmark polls in
	// turn (at most b.N).
	pool int
	// step is how far the clock moves between two rounds of polls, the
	// time between two polls of one device code: the interval and a
	// second, as a client that waits the interval between polls (RFC
	// 8628 §3.5) is heard a little later.
	step time.Duration
	// batch is how many device authorization requests the benchmark of
	// that request sends between two moves of the clock past their
	// expiry.
	batch int
	// store are options of the memory store.
	store []memory.Option
}

// defaultDeviceBench is the setup of the comparison. Its pool and its
// batch are well below the memory store's bound on device authorizations
// (memory.DefaultMaxDeviceAuthorizations).
var defaultDeviceBench = deviceBench{
	pool:  DevicePoolSize,
	step:  grant.DefaultPollInterval + time.Second,
	batch: DeviceAuthorizationBatch,
}

// deviceGrantor is the Provider of one run and its clock.
type deviceGrantor struct {
	*grantor
	clock *benchClock
}

// newGrantor builds the Provider of a run.
func (d deviceBench) newGrantor() (*deviceGrantor, error) {
	c := newBenchClock()
	g, err := newGrantorWith(nil, grantorOptions{clock: c.Now, device: true, store: d.store})
	if err != nil {
		return nil, err
	}
	return &deviceGrantor{grantor: g, clock: c}, nil
}

// The parts of the answers that the benchmarks check after each request.
var (
	accessTokenMember    = []byte(`"access_token":"`)
	deviceCodeMember     = []byte(`"device_code":"`)
	authorizationPending = []byte(`"error":"authorization_pending"`)
)

// deviceAuthorizationAnswer is the part of a device authorization
// response (RFC 8628 §3.2) that the setup and the tests read.
type deviceAuthorizationAnswer struct {
	DeviceCode              string `json:"device_code"`
	UserCode                string `json:"user_code"`
	VerificationURI         string `json:"verification_uri"`
	VerificationURIComplete string `json:"verification_uri_complete"`
	ExpiresIn               int64  `json:"expires_in"`
	Interval                int64  `json:"interval"`
}

// authorizeDevices sends n device authorization requests to g's handler
// and returns their answers.
func (g *deviceGrantor) authorizeDevices(n int) ([]deviceAuthorizationAnswer, error) {
	req := DeviceAuthorizationRequest(benchClientID, g.secret)
	as := make([]deviceAuthorizationAnswer, n)
	for i := range as {
		w := Serve(g.handler, req)
		if w.Code != http.StatusOK {
			return nil, fmt.Errorf("device authorization request %d: status %d: %s", i, w.Code, w.Body.Bytes())
		}
		if err := json.Unmarshal(w.Body.Bytes(), &as[i]); err != nil || as[i].DeviceCode == "" {
			return nil, fmt.Errorf("device authorization response %s: no device code (%v)", w.Body.Bytes(), err)
		}
	}
	return as, nil
}

// pollRequests returns the polls of n new device codes of g.
func (g *deviceGrantor) pollRequests(n int) ([]Request, error) {
	as, err := g.authorizeDevices(n)
	if err != nil {
		return nil, err
	}
	reqs := make([]Request, n)
	for i, a := range as {
		reqs[i] = DevicePollRequest(benchClientID, g.secret, a.DeviceCode)
	}
	return reqs, nil
}

// clientCredentials is the benchmark of client credentials requests:
// each must be answered 200 with an access token.
func (d deviceBench) clientCredentials(b *testing.B) {
	g, err := d.newGrantor()
	if err != nil {
		b.Fatal(err)
	}
	req := ClientCredentialsRequest(benchClientID, g.secret)
	w := NewRecorder()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		w.Reset()
		g.handler.ServeHTTP(w, req.HTTPRequest())
		if w.Code != http.StatusOK || !bytes.Contains(w.Body.Bytes(), accessTokenMember) {
			b.Fatalf("request %d: status %d, want 200 with an access token: %s", i, w.Code, w.Body.Bytes())
		}
	}
}

// pendingPolls is the benchmark of polls that are answered
// authorization_pending: each must be answered 400 with that error code,
// never slow_down.
//
// A device code that is polled sooner than its interval after its last
// poll is answered slow_down (RFC 8628 §3.5), and one that is polled past
// its expiry expired_token, so the polls go to a pool of device codes,
// made through the device authorization endpoint before the timer starts,
// in rounds: each round polls every code of the pool once, and the
// Provider's clock moves d.step, more than the interval, between two
// rounds, as real devices poll (an atomic add per round, inside the
// timer). Most polls are thus a device's second or later, which the
// store checks against the interval. Before a round would reach the
// pool's expiry, the timer stops, the clock moves past that expiry, and a
// new pool is made; the memory store deletes the expired pool in a sweep
// (or at its bound on device authorizations), so that it never holds
// much more than one pool. Its periodic sweeps, one a minute of the
// store's clock, come every few rounds and are measured: a store with
// that many devices polling does one as often.
func (d deviceBench) pendingPolls(b *testing.B) {
	g, err := d.newGrantor()
	if err != nil {
		b.Fatal(err)
	}
	n := min(b.N, d.pool)
	// The rounds of a pool: round r polls at r*step after the pool was
	// made, which must come before the codes' expiry.
	rounds := int((deviceCodeLifetime() + d.step - 1) / d.step)
	reqs, err := g.pollRequests(n)
	if err != nil {
		b.Fatal(err)
	}
	w := NewRecorder()
	b.ReportAllocs()
	b.ResetTimer()
	round := 0
	for i := range b.N {
		if i > 0 && i%n == 0 {
			if round++; round < rounds {
				g.clock.Advance(d.step)
			} else {
				b.StopTimer()
				round = 0
				g.clock.Advance(deviceCodeLifetime())
				if reqs, err = g.pollRequests(n); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
		}
		w.Reset()
		g.handler.ServeHTTP(w, reqs[i%n].HTTPRequest())
		if w.Code != http.StatusBadRequest || !bytes.Contains(w.Body.Bytes(), authorizationPending) {
			b.Fatalf("poll %d: status %d, want 400 authorization_pending: %s", i, w.Code, w.Body.Bytes())
		}
	}
}

// deviceAuthorizations is the benchmark of device authorization requests:
// each must be answered 200 with a device code. Each stores a device
// authorization for the codes' lifetime: after every d.batch requests the
// Provider's clock moves past the lifetime of those before (an atomic add,
// inside the timer), so that the memory store deletes them in its next
// sweep and never holds much more than a batch; the sweeps are measured,
// as every device authorization a store keeps is deleted some day. The
// grant's limit on device authorization requests per client is off (see
// deviceCodeOptions).
func (d deviceBench) deviceAuthorizations(b *testing.B) {
	g, err := d.newGrantor()
	if err != nil {
		b.Fatal(err)
	}
	req := DeviceAuthorizationRequest(benchClientID, g.secret)
	w := NewRecorder()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if i > 0 && i%d.batch == 0 {
			// Past the expiry of the batch before, and past the
			// store's sweep interval, so that the next write sweeps.
			g.clock.Advance(deviceCodeLifetime() + memory.DefaultSweepInterval)
		}
		w.Reset()
		g.handler.ServeHTTP(w, req.HTTPRequest())
		if w.Code != http.StatusOK || !bytes.Contains(w.Body.Bytes(), deviceCodeMember) {
			b.Fatalf("request %d: status %d, want 200 with a device code: %s", i, w.Code, w.Body.Bytes())
		}
	}
}

// deviceCodeLifetime is the lifetime of the device codes of the bench
// Provider.
func deviceCodeLifetime() time.Duration {
	return cmp.Or(deviceCodeOptions.CodeLifetime, grant.DefaultDeviceCodeLifetime)
}

// benchmarks returns the three benchmarks of the comparison, client
// credentials first.
func (d deviceBench) benchmarks() []benchmark {
	return []benchmark{
		{name: NameDeviceClientCredentials, run: d.clientCredentials},
		{name: NameDevicePendingPoll, run: d.pendingPolls},
		{name: NameDeviceAuthorization, run: d.deviceAuthorizations},
	}
}

// CompareDevice runs the device grant comparison: the go test benchmarks
// of a client credentials request, of a poll answered
// authorization_pending and of a device authorization request, each
// through a fresh Provider's handler with the memory store, in one
// compareBenchmarks run, interleaved and rotated. It returns their
// medians in that order, named NameDeviceClientCredentials,
// NameDevicePendingPoll and NameDeviceAuthorization.
func CompareDevice(opts CompareOptions) ([]Result, error) {
	return compareBenchmarks(defaultDeviceBench.benchmarks(), opts)
}
