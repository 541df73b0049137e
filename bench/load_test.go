package bench

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// startInProcess serves s as a server process would, in this process, and
// returns a Process to measure it with.
func startInProcess(t *testing.T, s *Server) *Process {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ServeProcess(ctx, s, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("ServeProcess: %v", err)
		}
	})
	return &Process{Name: "test", Addr: ln.Addr().String(), http: &http.Client{Timeout: time.Minute}}
}

// TestMeasureLoad sends use-once requests over several connections: every
// one is answered 200 once, the figures are consistent, and the server's
// CPU time grows.
func TestMeasureLoad(t *testing.T) {
	s, err := NewGrantorCodeExchange()
	if err != nil {
		t.Fatal(err)
	}
	p := startInProcess(t, s)
	lp, err := MeasureLoad(p, 40, 4)
	if err != nil {
		t.Fatal(err)
	}
	if lp.Requests != 40 || lp.Conns != 4 || lp.Elapsed <= 0 {
		t.Errorf("point %+v", lp)
	}
	if lp.P50 <= 0 || lp.P99 < lp.P50 {
		t.Errorf("percentiles p50 %v, p99 %v", lp.P50, lp.P99)
	}
	if lp.ServerCPU <= 0 {
		t.Errorf("server CPU %v", lp.ServerCPU)
	}

	// A replayed code is refused, and Load says so.
	reqs, err := p.Requests(2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Load(p.Addr, reqs, 1); err != nil {
		t.Fatal(err)
	}
	_, err = Load(p.Addr, reqs[:1], 1)
	if err == nil || !strings.Contains(err.Error(), "invalid_grant") {
		t.Errorf("replay: err = %v, want a status 400 invalid_grant", err)
	}
}

// TestPercentile checks the nearest-rank percentiles.
func TestPercentile(t *testing.T) {
	var ds []time.Duration
	for i := 1; i <= 100; i++ {
		ds = append(ds, time.Duration(i))
	}
	if got := percentile(ds, 50); got != 50 {
		t.Errorf("p50 of 1..100 = %d, want 50", got)
	}
	if got := percentile(ds, 99); got != 99 {
		t.Errorf("p99 of 1..100 = %d, want 99", got)
	}
	if got := percentile(ds[:1], 99); got != 1 {
		t.Errorf("p99 of one = %d, want 1", got)
	}
}
