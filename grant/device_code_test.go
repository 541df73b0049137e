package grant_test

import (
	"context"
	"errors"
	"fmt"
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
	"github.com/grantor-dev/grantor/internal/testkit"
	"github.com/grantor-dev/grantor/oauth2"
	"github.com/grantor-dev/grantor/storage"
	"github.com/grantor-dev/grantor/storage/memory"
	"github.com/grantor-dev/grantor/storage/storagetest"
)

// deviceHarness is a Provider with the device, refresh and code grants,
// and these clients:
//   - "tv": public, device code and refresh, scopes read and write
//   - "box": confidential, device code only, scope read
//   - "radio": public, device code only, scope read
//   - "web": confidential, authorization code only
type deviceHarness struct {
	*testkit.Harness
	boxSecret, webSecret string
}

const verificationURI = "https://as.example/device"

func newDevice(t *testing.T, configure func(*oauth2.Config, *grant.DeviceCodeOptions)) *deviceHarness {
	h := testkit.New(t, func(cfg *oauth2.Config, store *memory.Store) {
		opts := grant.DeviceCodeOptions{VerificationURI: verificationURI}
		if configure != nil {
			configure(cfg, &opts)
		}
		cfg.Grants = append(cfg.Grants,
			grant.DeviceCode(store, opts),
			grant.RefreshToken(store, grant.RefreshTokenOptions{}),
			grant.AuthorizationCode(store, grant.AuthorizationCodeOptions{}))
		cfg.Interactions = store
		cfg.LoginURL = loginPath
	})
	d := &deviceHarness{Harness: h}
	h.AddClient(storage.Client{ID: "tv", Name: "Living Room TV", TokenEndpointAuthMethod: oauth2.AuthMethodNone,
		GrantTypes: []string{grant.GrantTypeDeviceCode, "refresh_token"}, Scopes: []string{"read", "write"}, DefaultScopes: []string{"read"}})
	d.boxSecret = h.AddClient(storage.Client{ID: "box", GrantTypes: []string{grant.GrantTypeDeviceCode}, Scopes: []string{"read"}})
	h.AddClient(storage.Client{ID: "radio", TokenEndpointAuthMethod: oauth2.AuthMethodNone,
		GrantTypes: []string{grant.GrantTypeDeviceCode}, Scopes: []string{"read"}})
	d.webSecret = h.AddClient(storage.Client{ID: "web", RedirectURIs: []string{"https://c.example/cb"},
		GrantTypes: []string{"authorization_code"}, Scopes: []string{"read"}})
	return d
}

// authorizeDevice makes a device authorization request (RFC 8628 §3.1).
func (d *deviceHarness) authorizeDevice(id, secret string, extra ...string) *testkit.Response {
	d.T.Helper()
	form := url.Values{}
	for i := 0; i+1 < len(extra); i += 2 {
		form.Set(extra[i], extra[i+1])
	}
	return d.PostForm(d.Provider.EndpointURL(grant.DeviceAuthorizationPath), id, secret, form)
}

// start makes a successful device authorization request of "tv" and
// returns the device code and the user code.
func (d *deviceHarness) start(extra ...string) (deviceCode, userCode string) {
	d.T.Helper()
	r := d.authorizeDevice("tv", "", extra...)
	require.Equal(d.T, http.StatusOK, r.Status, "%s", r.Body)
	return r.Str("device_code"), r.Str("user_code")
}

// poll polls the token endpoint with a device code (RFC 8628 §3.4).
func (d *deviceHarness) poll(id, secret, deviceCode string) *testkit.Response {
	d.T.Helper()
	return d.Token(id, secret, url.Values{"grant_type": {grant.GrantTypeDeviceCode}, "device_code": {deviceCode}})
}

// browser is a browser at an address, with the cookies the Provider set.
type browser struct {
	addr    string
	cookies []*http.Cookie
}

func (b *browser) request() *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/device", nil)
	r.RemoteAddr = b.addr + ":4711"
	for _, c := range b.cookies {
		r.AddCookie(c)
	}
	return r
}

// enter types userCode on the verification page of browser b.
func (d *deviceHarness) enter(b *browser, userCode string) (*oauth2.PendingDeviceAuthorization, error) {
	d.T.Helper()
	w := httptest.NewRecorder()
	pending, err := d.Provider.PendingDeviceAuthorization(w, b.request(), userCode)
	if cs := w.Result().Cookies(); len(cs) > 0 {
		b.cookies = cs
	}
	return pending, err
}

// approve enters userCode in a new browser and approves as alice.
func (d *deviceHarness) approve(userCode string) {
	d.T.Helper()
	b := &browser{addr: "198.51.100.7"}
	pending, err := d.enter(b, userCode)
	require.NoError(d.T, err)
	require.NoError(d.T, d.Provider.ApproveDevice(b.request(), pending.ID, oauth2.Approval{Subject: "alice"}))
}

