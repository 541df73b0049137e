package grant_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/grant"
	"github.com/grantor-dev/grantor/internal/testkit"
	"github.com/grantor-dev/grantor/oauth2"
	"github.com/grantor-dev/grantor/storage"
	"github.com/grantor-dev/grantor/storage/memory"
	"github.com/grantor-dev/grantor/token"
)

// Tests of the introspection endpoint (RFC 7662), black-box through the
// harness, for opaque and JWT access tokens alike.

const inactive = `{"active":false}`

// requireInactive asserts the one inactive answer (RFC 7662 §2.2): 200 and
// exactly the bytes {"active":false}, not stored (RFC 6749 §5.1).
func requireInactive(t *testing.T, r *testkit.Response, msgAndArgs ...any) {
	t.Helper()
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	assert.Equal(t, inactive, string(r.Body), msgAndArgs...)
	assert.Equal(t, "application/json", r.Header.Get("Content-Type"))
	assert.Equal(t, "no-store", r.Header.Get("Cache-Control"))
}

// RFC 7662 §2.1, §4: the caller must authenticate as a confidential client.
func TestIntrospectionCallerMustAuthenticate(t *testing.T) {
	h := newRTI(t, "opaque", nil)
	at, _ := h.codeTokens()
	// No credentials at all.
	testkit.RequireOAuthError(t, h.Introspect("", "", at), http.StatusUnauthorized, oauth2.ErrInvalidClient)
	// A confidential client's id without its secret.
	testkit.RequireOAuthError(t, h.Introspect("web", "", at), http.StatusUnauthorized, oauth2.ErrInvalidClient)
	// RFC 7662 §4: a public client, even about its own kind of token.
	r := h.Introspect("spa", "", at)
	testkit.RequireOAuthError(t, r, http.StatusUnauthorized, oauth2.ErrInvalidClient)
	assert.NotContains(t, string(r.Body), "active")
	// A wrong secret in Basic: WWW-Authenticate.
	r = h.Introspect("web", "wrong", at)
	testkit.RequireOAuthError(t, r, http.StatusUnauthorized, oauth2.ErrInvalidClient)
	assert.Contains(t, r.Header.Get("WWW-Authenticate"), "Basic")
	// A wrong secret in the body, and a public client: every 401 carries
	// a challenge (RFC 9110 §15.5.2).
	r = h.PostForm(h.Provider.IntrospectionEndpoint(), "", "", url.Values{"token": {at}, "client_id": {"web"}, "client_secret": {"wrong"}})
	testkit.RequireOAuthError(t, r, http.StatusUnauthorized, oauth2.ErrInvalidClient)
	assert.Contains(t, r.Header.Get("WWW-Authenticate"), "Basic")
	r = h.PostForm(h.Provider.IntrospectionEndpoint(), "", "", url.Values{"token": {at}, "client_id": {"spa"}})
	testkit.RequireOAuthError(t, r, http.StatusUnauthorized, oauth2.ErrInvalidClient)
	assert.Contains(t, r.Header.Get("WWW-Authenticate"), "Basic")
	// The access token itself as a bearer credential is not a client.
	bearer, err := http.NewRequest(http.MethodPost, h.Provider.IntrospectionEndpoint(), strings.NewReader(url.Values{"token": {at}}.Encode()))
	require.NoError(t, err)
	bearer.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	bearer.Header.Set("Authorization", "Bearer "+at)
	testkit.RequireOAuthError(t, h.Do(bearer), http.StatusUnauthorized, oauth2.ErrInvalidClient)
}

// RFC 7662 §2.1: token is required; GET is 405.
func TestIntrospectionRequestShape(t *testing.T) {
	h := newRTI(t, "opaque", nil)
	testkit.RequireOAuthError(t, h.Introspect("web", h.webSecret, ""), http.StatusBadRequest, oauth2.ErrInvalidRequest)
	r := h.Do(mustGet(t, h.Provider.IntrospectionEndpoint()))
	testkit.RequireOAuthError(t, r, http.StatusMethodNotAllowed, oauth2.ErrInvalidRequest)
	assert.Equal(t, http.MethodPost, r.Header.Get("Allow"))
}

