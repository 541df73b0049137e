package oidc_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/internal/testkit"
	"github.com/grantor-dev/grantor/oauth2"
	"github.com/grantor-dev/grantor/oidc"
	"github.com/grantor-dev/grantor/storage"
	"github.com/grantor-dev/grantor/storage/memory"
	"github.com/grantor-dev/grantor/token"
)

func TestUserInfoReturnsTheClaimsTheScopesAllow(t *testing.T) {
	h := newHarness(t, nil)
	at := h.tokens(newRequest(t, "rp"), oauth2.Approval{Subject: defaultUser}).Str("access_token")

	for _, method := range []string{http.MethodGet, http.MethodPost} {
		t.Run(method, func(t *testing.T) {
			r := h.userInfo(method, at)
			require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
			assert.Equal(t, "application/json", r.Header.Get("Content-Type"))
			assert.Equal(t, "no-store", r.Header.Get("Cache-Control"))
			assert.Equal(t, map[string]any{
				"sub": defaultUser, "name": "Alice Liddell", "email": "alice@example.com", "email_verified": true,
			}, r.JSON, "profile and email granted; phone not asked for; shoe_size in no scope")
		})
	}
	t.Run("the token in a form body", func(t *testing.T) {
		req, err := http.NewRequest(http.MethodPost, h.Server.URL+oidc.UserInfoPath,
			strings.NewReader(url.Values{"access_token": {at}}.Encode()))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r := h.Do(req)
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		assert.Equal(t, defaultUser, r.Str("sub"))
	})
	t.Run("only what was granted", func(t *testing.T) {
		at := h.tokens(newRequest(t, "rp", "scope", "openid email"), oauth2.Approval{Subject: defaultUser}).Str("access_token")
		r := h.userInfo(http.MethodGet, at)
		assert.Equal(t, map[string]any{"sub": defaultUser, "email": "alice@example.com", "email_verified": true}, r.JSON)
	})
	t.Run("the claims parameter reaches no further than the consent", func(t *testing.T) {
		// shoe_size is in no scope; email and phone_number in scopes that
		// were not granted.
		req := newRequest(t, "rp", "scope", "openid", "claims",
			`{"userinfo":{"phone_number":{"essential":true},"shoe_size":null,"email":null},"id_token":{"email":null}}`)
		r := h.tokens(req, oauth2.Approval{Subject: defaultUser})
		assert.Equal(t, map[string]any{"sub": defaultUser}, h.userInfo(http.MethodGet, r.Str("access_token")).JSON)
		_, c := h.verified(r.Str("id_token"))
		assert.NotContains(t, c, "email")
	})
	t.Run("the claims carry across a refresh", func(t *testing.T) {
		req := newRequest(t, "rp", "scope", "openid email", "claims", `{"id_token":{"email":null}}`)
		first := h.tokens(req, oauth2.Approval{Subject: defaultUser})
		r := h.refresh("rp", first.Str("refresh_token"))
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		_, c := h.verified(r.Str("id_token"))
		assert.Equal(t, "alice@example.com", c["email"], "the refreshed ID token carries what the claims parameter asked")
	})
}

func TestRequestableClaims(t *testing.T) {
	h := newHarness(t, func(c *oidc.Config, _ *oauth2.Config, _ *memory.Store) {
		c.RequestableClaims = []string{"shoe_size"}
	})
	req := newRequest(t, "rp", "scope", "openid", "claims", `{"userinfo":{"shoe_size":null,"phone_number":null}}`)
	at := h.tokens(req, oauth2.Approval{Subject: defaultUser}).Str("access_token")
	assert.Equal(t, map[string]any{"sub": defaultUser, "shoe_size": float64(38)}, h.userInfo(http.MethodGet, at).JSON,
		"a requestable claim by name; phone_number still needs its scope")
}

