package pkce

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The example of RFC 7636 Appendix B.
const (
	rfcVerifier  = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
	rfcChallenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
)

func TestRFC7636AppendixB(t *testing.T) {
	assert.Equal(t, rfcChallenge, S256Challenge(rfcVerifier))
	assert.NoError(t, Verify(rfcVerifier, rfcChallenge, MethodS256))
	_, err := CheckChallenge(rfcChallenge, MethodS256, false)
	assert.NoError(t, err)
}

// RFC 9700 §2.1.1: only S256 by default; no method means plain (RFC 7636
// §4.3).
func TestOnlyS256ByDefault(t *testing.T) {
	ch := S256Challenge(strings.Repeat("a", 43))
	for _, method := range []string{"plain", "", "S512", "s256"} {
		_, err := CheckChallenge(ch, method, false)
		assert.ErrorIs(t, err, ErrUnsupportedMethod, method)
	}
	m, err := CheckChallenge(ch, "S256", false)
	require.NoError(t, err)
	assert.Equal(t, MethodS256, m)
	// With plain switched on, an absent method is plain.
	m, err = CheckChallenge(strings.Repeat("p", 50), "", true)
	require.NoError(t, err)
	assert.Equal(t, MethodPlain, m)
}

// RFC 7636 §4.2: challenge syntax.
func TestChallengeSyntax(t *testing.T) {
	for name, ch := range map[string]string{
		"42 chars":          strings.Repeat("a", 42),
		"129 chars":         strings.Repeat("a", 129),
		"plus":              strings.Repeat("a", 42) + "+",
		"slash":             strings.Repeat("a", 42) + "/",
		"equals":            strings.Repeat("a", 42) + "=",
		"space":             strings.Repeat("a", 42) + " ",
		"S256 of wrong len": strings.Repeat("a", 44),
		"empty":             "",
	} {
		_, err := CheckChallenge(ch, MethodS256, false)
		assert.ErrorIs(t, err, ErrMalformed, name)
	}
	_, err := CheckChallenge(strings.Repeat("a", 128), MethodPlain, true)
	assert.NoError(t, err)
	_, err = CheckChallenge(strings.Repeat("~", 43), MethodS256, false)
	assert.NoError(t, err)
}

// RFC 7636 §4.6 and §4.1: wrong verifiers, and verifier syntax enforced
// even when the hash would match.
func TestVerifierChecks(t *testing.T) {
	v43 := strings.Repeat("A", 43)
	v128 := strings.Repeat("z", 128)
	assert.NoError(t, Verify(v43, S256Challenge(v43), MethodS256))
	assert.NoError(t, Verify(v128, S256Challenge(v128), MethodS256))
	assert.ErrorIs(t, Verify(v43, S256Challenge(v128), MethodS256), ErrMismatch)
	assert.ErrorIs(t, Verify("", S256Challenge(v43), MethodS256), ErrMalformed)

	for name, v := range map[string]string{
		"42 chars":  strings.Repeat("A", 42),
		"129 chars": strings.Repeat("A", 129),
		"plus":      strings.Repeat("A", 42) + "+",
		"slash":     strings.Repeat("A", 42) + "/",
		"equals":    strings.Repeat("A", 42) + "=",
		"space":     strings.Repeat("A", 42) + " ",
	} {
		// The challenge is computed from the bad verifier itself, so only
		// the syntax check can refuse it.
		assert.ErrorIs(t, Verify(v, S256Challenge(v), MethodS256), ErrMalformed, name)
		assert.ErrorIs(t, Verify(v, v, MethodPlain), ErrMalformed, name)
	}
	assert.ErrorIs(t, Verify(v43, v43, "S512"), ErrUnsupportedMethod)
	assert.NoError(t, Verify(v43, v43, MethodPlain))
}

// RFC 6749 §10.10: generated verifiers carry 256 random bits and never
// repeat.
func TestGenerateVerifier(t *testing.T) {
	seen := map[string]bool{}
	for range 10000 {
		v, err := GenerateVerifier()
		require.NoError(t, err)
		require.NoError(t, CheckVerifier(v))
		require.Len(t, v, 43)
		require.False(t, seen[v])
		seen[v] = true
	}
}

func FuzzVerify(f *testing.F) {
	f.Add(rfcVerifier, rfcChallenge, MethodS256)
	f.Add(strings.Repeat("a", 43), strings.Repeat("a", 43), MethodPlain)
	f.Add("", "", "")
	f.Fuzz(func(t *testing.T, verifier, challenge, method string) {
		err := Verify(verifier, challenge, method)
		if err == nil && CheckVerifier(verifier) != nil {
			t.Fatalf("accepted a malformed verifier %q", verifier)
		}
	})
}

func BenchmarkVerifyS256(b *testing.B) {
	v := strings.Repeat("A", 64)
	ch := S256Challenge(v)
	b.ReportAllocs()
	for b.Loop() {
		if Verify(v, ch, MethodS256) != nil {
			b.Fatal("mismatch")
		}
	}
}
