package token_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/storage"
	"github.com/grantor-dev/grantor/storage/memory"
	"github.com/grantor-dev/grantor/token"
)

const (
	skInterval     = 24 * time.Hour
	skPublishAhead = time.Hour
	skRetireAfter  = 2 * time.Hour
	skReload       = 10 * time.Second
)

func newSecret(t *testing.T) []byte {
	t.Helper()
	b := make([]byte, 32)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return b
}

// countingKeyStore counts the reads and the winning writes of a KeyStore.
type countingKeyStore struct {
	storage.KeyStore
	loads, saves atomic.Int64
}

func (s *countingKeyStore) LoadKeySet(ctx context.Context, name string) (storage.StoredKeySet, error) {
	s.loads.Add(1)
	return s.KeyStore.LoadKeySet(ctx, name)
}

func (s *countingKeyStore) SaveKeySet(ctx context.Context, name string, version int64, keys []storage.StoredKey) (int64, error) {
	v, err := s.KeyStore.SaveKeySet(ctx, name, version, keys)
	if err == nil {
		s.saves.Add(1)
	}
	return v, err
}

func storedConfig(store storage.KeyStore, clock *fakeClock, secrets ...[]byte) token.StoredKeysConfig {
	return token.StoredKeysConfig{
		Store:          store,
		Secrets:        secrets,
		Interval:       skInterval,
		PublishAhead:   skPublishAhead,
		RetireAfter:    skRetireAfter,
		ReloadInterval: skReload,
		Now:            clock.Now,
	}
}

func openSigning(t *testing.T, cfg token.StoredKeysConfig) *token.StoredSigningKeys {
	t.Helper()
	s, err := token.OpenStoredSigningKeys(t.Context(), cfg)
	require.NoError(t, err)
	return s
}

func openMAC(t *testing.T, cfg token.StoredKeysConfig) *token.StoredMACKeys {
	t.Helper()
	s, err := token.OpenStoredMACKeys(t.Context(), cfg)
	require.NoError(t, err)
	return s
}

func storedJWT(t *testing.T, keys token.KeySource) *token.JWT {
	t.Helper()
	j, err := token.NewJWT(token.JWTConfig{Keys: keys, Issuer: testIssuer})
	require.NoError(t, err)
	return j
}

func storedOpaque(t *testing.T, keys *token.StoredMACKeys) *token.Opaque {
	t.Helper()
	o, err := token.NewOpaqueWithKeys("gr_at_", keys.MACKeySet())
	require.NoError(t, err)
	return o
}

func signingID(keys []token.KeyInfo) string {
	for _, k := range keys {
		if k.Signing {
			return k.KeyID
		}
	}
	return ""
}

func TestStoredKeysSurviveARestart(t *testing.T) {
	store := memory.New()
	clock := &fakeClock{t: time.Now()}
	secret := newSecret(t)
	cfg := storedConfig(store, clock, secret)

	jwtA := storedJWT(t, openSigning(t, cfg))
	opaqueA := storedOpaque(t, openMAC(t, cfg))
	at := mint(t, jwtA, testClaims())
	ot, sig, err := opaqueA.Generate()
	require.NoError(t, err)

	// A new process over the same store and secret: the same keys.
	jwtB := storedJWT(t, openSigning(t, cfg))
	opaqueB := storedOpaque(t, openMAC(t, cfg))
	_, err = jwtB.Parse(t.Context(), at)
	assert.NoError(t, err, "a JWT signed before the restart verifies after it")
	got, err := opaqueB.Signature(ot)
	assert.NoError(t, err, "an opaque token minted before the restart verifies after it")
	assert.Equal(t, sig, got)
	jwksA, err := jwtA.JWKS()
	require.NoError(t, err)
	jwksB, err := jwtB.JWKS()
	require.NoError(t, err)
	assert.JSONEq(t, string(jwksA), string(jwksB), "both publish the same JWK Set")
}

