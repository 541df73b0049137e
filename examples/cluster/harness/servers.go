package harness

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/grantor-dev/grantor/grant"
	"github.com/grantor-dev/grantor/oauth2"
)

// serverPackage is the example server, built once per run.
const serverPackage = "github.com/grantor-dev/grantor/examples/server"

// redirectURI is the web client's redirect URI. Nothing listens there: the
// harness reads the code from the consent page's redirect, which it never
// follows. A loopback http URI may be registered (RFC 8252 §7.3).
const redirectURI = "http://127.0.0.1/callback"

// Server is a built example server and what its flags can do.
type Server struct {
	// Path is the binary.
	Path string
	// DebugAddr is set when the server takes -debug-addr, its memory
	// statistics.
	DebugAddr bool
}

// BuildServer builds the example server into dir with the go command found
// on PATH, and asks it (-h) which flags it takes.
func BuildServer(ctx context.Context, dir string) (*Server, error) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return nil, fmt.Errorf("harness: the go command is needed to build the example server: %w", err)
	}
	bin := filepath.Join(dir, "server")
	cmd := exec.CommandContext(ctx, goBin, "build", "-o", bin, serverPackage)
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("harness: go build %s: %w\n%s", serverPackage, err, out)
	}
	// -h prints the flags and exits non-zero: only the text matters.
	help, _ := exec.CommandContext(ctx, bin, "-h").CombinedOutput()
	return &Server{Path: bin, DebugAddr: hasFlag(help, "debug-addr")}, nil
}

// hasFlag reports whether the flag package's usage text lists -name.
func hasFlag(usage []byte, name string) bool {
	for line := range strings.Lines(string(usage)) {
		f := strings.Fields(line)
		if len(f) > 0 && f[0] == "-"+name {
			return true
		}
	}
	return false
}

// Credentials are the clients and users the harness registers, with their
// secrets, written to the files the servers load.
type Credentials struct {
	// CC uses the client credentials grant; Web the authorization code
	// grant with PKCE and refresh tokens; API introspects their access
	// tokens. Mistyped and Intruder are never authenticated: the load
	// presents wrong secrets for them. Mistyped's secret, like the three
	// others', was generated (256 random bits), so failures at it are
	// never throttled; Intruder's was chosen by a person and is
	// slow-hashed, so failures at it are throttled (RFC 6749 §2.3.1), at
	// it alone, never at the legitimate clients.
	CC, Web, API, Mistyped, Intruder ClientCredentials
	// Users log in at the login page, one per worker, so that no account
	// reaches the login throttle's per-account limits.
	Users []UserCredentials
}

// ClientCredentials are a client's id and secret.
type ClientCredentials struct {
	ID, Secret string
	// hash is the secret's hash, for the clients file.
	hash string
}

// UserCredentials are a user's name and password.
type UserCredentials struct{ Username, Password string }

// newCredentials makes the clients and users of one run, with a random
// suffix in their names: a shared database, as the tests' is, keeps other
// runs' clients and throttles apart.
func newCredentials(users int) (*Credentials, error) {
	run := strings.ToLower(rand.Text()[:8])
	c := &Credentials{
		CC: ClientCredentials{ID: "cluster-cc-" + run}, Web: ClientCredentials{ID: "cluster-web-" + run},
		API: ClientCredentials{ID: "cluster-api-" + run}, Mistyped: ClientCredentials{ID: "cluster-mistyped-" + run},
		Intruder: ClientCredentials{ID: "cluster-intruder-" + run},
	}
	for _, cc := range []*ClientCredentials{&c.CC, &c.Web, &c.API, &c.Mistyped} {
		// 256 random bits, so a fast hash: the token endpoint spends no
		// CPU on password hashing for them (RFC 9700 §2.5).
		var err error
		if cc.Secret, cc.hash, err = oauth2.GenerateClientSecret(nil); err != nil {
			return nil, err
		}
	}
	// A secret a person chose: slow-hashed, so failures at it are
	// throttled (RFC 6749 §2.3.1).
	c.Intruder.Secret = "intruder " + rand.Text()
	for i := range users {
		c.Users = append(c.Users, UserCredentials{Username: fmt.Sprintf("load%d-%s", i+1, run), Password: rand.Text()})
	}
	return c, nil
}

