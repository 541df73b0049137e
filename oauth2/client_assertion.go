package oauth2

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/grantor-dev/grantor/internal/jose"
	"github.com/grantor-dev/grantor/storage"
)

// JWT client authentication: private_key_jwt and client_secret_jwt
// (RFC 7523 §2.2 and §3, OIDC Core §9, draft-ietf-oauth-rfc7523bis).
//
// Both authenticators share one verifier, verifyClientAssertion, which
// applies every rule below in this order, cheapest first:
//
//  0. The client is registered for the method, is not disabled, and is
//     the client the request names.
//  1. client_assertion_type is the JWT bearer URN (RFC 7523 §2.2).
//  2. The assertion is at most MaxClientAssertionSize bytes, in compact
//     JWS serialization (three base64url parts, no JWE, no JSON
//     serialization), and its header and claims are JSON objects without
//     duplicate members.
//  3. Header: alg is on the authenticator's allow-list and matches the
//     client's token_endpoint_auth_signing_alg; no crit, b64, cty, enc or
//     zip; typ absent, "JWT" or "client-authentication+jwt". jwk, jku,
//     x5c and x5u are ignored: keys come only from the registration.
//  4. Claims: iss = sub = client_id; aud is the issuer as a single string;
//     exp, iat, nbf within the lifetime and clock-skew bounds; jti present
//     and at most 256 bytes.
//  5. Signature, with a registered key whose type (and alg member, if any)
//     fits the header alg. The key decides which algorithms are possible,
//     never the header. A kid selects the keys that carry it (or, when no
//     registered key does, the keys without a kid); without a kid, every
//     fitting key is tried, at most maxKeyTrials of them.
//  6. Only then the jti is remembered in the replay store.

// MaxClientAssertionSize is the largest client_assertion (RFC 7521 §4.2),
// in bytes, that the JWT authenticators and [ClientAssertionSubject] parse
// (Authlib CVE-2025-61920). Longer assertions are rejected before any
// decoding.
const MaxClientAssertionSize = 16 << 10

// Defaults of the JWT client authenticators.
const (
	// DefaultAssertionMaxLifetime bounds how far in the future a client
	// assertion's exp may be, and how old its iat may be (RFC 7523 §3
	// items 4 and 6).
	DefaultAssertionMaxLifetime = 5 * time.Minute
	// DefaultAssertionClockSkew is the tolerated difference between the
	// client's clock and ours (RFC 7523 §3 item 5; FAPI 2.0 §5.3.2.1).
	DefaultAssertionClockSkew = 60 * time.Second
)

// TypeClientAuthenticationJWT is the explicit JWT type of a client
// assertion (draft-ietf-oauth-rfc7523bis §4, "typ" header).
const TypeClientAuthenticationJWT = "client-authentication+jwt"

const (
	maxJTILength = 256
	// maxKeyTrials bounds the signature verifications one assertion
	// without a kid may cost: a client that registers more keys than
	// this must send a kid.
	maxKeyTrials = 8
	// maxJSONDepth bounds nesting in header and claims (Authlib
	// CVE-2025-61920).
	maxJSONDepth = 16
	// replayKeyPrefix namespaces assertion jtis in the replay store.
	replayKeyPrefix = "client_assertion:"
)

var (
	// ErrClientAssertionInvalid is wrapped by every error that means the
	// presented client assertion does not authenticate the client
	// (RFC 7523 §3.2: answered with invalid_client). Errors from the
	// application's Key function or from the replay store are not
	// wrapped with it, so that an outage can be told from a bad
	// assertion.
	ErrClientAssertionInvalid = errors.New("oauth2: invalid client assertion")

	// ErrClientAssertionReplayed is wrapped, together with
	// ErrClientAssertionInvalid and storage.ErrConsumed, by the error for
	// an assertion whose jti was already used (RFC 7523 §3 item 7).
	ErrClientAssertionReplayed = errors.New("oauth2: client assertion replayed")
)

// asymmetricAlgs are the JWS algorithms private_key_jwt may ever use
// (RFC 7518 §3.1, RFC 8037 §3.1), in preference order.
var asymmetricAlgs = []string{"ES256", "PS256", "EdDSA", "RS256", "ES384", "ES512", "PS384", "PS512", "RS384", "RS512"}

