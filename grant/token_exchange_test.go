package grant_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/grant"
	"github.com/grantor-dev/grantor/internal/testkit"
	"github.com/grantor-dev/grantor/oauth2"
	"github.com/grantor-dev/grantor/storage"
	"github.com/grantor-dev/grantor/storage/memory"
	"github.com/grantor-dev/grantor/token"
)

// Tests of the token exchange grant (RFC 8693) with this server's own
// tokens as subject and actor tokens.

// exchangeHarness is a code-flow Provider with the client credentials and
// token exchange grants, and these clients besides codeHarness's:
//   - "web" has the registered audience "api", "spa", "narrow",
//     "https://api.example";
//   - "api": confidential, may exchange, audience https://backend.example
//     and https://other.example, scopes read and write;
//   - "other": confidential, may exchange and use client credentials,
//     audience "api";
//   - "narrow": confidential, may exchange, only the scope read.
//
// The policy is whatever policy holds when a request comes; it allows
// everything by default.
type exchangeHarness struct {
	*codeHarness
	apiSecret, otherSecret, narrowSecret string

	mu     sync.Mutex
	policy grant.TokenExchangePolicyFunc
	seen   []*grant.TokenExchangeRequest
}

func newExchange(t *testing.T, format string, configure ...func(*oauth2.Config, *memory.Store)) *exchangeHarness {
	x := &exchangeHarness{policy: func(context.Context, *grant.TokenExchangeRequest) (*grant.Allowance, error) {
		return &grant.Allowance{}, nil
	}}
	policy := grant.TokenExchangePolicyFunc(func(ctx context.Context, req *grant.TokenExchangeRequest) (*grant.Allowance, error) {
		x.mu.Lock()
		p := x.policy
		x.seen = append(x.seen, req)
		x.mu.Unlock()
		return p(ctx, req)
	})
	x.codeHarness = newCode(t, func(cfg *oauth2.Config, store *memory.Store) {
		cfg.Grants = append(cfg.Grants,
			grant.ClientCredentials(grant.ClientCredentialsOptions{}),
			grant.TokenExchange(grant.TokenExchangeOptions{Policy: policy}))
		if format == "jwt" {
			useJWTAccessTokens(t, cfg)
		}
		for _, c := range configure {
			c(cfg, store)
		}
	})
	web, err := x.Store.Client(context.Background(), "web")
	require.NoError(t, err)
	web.Audience = []string{"api", "spa", "narrow", "https://api.example"}
	web.GrantTypes = append(web.GrantTypes, grant.GrantTypeTokenExchange)
	require.NoError(t, x.Store.PutClient(web))
	spa, err := x.Store.Client(context.Background(), "spa")
	require.NoError(t, err)
	spa.GrantTypes = append(spa.GrantTypes, grant.GrantTypeTokenExchange)
	require.NoError(t, x.Store.PutClient(spa))
	x.apiSecret = x.AddClient(storage.Client{ID: "api", GrantTypes: []string{grant.GrantTypeTokenExchange, "refresh_token", "client_credentials"},
		Scopes: []string{"read", "write"}, Audience: []string{"https://backend.example", "https://other.example"}})
	x.narrowSecret = x.AddClient(storage.Client{ID: "narrow", GrantTypes: []string{grant.GrantTypeTokenExchange}, Scopes: []string{"read"}})
	x.otherSecret = x.AddClient(storage.Client{ID: "other", GrantTypes: []string{grant.GrantTypeTokenExchange, "client_credentials"},
		Scopes: []string{"read"}, Audience: []string{"api"}})
	return x
}

func useJWTAccessTokens(t *testing.T, cfg *oauth2.Config) {
	key, err := token.GenerateSigningKey(jwa.ES256)
	require.NoError(t, err)
	keys, err := token.NewKeySet(key)
	require.NoError(t, err)
	cfg.AccessTokens, err = token.NewJWT(token.JWTConfig{Keys: keys, Issuer: cfg.Issuer})
	require.NoError(t, err)
}

func (x *exchangeHarness) setPolicy(p grant.TokenExchangePolicyFunc) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.policy = p
}

func (x *exchangeHarness) lastRequest() *grant.TokenExchangeRequest {
	x.mu.Lock()
	defer x.mu.Unlock()
	if len(x.seen) == 0 {
		return nil
	}
	return x.seen[len(x.seen)-1]
}

// userTokens runs the code flow for "web" (scopes read and write) with
// the approval a and returns the access and refresh tokens.
func (x *exchangeHarness) userTokens(a oauth2.Approval) (at, rt string) {
	x.T.Helper()
	params, verifier := authParams(x.T, "scope", "read write")
	id, cookie := x.interaction(x.authorize(params))
	rec := x.approve(id, cookie, a)
	q := redirectParams(x.T, rec.Code, rec.Header().Get("Location"), "https://c.example/cb")
	r := x.redeem("web", x.webSecret, q.Get("code"), verifier)
	require.Equal(x.T, http.StatusOK, r.Status, "%s", r.Body)
	return r.Str("access_token"), r.Str("refresh_token")
}

// exchange posts a token exchange request as client id; pairs are the
// form's parameters.
func (x *exchangeHarness) exchange(id, secret string, pairs ...string) *testkit.Response {
	x.T.Helper()
	form := url.Values{"grant_type": {grant.GrantTypeTokenExchange}}
	for i := 0; i+1 < len(pairs); i += 2 {
		form.Add(pairs[i], pairs[i+1])
	}
	if secret == "" {
		form.Set("client_id", id)
		return x.Do(x.TokenRequest(form))
	}
	return x.Token(id, secret, form)
}

func (x *exchangeHarness) ccToken(id, secret string) string {
	x.T.Helper()
	r := x.Token(id, secret, url.Values{"grant_type": {"client_credentials"}})
	require.Equal(x.T, http.StatusOK, r.Status, "%s", r.Body)
	return r.Str("access_token")
}

