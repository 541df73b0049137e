package resource_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/resource"
	"github.com/grantor-dev/grantor/token"
)

// Tests of the bearer token rules of Middleware and RequireScopes
// (RFC 6750 §2, §3), with a Validator that knows a few fixed tokens.

const goodToken = "gr_at_good-token.Abc~+/=="

// fakeValidator accepts goodToken and a few others, and counts calls.
type fakeValidator struct{ calls int }

func (f *fakeValidator) Validate(_ context.Context, tok string) (*resource.Token, error) {
	f.calls++
	switch tok {
	case goodToken:
		return &resource.Token{Subject: "alice", ClientID: "app", Scopes: []string{"read"}, Audience: []string{"https://api.example"}}, nil
	case "bound":
		return &resource.Token{Subject: "alice", Claims: map[string]any{"cnf": map[string]any{"jkt": "x"}}}, nil
	case "other-aud":
		return &resource.Token{Subject: "alice", Audience: []string{"https://other.example"}}, nil
	case "down":
		return nil, errors.New("the authorization server is down")
	case "nil":
		return nil, nil
	case "quoted":
		return nil, &resource.InvalidTokenError{Description: "bad \"token\" \\ é\r\n here"}
	case "token-error":
		return nil, token.ErrInvalid
	}
	return nil, &resource.InvalidTokenError{Description: "unknown token"}
}

// echo writes the context token as JSON.
var echo = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	t, ok := resource.FromContext(r.Context())
	if !ok {
		http.Error(w, "no token in context", http.StatusInternalServerError)
		return
	}
	_ = json.NewEncoder(w).Encode(t)
})

type result struct {
	status int
	www    string
	body   string
	header http.Header
}

func serve(h http.Handler, r *http.Request) result {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return result{rec.Code, rec.Header().Get("WWW-Authenticate"), rec.Body.String(), rec.Header()}
}

func get(header ...string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/hello", nil)
	for _, h := range header {
		r.Header.Add("Authorization", h)
	}
	return r
}