// writeFiles writes the clients file, the users file and a secret file
// into dir, and returns their paths. The issuer is the audience of the
// access tokens, which the API client serves.
func (c *Credentials) writeFiles(dir, issuer string) (clients, users, secret string, err error) {
	list := []oauth2.ClientMetadata{{
		ClientID: c.CC.ID, ClientName: "Cluster load: service", ClientSecretHash: c.CC.hash,
		GrantTypes: []string{grant.GrantTypeClientCredentials}, Scope: "read write",
	}, {
		ClientID: c.Web.ID, ClientName: "Cluster load: web app", ClientSecretHash: c.Web.hash,
		RedirectURIs: []string{redirectURI},
		GrantTypes:   []string{grant.GrantTypeAuthorizationCode, grant.GrantTypeRefreshToken}, Scope: "read write",
	}, {
		ClientID: c.API.ID, ClientName: "Cluster load: API", ClientSecretHash: c.API.hash,
		Resources: []string{issuer},
	}, {
		ClientID: c.Mistyped.ID, ClientName: "Cluster load: mistyped", ClientSecretHash: c.Mistyped.hash,
		GrantTypes: []string{grant.GrantTypeClientCredentials}, Scope: "read",
	}, {
		ClientID: c.Intruder.ID, ClientName: "Cluster load: guessed", ClientSecret: c.Intruder.Secret,
		GrantTypes: []string{grant.GrantTypeClientCredentials}, Scope: "read",
	}}
	type userEntry struct {
		Username string `json:"username"`
		Password string `json:"password"`
		Name     string `json:"name"`
	}
	var us []userEntry
	for _, u := range c.Users {
		us = append(us, userEntry{u.Username, u.Password, "Load " + u.Username})
	}
	clients, users, secret = filepath.Join(dir, "clients.json"), filepath.Join(dir, "users.json"), filepath.Join(dir, "secret")
	for _, f := range []struct {
		path string
		v    any
	}{{clients, list}, {users, us}} {
		data, err := json.MarshalIndent(f.v, "", "  ")
		if err != nil {
			return "", "", "", err
		}
		if err := os.WriteFile(f.path, data, 0o600); err != nil {
			return "", "", "", err
		}
	}
	// The secret that seals the keys in the store: 32 random bytes,
	// base64, one line, as `head -c 32 /dev/urandom | base64` makes it.
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return "", "", "", err
	}
	if err := os.WriteFile(secret, []byte(base64.StdEncoding.EncodeToString(key)+"\n"), 0o600); err != nil {
		return "", "", "", err
	}
	return clients, users, secret, nil
}

// Instance is one example server process of the cluster, which can be
// killed and started again with the same flags.
type Instance struct {
	// Name names it in the report: A, B.
	Name string
	// Addr is where it listens, 127.0.0.1:PORT; DebugAddr where its
	// memory statistics are, "" when not asked for.
	Addr, DebugAddr string

	bin     string
	args    []string
	logPath string
	// transport holds the connections to it, closed when it dies.
	transport *http.Transport
	// client sends the load's requests to it: no cookies, no redirects
	// followed.
	client *http.Client
	up     atomic.Bool
	// starts counts its starts.
	starts atomic.Int32

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	// exitErr is how the process ended, once done is closed.
	exitErr error
	logFile *os.File
}

// BaseURL is the instance's http://127.0.0.1:PORT.
func (in *Instance) BaseURL() string { return "http://" + in.Addr }

// Starts counts the instance's starts.
func (in *Instance) Starts() int { return int(in.starts.Load()) }

// Up reports whether the instance is started, ready and not being killed.
func (in *Instance) Up() bool { return in.up.Load() }

