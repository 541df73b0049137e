package oauth2

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"syscall"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/grantor-dev/grantor/internal/jose"
	"github.com/grantor-dev/grantor/internal/urlpolicy"
)

// Defaults of [JWKSFetcher], the fetcher of clients' jwks_uri (RFC 7591
// §2).
const (
	DefaultJWKSTimeout            = 5 * time.Second
	DefaultJWKSMaxBytes           = 64 << 10
	DefaultJWKSCacheTTL           = 5 * time.Minute
	DefaultJWKSMinRefetchInterval = 30 * time.Second
)

// ErrJWKSFetch is wrapped by every error of [JWKSFetcher.KeySet]: the
// client's jwks_uri (RFC 7591 §2) could not be fetched or parsed.
var ErrJWKSFetch = errors.New("oauth2: fetching the client's jwks_uri failed")

// maxJWKSCacheEntries is the size above which the cache drops expired
// entries before adding one.
const maxJWKSCacheEntries = 1024

// JWKSFetcher fetches and caches the public key sets that clients publish
// at their jwks_uri (RFC 7591 §2, RFC 7517 §5), for verifying
// private_key_jwt assertions. It is safe by default (FAPI 2.0 §5.4.2):
//
//   - only https URLs are fetched;
//   - with the default HTTP client, connections to loopback, private
//     (RFC 1918, fc00::/7), link-local (169.254.0.0/16 with cloud metadata
//     services, fe80::/10), CGNAT (100.64.0.0/10), unspecified, multicast,
//     reserved and documentation addresses (RFC 6890) are refused, and so
//     are IPv6 addresses that carry such an IPv4 address (IPv4-mapped,
//     -compatible and -translated, NAT64, 6to4, ISATAP) or that may
//     (Teredo, the NAT64 local-use prefix). The check runs on the resolved
//     address at dial time, after DNS, so a name that resolves (or
//     re-resolves) to such an address is refused too. Proxies from the
//     environment are not used, since they would hide the target address;
//   - each fetch is bounded by Timeout and the body by MaxBytes;
//   - a set is cached for CacheTTL, and a refresh forced by an unknown kid
//     happens at most once per MinRefetchInterval per URI, so a flood of
//     assertions with made-up kids cannot make us flood the client's
//     server. A failed fetch is not retried before MinRefetchInterval;
//   - private and symmetric keys in a fetched set are dropped: a set
//     published on the web holds public keys only.
//
// The zero value is ready to use. A JWKSFetcher is safe for concurrent use
// and must not be copied after first use.
type JWKSFetcher struct {
	// HTTPClient makes the requests. Nil means a client built from the
	// settings below, with the address checks described above. A client
	// given here is used as it is: its transport is then responsible for
	// refusing internal addresses.
	HTTPClient *http.Client

	// AllowPrivateAddresses switches the address checks off and also
	// allows http URLs. For tests (httptest) and intranets only.
	AllowPrivateAddresses bool

	// Timeout bounds each fetch, from dialing to the end of the body.
	// Zero means DefaultJWKSTimeout (5 s).
	Timeout time.Duration

	// MaxBytes is the largest body accepted; a larger one is an error.
	// Zero means DefaultJWKSMaxBytes (64 KiB).
	MaxBytes int64

	// CacheTTL is how long a fetched set is used without fetching it
	// again. Zero means DefaultJWKSCacheTTL (5 min).
	CacheTTL time.Duration

	// MinRefetchInterval is the least time between two fetches of one
	// URI, whatever asks for them. Zero means
	// DefaultJWKSMinRefetchInterval (30 s).
	MinRefetchInterval time.Duration

	// Now is the clock for the cache. Nil means time.Now.
	Now func() time.Time

	clientOnce sync.Once
	client     *http.Client

	mu    sync.Mutex
	cache map[string]*jwksEntry
}

// jwksEntry is the cache state of one URI. Its fields are guarded by sem,
// a one-slot semaphore held while the entry is read, written or fetched,
// so that concurrent requests for one URI cause one fetch.
type jwksEntry struct {
	sem         chan struct{}
	set         jwk.Set
	expires     time.Time
	lastAttempt time.Time
	err         error
}

// Validate reports negative durations or sizes.
func (f *JWKSFetcher) Validate() error {
	if f.Timeout < 0 || f.CacheTTL < 0 || f.MinRefetchInterval < 0 || f.MaxBytes < 0 {
		return errors.New("oauth2: JWKSFetcher: negative Timeout, CacheTTL, MinRefetchInterval or MaxBytes")
	}
	return nil
}

