package token

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"

	"github.com/grantor-dev/grantor/storage"
)

// Defaults and bounds of StoredKeysConfig.
const (
	// DefaultReloadInterval is how often stored keys are read again
	// when StoredKeysConfig.ReloadInterval is zero.
	DefaultReloadInterval = 10 * time.Second
	// MinReloadInterval is the shortest ReloadInterval, and the shortest
	// time between two reloads caused by tokens whose kid is unknown:
	// made-up kids cannot turn into a storm of store reads.
	MinReloadInterval = time.Second
)

// StoredKeysConfig configures keys kept in a storage.KeyStore, shared by
// every instance over that store and surviving restarts: the HMAC keys of
// opaque tokens (OpenStoredMACKeys) and the signing keys of JWT access
// tokens (OpenStoredSigningKeys).
//
// The keys are rotated in the three phases of Rotator (publish, sign,
// retire; OpenID Connect Core §10.1.1), decided once for the whole cluster:
// the instance whose write of the set wins the store's compare-and-set
// rotates, the others find the rotation done when they read the set.
type StoredKeysConfig struct {
	// Store keeps the key set. Required.
	Store storage.KeyStore
	// Secrets seal the keys' private material before it reaches the
	// store (XChaCha20-Poly1305 under a key derived with HKDF-SHA256):
	// the first seals, every one opens. Each has at least
	// MinSealingSecretLen bytes from a secure random source. To rotate
	// the secret, put a new one first and keep the old one after it:
	// Tick seals every key again with the new one, after which the old
	// one can go. (Over a cluster, add the new one last everywhere
	// first: instances whose lists start differently seal the keys back
	// and forth until they agree.) Required.
	Secrets [][]byte
	// Name is the key set's name in the store; "opaque" for
	// OpenStoredMACKeys and "jwt" for OpenStoredSigningKeys when empty.
	Name string
	// Algorithm is the JWS algorithm of new signing keys
	// (OpenStoredSigningKeys only); ES256 when empty.
	Algorithm string
	// Interval is how long a key signs before the next one takes over;
	// zero means that keys are rotated only by hand (Rotate). When set,
	// it exceeds PublishAhead.
	Interval time.Duration
	// PublishAhead is how long a new key verifies before it signs, so
	// that every instance (and every resource server caching the JWK
	// Set) knows it first. At least twice ReloadInterval, and for
	// signing keys at least the time resource servers cache the JWK Set.
	// Required.
	PublishAhead time.Duration
	// RetireAfter is how long a key keeps verifying after it stopped
	// signing: at least the longest lifetime of what it signed (for MAC
	// keys the Provider's MaxRefreshTokenLifetime, an idle lifetime that
	// each refresh starts again, and the lifetimes of codes; for signing
	// keys MaxAccessTokenLifetime), plus ReloadInterval (instances that
	// have not yet read the rotation still sign with the key) and clock
	// leeway. Required.
	RetireAfter time.Duration
	// ReloadInterval is how often the set is read again from the store,
	// to learn the rotations other instances made; DefaultReloadInterval
	// when zero, at least MinReloadInterval.
	ReloadInterval time.Duration
	// Now returns the current time; time.Now when nil.
	Now func() time.Time
	// Logger receives rotations, reloads and their errors; discarded
	// when nil. Keys and secrets are never logged.
	Logger *slog.Logger
	// Rand is the source of new keys and nonces; crypto/rand when nil.
	Rand io.Reader
}

// StoredKeys is what StoredMACKeys and StoredSigningKeys share: a key set
// read from a storage.KeyStore, opened with the configured secrets, and
// rotated and reloaded for the whole cluster. Its methods are safe for
// concurrent use.
type StoredKeys struct {
	store       storage.KeyStore
	name, alg   string
	sealer      *sealer
	schedule    rotationSchedule
	reloadEvery time.Duration
	now         func() time.Time
	log         *slog.Logger
	rand        io.Reader

	// generate makes a new key: its ID and its material.
	generate func() (id string, material []byte, err error)
	// install makes the opened keys the ones in use, signing key first.
	install func(keys []openedKey) error

	mu      sync.Mutex // serialises reads and writes of the set
	version int64
	keys    []openedKey // as last read or written, in stored order

	// The reads for unknown kids: at most one a MinReloadInterval, which
	// the callers that meet an unknown kid meanwhile wait for, and no
	// caller waits for s.mu unless it is that read's.
	flightMu    sync.Mutex
	flight      chan struct{} // closed when the read in flight is done; nil when none
	lastAttempt time.Time     // when the last such read started, by now()
}

