package dpop

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNonces(t *testing.T) {
	now := testNow
	clock := func() time.Time { return now }
	a, err := NewNonces(NonceConfig{Keys: [][]byte{key32('a')}, Clock: clock})
	require.NoError(t, err)

	n := a.Issue()
	assert.Len(t, n, nonceLength)
	// NQCHAR (RFC 9449 §8.1): base64url is a subset.
	assert.Empty(t, strings.Trim(n, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"))
	assert.True(t, a.Valid(n))
	assert.Equal(t, n, a.Issue(), "one nonce per step: nothing to store")

	// Another instance with the same keys accepts it (no shared state).
	b, err := NewNonces(NonceConfig{Keys: [][]byte{key32('a')}, Clock: clock})
	require.NoError(t, err)
	assert.True(t, b.Valid(n))

	// Current and previous steps are valid, not older ones.
	now = now.Add(DefaultNonceStep)
	assert.True(t, a.Valid(n), "previous step")
	now = now.Add(DefaultNonceStep)
	assert.False(t, a.Valid(n), "two steps old")

	// A nonce from the future (a forged step) is refused.
	now = testNow
	later := func() time.Time { return testNow.Add(DefaultNonceStep) }
	c, err := NewNonces(NonceConfig{Keys: [][]byte{key32('a')}, Clock: later})
	require.NoError(t, err)
	assert.False(t, a.Valid(c.Issue()))

	// Tampering: any changed character, padding, other lengths.
	n = a.Issue()
	for i := range n {
		bs := []byte(n)
		if bs[i] == 'A' {
			bs[i] = 'B'
		} else {
			bs[i] = 'A'
		}
		assert.False(t, a.Valid(string(bs)), i)
	}
	for _, bad := range []string{"", n + "=", n[:len(n)-1], n + "A", strings.Repeat("A", nonceLength)} {
		assert.False(t, a.Valid(bad), bad)
	}
}

// TestNonceRotation: the first key issues, every key verifies.
func TestNonceRotation(t *testing.T) {
	clock := func() time.Time { return testNow }
	old, err := NewNonces(NonceConfig{Keys: [][]byte{key32('o')}, Clock: clock})
	require.NoError(t, err)
	rotated, err := NewNonces(NonceConfig{Keys: [][]byte{key32('n'), key32('o')}, Clock: clock})
	require.NoError(t, err)
	newOnly, err := NewNonces(NonceConfig{Keys: [][]byte{key32('n')}, Clock: clock})
	require.NoError(t, err)

	assert.True(t, rotated.Valid(old.Issue()), "old key still verifies")
	assert.True(t, newOnly.Valid(rotated.Issue()), "the first key issues")
	assert.False(t, newOnly.Valid(old.Issue()), "a removed key no longer verifies")
}

// TestNonceRefresh tells when a response carries DPoP-Nonce (RFC 9449
// §8.2).
func TestNonceRefresh(t *testing.T) {
	now := testNow
	n, err := NewNonces(NonceConfig{Keys: [][]byte{key32('a')}, Step: time.Minute, Clock: func() time.Time { return now }})
	require.NoError(t, err)
	cur := n.Issue()
	_, send := n.Refresh(cur)
	assert.False(t, send, "current nonce: nothing to send")
	for _, presented := range []string{"", "junk"} {
		fresh, send := n.Refresh(presented)
		assert.True(t, send)
		assert.Equal(t, cur, fresh)
	}
	now = now.Add(time.Minute)
	fresh, send := n.Refresh(cur)
	assert.True(t, send, "previous step: send the next")
	assert.NotEqual(t, cur, fresh)
	assert.True(t, n.Valid(fresh))
}

func TestNewNoncesConfig(t *testing.T) {
	for name, cfg := range map[string]NonceConfig{
		"no key":         {},
		"short key":      {Keys: [][]byte{key32('a')[:31]}},
		"short 2nd key":  {Keys: [][]byte{key32('a'), []byte("x")}},
		"step below 1 s": {Keys: [][]byte{key32('a')}, Step: time.Millisecond},
		"negative step":  {Keys: [][]byte{key32('a')}, Step: -time.Minute},
	} {
		_, err := NewNonces(cfg)
		assert.Error(t, err, name)
	}
	// The keys are copied: the caller's slice may be reused.
	k := key32('a')
	n, err := NewNonces(NonceConfig{Keys: [][]byte{k}, Clock: func() time.Time { return testNow }})
	require.NoError(t, err)
	nonce := n.Issue()
	k[0] = 'z'
	assert.Equal(t, nonce, n.Issue())
}
