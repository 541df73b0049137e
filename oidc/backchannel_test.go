package oidc

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/grant"
	"github.com/grantor-dev/grantor/internal/testkit"
	"github.com/grantor-dev/grantor/oauth2"
	"github.com/grantor-dev/grantor/storage"
	"github.com/grantor-dev/grantor/storage/memory"
	"github.com/grantor-dev/grantor/token"
)

// Tests of back-channel logout (OpenID Connect Back-Channel Logout 1.0):
// the logout token (§2.4), its delivery (§2.5, §2.8) and the SSRF guard
// on the URL a client registered (§2.2). The relying parties are
// httptest servers on loopback.

// bclOP is an OpenID Provider registered with an oauth2.Provider on the
// harness clock, signing with ES256 by default and RS256.
func bclOP(t *testing.T) (*Provider, *testkit.Harness) {
	t.Helper()
	keys := func(alg jwa.SignatureAlgorithm) token.KeySource {
		k, err := token.GenerateSigningKey(alg)
		require.NoError(t, err)
		ks, err := token.NewKeySet(k)
		require.NoError(t, err)
		return ks
	}
	op, err := New(Config{Keys: []token.KeySource{keys(jwa.ES256), keys(jwa.RS256)}, Sessions: memory.New()})
	require.NoError(t, err)
	h := testkit.New(t, func(cfg *oauth2.Config, _ *memory.Store) {
		cfg.Grants = []oauth2.GrantFactory{grant.ClientCredentials(grant.ClientCredentialsOptions{})}
		cfg.Features = []oauth2.FeatureFactory{op.Register}
	})
	return op, h
}

// publishedKeys fetches the keys the Provider publishes.
func publishedKeys(t *testing.T, h *testkit.Harness) jwk.Set {
	t.Helper()
	resp, err := h.Server.Client().Get(h.Server.URL + oauth2.JWKSPath)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	set, err := jwk.ParseReader(resp.Body)
	require.NoError(t, err)
	return set
}

// verifyLogoutToken checks tok's signature with the published keys and
// returns its header and claims.
func verifyLogoutToken(t *testing.T, h *testkit.Harness, tok string) (map[string]any, map[string]any) {
	t.Helper()
	payload, err := jws.Verify([]byte(tok), jws.WithKeySet(publishedKeys(t, h), jws.WithRequireKid(true)))
	require.NoError(t, err, "the logout token does not verify with the published keys")
	var claims map[string]any
	require.NoError(t, json.Unmarshal(payload, &claims))
	hb, err := base64.RawURLEncoding.DecodeString(strings.SplitN(tok, ".", 2)[0])
	require.NoError(t, err)
	var header map[string]any
	require.NoError(t, json.Unmarshal(hb, &header))
	return header, claims
}

// rpRequest is what a relying party received.
type rpRequest struct {
	method      string
	contentType string
	form        url.Values
	err         error
}

// rp is a relying party's back-channel logout endpoint: it records each
// request and answers with status(n) for the n-th (from 1).
type rp struct {
	*httptest.Server
	status func(n int) int

	mu   sync.Mutex
	reqs []rpRequest
}

func newRP(t *testing.T, status func(n int) int) *rp {
	t.Helper()
	r := &rp{status: status}
	r.Server = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.Close)
	return r
}

func (r *rp) serve(w http.ResponseWriter, req *http.Request) {
	raw, err := readAllLimited(req)
	form, perr := url.ParseQuery(string(raw))
	if err == nil {
		err = perr
	}
	r.mu.Lock()
	r.reqs = append(r.reqs, rpRequest{method: req.Method, contentType: req.Header.Get("Content-Type"), form: form, err: err})
	n := len(r.reqs)
	r.mu.Unlock()
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(r.status(n))
}

func readAllLimited(req *http.Request) ([]byte, error) {
	var b bytes.Buffer
	_, err := b.ReadFrom(http.MaxBytesReader(nil, req.Body, 64<<10))
	return b.Bytes(), err
}

func (r *rp) requests() []rpRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]rpRequest(nil), r.reqs...)
}

func answer(status ...int) func(int) int {
	return func(n int) int {
		if n > len(status) {
			return status[len(status)-1]
		}
		return status[n-1]
	}
}

