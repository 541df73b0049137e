package dpop

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jws"
)

// Defaults of Config. Without server nonces the iat claim is the only
// evidence of a proof's freshness (RFC 9449 §11.1): a proof is accepted
// for DefaultMaxAge after its iat, and an iat up to DefaultClockSkew
// ahead of the server's clock is tolerated, so that a client whose clock
// runs a little fast still gets through. Every jti is remembered for as
// long as its proof could be accepted.
const (
	// DefaultMaxAge is how old a proof's iat may be: 60 seconds.
	DefaultMaxAge = 60 * time.Second
	// DefaultClockSkew is how far ahead of the server's clock a proof's
	// iat may be: 5 seconds.
	DefaultClockSkew = 5 * time.Second
	// DefaultMaxProofSize is the longest DPoP header value read, in
	// bytes: room for a proof signed with a 4096-bit RSA key, the
	// largest accepted (about 2 KiB), even with an htu MaxURLLength long.
	DefaultMaxProofSize = 8 << 10
)

// ReplayMargin is how much longer than a proof's acceptance window, iat
// + MaxAge + ClockSkew, its jti is remembered in the ReplayStore (RFC
// 9449 §11.1): room for the clocks of the instances that share the store,
// and of the store itself, to differ by up to 30 seconds. An instance
// whose clock runs behind accepts a proof later, by its own clock, than
// the instance that first saw it; without the margin the jti could be
// forgotten by then, and the proof replayed there. Clocks further apart
// than the margin reopen that window: keep them synchronised (NTP).
const ReplayMargin = 30 * time.Second

// NoClockSkew, as Config.ClockSkew, tolerates no iat ahead of the
// server's clock, which the zero value of ClockSkew cannot say: zero
// means DefaultClockSkew.
const NoClockSkew time.Duration = -1

// Bounds on Config, against a configuration that would make proofs
// replayable for long or let one request cost much.
const (
	// MaxMaxAge is the largest MaxAge: 10 minutes.
	MaxMaxAge = 10 * time.Minute
	// MaxClockSkew is the largest ClockSkew: 5 minutes.
	MaxClockSkew = 5 * time.Minute
	// MaxMaxProofSize is the largest MaxProofSize: 64 KiB.
	MaxMaxProofSize = 64 << 10
)

// DefaultAlgorithms are the algorithms a Verifier accepts when
// Config.Algorithms is empty, in the order it advertises them (RFC 9449
// §5.1 dpop_signing_alg_values_supported, §7.1 algs).
var DefaultAlgorithms = []string{"ES256", "EdDSA", "RS256", "PS256"}

// supportedAlgorithms are every algorithm a Verifier can be configured
// with: the asymmetric JWS algorithms of RFC 7518 §3.1 and RFC 8037 §3.1.
// "none" (RFC 7518 §3.6) and the HMAC algorithms are not proofs of
// possession of a private key, and are never accepted (RFC 9449 §4.3
// step 5).
var supportedAlgorithms = []string{
	"ES256", "ES384", "ES512",
	"EdDSA",
	"RS256", "RS384", "RS512",
	"PS256", "PS384", "PS512",
}

// ReplayStore remembers the jti of proofs until they expire (RFC 9449
// §11.1). Its method set is that of Grantor's storage.ReplayStore, which
// therefore satisfies it, as does any store with the same contract:
// Remember records key until expiresAt; if key is already recorded and
// has not expired it returns an error that Config.IsReplay recognises; of
// many concurrent calls for one key exactly one returns nil.
type ReplayStore interface {
	Remember(ctx context.Context, key string, expiresAt time.Time) error
}

// Config configures a Verifier. Its zero value is not usable: Replay is
// required.
type Config struct {
	// Algorithms are the JWS algorithms accepted, in the order Algorithms
	// returns them. Empty means DefaultAlgorithms. Only asymmetric
	// algorithms can be listed (ES256, ES384, ES512, EdDSA, RS256, RS384,
	// RS512, PS256, PS384, PS512): "none", HS256 or any other name makes
	// NewVerifier fail.
	Algorithms []string

	// MaxAge is how old a proof's iat may be. Zero means DefaultMaxAge
	// (60 s); at most MaxMaxAge.
	MaxAge time.Duration
	// ClockSkew is how far in the future a proof's iat may be. Zero
	// means DefaultClockSkew (5 s); NoClockSkew means none, an iat after
	// the server's clock refusing the proof; at most MaxClockSkew.
	ClockSkew time.Duration
	// Clock returns the current time; time.Now when nil.
	Clock func() time.Time

	// Replay remembers each proof's jti, keyed by the proof's key and
	// jti, until its proof can no longer be accepted: until iat + MaxAge
	// + ClockSkew + ReplayMargin (RFC 9449 §11.1). Required: replay
	// protection is never off.
	Replay ReplayStore
	// IsReplay reports whether an error of Replay.Remember means the key
	// was already remembered, rather than that the store failed. Nil
	// means errors.Is(err, ErrReplayed). A host whose store returns
	// storage.ErrConsumed sets it to
	//
	//	func(err error) bool { return errors.Is(err, storage.ErrConsumed) }
	//
	// An error it does not recognise is returned by Verify as it is,
	// wrapped, and not as an *Error: the store failed, not the proof.
	IsReplay func(error) bool

	// Nonces, when not nil, makes the nonce claim required and checked
	// against it (RFC 9449 §8 at an authorization server, §9 at a
	// resource server): a proof without a valid nonce is refused with
	// CodeUseNonce and a fresh nonce. iat is checked with nonces too.
	// Nil means no server nonce. A host
	// that demands nonces at some endpoints only builds two Verifiers
	// that share Replay.
	Nonces *Nonces

	// MaxRSAKeyBits is the largest RSA modulus, in bits, of a proof's
	// jwk: a proof made up with a large key costs a slow signature check
	// (several times as much at 4096 bits as at 2048). Zero means the
	// package's MaxRSAKeyBits (4096); it can only be lowered, to
	// MinRSAKeyBits at least. RSA keys are used only when Algorithms
	// lists an RS or PS algorithm.
	MaxRSAKeyBits int

	// MaxProofSize is the longest DPoP header value accepted, checked
	// before anything is decoded. Zero means DefaultMaxProofSize (8 KiB);
	// at most MaxMaxProofSize.
	MaxProofSize int
}