func TestBearerTokenRules(t *testing.T) {
	form := func(q string, body url.Values, ct string) *http.Request {
		r := httptest.NewRequest(http.MethodPost, "/hello"+q, strings.NewReader(body.Encode()))
		r.Header.Set("Content-Type", ct)
		return r
	}
	withHeader := func(r *http.Request, h string) *http.Request { r.Header.Set("Authorization", h); return r }
	tokenForm := url.Values{"access_token": {goodToken}}
	const formCT = "application/x-www-form-urlencoded"
	cases := []struct {
		name       string
		cfg        resource.Config
		req        *http.Request
		status     int
		www        string // exact challenge, or "" to skip
		errCode    string // error="..." expected in the challenge, "-" for none
		validCalls int
	}{
		{"valid token in the header", resource.Config{}, get("Bearer " + goodToken), 200, "", "-", 1},
		{"scheme is case-insensitive (RFC 9110 §11.1)", resource.Config{}, get("bEARER " + goodToken), 200, "", "-", 1},
		{"several spaces after the scheme (1*SP)", resource.Config{}, get("Bearer   " + goodToken), 200, "", "-", 1},
		{"no token: 401 without error code (RFC 6750 §3.1)", resource.Config{Realm: "api"}, get(), 401, `Bearer realm="api"`, "-", 0},
		{"no token and no realm", resource.Config{}, get(), 401, `Bearer`, "-", 0},
		{"another scheme carries no bearer token", resource.Config{Realm: "api"}, get("Basic YTpi"), 401, `Bearer realm="api"`, "-", 0},
		{"DPoP scheme is not supported yet", resource.Config{Realm: "api"}, get("DPoP " + goodToken), 401, `Bearer realm="api"`, "-", 0},
		{"Bearer without a token", resource.Config{}, get("Bearer"), 400, "", "invalid_request", 0},
		{"Bearer with only spaces", resource.Config{}, get("Bearer    "), 400, "", "invalid_request", 0},
		{"two tokens in one header", resource.Config{}, get("Bearer a b"), 400, "", "invalid_request", 0},
		{"a character outside b64token", resource.Config{}, get("Bearer abc,def"), 400, "", "invalid_request", 0},
		{"padding in the middle", resource.Config{}, get("Bearer ab=c"), 400, "", "invalid_request", 0},
		{"only padding", resource.Config{}, get("Bearer =="), 400, "", "invalid_request", 0},
		{"two Authorization headers", resource.Config{}, get("Bearer "+goodToken, "Bearer "+goodToken), 400, "", "invalid_request", 0},
		{"query token not allowed (RFC 6750 §2.3 off by default)", resource.Config{},
			httptest.NewRequest(http.MethodGet, "/hello?access_token="+url.QueryEscape(goodToken), nil), 400, "", "invalid_request", 0},
		{"query token allowed", resource.Config{AllowQueryToken: true},
			httptest.NewRequest(http.MethodGet, "/hello?access_token="+url.QueryEscape(goodToken), nil), 200, "", "-", 1},
		{"query token twice", resource.Config{AllowQueryToken: true},
			httptest.NewRequest(http.MethodGet, "/hello?access_token=a&access_token=b", nil), 400, "", "invalid_request", 0},
		{"empty query token", resource.Config{AllowQueryToken: true},
			httptest.NewRequest(http.MethodGet, "/hello?access_token=", nil), 400, "", "invalid_request", 0},
		{"header and query (RFC 6750 §2: one method only)", resource.Config{AllowQueryToken: true},
			withHeader(httptest.NewRequest(http.MethodGet, "/hello?access_token=x", nil), "Bearer "+goodToken), 400, "", "invalid_request", 0},
		{"form token not allowed is not read", resource.Config{}, form("", tokenForm, formCT), 401, "Bearer", "-", 0},
		{"form token allowed (RFC 6750 §2.2)", resource.Config{AllowFormToken: true}, form("", tokenForm, formCT), 200, "", "-", 1},
		{"form token with a charset", resource.Config{AllowFormToken: true}, form("", tokenForm, formCT+"; charset=utf-8"), 200, "", "-", 1},
		{"form token in a multipart body is not read", resource.Config{AllowFormToken: true}, form("", tokenForm, "multipart/form-data; boundary=x"), 401, "Bearer", "-", 0},
		{"form token in a GET is not read", resource.Config{AllowFormToken: true},
			func() *http.Request { r := form("", tokenForm, formCT); r.Method = http.MethodGet; return r }(), 401, "Bearer", "-", 0},
		{"form token twice", resource.Config{AllowFormToken: true}, form("", url.Values{"access_token": {"a", "b"}}, formCT), 400, "", "invalid_request", 0},
		{"header and form", resource.Config{AllowFormToken: true}, withHeader(form("", tokenForm, formCT), "Bearer "+goodToken), 400, "", "invalid_request", 0},
		{"query and form", resource.Config{AllowFormToken: true, AllowQueryToken: true}, form("?access_token=x", tokenForm, formCT), 400, "", "invalid_request", 0},
		{"unknown token", resource.Config{Realm: "api"}, get("Bearer unknown"), 401,
			`Bearer realm="api", error="invalid_token", error_description="unknown token"`, "invalid_token", 1},
		{"token.ErrInvalid from a custom validator is invalid_token", resource.Config{}, get("Bearer token-error"), 401, "", "invalid_token", 1},
		{"a validator returning no token and no error", resource.Config{}, get("Bearer nil"), 401, "", "invalid_token", 1},
		{"too long a token is not validated", resource.Config{}, get("Bearer " + strings.Repeat("a", resource.MaxTokenLength+1)), 401, "", "invalid_token", 0},
		{"a token for another audience", resource.Config{Audience: "https://api.example"}, get("Bearer other-aud"), 401, "", "invalid_token", 1},
		{"audience configured and present", resource.Config{Audience: "https://api.example"}, get("Bearer " + goodToken), 200, "", "-", 1},
		{"a sender-constrained token as Bearer (RFC 9449 §7.2)", resource.Config{}, get("Bearer bound"), 401, "", "invalid_token", 1},
		{"validator outage is 503, not 401", resource.Config{}, get("Bearer down"), 503, "", "-", 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := &fakeValidator{}
			c.cfg.Validator = v
			res := serve(resource.Middleware(c.cfg)(echo), c.req)
			assert.Equal(t, c.status, res.status, "body: %s", res.body)
			assert.Equal(t, c.validCalls, v.calls, "Validate calls")
			if c.www != "" {
				assert.Equal(t, c.www, res.www)
			}
			switch {
			case c.status == 200:
				assert.Empty(t, res.www)
				assert.Contains(t, res.body, `"Subject":"alice"`)
			case c.status == 503:
				assert.Empty(t, res.www)
				assert.Equal(t, "no-store", res.header.Get("Cache-Control"))
			case c.errCode == "-":
				assert.True(t, strings.HasPrefix(res.www, "Bearer"), res.www)
				assert.NotContains(t, res.www, "error=")
			default:
				assert.Contains(t, res.www, `error="`+c.errCode+`"`)
				assert.Contains(t, res.www, `error_description="`)
				assert.Equal(t, "no-store", res.header.Get("Cache-Control"))
			}
			assert.NotContains(t, res.www, goodToken, "a challenge never quotes the token")
		})
	}
}

