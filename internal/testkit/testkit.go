// Package testkit holds the test harness shared by Grantor's own tests: a
// Provider over the memory store behind an httptest server, with a clock
// the test moves and the events it emitted. It is internal: applications
// test against the public API and storage/memory.
package testkit

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/grantortest"
	"github.com/grantor-dev/grantor/oauth2"
	"github.com/grantor-dev/grantor/storage"
	"github.com/grantor-dev/grantor/storage/memory"
	"github.com/grantor-dev/grantor/token"
)

// Start is the time every harness clock starts at.
var Start = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

// Harness is a running Provider for black-box tests.
type Harness struct {
	T        *testing.T
	Store    *memory.Store
	Provider *oauth2.Provider
	Server   *httptest.Server
	// Config is the configuration the Provider was built from.
	Config oauth2.Config

	mu     sync.Mutex
	clock  *grantortest.Clock
	events []oauth2.Event
}

// New starts a Provider whose issuer is the test server's URL. configure
// may change the configuration before NewProvider; it receives the store.
func New(t *testing.T, configure func(cfg *oauth2.Config, store *memory.Store)) *Harness {
	t.Helper()
	h := &Harness{T: t, clock: grantortest.NewClock(Start)}
	h.Store = memory.New(memory.WithClock(h.Now))
	var handler http.Handler = http.NotFoundHandler()
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		handler.ServeHTTP(w, r)
	}))
	t.Cleanup(h.Server.Close)
	key := make([]byte, 32)
	_, err := rand.Read(key)
	require.NoError(t, err)
	h.Config = oauth2.Config{
		Issuer:    h.Server.URL,
		Clients:   h.Store,
		Tokens:    h.Store,
		TokenKeys: [][]byte{key},
		Clock:     h.Now,
		Events:    h.record,
	}
	if configure != nil {
		configure(&h.Config, h.Store)
	}
	h.Provider, err = oauth2.NewProvider(h.Config)
	require.NoError(t, err)
	handler = h.Provider.Handler()
	return h
}

// Now is the harness clock.
func (h *Harness) Now() time.Time { return h.clock.Now() }

// Advance moves the clock forward.
func (h *Harness) Advance(d time.Duration) { h.clock.Advance(d) }

func (h *Harness) record(_ context.Context, e oauth2.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.events = append(h.events, e)
}

// Events returns the events of one type emitted so far.
func (h *Harness) Events(typ oauth2.EventType) []oauth2.Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []oauth2.Event
	for _, e := range h.events {
		if e.Type == typ {
			out = append(out, e)
		}
	}
	return out
}

// AddClient registers c. When c has no SecretHash and its method is a
// secret method (or unset), a fresh generated secret is set and returned.
func (h *Harness) AddClient(c storage.Client) (secret string) {
	h.T.Helper()
	m := c.TokenEndpointAuthMethod
	if c.SecretHash == "" && (m == "" || m == oauth2.AuthMethodClientSecretBasic || m == oauth2.AuthMethodClientSecretPost) {
		var hash string
		var err error
		secret, hash, err = oauth2.GenerateClientSecret(nil)
		require.NoError(h.T, err)
		c.SecretHash = hash
	}
	require.NoError(h.T, h.Store.PutClient(&c))
	return secret
}

// Response is a decoded HTTP response.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
	// JSON is the body decoded as a JSON object, nil when it is not one.
	JSON map[string]any
}

// Str returns a string member of the JSON body.
func (r *Response) Str(name string) string {
	s, _ := r.JSON[name].(string)
	return s
}

