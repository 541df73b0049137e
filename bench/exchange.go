package bench

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"

	"github.com/grantor-dev/grantor/grant"
	"github.com/grantor-dev/grantor/oauth2"
	"github.com/grantor-dev/grantor/storage"
)

// The token exchange grant (RFC 8693) and the JWT bearer grant (RFC 7523
// §2.1) through Grantor's handler. A token exchange of one of the
// client's opaque access tokens is compared with a client credentials
// request (RFC 6749 §4.4) through the same handler; a JWT bearer grant
// with an ES256 assertion is compared with that client credentials
// request plus one verification of an ES256 assertion with jwx
// (jws.Verify), summed per request as the DPoP token request comparison
// sums its baseline. The four benchmarks are measured in one run,
// interleaved, each on a Provider of its own built alike: the cc-opaque
// contender's configuration (memory store, opaque access tokens, the bench
// client with a generated secret) plus both grants (exchangePolicy for
// token exchange; the run's trusted issuer, with a static JWKS, for JWT
// bearer), the bench client registered for them, and a benchClock that
// stays at deviceBenchStart, so that no token, assertion or replay entry
// expires during a run: the tokens and the assertions' jti accumulate in
// the memory store.

// Names of the token exchange and JWT bearer comparison (CompareExchange).
const (
	// NameExchangeClientCredentials is a client credentials request,
	// answered 200 with an access token: the reference of the token
	// exchange target, and half of NameCCES256Verify.
	NameExchangeClientCredentials = "client-credentials"
	// NameTokenExchange is a token exchange request whose subject token
	// is an opaque access token of the client, answered 200 with an
	// access token.
	NameTokenExchange = "token-exchange"
	// NameES256Verify is one jws.Verify of an ES256 assertion with the
	// issuer's public key, as a jwx-based server verifies it.
	NameES256Verify = "es256-verify"
	// NameCCES256Verify is the sum of NameExchangeClientCredentials and
	// NameES256Verify: the reference of the JWT bearer target.
	NameCCES256Verify = "cc+es256-verify"
	// NameJWTBearer is an access token request with an ES256 assertion of
	// a trusted issuer, each used once, answered 200 with an access
	// token.
	NameJWTBearer = "jwt-bearer"
)

// AssertionPoolSize is the number of assertions that the JWT bearer
// benchmark signs at a time, outside the timer, and presents in turn,
// each once; and that the ES256 verification benchmark verifies in turn.
const AssertionPoolSize = 1000

// AssertionIssuer is the issuer identifier of the trusted issuer whose
// assertions the JWT bearer benchmark presents.
const AssertionIssuer = "https://idp.example"

// assertionKeyID is the kid of the trusted issuer's signing key.
const assertionKeyID = "bench-idp-1"

// exchangePolicy is the token exchange policy of the bench Provider: it
// allows every exchange, within the limits the grant keeps itself (RFC
// 8693 §5).
var exchangePolicy = grant.TokenExchangePolicyFunc(func(context.Context, *grant.TokenExchangeRequest) (*grant.Allowance, error) {
	return &grant.Allowance{}, nil
})

// mapIssuerSubject maps a trusted issuer's subject to "ISSUER#sub", as
// examples/server does.
func mapIssuerSubject(_ context.Context, _ *storage.Client, jwt *oauth2.TrustedJWT) (string, error) {
	return jwt.Issuer + "#" + jwt.Subject, nil
}

// TokenExchangeRequest is a token exchange request (RFC 8693 §2.1) of a
// confidential client, authenticated with client_secret_basic, that
// presents subjectToken, one of this server's access tokens, for an
// access token with the scope read.
func TokenExchangeRequest(clientID, secret, subjectToken string) Request {
	return Request{
		Path: "/token",
		Form: url.Values{
			"grant_type":         {grant.GrantTypeTokenExchange},
			"subject_token":      {subjectToken},
			"subject_token_type": {grant.TokenTypeAccessToken},
			"scope":              {"read"},
		}.Encode(),
		Authorization: BasicAuthorization(clientID, secret),
	}
}

// JWTBearerRequest is an access token request with a JWT bearer assertion
// (RFC 7523 §2.1) of a confidential client, authenticated with
// client_secret_basic, for the scope read.
func JWTBearerRequest(clientID, secret, assertion string) Request {
	return Request{
		Path:          "/token",
		Form:          url.Values{"grant_type": {grant.GrantTypeJWTBearer}, "assertion": {assertion}, "scope": {"read"}}.Encode(),
		Authorization: BasicAuthorization(clientID, secret),
	}
}

// assertionIssuer is a trusted issuer of one run: its ES256 signing key,
// and the TrustedIssuerList that holds its public key as a static JWKS.
type assertionIssuer struct {
	key, pub jwk.Key
	list     *oauth2.TrustedIssuerList
	// next is the number of the next assertion's jti.
	next int
}

