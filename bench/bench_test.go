package bench

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
)

// BenchmarkClientCredentialsOpaque is one client credentials request with
// an opaque access token, through each contender's handler:
//
//	go test -run '^$' -bench ClientCredentialsOpaque
//
// fosite-bcrypt costs about 200 ms per request: with the default
// -benchtime it runs a handful of iterations, and it is skipped when b.N
// would exceed its MaxN.
func BenchmarkClientCredentialsOpaque(b *testing.B) {
	for _, c := range ClientCredentialsOpaque() {
		b.Run(c.Name, ServeTokens(c))
	}
}

// BenchmarkHarness is the cost of the request construction and recording
// included in every figure of BenchmarkClientCredentialsOpaque.
func BenchmarkHarness(b *testing.B) {
	ServeTokens(NewHarness())(b)
}

// TestClientCredentialsOpaque checks that every contender does the work the
// comparison assumes: a token for the right credentials, with the headers
// of RFC 6749 §5.1, and 401 for a wrong secret or an unknown client.
func TestClientCredentialsOpaque(t *testing.T) {
	for _, c := range ClientCredentialsOpaque() {
		t.Run(c.Name, func(t *testing.T) {
			t.Parallel()
			s, err := c.New()
			if err != nil {
				t.Fatal(err)
			}

			rec := serve(s.Handler, s.ClientID, s.ClientSecret)
			if rec.Code != http.StatusOK {
				t.Fatalf("right secret: status %d: %s", rec.Code, rec.Body)
			}
			if got := rec.Header().Get("Cache-Control"); got != "no-store" {
				t.Errorf("Cache-Control = %q, want no-store", got)
			}
			if got := rec.Header().Get("Pragma"); got != "no-cache" {
				t.Errorf("Pragma = %q, want no-cache", got)
			}
			if got := rec.Header().Get("Content-Type"); !strings.HasPrefix(got, "application/json") {
				t.Errorf("Content-Type = %q, want application/json", got)
			}
			var resp struct {
				AccessToken string `json:"access_token"`
				TokenType   string `json:"token_type"`
				ExpiresIn   int64  `json:"expires_in"`
				Scope       string `json:"scope"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
				t.Fatalf("response %s: %v", rec.Body, err)
			}
			// 256 random bits in base64url are 43 characters; the
			// signature adds as many again.
			if len(resp.AccessToken) < 86 {
				t.Errorf("access_token %q is too short for 256 bits and a signature", resp.AccessToken)
			}
			if !strings.EqualFold(resp.TokenType, "bearer") {
				t.Errorf("token_type = %q, want Bearer", resp.TokenType)
			}
			if resp.ExpiresIn <= 0 || resp.ExpiresIn > 3600 {
				t.Errorf("expires_in = %d, want (0, 3600]", resp.ExpiresIn)
			}
			// The scope may be left out when it is the one requested
			// (RFC 6749 §5.1); Grantor leaves it out.
			if resp.Scope != "read" && resp.Scope != "" {
				t.Errorf("scope = %q, want read", resp.Scope)
			}

			// A second token differs from the first.
			again := serve(s.Handler, s.ClientID, s.ClientSecret)
			if again.Code != http.StatusOK || strings.Contains(again.Body.String(), resp.AccessToken) {
				t.Errorf("second request: status %d, same token: %v", again.Code, strings.Contains(again.Body.String(), resp.AccessToken))
			}

			for _, tc := range []struct{ name, id, secret string }{
				{"wrong secret", s.ClientID, otherLastChar(s.ClientSecret)},
				{"unknown client", "someone-else", s.ClientSecret},
			} {
				rec := serve(s.Handler, tc.id, tc.secret)
				if rec.Code != http.StatusUnauthorized {
					t.Errorf("%s: status %d, want 401: %s", tc.name, rec.Code, rec.Body)
				}
				if strings.Contains(rec.Body.String(), "access_token") {
					t.Errorf("%s: response has a token: %s", tc.name, rec.Body)
				}
			}
		})
	}
}

func serve(h http.Handler, id, secret string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, NewClientCredentialsRequest(id, secret))
	return rec
}

// TestCompare runs the table machinery on the fast contenders with tiny
// runs, to keep it working; the figures mean nothing.
func TestCompare(t *testing.T) {
	var cs []Contender
	for _, c := range ClientCredentialsOpaque() {
		if c.MaxN == 0 {
			cs = append(cs, c)
		}
	}
	results, err := Compare(cs, CompareOptions{Rounds: 2, BenchTime: "20x"})
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != len(cs) {
		t.Fatalf("%d results for %d contenders", len(results), len(cs))
	}
	for i, r := range results {
		if r.Name != cs[i].Name || r.Runs != 2 || r.NsPerOp <= 0 {
			t.Errorf("result %d: %+v", i, r)
		}
	}
	var sb strings.Builder
	if err := WriteTable(&sb, results, NameBaseline, NameFositeFast, &results[0]); err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(sb.String(), "\n"); got != 2+len(cs) {
		t.Errorf("table has %d lines, want %d:\n%s", got, 2+len(cs), sb.String())
	}
	if testing.Verbose() {
		_, _ = os.Stdout.WriteString(sb.String())
	}
}

// otherLastChar returns secret with its last character changed: always a
// different secret, whatever that character was.
func otherLastChar(secret string) string {
	last := byte('A')
	if secret[len(secret)-1] == 'A' {
		last = 'B'
	}
	return secret[:len(secret)-1] + string(last)
}
