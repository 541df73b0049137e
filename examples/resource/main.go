// Command resource is an API protected by Grantor's resource package: the
// resource-server side of examples/server, found through the
// authorization server's metadata (RFC 8414) alone.
//
//	go run ./examples/resource -issuer http://127.0.0.1:8080
//	go run ./examples/resource -issuer http://127.0.0.1:8080 -introspect-client demo-api -introspect-secret SECRET
//
// The first validates JWT access tokens locally (RFC 9068 §4) with the
// keys of the issuer's jwks_uri (run the server with -tokens jwt); the
// second asks the issuer's introspection endpoint (RFC 7662) about each
// token, opaque or JWT, and sees revocation.
//
// When the issuer's metadata advertises dpop_signing_alg_values_supported
// (examples/server -dpop), the API also accepts DPoP-bound access tokens
// (RFC 9449 §7): `Authorization: DPoP <token>` with a proof of the token's
// key, for those algorithms. A proof names the URL it was made for (htu),
// which the API compares with -public-url, its address as clients see it
// (by default http://ADDR); never with the Host header, which a client
// chooses. Each proof's jti is remembered in memory until the proof
// expires, so that it is accepted once: several instances of the API would
// share a store instead. It serves two routes:
//
//	GET /hello   any valid token
//	GET /admin   a token with the scope "write"
package main

import (
	"context"
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
	"strings"
	"syscall"
	"time"

	"github.com/grantor-dev/grantor/dpop"
	"github.com/grantor-dev/grantor/resource"
	"github.com/grantor-dev/grantor/storage"
	"github.com/grantor-dev/grantor/storage/memory"
	"github.com/grantor-dev/grantor/token"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, nil); err != nil {
		fmt.Fprintln(os.Stderr, "resource:", err)
		os.Exit(1)
	}
}

// options are the command-line flags.
type options struct {
	addr, issuer, audience string
	clientID, clientSecret string        // introspection credentials
	cacheTTL               time.Duration // of introspection answers; negative: no cache
	// publicURL is the API's URL as clients address it, which DPoP
	// proofs' htu must start with; "" is http://ADDR.
	publicURL string
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("resource", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.addr, "addr", "127.0.0.1:8081", "address to listen on")
	fs.StringVar(&o.issuer, "issuer", "http://127.0.0.1:8080", "the authorization server's issuer identifier")
	fs.StringVar(&o.audience, "audience", "", `this API's identifier, which tokens' "aud" must contain (default: the issuer, the default audience of examples/server)`)
	fs.StringVar(&o.clientID, "introspect-client", "demo-api", "client_id for the introspection endpoint (a client whose resources include the audience)")
	fs.StringVar(&o.clientSecret, "introspect-secret", "", "client secret for the introspection endpoint; without it, JWTs are validated locally")
	fs.DurationVar(&o.cacheTTL, "cache-ttl", resource.DefaultIntrospectionCacheTTL, "how long introspection answers are reused; negative: never")
	fs.StringVar(&o.publicURL, "public-url", "", "this API's URL as clients address it, which DPoP proofs must name (RFC 9449 §4.3) (default: http://ADDR)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if o.audience == "" {
		o.audience = o.issuer
	}
	if o.publicURL != "" {
		if err := checkPublicURL(o.publicURL); err != nil {
			return o, err
		}
	}
	return o, nil
}

// checkPublicURL checks a -public-url: an absolute http or https URL
// without a query or a fragment, the prefix of every htu a proof may name
// (RFC 9449 §4.3 step 9).
func checkPublicURL(v string) error {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("-public-url %q must be an http or https URL without a query or a fragment", v)
	}
	return nil
}

// run serves until ctx is done. When ready is not nil it receives the
// listening address once the API accepts connections.
func run(ctx context.Context, args []string, out io.Writer, ready chan<- string) error {
	o, err := parseFlags(args, out)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(out, nil))
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return err
	}
	defer ln.Close()
	if o.publicURL == "" {
		o.publicURL = "http://" + ln.Addr().String()
	}
	api, err := newAPI(ctx, o, http.DefaultClient, logger)
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: api, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	// One write, so that whoever waits for the first line has both.
	fmt.Fprintf(out, "API on http://%s (GET /hello, GET /admin), trusting %s\nDPoP: %s\n", ln.Addr(), o.issuer, api.dpop)
	if ready != nil {
		ready <- ln.Addr().String()
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return hs.Shutdown(shutdownCtx)
}

// api is the API: its routes, and what it says of DPoP at start-up.
type api struct {
	http.Handler
	// dpop describes whether DPoP-bound tokens are accepted.
	dpop string
}

