package oauth2_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
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

// apiKeyGrant is an application's own grant, as a user writes one: it
// returns whatever issue says, so that a test can make it misbehave.
type apiKeyGrant struct {
	issue func(req *oauth2.TokenRequest) *oauth2.Issue
}

const apiKeyGrantType = "urn:example:grant-type:api-key"

func (apiKeyGrant) GrantType() string { return apiKeyGrantType }

func (g apiKeyGrant) HandleTokenRequest(_ context.Context, req *oauth2.TokenRequest) (*oauth2.Issue, error) {
	return g.issue(req), nil
}

// syncBuffer is a log destination the test reads while handlers write.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// guardHarness is a Provider with the api-key grant (and optionally the
// refresh grant), a client "app" registered for scope "s" and audience
// https://api.example, and a second client "other".
type guardHarness struct {
	*testkit.Harness
	secret string
	log    *syncBuffer
}

func newGuard(t *testing.T, issue func(*oauth2.TokenRequest) *oauth2.Issue, configure func(*oauth2.Config, *memory.Store)) *guardHarness {
	log := &syncBuffer{}
	h := testkit.New(t, func(cfg *oauth2.Config, store *memory.Store) {
		cfg.Grants = []oauth2.GrantFactory{
			func(*oauth2.Provider) (oauth2.GrantHandler, error) { return apiKeyGrant{issue: issue}, nil },
			grant.RefreshToken(store, grant.RefreshTokenOptions{}),
		}
		cfg.Logger = slog.New(slog.NewTextHandler(log, nil))
		if configure != nil {
			configure(cfg, store)
		}
	})
	g := &guardHarness{Harness: h, log: log}
	g.secret = h.AddClient(storage.Client{ID: "app", GrantTypes: []string{apiKeyGrantType, "refresh_token"},
		Scopes: []string{"s", "t"}, Audience: []string{"https://api.example"}})
	h.AddClient(storage.Client{ID: "other", GrantTypes: []string{apiKeyGrantType}, Scopes: []string{"admin"}})
	return g
}

func (g *guardHarness) request() *testkit.Response {
	return g.Token("app", g.secret, url.Values{"grant_type": {apiKeyGrantType}})
}