func TestQueryTokenAnswerIsPrivate(t *testing.T) {
	h := resource.Middleware(resource.Config{Validator: &fakeValidator{}, AllowQueryToken: true})(echo)
	res := serve(h, httptest.NewRequest(http.MethodGet, "/hello?access_token="+url.QueryEscape(goodToken), nil))
	require.Equal(t, 200, res.status)
	assert.Equal(t, "private", res.header.Get("Cache-Control"), "RFC 6750 §2.3")
}

func TestFormTokenLeavesTheFormToTheHandler(t *testing.T) {
	h := resource.Middleware(resource.Config{Validator: &fakeValidator{}, AllowFormToken: true})(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(r.PostFormValue("item"))) }))
	r := httptest.NewRequest(http.MethodPost, "/items", strings.NewReader(url.Values{"access_token": {goodToken}, "item": {"pen"}}.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res := serve(h, r)
	require.Equal(t, 200, res.status)
	assert.Equal(t, "pen", res.body)
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// repeatReader is an endless stream of one byte.
type repeatReader byte

func (b repeatReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(b)
	}
	return len(p), nil
}

// formBody is a form with the access_token parameter (RFC 6750 §2.2)
// padded to size bytes, and a counter of the bytes read from it.
func formBody(tok string, size int64) (*countingReader, int64) {
	head := "access_token=" + url.QueryEscape(tok) + "&pad="
	return &countingReader{r: io.MultiReader(strings.NewReader(head), io.LimitReader(repeatReader('a'), size-int64(len(head))))}, size
}

// TestFormBodyIsBounded: with AllowFormToken, Middleware reads an
// unauthenticated body to find the token (RFC 6750 §2.2), so it reads no
// more than MaxFormBytes of it: a larger one is 400 invalid_request (RFC
// 6750 §3.1) before any validation, and the handler does not run.
func TestFormBodyIsBounded(t *testing.T) {
	run := func(cfg resource.Config, body io.Reader, contentLength int64) (result, *fakeValidator, bool) {
		v := &fakeValidator{}
		cfg.Validator, cfg.AllowFormToken = v, true
		ran := false
		h := resource.Middleware(cfg)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { ran = true }))
		r := httptest.NewRequest(http.MethodPost, "/items", body)
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.ContentLength = contentLength
		return serve(h, r), v, ran
	}
	const big = 8 << 20 // under net/http's own 10 MB bound for forms

	t.Run("a larger body with its Content-Length is refused unread", func(t *testing.T) {
		body, size := formBody(goodToken, big)
		res, v, ran := run(resource.Config{}, body, size)
		assert.Equal(t, http.StatusBadRequest, res.status)
		assert.Contains(t, res.www, `error="invalid_request"`)
		assert.False(t, ran, "the handler does not run")
		assert.Zero(t, v.calls, "the token is not validated")
		assert.Zero(t, body.n, "not a byte read")
	})
	t.Run("a larger body without a Content-Length is read up to the limit", func(t *testing.T) {
		body, _ := formBody(goodToken, big)
		res, v, ran := run(resource.Config{}, body, -1)
		assert.Equal(t, http.StatusBadRequest, res.status)
		assert.Contains(t, res.www, `error="invalid_request"`)
		assert.False(t, ran)
		assert.Zero(t, v.calls)
		assert.LessOrEqual(t, body.n, int64(resource.DefaultMaxFormBytes+1), "one byte past the limit tells it is exceeded")
	})
	t.Run("a body one byte over the limit is refused", func(t *testing.T) {
		body, _ := formBody(goodToken, resource.DefaultMaxFormBytes+1)
		res, _, ran := run(resource.Config{}, body, -1)
		assert.Equal(t, http.StatusBadRequest, res.status)
		assert.False(t, ran)
	})
	t.Run("a body of exactly the limit is read", func(t *testing.T) {
		body, size := formBody(goodToken, resource.DefaultMaxFormBytes)
		res, _, ran := run(resource.Config{}, body, size)
		assert.Equal(t, http.StatusOK, res.status, res.www)
		assert.True(t, ran)
	})
	t.Run("the default leaves room for the longest token", func(t *testing.T) {
		body, size := formBody(strings.Repeat("a", resource.MaxTokenLength), resource.MaxTokenLength+1024)
		res, v, _ := run(resource.Config{}, body, size)
		assert.Equal(t, http.StatusUnauthorized, res.status, "validated, and unknown")
		assert.Equal(t, 1, v.calls)
	})
	t.Run("MaxFormBytes raises the limit", func(t *testing.T) {
		body, size := formBody(goodToken, 1<<20)
		res, _, ran := run(resource.Config{MaxFormBytes: 1 << 20}, body, size)
		assert.Equal(t, http.StatusOK, res.status, res.www)
		assert.True(t, ran)
	})
	t.Run("MaxFormBytes lowers the limit", func(t *testing.T) {
		body, size := formBody(goodToken, 4<<10)
		res, _, ran := run(resource.Config{MaxFormBytes: 1 << 10}, body, size)
		assert.Equal(t, http.StatusBadRequest, res.status)
		assert.False(t, ran)
		assert.Zero(t, body.n)
	})
}