// newAPI discovers the issuer's endpoints and returns the API. o.publicURL
// must be set.
func newAPI(ctx context.Context, o options, client *http.Client, logger *slog.Logger) (*api, error) {
	md, err := discover(ctx, client, o.issuer)
	if err != nil {
		return nil, err
	}
	if err := checkPublicURL(o.publicURL); err != nil {
		return nil, err
	}
	var v resource.Validator
	if o.clientSecret != "" {
		v, err = resource.Introspection(resource.IntrospectionConfig{URL: md.IntrospectionEndpoint,
			ClientID: o.clientID, ClientSecret: o.clientSecret, HTTPClient: client, CacheTTL: o.cacheTTL})
	} else {
		v, err = jwtValidator(md, o, client)
	}
	if err != nil {
		return nil, err
	}
	cfg := resource.Config{Validator: v, Realm: "example", Audience: o.audience, Logger: logger}
	desc := "off (the issuer advertises no dpop_signing_alg_values_supported): Bearer tokens only"
	if len(md.DPoPSigningAlgs) > 0 {
		if cfg.DPoP, err = dpopConfig(md.DPoPSigningAlgs, o.publicURL); err != nil {
			return nil, err
		}
		desc = fmt.Sprintf("DPoP-bound tokens accepted with proofs (%s) for %s; Bearer tokens too",
			strings.Join(md.DPoPSigningAlgs, ", "), o.publicURL)
	}
	protect := resource.Middleware(cfg)
	mux := http.NewServeMux()
	mux.Handle("GET /hello", protect(http.HandlerFunc(hello)))
	mux.Handle("GET /admin", protect(resource.RequireScopes("write")(http.HandlerFunc(admin))))
	return &api{Handler: mux, dpop: desc}, nil
}

// dpopConfig accepts DPoP proofs (RFC 9449 §7.1) signed with one of algs,
// the algorithms the issuer advertises, for URLs under publicURL. The jti
// of each proof is remembered in memory as long as the proof could be
// accepted (§11.1): enough for one instance of the API.
func dpopConfig(algs []string, publicURL string) (*resource.DPoP, error) {
	v, err := dpop.NewVerifier(dpop.Config{
		Algorithms: algs,
		Replay:     memory.New(),
		IsReplay:   func(err error) bool { return errors.Is(err, storage.ErrConsumed) },
	})
	if err != nil {
		return nil, fmt.Errorf("the issuer's dpop_signing_alg_values_supported: %w", err)
	}
	return &resource.DPoP{Verifier: v, BaseURL: publicURL}, nil
}

// jwtValidator validates JWT access tokens with the keys of jwks_uri.
func jwtValidator(md *metadata, o options, client *http.Client) (resource.Validator, error) {
	if md.JWKSURI == "" {
		return nil, errors.New("the issuer publishes no jwks_uri (opaque tokens?): use -introspect-secret")
	}
	keys, err := token.NewRemoteKeys(token.RemoteKeysConfig{URL: md.JWKSURI, Client: client})
	if err != nil {
		return nil, err
	}
	v, err := token.NewJWTVerifier(token.JWTVerifierConfig{Keys: keys, Issuer: o.issuer, Audience: o.audience})
	if err != nil {
		return nil, err
	}
	return resource.JWT(v), nil
}

func hello(w http.ResponseWriter, r *http.Request) {
	t, _ := resource.FromContext(r.Context())
	writeJSON(w, map[string]any{"hello": t.Subject, "client_id": t.ClientID, "scope": t.Scopes})
}

func admin(w http.ResponseWriter, r *http.Request) {
	t, _ := resource.FromContext(r.Context())
	writeJSON(w, map[string]any{"admin": t.Subject})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// metadata is the part of the authorization server metadata (RFC 8414
// §2) the API needs.
type metadata struct {
	Issuer                string `json:"issuer"`
	JWKSURI               string `json:"jwks_uri"`
	IntrospectionEndpoint string `json:"introspection_endpoint"`
	// DPoPSigningAlgs are the algorithms of DPoP proofs the issuer
	// accepts (RFC 9449 §5.1); none when it does not do DPoP.
	DPoPSigningAlgs []string `json:"dpop_signing_alg_values_supported"`
}

// discover fetches the issuer's metadata document (RFC 8414 §3).
func discover(ctx context.Context, client *http.Client, issuer string) (*metadata, error) {
	u, err := url.Parse(issuer)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("-issuer %q is not an absolute URL", issuer)
	}
	// The well-known path goes between the host and the issuer's path
	// (RFC 8414 §3.1).
	u.Path = "/.well-known/oauth-authorization-server" + u.Path
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetching the metadata: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetching the metadata: status %d", resp.StatusCode)
	}
	var md metadata
	if err := json.NewDecoder(io.LimitReader(resp.Body, 256<<10)).Decode(&md); err != nil {
		return nil, fmt.Errorf("reading the metadata: %w", err)
	}
	if md.Issuer != issuer { // RFC 8414 §3.3
		return nil, fmt.Errorf("the metadata names issuer %q, not %q", md.Issuer, issuer)
	}
	return &md, nil
}
