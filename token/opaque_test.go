package token_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/token"
)

func key32(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

func newOpaque(t testing.TB, prefix string, keys ...[]byte) *token.Opaque {
	t.Helper()
	if len(keys) == 0 {
		keys = [][]byte{key32(1)}
	}
	o, err := token.NewOpaque(prefix, keys)
	require.NoError(t, err)
	return o
}

func TestNewOpaqueValidation(t *testing.T) {
	tests := []struct {
		name   string
		prefix string
		keys   [][]byte
	}{
		{"prefix must not be empty", "", [][]byte{key32(1)}},
		{"prefix must not hold upper case", "GR_at_", [][]byte{key32(1)}},
		{"prefix must not hold a dot", "gr.at_", [][]byte{key32(1)}},
		{"prefix must not hold a dash", "gr-at_", [][]byte{key32(1)}},
		{"prefix must not be longer than 32", strings.Repeat("a", 33), [][]byte{key32(1)}},
		{"at least one key", "gr_at_", nil},
		{"key shorter than 32 bytes", "gr_at_", [][]byte{make([]byte, 31)}},
		{"old key shorter than 32 bytes", "gr_at_", [][]byte{key32(1), []byte("short")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o, err := token.NewOpaque(tc.prefix, tc.keys)
			assert.Error(t, err)
			assert.Nil(t, o)
		})
	}
}

func TestOpaqueRoundTrip(t *testing.T) {
	o := newOpaque(t, "gr_at_")
	assert.Equal(t, "gr_at_", o.Prefix())
	tok, sig, err := o.Generate()
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(tok, "gr_at_"))
	assert.Len(t, tok, len("gr_at_")+43+1+43)
	assert.True(t, strings.HasSuffix(tok, "."+sig))
	assert.NotContains(t, sig, tok[:len(tok)-len(sig)-1], "the key must not contain the token's random part")

	got, err := o.Signature(tok)
	require.NoError(t, err)
	assert.Equal(t, sig, got)

	// As an AccessTokenStrategy.
	var s token.AccessTokenStrategy = o
	c := &token.Claims{Subject: "alice"}
	tok, key, err := s.MintAccessToken(context.Background(), c)
	require.NoError(t, err)
	assert.Empty(t, c.ID, "opaque tokens leave Claims.ID alone")
	got, err = s.AccessTokenKey(context.Background(), tok)
	require.NoError(t, err)
	assert.Equal(t, key, got)
}

func TestOpaqueDeterministicWithRand(t *testing.T) {
	rnd := bytes.Repeat([]byte{0xAB}, 64)
	o1, err := token.NewOpaque("gr_at_", [][]byte{key32(7)}, token.WithRand(bytes.NewReader(rnd)))
	require.NoError(t, err)
	o2, err := token.NewOpaque("gr_at_", [][]byte{key32(7)}, token.WithRand(bytes.NewReader(rnd)))
	require.NoError(t, err)
	t1, s1, err := o1.Generate()
	require.NoError(t, err)
	t2, s2, err := o2.Generate()
	require.NoError(t, err)
	assert.Equal(t, t1, t2)
	assert.Equal(t, s1, s2)
	assert.Equal(t, "gr_at_"+base64.RawURLEncoding.EncodeToString(rnd[:32]), t1[:len(t1)-44])
}

func TestOpaqueRandFailure(t *testing.T) {
	o, err := token.NewOpaque("gr_at_", [][]byte{key32(1)}, token.WithRand(bytes.NewReader(make([]byte, 31))))
	require.NoError(t, err)
	_, _, err = o.Generate()
	assert.Error(t, err, "a short read of the random source must fail, not yield a weak token")
}

// tamperings returns every variant of tok that ZITADEL CVE-2026-27840
// (truncated tokens that still validated) calls for: truncated by 1..len
// chars from either end, extended, each character replaced, and the
// case of each letter flipped.
func tamperings(tok string) map[string]string {
	out := map[string]string{}
	for n := 1; n <= len(tok); n++ {
		out["truncated end "+strconv.Itoa(n)] = tok[:len(tok)-n]
		out["truncated start "+strconv.Itoa(n)] = tok[n:]
	}
	for _, ext := range []string{"A", "a", "0", "_", "-", ".", "=", "==", " ", "\n", "\x00", tok} {
		out["extended with "+strconv.Quote(ext)] = tok + ext
		out["prepended "+strconv.Quote(ext)] = ext + tok
	}
	out["newline inside"] = tok[:len(tok)-5] + "\n" + tok[len(tok)-5:]
	for i := 0; i < len(tok); i++ {
		c := tok[i]
		repl := byte('A')
		if c == 'A' {
			repl = 'B'
		}
		out["char "+strconv.Itoa(i)+" replaced"] = tok[:i] + string(repl) + tok[i+1:]
		switch {
		case c >= 'a' && c <= 'z':
			out["case flipped at "+strconv.Itoa(i)] = tok[:i] + string(c-32) + tok[i+1:]
		case c >= 'A' && c <= 'Z':
			out["case flipped at "+strconv.Itoa(i)] = tok[:i] + string(c+32) + tok[i+1:]
		}
	}
	out["all upper case"] = strings.ToUpper(tok)
	out["all lower case"] = strings.ToLower(tok)
	for k, v := range out {
		if v == tok {
			delete(out, k)
		}
	}
	return out
}

