package storagetest

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/storage"
)

// padState sets the request's State so that the record's Size is n.
func padState[S, R any](t *testing.T, k useOnce[S, R], r *R, n int) {
	t.Helper()
	k.request(r).State = ""
	base, err := k.size(r)
	require.NoError(t, err)
	require.LessOrEqual(t, base, n, "the record without its state")
	k.request(r).State = strings.Repeat("s", n-base)
	got, err := k.size(r)
	require.NoError(t, err)
	require.Equal(t, n, got, "Size after padding")
}

// padClaims sets a claim so that the Size of the record, measured by
// size, is n.
func padClaims(t *testing.T, claims map[string]any, size func() (int, error), n int) {
	t.Helper()
	claims["pad"] = ""
	base, err := size()
	require.NoError(t, err)
	require.LessOrEqual(t, base, n, "the record without its padding")
	claims["pad"] = strings.Repeat("p", n-base)
	got, err := size()
	require.NoError(t, err)
	require.Equal(t, n, got, "Size after padding")
}

// padStrings sets an entry of m so that the Size of the record, measured
// by size, is n.
func padStrings(t *testing.T, m map[string]string, size func() (int, error), n int) {
	t.Helper()
	m["pad"] = ""
	base, err := size()
	require.NoError(t, err)
	require.LessOrEqual(t, base, n, "the record without its padding")
	m["pad"] = strings.Repeat("p", n-base)
	got, err := size()
	require.NoError(t, err)
	require.Equal(t, n, got, "Size after padding")
}

// longList returns a list whose elements add up to more than
// MaxRecordBytes.
func longList(t *testing.T) []string {
	l := make([]string, storage.MaxRecordBytes/40+1)
	for i := range l {
		l[i] = "scope-" + randomID(t, 34)
	}
	return l
}

// testSizeOnce checks that the create method of k refuses what is larger
// than storage.MaxRecordBytes, and only that.
// assertTooLarge checks that err is a refusal of a record or key that is
// too large: it matches storage.ErrTooLarge and no other sentinel (a key
// that is too long to be stored is not a key that is not found).
func assertTooLarge(t *testing.T, err error) {
	t.Helper()
	assert.ErrorIs(t, err, storage.ErrTooLarge)
	for _, s := range sentinels {
		if s != storage.ErrTooLarge {
			assert.NotErrorIs(t, err, s, "a refusal of a record or key that is too large")
		}
	}
}

// testSizeOnce checks that the create method of k refuses what is larger
// than storage.MaxRecordBytes, and only that, and keys longer than
// storage.MaxKeyBytes.
func testSizeOnce[S, R any](t *testing.T, newStore func(*testing.T) S, k useOnce[S, R]) {
	t.Run(k.noun+" of MaxRecordBytes is stored whole", func(t *testing.T) {
		s := newStore(t)
		r := k.full(t)
		padState(t, k, r, storage.MaxRecordBytes)
		k.mustCreate(t, s, r)
		k.assertEqual(t, r, k.mustGet(t, s, k.key(r)))
	})

	t.Run(k.noun+" one byte larger is ErrTooLarge and nothing is stored", func(t *testing.T) {
		s := newStore(t)
		r := k.full(t)
		padState(t, k, r, storage.MaxRecordBytes+1)
		assertTooLarge(t, k.doCreate(t.Context(), s, r))
		k.assertNotFound(t, s, k.key(r))
	})

	t.Run("request parameters count: "+k.noun+" of MaxRecordBytes is stored whole", func(t *testing.T) {
		s := newStore(t)
		r := k.full(t)
		padStrings(t, k.request(r).Parameters, func() (int, error) { return k.size(r) }, storage.MaxRecordBytes)
		k.mustCreate(t, s, r)
		k.assertEqual(t, r, k.mustGet(t, s, k.key(r)))
	})

	t.Run("request parameters count: "+k.noun+" one byte larger is ErrTooLarge", func(t *testing.T) {
		s := newStore(t)
		r := k.full(t)
		padStrings(t, k.request(r).Parameters, func() (int, error) { return k.size(r) }, storage.MaxRecordBytes+1)
		assertTooLarge(t, k.doCreate(t.Context(), s, r))
		k.assertNotFound(t, s, k.key(r))
	})

	t.Run("a long list counts: "+k.noun+" of many scopes is ErrTooLarge", func(t *testing.T) {
		s := newStore(t)
		r := k.full(t)
		k.request(r).Scopes = longList(t)
		assertTooLarge(t, k.doCreate(t.Context(), s, r))
		k.assertNotFound(t, s, k.key(r))
	})

	t.Run(k.noun+" of a megabyte is ErrTooLarge", func(t *testing.T) {
		s := newStore(t)
		r := k.full(t)
		k.request(r).State = strings.Repeat("s", 1<<20)
		assertTooLarge(t, k.doCreate(t.Context(), s, r))
		k.assertNotFound(t, s, k.key(r))
	})

	for _, tc := range keyLengths {
		t.Run(k.noun+" keys "+tc.name, func(t *testing.T) {
			s := newStore(t)
			r := k.full(t)
			k.setKey(r, randomID(t, tc.n))
			err := k.doCreate(t.Context(), s, r)
			if tc.allow {
				require.NoError(t, err)
				k.assertEqual(t, r, k.mustGet(t, s, k.key(r)))
				return
			}
			assertTooLarge(t, err)
			k.assertNotFound(t, s, k.key(r))
		})
	}
}