// The Provider checks what every grant returns before it mints anything:
// a grant that breaks the contract gets server_error, no token is issued
// or stored, and the log names the grant and the rule.
func TestProviderRefusesWhatAGrantMayNotIssue(t *testing.T) {
	good := oauth2.Issue{Subject: "alice", Scopes: []string{"s"}}
	cases := map[string]struct {
		change func(*oauth2.Issue) *oauth2.Issue
		logged string
	}{
		"scope beyond the client's registered scopes": {func(is *oauth2.Issue) *oauth2.Issue {
			is.Scopes = []string{"s", "admin"}
			return is
		}, "beyond the scopes registered for client"},
		"scopes beyond the grant's scopes (RFC 6749 §6)": {func(is *oauth2.Issue) *oauth2.Issue {
			is.Scopes, is.GrantScopes = []string{"s", "t"}, []string{"s"}
			return is
		}, "beyond the grant's scopes"},
		"empty subject": {func(is *oauth2.Issue) *oauth2.Issue {
			is.Subject = ""
			return is
		}, "an empty subject"},
		"subject longer than MaxSubjectBytes": {func(is *oauth2.Issue) *oauth2.Issue {
			is.Subject = strings.Repeat("a", oauth2.MaxSubjectBytes+1)
			return is
		}, "more than MaxSubjectBytes"},
		"subject with a control character": {func(is *oauth2.Issue) *oauth2.Issue {
			is.Subject = "alice\nadmin"
			return is
		}, "control characters"},
		"subject of another client (RFC 9700 §4.15)": {func(is *oauth2.Issue) *oauth2.Issue {
			is.Subject = oauth2.ClientSubjectPrefix + "other"
			return is
		}, "of another client"},
		"audience the client may not have": {func(is *oauth2.Issue) *oauth2.Issue {
			is.Audience = []string{"https://api.example", "https://payroll.example"}
			return is
		}, "beyond the audience allowed"},
		"negative lifetime": {func(is *oauth2.Issue) *oauth2.Issue {
			is.AccessTokenLifetime = -time.Minute
			return is
		}, "negative or shorter than a second"},
		"lifetime shorter than a second": {func(is *oauth2.Issue) *oauth2.Issue {
			is.RefreshTokenLifetime = 500 * time.Millisecond
			return is
		}, "negative or shorter than a second"},
		"new grant wider than its client": {func(is *oauth2.Issue) *oauth2.Issue {
			is.GrantScopes = []string{"s", "admin"}
			return is
		}, "grant scopes"},
		"extra claim with a registered name": {func(is *oauth2.Issue) *oauth2.Issue {
			is.Claims = map[string]any{"sub": "mallory"}
			return is
		}, `registered name \"sub\"`},
		"no Issue and no error": {func(*oauth2.Issue) *oauth2.Issue { return nil }, "a nil Issue"},
		"a response parameter that is the response's own member": {func(is *oauth2.Issue) *oauth2.Issue {
			is.ResponseParameters = map[string]string{"token_type": "N_A"}
			return is
		}, "a member of the token response itself"},
		"a response parameter that is an error's member": {func(is *oauth2.Issue) *oauth2.Issue {
			is.ResponseParameters = map[string]string{"error": "access_denied"}
			return is
		}, "a member of the token response itself"},
		"a response parameter with a malformed name": {func(is *oauth2.Issue) *oauth2.Issue {
			is.ResponseParameters = map[string]string{"Issued-Token-Type": "x"}
			return is
		}, "lower-case letters, digits and underscores"},
		"a response parameter that is not UTF-8": {func(is *oauth2.Issue) *oauth2.Issue {
			is.ResponseParameters = map[string]string{"note": "\xff"}
			return is
		}, "not UTF-8"},
		"too many response parameters": {func(is *oauth2.Issue) *oauth2.Issue {
			is.ResponseParameters = map[string]string{}
			for i := range oauth2.MaxResponseParameters + 1 {
				is.ResponseParameters[fmt.Sprintf("p%d", i)] = "x"
			}
			return is
		}, "response parameters, more than"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			g := newGuard(t, func(*oauth2.TokenRequest) *oauth2.Issue {
				is := good
				return c.change(&is)
			}, nil)
			r := g.request()
			testkit.RequireOAuthError(t, r, http.StatusInternalServerError, oauth2.ErrServerError)
			assert.NotContains(t, r.JSON, "access_token")
			assert.Empty(t, g.Events(oauth2.EventTokenIssued), "no token was stored")
			log := g.log.String()
			assert.Contains(t, log, "level=ERROR")
			assert.Contains(t, log, apiKeyGrantType, "the log names the grant")
			assert.Contains(t, log, c.logged)
		})
	}
}

// What the contract allows passes: the client's own subject, scopes and
// audience within the registration.
func TestProviderIssuesWhatAGrantMayIssue(t *testing.T) {
	for name, is := range map[string]oauth2.Issue{
		"a resource owner":        {Subject: "alice", Scopes: []string{"s"}},
		"the client itself":       {Subject: oauth2.ClientSubjectPrefix + "app", Scopes: []string{"s", "t"}},
		"the registered audience": {Subject: "alice", Audience: []string{"https://api.example"}},
		"narrower than the grant": {Subject: "alice", Scopes: []string{"s"}, GrantScopes: []string{"s", "t"}},
	} {
		t.Run(name, func(t *testing.T) {
			g := newGuard(t, func(*oauth2.TokenRequest) *oauth2.Issue { c := is; return &c }, nil)
			r := g.request()
			require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
			rec, err := g.AccessTokenRecord(r.Str("access_token"))
			require.NoError(t, err)
			assert.Equal(t, is.Subject, rec.Subject)
			assert.Equal(t, []string{"https://api.example"}, rec.Audience)
		})
	}
}

// Refresh tokens go only to clients registered for refresh_token, and only
// while the Provider has the refresh grant: never a token nobody can redeem.
func TestRefreshTokenOnlyWhereItCanBeRedeemed(t *testing.T) {
	askForRefresh := func(*oauth2.TokenRequest) *oauth2.Issue {
		return &oauth2.Issue{Subject: "alice", Scopes: []string{"s"}, RefreshToken: true}
	}
	t.Run("client and Provider have the refresh grant", func(t *testing.T) {
		g := newGuard(t, askForRefresh, nil)
		r := g.request()
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		assert.NotEmpty(t, r.Str("refresh_token"))
	})
	t.Run("client not registered for refresh_token", func(t *testing.T) {
		g := newGuard(t, askForRefresh, nil)
		secret := g.AddClient(storage.Client{ID: "app", GrantTypes: []string{apiKeyGrantType}, Scopes: []string{"s"}})
		r := g.Token("app", secret, url.Values{"grant_type": {apiKeyGrantType}})
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		assert.NotContains(t, r.JSON, "refresh_token")
		events := g.Events(oauth2.EventTokenIssued)
		require.Len(t, events, 1)
		assert.Equal(t, []storage.TokenKind{storage.AccessToken}, events[0].TokenKinds)
	})
	t.Run("Provider without the refresh grant", func(t *testing.T) {
		g := newGuard(t, askForRefresh, func(cfg *oauth2.Config, _ *memory.Store) {
			cfg.Grants = cfg.Grants[:1]
		})
		r := g.request()
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		assert.NotContains(t, r.JSON, "refresh_token")
	})
}

