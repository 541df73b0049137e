package oauth2

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"
)

func TestGeneratedSecretRoundTrip(t *testing.T) {
	secret, hash, err := GenerateClientSecret(nil)
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(secret, "gr_cs_"))
	assert.Len(t, secret, len("gr_cs_")+43, "256 bits, base64url")
	assert.True(t, strings.HasPrefix(hash, "$grantor-hmac-sha256$"))
	assert.NotContains(t, hash, secret[len("gr_cs_"):])
	assert.NoError(t, VerifyClientSecret(hash, secret))
	assert.ErrorIs(t, VerifyClientSecret(hash, secret+"x"), ErrClientSecretMismatch)
	assert.ErrorIs(t, VerifyClientSecret(hash, secret[:len(secret)-1]), ErrClientSecretMismatch)
	assert.ErrorIs(t, VerifyClientSecret(hash, ""), ErrClientSecretMismatch)
}

// RFC 6749 §10.10: generated secrets have 256 bits from the random source,
// and no two are alike.
func TestGeneratedSecretsAreUnique(t *testing.T) {
	seen := make(map[string]bool, 10000)
	for range 10000 {
		secret, _, err := GenerateClientSecret(nil)
		require.NoError(t, err)
		require.False(t, seen[secret])
		seen[secret] = true
	}
	// The secret is exactly the random input: a fixed reader gives a
	// fixed secret.
	a, _, err := GenerateClientSecret(bytes.NewReader(make([]byte, 64)))
	require.NoError(t, err)
	assert.Equal(t, "gr_cs_"+strings.Repeat("A", 43), a)
	_, _, err = GenerateClientSecret(bytes.NewReader(make([]byte, 10)))
	assert.Error(t, err, "a short random source is an error, not a weak secret")
}

// RFC 6819 §5.1.4.1.3: human-chosen secrets are stored with a salted slow
// hash.
func TestHumanSecretsUseArgon2id(t *testing.T) {
	h1, err := HashClientSecret("hunter2")
	require.NoError(t, err)
	h2, err := HashClientSecret("hunter2")
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(h1, "$argon2id$v=19$m=19456,t=2,p=1$"), h1)
	assert.NotEqual(t, h1, h2, "salted")
	assert.NotContains(t, h1, "hunter2")
	assert.NoError(t, VerifyClientSecret(h1, "hunter2"))
	assert.ErrorIs(t, VerifyClientSecret(h1, "hunter3"), ErrClientSecretMismatch)
	_, err = HashClientSecret("")
	assert.Error(t, err)
}

func TestBcryptHashesVerifyWithoutTruncation(t *testing.T) {
	long := strings.Repeat("s", 72)
	hash, err := bcrypt.GenerateFromPassword([]byte(long), bcrypt.MinCost)
	require.NoError(t, err)
	assert.NoError(t, VerifyClientSecret(string(hash), long))
	// bcrypt would compare only the first 72 bytes; a longer secret
	// must not match.
	assert.ErrorIs(t, VerifyClientSecret(string(hash), long+"extra"), ErrClientSecretMismatch)
	assert.ErrorIs(t, VerifyClientSecret(string(hash), "other"), ErrClientSecretMismatch)
}

func TestMalformedHashesAreErrorsNotMatches(t *testing.T) {
	for _, hash := range []string{
		"",
		"plaintext",
		"$grantor-hmac-sha256$",
		"$grantor-hmac-sha256$AAAA$AAAA",
		"$argon2id$v=19$m=19456,t=2,p=1$c2FsdA",
		"$argon2id$v=18$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=999999999,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$2a$10$short",
	} {
		err := VerifyClientSecret(hash, "secret")
		assert.Error(t, err, hash)
		assert.NotErrorIs(t, err, ErrClientSecretMismatch, hash)
	}
}

// RFC 6749 §2.3.1, §5.2: the dummy hash used for unknown clients is
// well-formed, so the time spent on an unknown client is a real
// verification.
func TestDummyHashIsWellFormed(t *testing.T) {
	assert.ErrorIs(t, VerifyClientSecret(dummySecretHash, "anything"), ErrClientSecretMismatch)
}

func BenchmarkVerifyClientSecret(b *testing.B) {
	b.Run("generated", func(b *testing.B) {
		secret, hash, err := GenerateClientSecret(nil)
		require.NoError(b, err)
		b.ReportAllocs()
		for b.Loop() {
			if VerifyClientSecret(hash, secret) != nil {
				b.Fatal("mismatch")
			}
		}
	})
	b.Run("argon2id", func(b *testing.B) {
		hash, err := HashClientSecret("correct horse battery staple")
		require.NoError(b, err)
		b.ReportAllocs()
		for b.Loop() {
			if VerifyClientSecret(hash, "correct horse battery staple") != nil {
				b.Fatal("mismatch")
			}
		}
	})
}