// Verifier checks DPoP proofs (RFC 9449 §4.3). It is safe for concurrent
// use.
type Verifier struct {
	algs       []string
	maxAge     time.Duration
	skew       time.Duration
	clock      func() time.Time
	replay     ReplayStore
	isReplay   func(error) bool
	nonces     *Nonces
	maxSize    int
	keys       keyCache
	verifiers  map[string]jws.Verifier // by alg
	challenge  string                  // the WWW-Authenticate value without error
	replayTTL  time.Duration           // how long after iat a jti is remembered
	maxRSABits int
}

// NewVerifier returns a Verifier for cfg, or an error when cfg is unsafe
// or incomplete: no Replay, an algorithm that is not asymmetric or not
// supported, a duplicated algorithm, or a duration or size out of its
// bounds.
func NewVerifier(cfg Config) (*Verifier, error) {
	if cfg.Replay == nil {
		return nil, errors.New("dpop: Config.Replay is required (RFC 9449 §11.1)")
	}
	algs := cfg.Algorithms
	if len(algs) == 0 {
		algs = DefaultAlgorithms
	}
	for i, alg := range algs {
		if !slices.Contains(supportedAlgorithms, alg) {
			return nil, fmt.Errorf("dpop: Config.Algorithms: %q is not an asymmetric JWS algorithm this package supports (RFC 9449 §4.3 step 5)", alg)
		}
		if slices.Contains(algs[:i], alg) {
			return nil, fmt.Errorf("dpop: Config.Algorithms: %q is listed twice", alg)
		}
	}
	v := &Verifier{
		algs:       slices.Clone(algs),
		maxAge:     cfg.MaxAge,
		skew:       cfg.ClockSkew,
		clock:      cfg.Clock,
		replay:     cfg.Replay,
		isReplay:   cfg.IsReplay,
		nonces:     cfg.Nonces,
		maxSize:    cfg.MaxProofSize,
		maxRSABits: cfg.MaxRSAKeyBits,
	}
	switch {
	case v.maxAge < 0 || v.maxAge > MaxMaxAge:
		return nil, fmt.Errorf("dpop: Config.MaxAge must be between 0 and %v", MaxMaxAge)
	case v.maxAge == 0:
		v.maxAge = DefaultMaxAge
	}
	switch {
	case v.skew == NoClockSkew:
		v.skew = 0
	case v.skew < 0 || v.skew > MaxClockSkew:
		return nil, fmt.Errorf("dpop: Config.ClockSkew must be NoClockSkew or between 0 and %v", MaxClockSkew)
	case v.skew == 0:
		v.skew = DefaultClockSkew
	}
	switch {
	case v.maxSize < 0 || v.maxSize > MaxMaxProofSize:
		return nil, fmt.Errorf("dpop: Config.MaxProofSize must be between 0 and %d", MaxMaxProofSize)
	case v.maxSize == 0:
		v.maxSize = DefaultMaxProofSize
	}
	switch {
	case v.maxRSABits == 0:
		v.maxRSABits = MaxRSAKeyBits
	case v.maxRSABits < MinRSAKeyBits || v.maxRSABits > MaxRSAKeyBits:
		return nil, fmt.Errorf("dpop: Config.MaxRSAKeyBits must be between %d and %d", MinRSAKeyBits, MaxRSAKeyBits)
	}
	v.replayTTL = v.maxAge + v.skew + ReplayMargin
	if v.clock == nil {
		v.clock = time.Now
	}
	if v.isReplay == nil {
		v.isReplay = func(err error) bool { return errors.Is(err, ErrReplayed) }
	}
	v.verifiers = make(map[string]jws.Verifier, len(v.algs))
	for _, alg := range v.algs {
		jv, err := jws.NewVerifier(jwa.SignatureAlgorithm(alg))
		if err != nil {
			return nil, fmt.Errorf("dpop: Config.Algorithms: jwx cannot verify %q: %w", alg, err)
		}
		v.verifiers[alg] = jv
	}
	v.challenge = Challenge(v.algs, nil)
	return v, nil
}

// Algorithms returns the accepted algorithms, for the authorization
// server's dpop_signing_alg_values_supported (RFC 9449 §5.1) and a
// resource server's algs parameter (RFC 9449 §7.1). The caller may modify
// the returned slice.
func (v *Verifier) Algorithms() []string { return slices.Clone(v.algs) }

// Challenge returns the value of a WWW-Authenticate header for a resource
// server's 401 (RFC 9449 §7.1): the DPoP scheme with the Verifier's
// algorithms, and err's code and description when err is an *Error from
// Verify. See the package function Challenge.
func (v *Verifier) Challenge(err error) string {
	if err == nil {
		return v.challenge
	}
	return Challenge(v.algs, err)
}
