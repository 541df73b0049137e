package grant_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
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

// Tests of the revocation endpoint (RFC 7009), black-box through the
// harness, for opaque and JWT access tokens alike.

// formats are the access token formats every rule is checked with.
var formats = []string{"opaque", "jwt"}

const (
	apiA = "https://api.a.example"
	apiB = "https://api.b.example"
)

// rtiHarness is the code-flow harness (clients web, spa, legacy, native)
// plus the client credentials grant and these clients:
//   - "svc": confidential, client_credentials, tokens for apiA
//   - "rs-a": confidential, speaks for apiA (storage.Client.Resources)
//   - "rs-b": confidential, speaks for apiB
//   - "rs-iss": confidential, speaks for the issuer (the default audience)
type rtiHarness struct {
	*codeHarness
	format                                      string
	svcSecret, rsASecret, rsBSecret, rsISSecret string
}

func newRTI(t *testing.T, format string, configure func(*oauth2.Config, *memory.Store)) *rtiHarness {
	t.Helper()
	h := newCode(t, func(cfg *oauth2.Config, store *memory.Store) {
		cfg.Grants = append(cfg.Grants, grant.ClientCredentials(grant.ClientCredentialsOptions{}))
		if format == "jwt" {
			cfg.AccessTokens = newJWTStrategy(t, cfg.Issuer)
		}
		if configure != nil {
			configure(cfg, store)
		}
	})
	r := &rtiHarness{codeHarness: h, format: format}
	r.svcSecret = h.AddClient(storage.Client{ID: "svc", GrantTypes: []string{"client_credentials"},
		Scopes: []string{"read", "write"}, Audience: []string{apiA}})
	r.rsASecret = h.AddClient(storage.Client{ID: "rs-a", Resources: []string{apiA}})
	r.rsBSecret = h.AddClient(storage.Client{ID: "rs-b", Resources: []string{apiB}})
	r.rsISSecret = h.AddClient(storage.Client{ID: "rs-iss", Resources: []string{h.Provider.Issuer()}})
	return r
}

func newJWTStrategy(t *testing.T, issuer string) token.AccessTokenStrategy {
	t.Helper()
	key, err := token.GenerateSigningKey(jwa.ES256)
	require.NoError(t, err)
	keys, err := token.NewKeySet(key)
	require.NoError(t, err)
	s, err := token.NewJWT(token.JWTConfig{Keys: keys, Issuer: issuer})
	require.NoError(t, err)
	return s
}

// codeTokens runs the code flow for "web" and returns its access and
// refresh tokens.
func (h *rtiHarness) codeTokens() (at, rt string) {
	h.T.Helper()
	params, verifier := authParams(h.T)
	r := h.redeem("web", h.webSecret, h.code(params), verifier)
	require.Equal(h.T, http.StatusOK, r.Status, "%s", r.Body)
	require.NotEmpty(h.T, r.Str("refresh_token"))
	return r.Str("access_token"), r.Str("refresh_token")
}

// ccToken returns an access token of "svc" (audience apiA).
func (h *rtiHarness) ccToken() string {
	h.T.Helper()
	r := h.Token("svc", h.svcSecret, url.Values{"grant_type": {"client_credentials"}, "scope": {"read"}})
	require.Equal(h.T, http.StatusOK, r.Status, "%s", r.Body)
	return r.Str("access_token")
}

// refreshTokens refreshes rt as "web".
func (h *rtiHarness) refreshTokens(rt string) (at, next string) {
	h.T.Helper()
	r := h.Token("web", h.webSecret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}})
	require.Equal(h.T, http.StatusOK, r.Status, "%s", r.Body)
	return r.Str("access_token"), r.Str("refresh_token")
}

// revokeWeb revokes tok as "web".
func (h *rtiHarness) revokeWeb(tok string, extra ...string) *testkit.Response {
	h.T.Helper()
	return h.Revoke("web", h.webSecret, tok, extra...)
}

