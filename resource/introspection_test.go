package resource_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/oauth2"
	"github.com/grantor-dev/grantor/resource"
)

// Tests of the introspection client (RFC 7662): its cache, its answers
// to outages, and the answers it accepts.

// introspector returns an Introspection validator of rs-a that reaches
// the Provider through the counting proxy.
func (e *env) introspector(cfg resource.IntrospectionConfig) resource.Validator {
	e.T.Helper()
	cfg.URL = e.Proxy.URL + oauth2.IntrospectionPath
	cfg.ClientID, cfg.ClientSecret, cfg.Clock = "rs-a", e.rsASecret, e.Now
	v, err := resource.Introspection(cfg)
	require.NoError(e.T, err)
	return v
}

func TestIntrospectionCache(t *testing.T) {
	e := newEnv(t, "opaque")
	h := api(e.introspector(resource.IntrospectionConfig{}))
	asked := func() int { return e.count(oauth2.IntrospectionPath) }
	tok := e.svcToken()

	require.Equal(t, http.StatusOK, call(h, tok).status)
	require.Equal(t, http.StatusOK, call(h, tok).status)
	assert.Equal(t, 1, asked(), "the second call is answered from the cache")

	// A revoked token stays accepted while its answer is cached (RFC 7662
	// §4), at most CacheTTL.
	require.Equal(t, http.StatusOK, e.Revoke("svc", e.svcSecret, tok).Status)
	e.Advance(resource.DefaultIntrospectionCacheTTL - time.Second)
	assert.Equal(t, http.StatusOK, call(h, tok).status)
	assert.Equal(t, 1, asked())
	e.Advance(time.Second)
	requireInvalid(t, call(h, tok), tok)
	assert.Equal(t, 2, asked(), "CacheTTL has passed: the authorization server is asked again")

	// Inactive answers are cached too, for less time.
	requireInvalid(t, call(h, tok), tok)
	assert.Equal(t, 2, asked())
	e.Advance(resource.MaxInactiveCacheTTL)
	requireInvalid(t, call(h, tok), tok)
	assert.Equal(t, 3, asked())
}

func TestIntrospectionCacheEndsAtExp(t *testing.T) {
	e := newEnv(t, "opaque")
	h := api(e.introspector(resource.IntrospectionConfig{CacheTTL: 2 * time.Hour}))
	tok := e.svcToken() // expires in one hour
	require.Equal(t, http.StatusOK, call(h, tok).status)
	e.Advance(time.Hour)
	requireInvalid(t, call(h, tok), tok)
	assert.Equal(t, 2, e.count(oauth2.IntrospectionPath))
}

func TestIntrospectionCacheIsBounded(t *testing.T) {
	e := newEnv(t, "opaque")
	h := api(e.introspector(resource.IntrospectionConfig{CacheSize: 2}))
	t1, t2, t3 := e.svcToken(), e.svcToken(), e.svcToken()
	for _, tok := range []string{t1, t2, t3} {
		require.Equal(t, http.StatusOK, call(h, tok).status)
	}
	assert.Equal(t, 3, e.count(oauth2.IntrospectionPath))
	// t1, the least recently used, was evicted; t3 was not.
	require.Equal(t, http.StatusOK, call(h, t1).status)
	assert.Equal(t, 4, e.count(oauth2.IntrospectionPath))
	require.Equal(t, http.StatusOK, call(h, t3).status)
	assert.Equal(t, 4, e.count(oauth2.IntrospectionPath))
}

func TestIntrospectionCacheOff(t *testing.T) {
	e := newEnv(t, "opaque")
	h := api(e.introspector(resource.IntrospectionConfig{CacheTTL: -1}))
	tok := e.svcToken()
	require.Equal(t, http.StatusOK, call(h, tok).status)
	require.Equal(t, http.StatusOK, e.Revoke("svc", e.svcSecret, tok).Status)
	requireInvalid(t, call(h, tok), tok)
	assert.Equal(t, 2, e.count(oauth2.IntrospectionPath))
}

// TestIntrospectionCachedTokensAreCopies: a handler that changes the
// token it got cannot change what the next request sees.
func TestIntrospectionCachedTokensAreCopies(t *testing.T) {
	e := newEnv(t, "opaque")
	v := e.introspector(resource.IntrospectionConfig{})
	tok := e.svcToken()
	a, err := v.Validate(context.Background(), tok)
	require.NoError(t, err)
	a.Scopes[0] = "admin"
	a.Audience[0] = "x"
	b, err := v.Validate(context.Background(), tok)
	require.NoError(t, err)
	assert.Equal(t, []string{"read"}, b.Scopes)
	assert.Equal(t, []string{apiA}, b.Audience)
}

