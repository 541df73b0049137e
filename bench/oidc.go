package bench

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"runtime"
	"runtime/pprof"
	"sync"
	"testing"

	"github.com/lestrrat-go/jwx/v2/jwa"

	"github.com/grantor-dev/grantor/oauth2"
	"github.com/grantor-dev/grantor/oidc"
	"github.com/grantor-dev/grantor/storage"
	"github.com/grantor-dev/grantor/storage/memory"
	"github.com/grantor-dev/grantor/token"
)

// The OpenID Provider (package oidc) against the OAuth requests it rides
// on, the two targets of issue 18:
//
//   - a code redemption (RFC 6749 §4.1.3, with PKCE and client_secret_basic)
//     of an authorization request whose scopes include openid, answered
//     with an ID token (OpenID Connect Core §3.1.3.3), against the same
//     redemption of the same request without openid, answered without
//     one; with JWT access tokens (RFC 9068) signed with ES256, as the ID
//     tokens are, and with opaque access tokens;
//   - a UserInfo request (Core §5.3, GET with a Bearer access token)
//     against an introspection request (RFC 7662 §2.1) of the same kind of
//     access token by a resource server, opaque access tokens.
//
// Every side runs on a Provider of its own built alike (newOIDCGrantor):
// the cc-opaque contender's configuration (memory store, the bench client
// with a generated secret, the real clock) with an OpenID Provider
// registered (oidc.New: ES256 ID tokens, an RS256 key source beside it as
// Discovery §3 requires, the login sessions in the memory store, and a
// ClaimsFunc that returns name and email from a map); the bench client
// also allowed openid, profile and email, its access tokens for
// OIDCResource; and a resource server client that may introspect them.
// The authorization requests of both sides of a code redemption are the
// same but for the scope openid: scope "openid profile email read" or
// "profile email read", and a nonce (which a request without openid
// ignores). Codes are approved through the Provider's API before the
// timer starts (grantor.authorize), as in the code scenario, so that only
// the redemptions are measured. UserInfo and introspection present one
// access token of an OpenID code flow, got before the timer starts, again
// and again.
//
// Each case is measured at the handler (every side of every case in one
// compareBenchmarks run, interleaved and rotated) and over HTTP (each side
// in a server process of its own, CompareLoad at one connection; that
// measure's server CPU time per 1,000 requests).

// Names of the sides of the OpenID Provider comparison (CompareOIDC).
const (
	// NameWithoutOpenID is a code redemption whose scopes lack openid:
	// answered with an access token and no ID token.
	NameWithoutOpenID = "without-openid"
	// NameWithOpenID is a code redemption whose scopes include openid:
	// answered with an access token and an ID token signed with ES256.
	NameWithOpenID = "with-openid"
	// NameIntrospection is an introspection request of an access token
	// of an OpenID code flow by a resource server client, answered
	// active.
	NameIntrospection = "introspection"
	// NameUserInfo is a UserInfo GET with that access token as a Bearer
	// token, answered 200 with sub, name and email.
	NameUserInfo = "userinfo"
	// NameES256Sign is one signature of an ID token's claims with ES256
	// by token.JWT.SignJWT, as the OpenID Provider signs them: what an ID
	// token costs at least.
	NameES256Sign = "es256-sign"
	// NameWithoutPlusSign is the sum of NameWithoutOpenID and
	// NameES256Sign: a code redemption without openid plus the signature
	// that an ID token adds.
	NameWithoutPlusSign = NameWithoutOpenID + "+" + NameES256Sign
)

// Names of the cases of the OpenID Provider comparison, in the order of
// OIDCCases.
const (
	// OIDCCodeJWT is a code redemption with JWT access tokens (RFC 9068)
	// signed with ES256, with openid and without.
	OIDCCodeJWT = "code-jwt-es256"
	// OIDCCodeOpaque is a code redemption with opaque access tokens,
	// with openid and without.
	OIDCCodeOpaque = "code-opaque"
	// OIDCUserInfo is a UserInfo request against an introspection
	// request, opaque access tokens.
	OIDCUserInfo = "userinfo"
)

