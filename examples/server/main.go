// Command server is a runnable Grantor authorization server on an
// in-memory store: the quickest way to see the library work, and a
// starting point to copy.
//
//	go run ./examples/server                 # http://127.0.0.1:8080, opaque tokens
//	go run ./examples/server -tokens jwt     # JWT access tokens (RFC 9068), JWKS published
//	go run ./examples/server -clients clients.json
//
// The clients file holds a JSON array of RFC 7591 client metadata objects.
// A client_secret found there is hashed on load and never kept; without the
// flag a demo client is registered and its secret printed.
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
	"os"
	"os/signal"
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
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.addr, "addr", "127.0.0.1:8080", "address to listen on")
	fs.StringVar(&o.issuer, "issuer", "", "issuer identifier (default: http://ADDR)")
	fs.StringVar(&o.tokens, "tokens", "opaque", "access token format: opaque or jwt")
	fs.StringVar(&o.clients, "clients", "", "JSON file with an array of RFC 7591 client metadata objects")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if o.tokens != "opaque" && o.tokens != "jwt" {
		return o, fmt.Errorf("-tokens must be opaque or jwt, not %q", o.tokens)
	}
	return o, nil
}

// run serves until ctx is done, then shuts down gracefully. When ready is
// not nil it receives the listening address once the server accepts
// connections.
func run(ctx context.Context, args []string, out io.Writer, ready chan<- string) error {
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
	srv, err := newServer(o, out)
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: srv.handler, ReadHeaderTimeout: 10 * time.Second}
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
	store    *memory.Store
	handler  http.Handler
}

// demoClientID is registered when no clients file is given.
const demoClientID = "demo-client"

func newServer(o options, out io.Writer) (*server, error) {
	store := memory.New()
	var demoSecret string
	if o.clients != "" {
		n, err := loadClients(store, o.clients)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(out, "loaded %d clients from %s\n", n, o.clients)
	} else {
		secret, hash, err := oauth2.GenerateClientSecret(nil)
		if err != nil {
			return nil, err
		}
		demoSecret = secret
		if err := store.PutClient(&storage.Client{
			ID:            demoClientID,
			Name:          "Demo client",
			SecretHash:    hash,
			GrantTypes:    []string{grant.GrantTypeClientCredentials, grant.GrantTypeRefreshToken},
			Scopes:        []string{"read", "write"},
			DefaultScopes: []string{"read"},
		}); err != nil {
			return nil, err
		}
	}

	// Keys live only as long as the process, like the in-memory store.
	hmacKey := make([]byte, 32)
	if _, err := rand.Read(hmacKey); err != nil {
		return nil, err
	}
	cfg := oauth2.Config{
		Issuer:          o.issuer,
		Clients:         store,
		Tokens:          store,
		TokenKeys:       [][]byte{hmacKey},
		ScopesSupported: []string{"read", "write"},
		Logger:          slog.New(slog.NewTextHandler(out, &slog.HandlerOptions{Level: slog.LevelInfo})),
		Grants: []oauth2.GrantFactory{
			grant.ClientCredentials(grant.ClientCredentialsOptions{}),
			grant.RefreshToken(store, grant.RefreshTokenOptions{}),
		},
	}
	format := "opaque"
	if o.tokens == "jwt" {
		key, err := token.GenerateSigningKey(jwa.ES256)
		if err != nil {
			return nil, err
		}
		keys, err := token.NewKeySet(key)
		if err != nil {
			return nil, err
		}
		if cfg.AccessTokens, err = token.NewJWT(token.JWTConfig{Keys: keys, Issuer: o.issuer}); err != nil {
			return nil, err
		}
		format = "jwt (RFC 9068, ES256)"
	}
	p, err := oauth2.NewProvider(cfg)
	if err != nil {
		return nil, err
	}

	fmt.Fprintf(out, "Grantor example authorization server\n")
	fmt.Fprintf(out, "  issuer:         %s\n", p.Issuer())
	fmt.Fprintf(out, "  token endpoint: %s\n", p.TokenEndpoint())
	fmt.Fprintf(out, "  metadata:       %s%s\n", p.Issuer(), oauth2.MetadataPath)
	fmt.Fprintf(out, "  access tokens:  %s\n", format)
	if demoSecret != "" {
		fmt.Fprintf(out, "  demo client:    client_id=%s client_secret=%s\n", demoClientID, demoSecret)
		fmt.Fprintf(out, "Get a token:\n  curl -s -u %s:%s -d grant_type=client_credentials -d scope=read %s\n",
			demoClientID, demoSecret, p.TokenEndpoint())
	}
	return &server{provider: p, store: store, handler: p.Handler()}, nil
}

// loadClients registers the clients of a JSON file holding an array of RFC
// 7591 client metadata objects. Secrets are hashed as they are read.
func loadClients(store *memory.Store, path string) (int, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	var list []oauth2.ClientMetadata
	if err := json.Unmarshal(data, &list); err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	for i := range list {
		c, err := list[i].Client()
		if err != nil {
			return 0, fmt.Errorf("%s: %w", path, err)
		}
		if err := store.PutClient(c); err != nil {
			return 0, fmt.Errorf("%s: %w", path, err)
		}
	}
	return len(list), nil
}