func TestStoredKeysAreSealed(t *testing.T) {
	store := memory.New()
	clock := &fakeClock{t: time.Now()}
	cfg := storedConfig(store, clock, newSecret(t))
	signing := openSigning(t, cfg)
	macs := openMAC(t, cfg)

	// No member of the private JWK appears in the store in the clear.
	pub := signing.PublicKeys()
	require.Equal(t, 1, pub.Len())
	sg, err := signing.Signer(t.Context())
	require.NoError(t, err)
	for _, name := range []string{"jwt", "opaque"} {
		set, err := store.LoadKeySet(t.Context(), name)
		require.NoError(t, err)
		require.Len(t, set.Keys, 1, name)
		k := set.Keys[0]
		assert.Equal(t, storage.KeySigning, k.State)
		assert.NotContains(t, string(k.Sealed), `"d"`, "%s: no JWK member in the clear", name)
		assert.NotContains(t, string(k.Sealed), `"kty"`, "%s: no JWK member in the clear", name)
	}
	set, err := store.LoadKeySet(t.Context(), "jwt")
	require.NoError(t, err)
	assert.Equal(t, sg.KeyID(), set.Keys[0].ID, "the stored key is the one that signs")
	assert.Equal(t, "ES256", set.Keys[0].Algorithm)
	assert.Equal(t, 1, macs.MACKeySet().Len())
}

func TestStoredKeysRefuseAWrongSecret(t *testing.T) {
	store := memory.New()
	clock := &fakeClock{t: time.Now()}
	openSigning(t, storedConfig(store, clock, newSecret(t)))
	openMAC(t, storedConfig(store, clock, newSecret(t)))

	wrong := newSecret(t)
	wrongID, err := token.SealingSecretID(wrong)
	require.NoError(t, err)
	_, err = token.OpenStoredSigningKeys(t.Context(), storedConfig(store, clock, wrong))
	require.ErrorIs(t, err, token.ErrUnknownSealingSecret)
	assert.Contains(t, err.Error(), `set "jwt"`, "the error names the set")
	assert.Contains(t, err.Error(), wrongID, "the error names the secret given")
	_, err = token.OpenStoredMACKeys(t.Context(), storedConfig(store, clock, wrong))
	assert.ErrorIs(t, err, token.ErrUnknownSealingSecret)
}

func TestStoredKeysRefuseAlteredCiphertext(t *testing.T) {
	alter := map[string]func(keys []storage.StoredKey){
		"a flipped bit":       func(keys []storage.StoredKey) { keys[0].Sealed[len(keys[0].Sealed)-1] ^= 1 },
		"a flipped nonce bit": func(keys []storage.StoredKey) { keys[0].Sealed[10] ^= 1 },
		"truncated":           func(keys []storage.StoredKey) { keys[0].Sealed = keys[0].Sealed[:20] },
		"another ID": func(keys []storage.StoredKey) {
			keys[0].ID = "other-kid"
		},
	}
	for name, change := range alter {
		t.Run(name, func(t *testing.T) {
			store := memory.New()
			clock := &fakeClock{t: time.Now()}
			secret := newSecret(t)
			cfg := storedConfig(store, clock, secret)
			running := openSigning(t, cfg)
			before := signingID(running.Keys())

			set, err := store.LoadKeySet(t.Context(), "jwt")
			require.NoError(t, err)
			change(set.Keys)
			_, err = store.SaveKeySet(t.Context(), "jwt", set.Version, set.Keys)
			require.NoError(t, err)

			_, err = token.OpenStoredSigningKeys(t.Context(), cfg)
			assert.ErrorIs(t, err, token.ErrSealedKeyAltered, "a new instance refuses to start")
			assert.ErrorIs(t, running.Reload(t.Context()), token.ErrSealedKeyAltered, "a running one refuses the set")
			assert.Equal(t, before, signingID(running.Keys()), "and keeps the keys it had")
			_, err = running.Signer(t.Context())
			assert.NoError(t, err)
		})
	}
	t.Run("the sealed material of another key", func(t *testing.T) {
		store := memory.New()
		clock := &fakeClock{t: time.Now()}
		cfg := storedConfig(store, clock, newSecret(t))
		running := openSigning(t, cfg)
		require.NoError(t, running.Rotate(t.Context()))
		set, err := store.LoadKeySet(t.Context(), "jwt")
		require.NoError(t, err)
		require.Len(t, set.Keys, 2)
		set.Keys[0].Sealed, set.Keys[1].Sealed = set.Keys[1].Sealed, set.Keys[0].Sealed
		_, err = store.SaveKeySet(t.Context(), "jwt", set.Version, set.Keys)
		require.NoError(t, err)
		_, err = token.OpenStoredSigningKeys(t.Context(), cfg)
		assert.ErrorIs(t, err, token.ErrSealedKeyAltered)
	})
}