// The targets of issue 18 on the ratio of the measured side of a case to
// its reference side.
const (
	// maxWithOverWithoutOpenID bounds a code redemption with openid over
	// one without, ES256 JWT access tokens and ID tokens.
	maxWithOverWithoutOpenID = 1.25
	// maxUserInfoOverIntrospection bounds a UserInfo request over an
	// introspection request, opaque access tokens.
	maxUserInfoOverIntrospection = 1.2
)

// OIDCResource is the audience of the bench client's access tokens on
// the Providers of the OpenID Provider comparison: the resource the
// resource server client introspects for.
const OIDCResource = "https://api.example"

// benchResourceServerID is the client ID of the resource server that
// introspects access tokens in the OpenID Provider comparison.
const benchResourceServerID = "bench-resource-server"

// Scopes of the authorization requests of the OpenID Provider comparison.
const (
	oidcScope    = "openid profile email read"
	nonOIDCScope = "profile email read"
	benchNonce   = "n-0S6_WzA2Mj"
)

// benchUsers are the users' claims that the ClaimsFunc of the comparison
// returns: name and email, from a map.
var benchUsers = map[string]map[string]any{
	BenchSubject: {"name": "Alice Liddell", "email": "alice@example.com"},
}

// benchClaims is the ClaimsSource of the comparison.
var benchClaims = oidc.ClaimsFunc(func(_ context.Context, req *oidc.ClaimsRequest) (map[string]any, error) {
	return benchUsers[req.Subject], nil
})

// rs256Keys is the RS256 key source of every OpenID Provider of the
// comparison, which no bench client signs with: made once, since an RSA
// key takes long to generate.
var rs256Keys = sync.OnceValues(func() (*token.KeySet, error) { return newKeySet(jwa.RS256) })

// newKeySet returns a key set of one new signing key for alg.
func newKeySet(alg jwa.SignatureAlgorithm) (*token.KeySet, error) {
	key, err := token.GenerateSigningKey(alg)
	if err != nil {
		return nil, err
	}
	return token.NewKeySet(key)
}

// oidcGrantor is a Provider of the OpenID Provider comparison.
type oidcGrantor struct {
	*grantor
	// rsSecret is the resource server client's secret.
	rsSecret string
	// idTokenKeys is the key source of ES256 ID tokens: that of the
	// access tokens when they are JWTs.
	idTokenKeys *token.KeySet
}

// newOIDCGrantor builds a Provider of the comparison, with ES256 JWT
// access tokens when jwt (signed with the ID tokens' key source, which
// oidc.Config allows), opaque ones otherwise.
func newOIDCGrantor(jwt bool) (*oidcGrantor, error) {
	es256, err := newKeySet(jwa.ES256)
	if err != nil {
		return nil, err
	}
	rs256, err := rs256Keys()
	if err != nil {
		return nil, err
	}
	var strategy token.AccessTokenStrategy
	if jwt {
		j, err := token.NewJWT(token.JWTConfig{Keys: es256, Issuer: BenchIssuer})
		if err != nil {
			return nil, err
		}
		strategy = j
	}
	g, err := newGrantorWith(strategy, grantorOptions{
		features: func(st *memory.Store) ([]oauth2.FeatureFactory, error) {
			op, err := oidc.New(oidc.Config{
				Keys:     []token.KeySource{es256, rs256},
				Sessions: st,
				Claims:   benchClaims,
			})
			if err != nil {
				return nil, err
			}
			return []oauth2.FeatureFactory{op.Register}, nil
		},
		client: func(c *storage.Client) {
			c.Scopes = append(c.Scopes, oidc.ScopeOpenID, "profile", "email")
			c.Audience = []string{OIDCResource}
		},
	})
	if err != nil {
		return nil, err
	}
	secret, hash, err := oauth2.GenerateClientSecret(nil)
	if err != nil {
		return nil, err
	}
	if err := g.store.PutClient(&storage.Client{
		ID:         benchResourceServerID,
		SecretHash: hash,
		GrantTypes: []string{"client_credentials"},
		Scopes:     []string{"read"},
		Resources:  []string{OIDCResource},
	}); err != nil {
		return nil, err
	}
	return &oidcGrantor{grantor: g, rsSecret: secret, idTokenKeys: es256}, nil
}

