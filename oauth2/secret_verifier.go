package oauth2

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"hash"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/grantor-dev/grantor/storage"
)

// secretVerifier checks client secrets for the Provider (RFC 6749 §2.3.1)
// so that guessing one stays bounded in rate and cost while the client that
// knows it is not locked out by anyone else's failures:
//
//   - A secret hashed with a fast keyed hash (GenerateClientSecret) is
//     verified directly. It has 256 random bits: it cannot be guessed, so
//     it needs no throttle, and its check costs microseconds.
//   - A secret hashed with a slow hash (argon2id, bcrypt) that this
//     instance verified for this client is recognised by an HMAC-SHA-256
//     of the secret under a key of this process, kept with the stored hash
//     it was verified against, for an hour after its last use: no slow
//     hash, no throttle. A change of the stored hash ends the recognition.
//   - Any other attempt at a slow-hashed secret is counted in the Limiter
//     before it is verified, against three budgets a window, the first
//     one spent refusing it with 429 without a check (and the later ones
//     not counted): all attempts from the client's address (ten times the
//     limit), attempts at this client from this address (the limit), and
//     attempts at this client from anywhere (ten times the limit). So one
//     address guesses at most the limit a window, all addresses together
//     ten times it, and a third party cannot throttle a client elsewhere
//     without spending the client's whole budget from ten addresses or
//     more, and never a recognised one. Those attempts that are verified
//     run under a bounded concurrency, so that no flood can take more
//     memory than slowHashConcurrency hashes.
//
// A request that names an unknown client with a secret goes through the
// same path against a dummy argon2id hash of HashClientSecret's cost, so
// that one attempt cannot be told from a wrong secret of a client whose
// secret HashClientSecret made by its answer or its time. Its attempts are
// counted per address under one key for every unknown client, so that
// made-up ids buy no budget of their own; the throttle can therefore tell
// a few attempts at an unknown id from attempts at a known one. Client
// identifiers are not secrets (RFC 6749 §2.2): a client whose secret was
// generated, or a public client, answers faster too.
type secretVerifier struct {
	limiter storage.Limiter
	limit   int64 // attempts per client and address a window; negative: no throttle
	window  time.Duration
	clock   func() time.Time

	gate     chan struct{} // one token per slow hash running
	gateWait time.Duration
	busyLog  logSampler

	macs           sync.Pool // of HMAC-SHA-256 hashes keyed with a random key of the process
	mu             sync.RWMutex
	recognised     map[string]recognition // by client id
	maxRecognised  int
	recognitionTTL time.Duration

	address func(*http.Request) string // Config.ClientAddress
	logger  *slog.Logger
	emit    func(context.Context, Event)
}

// addressOf is the address the budgets count r's client by; "" without a
// request.
func (v *secretVerifier) addressOf(r *http.Request) string {
	if r == nil {
		return ""
	}
	return boundAddress(v.address(r))
}

type recognition struct {
	hash    string // the stored hash the secret was verified against
	mac     [sha256.Size]byte
	expires time.Time
}

// Bounds of the secret verifier.
const (
	// slowHashWait is how long an attempt waits for a slot before it is
	// refused with 503: long enough to absorb a burst of legitimate
	// requests, short enough that a flood cannot queue without bound.
	slowHashWait = time.Second
	// maxRecognisedClients bounds the recognitions held. Only a correct
	// secret makes one, so its keys are real clients.
	maxRecognisedClients = 10_000
	// recognitionLifetime is how long a verified secret is recognised
	// after its last use without a slow hash.
	recognitionLifetime = time.Hour
	// wideBudget is how many times the limit the budgets of a whole
	// address and of a whole client are.
	wideBudget = 10
	// unknownClient stands for every unknown client in the budget keys:
	// no client has an empty id.
	unknownClient = ""
)

