package oauth2_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/grant"
	"github.com/grantor-dev/grantor/internal/testkit"
	"github.com/grantor-dev/grantor/oauth2"
	"github.com/grantor-dev/grantor/storage"
	"github.com/grantor-dev/grantor/storage/memory"
	"github.com/grantor-dev/grantor/token"
)

// ccHarness is a Provider with the client credentials and refresh grants,
// a confidential client "svc" (client_secret_basic), a client "post"
// (client_secret_post) and a public client "pub".
type ccHarness struct {
	*testkit.Harness
	svcSecret, postSecret string
}

func newCC(t *testing.T, configure func(*oauth2.Config, *memory.Store)) *ccHarness {
	h := testkit.New(t, func(cfg *oauth2.Config, store *memory.Store) {
		cfg.Grants = []oauth2.GrantFactory{
			grant.ClientCredentials(grant.ClientCredentialsOptions{}),
			grant.RefreshToken(store, grant.RefreshTokenOptions{}),
		}
		if configure != nil {
			configure(cfg, store)
		}
	})
	c := &ccHarness{Harness: h}
	c.svcSecret = h.AddClient(storage.Client{ID: "svc", GrantTypes: []string{"client_credentials"},
		Scopes: []string{"read", "write"}, DefaultScopes: []string{"read"}})
	c.postSecret = h.AddClient(storage.Client{ID: "post", TokenEndpointAuthMethod: oauth2.AuthMethodClientSecretPost,
		GrantTypes: []string{"client_credentials"}, Scopes: []string{"read"}})
	h.AddClient(storage.Client{ID: "pub", TokenEndpointAuthMethod: oauth2.AuthMethodNone,
		GrantTypes: []string{"client_credentials", "refresh_token"}, Scopes: []string{"read"}})
	return c
}

func ccForm(extra ...string) url.Values {
	f := url.Values{"grant_type": {"client_credentials"}}
	for i := 0; i+1 < len(extra); i += 2 {
		f.Add(extra[i], extra[i+1])
	}
	return f
}

func TestClientCredentialsSuccess(t *testing.T) {
	h := newCC(t, nil)
	r := h.Token("svc", h.svcSecret, ccForm("scope", "read write"))
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	assert.NotEmpty(t, r.Str("access_token"))
	assert.True(t, strings.HasPrefix(r.Str("access_token"), "gr_at_"))
	assert.Equal(t, "Bearer", r.Str("token_type"))
	assert.EqualValues(t, 3600, r.JSON["expires_in"])
	// RFC 6749 §4.4.3: no refresh token from client credentials.
	assert.NotContains(t, r.JSON, "refresh_token")
	// The scope granted is the one asked for, so it need not be repeated.
	assert.NotContains(t, r.JSON, "scope")
	// RFC 6749 §5.1: credentials are never cached.
	assert.Equal(t, "no-store", r.Header.Get("Cache-Control"))
	assert.Equal(t, "no-cache", r.Header.Get("Pragma"))
	assert.Equal(t, "application/json", r.Header.Get("Content-Type"))

	events := h.Events(oauth2.EventTokenIssued)
	require.Len(t, events, 1)
	assert.Equal(t, "svc", events[0].ClientID)
	assert.Equal(t, "client_credentials", events[0].GrantType)
}

func TestClientCredentialsDefaultScopeIsReturned(t *testing.T) {
	h := newCC(t, nil)
	r := h.Token("svc", h.svcSecret, ccForm())
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	// RFC 6749 §5.1: scope is required in the response when it differs
	// from the request, here the client's default scopes.
	assert.Equal(t, "read", r.Str("scope"))
}

// RFC 6749 §4.4.3: a scope outside the client's allowed set is
// invalid_scope.
func TestClientCredentialsScopeOutsideAllowedSet(t *testing.T) {
	h := newCC(t, nil)
	r := h.Token("svc", h.svcSecret, ccForm("scope", "read admin"))
	testkit.RequireOAuthError(t, r, http.StatusBadRequest, oauth2.ErrInvalidScope)
}

