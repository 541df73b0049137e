package storagetest

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/storage"
)

// concurrency is how many goroutines race in the concurrency cases.
const concurrency = 50

// now returns the current time in UTC, truncated to microseconds so that
// every adapter can store it exactly.
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// randomID returns n random base64url characters: keys and grant IDs that
// look like the real ones and never collide across subtests.
func randomID(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, (n*6+7)/8)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return base64.RawURLEncoding.EncodeToString(b)[:n]
}

func newKey(t *testing.T) string { return randomID(t, 43) }

// newThumbprint returns what a JWK SHA-256 thumbprint (RFC 7638) looks like
// in cnf.jkt and dpop_jkt: 43 base64url characters.
func newThumbprint(t *testing.T) string { return randomID(t, 43) }
func newGrantID(t *testing.T) string    { return randomID(t, 16) }

// accessToken returns a typical access token record of the grant, issued
// now and valid for an hour.
func accessToken(t *testing.T, grantID string) *storage.Token {
	t.Helper()
	n := now()
	return &storage.Token{
		Key:       newKey(t),
		Kind:      storage.AccessToken,
		GrantID:   grantID,
		ClientID:  "client-a",
		Subject:   "user-1",
		Scopes:    []string{"openid", "profile"},
		Audience:  []string{"https://api.example"},
		IssuedAt:  n,
		ExpiresAt: n.Add(time.Hour),
	}
}

// refreshToken returns a refresh token record of the grant with every
// field a refresh token is created with set, the grant's own token
// lifetimes, a DPoP key binding (a public client's, RFC 9449 §5) and the
// values a feature keeps with the grant (Extensions) included.
func refreshToken(t *testing.T, grantID string) *storage.Token {
	t.Helper()
	n := now()
	return &storage.Token{
		Key:            newKey(t),
		Kind:           storage.RefreshToken,
		GrantID:        grantID,
		ClientID:       "client-a",
		Subject:        "user-1",
		Scopes:         []string{"openid", "profile", "offline_access"},
		Audience:       []string{"https://api.example"},
		IssuedAt:       n,
		ExpiresAt:      n.Add(time.Hour),
		GrantExpiresAt: n.Add(24 * time.Hour),
		// Lifetimes that no coarser unit than the nanosecond holds.
		AccessTokenLifetime:  10*time.Minute + 9*time.Nanosecond,
		RefreshTokenLifetime: 7*24*time.Hour + time.Microsecond + 5*time.Nanosecond,
		KeyThumbprint:        newThumbprint(t),
		Extensions:           oddStrings(),
	}
}

// oddStrings returns a map of names and values that an encoding of a
// store could get wrong: quotes and backslashes, JSON and HTML text,
// characters beyond ASCII (U+2028 among them, which JavaScript takes for
// a line break), an empty value, and names of the same shapes.
func oddStrings() map[string]string {
	return map[string]string{
		"nonce":             "n-0S6_WzA2Mj",
		"max_age":           "0",
		"empty":             "",
		"quoted":            `say "hi" \ 'there' \u0041`,
		"claims":            `{"id_token":{"acr":{"essential":true,"values":["urn:mace:incommon:iap:silver"]}}}`,
		"html":              "<a href='x'>&amp;</a>",
		"unicode":           "ünïcödé \u2028 日本語 🙂",
		"a \"quoted\" name": "ü",
		"ünïcödé name":      "v",
	}
}

// create stores the records, failing the test if it cannot.
func create(t *testing.T, s storage.TokenStore, tokens ...*storage.Token) {
	t.Helper()
	require.NoError(t, s.CreateTokens(t.Context(), tokens...), "CreateTokens")
}

// get returns the record under key, failing the test if there is none.
func get(t *testing.T, s storage.TokenStore, key string) *storage.Token {
	t.Helper()
	got, err := s.Token(t.Context(), key)
	require.NoError(t, err, "Token")
	require.NotNil(t, got, "Token returned a nil record and no error")
	return got
}

// assertNotFound checks that no record is stored under key.
func assertNotFound(t *testing.T, s storage.TokenStore, key string) {
	t.Helper()
	_, err := s.Token(t.Context(), key)
	assert.ErrorIs(t, err, storage.ErrNotFound, "Token of a key that must not be stored")
}

// assertTime checks two times for the same instant.
func assertTime(t *testing.T, field string, want, got time.Time) {
	t.Helper()
	if want.IsZero() {
		assert.True(t, got.IsZero(), "%s: want the zero time, got %v", field, got)
		return
	}
	assert.True(t, want.Equal(got), "%s: want %v, got %v", field, want, got)
}

// assertStrings checks two lists, a nil and an empty one being equal.
func assertStrings(t *testing.T, field string, want, got []string) {
	t.Helper()
	if len(want) == 0 {
		assert.Empty(t, got, field)
		return
	}
	assert.Equal(t, want, got, field)
}

// assertStringMap checks two maps of strings, a nil and an empty one being
// equal.
func assertStringMap(t *testing.T, field string, want, got map[string]string) {
	t.Helper()
	if len(want) == 0 {
		assert.Empty(t, got, field)
		return
	}
	assert.Equal(t, want, got, field)
}

// assertToken checks that got holds every field of want.
func assertToken(t *testing.T, want, got *storage.Token) {
	t.Helper()
	if !assert.NotNil(t, got, "record") {
		return
	}
	assert.Equal(t, want.Key, got.Key, "Key")
	assert.Equal(t, want.Kind, got.Kind, "Kind")
	assert.Equal(t, want.GrantID, got.GrantID, "GrantID")
	assert.Equal(t, want.ClientID, got.ClientID, "ClientID")
	assert.Equal(t, want.Subject, got.Subject, "Subject")
	assertStrings(t, "Scopes", want.Scopes, got.Scopes)
	assertStrings(t, "Audience", want.Audience, got.Audience)
	assertClaims(t, want.Claims, got.Claims)
	assertTime(t, "IssuedAt", want.IssuedAt, got.IssuedAt)
	assertTime(t, "ExpiresAt", want.ExpiresAt, got.ExpiresAt)
	assertTime(t, "GrantExpiresAt", want.GrantExpiresAt, got.GrantExpiresAt)
	assert.Equal(t, want.AccessTokenLifetime, got.AccessTokenLifetime, "AccessTokenLifetime")
	assert.Equal(t, want.RefreshTokenLifetime, got.RefreshTokenLifetime, "RefreshTokenLifetime")
	assert.Equal(t, want.KeyThumbprint, got.KeyThumbprint, "KeyThumbprint")
	assertStringMap(t, "Extensions", want.Extensions, got.Extensions)
	assertTime(t, "ConsumedAt", want.ConsumedAt, got.ConsumedAt)
	assertTime(t, "RevokedAt", want.RevokedAt, got.RevokedAt)
}

// race runs f(i) for i in [0, n) in n goroutines released at the same
// moment, and waits for all of them.
func race(n int, f func(i int)) {
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			f(i)
		})
	}
	close(start)
	wg.Wait()
}

// countWinners checks that exactly one of errs is nil and every other one
// matches loser. It returns the index of the winner, or -1.
func countWinners(t *testing.T, errs []error, loser error) int {
	t.Helper()
	winner, winners := -1, 0
	for i, err := range errs {
		switch {
		case err == nil:
			winner = i
			winners++
		case errors.Is(err, loser):
		default:
			assert.Fail(t, "unexpected error", "call %d: %v (want nil or %v)", i, err, loser)
		}
	}
	assert.Equal(t, 1, winners, "calls that returned a nil error")
	if winners != 1 {
		return -1
	}
	return winner
}