// hmacAlgs are the JWS algorithms client_secret_jwt may ever use
// (RFC 7518 §3.2).
var hmacAlgs = []string{"HS256", "HS384", "HS512"}

var (
	defaultPrivateKeyJWTAlgs   = []string{"ES256", "PS256", "EdDSA", "RS256"}
	defaultClientSecretJWTAlgs = []string{"HS256"}
)

// PrivateKeyJWT authenticates clients registered with private_key_jwt: the
// client signs a JWT with a private key whose public part it registered,
// either inline (storage.Client.JWKS) or by URL (storage.Client.JWKSURI)
// (RFC 7523 §2.2 and §3, OIDC Core §9, draft-ietf-oauth-rfc7523bis §4).
//
// The zero value is safe but incomplete: Replay must be set, and
// [PrivateKeyJWT.Validate] reports it. A PrivateKeyJWT must not be copied
// after first use.
type PrivateKeyJWT struct {
	// Replay remembers each assertion's jti until it expires (RFC 7523 §3
	// item 7). Required: without it an assertion could be replayed until
	// exp, and AuthenticateClient refuses every assertion.
	Replay storage.ReplayStore

	// Algorithms are the JWS algorithms accepted, in the order the
	// metadata lists them. Empty means ES256, PS256, EdDSA, RS256. Only
	// asymmetric algorithms (RS*, PS*, ES*, EdDSA) are ever accepted:
	// "none" and HS* are refused by Validate and ignored by
	// AuthenticateClient. A client's TokenEndpointAuthSigningAlg narrows
	// the list further for that client.
	Algorithms []string

	// MaxLifetime bounds exp to at most MaxLifetime (plus ClockSkew)
	// after now, and iat, when present, to at most MaxLifetime (plus
	// ClockSkew) before now. Zero means DefaultAssertionMaxLifetime.
	MaxLifetime time.Duration

	// ClockSkew is the tolerance for exp in the past and iat or nbf in
	// the future. Zero means DefaultAssertionClockSkew (60 s).
	ClockSkew time.Duration

	// AllowEndpointAudience also accepts, as aud, the URL of the endpoint
	// being called (ClientAuthentication.Endpoint), as RFC 7523 §3 item 3
	// allowed before draft-ietf-oauth-rfc7523bis §4 restricted aud to the
	// issuer. Off by default; switch it on only for clients that cannot
	// be updated.
	AllowEndpointAudience bool

	// JWKSFetcher fetches the key sets of clients registered with a
	// jwks_uri. Nil means a fetcher with safe defaults (see
	// [JWKSFetcher]), created on first use and then kept.
	JWKSFetcher *JWKSFetcher

	fetcherOnce sync.Once
	fetcher     *JWKSFetcher

	// parsed caches the keys of registered JWKS documents, by content.
	parsedMu sync.RWMutex
	parsed   map[string][]jose.Key
}

// Method returns "private_key_jwt" (OIDC Core §9).
func (p *PrivateKeyJWT) Method() string { return AuthMethodPrivateKeyJWT }

// SigningAlgorithms returns the accepted algorithms, for the metadata's
// token_endpoint_auth_signing_alg_values_supported (RFC 8414 §2).
func (p *PrivateKeyJWT) SigningAlgorithms() []string {
	return assertionAlgs(p.Algorithms, defaultPrivateKeyJWTAlgs, asymmetricAlgs)
}

// Validate reports an unsafe or incomplete configuration: no replay store,
// an algorithm that is not asymmetric (RFC 8725 §3.1), a negative duration,
// or an invalid JWKSFetcher.
func (p *PrivateKeyJWT) Validate() error {
	if p.Replay == nil {
		return errors.New("oauth2: PrivateKeyJWT.Replay is required (RFC 7523 §3 item 7)")
	}
	for _, alg := range p.Algorithms {
		if !assertionAlgIn(asymmetricAlgs, alg) {
			return fmt.Errorf("oauth2: PrivateKeyJWT.Algorithms: %q is not an asymmetric JWS algorithm", alg)
		}
	}
	if err := validateAssertionDurations(p.MaxLifetime, p.ClockSkew); err != nil {
		return fmt.Errorf("oauth2: PrivateKeyJWT: %w", err)
	}
	if p.JWKSFetcher != nil {
		if err := p.JWKSFetcher.Validate(); err != nil {
			return fmt.Errorf("oauth2: PrivateKeyJWT.JWKSFetcher: %w", err)
		}
	}
	return nil
}

