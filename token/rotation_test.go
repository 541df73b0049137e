package token_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/token"
)

const (
	rotInterval     = 24 * time.Hour
	rotPublishAhead = time.Hour
	rotRetireAfter  = 2 * time.Hour
	rotTokenLife    = time.Hour // the longest access token lifetime: <= RetireAfter
)

// fakeClock is a settable clock safe for concurrent reads.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }

// newRotator returns a rotator over a fresh KeySet, and the clock set to
// the moment the first key started signing.
func newRotator(t *testing.T) (*token.Rotator, *token.KeySet, *fakeClock) {
	t.Helper()
	ks, err := token.NewKeySet(newKey(t, jwa.EdDSA))
	require.NoError(t, err)
	clock := &fakeClock{t: ks.Keys()[0].Promoted}
	return &token.Rotator{
		Keys:         ks,
		Generate:     func() (jwk.Key, error) { return token.GenerateSigningKey(jwa.EdDSA) },
		Interval:     rotInterval,
		PublishAhead: rotPublishAhead,
		RetireAfter:  rotRetireAfter,
		Now:          clock.Now,
	}, ks, clock
}

func signingKID(t *testing.T, ks *token.KeySet) string {
	t.Helper()
	for _, k := range ks.Keys() {
		if k.Signing {
			return k.KeyID
		}
	}
	t.Fatal("no signing key")
	return ""
}

type mintedToken struct {
	tok, kid string
	exp      time.Time
}

// TestRotatorThreePhases walks through three rotations in steps of
// 15 minutes, minting a token at every step, and checks at each step the
// three phases: a key is published PublishAhead before it signs, signs for
// Interval, and stays published until every token it signed has expired
// (OpenID Connect Core §10.1.1).
func TestRotatorThreePhases(t *testing.T) {
	r, ks, clock := newRotator(t)
	t0 := clock.Now()
	j, err := token.NewJWT(token.JWTConfig{Keys: ks, Issuer: testIssuer})
	require.NoError(t, err)
	v, err := token.NewJWTVerifier(token.JWTVerifierConfig{
		Keys: ks, Issuer: testIssuer, Audience: "https://rs.example.com", Clock: clock.Now,
	})
	require.NoError(t, err)

	firstKID := signingKID(t, ks)
	published := map[string]time.Time{firstKID: t0}
	signed := map[string]time.Time{firstKID: t0}
	unpublished := map[string]time.Time{}
	var signers []string
	var minted []mintedToken

	const step = 15 * time.Minute
	for now := t0; now.Before(t0.Add(3*rotInterval + 4*time.Hour)); now = now.Add(step) {
		clock.Set(now)
		require.NoError(t, r.Tick(ctx), "at %v", now.Sub(t0))
		require.NoError(t, r.Tick(ctx), "Tick is idempotent")

		inJWKS := map[string]bool{}
		for _, kid := range kids(t, ks) {
			inJWKS[kid] = true
			if _, ok := published[kid]; !ok {
				published[kid] = now
			}
		}
		for kid, at := range published {
			if !inJWKS[kid] {
				if _, ok := unpublished[kid]; !ok {
					unpublished[kid] = now
				}
			} else {
				assert.NotContains(t, unpublished, kid, "a removed key never comes back (at %v)", at.Sub(t0))
			}
		}
		kid := signingKID(t, ks)
		assert.True(t, inJWKS[kid], "the signing key is published")
		if _, ok := signed[kid]; !ok {
			signed[kid] = now
			signers = append(signers, kid)
			assert.GreaterOrEqual(t, now.Sub(published[kid]), rotPublishAhead,
				"a new key is in the JWKS at least PublishAhead before it signs (OpenID Connect Core §10.1.1)")
		}
		assert.LessOrEqual(t, len(inJWKS), 3, "at most: the signer, the next key and the retiring key")

		c := testClaims()
		c.IssuedAt, c.ExpiresAt = now, now.Add(rotTokenLife)
		tok := mint(t, j, c)
		assert.Equal(t, kid, decodeSegment(t, tok, 0)["kid"])
		minted = append(minted, mintedToken{tok, kid, c.ExpiresAt})

		for _, m := range minted {
			_, err := v.Verify(ctx, m.tok)
			if now.Before(m.exp) {
				assert.NoError(t, err, "a token of key %s verifies until it expires (OpenID Connect Core §10.1.1), at %v", m.kid, now.Sub(t0))
			} else {
				assert.ErrorIs(t, err, token.ErrInvalid)
			}
		}
	}

	require.Len(t, signers, 3, "three rotations")
	want := []time.Duration{rotInterval, 2 * rotInterval, 3 * rotInterval}
	for i, kid := range signers {
		assert.Equal(t, want[i], signed[kid].Sub(t0), "rotation %d happens after Interval", i+1)
		assert.Equal(t, want[i]-rotPublishAhead, published[kid].Sub(t0), "and its key is published PublishAhead before")
	}
	prev := append([]string{firstKID}, signers[:2]...)
	for i, kid := range prev {
		assert.Equal(t, want[i]+rotRetireAfter, unpublished[kid].Sub(t0),
			"the old key is removed RetireAfter after it stopped signing")
	}
}