// KeySet returns the public signature keys published at uri (RFC 7591 §2,
// jwks_uri), from the cache while it is fresh. forceRefresh asks for a new
// copy, because an assertion names a kid the cached set lacks; it is
// honoured at most once per MinRefetchInterval, and otherwise the cached
// set is returned. Errors wrap ErrJWKSFetch.
func (f *JWKSFetcher) KeySet(ctx context.Context, uri string, forceRefresh bool) (jwk.Set, error) {
	if err := f.checkURL(uri); err != nil {
		return nil, err
	}
	e := f.entry(uri)
	select {
	case e.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: %w", ErrJWKSFetch, ctx.Err())
	}
	defer func() { <-e.sem }()

	now := f.now()
	fresh := e.set != nil && now.Before(e.expires)
	if fresh && !forceRefresh {
		return e.set, nil
	}
	if !e.lastAttempt.IsZero() && now.Sub(e.lastAttempt) < f.minRefetch() {
		// Rate-limited: answer with what we have.
		if e.set != nil && (fresh || e.err == nil) {
			return e.set, nil
		}
		if e.err != nil {
			return nil, e.err
		}
	}

	previous := e.lastAttempt
	e.lastAttempt = now
	set, err := f.fetch(ctx, uri)
	if err != nil {
		if ctx.Err() != nil {
			// Our caller gave up: do not hold that against the URI.
			e.lastAttempt = previous
			return nil, err
		}
		e.err = err
		if fresh {
			return e.set, nil
		}
		return nil, err
	}
	e.set, e.err, e.expires = set, nil, now.Add(f.cacheTTL())
	return set, nil
}

func (f *JWKSFetcher) entry(uri string) *jwksEntry {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.cache == nil {
		f.cache = make(map[string]*jwksEntry)
	}
	if e, ok := f.cache[uri]; ok {
		return e
	}
	if len(f.cache) >= maxJWKSCacheEntries {
		f.sweepLocked()
	}
	e := &jwksEntry{sem: make(chan struct{}, 1)}
	f.cache[uri] = e
	return e
}

// sweepLocked drops the entries that are idle and no longer useful.
func (f *JWKSFetcher) sweepLocked() {
	now := f.now()
	for uri, e := range f.cache {
		select {
		case e.sem <- struct{}{}:
		default:
			continue // in use
		}
		if !now.Before(e.expires) && now.Sub(e.lastAttempt) >= f.minRefetch() {
			delete(f.cache, uri)
		}
		<-e.sem
	}
}

func (f *JWKSFetcher) checkURL(uri string) error {
	u, err := url.Parse(uri)
	if err != nil {
		return fmt.Errorf("%w: jwks_uri is not a URL", ErrJWKSFetch)
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && f.AllowPrivateAddresses:
	default:
		return fmt.Errorf("%w: jwks_uri is not an https URL", ErrJWKSFetch)
	}
	if u.Host == "" || u.User != nil {
		return fmt.Errorf("%w: jwks_uri has no host, or has user information", ErrJWKSFetch)
	}
	return nil
}

// fetch GETs uri and parses the body as a JWK set, keeping public keys
// only.
func (f *JWKSFetcher) fetch(ctx context.Context, uri string) (jwk.Set, error) {
	ctx, cancel := context.WithTimeout(ctx, f.timeout())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, uri, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrJWKSFetch, err)
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := f.httpClient().Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrJWKSFetch, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: %s answered %d", ErrJWKSFetch, uri, resp.StatusCode)
	}
	max := f.maxBytes()
	if resp.ContentLength > max {
		return nil, fmt.Errorf("%w: %s: body larger than %d bytes", ErrJWKSFetch, uri, max)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, max+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: reading the body: %w", ErrJWKSFetch, uri, err)
	}
	if int64(len(body)) > max {
		return nil, fmt.Errorf("%w: %s: body larger than %d bytes", ErrJWKSFetch, uri, max)
	}
	parsed, err := jwk.Parse(body, jwk.WithIgnoreParseError(true))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: not a JWK set", ErrJWKSFetch, uri)
	}
	public := jwk.NewSet()
	for i := 0; i < parsed.Len(); i++ {
		if k, ok := parsed.Key(i); ok && jose.IsPublicSignatureJWK(k) {
			_ = public.AddKey(k)
		}
	}
	return public, nil
}

func (f *JWKSFetcher) httpClient() *http.Client {
	if f.HTTPClient != nil {
		return f.HTTPClient
	}
	f.clientOnce.Do(func() {
		f.client = urlpolicy.NewClient(urlpolicy.ClientOptions{
			Timeout:               f.timeout(),
			AllowPrivateAddresses: f.AllowPrivateAddresses,
		})
	})
	return f.client
}

// refuseNonPublicAddress is the dial check of the default client
// (urlpolicy.RefuseNonPublicAddress), named here for the fetcher's tests.
func refuseNonPublicAddress(network, address string, c syscall.RawConn) error {
	return urlpolicy.RefuseNonPublicAddress(network, address, c)
}

func (f *JWKSFetcher) now() time.Time {
	if f.Now != nil {
		return f.Now()
	}
	return time.Now()
}

func (f *JWKSFetcher) timeout() time.Duration {
	if f.Timeout > 0 {
		return f.Timeout
	}
	return DefaultJWKSTimeout
}

func (f *JWKSFetcher) maxBytes() int64 {
	if f.MaxBytes > 0 {
		return f.MaxBytes
	}
	return DefaultJWKSMaxBytes
}

func (f *JWKSFetcher) cacheTTL() time.Duration {
	if f.CacheTTL > 0 {
		return f.CacheTTL
	}
	return DefaultJWKSCacheTTL
}

func (f *JWKSFetcher) minRefetch() time.Duration {
	if f.MinRefetchInterval > 0 {
		return f.MinRefetchInterval
	}
	return DefaultJWKSMinRefetchInterval
}