func newSecretVerifier(limiter storage.Limiter, limit int, window time.Duration, concurrency int, clock func() time.Time,
	address func(*http.Request) string, logger *slog.Logger, emit func(context.Context, Event)) (*secretVerifier, error) {
	v := &secretVerifier{
		limiter: limiter, limit: int64(limit), window: window, clock: clock, busyLog: logSampler{every: time.Minute},
		gate: make(chan struct{}, concurrency), gateWait: slowHashWait,
		recognised: make(map[string]recognition), maxRecognised: maxRecognisedClients,
		recognitionTTL: recognitionLifetime, address: address, logger: logger, emit: emit,
	}
	macKey := make([]byte, 32)
	if _, err := rand.Read(macKey); err != nil {
		return nil, err
	}
	v.macs.New = func() any { return hmac.New(sha256.New, macKey) }
	return v, nil
}

// isSlowHash reports whether a stored secret hash is a password hash
// (argon2id, bcrypt), whose check costs tens of milliseconds.
func isSlowHash(hash string) bool {
	return strings.HasPrefix(hash, hashPrefixArgon2id) || strings.HasPrefix(hash, "$2a$") ||
		strings.HasPrefix(hash, "$2b$") || strings.HasPrefix(hash, "$2y$")
}

// verify checks secret against the stored hash of client clientID, for
// request r, whose client's address (Config.ClientAddress) the budgets
// count it by (r may be nil). It
// returns nil on a match, ErrClientSecretMismatch (or another plain error)
// for a credential that does not prove the client, and an *Error for a
// refusal that is no verdict: throttled (429) or unavailable (503).
func (v *secretVerifier) verify(ctx context.Context, clientID, hash, secret string, r *http.Request) error {
	if !isSlowHash(hash) {
		return VerifyClientSecret(hash, secret)
	}
	if secret == "" {
		return ErrClientSecretMismatch
	}
	mac := v.mac(secret)
	now := v.clock()
	switch v.recognition(clientID, hash, mac, now) {
	case recognisedFresh:
		return nil
	case recognisedAgeing:
		v.recognise(clientID, hash, mac, now) // in use: keep it
		return nil
	}
	if err := v.verifySlow(ctx, clientID, hash, secret, v.addressOf(r), now); err != nil {
		return err
	}
	v.recognise(clientID, hash, mac, now)
	return nil
}

// verifyUnknown spends on a request that names an unknown client what
// verify spends on a wrong secret for a client with a slow-hashed secret,
// and then fails.
func (v *secretVerifier) verifyUnknown(ctx context.Context, secret, addr string) error {
	if err := v.verifySlow(ctx, unknownClient, dummySlowHash(), secret, addr, v.clock()); err != nil {
		return err
	}
	return ErrClientSecretMismatch // a dummy hash cannot match
}

// verifySlow counts the attempt against its budgets, then verifies it
// under the concurrency bound.
func (v *secretVerifier) verifySlow(ctx context.Context, clientID, hash, secret, addr string, now time.Time) error {
	if v.limit >= 0 {
		budgets := [...]struct {
			key   string
			limit int64
		}{
			{budgetKey("client-secret-address", "", addr), wideBudget * v.limit},
			{budgetKey("client-secret", clientID, addr), v.limit},
			{budgetKey("client-secret", clientID, ""), wideBudget * v.limit},
		}
		n := len(budgets)
		if clientID == unknownClient {
			n-- // no budget of their own for made-up ids
		}
		for _, b := range budgets[:n] {
			count, reset, err := v.limiter.Take(ctx, b.key, v.window, now)
			if err != nil {
				return StorageError("client authentication could not be completed", err)
			}
			if count > b.limit {
				if count == b.limit+1 { // log once a window, not once a request
					v.logger.LogAttrs(ctx, slog.LevelWarn, "client secret attempts throttled",
						slog.String("client_id", clientID), slog.String("address", addr),
						slog.Int64("limit", b.limit), slog.Duration("window", v.window))
				}
				if clientID != unknownClient {
					v.emit(ctx, Event{Type: EventClientAuthThrottled, ClientID: clientID})
				}
				return tooManyRequests(ErrInvalidClient, "too many attempts at client secrets; try again later", reset.Sub(now))
			}
		}
	}
	if err := v.acquire(ctx); err != nil {
		return err
	}
	defer func() { <-v.gate }()
	return VerifyClientSecret(hash, secret)
}

