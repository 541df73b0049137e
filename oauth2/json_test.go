package oauth2

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The hand-written encodings must be byte for byte what encoding/json
// writes; where they cannot be, encoding/json writes them.

// jsonPlain accepts exactly the bytes that encoding/json copies as they are.
func TestJSONPlainAgreesWithEncodingJSON(t *testing.T) {
	for c := range 256 {
		s := "a" + string([]byte{byte(c)}) + "z"
		want, err := json.Marshal(s)
		require.NoError(t, err)
		if jsonPlain(s) {
			assert.Equal(t, `"`+s+`"`, string(want), "byte %#x", c)
		}
		if c >= 0x20 && c < 0x7f && !strings.ContainsRune(`"\<>&`, rune(c)) {
			assert.True(t, jsonPlain(s), "byte %#x is copied as it is", c)
		}
	}
}

// tokenResponseCases are token responses with and without the optional
// members, with plain strings and with strings that need escaping.
var tokenResponseCases = map[string]tokenResponse{
	"access token only":  {AccessToken: "gr_at_abc.def", TokenType: "Bearer", ExpiresIn: 3600},
	"refresh and scope":  {AccessToken: "gr_at_abc.def", TokenType: "Bearer", ExpiresIn: 3600, RefreshToken: "gr_rt_x-y_z", Scope: "read write"},
	"negative lifetime":  {AccessToken: "t", TokenType: "Bearer", ExpiresIn: -1},
	"empty access token": {TokenType: "Bearer"},
	"scope with HTML":    {AccessToken: "t", TokenType: "Bearer", ExpiresIn: 60, Scope: "a<b>&c"},
	"scope with unicode": {AccessToken: "t", TokenType: "Bearer", ExpiresIn: 60, Scope: "café \u2028"},
	"quote and slash":    {AccessToken: `a"b\c`, TokenType: "Bearer", ExpiresIn: 60},
	"control character":  {AccessToken: "t", TokenType: "Bearer", RefreshToken: "r\x01", ExpiresIn: 60},
	"invalid UTF-8":      {AccessToken: "t\xff", TokenType: "Bearer", ExpiresIn: 60},
	"DEL":                {AccessToken: "t\x7f", TokenType: "Bearer", ExpiresIn: 60},
}

func TestTokenResponseIsWhatEncodingJSONWrites(t *testing.T) {
	for name, resp := range tokenResponseCases {
		t.Run(name, func(t *testing.T) { checkTokenResponse(t, resp) })
	}
}

func checkTokenResponse(t *testing.T, resp tokenResponse) {
	t.Helper()
	want := httptest.NewRecorder()
	writeJSON(want, 200, "no-store", &resp)
	got := httptest.NewRecorder()
	writeTokenResponse(got, &resp)
	assert.Equal(t, want.Code, got.Code)
	assert.Equal(t, want.Header(), got.Header())
	assert.Equal(t, want.Body.String(), got.Body.String())
}

func FuzzTokenResponse(f *testing.F) {
	for _, r := range tokenResponseCases {
		f.Add(r.AccessToken, r.RefreshToken, r.Scope, r.ExpiresIn)
	}
	f.Fuzz(func(t *testing.T, access, refresh, scope string, expiresIn int64) {
		checkTokenResponse(t, tokenResponse{AccessToken: access, TokenType: "Bearer", ExpiresIn: expiresIn, RefreshToken: refresh, Scope: scope})
	})
}

// A typical response takes the hand-written path.
func TestTypicalTokenResponseIsPlain(t *testing.T) {
	resp := tokenResponseCases["refresh and scope"]
	buf := make([]byte, 0, 64)
	o := newPlainObject(buf)
	o.str("access_token", resp.AccessToken, false)
	o.str("scope", resp.Scope, true)
	_, plain := o.end()
	assert.True(t, plain)
}