// RFC 7662 §2.2: unknown, malformed, expired, revoked, consumed, not yet
// valid and not entitled tokens all get the same bytes: {"active":false}.
func TestInactiveAnswersAreByteIdentical(t *testing.T) {
	for _, format := range formats {
		t.Run(format, func(t *testing.T) {
			h := newRTI(t, format, nil)
			at, rt := h.codeTokens()
			flipped := []byte(at)
			flipped[len(flipped)-3] ^= 1
			web := func(tok string) *testkit.Response { return h.Introspect("web", h.webSecret, tok) }

			requireInactive(t, web("not-a-token"), "unknown")
			requireInactive(t, web(string(flipped)), "malformed")
			requireInactive(t, web("eyJhbGciOiJub25lIn0.eyJqdGkiOiJ4In0."), "alg none")
			requireInactive(t, h.Introspect("rs-b", h.rsBSecret, at), "not entitled: RS-B and an AT for another audience")
			requireInactive(t, h.Introspect("svc", h.svcSecret, rt), "another client's refresh token")

			// Consumed: the rotated refresh token.
			_, rt2 := h.refreshTokens(rt)
			requireInactive(t, web(rt), "consumed")

			// Revoked.
			revoked := h.ccToken()
			requireRevoked200(t, h.Revoke("svc", h.svcSecret, revoked))
			requireInactive(t, h.Introspect("svc", h.svcSecret, revoked), "revoked")

			// Not yet valid: issued after the clock's now.
			future := h.ccToken()
			h.Advance(-time.Minute)
			requireInactive(t, h.Introspect("svc", h.svcSecret, future), "not yet valid")
			h.Advance(time.Minute)

			// Expired.
			assert.True(t, h.active("web", rt2))
			h.Advance(time.Hour + time.Second)
			requireInactive(t, web(at), "expired")
		})
	}
}

// RFC 7662 §2.2, §4, Keycloak CVE-2026-37979: a caller sees a token only
// when it was issued to it or names the caller's resource in aud; refresh
// tokens only their own client.
func TestCallerMustBeEntitled(t *testing.T) {
	for _, format := range formats {
		t.Run(format, func(t *testing.T) {
			h := newRTI(t, format, nil)
			svcAT := h.ccToken() // aud apiA
			webAT, webRT := h.codeTokens()

			assert.True(t, h.active("svc", svcAT), "its own client")
			assert.True(t, h.active("rs-a", svcAT), "the resource server named in aud")
			requireInactive(t, h.Introspect("rs-b", h.rsBSecret, svcAT), "RS-B with an AT for RS-A")
			requireInactive(t, h.Introspect("web", h.webSecret, svcAT), "another client")

			assert.True(t, h.active("rs-iss", webAT), "aud is the issuer, which rs-iss speaks for")
			requireInactive(t, h.Introspect("rs-iss", h.rsISSecret, webRT), "a refresh token is its client's alone")
			requireInactive(t, h.Introspect("rs-a", h.rsASecret, webAT))
			assert.True(t, h.active("web", webRT))
		})
	}
}

