package oidc_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/internal/testkit"
	"github.com/grantor-dev/grantor/oauth2"
	"github.com/grantor-dev/grantor/oidc"
	"github.com/grantor-dev/grantor/storage"
	"github.com/grantor-dev/grantor/storage/memory"
	"github.com/grantor-dev/grantor/token"
)

// atHash is at_hash of an access token for a *256 algorithm (OpenID
// Connect Core §3.1.3.6), computed independently of the Provider.
func atHash(accessToken string) string {
	sum := sha256.Sum256([]byte(accessToken))
	return base64.RawURLEncoding.EncodeToString(sum[:16])
}

func TestCodeFlowReturnsAnIDToken(t *testing.T) {
	h := newHarness(t, nil)
	req := newRequest(t, "rp")
	r := h.tokens(req, oauth2.Approval{Subject: defaultUser, ACR: "urn:example:loa:2", AMR: []string{"pwd", "otp"}})

	idToken := r.Str("id_token")
	require.NotEmpty(t, idToken, "%s", r.Body)
	header, c := h.verified(idToken)
	assert.Equal(t, "ES256", header["alg"], "the default algorithm")
	assert.Equal(t, "JWT", header["typ"], "never at+jwt: an ID token is no access token")
	assert.NotEmpty(t, header["kid"])

	now := h.Now().Unix()
	assert.Equal(t, h.Provider.Issuer(), c["iss"])
	assert.Equal(t, defaultUser, c["sub"])
	assert.Equal(t, "rp", c["aud"], "the client id, as a string")
	assert.Equal(t, "rp", c["azp"])
	assert.EqualValues(t, now, c["iat"])
	assert.EqualValues(t, now+int64(oidc.DefaultIDTokenLifetime/time.Second), c["exp"])
	assert.Equal(t, "n-0S6_WzA2Mj", c["nonce"], "the nonce exactly as sent (Core §3.1.3.6)")
	assert.Equal(t, atHash(r.Str("access_token")), c["at_hash"])
	assert.Equal(t, "urn:example:loa:2", c["acr"])
	assert.Equal(t, []any{"pwd", "otp"}, c["amr"])
	assert.NotContains(t, c, "auth_time", "neither max_age nor require_auth_time")
	assert.NotContains(t, c, "name", "profile claims come from UserInfo (Core §5.4)")
	assert.NotContains(t, c, "email")
	assert.Equal(t, "Bearer", r.Str("token_type"))
}

func TestNoOpenIDScopeNoIDToken(t *testing.T) {
	h := newHarness(t, nil)
	for name, req := range map[string]request{
		"scope without openid":    newRequest(t, "rp", "scope", "profile read"),
		"client without openid":   newRequest(t, "oauth", "scope", "read"),
		"openid refused at login": newRequest(t, "rp"),
	} {
		t.Run(name, func(t *testing.T) {
			a := oauth2.Approval{Subject: defaultUser}
			if name == "openid refused at login" {
				a.Scopes = []string{"read"}
			}
			r := h.tokens(req, a)
			assert.NotContains(t, r.JSON, "id_token", "%s", r.Body)
		})
	}
}

func TestIDTokenAlgorithmPerClient(t *testing.T) {
	h := newHarness(t, nil)
	r := h.tokens(newRequest(t, "rs256"), oauth2.Approval{Subject: defaultUser})
	header, c := h.verified(r.Str("id_token"))
	assert.Equal(t, "RS256", header["alg"], "id_token_signed_response_alg")
	assert.Equal(t, atHash(r.Str("access_token")), c["at_hash"], "RS256 hashes with SHA-256 too")

	// An algorithm without a key, none and a MAC are never used: the
	// request is refused before anyone logs in.
	for _, alg := range []string{"ES384", "none", "HS256"} {
		t.Run(alg, func(t *testing.T) {
			id := "alg-" + alg
			h.addClient(storage.Client{ID: id, RedirectURIs: []string{rpRedirect}, GrantTypes: []string{"authorization_code"},
				Scopes: []string{"openid"}, IDTokenSignedResponseAlg: alg})
			q := redirected(t, h.authorize(newRequest(t, id, "scope", "openid").params))
			assert.Equal(t, string(oauth2.ErrUnauthorizedClient), q.Get("error"))
			assert.Equal(t, "st", q.Get("state"))
			assert.Equal(t, h.Provider.Issuer(), q.Get("iss"))
		})
	}
}