// Start runs the instance and waits until it answers its metadata
// document (RFC 8414 §3), at most timeout.
func (in *Instance) Start(ctx context.Context, timeout time.Duration) error {
	in.mu.Lock()
	if in.cmd != nil {
		in.mu.Unlock()
		return fmt.Errorf("harness: instance %s is running", in.Name)
	}
	f, err := os.OpenFile(in.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		in.mu.Unlock()
		return err
	}
	n := in.starts.Add(1)
	fmt.Fprintf(f, "== harness: start %d of instance %s at %s\n", n, in.Name, time.Now().Format(time.RFC3339Nano))
	// Not CommandContext: the harness decides when the process dies.
	cmd := exec.Command(in.bin, in.args...)
	cmd.Stdout, cmd.Stderr = f, f
	setDeathSignal(cmd)
	if err := cmd.Start(); err != nil {
		f.Close()
		in.mu.Unlock()
		return fmt.Errorf("harness: starting instance %s: %w", in.Name, err)
	}
	done := make(chan struct{})
	in.cmd, in.done, in.logFile, in.exitErr = cmd, done, f, nil
	go func() {
		err := cmd.Wait()
		in.mu.Lock()
		in.exitErr = err
		in.mu.Unlock()
		f.Close()
		close(done)
	}()
	in.mu.Unlock()

	deadline := time.Now().Add(timeout)
	for {
		if in.answersMetadata(ctx) {
			// Connections made to an earlier process are dead.
			in.transport.CloseIdleConnections()
			in.up.Store(true)
			return nil
		}
		select {
		case <-done:
			in.reap()
			return fmt.Errorf("harness: instance %s exited at start (%v):\n%s", in.Name, in.exitError(), in.LogTail(20))
		case <-ctx.Done():
			_ = in.Kill()
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			_ = in.Kill()
			return fmt.Errorf("harness: instance %s did not answer within %s:\n%s", in.Name, timeout, in.LogTail(20))
		}
	}
}

// answersMetadata reports whether the instance answers its metadata
// document with 200.
func (in *Instance) answersMetadata(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, in.BaseURL()+"/.well-known/oauth-authorization-server", nil)
	if err != nil {
		return false
	}
	resp, err := in.client.Do(req)
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// exitError is how the process ended.
func (in *Instance) exitError() error {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.exitErr
}

// reap forgets the ended process.
func (in *Instance) reap() {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.cmd, in.done = nil, nil
}

// Kill marks the instance down, so that the load sends it nothing more,
// kills it with SIGKILL, as a crash or an OOM killer would, and waits for
// the process to end. Requests in flight get no answer.
func (in *Instance) Kill() error {
	in.up.Store(false)
	in.mu.Lock()
	cmd, done := in.cmd, in.done
	in.mu.Unlock()
	if cmd == nil {
		return nil
	}
	if err := cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	<-done
	in.reap()
	in.transport.CloseIdleConnections()
	return nil
}

// Stop shuts the instance down gracefully (SIGINT), or kills it after
// timeout, and returns how it exited.
func (in *Instance) Stop(timeout time.Duration) error {
	in.up.Store(false)
	in.mu.Lock()
	cmd, done := in.cmd, in.done
	in.mu.Unlock()
	if cmd == nil {
		return nil
	}
	_ = cmd.Process.Signal(os.Interrupt)
	select {
	case <-done:
	case <-time.After(timeout):
		_ = cmd.Process.Kill()
		<-done
		in.reap()
		return fmt.Errorf("harness: instance %s did not shut down within %s", in.Name, timeout)
	}
	err := in.exitError()
	in.reap()
	in.transport.CloseIdleConnections()
	return err
}

