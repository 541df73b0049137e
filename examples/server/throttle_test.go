package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/storage"
)

// errWrongPassword is what fastVerify answers for a wrong password.
var errWrongPassword = errors.New("wrong password")

// throttleServer serves a server whose pages run on clock and whose
// password verification is fast: a wrong password fails without hashing,
// the right one is checked for real. verified counts the verifications.
func throttleServer(t *testing.T, clock *testClock) (srv *server, cf *codeFlow, verified *atomic.Int64) {
	t.Helper()
	verified = &atomic.Int64{}
	srv, cf = serveTest(t, newMemoryStore(), func(s *server) {
		s.pages.clock = clock.now
		real := s.users.verify
		s.users.verify = func(hash, password string) error {
			verified.Add(1)
			if password != demoPassword {
				return errWrongPassword
			}
			return real(hash, password)
		}
	})
	return srv, cf, verified
}

// windowStart is a time at the start of a login window, so that a test's
// attempts all fall in one window.
var windowStart = time.Date(2026, 1, 5, 12, 0, 0, 0, time.UTC)

// guess submits the login form with a wrong password for username and
// takes the next form from the answer.
func (f *flow) guess(t *testing.T, username string) *page {
	t.Helper()
	r := f.logIn(t, username, "looking-glass")
	if r.status == http.StatusUnauthorized {
		f.login = r
	}
	return r
}

// checkThrottled checks a login attempt was refused with 429, Retry-After
// and the login form again, and returns the Retry-After.
func checkThrottled(t *testing.T, r *page) time.Duration {
	t.Helper()
	require.Equal(t, http.StatusTooManyRequests, r.status, r.body)
	secs, err := strconv.Atoi(r.header.Get("Retry-After"))
	require.NoError(t, err, "Retry-After is a number of seconds")
	assert.Positive(t, secs)
	assert.LessOrEqual(t, time.Duration(secs)*time.Second, loginWindow)
	assert.Contains(t, r.body, "Too many login attempts")
	assert.Contains(t, r.body, `name="password"`, "the login form, to use once the wait is over")
	assert.Empty(t, r.location())
	checkPageHeaders(t, r, "429 page")
	return time.Duration(secs) * time.Second
}

// Guessing alice's password from one address soon gets 429, even for the
// right password, without the password being checked; X-Forwarded-For
// changes nothing. Alice, from another address, still logs in: a guesser
// cannot lock her out. And the end of the window lifts the throttle.
func TestLoginGuessesAreThrottledPerAccountAndAddress(t *testing.T) {
	clock := newTestClock(windowStart.Add(time.Minute))
	_, cf, verified := throttleServer(t, clock)

	attacker := newTestBrowser(t, cf.addr)
	attacker.remote = "192.0.2.1:4000"
	f := cf.start(t, attacker, "a")
	for i := range maxAttemptsPerAccountAddress {
		assert.Equal(t, http.StatusUnauthorized, f.guess(t, demoUsername).status, "guess %d", i+1)
	}
	before := verified.Load()
	wait := checkThrottled(t, f.logIn(t, demoUsername, demoPassword))
	assert.Equal(t, windowStart.Add(loginWindow).Sub(clock.now()), wait, "until the window ends")
	assert.Contains(t, f.logIn(t, demoUsername, demoPassword).body, "Try again in 14 minutes.")
	r := f.b.post("/login", url.Values{"interaction": {f.interaction}, "csrf": {f.login.field(t, "csrf")},
		"username": {demoUsername}, "password": {demoPassword}},
		"X-Forwarded-For", "198.51.100.7", "X-Real-Ip", "198.51.100.7", "Forwarded", "for=198.51.100.7")
	checkThrottled(t, r)
	assert.Equal(t, before, verified.Load(), "a throttled attempt checks no password")

	// The same address may still try other accounts: the throttle is on
	// alice from there, not on the address.
	assert.Equal(t, http.StatusUnauthorized, f.guess(t, "bob").status)

	alice := newTestBrowser(t, cf.addr)
	alice.remote = "203.0.113.9:5000"
	assert.Equal(t, http.StatusSeeOther, cf.start(t, alice, "b").logIn(t, demoUsername, demoPassword).status,
		"alice logs in from elsewhere")

	clock.set(clock.now().Add(wait))
	r = f.logIn(t, demoUsername, demoPassword)
	assert.Equal(t, http.StatusSeeOther, r.status, "a new window: %s", r.body)
}

