// Command server is a runnable Grantor authorization server: the quickest
// way to see the library work, and a starting point to copy.
//
//	go run ./examples/server                 # http://127.0.0.1:8080, opaque tokens
//	go run ./examples/server -tokens jwt     # JWT access tokens (RFC 9068), JWKS published
//	go run ./examples/server -clients clients.json -users users.json
//	go run ./examples/server -store sqlite:grantor.db
//	go run ./examples/server -store postgres:postgres://grantor@db/grantor
//	go run ./examples/server -dpop           # DPoP-bound tokens (RFC 9449) for clients that send proofs
//	go run ./examples/server -dpop-nonce     # the same, with server nonces at the token endpoint
//	go run ./examples/server -device-interval 1s  # devices may poll every second (RFC 8628 §3.2)
//	go run ./examples/server -trusted-issuers FILE  # JWT bearer (RFC 7523) and JWT subject tokens (RFC 8693)
//
// The store is in memory by default; -store sqlite:PATH keeps clients and
// token records in a SQLite file, -store postgres:DSN in a PostgreSQL
// database (whose schema is migrated at start-up). Expired records of a
// database are deleted every minute. The keys that sign tokens and ID
// tokens are kept in the store too, sealed with the secrets of
// -secret-file (keys.go), so tokens outlive a restart. The OpenID login
// sessions go to the store once its adapter keeps them (openid.go), to
// memory until then.
//
// The clients file holds a JSON array of RFC 7591 client metadata objects.
// A client_secret found there is hashed on load and never kept. A client
// may instead register private_key_jwt with its public keys, in "jwks" or
// at an https "jwks_uri", and authenticate with signed assertions (RFC 7523
// §2.2; clientauth.go); client_secret_jwt, whose key is the secret itself,
// is refused. Without the
// flag six demo clients are registered and the secrets of five printed:
// one for the client credentials grant, one for the authorization code
// flow, a resource server that introspects, the public client "tv" for
// the device grant, "gateway", which exchanges the code flow's access
// tokens (RFC 8693), and "federated", which presents JWT bearer assertions
// (RFC 7523).
//
// With -dpop the server accepts DPoP proofs (RFC 9449) at its token and
// PAR endpoints, binds the tokens of a client that sends one to the
// proof's key, and advertises dpop_signing_alg_values_supported; a client
// whose metadata in the clients file says "dpop_bound_access_tokens": true
// must send one. -dpop-nonce also demands a server nonce in every proof at
// the token endpoint (RFC 9449 §8), made with a key drawn at start-up: run
// several instances and each refuses the others' nonces, unlike a real
// deployment, which gives every instance the same keys.
//
// The device authorization grant (RFC 8628) runs through the server's
// verification page, /device (devicepage.go): a device asks for a code at
// the device authorization endpoint, the user types it there, logs in and
// approves, and the device's polls of the token endpoint get the tokens.
// Without a clients file, the public demo client "tv" uses it.
//
// Token exchange (RFC 8693) is always served, under the policy of
// exchange.go; the demo client "gateway" exchanges the access tokens of the
// demo web client, which name it in their audience. -trusted-issuers FILE
// names issuers, with their public keys or jwks_uri, whose JWTs are
// accepted as subject tokens and as JWT bearer assertions (RFC 7523 §2.1),
// the grant the demo client "federated" uses; without it, that grant is
// neither served nor advertised.
//
// The authorization code flow runs through the server's own login and
// consent pages (pages.go). The demo user alice (password wonderland) can
// always log in; the users file adds more, as a JSON array of
// {"username", "password", "name", "email", "email_verified"} objects
// (email and email_verified optional) whose passwords are hashed on
// load. Password guesses are throttled per account and per client address
// (throttle.go), and a login form keeps nothing on the server until the
// user has logged in (csrf.go).
//
// The server is an OpenID Provider too (openid.go; OpenID Connect Core
// 1.0): its discovery document is at /.well-known/openid-configuration,
// a code flow with scope openid gets an ID token signed with keys kept in
// the store (ES256, or RS256 for a client that registered
// id_token_signed_response_alg), and /userinfo answers the profile and
// email scopes from the users file. The login page honours prompt,
// max_age, login_hint and id_token_hint; a browser's OpenID login session
// spares a second password, and prompt=none succeeds silently once the
// user has allowed the client those scopes on the consent page
// (consents.go). /end_session asks the user to confirm a logout a client
// asked for (RP-Initiated Logout 1.0). A clients file may carry the OpenID
// registration members (post_logout_redirect_uris,
// id_token_signed_response_alg, require_auth_time, default_max_age, ...);
// the demo web client may ask for openid profile email.
package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/grantor-dev/grantor/grant"
	"github.com/grantor-dev/grantor/oauth2"
	"github.com/grantor-dev/grantor/oidc"
	"github.com/grantor-dev/grantor/pkce"
	"github.com/grantor-dev/grantor/storage"
	"github.com/grantor-dev/grantor/token"
)

