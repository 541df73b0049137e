package oidc

// Back-channel logout (OpenID Connect Back-Channel Logout 1.0): when a
// user's login session ends, every client that took part in it and
// registered a backchannel_logout_uri receives a signed logout token
// (§2.4) in a POST from the OpenID Provider (§2.5), in the background:
// the page that ended the session never waits for a relying party.
//
// The API for the rest of the package, for the code that ends login
// sessions:
//
//   - a Provider holds one *backchannel, built once the oauth2.Provider
//     is known (in Register), so that it logs to the Provider's logger:
//
//       o.backchannel = newBackchannel(backchannelOptions{
//           HTTPClient:            cfg.BackchannelHTTPClient,
//           AllowPrivateAddresses: cfg.BackchannelAllowPrivateAddresses,
//           Logger:                p.Logger(),
//       })
//
//   - when a login session ends, with the clients that took part in it
//     (those without a BackchannelLogoutURI are skipped) and the
//     session's sid, the subject being the sub those clients know:
//
//       o.backchannel.notifyLogout(ctx, clients, subject, sid, o.signLogoutToken)
//
//     It returns at once: each token is signed and posted by a worker,
//     with retries, through the SSRF-guarded client of
//     internal/urlpolicy;
//
//   - the host's shutdown stops the workers after they deliver what is
//     queued, or when its context ends: o.backchannel.close(ctx).

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/grantor-dev/grantor/internal/urlpolicy"
	"github.com/grantor-dev/grantor/oauth2"
	"github.com/grantor-dev/grantor/storage"
)

const (
	// logoutTokenType is the typ of the header of logout tokens
	// (Back-Channel Logout §2.4, §4.1): explicit typing, so that a
	// logout token is never taken for an ID token or an access token.
	logoutTokenType = "logout+jwt"
	// backchannelLogoutEvent is the member of the events claim that makes
	// a JWT a logout token (Back-Channel Logout §2.4, RFC 8417 §2.2).
	backchannelLogoutEvent = "http://schemas.openid.net/event/backchannel-logout"
	// logoutTokenLifetime is the lifetime of a logout token: short, at
	// most two minutes, as Back-Channel Logout §4 advises, so that a
	// captured one cannot be replayed later.
	logoutTokenLifetime = 2 * time.Minute
)

// Defaults of backchannelOptions.
const (
	defaultBackchannelTimeout   = 5 * time.Second
	defaultBackchannelQueueSize = 256
	defaultBackchannelWorkers   = 4
	// maxBackchannelResponseBytes bounds how much of a relying party's
	// answer is read (and discarded) before the connection is reused.
	maxBackchannelResponseBytes = 4 << 10
)

// defaultBackchannelRetryDelays are the waits before the retries of a
// delivery that failed for a reason that may pass: with the default
// timeout, the fourth and last attempt ends within 51 s of the first.
// Each attempt signs a fresh token, so a late one is not an expired one.
var defaultBackchannelRetryDelays = []time.Duration{1 * time.Second, 5 * time.Second, 25 * time.Second}

// logoutSigner returns the signed logout token of one client, for the
// subject and session that ended: (*Provider).signLogoutToken.
type logoutSigner func(ctx context.Context, client *storage.Client, subject, sid string) (string, error)

// backchannelOptions configures a backchannel. The zero value is the safe
// default.
type backchannelOptions struct {
	// HTTPClient posts the logout tokens. Nil means a client of
	// urlpolicy.NewClient, which reaches public addresses over https
	// only, and follows no redirect (a 3xx is a failure). A client given
	// here is used as it is: its transport must refuse internal
	// addresses.
	HTTPClient *http.Client
	// AllowPrivateAddresses lets the default client reach loopback and
	// private addresses, over http too: for tests and intranets only.
	AllowPrivateAddresses bool
	// Timeout bounds each attempt, signing included. Zero means 5 s.
	Timeout time.Duration
	// RetryDelays are the waits before each retry: their number is the
	// number of retries. Nil means 1 s, 5 s and 25 s; an empty non-nil
	// slice means no retry.
	RetryDelays []time.Duration
	// QueueSize bounds the deliveries waiting for a worker; one more is
	// dropped, with a warning. Zero means 256.
	QueueSize int
	// Workers is the number of deliveries under way at once. Zero means
	// 4.
	Workers int
	// Logger receives a warning for each delivery that failed or was
	// dropped (never the token). Nil discards them.
	Logger *slog.Logger
	// Sleep waits d, or until ctx ends (then returning its error). Nil
	// means a timer; tests make it return at once.
	Sleep func(ctx context.Context, d time.Duration) error
}

