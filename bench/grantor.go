package bench

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"

	"github.com/grantor-dev/grantor/grant"
	"github.com/grantor-dev/grantor/oauth2"
	"github.com/grantor-dev/grantor/storage"
	"github.com/grantor-dev/grantor/storage/memory"
	"github.com/grantor-dev/grantor/token"
)

// grantor is one Grantor Provider configured as examples/server is: the
// memory store, the authorization code, client credentials and refresh
// token grants (and the device grant when grantorOptions.device is set,
// the token exchange and JWT bearer grants when grantorOptions.exchange
// is), introspection, revocation and PAR, and the bench client, whose
// secret comes from oauth2.GenerateClientSecret (stored as a salted
// HMAC-SHA-256). The Provider's whole handler is served, not only the
// endpoint of a scenario.
type grantor struct {
	p       *oauth2.Provider
	handler http.Handler // p.Handler()
	secret  string
	// store is the Provider's memory store.
	store *memory.Store
	// cookie is the browser-binding cookie of the one "browser" that
	// runs every authorization request.
	cookie *http.Cookie
}

// newGrantor builds the Provider; accessTokens nil means opaque tokens.
func newGrantor(accessTokens token.AccessTokenStrategy) (*grantor, error) {
	return newGrantorWith(accessTokens, grantorOptions{})
}

// grantorOptions are what some contenders change in the Provider of
// newGrantorWith.
type grantorOptions struct {
	// humanSecret makes the bench client's secret one a person chose,
	// hashed with oauth2.HashClientSecret (argon2id), as examples/server
	// hashes the secrets of its clients file.
	humanSecret bool
	// clock, when not nil, is the clock of the Provider and of its store.
	clock func() time.Time
	// dpop is Config.DPoP.
	dpop *oauth2.DPoPConfig
	// device registers the device authorization grant (RFC 8628) over
	// the memory store, with deviceCodeOptions, and the bench client for
	// it.
	device bool
	// store are options of the memory store, after its clock.
	store []memory.Option
	// exchange, when not nil, registers the token exchange grant (RFC
	// 8693) with exchangePolicy, and the JWT bearer grant (RFC 7523 §2.1)
	// trusting these issuers, with the memory store as its replay store
	// and mapIssuerSubject; and the bench client for both.
	exchange oauth2.TrustedIssuers
	// tokenKeySet, when not nil, is Config.TokenKeySet, in place of the
	// one random key of Config.TokenKeys.
	tokenKeySet *token.MACKeySet
	// features, when not nil, returns Config.Features, given the memory
	// store.
	features func(st *memory.Store) ([]oauth2.FeatureFactory, error)
	// client, when not nil, changes the bench client before it is
	// stored.
	client func(c *storage.Client)
}

// deviceCodeOptions are the options of the device grant that newGrantorWith
// registers: the defaults (8-letter user codes, a 10-minute lifetime, a
// 5-second interval), and no limit on device authorization requests per
// client (DeviceCodeOptions.RateLimit), which would answer the bench's
// requests 429 after the sixtieth in a minute of the Provider's clock.
var deviceCodeOptions = grant.DeviceCodeOptions{
	VerificationURI: BenchIssuer + "/device",
	RateLimit:       -1,
}