// AuthenticateClient verifies a.Assertion as a private_key_jwt assertion of
// client (RFC 7523 §3, OIDC Core §9). It returns nil only when the
// signature verifies under one of the client's registered keys, every claim
// is valid, and the jti had not been used.
func (p *PrivateKeyJWT) AuthenticateClient(ctx context.Context, client *storage.Client, a *ClientAuthentication) error {
	pol := assertionPolicy{
		method:      AuthMethodPrivateKeyJWT,
		algs:        p.SigningAlgorithms(),
		maxLifetime: p.MaxLifetime,
		skew:        p.ClockSkew,
		endpointAud: p.AllowEndpointAudience,
		replay:      p.Replay,
		keys:        p.clientKeys,
		keysByKID:   true,
	}
	return verifyClientAssertion(ctx, client, a, &pol)
}

func (p *PrivateKeyJWT) jwksFetcher() *JWKSFetcher {
	if p.JWKSFetcher != nil {
		return p.JWKSFetcher
	}
	p.fetcherOnce.Do(func() { p.fetcher = &JWKSFetcher{} })
	return p.fetcher
}

// clientKeys returns the client's registered verification keys. refresh
// asks for a fresh copy of a jwks_uri set; the second result reports
// whether the keys come from a set that a refresh could change.
func (p *PrivateKeyJWT) clientKeys(ctx context.Context, client *storage.Client, refresh bool) ([]jose.Key, bool, error) {
	switch {
	case len(client.JWKS) > 0 && client.JWKSURI != "":
		return nil, false, fmt.Errorf("%w: client registers both jwks and jwks_uri", ErrClientAssertionInvalid)
	case len(client.JWKS) > 0:
		if refresh {
			return nil, false, nil
		}
		keys, err := p.registeredKeys(client.JWKS)
		return keys, false, err
	case client.JWKSURI != "":
		set, err := p.jwksFetcher().KeySet(ctx, client.JWKSURI, refresh)
		if err != nil {
			return nil, true, fmt.Errorf("%w: %w", ErrClientAssertionInvalid, err)
		}
		return jose.PublicKeys(set), true, nil
	default:
		return nil, false, fmt.Errorf("%w: client has no registered keys", ErrClientAssertionInvalid)
	}
}

// maxParsedJWKS bounds PrivateKeyJWT's cache of parsed registered key
// sets; it is emptied when full.
const maxParsedJWKS = 1024

// registeredKeys returns the verification keys of a registered JWKS
// document, parsed once per distinct document.
func (p *PrivateKeyJWT) registeredKeys(doc []byte) ([]jose.Key, error) {
	p.parsedMu.RLock()
	keys, ok := p.parsed[string(doc)]
	p.parsedMu.RUnlock()
	if ok {
		return keys, nil
	}
	set, err := jwk.Parse(doc, jwk.WithIgnoreParseError(true))
	if err != nil {
		// The parser's message may quote the document: leave it out.
		return nil, assertionInvalid("the client's registered jwks does not parse")
	}
	keys = jose.PublicKeys(set)
	p.parsedMu.Lock()
	if p.parsed == nil || len(p.parsed) >= maxParsedJWKS {
		p.parsed = make(map[string][]jose.Key)
	}
	p.parsed[string(doc)] = keys
	p.parsedMu.Unlock()
	return keys, nil
}