// TestOldKeyVerifiesUntilRetireAfter pins the retirement boundary: a
// token signed by the old key just before the rotation verifies until
// RetireAfter after it, and is refused once the key is removed (OpenID
// Connect Core §10.1.1).
func TestOldKeyVerifiesUntilRetireAfter(t *testing.T) {
	r, ks, clock := newRotator(t)
	t0 := clock.Now()
	j, err := token.NewJWT(token.JWTConfig{Keys: ks, Issuer: testIssuer})
	require.NoError(t, err)
	// The resource server's own view: a verifier without expiry concerns
	// here, so the token lives longer than RetireAfter on purpose.
	v, err := token.NewJWTVerifier(token.JWTVerifierConfig{
		Keys: ks, Issuer: testIssuer, Audience: "https://rs.example.com", Clock: func() time.Time { return t0 },
	})
	require.NoError(t, err)
	oldKID := signingKID(t, ks)

	clock.Set(t0.Add(rotInterval - rotPublishAhead))
	require.NoError(t, r.Tick(ctx))
	c := testClaims()
	c.IssuedAt, c.ExpiresAt = t0, t0.Add(10*rotInterval)
	old := mint(t, j, c)
	assert.Equal(t, oldKID, signingKID(t, ks), "a published next key does not sign yet")
	assert.Len(t, kids(t, ks), 2, "but is in the JWKS")

	clock.Set(t0.Add(rotInterval))
	require.NoError(t, r.Tick(ctx))
	assert.NotEqual(t, oldKID, signingKID(t, ks), "the next key signs after Interval")

	for _, tc := range []struct {
		name   string
		at     time.Duration
		verify bool
	}{
		{"just after the rotation", rotInterval + time.Second, true},
		{"one second before RetireAfter", rotInterval + rotRetireAfter - time.Second, true},
		{"at RetireAfter", rotInterval + rotRetireAfter, false},
		{"long after", 5 * rotInterval / 2, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock.Set(t0.Add(tc.at))
			require.NoError(t, r.Tick(ctx))
			_, err := v.Verify(ctx, old)
			if tc.verify {
				assert.NoError(t, err)
				assert.Contains(t, kids(t, ks), oldKID)
			} else {
				assert.ErrorIs(t, err, token.ErrInvalid)
				assert.ErrorIs(t, err, token.ErrUnknownKey)
				assert.NotContains(t, kids(t, ks), oldKID)
			}
		})
	}
}

func TestRotatorLateTickNeverPromotesAnUnpublishedKey(t *testing.T) {
	r, ks, clock := newRotator(t)
	t0 := clock.Now()
	first := signingKID(t, ks)

	// Nobody ticked for three intervals: the next key is published now and
	// signs only PublishAhead later, even though the old key is overdue.
	clock.Set(t0.Add(3 * rotInterval))
	require.NoError(t, r.Tick(ctx))
	assert.Equal(t, first, signingKID(t, ks), "the overdue key keeps signing")
	assert.Len(t, kids(t, ks), 2)

	clock.Set(t0.Add(3*rotInterval + rotPublishAhead - time.Second))
	require.NoError(t, r.Tick(ctx))
	assert.Equal(t, first, signingKID(t, ks))

	clock.Set(t0.Add(3*rotInterval + rotPublishAhead))
	require.NoError(t, r.Tick(ctx))
	assert.NotEqual(t, first, signingKID(t, ks))
}

func TestRotatorRetiresKeysThatNeverSignedHere(t *testing.T) {
	old, pub := newKey(t, jwa.EdDSA), mustPublic(t, newKey(t, jwa.EdDSA))
	ks, err := token.NewKeySet(newKey(t, jwa.EdDSA), old, pub)
	require.NoError(t, err)
	t0 := ks.Keys()[0].Promoted
	now := t0
	r := &token.Rotator{
		Keys: ks, Generate: func() (jwk.Key, error) { return token.GenerateSigningKey(jwa.EdDSA) },
		Interval: rotInterval, PublishAhead: rotPublishAhead, RetireAfter: rotRetireAfter,
		Now: func() time.Time { return now },
	}
	require.NoError(t, r.Tick(ctx))
	assert.Len(t, kids(t, ks), 3, "verification keys given to NewKeySet are kept at first")
	now = t0.Add(rotRetireAfter)
	require.NoError(t, r.Tick(ctx))
	assert.Equal(t, []string{signingKID(t, ks), old.KeyID()}, kids(t, ks),
		"the public key is retired RetireAfter after it was added; the newest private key is kept as the next signer")
	now = t0.Add(rotInterval)
	require.NoError(t, r.Tick(ctx))
	assert.Equal(t, old.KeyID(), signingKID(t, ks), "and promoted when due")
}