// active reports whether "web" (the client of the code-flow tokens) or
// "svc" sees tok as active at the introspection endpoint.
func (h *rtiHarness) active(clientID, tok string) bool {
	h.T.Helper()
	secrets := map[string]string{"web": h.webSecret, "svc": h.svcSecret, "rs-a": h.rsASecret, "rs-b": h.rsBSecret, "rs-iss": h.rsISSecret}
	r := h.Introspect(clientID, secrets[clientID], tok)
	require.Equal(h.T, http.StatusOK, r.Status, "%s", r.Body)
	return r.JSON["active"] == true
}

// requireRevoked200 asserts the answer of RFC 7009 §2.2: 200, an empty
// body, no-store (RFC 6749 §5.1).
func requireRevoked200(t *testing.T, r *testkit.Response) {
	t.Helper()
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	assert.Empty(t, r.Body)
	assert.Equal(t, "no-store", r.Header.Get("Cache-Control"))
}

// RFC 7009 §2.2: unknown, malformed, expired and already revoked tokens get
// 200 with an empty body, and nothing changes.
func TestUnknownOrInvalidTokensGet200(t *testing.T) {
	for _, format := range formats {
		t.Run(format, func(t *testing.T) {
			h := newRTI(t, format, nil)
			at, rt := h.codeTokens()
			flipped := []byte(at)
			flipped[len(flipped)-3] ^= 1
			cases := map[string]string{
				"random string":        "not-a-token",
				"one byte flipped":     string(flipped),
				"refresh prefix on AT": "gr_rt_" + at[min(len(at), len("gr_at_")):],
				"JWT-shaped garbage":   "eyJhbGciOiJub25lIn0.eyJqdGkiOiJ4In0.",
				"very long":            string(make([]byte, 10000)),
			}
			for name, tok := range cases {
				t.Run(name, func(t *testing.T) { requireRevoked200(t, h.revokeWeb(tok)) })
			}
			assert.True(t, h.active("web", at), "the failed attempts left the real token alone")
			assert.True(t, h.active("web", rt))
			assert.Empty(t, h.Events(oauth2.EventTokenRevoked))

			// Already revoked: 200 again, still inactive.
			requireRevoked200(t, h.revokeWeb(at))
			requireRevoked200(t, h.revokeWeb(at))
			assert.False(t, h.active("web", at))
			assert.Len(t, h.Events(oauth2.EventTokenRevoked), 1, "a second revocation does nothing")

			// Expired: 200, nothing to do.
			at2 := h.ccToken()
			h.Advance(2 * time.Hour)
			requireRevoked200(t, h.Revoke("svc", h.svcSecret, at2))
			assert.Len(t, h.Events(oauth2.EventTokenRevoked), 1)
		})
	}
}

// RFC 7009 §2.1: the token parameter is required.
func TestTokenParameterIsRequired(t *testing.T) {
	h := newRTI(t, "opaque", nil)
	testkit.RequireOAuthError(t, h.revokeWeb(""), http.StatusBadRequest, oauth2.ErrInvalidRequest)
	// A repeated token is refused, not half-read.
	r := h.PostForm(h.Provider.RevocationEndpoint(), "web", h.webSecret, url.Values{"token": {"a", "b"}})
	testkit.RequireOAuthError(t, r, http.StatusBadRequest, oauth2.ErrInvalidRequest)
}

// RFC 7009 §2.1 leaves open what a client revoking another client's token
// gets; Grantor refuses it with 400 unauthorized_client (as fosite does
// since GHSA-7mqr-2v3q-v2wm) and the token stays active, access and refresh
// tokens alike.
func TestAnotherClientsTokenIsNotRevoked(t *testing.T) {
	for _, format := range formats {
		t.Run(format, func(t *testing.T) {
			h := newRTI(t, format, nil)
			at, rt := h.codeTokens()
			for _, tok := range []string{at, rt} {
				testkit.RequireOAuthError(t, h.Revoke("svc", h.svcSecret, tok), http.StatusBadRequest, oauth2.ErrUnauthorizedClient)
				// Even a resource server the token is for cannot revoke it.
				testkit.RequireOAuthError(t, h.Revoke("rs-iss", h.rsISSecret, tok), http.StatusBadRequest, oauth2.ErrUnauthorizedClient)
				// A public client neither.
				testkit.RequireOAuthError(t, h.Revoke("spa", "", tok), http.StatusBadRequest, oauth2.ErrUnauthorizedClient)
			}
			assert.True(t, h.active("web", at))
			assert.True(t, h.active("web", rt))
			assert.Empty(t, h.Events(oauth2.EventTokenRevoked))
			// The owner can still use its refresh token.
			h.refreshTokens(rt)
		})
	}
}