// stubAS is an introspection endpoint that answers with answer, and
// counts its calls.
func stubAS(t *testing.T, answer func(w http.ResponseWriter, r *http.Request)) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		answer(w, r)
	}))
	t.Cleanup(s.Close)
	return s, &n
}

func stubValidator(t *testing.T, url string) resource.Validator {
	t.Helper()
	v, err := resource.Introspection(resource.IntrospectionConfig{URL: url, ClientID: "rs", ClientSecret: "s"})
	require.NoError(t, err)
	return v
}

func jsonAnswer(status int, body string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}
}

// TestIntrospectionOutageIs503: whatever keeps the authorization server
// from answering is 503 at the API, never 401, and is not cached.
func TestIntrospectionOutageIs503(t *testing.T) {
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	cases := map[string]func(http.ResponseWriter, *http.Request){
		"500":                   jsonAnswer(500, `{"error":"server_error"}`),
		"503":                   jsonAnswer(503, `{"error":"temporarily_unavailable"}`),
		"429":                   jsonAnswer(429, `{"error":"invalid_request"}`),
		"401 (our credentials)": jsonAnswer(401, `{"error":"invalid_client"}`),
		"redirect is not followed": func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "/elsewhere", http.StatusTemporaryRedirect)
		},
		"not JSON":           jsonAnswer(200, `<html>`),
		"no active member":   jsonAnswer(200, `{"sub":"x"}`),
		"active is a string": jsonAnswer(200, `{"active":"true"}`),
		"aud is a number":    jsonAnswer(200, `{"active":true,"aud":3}`),
		"exp is a string":    jsonAnswer(200, `{"active":true,"exp":"soon"}`),
		"too large":          jsonAnswer(200, `{"active":true,"x":"`+strings.Repeat("a", resource.MaxIntrospectionResponseSize)+`"}`),
	}
	for name, answer := range cases {
		t.Run(name, func(t *testing.T) {
			s, n := stubAS(t, answer)
			h := resource.Middleware(resource.Config{Validator: stubValidator(t, s.URL)})(echo)
			for range 2 {
				res := call(h, goodToken)
				assert.Equal(t, http.StatusServiceUnavailable, res.status)
				assert.Empty(t, res.www)
			}
			assert.Equal(t, int32(2), n.Load(), "failures are not cached")
		})
	}
	t.Run("connection refused", func(t *testing.T) {
		v := stubValidator(t, closed.URL)
		_, err := v.Validate(context.Background(), goodToken)
		require.ErrorIs(t, err, resource.ErrUnavailable)
		assert.NotErrorIs(t, err, resource.ErrInvalidToken)
		assert.NotContains(t, err.Error(), goodToken)
		res := call(resource.Middleware(resource.Config{Validator: v})(echo), goodToken)
		assert.Equal(t, http.StatusServiceUnavailable, res.status)
	})
	t.Run("timeout", func(t *testing.T) {
		release := make(chan struct{})
		s, _ := stubAS(t, func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		})
		t.Cleanup(func() { close(release) }) // before the server closes
		v, err := resource.Introspection(resource.IntrospectionConfig{URL: s.URL, ClientID: "rs", ClientSecret: "s",
			HTTPClient: &http.Client{Timeout: 50 * time.Millisecond}})
		require.NoError(t, err)
		_, err = v.Validate(context.Background(), goodToken)
		assert.ErrorIs(t, err, resource.ErrUnavailable)
	})
}

// TestIntrospectionWrongCredentialsIs503: with a real Provider, a
// resource server whose secret is wrong gets 401 invalid_client, which is
// an outage of the API, not the client's fault.
func TestIntrospectionWrongCredentialsIs503(t *testing.T) {
	e := newEnv(t, "opaque")
	v, err := resource.Introspection(resource.IntrospectionConfig{URL: e.Provider.IntrospectionEndpoint(),
		ClientID: "rs-a", ClientSecret: "wrong"})
	require.NoError(t, err)
	assert.Equal(t, http.StatusServiceUnavailable, call(api(v), e.svcToken()).status)
}

// TestIntrospectionRequest: client_secret_basic with form-encoded
// credentials (RFC 6749 §2.3.1), the token and a hint in the form body.
func TestIntrospectionRequest(t *testing.T) {
	var got url.Values
	var id, secret string
	var ok bool
	s, _ := stubAS(t, func(w http.ResponseWriter, r *http.Request) {
		id, secret, ok = r.BasicAuth()
		_ = r.ParseForm()
		got = r.PostForm
		jsonAnswer(200, `{"active":false}`)(w, r)
	})
	v, err := resource.Introspection(resource.IntrospectionConfig{URL: s.URL, ClientID: "rs:1", ClientSecret: "p@ss word%"})
	require.NoError(t, err)
	_, err = v.Validate(context.Background(), goodToken)
	require.ErrorIs(t, err, resource.ErrInvalidToken)
	require.True(t, ok)
	assert.Equal(t, url.QueryEscape("rs:1"), id)
	assert.Equal(t, url.QueryEscape("p@ss word%"), secret)
	assert.Equal(t, url.Values{"token": {goodToken}, "token_type_hint": {"access_token"}}, got)
}

