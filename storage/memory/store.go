package memory

import (
	"sync"
	"time"

	"github.com/grantor-dev/grantor/storage"
)

// Defaults of the options.
const (
	// DefaultSweepInterval is how much store-clock time passes between two
	// automatic sweeps of expired records.
	DefaultSweepInterval = time.Minute

	// DefaultRevokedGrantRetention is how long a revoked grant is
	// remembered after its revocation once it has no token records left.
	DefaultRevokedGrantRetention = 24 * time.Hour

	// DefaultMaxInteractions is how many interactions the store holds at
	// most (see [WithMaxInteractions]).
	DefaultMaxInteractions = 20_000

	// DefaultMaxPushedRequests is how many pushed authorization requests
	// the store holds at most (see [WithMaxPushedRequests]).
	DefaultMaxPushedRequests = 20_000

	// DefaultMaxDeviceAuthorizations is how many device authorizations
	// the store holds at most (see [WithMaxDeviceAuthorizations]).
	DefaultMaxDeviceAuthorizations = 20_000
)

// The store implements every storage interface.
var (
	_ storage.ClientStore       = (*Store)(nil)
	_ storage.TokenStore        = (*Store)(nil)
	_ storage.RefreshTokenStore = (*Store)(nil)
	_ storage.ReplayStore       = (*Store)(nil)

	_ storage.InteractionStore       = (*Store)(nil)
	_ storage.AuthorizationCodeStore = (*Store)(nil)
	_ storage.PushedRequestStore     = (*Store)(nil)

	_ storage.DeviceAuthorizationStore = (*Store)(nil)

	_ storage.Limiter = (*Store)(nil)
)

// Store keeps clients, token records, replay entries, interactions,
// authorization codes, pushed authorization requests and device
// authorizations in memory, counts events for throttles and keeps the key
// sets of the token strategies. It implements
// [storage.ClientStore], [storage.TokenStore], [storage.RefreshTokenStore],
// [storage.ReplayStore], [storage.InteractionStore],
// [storage.AuthorizationCodeStore], [storage.PushedRequestStore],
// [storage.DeviceAuthorizationStore], [storage.Limiter],
// [storage.KeyStore] and [storage.LoginSessionStore], and is safe for
// concurrent use: reads do not block each other.
//
// Create one with [New]; the zero value is not usable.
type Store struct {
	now            func() time.Time
	sweepInterval  time.Duration
	grantRetention time.Duration

	clientsMu sync.RWMutex
	clients   map[string]*storage.Client

	keySetsMu sync.Mutex
	keySets   map[string]*storedKeySet

	// mu guards the token records, the grant index, the interning tables
	// and the token sweep schedule.
	mu     sync.RWMutex
	tokens map[string]slot
	grants map[string]*grant
	// revokedGrants holds the grants of s.grants that are revoked: the
	// markers a sweep checks for the end of their retention.
	revokedGrants map[string]*grant
	intern        interner
	nextSweep     time.Time

	// Largest sizes of the maps since they were last copied; see shrink.
	tokensPeak, grantsPeak, revokedPeak int

	replayMu        sync.Mutex
	replay          map[string]int64 // key -> expiry, Unix nanoseconds (clamped)
	replayNextSweep time.Time
	replayPeak      int

	// authMu guards the records of the authorization code flow, the
	// device authorizations and their sweep schedule.
	authMu        sync.RWMutex
	interactions  onceTable[storage.Interaction]
	codes         onceTable[storage.AuthorizationCode]
	pushed        onceTable[storage.PushedRequest]
	devices       *deviceTable
	authNextSweep time.Time

	sessions sessionTable

	limiterKeys int
	// limiter makes the store's Limiter at the first Take, which a
	// store that counts nothing does not need.
	limiter func() *Limiter
}

// Option configures a [Store].
type Option func(*Store)

// WithClock sets the clock the store reads to decide what has expired
// (tokens, replay entries, revoked-grant markers, interactions,
// authorization codes, pushed requests, device authorizations) and to time
// its sweeps; methods given a zero time read it too. The default is
// [time.Now]. A nil clock is ignored.
func WithClock(now func() time.Time) Option {
	return func(s *Store) {
		if now != nil {
			s.now = now
		}
	}
}