// syncBuffer is a log sink the workers may write to concurrently.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// sleeps records the waits a backchannel asked for, and returns at once.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.d = append(s.d, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleeps) waits() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.d...)
}

// testBackchannel returns a backchannel for loopback relying parties,
// with instant retry waits and its log, closed at the end of the test.
func testBackchannel(t *testing.T, opts backchannelOptions) (*backchannel, *sleeps, *syncBuffer) {
	t.Helper()
	s := &sleeps{}
	log := &syncBuffer{}
	if opts.Sleep == nil {
		opts.Sleep = s.sleep
	}
	opts.Logger = slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	b := newBackchannel(opts)
	t.Cleanup(func() { _ = b.close(context.Background()) })
	return b, s, log
}

// drain closes b, which returns once every queued delivery is done.
func drain(t *testing.T, b *backchannel) {
	t.Helper()
	require.NoError(t, b.close(context.Background()))
}

// fixedToken is a job's signer that returns tok.
func fixedToken(tok string) func(context.Context) (string, error) {
	return func(context.Context) (string, error) { return tok, nil }
}

// TestBackchannelLogoutRequest: each client that registered a
// backchannel_logout_uri receives a POST of a form with logout_token
// (§2.5), a JWT typed logout+jwt (§2.4, §4.1), signed with the client's
// ID token algorithm and keys, which verifies with the published keys,
// whose claims are those of §2.4: iss, aud, iat, a short exp (§4), a jti,
// the events claim with exactly the back-channel logout event and an
// empty object, sub and sid, and no nonce.
func TestBackchannelLogoutRequest(t *testing.T) {
	op, h := bclOP(t)
	relyingParty := newRP(t, answer(http.StatusOK))
	b, _, _ := testBackchannel(t, backchannelOptions{AllowPrivateAddresses: true})

	clients := []*storage.Client{
		{ID: "es", BackchannelLogoutURI: relyingParty.URL + "/bcl?client=es"},
		{ID: "rs", BackchannelLogoutURI: relyingParty.URL + "/bcl?client=rs", IDTokenSignedResponseAlg: "RS256"},
		{ID: "front-only"}, // no back-channel URI: nothing sent
		nil,
	}
	b.notifyLogout(context.Background(), clients, "alice", "sid-1", op.signLogoutToken)
	drain(t, b)

	reqs := relyingParty.requests()
	require.Len(t, reqs, 2)
	seen := map[string]bool{}
	jtis := map[string]bool{}
	for _, r := range reqs {
		require.NoError(t, r.err)
		assert.Equal(t, http.MethodPost, r.method)
		assert.Equal(t, "application/x-www-form-urlencoded", r.contentType)
		require.Len(t, r.form, 1, "the form holds logout_token only: %v", r.form)
		require.Len(t, r.form["logout_token"], 1)

		header, claims := verifyLogoutToken(t, h, r.form.Get("logout_token"))
		assert.Equal(t, "logout+jwt", header["typ"])
		aud, _ := claims["aud"].(string)
		seen[aud] = true
		want := map[string]string{"es": "ES256", "rs": "RS256"}[aud]
		assert.Equal(t, want, header["alg"], "signed with the client's ID token algorithm")

		now := h.Now().Unix()
		assert.Equal(t, h.Server.URL, claims["iss"])
		assert.EqualValues(t, now, claims["iat"])
		assert.EqualValues(t, now+120, claims["exp"], "two minutes (§4)")
		assert.Equal(t, "alice", claims["sub"])
		assert.Equal(t, "sid-1", claims["sid"])
		assert.NotContains(t, claims, "nonce", "§2.4 prohibits a nonce")
		assert.Equal(t, map[string]any{backchannelLogoutEvent: map[string]any{}}, claims["events"],
			"events holds the back-channel logout event and nothing else, with an empty object")

		jti, _ := claims["jti"].(string)
		raw, err := base64.RawURLEncoding.DecodeString(jti)
		require.NoError(t, err, "jti is base64url")
		assert.GreaterOrEqual(t, len(raw)*8, 128, "jti carries 128 random bits")
		assert.False(t, jtis[jti], "each logout token has its own jti")
		jtis[jti] = true
		assert.Len(t, claims, 8, "iss, sub, aud, iat, exp, jti, events, sid: %v", claims)
	}
	assert.Equal(t, map[string]bool{"es": true, "rs": true}, seen)
}