// Do sends req and decodes the response.
func (h *Harness) Do(req *http.Request) *Response {
	h.T.Helper()
	resp, err := h.Server.Client().Do(req)
	require.NoError(h.T, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(h.T, err)
	out := &Response{Status: resp.StatusCode, Header: resp.Header, Body: body}
	_ = json.Unmarshal(body, &out.JSON)
	return out
}

// DoNoFollow sends req without following redirects.
func (h *Harness) DoNoFollow(req *http.Request) *Response {
	h.T.Helper()
	c := *h.Server.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Do(req)
	require.NoError(h.T, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(h.T, err)
	out := &Response{Status: resp.StatusCode, Header: resp.Header, Body: body}
	_ = json.Unmarshal(body, &out.JSON)
	return out
}

// TokenRequest builds a form POST to the token endpoint.
func (h *Harness) TokenRequest(form url.Values) *http.Request {
	h.T.Helper()
	req, err := http.NewRequest(http.MethodPost, h.Provider.TokenEndpoint(), strings.NewReader(form.Encode()))
	require.NoError(h.T, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return req
}

// Token posts form to the token endpoint with Basic credentials when id is
// not empty.
func (h *Harness) Token(id, secret string, form url.Values) *Response {
	h.T.Helper()
	req := h.TokenRequest(form)
	if id != "" {
		req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	}
	return h.Do(req)
}

// RequireOAuthError asserts an RFC 6749 §5.2 error response.
func RequireOAuthError(t *testing.T, r *Response, status int, code oauth2.ErrorCode) {
	t.Helper()
	require.Equal(t, status, r.Status, "body: %s", r.Body)
	require.Equal(t, string(code), r.Str("error"), "body: %s", r.Body)
	require.Equal(t, "application/json", r.Header.Get("Content-Type"))
	require.Equal(t, "no-store", r.Header.Get("Cache-Control"))
}

// SeedRefreshToken stores a refresh token record as if a grant had issued
// it, and returns the token. Unset fields get defaults: kind refresh, a
// fresh grant ID, issued now, expiring in a day. The token is signed with
// the Provider's own keys, so the refresh grant accepts it.
func (h *Harness) SeedRefreshToken(rec storage.Token) string {
	h.T.Helper()
	opaque, err := token.NewOpaque("gr_rt_", h.Config.TokenKeys)
	require.NoError(h.T, err)
	value, key, err := opaque.Generate()
	require.NoError(h.T, err)
	rec.Key, rec.Kind = key, storage.RefreshToken
	if rec.GrantID == "" {
		rec.GrantID = "grant-" + key[:8]
	}
	if rec.IssuedAt.IsZero() {
		rec.IssuedAt = h.Now()
	}
	if rec.ExpiresAt.IsZero() {
		rec.ExpiresAt = h.Now().Add(24 * time.Hour)
	}
	require.NoError(h.T, h.Store.CreateTokens(context.Background(), &rec))
	return value
}

// AccessTokenRecord returns the stored record of an access token.
func (h *Harness) AccessTokenRecord(accessToken string) (*storage.Token, error) {
	key, err := h.Provider.AccessTokenKey(context.Background(), accessToken)
	if err != nil {
		return nil, err
	}
	return h.Store.Token(context.Background(), key)
}

// RefreshTokenRecord returns the stored record of a refresh token.
func (h *Harness) RefreshTokenRecord(refreshToken string) (*storage.Token, error) {
	key, err := h.Provider.RefreshTokenKey(refreshToken)
	if err != nil {
		return nil, err
	}
	return h.Store.Token(context.Background(), key)
}

// PostForm posts form to endpoint as client id: with Basic credentials
// when secret is not empty, otherwise with client_id in the form when id
// is not empty (a public client), otherwise without identification.
func (h *Harness) PostForm(endpoint, id, secret string, form url.Values) *Response {
	h.T.Helper()
	form = cloneValues(form)
	if secret == "" && id != "" {
		form.Set("client_id", id)
	}
	req, err := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	require.NoError(h.T, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if secret != "" {
		req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	}
	return h.Do(req)
}

// Revoke asks the revocation endpoint (RFC 7009) to revoke tok as client
// id; extra are name, value pairs added to the form (token_type_hint).
func (h *Harness) Revoke(id, secret, tok string, extra ...string) *Response {
	h.T.Helper()
	return h.PostForm(h.Provider.RevocationEndpoint(), id, secret, tokenForm(tok, extra))
}

// Introspect asks the introspection endpoint (RFC 7662) about tok as
// client id; extra are name, value pairs added to the form.
func (h *Harness) Introspect(id, secret, tok string, extra ...string) *Response {
	h.T.Helper()
	return h.PostForm(h.Provider.IntrospectionEndpoint(), id, secret, tokenForm(tok, extra))
}

func tokenForm(tok string, extra []string) url.Values {
	form := url.Values{}
	if tok != "" {
		form.Set("token", tok)
	}
	for i := 0; i+1 < len(extra); i += 2 {
		form.Set(extra[i], extra[i+1])
	}
	return form
}

func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}
