// Package keystest checks, over a real storage.KeyStore, what the token
// keys kept in a store promise a cluster: instances over one store sign
// and verify with the same keys, a rotation happens once for all of them,
// the keys survive a restart, and a key altered in the store is refused.
// The storage adapters run it over their database, so that the promise
// holds in each, not only in memory.
package keystest

import (
	"context"
	"crypto/rand"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/storage"
	"github.com/grantor-dev/grantor/token"
)

// NewStores returns two KeyStores over one empty database, as two
// instances of a cluster open it.
type NewStores func(t *testing.T) (a, b storage.KeyStore)

// The rotation schedule of the tests.
const (
	interval     = 24 * time.Hour
	publishAhead = time.Hour
	retireAfter  = 2 * time.Hour
)

// clock is a settable clock, safe for concurrent reads.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }

// Run runs the checks, each over a new pair of stores.
func Run(t *testing.T, newStores NewStores) {
	t.Run("two instances rotate once, and verify each other's tokens", func(t *testing.T) {
		testRotateOnce(t, newStores)
	})
	t.Run("a restart keeps the keys, a wrong secret and an altered key are refused", func(t *testing.T) {
		testRestartAndTamper(t, newStores)
	})
}

func config(store storage.KeyStore, c *clock, secret []byte) token.StoredKeysConfig {
	return token.StoredKeysConfig{Store: store, Secrets: [][]byte{secret}, Interval: interval,
		PublishAhead: publishAhead, RetireAfter: retireAfter, ReloadInterval: 10 * time.Second, Now: c.now}
}

func newSecret(t *testing.T) []byte {
	t.Helper()
	b := make([]byte, 32)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return b
}

// instance is one process's keys over its store.
type instance struct {
	signing *token.StoredSigningKeys
	macs    *token.StoredMACKeys
	jwt     *token.JWT
	opaque  *token.Opaque
}

func open(t *testing.T, cfg token.StoredKeysConfig) *instance {
	t.Helper()
	in := &instance{}
	var err error
	in.signing, err = token.OpenStoredSigningKeys(t.Context(), cfg)
	require.NoError(t, err)
	in.macs, err = token.OpenStoredMACKeys(t.Context(), cfg)
	require.NoError(t, err)
	in.jwt, err = token.NewJWT(token.JWTConfig{Keys: in.signing, Issuer: "https://as.example"})
	require.NoError(t, err)
	in.opaque, err = token.NewOpaqueWithKeys("gr_at_", in.macs.MACKeySet())
	require.NoError(t, err)
	return in
}

// tick ticks both sets of the instances all at once, twice each.
func tick(t *testing.T, ins ...*instance) {
	t.Helper()
	var wg sync.WaitGroup
	for _, in := range append(ins, ins...) {
		for _, s := range []*token.StoredKeys{in.signing.StoredKeys, in.macs.StoredKeys} {
			wg.Go(func() { assert.NoError(t, s.Tick(context.Background())) })
		}
	}
	wg.Wait()
}

// agree checks that a's tokens verify at b and b's at a, and returns the
// number of keys of each set, which must be the same at both.
func agree(t *testing.T, a, b *instance) (signingKeys, macKeys int) {
	t.Helper()
	now := time.Now()
	claims := func() *token.Claims {
		return &token.Claims{Subject: "alice", ClientID: "web", Audience: []string{"https://api.example"},
			IssuedAt: now, ExpiresAt: now.Add(time.Hour)}
	}
	for _, pair := range [][2]*instance{{a, b}, {b, a}} {
		at, _, err := pair[0].jwt.MintAccessToken(t.Context(), claims())
		require.NoError(t, err)
		_, err = pair[1].jwt.Parse(t.Context(), at)
		assert.NoError(t, err, "a JWT of one instance verifies at the other")
		ot, _, err := pair[0].opaque.Generate()
		require.NoError(t, err)
		_, err = pair[1].opaque.Signature(ot)
		assert.NoError(t, err, "an opaque token of one instance verifies at the other")
	}
	assert.Equal(t, inUTC(a.signing.Keys()), inUTC(b.signing.Keys()), "both see the same signing keys")
	assert.Equal(t, inUTC(a.macs.Keys()), inUTC(b.macs.Keys()), "both see the same HMAC keys")
	return len(a.signing.Keys()), len(a.macs.Keys())
}