func (x *exchangeHarness) introspect(id, secret, tok string) map[string]any {
	x.T.Helper()
	r := x.Introspect(id, secret, tok)
	require.Equal(x.T, http.StatusOK, r.Status, "%s", r.Body)
	return r.JSON
}

// A service the user's token names exchanges it for a token of its own
// backend: impersonation (RFC 8693 §1.1), with the response of §2.2.1.
func TestTokenExchangeImpersonation(t *testing.T) {
	for _, format := range []string{"opaque", "jwt"} {
		t.Run(format, func(t *testing.T) {
			x := newExchange(t, format)
			at, _ := x.userTokens(oauth2.Approval{Subject: "alice"})
			r := x.exchange("api", x.apiSecret, "subject_token", at, "subject_token_type", grant.TokenTypeAccessToken,
				"audience", "https://backend.example", "scope", "read")
			require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
			assert.Equal(t, grant.TokenTypeAccessToken, r.Str("issued_token_type"))
			assert.Equal(t, "Bearer", r.Str("token_type"))
			assert.Equal(t, "no-store", r.Header.Get("Cache-Control"))
			assert.Empty(t, r.Str("refresh_token"), "no refresh token unless the policy allows one")
			assert.NotContains(t, r.JSON, "scope", "the scope asked for (RFC 6749 §5.1)")

			info := x.introspect("api", x.apiSecret, r.Str("access_token"))
			assert.Equal(t, true, info["active"])
			assert.Equal(t, "alice", info["sub"])
			assert.Equal(t, "api", info["client_id"])
			assert.Equal(t, "read", info["scope"])
			assert.Equal(t, "https://backend.example", info["aud"])
			assert.NotContains(t, info, "act", "an impersonation has no actor")

			// What the policy was asked.
			req := x.lastRequest()
			require.NotNil(t, req)
			assert.Equal(t, "api", req.Client.ID)
			assert.Equal(t, "alice", req.Subject.Subject)
			assert.Equal(t, "web", req.Subject.ClientID)
			assert.Equal(t, x.Provider.Issuer(), req.Subject.Issuer)
			assert.NotNil(t, req.Subject.Record)
			assert.Nil(t, req.Actor)
			assert.Equal(t, []string{"https://backend.example"}, req.Audience)
		})
	}
}

// A token exchanged from a user's token belongs to the user's grant:
// revoking the grant's refresh token, or reusing it, revokes it too.
func TestTokenExchangeJoinsTheSubjectTokensGrant(t *testing.T) {
	t.Run("revocation", func(t *testing.T) {
		x := newExchange(t, "opaque")
		at, rt := x.userTokens(oauth2.Approval{Subject: "alice"})
		r := x.exchange("api", x.apiSecret, "subject_token", at, "subject_token_type", grant.TokenTypeAccessToken)
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		exchanged := r.Str("access_token")
		assert.Equal(t, true, x.introspect("api", x.apiSecret, exchanged)["active"])
		require.Equal(t, http.StatusOK, x.Revoke("web", x.webSecret, rt).Status)
		requireInactive(t, x.Introspect("api", x.apiSecret, exchanged))
	})
	t.Run("refresh token reuse", func(t *testing.T) {
		x := newExchange(t, "jwt")
		at, rt := x.userTokens(oauth2.Approval{Subject: "alice"})
		r := x.exchange("api", x.apiSecret, "subject_token", at, "subject_token_type", grant.TokenTypeAccessToken)
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		exchanged := r.Str("access_token")
		refresh := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}
		require.Equal(t, http.StatusOK, x.Token("web", x.webSecret, refresh).Status)
		assert.Equal(t, true, x.introspect("api", x.apiSecret, exchanged)["active"], "a rotation alone revokes nothing")
		testkit.RequireOAuthError(t, x.Token("web", x.webSecret, refresh), http.StatusBadRequest, oauth2.ErrInvalidGrant)
		requireInactive(t, x.Introspect("api", x.apiSecret, exchanged))
	})
}

// The exchanged token never outlives its subject token.
func TestTokenExchangeNeverOutlivesTheSubjectToken(t *testing.T) {
	x := newExchange(t, "opaque")
	at, _ := x.userTokens(oauth2.Approval{Subject: "alice"})
	subject, err := x.AccessTokenRecord(at)
	require.NoError(t, err)
	x.Advance(subject.ExpiresAt.Sub(x.Now()) - 90*time.Second)
	r := x.exchange("api", x.apiSecret, "subject_token", at, "subject_token_type", grant.TokenTypeAccessToken)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	exchanged, err := x.AccessTokenRecord(r.Str("access_token"))
	require.NoError(t, err)
	assert.False(t, exchanged.ExpiresAt.After(subject.ExpiresAt), "exchanged %v, subject %v", exchanged.ExpiresAt, subject.ExpiresAt)
	assert.LessOrEqual(t, r.JSON["expires_in"], float64(90))
	x.Advance(91 * time.Second)
	requireInactive(t, x.Introspect("api", x.apiSecret, r.Str("access_token")))
	// And an expired subject token is refused (RFC 8693 §2.2.2).
	r = x.exchange("api", x.apiSecret, "subject_token", at, "subject_token_type", grant.TokenTypeAccessToken)
	testkit.RequireOAuthError(t, r, http.StatusBadRequest, oauth2.ErrInvalidRequest)
}

