package bench

import (
	"fmt"
	"net/http"
	"runtime"
)

// HeapPerToken returns the heap, in bytes, that a server built by c keeps
// per access token it has issued: the live heap after n client
// credentials requests less the live heap before, over n, both read after
// a full collection. The requests are the server's own (Requests(1),
// repeated), through the handler; the server stays alive until the end.
func HeapPerToken(c Contender, n int) (float64, error) {
	s, err := c.New()
	if err != nil {
		return 0, err
	}
	reqs, err := s.Requests(1)
	if err != nil {
		return 0, err
	}
	w := NewRecorder()
	before := liveHeap()
	for range n {
		w.Reset()
		s.Handler.ServeHTTP(w, reqs[0].HTTPRequest())
		if w.Code != http.StatusOK {
			return 0, fmt.Errorf("%s: status %d: %s", c.Name, w.Code, w.Body.Bytes())
		}
	}
	after := liveHeap()
	runtime.KeepAlive(s)
	runtime.KeepAlive(w)
	return float64(after-before) / float64(n), nil
}

// liveHeap returns the bytes of live heap objects after a full collection.
func liveHeap() int64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC() // a second cycle frees what finalizers of the first released
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}
