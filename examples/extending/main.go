// Command extending is a Grantor authorization server that uses every
// extension point of the Provider, each in the way an application would:
//
//   - a custom grant type (legacyAPIKeyGrant): clients exchange the API keys
//     of an older system for access tokens, so that the old keys can be
//     retired one caller at a time;
//   - an endpoint and a metadata member that the grant brings
//     (oauth2.EndpointProvider, oauth2.MetadataProvider): the gateway asks
//     /legacy_api_key/status whether a key still works and until when,
//     and the metadata document announces the date all keys retire;
//   - the claims hook (Config.AccessTokenClaims): every access token names
//     the client's tenant;
//   - a custom client authentication method (tlsClientAuth): mutual TLS,
//     tls_client_auth of RFC 8705 §2.1.
//
// It serves HTTPS with a CA, server and client certificate generated at
// start-up, and prints curl lines that use them:
//
//	go run ./examples/extending            # https://127.0.0.1:8443
//	go run ./examples/extending -addr 127.0.0.1:9443
package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"

	"github.com/grantor-dev/grantor/grant"
	"github.com/grantor-dev/grantor/oauth2"
	"github.com/grantor-dev/grantor/storage"
	"github.com/grantor-dev/grantor/storage/memory"
	"github.com/grantor-dev/grantor/token"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, nil); err != nil {
		fmt.Fprintln(os.Stderr, "extending:", err)
		os.Exit(1)
	}
}

// run serves until ctx is done, then shuts down gracefully. When ready is
// not nil it receives the listening address once connections are accepted.
func run(ctx context.Context, args []string, out io.Writer, ready chan<- string) error {
	fs := flag.NewFlagSet("extending", flag.ContinueOnError)
	fs.SetOutput(out)
	addr := fs.String("addr", "127.0.0.1:8443", "address to listen on")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	defer ln.Close()

	// The certificates live as long as the process, like the memory store.
	ca, err := newAuthority()
	if err != nil {
		return err
	}
	srv, err := newServer("https://"+ln.Addr().String(), ca, out, nil)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "grantor-extending-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if err := writeDemoFiles(dir, ca, srv.tls.Certificates[0]); err != nil {
		return err
	}
	fmt.Fprintf(out, "certificates in %s: ca.pem, server.pem, server-key.pem, client.pem, client-key.pem\n", dir)
	fmt.Fprintf(out, "Exchange the legacy API key of %s for a token:\n", demoKeyOwner)
	fmt.Fprintf(out, "  curl -s --cacert %s --cert %s --key %s -d grant_type=%s -d client_id=%s -d api_key=%s -d scope=invoices:read %s\n",
		filepath.Join(dir, "ca.pem"), filepath.Join(dir, "client.pem"), filepath.Join(dir, "client-key.pem"),
		grantTypeLegacyAPIKey, demoClientID, srv.demoAPIKey, srv.provider.TokenEndpoint())
	fmt.Fprintf(out, "Ask whether the key still works, and until when:\n")
	fmt.Fprintf(out, "  curl -s --cacert %s --cert %s --key %s -d client_id=%s -d api_key=%s %s\n",
		filepath.Join(dir, "ca.pem"), filepath.Join(dir, "client.pem"), filepath.Join(dir, "client-key.pem"),
		demoClientID, srv.demoAPIKey, srv.provider.EndpointURL(legacyStatusPath))

	hs := &http.Server{Handler: srv.handler, TLSConfig: srv.tls, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- hs.ServeTLS(ln, "", "") }()
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
	provider   *oauth2.Provider
	store      *memory.Store
	handler    http.Handler
	tls        *tls.Config
	demoAPIKey string // the one legacy key of the demo, shown once
}

// The demo's client and the owner of its legacy key.
const (
	demoClientID = "legacy-gateway"
	demoKeyOwner = "user:alice"
)

// demoClientSubject is the subject of the demo client's certificate. Its
// String form, "CN=legacy-gateway,O=Example Corp", is what tlsClientAuth
// expects.
var demoClientSubject = subject("legacy-gateway")

// The demo's migration plan, counted in days from start-up: the demo key
// retires first, and the old system stops taking any key later.
const (
	demoKeyRetiresInDays = 90
	demoSunsetInDays     = 180
)

