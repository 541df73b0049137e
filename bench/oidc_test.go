package bench

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jws"
)

// BenchmarkOIDC is the OpenID Provider comparison at the handler:
// BenchmarkOIDC/<case>/<side>, where the case is one of OIDCCases and the
// side without-openid or with-openid (code redemptions), introspection or
// userinfo; and BenchmarkOIDC/es256-sign, one ES256 signature of an ID
// token's claims.
func BenchmarkOIDC(b *testing.B) {
	for _, bm := range oidcBenchmarks(OIDCCases()) {
		b.Run(bm.name, bm.run)
	}
	b.Run(NameES256Sign, es256Signs)
}

// TestOIDCProviders checks what the comparison measures, on the Providers
// of its benchmarks: the code redemption of a request with openid gets an
// access token and an ID token signed with ES256 by the Provider's key,
// for the bench client, with the request's nonce and the access token's
// at_hash; the same request without openid gets an access token and no
// ID token; with JWT access tokens both access tokens are JWTs, with
// opaque ones neither; the resource server's introspection of an OpenID
// access token says it is active for the bench client, and UserInfo with
// it answers the user's sub, name and email and nothing else; and a code
// is refused a second time (the benchmarks redeem each once).
func TestOIDCProviders(t *testing.T) {
	for _, jwt := range []bool{false, true} {
		g, err := newOIDCGrantor(jwt)
		if err != nil {
			t.Fatal(err)
		}
		for _, scope := range []string{oidcScope, nonOIDCScope} {
			code, verifier, err := g.authorizeScope(scope)
			if err != nil {
				t.Fatal(err)
			}
			req := CodeExchangeRequest(benchClientID, g.secret, code, verifier)
			w := Serve(g.handler, req)
			if err := CheckResponse(KindCodeExchange, w.Code, w.Body.Bytes()); err != nil {
				t.Fatalf("jwt %v, scope %q: %v", jwt, scope, err)
			}
			var resp struct {
				AccessToken string `json:"access_token"`
				IDToken     string `json:"id_token"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil {
				t.Fatal(err)
			}
			if isJWT := strings.Count(resp.AccessToken, ".") == 2; isJWT != jwt {
				t.Errorf("jwt %v, scope %q: access token %q", jwt, scope, resp.AccessToken)
			}
			if scope == nonOIDCScope {
				if resp.IDToken != "" {
					t.Errorf("jwt %v: an ID token without openid: %s", jwt, w.Body.Bytes())
				}
			} else {
				checkIDToken(t, g, resp.IDToken, resp.AccessToken)
			}
			if w := Serve(g.handler, req); w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "invalid_grant") {
				t.Errorf("jwt %v, scope %q: a code redeemed twice: status %d: %s", jwt, scope, w.Code, w.Body.Bytes())
			}
		}
	}

	g, err := newOIDCGrantor(false)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := g.openIDAccessToken()
	if err != nil {
		t.Fatal(err)
	}
	w := Serve(g.handler, IntrospectionRequest(benchResourceServerID, g.rsSecret, tok))
	if err := CheckResponse(KindIntrospection, w.Code, w.Body.Bytes()); err != nil {
		t.Errorf("introspection by the resource server: %v", err)
	}
	w = Serve(g.handler, UserInfoRequest(tok))
	var claims map[string]any
	if w.Code != http.StatusOK || json.Unmarshal(w.Body.Bytes(), &claims) != nil {
		t.Fatalf("userinfo: status %d: %s", w.Code, w.Body.Bytes())
	}
	want := map[string]any{"sub": BenchSubject, "name": "Alice Liddell", "email": "alice@example.com"}
	if len(claims) != len(want) {
		t.Errorf("userinfo: %v, want %v", claims, want)
	}
	for k, v := range want {
		if claims[k] != v {
			t.Errorf("userinfo: %s = %v, want %v", k, claims[k], v)
		}
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("userinfo: Content-Type %q", ct)
	}
	if w := Serve(g.handler, UserInfoRequest(tok+"x")); w.Code != http.StatusUnauthorized {
		t.Errorf("userinfo with a bad token: status %d, want 401", w.Code)
	}
}

// checkIDToken checks an ID token of g's bench client (OpenID Connect
// Core §3.1.3.7): signed with ES256 by g's ID token key, typ JWT, for the
// bench client (aud, azp), about the bench subject, with the nonce of the
// benchmarks' requests, and the at_hash of accessToken (§3.1.3.6).
func checkIDToken(t *testing.T, g *oidcGrantor, idToken, accessToken string) {
	t.Helper()
	if idToken == "" {
		t.Fatal("no ID token with openid")
	}
	msg, err := jws.Parse([]byte(idToken))
	if err != nil {
		t.Fatal(err)
	}
	if h := msg.Signatures()[0].ProtectedHeaders(); h.Algorithm() != jwa.ES256 || h.Type() != "JWT" {
		t.Errorf("ID token header: alg %s, typ %q", h.Algorithm(), h.Type())
	}
	payload, err := jws.Verify([]byte(idToken), jws.WithKeySet(g.idTokenKeys.PublicKeys(), jws.WithRequireKid(true)))
	if err != nil {
		t.Fatalf("the ID token does not verify with the Provider's ES256 key: %v", err)
	}
	var c map[string]any
	if err := json.Unmarshal(payload, &c); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(accessToken))
	for k, v := range map[string]any{
		"iss": BenchIssuer, "aud": benchClientID, "azp": benchClientID, "sub": BenchSubject, "nonce": benchNonce,
		"at_hash": base64.RawURLEncoding.EncodeToString(sum[:16]),
	} {
		if c[k] != v {
			t.Errorf("ID token %s = %v, want %v", k, c[k], v)
		}
	}
}

// TestOIDCBenchmarks runs every benchmark of the comparison for a few
// iterations, so that none of them rots: each passes every check of its
// loop.
func TestOIDCBenchmarks(t *testing.T) {
	for _, bm := range append(oidcBenchmarks(OIDCCases()), benchmark{name: NameES256Sign, run: es256Signs}) {
		if _, err := compareBenchmarks([]benchmark{bm}, CompareOptions{Rounds: 1, BenchTime: "10x"}); err != nil {
			t.Errorf("%s: %v", bm.name, err)
		}
	}
}

// TestCompareOIDC runs the comparison at the handler with tiny runs: every
// case, with its rows in order (a code redemption's with the ES256
// signature and its sum with the without-openid side), and its ratios.
// The figures mean nothing.
func TestCompareOIDC(t *testing.T) {
	rs, err := CompareOIDC(CompareOptions{Rounds: 2, BenchTime: "5x"})
	if err != nil {
		t.Fatal(err)
	}
	cs := OIDCCases()
	if len(rs) != len(cs) || len(cs) != 3 {
		t.Fatalf("%d cases of %d: %+v", len(rs), len(cs), rs)
	}
	for _, c := range cs {
		r := rs[c.Name]
		names := []string{c.Sides[0].Name, c.Sides[1].Name}
		code := c.Name != OIDCUserInfo
		if code {
			names = append(names, NameES256Sign, NameWithoutPlusSign)
		}
		if len(r) != len(names) {
			t.Errorf("%s: %d rows, want %v: %+v", c.Name, len(r), names, r)
			continue
		}
		for i, name := range names {
			if r[i].Name != name || r[i].NsPerOp <= 0 || r[i].Runs != 2 || r[i].N != 10 {
				t.Errorf("%s row %d: %+v, want %s", c.Name, i, r[i], name)
			}
		}
		if code && r[3].NsPerOp != r[0].NsPerOp+r[2].NsPerOp {
			t.Errorf("%s: %s is not the sum of %s and %s: %+v", c.Name, NameWithoutPlusSign, r[0].Name, r[2].Name, r)
		}
		if q := OIDCHandlerRatio(rs, c); !q.Checked || q.Ratio <= 0 {
			t.Errorf("%s: ratio %+v", c.Name, q)
		}
		if q := OIDCFloor(rs, c); q.Checked != code {
			t.Errorf("%s: floor %+v", c.Name, q)
		}
	}
}

// TestOIDCTargets checks the targets of issue 18: at the bound each is
// met, above it missed, and without both rows not measured; the opaque
// code redemption has no target.
func TestOIDCTargets(t *testing.T) {
	find := func(ts []Target, prefix string) (Target, bool) {
		for _, tg := range ts {
			if strings.HasPrefix(tg.Text, prefix) {
				return tg, true
			}
		}
		return Target{}, false
	}
	report := func(scale float64) Report {
		rep := Report{OIDC: map[string][]Result{}, OIDCLoad: map[string][]LoadResult{}}
		for _, c := range OIDCCases() {
			ref, measured := 1000.0, 1000*c.Bound*scale
			rep.OIDC[c.Name] = []Result{
				{Name: c.Sides[0].Name, NsPerOp: ref, AllocsPerOp: 40},
				{Name: c.Sides[1].Name, NsPerOp: measured, AllocsPerOp: 50},
			}
			rep.OIDCLoad[c.Name] = []LoadResult{
				{Name: c.Sides[0].Name, Conns: 1, CPUPer1000: time.Duration(ref)},
				{Name: c.Sides[1].Name, Conns: 1, CPUPer1000: time.Duration(measured)},
			}
		}
		return rep
	}
	met, missed := Targets(report(1)), Targets(report(1.01))
	for _, c := range OIDCCases() {
		for _, prefix := range []string{"OpenID " + c.Name + ":", "OpenID " + c.Name + " over HTTP:"} {
			tg, ok := find(met, prefix)
			if c.Bound == 0 {
				if ok {
					t.Errorf("%s has a target: %+v", c.Name, tg)
				}
				continue
			}
			if !ok || !tg.Checked || !tg.Met {
				t.Errorf("%s at the bound: %+v", prefix, tg)
			}
			if tg, _ := find(missed, prefix); !tg.Checked || tg.Met {
				t.Errorf("%s above the bound: %+v", prefix, tg)
			}
			if tg, _ := find(Targets(Report{}), prefix); tg.Checked {
				t.Errorf("%s checked without figures: %+v", prefix, tg)
			}
		}
	}
	if tg, _ := find(met, "OpenID "+OIDCCodeJWT+":"); !strings.Contains(tg.Measured, "(50 vs 40 allocs per request)") {
		t.Errorf("the allocations are not shown: %+v", tg)
	}
}

// TestUserInfoRequestForms checks that a UserInfo request reaches a
// handler alike through Request.HTTPRequest and on the wire of the load
// measure (Load): a GET of /userinfo without a body, with the Bearer
// token in the Authorization header and no Content-Type.
func TestUserInfoRequestForms(t *testing.T) {
	req := UserInfoRequest("tok")
	type seen struct {
		method, path, auth, contentType string
		body                            int
	}
	want := seen{http.MethodGet, "/userinfo", "Bearer tok", "", 0}
	got := make(chan seen, 4)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- seen{r.Method, r.URL.Path, r.Header.Get("Authorization"), r.Header.Get("Content-Type"), len(b)}
	})
	h.ServeHTTP(NewRecorder(), req.HTTPRequest())
	if s := <-got; s != want {
		t.Errorf("HTTPRequest: %+v, want %+v", s, want)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	if _, err := Load(strings.TrimPrefix(srv.URL, "http://"), []Request{req, req}, 1); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if s := <-got; s != want {
			t.Errorf("on the wire: %+v, want %+v", s, want)
		}
	}
}
