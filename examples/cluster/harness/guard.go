package harness

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// The harness talks to the servers it started and to nothing else: every
// URL it builds, and every connection its HTTP clients open, must be to
// 127.0.0.1. A mistyped flag, a redirect or a link in a page cannot send
// its load, its client secrets or its users' passwords anywhere else.

// loopback is the only address the harness connects to.
var loopback = netip.MustParseAddr("127.0.0.1")

// CheckLoopbackURL returns an error unless raw is an http URL whose host is
// 127.0.0.1 with a port.
func CheckLoopbackURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("harness: %q is not a URL: %w", raw, err)
	}
	if u.Scheme != "http" || u.User != nil || u.Port() == "" {
		return fmt.Errorf("harness: %q is not http://127.0.0.1:PORT", raw)
	}
	ip, err := netip.ParseAddr(u.Hostname())
	if err != nil || ip != loopback {
		return fmt.Errorf("harness: %q is not on 127.0.0.1: the harness sends traffic to 127.0.0.1 only", raw)
	}
	return nil
}

// CheckLoopbackAddr returns an error unless addr, a HOST:PORT as a dialer
// sees it, is on 127.0.0.1.
func CheckLoopbackAddr(addr string) error {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil || ap.Addr().Unmap() != loopback {
		return fmt.Errorf("harness: refusing to connect to %s: the harness sends traffic to 127.0.0.1 only", addr)
	}
	return nil
}

// loopbackDialer is a dialer that refuses, before connecting, every address
// but 127.0.0.1. The check runs on the resolved address, so that no host
// name, redirect or proxy setting can lead elsewhere.
func loopbackDialer() *net.Dialer {
	return &net.Dialer{
		Timeout: 5 * time.Second,
		Control: func(network, address string, _ syscall.RawConn) error {
			if network != "tcp4" && network != "tcp" && network != "tcp6" {
				return fmt.Errorf("harness: refusing a %s connection", network)
			}
			return CheckLoopbackAddr(address)
		},
	}
}

// newTransport returns an HTTP transport whose connections all go to
// 127.0.0.1, never through a proxy.
func newTransport(conns int) *http.Transport {
	d := loopbackDialer()
	return &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return d.DialContext(ctx, network, addr)
		},
		MaxIdleConns:          conns,
		MaxIdleConnsPerHost:   conns,
		IdleConnTimeout:       30 * time.Second,
		ResponseHeaderTimeout: 30 * time.Second,
	}
}

// CheckLocalDSN returns an error unless the PostgreSQL DSN connects over a
// Unix socket or to a loopback IP address only, the first host and every
// fallback: the servers the harness starts must not reach a database
// elsewhere either. Errors never quote the DSN, which may hold a password.
func CheckLocalDSN(dsn string) error {
	cfg, err := pgconn.ParseConfig(dsn)
	if err != nil {
		return fmt.Errorf("harness: the PostgreSQL DSN does not parse")
	}
	hosts := []string{cfg.Host}
	for _, fb := range cfg.Fallbacks {
		hosts = append(hosts, fb.Host)
	}
	for _, h := range hosts {
		if strings.HasPrefix(h, "/") {
			continue // a Unix socket's directory
		}
		if ip, err := netip.ParseAddr(h); err == nil && ip.IsLoopback() {
			continue
		}
		return fmt.Errorf("harness: the PostgreSQL DSN names host %q: use a Unix socket or a loopback IP address", h)
	}
	return nil
}
