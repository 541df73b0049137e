package bench

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jws"
)

// TestBaselineJWT checks that the baseline's JWTs verify with its public
// key and have the header and claims, in the same order and with the same
// values but for iat, exp and jti, of Grantor's client credentials JWTs.
func TestBaselineJWT(t *testing.T) {
	for _, alg := range []Alg{ES256, EdDSA, RS256} {
		t.Run(string(alg), func(t *testing.T) {
			b, secret, err := newBaselineJWTServer(alg)
			if err != nil {
				t.Fatal(err)
			}
			ours := accessToken(t, b.server(secret, nil).Handler, ClientCredentialsRequest(benchClientID, secret))
			if _, err := jws.Verify([]byte(ours), jws.WithKey(b.jwt.alg, b.jwt.key.Public())); err != nil {
				t.Fatalf("the baseline's JWT does not verify: %v", err)
			}
			g, err := NewGrantorClientCredentialsJWT(alg)
			if err != nil {
				t.Fatal(err)
			}
			theirs := accessToken(t, g.Handler, ClientCredentialsRequest(g.ClientID, g.ClientSecret))

			for i, part := range []string{"header", "claims"} {
				on, ov := jwtPart(t, ours, i)
				tn, tv := jwtPart(t, theirs, i)
				if !slices.Equal(on, tn) {
					t.Errorf("%s: baseline has %v, Grantor %v", part, on, tn)
				}
				for _, name := range []string{"alg", "typ", "iss", "sub", "aud", "client_id", "scope"} {
					if ov[name] != tv[name] {
						t.Errorf("%s: %s = %v, Grantor's %v", part, name, ov[name], tv[name])
					}
				}
				for _, name := range []string{"kid", "jti"} {
					if o, th := ov[name], tv[name]; o != nil && len(o.(string)) != len(th.(string)) {
						t.Errorf("%s: %s %q is not as long as Grantor's %q", part, name, o, th)
					}
				}
				if i == 1 && ov["exp"].(float64)-ov["iat"].(float64) != tv["exp"].(float64)-tv["iat"].(float64) {
					t.Errorf("lifetime %v, Grantor's %v", ov["exp"].(float64)-ov["iat"].(float64), tv["exp"].(float64)-tv["iat"].(float64))
				}
			}
		})
	}
}

// TestBaselineIntrospectionMembers checks that the baseline answers with
// the members Grantor answers with, and that it tells nothing about an
// expired token or another client's.
func TestBaselineIntrospectionMembers(t *testing.T) {
	b, secret, err := newBaseline(nil)
	if err != nil {
		t.Fatal(err)
	}
	h := b.server(secret, nil).Handler
	tok := accessToken(t, h, ClientCredentialsRequest(benchClientID, secret))
	w := Serve(h, IntrospectionRequest(benchClientID, secret, tok))
	ours := jsonNames(t, w.Body.Bytes())

	g, err := NewGrantorIntrospection()
	if err != nil {
		t.Fatal(err)
	}
	reqs, err := g.Requests(1)
	if err != nil {
		t.Fatal(err)
	}
	theirs := jsonNames(t, Serve(g.Handler, reqs[0]).Body.Bytes())
	slices.Sort(ours)
	slices.Sort(theirs)
	if !slices.Equal(ours, theirs) {
		t.Errorf("members %v, Grantor's %v", ours, theirs)
	}

	// Another client, with the same secret, and the token expired.
	other := *b.clients[benchClientID]
	other.id = "other"
	b.clients[other.id] = &other
	if w := Serve(h, IntrospectionRequest(other.id, secret, tok)); w.Body.String() != "{\"active\":false}\n" {
		t.Errorf("another client's token: %d %s", w.Code, w.Body.Bytes())
	}
	sig, _ := b.opaqueSignature(tok)
	rec := b.tokens[sig]
	rec.expires = time.Now()
	b.tokens[sig] = rec
	if w := Serve(h, IntrospectionRequest(benchClientID, secret, tok)); w.Body.String() != "{\"active\":false}\n" {
		t.Errorf("expired token: %d %s", w.Code, w.Body.Bytes())
	}
}

// TestBaselineCodeReplay checks that a replayed code revokes the tokens
// issued from it (RFC 6749 §4.1.2), unless the replay lacks the verifier.
func TestBaselineCodeReplay(t *testing.T) {
	b, secret, err := newBaseline(nil)
	if err != nil {
		t.Fatal(err)
	}
	s := b.server(secret, b.codeRequests(secret))
	reqs, err := s.Requests(1)
	if err != nil {
		t.Fatal(err)
	}
	w := Serve(s.Handler, reqs[0])
	access, refresh := tokenPair(t, w)
	if len(b.tokens) != 2 {
		t.Fatalf("%d token records, want 2", len(b.tokens))
	}

	// A replay without the right verifier is refused and revokes nothing.
	wrong := reqs[0]
	wrong.Form = strings.Replace(wrong.Form, "code_verifier=", "code_verifier=x", 1)
	if w := Serve(s.Handler, wrong); w.Code != 400 || !strings.Contains(w.Body.String(), "invalid_grant") {
		t.Fatalf("replay with a wrong verifier: %d %s", w.Code, w.Body.Bytes())
	}
	if !introspectActive(t, s, access) {
		t.Fatal("a replay with the wrong verifier revoked the tokens")
	}

	if w := Serve(s.Handler, reqs[0]); w.Code != 400 || !strings.Contains(w.Body.String(), "invalid_grant") {
		t.Fatalf("replay: %d %s", w.Code, w.Body.Bytes())
	}
	if introspectActive(t, s, access) {
		t.Error("the access token issued from the code is still active after the replay")
	}
	if w := Serve(s.Handler, RefreshRequest(benchClientID, secret, refresh)); w.Code != 400 {
		t.Errorf("the refresh token issued from the code still works: %d %s", w.Code, w.Body.Bytes())
	}
	if len(b.tokens) != 0 || len(b.grants) != 0 {
		t.Errorf("left after the replay: %d tokens, %d grants", len(b.tokens), len(b.grants))
	}
}

