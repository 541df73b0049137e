package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The HTTP load measure runs each server in a process of its own, so that
// the server's CPU time can be read from the operating system (getrusage)
// apart from the load generator's. The server process answers the
// scenario's requests and two control endpoints under /_bench/:
//
//	GET /_bench/requests?n=N  N requests of the scenario (Server.Requests), as JSON
//	GET /_bench/cpu           the process's CPU time so far, in ns, after a GC
//
// The load generator (Load) speaks HTTP/1.1 over keep-alive TCP
// connections with requests encoded once in advance, so that it costs
// little next to the servers it loads.

// controlPrefix is the path prefix of the control endpoints.
const controlPrefix = "/_bench/"

// ServeProcess serves s on ln until ctx is done: the scenario's handler
// and the control endpoints. It is the body of a server process.
func ServeProcess(ctx context.Context, s *Server, ln net.Listener) error {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+controlPrefix+"requests", func(w http.ResponseWriter, r *http.Request) {
		n, err := strconv.Atoi(r.URL.Query().Get("n"))
		if err != nil || n < 1 {
			http.Error(w, "n must be a positive integer", http.StatusBadRequest)
			return
		}
		reqs, err := s.Requests(n)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(reqs)
	})
	mux.HandleFunc("GET "+controlPrefix+"cpu", func(w http.ResponseWriter, _ *http.Request) {
		// The garbage of earlier work (the setup of requests, an
		// earlier load point) is collected before the reading, so
		// that the next point pays only for its own.
		runtime.GC()
		cpu, err := processCPU()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		_, _ = io.WriteString(w, strconv.FormatInt(int64(cpu), 10))
	})
	mux.Handle("/", s.Handler)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shut)
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Process is a server process started by StartProcess.
type Process struct {
	// Name is the contender's name.
	Name string
	// Addr is the host:port the server listens on.
	Addr  string
	cmd   *exec.Cmd
	stdin io.WriteCloser
	http  *http.Client
}

// processReadyPrefix starts the line a server process prints on standard
// output once it listens: "listening 127.0.0.1:PORT".
const processReadyPrefix = "listening "

// StartProcess starts a server process: the program exe with args, which
// must serve with ServeProcess on a loopback port, print
// "listening HOST:PORT" on its standard output, and exit when its
// standard input is closed. Its standard error goes to ours.
func StartProcess(name, exe string, args ...string) (*Process, error) {
	cmd := exec.Command(exe, args...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &Process{Name: name, cmd: cmd, stdin: stdin, http: &http.Client{Timeout: 5 * time.Minute}}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), processReadyPrefix)
	if err != nil || !ok {
		p.Close()
		return nil, fmt.Errorf("%s: server process did not start (%q, %v)", name, line, err)
	}
	p.Addr = addr
	return p, nil
}

// Close stops the process: it closes its standard input and waits, killing
// it after a few seconds.
func (p *Process) Close() {
	_ = p.stdin.Close()
	done := make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-done
	}
}

// get reads a control endpoint.
func (p *Process) get(path string) ([]byte, error) {
	res, err := p.http.Get("http://" + p.Addr + controlPrefix + path)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, err
	}
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %s: status %d: %s", p.Name, path, res.StatusCode, body)
	}
	return body, nil
}

// Requests asks the process for n requests of its scenario.
func (p *Process) Requests(n int) ([]Request, error) {
	body, err := p.get("requests?n=" + strconv.Itoa(n))
	if err != nil {
		return nil, err
	}
	var reqs []Request
	if err := json.Unmarshal(body, &reqs); err != nil {
		return nil, err
	}
	if len(reqs) != n {
		return nil, fmt.Errorf("%s: %d requests for %d", p.Name, len(reqs), n)
	}
	return reqs, nil
}

// CPU returns the CPU time (user and system) the process has used.
func (p *Process) CPU() (time.Duration, error) {
	body, err := p.get("cpu")
	if err != nil {
		return 0, err
	}
	ns, err := strconv.ParseInt(string(body), 10, 64)
	return time.Duration(ns), err
}

// LoadPoint is one measure of HTTP load: a number of requests sent over
// a number of keep-alive connections, each connection sending its next
// request as soon as the previous answer is read.
type LoadPoint struct {
	Conns    int
	Requests int
	Elapsed  time.Duration
	// P50 and P99 are percentiles of the time from writing a request to
	// reading the whole answer.
	P50, P99 time.Duration
	// ServerCPU is the CPU time the server process used meanwhile.
	ServerCPU time.Duration
}