// RFC 8693 §2.1: the required parameters and their pairs.
func TestTokenExchangeParameters(t *testing.T) {
	x := newExchange(t, "opaque")
	at, _ := x.userTokens(oauth2.Approval{Subject: "alice"})
	actor := x.ccToken("api", x.apiSecret)
	issued := len(x.Events(oauth2.EventTokenIssued))
	for name, pairs := range map[string][]string{
		"no subject_token":                                {"subject_token_type", grant.TokenTypeAccessToken},
		"no subject_token_type":                           {"subject_token", at},
		"actor_token without a type":                      {"subject_token", at, "subject_token_type", grant.TokenTypeAccessToken, "actor_token", actor},
		"actor_token_type alone":                          {"subject_token", at, "subject_token_type", grant.TokenTypeAccessToken, "actor_token_type", grant.TokenTypeAccessToken},
		"unknown requested type":                          {"subject_token", at, "subject_token_type", grant.TokenTypeAccessToken, "requested_token_type", "urn:example:unknown"},
		"refresh token requested":                         {"subject_token", at, "subject_token_type", grant.TokenTypeAccessToken, "requested_token_type", grant.TokenTypeRefreshToken},
		"unknown subject type":                            {"subject_token", at, "subject_token_type", "urn:example:unknown"},
		"id_token for an AT":                              {"subject_token", at, "subject_token_type", grant.TokenTypeIDToken},
		"SAML for an AT":                                  {"subject_token", at, "subject_token_type", "urn:ietf:params:oauth:token-type:saml2"},
		"unknown actor type":                              {"subject_token", at, "subject_token_type", grant.TokenTypeAccessToken, "actor_token", actor, "actor_token_type", "urn:example:x"},
		"repeated subject_token":                          {"subject_token", at, "subject_token", at, "subject_token_type", grant.TokenTypeAccessToken},
		"more audience parameters than MaxResourceValues": manyAudiences(at, oauth2.MaxResourceValues+1),
	} {
		t.Run(name, func(t *testing.T) {
			r := x.exchange("api", x.apiSecret, pairs...)
			testkit.RequireOAuthError(t, r, http.StatusBadRequest, oauth2.ErrInvalidRequest)
		})
	}
	// Nothing was issued, and the policy was never asked.
	assert.Nil(t, x.lastRequest())
	assert.Len(t, x.Events(oauth2.EventTokenIssued), issued)
}

// manyAudiences is an exchange of at with n audience parameters.
func manyAudiences(at string, n int) []string {
	pairs := []string{"subject_token", at, "subject_token_type", grant.TokenTypeAccessToken}
	for i := range n {
		pairs = append(pairs, "audience", "https://a"+strconv.Itoa(i)+".example")
	}
	return pairs
}

// RFC 8693 §2.1: each token is validated for what it is, whatever type the
// client declares; a bad, expired, revoked or forged one is invalid_request
// (§2.2.2).
func TestTokenExchangeValidatesEachTokenForItsType(t *testing.T) {
	x := newExchange(t, "opaque")
	at, rt := x.userTokens(oauth2.Approval{Subject: "alice"})
	webAT, _ := x.userTokens(oauth2.Approval{Subject: "bob"})
	require.Equal(t, http.StatusOK, x.Revoke("web", x.webSecret, webAT).Status)
	cases := map[string][]string{
		"a refresh token declared as an access token": {"subject_token", rt, "subject_token_type", grant.TokenTypeAccessToken},
		"an access token declared as a refresh token": {"subject_token", at, "subject_token_type", grant.TokenTypeRefreshToken},
		"a revoked access token":                      {"subject_token", webAT, "subject_token_type", grant.TokenTypeAccessToken},
		"a forged access token":                       {"subject_token", at[:len(at)-2] + "xx", "subject_token_type", grant.TokenTypeAccessToken},
		"garbage":                                     {"subject_token", "not-a-token", "subject_token_type", grant.TokenTypeAccessToken},
		"an opaque token declared as a JWT":           {"subject_token", at, "subject_token_type", grant.TokenTypeJWT},
		"a valid subject with an invalid actor": {"subject_token", at, "subject_token_type", grant.TokenTypeAccessToken,
			"actor_token", "not-a-token", "actor_token_type", grant.TokenTypeAccessToken},
	}
	for name, pairs := range cases {
		t.Run(name, func(t *testing.T) {
			r := x.exchange("api", x.apiSecret, pairs...)
			testkit.RequireOAuthError(t, r, http.StatusBadRequest, oauth2.ErrInvalidRequest)
		})
	}
	assert.Nil(t, x.lastRequest(), "the policy is asked only about valid tokens")
	// The refresh token, declared as what it is, is the client's own.
	r := x.exchange("web", x.webSecret, "subject_token", rt, "subject_token_type", grant.TokenTypeRefreshToken)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
}

// Keycloak CVE-2022-1245 and PR #11542: a client cannot exchange a token
// that was neither issued to it nor meant for it; a public client only its
// own (RFC 8693 §5).
func TestTokenExchangeRefusesOtherClientsTokens(t *testing.T) {
	x := newExchange(t, "opaque")
	at, rt := x.userTokens(oauth2.Approval{Subject: "alice"})
	// "other" is not in the audience of web's tokens.
	r := x.exchange("other", x.otherSecret, "subject_token", at, "subject_token_type", grant.TokenTypeAccessToken)
	testkit.RequireOAuthError(t, r, http.StatusBadRequest, oauth2.ErrInvalidRequest)
	// "spa" is, but is public: anyone can claim to be it.
	r = x.exchange("spa", "", "subject_token", at, "subject_token_type", grant.TokenTypeAccessToken)
	testkit.RequireOAuthError(t, r, http.StatusBadRequest, oauth2.ErrInvalidRequest)
	// A refresh token is its client's alone, audience or not.
	r = x.exchange("api", x.apiSecret, "subject_token", rt, "subject_token_type", grant.TokenTypeRefreshToken)
	testkit.RequireOAuthError(t, r, http.StatusBadRequest, oauth2.ErrInvalidRequest)
	// A client's own token (subject client:other), even one whose audience
	// names "api", stays the client's: api cannot become "other".
	otherToken := x.ccToken("other", x.otherSecret)
	r = x.exchange("api", x.apiSecret, "subject_token", otherToken, "subject_token_type", grant.TokenTypeAccessToken)
	testkit.RequireOAuthError(t, r, http.StatusBadRequest, oauth2.ErrInvalidRequest)
	assert.Nil(t, x.lastRequest())
	// "other" may exchange its own.
	r = x.exchange("other", x.otherSecret, "subject_token", otherToken, "subject_token_type", grant.TokenTypeAccessToken)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	assert.Equal(t, "client:other", x.introspect("other", x.otherSecret, r.Str("access_token"))["sub"])
}