// ClientSecretJWT authenticates clients registered with client_secret_jwt:
// the client MACs a JWT with its client secret (RFC 7523 §2.2 and §3,
// OIDC Core §9).
//
// HMAC needs the secret itself on both sides, while Grantor stores client
// secrets only as hashes (storage.Client.SecretHash), which is what makes
// a leaked client table harmless. The application therefore supplies the
// key through Key, from wherever it keeps secrets in usable form: a KMS,
// a secrets manager, an encrypted column. That store is then as sensitive
// as the secrets themselves; prefer private_key_jwt, which needs no shared
// secret at all, wherever clients can use it.
//
// The zero value is safe but incomplete: Replay and Key must be set, and
// [ClientSecretJWT.Validate] reports them.
type ClientSecretJWT struct {
	// Replay remembers each assertion's jti until it expires (RFC 7523 §3
	// item 7). Required.
	Replay storage.ReplayStore

	// Key returns the HMAC key of client: its client secret as bytes.
	// Required. A key shorter than the hash output of the algorithm (32
	// bytes for HS256, RFC 7518 §3.2) is refused. Its error is returned,
	// wrapped, from AuthenticateClient, so it must not contain the key.
	Key func(ctx context.Context, client *storage.Client) ([]byte, error)

	// Algorithms are the accepted algorithms. Empty means HS256. Only
	// HS256, HS384 and HS512 are ever accepted.
	Algorithms []string

	// MaxLifetime, ClockSkew and AllowEndpointAudience are as in
	// [PrivateKeyJWT].
	MaxLifetime           time.Duration
	ClockSkew             time.Duration
	AllowEndpointAudience bool
}

// Method returns "client_secret_jwt" (OIDC Core §9).
func (c *ClientSecretJWT) Method() string { return AuthMethodClientSecretJWT }

// SigningAlgorithms returns the accepted algorithms, for the metadata's
// token_endpoint_auth_signing_alg_values_supported (RFC 8414 §2).
func (c *ClientSecretJWT) SigningAlgorithms() []string {
	return assertionAlgs(c.Algorithms, defaultClientSecretJWTAlgs, hmacAlgs)
}

// Validate reports an unsafe or incomplete configuration: no replay store,
// no Key function, an algorithm other than HS256/HS384/HS512, or a negative
// duration.
func (c *ClientSecretJWT) Validate() error {
	if c.Replay == nil {
		return errors.New("oauth2: ClientSecretJWT.Replay is required (RFC 7523 §3 item 7)")
	}
	if c.Key == nil {
		return errors.New("oauth2: ClientSecretJWT.Key is required")
	}
	for _, alg := range c.Algorithms {
		if !assertionAlgIn(hmacAlgs, alg) {
			return fmt.Errorf("oauth2: ClientSecretJWT.Algorithms: %q is not HS256, HS384 or HS512", alg)
		}
	}
	if err := validateAssertionDurations(c.MaxLifetime, c.ClockSkew); err != nil {
		return fmt.Errorf("oauth2: ClientSecretJWT: %w", err)
	}
	return nil
}

// AuthenticateClient verifies a.Assertion as a client_secret_jwt assertion
// of client (RFC 7523 §3, OIDC Core §9).
func (c *ClientSecretJWT) AuthenticateClient(ctx context.Context, client *storage.Client, a *ClientAuthentication) error {
	pol := assertionPolicy{
		method:      AuthMethodClientSecretJWT,
		algs:        c.SigningAlgorithms(),
		maxLifetime: c.MaxLifetime,
		skew:        c.ClockSkew,
		endpointAud: c.AllowEndpointAudience,
		replay:      c.Replay,
		keys:        c.clientKeys,
	}
	return verifyClientAssertion(ctx, client, a, &pol)
}

func (c *ClientSecretJWT) clientKeys(ctx context.Context, client *storage.Client, refresh bool) ([]jose.Key, bool, error) {
	if refresh {
		return nil, false, nil
	}
	if c.Key == nil {
		return nil, false, errors.New("oauth2: ClientSecretJWT.Key is not set")
	}
	key, err := c.Key(ctx, client)
	if err != nil {
		return nil, false, StorageError("client authentication could not be completed",
			fmt.Errorf("oauth2: client_secret_jwt key: %w", err))
	}
	if len(key) < 32 {
		// RFC 7518 §3.2; HS384 and HS512 need 48 and 64 bytes.
		return nil, false, assertionInvalid("the client's client_secret_jwt key is shorter than 32 bytes")
	}
	return []jose.Key{jose.HMACKey(key)}, false, nil
}