// The active response has every member RFC 7662 §2.2 lists, with
// the right types, no-store, and token_type_hint never changes it.
func TestActiveResponse(t *testing.T) {
	for _, format := range formats {
		t.Run(format, func(t *testing.T) {
			h := newRTI(t, format, func(cfg *oauth2.Config, _ *memory.Store) {
				cfg.AccessTokenClaims = func(_ context.Context, _ *oauth2.TokenRequest, c *token.Claims) error {
					c.Extra["tenant"] = "acme"
					return nil
				}
			})
			at, rt := h.codeTokens()
			iat, exp := h.Now().Unix(), h.Now().Add(time.Hour).Unix()

			for _, hint := range []string{"", "access_token", "refresh_token", "foo"} {
				r := h.Introspect("web", h.webSecret, at, "token_type_hint", hint)
				require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
				assert.Equal(t, "application/json", r.Header.Get("Content-Type"))
				assert.Equal(t, "no-store", r.Header.Get("Cache-Control"))
				want := map[string]any{
					"active": true, "scope": "read", "client_id": "web", "sub": "alice",
					"exp": float64(exp), "iat": float64(iat), "iss": h.Provider.Issuer(),
					"aud": h.Provider.Issuer(), "token_type": "Bearer", "tenant": "acme",
				}
				if format == "jwt" {
					want["jti"] = jwtClaim(t, at, "jti")
					require.NotEmpty(t, want["jti"])
				}
				assert.Equal(t, want, r.JSON, "hint %q", hint)
			}

			r := h.Introspect("web", h.webSecret, rt, "token_type_hint", "access_token")
			require.Equal(t, http.StatusOK, r.Status)
			assert.Equal(t, true, r.JSON["active"])
			assert.Equal(t, "refresh_token", r.Str("token_type"))
			assert.Equal(t, "web", r.Str("client_id"))
			assert.Equal(t, "alice", r.Str("sub"))
			assert.Equal(t, "read", r.Str("scope"))
			assert.NotContains(t, r.JSON, "jti")
		})
	}
}

// Several audiences are an array; one is a string (RFC 7662 §2.2).
func TestAudienceIsAnArrayWhenThereAreSeveral(t *testing.T) {
	for _, format := range formats {
		t.Run(format, func(t *testing.T) {
			h := newRTI(t, format, nil)
			secret := h.AddClient(storage.Client{ID: "multi", GrantTypes: []string{"client_credentials"},
				Scopes: []string{"read"}, Audience: []string{apiA, apiB}})
			r := h.Token("multi", secret, url.Values{"grant_type": {"client_credentials"}})
			require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
			in := h.Introspect("rs-b", h.rsBSecret, r.Str("access_token"))
			assert.Equal(t, []any{apiA, apiB}, in.JSON["aud"])
			assert.Equal(t, "multi", in.Str("client_id"))
		})
	}
}

// RFC 7662 §2.2: extra claims of the record never override the registered
// members.
func TestExtraClaimsNeverOverrideRegisteredMembers(t *testing.T) {
	h := newRTI(t, "opaque", func(cfg *oauth2.Config, _ *memory.Store) {
		cfg.AccessTokenClaims = func(_ context.Context, _ *oauth2.TokenRequest, c *token.Claims) error {
			// The token claims (sub, aud, ...) cannot be set at all (the
			// hook would fail the request); these are introspection's own.
			for _, name := range []string{"active", "token_type", "username"} {
				c.Extra[name] = "forged"
			}
			c.Extra["tenant"] = "acme"
			return nil
		}
	})
	at := h.ccToken()
	r := h.Introspect("svc", h.svcSecret, at)
	require.Equal(t, http.StatusOK, r.Status)
	assert.Equal(t, true, r.JSON["active"])
	assert.Equal(t, "svc", r.Str("client_id"))
	assert.Equal(t, grant.ClientSubjectPrefix+"svc", r.Str("sub"))
	assert.Equal(t, h.Provider.Issuer(), r.Str("iss"))
	assert.Equal(t, apiA, r.Str("aud"))
	assert.Equal(t, "Bearer", r.Str("token_type"))
	assert.Equal(t, "acme", r.Str("tenant"))
	assert.NotContains(t, string(r.Body), "forged")
	// The body is one JSON object without duplicate members.
	var members map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(r.Body, &members))
	assert.Equal(t, len(members), strings.Count(string(r.Body), `":`))
}

