package token

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
)

// Rotator rotates the signing key of a KeySet on a schedule, in the three
// phases that keep every live token verifiable (OpenID Connect Core
// §10.1.1; RFC 7517 §5; FAPI 2.0 §5.4.1):
//
//  1. publish: PublishAhead before the current key has signed for
//     Interval, a new key is generated and added to the set: it is in the
//     JWK Set but does not sign, so that resource servers caching the JWK
//     Set learn it before they meet a token it signed;
//  2. sign: once the current key has signed for Interval and the new key
//     has been published for PublishAhead, the new key is promoted; the
//     old key stays published and keeps verifying;
//  3. retire: RetireAfter after a key stopped signing, when the last token
//     it signed has expired, it is removed from the set.
//
// Keys that are in the set but never signed in it (verification keys
// given to NewKeySet, public keys added by hand) are removed RetireAfter
// after they were added, except the newest private one, which is the next
// signing key. A phase that comes due while nobody calls Tick happens at
// the next Tick; a late promotion or removal is always safe, and a new
// key is never promoted before it has been published for PublishAhead.
//
// The zero value is not usable: set Keys, Generate and the three
// durations. A Rotator is safe for concurrent use; Tick is idempotent.
type Rotator struct {
	// Keys is the set to rotate. Required.
	Keys *KeySet
	// Generate makes a new private signing key, for example
	// func() (jwk.Key, error) { return GenerateSigningKey(jwa.ES256) }.
	// Required.
	Generate func() (jwk.Key, error)
	// Interval is how long a key signs before the next one takes over.
	// It must exceed PublishAhead.
	Interval time.Duration
	// PublishAhead is how long a new key is published before it signs:
	// at least the time resource servers cache the JWK Set (RemoteKeys:
	// CacheTTL). Must be positive.
	PublishAhead time.Duration
	// RetireAfter is how long a key stays published after it stopped
	// signing: at least the longest access token lifetime, plus the
	// resource servers' clock leeway. Must be positive.
	RetireAfter time.Duration
	// Now returns the current time; time.Now when nil.
	Now func() time.Time
	// Logger receives the rotations and Run's errors; discarded when nil.
	Logger *slog.Logger

	mu sync.Mutex // serialises Tick
}

func (r *Rotator) validate() error {
	switch {
	case r.Keys == nil || r.Keys.load() == nil:
		return errors.New("token: Rotator.Keys is required")
	case r.Generate == nil:
		return errors.New("token: Rotator.Generate is required")
	case r.PublishAhead <= 0:
		return errors.New("token: Rotator.PublishAhead must be positive")
	case r.RetireAfter <= 0:
		return errors.New("token: Rotator.RetireAfter must be positive")
	case r.Interval <= r.PublishAhead:
		return errors.New("token: Rotator.Interval must exceed PublishAhead")
	}
	return nil
}