// main runs the server until SIGINT or SIGTERM.
func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, nil); err != nil {
		fmt.Fprintln(os.Stderr, "server:", err)
		os.Exit(1)
	}
}

// options are the command-line flags.
type options struct {
	addr    string
	issuer  string
	tokens  string
	clients string
	users   string
	store   storeSpec
	// dpop accepts DPoP proofs (RFC 9449); dpopNonce also demands server
	// nonces at the token endpoint (§8) and implies dpop.
	dpop, dpopNonce bool
	// deviceInterval is the device grant's polling interval (RFC 8628
	// §3.2); zero is the grant's default.
	deviceInterval time.Duration
	// clock is the Provider's clock, which tests set; nil is time.Now.
	clock func() time.Time
	// userCodeAttempts is the Provider's Config.UserCodeAttempts, which
	// tests set; zero is the default.
	userCodeAttempts int
	// keyReloadInterval is how often the token keys are read again from
	// the store, which tests shorten; zero is keyReloadInterval.
	keyReloadInterval time.Duration
	// secretFile is the -secret-file: the secrets that seal the token
	// keys in the store (keys.go).
	secretFile string
	// trustedIssuers is the -trusted-issuers file: the issuers whose JWTs
	// the token exchange and JWT bearer grants accept.
	trustedIssuers string
	// jwksFetcher fetches the key sets of the trusted issuers' jwks_uri
	// and of the private_key_jwt clients' jwks_uri, which tests set (an httptest server needs AllowPrivateAddresses);
	// nil is the safe default.
	jwksFetcher *oauth2.JWKSFetcher
	// debugAddr is where the memory statistics are served (debug.go).
	debugAddr string
}

// parseFlags reads the command line; errors and -help go to stderr.
func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.addr, "addr", "127.0.0.1:8080", "address to listen on")
	fs.StringVar(&o.issuer, "issuer", "", "issuer identifier (default: http://ADDR)")
	fs.StringVar(&o.tokens, "tokens", "opaque", "access token format: opaque or jwt")
	fs.StringVar(&o.clients, "clients", "", "JSON file with an array of RFC 7591 client metadata objects")
	fs.StringVar(&o.users, "users", "", `JSON file with an array of {"username","password","name","email","email_verified"} objects`)
	fs.BoolVar(&o.dpop, "dpop", false, "accept DPoP proofs (RFC 9449) and bind the tokens of clients that send them to their key")
	fs.BoolVar(&o.dpopNonce, "dpop-nonce", false, "demand DPoP server nonces at the token endpoint (RFC 9449 §8); implies -dpop. The nonce key is random per process, so instances do not accept each other's nonces")
	fs.DurationVar(&o.deviceInterval, "device-interval", grant.DefaultPollInterval,
		"the least time a device leaves between two polls of the token endpoint (RFC 8628 §3.2), whole seconds from 1s to 1m")
	fs.StringVar(&o.secretFile, "secret-file", "",
		"file of the secrets that seal the token keys in the store, one base64 line each (the first seals); required with -store sqlite: or postgres:")
	fs.StringVar(&o.trustedIssuers, "trusted-issuers", "",
		`JSON file with an array of {"issuer", "jwks" or "jwks_uri"} objects, public keys only: the issuers whose JWTs are accepted for token exchange (RFC 8693) and JWT bearer assertions (RFC 7523)`)
	registerDebugFlag(fs, &o.debugAddr)
	storeFlag := fs.String("store", "memory", "where clients and tokens are kept: memory, sqlite:PATH or postgres:DSN")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if o.dpopNonce {
		o.dpop = true
	}
	if o.tokens != "opaque" && o.tokens != "jwt" {
		return o, fmt.Errorf("-tokens must be opaque or jwt, not %q", o.tokens)
	}
	var err error
	o.store, err = parseStore(*storeFlag)
	return o, err
}

