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
// knows it is never locked out by anyone else's failures:
//
//   - A secret hashed with a fast keyed hash (GenerateClientSecret) is
//     verified directly. It has 256 random bits: it cannot be guessed, so
//     it needs no throttle, and its check costs microseconds.
//   - A secret hashed with a slow hash (argon2id, bcrypt) that this
//     instance verified lately for this client is recognised by an
//     HMAC-SHA-256 of the secret under a key of this process, kept with
//     the stored hash it was verified against: no slow hash, no throttle.
//     A change of the stored hash ends the recognition.
//   - Any other attempt at a slow-hashed secret is counted in the Limiter
//     before it is verified; beyond the limit it is refused with 429
//     without a check. Those that are verified run under a bounded
//     concurrency, so that no flood can take more memory than
//     slowHashConcurrency hashes.
//
// A request that names an unknown client with a secret goes through the
// last path against a dummy argon2id hash of the same cost as
// HashClientSecret's, so that it cannot be told from a wrong secret by its
// answer, its throttling or its timing.
type secretVerifier struct {
	limiter storage.Limiter
	limit   int64 // attempts per window; negative: no throttle
	window  time.Duration
	clock   func() time.Time

	gate     chan struct{} // one token per slow hash running
	gateWait time.Duration

	macs           sync.Pool // of HMAC-SHA-256 hashes keyed with a random key of the process
	mu             sync.RWMutex
	recognised     map[string]recognition // by client id
	maxRecognised  int
	recognitionTTL time.Duration

	logger *slog.Logger
	emit   func(context.Context, Event)
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
	// without a slow hash.
	recognitionLifetime = time.Hour
	// secretThrottleKey namespaces the Limiter keys of secret attempts.
	secretThrottleKey = "client-secret:"
)

func newSecretVerifier(limiter storage.Limiter, limit int, window time.Duration, concurrency int, clock func() time.Time,
	logger *slog.Logger, emit func(context.Context, Event)) (*secretVerifier, error) {
	v := &secretVerifier{
		limiter: limiter, limit: int64(limit), window: window, clock: clock,
		gate: make(chan struct{}, concurrency), gateWait: slowHashWait,
		recognised: make(map[string]recognition), maxRecognised: maxRecognisedClients,
		recognitionTTL: recognitionLifetime, logger: logger, emit: emit,
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

// verify checks secret against the stored hash of client clientID. It
// returns nil on a match, ErrClientSecretMismatch (or another plain error)
// for a credential that does not prove the client, and an *Error for a
// refusal that is no verdict: throttled (429) or unavailable (503).
func (v *secretVerifier) verify(ctx context.Context, clientID, hash, secret string) error {
	if !isSlowHash(hash) {
		return VerifyClientSecret(hash, secret)
	}
	if secret == "" {
		return ErrClientSecretMismatch
	}
	mac := v.mac(secret)
	now := v.clock()
	if v.isRecognised(clientID, hash, mac, now) {
		return nil
	}
	if err := v.verifySlow(ctx, clientID, hash, secret, now); err != nil {
		return err
	}
	v.recognise(clientID, hash, mac, now)
	return nil
}

// verifyUnknown spends on a request that names an unknown client what
// verify spends on a wrong secret for a client with a slow-hashed secret,
// and then fails.
func (v *secretVerifier) verifyUnknown(ctx context.Context, clientID, secret string) error {
	if err := v.verifySlow(ctx, clientID, dummySlowHash(), secret, v.clock()); err != nil {
		return err
	}
	return ErrClientSecretMismatch // a dummy hash cannot match
}

// verifySlow counts the attempt, then verifies it under the concurrency
// bound.
func (v *secretVerifier) verifySlow(ctx context.Context, clientID, hash, secret string, now time.Time) error {
	if v.limit >= 0 {
		n, reset, err := v.limiter.Take(ctx, secretThrottleKey+clientID, v.window, now)
		if err != nil {
			return StorageError("client authentication could not be completed", err)
		}
		if n > v.limit {
			if n == v.limit+1 { // log once a window, not once a request
				v.logger.LogAttrs(ctx, slog.LevelWarn, "client secret attempts throttled",
					slog.String("client_id", clientID), slog.Int64("limit", v.limit), slog.Duration("window", v.window))
			}
			v.emit(ctx, Event{Type: EventClientAuthThrottled, ClientID: clientID})
			return tooManyRequests(ErrInvalidClient, "too many attempts at this client's secret; try again later", reset.Sub(now))
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
		v.logger.LogAttrs(ctx, slog.LevelWarn, "client secret verification refused: every slow-hash slot is busy")
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

func (v *secretVerifier) isRecognised(clientID, hash string, mac [sha256.Size]byte, now time.Time) bool {
	v.mu.RLock()
	r, ok := v.recognised[clientID]
	v.mu.RUnlock()
	return ok && now.Before(r.expires) && r.hash == hash && hmac.Equal(r.mac[:], mac[:])
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
