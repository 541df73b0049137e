package storagetest

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/storage"
)

// notText are strings that are not UTF-8 text, or hold a NUL byte, which
// some databases cannot store in a text column.
var notText = map[string]string{
	"a NUL byte":                     "a\x00b",
	"invalid UTF-8":                  "a\xffb",
	"a lone UTF-8 continuation byte": "\x80",
	"a surrogate encoded in UTF-8":   "\xed\xa0\x80",
}

// sentinels are the errors a store's refusal of a string must not match:
// such a string is invalid input, not a duplicate, a use or a full store.
var sentinels = []error{storage.ErrNotFound, storage.ErrConsumed, storage.ErrDuplicate, storage.ErrFull, storage.ErrTooLarge}

// assertRefusal checks that err is a refusal of invalid input.
func assertRefusal(t *testing.T, err error) {
	t.Helper()
	for _, s := range sentinels {
		assert.NotErrorIs(t, err, s, "a string that is not text is invalid input")
	}
	assert.NotErrorIs(t, err, context.Canceled)
}

// testTextOnce checks what the create method of k does with a string that
// is not text in each field it may land in: the record is stored and
// returned byte for byte, or refused with an error and nothing is stored.
func testTextOnce[S, R any](t *testing.T, newStore func(*testing.T) S, k useOnce[S, R], more map[string]func(r *R, s string)) {
	fields := map[string]func(r *R, s string){
		"Request.ClientID":     func(r *R, s string) { k.request(r).ClientID = s },
		"Request.RedirectURI":  func(r *R, s string) { k.request(r).RedirectURI = s },
		"Request.ResponseType": func(r *R, s string) { k.request(r).ResponseType = s },
		"Request.Parameters":   func(r *R, s string) { k.request(r).Parameters["nonce"] = s },
		"a request parameter's name": func(r *R, s string) {
			k.request(r).Parameters = map[string]string{s: "v", "max_age": "0"}
		},
		"Request.State":             func(r *R, s string) { k.request(r).State = s },
		"Request.Scopes":            func(r *R, s string) { k.request(r).Scopes = []string{"openid", s} },
		"Request.Prompt":            func(r *R, s string) { k.request(r).Prompt = []string{s} },
		"Request.PushedKey":         func(r *R, s string) { k.request(r).PushedKey = s },
		"Request.DPoPKeyThumbprint": func(r *R, s string) { k.request(r).DPoPKeyThumbprint = s },
		"Key":                       func(r *R, s string) { k.setKey(r, k.key(r)+s) },
	}
	for name, set := range more {
		fields[name] = set
	}
	for field, set := range fields {
		for what, s := range notText {
			t.Run(field+" with "+what+" is stored exactly or refused", func(t *testing.T) {
				st := newStore(t)
				r := k.full(t)
				set(r, s)
				err := k.doCreate(t.Context(), st, r)
				if err != nil {
					assertRefusal(t, err)
					k.assertNotFound(t, st, k.key(r))
					return
				}
				k.assertEqual(t, r, k.mustGet(t, st, k.key(r)))
				_, err = k.doUse(t.Context(), st, k.key(r), now())
				assert.NoError(t, err, k.use)
			})
		}
	}

	for what, s := range notText {
		t.Run(k.get+" of a key with "+what+" is ErrNotFound", func(t *testing.T) {
			st := newStore(t)
			r := k.full(t)
			k.mustCreate(t, st, r)
			k.assertNotFound(t, st, k.key(r)+s)
			_, err := k.doUse(t.Context(), st, k.key(r)+s, now())
			assert.ErrorIs(t, err, storage.ErrNotFound, k.use)
		})
	}
}

func testInteractionText(t *testing.T, newStore func(*testing.T) storage.InteractionStore) {
	testTextOnce(t, newStore, interactions, map[string]func(*storage.Interaction, string){
		"BrowserBinding":         func(i *storage.Interaction, s string) { i.BrowserBinding = s },
		"DeviceAuthorizationKey": func(i *storage.Interaction, s string) { i.DeviceAuthorizationKey = s },
	})
}

func testAuthorizationCodeText(t *testing.T, newStore func(*testing.T) storage.AuthorizationCodeStore) {
	testTextOnce(t, newStore, authorizationCodes, map[string]func(*storage.AuthorizationCode, string){
		"Subject":    func(c *storage.AuthorizationCode, s string) { c.Subject = s },
		"GrantID":    func(c *storage.AuthorizationCode, s string) { c.GrantID = s },
		"Scopes":     func(c *storage.AuthorizationCode, s string) { c.Scopes = []string{s} },
		"Claims":     func(c *storage.AuthorizationCode, s string) { c.Claims["tenant"] = s },
		"Extensions": func(c *storage.AuthorizationCode, s string) { c.Extensions["sid"] = s },
		"an extension's name": func(c *storage.AuthorizationCode, s string) {
			c.Extensions = map[string]string{s: "v"}
		},
	})
}