// authorizeScope approves an authorization request of the bench client for
// scope, with a nonce, and returns the code and its PKCE verifier.
func (g *oidcGrantor) authorizeScope(scope string) (code, verifier string, err error) {
	return g.authorizeWith(url.Values{"scope": {scope}, "nonce": {benchNonce}})
}

// openIDAccessToken runs an OpenID code flow (scope oidcScope) and returns
// its access token.
func (g *oidcGrantor) openIDAccessToken() (string, error) {
	code, verifier, err := g.authorizeScope(oidcScope)
	if err != nil {
		return "", err
	}
	tok, err := fetchTokens(g.handler, CodeExchangeRequest(benchClientID, g.secret, code, verifier))
	if err != nil {
		return "", err
	}
	return tok.AccessToken, nil
}

// UserInfoRequest is a UserInfo request (OpenID Connect Core §5.3.1): a
// GET with accessToken as a Bearer token (RFC 6750 §2.1).
func UserInfoRequest(accessToken string) Request {
	return Request{Method: http.MethodGet, Path: oidc.UserInfoPath, Authorization: "Bearer " + accessToken}
}

// What the answers of each side must and must not carry, checked after
// every request.
var (
	idTokenMember = []byte(`"id_token":`)
	emailMember   = []byte(`"email":"alice@example.com"`)
)

// OIDCSide is one side of a case of the OpenID Provider comparison.
type OIDCSide struct {
	// Name names the side in benchmark names and tables.
	Name string
	// New builds the side's Provider and the Server of its requests.
	New func() (*Server, error)
	// want must be in every answer's body, and refuse never.
	want, refuse []byte
}

// OIDCCase is one case of the OpenID Provider comparison: an operation of
// the OpenID Provider measured against a reference.
type OIDCCase struct {
	// Name names the case in benchmark names and in Report.OIDC.
	Name string
	// Title says what is measured.
	Title string
	// Sides are the reference, then the side measured against it.
	Sides [2]OIDCSide
	// Bound is the target on the ratio of the measured side's ns/op to
	// the reference's; zero when the case has none.
	Bound float64
}

// codeSides returns the two sides of a code redemption case: without
// openid, then with it.
func codeSides(jwt bool) [2]OIDCSide {
	side := func(name, scope string, want, refuse []byte) OIDCSide {
		return OIDCSide{Name: name, want: want, refuse: refuse, New: func() (*Server, error) {
			g, err := newOIDCGrantor(jwt)
			if err != nil {
				return nil, err
			}
			authorize := func() (string, string, error) { return g.authorizeScope(scope) }
			return g.server(codeExchangeRequests(authorize, g.secret)), nil
		}}
	}
	return [2]OIDCSide{
		side(NameWithoutOpenID, nonOIDCScope, accessTokenMember, idTokenMember),
		side(NameWithOpenID, oidcScope, idTokenMember, nil),
	}
}