// run serves until ctx is done, then shuts down gracefully. When ready is
// not nil it receives the listening address once the server accepts
// connections.
func run(ctx context.Context, args []string, out io.Writer, ready chan<- string) (err error) {
	o, err := parseFlags(args, out)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return err
	}
	defer ln.Close()
	if o.issuer == "" {
		o.issuer = "http://" + ln.Addr().String()
	}
	st, err := openStore(ctx, o.store)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, st.close()) }()
	srv, err := newServer(ctx, o, st, out)
	if err != nil {
		return err
	}
	if st.deleteExpired != nil {
		// The sweeper stops before the store is closed: deferred calls
		// run last first.
		sweepCtx, stopSweep := context.WithCancel(ctx)
		swept := make(chan struct{})
		go func() {
			defer close(swept)
			sweepExpired(sweepCtx, st.deleteExpired, sweepInterval, srv.logger)
		}()
		defer func() { stopSweep(); <-swept }()
	}
	// The token keys are read again and rotated until ctx is done, like
	// the server.
	go srv.keys.run(ctx)
	stopDebug, err := serveDebug(o.debugAddr, out)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, stopDebug()) }()
	hs := newHTTPServer(srv.handler, defaultTimeouts)
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	if ready != nil {
		ready <- ln.Addr().String()
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	fmt.Fprintln(out, "shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := hs.Shutdown(shutdownCtx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// server is the assembled authorization server.
type server struct {
	provider *oauth2.Provider
	store    store
	users    *users
	pages    *pages
	handler  http.Handler
	logger   *slog.Logger
	// keys are the token keys, kept in the store (keys.go).
	keys *tokenKeys
}

// The demo clients, registered when no clients file is given.
const (
	// demoClientID uses the client credentials grant.
	demoClientID = "demo-client"
	// demoWebClientID is a confidential web application using the
	// authorization code flow with PKCE.
	demoWebClientID = "demo-web"
	// demoRedirectURI is the demo web client's redirect URI. A loopback
	// http URI matches with any port (RFC 8252 §7.3), so a client on
	// 127.0.0.1:PORT/callback can use it.
	demoRedirectURI = "http://127.0.0.1/callback"
	// demoPostLogoutRedirectURI is where the end-session endpoint sends
	// the browser after a logout the demo web client asked for. It is
	// matched exactly, port included (RP-Initiated Logout 1.0 §3.1).
	demoPostLogoutRedirectURI = "http://127.0.0.1/logged-out"
	// demoAPIClientID is a resource server (examples/resource): it may
	// introspect every access token whose audience is the issuer, the
	// default audience.
	demoAPIClientID = "demo-api"
	// demoDeviceClientID is a public client on a device with no browser,
	// which uses the device authorization grant (RFC 8628).
	demoDeviceClientID = "tv"
	// demoDeviceClientName is the name the device page shows.
	demoDeviceClientName = "Living Room TV"
	// demoGatewayClientID is a confidential service that exchanges the
	// demo web client's access tokens, whose audience names it, for
	// tokens of its own (RFC 8693).
	demoGatewayClientID = "gateway"
	// demoFederatedClientID is a confidential client that presents
	// assertions of the trusted issuers (RFC 7523 §2.1), with
	// -trusted-issuers.
	demoFederatedClientID = "federated"
)

// newServer assembles the server: the Provider's endpoints at "/" and the
// application's login and consent pages next to them, on one mux, over st.
// The caller closes st.
func newServer(ctx context.Context, o options, st *openedStore, out io.Writer) (*server, error) {
	logger := slog.New(slog.NewTextHandler(out, &slog.HandlerOptions{Level: slog.LevelInfo}))
	// The token keys live in the store, sealed with the -secret-file's
	// secret: tokens survive a restart, and every instance over one
	// database signs and verifies with the same keys. First, so that a
	// missing or wrong secret stops the server before it writes anything.
	keys, err := openTokenKeys(ctx, o, st, logger)
	if err != nil {
		return nil, err
	}
	var demo demoSecrets
	var hmacClientKeys clientSecretJWTKeys
	if o.clients != "" {
		n, keys, err := loadClients(ctx, st, o.clients)
		if err != nil {
			return nil, err
		}
		hmacClientKeys = keys
		fmt.Fprintf(out, "loaded %d clients from %s\n", n, o.clients)
	} else {
		var err error
		if demo, err = registerDemoClients(ctx, st, o.issuer); err != nil {
			return nil, err
		}
	}

	usrs, err := newUsers()
	if err != nil {
		return nil, err
	}
	if o.users != "" {
		n, err := usrs.load(o.users)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(out, "loaded %d users from %s\n", n, o.users)
	}
	pg, err := newPages(o.issuer, usrs)
	if err != nil {
		return nil, err
	}

	var issuers *oauth2.TrustedIssuerList
	if o.trustedIssuers != "" {
		var names []string
		if issuers, names, err = loadTrustedIssuers(o.trustedIssuers, o.jwksFetcher); err != nil {
			return nil, err
		}
		fmt.Fprintf(out, "trusting the JWTs of %s (from %s)\n", strings.Join(names, ", "), o.trustedIssuers)
	}

	pg.logger = logger
	if o.clock != nil {
		pg.clock = o.clock
	}
	cfg := oauth2.Config{
		Issuer:          o.issuer,
		Clients:         st,
		Tokens:          st,
		TokenKeySet:     keys.macs.MACKeySet(),
		ScopesSupported: []string{"read", "write"},
		Logger:          logger,
		Grants: []oauth2.GrantFactory{
			grant.AuthorizationCode(st, grant.AuthorizationCodeOptions{}),
			grant.ClientCredentials(grant.ClientCredentialsOptions{}),
			grant.RefreshToken(st, grant.RefreshTokenOptions{}),
			// The user types the code at our device page (devicepage.go).
			grant.DeviceCode(st, grant.DeviceCodeOptions{
				VerificationURI: o.issuer + devicePath,
				Interval:        o.deviceInterval,
				// The user who approved must still be ours when the
				// device redeems the approval: a real server checks
				// that the account is not locked or disabled.
				CheckGrant: usrs.checkDeviceGrant,
			}),
		},
		// The authorization endpoint validates a request, keeps it under
		// an interaction id and sends the browser to our login page.
		Interactions:   st,
		PushedRequests: st,
		// Failed client authentications, PAR and device requests, user
		// codes: counted in the store, so that two servers over one
		// database give an attacker one budget, not two.
		Limiter: st,
		// private_key_jwt and client_secret_jwt besides the secrets
		// (clientauth.go), their assertions remembered in the store, so
		// that no instance over one database accepts one twice.
		ClientAuthenticators: clientAuthenticators(st, o.jwksFetcher, hmacClientKeys),
		LoginURL:             "/login",
		ErrorPage:            pg.grantorError,
		Clock:                o.clock,
		// The device page needs a login: count the codes each account
		// tries, besides each browser's and address's.
		UserCodeAccount:  pg.userCodeAccount,
		UserCodeAttempts: o.userCodeAttempts,
	}
	// Token exchange always, JWT bearer with trusted issuers (exchange.go).
	cfg.Grants = append(cfg.Grants, exchangeGrants(o.issuer, issuers, st)...)
	dpopMode, err := configureDPoP(&cfg, o, st)
	if err != nil {
		return nil, err
	}
	format := "opaque"
	if keys.signing != nil {
		if cfg.AccessTokens, err = token.NewJWT(token.JWTConfig{Keys: keys.signing, Issuer: o.issuer}); err != nil {
			return nil, err
		}
		format = "jwt (RFC 9068, ES256, keys rotated daily)"
	}
	// OpenID Connect (openid.go): ID tokens, UserInfo, discovery, the
	// login sessions, and the logout confirmation page.
	op, err := newOpenIDProvider(st, keys, usrs, pg)
	if err != nil {
		return nil, err
	}
	cfg.Features = append(cfg.Features, op.Register)
	// prompt=none: the OpenID login session, and the consents the
	// consent page remembered (consents.go).
	cfg.SilentAuthorize = op.SilentAuthorize(pg.consents.consented)
	p, err := oauth2.NewProvider(cfg)
	if err != nil {
		return nil, err
	}
	pg.provider, pg.openID = p, op
	mux := http.NewServeMux()
	mux.Handle("/", p.Handler())
	pg.register(mux)

	printBanner(out, p, format, st.name, dpopMode, demo)
	if demo.cc != "" {
		if err := printCodeFlow(out, p, demo.web); err != nil {
			return nil, err
		}
		printDeviceFlow(out, p)
		printExchanges(out, p, demo)
	}
	return &server{provider: p, store: st.store, users: usrs, pages: pg, handler: mux, logger: logger, keys: keys}, nil
}

// printBanner prints what the server serves: every endpoint of the
// Provider, as its metadata document lists them, and the pages of the
// application; then, with the demo clients, their secrets and curl lines
// that get, introspect and revoke a token.
func printBanner(out io.Writer, p *oauth2.Provider, format, storeName, dpopMode string, demo demoSecrets) {
	m := p.Metadata()
	fmt.Fprintf(out, "Grantor example authorization server\n")
	for _, e := range []struct{ name, url string }{
		{"issuer", m.Issuer},
		{"metadata", p.Issuer() + oauth2.MetadataPath},   // RFC 8414 §3
		{"discovery", p.EndpointURL(oidc.DiscoveryPath)}, // OpenID Connect Discovery 1.0 §4
		{"authorize", m.AuthorizationEndpoint},
		{"token", m.TokenEndpoint},
		{"revocation", m.RevocationEndpoint},
		{"introspection", m.IntrospectionEndpoint},
		{"PAR", m.PushedAuthorizationRequestEndpoint},
		{"JWKS", m.JWKSURI},
		{"device auth", deviceAuthorizationEndpoint(m)},
		{"userinfo", metadataURL(m, "userinfo_endpoint")},       // OpenID Connect Core §5.3
		{"end session", metadataURL(m, "end_session_endpoint")}, // RP-Initiated Logout 1.0 §2
		{"login page", p.Issuer() + "/login"},
		{"device page", p.Issuer() + devicePath},
	} {
		if e.url != "" {
			fmt.Fprintf(out, "  %-15s %s\n", e.name+":", e.url)
		}
	}
	fmt.Fprintf(out, "  %-15s %s\n", "access tokens:", format)
	fmt.Fprintf(out, "  %-15s %s\n", "store:", storeName)
	fmt.Fprintf(out, "  %-15s %s\n", "DPoP:", dpopMode)
	fmt.Fprintf(out, "  %-15s %s / %s\n", "demo user:", demoUsername, demoPassword)
	if demo.cc == "" {
		return
	}
	fmt.Fprintf(out, "  %-15s client_id=%s client_secret=%s\n", "demo client:", demoClientID, demo.cc)
	fmt.Fprintf(out, "  %-15s client_id=%s client_secret=%s redirect_uri=%s\n", "demo web app:", demoWebClientID, demo.web, demoRedirectURI)
	fmt.Fprintf(out, "  %-15s client_id=%s client_secret=%s (introspects tokens; see examples/resource)\n", "demo API:", demoAPIClientID, demo.api)
	fmt.Fprintf(out, "  %-15s client_id=%s, a public client (no secret) using the device grant (RFC 8628)\n", "demo device:", demoDeviceClientID)
	fmt.Fprintf(out, "  %-15s client_id=%s client_secret=%s (exchanges demo-web's access tokens, RFC 8693)\n", "demo gateway:", demoGatewayClientID, demo.gateway)
	fmt.Fprintf(out, "  %-15s client_id=%s client_secret=%s (presents JWT bearer assertions of the trusted issuers, RFC 7523)\n", "demo federated:", demoFederatedClientID, demo.federated)
	fmt.Fprintf(out, "Get a token:\n  curl -s -u %s:%s -d grant_type=client_credentials -d scope=read %s\n",
		demoClientID, demo.cc, m.TokenEndpoint)
	// RFC 7662 §4: a caller sees only the tokens it may; demo-api serves
	// the issuer's audience, the default of every token.
	fmt.Fprintf(out, "Introspect it as the demo API, which may see every token of this issuer:\n  curl -s -u %s:%s -d token=TOKEN %s\n",
		demoAPIClientID, demo.api, m.IntrospectionEndpoint)
	// RFC 7009 §2.1: only the client the token was issued to may revoke it.
	fmt.Fprintf(out, "Revoke it as the client it was issued to:\n  curl -s -u %s:%s -d token=TOKEN %s\n",
		demoClientID, demo.cc, m.RevocationEndpoint)
}

// deviceAuthorizationEndpoint is the device authorization endpoint that
// the metadata document advertises (RFC 8628 §4).
func deviceAuthorizationEndpoint(m oauth2.Metadata) string {
	return metadataURL(m, "device_authorization_endpoint")
}

// metadataURL is the URL a member of the metadata document beyond RFC
// 8414's holds, "" when it has none.
func metadataURL(m oauth2.Metadata, member string) string {
	u, _ := m.Extra[member].(string)
	return u
}

// printDeviceFlow prints how to run the device flow with the demo device
// client: curl lines for the device's two requests, and what the user
// does in between.
func printDeviceFlow(out io.Writer, p *oauth2.Provider) {
	fmt.Fprintf(out, "Try the device flow (RFC 8628): start it as the device would,\n  curl -s -d client_id=%s -d scope=read %s\n",
		demoDeviceClientID, deviceAuthorizationEndpoint(p.Metadata()))
	fmt.Fprintf(out, "open its verification_uri_complete in a browser (or %s%s and type its user_code), log in, approve,\n",
		p.Issuer(), devicePath)
	fmt.Fprintf(out, "then poll with its device_code, no sooner than its interval, until the tokens come:\n")
	fmt.Fprintf(out, "  curl -s -d grant_type=%s -d client_id=%s -d device_code=DEVICE_CODE %s\n",
		grant.GrantTypeDeviceCode, demoDeviceClientID, p.TokenEndpoint())
}

// printExchanges prints how the demo gateway exchanges a token of the
// demo web client (RFC 8693 §2.1) and, with -trusted-issuers, how the
// demo federated client presents an assertion (RFC 7523 §2.1).
func printExchanges(out io.Writer, p *oauth2.Provider, demo demoSecrets) {
	fmt.Fprintf(out, "Exchange an access token of %s (from the code flow) as the gateway its audience names (RFC 8693):\n", demoWebClientID)
	fmt.Fprintf(out, "  curl -s -u %s:%s -d grant_type=%s -d subject_token=TOKEN -d subject_token_type=%s -d scope=read %s\n",
		demoGatewayClientID, demo.gateway, grant.GrantTypeTokenExchange, grant.TokenTypeAccessToken, p.TokenEndpoint())
	if !slices.Contains(p.Metadata().GrantTypesSupported, grant.GrantTypeJWTBearer) {
		fmt.Fprintf(out, "Start with -trusted-issuers FILE to accept JWT bearer assertions (RFC 7523) of the issuers it lists.\n")
		return
	}
	fmt.Fprintf(out, "Present an assertion of a trusted issuer (RFC 7523), a JWT with iss, sub, aud %s, exp and jti:\n", p.Issuer())
	fmt.Fprintf(out, "  curl -s -u %s:%s -d grant_type=%s -d assertion=ASSERTION %s\n",
		demoFederatedClientID, demo.federated, grant.GrantTypeJWTBearer, p.TokenEndpoint())
}

// configureDPoP sets cfg.DPoP as the -dpop and -dpop-nonce flags say,
// with st remembering the proofs' jti (RFC 9449 §11.1), and describes
// the result for the banner.
func configureDPoP(cfg *oauth2.Config, o options, st storage.ReplayStore) (string, error) {
	if !o.dpop {
		return "off (start with -dpop to accept proofs)", nil
	}
	cfg.DPoP = &oauth2.DPoPConfig{Replay: st}
	if !o.dpopNonce {
		return "on (RFC 9449): tokens requested with a proof are bound to its key", nil
	}
	// One key, drawn now: the nonces of this process are worthless to any
	// other. Instances behind one name share their keys instead.
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return "", err
	}
	cfg.DPoP.Nonce = oauth2.DPoPNonceTokenEndpoint
	cfg.DPoP.NonceKeys = [][]byte{key}
	return "on (RFC 9449), with server nonces at the token endpoint (§8)", nil
}

// printCodeFlow prints an authorization URL for the demo web client, with
// a PKCE challenge made at start-up, and how to redeem the code it gives.
// Nothing listens on 127.0.0.1:80, so the browser shows an error page
// after consent, but the code is in its address bar.
func printCodeFlow(out io.Writer, p *oauth2.Provider, secret string) error {
	verifier, err := pkce.GenerateVerifier()
	if err != nil {
		return err
	}
	q := url.Values{
		"response_type": {"code"}, "client_id": {demoWebClientID}, "redirect_uri": {demoRedirectURI},
		"scope": {"openid profile email read write"}, "state": {"demo"},
		"code_challenge": {pkce.S256Challenge(verifier)}, "code_challenge_method": {"S256"},
	}
	sep := "?"
	if strings.Contains(p.AuthorizationEndpoint(), "?") {
		sep = "&"
	}
	fmt.Fprintf(out, "Try the code flow: open this URL, log in, allow, copy the code from the address bar,\n  %s%s%s\n", p.AuthorizationEndpoint(), sep, q.Encode())
	fmt.Fprintf(out, "then redeem it within a minute:\n")
	fmt.Fprintf(out, "  curl -s -u %s:%s -d grant_type=authorization_code -d redirect_uri=%s -d code_verifier=%s -d code=CODE %s\n",
		demoWebClientID, secret, demoRedirectURI, verifier, p.TokenEndpoint())
	return nil
}

// registerDemoClients registers the six demo clients, the five
// confidential ones with fresh secrets, and returns the secrets, to print:
// they are not kept.
func registerDemoClients(ctx context.Context, st store, issuer string) (demoSecrets, error) {
	var d demoSecrets
	var ccHash, webHash, apiHash, gatewayHash, federatedHash string
	var err error
	for _, gen := range []struct{ secret, hash *string }{{&d.cc, &ccHash}, {&d.web, &webHash}, {&d.api, &apiHash},
		{&d.gateway, &gatewayHash}, {&d.federated, &federatedHash}} {
		if *gen.secret, *gen.hash, err = oauth2.GenerateClientSecret(nil); err != nil {
			return d, err
		}
	}
	for _, c := range []*storage.Client{{
		ID:            demoClientID,
		Name:          "Demo client",
		SecretHash:    ccHash,
		GrantTypes:    []string{grant.GrantTypeClientCredentials, grant.GrantTypeRefreshToken},
		Scopes:        []string{"read", "write"},
		DefaultScopes: []string{"read"},
	}, {
		ID:           demoWebClientID,
		Name:         "Demo web app",
		SecretHash:   webHash,
		RedirectURIs: []string{demoRedirectURI},
		GrantTypes:   []string{grant.GrantTypeAuthorizationCode, grant.GrantTypeRefreshToken},
		// It signs users in with OpenID Connect too (openid.go).
		Scopes:        []string{"read", "write", oidc.ScopeOpenID, "profile", "email"},
		DefaultScopes: []string{"read"},
		// Where the end-session endpoint may send the browser after a
		// logout it asked for (RP-Initiated Logout 1.0 §3.1).
		PostLogoutRedirectURIs: []string{demoPostLogoutRedirectURI},
		// Its access tokens are for the issuer's APIs (demo-api) and for
		// the gateway, which may then exchange them (RFC 8693).
		Audience: []string{issuer, demoGatewayClientID},
	}, {
		// A resource server gets no grant types: it only introspects.
		ID:         demoAPIClientID,
		Name:       "Demo API",
		SecretHash: apiHash,
		Resources:  []string{issuer},
	}, {
		// A public client: a device keeps no secret that its owner
		// could not read (RFC 8628 §3.1, RFC 6749 §2.1).
		ID:                      demoDeviceClientID,
		Name:                    demoDeviceClientName,
		TokenEndpointAuthMethod: "none",
		GrantTypes:              []string{grant.GrantTypeDeviceCode, grant.GrantTypeRefreshToken},
		Scopes:                  []string{"read", "write"},
		DefaultScopes:           []string{"read"},
	}, {
		// A service called with demo-web's access tokens, which it
		// exchanges for tokens of its own to call the APIs behind it.
		ID:         demoGatewayClientID,
		Name:       "Demo gateway",
		SecretHash: gatewayHash,
		GrantTypes: []string{grant.GrantTypeTokenExchange},
		Scopes:     []string{"read", "write"},
	}, {
		// A client whose users log in at a trusted issuer, which hands
		// it assertions about them (needs -trusted-issuers).
		ID:            demoFederatedClientID,
		Name:          "Demo federated app",
		SecretHash:    federatedHash,
		GrantTypes:    []string{grant.GrantTypeJWTBearer},
		Scopes:        []string{"read", "write"},
		DefaultScopes: []string{"read"},
	}} {
		if err := st.PutClient(ctx, c); err != nil {
			return d, err
		}
	}
	return d, nil
}

// demoSecrets are the secrets of the demo clients, printed once.
type demoSecrets struct{ cc, web, api, gateway, federated string }

// loadClients registers the clients of a JSON file holding an array of RFC
// 7591 client metadata objects, and returns how many it registered and
// the HMAC keys of its client_secret_jwt clients, which stay in memory
// (clientSecretJWTKeys).
func loadClients(ctx context.Context, st store, path string) (int, clientSecretJWTKeys, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, nil, err
	}
	var list []oauth2.ClientMetadata
	if err := json.Unmarshal(data, &list); err != nil {
		return 0, nil, fmt.Errorf("%s: %w", path, err)
	}
	var hmacKeys clientSecretJWTKeys
	for i := range list {
		m := &list[i]
		if err := checkClientMetadata(m); err != nil {
			return 0, nil, fmt.Errorf("%s: %w", path, err)
		}
		if m.TokenEndpointAuthMethod == oauth2.AuthMethodClientSecretJWT {
			if hmacKeys == nil {
				hmacKeys = clientSecretJWTKeys{}
			}
			// The record stores no secret for this method.
			hmacKeys[m.ClientID] = []byte(m.ClientSecret)
			m.ClientSecret = ""
		}
		c, err := m.Client()
		if err != nil {
			return 0, nil, fmt.Errorf("%s: %w", path, err)
		}
		if err := st.PutClient(ctx, c); err != nil {
			return 0, nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	return len(list), hmacKeys, nil
}