func TestDeviceAuthorizationEndpoint(t *testing.T) {
	t.Run("a public client gets the codes, the URIs, expires_in and interval, not to be stored (RFC 8628 §3.2)", func(t *testing.T) {
		d := newDevice(t, nil)
		r := d.authorizeDevice("tv", "", "scope", "read write")
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		assert.Equal(t, "no-store", r.Header.Get("Cache-Control"))
		assert.Equal(t, "application/json", r.Header.Get("Content-Type"))
		assert.Regexp(t, `^gr_dc_`, r.Str("device_code"))
		assert.Regexp(t, `^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$`, r.Str("user_code"))
		assert.Equal(t, verificationURI, r.Str("verification_uri"))
		assert.Equal(t, verificationURI+"?user_code="+r.Str("user_code"), r.Str("verification_uri_complete"))
		assert.EqualValues(t, 600, r.JSON["expires_in"])
		assert.EqualValues(t, 5, r.JSON["interval"])
		assert.Len(t, r.JSON, 6)
	})
	t.Run("a confidential client authenticates by its registered method", func(t *testing.T) {
		d := newDevice(t, nil)
		r := d.authorizeDevice("box", d.boxSecret)
		assert.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		r = d.authorizeDevice("box", "") // client_id only
		testkit.RequireOAuthError(t, r, http.StatusUnauthorized, oauth2.ErrInvalidClient)
		assert.NotEmpty(t, r.Header.Get("WWW-Authenticate"))
		r = d.authorizeDevice("box", "wrong-secret")
		testkit.RequireOAuthError(t, r, http.StatusUnauthorized, oauth2.ErrInvalidClient)
	})
	t.Run("an unknown client is invalid_client", func(t *testing.T) {
		d := newDevice(t, nil)
		testkit.RequireOAuthError(t, d.authorizeDevice("nobody", ""), http.StatusUnauthorized, oauth2.ErrInvalidClient)
		testkit.RequireOAuthError(t, d.authorizeDevice("", ""), http.StatusUnauthorized, oauth2.ErrInvalidClient)
	})
	t.Run("a client not registered for the device grant is unauthorized_client", func(t *testing.T) {
		d := newDevice(t, nil)
		testkit.RequireOAuthError(t, d.authorizeDevice("web", d.webSecret), http.StatusBadRequest, oauth2.ErrUnauthorizedClient)
	})
	t.Run("scopes are checked as for the other grants", func(t *testing.T) {
		d := newDevice(t, nil)
		testkit.RequireOAuthError(t, d.authorizeDevice("radio", "", "scope", "read write"), http.StatusBadRequest, oauth2.ErrInvalidScope)
		testkit.RequireOAuthError(t, d.authorizeDevice("tv", "", "scope", "read\x01"), http.StatusBadRequest, oauth2.ErrInvalidScope)

		_, userCode := d.start() // no scope: the client's default scopes
		pending, err := d.enter(&browser{addr: "198.51.100.7"}, userCode)
		require.NoError(t, err)
		assert.Equal(t, []string{"read"}, pending.Scopes)
	})
	t.Run("a client_id in the body must be the authenticated client's", func(t *testing.T) {
		d := newDevice(t, nil)
		testkit.RequireOAuthError(t, d.authorizeDevice("box", d.boxSecret, "client_id", "tv"), http.StatusUnauthorized, oauth2.ErrInvalidClient)
	})
	t.Run("only POST with a form body", func(t *testing.T) {
		d := newDevice(t, nil)
		resp, err := d.Server.Client().Get(d.Provider.EndpointURL(grant.DeviceAuthorizationPath) + "?client_id=tv")
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
	})
	t.Run("the device code carries 256 random bits and is stored by its signature (RFC 8628 §5.2)", func(t *testing.T) {
		d := newDevice(t, nil)
		deviceCode, userCode := d.start()
		assert.Len(t, strings.TrimPrefix(deviceCode, "gr_dc_"), 43+1+43, "base64url of 256 random bits and of the signature")
		_, err := d.Store.DeviceAuthorizationByUserCode(t.Context(), userCode)
		assert.ErrorIs(t, err, storage.ErrNotFound, "the user code itself is no key")
		_, err = d.Store.PollDeviceAuthorization(t.Context(), deviceCode, "tv", d.Now(), 0)
		assert.ErrorIs(t, err, storage.ErrNotFound, "the device code itself is no key")
	})
	t.Run("device authorization requests are throttled per public client and address, over the codes' lifetime (RFC 8628 §5.2)", func(t *testing.T) {
		d := newDevice(t, func(_ *oauth2.Config, o *grant.DeviceCodeOptions) { o.RateLimit = 3 })
		for range 3 {
			require.Equal(t, http.StatusOK, d.authorizeDevice("tv", "").Status)
		}
		r := d.authorizeDevice("tv", "")
		testkit.RequireOAuthError(t, r, http.StatusTooManyRequests, oauth2.ErrInvalidRequest)
		assert.NotEmpty(t, r.Header.Get("Retry-After"))
		assert.Equal(t, http.StatusOK, d.authorizeDevice("radio", "").Status, "another client has a budget of its own")
		d.Advance(5 * time.Minute)
		testkit.RequireOAuthError(t, d.authorizeDevice("tv", ""), http.StatusTooManyRequests, oauth2.ErrInvalidRequest)
		d.Advance(5 * time.Minute) // the window is the codes' lifetime, 10 minutes
		assert.Equal(t, http.StatusOK, d.authorizeDevice("tv", "").Status)
	})
}