// Grant type names are RFC 6749's or absolute URIs (RFC 6749 §4.5, §8.3);
// the password grant is refused (RFC 9700 §2.4); a Provider needs a grant;
// a factory that returns no handler is a clear error, not a panic.
func TestNewProviderChecksGrantTypes(t *testing.T) {
	named := func(name string) oauth2.GrantFactory {
		return func(*oauth2.Provider) (oauth2.GrantHandler, error) { return namedGrant(name), nil }
	}
	for _, name := range []string{"api_key", "a b", "password", "implicit", "", "urn:", "urn:example:a b", "https://example.com/grant\x00", "urn:example:grant#fragment"} {
		cfg := validConfig()
		cfg.Grants = []oauth2.GrantFactory{named(name)}
		_, err := oauth2.NewProvider(cfg)
		assert.Error(t, err, "%q", name)
	}
	cfg := validConfig()
	cfg.Grants = []oauth2.GrantFactory{named("password")}
	_, err := oauth2.NewProvider(cfg)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "RFC 9700")

	for _, name := range []string{"authorization_code", "client_credentials", "refresh_token",
		"urn:example:grant-type:api-key", "urn:ietf:params:oauth:grant-type:device_code", "https://grants.example/api-key"} {
		cfg := validConfig()
		cfg.Grants = []oauth2.GrantFactory{named(name)}
		_, err := oauth2.NewProvider(cfg)
		assert.NoError(t, err, "%q", name)
	}

	cfg = validConfig()
	cfg.Grants = nil
	_, err = oauth2.NewProvider(cfg)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "at least one grant")

	for name, factory := range map[string]oauth2.GrantFactory{
		"nil":               func(*oauth2.Provider) (oauth2.GrantHandler, error) { return nil, nil },
		"typed nil pointer": func(*oauth2.Provider) (oauth2.GrantHandler, error) { var g *pointerGrant; return g, nil },
	} {
		cfg = validConfig()
		cfg.Grants = []oauth2.GrantFactory{factory}
		require.NotPanics(t, func() { _, err = oauth2.NewProvider(cfg) }, name)
		require.Error(t, err, name)
		assert.Contains(t, err.Error(), "nil GrantHandler", name)
	}
}

// pointerGrant is a grant handler with pointer receivers, whose nil value
// panics when asked its grant type.
type pointerGrant struct{ name string }

func (g *pointerGrant) GrantType() string { return g.name }

func (*pointerGrant) HandleTokenRequest(context.Context, *oauth2.TokenRequest) (*oauth2.Issue, error) {
	return nil, oauth2.NewError(oauth2.ErrInvalidGrant, "no")
}

// namedGrant is a grant handler with a given name that issues nothing.
type namedGrant string

func (g namedGrant) GrantType() string { return string(g) }

func (namedGrant) HandleTokenRequest(context.Context, *oauth2.TokenRequest) (*oauth2.Issue, error) {
	return nil, oauth2.NewError(oauth2.ErrInvalidGrant, "no")
}