// TestLogoutTokenClaims: sub and sid appear when given and only then; a
// logout token needs at least one of them (§2.4), and never has a nonce.
func TestLogoutTokenClaims(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	tests := []struct {
		name, sub, sid string
		wantErr        bool
	}{
		{"sub and sid", "alice", "s1", false},
		{"sub alone: every session of the user", "alice", "", false},
		{"sid alone", "", "s1", false},
		{"neither sub nor sid is refused", "", "", true},
		{"a sub that is not UTF-8 is refused, not altered", "al\xffice", "", true},
		{"a sid that is not UTF-8 is refused, not altered", "", "s\xc0", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			payload, err := buildLogoutTokenClaims("https://op.example", "rp", tt.sub, tt.sid, "jti-1", now)
			if tt.wantErr {
				assert.Error(t, err)
				return
			}
			require.NoError(t, err)
			var claims map[string]any
			require.NoError(t, json.Unmarshal(payload, &claims))
			if tt.sub != "" {
				assert.Equal(t, tt.sub, claims["sub"])
			} else {
				assert.NotContains(t, claims, "sub")
			}
			if tt.sid != "" {
				assert.Equal(t, tt.sid, claims["sid"])
			} else {
				assert.NotContains(t, claims, "sid")
			}
			assert.NotContains(t, claims, "nonce")
			assert.Equal(t, "https://op.example", claims["iss"])
			assert.Equal(t, "rp", claims["aud"])
			assert.Equal(t, "jti-1", claims["jti"])
		})
	}
}

// TestBackchannelSessionRequired: a client that registered
// backchannel_logout_session_required (§2.2) gets no token without a
// sid, which it would refuse; one with a sid gets it.
func TestBackchannelSessionRequired(t *testing.T) {
	op, _ := bclOP(t)
	relyingParty := newRP(t, answer(http.StatusOK))
	b, _, log := testBackchannel(t, backchannelOptions{AllowPrivateAddresses: true})
	c := &storage.Client{ID: "rp", BackchannelLogoutURI: relyingParty.URL, BackchannelLogoutSessionRequired: true}

	b.notifyLogout(context.Background(), []*storage.Client{c}, "alice", "", op.signLogoutToken)
	b.notifyLogout(context.Background(), []*storage.Client{c}, "alice", "sid-2", op.signLogoutToken)
	drain(t, b)

	reqs := relyingParty.requests()
	require.Len(t, reqs, 1)
	msg, err := jws.Parse([]byte(reqs[0].form.Get("logout_token")))
	require.NoError(t, err)
	assert.Contains(t, string(msg.Payload()), `"sid":"sid-2"`)
	assert.Contains(t, log.String(), "requires a sid")
}

// TestBackchannelRetries: a network error, a 5xx or a 429 answer is
// retried after the configured waits, with a fresh token each time, until
// a 2xx answer (§2.8: 200, or 204 from some frameworks); the retries
// stop after the last wait, with a warning that never holds the token.
func TestBackchannelRetries(t *testing.T) {
	tests := []struct {
		name      string
		answers   []int
		attempts  int
		waits     []time.Duration
		delivered bool
	}{
		{"500 then 200", []int{500, 200}, 2, []time.Duration{time.Second}, true},
		{"503, 502 then 204", []int{503, 502, 204}, 3, []time.Duration{time.Second, 5 * time.Second}, true},
		{"429 then 200", []int{429, 200}, 2, []time.Duration{time.Second}, true},
		{"always 500: four attempts", []int{500}, 4, []time.Duration{time.Second, 5 * time.Second, 25 * time.Second}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			relyingParty := newRP(t, answer(tt.answers...))
			b, s, log := testBackchannel(t, backchannelOptions{AllowPrivateAddresses: true})
			n := 0
			var mu sync.Mutex
			require.True(t, b.send(context.Background(), logoutJob{clientID: "rp", uri: relyingParty.URL,
				token: func(context.Context) (string, error) {
					mu.Lock()
					defer mu.Unlock()
					n++
					return "header.claims-" + string(rune('a'+n)) + ".signature", nil
				}}))
			drain(t, b)

			reqs := relyingParty.requests()
			require.Len(t, reqs, tt.attempts)
			tokens := map[string]bool{}
			for _, r := range reqs {
				tokens[r.form.Get("logout_token")] = true
			}
			assert.Len(t, tokens, tt.attempts, "each attempt signs a fresh token")
			assert.Equal(t, tt.waits, s.waits())
			if tt.delivered {
				assert.NotContains(t, log.String(), "failed")
			} else {
				assert.Contains(t, log.String(), "back-channel logout failed")
				assert.Contains(t, log.String(), "attempts=4")
				assert.NotContains(t, log.String(), "claims-", "the token is never logged")
			}
		})
	}
}