func TestDeviceMetadata(t *testing.T) {
	d := newDevice(t, nil)
	md := d.Provider.Metadata()
	assert.Equal(t, d.Provider.Issuer()+"/device_authorization", md.Extra["device_authorization_endpoint"])
	assert.Contains(t, md.GrantTypesSupported, grant.GrantTypeDeviceCode)

	without := newCode(t, nil).Provider.Metadata()
	assert.NotContains(t, without.Extra, "device_authorization_endpoint")
}

func TestDevicePolling(t *testing.T) {
	t.Run("authorization_pending until the user decides; the lookup decides nothing", func(t *testing.T) {
		d := newDevice(t, nil)
		deviceCode, userCode := d.start()
		testkit.RequireOAuthError(t, d.poll("tv", "", deviceCode), http.StatusBadRequest, oauth2.ErrAuthorizationPending)
		_, err := d.enter(&browser{addr: "198.51.100.7"}, userCode)
		require.NoError(t, err)
		d.Advance(5 * time.Second)
		testkit.RequireOAuthError(t, d.poll("tv", "", deviceCode), http.StatusBadRequest, oauth2.ErrAuthorizationPending)
	})
	t.Run("tokens exactly once after approval, then invalid_grant (RFC 8628 §3.5)", func(t *testing.T) {
		d := newDevice(t, nil)
		deviceCode, userCode := d.start("scope", "read write")
		d.approve(userCode)
		r := d.poll("tv", "", deviceCode)
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		assert.Equal(t, "Bearer", r.Str("token_type"))
		assert.NotEmpty(t, r.Str("refresh_token"), "tv is registered for refresh_token")
		rec, err := d.AccessTokenRecord(r.Str("access_token"))
		require.NoError(t, err)
		assert.Equal(t, "alice", rec.Subject)
		assert.Equal(t, "tv", rec.ClientID)
		assert.Equal(t, []string{"read", "write"}, rec.Scopes)
		assert.Len(t, d.Events(oauth2.EventTokenIssued), 1)

		d.Advance(5 * time.Second)
		testkit.RequireOAuthError(t, d.poll("tv", "", deviceCode), http.StatusBadRequest, oauth2.ErrInvalidGrant)
		assert.Len(t, d.Events(oauth2.EventTokenIssued), 1, "no second token set")
	})
	t.Run("the approved scopes, and no refresh token for a client without that grant", func(t *testing.T) {
		d := newDevice(t, nil)
		r := d.authorizeDevice("box", d.boxSecret)
		require.Equal(t, http.StatusOK, r.Status)
		b := &browser{addr: "198.51.100.7"}
		pending, err := d.enter(b, r.Str("user_code"))
		require.NoError(t, err)
		assert.Equal(t, "box", pending.Client.ID)
		require.NoError(t, d.Provider.ApproveDevice(b.request(), pending.ID, oauth2.Approval{Subject: "bob", Scopes: []string{}}))
		tok := d.poll("box", d.boxSecret, r.Str("device_code"))
		require.Equal(t, http.StatusOK, tok.Status, "%s", tok.Body)
		assert.Empty(t, tok.Str("refresh_token"))
		assert.Empty(t, tok.Str("scope"), "no scope was asked for and none granted")
	})
	t.Run("access_denied after a denial, and for good", func(t *testing.T) {
		d := newDevice(t, nil)
		deviceCode, userCode := d.start()
		b := &browser{addr: "198.51.100.7"}
		pending, err := d.enter(b, userCode)
		require.NoError(t, err)
		require.NoError(t, d.Provider.DenyDevice(b.request(), pending.ID))
		for range 2 {
			testkit.RequireOAuthError(t, d.poll("tv", "", deviceCode), http.StatusBadRequest, oauth2.ErrAccessDenied)
			d.Advance(5 * time.Second)
		}
		_, err = d.enter(b, userCode)
		assert.ErrorIs(t, err, oauth2.ErrUserCodeNotFound, "a decided code cannot be entered again")
	})
	t.Run("expired_token after expires_in, even once approved", func(t *testing.T) {
		d := newDevice(t, nil)
		deviceCode, userCode := d.start()
		d.approve(userCode)
		d.Advance(10 * time.Minute)
		testkit.RequireOAuthError(t, d.poll("tv", "", deviceCode), http.StatusBadRequest, oauth2.ErrExpiredToken)
	})
	t.Run("an expired code cannot be entered", func(t *testing.T) {
		d := newDevice(t, nil)
		_, userCode := d.start()
		d.Advance(10 * time.Minute)
		_, err := d.enter(&browser{addr: "198.51.100.7"}, userCode)
		assert.ErrorIs(t, err, oauth2.ErrUserCodeNotFound)
	})
	t.Run("another client's poll is invalid_grant and changes nothing (RFC 8628 §3.4)", func(t *testing.T) {
		d := newDevice(t, nil)
		deviceCode, userCode := d.start()
		testkit.RequireOAuthError(t, d.poll("tv", "", deviceCode), http.StatusBadRequest, oauth2.ErrAuthorizationPending)
		d.approve(userCode)
		d.Advance(time.Second)
		testkit.RequireOAuthError(t, d.poll("radio", "", deviceCode), http.StatusBadRequest, oauth2.ErrInvalidGrant)
		testkit.RequireOAuthError(t, d.poll("box", d.boxSecret, deviceCode), http.StatusBadRequest, oauth2.ErrInvalidGrant)
		d.Advance(3 * time.Second) // 4 s after the owner's poll, 3 s after the others
		r := d.poll("tv", "", deviceCode)
		assert.Equal(t, http.StatusOK, r.Status, "the owner's interval is untouched: %s", r.Body)
	})
	t.Run("a forged, malformed or missing device code", func(t *testing.T) {
		d := newDevice(t, nil)
		deviceCode, _ := d.start()
		forged := deviceCode[:len(deviceCode)-1] + "A"
		if forged == deviceCode {
			forged = deviceCode[:len(deviceCode)-1] + "B"
		}
		testkit.RequireOAuthError(t, d.poll("tv", "", forged), http.StatusBadRequest, oauth2.ErrInvalidGrant)
		testkit.RequireOAuthError(t, d.poll("tv", "", "gr_dc_x"), http.StatusBadRequest, oauth2.ErrInvalidGrant)
		testkit.RequireOAuthError(t, d.poll("tv", "", ""), http.StatusBadRequest, oauth2.ErrInvalidRequest)
	})
	t.Run("a client not registered for the grant cannot poll", func(t *testing.T) {
		d := newDevice(t, nil)
		deviceCode, _ := d.start()
		testkit.RequireOAuthError(t, d.poll("web", d.webSecret, deviceCode), http.StatusBadRequest, oauth2.ErrUnauthorizedClient)
	})
}