func testPushedRequestText(t *testing.T, newStore func(*testing.T) storage.PushedRequestStore) {
	testTextOnce(t, newStore, pushedRequests, nil)
}

func testTokenText(t *testing.T, newStore func(*testing.T) storage.TokenStore) {
	for field, set := range map[string]func(*storage.Token, string){
		"Key":           func(tok *storage.Token, s string) { tok.Key += s },
		"GrantID":       func(tok *storage.Token, s string) { tok.GrantID += s },
		"ClientID":      func(tok *storage.Token, s string) { tok.ClientID = s },
		"Subject":       func(tok *storage.Token, s string) { tok.Subject = s },
		"Scopes":        func(tok *storage.Token, s string) { tok.Scopes = []string{"openid", s} },
		"Audience":      func(tok *storage.Token, s string) { tok.Audience = []string{s} },
		"KeyThumbprint": func(tok *storage.Token, s string) { tok.KeyThumbprint = s },
		"Claims":        func(tok *storage.Token, s string) { tok.Claims = map[string]any{"tenant": s} },
		"a claim's name": func(tok *storage.Token, s string) {
			tok.Claims = map[string]any{s: "acme"}
		},
		"Extensions": func(tok *storage.Token, s string) { tok.Extensions = map[string]string{"sid": s, "acr": "1"} },
		"an extension's name": func(tok *storage.Token, s string) {
			tok.Extensions = map[string]string{s: "v"}
		},
	} {
		for what, s := range notText {
			t.Run(field+" with "+what+" is stored exactly or refused, with its batch", func(t *testing.T) {
				st := newStore(t)
				grantID := newGrantID(t)
				ok, tok := accessToken(t, grantID), refreshToken(t, grantID)
				set(tok, s)
				err := st.CreateTokens(t.Context(), ok, tok)
				if err != nil {
					assertRefusal(t, err)
					assertNotFound(t, st, ok.Key)
					assertNotFound(t, st, tok.Key)
					return
				}
				assertToken(t, tok, get(t, st, tok.Key))
				require.NoError(t, st.RevokeGrant(t.Context(), tok.GrantID, now()), "RevokeGrant")
				assert.False(t, get(t, st, tok.Key).RevokedAt.IsZero(), "RevokedAt after RevokeGrant")
			})
		}
	}

	for what, s := range notText {
		t.Run("a key with "+what+" is ErrNotFound to Token and RevokeToken", func(t *testing.T) {
			st := newStore(t)
			tok := refreshToken(t, newGrantID(t))
			create(t, st, tok)
			assertNotFound(t, st, tok.Key+s)
			assert.ErrorIs(t, st.RevokeToken(t.Context(), tok.Key+s, now()), storage.ErrNotFound, "RevokeToken")
		})

		t.Run("revoking a grant ID with "+what+" is not an error", func(t *testing.T) {
			st := newStore(t)
			grantID := newGrantID(t)
			tok := accessToken(t, grantID)
			create(t, st, tok)
			assert.NoError(t, st.RevokeGrant(t.Context(), grantID+s, now()))
			assert.True(t, get(t, st, tok.Key).RevokedAt.IsZero(), "RevokedAt of another grant's token")
		})
	}
}

func testConsumeTokenText(t *testing.T, newStore func(*testing.T) storage.RefreshTokenStore) {
	for what, s := range notText {
		t.Run("a key with "+what+" is ErrNotFound to ConsumeToken", func(t *testing.T) {
			st := newStore(t)
			tok := refreshToken(t, newGrantID(t))
			create(t, st, tok)
			_, err := st.ConsumeToken(t.Context(), tok.Key+s, now())
			assert.ErrorIs(t, err, storage.ErrNotFound, "ConsumeToken")
			assertToken(t, tok, get(t, st, tok.Key))
		})
	}
}

func testRememberText(t *testing.T, newStore func(*testing.T) storage.ReplayStore) {
	for what, s := range notText {
		t.Run("key with "+what+" is remembered or refused, never forgotten", func(t *testing.T) {
			st := newStore(t)
			key := newKey(t) + s
			err := st.Remember(t.Context(), key, now().Add(time.Hour))
			if err != nil {
				assertRefusal(t, err)
				assert.Error(t, st.Remember(t.Context(), key, now().Add(time.Hour)), "refused again")
				return
			}
			assert.ErrorIs(t, st.Remember(t.Context(), key, now().Add(time.Hour)), storage.ErrConsumed,
				"a replay of the key")
			assert.NoError(t, st.Remember(t.Context(), key[:len(key)-len(s)], now().Add(time.Hour)),
				"the key without the bytes is another key")
		})
	}
}

func testClientText(t *testing.T, newStore NewClientStore) {
	for what, s := range notText {
		t.Run("an ID with "+what+" is ErrNotFound", func(t *testing.T) {
			st := newStore(t, confidentialClient())
			_, err := st.Client(t.Context(), "client-a"+s)
			assert.ErrorIs(t, err, storage.ErrNotFound)
		})
	}
}