// TestBackchannelNetworkErrorIsRetried: a connection the relying party
// drops is retried.
func TestBackchannelNetworkErrorIsRetried(t *testing.T) {
	var mu sync.Mutex
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls++
		first := calls == 1
		mu.Unlock()
		if first {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				_ = conn.Close()
			}
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(srv.Close)
	b, s, log := testBackchannel(t, backchannelOptions{AllowPrivateAddresses: true})
	require.True(t, b.send(context.Background(), logoutJob{clientID: "rp", uri: srv.URL, token: fixedToken("t.o.k")}))
	drain(t, b)
	mu.Lock()
	assert.Equal(t, 2, calls)
	mu.Unlock()
	assert.Equal(t, []time.Duration{time.Second}, s.waits())
	assert.NotContains(t, log.String(), "failed")
}

// TestBackchannelLogsNoQuery: the query of a backchannel_logout_uri,
// which may hold a secret of the relying party's, stays out of the log of
// a failed delivery; the address the delivery failed at is there.
func TestBackchannelLogsNoQuery(t *testing.T) {
	b, _, log := testBackchannel(t, backchannelOptions{})
	require.True(t, b.send(context.Background(), logoutJob{clientID: "rp",
		uri: "https://10.0.0.1/bcl?key=s3cr3t-of-the-rp", token: fixedToken("t.o.k")}))
	drain(t, b)
	assert.Contains(t, log.String(), "https://10.0.0.1/bcl")
	assert.NotContains(t, log.String(), "s3cr3t", log.String())
}

// TestBackchannelNoRetry: an answer that a retry would not change is not
// retried: a 4xx other than 429 (§2.8: 400 when the RP refused the
// token), and a redirect, which is not followed, so that the token goes
// to the registered URI only.
func TestBackchannelNoRetry(t *testing.T) {
	for _, status := range []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusNotFound, http.StatusFound, http.StatusTemporaryRedirect} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			var mu sync.Mutex
			var paths []string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				paths = append(paths, r.URL.Path)
				mu.Unlock()
				if status >= 300 && status < 400 {
					http.Redirect(w, r, "/elsewhere", status)
					return
				}
				w.WriteHeader(status)
			}))
			t.Cleanup(srv.Close)
			b, s, log := testBackchannel(t, backchannelOptions{AllowPrivateAddresses: true})
			require.True(t, b.send(context.Background(), logoutJob{clientID: "rp", uri: srv.URL + "/bcl", token: fixedToken("t.o.k")}))
			drain(t, b)
			mu.Lock()
			assert.Equal(t, []string{"/bcl"}, paths, "one attempt, no redirect followed")
			mu.Unlock()
			assert.Empty(t, s.waits(), "no retry")
			assert.Contains(t, log.String(), "attempts=1")
		})
	}
}

// TestBackchannelRefusesInternalAddresses: without AllowPrivateAddresses,
// a backchannel_logout_uri on loopback or another internal address is
// refused at dial time, after DNS (the SSRF guard of internal/urlpolicy),
// and the refusal is not retried; an http one is refused too.
func TestBackchannelRefusesInternalAddresses(t *testing.T) {
	relyingParty := newRP(t, answer(http.StatusOK))
	tlsRP := httptest.NewTLSServer(http.HandlerFunc(relyingParty.serve))
	t.Cleanup(tlsRP.Close)
	port := tlsRP.URL[strings.LastIndex(tlsRP.URL, ":")+1:]
	b, s, log := testBackchannel(t, backchannelOptions{})
	for _, uri := range []string{
		tlsRP.URL + "/bcl",
		"https://localhost:" + port + "/bcl",
		"https://169.254.169.254/latest/meta-data/",
		"https://10.0.0.1/bcl",
		relyingParty.URL + "/bcl", // http
	} {
		require.True(t, b.send(context.Background(), logoutJob{clientID: "rp", uri: uri, token: fixedToken("t.o.k")}))
	}
	drain(t, b)
	assert.Empty(t, relyingParty.requests(), "no request reached an internal address")
	assert.Empty(t, s.waits(), "a refusal is not retried")
	assert.Equal(t, 4, strings.Count(log.String(), "not a public address"), log.String())
	assert.Equal(t, 1, strings.Count(log.String(), "not an https URL"), log.String())
}