func TestDeviceSlowDown(t *testing.T) {
	t.Run("a poll sooner than the interval is slow_down, and the 5 s it adds persist (RFC 8628 §3.5)", func(t *testing.T) {
		d := newDevice(t, nil)
		deviceCode, _ := d.start()
		pending := func() {
			testkit.RequireOAuthError(t, d.poll("tv", "", deviceCode), http.StatusBadRequest, oauth2.ErrAuthorizationPending)
		}
		slow := func() {
			testkit.RequireOAuthError(t, d.poll("tv", "", deviceCode), http.StatusBadRequest, oauth2.ErrSlowDown)
		}
		pending() // the first poll may come at once
		d.Advance(5 * time.Second)
		pending() // at the interval exactly
		d.Advance(4*time.Second + 500*time.Millisecond)
		pending() // a little early, as a delayed request arrives: allowed
		d.Advance(3 * time.Second)
		r := d.poll("tv", "", deviceCode) // interval now 10 s
		testkit.RequireOAuthError(t, r, http.StatusBadRequest, oauth2.ErrSlowDown)
		assert.Contains(t, r.Str("error_description"), "wait 10 seconds")
		d.Advance(5 * time.Second)
		slow() // the old interval is too soon now: 15 s
		d.Advance(15 * time.Second)
		pending()
		d.Advance(15 * time.Second)
		pending()
	})
	t.Run("slow_down once approved: the client waits and then gets its tokens", func(t *testing.T) {
		d := newDevice(t, nil)
		deviceCode, userCode := d.start()
		testkit.RequireOAuthError(t, d.poll("tv", "", deviceCode), http.StatusBadRequest, oauth2.ErrAuthorizationPending)
		d.approve(userCode)
		testkit.RequireOAuthError(t, d.poll("tv", "", deviceCode), http.StatusBadRequest, oauth2.ErrSlowDown)
		d.Advance(10 * time.Second)
		assert.Equal(t, http.StatusOK, d.poll("tv", "", deviceCode).Status)
	})
	t.Run("50 concurrent polls of an approved code get one token set", func(t *testing.T) {
		d := newDevice(t, nil)
		deviceCode, userCode := d.start()
		d.approve(userCode)
		statuses := make(chan *testkit.Response, 50)
		var wg sync.WaitGroup
		for range 50 {
			wg.Go(func() { statuses <- d.poll("tv", "", deviceCode) })
		}
		wg.Wait()
		close(statuses)
		ok := 0
		for r := range statuses {
			if r.Status == http.StatusOK {
				ok++
				continue
			}
			assert.Contains(t, []string{"slow_down", "invalid_grant"}, r.Str("error"))
		}
		assert.Equal(t, 1, ok)
		assert.Len(t, d.Events(oauth2.EventTokenIssued), 1)
	})
}