// Scopes only narrow (RFC 8693 §2.1; Keycloak CVE-2022-1245): never beyond
// the subject token's, the policy's or the client's.
func TestTokenExchangeScopesOnlyNarrow(t *testing.T) {
	x := newExchange(t, "opaque")
	params, verifier := authParams(t, "scope", "read")
	id, cookie := x.interaction(x.authorize(params))
	rec := x.approve(id, cookie, oauth2.Approval{Subject: "alice"})
	q := redirectParams(t, rec.Code, rec.Header().Get("Location"), "https://c.example/cb")
	readOnly := x.redeem("web", x.webSecret, q.Get("code"), verifier).Str("access_token")
	require.NotEmpty(t, readOnly)

	r := x.exchange("api", x.apiSecret, "subject_token", readOnly, "subject_token_type", grant.TokenTypeAccessToken, "scope", "read write")
	testkit.RequireOAuthError(t, r, http.StatusBadRequest, oauth2.ErrInvalidScope)

	both, _ := x.userTokens(oauth2.Approval{Subject: "alice"})
	x.setPolicy(func(context.Context, *grant.TokenExchangeRequest) (*grant.Allowance, error) {
		return &grant.Allowance{Scopes: []string{"read"}}, nil
	})
	r = x.exchange("api", x.apiSecret, "subject_token", both, "subject_token_type", grant.TokenTypeAccessToken, "scope", "write")
	testkit.RequireOAuthError(t, r, http.StatusBadRequest, oauth2.ErrInvalidScope)
	// Without a scope parameter: the subject's, within the policy's.
	r = x.exchange("api", x.apiSecret, "subject_token", both, "subject_token_type", grant.TokenTypeAccessToken)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	assert.Equal(t, "read", x.introspect("api", x.apiSecret, r.Str("access_token"))["scope"])
	// "narrow" may only have read, whatever the subject token holds.
	x.setPolicy(func(context.Context, *grant.TokenExchangeRequest) (*grant.Allowance, error) {
		return &grant.Allowance{}, nil
	})
	r = x.exchange("narrow", x.narrowSecret, "subject_token", both, "subject_token_type", grant.TokenTypeAccessToken, "scope", "write")
	testkit.RequireOAuthError(t, r, http.StatusBadRequest, oauth2.ErrInvalidScope)
	r = x.exchange("narrow", x.narrowSecret, "subject_token", both, "subject_token_type", grant.TokenTypeAccessToken)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	assert.Equal(t, "read", r.Str("scope"))
}

// RFC 8693 §2.2.2, RFC 8707 §2; Keycloak CVE-2022-1245: a permitted client
// gets no audience its policy or registration does not name.
func TestTokenExchangeTargets(t *testing.T) {
	x := newExchange(t, "opaque")
	at, _ := x.userTokens(oauth2.Approval{Subject: "alice"})
	x.setPolicy(func(context.Context, *grant.TokenExchangeRequest) (*grant.Allowance, error) {
		return &grant.Allowance{Audience: []string{"https://backend.example"}}, nil
	})
	exchange := func(pairs ...string) *testkit.Response {
		return x.exchange("api", x.apiSecret, append([]string{"subject_token", at, "subject_token_type", grant.TokenTypeAccessToken}, pairs...)...)
	}
	// Registered for the client, but not named by the policy.
	testkit.RequireOAuthError(t, exchange("audience", "https://other.example"), http.StatusBadRequest, oauth2.ErrInvalidTarget)
	testkit.RequireOAuthError(t, exchange("resource", "https://other.example"), http.StatusBadRequest, oauth2.ErrInvalidTarget)
	// Another client's audience altogether.
	testkit.RequireOAuthError(t, exchange("audience", "https://api.example"), http.StatusBadRequest, oauth2.ErrInvalidTarget)
	// A resource that is not an absolute URI, or has a fragment.
	testkit.RequireOAuthError(t, exchange("resource", "backend"), http.StatusBadRequest, oauth2.ErrInvalidTarget)
	testkit.RequireOAuthError(t, exchange("resource", "https://backend.example#x"), http.StatusBadRequest, oauth2.ErrInvalidTarget)
	// Without a target: all the policy allows within the registration.
	r := exchange()
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	assert.Equal(t, "https://backend.example", x.introspect("api", x.apiSecret, r.Str("access_token"))["aud"])
	// The policy names both, and the request asks for both audiences.
	x.setPolicy(func(context.Context, *grant.TokenExchangeRequest) (*grant.Allowance, error) {
		return &grant.Allowance{Audience: []string{"https://backend.example", "https://other.example"}}, nil
	})
	r = exchange("audience", "https://backend.example", "audience", "https://other.example")
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	assert.Equal(t, []any{"https://backend.example", "https://other.example"}, x.introspect("api", x.apiSecret, r.Str("access_token"))["aud"])
	// A policy naming only what the client may not have leaves nothing.
	x.setPolicy(func(context.Context, *grant.TokenExchangeRequest) (*grant.Allowance, error) {
		return &grant.Allowance{Audience: []string{"https://elsewhere.example"}}, nil
	})
	testkit.RequireOAuthError(t, exchange(), http.StatusBadRequest, oauth2.ErrInvalidTarget)
}