// RFC 7662 §4: scanning for tokens is detected per caller (1000
// introspections of tokens that are not ours a minute by default) with a
// warning and an event, once a window; and it never makes the endpoint
// refuse a valid token. Every token is checked for integrity before any
// storage read, so a scan costs nothing to refuse.
func TestTokenScanningIsDetectedAndValidTokensStillAnswered(t *testing.T) {
	var logs bytes.Buffer
	h := newRTI(t, "opaque", func(cfg *oauth2.Config, _ *memory.Store) {
		cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	})
	at := h.ccToken()
	for i := range 1100 {
		r := h.Introspect("rs-b", h.rsBSecret, "gr_at_scan"+strings.Repeat("x", i%7))
		require.Equal(t, inactive, string(r.Body), "request %d", i)
	}
	ev := h.Events(oauth2.EventIntrospectionThrottled)
	require.Len(t, ev, 1, "once a window, not once a request")
	assert.Equal(t, "rs-b", ev[0].ClientID)
	assert.Equal(t, 1, strings.Count(logs.String(), "looks like a token scan"), logs.String())
	assert.NotContains(t, logs.String(), "gr_at_scan", "no presented token is logged")

	// The caller's valid tokens are still answered: a resource server
	// that met junk tokens (or tokens of keys the server no longer has)
	// keeps accepting its users' tokens.
	for range 1100 {
		requireInactive(t, h.Introspect("rs-a", h.rsASecret, "junk"))
	}
	assert.True(t, h.active("rs-a", at))

	// The window passes: a new window warns again.
	h.Advance(time.Minute)
	for range 1001 {
		requireInactive(t, h.Introspect("rs-b", h.rsBSecret, "one-more"))
	}
	assert.Len(t, h.Events(oauth2.EventIntrospectionThrottled), 3)
}

// RFC 7662 §4: a known token, active or not, is no scan.
func TestKnownTokensDoNotCountAsScanning(t *testing.T) {
	h := newRTI(t, "opaque", func(cfg *oauth2.Config, _ *memory.Store) { cfg.IntrospectionScanLimit = 3 })
	at := h.ccToken()
	for range 10 {
		assert.True(t, h.active("svc", at))
		requireInactive(t, h.Introspect("rs-b", h.rsBSecret, at))
	}
	assert.Empty(t, h.Events(oauth2.EventIntrospectionThrottled))
	for range 4 {
		requireInactive(t, h.Introspect("svc", h.svcSecret, "nope"))
	}
	ev := h.Events(oauth2.EventIntrospectionThrottled)
	require.Len(t, ev, 1)
	assert.Equal(t, "svc", ev[0].ClientID)
}

// A token from each grant — the code flow, client credentials, a refresh —
// is active, is revoked, and is then inactive; revoking the refresh token
// makes its grant's access tokens inactive (RFC 7009 §2.1, RFC 7662 §2.2).
func TestIntrospectRevokeIntrospect(t *testing.T) {
	for _, format := range formats {
		t.Run(format, func(t *testing.T) {
			h := newRTI(t, format, nil)

			t.Run("code flow", func(t *testing.T) {
				at, _ := h.codeTokens()
				assert.True(t, h.active("web", at))
				requireRevoked200(t, h.revokeWeb(at))
				requireInactive(t, h.Introspect("web", h.webSecret, at))
			})
			t.Run("client credentials", func(t *testing.T) {
				at := h.ccToken()
				assert.True(t, h.active("rs-a", at))
				requireRevoked200(t, h.Revoke("svc", h.svcSecret, at))
				requireInactive(t, h.Introspect("rs-a", h.rsASecret, at))
			})
			t.Run("refresh", func(t *testing.T) {
				at1, rt1 := h.codeTokens()
				at2, rt2 := h.refreshTokens(rt1)
				assert.True(t, h.active("web", at2))
				assert.True(t, h.active("web", rt2))
				assert.True(t, h.active("web", at1), "a refresh leaves earlier access tokens alone")
				requireRevoked200(t, h.revokeWeb(at2))
				requireInactive(t, h.Introspect("web", h.webSecret, at2))
				assert.True(t, h.active("web", rt2), "revoking an access token leaves the refresh token")
				requireRevoked200(t, h.revokeWeb(rt2))
				requireInactive(t, h.Introspect("web", h.webSecret, rt2))
				requireInactive(t, h.Introspect("web", h.webSecret, at1), "the grant's other access token too")
			})
		})
	}
}