// Now returns the time on the store's clock (see [WithClock]). A
// validator of the resource package given the store and no clock reads
// it.
func (s *Store) Now() time.Time { return s.now() }

// WithSweepInterval sets how much store-clock time passes between two
// automatic sweeps of expired records; a write that finds a sweep due runs
// it. The default is [DefaultSweepInterval]. Zero or a negative duration
// switches automatic sweeping off: expired records then stay until
// [Store.DeleteExpired] is called.
func WithSweepInterval(d time.Duration) Option {
	return func(s *Store) { s.sweepInterval = d }
}

// WithRevokedGrantRetention sets how long a revoked grant is remembered
// after its revocation (measured from the later of the revocation time and
// the store clock at the call), once no token record of the grant is left.
// The default is [DefaultRevokedGrantRetention]. Negative durations count as
// zero.
//
// The marker exists so that tokens created for the grant after its
// revocation are stored revoked, as [storage.TokenStore] requires: a refresh
// that read its refresh token just before a reuse revoked the grant may
// write the new tokens just after. That window is one request long, so a
// day is a generous bound; keeping markers forever would let memory grow
// without limit.
func WithRevokedGrantRetention(d time.Duration) Option {
	return func(s *Store) { s.grantRetention = max(d, 0) }
}

// WithMaxInteractions bounds how many interactions the store holds:
// authorization requests waiting for the application's login and consent
// pages (RFC 6749 §4.1.1), which any browser can start without
// authenticating. The default is [DefaultMaxInteractions]; zero or a
// negative n keeps it.
//
// When a new interaction finds n stored, the store first deletes those
// that have expired or been completed (a completed interaction is then
// [storage.ErrNotFound] rather than returned with its CompletedAt; the
// Provider treats both alike, as an interaction that cannot be used). If
// n are still pending, [Store.CreateInteraction] stores nothing and returns
// an error wrapping [storage.ErrFull], and the Provider answers that
// authorization request with temporarily_unavailable (RFC 6749
// §4.1.2.1). Pending interactions are never evicted to make room: a
// login under way completes however many requests arrive meanwhile.
//
// A typical pending interaction takes about 650 bytes, so the default
// bound costs about 13 MB when full of them; the largest ones are as
// large as the authorization requests the Provider accepts: about 100 MiB
// for 20,000 requests of 4 KiB. Whatever the Provider accepts, the store
// refuses an interaction larger than [storage.MaxRecordBytes], so n of
// them never take more than about n times 65 KiB (1.3 GB at the
// default). Size n as the logins that may be started and left unfinished
// within one interaction lifetime (30 minutes by default), with room to
// spare.
func WithMaxInteractions(n int) Option {
	return func(s *Store) { s.interactions.max = orDefault(n, DefaultMaxInteractions) }
}

// WithMaxPushedRequests bounds how many pushed authorization requests
// (RFC 9126 §2) the store holds, as [WithMaxInteractions] bounds
// interactions: at the bound the expired and consumed ones are deleted
// first, and if none has, [Store.CreatePushedRequest] stores nothing and
// returns an error wrapping [storage.ErrFull]; stored requests are never
// evicted. The default is [DefaultMaxPushedRequests]; zero or a negative n
// keeps it. Pushed requests come from authenticated clients and live 90
// seconds by default; the default bound holds about 220 a second.
func WithMaxPushedRequests(n int) Option {
	return func(s *Store) { s.pushed.max = orDefault(n, DefaultMaxPushedRequests) }
}