// ClientAssertionSubject returns the client a client assertion claims to
// come from, its "sub" claim, or "iss" when there is no "sub" (RFC 7523
// §3 items 1 and 2), so that the Provider can look the client up when a
// request carries a client_assertion but no client_id (RFC 7521 §4.2).
//
// THE RESULT IS UNTRUSTED. The assertion is decoded without verifying
// anything: its signature, audience and lifetime are unchecked. Use the
// result only to find which client's authenticator to run, never as the
// authenticated client; the authenticator then checks that iss and sub
// both equal the client's ID.
func ClientAssertionSubject(assertion string) (string, error) {
	if len(assertion) > MaxClientAssertionSize {
		return "", fmt.Errorf("%w: longer than %d bytes", ErrClientAssertionInvalid, MaxClientAssertionSize)
	}
	c, err := jose.SplitCompact(assertion, MaxClientAssertionSize)
	if err != nil {
		return "", assertionSplitError(err)
	}
	// Only the claims are read: the header and signature are not needed
	// to name the client, and are not decoded.
	claims, err := jose.DecodeSegment(c.Payload())
	if err != nil {
		return "", assertionInvalid("claims is not base64url")
	}
	var sub, iss []byte
	var r jose.ObjectReader
	err = r.Init(claims, maxJSONDepth)
	for err == nil {
		var name, v []byte
		var ok bool
		if name, v, ok, err = r.Next(); !ok {
			break
		}
		switch string(name) {
		case "sub":
			sub = v
		case "iss":
			iss = v
		}
	}
	if err != nil {
		return "", assertionInvalid("claims is not a JSON object without duplicate members")
	}
	for _, m := range [...]struct {
		name string
		raw  []byte
	}{{"sub", sub}, {"iss", iss}} {
		if m.raw == nil {
			continue
		}
		s, err := jose.String(m.raw)
		if err != nil || s == "" {
			return "", fmt.Errorf("%w: %s is not a non-empty string", ErrClientAssertionInvalid, m.name)
		}
		return s, nil
	}
	return "", fmt.Errorf("%w: no sub or iss claim", ErrClientAssertionInvalid)
}

// assertionPolicy is what differs between the two authenticators.
type assertionPolicy struct {
	method      string
	algs        []string
	maxLifetime time.Duration
	skew        time.Duration
	endpointAud bool
	replay      storage.ReplayStore
	// keys returns the client's verification keys; see
	// PrivateKeyJWT.clientKeys.
	keys func(ctx context.Context, client *storage.Client, refresh bool) ([]jose.Key, bool, error)
	// keysByKID selects keys by the header's kid. client_secret_jwt has
	// one key and ignores kid.
	keysByKID bool
}

// assertionInvalid returns an error wrapping ErrClientAssertionInvalid.
// reason must be a constant: nothing from the assertion goes into an error
// (Keycloak GHSA-qgmm-f2qw-r95f).
func assertionInvalid(reason string) error {
	return fmt.Errorf("%w: %s", ErrClientAssertionInvalid, reason)
}