// backchannel delivers logout tokens to relying parties (Back-Channel
// Logout §2.5): a bounded queue and a small fixed pool of workers, started
// by the first delivery. It is safe for concurrent use.
type backchannel struct {
	client  *http.Client
	timeout time.Duration
	delays  []time.Duration
	workers int
	logger  *slog.Logger
	sleep   func(context.Context, time.Duration) error

	// ctx is the workers' context; cancel ends the attempts and waits
	// under way, at shutdown.
	ctx    context.Context
	cancel context.CancelFunc

	start sync.Once
	wg    sync.WaitGroup
	// waiting counts the jobs waiting out a retry delay, each on a timer
	// of its own rather than in a worker, so that a relying party that
	// keeps failing never holds a worker through its delays; retries
	// tracks them for close.
	waiting atomic.Int64
	retries sync.WaitGroup

	mu sync.RWMutex // guards closing and closed; held for reading while sending on queue
	// closing refuses new deliveries; closed, once the queue is closed,
	// retries too.
	closing, closed bool
	queue           chan logoutJob
	// pending counts the deliveries taken and not yet settled.
	pending sync.WaitGroup
}

// logoutJob is one delivery: a logout token for one client.
type logoutJob struct {
	clientID string
	uri      string
	// attempt counts the attempts made so far.
	attempt int
	// token signs a fresh logout token; it is called by a worker, once
	// per attempt.
	token func(ctx context.Context) (string, error)
}

// newBackchannel returns a backchannel; its workers start with the first
// delivery.
func newBackchannel(opts backchannelOptions) *backchannel {
	b := &backchannel{
		client:  opts.HTTPClient,
		timeout: opts.Timeout,
		delays:  opts.RetryDelays,
		workers: opts.Workers,
		logger:  opts.Logger,
		sleep:   opts.Sleep,
	}
	if b.timeout <= 0 {
		b.timeout = defaultBackchannelTimeout
	}
	if b.delays == nil {
		b.delays = defaultBackchannelRetryDelays
	}
	if b.workers <= 0 {
		b.workers = defaultBackchannelWorkers
	}
	queueSize := opts.QueueSize
	if queueSize <= 0 {
		queueSize = defaultBackchannelQueueSize
	}
	if b.logger == nil {
		b.logger = slog.New(slog.DiscardHandler)
	}
	if b.sleep == nil {
		b.sleep = sleepContext
	}
	if b.client == nil {
		b.client = urlpolicy.NewClient(urlpolicy.ClientOptions{
			Timeout:               b.timeout,
			AllowPrivateAddresses: opts.AllowPrivateAddresses,
			// The token goes to the registered URI and nowhere else.
			MaxRedirects: -1,
		})
	}
	b.queue = make(chan logoutJob, queueSize)
	b.ctx, b.cancel = context.WithCancel(context.Background())
	return b
}