// TestBaselineRefreshReuse checks that presenting a rotated refresh token
// again revokes its grant (RFC 9700 §4.14.2).
func TestBaselineRefreshReuse(t *testing.T) {
	b, secret, err := newBaseline(nil)
	if err != nil {
		t.Fatal(err)
	}
	s := b.server(secret, b.refreshRequests(secret))
	reqs, err := s.Requests(2)
	if err != nil {
		t.Fatal(err)
	}
	a1, r1 := tokenPair(t, Serve(s.Handler, reqs[0]))
	a2, r2 := tokenPair(t, Serve(s.Handler, RefreshRequest(benchClientID, secret, r1)))
	for _, a := range []string{a1, a2} {
		if !introspectActive(t, s, a) {
			t.Fatal("an access token of the grant is not active")
		}
	}
	// The other grant's token: it must outlive the revocation.
	aOther, _ := tokenPair(t, Serve(s.Handler, reqs[1]))

	if w := Serve(s.Handler, reqs[0]); w.Code != 400 || !strings.Contains(w.Body.String(), "invalid_grant") {
		t.Fatalf("reuse: %d %s", w.Code, w.Body.Bytes())
	}
	for _, a := range []string{a1, a2} {
		if introspectActive(t, s, a) {
			t.Error("an access token of the grant is still active after the reuse")
		}
	}
	if w := Serve(s.Handler, RefreshRequest(benchClientID, secret, r2)); w.Code != 400 {
		t.Errorf("the latest refresh token still works after the reuse: %d %s", w.Code, w.Body.Bytes())
	}
	if !introspectActive(t, s, aOther) {
		t.Error("another grant was revoked")
	}
	if len(b.grants) != 1 {
		t.Errorf("%d grants left, want 1", len(b.grants))
	}
}

// TestBaselineRefreshRace checks that of concurrent refreshes with one
// token exactly one succeeds.
func TestBaselineRefreshRace(t *testing.T) {
	s, err := NewBaselineRefresh()
	if err != nil {
		t.Fatal(err)
	}
	reqs, err := s.Requests(1)
	if err != nil {
		t.Fatal(err)
	}
	const n = 8
	codes := make(chan int, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() { codes <- Serve(s.Handler, reqs[0]).Code })
	}
	wg.Wait()
	close(codes)
	ok := 0
	for c := range codes {
		if c == 200 {
			ok++
		}
	}
	if ok != 1 {
		t.Errorf("%d of %d concurrent refreshes with one token succeeded, want 1", ok, n)
	}
}

// accessToken returns the access token of h's answer to r.
func accessToken(t *testing.T, h http.Handler, r Request) string {
	t.Helper()
	access, _ := tokenPair(t, Serve(h, r))
	return access
}

// tokenPair returns the access token and refresh token of a successful
// token response.
func tokenPair(t *testing.T, w *Recorder) (access, refresh string) {
	t.Helper()
	var resp struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &resp); w.Code != 200 || err != nil || resp.AccessToken == "" {
		t.Fatalf("token response %d %s (%v)", w.Code, w.Body.Bytes(), err)
	}
	return resp.AccessToken, resp.RefreshToken
}

// introspectActive reports whether s says its client's token tok is
// active.
func introspectActive(t *testing.T, s *Server, tok string) bool {
	t.Helper()
	w := Serve(s.Handler, IntrospectionRequest(s.ClientID, s.ClientSecret, tok))
	var resp struct {
		Active bool `json:"active"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &resp); w.Code != 200 || err != nil {
		t.Fatalf("introspection %d %s (%v)", w.Code, w.Body.Bytes(), err)
	}
	return resp.Active
}

// jwtPart decodes the header (i = 0) or claims (i = 1) of a compact JWS
// and returns its member names in order and its members.
func jwtPart(t *testing.T, tok string, i int) ([]string, map[string]any) {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a compact JWS: %q", tok)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[i])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return jsonNames(t, b), m
}

// jsonNames returns the member names of a JSON object, in order.
func jsonNames(t *testing.T, b []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not a JSON object: %s", b)
	}
	var names []string
	for dec.More() {
		name, err := dec.Token()
		if err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		names = append(names, name.(string))
	}
	return names
}