// userInfoSides returns the two sides of the UserInfo case:
// introspection by the resource server, then UserInfo.
func userInfoSides() [2]OIDCSide {
	return [2]OIDCSide{
		{Name: NameIntrospection, want: activeMember, New: func() (*Server, error) {
			g, err := newOIDCGrantor(false)
			if err != nil {
				return nil, err
			}
			tok, err := g.openIDAccessToken()
			if err != nil {
				return nil, err
			}
			return &Server{Handler: g.handler, ClientID: benchResourceServerID, ClientSecret: g.rsSecret,
				Requests: Repeated(IntrospectionRequest(benchResourceServerID, g.rsSecret, tok))}, nil
		}},
		{Name: NameUserInfo, want: emailMember, New: func() (*Server, error) {
			g, err := newOIDCGrantor(false)
			if err != nil {
				return nil, err
			}
			tok, err := g.openIDAccessToken()
			if err != nil {
				return nil, err
			}
			return g.server(Repeated(UserInfoRequest(tok))), nil
		}},
	}
}

// OIDCCases returns the cases of the OpenID Provider comparison, in the
// order of the tables.
func OIDCCases() []OIDCCase {
	return []OIDCCase{
		{Name: OIDCCodeJWT, Title: "Code redemption with PKCE, JWT access token (RFC 9068) and ID token signed with ES256",
			Sides: codeSides(true), Bound: maxWithOverWithoutOpenID},
		{Name: OIDCCodeOpaque, Title: "Code redemption with PKCE, opaque access token, ID token signed with ES256",
			Sides: codeSides(false)},
		{Name: OIDCUserInfo, Title: "UserInfo (OpenID Connect Core §5.3) against introspection (RFC 7662), opaque access token",
			Sides: userInfoSides(), Bound: maxUserInfoOverIntrospection},
	}
}

// OIDCScenarios returns the cases of the OpenID Provider comparison as
// scenarios of the HTTP load measure, named "oidc-" and the case's name,
// whose contenders are the sides. The userinfo scenario's two contenders
// answer different requests (introspection, UserInfo); the code
// scenarios' are of KindCodeExchange.
func OIDCScenarios() []Scenario {
	var scs []Scenario
	for _, c := range OIDCCases() {
		sc := Scenario{Name: "oidc-" + c.Name, Title: c.Title}
		if c.Name != OIDCUserInfo {
			sc.Kind = KindCodeExchange
		}
		for _, s := range c.Sides {
			sc.Contenders = append(sc.Contenders, Contender{Name: s.Name, New: s.New})
		}
		scs = append(scs, sc)
	}
	return scs
}

// TimedLabel is the pprof label (key and value) of the timed loops of the
// OpenID Provider comparison's benchmarks: a CPU profile of one
// (go test -bench BenchmarkOIDC/... -cpuprofile) also holds its setup,
// which approves a code per request; go tool pprof -tagfocus
// bench=timed keeps only the loop. The garbage collector's background
// workers carry no label: the whole profile shows their share.
var TimedLabel = [2]string{"bench", "timed"}

// bench is the benchmark of s: as ServeRequests, b.N requests made before
// the timer starts, each answered 200 with s.want and without s.refuse in
// the body. The loop runs under TimedLabel, after a garbage collection.
func (s OIDCSide) bench(b *testing.B) {
	srv, err := s.New()
	if err != nil {
		b.Fatal(err)
	}
	reqs, err := srv.Requests(b.N)
	if err != nil {
		b.Fatal(err)
	}
	w := NewRecorder()
	// The garbage of the setup (an authorization request and an approval
	// per code) is collected now, not by the timed loop: a loop of b.N
	// redemptions would otherwise also pay for b.N approvals' garbage.
	runtime.GC()
	pprof.SetGoroutineLabels(pprof.WithLabels(context.Background(), pprof.Labels(TimedLabel[0], TimedLabel[1])))
	defer pprof.SetGoroutineLabels(context.Background())
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		w.Reset()
		srv.Handler.ServeHTTP(w, reqs[i].HTTPRequest())
		body := w.Body.Bytes()
		if w.Code != http.StatusOK || !bytes.Contains(body, s.want) || s.refuse != nil && bytes.Contains(body, s.refuse) {
			b.Fatalf("%s: request %d: status %d, want 200 with %s: %s", s.Name, i, w.Code, s.want, body)
		}
	}
}

