package resource_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/internal/testkit"
	"github.com/grantor-dev/grantor/resource"
)

// Each rule of a resource server, for every validator and every access
// token format, against a real Provider.

var formats = []string{"opaque", "jwt"}

// requireInvalid asserts a 401 invalid_token answer that does not quote
// the token.
func requireInvalid(t *testing.T, res result, tok string) {
	t.Helper()
	assert.Equal(t, http.StatusUnauthorized, res.status, "body: %s", res.body)
	assert.Contains(t, res.www, `Bearer realm="api-a", error="invalid_token", error_description="`)
	if len(tok) > 8 {
		assert.NotContains(t, res.www, tok[len(tok)/2:], "the token is never echoed")
	}
}

// forEach runs f for each validator of each format, on a fresh Provider.
func forEach(t *testing.T, f func(t *testing.T, e *env, name string, h http.Handler)) {
	for _, format := range formats {
		e := newEnv(t, format)
		for name, v := range e.validators() {
			t.Run(format+"/"+name, func(t *testing.T) { f(t, e, name, api(v)) })
		}
	}
}

func TestValidTokenReachesTheHandler(t *testing.T) {
	forEach(t, func(t *testing.T, e *env, name string, h http.Handler) {
		tok := e.token("svc", e.svcSecret, "read write")
		res := call(h, tok)
		require.Equal(t, http.StatusOK, res.status, "body: %s, challenge: %s", res.body, res.www)
		var got resource.Token
		require.NoError(t, json.Unmarshal([]byte(res.body), &got))
		assert.Equal(t, "client:svc", got.Subject)
		assert.Equal(t, "svc", got.ClientID)
		assert.Equal(t, []string{"read", "write"}, got.Scopes)
		assert.Equal(t, []string{apiA}, got.Audience)
		assert.True(t, got.IssuedAt.Equal(testkit.Start), got.IssuedAt)
		assert.True(t, got.ExpiresAt.Equal(testkit.Start.Add(time.Hour)), got.ExpiresAt)
		if e.format == "jwt" && name != "store" {
			assert.NotEmpty(t, got.ID, "the jti")
		}
	})
}

// TestTamperedTokensAreInvalid: truncated, extended and case-flipped
// tokens (zitadel CVE-2026-27840) never validate.
func TestTamperedTokensAreInvalid(t *testing.T) {
	forEach(t, func(t *testing.T, e *env, _ string, h http.Handler) {
		tok := e.svcToken()
		require.Equal(t, http.StatusOK, call(h, tok).status)
		for name, bad := range tamper(tok) {
			t.Run(name, func(t *testing.T) {
				requireInvalid(t, call(h, bad), tok)
			})
		}
	})
}

// tamper returns variants of tok that must all be refused.
func tamper(tok string) map[string]string {
	out := map[string]string{}
	for _, n := range []int{1, 2, 3, 10, len(tok) / 2, len(tok) - 1} {
		out[fmt.Sprintf("truncated by %d", n)] = tok[:len(tok)-n]
	}
	for _, s := range []string{"A", "a", "=", ".", "..x"} {
		out["extended by "+s] = tok + s
	}
	flipped := 0
	for _, i := range []int{0, 3, len(tok) / 3, len(tok) / 2, len(tok) - 2, len(tok) - 1} {
		c := tok[i]
		var f byte
		switch {
		case 'a' <= c && c <= 'z':
			f = c - 'a' + 'A'
		case 'A' <= c && c <= 'Z':
			f = c - 'A' + 'a'
		default:
			continue
		}
		out[fmt.Sprintf("case flipped at %d", i)] = tok[:i] + string(f) + tok[i+1:]
		flipped++
	}
	if flipped == 0 {
		out["upper-cased"] = strings.ToUpper(tok)
	}
	return out
}

// TestRefreshTokenIsNotAnAccessToken: a refresh token presented to
// the API is refused by every validator (RFC 8725 §3.12).
func TestRefreshTokenIsNotAnAccessToken(t *testing.T) {
	forEach(t, func(t *testing.T, e *env, _ string, h http.Handler) {
		rt := e.refreshToken()
		requireInvalid(t, call(h, rt), rt)
	})
}

