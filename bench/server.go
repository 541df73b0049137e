package bench

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"net/url"
)

// Kind is what a scenario's requests ask for, and so what a correct answer
// looks like (see CheckResponse).
type Kind string

// The kinds of scenario.
const (
	// KindClientCredentials: POST /token with grant_type=client_credentials
	// and scope=read; the answer carries an access token.
	KindClientCredentials Kind = "client_credentials"
	// KindIntrospection: POST /introspect with token=<a live access token
	// of the calling client>; the answer says "active": true.
	KindIntrospection Kind = "introspection"
	// KindRefresh: POST /token with grant_type=refresh_token and a refresh
	// token used once; the answer carries a new access token and a new
	// refresh token (rotation), and the old one is refused afterwards.
	KindRefresh Kind = "refresh_token"
	// KindCodeExchange: POST /token with grant_type=authorization_code, a
	// code used once, the redirect_uri and a PKCE S256 code_verifier; the
	// answer carries an access token, and the code is refused afterwards.
	KindCodeExchange Kind = "authorization_code"
)

// UseOnce reports whether each request of the kind may succeed only once:
// a replay of it must be refused with invalid_grant.
func (k Kind) UseOnce() bool { return k == KindRefresh || k == KindCodeExchange }

// Scenario is one operation measured on every contender.
type Scenario struct {
	// Name is short, for flags and benchmark names: cc-opaque,
	// cc-jwt-es256, introspect, refresh, code.
	Name string
	// Title heads the scenario's tables.
	Title string
	// Kind says what the requests ask for.
	Kind Kind
	// Contenders are the servers compared, the baseline first.
	Contenders []Contender
}

// Contender is one way to build a Server for a scenario.
type Contender struct {
	// Name names the contender in benchmark names and tables.
	Name string
	// New builds a fresh server with an empty token store (apart from
	// what its Requests set up).
	New func() (*Server, error)
	// MaxN, when positive, marks a contender too slow for time-based
	// runs (fosite's default bcrypt hasher): a go test benchmark skips it
	// when b.N is larger, and Compare runs it a fixed, small number of
	// iterations.
	MaxN int
}

// Server is one contender built for one scenario.
type Server struct {
	// Handler serves the scenario's endpoint, at the path of its
	// requests (it may serve other paths too).
	Handler http.Handler
	// ClientID and ClientSecret are the credentials of the registered
	// client that every request authenticates as, with
	// client_secret_basic. The server keeps only a hash of the secret.
	ClientID, ClientSecret string
	// Requests returns n requests of the scenario, each to be sent once
	// and each answered 200 by Handler when sent in any order. Whatever
	// a request needs (a live access token to introspect, a refresh
	// token, an authorization code approved through the library's API)
	// is created here, outside any measurement.
	Requests func(n int) ([]Request, error)
}

// Request is one HTTP request of a scenario, as plain data, so that the
// same request can go through httptest, be written on a TCP connection or
// be handed from a server process to the load generator.
type Request struct {
	// Method is the HTTP method: empty for POST, the method of every
	// request but a UserInfo GET (UserInfoRequest).
	Method string `json:"method,omitempty"`
	// Path is the endpoint: /token, /introspect or /userinfo.
	Path string `json:"path"`
	// Form is the application/x-www-form-urlencoded body of a POST;
	// empty for a GET, which has no body.
	Form string `json:"form"`
	// Authorization is the value of the Authorization header.
	Authorization string `json:"authorization"`
	// DPoP, when not empty, is the value of the DPoP header: a proof
	// (RFC 9449 §4).
	DPoP string `json:"dpop,omitempty"`
}

// BasicAuthorization returns the Authorization header value of
// client_secret_basic: the client ID and secret are form-encoded before
// they are joined and base64-encoded (RFC 6749 §2.3.1).
func BasicAuthorization(clientID, secret string) string {
	cred := url.QueryEscape(clientID) + ":" + url.QueryEscape(secret)
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(cred))
}

// Repeated returns the Requests function of a scenario whose one request
// may be sent any number of times: n copies of r.
func Repeated(r Request) func(n int) ([]Request, error) {
	return func(n int) ([]Request, error) {
		rs := make([]Request, n)
		for i := range rs {
			rs[i] = r
		}
		return rs, nil
	}
}

// ClientCredentialsRequest is the request of the client credentials
// scenarios, the same for every contender.
func ClientCredentialsRequest(clientID, secret string) Request {
	return Request{
		Path:          "/token",
		Form:          url.Values{"grant_type": {"client_credentials"}, "scope": {"read"}}.Encode(),
		Authorization: BasicAuthorization(clientID, secret),
	}
}

// IntrospectionRequest is the request of the introspection scenario: the
// client asks about one of its own access tokens.
func IntrospectionRequest(clientID, secret, accessToken string) Request {
	return Request{
		Path:          "/introspect",
		Form:          url.Values{"token": {accessToken}}.Encode(),
		Authorization: BasicAuthorization(clientID, secret),
	}
}

// RefreshRequest is one request of the refresh rotation scenario.
func RefreshRequest(clientID, secret, refreshToken string) Request {
	return Request{
		Path:          "/token",
		Form:          url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refreshToken}}.Encode(),
		Authorization: BasicAuthorization(clientID, secret),
	}
}

// CodeExchangeRequest is one request of the code exchange scenario.
func CodeExchangeRequest(clientID, secret, code, verifier string) Request {
	return Request{
		Path: "/token",
		Form: url.Values{
			"grant_type":    {"authorization_code"},
			"code":          {code},
			"redirect_uri":  {BenchRedirectURI},
			"code_verifier": {verifier},
		}.Encode(),
		Authorization: BasicAuthorization(clientID, secret),
	}
}

// Contender names, used for the ratio columns of the tables.
const (
	NameBaseline = "baseline"
	NameGrantor  = "grantor"
	// NameGrantorArgon2id is Grantor with a client secret stored with
	// argon2id rather than generated.
	NameGrantorArgon2id = "grantor-argon2id"
	NameFositeFast      = "fosite-fast"
	NameFositeBCrypt    = "fosite-bcrypt"
	// NameHarness is NewHarness's contender, which answers without
	// doing anything.
	NameHarness = "harness"
)

// Alg is a JWS algorithm of the JWT scenarios.
type Alg string

// The algorithms of the JWT scenarios.
const (
	ES256 Alg = "ES256"
	EdDSA Alg = "EdDSA"
	RS256 Alg = "RS256"
)

// The registered client of every server: a confidential client allowed the
// client credentials, authorization code and refresh token grants with the
// scopes "read" and "write", and one redirect URI.
const (
	benchClientID = "bench-client"
	// BenchRedirectURI is the client's registered redirect URI.
	BenchRedirectURI = "https://client.example/cb"
	// BenchIssuer is the issuer (and "iss" of JWTs) of every server.
	BenchIssuer = "https://as.example"
	// BenchSubject is the resource owner who approves every
	// authorization request.
	BenchSubject = "user-1"
)

// randomSecret returns 256 random bits, base64url-encoded without padding.
func randomSecret() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}
