package token

import (
	"context"
	"errors"
	"slices"
	"time"
)

// MaxLeeway is the largest clock skew a JWTVerifier tolerates on exp, nbf
// and iat (RFC 7519 §4.1.4, §4.1.5: "a small leeway, usually no more than
// a few minutes").
const MaxLeeway = 5 * time.Minute

// Errors a JWTVerifier wraps together with ErrInvalid, so that a
// resource server can say why it refused a token in the error_description
// of its invalid_token answer (RFC 6750 §3.1). ErrUnknownKey and the
// structural failures (ErrInvalid alone) complete the list.
var (
	// ErrExpired means the current time is not before "exp", leeway
	// included (RFC 7519 §4.1.4).
	ErrExpired = errors.New("token: expired")
	// ErrNotYetValid means "nbf" or "iat" is later than the current time
	// plus the leeway (RFC 7519 §4.1.5, §4.1.6).
	ErrNotYetValid = errors.New("token: not yet valid")
	// ErrWrongIssuer means "iss" is not the expected issuer
	// (RFC 9068 §4; RFC 8414 §2).
	ErrWrongIssuer = errors.New("token: wrong issuer")
	// ErrWrongAudience means "aud" does not contain the resource server
	// (RFC 9068 §4; RFC 7519 §4.1.3).
	ErrWrongAudience = errors.New("token: wrong audience")
)

var (
	errExpired     = invalidKind("expired", ErrExpired)
	errNotYetValid = invalidKind("not yet valid (nbf or iat in the future)", ErrNotYetValid)
	errAudience    = invalidKind("audience does not include this resource server", ErrWrongAudience)
)

// JWTVerifierConfig configures a JWTVerifier: the trust anchors and
// expectations of RFC 9068 §4.
type JWTVerifierConfig struct {
	// Keys finds the public key of a token's "kid". Required: a
	// *RemoteKeys for the authorization server's jwks_uri, or the
	// authorization server's own *KeySet in the same process.
	Keys VerificationKeys
	// Issuer is the authorization server's issuer identifier, which
	// "iss" must equal exactly (RFC 9068 §4). Required.
	Issuer string
	// Audience is this resource server's identifier, which "aud" must
	// contain (RFC 9068 §4; RFC 8707 §2). Required.
	Audience string
	// Clock returns the current time; time.Now when nil.
	Clock func() time.Time
	// Leeway is the clock skew tolerated on exp, nbf and iat: zero by
	// default, at most MaxLeeway.
	Leeway time.Duration
}

// JWTVerifier validates JWT access tokens at a resource server as
// RFC 9068 §4 requires, with public keys only: it needs no private key,
// no storage and no Provider. It does not know about revocation; a
// resource server that must honour revocation before "exp" introspects
// (RFC 7662) instead.
//
// A JWTVerifier is safe for concurrent use.
type JWTVerifier struct {
	keys     VerificationKeys
	issuer   string
	audience string
	clock    func() time.Time
	leeway   time.Duration
}

// NewJWTVerifier returns a verifier of JWT access tokens (RFC 9068 §4),
// or an error when cfg.Keys, Issuer or
// Audience is missing or Leeway is negative or above MaxLeeway.
func NewJWTVerifier(cfg JWTVerifierConfig) (*JWTVerifier, error) {
	switch {
	case cfg.Keys == nil:
		return nil, errors.New("token: JWTVerifierConfig.Keys is required")
	case cfg.Issuer == "":
		return nil, errors.New("token: JWTVerifierConfig.Issuer is required (RFC 9068 §4)")
	case cfg.Audience == "":
		return nil, errors.New("token: JWTVerifierConfig.Audience is required (RFC 9068 §4)")
	case cfg.Leeway < 0 || cfg.Leeway > MaxLeeway:
		return nil, errors.New("token: JWTVerifierConfig.Leeway must be between 0 and 5 minutes")
	}
	if ks, ok := cfg.Keys.(*KeySet); ok && ks.load() == nil {
		return nil, errEmptyKeySet
	}
	clock := cfg.Clock
	if clock == nil {
		clock = time.Now
	}
	return &JWTVerifier{keys: cfg.Keys, issuer: cfg.Issuer, audience: cfg.Audience, clock: clock, leeway: cfg.Leeway}, nil
}

// Verify validates a JWT access token (RFC 9068 §4) and returns its
// claims; claims other than the registered ones land in Claims.Extra.
//
// It applies every rule of JWT.Parse (size, strict compact JWS, typ
// "at+jwt", a kid known to Keys, alg equal to the key's own algorithm,
// no crit, the signature, required claims of the right types, no
// duplicate members; RFC 9068 §4, RFC 8725 §3), then: "iss" equals Issuer
// (ErrWrongIssuer), "aud" contains Audience (ErrWrongAudience), the
// current time is before "exp" plus Leeway (ErrExpired), and neither
// "nbf" nor "iat" is after the current time plus Leeway (ErrNotYetValid).
// Every failure of the token wraps ErrInvalid, plus the sentinel named
// here or ErrUnknownKey, and never quotes the token. An error of Keys
// other than an unknown kid (a JWK Set that cannot be fetched) does not
// wrap ErrInvalid: the token may be fine, the check could not be done.
func (v *JWTVerifier) Verify(ctx context.Context, token string) (*Claims, error) {
	var t timeClaims
	c, err := verifyJWT(ctx, v.keys, token, v.issuer, true, &t)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(c.Audience, v.audience) {
		return nil, errAudience
	}
	now := v.clock()
	if !now.Before(time.Unix(t.exp, 0).Add(v.leeway)) {
		return nil, errExpired
	}
	late := now.Add(v.leeway)
	if time.Unix(t.iat, 0).After(late) || (t.hasNBF && time.Unix(t.nbf, 0).After(late)) {
		return nil, errNotYetValid
	}
	return c, nil
}