// TestBackchannelRefusesMalformedURI: a backchannel_logout_uri that is not
// an absolute URL, or has a fragment (§2.2), gets nothing.
func TestBackchannelRefusesMalformedURI(t *testing.T) {
	relyingParty := newRP(t, answer(http.StatusOK))
	b, _, log := testBackchannel(t, backchannelOptions{AllowPrivateAddresses: true})
	for _, uri := range []string{relyingParty.URL + "/bcl#frag", relyingParty.URL + "/bcl#", "/bcl", "bcl"} {
		require.True(t, b.send(context.Background(), logoutJob{clientID: "rp", uri: uri, token: fixedToken("t.o.k")}))
	}
	drain(t, b)
	assert.Empty(t, relyingParty.requests())
	assert.Equal(t, 4, strings.Count(log.String(), "back-channel logout failed"), log.String())
}

// blockingRP is a relying party that holds each request until released
// or cancelled, and says when one arrives and when one was cancelled.
type blockingRP struct {
	*httptest.Server
	arrived   chan struct{}
	cancelled chan struct{}
	release   chan struct{}
	once      sync.Once
}

// releaseAll lets every request held, and every later one, through.
func (r *blockingRP) releaseAll() { r.once.Do(func() { close(r.release) }) }

func newBlockingRP(t *testing.T) *blockingRP {
	t.Helper()
	r := &blockingRP{arrived: make(chan struct{}, 16), cancelled: make(chan struct{}, 16), release: make(chan struct{})}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		// Once the body is read, the server notices a client that goes.
		_, _ = readAllLimited(req)
		r.arrived <- struct{}{}
		select {
		case <-r.release:
			w.WriteHeader(http.StatusOK)
		case <-req.Context().Done():
			r.cancelled <- struct{}{}
		}
	}))
	t.Cleanup(func() {
		r.releaseAll()
		r.Close()
	})
	return r
}

// TestBackchannelFullQueueDrops: when the queue is full, a delivery is
// dropped with a warning at once; the caller never waits for a relying
// party.
func TestBackchannelFullQueueDrops(t *testing.T) {
	slow := newBlockingRP(t)
	b, _, log := testBackchannel(t, backchannelOptions{AllowPrivateAddresses: true, Workers: 1, QueueSize: 1})
	job := logoutJob{clientID: "rp", uri: slow.URL, token: fixedToken("t.o.k")}

	require.True(t, b.send(context.Background(), job))
	<-slow.arrived // the one worker is busy with the first
	assert.True(t, b.send(context.Background(), job), "the second waits in the queue")
	assert.False(t, b.send(context.Background(), job), "the third is dropped, without blocking")
	assert.Contains(t, log.String(), "the queue is full")
	assert.NotContains(t, log.String(), "t.o.k")

	slow.releaseAll()
	<-slow.arrived // the second is delivered once the worker is free
	drain(t, b)
	select {
	case <-slow.arrived:
		t.Fatal("the dropped delivery was sent")
	default:
	}
}

// TestBackchannelNotifyDoesNotSign: notifyLogout leaves signing to the
// workers, so a slow key source does not hold up the page that ended the
// session.
func TestBackchannelNotifyDoesNotSign(t *testing.T) {
	relyingParty := newRP(t, answer(http.StatusOK))
	b, _, _ := testBackchannel(t, backchannelOptions{AllowPrivateAddresses: true})
	signing := make(chan struct{})
	release := make(chan struct{})
	sign := func(ctx context.Context, c *storage.Client, subject, sid string) (string, error) {
		signing <- struct{}{}
		<-release
		return "t.o.k", nil
	}
	b.notifyLogout(context.Background(), []*storage.Client{{ID: "rp", BackchannelLogoutURI: relyingParty.URL}}, "alice", "s", sign)
	// notifyLogout has returned while the signer waits on release.
	<-signing
	close(release)
	drain(t, b)
	assert.Len(t, relyingParty.requests(), 1)
}