func TestAuthTime(t *testing.T) {
	h := newHarness(t, nil)
	h.addClient(storage.Client{ID: "strict", RedirectURIs: []string{rpRedirect}, GrantTypes: []string{"authorization_code"},
		Scopes: []string{"openid"}, RequireAuthTime: true})
	login := h.Now().Add(-90 * time.Second)
	for name, req := range map[string]request{
		"max_age":           newRequest(t, "rp", "max_age", "600"),
		"require_auth_time": newRequest(t, "strict", "scope", "openid"),
		"claims parameter":  newRequest(t, "rp", "claims", `{"id_token":{"auth_time":{"essential":true}}}`),
	} {
		t.Run(name, func(t *testing.T) {
			r := h.tokens(req, oauth2.Approval{Subject: defaultUser, AuthTime: login})
			_, c := h.verified(r.Str("id_token"))
			assert.EqualValues(t, login.Unix(), c["auth_time"], "the time of the real login")
		})
	}

	t.Run("a login older than max_age is refused", func(t *testing.T) {
		req := newRequest(t, "rp", "max_age", "60")
		id, cookie := h.interaction(h.authorize(req.params))
		q := answer(t, h.approve(id, cookie, oauth2.Approval{Subject: defaultUser, AuthTime: login}))
		assert.Equal(t, string(oauth2.ErrLoginRequired), q.Get("error"))
		assert.Empty(t, q.Get("code"))
	})
	t.Run("max_age=0 takes a login made for the request, however long consent took", func(t *testing.T) {
		req := newRequest(t, "rp", "max_age", "0")
		id, cookie := h.interaction(h.authorize(req.params))
		h.Advance(20 * time.Second) // the login page
		loggedIn := h.Now()
		h.Advance(40 * time.Second) // the consent page
		q := answer(t, h.approve(id, cookie, oauth2.Approval{Subject: defaultUser, AuthTime: loggedIn}))
		require.NotEmpty(t, q.Get("code"), q.Encode())
		r := h.redeem(req, q.Get("code"))
		_, c := h.verified(r.Str("id_token"))
		assert.EqualValues(t, loggedIn.Unix(), c["auth_time"])
	})
	t.Run("max_age=0 takes a login of now", func(t *testing.T) {
		r := h.tokens(newRequest(t, "rp", "max_age", "0"), oauth2.Approval{Subject: defaultUser, AuthTime: h.Now()})
		_, c := h.verified(r.Str("id_token"))
		assert.EqualValues(t, h.Now().Unix(), c["auth_time"])
	})
	for _, extra := range [][]string{{"max_age", "0"}, {"max_age", "3600"}, {"prompt", "login"}} {
		t.Run(extra[0]+"="+extra[1]+" with an approval that does not say when the user logged in", func(t *testing.T) {
			id, cookie := h.interaction(h.authorize(newRequest(t, "rp", extra...).params))
			q := answer(t, h.approve(id, cookie, oauth2.Approval{Subject: defaultUser}))
			assert.Equal(t, string(oauth2.ErrLoginRequired), q.Get("error"), "no fresh login can be shown")
		})
	}
	t.Run("prompt=login with a login older than the request", func(t *testing.T) {
		id, cookie := h.interaction(h.authorize(newRequest(t, "rp", "prompt", "login").params))
		q := answer(t, h.approve(id, cookie, oauth2.Approval{Subject: defaultUser, AuthTime: h.Now().Add(-10 * time.Hour)}))
		assert.Equal(t, string(oauth2.ErrLoginRequired), q.Get("error"))
	})
	t.Run("a client's default_max_age applies", func(t *testing.T) {
		h.addClient(storage.Client{ID: "recent", RedirectURIs: []string{rpRedirect}, GrantTypes: []string{"authorization_code"},
			Scopes: []string{"openid"}, DefaultMaxAge: time.Minute})
		req := newRequest(t, "recent", "scope", "openid")
		id, cookie := h.interaction(h.authorize(req.params))
		q := answer(t, h.approve(id, cookie, oauth2.Approval{Subject: defaultUser, AuthTime: login}))
		assert.Equal(t, string(oauth2.ErrLoginRequired), q.Get("error"))
	})
}