// newGrantorWith builds the Provider with o.
func newGrantorWith(accessTokens token.AccessTokenStrategy, o grantorOptions) (*grantor, error) {
	st := memory.New(append([]memory.Option{memory.WithClock(o.clock)}, o.store...)...)
	var tokenKeys [][]byte
	if o.tokenKeySet == nil {
		key := make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, err
		}
		tokenKeys = [][]byte{key}
	}
	grants := []oauth2.GrantFactory{
		grant.AuthorizationCode(st, grant.AuthorizationCodeOptions{}),
		grant.ClientCredentials(grant.ClientCredentialsOptions{}),
		grant.RefreshToken(st, grant.RefreshTokenOptions{}),
	}
	grantTypes := []string{
		grant.GrantTypeAuthorizationCode, grant.GrantTypeClientCredentials, grant.GrantTypeRefreshToken,
	}
	if o.device {
		grants = append(grants, grant.DeviceCode(st, deviceCodeOptions))
		grantTypes = append(grantTypes, grant.GrantTypeDeviceCode)
	}
	if o.exchange != nil {
		grants = append(grants,
			grant.TokenExchange(grant.TokenExchangeOptions{Policy: exchangePolicy}),
			grant.JWTBearer(grant.JWTBearerOptions{TrustedIssuers: o.exchange, Replay: st, MapSubject: mapIssuerSubject}))
		grantTypes = append(grantTypes, grant.GrantTypeTokenExchange, grant.GrantTypeJWTBearer)
	}
	var features []oauth2.FeatureFactory
	if o.features != nil {
		var err error
		if features, err = o.features(st); err != nil {
			return nil, err
		}
	}
	p, err := oauth2.NewProvider(oauth2.Config{
		Issuer:          BenchIssuer,
		Clients:         st,
		Tokens:          st,
		TokenKeys:       tokenKeys,
		TokenKeySet:     o.tokenKeySet,
		AccessTokens:    accessTokens,
		ScopesSupported: []string{"read", "write"},
		Grants:          grants,
		Interactions:    st,
		PushedRequests:  st,
		LoginURL:        "/login",
		// The refresh and code scenarios start thousands of
		// interactions from one address to set up their requests,
		// outside the measure.
		InteractionRateLimit: -1,
		Clock:                o.clock,
		DPoP:                 o.dpop,
		Features:             features,
	})
	if err != nil {
		return nil, err
	}
	secret, hash, err := oauth2.GenerateClientSecret(nil)
	if err != nil {
		return nil, err
	}
	if o.humanSecret {
		secret = "a secret a person chose"
		if hash, err = oauth2.HashClientSecret(secret); err != nil {
			return nil, err
		}
	}
	client := &storage.Client{
		ID:            benchClientID,
		SecretHash:    hash,
		GrantTypes:    grantTypes,
		RedirectURIs:  []string{BenchRedirectURI},
		Scopes:        []string{"read", "write"},
		DefaultScopes: []string{"read"},
	}
	if o.client != nil {
		o.client(client)
	}
	if err := st.PutClient(client); err != nil {
		return nil, err
	}
	return &grantor{p: p, handler: p.Handler(), secret: secret, store: st}, nil
}

// server returns the Server of a scenario whose requests requests makes.
func (g *grantor) server(requests func(n int) ([]Request, error)) *Server {
	return &Server{Handler: g.handler, ClientID: benchClientID, ClientSecret: g.secret, Requests: requests}
}

// NewGrantorClientCredentials returns Grantor for the client credentials
// scenario with opaque access tokens.
func NewGrantorClientCredentials() (*Server, error) {
	g, err := newGrantor(nil)
	if err != nil {
		return nil, err
	}
	return g.server(Repeated(ClientCredentialsRequest(benchClientID, g.secret))), nil
}

// NewGrantorClientCredentialsArgon2id returns Grantor for the client
// credentials scenario with opaque access tokens, for a client whose
// secret is stored with argon2id: the Provider verifies it slowly once
// (here, before it is measured), then recognises it with a keyed check
// kept in memory.
func NewGrantorClientCredentialsArgon2id() (*Server, error) {
	g, err := newGrantorWith(nil, grantorOptions{humanSecret: true})
	if err != nil {
		return nil, err
	}
	// The one slow verification happens here, outside the measure, as it
	// happens once in the life of a server: the figures are those of the
	// repeated requests that follow.
	if _, err := fetchTokens(g.handler, ClientCredentialsRequest(benchClientID, g.secret)); err != nil {
		return nil, err
	}
	return g.server(Repeated(ClientCredentialsRequest(benchClientID, g.secret))), nil
}