func (r *Rotator) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Rotator) logger() *slog.Logger {
	if r.Logger != nil {
		return r.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// Tick applies whatever phase of rotation (RFC 7517 §5) is due now: promote the next
// key, publish a new one, remove retired ones. Calling it again at the
// same time changes nothing. It is an error when the Rotator is not
// configured correctly, Generate fails or returns a key that cannot sign;
// the phases done before the error stay done.
func (r *Rotator) Tick(ctx context.Context) error {
	if err := r.validate(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	log := r.logger()

	plan := planRotation(r.Keys.Keys(), now, r.schedule())
	if plan.promote != "" {
		if err := r.Keys.promoteAt(plan.promote, now); err != nil {
			return fmt.Errorf("token: promoting key: %w", err)
		}
		log.InfoContext(ctx, "token: signing key promoted", "kid", plan.promote, "previous", plan.demote)
	}
	if plan.publish {
		k, err := r.Generate()
		if err != nil {
			return fmt.Errorf("token: generating the next signing key: %w", err)
		}
		e, err := newKeyEntry(k)
		if err != nil {
			return fmt.Errorf("token: generated key: %w", err)
		}
		if e.signer == nil {
			return errors.New("token: Rotator.Generate returned a public key")
		}
		if err := r.Keys.addAt(k, now); err != nil {
			return fmt.Errorf("token: publishing the next signing key: %w", err)
		}
		log.InfoContext(ctx, "token: next signing key published", "kid", e.kid)
	}
	for _, kid := range plan.remove {
		if err := r.Keys.Remove(kid); err != nil {
			return fmt.Errorf("token: removing retired key: %w", err)
		}
		log.InfoContext(ctx, "token: retired key removed", "kid", kid)
	}
	return nil
}

func (r *Rotator) schedule() rotationSchedule {
	return rotationSchedule{interval: r.Interval, publishAhead: r.PublishAhead, retireAfter: r.RetireAfter}
}

// rotationSchedule is the three durations of a rotation (see Rotator).
type rotationSchedule struct {
	interval, publishAhead, retireAfter time.Duration
}

// rotationPlan is what a rotation does at one moment, in this order:
// promote a key (demote is the key it replaces), publish a new key,
// remove retired keys.
type rotationPlan struct {
	promote, demote string
	publish         bool
	remove          []string
}

func (p rotationPlan) empty() bool { return p.promote == "" && !p.publish && len(p.remove) == 0 }

// planRotation decides which phases of a rotation (OpenID Connect Core
// §10.1.1) are due at now for keys, the set as Keys describes it. It is
// pure, so that the in-memory Rotator and the keys kept in a store
// (where one instance of a cluster decides for all) rotate alike.
func planRotation(keys []KeyInfo, now time.Time, s rotationSchedule) rotationPlan {
	var plan rotationPlan
	cur, next := currentAndNext(keys)
	if cur == nil {
		return plan
	}
	// Phase 2: the next key signs once the current one has signed for
	// the interval and the next has been published for publishAhead.
	if next != nil && !now.Before(cur.Promoted.Add(s.interval)) && !now.Before(next.Added.Add(s.publishAhead)) {
		plan.promote, plan.demote = next.KeyID, cur.KeyID
		cur.Signing, cur.Demoted = false, now
		next.Signing, next.Promoted = true, now
		cur, next = currentAndNext(keys)
	}
	// Phase 1: publish the next key publishAhead before it is needed.
	if next == nil && !now.Before(cur.Promoted.Add(s.interval-s.publishAhead)) {
		plan.publish = true
	}
	// Phase 3: remove keys whose tokens have all expired. The next key
	// (newly published or not yet promoted) is kept.
	for i := range keys {
		k := &keys[i]
		if k.Signing || k == next {
			continue
		}
		since := k.Demoted
		if since.IsZero() {
			since = k.Added
		}
		if !now.Before(since.Add(s.retireAfter)) {
			plan.remove = append(plan.remove, k.KeyID)
		}
	}
	return plan
}

// currentAndNext returns the signing key of keys and the next one: the
// most recently added private key that has never signed in the set, if
// any. They point into keys.
func currentAndNext(keys []KeyInfo) (cur, next *KeyInfo) {
	for i := range keys {
		k := &keys[i]
		switch {
		case k.Signing:
			cur = k
		case k.Private && k.Promoted.IsZero():
			if next == nil || !k.Added.Before(next.Added) {
				next = k
			}
		}
	}
	return cur, next
}

// Run rotates the keys (RFC 7517 §5): it calls Tick at once and then
// periodically (a quarter of the shortest
// of PublishAhead and RetireAfter, between one second and one minute)
// until ctx is done, and returns ctx's error. An invalid configuration is
// returned at once; other errors of Tick are logged and retried at the
// next tick.
func (r *Rotator) Run(ctx context.Context) error {
	if err := r.validate(); err != nil {
		return err
	}
	period := min(r.PublishAhead, r.RetireAfter) / 4
	period = max(time.Second, min(time.Minute, period))
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		if err := r.Tick(ctx); err != nil && ctx.Err() == nil {
			r.logger().ErrorContext(ctx, "token: key rotation", "err", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}