func TestUserInfoRefusesBadTokens(t *testing.T) {
	h := newHarness(t, nil)
	good := h.tokens(newRequest(t, "rp"), oauth2.Approval{Subject: defaultUser})

	challenge := func(r *testkit.Response) string { return r.Header.Get("WWW-Authenticate") }
	t.Run("no token", func(t *testing.T) {
		r := h.userInfo(http.MethodGet, "")
		assert.Equal(t, http.StatusUnauthorized, r.Status)
		assert.True(t, strings.HasPrefix(challenge(r), "Bearer"), challenge(r))
	})
	for name, tok := range map[string]string{
		"unknown":            "gr_at_AAAA.BBBB",
		"a refresh token":    good.Str("refresh_token"),
		"an ID token":        good.Str("id_token"),
		"not a token at all": "hello",
	} {
		t.Run(name, func(t *testing.T) {
			r := h.userInfo(http.MethodGet, tok)
			assert.Equal(t, http.StatusUnauthorized, r.Status, "%s", r.Body)
			assert.Contains(t, challenge(r), `error="invalid_token"`)
		})
	}
	t.Run("revoked", func(t *testing.T) {
		at := h.tokens(newRequest(t, "rp"), oauth2.Approval{Subject: defaultUser}).Str("access_token")
		require.Equal(t, http.StatusOK, h.Revoke("rp", h.secrets["rp"], at).Status)
		r := h.userInfo(http.MethodGet, at)
		assert.Equal(t, http.StatusUnauthorized, r.Status)
		assert.Contains(t, challenge(r), `error="invalid_token"`)
	})
	t.Run("expired", func(t *testing.T) {
		h.Advance(2 * time.Hour) // the default access token lifetime is one hour
		r := h.userInfo(http.MethodGet, good.Str("access_token"))
		assert.Equal(t, http.StatusUnauthorized, r.Status)
	})
}

func TestUserInfoNeedsAnOpenIDAuthorization(t *testing.T) {
	h := newHarness(t, nil)
	t.Run("a token without openid", func(t *testing.T) {
		at := h.tokens(newRequest(t, "rp", "scope", "profile read"), oauth2.Approval{Subject: defaultUser}).Str("access_token")
		r := h.userInfo(http.MethodGet, at)
		assert.Equal(t, http.StatusForbidden, r.Status)
		assert.Contains(t, r.Header.Get("WWW-Authenticate"), `error="insufficient_scope"`)
	})
	t.Run("a client's own token with openid", func(t *testing.T) {
		r := h.Token("rp", h.secrets["rp"], url.Values{"grant_type": {"client_credentials"}, "scope": {"openid profile"}})
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		ui := h.userInfo(http.MethodGet, r.Str("access_token"))
		assert.Equal(t, http.StatusForbidden, ui.Status, "no user to describe")
		assert.Contains(t, ui.Header.Get("WWW-Authenticate"), `error="insufficient_scope"`)
	})
	t.Run("other methods", func(t *testing.T) {
		at := h.tokens(newRequest(t, "rp"), oauth2.Approval{Subject: defaultUser}).Str("access_token")
		r := h.userInfo(http.MethodPut, at)
		assert.Equal(t, http.StatusMethodNotAllowed, r.Status)
		assert.Equal(t, "GET, POST", r.Header.Get("Allow"))
	})
}

func TestSignedUserInfo(t *testing.T) {
	h := newHarness(t, nil)
	h.addClient(storage.Client{ID: "jwt-rp", RedirectURIs: []string{rpRedirect}, GrantTypes: []string{"authorization_code"},
		Scopes: []string{"openid", "email"}, UserinfoSignedResponseAlg: "RS256"})
	at := h.tokens(newRequest(t, "jwt-rp", "scope", "openid email"), oauth2.Approval{Subject: defaultUser}).Str("access_token")
	r := h.userInfo(http.MethodGet, at)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	assert.Equal(t, "application/jwt", r.Header.Get("Content-Type"))
	header, c := h.verified(string(r.Body))
	assert.Equal(t, "RS256", header["alg"])
	assert.Equal(t, h.Provider.Issuer(), c["iss"], "Core §5.3.2: iss and aud in a signed response")
	assert.Equal(t, "jwt-rp", c["aud"])
	assert.Equal(t, defaultUser, c["sub"])
	assert.Equal(t, "alice@example.com", c["email"])
}