// The policy decides (RFC 8693 §5), and refuses by default.
func TestTokenExchangePolicy(t *testing.T) {
	x := newExchange(t, "opaque")
	at, _ := x.userTokens(oauth2.Approval{Subject: "alice"})
	subject := []string{"subject_token", at, "subject_token_type", grant.TokenTypeAccessToken}
	x.setPolicy(func(context.Context, *grant.TokenExchangeRequest) (*grant.Allowance, error) { return nil, nil })
	testkit.RequireOAuthError(t, x.exchange("api", x.apiSecret, subject...), http.StatusBadRequest, oauth2.ErrUnauthorizedClient)
	x.setPolicy(func(context.Context, *grant.TokenExchangeRequest) (*grant.Allowance, error) {
		return nil, oauth2.NewError(oauth2.ErrInvalidTarget, "not for you")
	})
	r := x.exchange("api", x.apiSecret, subject...)
	testkit.RequireOAuthError(t, r, http.StatusBadRequest, oauth2.ErrInvalidTarget)
	assert.Equal(t, "not for you", r.Str("error_description"))
	x.setPolicy(func(context.Context, *grant.TokenExchangeRequest) (*grant.Allowance, error) {
		return &grant.Allowance{Claims: map[string]any{"act": map[string]any{"sub": "mallory"}}}, nil
	})
	testkit.RequireOAuthError(t, x.exchange("api", x.apiSecret, subject...), http.StatusInternalServerError, oauth2.ErrServerError)

	// A client not registered for the grant.
	svc := x.AddClient(storage.Client{ID: "svc", GrantTypes: []string{"client_credentials"}, Scopes: []string{"read"}})
	testkit.RequireOAuthError(t, x.exchange("svc", svc, subject...), http.StatusBadRequest, oauth2.ErrUnauthorizedClient)

	// Without a policy, nothing is allowed.
	h := newCode(t, func(cfg *oauth2.Config, _ *memory.Store) {
		cfg.Grants = append(cfg.Grants, grant.TokenExchange(grant.TokenExchangeOptions{}))
	})
	web, err := h.Store.Client(context.Background(), "web")
	require.NoError(t, err)
	web.GrantTypes = append(web.GrantTypes, grant.GrantTypeTokenExchange)
	require.NoError(t, h.Store.PutClient(web))
	params, verifier := authParams(t)
	own := h.redeem("web", h.webSecret, h.code(params), verifier).Str("access_token")
	r = h.Token("web", h.webSecret, url.Values{"grant_type": {grant.GrantTypeTokenExchange}, "subject_token": {own}, "subject_token_type": {grant.TokenTypeAccessToken}})
	testkit.RequireOAuthError(t, r, http.StatusBadRequest, oauth2.ErrUnauthorizedClient)
	// The metadata advertises the grant while it is registered.
	md := h.Do(mustGet(t, h.Provider.MetadataURL()))
	assert.Contains(t, md.JSON["grant_types_supported"], grant.GrantTypeTokenExchange)
}

// Delegation (RFC 8693 §4.1): the actor is named in a nested act claim, in
// JWT access tokens and at introspection; a prior act is nested, never
// dropped; may_act (§4.4) is enforced.
func TestTokenExchangeDelegation(t *testing.T) {
	x := newExchange(t, "jwt")
	at, _ := x.userTokens(oauth2.Approval{Subject: "alice"})
	actor := x.ccToken("api", x.apiSecret)
	r := x.exchange("api", x.apiSecret, "subject_token", at, "subject_token_type", grant.TokenTypeAccessToken,
		"actor_token", actor, "actor_token_type", grant.TokenTypeAccessToken)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	delegated := r.Str("access_token")
	claims := jwtClaims(t, delegated)
	assert.Equal(t, "alice", claims["sub"])
	assert.Equal(t, map[string]any{"sub": "client:api"}, claims["act"])
	info := x.introspect("api", x.apiSecret, delegated)
	assert.Equal(t, map[string]any{"sub": "client:api"}, info["act"])
	req := x.lastRequest()
	require.NotNil(t, req.Actor)
	assert.Equal(t, "client:api", req.Actor.Subject)

	// The delegated token, exchanged again by "other" acting: the prior
	// actor is nested inside the new one. The token's audience names
	// backend services, so api exchanges it for other's use.
	otherActor := x.ccToken("other", x.otherSecret)
	r = x.exchange("api", x.apiSecret, "subject_token", delegated, "subject_token_type", grant.TokenTypeJWT,
		"actor_token", otherActor, "actor_token_type", grant.TokenTypeAccessToken)
	testkit.RequireOAuthError(t, r, http.StatusBadRequest, oauth2.ErrInvalidRequest) // other's token is not api's
	apiActor := x.ccToken("api", x.apiSecret)
	r = x.exchange("api", x.apiSecret, "subject_token", delegated, "subject_token_type", grant.TokenTypeJWT,
		"actor_token", apiActor, "actor_token_type", grant.TokenTypeJWT)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	assert.Equal(t, map[string]any{"sub": "client:api", "act": map[string]any{"sub": "client:api"}}, jwtClaims(t, r.Str("access_token"))["act"])
	// An impersonation keeps the subject's act.
	r = x.exchange("api", x.apiSecret, "subject_token", delegated, "subject_token_type", grant.TokenTypeAccessToken)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	assert.Equal(t, map[string]any{"sub": "client:api"}, jwtClaims(t, r.Str("access_token"))["act"])
}