func TestChallengeValuesAreSanitised(t *testing.T) {
	// RFC 6750 §3: realm, error_description and scope hold only
	// %x20-21 / %x23-5B / %x5D-7E.
	h := resource.Middleware(resource.Config{Validator: &fakeValidator{}, Realm: "my \"api\"\\\n"})(echo)
	res := serve(h, get("Bearer quoted"))
	require.Equal(t, 401, res.status)
	assert.Equal(t, `Bearer realm="my api", error="invalid_token", error_description="bad token   here"`, res.www)
}

func TestNoValidatorFailsClosed(t *testing.T) {
	res := serve(resource.Middleware(resource.Config{})(echo), get("Bearer "+goodToken))
	assert.Equal(t, 503, res.status)
}

func TestRequireScopes(t *testing.T) {
	protect := resource.Middleware(resource.Config{Validator: &fakeValidator{}, Realm: "api"})
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok")) })

	res := serve(protect(resource.RequireScopes("read")(ok)), get("Bearer "+goodToken))
	assert.Equal(t, 200, res.status)
	assert.Equal(t, "ok", res.body)

	res = serve(protect(resource.RequireScopes("read", "write")(ok)), get("Bearer "+goodToken))
	assert.Equal(t, http.StatusForbidden, res.status)
	assert.Equal(t, `Bearer realm="api", error="insufficient_scope", `+
		`error_description="the access token does not grant the scope this resource requires", scope="read write"`, res.www)

	// Scope values compare case-sensitively (RFC 6749 §3.3).
	res = serve(protect(resource.RequireScopes("READ")(ok)), get("Bearer "+goodToken))
	assert.Equal(t, http.StatusForbidden, res.status)

	// Without Middleware in front: no token in the context, 401.
	res = serve(resource.RequireScopes("read")(ok), get("Bearer "+goodToken))
	assert.Equal(t, http.StatusUnauthorized, res.status)
	assert.Equal(t, "Bearer", res.www)

	// A handler's own test puts a token in the context with NewContext.
	r := get().WithContext(resource.NewContext(context.Background(), &resource.Token{Scopes: []string{"read"}}))
	res = serve(resource.RequireScopes("read")(ok), r)
	assert.Equal(t, 200, res.status)
}