// The metadata document advertises both endpoints and their
// authentication methods (RFC 8414 §2); they are always on, and "none" is
// not offered for introspection (RFC 7662 §4).
func TestMetadataAdvertisesRevocationAndIntrospection(t *testing.T) {
	for _, configure := range map[string]func(*oauth2.Config, *memory.Store){
		"code flow": func(cfg *oauth2.Config, store *memory.Store) {
			cfg.Grants = []oauth2.GrantFactory{grant.AuthorizationCode(store, grant.AuthorizationCodeOptions{})}
			cfg.Interactions, cfg.LoginURL = store, "/login"
		},
		"client credentials only": func(cfg *oauth2.Config, _ *memory.Store) {
			cfg.Grants = []oauth2.GrantFactory{grant.ClientCredentials(grant.ClientCredentialsOptions{})}
		},
	} {
		h := testkit.New(t, configure)
		r := h.Do(mustGet(t, h.Server.URL+oauth2.MetadataPath))
		require.Equal(t, http.StatusOK, r.Status)
		assert.Equal(t, h.Provider.Issuer()+"/revoke", r.Str("revocation_endpoint"))
		assert.Equal(t, h.Provider.RevocationEndpoint(), r.Str("revocation_endpoint"))
		assert.Equal(t, h.Provider.Issuer()+"/introspect", r.Str("introspection_endpoint"))
		assert.Equal(t, h.Provider.IntrospectionEndpoint(), r.Str("introspection_endpoint"))
		assert.Equal(t, []any{"client_secret_basic", "client_secret_post", "none"}, r.JSON["revocation_endpoint_auth_methods_supported"])
		assert.Equal(t, []any{"client_secret_basic", "client_secret_post"}, r.JSON["introspection_endpoint_auth_methods_supported"])
	}
}

// jwtClaim returns a string claim of a JWT's payload, unverified.
func jwtClaim(t *testing.T, jwt, name string) string {
	t.Helper()
	parts := strings.Split(jwt, ".")
	require.Len(t, parts, 3)
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	require.NoError(t, err)
	var claims map[string]any
	require.NoError(t, json.Unmarshal(payload, &claims))
	s, _ := claims[name].(string)
	return s
}

// BenchmarkIntrospectOpaque measures an introspection of an active opaque
// access token through the handler: form parsing, client authentication,
// HMAC check, storage lookup, response.
func BenchmarkIntrospectOpaque(b *testing.B) {
	store := memory.New()
	p, err := oauth2.NewProvider(oauth2.Config{
		Issuer: "https://as.example", Clients: store, Tokens: store, TokenKeys: [][]byte{[]byte("0123456789abcdef0123456789abcdef")},
		Grants: []oauth2.GrantFactory{grant.ClientCredentials(grant.ClientCredentialsOptions{})},
	})
	require.NoError(b, err)
	secret, hash, err := oauth2.GenerateClientSecret(nil)
	require.NoError(b, err)
	require.NoError(b, store.PutClient(&storage.Client{ID: "svc", SecretHash: hash, GrantTypes: []string{"client_credentials"}, Scopes: []string{"read"}}))

	post := func(h http.Handler, form url.Values) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, "https://as.example/", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("svc", url.QueryEscape(secret))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	rec := post(p.TokenHandler(), url.Values{"grant_type": {"client_credentials"}, "scope": {"read"}})
	require.Equal(b, http.StatusOK, rec.Code, rec.Body.String())
	var tr struct {
		AccessToken string `json:"access_token"`
	}
	require.NoError(b, json.Unmarshal(rec.Body.Bytes(), &tr))
	body := url.Values{"token": {tr.AccessToken}}.Encode()
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("svc:"+url.QueryEscape(secret)))
	h := p.IntrospectionHandler()

	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "https://as.example/introspect", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Authorization", basic)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK || !strings.HasPrefix(w.Body.String(), `{"active":true`) {
			b.Fatalf("%d %s", w.Code, w.Body)
		}
	}
}

