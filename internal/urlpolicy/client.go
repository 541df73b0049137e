package urlpolicy

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"
)

// Defaults of ClientOptions.
const (
	DefaultTimeout                = 5 * time.Second
	DefaultMaxRedirects           = 2
	DefaultMaxResponseHeaderBytes = 16 << 10
)

// ErrNotPublic is wrapped by the error of a connection the guarded client
// refused because the resolved address is not a public one
// (IsPublicAddr). Such a refusal does not go away on a retry.
var ErrNotPublic = errors.New("not a public address")

// ErrNotHTTPS is wrapped by the error of a request or redirect the
// guarded client refused because its URL is not an https one.
var ErrNotHTTPS = errors.New("not an https URL")

// ClientOptions configures NewClient. The zero value is the safe default.
type ClientOptions struct {
	// Timeout bounds each request, from dialing to the end of the body,
	// and each of its steps (dial, TLS handshake, response headers). Zero
	// means DefaultTimeout (5 s).
	Timeout time.Duration

	// AllowPrivateAddresses switches the address check off and also
	// allows http URLs, for tests (httptest) and intranets only.
	AllowPrivateAddresses bool

	// MaxRedirects is the most redirects a request follows. Zero means
	// DefaultMaxRedirects (2); a negative value follows none, and the
	// redirect response is then returned as it is.
	MaxRedirects int

	// MaxResponseHeaderBytes bounds the response headers. Zero means
	// DefaultMaxResponseHeaderBytes (16 KiB).
	MaxResponseHeaderBytes int64
}

// NewClient returns an HTTP client for the URLs that clients register and
// the server then fetches or posts to by itself (a jwks_uri, RFC 7591 §2;
// a backchannel_logout_uri, OpenID Connect Back-Channel Logout 1.0 §2.2),
// which must not let a client make the server reach into its own network
// (FAPI 2.0 §5.4.2, RFC 6890). Unless opts.AllowPrivateAddresses:
//
//   - it connects only to public addresses (IsPublicAddr). The check runs
//     on the resolved address at dial time, after DNS, so a name that
//     resolves (or re-resolves, DNS rebinding) to an internal address is
//     refused too; the error wraps ErrNotPublic;
//   - it sends requests and follows redirects to https URLs only; the
//     error wraps ErrNotHTTPS.
//
// Always, proxies from the environment are not used, since a proxy would
// hide the target address from the check; every step of a request is
// bounded by opts.Timeout, the response headers by
// opts.MaxResponseHeaderBytes, and redirects by opts.MaxRedirects. The
// caller still bounds the bodies it reads.
func NewClient(opts ClientOptions) *http.Client {
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	maxHeader := opts.MaxResponseHeaderBytes
	if maxHeader <= 0 {
		maxHeader = DefaultMaxResponseHeaderBytes
	}
	maxRedirects := opts.MaxRedirects
	if maxRedirects == 0 {
		maxRedirects = DefaultMaxRedirects
	}
	dialer := &net.Dialer{Timeout: timeout}
	if !opts.AllowPrivateAddresses {
		dialer.Control = RefuseNonPublicAddress
	}
	transport := &http.Transport{
		Proxy:                  nil, // a proxy would hide the target address from the dial check
		DialContext:            dialer.DialContext,
		TLSHandshakeTimeout:    timeout,
		ResponseHeaderTimeout:  timeout,
		MaxResponseHeaderBytes: maxHeader,
		MaxIdleConns:           16,
		IdleConnTimeout:        90 * time.Second,
		ForceAttemptHTTP2:      true,
	}
	var rt http.RoundTripper = transport
	if !opts.AllowPrivateAddresses {
		rt = httpsOnly{transport}
	}
	return &http.Client{
		Timeout:   timeout,
		Transport: rt,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if maxRedirects < 0 {
				return http.ErrUseLastResponse
			}
			if len(via) > maxRedirects {
				return errors.New("too many redirects")
			}
			if req.URL.Scheme != "https" && !opts.AllowPrivateAddresses {
				return fmt.Errorf("redirect refused: %w", ErrNotHTTPS)
			}
			return nil
		},
	}
}

// httpsOnly refuses requests whose URL is not an https one, before they
// reach the transport.
type httpsOnly struct{ t *http.Transport }

func (h httpsOnly) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme != "https" {
		if req.Body != nil {
			_ = req.Body.Close() // a RoundTripper closes the body, even on error
		}
		return nil, fmt.Errorf("refusing %s: %w", req.URL.Redacted(), ErrNotHTTPS)
	}
	return h.t.RoundTrip(req)
}

// CloseIdleConnections lets http.Client.CloseIdleConnections reach the
// transport.
func (h httpsOnly) CloseIdleConnections() { h.t.CloseIdleConnections() }

// RefuseNonPublicAddress is a net.Dialer Control function: it runs on the
// resolved address just before connecting, and refuses every address that
// is not a public unicast one (IsPublicAddr), with an error that wraps
// ErrNotPublic. Running after resolution is what defeats DNS rebinding.
func RefuseNonPublicAddress(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("refusing to dial %q: %w: not an IP address", address, ErrNotPublic)
	}
	if !IsPublicAddr(ap.Addr()) {
		return fmt.Errorf("refusing to dial %s: %w", ap.Addr(), ErrNotPublic)
	}
	return nil
}