// IPv6 clients are counted by /56 (oauth2.PeerAddress), the block one site
// is usually given (RFC 6177), so that a guesser cannot take a new address,
// or a new /64 of its site, for every guess.
func TestLoginThrottleCountsIPv6By56(t *testing.T) {
	clock := newTestClock(windowStart)
	_, cf, _ := throttleServer(t, clock)
	f := cf.start(t, newTestBrowser(t, cf.addr), "a")
	for i := range maxAttemptsPerAccountAddress {
		f.b.remote = fmt.Sprintf("[2001:db8:1:2::%x]:4000", i+1)
		assert.Equal(t, http.StatusUnauthorized, f.guess(t, demoUsername).status)
	}
	f.b.remote = "[2001:db8:1:ff:ffff::1]:4000"
	checkThrottled(t, f.logIn(t, demoUsername, demoPassword))
	f.b.remote = "[2001:db8:1:100::1]:4000"
	assert.Equal(t, http.StatusSeeOther, f.logIn(t, demoUsername, demoPassword).status, "another /56")
}

// The trade-off of a limit per account: guesses spread over many
// addresses, each within its own limit, throttle the account until the
// window ends for every browser it has not logged in from (devicecookie_test.go
// has those that it has). The window's end lifts it; other accounts are
// not affected.
func TestLoginGuessesFromManyAddressesThrottleTheAccountUntilTheWindowEnds(t *testing.T) {
	clock := newTestClock(windowStart)
	srv, cf, verified := throttleServer(t, clock)
	require.NoError(t, srv.users.add("bob", demoPassword, "Bob"))

	f := cf.start(t, newTestBrowser(t, cf.addr), "a")
	addresses := maxAttemptsPerAccount / maxAttemptsPerAccountAddress
	for a := range addresses {
		f.b.remote = fmt.Sprintf("192.0.2.%d:4000", a+1)
		for range maxAttemptsPerAccountAddress {
			require.Equal(t, http.StatusUnauthorized, f.guess(t, demoUsername).status)
		}
	}
	f.b.remote = "203.0.113.9:5000"
	before := verified.Load()
	checkThrottled(t, f.logIn(t, demoUsername, demoPassword))
	assert.Equal(t, before, verified.Load(), "a throttled attempt checks no password")
	assert.Equal(t, http.StatusSeeOther, f.logIn(t, "bob", demoPassword).status, "bob is not throttled")

	clock.set(windowStart.Add(loginWindow))
	g := cf.start(t, newTestBrowser(t, cf.addr), "b")
	g.b.remote = "203.0.113.9:5000"
	assert.Equal(t, http.StatusSeeOther, g.logIn(t, demoUsername, demoPassword).status, "a new window")
}

// One address trying one password on many accounts is throttled too.
func TestLoginGuessesFromOneAddressAreThrottled(t *testing.T) {
	clock := newTestClock(windowStart)
	_, cf, _ := throttleServer(t, clock)
	f := cf.start(t, newTestBrowser(t, cf.addr), "a")
	f.b.remote = "192.0.2.1:4000"
	for i := range maxAttemptsPerAddress {
		require.Equal(t, http.StatusUnauthorized, f.guess(t, fmt.Sprint("user", i)).status)
	}
	checkThrottled(t, f.logIn(t, demoUsername, demoPassword))
	f.b.remote = "192.0.2.2:4000"
	assert.Equal(t, http.StatusSeeOther, f.logIn(t, demoUsername, demoPassword).status)
}

// blockingVerify replaces the users' password check by one that counts
// the checks running at once and waits for release before failing.
type blockingVerify struct {
	inFlight, peak atomic.Int64
	entered        chan struct{}
	release        chan struct{}
}

func newBlockingVerify(s *server) *blockingVerify {
	v := &blockingVerify{entered: make(chan struct{}, 100), release: make(chan struct{})}
	s.users.verify = func(string, string) error {
		n := v.inFlight.Add(1)
		for p := v.peak.Load(); n > p && !v.peak.CompareAndSwap(p, n); p = v.peak.Load() {
		}
		v.entered <- struct{}{}
		<-v.release
		v.inFlight.Add(-1)
		return errWrongPassword
	}
	return v
}