// verifyClientAssertion implements RFC 7523 §3 for both authenticators.
func verifyClientAssertion(ctx context.Context, client *storage.Client, a *ClientAuthentication, pol *assertionPolicy) error {
	// Configuration and caller errors first: never a silent no-op.
	if pol.replay == nil {
		return errors.New("oauth2: " + pol.method + ": no replay store configured")
	}
	if client == nil || a == nil {
		return errors.New("oauth2: " + pol.method + ": nil client or authentication")
	}
	if a.Now.IsZero() {
		return errors.New("oauth2: " + pol.method + ": ClientAuthentication.Now is not set")
	}
	if a.Issuer == "" {
		return errors.New("oauth2: " + pol.method + ": ClientAuthentication.Issuer is not set")
	}
	maxLifetime, skew := pol.maxLifetime, pol.skew
	if maxLifetime <= 0 {
		maxLifetime = DefaultAssertionMaxLifetime
	}
	if skew <= 0 {
		skew = DefaultAssertionClockSkew
	}

	// The client.
	if client.AuthMethod() != pol.method {
		return assertionInvalid("client is not registered for " + pol.method)
	}
	if client.Disabled {
		return assertionInvalid("client is disabled")
	}
	if client.ID == "" || a.ClientID != client.ID {
		return assertionInvalid("client_id does not match the client")
	}

	// The assertion type (RFC 7521 §4.2, RFC 7523 §2.2).
	if a.AssertionType != ClientAssertionTypeJWTBearer {
		return assertionInvalid("client_assertion_type is not " + ClientAssertionTypeJWTBearer)
	}
	if a.Assertion == "" {
		return assertionInvalid("client_assertion is missing")
	}

	// Size (Authlib CVE-2025-61920), serialization (RFC 7515 §7.1), strict
	// JSON (RFC 7515 §5.2, RFC 7519 §4).
	jwt, err := parseClientAssertion(a.Assertion)
	if err != nil {
		return err
	}

	// The algorithm allow-list, narrowed by the client (RFC 8725 §3.1-3.2).
	if !assertionAlgIn(pol.algs, jwt.alg) {
		return assertionInvalid("alg is not accepted")
	}
	if client.TokenEndpointAuthSigningAlg != "" && jwt.alg != client.TokenEndpointAuthSigningAlg {
		return assertionInvalid("alg is not the client's token_endpoint_auth_signing_alg")
	}

	// iss = sub = client_id (RFC 7523 §3 items 1-2).
	if jwt.iss != client.ID {
		return assertionInvalid("iss is not the client_id")
	}
	if jwt.sub != client.ID {
		return assertionInvalid("sub is not the client_id")
	}
	// aud is the issuer, as a string (rfc7523bis §4).
	if jwt.aud != a.Issuer && (!pol.endpointAud || a.Endpoint == "" || jwt.aud != a.Endpoint) {
		return assertionInvalid("aud is not the issuer identifier")
	}
	// Lifetime (RFC 7523 §3 items 4-6).
	now := a.Now
	if !now.Before(jwt.exp.Add(skew)) {
		return assertionInvalid("expired")
	}
	if jwt.exp.After(now.Add(maxLifetime + skew)) {
		return assertionInvalid("exp is too far in the future")
	}
	if jwt.hasNBF && jwt.nbf.After(now.Add(skew)) {
		return assertionInvalid("nbf is in the future")
	}
	if jwt.hasIAT {
		if jwt.iat.After(now.Add(skew)) {
			return assertionInvalid("iat is in the future")
		}
		if jwt.iat.Before(now.Add(-maxLifetime - skew)) {
			return assertionInvalid("iat is too old")
		}
		if jwt.exp.Before(jwt.iat) {
			return assertionInvalid("exp is before iat")
		}
	}

	// The signature, with registered keys only (RFC 7523 §3 item 9;
	// RFC 8725 §3.1, §3.10).
	if err := verifyAssertionSignature(ctx, client, jwt, pol); err != nil {
		return err
	}

	// Use once (RFC 7523 §3 item 7). Only a verified assertion may burn its
	// jti. The entry outlives the last instant the assertion is accepted.
	key := assertionReplayKey(client.ID, jwt.jti)
	if err := pol.replay.Remember(ctx, key, jwt.exp.Add(skew)); err != nil {
		if errors.Is(err, storage.ErrConsumed) {
			return fmt.Errorf("%w: %w: %w", ErrClientAssertionInvalid, ErrClientAssertionReplayed, storage.ErrConsumed)
		}
		// An outage, not a bad assertion: it surfaces as one, not as
		// invalid_client.
		return StorageError("client authentication could not be completed",
			fmt.Errorf("oauth2: %s: replay store: %w", pol.method, err))
	}
	return nil
}

// assertionReplayKey namespaces jti by client. The ID is length-prefixed so
// that no (client, jti) pair can collide with another when either holds ':'.
func assertionReplayKey(clientID, jti string) string {
	return replayKeyPrefix + strconv.Itoa(len(clientID)) + ":" + clientID + ":" + jti
}