// ZITADEL CVE-2026-27840: truncated, extended and altered tokens are
// invalid.
func TestOpaqueTamperedTokensRejected(t *testing.T) {
	o := newOpaque(t, "gr_at_")
	tok, _, err := o.Generate()
	require.NoError(t, err)
	for name, bad := range tamperings(tok) {
		_, err := o.Signature(bad)
		assert.ErrorIs(t, err, token.ErrInvalid, name)
	}
}

// ZITADEL CVE-2026-27840: a token that differs only in the unused bits of
// its base64url is invalid.
func TestOpaqueNonCanonicalBase64Rejected(t *testing.T) {
	o := newOpaque(t, "gr_at_")
	tok, _, err := o.Generate()
	require.NoError(t, err)
	// The last character of a 43-char encoding of 32 bytes carries two
	// unused bits; setting them must not yield an equivalent token.
	for _, pos := range []int{len("gr_at_") + 42, len(tok) - 1} {
		c := tok[pos]
		const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
		v := strings.IndexByte(alphabet, c)
		for low := 1; low < 4; low++ {
			bad := tok[:pos] + string(alphabet[v|low]) + tok[pos+1:]
			_, err := o.Signature(bad)
			assert.ErrorIs(t, err, token.ErrInvalid)
		}
	}
	// Standard base64 characters in place of URL-safe ones.
	_, err = o.Signature(strings.NewReplacer("-", "+", "_", "/").Replace(tok[6:]))
	assert.ErrorIs(t, err, token.ErrInvalid)
}

// RFC 8725 §3.12: a token of one kind is not accepted as another.
func TestOpaquePrefixSwapRejected(t *testing.T) {
	keys := [][]byte{key32(9)}
	at := newOpaque(t, "gr_at_", keys...)
	rt := newOpaque(t, "gr_rt_", keys...)
	ac := newOpaque(t, "gr_ac_", keys...)

	atTok, _, err := at.Generate()
	require.NoError(t, err)
	rtTok, _, err := rt.Generate()
	require.NoError(t, err)

	tests := []struct {
		name string
		s    *token.Opaque
		tok  string
	}{
		{"an access token presented as a refresh token", rt, atTok},
		{"an access token presented as a code", ac, atTok},
		{"a refresh token presented as an access token", at, rtTok},
		{"a refresh token relabelled with the access-token prefix", at, "gr_at_" + strings.TrimPrefix(rtTok, "gr_rt_")},
		{"an access token relabelled with the refresh-token prefix", rt, "gr_rt_" + strings.TrimPrefix(atTok, "gr_at_")},
		{"the prefix dropped", at, strings.TrimPrefix(atTok, "gr_at_")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.s.Signature(tc.tok)
			assert.ErrorIs(t, err, token.ErrInvalid)
		})
	}
}

func TestOpaqueKeyRotation(t *testing.T) {
	oldKey, newKey := key32(1), key32(2)
	before := newOpaque(t, "gr_at_", oldKey)
	during := newOpaque(t, "gr_at_", newKey, oldKey)
	after := newOpaque(t, "gr_at_", newKey)

	oldTok, oldSig, err := before.Generate()
	require.NoError(t, err)
	newTok, newSig, err := during.Generate()
	require.NoError(t, err)

	got, err := during.Signature(oldTok)
	require.NoError(t, err, "an old key still verifies")
	assert.Equal(t, oldSig, got)

	got, err = during.Signature(newTok)
	require.NoError(t, err)
	assert.Equal(t, newSig, got)
	_, err = before.Signature(newTok)
	assert.ErrorIs(t, err, token.ErrInvalid, "the new key signs")

	_, err = after.Signature(oldTok)
	assert.ErrorIs(t, err, token.ErrInvalid, "a token signed by a removed key fails")
	_, err = after.Signature(newTok)
	assert.NoError(t, err)
}

// RFC 6749 §10.10: tokens carry 256 random bits and never repeat.
func TestOpaqueEntropyAndUniqueness(t *testing.T) {
	o := newOpaque(t, "gr_at_")
	const n = 10_000
	seen := make(map[string]struct{}, n)
	sigs := make(map[string]struct{}, n)
	for range n {
		tok, sig, err := o.Generate()
		require.NoError(t, err)
		rnd := tok[len("gr_at_") : len("gr_at_")+43]
		raw, err := base64.RawURLEncoding.DecodeString(rnd)
		require.NoError(t, err)
		require.Len(t, raw, 32, "256 bits of randomness")
		seen[tok] = struct{}{}
		sigs[sig] = struct{}{}
	}
	assert.Len(t, seen, n, "no token repeats")
	assert.Len(t, sigs, n, "no storage key repeats")
}

func TestOpaqueConcurrentUse(t *testing.T) {
	o := newOpaque(t, "gr_at_", key32(1), key32(2))
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 200 {
				tok, sig, err := o.Generate()
				if err != nil {
					errs <- err
					return
				}
				got, err := o.Signature(tok)
				if err != nil || got != sig {
					errs <- errors.New("round trip failed")
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestOpaqueSignatureDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items under the race detector")
	}
	o := newOpaque(t, "gr_at_")
	tok, _, err := o.Generate()
	require.NoError(t, err)
	allocs := testing.AllocsPerRun(100, func() { _, _ = o.Signature(tok) })
	assert.Zero(t, allocs)
}
