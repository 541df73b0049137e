package token

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/grantor-dev/grantor/internal/urlpolicy"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
)

// Defaults and limits of RemoteKeys, the client of a jwks_uri
// (RFC 8414 §2; RFC 7517 §5).
const (
	// DefaultJWKSCacheTTL is how long RemoteKeys uses a fetched JWK Set
	// before fetching it again.
	DefaultJWKSCacheTTL = 5 * time.Minute
	// DefaultJWKSMinRefresh is the least time between two fetches of the
	// JWK Set, whatever the kids presented.
	DefaultJWKSMinRefresh = 30 * time.Second
	// DefaultJWKSTimeout bounds one fetch of the JWK Set.
	DefaultJWKSTimeout = 10 * time.Second
	// MaxJWKSSize is the largest JWK Set document RemoteKeys reads.
	MaxJWKSSize = 256 << 10
	// DefaultJWKSMaxStale is how long after its last successful fetch
	// RemoteKeys keeps using a JWK Set it cannot refresh, with the
	// default CacheTTL: twelve times CacheTTL, one hour. It is also the
	// default lifetime of the access tokens Grantor issues, so an outage
	// of the jwks_uri alone does not interrupt the tokens already out,
	// and a key the authorization server removed is trusted no longer
	// than a token it signed would have lived.
	DefaultJWKSMaxStale = 12 * DefaultJWKSCacheTTL
	// jwksMaxStaleFactor is the default MaxStale in CacheTTLs.
	jwksMaxStaleFactor = 12
)

// ErrJWKSUnavailable is wrapped by the errors of RemoteKeys when it holds
// no usable JWK Set (RFC 7517 §5): none could be fetched, or none since
// MaxStale. It does not wrap ErrInvalid: the token may be fine.
var ErrJWKSUnavailable = errors.New("token: JWK Set unavailable")

// RemoteKeysConfig configures RemoteKeys, the resource server's view of
// an authorization server's jwks_uri (RFC 8414 §2).
type RemoteKeysConfig struct {
	// URL is the authorization server's jwks_uri (RFC 8414 §2), from
	// trusted configuration. It must be https, unless its host is
	// loopback (localhost, 127.0.0.0/8, ::1) (FAPI 2.0 §5.4.2).
	URL string
	// Client makes the requests; a client with Timeout when nil. A
	// client whose CheckRedirect is nil is used through a copy that
	// follows only redirects to URLs allowed as URL.
	Client *http.Client
	// Timeout bounds one fetch; DefaultJWKSTimeout when zero.
	Timeout time.Duration
	// CacheTTL is how long a fetched JWK Set is used before it is
	// fetched again; DefaultJWKSCacheTTL when zero.
	CacheTTL time.Duration
	// MinRefreshInterval is the least time between two fetches, however
	// many unknown kids are presented; DefaultJWKSMinRefresh when zero.
	MinRefreshInterval time.Duration
	// MaxStale bounds how long a JWK Set is used after its last
	// successful fetch while refreshes fail: past it, the keys are no
	// longer trusted and every verification fails with
	// ErrJWKSUnavailable (a resource.Middleware answers 503) until a
	// fetch succeeds. It must be at least CacheTTL; MaxStale equal to
	// CacheTTL uses no set that is due for a refresh and could not get
	// one. Zero means twelve times CacheTTL (DefaultJWKSMaxStale, one
	// hour, with the default CacheTTL).
	MaxStale time.Duration
	// Clock returns the current time; time.Now when nil.
	Clock func() time.Time
}

// RemoteKeys is a VerificationKeys over a remote JWK Set (RFC 7517 §5),
// the jwks_uri of an authorization server, for a JWTVerifier in a
// resource server that shares no process with the authorization server.
//
// It fetches the set on first use, again once CacheTTL has passed, and
// when a token names a kid it does not know (the authorization server
// rotated its keys), but never more often than MinRefreshInterval, so
// that tokens with random kids cannot make it hammer the authorization
// server. Concurrent callers share one fetch.
//
// If a fetch fails, the previous set stays in use, but for no longer than
// MaxStale after the last successful fetch (one hour by default): the set
// is what the authorization server vouches for now (RFC 7517 §5), and a
// key it has removed, perhaps because it leaked, must not stay trusted for
// as long as its jwks_uri cannot be reached (or is kept from being
// reached). Past MaxStale every verification fails with
// ErrJWKSUnavailable, which resource.Middleware answers with 503, not with
// an accepted or an invalid token, until a fetch succeeds again.
//
// Only signature keys are kept: keys with "use" other than "sig",
// private or symmetric keys, keys without a kid, weak keys and keys whose
// "alg" is not on the allow-list are ignored. An EC or Ed25519 key
// without "alg" gets the one its curve implies; an RSA key without "alg"
// is ignored, since RS256 and PS256 would both fit (RFC 8725 §3.1). A
// document with two signature keys of the same kid is refused (RFC 7517
// §4.5).
//
// RemoteKeys is safe for concurrent use.
type RemoteKeys struct {
	url        string
	client     *http.Client
	timeout    time.Duration
	ttl        time.Duration
	minRefresh time.Duration
	maxStale   time.Duration
	clock      func() time.Time

	mu          sync.Mutex
	keys        map[string]*keyEntry // nil until the first successful fetch
	fetchedAt   time.Time            // of the last successful fetch
	attemptedAt time.Time            // of the last fetch, successful or not
	lastErr     error                // of the last fetch
	inflight    chan struct{}        // closed when the running fetch ends
}