func verifyAssertionSignature(ctx context.Context, client *storage.Client, jwt *clientAssertion, pol *assertionPolicy) error {
	keys, refreshable, err := pol.keys(ctx, client, false)
	if err != nil {
		return err
	}
	ok, err := tryAssertionKeys(keys, jwt, pol)
	if err != nil || ok {
		return err
	}
	if refreshable {
		// The client may have rotated its keys since we cached them. The
		// fetcher rate-limits forced refreshes per URI (RFC 7591 §2,
		// FAPI 2.0 §5.4.2).
		fresh, _, err := pol.keys(ctx, client, true)
		if err != nil {
			return err
		}
		if !jose.SameKeys(keys, fresh) {
			if ok, err = tryAssertionKeys(fresh, jwt, pol); err != nil || ok {
				return err
			}
		}
	}
	if pol.keysByKID && jwt.hasKID && !jose.HasKID(keys, jwt.kid) {
		return assertionInvalid("no registered key has the assertion's kid")
	}
	return assertionInvalid("signature does not verify with any registered key")
}

// tryAssertionKeys verifies jwt with each registered key that may verify
// it, at most maxKeyTrials of them (jose.VerifyWithKeys).
func tryAssertionKeys(keys []jose.Key, jwt *clientAssertion, pol *assertionPolicy) (bool, error) {
	ok, err := jose.VerifyWithKeys(keys, jwt.alg, jwt.kid, pol.keysByKID && jwt.hasKID,
		jwt.signingInput, jwt.signature, maxKeyTrials)
	if err != nil {
		return false, assertionInvalid("alg is not supported")
	}
	return ok, nil
}

// clientAssertion is a parsed, not yet verified, client assertion.
type clientAssertion struct {
	signingInput []byte
	signature    []byte

	alg    string
	kid    string
	hasKID bool

	iss, sub, aud, jti string
	exp, iat, nbf      time.Time
	hasIAT, hasNBF     bool
}

// assertionSplitError turns an error of jose.SplitCompact into one that
// wraps ErrClientAssertionInvalid (RFC 7515 §7.1; RFC 8725 §3.1; Authlib
// CVE-2025-61920).
func assertionSplitError(err error) error {
	switch err {
	case jose.ErrTooLong:
		return assertionInvalid("longer than the maximum size")
	case jose.ErrEmptySegment:
		return assertionInvalid("empty JWS header or payload")
	case jose.ErrUnsigned:
		return assertionInvalid("unsigned JWS")
	case jose.ErrEncoding:
		return assertionInvalid("not base64url")
	}
	// A JWE (five parts), the JSON serialization, a bare header.payload.
	return assertionInvalid("not a compact JWS")
}

// parseClientAssertion decodes an assertion and type-checks its header and
// claims (RFC 7515 §4, RFC 7519 §4, RFC 7523 §3). It verifies nothing.
// Size, serialization and strict base64url are jose.SplitCompact's rules
// (Authlib CVE-2025-61920); header and claims are JSON objects without
// duplicate members (RFC 7515 §5.2) nested at most maxJSONDepth deep.
func parseClientAssertion(s string) (*clientAssertion, error) {
	c, err := jose.SplitCompact(s, MaxClientAssertionSize)
	if err != nil {
		return nil, assertionSplitError(err)
	}
	jws, err := c.Decode()
	if err != nil {
		return nil, assertionInvalid("not base64url")
	}
	jwt := &clientAssertion{signingInput: jws.SigningInput, signature: jws.Signature}
	if err := jwt.readHeader(jws.Header); err != nil {
		return nil, err
	}
	if err := jwt.readClaims(jws.Payload); err != nil {
		return nil, err
	}
	return jwt, nil
}

func (jwt *clientAssertion) readHeader(b []byte) error {
	// The shared rules (RFC 7515 §4.1, RFC 8725 §3.1): alg, no crit, b64,
	// zip or enc; jwk, jku, x5c, x5u and x5t are never read: keys come from
	// the client's registration only (RFC 7523 §3 item 9, RFC 8725 §3.10).
	h, err := jose.ReadHeader(b, maxJSONDepth)
	if err != nil {
		return assertionInvalid(jose.HeaderReason(err))
	}
	if h.HasCty {
		// A nested JWT is not a client assertion.
		return assertionInvalid("cty header is not accepted")
	}
	if h.HasTyp && !acceptedAssertionType(h.Typ) {
		return assertionInvalid("typ header names another kind of JWT") // RFC 8725 §3.11
	}
	jwt.alg, jwt.kid, jwt.hasKID = h.Alg, h.KID, h.HasKID
	return nil
}