func TestTokenExchangeMayAct(t *testing.T) {
	x := newExchange(t, "opaque")
	at, _ := x.userTokens(oauth2.Approval{Subject: "alice", Claims: map[string]any{"may_act": map[string]any{"sub": "client:other"}}})
	subject := []string{"subject_token", at, "subject_token_type", grant.TokenTypeAccessToken}
	// Without an actor, nobody is named: refused.
	testkit.RequireOAuthError(t, x.exchange("api", x.apiSecret, subject...), http.StatusBadRequest, oauth2.ErrInvalidRequest)
	// api acting is not "client:other".
	apiActor := x.ccToken("api", x.apiSecret)
	r := x.exchange("api", x.apiSecret, append(subject, "actor_token", apiActor, "actor_token_type", grant.TokenTypeAccessToken)...)
	testkit.RequireOAuthError(t, r, http.StatusBadRequest, oauth2.ErrInvalidRequest)
	assert.Nil(t, x.lastRequest())

	// A may_act naming api lets api act.
	at, _ = x.userTokens(oauth2.Approval{Subject: "alice", Claims: map[string]any{"may_act": map[string]any{"sub": "client:api"}}})
	r = x.exchange("api", x.apiSecret, "subject_token", at, "subject_token_type", grant.TokenTypeAccessToken,
		"actor_token", apiActor, "actor_token_type", grant.TokenTypeAccessToken)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	info := x.introspect("api", x.apiSecret, r.Str("access_token"))
	assert.Equal(t, map[string]any{"sub": "client:api"}, info["act"])
}

// RFC 9449: a DPoP-bound subject token is exchanged only with a proof of
// its key, and the issued token is bound to it (RFC 9449 §5 applies to
// every grant).
func TestTokenExchangeOfDPoPBoundTokens(t *testing.T) {
	x := newExchange(t, "opaque", func(cfg *oauth2.Config, store *memory.Store) {
		cfg.DPoP = &oauth2.DPoPConfig{Replay: store}
	})
	key := testkit.NewDPoPKey(t, jwa.ES256)
	params, verifier := authParams(t)
	code := x.code(params)
	r := x.redeemWithProof(t, key, code, verifier)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	bound := r.Str("access_token")
	// Without a proof.
	r = x.exchange("api", x.apiSecret, "subject_token", bound, "subject_token_type", grant.TokenTypeAccessToken)
	testkit.RequireOAuthError(t, r, http.StatusBadRequest, oauth2.ErrInvalidRequest)
	// With a proof of another key.
	form := url.Values{"grant_type": {grant.GrantTypeTokenExchange}, "subject_token": {bound}, "subject_token_type": {grant.TokenTypeAccessToken}}
	other := testkit.NewDPoPKey(t, jwa.EdDSA)
	req := x.TokenRequest(form)
	req.SetBasicAuth("api", x.apiSecret)
	req.Header.Set("DPoP", other.Proof(t, testkit.ProofClaims{Method: http.MethodPost, URL: x.Provider.TokenEndpoint(), IssuedAt: x.Now()}))
	testkit.RequireOAuthError(t, x.Do(req), http.StatusBadRequest, oauth2.ErrInvalidRequest)
	// With a proof of its key: a DPoP-bound token (RFC 8693 §2.2.1 with RFC 9449 §5).
	req = x.TokenRequest(form)
	req.SetBasicAuth("api", x.apiSecret)
	req.Header.Set("DPoP", key.Proof(t, testkit.ProofClaims{Method: http.MethodPost, URL: x.Provider.TokenEndpoint(), IssuedAt: x.Now()}))
	r = x.Do(req)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	assert.Equal(t, "DPoP", r.Str("token_type"))
	assert.Equal(t, grant.TokenTypeAccessToken, r.Str("issued_token_type"))
	assert.Equal(t, "no-store", r.Header.Get("Cache-Control"))
	rec, err := x.AccessTokenRecord(r.Str("access_token"))
	require.NoError(t, err)
	assert.Equal(t, key.Thumbprint, rec.KeyThumbprint)
}

// A refresh token where the policy allows one: it stays in the subject's
// grant and dies with it. A client gets none in another client's grant:
// its revocation, or its reuse, would end that client's session.
func TestTokenExchangeRefreshToken(t *testing.T) {
	x := newExchange(t, "opaque")
	at, rt := x.userTokens(oauth2.Approval{Subject: "alice"})
	x.setPolicy(func(context.Context, *grant.TokenExchangeRequest) (*grant.Allowance, error) {
		return &grant.Allowance{RefreshToken: true}, nil
	})
	r := x.exchange("api", x.apiSecret, "subject_token", at, "subject_token_type", grant.TokenTypeAccessToken)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	assert.Empty(t, r.Str("refresh_token"), "none in web's grant for api")
	// web exchanges its own, and gets a refresh token.
	r = x.exchange("web", x.webSecret, "subject_token", at, "subject_token_type", grant.TokenTypeAccessToken)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	exchangedRT := r.Str("refresh_token")
	require.NotEmpty(t, exchangedRT)
	subject, err := x.AccessTokenRecord(at)
	require.NoError(t, err)
	rec, err := x.RefreshTokenRecord(exchangedRT)
	require.NoError(t, err)
	assert.False(t, rec.ExpiresAt.After(subject.ExpiresAt), "the refresh token ends with the subject token")
	assert.Equal(t, subject.GrantID, rec.GrantID)
	// It refreshes.
	r = x.Token("web", x.webSecret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {exchangedRT}})
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	// Revoking the user's grant ends it.
	require.Equal(t, http.StatusOK, x.Revoke("web", x.webSecret, rt).Status)
	r = x.Token("web", x.webSecret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {r.Str("refresh_token")}})
	testkit.RequireOAuthError(t, r, http.StatusBadRequest, oauth2.ErrInvalidGrant)
}

// jwtClaims decodes a JWT's claims without verifying it.
func jwtClaims(t *testing.T, s string) map[string]any {
	t.Helper()
	parts := strings.Split(s, ".")
	require.Len(t, parts, 3)
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(payload, &m))
	return m
}