func TestRefreshReturnsANewIDTokenWithoutNonce(t *testing.T) {
	h := newHarness(t, nil)
	login := h.Now().Add(-time.Minute)
	first := h.tokens(newRequest(t, "rp", "max_age", "3600"), oauth2.Approval{Subject: defaultUser, AuthTime: login, ACR: "1"})
	h.Advance(10 * time.Minute)

	r := h.refresh("rp", first.Str("refresh_token"))
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	_, c := h.verified(r.Str("id_token"))
	assert.Equal(t, defaultUser, c["sub"], "Core §12.2: the same subject")
	assert.EqualValues(t, login.Unix(), c["auth_time"], "and the same auth_time")
	assert.Equal(t, "1", c["acr"])
	assert.NotContains(t, c, "nonce", "no nonce in a refreshed ID token")
	assert.EqualValues(t, h.Now().Unix(), c["iat"])
	assert.Equal(t, atHash(r.Str("access_token")), c["at_hash"], "the hash of the new access token")

	t.Run("a refresh that narrows openid away has none", func(t *testing.T) {
		r2 := h.refresh("rp", r.Str("refresh_token"), "scope", "read")
		require.Equal(t, http.StatusOK, r2.Status, "%s", r2.Body)
		assert.NotContains(t, r2.JSON, "id_token")
	})
}

func TestScopeClaimsInIDToken(t *testing.T) {
	h := newHarness(t, func(c *oidc.Config, _ *oauth2.Config, _ *memory.Store) { c.ScopeClaimsInIDToken = true })
	r := h.tokens(newRequest(t, "rp"), oauth2.Approval{Subject: defaultUser})
	_, c := h.verified(r.Str("id_token"))
	assert.Equal(t, "Alice Liddell", c["name"])
	assert.Equal(t, "alice@example.com", c["email"])
	assert.NotContains(t, c, "phone_number", "the phone scope was not asked for")
	assert.NotContains(t, c, "shoe_size", "no scope asks for it")
}

