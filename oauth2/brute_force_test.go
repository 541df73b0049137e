package oauth2_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/grant"
	"github.com/grantor-dev/grantor/internal/testkit"
	"github.com/grantor-dev/grantor/oauth2"
	"github.com/grantor-dev/grantor/storage"
	"github.com/grantor-dev/grantor/storage/memory"
)

// humanSecret is a secret chosen by a person, stored with argon2id.
const humanSecret = "correct horse battery staple"

// newSlowHarness is newCC with a client "human" whose secret is hashed
// with HashClientSecret, and a guess limit of 3 a minute.
func newSlowHarness(t *testing.T, configure func(*oauth2.Config, *memory.Store)) *ccHarness {
	t.Helper()
	h := newCC(t, func(cfg *oauth2.Config, store *memory.Store) {
		cfg.AuthFailureLimit = 3
		if configure != nil {
			configure(cfg, store)
		}
	})
	hash, err := oauth2.HashClientSecret(humanSecret)
	require.NoError(t, err)
	h.AddClient(storage.Client{ID: "human", SecretHash: hash, GrantTypes: []string{"client_credentials"}, Scopes: []string{"read"}})
	return h
}

func requireThrottled(t *testing.T, r *testkit.Response) {
	t.Helper()
	testkit.RequireOAuthError(t, r, http.StatusTooManyRequests, oauth2.ErrInvalidClient)
	assert.NotEmpty(t, r.Header.Get("Retry-After"))
}

// RFC 6749 §2.3.1: guesses at a slow-hashed secret are bounded per client;
// beyond the limit they are refused without a check until the window ends.
func TestSecretGuessesAreThrottledPerClient(t *testing.T) {
	h := newSlowHarness(t, nil)
	for range 3 {
		testkit.RequireOAuthError(t, h.Token("human", "guess", ccForm()), http.StatusUnauthorized, oauth2.ErrInvalidClient)
	}
	requireThrottled(t, h.Token("human", "guess", ccForm()))
	ev := h.Events(oauth2.EventClientAuthThrottled)
	require.Len(t, ev, 1)
	assert.Equal(t, "human", ev[0].ClientID)
	// A client whose secret this instance never verified is throttled
	// too: nothing tells its attempt from a guess without the slow hash.
	requireThrottled(t, h.Token("human", humanSecret, ccForm()))
	// Other clients are not affected.
	assert.Equal(t, http.StatusOK, h.Token("svc", h.svcSecret, ccForm()).Status)

	h.Advance(time.Minute)
	assert.Equal(t, http.StatusOK, h.Token("human", humanSecret, ccForm()).Status)
}

// The failures of a third party never lock out a client that presents its
// correct secret: a secret verified lately is recognised without the slow
// hash and without the throttle. This is how examples/resource, whose
// client authenticates on every introspection, stays up while someone
// sends wrong secrets in its name.
func TestThirdPartyFailuresNeverLockOutTheCorrectSecret(t *testing.T) {
	h := newSlowHarness(t, nil)
	require.Equal(t, http.StatusOK, h.Token("human", humanSecret, ccForm()).Status)
	attacks := map[int]int{}
	for range 20 {
		attacks[h.Token("human", "guess", ccForm()).Status]++
	}
	// The client's own first attempt was counted too: every attempt the
	// Provider does not recognise is, before its verification.
	assert.Equal(t, map[int]int{http.StatusUnauthorized: 2, http.StatusTooManyRequests: 18}, attacks)
	for range 5 {
		r := h.Token("human", humanSecret, ccForm())
		assert.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	}
	// The same at the introspection endpoint, a resource server's door.
	at := h.Token("human", humanSecret, ccForm()).Str("access_token")
	r := h.Introspect("human", humanSecret, at)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	assert.Equal(t, true, r.JSON["active"])
}

// A secret from GenerateClientSecret has 256 random bits: it cannot be
// guessed, so it is never throttled, and its check is fast.
func TestGeneratedSecretsAreNeverThrottled(t *testing.T) {
	h := newSlowHarness(t, nil)
	for i := range 50 {
		testkit.RequireOAuthError(t, h.Token("svc", "guess", ccForm()), http.StatusUnauthorized, oauth2.ErrInvalidClient)
		require.Empty(t, h.Events(oauth2.EventClientAuthThrottled), "attempt %d", i)
	}
	assert.Equal(t, http.StatusOK, h.Token("svc", h.svcSecret, ccForm()).Status)
}