func TestStoredKeysSecretRotation(t *testing.T) {
	store := memory.New()
	clock := &fakeClock{t: time.Now()}
	oldSecret, newSecretB := newSecret(t), newSecret(t)
	first := openMAC(t, storedConfig(store, clock, oldSecret))
	tok, _, err := storedOpaque(t, first).Generate()
	require.NoError(t, err)

	// The new secret first, the old one after it: every key opens, and
	// Tick seals them again with the new one.
	both := openMAC(t, storedConfig(store, clock, newSecretB, oldSecret))
	require.NoError(t, both.Tick(t.Context()))

	// Now the old secret can go, and alone it opens nothing.
	onlyNew := openMAC(t, storedConfig(store, clock, newSecretB))
	_, err = storedOpaque(t, onlyNew).Signature(tok)
	assert.NoError(t, err, "a token from before the secret rotation still verifies")
	_, err = token.OpenStoredMACKeys(t.Context(), storedConfig(store, clock, oldSecret))
	assert.ErrorIs(t, err, token.ErrUnknownSealingSecret)
}

func TestStoredKeysConfigValidation(t *testing.T) {
	store := memory.New()
	clock := &fakeClock{t: time.Now()}
	for name, change := range map[string]func(c *token.StoredKeysConfig){
		"no store":                        func(c *token.StoredKeysConfig) { c.Store = nil },
		"no secret":                       func(c *token.StoredKeysConfig) { c.Secrets = nil },
		"a short secret":                  func(c *token.StoredKeysConfig) { c.Secrets = [][]byte{make([]byte, 31)} },
		"one secret twice":                func(c *token.StoredKeysConfig) { c.Secrets = [][]byte{c.Secrets[0], c.Secrets[0]} },
		"a reload interval under 1s":      func(c *token.StoredKeysConfig) { c.ReloadInterval = 500 * time.Millisecond },
		"publish ahead under two reloads": func(c *token.StoredKeysConfig) { c.PublishAhead = 19 * time.Second },
		"no retire after":                 func(c *token.StoredKeysConfig) { c.RetireAfter = 0 },
		"an interval within publish ahead": func(c *token.StoredKeysConfig) {
			c.Interval = c.PublishAhead
		},
		"a negative interval": func(c *token.StoredKeysConfig) { c.Interval = -time.Hour },
		"an HMAC algorithm":   func(c *token.StoredKeysConfig) { c.Algorithm = "HS256" },
		"alg none":            func(c *token.StoredKeysConfig) { c.Algorithm = "none" },
	} {
		t.Run(name, func(t *testing.T) {
			cfg := storedConfig(store, clock, newSecret(t))
			change(&cfg)
			_, err := token.OpenStoredSigningKeys(t.Context(), cfg)
			assert.Error(t, err)
		})
	}
	cfg := storedConfig(store, clock, newSecret(t))
	cfg.Interval = 0
	_, err := token.OpenStoredMACKeys(t.Context(), cfg)
	assert.NoError(t, err, "a zero Interval means rotation by hand only")
}