func TestDeviceVerification(t *testing.T) {
	t.Run("the user code is found in any case, with or without separators (RFC 8628 §6.1)", func(t *testing.T) {
		d := newDevice(t, nil)
		_, userCode := d.start()
		plain := strings.ReplaceAll(userCode, "-", "")
		for _, typed := range []string{userCode, plain, strings.ToLower(plain[:4]) + " " + strings.ToLower(plain[4:]),
			" " + strings.ToLower(userCode) + " "} {
			pending, err := d.enter(&browser{addr: "198.51.100.7"}, typed)
			require.NoError(t, err, typed)
			assert.Equal(t, userCode, pending.UserCode)
			assert.Equal(t, "tv", pending.Client.ID)
			assert.Equal(t, "Living Room TV", pending.Client.Name)
		}
		for _, typed := range []string{plain[:7], plain + "B", "AEIOUAEI", userCode + "\x00", strings.Repeat(" ", 100) + plain} {
			_, err := d.enter(&browser{addr: "198.51.100.7"}, typed)
			assert.ErrorIs(t, err, oauth2.ErrUserCodeNotFound, "%q", typed)
		}
	})
	t.Run("the interaction is bound to the browser that entered the code", func(t *testing.T) {
		d := newDevice(t, nil)
		deviceCode, userCode := d.start()
		b := &browser{addr: "198.51.100.7"}
		pending, err := d.enter(b, userCode)
		require.NoError(t, err)
		require.Len(t, b.cookies, 1)
		other := &browser{addr: "198.51.100.7"}
		assert.ErrorIs(t, d.Provider.ApproveDevice(other.request(), pending.ID, oauth2.Approval{Subject: "mallory"}), oauth2.ErrInteractionBrowser)
		_, err = d.Provider.DeviceInteraction(other.request(), pending.ID)
		assert.ErrorIs(t, err, oauth2.ErrInteractionBrowser)

		again, err := d.Provider.DeviceInteraction(b.request(), pending.ID)
		require.NoError(t, err)
		assert.Equal(t, "tv", again.Client.ID)
		assert.Equal(t, []string{"read"}, again.Scopes)
		require.NoError(t, d.Provider.ApproveDevice(b.request(), pending.ID, oauth2.Approval{Subject: "alice"}))
		assert.ErrorIs(t, d.Provider.ApproveDevice(b.request(), pending.ID, oauth2.Approval{Subject: "alice"}), oauth2.ErrInteractionNotFound)
		assert.Equal(t, http.StatusOK, d.poll("tv", "", deviceCode).Status)
	})
	t.Run("of two browsers that entered one code, the first decision wins", func(t *testing.T) {
		d := newDevice(t, nil)
		deviceCode, userCode := d.start()
		b1, b2 := &browser{addr: "198.51.100.7"}, &browser{addr: "203.0.113.9"}
		p1, err := d.enter(b1, userCode)
		require.NoError(t, err)
		p2, err := d.enter(b2, userCode)
		require.NoError(t, err)
		require.NoError(t, d.Provider.DenyDevice(b2.request(), p2.ID))
		assert.ErrorIs(t, d.Provider.ApproveDevice(b1.request(), p1.ID, oauth2.Approval{Subject: "alice"}), oauth2.ErrInteractionNotFound)
		testkit.RequireOAuthError(t, d.poll("tv", "", deviceCode), http.StatusBadRequest, oauth2.ErrAccessDenied)
	})
	t.Run("an approval is checked like the code flow's", func(t *testing.T) {
		d := newDevice(t, nil)
		_, userCode := d.start()
		b := &browser{addr: "198.51.100.7"}
		pending, err := d.enter(b, userCode)
		require.NoError(t, err)
		for _, a := range []oauth2.Approval{
			{},
			{Subject: "client:tv"},
			{Subject: "alice", Scopes: []string{"write"}}, // not asked for
			{Subject: "alice", Claims: map[string]any{"sub": "bob"}},
		} {
			assert.Error(t, d.Provider.ApproveDevice(b.request(), pending.ID, a), "%+v", a)
		}
		assert.NoError(t, d.Provider.ApproveDevice(b.request(), pending.ID, oauth2.Approval{Subject: "alice"}))
	})
	t.Run("device and code-flow interactions do not mix", func(t *testing.T) {
		d := newDevice(t, nil)
		_, userCode := d.start()
		b := &browser{addr: "198.51.100.7"}
		pending, err := d.enter(b, userCode)
		require.NoError(t, err)
		w := httptest.NewRecorder()
		assert.ErrorIs(t, d.Provider.Approve(w, b.request(), pending.ID, oauth2.Approval{Subject: "alice"}), oauth2.ErrInteractionNotFound)
		assert.ErrorIs(t, d.Provider.Deny(w, b.request(), pending.ID), oauth2.ErrInteractionNotFound)
		_, err = d.Provider.PendingAuthorization(b.request(), pending.ID)
		assert.ErrorIs(t, err, oauth2.ErrInteractionNotFound)
		assert.Equal(t, 200, w.Code, "nothing written")
		assert.Empty(t, w.Header().Get("Location"))
	})
	t.Run("a locked user's approval is refused when redeemed (CheckGrant)", func(t *testing.T) {
		locked := map[string]bool{}
		d := newDevice(t, func(_ *oauth2.Config, o *grant.DeviceCodeOptions) {
			o.CheckGrant = func(_ context.Context, _ *storage.Client, rec *storage.DeviceAuthorization) error {
				if locked[rec.Subject] {
					return errors.New("locked")
				}
				return nil
			}
		})
		deviceCode, userCode := d.start()
		d.approve(userCode)
		locked["alice"] = true
		testkit.RequireOAuthError(t, d.poll("tv", "", deviceCode), http.StatusBadRequest, oauth2.ErrAccessDenied)
		assert.Empty(t, d.Events(oauth2.EventTokenIssued))
	})
}