// idTokenClaims is the payload of an ID token of the comparison's
// Providers, as the with-openid side's ID tokens have it (Core §2), which
// es256Signs signs.
var idTokenClaims = []byte(`{"iss":"https://as.example","sub":"user-1","aud":"bench-client","exp":1780000300,` +
	`"iat":1780000000,"nonce":"n-0S6_WzA2Mj","azp":"bench-client","at_hash":"77QmUPtjPfzWtF2AnpK9RQ",` +
	`"sid":"GOS-AyiFO_jf9KRnp4-ubw"}`)

// es256Signs is the benchmark of the signature of an ID token's claims
// with ES256, with a new key, by token.JWT.SignJWT as the OpenID Provider
// signs ID tokens.
func es256Signs(b *testing.B) {
	ks, err := newKeySet(jwa.ES256)
	if err != nil {
		b.Fatal(err)
	}
	j, err := token.NewJWT(token.JWTConfig{Keys: ks})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if _, err := j.SignJWT(ctx, "JWT", idTokenClaims); err != nil {
			b.Fatalf("signature %d: %v", i, err)
		}
	}
}

// oidcBenchmarks returns the benchmarks of the comparison, for each case
// of cs its reference side and then its measured side, named case/side.
func oidcBenchmarks(cs []OIDCCase) []benchmark {
	bs := make([]benchmark, 0, 2*len(cs))
	for _, c := range cs {
		for _, s := range c.Sides {
			bs = append(bs, benchmark{name: c.Name + "/" + s.Name, run: s.bench})
		}
	}
	return bs
}

// CompareOIDC runs the OpenID Provider comparison at the handler: for
// each case of OIDCCases, the go test benchmark of both sides, and the
// benchmark of one ES256 signature of an ID token's claims (es256Signs),
// every benchmark in one compareBenchmarks run, interleaved and rotated.
// It returns, by case name, the reference side, then the measured side;
// code redemption cases then have NameES256Sign and NameWithoutPlusSign
// (the sum of the without-openid side and the signature: ns/op, B/op and
// allocs/op added, its fastest and slowest the sums of theirs).
func CompareOIDC(opts CompareOptions) (map[string][]Result, error) {
	cs := OIDCCases()
	bs := append(oidcBenchmarks(cs), benchmark{name: NameES256Sign, run: es256Signs})
	rs, err := compareBenchmarks(bs, opts)
	if err != nil {
		return nil, err
	}
	if len(rs) != 2*len(cs)+1 {
		return nil, fmt.Errorf("%d results for %d cases", len(rs), len(cs))
	}
	sign := rs[len(rs)-1]
	out := make(map[string][]Result, len(cs))
	for i, c := range cs {
		ref, measured := rs[2*i], rs[2*i+1]
		ref.Name, measured.Name = c.Sides[0].Name, c.Sides[1].Name
		out[c.Name] = []Result{ref, measured}
		if c.Sides[0].Name == NameWithoutOpenID {
			out[c.Name] = append(out[c.Name], sign, Result{
				Name:        NameWithoutPlusSign,
				NsPerOp:     ref.NsPerOp + sign.NsPerOp,
				BytesPerOp:  ref.BytesPerOp + sign.BytesPerOp,
				AllocsPerOp: ref.AllocsPerOp + sign.AllocsPerOp,
				MinNs:       ref.MinNs + sign.MinNs,
				MaxNs:       ref.MaxNs + sign.MaxNs,
				Runs:        min(ref.Runs, sign.Runs),
				N:           min(ref.N, sign.N),
			})
		}
	}
	return out, nil
}

