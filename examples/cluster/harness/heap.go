package harness

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// debugClient reads the instances' memory statistics.
var debugClient = &http.Client{Transport: newTransport(2), Timeout: 30 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// LiveHeap has instance in collect its garbage (POST /debug/gc on its
// -debug-addr listener) and returns its heap then: the bytes of the
// objects still reachable (runtime.MemStats.HeapAlloc).
func LiveHeap(ctx context.Context, in *Instance) (uint64, error) {
	if in.DebugAddr == "" {
		return 0, fmt.Errorf("harness: instance %s has no debug listener", in.Name)
	}
	u := "http://" + in.DebugAddr + "/debug/gc"
	if err := CheckLoopbackURL(u); err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, nil)
	if err != nil {
		return 0, err
	}
	resp, err := debugClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("harness: the heap of %s: %w", in.Name, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, fmt.Errorf("harness: the heap of %s: %w", in.Name, err)
	}
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("harness: the heap of %s: %d from /debug/gc", in.Name, resp.StatusCode)
	}
	var vars struct {
		Memstats struct{ HeapAlloc uint64 }
	}
	if err := json.Unmarshal(body, &vars); err != nil || vars.Memstats.HeapAlloc == 0 {
		return 0, fmt.Errorf("harness: the heap of %s: no memstats.HeapAlloc in the answer of /debug/gc", in.Name)
	}
	return vars.Memstats.HeapAlloc, nil
}