func TestClientCredentialsMalformedScope(t *testing.T) {
	h := newCC(t, nil)
	for _, scope := range []string{"read  write", " read", "re\"ad", "read\\", "réad"} {
		r := h.Token("svc", h.svcSecret, ccForm("scope", scope))
		testkit.RequireOAuthError(t, r, http.StatusBadRequest, oauth2.ErrInvalidScope)
	}
}

// RFC 6749 §3.2: POST with a form body only; the query string is never
// used.
func TestTokenEndpointAcceptsOnlyFormPOST(t *testing.T) {
	h := newCC(t, nil)

	get, err := http.NewRequest(http.MethodGet, h.Provider.TokenEndpoint()+"?grant_type=client_credentials", nil)
	require.NoError(t, err)
	get.SetBasicAuth("svc", h.svcSecret)
	r := h.Do(get)
	testkit.RequireOAuthError(t, r, http.StatusMethodNotAllowed, oauth2.ErrInvalidRequest)
	assert.Equal(t, "POST", r.Header.Get("Allow"))

	jsonReq, err := http.NewRequest(http.MethodPost, h.Provider.TokenEndpoint(), strings.NewReader(`{"grant_type":"client_credentials"}`))
	require.NoError(t, err)
	jsonReq.Header.Set("Content-Type", "application/json")
	jsonReq.SetBasicAuth("svc", h.svcSecret)
	testkit.RequireOAuthError(t, h.Do(jsonReq), http.StatusBadRequest, oauth2.ErrInvalidRequest)

	for _, param := range []string{"client_secret", "code", "code_verifier", "grant_type"} {
		req := h.TokenRequest(ccForm())
		req.URL.RawQuery = url.Values{param: {"x"}}.Encode()
		req.SetBasicAuth("svc", h.svcSecret)
		testkit.RequireOAuthError(t, h.Do(req), http.StatusBadRequest, oauth2.ErrInvalidRequest)
	}

	// A charset parameter on the media type is fine, and media types are
	// case-insensitive (RFC 9110 §8.3.1).
	for _, ct := range []string{"application/x-www-form-urlencoded; charset=UTF-8", "Application/X-WWW-Form-URLEncoded"} {
		req := h.TokenRequest(ccForm())
		req.Header.Set("Content-Type", ct)
		req.SetBasicAuth("svc", h.svcSecret)
		assert.Equal(t, http.StatusOK, h.Do(req).Status, ct)
	}
	for _, ct := range []string{"", "application/x-www-form-urlencodedx", "application/x-www-form-urlencoded;;", "text/plain"} {
		req := h.TokenRequest(ccForm())
		req.Header.Set("Content-Type", ct)
		req.SetBasicAuth("svc", h.svcSecret)
		testkit.RequireOAuthError(t, h.Do(req), http.StatusBadRequest, oauth2.ErrInvalidRequest)
	}
}