// newAssertionIssuer generates the issuer's P-256 key.
func newAssertionIssuer() (*assertionIssuer, error) {
	raw, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	key, err := jwk.FromRaw(raw)
	if err != nil {
		return nil, err
	}
	if err := key.Set(jwk.KeyIDKey, assertionKeyID); err != nil {
		return nil, err
	}
	if err := key.Set(jwk.AlgorithmKey, jwa.ES256); err != nil {
		return nil, err
	}
	pub, err := key.PublicKey()
	if err != nil {
		return nil, err
	}
	set := jwk.NewSet()
	if err := set.AddKey(pub); err != nil {
		return nil, err
	}
	doc, err := json.Marshal(set)
	if err != nil {
		return nil, err
	}
	list, err := oauth2.NewTrustedIssuerList([]oauth2.TrustedIssuer{{Issuer: AssertionIssuer, JWKS: doc}}, nil)
	if err != nil {
		return nil, err
	}
	return &assertionIssuer{key: key, pub: pub, list: list}, nil
}

// sign returns n assertions (RFC 7523 §3) of the issuer for this server
// (aud: BenchIssuer) about the subject alice, issued at now and expiring
// lifetime later, each with a jti of its own, never one of an assertion
// signed before.
func (a *assertionIssuer) sign(n int, now time.Time, lifetime time.Duration) ([]string, error) {
	hdr := jws.NewHeaders()
	if err := hdr.Set(jws.KeyIDKey, assertionKeyID); err != nil {
		return nil, err
	}
	if err := hdr.Set(jws.TypeKey, "JWT"); err != nil {
		return nil, err
	}
	out := make([]string, n)
	for i := range out {
		claims, err := json.Marshal(map[string]any{
			"iss": AssertionIssuer,
			"sub": "alice",
			"aud": BenchIssuer,
			"iat": now.Unix(),
			"exp": now.Add(lifetime).Unix(),
			"jti": "bench-assertion-" + strconv.Itoa(a.next),
		})
		if err != nil {
			return nil, err
		}
		a.next++
		tok, err := jws.Sign(claims, jws.WithKey(jwa.ES256, a.key, jws.WithProtectedHeaders(hdr)))
		if err != nil {
			return nil, err
		}
		out[i] = string(tok)
	}
	return out, nil
}

// exchangeBench is the setup of the token exchange and JWT bearer
// benchmarks; the tests change it.
type exchangeBench struct {
	// pool is how many assertions the JWT bearer benchmark signs at a
	// time (at most b.N), and the ES256 verification benchmark verifies
	// in turn.
	pool int
	// lifetime is how long after their iat the assertions expire: within
	// the grant's bound (grant.DefaultJWTBearerMaxLifetime), and, as the
	// Provider's clock stays at their iat, longer than any run.
	lifetime time.Duration
}

// defaultExchangeBench is the setup of the comparison.
var defaultExchangeBench = exchangeBench{
	pool:     AssertionPoolSize,
	lifetime: 5 * time.Minute,
}

// exchangeGrantor is the Provider of one run, its clock and the issuer it
// trusts.
type exchangeGrantor struct {
	*grantor
	clock  *benchClock
	issuer *assertionIssuer
}

// newGrantor builds the Provider of a run, with a new trusted issuer.
func (d exchangeBench) newGrantor() (*exchangeGrantor, error) {
	iss, err := newAssertionIssuer()
	if err != nil {
		return nil, err
	}
	c := newBenchClock()
	g, err := newGrantorWith(nil, grantorOptions{clock: c.Now, exchange: iss.list})
	if err != nil {
		return nil, err
	}
	return &exchangeGrantor{grantor: g, clock: c, issuer: iss}, nil
}

// assertionRequests returns n JWT bearer requests of g's bench client,
// each with a new assertion issued at the Provider's time.
func (g *exchangeGrantor) assertionRequests(n int, lifetime time.Duration) ([]Request, error) {
	as, err := g.issuer.sign(n, g.clock.Now(), lifetime)
	if err != nil {
		return nil, err
	}
	reqs := make([]Request, n)
	for i, a := range as {
		reqs[i] = JWTBearerRequest(benchClientID, g.secret, a)
	}
	return reqs, nil
}

// exchangeRequest returns the token exchange request of g's bench client,
// with a subject token that a client credentials request gets from g.
func (g *exchangeGrantor) exchangeRequest() (Request, error) {
	tok, err := fetchTokens(g.handler, ClientCredentialsRequest(benchClientID, g.secret))
	if err != nil {
		return Request{}, err
	}
	return TokenExchangeRequest(benchClientID, g.secret, tok.AccessToken), nil
}

// issuedAccessToken is how a token exchange response names the type of
// the token it issued (RFC 8693 §2.2.1), checked after each exchange.
var issuedAccessToken = []byte(`"issued_token_type":"` + grant.TokenTypeAccessToken + `"`)

// serveWanting sends req to h b.N times; each must be answered 200 with
// want in the body.
func serveWanting(b *testing.B, h http.Handler, req Request, want []byte) {
	w := NewRecorder()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		w.Reset()
		h.ServeHTTP(w, req.HTTPRequest())
		if w.Code != http.StatusOK || !bytes.Contains(w.Body.Bytes(), want) {
			b.Fatalf("request %d: status %d, want 200 with %s: %s", i, w.Code, want, w.Body.Bytes())
		}
	}
}

