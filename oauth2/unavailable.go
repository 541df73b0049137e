package oauth2

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/grantor-dev/grantor/storage"
)

// storageRetryAfter is the Retry-After of an answer to a storage outage:
// a database that fails over is usually back within seconds.
const storageRetryAfter = time.Second

// StorageError is the answer to a store that failed (RFC 6749 §4.1.2.1,
// RFC 7009 §2.2.1): 503 temporarily_unavailable with Retry-After, so that
// the client retries rather than starting over, and so that an outage is
// never mistaken for a bad credential or an unknown token. Every endpoint
// answers a storage outage this way; grant handlers should too.
// description is sent to the client, cause only logged.
//
// A store that refuses a record as too large (storage.ErrTooLarge) is no
// outage, and is a server_error (500): the Provider bounds what it stores.
func StorageError(description string, cause error) *Error {
	if errors.Is(cause, storage.ErrTooLarge) {
		return NewError(ErrServerError, description).WithCause(cause)
	}
	return &Error{Code: ErrTemporarilyUnavailable, Description: description + "; try again later",
		Status: http.StatusServiceUnavailable, Cause: cause, Header: retryAfter(storageRetryAfter)}
}

// retryAfter is a Retry-After header of d, rounded up to whole seconds
// (RFC 9110 §10.2.3).
func retryAfter(d time.Duration) http.Header {
	secs := int64((d + time.Second - 1) / time.Second)
	return http.Header{"Retry-After": {strconv.FormatInt(max(secs, 1), 10)}}
}

// tooManyRequests is a 429 answer with Retry-After.
func tooManyRequests(code ErrorCode, description string, retry time.Duration) *Error {
	return &Error{Code: code, Description: description, Status: http.StatusTooManyRequests, Header: retryAfter(retry)}
}

// StatusClientClosedRequest is the status logged for a request whose client
// went away before the answer was ready (the convention of nginx and
// others). It is no server error: nothing is logged at ERROR for it.
const StatusClientClosedRequest = 499

// clientGone reports whether the client cancelled r. A deadline of the
// host's own (http.TimeoutHandler, say) is not the client going away.
func clientGone(r *http.Request) bool {
	return errors.Is(r.Context().Err(), context.Canceled)
}

// logFailure logs an error whose details the client does not get: at
// ERROR for a server-side failure (5xx), at INFO for a request the client
// cancelled. It returns the error to answer with.
func (p *Provider) logFailure(r *http.Request, oe *Error) *Error {
	if clientGone(r) {
		p.logger.LogAttrs(r.Context(), slog.LevelInfo, "request cancelled by the client",
			slog.String("path", safePath(r.URL.Path)), slog.String("error", string(oe.Code)))
		return &Error{Code: oe.Code, Description: "the request was cancelled", Status: StatusClientClosedRequest, Cause: oe.Cause}
	}
	status := oe.HTTPStatus()
	if status < http.StatusInternalServerError {
		return oe
	}
	level, attrs := slog.LevelError, make([]slog.Attr, 0, 5)
	if status == http.StatusServiceUnavailable {
		// An outage, a full store or a bound refusing: a flood can cause
		// one on every request, so they are logged at most once a second
		// each, with the number of those not logged. Bounds doing their
		// work (a full store, busy slow-hash slots, a throttle) are
		// sampled apart from outages, so that they cannot hide one.
		sampler := &p.outageLog
		if oe.Cause == nil || errors.Is(oe.Cause, storage.ErrFull) {
			sampler, level = &p.boundLog, slog.LevelWarn
		}
		if !sampler.due(time.Now()) {
			return oe
		}
		attrs = append(attrs, slog.Int64("occurrences_since_last_report", sampler.taken()))
	}
	cause := "none"
	if oe.Cause != nil {
		cause = oe.Cause.Error()
	}
	attrs = append(attrs, slog.String("path", safePath(r.URL.Path)), slog.String("error", string(oe.Code)),
		slog.String("cause", cause), slog.Int("status", status))
	p.logger.LogAttrs(r.Context(), level, "request failed", attrs...)
	return oe
}

// safePath bounds a request path before it is logged.
func safePath(path string) string {
	const maxLoggedPath = 256
	if len(path) > maxLoggedPath {
		return path[:maxLoggedPath] + "..."
	}
	return path
}

// logSampler lets a log line that an attacker can trigger on every request
// through at most once per interval, and counts the others, so that a
// flood cannot flood the log.
type logSampler struct {
	every   time.Duration
	last    atomic.Int64 // when the last line was let through, since samplerEpoch
	started atomic.Bool  // a line was let through
	n       atomic.Int64 // occurrences since
}

// samplerEpoch is the origin of the samplers' times: a time.Now minus it
// is measured on the monotonic clock, which a step of the wall clock does
// not move.
var samplerEpoch = time.Now()

// due counts an occurrence at now and reports whether to log it.
func (s *logSampler) due(now time.Time) bool {
	s.n.Add(1)
	t, last := int64(now.Sub(samplerEpoch)), s.last.Load()
	if s.started.Load() && t-last < int64(s.every) || !s.last.CompareAndSwap(last, t) {
		return false
	}
	s.started.Store(true)
	return true
}

// taken returns the occurrences counted since the last line, this one
// included, and starts counting again.
func (s *logSampler) taken() int64 { return s.n.Swap(0) }