// Each attempt is counted before it is verified: concurrent guesses cannot
// all be verified before the first failure is counted.
func TestConcurrentGuessesCannotPassTheLimit(t *testing.T) {
	h := newSlowHarness(t, nil)
	var mu sync.Mutex
	statuses := map[int]int{}
	var wg sync.WaitGroup
	for range 30 {
		wg.Go(func() {
			r := h.Token("human", "guess", ccForm())
			mu.Lock()
			statuses[r.Status]++
			mu.Unlock()
		})
	}
	wg.Wait()
	assert.Equal(t, map[int]int{http.StatusUnauthorized: 3, http.StatusTooManyRequests: 27}, statuses)
}

// RFC 6749 §5.2: an unknown client and a wrong secret get the same status,
// body and challenge, and the same throttle, so that neither the answer
// nor its timing tells which client ids exist. (The unknown client is
// checked against a dummy argon2id hash of the same cost; see
// TestDummyHashHasTheCostOfHashClientSecret.)
func TestUnknownClientIsAnsweredAsAWrongSecret(t *testing.T) {
	h := newSlowHarness(t, nil)
	for i := range 4 {
		unknown := h.Token("nobody", "guess", ccForm())
		wrong := h.Token("human", "guess", ccForm())
		assert.Equal(t, wrong.Status, unknown.Status, "attempt %d", i)
		assert.Equal(t, string(wrong.Body), string(unknown.Body))
		assert.Equal(t, wrong.Header.Get("WWW-Authenticate"), unknown.Header.Get("WWW-Authenticate"))
		assert.Equal(t, wrong.Header.Get("Retry-After"), unknown.Header.Get("Retry-After"))
	}
	requireThrottled(t, h.Token("nobody", "guess", ccForm()))
}

// A limiter whose table is full keeps counting: a flood of made-up client
// ids before the guesses cannot open a hole in the throttle.
func TestFullLimiterStillThrottles(t *testing.T) {
	limiter := memory.NewLimiter(64)
	h := newSlowHarness(t, func(cfg *oauth2.Config, _ *memory.Store) { cfg.Limiter = limiter })
	for i := range 1000 { // a flood of made-up keys, as made-up ids from many addresses make
		_, _, err := limiter.Take(context.Background(), fmt.Sprintf("client-secret@198.18.%d.%d", i/256, i%256), time.Minute, h.Now())
		require.NoError(t, err)
	}
	require.Equal(t, 64, limiter.Len(), "the table is full")
	for range 3 {
		testkit.RequireOAuthError(t, h.Token("human", "guess", ccForm()), http.StatusUnauthorized, oauth2.ErrInvalidClient)
	}
	requireThrottled(t, h.Token("human", "guess", ccForm()))
}

// A shared Limiter counts every instance's attempts: two Providers over one
// store and one limiter give an attacker one budget, not two.
func TestInstancesSharingALimiterShareTheBudget(t *testing.T) {
	limiter := memory.NewLimiter(0)
	a := newSlowHarness(t, func(cfg *oauth2.Config, _ *memory.Store) { cfg.Limiter = limiter })
	b := newSlowHarness(t, func(cfg *oauth2.Config, _ *memory.Store) { cfg.Limiter = limiter })
	for _, h := range []*ccHarness{a, b, a} {
		testkit.RequireOAuthError(t, h.Token("human", "guess", ccForm()), http.StatusUnauthorized, oauth2.ErrInvalidClient)
	}
	requireThrottled(t, b.Token("human", "guess", ccForm()))
}

// Recognition ends as soon as the stored hash changes: a rotated secret is
// refused at once, and the new one works.
func TestRecognitionEndsWhenTheStoredHashChanges(t *testing.T) {
	h := newSlowHarness(t, nil)
	require.Equal(t, http.StatusOK, h.Token("human", humanSecret, ccForm()).Status)
	const rotated = "a whole new passphrase"
	hash, err := oauth2.HashClientSecret(rotated)
	require.NoError(t, err)
	c, err := h.Store.Client(context.Background(), "human")
	require.NoError(t, err)
	updated := *c
	updated.SecretHash = hash
	require.NoError(t, h.Store.PutClient(&updated))

	testkit.RequireOAuthError(t, h.Token("human", humanSecret, ccForm()), http.StatusUnauthorized, oauth2.ErrInvalidClient)
	assert.Equal(t, http.StatusOK, h.Token("human", rotated, ccForm()).Status)
}