// TestBackchannelCloseStopsWorkers: close with an ended context cancels
// the delivery under way and drops what is queued, and returns once the
// workers have stopped; nothing is taken afterwards. close with a live
// context waits for the queue to be delivered (the other tests).
func TestBackchannelCloseStopsWorkers(t *testing.T) {
	slow := newBlockingRP(t)
	b, _, log := testBackchannel(t, backchannelOptions{AllowPrivateAddresses: true, Workers: 1})
	job := logoutJob{clientID: "rp", uri: slow.URL, token: fixedToken("t.o.k")}
	require.True(t, b.send(context.Background(), job))
	<-slow.arrived
	require.True(t, b.send(context.Background(), job), "queued behind the first")

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.ErrorIs(t, b.close(ctx), context.Canceled)
	<-slow.cancelled // the request under way was cancelled
	assert.Contains(t, log.String(), "dropped: shutting down", "the queued delivery was dropped")
	select {
	case <-slow.arrived:
		t.Fatal("a queued delivery was sent after close")
	default:
	}
	assert.False(t, b.send(context.Background(), job), "a closed backchannel takes nothing")
	assert.NoError(t, b.close(context.Background()), "close again returns at once")
}

// TestBackchannelCloseCancelsRetryWait: a shutdown does not wait for a
// retry delay to pass.
func TestBackchannelCloseCancelsRetryWait(t *testing.T) {
	relyingParty := newRP(t, answer(http.StatusServiceUnavailable))
	waiting := make(chan struct{})
	b, _, log := testBackchannel(t, backchannelOptions{AllowPrivateAddresses: true,
		Sleep: func(ctx context.Context, d time.Duration) error {
			close(waiting)
			<-ctx.Done() // a wait that only shutdown ends
			return ctx.Err()
		}})
	require.True(t, b.send(context.Background(), logoutJob{clientID: "rp", uri: relyingParty.URL, token: fixedToken("t.o.k")}))
	<-waiting
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.ErrorIs(t, b.close(ctx), context.Canceled)
	assert.Len(t, relyingParty.requests(), 1)
	assert.Contains(t, log.String(), "abandoned: shutting down")
}

// A relying party that hangs, logged out of again and again, holds a
// worker for one attempt's timeout at a time: its retry delays are waited
// out off the workers, so that other relying parties' tokens go through.
func TestAHangingRelyingPartyDoesNotStarveTheOthers(t *testing.T) {
	hang := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body) // so that the server notices the client going away
		<-r.Context().Done()
	}))
	defer hang.Close()
	delivered := make(chan struct{}, 1)
	good := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { delivered <- struct{}{} }))
	defer good.Close()
	never := make(chan struct{}) // the retry delays last until shutdown
	b := newBackchannel(backchannelOptions{AllowPrivateAddresses: true, Timeout: 50 * time.Millisecond,
		Sleep: func(ctx context.Context, _ time.Duration) error {
			select {
			case <-never:
			case <-ctx.Done():
			}
			return ctx.Err()
		}})
	stopped := false
	t.Cleanup(func() { // also when the test fails: stop the workers and retries
		if !stopped {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			_ = b.close(ctx)
		}
	})
	tok := func(context.Context) (string, error) { return "x.y.z", nil }
	for range 3 * defaultBackchannelWorkers {
		require.True(t, b.send(context.Background(), logoutJob{clientID: "hanging", uri: hang.URL, token: tok}))
	}
	require.True(t, b.send(context.Background(), logoutJob{clientID: "bank", uri: good.URL, token: tok}))
	select {
	case <-delivered:
	case <-time.After(10 * time.Second): // a bound on a failure, not a wait for success
		t.Fatal("the other relying party's token was not delivered: the workers wait out the hanging one's delays")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	assert.ErrorIs(t, b.close(ctx), context.DeadlineExceeded, "the hanging one's retries are still waiting")
	stopped = true
}