// openedKey is a stored key and its material, opened.
type openedKey struct {
	rec      storage.StoredKey
	material []byte
	stale    bool // sealed with a secret other than the first
}

func newStoredKeys(cfg StoredKeysConfig, defaultName, alg string) (*StoredKeys, error) {
	s := &StoredKeys{
		store: cfg.Store, name: cmp.Or(cfg.Name, defaultName), alg: alg,
		schedule:    rotationSchedule{interval: cfg.Interval, publishAhead: cfg.PublishAhead, retireAfter: cfg.RetireAfter},
		reloadEvery: cmpOr(cfg.ReloadInterval, DefaultReloadInterval),
		now:         cfg.Now, log: cfg.Logger, rand: cfg.Rand,
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.rand == nil {
		s.rand = rand.Reader
	}
	switch {
	case cfg.Store == nil:
		return nil, errors.New("token: StoredKeysConfig.Store is required")
	case len(cfg.Secrets) == 0:
		return nil, errors.New("token: StoredKeysConfig.Secrets needs at least one secret")
	case s.reloadEvery < MinReloadInterval:
		return nil, fmt.Errorf("token: StoredKeysConfig.ReloadInterval is shorter than %v", MinReloadInterval)
	case cfg.PublishAhead < 2*s.reloadEvery:
		return nil, fmt.Errorf("token: StoredKeysConfig.PublishAhead must be at least twice ReloadInterval (%v), "+
			"so that every instance knows a key before it signs", s.reloadEvery)
	case cfg.RetireAfter <= 0:
		return nil, errors.New("token: StoredKeysConfig.RetireAfter must be positive")
	case cfg.Interval < 0 || (cfg.Interval > 0 && cfg.Interval <= cfg.PublishAhead):
		return nil, errors.New("token: StoredKeysConfig.Interval must be zero (rotation by hand) or exceed PublishAhead")
	}
	var err error
	if s.sealer, err = newSealer(cfg.Secrets, s.rand); err != nil {
		return nil, err
	}
	return s, nil
}

// start reads the set and installs it; a set never written (or one left
// without a signing key) gets a new signing key first.
func (s *StoredKeys) start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range 3 {
		set, err := s.store.LoadKeySet(ctx, s.name)
		if err != nil {
			return fmt.Errorf("token: reading key set %q: %w", s.name, err)
		}
		if hasSigningKey(set.Keys) {
			return s.useLocked(set)
		}
		// Keep the keys that verify, and add one that signs. Of
		// instances starting together, one writes it.
		if err := s.openLocked(set); err != nil {
			return err
		}
		id, material, err := s.generate()
		if err != nil {
			return fmt.Errorf("token: generating the first key of set %q: %w", s.name, err)
		}
		now := s.now()
		k, err := s.newKey(id, material, storage.KeySigning, now)
		if err != nil {
			return err
		}
		k.rec.Promoted = now
		keys := append(s.keys, k)
		err = s.saveLocked(ctx, keys)
		if errors.Is(err, storage.ErrVersionConflict) {
			continue
		}
		if err != nil {
			return err
		}
		s.log.InfoContext(ctx, "token: first key of the set created", "set", s.name, "kid", id)
		return nil
	}
	return fmt.Errorf("token: key set %q keeps changing under us: %w", s.name, storage.ErrVersionConflict)
}

// checkStoredSet refuses a set that a KeyStore may not hold (see
// storage.CheckKeySet: a store written around Grantor, by hand or from an
// old backup, may hold anything) or that has no signing key.
func checkStoredSet(name string, set storage.StoredKeySet) error {
	if err := storage.CheckKeySet(name, set.Version, set.Keys); err != nil {
		return fmt.Errorf("token: key set %q as stored is refused: %w", name, err)
	}
	if !hasSigningKey(set.Keys) {
		return fmt.Errorf("token: key set %q has no signing key", name)
	}
	return nil
}

// sameKeys reports whether stored holds the keys of opened, the same IDs,
// states and sealed bytes in the same order: a set restored to a version
// it already had is read again.
func sameKeys(stored []storage.StoredKey, opened []openedKey) bool {
	if len(stored) != len(opened) {
		return false
	}
	for i, k := range stored {
		o := opened[i].rec
		if k.ID != o.ID || k.State != o.State || !k.Added.Equal(o.Added) || !k.Promoted.Equal(o.Promoted) ||
			!k.Retired.Equal(o.Retired) || !bytes.Equal(k.Sealed, o.Sealed) {
			return false
		}
	}
	return true
}