// A grant and a client choose their tokens' lifetimes; the shorter of the
// two applies, the Provider's maximum caps both, and expires_in and the
// stored records follow.
func TestTokenLifetimesPerGrantAndClient(t *testing.T) {
	cases := map[string]struct {
		grantAccess, clientAccess, maxAccess    time.Duration
		grantRefresh, clientRefresh, maxRefresh time.Duration
		wantAccess, wantRefresh                 time.Duration
	}{
		"defaults":                          {wantAccess: time.Hour, wantRefresh: 30 * 24 * time.Hour},
		"grant shortens":                    {grantAccess: 5 * time.Minute, grantRefresh: time.Hour, wantAccess: 5 * time.Minute, wantRefresh: time.Hour},
		"client shortens":                   {clientAccess: 10 * time.Minute, clientRefresh: 2 * time.Hour, wantAccess: 10 * time.Minute, wantRefresh: 2 * time.Hour},
		"the shorter of grant and client":   {grantAccess: 5 * time.Minute, clientAccess: 10 * time.Minute, grantRefresh: 3 * time.Hour, clientRefresh: 2 * time.Hour, wantAccess: 5 * time.Minute, wantRefresh: 2 * time.Hour},
		"capped at the default without max": {grantAccess: 8 * time.Hour, clientRefresh: 90 * 24 * time.Hour, wantAccess: time.Hour, wantRefresh: 30 * 24 * time.Hour},
		"lengthened up to the max":          {grantAccess: 8 * time.Hour, maxAccess: 4 * time.Hour, clientRefresh: 40 * 24 * time.Hour, maxRefresh: 60 * 24 * time.Hour, wantAccess: 4 * time.Hour, wantRefresh: 40 * 24 * time.Hour},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			g := newGuard(t, func(*oauth2.TokenRequest) *oauth2.Issue {
				return &oauth2.Issue{Subject: "alice", Scopes: []string{"s"}, RefreshToken: true,
					AccessTokenLifetime: c.grantAccess, RefreshTokenLifetime: c.grantRefresh}
			}, func(cfg *oauth2.Config, _ *memory.Store) {
				cfg.MaxAccessTokenLifetime, cfg.MaxRefreshTokenLifetime = c.maxAccess, c.maxRefresh
				cfg.GrantLifetime = 365 * 24 * time.Hour
			})
			secret := g.AddClient(storage.Client{ID: "app", GrantTypes: []string{apiKeyGrantType, "refresh_token"}, Scopes: []string{"s"},
				AccessTokenLifetime: c.clientAccess, RefreshTokenLifetime: c.clientRefresh})
			r := g.Token("app", secret, url.Values{"grant_type": {apiKeyGrantType}})
			require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
			assert.EqualValues(t, c.wantAccess/time.Second, r.JSON["expires_in"])
			at, err := g.AccessTokenRecord(r.Str("access_token"))
			require.NoError(t, err)
			assert.Equal(t, testkit.Start.Add(c.wantAccess), at.ExpiresAt)
			rt, err := g.RefreshTokenRecord(r.Str("refresh_token"))
			require.NoError(t, err)
			assert.Equal(t, testkit.Start.Add(c.wantRefresh), rt.ExpiresAt)
		})
	}
}

// A maximum shorter than the default is a configuration error.
func TestNewProviderRefusesAMaximumBelowTheDefault(t *testing.T) {
	cfg := validConfig()
	cfg.MaxAccessTokenLifetime = time.Minute
	_, err := oauth2.NewProvider(cfg)
	assert.Error(t, err)
	cfg = validConfig()
	cfg.MaxRefreshTokenLifetime = time.Minute
	_, err = oauth2.NewProvider(cfg)
	assert.Error(t, err)
}