// sleepContext waits d, or until ctx ends.
func sleepContext(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// notifyLogout queues a logout token for each client that registered a
// backchannel_logout_uri (Back-Channel Logout §2.2), for the end of the
// login session sid of subject (§2.3: the clients are those that took
// part in it). subject is the sub those clients know; either it or sid
// may be empty, not both (§2.4). A client that registered
// backchannel_logout_session_required gets no token without a sid, which
// it would refuse. sign is called later, by a worker. notifyLogout never
// blocks: a full queue drops the token with a warning. ctx is for the
// log records only: delivery outlives the request that ended the
// session.
func (b *backchannel) notifyLogout(ctx context.Context, clients []*storage.Client, subject, sid string, sign logoutSigner) {
	for _, c := range clients {
		if c == nil || c.BackchannelLogoutURI == "" {
			continue
		}
		if c.BackchannelLogoutSessionRequired && sid == "" {
			b.logger.WarnContext(ctx, "oidc: back-channel logout not sent: the client requires a sid and the session has none",
				slog.String("client_id", c.ID))
			continue
		}
		if subject == "" && sid == "" {
			b.logger.WarnContext(ctx, "oidc: back-channel logout not sent: neither a subject nor a sid",
				slog.String("client_id", c.ID))
			continue
		}
		client := c.Clone() // the caller's record may change before a worker signs
		b.send(ctx, logoutJob{
			clientID: client.ID,
			uri:      client.BackchannelLogoutURI,
			token: func(ctx context.Context) (string, error) {
				return sign(ctx, client, subject, sid)
			},
		})
	}
}

// send queues j for a worker, without ever blocking. It reports false
// when j was dropped: the queue is full, or the backchannel is closing.
func (b *backchannel) send(ctx context.Context, j logoutJob) bool {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.closing {
		b.logger.WarnContext(ctx, "oidc: back-channel logout dropped: shutting down", slog.String("client_id", j.clientID))
		return false
	}
	b.pending.Add(1) // before a worker can settle it
	if b.enqueue(ctx, j) {
		return true
	}
	b.pending.Done()
	return false
}

// enqueue puts j on the queue, starting the workers first; it reports
// false, with a warning, when the queue is full or closed. The caller
// holds b.mu for reading.
func (b *backchannel) enqueue(ctx context.Context, j logoutJob) bool {
	if b.closed {
		b.logger.WarnContext(ctx, "oidc: back-channel logout dropped: shutting down", slog.String("client_id", j.clientID))
		return false
	}
	b.start.Do(func() {
		b.wg.Add(b.workers)
		for range b.workers {
			go b.work()
		}
	})
	select {
	case b.queue <- j:
		return true
	default:
		b.logger.WarnContext(ctx, "oidc: back-channel logout dropped: the queue is full", slog.String("client_id", j.clientID))
		return false
	}
}

// close stops taking deliveries and waits until every one taken has its
// outcome: delivered, refused, or given up after its retries. When ctx
// ends first, the attempts and retry waits under way are cancelled, what
// is still queued is dropped, and close returns ctx's error once the
// workers have stopped. close may be called more than once.
func (b *backchannel) close(ctx context.Context) error {
	b.mu.Lock()
	b.closing = true
	b.mu.Unlock()
	settled := make(chan struct{})
	go func() {
		b.pending.Wait()
		close(settled)
	}()
	var err error
	select {
	case <-settled:
	case <-ctx.Done():
		err = ctx.Err()
	}
	b.cancel()
	b.mu.Lock()
	if !b.closed {
		b.closed = true
		close(b.queue)
	}
	b.mu.Unlock()
	b.wg.Wait()
	b.retries.Wait()
	return err
}

// work delivers queued jobs until the queue is closed and empty.
func (b *backchannel) work() {
	defer b.wg.Done()
	for j := range b.queue {
		if b.ctx.Err() != nil {
			b.logger.Warn("oidc: back-channel logout dropped: shutting down", slog.String("client_id", j.clientID))
			b.pending.Done()
			continue
		}
		b.deliver(j)
	}
}

// deliver makes one attempt of a job and, when the failure may pass (a
// network error, a 5xx or 429 answer, a failed signature), queues it
// again after the next retry delay. The delay is waited out off the
// workers, so that one relying party that hangs or fails holds a worker
// for one attempt's timeout at a time, never through its delays.
func (b *backchannel) deliver(j logoutJob) {
	retry, err := b.attempt(j)
	j.attempt++
	if err == nil {
		b.pending.Done()
		return
	}
	if !retry || j.attempt > len(b.delays) {
		b.pending.Done()
		b.logger.Warn("oidc: back-channel logout failed",
			slog.String("client_id", j.clientID), slog.Int("attempts", j.attempt), slog.String("error", err.Error()))
		return
	}
	if b.waiting.Add(1) > int64(cap(b.queue)) {
		b.waiting.Add(-1)
		b.pending.Done()
		b.logger.Warn("oidc: back-channel logout dropped: too many retries waiting",
			slog.String("client_id", j.clientID), slog.Int("attempts", j.attempt), slog.String("error", err.Error()))
		return
	}
	b.retries.Add(1)
	go func() {
		defer b.retries.Done()
		defer b.waiting.Add(-1)
		if b.sleep(b.ctx, b.delays[j.attempt-1]) != nil || b.ctx.Err() != nil {
			b.logger.Warn("oidc: back-channel logout abandoned: shutting down",
				slog.String("client_id", j.clientID), slog.Int("attempts", j.attempt), slog.String("error", err.Error()))
			b.pending.Done()
			return
		}
		b.mu.RLock()
		queued := b.enqueue(b.ctx, j)
		b.mu.RUnlock()
		if !queued {
			b.pending.Done()
		}
	}()
}

// attempt signs a logout token and posts it (Back-Channel Logout §2.5);
// a 2xx answer is success (§2.8: 200, or 204 from some frameworks).
// retry reports whether a failure may pass. Errors never hold the token.
func (b *backchannel) attempt(j logoutJob) (retry bool, err error) {
	if err := checkBackchannelLogoutURI(j.uri); err != nil {
		return false, err
	}
	ctx, cancel := context.WithTimeout(b.ctx, b.timeout)
	defer cancel()
	tok, err := j.token(ctx)
	if err != nil {
		return true, fmt.Errorf("signing the logout token: %w", err)
	}
	body := url.Values{"logout_token": {tok}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, j.uri, strings.NewReader(body))
	if err != nil {
		return false, errors.New("the backchannel_logout_uri is not a URL")
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := b.client.Do(req)
	if err != nil {
		// A refusal of the SSRF guard is final; a network error may pass.
		refused := errors.Is(err, urlpolicy.ErrNotPublic) || errors.Is(err, urlpolicy.ErrNotHTTPS)
		return !refused, withoutQuery(err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxBackchannelResponseBytes))
	_ = resp.Body.Close()
	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		return false, nil
	case code >= 500, code == http.StatusTooManyRequests:
		return true, fmt.Errorf("the relying party answered %d", code)
	default:
		// §2.8: 400 when the RP refused the token; a retry would be
		// refused again. A redirect is not followed.
		return false, fmt.Errorf("the relying party answered %d", code)
	}
}

// checkBackchannelLogoutURI checks what Back-Channel Logout §2.2 asks of a
// backchannel_logout_uri: an absolute URL without a fragment. Its scheme
// and address are the HTTP client's to check.
func checkBackchannelLogoutURI(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Fragment != "" || strings.Contains(raw, "#") || u.User != nil {
		return errors.New("the backchannel_logout_uri is not an absolute URL without fragment or user information")
	}
	return nil
}

// logoutTokenClaims are the claims of a logout token (Back-Channel Logout
// §2.4), in the order they are written. It has no nonce: §2.4 prohibits
// one, so that a logout token cannot pass for an ID token.
type logoutTokenClaims struct {
	Issuer   string                     `json:"iss"`
	Subject  string                     `json:"sub,omitempty"`
	Audience string                     `json:"aud"`
	IssuedAt int64                      `json:"iat"`
	Expires  int64                      `json:"exp"`
	JTI      string                     `json:"jti"`
	Events   map[string]json.RawMessage `json:"events"`
	SID      string                     `json:"sid,omitempty"`
}

// buildLogoutTokenClaims returns the JSON claims of a logout token
// (Back-Channel Logout §2.4) for the client audience: iss, aud, iat, exp
// (logoutTokenLifetime after now), jti, the events claim with the
// back-channel logout event and an empty object (RFC 8417 §2.2), and sub
// and sid when they are not empty; at least one of them must be. Every
// string must be valid UTF-8, so that the claims say exactly what is
// given (JSON would replace invalid bytes).
func buildLogoutTokenClaims(issuer, audience, subject, sid, jti string, now time.Time) ([]byte, error) {
	switch {
	case issuer == "" || audience == "" || jti == "":
		return nil, errors.New("oidc: a logout token needs an issuer, an audience and a jti")
	case subject == "" && sid == "":
		return nil, errors.New("oidc: a logout token needs a sub or a sid (Back-Channel Logout §2.4)")
	case !utf8.ValidString(issuer) || !utf8.ValidString(audience) || !utf8.ValidString(subject) ||
		!utf8.ValidString(sid) || !utf8.ValidString(jti):
		return nil, errors.New("oidc: a logout token's claims must be valid UTF-8")
	}
	return json.Marshal(&logoutTokenClaims{
		Issuer:   issuer,
		Subject:  subject,
		Audience: audience,
		IssuedAt: now.Unix(),
		Expires:  now.Add(logoutTokenLifetime).Unix(),
		JTI:      jti,
		Events:   map[string]json.RawMessage{backchannelLogoutEvent: json.RawMessage("{}")},
		SID:      sid,
	})
}

// logoutToken returns the logout token of client for the end of the
// session sid of subject (Back-Channel Logout §2.4), signed like the
// client's ID tokens (same algorithm, same keys) with the header typ
// logout+jwt, and a jti of 128 random bits.
func (o *Provider) logoutToken(ctx context.Context, client *storage.Client, subject, sid string, now time.Time) (string, error) {
	alg, ok := o.signerFor(client)
	if !ok {
		return "", oauth2.NewError(oauth2.ErrServerError, "the logout token could not be signed").
			WithCause(fmt.Errorf("oidc: client %q asks for ID tokens signed with %q, which no key source signs", client.ID, alg))
	}
	jti, err := o.p.NewID()
	if err != nil {
		return "", fmt.Errorf("oidc: a jti for the logout token: %w", err)
	}
	payload, err := buildLogoutTokenClaims(o.p.Issuer(), client.ID, subject, sid, jti, now)
	if err != nil {
		return "", err
	}
	return o.sign(ctx, alg, logoutTokenType, payload)
}

// signLogoutToken is the logoutSigner of the Provider: logoutToken at the
// Provider's clock, for the user subject as client sees it (a pairwise
// subject, Core §8.1).
func (o *Provider) signLogoutToken(ctx context.Context, client *storage.Client, subject, sid string) (string, error) {
	if subject != "" {
		var err error
		if subject, err = o.ClientSubject(ctx, client, subject); err != nil {
			return "", err
		}
	}
	return o.logoutToken(ctx, client, subject, sid, o.p.Now())
}

// withoutQuery returns err with the URL of a failed request (a
// *url.Error, which the logs show) cut to its scheme, host and path: the
// query of a URL a client registered may carry a secret of the relying
// party's, which the logs must not hold.
func withoutQuery(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		if u, perr := url.Parse(ue.URL); perr == nil {
			ue.URL = (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
		} else {
			ue.URL = "(the registered URL)"
		}
	}
	return err
}