// RFC 7009 §2.1: token_type_hint is only a hint: a wrong hint still finds
// the token, an unknown hint is ignored.
func TestTokenTypeHintIsOnlyAHint(t *testing.T) {
	for _, format := range formats {
		t.Run(format, func(t *testing.T) {
			for _, tc := range []struct {
				name, hint string
				refresh    bool
			}{
				{"RT with hint access_token", "access_token", true},
				{"RT with hint foo", "foo", true},
				{"AT with hint refresh_token", "refresh_token", false},
				{"AT with hint foo", "foo", false},
				{"AT with no hint", "", false},
			} {
				t.Run(tc.name, func(t *testing.T) {
					h := newRTI(t, format, nil)
					at, rt := h.codeTokens()
					tok := at
					if tc.refresh {
						tok = rt
					}
					requireRevoked200(t, h.revokeWeb(tok, "token_type_hint", tc.hint))
					assert.False(t, h.active("web", tok))
				})
			}
		})
	}
}

// RFC 7009 §2.1, RFC 6819 §5.2.2.4: revoking a refresh token revokes the
// grant: the refresh token and every access token of the grant become
// inactive, and the grant cannot be refreshed.
func TestRevokingARefreshTokenRevokesTheGrant(t *testing.T) {
	for _, format := range formats {
		t.Run(format, func(t *testing.T) {
			h := newRTI(t, format, nil)
			at1, rt1 := h.codeTokens()
			at2, rt2 := h.refreshTokens(rt1)
			requireRevoked200(t, h.revokeWeb(rt2))
			for _, tok := range []string{at1, at2, rt2} {
				assert.False(t, h.active("web", tok))
			}
			r := h.Token("web", h.webSecret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt2}})
			testkit.RequireOAuthError(t, r, http.StatusBadRequest, oauth2.ErrInvalidGrant)

			ev := h.Events(oauth2.EventTokenRevoked)
			require.Len(t, ev, 1)
			rec, err := h.RefreshTokenRecord(rt2)
			require.NoError(t, err)
			assert.Equal(t, "web", ev[0].ClientID)
			assert.Equal(t, rec.GrantID, ev[0].GrantID)
			assert.Equal(t, []storage.TokenKind{storage.RefreshToken}, ev[0].TokenKinds)
			assert.NotContains(t, fmt.Sprintf("%+v", ev[0]), rt2, "an event never carries the token")
			assert.NotEmpty(t, h.Events(oauth2.EventGrantRevoked))
		})
	}
}

// RFC 7009 §2.1: a rotated (consumed) refresh token of a live grant,
// presented by its client, still ends the grant: the client asked for it
// to end.
func TestRevokingARotatedRefreshTokenEndsTheGrant(t *testing.T) {
	h := newRTI(t, "opaque", nil)
	_, rt1 := h.codeTokens()
	at2, rt2 := h.refreshTokens(rt1)
	requireRevoked200(t, h.revokeWeb(rt1))
	assert.False(t, h.active("web", at2))
	assert.False(t, h.active("web", rt2))
}

// RFC 6819 §5.2.2.4: revoking an access token revokes that token only.
// Its refresh token and grant stay valid, and a refresh gives a working
// access token; RFC 7009 §2.1 leaves this to the server ("MAY").
func TestRevokingAnAccessTokenLeavesTheRefreshToken(t *testing.T) {
	for _, format := range formats {
		t.Run(format, func(t *testing.T) {
			h := newRTI(t, format, nil)
			at, rt := h.codeTokens()
			requireRevoked200(t, h.revokeWeb(at))
			assert.False(t, h.active("web", at))
			assert.True(t, h.active("web", rt))
			at2, _ := h.refreshTokens(rt)
			assert.True(t, h.active("web", at2))

			ev := h.Events(oauth2.EventTokenRevoked)
			require.Len(t, ev, 1)
			assert.Equal(t, []storage.TokenKind{storage.AccessToken}, ev[0].TokenKinds)
			assert.Empty(t, h.Events(oauth2.EventGrantRevoked))
		})
	}
}