// NewGrantorClientCredentialsJWT returns Grantor for the client
// credentials scenario with RFC 9068 JWT access tokens signed with alg, as
// examples/server -tokens jwt is configured (there with ES256).
func NewGrantorClientCredentialsJWT(alg Alg) (*Server, error) {
	key, err := token.GenerateSigningKey(jwa.SignatureAlgorithm(alg))
	if err != nil {
		return nil, err
	}
	keys, err := token.NewKeySet(key)
	if err != nil {
		return nil, err
	}
	jwt, err := token.NewJWT(token.JWTConfig{Keys: keys, Issuer: BenchIssuer})
	if err != nil {
		return nil, err
	}
	g, err := newGrantor(jwt)
	if err != nil {
		return nil, err
	}
	return g.server(Repeated(ClientCredentialsRequest(benchClientID, g.secret))), nil
}

// NewGrantorIntrospection returns Grantor for the introspection scenario:
// the client introspects one of its own opaque access tokens.
func NewGrantorIntrospection() (*Server, error) {
	g, err := newGrantor(nil)
	if err != nil {
		return nil, err
	}
	tok, err := fetchTokens(g.handler, ClientCredentialsRequest(benchClientID, g.secret))
	if err != nil {
		return nil, err
	}
	return g.server(Repeated(IntrospectionRequest(benchClientID, g.secret, tok.AccessToken))), nil
}

// NewGrantorRefresh returns Grantor for the refresh rotation scenario:
// each request uses a refresh token of its own, from an authorization code
// flow run through the Provider's API.
func NewGrantorRefresh() (*Server, error) {
	g, err := newGrantor(nil)
	if err != nil {
		return nil, err
	}
	return g.server(refreshRequests(g.authorize, g.handler, g.secret)), nil
}

// NewGrantorCodeExchange returns Grantor for the code exchange scenario:
// each request redeems a code of its own, approved through the Provider's
// API.
func NewGrantorCodeExchange() (*Server, error) {
	g, err := newGrantor(nil)
	if err != nil {
		return nil, err
	}
	return g.server(codeExchangeRequests(g.authorize, g.secret)), nil
}

// authorize runs an authorization request for the scope read through the
// Provider's authorization endpoint, then approves it for BenchSubject
// with Provider.Approve, as an application's consent page does, and
// returns the code and its PKCE verifier.
func (g *grantor) authorize() (code, verifier string, err error) {
	return g.authorizeWith(nil)
}

// authorizeWith is authorize with the parameters of params (scope, nonce)
// in place of or beside those of authorizationQuery.
func (g *grantor) authorizeWith(params url.Values) (code, verifier string, err error) {
	q, verifier, err := authorizationQuery()
	if err != nil {
		return "", "", err
	}
	for name, v := range params {
		q[name] = v
	}
	r := httptest.NewRequest(http.MethodGet, BenchIssuer+"/authorize?"+q.Encode(), nil)
	if g.cookie != nil {
		r.AddCookie(g.cookie)
	}
	w := httptest.NewRecorder()
	g.handler.ServeHTTP(w, r)
	res := w.Result()
	if res.StatusCode != http.StatusSeeOther {
		return "", "", fmt.Errorf("grantor: authorize: status %d: %s", res.StatusCode, w.Body)
	}
	if cs := res.Cookies(); len(cs) > 0 {
		g.cookie = cs[0]
	}
	login, err := res.Location()
	if err != nil {
		return "", "", err
	}
	id := login.Query().Get("interaction")

	r = httptest.NewRequest(http.MethodPost, BenchIssuer+"/login", nil)
	r.AddCookie(g.cookie)
	w = httptest.NewRecorder()
	if err := g.p.Approve(w, r, id, oauth2.Approval{Subject: BenchSubject}); err != nil {
		return "", "", err
	}
	back, err := w.Result().Location()
	if err != nil {
		return "", "", err
	}
	code = back.Query().Get("code")
	if code == "" {
		return "", "", fmt.Errorf("grantor: approve: no code in %s", back)
	}
	return code, verifier, nil
}
