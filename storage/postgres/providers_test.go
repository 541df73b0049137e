package postgres_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/grant"
	"github.com/grantor-dev/grantor/oauth2"
	"github.com/grantor-dev/grantor/pkce"
	"github.com/grantor-dev/grantor/storage"
	"github.com/grantor-dev/grantor/storage/postgres"
)

// TestProvidersShareOneDatabase runs two Provider instances, each with a
// pool of its own, over one database, as a deployment behind a load
// balancer would (issue 5): they behave as one server. A code issued
// through one and approved through the other is redeemed exactly once by
// twenty concurrent requests spread over both, and a replay on either
// revokes the grant on both.
func TestProvidersShareOneDatabase(t *testing.T) {
	const issuer = twoInstancesIssuer
	a, b, storeA, storeB := twoInstances(t, func(cfg *oauth2.Config, s *postgres.Store) {
		cfg.Interactions, cfg.LoginURL = s, "/login"
		cfg.Grants = []oauth2.GrantFactory{
			grant.AuthorizationCode(s, grant.AuthorizationCodeOptions{}),
			grant.RefreshToken(s, grant.RefreshTokenOptions{}),
		}
	})
	instances := []*oauth2.Provider{a, b}

	secret, hash, err := oauth2.GenerateClientSecret(nil)
	require.NoError(t, err)
	require.NoError(t, storeA.PutClient(context.Background(), &storage.Client{
		ID: "web", SecretHash: hash, RedirectURIs: []string{"https://web.example/cb"},
		GrantTypes: []string{"authorization_code", "refresh_token"}, Scopes: []string{"read"},
	}))
	rs, rsHash, err := oauth2.GenerateClientSecret(nil)
	require.NoError(t, err)
	require.NoError(t, storeB.PutClient(context.Background(), &storage.Client{
		ID: "rs", SecretHash: rsHash, Resources: []string{issuer}}))

	post := func(p *oauth2.Provider, path, id, pw string, form url.Values) (int, map[string]any) {
		req := httptest.NewRequest(http.MethodPost, issuer+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(id, pw)
		rec := httptest.NewRecorder()
		p.Handler().ServeHTTP(rec, req)
		var body map[string]any
		_ = json.Unmarshal(rec.Body.Bytes(), &body)
		return rec.Code, body
	}
	active := func(p *oauth2.Provider, tok string) bool {
		_, body := post(p, oauth2.IntrospectionPath, "rs", rs, url.Values{"token": {tok}})
		return body["active"] == true
	}

	// The authorization request goes to A, the login page's Approve to B.
	verifier, err := pkce.GenerateVerifier()
	require.NoError(t, err)
	q := url.Values{"response_type": {"code"}, "client_id": {"web"}, "redirect_uri": {"https://web.example/cb"},
		"scope": {"read"}, "code_challenge": {pkce.S256Challenge(verifier)}, "code_challenge_method": {"S256"}}
	rec := httptest.NewRecorder()
	a.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, issuer+"/authorize?"+q.Encode(), nil))
	require.Equal(t, http.StatusSeeOther, rec.Code, "%s", rec.Body)
	login, err := url.Parse(rec.Header().Get("Location"))
	require.NoError(t, err)
	consent := httptest.NewRequest(http.MethodPost, "/consent", nil)
	for _, c := range rec.Result().Cookies() {
		consent.AddCookie(c)
	}
	rec = httptest.NewRecorder()
	require.NoError(t, b.Approve(rec, consent, login.Query().Get("interaction"), oauth2.Approval{Subject: "alice"}))
	back, err := url.Parse(rec.Header().Get("Location"))
	require.NoError(t, err)
	code := back.Query().Get("code")
	require.NotEmpty(t, code, rec.Header().Get("Location"))

	redeem := url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {"https://web.example/cb"}, "code_verifier": {verifier}}
	const n = 20
	statuses := make([]int, n)
	bodies := make([]map[string]any, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			statuses[i], bodies[i] = post(instances[i%2], oauth2.TokenPath, "web", secret, redeem)
		})
	}
	close(start)
	wg.Wait()
	var winner map[string]any
	wins := 0
	for i, status := range statuses {
		if status == http.StatusOK {
			wins++
			winner = bodies[i]
		} else {
			assert.Equal(t, http.StatusBadRequest, status)
			assert.Equal(t, "invalid_grant", bodies[i]["error"])
		}
	}
	require.Equal(t, 1, wins, "exactly one redemption across both instances")

	// The losers were replays: the grant is revoked, seen from both.
	at, rt := winner["access_token"].(string), winner["refresh_token"].(string)
	assert.False(t, active(a, at))
	assert.False(t, active(b, at))
	status, _ := post(b, oauth2.TokenPath, "web", secret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}})
	assert.Equal(t, http.StatusBadRequest, status)
}