// OIDCFloor returns, for a code redemption case of CompareOIDC's results,
// the ratio of its with-openid side to its without-openid side plus one
// ES256 signature (NameWithoutPlusSign): how far the ID token costs more
// than the signature it needs.
func OIDCFloor(rs map[string][]Result, c OIDCCase) OIDCRatio {
	var with, floor *Result
	for i, r := range rs[c.Name] {
		switch r.Name {
		case NameWithOpenID:
			with = &rs[c.Name][i]
		case NameWithoutPlusSign:
			floor = &rs[c.Name][i]
		}
	}
	if with == nil || floor == nil || floor.NsPerOp <= 0 {
		return OIDCRatio{}
	}
	return OIDCRatio{Ratio: with.NsPerOp / floor.NsPerOp, Checked: true}
}

// CompareOIDCLoad runs the OpenID Provider comparison over HTTP: for each
// scenario of OIDCScenarios, and the harness beside its two sides,
// CompareLoad with opts. It returns the results by case name (without the
// "oidc-" prefix).
func CompareOIDCLoad(opts LoadOptions) (map[string][]LoadResult, error) {
	out := make(map[string][]LoadResult)
	for i, sc := range OIDCScenarios() {
		sc.Contenders = append(sc.Contenders, NewHarness())
		rs, err := CompareLoad(sc, opts)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", sc.Name, err)
		}
		out[OIDCCases()[i].Name] = rs
	}
	return out, nil
}

// OIDCRatio is the ratio of the measured side to the reference side of a
// case, at the handler (ns/op) or over HTTP (server CPU per 1,000
// requests at one connection), and the verdict against the case's Bound.
type OIDCRatio struct {
	// Ratio is the measured side over the reference side; Net is the
	// same with the harness's cost taken off both sides, when it was
	// measured (zero otherwise).
	Ratio, Net float64
	// Checked is false when a figure was missing.
	Checked bool
}

// Met reports whether the ratio is within bound; a case without a bound
// has no target and is never met.
func (q OIDCRatio) Met(bound float64) bool { return q.Checked && bound > 0 && q.Ratio <= bound }

// Verdict is PASS or FAIL against bound, "no target" without one, and
// "not measured" without the figures.
func (q OIDCRatio) Verdict(bound float64) string {
	switch {
	case !q.Checked:
		return "not measured"
	case bound <= 0:
		return "no target"
	case q.Met(bound):
		return "PASS"
	default:
		return "FAIL"
	}
}

// OIDCHandlerRatio returns the handler ratio of the case named c in rs
// (CompareOIDC's results).
func OIDCHandlerRatio(rs map[string][]Result, c OIDCCase) OIDCRatio {
	var ref, measured *Result
	for i, r := range rs[c.Name] {
		switch r.Name {
		case c.Sides[0].Name:
			ref = &rs[c.Name][i]
		case c.Sides[1].Name:
			measured = &rs[c.Name][i]
		}
	}
	if ref == nil || measured == nil || ref.NsPerOp <= 0 {
		return OIDCRatio{}
	}
	return OIDCRatio{Ratio: measured.NsPerOp / ref.NsPerOp, Checked: true}
}

// OIDCLoadRatio returns the ratio of the server CPU per 1,000 HTTP
// requests at one connection of the case named c in rs
// (CompareOIDCLoad's results), and net of the harness's when it is there.
func OIDCLoadRatio(rs map[string][]LoadResult, c OIDCCase) OIDCRatio {
	cpu := func(name string) float64 {
		for _, r := range rs[c.Name] {
			if r.Name == name && r.Conns == 1 {
				return float64(r.CPUPer1000)
			}
		}
		return 0
	}
	ref, measured, h := cpu(c.Sides[0].Name), cpu(c.Sides[1].Name), cpu(NameHarness)
	if ref <= 0 || measured <= 0 {
		return OIDCRatio{}
	}
	q := OIDCRatio{Ratio: measured / ref, Checked: true}
	if h > 0 && ref > h {
		q.Net = (measured - h) / (ref - h)
	}
	return q
}