// LogTail returns the last n lines the instance printed.
func (in *Instance) LogTail(n int) string {
	data, err := os.ReadFile(in.logPath)
	if err != nil {
		return ""
	}
	lines := bytes.Split(bytes.TrimRight(data, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}

// Cluster is the example servers of a run, over one database, with one
// issuer, as behind a load balancer.
type Cluster struct {
	// Issuer is the cluster's issuer identifier, that of every instance.
	Issuer string
	// Instances are the servers.
	Instances []*Instance
	// Credentials are the registered clients and users.
	Credentials *Credentials
}

// ClusterConfig says how to start a cluster.
type ClusterConfig struct {
	// Server is the built example server.
	Server *Server
	// Dir holds the files and the servers' logs.
	Dir string
	// DSN is the PostgreSQL database, on a Unix socket or loopback. An
	// empty DSN is the in-memory store, for one instance only: each
	// process would have its own.
	DSN string
	// Instances is how many servers to start; Users how many users to
	// register.
	Instances, Users int
	// Tokens is the access token format, opaque or jwt.
	Tokens string
	// Debug asks for each server's memory statistics (-debug-addr).
	Debug bool
	// StartTimeout bounds each start.
	StartTimeout time.Duration
}

// StartCluster writes the files and starts the instances, each on a free
// port of 127.0.0.1, all with the issuer of the first, and waits until
// every one answers.
func StartCluster(ctx context.Context, cfg ClusterConfig) (*Cluster, error) {
	store := "memory"
	switch {
	case cfg.DSN != "":
		if err := CheckLocalDSN(cfg.DSN); err != nil {
			return nil, err
		}
		store = "postgres:" + cfg.DSN
	case cfg.Instances > 1:
		return nil, errors.New("harness: instances over the in-memory store share nothing: a cluster needs a PostgreSQL DSN")
	}
	if cfg.Debug && !cfg.Server.DebugAddr {
		return nil, errors.New("harness: the example server has no -debug-addr flag, which the heap figures need")
	}
	creds, err := newCredentials(cfg.Users)
	if err != nil {
		return nil, err
	}
	c := &Cluster{Credentials: creds}
	var addrs, debugAddrs []string
	for range cfg.Instances {
		a, err := freePort()
		if err != nil {
			return nil, err
		}
		addrs = append(addrs, a)
		if cfg.Debug {
			d, err := freePort()
			if err != nil {
				return nil, err
			}
			debugAddrs = append(debugAddrs, d)
		}
	}
	c.Issuer = "http://" + addrs[0]
	clients, users, secret, err := creds.writeFiles(cfg.Dir, c.Issuer)
	if err != nil {
		return nil, err
	}
	for i, addr := range addrs {
		name := string(rune('A' + i))
		args := []string{"-addr", addr, "-issuer", c.Issuer, "-store", store,
			"-clients", clients, "-users", users, "-tokens", cfg.Tokens}
		if cfg.DSN != "" {
			// The secret seals the keys kept in the database; the memory
			// store keeps them in the process.
			args = append(args, "-secret-file", secret)
		}
		in := &Instance{Name: name, Addr: addr, bin: cfg.Server.Path, args: args,
			logPath: filepath.Join(cfg.Dir, "server-"+name+".log"), transport: newTransport(64)}
		if cfg.Debug {
			in.DebugAddr = debugAddrs[i]
			in.args = append(in.args, "-debug-addr", in.DebugAddr)
		}
		in.client = &http.Client{Transport: in.transport, Timeout: 30 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		c.Instances = append(c.Instances, in)
	}
	// They start together, as a deployment does: both migrate the schema
	// and register the clients at once.
	errs := make([]error, len(c.Instances))
	var wg sync.WaitGroup
	for i, in := range c.Instances {
		wg.Go(func() { errs[i] = in.Start(ctx, cfg.StartTimeout) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		c.Stop()
		return nil, err
	}
	return c, nil
}

// Stop shuts every instance down.
func (c *Cluster) Stop() {
	var wg sync.WaitGroup
	for _, in := range c.Instances {
		wg.Go(func() { _ = in.Stop(15 * time.Second) })
	}
	wg.Wait()
}

// freePort returns 127.0.0.1:PORT with a port free a moment ago.
func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}