// The claims hook may shorten a token's life, and expires_in and the
// record follow; moving exp later, to before iat, or changing another
// registered claim fails the request instead of being ignored.
func TestAccessTokenClaimsHookContract(t *testing.T) {
	issue := func(*oauth2.TokenRequest) *oauth2.Issue {
		return &oauth2.Issue{Subject: "alice", Scopes: []string{"s"}}
	}
	hooked := func(hook func(*token.Claims)) *guardHarness {
		return newGuard(t, issue, func(cfg *oauth2.Config, _ *memory.Store) {
			cfg.AccessTokenClaims = func(_ context.Context, _ *oauth2.TokenRequest, c *token.Claims) error {
				hook(c)
				return nil
			}
		})
	}
	t.Run("shortening exp is kept", func(t *testing.T) {
		g := hooked(func(c *token.Claims) { c.ExpiresAt = c.IssuedAt.Add(90 * time.Second) })
		r := g.request()
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		assert.EqualValues(t, 90, r.JSON["expires_in"])
		rec, err := g.AccessTokenRecord(r.Str("access_token"))
		require.NoError(t, err)
		assert.Equal(t, testkit.Start.Add(90*time.Second), rec.ExpiresAt)
	})
	for name, hook := range map[string]func(*token.Claims){
		"exp moved later":        func(c *token.Claims) { c.ExpiresAt = c.ExpiresAt.Add(time.Hour) },
		"exp moved to iat":       func(c *token.Claims) { c.ExpiresAt = c.IssuedAt },
		"sub changed":            func(c *token.Claims) { c.Subject = "mallory" },
		"aud changed in place":   func(c *token.Claims) { c.Audience[0] = "https://payroll.example" },
		"scope changed in place": func(c *token.Claims) { c.Scopes[0] = "admin" },
		"client_id changed":      func(c *token.Claims) { c.ClientID = "other" },
		"iss changed":            func(c *token.Claims) { c.Issuer = "https://evil.example" },
		"iat changed":            func(c *token.Claims) { c.IssuedAt = c.IssuedAt.Add(-time.Hour) },
		"cnf set":                func(c *token.Claims) { c.KeyThumbprint = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I" },
	} {
		t.Run(name, func(t *testing.T) {
			g := hooked(hook)
			r := g.request()
			testkit.RequireOAuthError(t, r, http.StatusInternalServerError, oauth2.ErrServerError)
			assert.Empty(t, g.Events(oauth2.EventTokenIssued))
			assert.Contains(t, g.log.String(), "AccessTokenClaims")
		})
	}
}

// The claims hook works on copies: whatever it does to the request (the
// client, its grant types, the scopes and resources) or to the grant's
// nested claims changes neither what is issued nor what is stored.
func TestAccessTokenClaimsHookCannotReachTheRequestOrTheGrant(t *testing.T) {
	g := newGuard(t, func(req *oauth2.TokenRequest) *oauth2.Issue {
		return &oauth2.Issue{Subject: "alice", Scopes: req.Scopes, RefreshToken: true}
	}, func(cfg *oauth2.Config, _ *memory.Store) {
		cfg.AccessTokenClaims = func(_ context.Context, req *oauth2.TokenRequest, c *token.Claims) error {
			req.Scopes[0], req.Resources[0] = "admin", "https://payroll.example"
			req.Client.ID = "other"
			req.Client.GrantTypes = append(req.Client.GrantTypes, "refresh_token")
			req.Form.Set("scope", "admin")
			return nil
		}
	})
	secret := g.AddClient(storage.Client{ID: "app", GrantTypes: []string{apiKeyGrantType}, Scopes: []string{"s", "t"},
		Audience: []string{"https://api.example"}})
	r := g.Token("app", secret, url.Values{"grant_type": {apiKeyGrantType}, "scope": {"t s"}, "resource": {"https://api.example"}})
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	assert.NotContains(t, r.JSON, "refresh_token", "the hook cannot register the client for refresh_token")
	rec, err := g.AccessTokenRecord(r.Str("access_token"))
	require.NoError(t, err)
	assert.Equal(t, "app", rec.ClientID)
	assert.Equal(t, []string{"t", "s"}, rec.Scopes)
	assert.Equal(t, []string{"https://api.example"}, rec.Audience)

	// The refresh token, which carries the grant's claims to later
	// tokens, keeps the grant's own.
	g = newGuard(t, func(*oauth2.TokenRequest) *oauth2.Issue {
		return &oauth2.Issue{Subject: "alice", Scopes: []string{"s"}, RefreshToken: true,
			Claims: map[string]any{"ctx": map[string]any{"role": "user"}}}
	}, func(cfg *oauth2.Config, _ *memory.Store) {
		cfg.AccessTokenClaims = func(_ context.Context, _ *oauth2.TokenRequest, c *token.Claims) error {
			c.Extra["ctx"].(map[string]any)["role"] = "admin"
			return nil
		}
	})
	r = g.request()
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	rt, err := g.RefreshTokenRecord(r.Str("refresh_token"))
	require.NoError(t, err)
	assert.Equal(t, "user", rt.Claims["ctx"].(map[string]any)["role"], "the grant keeps its own claims")
}

// A reserved claim of the grant is refused even when the hook replaces
// the extra claims, and never reaches the grant's refresh token.
func TestReservedGrantClaimIsRefusedWhateverTheHook(t *testing.T) {
	g := newGuard(t, func(*oauth2.TokenRequest) *oauth2.Issue {
		return &oauth2.Issue{Subject: "alice", Scopes: []string{"s"}, RefreshToken: true, Claims: map[string]any{"scope": "admin"}}
	}, func(cfg *oauth2.Config, _ *memory.Store) {
		cfg.AccessTokenClaims = func(_ context.Context, _ *oauth2.TokenRequest, c *token.Claims) error {
			c.Extra = map[string]any{"tenant": "t1"}
			return nil
		}
	})
	testkit.RequireOAuthError(t, g.request(), http.StatusInternalServerError, oauth2.ErrServerError)
	assert.Contains(t, g.log.String(), apiKeyGrantType)
	assert.Empty(t, g.Events(oauth2.EventTokenIssued))
}

// A grant's own lifetimes hold for its refreshes too, and its absolute end
// is never later than Config.GrantLifetime allows.
func TestGrantLifetimesLastAcrossRefreshes(t *testing.T) {
	g := newGuard(t, func(req *oauth2.TokenRequest) *oauth2.Issue {
		return &oauth2.Issue{Subject: "alice", Scopes: []string{"s"}, RefreshToken: true,
			AccessTokenLifetime: 5 * time.Minute, RefreshTokenLifetime: time.Hour,
			GrantExpiresAt: req.Now.Add(100 * 365 * 24 * time.Hour)}
	}, nil)
	r := g.request()
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	first, err := g.RefreshTokenRecord(r.Str("refresh_token"))
	require.NoError(t, err)
	assert.Equal(t, testkit.Start.Add(90*24*time.Hour), first.GrantExpiresAt, "capped by the default GrantLifetime")

	g.Advance(10 * time.Minute)
	r = g.Token("app", g.secret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {r.Str("refresh_token")}})
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	assert.EqualValues(t, 300, r.JSON["expires_in"])
	next, err := g.RefreshTokenRecord(r.Str("refresh_token"))
	require.NoError(t, err)
	assert.Equal(t, testkit.Start.Add(10*time.Minute+time.Hour), next.ExpiresAt)
	assert.Equal(t, first.GrantExpiresAt, next.GrantExpiresAt)
}