// One of this server's tokens without scopes gives none, whatever the
// policy allows: scopes only narrow.
func TestTokenExchangeOfATokenWithoutScopes(t *testing.T) {
	x := newExchange(t, "opaque")
	svc := x.AddClient(storage.Client{ID: "svc", GrantTypes: []string{"client_credentials", grant.GrantTypeTokenExchange},
		Scopes: []string{"read", "write"}}) // no default scopes: its tokens have none
	unscoped := x.ccToken("svc", svc)
	x.setPolicy(func(context.Context, *grant.TokenExchangeRequest) (*grant.Allowance, error) {
		return &grant.Allowance{Scopes: []string{"read", "write"}}, nil
	})
	r := x.exchange("svc", svc, "subject_token", unscoped, "subject_token_type", grant.TokenTypeAccessToken, "scope", "write")
	testkit.RequireOAuthError(t, r, http.StatusBadRequest, oauth2.ErrInvalidScope)
	r = x.exchange("svc", svc, "subject_token", unscoped, "subject_token_type", grant.TokenTypeAccessToken)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	assert.NotContains(t, x.introspect("svc", svc, r.Str("access_token")), "scope")
}

// A refresh token is rotated where it is redeemed (RFC 9700 §4.14.2): a
// public client's is never exchanged, and no exchange of one starts a
// second refresh chain.
func TestTokenExchangeOfRefreshTokens(t *testing.T) {
	x := newExchange(t, "opaque")
	x.setPolicy(func(context.Context, *grant.TokenExchangeRequest) (*grant.Allowance, error) {
		return &grant.Allowance{RefreshToken: true}, nil
	})
	// spa's refresh token, presented by whoever claims to be spa.
	params, verifier := authParams(t, "client_id", "spa", "redirect_uri", "https://spa.example/cb")
	id, cookie := x.interaction(x.authorize(params))
	rec := x.approve(id, cookie, oauth2.Approval{Subject: "alice"})
	q := redirectParams(t, rec.Code, rec.Header().Get("Location"), "https://spa.example/cb")
	r := x.Do(x.TokenRequest(url.Values{"grant_type": {"authorization_code"}, "client_id": {"spa"}, "code": {q.Get("code")},
		"redirect_uri": {"https://spa.example/cb"}, "code_verifier": {verifier}}))
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	spaAT, spaRT := r.Str("access_token"), r.Str("refresh_token")
	require.NotEmpty(t, spaRT)
	r = x.exchange("spa", "", "subject_token", spaRT, "subject_token_type", grant.TokenTypeRefreshToken)
	testkit.RequireOAuthError(t, r, http.StatusBadRequest, oauth2.ErrInvalidRequest)
	r = x.exchange("spa", "", "subject_token", spaAT, "subject_token_type", grant.TokenTypeAccessToken,
		"actor_token", spaRT, "actor_token_type", grant.TokenTypeRefreshToken)
	testkit.RequireOAuthError(t, r, http.StatusBadRequest, oauth2.ErrInvalidRequest)
	// Its access token it may exchange (the policy allows it).
	r = x.exchange("spa", "", "subject_token", spaAT, "subject_token_type", grant.TokenTypeAccessToken)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)

	// A confidential client's own refresh token: an access token, and no
	// refresh token beside the rotated one, whatever the policy allows.
	_, webRT := x.userTokens(oauth2.Approval{Subject: "alice"})
	r = x.exchange("web", x.webSecret, "subject_token", webRT, "subject_token_type", grant.TokenTypeRefreshToken)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	assert.Empty(t, r.Str("refresh_token"))
	// Its access token, though, may bring one (the policy allows it).
	at, _ := x.userTokens(oauth2.Approval{Subject: "alice"})
	r = x.exchange("web", x.webSecret, "subject_token", at, "subject_token_type", grant.TokenTypeAccessToken)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	assert.NotEmpty(t, r.Str("refresh_token"))
}

// RFC 8693 §2.1: the actor token is validated as the subject token is, and
// the issued token ends no later than it.
func TestTokenExchangeValidatesTheActorToken(t *testing.T) {
	x := newExchange(t, "opaque", func(cfg *oauth2.Config, store *memory.Store) {
		cfg.DPoP = &oauth2.DPoPConfig{Replay: store}
	})
	at, _ := x.userTokens(oauth2.Approval{Subject: "alice"})
	subject := []string{"subject_token", at, "subject_token_type", grant.TokenTypeAccessToken}
	withActor := func(actor, typ string) *testkit.Response {
		return x.exchange("api", x.apiSecret, append(slices.Clone(subject), "actor_token", actor, "actor_token_type", typ)...)
	}
	revoked := x.ccToken("api", x.apiSecret)
	require.Equal(t, http.StatusOK, x.Revoke("api", x.apiSecret, revoked).Status)
	testkit.RequireOAuthError(t, withActor(revoked, grant.TokenTypeAccessToken), http.StatusBadRequest, oauth2.ErrInvalidRequest)
	_, webRT := x.userTokens(oauth2.Approval{Subject: "bob"})
	testkit.RequireOAuthError(t, withActor(webRT, grant.TokenTypeAccessToken), http.StatusBadRequest, oauth2.ErrInvalidRequest)

	// A DPoP-bound actor token without a proof of its key.
	key := testkit.NewDPoPKey(t, jwa.ES256)
	req := x.TokenRequest(url.Values{"grant_type": {"client_credentials"}})
	req.SetBasicAuth("api", x.apiSecret)
	req.Header.Set("DPoP", key.Proof(t, testkit.ProofClaims{Method: http.MethodPost, URL: x.Provider.TokenEndpoint(), IssuedAt: x.Now()}))
	r := x.Do(req)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	testkit.RequireOAuthError(t, withActor(r.Str("access_token"), grant.TokenTypeAccessToken), http.StatusBadRequest, oauth2.ErrInvalidRequest)

	// An actor token that ends first ends the issued token.
	short := x.ccToken("api", x.apiSecret)
	x.Advance(30 * time.Minute)
	late, _ := x.userTokens(oauth2.Approval{Subject: "carol"})
	r = x.exchange("api", x.apiSecret, "subject_token", late, "subject_token_type", grant.TokenTypeAccessToken,
		"actor_token", short, "actor_token_type", grant.TokenTypeAccessToken)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	actorRec, err := x.AccessTokenRecord(short)
	require.NoError(t, err)
	issued, err := x.AccessTokenRecord(r.Str("access_token"))
	require.NoError(t, err)
	assert.Equal(t, actorRec.ExpiresAt, issued.ExpiresAt)
	// And an expired one is refused.
	x.Advance(31 * time.Minute)
	late, _ = x.userTokens(oauth2.Approval{Subject: "carol"})
	r = x.exchange("api", x.apiSecret, "subject_token", late, "subject_token_type", grant.TokenTypeAccessToken,
		"actor_token", short, "actor_token_type", grant.TokenTypeAccessToken)
	testkit.RequireOAuthError(t, r, http.StatusBadRequest, oauth2.ErrInvalidRequest)
}