// keyLengths are the lengths of keys and grant IDs at the bound and past
// it: every store takes keys and grant IDs of MaxKeyBytes and refuses
// longer ones.
var keyLengths = []struct {
	name  string
	n     int
	allow bool
}{
	{"of MaxKeyBytes are stored", storage.MaxKeyBytes, true},
	{"one byte longer are ErrTooLarge", storage.MaxKeyBytes + 1, false},
}

func testAuthorizationCodeSize(t *testing.T, newStore func(*testing.T) storage.AuthorizationCodeStore) {
	testSizeOnce(t, newStore, authorizationCodes)

	t.Run("claims count as their JSON: code of MaxRecordBytes is stored whole", func(t *testing.T) {
		s := newStore(t)
		c := authorizationCode(t)
		padClaims(t, c.Claims, c.Size, storage.MaxRecordBytes)
		authorizationCodes.mustCreate(t, s, c)
		assertAuthorizationCode(t, c, authorizationCodes.mustGet(t, s, c.Key))
	})

	t.Run("claims count as their JSON: code one byte larger is ErrTooLarge", func(t *testing.T) {
		s := newStore(t)
		c := authorizationCode(t)
		padClaims(t, c.Claims, c.Size, storage.MaxRecordBytes+1)
		assertTooLarge(t, s.CreateAuthorizationCode(t.Context(), c))
		authorizationCodes.assertNotFound(t, s, c.Key)
	})

	t.Run("extensions count: code of MaxRecordBytes is stored whole", func(t *testing.T) {
		s := newStore(t)
		c := authorizationCode(t)
		padStrings(t, c.Extensions, c.Size, storage.MaxRecordBytes)
		authorizationCodes.mustCreate(t, s, c)
		assertAuthorizationCode(t, c, authorizationCodes.mustGet(t, s, c.Key))
	})

	t.Run("extensions count: code one byte larger is ErrTooLarge", func(t *testing.T) {
		s := newStore(t)
		c := authorizationCode(t)
		padStrings(t, c.Extensions, c.Size, storage.MaxRecordBytes+1)
		assertTooLarge(t, s.CreateAuthorizationCode(t.Context(), c))
		authorizationCodes.assertNotFound(t, s, c.Key)
	})

	for _, tc := range keyLengths {
		t.Run("code grant IDs "+tc.name, func(t *testing.T) {
			s := newStore(t)
			c := authorizationCode(t)
			c.GrantID = randomID(t, tc.n)
			err := s.CreateAuthorizationCode(t.Context(), c)
			if tc.allow {
				require.NoError(t, err)
				assertAuthorizationCode(t, c, authorizationCodes.mustGet(t, s, c.Key))
				return
			}
			assertTooLarge(t, err)
			authorizationCodes.assertNotFound(t, s, c.Key)
		})
	}
}