func TestUserCodeGuessing(t *testing.T) {
	t.Run("a sixth code from one browser is throttled, before any lookup (RFC 8628 §5.1)", func(t *testing.T) {
		d := newDevice(t, func(_ *oauth2.Config, o *grant.DeviceCodeOptions) { o.CodeLifetime = time.Hour })
		_, userCode := d.start()
		b := &browser{addr: "198.51.100.7"}
		for range 5 {
			_, err := d.enter(b, "BBBB-BBBB")
			require.ErrorIs(t, err, oauth2.ErrUserCodeNotFound)
		}
		_, err := d.enter(b, userCode)
		require.ErrorIs(t, err, oauth2.ErrThrottled, "even the right code")
		var te *oauth2.ThrottledError
		require.ErrorAs(t, err, &te)
		assert.Equal(t, 10*time.Minute-time.Duration(d.Now().UnixNano()%int64(10*time.Minute)), te.RetryAfter)
		assert.Equal(t, "600", te.RetryAfterSeconds())

		_, err = d.enter(&browser{addr: "203.0.113.9"}, userCode)
		assert.NoError(t, err, "another browser at another address is not locked out")
		d.Advance(10 * time.Minute)
		_, err = d.enter(b, userCode)
		assert.NoError(t, err, "the window has passed")
	})
	t.Run("an address has four browsers' budget, whatever cookies it sends", func(t *testing.T) {
		d := newDevice(t, nil)
		_, userCode := d.start()
		for i := range 20 {
			_, err := d.enter(&browser{addr: "198.51.100.7"}, "BBBB-BBBB")
			require.ErrorIs(t, err, oauth2.ErrUserCodeNotFound, "attempt %d", i)
		}
		_, err := d.enter(&browser{addr: "198.51.100.7"}, userCode)
		assert.ErrorIs(t, err, oauth2.ErrThrottled)
		_, err = d.enter(&browser{addr: "203.0.113.9"}, userCode)
		assert.NoError(t, err)
	})
	t.Run("an account that drops its cookie and changes its address is throttled at its sixth code (Config.UserCodeAccount)", func(t *testing.T) {
		d := newDevice(t, func(cfg *oauth2.Config, o *grant.DeviceCodeOptions) {
			o.CodeLifetime = time.Hour
			cfg.UserCodeAccount = func(r *http.Request) string { return r.Header.Get("X-Test-Account") }
		})
		_, userCode := d.start()
		enterAs := func(account, addr, code string) error {
			b := &browser{addr: addr} // a new browser each time
			r := b.request()
			r.Header.Set("X-Test-Account", account)
			_, err := d.Provider.PendingDeviceAuthorization(httptest.NewRecorder(), r, code)
			return err
		}
		for i := range 5 {
			require.ErrorIs(t, enterAs("mallory", fmt.Sprintf("203.0.113.%d", i+1), "BBBB-BBBB"), oauth2.ErrUserCodeNotFound)
		}
		assert.ErrorIs(t, enterAs("mallory", "203.0.113.99", userCode), oauth2.ErrThrottled)
		assert.NoError(t, enterAs("alice", "203.0.113.99", userCode), "another account is not held back")
		assert.NoError(t, enterAs("", "198.51.100.1", userCode), "no account: the browser and address budgets only")
	})
	t.Run("what cannot be a user code is not counted", func(t *testing.T) {
		d := newDevice(t, nil)
		_, userCode := d.start()
		b := &browser{addr: "198.51.100.7"}
		for range 10 {
			_, err := d.enter(b, "not a code!")
			require.ErrorIs(t, err, oauth2.ErrUserCodeNotFound)
		}
		_, err := d.enter(b, userCode)
		assert.NoError(t, err)
	})
	t.Run("the limits are configurable and can be switched off", func(t *testing.T) {
		d := newDevice(t, func(cfg *oauth2.Config, _ *grant.DeviceCodeOptions) { cfg.UserCodeAttempts = -1 })
		b := &browser{addr: "198.51.100.7"}
		for range 30 {
			_, err := d.enter(b, "BBBB-BBBB")
			require.ErrorIs(t, err, oauth2.ErrUserCodeNotFound)
		}
	})
}