func hasSigningKey(keys []storage.StoredKey) bool {
	for _, k := range keys {
		if k.State == storage.KeySigning {
			return true
		}
	}
	return false
}

// newKey seals material as a new key of the set.
func (s *StoredKeys) newKey(id string, material []byte, state storage.KeyState, now time.Time) (openedKey, error) {
	sealed, err := s.sealer.seal(s.name, id, s.alg, material)
	if err != nil {
		return openedKey{}, err
	}
	return openedKey{
		rec:      storage.StoredKey{ID: id, Algorithm: s.alg, State: state, Sealed: sealed, Added: now},
		material: material,
	}, nil
}

// openLocked opens every key of set into s.keys and s.version, reusing
// the material of keys whose sealed bytes have not changed. A key that
// does not open (a wrong secret, altered material) fails it all: nothing
// of set is used.
func (s *StoredKeys) openLocked(set storage.StoredKeySet) error {
	old := make(map[string]*openedKey, len(s.keys))
	for i := range s.keys {
		old[s.keys[i].rec.ID] = &s.keys[i]
	}
	keys := make([]openedKey, 0, len(set.Keys))
	for _, rec := range set.Keys {
		if rec.Algorithm != s.alg {
			return fmt.Errorf("token: key %q of set %q is for %q, not %q", rec.ID, s.name, rec.Algorithm, s.alg)
		}
		if o := old[rec.ID]; o != nil && bytes.Equal(o.rec.Sealed, rec.Sealed) {
			keys = append(keys, openedKey{rec: rec, material: o.material, stale: o.stale})
			continue
		}
		material, stale, err := s.sealer.open(s.name, rec.ID, rec.Algorithm, rec.Sealed)
		if err != nil {
			return err
		}
		keys = append(keys, openedKey{rec: rec, material: material, stale: stale})
	}
	s.keys, s.version = keys, set.Version
	return nil
}

// useLocked opens set and installs it, unless it is the version in use.
func (s *StoredKeys) useLocked(set storage.StoredKeySet) error {
	if set.Version == s.version && s.keys != nil && sameKeys(set.Keys, s.keys) {
		return nil
	}
	if err := checkStoredSet(s.name, set); err != nil {
		return err
	}
	prevKeys, prevVersion := s.keys, s.version
	if err := s.openLocked(set); err != nil {
		s.keys, s.version = prevKeys, prevVersion
		return err
	}
	if err := s.install(signingFirst(s.keys)); err != nil {
		s.keys, s.version = prevKeys, prevVersion
		return fmt.Errorf("token: key set %q: %w", s.name, err)
	}
	return nil
}

// saveLocked writes keys as the next version of the set and installs
// them. A lost compare-and-set is ErrVersionConflict, and changes nothing.
func (s *StoredKeys) saveLocked(ctx context.Context, keys []openedKey) error {
	recs := make([]storage.StoredKey, len(keys))
	for i := range keys {
		recs[i] = keys[i].rec
	}
	v, err := s.store.SaveKeySet(ctx, s.name, s.version, recs)
	if err != nil {
		return fmt.Errorf("token: writing key set %q: %w", s.name, err)
	}
	if err := s.install(signingFirst(keys)); err != nil {
		// The set is written; the next reload installs it or reports why.
		s.keys, s.version = nil, 0
		return fmt.Errorf("token: key set %q: %w", s.name, err)
	}
	s.keys, s.version = keys, v
	return nil
}

// signingFirst returns keys with the signing key first, then the others
// in stored order.
func signingFirst(keys []openedKey) []openedKey {
	out := make([]openedKey, 0, len(keys))
	for _, k := range keys {
		if k.rec.State == storage.KeySigning {
			out = append(out, k)
		}
	}
	for _, k := range keys {
		if k.rec.State != storage.KeySigning {
			out = append(out, k)
		}
	}
	return out
}

// Reload reads the key set from the store and, when another instance
// changed it, uses its keys from now on. A set that cannot be opened (a
// key sealed with an unknown secret, or altered in the store) is refused:
// the keys in use stay, and the error says why.
func (s *StoredKeys) Reload(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reloadLocked(ctx)
}

func (s *StoredKeys) reloadLocked(ctx context.Context) error {
	set, err := s.store.LoadKeySet(ctx, s.name)
	if err != nil {
		return fmt.Errorf("token: reading key set %q: %w", s.name, err)
	}
	return s.useLocked(set)
}