func TestTokenEndpointBodySizeLimit(t *testing.T) {
	h := newCC(t, nil)
	form := ccForm("pad", strings.Repeat("a", 70<<10))
	r := h.Token("svc", h.svcSecret, form)
	testkit.RequireOAuthError(t, r, http.StatusRequestEntityTooLarge, oauth2.ErrInvalidRequest)

	// Bodies of every size up to the limit are read whole, the limit
	// included; one byte more is refused.
	const limit = 64 << 10 // Config.MaxRequestBytes's default
	for _, size := range []int{len("grant_type=client_credentials"), 2 << 10, 2<<10 + 1, 40 << 10, limit, limit + 1} {
		// Padded with parameters of at most MaxParameterBytes each.
		body := "grant_type=client_credentials"
		for i := 0; len(body) < size; i++ {
			pad := fmt.Sprintf("&pad%d=", i)
			body += pad + strings.Repeat("a", min(size-len(body)-len(pad), 2000))
		}
		require.Len(t, body, size)
		req, err := http.NewRequest(http.MethodPost, h.Provider.TokenEndpoint(), strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("svc", h.svcSecret)
		r := h.Do(req)
		if size > limit {
			testkit.RequireOAuthError(t, r, http.StatusRequestEntityTooLarge, oauth2.ErrInvalidRequest)
			continue
		}
		assert.Equal(t, http.StatusOK, r.Status, "body of %d bytes: %s", size, r.Body)
	}
}

// RFC 6749 §3.2: duplicate parameters are invalid_request; empty values are
// absent.
func TestDuplicateAndEmptyParameters(t *testing.T) {
	h := newCC(t, nil)
	body := func(raw string) *testkit.Response {
		req, err := http.NewRequest(http.MethodPost, h.Provider.TokenEndpoint(), strings.NewReader(raw))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("svc", h.svcSecret)
		return h.Do(req)
	}
	testkit.RequireOAuthError(t, body("grant_type=client_credentials&grant_type=client_credentials"), http.StatusBadRequest, oauth2.ErrInvalidRequest)
	testkit.RequireOAuthError(t, body("grant_type=client_credentials&scope=read&scope=write"), http.StatusBadRequest, oauth2.ErrInvalidRequest)
	testkit.RequireOAuthError(t, body("grant_type=client_credentials&code=a&code=b"), http.StatusBadRequest, oauth2.ErrInvalidRequest)
	testkit.RequireOAuthError(t, body("grant_type="), http.StatusBadRequest, oauth2.ErrInvalidRequest)
	testkit.RequireOAuthError(t, body("grant_type=client_credentials&x=%zz"), http.StatusBadRequest, oauth2.ErrInvalidRequest)
	// An empty scope counts as absent: the default scope is granted.
	r := body("grant_type=client_credentials&scope=")
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	assert.Equal(t, "read", r.Str("scope"))

	// An empty client_secret is no authentication at all, and never
	// matches.
	req := h.TokenRequest(ccForm("client_id", "post", "client_secret", ""))
	testkit.RequireOAuthError(t, h.Do(req), http.StatusUnauthorized, oauth2.ErrInvalidClient)
	r = h.Token("svc", "", ccForm())
	testkit.RequireOAuthError(t, r, http.StatusUnauthorized, oauth2.ErrInvalidClient)
}

// Error bodies carry only the characters RFC 6749 §5.2 allows, and never
// echo input.
func TestErrorBodiesNeverEchoInput(t *testing.T) {
	h := newCC(t, nil)
	nasty := "a\"b\\c\r\nd\u00e9<script>"
	cases := []url.Values{
		{"grant_type": {nasty}},
		ccForm("scope", nasty),
		{"grant_type": {"refresh_token"}, "refresh_token": {nasty}},
	}
	for _, form := range cases {
		r := h.Token("svc", h.svcSecret, form)
		require.GreaterOrEqual(t, r.Status, 400)
		assert.NotContains(t, string(r.Body), "<script>")
		for _, field := range []string{"error", "error_description"} {
			for _, c := range r.Str(field) {
				ok := c == 0x20 || c == 0x21 || c >= 0x23 && c <= 0x5B || c >= 0x5D && c <= 0x7E
				assert.True(t, ok, "character %q in %s of %s", c, field, r.Body)
			}
		}
	}
}

// RFC 6749 §5.2: errors map to the right codes.
func TestErrorCodes(t *testing.T) {
	h := newCC(t, nil)
	h.AddClient(storage.Client{ID: "nocc", GrantTypes: []string{"refresh_token"}})
	nocc := h.AddClient(storage.Client{ID: "nocc2", GrantTypes: []string{"refresh_token"}})

	testkit.RequireOAuthError(t, h.Token("svc", h.svcSecret, url.Values{"grant_type": {"urn:example:unknown"}}),
		http.StatusBadRequest, oauth2.ErrUnsupportedGrantType)
	testkit.RequireOAuthError(t, h.Token("svc", h.svcSecret, url.Values{"grant_type": {"password"}, "username": {"u"}, "password": {"p"}}),
		http.StatusBadRequest, oauth2.ErrUnsupportedGrantType)
	testkit.RequireOAuthError(t, h.Token("nocc2", nocc, ccForm()), http.StatusBadRequest, oauth2.ErrUnauthorizedClient)
	testkit.RequireOAuthError(t, h.Token("svc", h.svcSecret, ccForm("scope", "admin")), http.StatusBadRequest, oauth2.ErrInvalidScope)
	testkit.RequireOAuthError(t, h.Token("svc", h.svcSecret, url.Values{}), http.StatusBadRequest, oauth2.ErrInvalidRequest)
}

// RFC 6749 §5.2: a wrong Basic secret gets 401 and WWW-Authenticate.
func TestBasicFailureGets401AndChallenge(t *testing.T) {
	h := newCC(t, nil)
	r := h.Token("svc", "wrong", ccForm())
	testkit.RequireOAuthError(t, r, http.StatusUnauthorized, oauth2.ErrInvalidClient)
	assert.True(t, strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Basic "), r.Header.Get("WWW-Authenticate"))
}

// Every other client authentication failure is invalid_client with
// one pinned status, 401, and like every 401 it carries a WWW-Authenticate
// challenge (RFC 9110 §15.5.2; RFC 6749 §5.2): Basic, with the issuer as
// its realm.
func TestOtherClientAuthFailuresAre401(t *testing.T) {
	h := newCC(t, nil)
	cases := map[string]url.Values{
		"wrong client_secret_post": ccForm("client_id", "post", "client_secret", "wrong"),
		"unknown client":           ccForm("client_id", "nobody", "client_secret", "x"),
		"no credentials at all":    ccForm(),
		"bad assertion": ccForm("client_id", "svc", "client_assertion", "a.b.c",
			"client_assertion_type", oauth2.ClientAssertionTypeJWTBearer),
	}
	for name, form := range cases {
		t.Run(name, func(t *testing.T) {
			r := h.Do(h.TokenRequest(form))
			testkit.RequireOAuthError(t, r, http.StatusUnauthorized, oauth2.ErrInvalidClient)
			assert.Equal(t, `Basic realm="`+h.Provider.Issuer()+`", charset="UTF-8"`, r.Header.Get("WWW-Authenticate"))
		})
	}
}

// RFC 6749 §2.3: one authentication method per request.
func TestOneAuthenticationMethodPerRequest(t *testing.T) {
	h := newCC(t, nil)
	basicPlusPost := h.TokenRequest(ccForm("client_secret", h.svcSecret))
	basicPlusPost.SetBasicAuth("svc", h.svcSecret)
	testkit.RequireOAuthError(t, h.Do(basicPlusPost), http.StatusBadRequest, oauth2.ErrInvalidRequest)

	basicPlusAssertion := h.TokenRequest(ccForm("client_assertion", "a.b.c", "client_assertion_type", oauth2.ClientAssertionTypeJWTBearer))
	basicPlusAssertion.SetBasicAuth("svc", h.svcSecret)
	testkit.RequireOAuthError(t, h.Do(basicPlusAssertion), http.StatusBadRequest, oauth2.ErrInvalidRequest)

	postPlusAssertion := h.TokenRequest(ccForm("client_id", "post", "client_secret", h.postSecret,
		"client_assertion", "a.b.c", "client_assertion_type", oauth2.ClientAssertionTypeJWTBearer))
	testkit.RequireOAuthError(t, h.Do(postPlusAssertion), http.StatusBadRequest, oauth2.ErrInvalidRequest)

	// A body client_id other than the Basic user.
	r := h.Token("svc", h.svcSecret, ccForm("client_id", "post"))
	testkit.RequireOAuthError(t, r, http.StatusUnauthorized, oauth2.ErrInvalidClient)
	// The same client_id in both places is fine.
	r = h.Token("svc", h.svcSecret, ccForm("client_id", "svc"))
	assert.Equal(t, http.StatusOK, r.Status, "%s", r.Body)

	twoHeaders := h.TokenRequest(ccForm())
	twoHeaders.Header.Add("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("svc:"+h.svcSecret)))
	twoHeaders.Header.Add("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("svc:"+h.svcSecret)))
	testkit.RequireOAuthError(t, h.Do(twoHeaders), http.StatusBadRequest, oauth2.ErrInvalidRequest)
}

// RFC 7591 §2, RFC 9700 §2.5: a client can use only the method it
// registered.
func TestRegisteredMethodIsEnforced(t *testing.T) {
	h := newCC(t, nil)
	// A client_secret_post client using Basic.
	r := h.Token("post", h.postSecret, ccForm())
	testkit.RequireOAuthError(t, r, http.StatusUnauthorized, oauth2.ErrInvalidClient)
	// A client_secret_basic client using the body.
	r = h.Do(h.TokenRequest(ccForm("client_id", "svc", "client_secret", h.svcSecret)))
	testkit.RequireOAuthError(t, r, http.StatusUnauthorized, oauth2.ErrInvalidClient)
	// A public client sending a secret.
	r = h.Do(h.TokenRequest(ccForm("client_id", "pub", "client_secret", "anything")))
	testkit.RequireOAuthError(t, r, http.StatusUnauthorized, oauth2.ErrInvalidClient)
	// A private_key_jwt client using a secret.
	h.AddClient(storage.Client{ID: "pkj", TokenEndpointAuthMethod: oauth2.AuthMethodPrivateKeyJWT,
		JWKS: []byte(`{"keys":[]}`), GrantTypes: []string{"client_credentials"}})
	r = h.Token("pkj", "secret", ccForm())
	testkit.RequireOAuthError(t, r, http.StatusUnauthorized, oauth2.ErrInvalidClient)
	// The registered methods work.
	r = h.Do(h.TokenRequest(ccForm("client_id", "post", "client_secret", h.postSecret)))
	assert.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
}

// RFC 6749 §2.3.1: Basic credentials are form-urlencoded inside the header.
func TestBasicCredentialsDecoding(t *testing.T) {
	h := newCC(t, nil)
	secret := h.AddClient(storage.Client{ID: "a:b %c", GrantTypes: []string{"client_credentials"}})
	basic := func(raw string) *http.Request {
		req := h.TokenRequest(ccForm())
		req.Header.Set("Authorization", "Basic "+raw)
		return req
	}
	enc := base64.StdEncoding.EncodeToString
	ok := h.Do(basic(enc([]byte(url.QueryEscape("a:b %c") + ":" + url.QueryEscape(secret)))))
	assert.Equal(t, http.StatusOK, ok.Status, "%s", ok.Body)

	// The raw id with its colon splits wrongly: that client does not exist.
	testkit.RequireOAuthError(t, h.Do(basic(enc([]byte("a:b %c:"+secret)))), http.StatusUnauthorized, oauth2.ErrInvalidClient)
	testkit.RequireOAuthError(t, h.Do(basic("!!!not-base64")), http.StatusUnauthorized, oauth2.ErrInvalidClient)
	testkit.RequireOAuthError(t, h.Do(basic(enc([]byte("no-colon")))), http.StatusUnauthorized, oauth2.ErrInvalidClient)
	testkit.RequireOAuthError(t, h.Do(basic(enc([]byte("%zz:x")))), http.StatusUnauthorized, oauth2.ErrInvalidClient)

	// A secret with '%' and ':' round-trips through the encoding.
	hash := mustHash(t, "p%a:ss word")
	h.AddClient(storage.Client{ID: "human", SecretHash: hash, GrantTypes: []string{"client_credentials"}})
	r := h.Token("human", "p%a:ss word", ccForm())
	assert.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
}

func mustHash(t *testing.T, secret string) string {
	t.Helper()
	hash, err := oauth2.HashClientSecret(secret)
	require.NoError(t, err)
	return hash
}

// OAuth 2.1 §4.2: a public client cannot use client_credentials.
func TestPublicClientCannotUseClientCredentials(t *testing.T) {
	h := newCC(t, nil)
	r := h.Do(h.TokenRequest(ccForm("client_id", "pub")))
	testkit.RequireOAuthError(t, r, http.StatusBadRequest, oauth2.ErrUnauthorizedClient)
}

func TestAuthFailureEventsCarryNoSecret(t *testing.T) {
	h := newCC(t, nil)
	h.Token("svc", "the-wrong-secret", ccForm())
	events := h.Events(oauth2.EventClientAuthFailed)
	require.Len(t, events, 1)
	assert.Equal(t, "svc", events[0].ClientID)
	assert.NotContains(t, events[0].Reason, "the-wrong-secret")
}

// RFC 6749 §3.2.1 (oauthlib CVE-2026-118669): decisions use the
// authenticated client, never a client_id from the body.
func TestDecisionsUseTheAuthenticatedClient(t *testing.T) {
	h := newCC(t, nil)
	// "svc" authenticates; the body names "post", which may not have
	// "write". The request is refused rather than evaluated for either.
	r := h.Token("svc", h.svcSecret, ccForm("client_id", "post", "scope", "read"))
	testkit.RequireOAuthError(t, r, http.StatusUnauthorized, oauth2.ErrInvalidClient)
}

func TestDisabledClientCannotAuthenticate(t *testing.T) {
	h := newCC(t, nil)
	secret := h.AddClient(storage.Client{ID: "off", Disabled: true, GrantTypes: []string{"client_credentials"}})
	testkit.RequireOAuthError(t, h.Token("off", secret, ccForm()), http.StatusUnauthorized, oauth2.ErrInvalidClient)
}

// The claims hook sees the request and adds claims to the token's record.
// (TestAccessTokenClaimsHookContract checks what it may not change.)
func TestAccessTokenClaimsHookAddsClaims(t *testing.T) {
	var seen *oauth2.TokenRequest
	h := newCC(t, func(cfg *oauth2.Config, _ *memory.Store) {
		cfg.AccessTokenClaims = func(_ context.Context, req *oauth2.TokenRequest, c *token.Claims) error {
			seen = req
			c.Extra["tenant"] = "acme"
			return nil
		}
	})
	r := h.Token("svc", h.svcSecret, ccForm())
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	require.NotNil(t, seen)
	assert.Equal(t, "svc", seen.Client.ID)
	key, err := h.Provider.AccessTokenKey(context.Background(), r.Str("access_token"))
	require.NoError(t, err)
	rec, err := h.Store.Token(context.Background(), key)
	require.NoError(t, err)
	assert.Equal(t, "client:svc", rec.Subject)
	assert.Equal(t, "acme", rec.Claims["tenant"])
}

func TestAccessTokenClaimsHookErrorRefusesTheRequest(t *testing.T) {
	h := newCC(t, func(cfg *oauth2.Config, _ *memory.Store) {
		cfg.AccessTokenClaims = func(context.Context, *oauth2.TokenRequest, *token.Claims) error {
			return oauth2.NewError(oauth2.ErrAccessDenied, "not today")
		}
	})
	testkit.RequireOAuthError(t, h.Token("svc", h.svcSecret, ccForm()), http.StatusBadRequest, oauth2.ErrAccessDenied)
}

// A claims hook that sets a registered claim in Extra fails the same way
// for every token format: a server error, never a token whose extra claim
// shadows the registered one.
func TestAccessTokenClaimsHookCannotShadowRegisteredClaims(t *testing.T) {
	for _, name := range []string{"sub", "aud", "cnf", "client_id"} {
		h := newCC(t, func(cfg *oauth2.Config, _ *memory.Store) {
			cfg.AccessTokenClaims = func(_ context.Context, _ *oauth2.TokenRequest, c *token.Claims) error {
				c.Extra[name] = "mallory"
				return nil
			}
		})
		r := h.Token("svc", h.svcSecret, ccForm())
		testkit.RequireOAuthError(t, r, http.StatusInternalServerError, oauth2.ErrServerError)
		assert.NotContains(t, string(r.Body), "mallory")
	}
}