func TestUserInfoWithDPoP(t *testing.T) {
	h := newHarness(t, func(_ *oidc.Config, cfg *oauth2.Config, store *memory.Store) {
		cfg.DPoP = &oauth2.DPoPConfig{Replay: store}
	})
	key := testkit.NewDPoPKey(t, jwa.ES256)
	req := newRequest(t, "rp")
	code := h.code(req, oauth2.Approval{Subject: defaultUser})
	tr := h.TokenRequest(url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {rpRedirect}, "code_verifier": {req.verifier}})
	tr.SetBasicAuth("rp", h.secrets["rp"])
	tr.Header.Set("DPoP", key.Proof(t, testkit.ProofClaims{Method: http.MethodPost, URL: h.Provider.TokenEndpoint(), IssuedAt: h.Now()}))
	r := h.Do(tr)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	require.Equal(t, "DPoP", r.Str("token_type"))
	at := r.Str("access_token")
	userInfoURL := h.Server.URL + oidc.UserInfoPath

	t.Run("as a bearer token: refused, no downgrade", func(t *testing.T) {
		ui := h.userInfo(http.MethodGet, at)
		assert.Equal(t, http.StatusUnauthorized, ui.Status)
	})
	t.Run("with a proof of its key", func(t *testing.T) {
		ui, err := http.NewRequest(http.MethodGet, userInfoURL, nil)
		require.NoError(t, err)
		ui.Header.Set("Authorization", "DPoP "+at)
		ui.Header.Set("DPoP", key.Proof(t, testkit.ProofClaims{Method: http.MethodGet, URL: userInfoURL, IssuedAt: h.Now(), AccessToken: at}))
		resp := h.Do(ui)
		require.Equal(t, http.StatusOK, resp.Status, "%s %s", resp.Body, resp.Header.Get("WWW-Authenticate"))
		assert.Equal(t, defaultUser, resp.Str("sub"))
	})
	t.Run("with another key's proof", func(t *testing.T) {
		other := testkit.NewDPoPKey(t, jwa.ES256)
		ui, err := http.NewRequest(http.MethodGet, userInfoURL, nil)
		require.NoError(t, err)
		ui.Header.Set("Authorization", "DPoP "+at)
		ui.Header.Set("DPoP", other.Proof(t, testkit.ProofClaims{Method: http.MethodGet, URL: userInfoURL, IssuedAt: h.Now(), AccessToken: at}))
		assert.Equal(t, http.StatusUnauthorized, h.Do(ui).Status)
	})
}

func TestDiscovery(t *testing.T) {
	h := newHarness(t, func(_ *oidc.Config, cfg *oauth2.Config, _ *memory.Store) {
		cfg.ScopesSupported = []string{"read"}
	})
	resp, err := h.Server.Client().Get(h.Server.URL + oidc.DiscoveryPath)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var doc map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&doc))

	iss := h.Provider.Issuer()
	assert.Equal(t, iss, doc["issuer"], "Discovery §4.3: identical to the issuer")
	assert.Equal(t, iss+oidc.UserInfoPath, doc["userinfo_endpoint"])
	assert.Equal(t, iss+oauth2.JWKSPath, doc["jwks_uri"], "published for ID tokens even with opaque access tokens")
	assert.Equal(t, iss+"/authorize", doc["authorization_endpoint"])
	assert.Equal(t, []any{"public"}, doc["subject_types_supported"])
	assert.Equal(t, []any{"ES256", "RS256"}, doc["id_token_signing_alg_values_supported"])
	assert.Equal(t, []any{"code"}, doc["response_types_supported"])
	assert.Equal(t, []any{"read", "openid", "offline_access", "address", "email", "phone", "profile"}, doc["scopes_supported"])
	assert.Contains(t, doc["claims_supported"], "email")
	assert.Equal(t, true, doc["claims_parameter_supported"])
	assert.Equal(t, false, doc["request_uri_parameter_supported"])
	assert.NotContains(t, doc["id_token_signing_alg_values_supported"], "none")

	oauthDoc := h.Do(mustGet(t, h.Server.URL+h.Provider.MetadataPath()))
	assert.Equal(t, doc, oauthDoc.JSON, "one document at both well-known paths")
}

func mustGet(t *testing.T, u string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	require.NoError(t, err)
	return req
}

func TestJWKSPublishesTheIDTokenKeysOnce(t *testing.T) {
	var shared *token.KeySet
	h := newHarness(t, func(c *oidc.Config, cfg *oauth2.Config, _ *memory.Store) {
		shared = keySource(t, jwa.ES256)
		c.Keys[0] = shared
		jwt, err := token.NewJWT(token.JWTConfig{Keys: shared})
		require.NoError(t, err)
		cfg.AccessTokens = jwt
	})
	set := h.jwks()
	assert.Equal(t, 2, set.Len(), "the shared ES256 key once, and the RS256 key")
	r := h.tokens(newRequest(t, "rp"), oauth2.Approval{Subject: defaultUser})
	h.verified(r.Str("access_token"))
	h.verified(r.Str("id_token"))
}