// reloadForUnknownKey reloads the set when a token names a key this
// instance does not know, at most once per MinReloadInterval: a key
// another instance just added is learnt at once, and tokens with made-up
// kids cost at most one store read a second. Callers that meet an unknown
// kid while such a read is in flight wait for it (or for ctx); the others
// within the interval return at once, without a lock.
func (s *StoredKeys) reloadForUnknownKey(ctx context.Context) error {
	s.flightMu.Lock()
	if f := s.flight; f != nil {
		s.flightMu.Unlock()
		select {
		case <-f:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	now := s.now()
	if elapsed := now.Sub(s.lastAttempt); !s.lastAttempt.IsZero() && elapsed >= 0 && elapsed < MinReloadInterval {
		s.flightMu.Unlock()
		return nil
	}
	f := make(chan struct{})
	s.flight, s.lastAttempt = f, now
	s.flightMu.Unlock()
	defer func() {
		s.flightMu.Lock()
		s.flight = nil
		s.flightMu.Unlock()
		close(f)
	}()
	// The read serves every caller that waits for it: the first one
	// going away (a cancelled request) does not cancel it.
	readCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), unknownKeyReadTimeout)
	defer cancel()
	return s.Reload(readCtx)
}

// unknownKeyReadTimeout bounds the store read for an unknown kid, which
// requests wait for.
const unknownKeyReadTimeout = 5 * time.Second

// Tick reads the set and applies whatever phase of rotation is due now
// (see Rotator), for the whole cluster: when another instance has just
// done it, Tick finds it done. Keys sealed with a secret other than the
// first are sealed again with the first. Calling it again at the same
// time changes nothing.
func (s *StoredKeys) Tick(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.reloadLocked(ctx); err != nil {
		return err
	}
	now := s.now()
	var plan rotationPlan
	if s.schedule.interval > 0 {
		plan = planRotation(s.infos(), now, s.schedule)
	} else {
		// Rotation by hand only: retired keys still go when their tokens
		// have expired.
		plan.remove = planRotation(s.infos(), now, rotationSchedule{
			interval: 1<<63 - 1, publishAhead: s.schedule.publishAhead, retireAfter: s.schedule.retireAfter,
		}).remove
	}
	reseal := false
	for _, k := range s.keys {
		reseal = reseal || k.stale
	}
	if plan.empty() && !reseal {
		return nil
	}
	keys, err := s.applyPlan(plan, now)
	if err != nil {
		return err
	}
	err = s.saveLocked(ctx, keys)
	if errors.Is(err, storage.ErrVersionConflict) {
		// Another instance decided first; use what it wrote.
		s.log.DebugContext(ctx, "token: another instance rotated the key set first", "set", s.name)
		return s.reloadLocked(ctx)
	}
	if err != nil {
		return err
	}
	if plan.promote != "" {
		s.log.InfoContext(ctx, "token: signing key promoted", "set", s.name, "kid", plan.promote, "previous", plan.demote)
	}
	if plan.publish {
		s.log.InfoContext(ctx, "token: next key published", "set", s.name, "kid", keys[len(keys)-1].rec.ID)
	}
	for _, id := range plan.remove {
		s.log.InfoContext(ctx, "token: retired key removed", "set", s.name, "kid", id)
	}
	if reseal {
		s.log.InfoContext(ctx, "token: keys sealed again with the first secret", "set", s.name)
	}
	return nil
}