// Password hashes (argon2id, 19 MiB each) are verified a few at a time:
// the others wait for a slot, and give up with 503 and Retry-After when
// none frees up in time. A counter in the verification, not timing,
// checks the bound.
func TestPasswordVerificationsAreBounded(t *testing.T) {
	// starts returns n login flows, each from its own browser and address
	// and for its own username, so that no throttle is involved.
	starts := func(t *testing.T, cf *codeFlow, n int) []*flow {
		flows := make([]*flow, n)
		for i := range flows {
			b := newTestBrowser(t, cf.addr)
			b.remote = fmt.Sprintf("192.0.2.%d:4000", i+1)
			flows[i] = cf.start(t, b, "s")
		}
		return flows
	}

	t.Run("beyond the bound, a login waits and then gives up", func(t *testing.T) {
		var v *blockingVerify
		_, cf := serveTest(t, newMemoryStore(), func(s *server) {
			v = newBlockingVerify(s)
			s.pages.verifyWait = 0 // give up at once, so the test waits for nothing
		})
		flows := starts(t, cf, maxConcurrentVerifications+1)
		results := make(chan *page, len(flows))
		for i, f := range flows[:maxConcurrentVerifications] {
			go func() { results <- f.logIn(t, fmt.Sprint("user", i), "guess") }()
		}
		for range maxConcurrentVerifications {
			<-v.entered
		}
		// Every slot is taken: one more login gets 503 without its
		// password being checked.
		extra := make(chan *page, 1)
		go func() { extra <- flows[maxConcurrentVerifications].logIn(t, "extra", "guess") }()
		releaseAll := sync.OnceFunc(func() { close(v.release) })
		select {
		case r := <-extra:
			assert.Equal(t, http.StatusServiceUnavailable, r.status, r.body)
			secs, err := strconv.Atoi(r.header.Get("Retry-After"))
			assert.NoError(t, err)
			assert.Positive(t, secs)
			assert.Contains(t, r.body, `name="password"`, "the login form, to try again")
			checkPageHeaders(t, r, "503 login page")
		case <-v.entered:
			t.Errorf("a password check beyond the bound of %d ran", maxConcurrentVerifications)
			releaseAll()
			<-extra
		}
		releaseAll()
		for range maxConcurrentVerifications {
			assert.Equal(t, http.StatusUnauthorized, (<-results).status)
		}
		assert.EqualValues(t, maxConcurrentVerifications, v.peak.Load())
	})

	t.Run("many logins at once, never more than the bound verifying", func(t *testing.T) {
		const n = 3*maxConcurrentVerifications + 1
		var v *blockingVerify
		arrived := make(chan struct{}, n)
		_, cf := serveTest(t, newMemoryStore(), func(s *server) {
			v = newBlockingVerify(s)
			s.pages.verifyWait = time.Hour // the test releases them
			s.pages.limiter = arrivalLimiter{Limiter: s.pages.limiter, arrived: arrived}
		})
		flows := starts(t, cf, n)
		var wg sync.WaitGroup
		statuses := make(chan int, n)
		for i, f := range flows {
			wg.Go(func() { statuses <- f.logIn(t, fmt.Sprint("user", i), "guess").status })
		}
		// Every login is past the throttles, on its way to a slot, before
		// any check finishes; then the checks finish one at a time, each
		// release letting a waiting login take the freed slot.
		for range n {
			<-arrived
		}
		for range n {
			<-v.entered
			assert.LessOrEqual(t, v.inFlight.Load(), int64(maxConcurrentVerifications))
			v.release <- struct{}{}
		}
		wg.Wait()
		close(statuses)
		for s := range statuses {
			assert.Equal(t, http.StatusUnauthorized, s)
		}
		assert.LessOrEqual(t, v.peak.Load(), int64(maxConcurrentVerifications))
	})
}

// arrivalLimiter signals each login that is past the throttles: the last
// key a login counts is its account's.
type arrivalLimiter struct {
	storage.Limiter
	arrived chan<- struct{}
}

func (l arrivalLimiter) Take(ctx context.Context, key string, window time.Duration, now time.Time) (int64, time.Time, error) {
	n, resetAt, err := l.Limiter.Take(ctx, key, window, now)
	if strings.HasPrefix(key, "login-account:") {
		l.arrived <- struct{}{}
	}
	return n, resetAt, err
}