var _ VerificationKeys = (*RemoteKeys)(nil)

// NewRemoteKeys returns a RemoteKeys for cfg (RFC 7517 §5 documents at
// cfg.URL), or an error when the URL is
// missing, not absolute, or http for a host that is not loopback, a
// duration is negative, or MaxStale is shorter than CacheTTL. It fetches
// nothing yet.
func NewRemoteKeys(cfg RemoteKeysConfig) (*RemoteKeys, error) {
	if err := checkJWKSURL(cfg.URL); err != nil {
		return nil, err
	}
	if cfg.Timeout < 0 || cfg.CacheTTL < 0 || cfg.MinRefreshInterval < 0 || cfg.MaxStale < 0 {
		return nil, errors.New("token: RemoteKeysConfig durations must not be negative")
	}
	r := &RemoteKeys{
		url:        cfg.URL,
		timeout:    cmpOr(cfg.Timeout, DefaultJWKSTimeout),
		ttl:        cmpOr(cfg.CacheTTL, DefaultJWKSCacheTTL),
		minRefresh: cmpOr(cfg.MinRefreshInterval, DefaultJWKSMinRefresh),
		clock:      cfg.Clock,
	}
	r.maxStale = cmpOr(cfg.MaxStale, jwksMaxStaleFactor*r.ttl)
	if r.maxStale < r.ttl {
		return nil, errors.New("token: RemoteKeysConfig.MaxStale must not be shorter than CacheTTL")
	}
	if r.clock == nil {
		r.clock = time.Now
	}
	checkRedirect := func(req *http.Request, via []*http.Request) error {
		if len(via) >= 5 {
			return errors.New("token: too many redirects fetching the JWK Set")
		}
		return checkJWKSURL(req.URL.String())
	}
	switch {
	case cfg.Client == nil:
		r.client = &http.Client{Timeout: r.timeout, CheckRedirect: checkRedirect}
	case cfg.Client.CheckRedirect == nil:
		c := *cfg.Client
		c.CheckRedirect = checkRedirect
		r.client = &c
	default:
		r.client = cfg.Client
	}
	return r, nil
}