// A request its client gave up on is no server error: it is logged at
// INFO, not ERROR, and answered 499 rather than 500 (a store write that
// the cancellation interrupted once logged "context canceled" at ERROR).
func TestCancelledRequestIsNotAServerError(t *testing.T) {
	var logs bytes.Buffer
	h := newCC(t, func(cfg *oauth2.Config, _ *memory.Store) {
		cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	})
	req := h.TokenRequest(ccForm())
	req.SetBasicAuth("svc", h.svcSecret)
	ctx, cancel := context.WithCancel(req.Context())
	cancel()
	rec := httptest.NewRecorder()
	h.Provider.TokenHandler().ServeHTTP(rec, req.WithContext(ctx))
	assert.Equal(t, oauth2.StatusClientClosedRequest, rec.Code)
	assert.NotContains(t, logs.String(), "level=ERROR")
	assert.Contains(t, logs.String(), "request cancelled by the client")
}

// No token outlives its grant (Config.GrantLifetime): an access token
// minted shortly before the grant's absolute end expires with it, and its
// expires_in says so.
func TestAccessTokenIsCappedAtTheGrantsEnd(t *testing.T) {
	h := newCC(t, nil)
	rt := h.SeedRefreshToken(storage.Token{ClientID: "pub", Subject: "alice", Scopes: []string{"read"},
		GrantExpiresAt: h.Now().Add(10 * time.Minute)})
	r := h.Do(h.TokenRequest(url.Values{"grant_type": {"refresh_token"}, "client_id": {"pub"}, "refresh_token": {rt}}))
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	assert.EqualValues(t, 600, r.JSON["expires_in"])
	rec, err := h.AccessTokenRecord(r.Str("access_token"))
	require.NoError(t, err)
	assert.Equal(t, h.Now().Add(10*time.Minute), rec.ExpiresAt)
	next, err := h.RefreshTokenRecord(r.Str("refresh_token"))
	require.NoError(t, err)
	assert.Equal(t, h.Now().Add(10*time.Minute), next.ExpiresAt, "nor does the rotated refresh token")
}