// TestStoredKeysRotateOnceForTheCluster has two instances over one store
// tick at the same moment, again and again: each phase happens once.
func TestStoredKeysRotateOnceForTheCluster(t *testing.T) {
	for _, kind := range []string{"jwt", "opaque"} {
		t.Run(kind, func(t *testing.T) {
			store := &countingKeyStore{KeyStore: memory.New()}
			clock := &fakeClock{t: time.Now()}
			secret := newSecret(t)
			cfg := storedConfig(store, clock, secret)
			var a, b *token.StoredKeys
			if kind == "jwt" {
				a, b = openSigning(t, cfg).StoredKeys, openSigning(t, cfg).StoredKeys
			} else {
				a, b = openMAC(t, cfg).StoredKeys, openMAC(t, cfg).StoredKeys
			}
			require.Equal(t, int64(1), store.saves.Load(), "the first key is created once")
			start := clock.Now()

			tickBoth := func() {
				var wg sync.WaitGroup
				for _, s := range []*token.StoredKeys{a, b, a, b} {
					wg.Go(func() { assert.NoError(t, s.Tick(context.Background())) })
				}
				wg.Wait()
			}
			// Publish: PublishAhead before the interval ends, one new key.
			clock.Set(start.Add(skInterval - skPublishAhead))
			tickBoth()
			assert.Equal(t, int64(2), store.saves.Load(), "one instance publishes the next key")
			keys := a.Keys()
			require.Len(t, keys, 2, "two keys, not three")
			assert.Equal(t, keys, b.Keys(), "both instances see the same set")
			first, next := signingID(keys), keys[1].KeyID

			// Promote: at the end of the interval, once.
			clock.Set(start.Add(skInterval))
			tickBoth()
			assert.Equal(t, int64(3), store.saves.Load(), "one instance promotes the next key")
			assert.Equal(t, next, signingID(a.Keys()))
			assert.Equal(t, next, signingID(b.Keys()))
			require.Len(t, a.Keys(), 2)

			// Retire: RetireAfter after the first key stopped signing.
			clock.Set(start.Add(skInterval + skRetireAfter))
			tickBoth()
			assert.Equal(t, int64(4), store.saves.Load(), "one instance removes the retired key")
			for _, s := range []*token.StoredKeys{a, b} {
				keys := s.Keys()
				require.Len(t, keys, 1)
				assert.NotEqual(t, first, keys[0].KeyID)
			}
			tickBoth()
			assert.Equal(t, int64(4), store.saves.Load(), "a tick with nothing due writes nothing")
		})
	}
}

func TestStoredKeysOtherInstancesFollowARotation(t *testing.T) {
	store := memory.New()
	clock := &fakeClock{t: time.Now()}
	cfg := storedConfig(store, clock, newSecret(t))
	a, b := openSigning(t, cfg), openSigning(t, cfg)
	macA, macB := openMAC(t, cfg), openMAC(t, cfg)
	jwtA, jwtB := storedJWT(t, a), storedJWT(t, b)
	start := clock.Now()

	// A alone runs the schedule: publish, then promote.
	clock.Set(start.Add(skInterval - skPublishAhead))
	require.NoError(t, a.Tick(t.Context()))
	require.NoError(t, macA.Tick(t.Context()))
	// B reloads on its interval, long before the new key signs.
	clock.Set(start.Add(skInterval - skPublishAhead + skReload))
	require.NoError(t, b.Reload(t.Context()))
	require.NoError(t, macB.Reload(t.Context()))
	assert.Len(t, b.Keys(), 2, "B knows the next key before it signs")
	assert.Equal(t, 2, macB.MACKeySet().Len())

	clock.Set(start.Add(skInterval))
	require.NoError(t, a.Tick(t.Context()))
	require.NoError(t, macA.Tick(t.Context()))
	// A signs with the new keys; B, not yet reloaded, verifies them.
	_, err := jwtB.Parse(t.Context(), mint(t, jwtA, testClaims()))
	assert.NoError(t, err)
	tok, _, err := storedOpaque(t, macA).Generate()
	require.NoError(t, err)
	_, err = storedOpaque(t, macB).Signature(tok)
	assert.NoError(t, err, "B verifies A's opaque tokens: the key was published ahead")
	// After its next reload B signs with the new key too.
	clock.Set(start.Add(skInterval + skReload))
	require.NoError(t, b.Reload(t.Context()))
	assert.Equal(t, signingID(a.Keys()), signingID(b.Keys()))
	jwksA, _ := jwtA.JWKS()
	jwksB, _ := jwtB.JWKS()
	assert.JSONEq(t, string(jwksA), string(jwksB))
}

