package bench

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/grantor-dev/grantor/grant"
	"github.com/grantor-dev/grantor/oauth2"
	"github.com/grantor-dev/grantor/storage/memory"
)

// BenchmarkDevice is the device grant comparison: BenchmarkDevice/<name>,
// where client-credentials is the reference of the targets, pending-poll
// a poll answered authorization_pending and device-authorization a device
// authorization request, all through the handler of a Provider with the
// memory store.
func BenchmarkDevice(b *testing.B) {
	for _, bm := range defaultDeviceBench.benchmarks() {
		b.Run(bm.name, bm.run)
	}
}

// sendToken sends r to g's handler and decodes the answer.
func sendToken(t *testing.T, g *grantor, r Request) (int, tokenAnswer) {
	t.Helper()
	w := Serve(g.handler, r)
	var a tokenAnswer
	if err := json.Unmarshal(w.Body.Bytes(), &a); err != nil {
		t.Fatalf("%s: %v", w.Body.Bytes(), err)
	}
	return w.Code, a
}

// TestDeviceRequests checks what the device grant comparison measures, on
// the Provider of its benchmarks: the client credentials request gets an
// access token; the device authorization request gets the response of RFC
// 8628 §3.2, again beyond the grant's default limit of requests per
// minute; a poll of its device code is answered authorization_pending,
// again one step of the benchmark's clock later, and slow_down when it
// comes sooner (§3.5); and once the user approves the code through the
// Provider's verification API, the next poll gets tokens, so that the
// codes polled are ones a user could approve.
func TestDeviceRequests(t *testing.T) {
	d := defaultDeviceBench
	g, err := d.newGrantor()
	if err != nil {
		t.Fatal(err)
	}
	w := Serve(g.handler, ClientCredentialsRequest(benchClientID, g.secret))
	if err := CheckResponse(KindClientCredentials, w.Code, w.Body.Bytes()); err != nil {
		t.Errorf("client credentials: %v", err)
	}

	n := grant.DefaultDeviceAuthorizationRateLimit + 1
	as, err := g.authorizeDevices(n)
	if err != nil {
		t.Fatalf("%d device authorization requests in a minute: %v", n, err)
	}
	userCode := regexp.MustCompile(`^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$`)
	a := as[0]
	if len(a.DeviceCode) < 43 || !userCode.MatchString(a.UserCode) || a.VerificationURI != BenchIssuer+"/device" ||
		!strings.HasPrefix(a.VerificationURIComplete, a.VerificationURI+"?user_code=") ||
		a.ExpiresIn != int64(deviceCodeLifetime()/time.Second) || a.Interval != int64(grant.DefaultPollInterval/time.Second) {
		t.Errorf("device authorization response: %+v", a)
	}
	if as[1].DeviceCode == a.DeviceCode || as[1].UserCode == a.UserCode {
		t.Errorf("two device authorizations share a code: %+v, %+v", a, as[1])
	}

	poll := DevicePollRequest(benchClientID, g.secret, a.DeviceCode)
	if code, ans := sendToken(t, g.grantor, poll); code != http.StatusBadRequest || ans.Error != "authorization_pending" {
		t.Errorf("first poll: status %d, %+v, want 400 authorization_pending", code, ans)
	}
	g.clock.Advance(d.step)
	if code, ans := sendToken(t, g.grantor, poll); code != http.StatusBadRequest || ans.Error != "authorization_pending" {
		t.Errorf("poll one step later: status %d, %+v, want 400 authorization_pending", code, ans)
	}
	if code, ans := sendToken(t, g.grantor, poll); code != http.StatusBadRequest || ans.Error != "slow_down" {
		t.Errorf("poll at once: status %d, %+v, want 400 slow_down", code, ans)
	}

	browser := httptest.NewRequest(http.MethodGet, BenchIssuer+"/device", nil)
	rec := httptest.NewRecorder()
	pending, err := g.p.PendingDeviceAuthorization(rec, browser, a.UserCode)
	if err != nil {
		t.Fatalf("the user code %s: %v", a.UserCode, err)
	}
	approve := httptest.NewRequest(http.MethodPost, BenchIssuer+"/device", nil)
	for _, c := range rec.Result().Cookies() {
		approve.AddCookie(c)
	}
	if err := g.p.ApproveDevice(approve, pending.ID, oauth2.Approval{Subject: BenchSubject}); err != nil {
		t.Fatal(err)
	}
	// After the slow_down, the interval is one step longer (§3.5).
	g.clock.Advance(2 * d.step)
	if code, ans := sendToken(t, g.grantor, poll); code != http.StatusOK || len(ans.AccessToken) < 43 || ans.TokenType != "Bearer" {
		t.Errorf("poll after the approval: status %d, %+v, want tokens", code, ans)
	}
}

// runDeviceBenchmark runs bm for n iterations and reports whether it
// passed every check.
func runDeviceBenchmark(t *testing.T, bm benchmark, n string) bool {
	t.Helper()
	_, err := compareBenchmarks([]benchmark{bm}, CompareOptions{Rounds: 1, BenchTime: n})
	return err == nil
}