func TestRotatorValidation(t *testing.T) {
	gen := func() (jwk.Key, error) { return token.GenerateSigningKey(jwa.EdDSA) }
	ks, err := token.NewKeySet(cachedKey(t, jwa.EdDSA))
	require.NoError(t, err)
	tests := []struct {
		name string
		r    *token.Rotator
	}{
		{"Keys required", &token.Rotator{Generate: gen, Interval: 2, PublishAhead: 1, RetireAfter: 1}},
		{"zero KeySet refused", &token.Rotator{Keys: &token.KeySet{}, Generate: gen, Interval: 2, PublishAhead: 1, RetireAfter: 1}},
		{"Generate required", &token.Rotator{Keys: ks, Interval: 2, PublishAhead: 1, RetireAfter: 1}},
		{"RetireAfter must be positive", &token.Rotator{Keys: ks, Generate: gen, Interval: 2, PublishAhead: 1}},
		{"PublishAhead must be positive", &token.Rotator{Keys: ks, Generate: gen, Interval: 2, RetireAfter: 1}},
		{"Interval must exceed PublishAhead", &token.Rotator{Keys: ks, Generate: gen, Interval: 1, PublishAhead: 1, RetireAfter: 1}},
		{"negative durations", &token.Rotator{Keys: ks, Generate: gen, Interval: -1, PublishAhead: -2, RetireAfter: -1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Error(t, tc.r.Tick(ctx))
			assert.Error(t, tc.r.Run(ctx), "Run refuses the configuration at once")
		})
	}
}

func TestRotatorGenerateFailures(t *testing.T) {
	for _, tc := range []struct {
		name string
		gen  func() (jwk.Key, error)
	}{
		{"Generate fails", func() (jwk.Key, error) { return nil, errors.New("kms down") }},
		{"Generate returns a public key", func() (jwk.Key, error) { return mustPublic(t, newKey(t, jwa.EdDSA)), nil }},
		{"Generate returns a weak key", func() (jwk.Key, error) { return jwk.FromRaw([]byte("0123456789abcdef0123456789abcdef")) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, ks, clock := newRotator(t)
			r.Generate = tc.gen
			first := signingKID(t, ks)
			clock.Set(clock.Now().Add(rotInterval))
			assert.Error(t, r.Tick(ctx))
			assert.Equal(t, []string{first}, kids(t, ks), "nothing is published")
			assert.Equal(t, first, signingKID(t, ks), "the current key keeps signing")
		})
	}
}

func TestRotatorConcurrentTicks(t *testing.T) {
	r, ks, clock := newRotator(t)
	t0 := clock.Now()
	j, err := token.NewJWT(token.JWTConfig{Keys: ks, Issuer: testIssuer})
	require.NoError(t, err)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for s := range 20 {
				if i == 0 {
					clock.Set(t0.Add(time.Duration(s) * rotInterval / 4))
				}
				assert.NoError(t, r.Tick(ctx))
				tok, _, err := j.MintAccessToken(ctx, testClaims())
				if assert.NoError(t, err) {
					// Another goroutine may move the clock past the key's
					// retirement between the mint and the check: then, and
					// only then, the token no longer verifies.
					if _, err = j.AccessTokenKey(ctx, tok); err != nil {
						msg, perr := jws.Parse([]byte(tok))
						require.NoError(t, perr)
						_, kerr := ks.VerificationKey(ctx, msg.Signatures()[0].ProtectedHeaders().KeyID())
						assert.ErrorIs(t, kerr, token.ErrUnknownKey, "a token fails only once its key is retired: %v", err)
					}
				}
			}
		}()
	}
	wg.Wait()
	assert.LessOrEqual(t, len(kids(t, ks)), 3)
}

func TestRotatorRunStopsWithContext(t *testing.T) {
	r, ks, _ := newRotator(t)
	r.Now = nil // the real clock
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	cancel()
	select {
	case err := <-done:
		assert.ErrorIs(t, err, context.Canceled)
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return")
	}
	assert.Len(t, kids(t, ks), 1, "nothing was due")
}

func TestKeySetKeysRecordsPhases(t *testing.T) {
	k1, k2 := newKey(t, jwa.EdDSA), newKey(t, jwa.EdDSA)
	before := time.Now()
	ks, err := token.NewKeySet(k1)
	require.NoError(t, err)
	require.NoError(t, ks.Add(k2))
	infos := ks.Keys()
	require.Len(t, infos, 2)
	assert.True(t, infos[0].Signing)
	assert.True(t, infos[0].Private)
	assert.False(t, infos[0].Promoted.Before(before))
	assert.True(t, infos[1].Promoted.IsZero(), "an added key has not signed")
	require.NoError(t, ks.Promote(k2.KeyID()))
	infos = ks.Keys()
	assert.Equal(t, k2.KeyID(), infos[0].KeyID)
	assert.False(t, infos[0].Promoted.IsZero())
	assert.Equal(t, jwa.EdDSA, infos[0].Algorithm)
	assert.False(t, infos[1].Demoted.IsZero(), "the old key records when it stopped signing")
	require.NoError(t, ks.Promote(k2.KeyID()), "promoting the signing key again is a no-op")
	assert.Equal(t, infos, ks.Keys())
	var zero token.KeySet
	assert.Nil(t, zero.Keys())
}