// applyPlan returns the keys as plan leaves them, every key sealed with
// the first secret.
func (s *StoredKeys) applyPlan(plan rotationPlan, now time.Time) ([]openedKey, error) {
	keys := make([]openedKey, 0, len(s.keys)+1)
	for _, k := range s.keys {
		switch k.rec.ID {
		case plan.promote:
			k.rec.State, k.rec.Promoted, k.rec.Retired = storage.KeySigning, now, time.Time{}
		case plan.demote:
			k.rec.State, k.rec.Retired = storage.KeyRetired, now
		}
		removed := false
		for _, id := range plan.remove {
			removed = removed || id == k.rec.ID
		}
		if removed {
			continue
		}
		if k.stale {
			sealed, err := s.sealer.seal(s.name, k.rec.ID, k.rec.Algorithm, k.material)
			if err != nil {
				return nil, err
			}
			k.rec.Sealed, k.stale = sealed, false
		}
		keys = append(keys, k)
	}
	if plan.publish {
		id, material, err := s.generate()
		if err != nil {
			return nil, fmt.Errorf("token: generating the next key of set %q: %w", s.name, err)
		}
		k, err := s.newKey(id, material, storage.KeyPublished, now)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// infos describes the keys as the rotation plan reads them.
func (s *StoredKeys) infos() []KeyInfo {
	out := make([]KeyInfo, len(s.keys))
	for i, k := range s.keys {
		out[i] = KeyInfo{
			KeyID: k.rec.ID, Private: true, Signing: k.rec.State == storage.KeySigning,
			Added: k.rec.Added, Promoted: k.rec.Promoted, Demoted: k.rec.Retired,
		}
	}
	return out
}

// Rotate makes a new key sign at once, for the whole cluster: the one that
// signed is retired and keeps verifying for RetireAfter. Use it when a
// key may have leaked, after removing that key's tokens' reason to live;
// scheduled rotation (Interval) publishes keys ahead instead. Other
// instances learn the new key at their next reload: at once for a JWT
// that names it, within ReloadInterval for an opaque token, which names
// no key (until then they find such a token invalid).
func (s *StoredKeys) Rotate(ctx context.Context) error {
	var id string
	err := s.change(ctx, func() ([]openedKey, error) {
		newID, material, err := s.generate()
		if err != nil {
			return nil, fmt.Errorf("token: generating a key of set %q: %w", s.name, err)
		}
		now := s.now()
		next, err := s.newKey(newID, material, storage.KeySigning, now)
		if err != nil {
			return nil, err
		}
		next.rec.Promoted = now
		keys := make([]openedKey, 0, len(s.keys)+1)
		for _, k := range s.keys {
			if k.rec.State == storage.KeySigning {
				k.rec.State, k.rec.Retired = storage.KeyRetired, now
			}
			keys = append(keys, k)
		}
		id = newID
		return append(keys, next), nil
	})
	if err == nil {
		s.log.InfoContext(ctx, "token: key rotated by hand", "set", s.name, "kid", id)
	}
	return err
}

// change reads the set, makes the keys change returns of it and writes
// them; when another instance wrote first, it reads again and tries
// again, a few times.
func (s *StoredKeys) change(ctx context.Context, change func() ([]openedKey, error)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range 3 {
		if err := s.reloadLocked(ctx); err != nil {
			return err
		}
		keys, err := change()
		if err != nil {
			return err
		}
		err = s.saveLocked(ctx, keys)
		if !errors.Is(err, storage.ErrVersionConflict) {
			return err
		}
	}
	return fmt.Errorf("token: key set %q keeps changing under us: %w", s.name, storage.ErrVersionConflict)
}

// Remove takes the key with id out of the set at once, for the whole
// cluster: the tokens it signed stop verifying at every instance within
// ReloadInterval (a key that may have leaked need not wait for
// RetireAfter). The signing key cannot be removed: Rotate first. Removing
// a key that is not in the set is an error.
func (s *StoredKeys) Remove(ctx context.Context, id string) error {
	err := s.change(ctx, func() ([]openedKey, error) {
		keys := make([]openedKey, 0, len(s.keys))
		for _, k := range s.keys {
			if k.rec.ID != id {
				keys = append(keys, k)
			} else if k.rec.State == storage.KeySigning {
				return nil, fmt.Errorf("token: key %q of set %q signs: rotate before removing it", id, s.name)
			}
		}
		if len(keys) == len(s.keys) {
			return nil, fmt.Errorf("token: no key %q in set %q", id, s.name)
		}
		return keys, nil
	})
	if err == nil {
		s.log.InfoContext(ctx, "token: key removed by hand", "set", s.name, "kid", id)
	}
	return err
}

// Keys describes the keys of the set as last read, signing key first
// (see KeySet.Keys).
func (s *StoredKeys) Keys() []KeyInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	infos := s.infos()
	out := make([]KeyInfo, 0, len(infos))
	for _, k := range infos {
		if k.Signing {
			out = append(out, k)
		}
	}
	for _, k := range infos {
		if !k.Signing {
			out = append(out, k)
		}
	}
	for i := range out {
		out[i].Algorithm = jwa.SignatureAlgorithm(s.alg)
	}
	return out
}

// Run calls Tick at once and then every ReloadInterval until ctx is done,
// and returns ctx's error. Errors of Tick are logged and tried again at
// the next tick; the keys in use stay meanwhile.
func (s *StoredKeys) Run(ctx context.Context) error {
	t := time.NewTicker(s.reloadEvery)
	defer t.Stop()
	for {
		if err := s.Tick(ctx); err != nil && ctx.Err() == nil {
			s.log.ErrorContext(ctx, "token: stored keys", "set", s.name, "err", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// randomKeyID returns 128 random bits, base64url: the ID of an HMAC key.
func randomKeyID(r io.Reader) (string, error) {
	var b [16]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}