// RFC 7009 §2.2.1, fosite CVE-2020-15223: a storage failure while revoking
// answers 503 temporarily_unavailable with a JSON error, never 200, and the
// token stays active; so does a failed lookup.
func TestStorageFailureGives503(t *testing.T) {
	for _, format := range formats {
		t.Run(format, func(t *testing.T) {
			var failing *failingRevocations
			h := testkit.New(t, func(cfg *oauth2.Config, store *memory.Store) {
				failing = &failingRevocations{RefreshTokenStore: store}
				cfg.Tokens = failing
				cfg.Grants = []oauth2.GrantFactory{grant.ClientCredentials(grant.ClientCredentialsOptions{}),
					grant.RefreshToken(failing, grant.RefreshTokenOptions{})}
				if format == "jwt" {
					cfg.AccessTokens = newJWTStrategy(t, cfg.Issuer)
				}
			})
			secret := h.AddClient(storage.Client{ID: "app", GrantTypes: []string{"client_credentials", "refresh_token"}, Scopes: []string{"read"}})
			rt := h.SeedRefreshToken(storage.Token{ClientID: "app", Subject: "alice", Scopes: []string{"read"}})
			r := h.Token("app", secret, url.Values{"grant_type": {"client_credentials"}})
			require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
			at := r.Str("access_token")

			for _, mode := range []string{"revoke", "lookup"} {
				for name, tok := range map[string]string{"access token": at, "refresh token": rt} {
					t.Run(mode+"/"+name, func(t *testing.T) {
						failing.set(mode)
						r := h.Revoke("app", secret, tok)
						failing.set("")
						testkit.RequireOAuthError(t, r, http.StatusServiceUnavailable, oauth2.ErrTemporarilyUnavailable)
						assert.Equal(t, "no-cache", r.Header.Get("Pragma"))
						assert.True(t, h.Introspect("app", secret, tok).JSON["active"] == true, "the token is still active")
					})
				}
			}
			assert.Empty(t, h.Events(oauth2.EventTokenRevoked))
			// Once the store is back, the revocation goes through.
			requireRevoked200(t, h.Revoke("app", secret, at))
			assert.Equal(t, false, h.Introspect("app", secret, at).JSON["active"])
		})
	}
}

// failingRevocations is a token store whose revocations (or lookups) fail
// while switched on.
type failingRevocations struct {
	storage.RefreshTokenStore
	mu   sync.Mutex
	mode string
}

func (f *failingRevocations) set(mode string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.mode = mode
}

func (f *failingRevocations) failing(mode string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.mode == mode
}

var errDiskFull = errors.New("disk full")

func (f *failingRevocations) Token(ctx context.Context, key string) (*storage.Token, error) {
	if f.failing("lookup") {
		return nil, errDiskFull
	}
	return f.RefreshTokenStore.Token(ctx, key)
}

func (f *failingRevocations) RevokeToken(ctx context.Context, key string, at time.Time) error {
	if f.failing("revoke") {
		return errDiskFull
	}
	return f.RefreshTokenStore.RevokeToken(ctx, key, at)
}

func (f *failingRevocations) RevokeGrant(ctx context.Context, grantID string, at time.Time) error {
	if f.failing("revoke") {
		return errDiskFull
	}
	return f.RefreshTokenStore.RevokeGrant(ctx, grantID, at)
}