// WithMaxDeviceAuthorizations bounds how many device authorizations (RFC
// 8628 §3.2) the store holds, as [WithMaxInteractions] bounds
// interactions: at the bound the expired and consumed ones are deleted
// first, and if none has, [Store.CreateDeviceAuthorization] stores nothing
// and returns an error wrapping [storage.ErrFull]; pending, approved and
// denied ones are never evicted before they expire, so a device that is
// polling learns the user's decision. The default is
// [DefaultMaxDeviceAuthorizations]; zero or a negative n keeps it.
//
// Any device can ask for a device authorization with a public client's
// ID, and each one lives as long as the expires_in of its response (RFC
// 8628 §3.2); at ten minutes the default bound holds about 33 new ones a
// second. A typical one takes a few hundred bytes, the largest
// [storage.MaxRecordBytes].
func WithMaxDeviceAuthorizations(n int) Option {
	return func(s *Store) { s.devices.max = orDefault(n, DefaultMaxDeviceAuthorizations) }
}

// orDefault returns n, or def when n is not positive.
func orDefault(n, def int) int {
	if n <= 0 {
		return def
	}
	return n
}

// WithLimiterKeys sets how many keys the store's [storage.Limiter] counts
// one by one (see [Store.Take] and [NewLimiter]). Zero or a negative n
// means [DefaultLimiterKeys].
func WithLimiterKeys(n int) Option {
	return func(s *Store) { s.limiterKeys = n }
}

// New returns an empty store.
func New(opts ...Option) *Store {
	s := &Store{
		now:            time.Now,
		sweepInterval:  DefaultSweepInterval,
		grantRetention: DefaultRevokedGrantRetention,
		clients:        make(map[string]*storage.Client),
		tokens:         make(map[string]slot),
		grants:         make(map[string]*grant),
		revokedGrants:  make(map[string]*grant),
		replay:         make(map[string]int64),
		interactions: onceTable[storage.Interaction]{what: "interaction", records: map[string]*storage.Interaction{},
			max:     DefaultMaxInteractions,
			clone:   cloneInteraction,
			strings: interactionStrings,
			check: func(i *storage.Interaction) error {
				return storage.CheckSize("memory: interaction", i.Size(), nil, i.Key)
			},
			key:     func(i *storage.Interaction) *string { return &i.Key },
			own:     func(i *storage.Interaction) { ownRequest(&i.Request) },
			used:    func(i *storage.Interaction) *time.Time { return &i.CompletedAt },
			expires: func(i *storage.Interaction) time.Time { return i.ExpiresAt }},
		codes: onceTable[storage.AuthorizationCode]{what: "authorization code", records: map[string]*storage.AuthorizationCode{},
			clone:   cloneAuthorizationCode,
			strings: codeStrings,
			check: func(c *storage.AuthorizationCode) error {
				n, err := c.Size()
				return storage.CheckSize("memory: authorization code", n, err, c.Key, c.GrantID)
			},
			key: func(c *storage.AuthorizationCode) *string { return &c.Key },
			own: func(c *storage.AuthorizationCode) {
				ownRequest(&c.Request)
				c.Extensions = cloneStrings(c.Extensions)
			},
			used:    func(c *storage.AuthorizationCode) *time.Time { return &c.ConsumedAt },
			expires: func(c *storage.AuthorizationCode) time.Time { return c.ExpiresAt }},
		pushed: onceTable[storage.PushedRequest]{what: "pushed request", records: map[string]*storage.PushedRequest{},
			max:     DefaultMaxPushedRequests,
			clone:   clonePushedRequest,
			strings: pushedStrings,
			check: func(r *storage.PushedRequest) error {
				return storage.CheckSize("memory: pushed request", r.Size(), nil, r.Key)
			},
			key:     func(r *storage.PushedRequest) *string { return &r.Key },
			own:     func(r *storage.PushedRequest) { ownRequest(&r.Request) },
			used:    func(r *storage.PushedRequest) *time.Time { return &r.ConsumedAt },
			expires: func(r *storage.PushedRequest) time.Time { return r.ExpiresAt }},
		devices: newDeviceTable(DefaultMaxDeviceAuthorizations),
	}
	for _, opt := range opts {
		if opt != nil {
			opt(s)
		}
	}
	s.limiter = sync.OnceValue(func() *Limiter { return NewLimiter(s.limiterKeys) })
	return s
}