// inUTC returns keys with their times in UTC: what one instance wrote in
// its clock's zone, another reads from the database in UTC.
func inUTC(keys []token.KeyInfo) []token.KeyInfo {
	for i := range keys {
		keys[i].Added, keys[i].Promoted, keys[i].Demoted = keys[i].Added.UTC(), keys[i].Promoted.UTC(), keys[i].Demoted.UTC()
	}
	return keys
}

func testRotateOnce(t *testing.T, newStores NewStores) {
	storeA, storeB := newStores(t)
	c := &clock{t: time.Now().Truncate(time.Microsecond)}
	secret := newSecret(t)
	a, b := open(t, config(storeA, c, secret)), open(t, config(storeB, c, secret))
	start := c.now()
	s, m := agree(t, a, b)
	assert.Equal(t, 1, s)
	assert.Equal(t, 1, m)

	c.set(start.Add(interval - publishAhead))
	tick(t, a, b)
	s, m = agree(t, a, b)
	assert.Equal(t, 2, s, "one next signing key is published, not two")
	assert.Equal(t, 2, m, "one next HMAC key is published, not two")
	first := a.signing.Keys()[0].KeyID

	c.set(start.Add(interval))
	tick(t, a, b)
	agree(t, a, b)
	assert.NotEqual(t, first, a.signing.Keys()[0].KeyID, "the next key signs")

	c.set(start.Add(interval + retireAfter))
	tick(t, a, b)
	s, m = agree(t, a, b)
	assert.Equal(t, 1, s, "the retired key is removed")
	assert.Equal(t, 1, m)
}

func testRestartAndTamper(t *testing.T, newStores NewStores) {
	storeA, storeB := newStores(t)
	c := &clock{t: time.Now().Truncate(time.Microsecond)}
	secret := newSecret(t)
	a := open(t, config(storeA, c, secret))
	require.NoError(t, a.signing.Rotate(t.Context()))

	restarted := open(t, config(storeB, c, secret))
	agree(t, a, restarted)

	_, err := token.OpenStoredSigningKeys(t.Context(), config(storeB, c, newSecret(t)))
	assert.ErrorIs(t, err, token.ErrUnknownSealingSecret, "a wrong secret")

	set, err := storeA.LoadKeySet(t.Context(), "jwt")
	require.NoError(t, err)
	require.Len(t, set.Keys, 2)
	set.Keys[1].Sealed[len(set.Keys[1].Sealed)/2] ^= 0x80
	_, err = storeA.SaveKeySet(t.Context(), "jwt", set.Version, set.Keys)
	require.NoError(t, err)
	_, err = token.OpenStoredSigningKeys(t.Context(), config(storeB, c, secret))
	assert.ErrorIs(t, err, token.ErrSealedKeyAltered, "an altered key stops a new instance")
	assert.ErrorIs(t, a.signing.Reload(t.Context()), token.ErrSealedKeyAltered, "and a running one refuses it")
	_, err = a.signing.Signer(t.Context())
	assert.NoError(t, err, "keeping the keys it had")
}

// StoredKey returns a stored key in state with every field set, for the
// adapters' own tests: what package token hands a store is ciphertext,
// opaque bytes to it (here with a NUL and a byte that is not UTF-8).
func StoredKey(state storage.KeyState) storage.StoredKey {
	n := time.Now().UTC().Truncate(time.Microsecond)
	k := storage.StoredKey{ID: rand.Text(), Algorithm: "ES256", State: state,
		Sealed: []byte("sealed\x00\xff" + rand.Text()), Added: n.Add(-time.Hour)}
	if state != storage.KeyPublished {
		k.Promoted = n.Add(-time.Minute)
	}
	if state == storage.KeyRetired {
		k.Retired = n
	}
	return k
}

// IDs returns the IDs of keys, in order.
func IDs(keys []storage.StoredKey) []string {
	ids := make([]string, len(keys))
	for i, k := range keys {
		ids[i] = k.ID
	}
	return ids
}

// MustLoad loads the set name through s, failing t on an error.
func MustLoad(t *testing.T, s storage.KeyStore, name string) storage.StoredKeySet {
	t.Helper()
	set, err := s.LoadKeySet(t.Context(), name)
	require.NoError(t, err, "LoadKeySet")
	return set
}