func TestStoredKeysUnknownKidReloadsAtOnceButBounded(t *testing.T) {
	store := &countingKeyStore{KeyStore: memory.New()}
	clock := &fakeClock{t: time.Now()}
	cfg := storedConfig(store, clock, newSecret(t))
	a, b := openSigning(t, cfg), openSigning(t, cfg)
	jwtA, jwtB := storedJWT(t, a), storedJWT(t, b)

	// A rotates by hand; its next token names a key B has never read.
	clock.Set(clock.Now().Add(2 * time.Second))
	require.NoError(t, a.Rotate(t.Context()))
	loads := store.loads.Load()
	_, err := jwtB.Parse(t.Context(), mint(t, jwtA, testClaims()))
	assert.NoError(t, err, "B reads the set at once for the unknown kid")
	assert.Equal(t, loads+1, store.loads.Load())

	// Tokens with made-up kids: at most one read per second.
	forged := func() string {
		hdr := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"ES256","typ":"at+jwt","kid":"` + randomKID(t) + `"}`))
		return hdr + ".e30.c2ln"
	}
	loads = store.loads.Load()
	for range 100 {
		_, err := jwtB.Parse(t.Context(), forged())
		assert.ErrorIs(t, err, token.ErrUnknownKey)
	}
	assert.Equal(t, loads, store.loads.Load(), "no read within a second of the last")
	clock.Set(clock.Now().Add(time.Second))
	for range 100 {
		_, err := jwtB.Parse(t.Context(), forged())
		assert.ErrorIs(t, err, token.ErrUnknownKey)
	}
	assert.Equal(t, loads+1, store.loads.Load(), "one read a second later")
}

func randomKID(t *testing.T) string {
	t.Helper()
	b := make([]byte, 12)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return base64.RawURLEncoding.EncodeToString(b)
}

func TestStoredKeysRotateByHand(t *testing.T) {
	store := memory.New()
	clock := &fakeClock{t: time.Now()}
	cfg := storedConfig(store, clock, newSecret(t))
	cfg.Interval = 0
	macs := openMAC(t, cfg)
	o := storedOpaque(t, macs)
	before, _, err := o.Generate()
	require.NoError(t, err)
	oldID := signingID(macs.Keys())

	require.NoError(t, macs.Rotate(t.Context()))
	keys := macs.Keys()
	require.Len(t, keys, 2)
	assert.NotEqual(t, oldID, signingID(keys), "a new key signs at once")
	after, _, err := o.Generate()
	require.NoError(t, err)
	_, err = o.Signature(before)
	assert.NoError(t, err, "the retired key still verifies")

	// Without a schedule, nothing is published; the retired key goes
	// RetireAfter later.
	clock.Set(clock.Now().Add(skRetireAfter))
	require.NoError(t, macs.Tick(t.Context()))
	require.Len(t, macs.Keys(), 1)
	_, err = o.Signature(before)
	assert.ErrorIs(t, err, token.ErrInvalid, "the retired key is gone")
	_, err = o.Signature(after)
	assert.NoError(t, err)
}

func TestStoredSigningKeysOfAnotherAlgorithmAreRefused(t *testing.T) {
	// A set made for ES256 is not silently used for EdDSA tokens: the
	// configuration names the algorithm, and the store disagrees.
	store := memory.New()
	clock := &fakeClock{t: time.Now()}
	secret := newSecret(t)
	cfg := storedConfig(store, clock, secret)
	openSigning(t, cfg)
	cfg.Algorithm = jwa.EdDSA.String()
	_, err := token.OpenStoredSigningKeys(t.Context(), cfg)
	assert.ErrorContains(t, err, `is for "ES256", not "EdDSA"`)
}

// TestStoredKeysLogNoSecrets runs a life of the keys with debug logging
// and looks for the keys and the secret in the log.
func TestStoredKeysLogNoSecrets(t *testing.T) {
	var log bytes.Buffer
	store := memory.New()
	clock := &fakeClock{t: time.Now()}
	secret := newSecret(t)
	cfg := storedConfig(store, clock, secret)
	cfg.Logger = newDebugLogger(&log)
	macs := openMAC(t, cfg)
	start := clock.Now()
	for _, d := range []time.Duration{skInterval - skPublishAhead, skInterval, skInterval + skRetireAfter} {
		clock.Set(start.Add(d))
		require.NoError(t, macs.Tick(t.Context()))
	}
	require.NoError(t, macs.Rotate(t.Context()))
	require.NotEmpty(t, log.String())
	for _, s := range [][]byte{secret} {
		assert.NotContains(t, log.String(), base64.StdEncoding.EncodeToString(s))
		assert.NotContains(t, log.String(), base64.RawURLEncoding.EncodeToString(s))
	}
	set, err := store.LoadKeySet(t.Context(), "opaque")
	require.NoError(t, err)
	for _, k := range set.Keys {
		assert.NotContains(t, log.String(), base64.StdEncoding.EncodeToString(k.Sealed))
	}
	assert.False(t, strings.Contains(log.String(), "Sealed"))
}

func newDebugLogger(w *bytes.Buffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// gatedKeyStore holds every LoadKeySet until the gate opens, as a slow
// store does.
type gatedKeyStore struct {
	countingKeyStore
	gate chan struct{}
}

func (s *gatedKeyStore) LoadKeySet(ctx context.Context, name string) (storage.StoredKeySet, error) {
	if s.gate != nil {
		<-s.gate
	}
	return s.countingKeyStore.LoadKeySet(ctx, name)
}

// Requests that meet a new kid together share one read of the store, and
// all verify once it is done.
func TestStoredKeysUnknownKidReadIsShared(t *testing.T) {
	inner := memory.New()
	clock := &fakeClock{t: time.Now()}
	secret := newSecret(t)
	a := openSigning(t, storedConfig(inner, clock, secret))
	slow := &gatedKeyStore{countingKeyStore: countingKeyStore{KeyStore: inner}}
	b := openSigning(t, storedConfig(slow, clock, secret))
	jwtA, jwtB := storedJWT(t, a), storedJWT(t, b)

	clock.Set(clock.Now().Add(2 * time.Second))
	require.NoError(t, a.Rotate(t.Context()))
	tok := mint(t, jwtA, testClaims())
	slow.gate = make(chan struct{})
	loads := slow.loads.Load()
	const callers = 20
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for range callers {
		wg.Go(func() {
			_, err := jwtB.Parse(context.Background(), tok)
			errs <- err
		})
	}
	// The callers that find the read in flight wait for it; let it go
	// once they have had time to arrive.
	time.Sleep(50 * time.Millisecond)
	close(slow.gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		assert.NoError(t, err)
	}
	assert.Equal(t, loads+1, slow.loads.Load(), "one read for all of them")
}

// craftedKeyStore returns what a test put in it, bypassing the checks a
// KeyStore makes on writes: a store changed by hand, or restored from an
// old backup.
type craftedKeyStore struct {
	storage.KeyStore
	mu  sync.Mutex
	set *storage.StoredKeySet
}

func (s *craftedKeyStore) LoadKeySet(ctx context.Context, name string) (storage.StoredKeySet, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.set != nil {
		out := *s.set
		out.Keys = append([]storage.StoredKey(nil), s.set.Keys...)
		return out, nil
	}
	return s.KeyStore.LoadKeySet(ctx, name)
}

func (s *craftedKeyStore) put(set storage.StoredKeySet) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.set = &set
}

// A set that no KeyStore may hold is refused when it is read: two keys
// that sign, a key twice. A running instance keeps the keys it has.
func TestStoredKeysRefuseASetBrokenInTheStore(t *testing.T) {
	inner := memory.New()
	clock := &fakeClock{t: time.Now()}
	cfg := storedConfig(inner, clock, newSecret(t))
	a := openSigning(t, cfg)
	require.NoError(t, a.Rotate(t.Context()))
	good, err := inner.LoadKeySet(t.Context(), "jwt")
	require.NoError(t, err)
	require.Len(t, good.Keys, 2)

	for name, change := range map[string]func(keys []storage.StoredKey) []storage.StoredKey{
		"two signing keys": func(keys []storage.StoredKey) []storage.StoredKey {
			for i := range keys {
				keys[i].State = storage.KeySigning
			}
			return keys
		},
		"a key twice": func(keys []storage.StoredKey) []storage.StoredKey { return append(keys, keys[0]) },
		"no signing key": func(keys []storage.StoredKey) []storage.StoredKey {
			for i := range keys {
				keys[i].State = storage.KeyRetired
			}
			return keys
		},
	} {
		t.Run(name, func(t *testing.T) {
			crafted := &craftedKeyStore{KeyStore: inner}
			running := openSigning(t, storedConfig(crafted, clock, cfg.Secrets...))
			before := running.Keys()
			bad := good
			bad.Keys = change(append([]storage.StoredKey(nil), good.Keys...))
			crafted.put(bad)
			assert.Error(t, running.Reload(t.Context()), "a running instance refuses it")
			assert.Equal(t, before, running.Keys(), "and keeps its keys")
			if name != "no signing key" {
				_, err := token.OpenStoredSigningKeys(t.Context(), storedConfig(crafted, clock, cfg.Secrets...))
				assert.Error(t, err, "a new instance refuses to start")
			}
		})
	}
}

// A set restored to a version an instance already read, with other keys,
// is read again: the version alone does not say the keys are the same.
func TestStoredKeysNoticeOtherKeysAtTheSameVersion(t *testing.T) {
	inner := memory.New()
	clock := &fakeClock{t: time.Now()}
	cfg := storedConfig(inner, clock, newSecret(t))
	crafted := &craftedKeyStore{KeyStore: inner}
	b := openSigning(t, storedConfig(crafted, clock, cfg.Secrets...))
	set, err := inner.LoadKeySet(t.Context(), "jwt")
	require.NoError(t, err)

	// Another world's set at the same version: the same secret, another key.
	other := memory.New()
	openSigning(t, storedConfig(other, clock, cfg.Secrets...))
	otherSet, err := other.LoadKeySet(t.Context(), "jwt")
	require.NoError(t, err)
	require.Equal(t, set.Version, otherSet.Version)
	crafted.put(otherSet)
	require.NoError(t, b.Reload(t.Context()))
	assert.Equal(t, otherSet.Keys[0].ID, signingID(b.Keys()))
}

// The store read for an unknown kid serves every request that waits for
// it: the request that started it going away does not cancel it.
func TestStoredKeysUnknownKidReadOutlivesItsRequest(t *testing.T) {
	store := &countingKeyStore{KeyStore: memory.New()}
	clock := &fakeClock{t: time.Now()}
	cfg := storedConfig(store, clock, newSecret(t))
	a, b := openSigning(t, cfg), openSigning(t, cfg)
	jwtA, jwtB := storedJWT(t, a), storedJWT(t, b)
	clock.Set(clock.Now().Add(2 * time.Second))
	require.NoError(t, a.Rotate(t.Context()))
	tok := mint(t, jwtA, testClaims())

	gone, cancel := context.WithCancel(t.Context())
	cancel()
	_, _ = jwtB.Parse(gone, tok)
	loads := store.loads.Load()
	_, err := jwtB.Parse(t.Context(), tok)
	assert.NoError(t, err, "the read started by the cancelled request installed the key")
	assert.Equal(t, loads, store.loads.Load(), "without another read")
}

func TestStoredKeysRemoveByHand(t *testing.T) {
	store := memory.New()
	clock := &fakeClock{t: time.Now()}
	cfg := storedConfig(store, clock, newSecret(t))
	a, b := openSigning(t, cfg), openSigning(t, cfg)
	jwtA, jwtB := storedJWT(t, a), storedJWT(t, b)
	old := mint(t, jwtA, testClaims())
	oldID := signingID(a.Keys())

	assert.ErrorContains(t, a.Remove(t.Context(), oldID), "rotate before removing it")
	assert.ErrorContains(t, a.Remove(t.Context(), "no-such-kid"), "no key")
	require.NoError(t, a.Rotate(t.Context()))
	require.NoError(t, a.Remove(t.Context(), oldID))
	require.Len(t, a.Keys(), 1)
	_, err := jwtA.Parse(t.Context(), old)
	assert.ErrorIs(t, err, token.ErrUnknownKey, "the removed key verifies nothing at A")
	clock.Set(clock.Now().Add(skReload))
	require.NoError(t, b.Reload(t.Context()))
	_, err = jwtB.Parse(t.Context(), old)
	assert.ErrorIs(t, err, token.ErrUnknownKey, "nor at B after its reload")
}
