package bench

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// formContentType is the Content-Type of every request.
var formContentType = []string{"application/x-www-form-urlencoded"}

// HTTPRequest returns r as the *http.Request a handler would get from the
// net/http server, built directly: httptest.NewRequest parses a request
// line and URL and fills fields no handler here reads, which cost more
// than some of the handlers measured.
func (r Request) HTTPRequest() *http.Request {
	if r.Method == http.MethodGet {
		return r.getRequest()
	}
	h := http.Header{"Content-Type": formContentType, "Authorization": {r.Authorization}}
	if r.DPoP != "" {
		h["Dpop"] = []string{r.DPoP} // http.CanonicalHeaderKey("DPoP")
	}
	return &http.Request{
		Method:        http.MethodPost,
		URL:           &url.URL{Path: r.Path},
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        h,
		Body:          io.NopCloser(strings.NewReader(r.Form)),
		ContentLength: int64(len(r.Form)),
		Host:          "as.example",
		RemoteAddr:    "192.0.2.1:40000",
		RequestURI:    r.Path,
	}
}

// getRequest is HTTPRequest of a GET: no body, no Content-Type, as the
// net/http server hands a handler a GET without a body.
func (r Request) getRequest() *http.Request {
	return &http.Request{
		Method:     http.MethodGet,
		URL:        &url.URL{Path: r.Path},
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     http.Header{"Authorization": {r.Authorization}},
		Body:       http.NoBody,
		Host:       "as.example",
		RemoteAddr: "192.0.2.1:40000",
		RequestURI: r.Path,
	}
}

// Recorder is an http.ResponseWriter that keeps the status and body of the
// last response and is reused from request to request, so that the
// benchmarks measure the handlers rather than httptest.ResponseRecorder.
type Recorder struct {
	header http.Header
	// Code is the status of the last response; 0 before anything was
	// written.
	Code int
	// Body is the body of the last response.
	Body bytes.Buffer
}

// NewRecorder returns an empty Recorder.
func NewRecorder() *Recorder { return &Recorder{header: make(http.Header)} }

// Reset forgets the last response, keeping the memory.
func (w *Recorder) Reset() {
	clear(w.header)
	w.Code = 0
	w.Body.Reset()
}

// Header returns the response header.
func (w *Recorder) Header() http.Header { return w.header }

// WriteHeader records the status; only the first call counts.
func (w *Recorder) WriteHeader(code int) {
	if w.Code == 0 {
		w.Code = code
	}
}

// Write appends to the body, with status 200 unless one was written.
func (w *Recorder) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.Body.Write(p)
}

// Serve sends r to h and returns the recorder.
func Serve(h http.Handler, r Request) *Recorder {
	w := NewRecorder()
	h.ServeHTTP(w, r.HTTPRequest())
	return w
}