func TestDeviceCodeOptions(t *testing.T) {
	bad := map[string]grant.DeviceCodeOptions{
		"no verification URI":             {},
		"a relative verification URI":     {VerificationURI: "/device"},
		"http outside loopback":           {VerificationURI: "http://as.example/device"},
		"a fragment":                      {VerificationURI: "https://as.example/device#x"},
		"a lifetime under a minute":       {VerificationURI: verificationURI, CodeLifetime: 30 * time.Second},
		"a lifetime over an hour":         {VerificationURI: verificationURI, CodeLifetime: 2 * time.Hour},
		"an interval of 1.5 seconds":      {VerificationURI: verificationURI, Interval: 1500 * time.Millisecond},
		"an interval over a minute":       {VerificationURI: verificationURI, Interval: 2 * time.Minute},
		"a lower-case alphabet":           {VerificationURI: verificationURI, UserCodeAlphabet: "bcdfghjk"},
		"an alphabet with a repeat":       {VerificationURI: verificationURI, UserCodeAlphabet: "BCDFB"},
		"an alphabet with punctuation":    {VerificationURI: verificationURI, UserCodeAlphabet: "BCD-F"},
		"fewer than 20 bits":              {VerificationURI: verificationURI, UserCodeLength: 4},
		"a user code longer than 32":      {VerificationURI: verificationURI, UserCodeLength: 33},
		"an alphabet of a single letter":  {VerificationURI: verificationURI, UserCodeAlphabet: "B", UserCodeLength: 32},
		"digits only, too short for 20 b": {VerificationURI: verificationURI, UserCodeAlphabet: "0123456789", UserCodeLength: 6},
	}
	for name, opts := range bad {
		t.Run(name, func(t *testing.T) {
			store := memory.New()
			_, err := oauth2.NewProvider(oauth2.Config{Issuer: "https://as.example", Clients: store, Tokens: store,
				TokenKeys: [][]byte{make([]byte, 32)}, Interactions: store,
				Grants: []oauth2.GrantFactory{grant.DeviceCode(store, opts)}})
			assert.Error(t, err)
		})
	}
	t.Run("the verification page needs Config.Interactions", func(t *testing.T) {
		store := memory.New()
		_, err := oauth2.NewProvider(oauth2.Config{Issuer: "https://as.example", Clients: store, Tokens: store,
			TokenKeys: [][]byte{make([]byte, 32)},
			Grants:    []oauth2.GrantFactory{grant.DeviceCode(store, grant.DeviceCodeOptions{VerificationURI: verificationURI})}})
		assert.ErrorContains(t, err, "Interactions")
	})
	t.Run("a custom alphabet, length and interval", func(t *testing.T) {
		d := newDevice(t, func(_ *oauth2.Config, o *grant.DeviceCodeOptions) {
			o.UserCodeAlphabet, o.UserCodeLength, o.Interval = "0123456789", 9, 2*time.Second
			o.VerificationURI = "http://127.0.0.1:8080/device?lang=en"
		})
		r := d.authorizeDevice("tv", "")
		require.Equal(t, http.StatusOK, r.Status)
		assert.Regexp(t, `^[0-9]{4}-[0-9]{4}-[0-9]$`, r.Str("user_code"))
		assert.EqualValues(t, 2, r.JSON["interval"])
		assert.Equal(t, "http://127.0.0.1:8080/device?lang=en&user_code="+r.Str("user_code"), r.Str("verification_uri_complete"))
		_, err := d.enter(&browser{addr: "198.51.100.7"}, strings.ReplaceAll(r.Str("user_code"), "-", " "))
		assert.NoError(t, err)
	})
}