func TestClaimsParameterAddsToTheIDToken(t *testing.T) {
	h := newHarness(t, nil)
	r := h.tokens(newRequest(t, "rp", "scope", "openid profile email", "claims", `{"id_token":{"email":null,"sub":{"value":"alice"}}}`),
		oauth2.Approval{Subject: defaultUser})
	_, c := h.verified(r.Str("id_token"))
	assert.Equal(t, "alice@example.com", c["email"], "asked for by name (Core §5.5), among the granted scopes' claims")
	assert.Equal(t, defaultUser, c["sub"])
	assert.NotContains(t, c, "name", "not asked for in the ID token")

	t.Run("a requested sub of another user is login_required", func(t *testing.T) {
		// Core §3.1.2.2, §5.5.1: never an answer about another user.
		id, cookie := h.interaction(h.authorize(newRequest(t, "rp", "claims", `{"id_token":{"sub":{"value":"mallory"}}}`).params))
		q := answer(t, h.approve(id, cookie, oauth2.Approval{Subject: defaultUser}))
		assert.Equal(t, string(oauth2.ErrLoginRequired), q.Get("error"))
		assert.Empty(t, q.Get("code"))
	})
	t.Run("an essential acr the login does not meet is access_denied", func(t *testing.T) {
		// Core §5.5.1.1: a failed authentication.
		req := newRequest(t, "rp", "claims", `{"id_token":{"acr":{"essential":true,"values":["urn:example:mfa"]}}}`)
		id, cookie := h.interaction(h.authorize(req.params))
		q := answer(t, h.approve(id, cookie, oauth2.Approval{Subject: defaultUser, ACR: "urn:example:pwd"}))
		assert.Equal(t, string(oauth2.ErrAccessDenied), q.Get("error"))

		id, cookie = h.interaction(h.authorize(req.params))
		q = answer(t, h.approve(id, cookie, oauth2.Approval{Subject: defaultUser, ACR: "urn:example:mfa"}))
		r := h.redeem(req, q.Get("code"))
		_, c := h.verified(r.Str("id_token"))
		assert.Equal(t, "urn:example:mfa", c["acr"])
	})
	t.Run("a claims parameter that grows when kept is invalid_request", func(t *testing.T) {
		claims := `{"userinfo":{"x":{"value":"` + strings.Repeat("\u0001", 300) + `"}}}`
		q := redirected(t, h.authorize(newRequest(t, "rp", "claims", claims).params))
		assert.Equal(t, string(oauth2.ErrInvalidRequest), q.Get("error"))
		html := `{"userinfo":{"x":{"value":"` + strings.Repeat("<", 1900) + `"}}}`
		h.interaction(h.authorize(newRequest(t, "rp", "claims", html).params)) // no HTML escaping: it fits
	})
}

// Core §3.1.2.2: the authorization server MUST validate the request; each
// refusal goes back to the client with state and iss.
func TestAuthorizationRequestValidation(t *testing.T) {
	h := newHarness(t, nil)
	for name, tc := range map[string]struct {
		extra []string
		code  oauth2.ErrorCode
	}{
		"no redirect_uri in an OpenID request": {[]string{"redirect_uri", "<delete>"}, oauth2.ErrInvalidRequest},
		"max_age negative":                     {[]string{"max_age", "-1"}, oauth2.ErrInvalidRequest},
		"max_age not a number":                 {[]string{"max_age", "ten"}, oauth2.ErrInvalidRequest},
		"max_age a fraction":                   {[]string{"max_age", "1.5"}, oauth2.ErrInvalidRequest},
		"max_age with a leading zero":          {[]string{"max_age", "010"}, oauth2.ErrInvalidRequest},
		"claims not JSON":                      {[]string{"claims", "{"}, oauth2.ErrInvalidRequest},
		"claims not an object":                 {[]string{"claims", `["email"]`}, oauth2.ErrInvalidRequest},
		"claims userinfo not an object":        {[]string{"claims", `{"userinfo":["email"]}`}, oauth2.ErrInvalidRequest},
		"claims with trailing data":            {[]string{"claims", `{} {}`}, oauth2.ErrInvalidRequest},
		"response_type id_token":               {[]string{"response_type", "id_token"}, oauth2.ErrUnsupportedResponseType},
		"response_type code id_token":          {[]string{"response_type", "code id_token"}, oauth2.ErrUnsupportedResponseType},
		"prompt none with login":               {[]string{"prompt", "none login"}, oauth2.ErrInvalidRequest},
		"unknown prompt":                       {[]string{"prompt", "later"}, oauth2.ErrInvalidRequest},
		"request object":                       {[]string{"request", "eyJhbGciOiJub25lIn0.e30."}, oauth2.ErrRequestNotSupported},
	} {
		t.Run(name, func(t *testing.T) {
			q := redirected(t, h.authorize(newRequest(t, "rp", tc.extra...).params))
			assert.Equal(t, string(tc.code), q.Get("error"))
			assert.Equal(t, "st", q.Get("state"))
			assert.Equal(t, h.Provider.Issuer(), q.Get("iss"))
		})
	}

	t.Run("a redirect_uri not registered is never redirected to", func(t *testing.T) {
		r := h.authorize(newRequest(t, "rp", "redirect_uri", "https://rp.example/cb2").params)
		assert.Equal(t, http.StatusBadRequest, r.Status)
		assert.Empty(t, r.Header.Get("Location"))
	})
	t.Run("a plain OAuth request needs no redirect_uri", func(t *testing.T) {
		r := h.authorize(newRequest(t, "rp", "scope", "read", "redirect_uri", "<delete>").params)
		h.interaction(r)
	})
	t.Run("the same rules hold at the PAR endpoint", func(t *testing.T) {
		form := newRequest(t, "rp", "max_age", "soon").params
		r := h.PostForm(h.Provider.PAREndpoint(), "rp", h.secrets["rp"], form)
		testkit.RequireOAuthError(t, r, http.StatusBadRequest, oauth2.ErrInvalidRequest)
	})
}