// A hook that leaves less than a second, which neither expires_in nor a
// JWT's exp can express, is a hook violation, for JWT access tokens too.
func TestAccessTokenClaimsHookSubSecondExpiry(t *testing.T) {
	key, err := token.GenerateSigningKey(jwa.ES256)
	require.NoError(t, err)
	keys, err := token.NewKeySet(key)
	require.NoError(t, err)
	g := newGuard(t, func(*oauth2.TokenRequest) *oauth2.Issue {
		return &oauth2.Issue{Subject: "alice", Scopes: []string{"s"}}
	}, func(cfg *oauth2.Config, _ *memory.Store) {
		cfg.AccessTokens, err = token.NewJWT(token.JWTConfig{Keys: keys, Issuer: cfg.Issuer})
		require.NoError(t, err)
		cfg.AccessTokenClaims = func(_ context.Context, _ *oauth2.TokenRequest, c *token.Claims) error {
			c.ExpiresAt = c.IssuedAt.Add(500 * time.Millisecond)
			return nil
		}
	})
	testkit.RequireOAuthError(t, g.request(), http.StatusInternalServerError, oauth2.ErrServerError)
	assert.Contains(t, g.log.String(), "less than a second")
}

// A grant adds members to the token response (RFC 6749 §5.1), such as
// issued_token_type (RFC 8693 §2.2.1): after the Provider's own, in the
// order of their names, escaped where they need it; token_type stays the
// Provider's.
func TestGrantResponseParameters(t *testing.T) {
	for name, params := range map[string]map[string]string{
		"plain":           {"issued_token_type": "urn:ietf:params:oauth:token-type:access_token", "a_note": "x"},
		"needing escapes": {"issued_token_type": "urn:ietf:params:oauth:token-type:access_token", "a_note": "<b>\"café\"</b>"},
	} {
		t.Run(name, func(t *testing.T) {
			g := newGuard(t, func(*oauth2.TokenRequest) *oauth2.Issue {
				return &oauth2.Issue{Subject: "alice", Scopes: []string{"s"}, ResponseParameters: params}
			}, nil)
			r := g.request()
			require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
			for k, v := range params {
				assert.Equal(t, v, r.Str(k))
			}
			assert.Equal(t, "Bearer", r.Str("token_type"))
			body := string(r.Body)
			assert.Less(t, strings.Index(body, `"scope"`), strings.Index(body, `"a_note"`), "after the Provider's members")
			assert.Less(t, strings.Index(body, `"a_note"`), strings.Index(body, `"issued_token_type"`), "in the order of their names")
		})
	}
}