// acceptedAssertionType reports whether typ may head a client assertion
// (draft-ietf-oauth-rfc7523bis §4; RFC 7515 §4.1.9: compared
// case-insensitively, "application/" may be omitted).
func acceptedAssertionType(typ string) bool {
	if len(typ) > len("application/") && strings.EqualFold(typ[:len("application/")], "application/") {
		typ = typ[len("application/"):]
	}
	return strings.EqualFold(typ, "JWT") || strings.EqualFold(typ, TypeClientAuthenticationJWT)
}

func (jwt *clientAssertion) readClaims(c []byte) error {
	var r jose.ObjectReader
	if r.Init(c, maxJSONDepth) != nil {
		return assertionInvalid("claims is not a JSON object without duplicate members")
	}
	const (
		hIss = 1 << iota
		hSub
		hAud
		hJti
		hExp
	)
	have := 0
	for {
		name, v, ok, err := r.Next()
		if err != nil {
			return assertionInvalid("claims is not a JSON object without duplicate members")
		}
		if !ok {
			break
		}
		switch string(name) {
		case "iss":
			have |= hIss
			if jwt.iss, err = jose.String(v); err != nil {
				return assertionInvalid("iss claim is not a string")
			}
		case "sub":
			have |= hSub
			if jwt.sub, err = jose.String(v); err != nil {
				return assertionInvalid("sub claim is not a string")
			}
		case "aud":
			have |= hAud
			if jwt.aud, err = jose.String(v); err != nil {
				// rfc7523bis §4: aud as an array, even of one string,
				// is refused.
				return assertionInvalid("aud claim is not a string")
			}
		case "jti":
			have |= hJti
			if jwt.jti, err = jose.String(v); err != nil {
				return assertionInvalid("jti claim is not a string")
			}
		case "exp":
			have |= hExp
			if jwt.exp, err = jose.NumericDateTime(v); err != nil {
				return assertionInvalid("exp claim is not a NumericDate")
			}
		case "iat":
			if jwt.iat, err = jose.NumericDateTime(v); err != nil {
				return assertionInvalid("iat claim is not a NumericDate")
			}
			jwt.hasIAT = true
		case "nbf":
			if jwt.nbf, err = jose.NumericDateTime(v); err != nil {
				return assertionInvalid("nbf claim is not a NumericDate")
			}
			jwt.hasNBF = true
		}
	}
	switch {
	case have&hIss == 0:
		return assertionInvalid("iss claim is missing")
	case have&hSub == 0:
		return assertionInvalid("sub claim is missing")
	case have&hAud == 0:
		return assertionInvalid("aud claim is missing")
	case have&hJti == 0:
		return assertionInvalid("jti claim is missing")
	case jwt.jti == "" || len(jwt.jti) > maxJTILength:
		return assertionInvalid("jti claim is empty or too long")
	case have&hExp == 0:
		return assertionInvalid("exp claim is missing")
	}
	return nil
}

// assertionAlgs returns configured (or def when empty) restricted to the
// algorithms in allowed, as a new slice.
func assertionAlgs(configured, def, allowed []string) []string {
	if len(configured) == 0 {
		configured = def
	}
	algs := make([]string, 0, len(configured))
	for _, alg := range configured {
		if assertionAlgIn(allowed, alg) && !assertionAlgIn(algs, alg) {
			algs = append(algs, alg)
		}
	}
	return algs
}

func validateAssertionDurations(maxLifetime, skew time.Duration) error {
	if maxLifetime < 0 {
		return errors.New("MaxLifetime is negative")
	}
	if skew < 0 {
		return errors.New("ClockSkew is negative")
	}
	return nil
}

func assertionAlgIn(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
