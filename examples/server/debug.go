package main

import (
	"context"
	"encoding/json"
	"errors"
	"expvar"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"runtime"
	"time"
)

// The debug listener (-debug-addr) shows how much memory the server holds,
// for the soak of examples/cluster, which watches the heap of every
// instance for growth. It listens apart from the authorization server, on a
// loopback address only, and serves two paths:
//
//	GET  /debug/vars  the process's memory statistics, as Go's expvar
//	                  publishes them ({"memstats": runtime.MemStats, ...})
//	POST /debug/gc    runs the garbage collector, then answers the same
//	                  document: its HeapAlloc is the live heap, not garbage
//
// expvar's own handler is not used: it also publishes "cmdline", the
// command line, whose -store flag may hold a database password.

// debugAddrUsage is the -debug-addr flag's help.
const debugAddrUsage = "serve memory statistics (GET /debug/vars, POST /debug/gc) on this loopback address, e.g. 127.0.0.1:6060; off by default"

// registerDebugFlag registers -debug-addr in fs, stored in addr once it
// passes checkDebugAddr.
func registerDebugFlag(fs *flag.FlagSet, addr *string) {
	fs.Func("debug-addr", debugAddrUsage, func(v string) error {
		if err := checkDebugAddr(v); err != nil {
			return err
		}
		*addr = v
		return nil
	})
}

// checkDebugAddr accepts a HOST:PORT whose host is a loopback IP address,
// 127.0.0.1 or ::1 say: the statistics tell an outsider how busy the
// server is, and the collector is a lever on its latency. A name such as
// localhost is refused too, since it may resolve to anything.
func checkDebugAddr(v string) error {
	host, _, err := net.SplitHostPort(v)
	if err != nil {
		return fmt.Errorf("-debug-addr must be HOST:PORT on a loopback address, such as 127.0.0.1:6060: %w", err)
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || !ip.IsLoopback() {
		return fmt.Errorf("-debug-addr must be on a loopback IP address, such as 127.0.0.1:6060, not %q", v)
	}
	return nil
}

// debugHandler serves /debug/vars and /debug/gc.
func debugHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /debug/vars", func(w http.ResponseWriter, _ *http.Request) { writeDebugVars(w) })
	mux.HandleFunc("POST /debug/gc", func(w http.ResponseWriter, _ *http.Request) {
		// Twice: the first collection moves what sync.Pools hold to their
		// victim caches, which the second frees.
		runtime.GC()
		runtime.GC()
		writeDebugVars(w)
	})
	return mux
}

// writeDebugVars writes the memory statistics and the number of
// goroutines as a JSON object, in expvar's format.
func writeDebugVars(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	// expvar's "memstats" reads runtime.MemStats afresh at each call.
	doc := map[string]any{
		"memstats":   json.RawMessage(expvar.Get("memstats").String()),
		"goroutines": runtime.NumGoroutine(),
	}
	_ = json.NewEncoder(w).Encode(doc)
}

// serveDebug starts the debug listener on addr, unless addr is "", and
// returns a function that stops it. The listener's address is printed to
// out.
func serveDebug(addr string, out io.Writer) (stop func() error, err error) {
	if addr == "" {
		return func() error { return nil }, nil
	}
	if err := checkDebugAddr(addr); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	hs := &http.Server{Handler: debugHandler(), ReadHeaderTimeout: 5 * time.Second, WriteTimeout: 30 * time.Second}
	done := make(chan error, 1)
	go func() { done <- hs.Serve(ln) }()
	fmt.Fprintf(out, "debug statistics on http://%s/debug/vars\n", ln.Addr())
	return func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err := hs.Shutdown(ctx)
		if serr := <-done; !errors.Is(serr, http.ErrServerClosed) {
			err = errors.Join(err, serr)
		}
		return err
	}, nil
}