func TestDeviceDecisionFailures(t *testing.T) {
	newFaulty := func(t *testing.T) (*deviceHarness, *storagetest.Faulty) {
		var faulty *storagetest.Faulty
		h := testkit.New(t, func(cfg *oauth2.Config, store *memory.Store) {
			faulty = storagetest.NewFaulty(store)
			cfg.Grants = []oauth2.GrantFactory{grant.DeviceCode(faulty, grant.DeviceCodeOptions{VerificationURI: verificationURI})}
			cfg.Interactions = faulty
		})
		h.AddClient(storage.Client{ID: "tv", TokenEndpointAuthMethod: oauth2.AuthMethodNone,
			GrantTypes: []string{grant.GrantTypeDeviceCode}, Scopes: []string{"read"}})
		return &deviceHarness{Harness: h}, faulty
	}
	t.Run("a decision the store failed to record can be retried", func(t *testing.T) {
		d, faulty := newFaulty(t)
		deviceCode, userCode := d.start()
		b := &browser{addr: "198.51.100.7"}
		pending, err := d.enter(b, userCode)
		require.NoError(t, err)
		faulty.Fail(storagetest.OpDecideDeviceAuthorization, nil)
		err = d.Provider.ApproveDevice(b.request(), pending.ID, oauth2.Approval{Subject: "alice"})
		require.ErrorIs(t, err, oauth2.ErrStorageFailure)
		faulty.Heal()
		require.NoError(t, d.Provider.ApproveDevice(b.request(), pending.ID, oauth2.Approval{Subject: "alice"}), "the interaction is still open")
		assert.Equal(t, http.StatusOK, d.poll("tv", "", deviceCode).Status)
	})
	t.Run("a store failure while polling answers 503, and the poll can be repeated", func(t *testing.T) {
		d, faulty := newFaulty(t)
		deviceCode, _ := d.start()
		faulty.Fail(storagetest.OpPollDeviceAuthorization, nil)
		r := d.poll("tv", "", deviceCode)
		testkit.RequireOAuthError(t, r, http.StatusServiceUnavailable, oauth2.ErrTemporarilyUnavailable)
		assert.NotEmpty(t, r.Header.Get("Retry-After"))
		faulty.Heal()
		testkit.RequireOAuthError(t, d.poll("tv", "", deviceCode), http.StatusBadRequest, oauth2.ErrAuthorizationPending)
	})
	t.Run("a store failure at redemption answers 503 and issues nothing", func(t *testing.T) {
		d, faulty := newFaulty(t)
		deviceCode, userCode := d.start()
		d.approve(userCode)
		faulty.Fail(storagetest.OpConsumeDeviceAuthorization, nil)
		testkit.RequireOAuthError(t, d.poll("tv", "", deviceCode), http.StatusServiceUnavailable, oauth2.ErrTemporarilyUnavailable)
		assert.Empty(t, d.Events(oauth2.EventTokenIssued))
		faulty.Heal()
		d.Advance(5 * time.Second)
		assert.Equal(t, http.StatusOK, d.poll("tv", "", deviceCode).Status)
	})
	t.Run("a store failure at the device authorization endpoint answers 503", func(t *testing.T) {
		d, faulty := newFaulty(t)
		faulty.Fail(storagetest.OpCreateDeviceAuthorization, nil)
		testkit.RequireOAuthError(t, d.authorizeDevice("tv", ""), http.StatusServiceUnavailable, oauth2.ErrTemporarilyUnavailable)
	})
	t.Run("a store failure at the lookup is ErrStorageFailure, not a wrong code", func(t *testing.T) {
		d, faulty := newFaulty(t)
		_, userCode := d.start()
		faulty.Fail(storagetest.OpDeviceAuthorizationByUserCode, nil)
		_, err := d.enter(&browser{addr: "198.51.100.7"}, userCode)
		assert.ErrorIs(t, err, oauth2.ErrStorageFailure)
		assert.NotErrorIs(t, err, oauth2.ErrUserCodeNotFound)
	})
	t.Run("an approval too large to store is the approval's error, and the interaction stays open", func(t *testing.T) {
		d, _ := newFaulty(t)
		_, userCode := d.start()
		b := &browser{addr: "198.51.100.7"}
		pending, err := d.enter(b, userCode)
		require.NoError(t, err)
		err = d.Provider.ApproveDevice(b.request(), pending.ID, oauth2.Approval{Subject: "alice",
			Claims: map[string]any{"blob": strings.Repeat("x", storage.MaxRecordBytes)}})
		require.Error(t, err)
		assert.NotErrorIs(t, err, oauth2.ErrStorageFailure)
		assert.NoError(t, d.Provider.ApproveDevice(b.request(), pending.ID, oauth2.Approval{Subject: "alice"}))
	})
}