// newServer builds the Provider with the three extensions and the TLS
// configuration of its HTTPS server, with a server certificate from ca.
// now is the clock of the Provider and the store; nil means time.Now.
func newServer(issuer string, ca *authority, out io.Writer, now func() time.Time) (*server, error) {
	if now == nil {
		now = time.Now
	}
	store := memory.New(memory.WithClock(now))
	// The gateway that still receives legacy API keys authenticates with
	// its certificate and may use the migration grant, nothing else.
	if err := store.PutClient(&storage.Client{
		ID:                      demoClientID,
		Name:                    "Legacy API gateway",
		TokenEndpointAuthMethod: methodTLSClientAuth,
		GrantTypes:              []string{grantTypeLegacyAPIKey},
		Scopes:                  []string{"invoices:read", "invoices:write"},
	}); err != nil {
		return nil, err
	}
	// In a real migration this table is the old system's key table,
	// which holds only digests of the keys.
	demoKey := make([]byte, 24)
	if _, err := rand.Read(demoKey); err != nil {
		return nil, err
	}
	apiKey := "lk_" + hex.EncodeToString(demoKey)
	today := now().UTC().Truncate(24 * time.Hour)
	keys := map[[sha256.Size]byte]keyOwner{
		sha256.Sum256([]byte(apiKey)): {Subject: demoKeyOwner, Scopes: []string{"invoices:read", "invoices:write"},
			Retires: today.AddDate(0, 0, demoKeyRetiresInDays)},
	}
	sunset := today.AddDate(0, 0, demoSunsetInDays)
	// The application's own record of which tenant each client belongs
	// to: storage.Client has no field for it.
	tenants := map[string]string{demoClientID: "acme"}

	hmacKey := make([]byte, 32)
	if _, err := rand.Read(hmacKey); err != nil {
		return nil, err
	}
	signingKey, err := token.GenerateSigningKey(jwa.ES256)
	if err != nil {
		return nil, err
	}
	keySet, err := token.NewKeySet(signingKey)
	if err != nil {
		return nil, err
	}
	jwtTokens, err := token.NewJWT(token.JWTConfig{Keys: keySet, Issuer: issuer})
	if err != nil {
		return nil, err
	}
	p, err := oauth2.NewProvider(oauth2.Config{
		Issuer:       issuer,
		Clients:      store,
		Tokens:       store,
		TokenKeys:    [][]byte{hmacKey},
		AccessTokens: jwtTokens, // JWTs, so that resource servers see the tenant claim
		Logger:       slog.New(slog.NewTextHandler(out, &slog.HandlerOptions{Level: slog.LevelInfo})),
		Clock:        now,
		Grants: []oauth2.GrantFactory{
			grant.ClientCredentials(grant.ClientCredentialsOptions{}),
			legacyAPIKeyGrant(keys, sunset),
		},
		// Setting the list replaces the defaults: clients with secrets
		// keep working next to the ones on mutual TLS.
		ClientAuthenticators: []oauth2.ClientAuthenticator{
			oauth2.ClientSecretBasic{},
			tlsClientAuth{subjects: map[string]string{demoClientID: demoClientSubject.String()}},
		},
		AccessTokenClaims: func(_ context.Context, req *oauth2.TokenRequest, claims *token.Claims) error {
			// Resource servers are multi-tenant; the tenant travels in
			// the token so they need no lookup of their own.
			if t, ok := tenants[req.Client.ID]; ok {
				claims.Extra["tenant"] = t
			}
			return nil
		},
	})
	if err != nil {
		return nil, err
	}

	serverCert, err := ca.issue(subject("localhost"), true)
	if err != nil {
		return nil, err
	}
	tlsConfig := &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{serverCert},
		ClientCAs:    ca.pool(),
		// Not RequireAndVerifyClientCert: clients with secrets connect
		// without a certificate, and a client that should have sent one
		// gets a proper invalid_client instead of a failed handshake.
		// A certificate that is sent must chain to the CA.
		ClientAuth: tls.VerifyClientCertIfGiven,
	}
	return &server{provider: p, store: store, handler: p.Handler(), tls: tlsConfig, demoAPIKey: apiKey}, nil
}

// grantTypeLegacyAPIKey is the grant_type of the migration grant. Extension
// grant types are absolute URIs (RFC 6749 §4.5).
const grantTypeLegacyAPIKey = "urn:example:params:oauth:grant-type:legacy-api-key"

// keyOwner is a row of the legacy key table.
type keyOwner struct {
	Subject string
	Scopes  []string
	// Retires is when the migration plan retires this key: from then on
	// it is refused. Zero means the sunset of the whole table.
	Retires time.Time
}

// legacyAPIKeyGrant returns the factory of the migration grant (RFC 6749
// §4.5): a confidential client sends a legacy API key as api_key and gets
// an access token for the key's owner, with at most the key's scopes. keys
// maps the SHA-256 digest of each key to its owner. sunset is when the old
// system stops taking keys at all: no key is accepted from then on,
// whatever its own Retires says.
func legacyAPIKeyGrant(keys map[[sha256.Size]byte]keyOwner, sunset time.Time) oauth2.GrantFactory {
	return func(p *oauth2.Provider) (oauth2.GrantHandler, error) {
		if len(keys) == 0 {
			return nil, errors.New("legacy API key grant: empty key table")
		}
		if sunset.IsZero() {
			// A migration without an end is no migration.
			return nil, errors.New("legacy API key grant: no sunset")
		}
		return &legacyAPIKey{keys: keys, sunset: sunset, p: p, log: p.Logger(),
			statusURL: p.EndpointURL(legacyStatusPath)}, nil
	}
}