// acquire takes a slow-hash slot, waiting at most gateWait.
func (v *secretVerifier) acquire(ctx context.Context) error {
	select {
	case v.gate <- struct{}{}:
		return nil
	default:
	}
	t := time.NewTimer(v.gateWait)
	defer t.Stop()
	select {
	case v.gate <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		if v.busyLog.due(time.Now()) {
			v.logger.LogAttrs(ctx, slog.LevelWarn, "client secret verifications refused: every slow-hash slot is busy",
				slog.Int64("refused_since_last_report", v.busyLog.taken()))
		}
		return &Error{Code: ErrTemporarilyUnavailable, Description: "the server is busy; try again later",
			Status: http.StatusServiceUnavailable, Header: retryAfter(time.Second)}
	}
}

// mac is the recognition MAC of a secret: HMAC-SHA-256 under the process's
// key. It runs on every request of a recognised client, so its hash comes
// from a pool and a short secret is copied on the stack, not the heap.
func (v *secretVerifier) mac(secret string) [sha256.Size]byte {
	m := v.macs.Get().(hash.Hash)
	m.Reset()
	var buf [128]byte
	if len(secret) <= len(buf) {
		n := copy(buf[:], secret)
		m.Write(buf[:n])
		clear(buf[:n])
	} else {
		m.Write([]byte(secret))
	}
	var out [sha256.Size]byte
	m.Sum(out[:0])
	m.Reset() // nothing of the secret stays in the pooled state
	v.macs.Put(m)
	return out
}

// Answers of recognition.
const (
	unrecognised = iota
	recognisedFresh
	recognisedAgeing // past half its life: renew it
)

// recognition reports whether secret's MAC is recognised for the client
// and its stored hash.
func (v *secretVerifier) recognition(clientID, hash string, mac [sha256.Size]byte, now time.Time) int {
	v.mu.RLock()
	r, ok := v.recognised[clientID]
	v.mu.RUnlock()
	if !ok || !now.Before(r.expires) || r.hash != hash || !hmac.Equal(r.mac[:], mac[:]) {
		return unrecognised
	}
	// Renewed at most once per half lifetime, so that a client in
	// constant use takes the write lock rarely.
	if r.expires.Sub(now) < v.recognitionTTL/2 {
		return recognisedAgeing
	}
	return recognisedFresh
}

// recognise remembers a verified secret. At the bound, expired entries go
// first, then arbitrary ones: a client pushed out is verified slowly once
// more, which costs time, never access.
func (v *secretVerifier) recognise(clientID, hash string, mac [sha256.Size]byte, now time.Time) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if _, ok := v.recognised[clientID]; !ok && len(v.recognised) >= v.maxRecognised {
		for id, r := range v.recognised {
			if !now.Before(r.expires) {
				delete(v.recognised, id)
			}
		}
		for id := range v.recognised {
			if len(v.recognised) < v.maxRecognised {
				break
			}
			delete(v.recognised, id)
		}
	}
	v.recognised[clientID] = recognition{hash: hash, mac: mac, expires: now.Add(v.recognitionTTL)}
}

// dummySlowHash returns an argon2id hash of HashClientSecret's cost that
// no secret matches (its salt and key are random and forgotten), made on
// first use.
var dummySlowHash = sync.OnceValue(func() string {
	var seed [32]byte
	_, _ = rand.Read(seed[:])
	h, err := HashClientSecret(string(seed[:]))
	if err != nil {
		// Cannot happen: the secret is not empty and rand.Read does not
		// fail. A hash no secret matches keeps the cost.
		return hashPrefixArgon2id
	}
	return h
})