func cmpOr(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// checkJWKSURL accepts absolute https URLs, and http ones for loopback
// hosts (FAPI 2.0 §5.4.2: JWKS over TLS only).
func checkJWKSURL(raw string) error {
	if err := urlpolicy.CheckTLS(raw); err != nil {
		return fmt.Errorf("token: the JWK Set URL %w", err)
	}
	return nil
}

// VerificationKey implements VerificationKeys: it returns a copy of the
// public key with kid from the remote JWK Set, fetching the set as
// described on RemoteKeys. A kid the set does not hold is ErrUnknownKey;
// no set at all, or none fetched in the last MaxStale, is
// ErrJWKSUnavailable.
func (r *RemoteKeys) VerificationKey(ctx context.Context, kid string) (jwk.Key, error) {
	e, err := r.resolveEntry(ctx, []byte(kid))
	if err != nil {
		return nil, err
	}
	k, err := e.pub.Clone()
	if err != nil {
		return nil, fmt.Errorf("token: key %q: %w", kid, err)
	}
	return k, nil
}

func (r *RemoteKeys) resolveEntry(ctx context.Context, kid []byte) (*keyEntry, error) {
	r.mu.Lock()
	now := r.clock()
	e := r.keys[string(kid)]
	if e != nil && now.Before(r.fetchedAt.Add(r.ttl)) {
		r.mu.Unlock()
		return e, nil
	}
	// Stale, or an unknown kid: refresh, unless a fetch was tried less
	// than minRefresh ago; join the fetch under way if there is one.
	wait := r.inflight
	if wait == nil {
		if !r.attemptedAt.IsZero() && now.Before(r.attemptedAt.Add(r.minRefresh)) {
			defer r.mu.Unlock()
			return r.foundLocked(e, now)
		}
		wait = make(chan struct{})
		r.inflight = wait
		r.attemptedAt = now
		go r.fetch(context.WithoutCancel(ctx), wait)
	}
	r.mu.Unlock()
	select {
	case <-wait:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.foundLocked(r.keys[string(kid)], r.clock())
}

// foundLocked returns e, the entry a lookup found at now (nil: not
// found), or the error for the lookup: ErrJWKSUnavailable when there is
// no set, or when the set was last fetched MaxStale or more ago, whether
// e was found or not.
func (r *RemoteKeys) foundLocked(e *keyEntry, now time.Time) (*keyEntry, error) {
	if r.keys != nil && !now.Before(r.fetchedAt.Add(r.maxStale)) {
		err := fmt.Errorf("%w: not refreshed for %v (MaxStale)", ErrJWKSUnavailable, r.maxStale)
		if r.lastErr != nil {
			err = fmt.Errorf("%w: %w", err, r.lastErr)
		}
		return nil, err
	}
	if err := r.missLocked(e); err != nil {
		return nil, err
	}
	return e, nil
}

// missLocked is the error for a lookup that found e (nil: not found).
func (r *RemoteKeys) missLocked(e *keyEntry) error {
	switch {
	case e != nil:
		return nil
	case r.keys == nil && r.lastErr != nil:
		return fmt.Errorf("%w: %w", ErrJWKSUnavailable, r.lastErr)
	case r.keys == nil:
		return ErrJWKSUnavailable
	}
	return ErrUnknownKey
}

// fetch fetches the JWK Set and installs it, then closes done.
func (r *RemoteKeys) fetch(ctx context.Context, done chan struct{}) {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	keys, err := r.get(ctx)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lastErr = err
	if err == nil {
		r.keys, r.fetchedAt = keys, r.clock()
	}
	r.inflight = nil
	close(done)
}

func (r *RemoteKeys) get(ctx context.Context) (map[string]*keyEntry, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.url, nil)
	if err != nil {
		return nil, fmt.Errorf("token: JWK Set request: %w", err)
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := r.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("token: fetching the JWK Set: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("token: fetching the JWK Set: status %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxJWKSSize+1))
	if err != nil {
		return nil, fmt.Errorf("token: reading the JWK Set: %w", err)
	}
	if len(body) > MaxJWKSSize {
		return nil, fmt.Errorf("token: the JWK Set is larger than %d bytes", MaxJWKSSize)
	}
	return parseRemoteJWKS(body)
}

// parseRemoteJWKS keeps the usable public signature keys of a JWK Set
// document (RFC 7517 §5), by kid.
func parseRemoteJWKS(body []byte) (map[string]*keyEntry, error) {
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &doc); err != nil || doc.Keys == nil {
		return nil, errors.New("token: the JWK Set is not a JSON object with a \"keys\" array")
	}
	keys := make(map[string]*keyEntry, len(doc.Keys))
	for _, raw := range doc.Keys {
		k, err := jwk.ParseKey(raw)
		if err != nil {
			continue // an unknown kty or a malformed key: not ours to use
		}
		e := remoteEntry(k)
		if e == nil {
			continue
		}
		if _, dup := keys[e.kid]; dup {
			return nil, fmt.Errorf("token: the JWK Set has two signature keys with kid %q", e.kid)
		}
		keys[e.kid] = e
	}
	return keys, nil
}

// remoteEntry returns the verification entry of a fetched key, or nil
// when the key is not a usable public signature key.
func remoteEntry(k jwk.Key) *keyEntry {
	if k.KeyID() == "" {
		return nil
	}
	if u := k.KeyUsage(); u != "" && u != string(jwk.ForSignature) {
		return nil
	}
	switch k.(type) {
	case jwk.ECDSAPublicKey, jwk.RSAPublicKey, jwk.OKPPublicKey:
	default:
		return nil // private and symmetric keys are never trusted (RFC 7518 §6)
	}
	if k.Algorithm() == nil || k.Algorithm().String() == "" {
		alg := impliedAlg(k)
		if alg == "" {
			return nil
		}
		if err := k.Set(jwk.AlgorithmKey, alg); err != nil {
			return nil
		}
	}
	e, err := newKeyEntry(k)
	if err != nil {
		return nil
	}
	return e
}

// impliedAlg is the one JWS algorithm an EC or Ed25519 key without "alg"
// can serve, or "" when there is none or several (RSA).
func impliedAlg(k jwk.Key) jwa.SignatureAlgorithm {
	switch k := k.(type) {
	case jwk.ECDSAPublicKey:
		switch k.Crv() {
		case jwa.P256:
			return jwa.ES256
		case jwa.P384:
			return jwa.ES384
		case jwa.P521:
			return jwa.ES512
		}
	case jwk.OKPPublicKey:
		if k.Crv() == jwa.Ed25519 {
			return jwa.EdDSA
		}
	}
	return ""
}