func testTokenSize(t *testing.T, newStore func(*testing.T) storage.TokenStore) {
	t.Run("token of MaxRecordBytes is stored whole", func(t *testing.T) {
		s := newStore(t)
		tok := refreshToken(t, newGrantID(t))
		tok.Claims = map[string]any{"tenant": "acme"}
		padClaims(t, tok.Claims, tok.Size, storage.MaxRecordBytes)
		create(t, s, tok)
		assertToken(t, tok, get(t, s, tok.Key))
	})

	t.Run("token one byte larger is ErrTooLarge and no token of the batch is stored", func(t *testing.T) {
		s := newStore(t)
		grantID := newGrantID(t)
		small, large := accessToken(t, grantID), refreshToken(t, grantID)
		large.Claims = map[string]any{}
		padClaims(t, large.Claims, large.Size, storage.MaxRecordBytes+1)
		assertTooLarge(t, s.CreateTokens(t.Context(), small, large))
		assertNotFound(t, s, small.Key)
		assertNotFound(t, s, large.Key)
	})

	t.Run("extensions count: token of MaxRecordBytes is stored whole", func(t *testing.T) {
		s := newStore(t)
		tok := refreshToken(t, newGrantID(t))
		padStrings(t, tok.Extensions, tok.Size, storage.MaxRecordBytes)
		create(t, s, tok)
		assertToken(t, tok, get(t, s, tok.Key))
	})

	t.Run("extensions count: token one byte larger is ErrTooLarge and no token of the batch is stored", func(t *testing.T) {
		s := newStore(t)
		grantID := newGrantID(t)
		small, large := accessToken(t, grantID), refreshToken(t, grantID)
		padStrings(t, large.Extensions, large.Size, storage.MaxRecordBytes+1)
		assertTooLarge(t, s.CreateTokens(t.Context(), small, large))
		assertNotFound(t, s, small.Key)
		assertNotFound(t, s, large.Key)
	})

	t.Run("a long list counts: token of many scopes is ErrTooLarge", func(t *testing.T) {
		s := newStore(t)
		tok := accessToken(t, newGrantID(t))
		tok.Scopes = longList(t)
		assertTooLarge(t, s.CreateTokens(t.Context(), tok))
		assertNotFound(t, s, tok.Key)
	})

	t.Run("token with claims of a megabyte is ErrTooLarge", func(t *testing.T) {
		s := newStore(t)
		tok := accessToken(t, newGrantID(t))
		tok.Claims = map[string]any{"big": strings.Repeat("b", 1<<20)}
		assertTooLarge(t, s.CreateTokens(t.Context(), tok))
		assertNotFound(t, s, tok.Key)
	})

	for _, tc := range keyLengths {
		t.Run("token keys "+tc.name, func(t *testing.T) {
			s := newStore(t)
			tok := accessToken(t, newGrantID(t))
			tok.Key = randomID(t, tc.n)
			err := s.CreateTokens(t.Context(), tok)
			if tc.allow {
				require.NoError(t, err)
				assertToken(t, tok, get(t, s, tok.Key))
				return
			}
			assertTooLarge(t, err)
			assertNotFound(t, s, tok.Key)
		})

		t.Run("token grant IDs "+tc.name, func(t *testing.T) {
			s := newStore(t)
			tok := accessToken(t, randomID(t, tc.n))
			err := s.CreateTokens(t.Context(), tok)
			if tc.allow {
				require.NoError(t, err)
				require.NoError(t, s.RevokeGrant(t.Context(), tok.GrantID, now()))
				assert.False(t, get(t, s, tok.Key).RevokedAt.IsZero(), "RevokedAt after RevokeGrant")
				return
			}
			assertTooLarge(t, err)
			assertNotFound(t, s, tok.Key)
		})
	}
}

func testRememberSize(t *testing.T, newStore func(*testing.T) storage.ReplayStore) {
	t.Run("key of MaxKeyBytes is remembered", func(t *testing.T) {
		s := newStore(t)
		key := randomID(t, storage.MaxKeyBytes)
		require.NoError(t, s.Remember(t.Context(), key, now().Add(time.Hour)))
		assert.ErrorIs(t, s.Remember(t.Context(), key, now().Add(time.Hour)), storage.ErrConsumed)
	})

	t.Run("key one byte longer is ErrTooLarge and nothing is remembered", func(t *testing.T) {
		s := newStore(t)
		key := randomID(t, storage.MaxKeyBytes+1)
		assertTooLarge(t, s.Remember(t.Context(), key, now().Add(time.Hour)))
		assertTooLarge(t, s.Remember(t.Context(), key, now().Add(time.Hour)))
	})
}
