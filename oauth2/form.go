package oauth2

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"sync"
)

// readForm reads the body of a POST request to one of the Provider's
// endpoints (RFC 6749 §3.2): the method must be POST, the body
// application/x-www-form-urlencoded and within the size limit. Parameters
// are taken from the body only; a request that carries any in its URL query
// is refused rather than half-read, so that a client that put a secret in
// a URL learns of it. The parameters are checked by checkParameters: their
// number, length and characters are bounded, a repeated parameter is
// invalid_request, except resource (RFC 8707) and audience (RFC 8693), and an empty value counts as
// absent and is removed.
func (p *Provider) readForm(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return nil, &Error{Code: ErrInvalidRequest, Description: "the method must be POST", Status: http.StatusMethodNotAllowed}
	}
	if r.URL.RawQuery != "" {
		return nil, NewError(ErrInvalidRequest, "parameters must be sent in the request body, not in the URL")
	}
	if ct := r.Header.Get("Content-Type"); ct != formMediaType { // the usual value needs no parsing
		mediaType, _, err := mime.ParseMediaType(ct)
		if err != nil || mediaType != formMediaType {
			return nil, NewError(ErrInvalidRequest, "the body must be application/x-www-form-urlencoded")
		}
	}
	buf := bodyBuffers.Get().(*[]byte)
	defer putBodyBuffer(buf)
	body, err := readAll(*buf, http.MaxBytesReader(w, r.Body, p.maxRequestBytes))
	*buf = body
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, &Error{Code: ErrInvalidRequest, Description: "the request body is too large", Status: http.StatusRequestEntityTooLarge}
		}
		return nil, NewError(ErrInvalidRequest, "the request body could not be read").WithCause(err)
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, NewError(ErrInvalidRequest, "the request body is not valid form encoding")
	}
	if err := checkParameters(form); err != nil {
		return nil, err
	}
	return form, nil
}

// formMediaType is the media type of every request body the endpoints
// accept (RFC 6749 §3.2).
const formMediaType = "application/x-www-form-urlencoded"

// Request bodies are read into pooled buffers: io.ReadAll would allocate at
// least 512 bytes for every request, and its result is copied into a string
// for parsing anyway.
const (
	bodyBufferSize   = 2 << 10  // a token request, client assertion included
	maxPooledBodyBuf = 64 << 10 // larger buffers are left to the collector
)

var bodyBuffers = sync.Pool{New: func() any {
	b := make([]byte, 0, bodyBufferSize)
	return &b
}}

// putBodyBuffer returns a body buffer to the pool, cleared first: bodies
// carry client secrets, codes and refresh tokens.
func putBodyBuffer(buf *[]byte) {
	b := *buf
	clear(b)
	if cap(b) > maxPooledBodyBuf {
		return
	}
	*buf = b[:0]
	bodyBuffers.Put(buf)
}

// readAll appends what r reads until EOF to b, as io.ReadAll does, and
// returns it with the error that stopped the reading, nil for EOF.
func readAll(b []byte, r io.Reader) ([]byte, error) {
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)] // grow
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}

// safeName returns name quoted for an error description when it is a
// plausible parameter name, and a neutral word otherwise, so that no
// attacker-chosen text is echoed.
func safeName(name string) string {
	if len(name) == 0 || len(name) > 40 {
		return "(unnamed)"
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return "(unnamed)"
		}
	}
	return name
}