// OAuth 2.1 §4.3.1 and RFC 9700 §4.14.2 (the grant must still be active),
// seen from the resource server: once the client a token was issued to is
// disabled (or deleted), its tokens introspect as inactive (Keycloak
// CVE-2026-93999).
func TestTokensOfADisabledClientAreInactive(t *testing.T) {
	for _, format := range formats {
		t.Run(format, func(t *testing.T) {
			h := newRTI(t, format, nil)
			at := h.ccToken()
			require.Equal(t, true, h.Introspect("rs-a", h.rsASecret, at).JSON["active"])

			c, err := h.Store.Client(context.Background(), "svc")
			require.NoError(t, err)
			off := *c
			off.Disabled = true
			require.NoError(t, h.Store.PutClient(&off))
			assert.Equal(t, `{"active":false}`, strings.TrimSpace(string(h.Introspect("rs-a", h.rsASecret, at).Body)))

			h.Store.DeleteClient("svc")
			assert.Equal(t, `{"active":false}`, strings.TrimSpace(string(h.Introspect("rs-a", h.rsASecret, at).Body)))
		})
	}
}

// RFC 9701: a caller that asks for it gets the answer as a JWT signed
// with the published keys, with the RFC 7662 members only inside
// token_introspection; with opaque access tokens the answer stays JSON.
func TestIntrospectionJWTResponse(t *testing.T) {
	h := newRTI(t, "jwt", nil)
	at := h.ccToken()
	introspectJWT := func(tok string) *testkit.Response {
		req := h.TokenRequest(url.Values{"token": {tok}})
		req.URL, _ = url.Parse(h.Provider.IntrospectionEndpoint())
		req.SetBasicAuth("rs-a", h.rsASecret)
		req.Header.Set("Accept", "application/token-introspection+jwt")
		return h.Do(req)
	}
	r := introspectJWT(at)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	assert.Equal(t, "application/token-introspection+jwt", r.Header.Get("Content-Type"))
	assert.Equal(t, "no-store", r.Header.Get("Cache-Control"))

	jwksResp := h.Do(mustGet(t, h.Server.URL+oauth2.JWKSPath))
	set, err := jwk.Parse(jwksResp.Body)
	require.NoError(t, err)
	msg, err := jws.Parse(r.Body)
	require.NoError(t, err)
	assert.Equal(t, "token-introspection+jwt", msg.Signatures()[0].ProtectedHeaders().Type())
	payload, err := jws.Verify(r.Body, jws.WithKeySet(set, jws.WithInferAlgorithmFromKey(true)))
	require.NoError(t, err, "verifiable with the published JWKS")
	var claims map[string]any
	require.NoError(t, json.Unmarshal(payload, &claims))
	assert.Equal(t, h.Provider.Issuer(), claims["iss"])
	assert.Equal(t, "rs-a", claims["aud"])
	assert.NotNil(t, claims["iat"])
	for _, topLevel := range []string{"sub", "exp", "scope", "client_id", "active"} {
		assert.NotContains(t, claims, topLevel, "the response must not pass for an access token")
	}
	ti, _ := claims["token_introspection"].(map[string]any)
	require.NotNil(t, ti)
	assert.Equal(t, true, ti["active"])
	assert.Equal(t, "svc", ti["client_id"])

	payload, err = jws.Verify(introspectJWT("unknown").Body, jws.WithKeySet(set, jws.WithInferAlgorithmFromKey(true)))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(payload, &claims))
	assert.Equal(t, map[string]any{"active": false}, claims["token_introspection"])
	assert.NotEmpty(t, h.Provider.Metadata().IntrospectionSigningAlgsSupported)

	opaque := newRTI(t, "opaque", nil)
	req := opaque.TokenRequest(url.Values{"token": {opaque.ccToken()}})
	req.URL, _ = url.Parse(opaque.Provider.IntrospectionEndpoint())
	req.SetBasicAuth("rs-a", opaque.rsASecret)
	req.Header.Set("Accept", "application/token-introspection+jwt")
	r = opaque.Do(req)
	assert.Equal(t, "application/json", r.Header.Get("Content-Type"))
	assert.Equal(t, true, r.JSON["active"])
	assert.Empty(t, opaque.Provider.Metadata().IntrospectionSigningAlgsSupported)
}