// tokenFrom sends a client credentials request as client id from the
// network address addr ("203.0.113.7:4000").
func tokenFrom(h *ccHarness, addr, id, secret string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, h.Provider.TokenEndpoint(), strings.NewReader(ccForm().Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(id, secret)
	req.RemoteAddr = addr
	rec := httptest.NewRecorder()
	h.Provider.TokenHandler().ServeHTTP(rec, req)
	return rec
}

// A third party that guesses first, before the client's own first request
// on this instance, throttles only its own address: the client, elsewhere,
// still gets in with its correct secret (and is recognised from then on).
func TestGuessesFromOneAddressDoNotThrottleTheClientElsewhere(t *testing.T) {
	h := newSlowHarness(t, nil)
	for range 20 {
		tokenFrom(h, "203.0.113.66:4000", "human", "guess")
	}
	assert.Equal(t, http.StatusTooManyRequests, tokenFrom(h, "203.0.113.66:4001", "human", humanSecret).Code,
		"the guesser's own address is throttled")
	assert.Equal(t, http.StatusOK, tokenFrom(h, "198.51.100.7:5000", "human", humanSecret).Code)
	// An IPv6 guesser counts by its /64: new addresses in it buy nothing.
	for i := range 20 {
		tokenFrom(h, fmt.Sprintf("[2001:db8::%x]:4000", i+1), "human", "guess")
	}
	assert.Equal(t, http.StatusTooManyRequests, tokenFrom(h, "[2001:db8::ff]:4000", "human", "guess").Code)
}

// Guesses spread over many addresses stay bounded at ten times the limit
// a window for the client; a client recognised before is not throttled by
// them.
func TestDistributedGuessesAreBoundedPerClient(t *testing.T) {
	h := newSlowHarness(t, nil)
	require.Equal(t, http.StatusOK, tokenFrom(h, "198.51.100.7:5000", "human", humanSecret).Code)
	verified := 0
	for i := range 60 {
		if tokenFrom(h, fmt.Sprintf("203.0.113.%d:4000", i), "human", "guess").Code == http.StatusUnauthorized {
			verified++
		}
	}
	assert.Equal(t, 10*3-1, verified, "the client's own first attempt took one of the 30")
	assert.Equal(t, http.StatusOK, tokenFrom(h, "198.51.100.7:5000", "human", humanSecret).Code)
}

// Made-up client ids buy no budget of their own: every unknown client from
// one address shares one, so a flood of them cannot run argon2id without
// bound.
func TestUnknownClientsShareOneBudgetPerAddress(t *testing.T) {
	h := newSlowHarness(t, nil)
	for i := range 3 {
		assert.Equal(t, http.StatusUnauthorized, tokenFrom(h, "203.0.113.66:4000", fmt.Sprintf("nobody-%d", i), "x").Code)
	}
	assert.Equal(t, http.StatusTooManyRequests, tokenFrom(h, "203.0.113.66:4000", "nobody-new", "x").Code)
	assert.Equal(t, http.StatusUnauthorized, tokenFrom(h, "198.51.100.7:5000", "nobody-new", "x").Code, "another address has its own")
}

// floodedLimiter is a Limiter under a flood: once flooded, every budget
// is spent.
type floodedLimiter struct {
	storage.Limiter
	flooded bool
}

func (l *floodedLimiter) Take(ctx context.Context, key string, window time.Duration, now time.Time) (int64, time.Time, error) {
	n, reset, err := l.Limiter.Take(ctx, key, window, now)
	if l.flooded {
		n = 1 << 40
	}
	return n, reset, err
}

// A client in constant use stays recognised, however long: the recognition
// is renewed as it is used, so guessers that spend every budget in every
// window never reach it (it once lapsed an hour after the slow check).
func TestARecognisedClientInUseIsNeverThrottled(t *testing.T) {
	limiter := &floodedLimiter{Limiter: memory.NewLimiter(0)}
	h := newSlowHarness(t, func(cfg *oauth2.Config, _ *memory.Store) { cfg.Limiter = limiter })
	require.Equal(t, http.StatusOK, tokenFrom(h, "198.51.100.7:5000", "human", humanSecret).Code)
	limiter.flooded = true
	requireThrottled(t, h.Token("human", "guess", ccForm()))
	for minute := 0; minute <= 180; minute += 10 {
		require.Equal(t, http.StatusOK, tokenFrom(h, "198.51.100.7:5000", "human", humanSecret).Code, "minute %d", minute)
		h.Advance(10 * time.Minute)
	}
	// Unused for an hour, it is forgotten, and meets the flood.
	h.Advance(time.Hour)
	assert.Equal(t, http.StatusTooManyRequests, tokenFrom(h, "198.51.100.7:5000", "human", humanSecret).Code)
}

// Config.ClientAddress replaces the connection's peer: behind a reverse
// proxy, the address the proxy reports.
func TestClientAddressBehindAProxy(t *testing.T) {
	h := newSlowHarness(t, func(cfg *oauth2.Config, _ *memory.Store) {
		cfg.ClientAddress = func(r *http.Request) string {
			if strings.HasPrefix(r.RemoteAddr, "10.0.0.1:") { // the proxy
				if ip, err := netip.ParseAddr(r.Header.Get("X-Real-IP")); err == nil {
					return oauth2.AddressKey(ip)
				}
			}
			return oauth2.PeerAddress(r)
		}
	})
	behindProxy := func(clientIP, secret string) int {
		req := httptest.NewRequest(http.MethodPost, h.Provider.TokenEndpoint(), strings.NewReader(ccForm().Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("human", secret)
		req.RemoteAddr = "10.0.0.1:3456"
		req.Header.Set("X-Real-IP", clientIP)
		rec := httptest.NewRecorder()
		h.Provider.TokenHandler().ServeHTTP(rec, req)
		return rec.Code
	}
	for range 5 {
		behindProxy("203.0.113.66", "guess")
	}
	assert.Equal(t, http.StatusTooManyRequests, behindProxy("203.0.113.66", humanSecret))
	assert.Equal(t, http.StatusOK, behindProxy("198.51.100.7", humanSecret))
}

// cancellingStore cancels the request when the token records are written,
// as a client that gives up at that moment would.
type cancellingStore struct {
	*memory.Store
	cancel context.CancelFunc
}

func (s *cancellingStore) CreateTokens(ctx context.Context, tokens ...*storage.Token) error {
	if s.cancel != nil {
		s.cancel()
	}
	return s.Store.CreateTokens(ctx, tokens...)
}

// A refresh whose client gives up during the token write still completes
// its commit: the old refresh token consumed and the new tokens stored, or
// neither. It once stopped between the two, leaving the grant with a
// consumed refresh token, no new one and no revocation, and logged the
// failed compensation at ERROR.
func TestCancelledRefreshIsNotLeftHalfRotated(t *testing.T) {
	var logs bytes.Buffer
	var cs *cancellingStore
	h := newCC(t, func(cfg *oauth2.Config, store *memory.Store) {
		cs = &cancellingStore{Store: store}
		cfg.Tokens = cs
		cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	})
	rt := h.SeedRefreshToken(storage.Token{ClientID: "pub", Subject: "alice", Scopes: []string{"read"}})
	req := h.TokenRequest(url.Values{"grant_type": {"refresh_token"}, "client_id": {"pub"}, "refresh_token": {rt}})
	ctx, cancel := context.WithCancel(req.Context())
	cs.cancel = cancel
	rec := httptest.NewRecorder()
	h.Provider.TokenHandler().ServeHTTP(rec, req.WithContext(ctx))
	cs.cancel = nil
	assert.NotContains(t, logs.String(), "level=ERROR")

	// The rotation completed: the new refresh token works (had the
	// client stayed to read it), and the old one is spent.
	require.Equal(t, http.StatusOK, rec.Code, "%s", rec.Body)
	var body map[string]any
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body))
	next := h.Do(h.TokenRequest(url.Values{"grant_type": {"refresh_token"}, "client_id": {"pub"}, "refresh_token": {body["refresh_token"].(string)}}))
	assert.Equal(t, http.StatusOK, next.Status, "%s", next.Body)
}

// lookupCancellingStore cancels the request as soon as the refresh token
// has been looked up: the client gave up before the commit began.
type lookupCancellingStore struct {
	*memory.Store
	cancel context.CancelFunc
}

func (s *lookupCancellingStore) Token(ctx context.Context, key string) (*storage.Token, error) {
	t, err := s.Store.Token(ctx, key)
	if s.cancel != nil {
		s.cancel()
	}
	return t, err
}

// A request cancelled before its commit phase consumes nothing: the
// client's retry with the same refresh token succeeds rather than being
// taken for a reuse that revokes the grant.
func TestCancelledBeforeCommitConsumesNothing(t *testing.T) {
	var cs *lookupCancellingStore
	h := newCC(t, func(cfg *oauth2.Config, store *memory.Store) {
		cs = &lookupCancellingStore{Store: store}
		cfg.Grants = []oauth2.GrantFactory{grant.RefreshToken(cs, grant.RefreshTokenOptions{})}
	})
	rt := h.SeedRefreshToken(storage.Token{ClientID: "pub", Subject: "alice", Scopes: []string{"read"}})
	form := url.Values{"grant_type": {"refresh_token"}, "client_id": {"pub"}, "refresh_token": {rt}}
	req := h.TokenRequest(form)
	ctx, cancel := context.WithCancel(req.Context())
	cs.cancel = cancel
	rec := httptest.NewRecorder()
	h.Provider.TokenHandler().ServeHTTP(rec, req.WithContext(ctx))
	cs.cancel = nil
	assert.Equal(t, oauth2.StatusClientClosedRequest, rec.Code)

	r := h.Do(h.TokenRequest(form))
	assert.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
}

// failingLimiter is a limiter whose store is down.
type failingLimiter struct{ calls atomic.Int32 }

func (l *failingLimiter) Take(context.Context, string, time.Duration, time.Time) (int64, time.Time, error) {
	l.calls.Add(1)
	return 0, time.Time{}, fmt.Errorf("limiter store: %w", context.DeadlineExceeded)
}

// A limiter that cannot count fails closed for a slow-hashed secret: no
// attempt is verified uncounted, even the right secret (503 with
// Retry-After, an outage and not a wrong secret), and the outage is
// logged. A generated secret, never throttled, needs no count.
func TestALimiterOutageFailsClosedAndIsLogged(t *testing.T) {
	var logs bytes.Buffer
	limiter := &failingLimiter{}
	h := newSlowHarness(t, func(cfg *oauth2.Config, _ *memory.Store) {
		cfg.Limiter = limiter
		cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	})
	for _, secret := range []string{"guess", humanSecret} {
		r := h.Token("human", secret, ccForm())
		testkit.RequireOAuthError(t, r, http.StatusServiceUnavailable, oauth2.ErrTemporarilyUnavailable)
		assert.NotEmpty(t, r.Header.Get("Retry-After"))
		assert.Empty(t, r.Str("access_token"))
	}
	assert.Positive(t, limiter.calls.Load())
	assert.Contains(t, logs.String(), "limiter store")
	assert.Equal(t, http.StatusOK, h.Token("svc", h.svcSecret, ccForm()).Status)
}