// RFC 9449: an exchange of a bound token gives a bound access token and
// no refresh token, which for a confidential client would not be bound.
func TestTokenExchangeOfBoundTokensGivesNoRefreshToken(t *testing.T) {
	x := newExchange(t, "opaque", func(cfg *oauth2.Config, store *memory.Store) {
		cfg.DPoP = &oauth2.DPoPConfig{Replay: store}
	})
	x.setPolicy(func(context.Context, *grant.TokenExchangeRequest) (*grant.Allowance, error) {
		return &grant.Allowance{RefreshToken: true}, nil
	})
	key := testkit.NewDPoPKey(t, jwa.ES256)
	params, verifier := authParams(t)
	r := x.redeemWithProof(t, key, x.code(params), verifier)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	req := x.TokenRequest(url.Values{"grant_type": {grant.GrantTypeTokenExchange}, "subject_token": {r.Str("access_token")},
		"subject_token_type": {grant.TokenTypeAccessToken}})
	req.SetBasicAuth("api", x.apiSecret)
	req.Header.Set("DPoP", key.Proof(t, testkit.ProofClaims{Method: http.MethodPost, URL: x.Provider.TokenEndpoint(), IssuedAt: x.Now()}))
	r = x.Do(req)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	assert.Equal(t, "DPoP", r.Str("token_type"))
	assert.Empty(t, r.Str("refresh_token"))
}

// CheckGrant re-checks the user of this server's tokens, as the refresh
// grant does: a disabled user's tokens are not exchanged either.
func TestTokenExchangeCheckGrant(t *testing.T) {
	var disabled sync.Map
	x := newExchange(t, "opaque", func(cfg *oauth2.Config, _ *memory.Store) {
		last := len(cfg.Grants) - 1
		cfg.Grants[last] = grant.TokenExchange(grant.TokenExchangeOptions{
			Policy: grant.TokenExchangePolicyFunc(func(context.Context, *grant.TokenExchangeRequest) (*grant.Allowance, error) {
				return &grant.Allowance{}, nil
			}),
			CheckGrant: func(_ context.Context, _ *storage.Client, rec *storage.Token) error {
				if _, off := disabled.Load(rec.Subject); off {
					return errors.New("the user is disabled")
				}
				return nil
			},
		})
	})
	at, rt := x.userTokens(oauth2.Approval{Subject: "alice"})
	require.Equal(t, http.StatusOK, x.exchange("web", x.webSecret, "subject_token", rt, "subject_token_type", grant.TokenTypeRefreshToken).Status)
	disabled.Store("alice", true)
	testkit.RequireOAuthError(t, x.exchange("web", x.webSecret, "subject_token", rt, "subject_token_type", grant.TokenTypeRefreshToken),
		http.StatusBadRequest, oauth2.ErrInvalidRequest)
	testkit.RequireOAuthError(t, x.exchange("api", x.apiSecret, "subject_token", at, "subject_token_type", grant.TokenTypeAccessToken),
		http.StatusBadRequest, oauth2.ErrInvalidRequest)
	// The actor is checked too.
	bob, _ := x.userTokens(oauth2.Approval{Subject: "bob"})
	r := x.exchange("web", x.webSecret, "subject_token", bob, "subject_token_type", grant.TokenTypeAccessToken,
		"actor_token", at, "actor_token_type", grant.TokenTypeAccessToken)
	testkit.RequireOAuthError(t, r, http.StatusBadRequest, oauth2.ErrInvalidRequest)
}

func TestTokenExchangeConfiguration(t *testing.T) {
	store := memory.New()
	var nilList *oauth2.TrustedIssuerList
	mapSubject := func(context.Context, *storage.Client, *oauth2.TrustedJWT) (string, error) { return "x", nil }
	for name, opts := range map[string]grant.TokenExchangeOptions{
		"a nil *TrustedIssuerList":          {TrustedIssuers: nilList},
		"MapSubject without TrustedIssuers": {MapSubject: mapSubject},
		"negative leeway":                   {Leeway: -1},
		"a symmetric algorithm":             {Algorithms: []string{"HS256"}},
		"an unknown algorithm":              {Algorithms: []string{"ES265"}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := oauth2.NewProvider(oauth2.Config{Issuer: "https://as.example", Clients: store, Tokens: store,
				TokenKeys: [][]byte{make([]byte, 32)}, Grants: []oauth2.GrantFactory{grant.TokenExchange(opts)}})
			require.Error(t, err)
		})
	}
}