func TestAFailedClaimsSourceConsumesNothing(t *testing.T) {
	fail := true
	h := newHarness(t, func(c *oidc.Config, _ *oauth2.Config, _ *memory.Store) {
		c.ScopeClaimsInIDToken = true
		claims := c.Claims
		c.Claims = oidc.ClaimsFunc(func(ctx context.Context, req *oidc.ClaimsRequest) (map[string]any, error) {
			if fail {
				return nil, errors.New("directory down")
			}
			return claims.Claims(ctx, req)
		})
	})
	req := newRequest(t, "rp")
	code := h.code(req, oauth2.Approval{Subject: defaultUser})
	r := h.redeem(req, code)
	testkit.RequireOAuthError(t, r, http.StatusInternalServerError, oauth2.ErrServerError)
	assert.NotContains(t, string(r.Body), "directory down", "the cause is logged, not shown")

	fail = false
	r = h.redeem(req, code)
	require.Equal(t, http.StatusOK, r.Status, "the code was not used up: %s", r.Body)
	assert.NotEmpty(t, r.Str("id_token"))
}

func TestNewChecksTheConfiguration(t *testing.T) {
	es, rs := keySource(t, "ES256"), keySource(t, "RS256")
	sessions := memory.New()
	for name, cfg := range map[string]oidc.Config{
		"no keys":              {Sessions: sessions},
		"no RS256":             {Keys: []token.KeySource{es}, Sessions: sessions},
		"two of one alg":       {Keys: []token.KeySource{es, rs, keySource(t, "RS256")}, Sessions: sessions},
		"a nil key source":     {Keys: []token.KeySource{rs, nil}, Sessions: sessions},
		"lifetime too long":    {Keys: []token.KeySource{rs}, Sessions: sessions, IDTokenLifetime: 25 * time.Hour},
		"lifetime negative":    {Keys: []token.KeySource{rs}, Sessions: sessions, IDTokenLifetime: -time.Second},
		"openid mapped":        {Keys: []token.KeySource{rs}, Sessions: sessions, ScopeClaims: map[string][]string{"openid": {"name"}}},
		"a scope asks for sub": {Keys: []token.KeySource{rs}, Sessions: sessions, ScopeClaims: map[string][]string{"corp": {"sub"}}},
		"no session store":     {Keys: []token.KeySource{rs}},
		"sessions too short":   {Keys: []token.KeySource{rs}, Sessions: sessions, SessionLifetime: time.Second},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := oidc.New(cfg)
			assert.Error(t, err)
		})
	}
	op, err := oidc.New(oidc.Config{Keys: []token.KeySource{rs}, Sessions: sessions})
	require.NoError(t, err)
	_, err = op.Register(nil)
	assert.Error(t, err, "no oauth2.Provider")

	h := newHarness(t, nil)
	_, err = h.OP.Register(h.Provider)
	assert.Error(t, err, "one OpenID Provider serves one oauth2.Provider")
}