// RFC 7009 §2.1: a confidential client must authenticate; a wrong
// secret is 401 invalid_client, with WWW-Authenticate when Basic was used.
func TestRevocationNeedsClientAuthentication(t *testing.T) {
	h := newRTI(t, "opaque", nil)
	at, _ := h.codeTokens()
	// No credentials, only client_id of a confidential client.
	testkit.RequireOAuthError(t, h.Revoke("web", "", at), http.StatusUnauthorized, oauth2.ErrInvalidClient)
	// No identification at all.
	testkit.RequireOAuthError(t, h.Revoke("", "", at), http.StatusUnauthorized, oauth2.ErrInvalidClient)
	// A wrong secret in Basic.
	r := h.Revoke("web", "wrong", at)
	testkit.RequireOAuthError(t, r, http.StatusUnauthorized, oauth2.ErrInvalidClient)
	assert.Contains(t, r.Header.Get("WWW-Authenticate"), "Basic")
	// A wrong secret in the body, and no credentials at all: every 401
	// carries a challenge (RFC 9110 §15.5.2).
	r = h.PostForm(h.Provider.RevocationEndpoint(), "", "", url.Values{"token": {at}, "client_id": {"web"}, "client_secret": {"wrong"}})
	testkit.RequireOAuthError(t, r, http.StatusUnauthorized, oauth2.ErrInvalidClient)
	assert.Contains(t, r.Header.Get("WWW-Authenticate"), "Basic")
	assert.Contains(t, h.Revoke("", "", at).Header.Get("WWW-Authenticate"), "Basic")

	assert.True(t, h.active("web", at), "nothing was revoked")
}

// RFC 7009 §2.1: a public client revokes its own tokens with its
// client_id alone.
func TestPublicClientRevokesItsOwnTokens(t *testing.T) {
	h := newRTI(t, "opaque", nil)
	params, verifier := authParams(t, "client_id", "spa", "redirect_uri", "https://spa.example/cb")
	r := h.redeem("spa", "", h.code(params), verifier, "redirect_uri", "https://spa.example/cb")
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	at, rt := r.Str("access_token"), r.Str("refresh_token")
	require.NotEmpty(t, rt)

	requireRevoked200(t, h.Revoke("spa", "", at))
	requireRevoked200(t, h.Revoke("spa", "", rt))
	assert.False(t, h.active("rs-iss", at))
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {"spa"}}
	testkit.RequireOAuthError(t, h.Do(h.TokenRequest(form)), http.StatusBadRequest, oauth2.ErrInvalidGrant)
}

// RFC 7009 §2.2.1 lets a server refuse self-contained tokens with
// unsupported_token_type; Grantor records the jti of every JWT access token
// instead, so JWT access tokens are revocable, by their jti, and the
// endpoint never answers unsupported_token_type.
func TestJWTAccessTokensAreRevocable(t *testing.T) {
	h := newRTI(t, "jwt", nil)
	at := h.ccToken()
	rec, err := h.AccessTokenRecord(at)
	require.NoError(t, err)
	assert.True(t, rec.RevokedAt.IsZero())
	requireRevoked200(t, h.Revoke("svc", h.svcSecret, at))
	rec, err = h.AccessTokenRecord(at)
	require.NoError(t, err)
	assert.False(t, rec.RevokedAt.IsZero(), "the record under the jti is revoked")
	assert.False(t, h.active("svc", at))
}

// RFC 6749 §5.1: every answer of the revocation endpoint, success or error,
// carries Cache-Control: no-store; GET is 405.
func TestRevocationAnswersAreNotStored(t *testing.T) {
	h := newRTI(t, "opaque", nil)
	at, _ := h.codeTokens()
	for name, r := range map[string]*testkit.Response{
		"revoked":        h.revokeWeb(at),
		"unknown token":  h.revokeWeb("nope"),
		"missing token":  h.revokeWeb(""),
		"wrong secret":   h.Revoke("web", "wrong", at),
		"foreign token":  h.Revoke("svc", h.svcSecret, h.codeTokensAT()),
		"GET not POST":   h.Do(mustGet(t, h.Provider.RevocationEndpoint())),
		"query not body": h.Do(mustPost(t, h.Provider.RevocationEndpoint()+"?token=x")),
	} {
		assert.Equal(t, "no-store", r.Header.Get("Cache-Control"), name)
	}
	r := h.Do(mustGet(t, h.Provider.RevocationEndpoint()))
	testkit.RequireOAuthError(t, r, http.StatusMethodNotAllowed, oauth2.ErrInvalidRequest)
	assert.Equal(t, http.MethodPost, r.Header.Get("Allow"))
}

func (h *rtiHarness) codeTokensAT() string {
	at, _ := h.codeTokens()
	return at
}

func mustPost(t *testing.T, u string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, u, nil)
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return req
}