// RPS is the requests answered per second.
func (lp LoadPoint) RPS() float64 { return float64(lp.Requests) / lp.Elapsed.Seconds() }

// CPUPer1000 is the server's CPU time per 1,000 requests.
func (lp LoadPoint) CPUPer1000() time.Duration {
	return time.Duration(float64(lp.ServerCPU) * 1000 / float64(lp.Requests))
}

// MeasureLoad fetches n requests from p, then sends them over conns
// connections (Load), reading the server's CPU time before and after.
func MeasureLoad(p *Process, n, conns int) (LoadPoint, error) {
	reqs, err := p.Requests(n)
	if err != nil {
		return LoadPoint{}, err
	}
	before, err := p.CPU()
	if err != nil {
		return LoadPoint{}, err
	}
	lp, err := Load(p.Addr, reqs, conns)
	if err != nil {
		return LoadPoint{}, fmt.Errorf("%s: %w", p.Name, err)
	}
	after, err := p.CPU()
	if err != nil {
		return LoadPoint{}, err
	}
	// The reading itself (a GC and a small request) is part of
	// after - before; it is a few hundred µs against seconds of load.
	lp.ServerCPU = after - before
	return lp, nil
}

// Load sends reqs to the HTTP/1.1 server at addr over conns keep-alive
// connections, each request once, and fails unless every answer is 200.
func Load(addr string, reqs []Request, conns int) (LoadPoint, error) {
	if conns < 1 || len(reqs) < conns {
		return LoadPoint{}, fmt.Errorf("load: %d requests over %d connections", len(reqs), conns)
	}
	wire := make([][]byte, len(reqs))
	for i, r := range reqs {
		wire[i] = r.wire()
	}
	cs := make([]net.Conn, conns)
	for i := range cs {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			for _, c := range cs[:i] {
				_ = c.Close()
			}
			return LoadPoint{}, err
		}
		cs[i] = c
	}
	latency := make([]time.Duration, len(reqs))
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make([]error, conns)
	start := time.Now()
	for k, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.Close()
			br := bufio.NewReader(c)
			for {
				i := int(next.Add(1) - 1)
				if i >= len(wire) {
					return
				}
				t0 := time.Now()
				if _, err := c.Write(wire[i]); err != nil {
					errs[k] = err
					return
				}
				res, err := http.ReadResponse(br, nil)
				if err != nil {
					errs[k] = err
					return
				}
				body, err := io.ReadAll(res.Body)
				_ = res.Body.Close()
				latency[i] = time.Since(t0)
				if err != nil {
					errs[k] = err
					return
				}
				if res.StatusCode != http.StatusOK {
					errs[k] = fmt.Errorf("status %d: %s", res.StatusCode, body)
					// Stop the other connections too.
					next.Store(int64(len(wire)))
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if err := errors.Join(errs...); err != nil {
		return LoadPoint{}, err
	}
	slices.Sort(latency)
	return LoadPoint{
		Conns: conns, Requests: len(reqs), Elapsed: elapsed,
		P50: percentile(latency, 50), P99: percentile(latency, 99),
	}, nil
}

// percentile returns the p-th percentile of sorted (nearest rank).
func percentile(sorted []time.Duration, p int) time.Duration {
	rank := (p*len(sorted) + 99) / 100 // ceil(p/100 * n)
	return sorted[max(rank, 1)-1]
}

// wire returns r as an HTTP/1.1 request on a keep-alive connection: a
// POST with its form, or a GET without a body.
func (r Request) wire() []byte {
	var b strings.Builder
	if r.Method == http.MethodGet {
		b.WriteString("GET " + r.Path + " HTTP/1.1\r\nHost: as.example\r\n")
		if r.Authorization != "" {
			b.WriteString("Authorization: " + r.Authorization + "\r\n")
		}
		b.WriteString("\r\n")
		return []byte(b.String())
	}
	b.WriteString("POST " + r.Path + " HTTP/1.1\r\nHost: as.example\r\n")
	b.WriteString("Content-Type: application/x-www-form-urlencoded\r\n")
	if r.Authorization != "" {
		b.WriteString("Authorization: " + r.Authorization + "\r\n")
	}
	if r.DPoP != "" {
		b.WriteString("DPoP: " + r.DPoP + "\r\n")
	}
	b.WriteString("Content-Length: " + strconv.Itoa(len(r.Form)) + "\r\n\r\n")
	b.WriteString(r.Form)
	return []byte(b.String())
}