// TestRefreshTokenIntrospectedByItsOwnClient: the refresh token's
// own client may introspect it and gets token_type refresh_token; the
// validator still refuses it (RFC 8725 §3.12).
func TestRefreshTokenIntrospectedByItsOwnClient(t *testing.T) {
	for _, format := range formats {
		t.Run(format, func(t *testing.T) {
			e := newEnv(t, format)
			rt := e.refreshToken()
			r := e.Introspect("svc", e.svcSecret, rt)
			require.Equal(t, true, r.JSON["active"], "%s", r.Body)
			require.Equal(t, "refresh_token", r.Str("token_type"))
			v, err := resource.Introspection(resource.IntrospectionConfig{URL: e.Provider.IntrospectionEndpoint(),
				ClientID: "svc", ClientSecret: e.svcSecret, Clock: e.Now})
			require.NoError(t, err)
			res := call(api(v), rt)
			requireInvalid(t, res, rt)
			assert.Contains(t, res.www, "not an access token")
		})
	}
}

// TestTokenForAnotherAudience: a token whose aud is apiB is
// refused at apiA, however it is validated (RFC 9700 §4.10.2).
func TestTokenForAnotherAudience(t *testing.T) {
	forEach(t, func(t *testing.T, e *env, _ string, h http.Handler) {
		tok := e.token("svc-b", e.svcBSecret, "read")
		requireInvalid(t, call(h, tok), tok)
	})
}

// TestAudienceIsCheckedWithoutMiddlewareAudience: even when the
// middleware does not name its audience, an introspecting resource server
// learns nothing of another API's token (the Provider answers inactive),
// and a JWTVerifier checks its own (RFC 7662 §2.2; Keycloak
// CVE-2026-37979).
func TestAudienceIsCheckedWithoutMiddlewareAudience(t *testing.T) {
	for _, format := range formats {
		e := newEnv(t, format)
		tok := e.token("svc-b", e.svcBSecret, "read")
		for name, v := range e.validators() {
			if name == "store" {
				continue // Store has only Config.Audience to go by
			}
			t.Run(format+"/"+name, func(t *testing.T) {
				res := serve(resource.Middleware(resource.Config{Validator: v})(echo), get("Bearer "+tok))
				assert.Equal(t, http.StatusUnauthorized, res.status)
				assert.Contains(t, res.www, `error="invalid_token"`)
			})
		}
	}
}

// TestJWTWithTypJWTIsNotAnAccessToken: an ID-token-like JWT (typ
// "JWT", signed by the authorization server's own key, with the claims of
// an access token) is refused (RFC 9068 §4, RFC 8725 §3.12).
func TestJWTWithTypJWTIsNotAnAccessToken(t *testing.T) {
	forEach(t, func(t *testing.T, e *env, _ string, h http.Handler) {
		for _, typ := range []string{"JWT", "id_token+jwt", "dpop+jwt"} {
			tok, _ := e.forgeJWT(typ, map[string]any{"nonce": "n-0S6_WzA2Mj"})
			requireInvalid(t, call(h, tok), tok)
		}
	})
}

// TestBoundTokenAsBearerIsRefused: a DPoP-bound token (cnf) presented
// with the Bearer scheme is refused (RFC 9449 §7.2), whatever the
// scheme's case and whichever way it is validated (the JWT's cnf claim,
// the record, the introspection answer's cnf and token_type); with the
// DPoP scheme it is not accepted either, as the middleware does not take
// DPoP proofs yet.
func TestBoundTokenAsBearerIsRefused(t *testing.T) {
	forEach(t, func(t *testing.T, e *env, name string, h http.Handler) {
		tok := e.boundToken()
		for _, scheme := range []string{"Bearer", "bearer", "BEARER"} {
			res := serve(h, get(scheme+" "+tok))
			requireInvalid(t, res, tok)
			assert.Contains(t, res.www, "sender-constrained")
		}
		res := serve(h, get("DPoP "+tok))
		assert.Equal(t, http.StatusUnauthorized, res.status)
		assert.Equal(t, `Bearer realm="api-a"`, res.www)
	})
}