// clientCredentials is the benchmark of client credentials requests: each
// must be answered 200 with an access token.
func (d exchangeBench) clientCredentials(b *testing.B) {
	g, err := d.newGrantor()
	if err != nil {
		b.Fatal(err)
	}
	serveWanting(b, g.handler, ClientCredentialsRequest(benchClientID, g.secret), accessTokenMember)
}

// tokenExchanges is the benchmark of token exchanges: the bench client
// exchanges one of its opaque access tokens, got before the timer starts,
// again and again (an exchange uses nothing up, RFC 8693 §2.1); each must
// be answered 200 with an access token (issued_token_type, §2.2.1).
func (d exchangeBench) tokenExchanges(b *testing.B) {
	g, err := d.newGrantor()
	if err != nil {
		b.Fatal(err)
	}
	req, err := g.exchangeRequest()
	if err != nil {
		b.Fatal(err)
	}
	serveWanting(b, g.handler, req, issuedAccessToken)
}

// es256Verifies is the benchmark of the bare verification of assertions
// with jwx: jws.Verify, which parses the compact JWS, with the issuer's
// public key as a jwk.Key, as the DPoP baseline (NewBaselineProofValidator)
// hands jwx the key of a proof. It checks no claim and remembers no jti:
// the least a jwx-based JWT bearer grant does with an assertion. The
// assertions, signed before the timer starts, are verified in turn.
func (d exchangeBench) es256Verifies(b *testing.B) {
	iss, err := newAssertionIssuer()
	if err != nil {
		b.Fatal(err)
	}
	pool, err := iss.sign(min(b.N, d.pool), deviceBenchStart, d.lifetime)
	if err != nil {
		b.Fatal(err)
	}
	opt := jws.WithKey(jwa.ES256, iss.pub)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if _, err := jws.Verify([]byte(pool[i%len(pool)]), opt); err != nil {
			b.Fatalf("assertion %d: %v", i, err)
		}
	}
}

// jwtBearers is the benchmark of JWT bearer requests: each presents an
// assertion never presented before (the grant remembers every jti until
// the assertion expires, RFC 7523 §3 item 7) and must be answered 200
// with an access token. The assertions are signed d.pool at a time with
// the timer stopped; the Provider's clock stays at their iat, so that
// they stay valid while they are used.
func (d exchangeBench) jwtBearers(b *testing.B) {
	g, err := d.newGrantor()
	if err != nil {
		b.Fatal(err)
	}
	n := min(b.N, d.pool)
	reqs, err := g.assertionRequests(n, d.lifetime)
	if err != nil {
		b.Fatal(err)
	}
	w := NewRecorder()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if i > 0 && i%n == 0 {
			b.StopTimer()
			if reqs, err = g.assertionRequests(n, d.lifetime); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
		w.Reset()
		g.handler.ServeHTTP(w, reqs[i%n].HTTPRequest())
		if w.Code != http.StatusOK || !bytes.Contains(w.Body.Bytes(), accessTokenMember) {
			b.Fatalf("request %d: status %d, want 200 with an access token: %s", i, w.Code, w.Body.Bytes())
		}
	}
}

// benchmarks returns the four benchmarks of the comparison, client
// credentials first.
func (d exchangeBench) benchmarks() []benchmark {
	return []benchmark{
		{name: NameExchangeClientCredentials, run: d.clientCredentials},
		{name: NameTokenExchange, run: d.tokenExchanges},
		{name: NameES256Verify, run: d.es256Verifies},
		{name: NameJWTBearer, run: d.jwtBearers},
	}
}

// CompareExchange runs the token exchange and JWT bearer comparison: the
// go test benchmarks of a client credentials request, of a token exchange
// of an opaque access token, of the jwx verification of an ES256
// assertion and of a JWT bearer request with an ES256 assertion, the
// requests each through a fresh Provider's handler with the memory store,
// in one compareBenchmarks run, interleaved and rotated. It returns five
// rows: NameExchangeClientCredentials, NameTokenExchange,
// NameES256Verify, NameCCES256Verify (the sum of the first and the third:
// ns/op, B/op and allocs/op added, its fastest and slowest the sums of
// theirs) and NameJWTBearer.
func CompareExchange(opts CompareOptions) ([]Result, error) {
	rs, err := compareBenchmarks(defaultExchangeBench.benchmarks(), opts)
	if err != nil {
		return nil, err
	}
	cc, exchange, verify, bearer := rs[0], rs[1], rs[2], rs[3]
	sum := Result{
		Name:        NameCCES256Verify,
		NsPerOp:     cc.NsPerOp + verify.NsPerOp,
		BytesPerOp:  cc.BytesPerOp + verify.BytesPerOp,
		AllocsPerOp: cc.AllocsPerOp + verify.AllocsPerOp,
		MinNs:       cc.MinNs + verify.MinNs,
		MaxNs:       cc.MaxNs + verify.MaxNs,
		Runs:        min(cc.Runs, verify.Runs),
		N:           min(cc.N, verify.N),
	}
	return []Result{cc, exchange, verify, sum, bearer}, nil
}
