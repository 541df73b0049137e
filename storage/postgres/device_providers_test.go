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
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/grant"
	"github.com/grantor-dev/grantor/grantortest"
	"github.com/grantor-dev/grantor/oauth2"
	"github.com/grantor-dev/grantor/storage"
	"github.com/grantor-dev/grantor/storage/postgres"
)

// TestDeviceGrantAcrossProviders runs the device grant (RFC 8628) on two
// Provider instances, each with a pool of its own, over one database: a
// client whose polls alternate between them meets one interval, which
// slow_down lengthens for both (§3.5); a code typed on one instance's
// verification page is approved through the other's; of twenty concurrent
// polls spread over both, one gets tokens.
func TestDeviceGrantAcrossProviders(t *testing.T) {
	const issuer = twoInstancesIssuer
	clock := grantortest.NewClock(time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC))
	a, b, storeA, _ := twoInstances(t, func(cfg *oauth2.Config, s *postgres.Store) {
		cfg.Interactions, cfg.Clock = s, clock.Now
		cfg.Grants = []oauth2.GrantFactory{
			grant.DeviceCode(s, grant.DeviceCodeOptions{VerificationURI: issuer + "/device"}),
		}
	})
	require.NoError(t, storeA.PutClient(context.Background(), &storage.Client{
		ID: "tv", Name: "TV", TokenEndpointAuthMethod: oauth2.AuthMethodNone,
		GrantTypes: []string{grant.GrantTypeDeviceCode}, Scopes: []string{"read"},
	}))

	post := func(p *oauth2.Provider, path string, form url.Values) (int, map[string]any) {
		form.Set("client_id", "tv")
		req := httptest.NewRequest(http.MethodPost, issuer+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := httptest.NewRecorder()
		p.Handler().ServeHTTP(rec, req)
		var body map[string]any
		_ = json.Unmarshal(rec.Body.Bytes(), &body)
		return rec.Code, body
	}
	status, codes := post(a, grant.DeviceAuthorizationPath, url.Values{})
	require.Equal(t, http.StatusOK, status, "%v", codes)
	deviceCode, userCode := codes["device_code"].(string), codes["user_code"].(string)
	poll := func(p *oauth2.Provider) string {
		_, body := post(p, oauth2.TokenPath, url.Values{"grant_type": {grant.GrantTypeDeviceCode}, "device_code": {deviceCode}})
		if e, ok := body["error"].(string); ok {
			return e
		}
		return "tokens"
	}

	assert.Equal(t, "authorization_pending", poll(a))
	clock.Advance(2 * time.Second)
	assert.Equal(t, "slow_down", poll(b), "B sees the poll A recorded")
	clock.Advance(5 * time.Second)
	assert.Equal(t, "slow_down", poll(a), "A sees the interval B lengthened to 10 s")
	clock.Advance(15 * time.Second)
	assert.Equal(t, "authorization_pending", poll(b))

	// The code is typed on A's page and approved through B's.
	page := httptest.NewRequest(http.MethodPost, "/device", nil)
	rec := httptest.NewRecorder()
	pending, err := a.PendingDeviceAuthorization(rec, page, strings.ToLower(userCode))
	require.NoError(t, err)
	confirm := httptest.NewRequest(http.MethodPost, "/device", nil)
	for _, c := range rec.Result().Cookies() {
		confirm.AddCookie(c)
	}
	require.NoError(t, b.ApproveDevice(confirm, pending.ID, oauth2.Approval{Subject: "alice"}))

	clock.Advance(15 * time.Second)
	const n = 20
	answers := make([]string, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			answers[i] = poll([]*oauth2.Provider{a, b}[i%2])
		})
	}
	close(start)
	wg.Wait()
	wins := 0
	for _, answer := range answers {
		if answer == "tokens" {
			wins++
		} else {
			assert.Contains(t, []string{"slow_down", "invalid_grant"}, answer)
		}
	}
	assert.Equal(t, 1, wins, "one token set across both instances: %v", answers)
}