// TestDevicePendingPolls checks the pending poll benchmark's design: its
// polls keep being answered authorization_pending past the expiry of a
// pool, here of three codes polled in 100 rounds and then replaced; and it
// fails, rather than measure slow_down answers, when its polls come
// too soon.
func TestDevicePendingPolls(t *testing.T) {
	d := defaultDeviceBench
	d.pool = 3
	rounds := int(deviceCodeLifetime() / d.step)
	if rounds != 100 {
		t.Fatalf("%d rounds of polls per pool, want 100", rounds)
	}
	if !runDeviceBenchmark(t, benchmark{name: NameDevicePendingPoll, run: d.pendingPolls}, "610x") {
		t.Error("the polls of two pools and more were not all answered authorization_pending")
	}
	// The grant allows a fifth of the interval for network delays: half
	// the interval is too soon.
	d.step = grant.DefaultPollInterval / 2
	if runDeviceBenchmark(t, benchmark{name: NameDevicePendingPoll, run: d.pendingPolls}, "10x") {
		t.Error("polls sooner than the interval passed for pending polls")
	}
}

// TestDeviceAuthorizations checks the device authorization benchmark's
// design on a store that holds at most 50 device authorizations: moving
// the clock past the codes' expiry every 20 requests, 200 requests are all
// answered 200; without the moves the store is full after 50 and the
// benchmark fails rather than measure errors.
func TestDeviceAuthorizations(t *testing.T) {
	d := defaultDeviceBench
	d.store = []memory.Option{memory.WithMaxDeviceAuthorizations(50)}
	d.batch = 20
	if !runDeviceBenchmark(t, benchmark{name: NameDeviceAuthorization, run: d.deviceAuthorizations}, "200x") {
		t.Error("200 device authorization requests in batches of 20 were not all answered 200")
	}
	d.batch = 1000
	if runDeviceBenchmark(t, benchmark{name: NameDeviceAuthorization, run: d.deviceAuthorizations}, "200x") {
		t.Error("200 device authorization requests passed on a store that holds 50")
	}
}

// TestCompareDevice runs the comparison with tiny runs: three rows in
// order. The figures mean nothing.
func TestCompareDevice(t *testing.T) {
	rs, err := CompareDevice(CompareOptions{Rounds: 2, BenchTime: "50x"})
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 3 {
		t.Fatalf("%d rows: %+v", len(rs), rs)
	}
	for i, name := range []string{NameDeviceClientCredentials, NameDevicePendingPoll, NameDeviceAuthorization} {
		if rs[i].Name != name || rs[i].NsPerOp <= 0 || rs[i].Runs != 2 || rs[i].N != 100 {
			t.Errorf("row %d: %+v, want %s", i, rs[i], name)
		}
	}
}

// TestDeviceTargets checks the device grant targets of issue 12: a
// pending poll at 1.3 times a client credentials request and a device
// authorization request at 1.5 times are met, above is missed, and
// without figures they are not measured; the allocations per request are
// shown.
func TestDeviceTargets(t *testing.T) {
	find := func(ts []Target, prefix string) Target {
		for _, tg := range ts {
			if strings.HasPrefix(tg.Text, prefix) {
				return tg
			}
		}
		t.Fatalf("no target %q", prefix)
		return Target{}
	}
	const poll, authz = "device grant: a poll answered authorization_pending", "device grant: a device authorization request"
	rows := func(p, a float64) []Result {
		return []Result{
			{Name: NameDeviceClientCredentials, NsPerOp: 100, AllocsPerOp: 40},
			{Name: NameDevicePendingPoll, NsPerOp: p, AllocsPerOp: 30},
			{Name: NameDeviceAuthorization, NsPerOp: a, AllocsPerOp: 60},
		}
	}
	ts := Targets(Report{Device: rows(130, 150)})
	if tg := find(ts, poll); !tg.Checked || !tg.Met || tg.Measured != "1.30x (30 vs 40 allocs per request)" {
		t.Errorf("pending poll at 1.3x: %+v", tg)
	}
	if tg := find(ts, authz); !tg.Checked || !tg.Met || tg.Measured != "1.50x (60 vs 40 allocs per request)" {
		t.Errorf("device authorization at 1.5x: %+v", tg)
	}
	ts = Targets(Report{Device: rows(131, 151)})
	if tg := find(ts, poll); !tg.Checked || tg.Met {
		t.Errorf("pending poll at 1.31x: %+v", tg)
	}
	if tg := find(ts, authz); !tg.Checked || tg.Met {
		t.Errorf("device authorization at 1.51x: %+v", tg)
	}
	ts = Targets(Report{Device: rows(100, 100)[1:]})
	for _, prefix := range []string{poll, authz} {
		if tg := find(ts, prefix); tg.Checked {
			t.Errorf("checked without the client credentials figure: %+v", tg)
		}
		if tg := find(Targets(Report{}), prefix); tg.Checked {
			t.Errorf("checked without figures: %+v", tg)
		}
	}
}
