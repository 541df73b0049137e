package main

import (
	"net/http"
	"time"
)

// httpTimeouts bound how long one connection may take over each part of an
// exchange, so that a client that trickles its request, reads the answer
// slowly or just keeps a connection open cannot hold it, and the goroutine
// and buffers behind it, for ever.
type httpTimeouts struct {
	// readHeader bounds the reading of a request's headers.
	readHeader time.Duration
	// read bounds the reading of a whole request, headers and body.
	read time.Duration
	// write bounds the time from the end of the headers to the end of the
	// response: the body, the handler and the writing of its answer.
	write time.Duration
	// idle bounds how long a keep-alive connection waits for its next
	// request.
	idle time.Duration
}

// defaultTimeouts are the example server's timeouts.
var defaultTimeouts = httpTimeouts{
	// Clients send their headers at once; 10 s allows a slow link.
	readHeader: 10 * time.Second,
	// The largest body the server reads is a 16 KiB form (maxFormBytes)
	// or a token request, smaller still.
	read: 20 * time.Second,
	// Longer than read, so that a request that used all its read time can
	// still be answered, plus the slowest handler: a login waiting for a
	// password verification slot, or a slow database.
	write: 30 * time.Second,
	// Browsers reuse a connection within seconds, or not at all.
	idle: 60 * time.Second,
}

// maxHeaderBytes bounds a request's headers. Ours carry a few cookies and
// at most a client's Basic credentials; net/http's default is 1 MiB.
const maxHeaderBytes = 64 << 10

// newHTTPServer returns the http.Server that serves h, with the timeouts t.
// run serves with defaultTimeouts; tests pass short ones.
func newHTTPServer(h http.Handler, t httpTimeouts) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: t.readHeader,
		ReadTimeout:       t.read,
		WriteTimeout:      t.write,
		IdleTimeout:       t.idle,
		MaxHeaderBytes:    maxHeaderBytes,
	}
}
