package storagetest

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/grantor-dev/grantor/storage"
)

// The rules of this file, written in package storage: a write of input
// that no record can hold (a nil record, an empty key) is refused with an
// error that matches none of the sentinels, and nothing is written; it is
// not ErrNotFound, which says that a record is missing, nor ErrDuplicate
// or ErrConsumed, which a caller would act on. A read, use or revocation
// by a key that no record can have (empty, longer than MaxKeyBytes) is
// ErrNotFound: nothing is stored under it.

// assertInvalid checks that err refuses invalid input.
func assertInvalid(t *testing.T, err error) {
	t.Helper()
	if assert.Error(t, err, "invalid input must be refused") {
		assertRefusal(t, err)
	}
}

// unkeepable returns keys that no record can have (empty, longer than
// storage.MaxKeyBytes) and, for comparison, an unknown key of
// MaxKeyBytes: nothing is stored under any of them.
func unkeepable(t *testing.T) map[string]string {
	return map[string]string{
		"an empty key":                  "",
		"a key longer than MaxKeyBytes": randomID(t, storage.MaxKeyBytes+1),
		"a key of a megabyte":           strings.Repeat("k", 1<<20),
		"an unknown key of MaxKeyBytes": randomID(t, storage.MaxKeyBytes),
	}
}

func testTokenInput(t *testing.T, newStore func(*testing.T) storage.TokenStore) {
	t.Run("nil record is invalid input, not a sentinel, and its batch is not stored", func(t *testing.T) {
		s := newStore(t)
		ok := accessToken(t, newGrantID(t))
		assertInvalid(t, s.CreateTokens(t.Context(), ok, nil))
		assertNotFound(t, s, ok.Key)
	})

	t.Run("empty key is invalid input, not a sentinel, and its batch is not stored", func(t *testing.T) {
		s := newStore(t)
		grantID := newGrantID(t)
		ok, empty := accessToken(t, grantID), refreshToken(t, grantID)
		empty.Key = ""
		assertInvalid(t, s.CreateTokens(t.Context(), ok, empty))
		assertNotFound(t, s, ok.Key)
		assertNotFound(t, s, "")
	})

	for what, key := range unkeepable(t) {
		t.Run(what+" is ErrNotFound to Token and RevokeToken", func(t *testing.T) {
			s := newStore(t)
			create(t, s, accessToken(t, newGrantID(t)))
			assertNotFound(t, s, key)
			assert.ErrorIs(t, s.RevokeToken(t.Context(), key, now()), storage.ErrNotFound, "RevokeToken")
		})
	}
}

func testConsumeTokenInput(t *testing.T, newStore func(*testing.T) storage.RefreshTokenStore) {
	for what, key := range unkeepable(t) {
		t.Run(what+" is ErrNotFound to ConsumeToken", func(t *testing.T) {
			s := newStore(t)
			create(t, s, refreshToken(t, newGrantID(t)))
			rec, err := s.ConsumeToken(t.Context(), key, now())
			assert.ErrorIs(t, err, storage.ErrNotFound)
			assert.Nil(t, rec, "no record with ErrNotFound")
		})
	}
}

func testRememberInput(t *testing.T, newStore func(*testing.T) storage.ReplayStore) {
	t.Run("empty key is invalid input, not a sentinel, and nothing is remembered", func(t *testing.T) {
		s := newStore(t)
		assertInvalid(t, s.Remember(t.Context(), "", now().Add(time.Hour)))
		assertInvalid(t, s.Remember(t.Context(), "", now().Add(time.Hour)))
	})
}

// testInputOnce checks what k's methods do with input no record can hold.
func testInputOnce[S, R any](t *testing.T, newStore func(*testing.T) S, k useOnce[S, R]) {
	t.Run("nil record is invalid input, not a sentinel", func(t *testing.T) {
		s := newStore(t)
		assertInvalid(t, k.doCreate(t.Context(), s, nil))
	})

	t.Run("empty key is invalid input, not a sentinel, and nothing is stored", func(t *testing.T) {
		s := newStore(t)
		r := k.full(t)
		k.setKey(r, "")
		assertInvalid(t, k.doCreate(t.Context(), s, r))
		k.assertNotFound(t, s, "")
	})

	for what, key := range unkeepable(t) {
		t.Run(what+" is ErrNotFound to "+k.get+" and "+k.use, func(t *testing.T) {
			s := newStore(t)
			k.mustCreate(t, s, k.full(t))
			rec, err := k.doGet(t.Context(), s, key)
			assert.ErrorIs(t, err, storage.ErrNotFound, k.get)
			assert.Nil(t, rec, "no record with ErrNotFound")
			rec, err = k.doUse(t.Context(), s, key, now())
			assert.ErrorIs(t, err, storage.ErrNotFound, k.use)
			assert.Nil(t, rec, "no record with ErrNotFound")
		})
	}
}
