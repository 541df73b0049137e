package grantortest

import (
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/grantor-dev/grantor/grant"
	"github.com/grantor-dev/grantor/oauth2"
	"github.com/grantor-dev/grantor/resource"
	"github.com/grantor-dev/grantor/storage/memory"
)

// Server is a Provider over a memory store, served by an httptest server
// whose URL is the Provider's issuer, with one fake clock for all of them.
// NewServer starts it; the test's cleanup closes it.
type Server struct {
	// Provider is the authorization server.
	Provider *oauth2.Provider
	// Store is the memory store behind the Provider: its clients, tokens
	// and the records of the authorization code flow.
	Store *memory.Store
	// Clock is the clock of the Provider, the store and Validator: move
	// it with Advance or Set. NewServer hands it to them, so assigning
	// another Clock to the field changes none of them: to start from a
	// clock of your own, give it with WithClock.
	Clock *Clock
	// HTTP is the running test server.
	HTTP *httptest.Server
	// URL is the base URL of the test server, as http://127.0.0.1:port.
	URL string
	// Issuer is the Provider's issuer: URL followed by the issuer's path
	// (WithIssuerPath).
	Issuer string

	mint *minter
}

// An Option changes how NewServer builds its Server.
type Option func(*settings)

type settings struct {
	clock      *Clock
	issuerPath string
	configure  []func(*oauth2.Config)
	handler    func(*oauth2.Provider) http.Handler
}

// WithConfig lets configure change the Provider's configuration before
// NewServer calls oauth2.NewProvider, for example to add grants, JWT
// access tokens or a claims hook. The configuration it receives is
// complete: Issuer, Clients, Tokens, Interactions, TokenKeys and Clock
// are set, and Grants holds the client credentials and refresh token
// grants. configure must not change Issuer (use WithIssuerPath), Clock
// (use WithClock), Clients or Tokens (the Server's helpers and Validator
// read Server.Store): NewServer fails the test if it does. Several
// WithConfig options run in order.
func WithConfig(configure func(cfg *oauth2.Config)) Option {
	return func(s *settings) { s.configure = append(s.configure, configure) }
}

// WithClock gives the Server the clock c instead of a new one that starts
// at Start, for a test that shares it with fakes of its own.
func WithClock(c *Clock) Option { return func(s *settings) { s.clock = c } }

// WithIssuerPath gives the issuer a path, such as "/oauth", so that the
// issuer is the test server's URL followed by it (RFC 8414 §2).
func WithIssuerPath(path string) Option { return func(s *settings) { s.issuerPath = path } }

// WithHandler sets what the test server serves, in place of
// Provider.Handler: for a test of an application that mounts the
// Provider next to its own pages (a login page for the authorization
// code flow, an API).
func WithHandler(handler func(p *oauth2.Provider) http.Handler) Option {
	return func(s *settings) { s.handler = handler }
}

// NewServer starts a Server for the test t and registers its closing with
// t.Cleanup. The Provider serves the client credentials and refresh token
// grants (more with WithConfig), issues opaque access tokens, and answers
// the grant that Mint and AccessToken use (see GrantType). A configuration
// that NewProvider refuses fails the test.
func NewServer(t testing.TB, opts ...Option) *Server {
	t.Helper()
	var set settings
	for _, o := range opts {
		o(&set)
	}
	if set.clock == nil {
		set.clock = NewClock(Start())
	}
	s := &Server{Clock: set.clock}
	s.Store = memory.New(memory.WithClock(s.Clock.Now))

	// The issuer is the server's URL, known once its listener exists and
	// before it serves.
	s.HTTP = httptest.NewUnstartedServer(nil)
	t.Cleanup(s.HTTP.Close)
	s.URL = "http://" + s.HTTP.Listener.Addr().String()
	s.Issuer = s.URL + set.issuerPath

	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatalf("grantortest: %v", err)
	}
	// The Provider's clock reports when it is read while probed, so that
	// NewServer can tell whether WithConfig replaced it: a func cannot be
	// compared.
	var probing, read atomic.Bool
	clock := s.Clock
	cfg := oauth2.Config{
		Issuer:       s.Issuer,
		Clients:      s.Store,
		Tokens:       s.Store,
		Interactions: s.Store,
		TokenKeys:    [][]byte{key},
		Clock: func() time.Time {
			if probing.Load() {
				read.Store(true)
			}
			return clock.Now()
		},
		Grants: []oauth2.GrantFactory{
			grant.ClientCredentials(grant.ClientCredentialsOptions{}),
			grant.RefreshToken(s.Store, grant.RefreshTokenOptions{}),
		},
	}
	for _, configure := range set.configure {
		configure(&cfg)
	}
	if cfg.Issuer != s.Issuer {
		t.Fatalf("grantortest: WithConfig changed the issuer to %q; the issuer is the test server's URL, give it a path with WithIssuerPath", cfg.Issuer)
	}
	if cfg.Clock != nil {
		probing.Store(true)
		cfg.Clock()
		probing.Store(false)
	}
	if !read.Load() {
		t.Fatalf("grantortest: WithConfig replaced Config.Clock; the Provider, Server.Store and Validator must read one clock, Server.Clock: give NewServer a clock of your own with WithClock and move it instead")
	}
	if c, ok := cfg.Clients.(*memory.Store); !ok || c != s.Store {
		t.Fatalf("grantortest: WithConfig replaced Config.Clients; the Provider must read its clients from Server.Store: put them there with RegisterClient, RegisterPublicClient or Server.Store.PutClient")
	}
	if c, ok := cfg.Tokens.(*memory.Store); !ok || c != s.Store {
		t.Fatalf("grantortest: WithConfig replaced Config.Tokens; the Provider must store its tokens in Server.Store, which Validator, Revoke and the refresh token grant read")
	}
	audience := slices.Clone(cfg.DefaultAudience)
	if len(audience) == 0 {
		audience = []string{s.Issuer}
	}
	s.mint = newMinter(s.Store, audience)
	cfg.Grants = append(slices.Clone(cfg.Grants), s.mint.factory)

	p, err := oauth2.NewProvider(cfg)
	if err != nil {
		t.Fatalf("grantortest: %v", err)
	}
	s.Provider = p
	if err := s.mint.register(); err != nil {
		t.Fatalf("grantortest: registering the client that mints tokens: %v", err)
	}
	s.HTTP.Config.Handler = p.Handler()
	if set.handler != nil {
		s.HTTP.Config.Handler = set.handler(p)
	}
	s.HTTP.Start()
	return s
}

// Client returns an HTTP client for the test server.
func (s *Server) Client() *http.Client { return s.HTTP.Client() }

// Validator returns the validator an API in the same process as the
// Provider uses (resource.Store), on the Server's clock: give it to
// resource.Middleware.
func (s *Server) Validator() resource.Validator {
	return resource.Store(s.Provider, s.Store, nil)
}

// NewRequest returns a request for a handler under test (as
// httptest.NewRequest does) that carries accessToken as a bearer token
// (RFC 6750 §2.1).
func NewRequest(method, target, accessToken string) *http.Request {
	r := httptest.NewRequest(method, target, nil)
	r.Header.Set("Authorization", "Bearer "+accessToken)
	return r
}
