package postgres_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/grant"
	"github.com/grantor-dev/grantor/grantortest"
	"github.com/grantor-dev/grantor/oauth2"
	"github.com/grantor-dev/grantor/pkce"
	"github.com/grantor-dev/grantor/storage"
	"github.com/grantor-dev/grantor/storage/postgres"
)

// TestThrottlesAcrossProviders runs two Provider instances, each with a
// pool of its own and its own Store as Config.Limiter, over one database,
// as a deployment behind a load balancer would (issue 17): their throttles
// count in one budget, so that two instances do not give an attacker twice
// the budget. Guesses at a secret chosen by a person (argon2id), spread
// over both, are refused with 429 at the one limit (RFC 6749 §2.3.1), and
// so are pushed authorization requests (RFC 9126 §2.3).
func TestThrottlesAcrossProviders(t *testing.T) {
	const (
		issuer     = twoInstancesIssuer
		guessLimit = 10
		pushLimit  = 5
	)
	// An aligned minute: every attempt of a phase falls in one window.
	clock := grantortest.NewClock(time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC))
	a, b, storeA, storeB := twoInstances(t, func(cfg *oauth2.Config, s *postgres.Store) {
		cfg.Interactions, cfg.LoginURL, cfg.PushedRequests, cfg.Clock = s, "/login", s, clock.Now
		cfg.Limiter = s // each instance its own Store, over the one database
		cfg.AuthFailureLimit, cfg.PushedRequestRateLimit = guessLimit, pushLimit
		cfg.Grants = []oauth2.GrantFactory{
			grant.ClientCredentials(grant.ClientCredentialsOptions{}),
			grant.AuthorizationCode(s, grant.AuthorizationCodeOptions{}),
		}
	})

	const humanSecret = "correct horse battery staple"
	humanHash, err := oauth2.HashClientSecret(humanSecret)
	require.NoError(t, err)
	require.NoError(t, storeA.PutClient(context.Background(), &storage.Client{
		ID: "human", SecretHash: humanHash, GrantTypes: []string{"client_credentials"}, Scopes: []string{"read"},
	}))
	webSecret, webHash, err := oauth2.GenerateClientSecret(nil)
	require.NoError(t, err)
	require.NoError(t, storeB.PutClient(context.Background(), &storage.Client{
		ID: "web", SecretHash: webHash, RedirectURIs: []string{"https://web.example/cb"},
		GrantTypes: []string{"authorization_code"}, Scopes: []string{"read"},
	}))

	// Every request comes from one address (httptest's 192.0.2.1), as a
	// guesser's would through either instance.
	post := func(p *oauth2.Provider, path, id, pw string, form url.Values) (int, http.Header, map[string]any) {
		req := httptest.NewRequest(http.MethodPost, issuer+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(id, pw)
		rec := httptest.NewRecorder()
		p.Handler().ServeHTTP(rec, req)
		var body map[string]any
		_ = json.Unmarshal(rec.Body.Bytes(), &body)
		return rec.Code, rec.Header(), body
	}

	t.Run("failed client authentications spread over both are throttled at the one limit", func(t *testing.T) {
		cc := url.Values{"grant_type": {"client_credentials"}}
		for i := range guessLimit {
			p, name := a, "A"
			if i >= 6 { // 6 at A, 4 at B
				p, name = b, "B"
			}
			status, _, body := post(p, oauth2.TokenPath, "human", "guess", cc)
			require.Equal(t, http.StatusUnauthorized, status, "guess %d at %s: %v", i+1, name, body)
			require.Equal(t, "invalid_client", body["error"])
		}
		for _, p := range []struct {
			name string
			p    *oauth2.Provider
		}{{"B", b}, {"A", a}} {
			status, header, body := post(p.p, oauth2.TokenPath, "human", "guess", cc)
			assert.Equal(t, http.StatusTooManyRequests, status, "a guess past the limit at %s: %v", p.name, body)
			assert.Equal(t, "invalid_client", body["error"])
			assert.NotEmpty(t, header.Get("Retry-After"), "at %s", p.name)
		}
		// Neither instance verified the correct secret: nothing tells it
		// from a guess without the slow hash, so it waits too.
		status, _, _ := post(a, oauth2.TokenPath, "human", humanSecret, cc)
		assert.Equal(t, http.StatusTooManyRequests, status, "the correct secret within the window")

		clock.Advance(time.Minute)
		status, _, body := post(b, oauth2.TokenPath, "human", humanSecret, cc)
		assert.Equal(t, http.StatusOK, status, "the correct secret in the next window: %v", body)
	})

	t.Run("pushed authorization requests spread over both are throttled at the one limit", func(t *testing.T) {
		verifier, err := pkce.GenerateVerifier()
		require.NoError(t, err)
		push := url.Values{"response_type": {"code"}, "client_id": {"web"}, "redirect_uri": {"https://web.example/cb"},
			"scope": {"read"}, "code_challenge": {pkce.S256Challenge(verifier)}, "code_challenge_method": {"S256"}}
		for i := range pushLimit {
			p, name := a, "A"
			if i >= 3 { // 3 at A, 2 at B
				p, name = b, "B"
			}
			status, _, body := post(p, oauth2.PARPath, "web", webSecret, push)
			require.Equal(t, http.StatusCreated, status, "push %d at %s: %v", i+1, name, body)
		}
		for _, p := range []struct {
			name string
			p    *oauth2.Provider
		}{{"B", b}, {"A", a}} {
			status, header, body := post(p.p, oauth2.PARPath, "web", webSecret, push)
			assert.Equal(t, http.StatusTooManyRequests, status, "a push past the limit at %s: %v", p.name, body)
			assert.NotEmpty(t, header.Get("Retry-After"), "at %s", p.name)
		}

		clock.Advance(time.Minute)
		status, _, body := post(a, oauth2.PARPath, "web", webSecret, push)
		assert.Equal(t, http.StatusCreated, status, "in the next window: %v", body)
	})
}
