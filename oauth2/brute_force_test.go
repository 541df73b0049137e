package oauth2_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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
	limiter := memory.NewLimiter(2)
	h := newSlowHarness(t, func(cfg *oauth2.Config, _ *memory.Store) { cfg.Limiter = limiter })
	for _, id := range []string{"made-up-1", "made-up-2", "made-up-3"} {
		testkit.RequireOAuthError(t, h.Token(id, "x", ccForm()), http.StatusUnauthorized, oauth2.ErrInvalidClient)
	}
	require.Equal(t, 2, limiter.Len(), "the table is full")
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
