package oauth2

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/storage/memory"
)

// The dummy hash an unknown client is checked against is argon2id with
// HashClientSecret's parameters: the same kind and cost as a real client's
// hash, so that its check takes as long as a wrong secret's.
func TestDummyHashHasTheCostOfHashClientSecret(t *testing.T) {
	realHash, err := HashClientSecret("x")
	require.NoError(t, err)
	params := func(h string) string { return strings.Join(strings.Split(h, "$")[:4], "$") }
	assert.Equal(t, params(realHash), params(dummySlowHash()))
	assert.ErrorIs(t, VerifyClientSecret(dummySlowHash(), "x"), ErrClientSecretMismatch, "a well-formed hash, matched by nothing")
}

// Slow hashes run under a bounded concurrency: a flood of attempts cannot
// take more than SlowHashConcurrency hashes' memory at once. An attempt
// that finds every slot busy past the wait is answered 503 with
// Retry-After, not queued without bound.
func TestSlowHashConcurrencyIsBounded(t *testing.T) {
	hash, err := HashClientSecret("secret")
	require.NoError(t, err)
	v, err := newSecretVerifier(memory.NewLimiter(0), -1, time.Minute, 2, time.Now, PeerAddress, slog.New(slog.DiscardHandler), func(context.Context, Event) {})
	require.NoError(t, err)
	v.gateWait = 20 * time.Millisecond

	// Fill both slots, as two verifications in progress would.
	v.gate <- struct{}{}
	v.gate <- struct{}{}
	var refused atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			err := v.verify(context.Background(), "c", hash, "wrong", nil)
			var oe *Error
			if assert.ErrorAs(t, err, &oe) {
				assert.Equal(t, http.StatusServiceUnavailable, oe.HTTPStatus())
				assert.NotEmpty(t, oe.Header.Get("Retry-After"))
				refused.Add(1)
			}
		})
	}
	wg.Wait()
	assert.EqualValues(t, 8, refused.Load(), "no attempt ran while every slot was taken")

	// A slot frees: attempts run again, one per free slot at a time.
	<-v.gate
	assert.ErrorIs(t, v.verify(context.Background(), "c", hash, "wrong", nil), ErrClientSecretMismatch)
	assert.NoError(t, v.verify(context.Background(), "c", hash, "secret", nil))
	assert.Len(t, v.gate, 1, "every slot taken by an attempt was given back")
}

// A cancelled request waiting for a slot gives up at once.
func TestSlowHashWaitEndsWithTheRequest(t *testing.T) {
	v, err := newSecretVerifier(memory.NewLimiter(0), -1, time.Minute, 1, time.Now, PeerAddress, slog.New(slog.DiscardHandler), func(context.Context, Event) {})
	require.NoError(t, err)
	v.gateWait = time.Hour
	v.gate <- struct{}{}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.ErrorIs(t, v.verify(ctx, "c", dummySlowHash(), "x", nil), context.Canceled)
}

// The recognitions held are bounded; a client pushed out is verified
// slowly once more, and is then recognised again.
func TestRecognitionsAreBounded(t *testing.T) {
	hash, err := HashClientSecret("secret")
	require.NoError(t, err)
	v, err := newSecretVerifier(memory.NewLimiter(0), -1, time.Minute, 1, time.Now, PeerAddress, slog.New(slog.DiscardHandler), func(context.Context, Event) {})
	require.NoError(t, err)
	v.maxRecognised = 3
	now := time.Now()
	for _, id := range []string{"a", "b", "c", "d", "e"} {
		v.recognise(id, hash, v.mac("secret"), now)
		assert.LessOrEqual(t, len(v.recognised), 3)
	}
	assert.True(t, v.recognition("e", hash, v.mac("secret"), now) != unrecognised, "the latest is kept")
	assert.False(t, v.recognition("e", hash, v.mac("other"), now) != unrecognised, "only its own secret")
	assert.False(t, v.recognition("e", hash+"x", v.mac("secret"), now) != unrecognised, "only against the hash it was verified with")
	assert.False(t, v.recognition("z", hash, v.mac("secret"), now) != unrecognised, "only for a client it was verified for")
	assert.False(t, v.recognition("e", hash, v.mac("secret"), now.Add(recognitionLifetime)) != unrecognised, "and only for a while")

	// A recognition in use is renewed past half its life, so that a
	// client in constant use stays recognised.
	later := now.Add(recognitionLifetime * 3 / 4)
	require.Equal(t, recognisedAgeing, v.recognition("e", hash, v.mac("secret"), later))
	v.clock = func() time.Time { return later }
	require.NoError(t, v.verify(context.Background(), "e", hash, "secret", nil))
	assert.Equal(t, recognisedFresh, v.recognition("e", hash, v.mac("secret"), later.Add(recognitionLifetime/2)))
}
