package storagetest

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/storage"
)

// The rules of this file: the maps of strings of the records (an
// authorization request's Parameters, the Extensions of a code and of a
// token record) round trip name for name and value for value, an empty
// value included, through every method that returns the record; a nil map
// and an empty one both mean none, and may come back as either.

// stringMaps are the maps each rule is checked with, by what they are.
var stringMaps = map[string]func() map[string]string{
	"nil":                  func() map[string]string { return nil },
	"empty":                func() map[string]string { return map[string]string{} },
	"one empty value":      func() map[string]string { return map[string]string{"nonce": ""} },
	"odd names and values": oddStrings,
}

// testParametersOnce checks the Parameters of the request k's records
// hold (OpenID Connect Core §3.1.2.1 nonce, max_age, claims).
func testParametersOnce[S, R any](t *testing.T, newStore func(*testing.T) S, k useOnce[S, R]) {
	for what, m := range stringMaps {
		t.Run("Request.Parameters "+what+" round trip", func(t *testing.T) {
			s := newStore(t)
			r := k.full(t)
			k.request(r).Parameters = m()
			k.mustCreate(t, s, r)
			k.assertEqual(t, r, k.mustGet(t, s, k.key(r)))
			used, err := k.doUse(t.Context(), s, k.key(r), now())
			require.NoError(t, err, k.use)
			require.NotNil(t, used, k.use)
			assertStringMap(t, "Request.Parameters returned by "+k.use, k.request(r).Parameters, k.request(used).Parameters)
		})
	}
}

// testAuthorizationCodeExtensions checks the Extensions of code records.
func testAuthorizationCodeExtensions(t *testing.T, newStore func(*testing.T) storage.AuthorizationCodeStore) {
	for what, m := range stringMaps {
		t.Run("Extensions "+what+" round trip", func(t *testing.T) {
			s := newStore(t)
			c := authorizationCode(t)
			c.Extensions = m()
			authorizationCodes.mustCreate(t, s, c)
			assertAuthorizationCode(t, c, authorizationCodes.mustGet(t, s, c.Key))
			got, err := s.ConsumeAuthorizationCode(t.Context(), c.Key, now())
			require.NoError(t, err)
			require.NotNil(t, got)
			assertStringMap(t, "Extensions returned by ConsumeAuthorizationCode", c.Extensions, got.Extensions)
		})
	}
}

// testTokenExtensions checks the Extensions of access and refresh token
// records.
func testTokenExtensions(t *testing.T, newStore func(*testing.T) storage.TokenStore) {
	for what, m := range stringMaps {
		t.Run("Extensions "+what+" round trip", func(t *testing.T) {
			s := newStore(t)
			grantID := newGrantID(t)
			at, rt := accessToken(t, grantID), refreshToken(t, grantID)
			at.Extensions, rt.Extensions = m(), m()
			create(t, s, at, rt)
			assertToken(t, at, get(t, s, at.Key))
			assertToken(t, rt, get(t, s, rt.Key))
		})
	}

	t.Run("records of one batch keep their own Extensions", func(t *testing.T) {
		s := newStore(t)
		grantID := newGrantID(t)
		none, at, rt := accessToken(t, grantID), accessToken(t, grantID), refreshToken(t, grantID)
		at.Extensions = map[string]string{"sid": "session-a"}
		rt.Extensions = map[string]string{"sid": "session-b", "auth_time": "1700000000"}
		create(t, s, none, at, rt)
		for _, tok := range []*storage.Token{none, at, rt} {
			assertToken(t, tok, get(t, s, tok.Key))
		}
	})
}