func TestIntrospectionClaimsAreWhatEncodingJSONWrites(t *testing.T) {
	base := introspectionClaims{Active: true, Scope: "read write", ClientID: "svc", Subject: "client:svc",
		ExpiresAt: 1_800_000_000, IssuedAt: 1_799_996_400, Issuer: "https://as.example", TokenType: "Bearer"}
	cases := map[string]struct {
		change    func(c *introspectionClaims)
		aud       []string
		wantPlain bool
	}{
		"typical":                  {aud: []string{"https://api.example"}, wantPlain: true},
		"no audience":              {wantPlain: true},
		"empty audience":           {aud: []string{}, wantPlain: true},
		"several audiences":        {aud: []string{"https://a.example", "https://b.example", "c"}, wantPlain: true},
		"no scope, no subject":     {change: func(c *introspectionClaims) { c.Scope, c.Subject = "", "" }, wantPlain: true},
		"refresh token":            {change: func(c *introspectionClaims) { c.TokenType = "refresh_token" }, wantPlain: true},
		"JWT with jti":             {change: func(c *introspectionClaims) { c.ID = "jti-1" }, aud: []string{"x"}, wantPlain: true},
		"zero times":               {change: func(c *introspectionClaims) { c.ExpiresAt, c.IssuedAt = 0, -62135596800 }, wantPlain: true},
		"subject with HTML":        {change: func(c *introspectionClaims) { c.Subject = "<alice>" }},
		"subject with unicode":     {change: func(c *introspectionClaims) { c.Subject = "zoë" }},
		"issuer with an ampersand": {change: func(c *introspectionClaims) { c.Issuer = "https://as.example/?a&b" }},
		"audience with a quote":    {aud: []string{"ok", `a"b`}},
		"client with a backslash":  {change: func(c *introspectionClaims) { c.ClientID = `a\b` }},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			c := base
			if tc.change != nil {
				tc.change(&c)
			}
			got, plain := c.appendPlain(nil, tc.aud)
			assert.Equal(t, tc.wantPlain, plain)
			c.Audience = audienceClaim(tc.aud)
			want, err := json.Marshal(c)
			require.NoError(t, err)
			if plain {
				assert.Equal(t, string(want), string(got))
			}
		})
	}
}

// setHeaders does what three calls of Header.Set do, replacing what was
// there, and a value appended to one header does not change another.
func TestSetHeadersIsHeaderSet(t *testing.T) {
	base := func() http.Header {
		return http.Header{"Cache-Control": {"public", "max-age=60"}, "Pragma": {"x"}, "X-Other": {"kept"}}
	}
	want := base()
	want.Set("Content-Type", "application/json")
	want.Set("Cache-Control", "no-store")
	want.Set("Pragma", "no-cache")
	got := base()
	setHeaders(got, "application/json", "no-store")
	assert.Equal(t, want, got)

	got.Add("Content-Type", "text/plain")
	assert.Equal(t, []string{"no-store"}, got.Values("Cache-Control"))
	assert.Equal(t, []string{"no-cache"}, got.Values("Pragma"))
}

// A grant's members (Issue.ResponseParameters) come after the Provider's,
// in the order of their names, and the hand-written path and the
// encoding/json one write the same bytes: valid JSON whose members are
// what was given.
func TestTokenResponseWithGrantMembers(t *testing.T) {
	for name, extra := range map[string]map[string]string{
		"plain":         {"issued_token_type": "urn:ietf:params:oauth:token-type:access_token", "b": "2", "a": "1"},
		"HTML":          {"note": "<b>&</b>"},
		"unicode":       {"note": "café \u2028"},
		"quote":         {"note": `say "hi" \ bye`},
		"control":       {"note": "a\x01b"},
		"empty value":   {"note": ""},
		"escaped token": {"note": "x"},
	} {
		t.Run(name, func(t *testing.T) {
			resp := tokenResponse{AccessToken: "gr_at_abc.def", TokenType: "DPoP", ExpiresIn: 60, Scope: "read", Extra: extra}
			if name == "escaped token" {
				resp.AccessToken = "t\xff" // the Provider's members take the fallback
			}
			got := httptest.NewRecorder()
			writeTokenResponse(got, &resp)
			fallback := httptest.NewRecorder()
			names := make([]string, 0, len(extra))
			for k := range extra {
				names = append(names, k)
			}
			slices.Sort(names)
			writeJSONWithExtra(fallback, &resp, names)
			assert.Equal(t, fallback.Body.String(), got.Body.String())
			assert.Equal(t, fallback.Header(), got.Header())
			assert.Equal(t, "no-store", got.Header().Get("Cache-Control"))

			var m map[string]any
			require.NoError(t, json.Unmarshal(got.Body.Bytes(), &m), got.Body.String())
			assert.Equal(t, "DPoP", m["token_type"])
			for k, v := range extra {
				assert.Equal(t, strings.ToValidUTF8(v, "\uFFFD"), m[k])
			}
			body := got.Body.String()
			last := strings.Index(body, `"scope"`)
			for _, k := range names {
				i := strings.Index(body, `"`+k+`"`)
				assert.Greater(t, i, last, "%s comes after the members before it", k)
				last = i
			}
		})
	}
}