// legacyAPIKey is the GrantHandler of grantTypeLegacyAPIKey. It also
// brings the key status endpoint and the sunset metadata member
// (legacy_status.go).
type legacyAPIKey struct {
	keys      map[[sha256.Size]byte]keyOwner
	sunset    time.Time
	p         *oauth2.Provider
	log       *slog.Logger
	statusURL string
}

// lookup finds the owner of key and when the key retires. It reports
// false for a key that is unknown or has retired at now: the two are
// answered alike, so that a caller learns nothing about keys it cannot
// use.
func (h *legacyAPIKey) lookup(key string, now time.Time) (owner keyOwner, retires time.Time, ok bool) {
	// Compare digests, never keys, and visit every row, so that the time
	// taken says nothing about how close a guess came.
	digest := sha256.Sum256([]byte(key))
	for d, o := range h.keys {
		if subtle.ConstantTimeCompare(d[:], digest[:]) == 1 {
			owner, ok = o, true
		}
	}
	if !ok {
		return keyOwner{}, time.Time{}, false
	}
	retires = h.sunset
	if !owner.Retires.IsZero() && owner.Retires.Before(retires) {
		retires = owner.Retires
	}
	if !now.Before(retires) {
		return keyOwner{}, time.Time{}, false
	}
	return owner, retires, true
}

// GrantType returns grantTypeLegacyAPIKey.
func (*legacyAPIKey) GrantType() string { return grantTypeLegacyAPIKey }

// HandleTokenRequest looks the key up and narrows the scopes. The Provider
// has already authenticated the client and checked that the grant type is
// among the client's GrantTypes (else unauthorized_client).
func (h *legacyAPIKey) HandleTokenRequest(ctx context.Context, req *oauth2.TokenRequest) (*oauth2.Issue, error) {
	if req.Client.IsPublic() {
		// A key is a bearer credential of a user: only a client that
		// proves its own identity may trade one in.
		return nil, oauth2.NewError(oauth2.ErrUnauthorizedClient, "public clients cannot use this grant")
	}
	key := req.Form.Get("api_key")
	if key == "" {
		return nil, oauth2.NewError(oauth2.ErrInvalidRequest, "api_key is missing")
	}
	owner, _, ok := h.lookup(key, req.Now)
	if !ok {
		return nil, oauth2.NewError(oauth2.ErrInvalidGrant, "the API key is not valid")
	}
	scopes := req.Scopes
	if scopes == nil {
		scopes = owner.Scopes
	}
	// The token carries no more than both the key and the client may have.
	if err := oauth2.CheckScopeSubset(scopes, owner.Scopes); err != nil {
		return nil, err
	}
	if err := oauth2.CheckScopeSubset(scopes, req.Client.Scopes); err != nil {
		return nil, err
	}
	// Who still uses legacy keys is what a migration needs to know.
	h.log.InfoContext(ctx, "legacy API key exchanged", "client_id", req.Client.ID, "subject", owner.Subject)
	// No Consume: legacy keys are reusable until they retire, so there is
	// nothing to use up.
	return &oauth2.Issue{Subject: owner.Subject, Scopes: scopes}, nil
}

// methodTLSClientAuth is the token_endpoint_auth_method of RFC 8705 §2.1.1.
const methodTLSClientAuth = "tls_client_auth"

// tlsClientAuth authenticates clients by the subject DN of the TLS client
// certificate (RFC 8705 §2.1.1). The TLS server has verified the chain
// against its ClientCAs; the authenticator checks that the certificate is
// the one registered for the client. subjects maps client_id to the
// expected DN in the form of pkix.Name.String.
type tlsClientAuth struct{ subjects map[string]string }

// Method returns "tls_client_auth".
func (tlsClientAuth) Method() string { return methodTLSClientAuth }

// Validate lets NewProvider refuse a registration that could never match.
func (t tlsClientAuth) Validate() error {
	for id, dn := range t.subjects {
		if dn == "" {
			return fmt.Errorf("tls_client_auth: client %q has an empty subject DN", id)
		}
	}
	return nil
}

// AuthenticateClient implements RFC 8705 §2.1.1. Its plain errors become
// invalid_client (401); the reasons go to the log only.
func (t tlsClientAuth) AuthenticateClient(_ context.Context, c *storage.Client, a *oauth2.ClientAuthentication) error {
	if a.Basic || a.Secret != "" || a.Assertion != "" {
		// Exactly one method per request (RFC 6749 §2.3), and the one
		// registered: a secret next to the certificate is refused.
		return errors.New("credentials other than the certificate")
	}
	cs := a.Request.TLS
	if cs == nil || len(cs.PeerCertificates) == 0 {
		return errors.New("no client certificate")
	}
	if len(cs.VerifiedChains) == 0 {
		// The TLS configuration asked for a certificate without
		// verifying it (tls.RequestClientCert): trust nothing.
		return errors.New("client certificate not verified")
	}
	want, ok := t.subjects[c.ID]
	if !ok || cs.PeerCertificates[0].Subject.String() != want {
		return errors.New("certificate subject does not match the registration")
	}
	return nil
}