func TestExpiredTokenIsInvalid(t *testing.T) {
	forEach(t, func(t *testing.T, e *env, name string, h http.Handler) {
		tok := e.svcToken()
		e.Advance(time.Hour) // exp is exclusive
		res := call(h, tok)
		requireInvalid(t, res, tok)
		if name != "introspection" { // an inactive answer says no more (RFC 7662 §2.2)
			assert.Contains(t, res.www, "expired")
		}
	})
}

// TestRevokedToken: a token revoked at the authorization server (RFC
// 7009) is refused by Store and Introspection at once. Local JWT
// validation cannot see revocation: the token stays valid until it
// expires, as documented on JWT.
func TestRevokedToken(t *testing.T) {
	forEach(t, func(t *testing.T, e *env, name string, h http.Handler) {
		tok := e.svcToken()
		r := e.Revoke("svc", e.svcSecret, tok)
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		res := call(h, tok)
		if strings.HasPrefix(name, "jwt/") {
			assert.Equal(t, http.StatusOK, res.status, "local validation does not see revocation")
			return
		}
		requireInvalid(t, res, tok)
	})
}

func TestRequireScopesWithARealToken(t *testing.T) {
	for _, format := range formats {
		e := newEnv(t, format)
		for name, v := range e.validators() {
			t.Run(format+"/"+name, func(t *testing.T) {
				protect := resource.Middleware(resource.Config{Validator: v, Realm: "api-a", Audience: apiA})
				admin := protect(resource.RequireScopes("write")(echo))
				res := call(admin, e.token("svc", e.svcSecret, "read"))
				assert.Equal(t, http.StatusForbidden, res.status)
				assert.Contains(t, res.www, `error="insufficient_scope"`)
				assert.Contains(t, res.www, `scope="write"`)
				res = call(admin, e.token("svc", e.svcSecret, "read write"))
				assert.Equal(t, http.StatusOK, res.status, res.www)
			})
		}
	}
}

// TestStoreRefusesTokensOfDisabledClients: when the token store is also
// the client store, a token of a disabled client is no longer accepted,
// as the Provider's introspection decides.
func TestStoreRefusesTokensOfDisabledClients(t *testing.T) {
	e := newEnv(t, "opaque")
	h := api(resource.Store(e.Provider, e.Store, e.Now))
	tok := e.svcToken()
	require.Equal(t, http.StatusOK, call(h, tok).status)
	c, err := e.Store.Client(t.Context(), "svc")
	require.NoError(t, err)
	disabled := *c
	disabled.Disabled = true
	require.NoError(t, e.Store.PutClient(&disabled))
	requireInvalid(t, call(h, tok), tok)
}

func TestStoreWithoutDependenciesFailsClosed(t *testing.T) {
	res := call(api(resource.Store(nil, nil, nil)), goodToken)
	assert.Equal(t, http.StatusServiceUnavailable, res.status)
	res = call(api(resource.JWT(nil)), goodToken)
	assert.Equal(t, http.StatusServiceUnavailable, res.status)
}

// TestStoreTakesTheProvidersClock: given no clock, Store reads the time
// of the Provider it is given, so a test that moves the Provider's clock
// moves the validator's too.
func TestStoreTakesTheProvidersClock(t *testing.T) {
	e := newEnv(t, "opaque")
	h := api(resource.Store(e.Provider, e.Store, nil))
	tok := e.svcToken()
	assert.Equal(t, http.StatusOK, call(h, tok).status, "valid at the Provider's time")
	e.Advance(time.Hour)
	requireInvalid(t, call(h, tok), tok)
}

// TestStoreTakesTheStoresClock: given no clock and keys without one (an
// access token strategy), Store reads the time of the token store when it
// has a clock, as the memory store has.
func TestStoreTakesTheStoresClock(t *testing.T) {
	e := newEnv(t, "opaque")
	h := api(resource.Store(keysOnly{e.Provider}, e.Store, nil))
	tok := e.svcToken()
	assert.Equal(t, http.StatusOK, call(h, tok).status, "valid at the store's time")
	e.Advance(time.Hour)
	requireInvalid(t, call(h, tok), tok)
}

// keysOnly is an AccessTokenKeyer without a clock.
type keysOnly struct{ k resource.AccessTokenKeyer }

func (k keysOnly) AccessTokenKey(ctx context.Context, tok string) (string, error) {
	return k.k.AccessTokenKey(ctx, tok)
}