// TestIntrospectionTokenTypes: which active answers are accepted.
func TestIntrospectionTokenTypes(t *testing.T) {
	future := fmt.Sprint(time.Now().Add(time.Hour).Unix())
	past := fmt.Sprint(time.Now().Add(-time.Minute).Unix())
	cases := []struct {
		name   string
		answer string
		status int
	}{
		{"active without token_type", `{"active":true,"sub":"alice","scope":"read","exp":` + future + `}`, 200},
		{"Bearer in any case", `{"active":true,"token_type":"bearer"}`, 200},
		{"DPoP-bound as Bearer (RFC 9449 §7.2)", `{"active":true,"token_type":"DPoP","cnf":{"jkt":"abc"}}`, 401},
		{"DPoP without cnf", `{"active":true,"token_type":"DPoP"}`, 401},
		{"mTLS-bound (cnf x5t#S256)", `{"active":true,"token_type":"Bearer","cnf":{"x5t#S256":"abc"}}`, 401},
		{"refresh token (RFC 8725 §3.12)", `{"active":true,"token_type":"refresh_token"}`, 401},
		{"unknown token type", `{"active":true,"token_type":"N_A"}`, 401},
		{"active but expired", `{"active":true,"exp":` + past + `}`, 401},
		{"active but not yet valid", `{"active":true,"nbf":` + future + `}`, 401},
		{"inactive", `{"active":false}`, 401},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, _ := stubAS(t, jsonAnswer(200, c.answer))
			res := call(resource.Middleware(resource.Config{Validator: stubValidator(t, s.URL), Realm: "api-a"})(echo), goodToken)
			assert.Equal(t, c.status, res.status, res.www)
			if c.status == 401 {
				requireInvalid(t, res, goodToken)
			}
		})
	}
}

func TestIntrospectionExtraMembersAreClaims(t *testing.T) {
	s, _ := stubAS(t, jsonAnswer(200, `{"active":true,"sub":"alice","aud":["a","b"],"jti":"j1","iss":"https://as","tenant":"acme","n":12345678901234567890}`))
	tok, err := stubValidator(t, s.URL).Validate(context.Background(), goodToken)
	require.NoError(t, err)
	assert.Equal(t, "alice", tok.Subject)
	assert.Equal(t, []string{"a", "b"}, tok.Audience)
	assert.Equal(t, "j1", tok.ID)
	assert.Equal(t, "acme", tok.Claims["tenant"])
	assert.Equal(t, "https://as", tok.Claims["iss"])
	assert.Equal(t, "12345678901234567890", fmt.Sprint(tok.Claims["n"]), "numbers keep their precision")
}

func TestIntrospectionConfig(t *testing.T) {
	for name, cfg := range map[string]resource.IntrospectionConfig{
		"no URL":              {ClientID: "a", ClientSecret: "b"},
		"relative URL":        {URL: "/introspect", ClientID: "a", ClientSecret: "b"},
		"http, not loopback":  {URL: "http://as.example/introspect", ClientID: "a", ClientSecret: "b"},
		"user info":           {URL: "https://u:p@as.example/introspect", ClientID: "a", ClientSecret: "b"},
		"no client id":        {URL: "https://as.example/introspect", ClientSecret: "b"},
		"no secret":           {URL: "https://as.example/introspect", ClientID: "a"},
		"negative cache size": {URL: "https://as.example/introspect", ClientID: "a", ClientSecret: "b", CacheSize: -1},
	} {
		_, err := resource.Introspection(cfg)
		assert.Error(t, err, name)
	}
	for _, u := range []string{"https://as.example/introspect", "http://localhost:8080/introspect", "http://127.0.0.1/i", "http://[::1]/i"} {
		_, err := resource.Introspection(resource.IntrospectionConfig{URL: u, ClientID: "a", ClientSecret: "b"})
		assert.NoError(t, err, u)
	}
}

// TestValidatorErrorsAreDistinct: callers of a Validator outside
// Middleware tell the two kinds apart with errors.Is.
func TestValidatorErrorsAreDistinct(t *testing.T) {
	s, _ := stubAS(t, jsonAnswer(200, `{"active":false}`))
	_, err := stubValidator(t, s.URL).Validate(context.Background(), goodToken)
	var ite *resource.InvalidTokenError
	require.True(t, errors.As(err, &ite))
	assert.NotEmpty(t, ite.Description)
	assert.NotErrorIs(t, err, resource.ErrUnavailable)
}
