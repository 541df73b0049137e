package oauth2

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/grantor-dev/grantor/internal/jose"
	"github.com/grantor-dev/grantor/internal/urlpolicy"
)

// JWTs of issuers the host application trusts: the subject and actor
// tokens of token exchange (RFC 8693 §2.1, token type
// urn:ietf:params:oauth:token-type:jwt) and the assertions of the JWT
// bearer grant (RFC 7523 §2.1). VerifyTrustedJWT applies the rules both
// share, in this order, cheapest first:
//
//  1. At most MaxTrustedJWTSize bytes, compact JWS serialization (no JWE,
//     no JSON serialization), header and claims JSON objects without
//     duplicate members, nested at most maxJSONDepth deep.
//  2. Header: alg accepted and asymmetric; no crit, b64, zip or enc; typ
//     not another kind of JWT; jwk, jku, x5u and x5c ignored.
//  3. Claims: types, exp required, nbf, iat, the lifetime bounds.
//  4. iss a trusted issuer, and the signature with one of its keys (one
//     refresh of its keys when none verifies).
//  5. Only then every claim is decoded into TrustedJWT.Claims.

var (
	// ErrUntrustedJWT is wrapped by every error of VerifyTrustedJWT for a
	// JWT that is not accepted (bad form, unknown issuer, bad signature,
	// expired, ...). Errors that do not wrap it are failures on our side
	// (the issuer's jwks_uri could not be fetched: those wrap
	// ErrJWKSFetch), which a grant answers with 503
	// temporarily_unavailable.
	ErrUntrustedJWT = errors.New("oauth2: JWT not accepted")

	// ErrUnknownIssuer is returned (wrapped is fine) by
	// TrustedIssuers.IssuerKeys for an issuer that is not trusted.
	ErrUnknownIssuer = errors.New("oauth2: issuer is not trusted")
)

// TrustedIssuers gives the public keys of the issuers whose JWTs the
// authorization server accepts as token exchange subject or actor tokens
// (RFC 8693 §2.1) and as JWT bearer assertions (RFC 7523 §2.1). A host
// application implements it to take issuers and keys from its own
// configuration or database, or uses [TrustedIssuerList].
//
// Only the keys it returns ever verify a JWT: keys named by the JWT itself
// (jwk, jku, x5u, x5c headers) are ignored (RFC 8725 §3.10). Return public
// signature keys only; private, symmetric and unusable keys are dropped
// anyway (symmetric algorithms are never accepted). Implementations must
// be safe for concurrent use.
type TrustedIssuers interface {
	// IssuerKeys returns the public signature keys of issuer, or an error
	// wrapping ErrUnknownIssuer. refresh asks for fresh keys after no key
	// verified a JWT (an unknown kid, or a signature that fails: the
	// issuer may have rotated its keys). Anyone can send such JWTs, so an
	// implementation must bound how often refresh fetches (JWKSFetcher:
	// once per MinRefetchInterval per URI).
	// Any other error means the keys could not be obtained (an outage):
	// VerifyTrustedJWT returns it without wrapping ErrUntrustedJWT.
	IssuerKeys(ctx context.Context, issuer string, refresh bool) (jwk.Set, error)
}

// TrustedIssuer is one entry of a TrustedIssuerList, in the JSON form of
// the example server's -trusted-issuers file:
// {"issuer": "...", "jwks": {"keys": [...]}} or
// {"issuer": "...", "jwks_uri": "..."}.
type TrustedIssuer struct {
	// Issuer is the issuer identifier, compared exactly with the iss
	// claim (RFC 7519 §4.1.1).
	Issuer string `json:"issuer"`
	// JWKS is the issuer's JWK Set document (RFC 7517 §5), public keys
	// only.
	JWKS json.RawMessage `json:"jwks,omitempty"`
	// JWKSURI is where the issuer publishes its JWK Set, an https URL
	// (RFC 8414 §2, jwks_uri).
	JWKSURI string `json:"jwks_uri,omitempty"`
}

// maxTrustedIssuerLength bounds an issuer identifier, in bytes.
const maxTrustedIssuerLength = 255

// trustedIssuerEntry is one issuer of a TrustedIssuerList.
type trustedIssuerEntry struct {
	issuer string
	// A static JWKS: the public signature keys, as a set and converted.
	set  jwk.Set
	keys []jose.Key
	// A jwks_uri, and the conversion of the last set the fetcher gave.
	uri      string
	mu       sync.Mutex
	lastSet  jwk.Set
	lastKeys []jose.Key
}

// TrustedIssuerList is the ready TrustedIssuers over a fixed list.
// Immutable, safe for concurrent use.
type TrustedIssuerList struct {
	order   []string
	byName  map[string]*trustedIssuerEntry
	fetcher *JWKSFetcher
}

// NewTrustedIssuerList validates the list: issuer non-empty (at most 255
// bytes, no control characters), unique; exactly one of JWKS or JWKSURI;
// a JWKS document ({"keys": [...]}, RFC 7517 §5) that parses, holds at
// least one usable public signature key and no private or symmetric key
// (the whole list is refused with an error that names the issuer and says
// "public keys only"); a JWKSURI that is https (RFC 8414 §2), or http when
// fetcher.AllowPrivateAddresses allows it. fetcher fetches jwks_uri sets;
// nil means a JWKSFetcher with its safe defaults (SSRF guards, cache,
// MinRefetchInterval), created once and kept.
func NewTrustedIssuerList(issuers []TrustedIssuer, fetcher *JWKSFetcher) (*TrustedIssuerList, error) {
	if fetcher == nil {
		fetcher = &JWKSFetcher{}
	} else if err := fetcher.Validate(); err != nil {
		return nil, fmt.Errorf("oauth2: trusted issuers: %w", err)
	}
	l := &TrustedIssuerList{
		order:   make([]string, 0, len(issuers)),
		byName:  make(map[string]*trustedIssuerEntry, len(issuers)),
		fetcher: fetcher,
	}
	for i, ti := range issuers {
		if err := checkIssuerIdentifier(ti.Issuer); err != nil {
			return nil, fmt.Errorf("oauth2: trusted issuer #%d: %w", i+1, err)
		}
		if _, dup := l.byName[ti.Issuer]; dup {
			return nil, fmt.Errorf("oauth2: trusted issuer %q is listed twice", ti.Issuer)
		}
		e := &trustedIssuerEntry{issuer: ti.Issuer}
		switch {
		case len(ti.JWKS) > 0 && ti.JWKSURI != "":
			return nil, fmt.Errorf("oauth2: trusted issuer %q: give jwks or jwks_uri, not both", ti.Issuer)
		case len(ti.JWKS) > 0:
			set, keys, err := staticIssuerKeys(ti.JWKS)
			if err != nil {
				return nil, fmt.Errorf("oauth2: trusted issuer %q: %w", ti.Issuer, err)
			}
			e.set, e.keys = set, keys
		case ti.JWKSURI != "":
			if err := checkIssuerJWKSURI(ti.JWKSURI, fetcher); err != nil {
				return nil, fmt.Errorf("oauth2: trusted issuer %q: %w", ti.Issuer, err)
			}
			e.uri = ti.JWKSURI
		default:
			return nil, fmt.Errorf("oauth2: trusted issuer %q: jwks or jwks_uri is required", ti.Issuer)
		}
		l.order = append(l.order, ti.Issuer)
		l.byName[ti.Issuer] = e
	}
	return l, nil
}

func checkIssuerIdentifier(iss string) error {
	if iss == "" {
		return errors.New("issuer is empty")
	}
	if len(iss) > maxTrustedIssuerLength {
		return errors.New("issuer is longer than 255 bytes")
	}
	for i := 0; i < len(iss); i++ {
		if c := iss[i]; c < 0x20 || c == 0x7f {
			return errors.New("issuer holds a control character")
		}
	}
	return nil
}

// staticIssuerKeys parses a JWKS document given inline. It refuses one
// holding a private or symmetric key: such a document was not meant to be
// published, and its keys are compromised or shared secrets (RFC 7517 §5,
// RFC 8725 §3.1).
func staticIssuerKeys(doc json.RawMessage) (jwk.Set, []jose.Key, error) {
	var shape struct {
		Keys json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(doc, &shape); err != nil || len(shape.Keys) == 0 {
		return nil, nil, errors.New(`jwks is not a JWK Set ({"keys": [...]})`)
	}
	parsed, err := jwk.Parse(doc)
	if err != nil {
		return nil, nil, errors.New("jwks does not parse as a JWK Set")
	}
	set := jwk.NewSet()
	for i := 0; i < parsed.Len(); i++ {
		k, _ := parsed.Key(i)
		// Private keys first: jwx's OKP private key also satisfies
		// jwk.OKPPublicKey.
		switch k.(type) {
		case jwk.RSAPrivateKey, jwk.ECDSAPrivateKey, jwk.OKPPrivateKey, jwk.SymmetricKey:
			return nil, nil, errors.New("jwks holds a private or symmetric key: public keys only")
		}
		if jose.IsPublicSignatureJWK(k) {
			_ = set.AddKey(k)
		}
	}
	keys := jose.PublicKeys(set)
	if len(keys) == 0 {
		return nil, nil, errors.New("jwks holds no usable public signature key")
	}
	return set, keys, nil
}

// checkIssuerJWKSURI accepts what fetcher will fetch: an https URL
// (urlpolicy.CheckTLS), or an http one when fetcher.AllowPrivateAddresses
// (tests, intranets).
func checkIssuerJWKSURI(raw string, fetcher *JWKSFetcher) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil {
		return errors.New("jwks_uri is not an absolute URL with a host and without user info")
	}
	if u.Scheme == "http" && fetcher.AllowPrivateAddresses {
		return nil
	}
	if u.Scheme != "https" || urlpolicy.CheckTLS(raw) != nil {
		return errors.New("jwks_uri must be an https URL (http only with JWKSFetcher.AllowPrivateAddresses)")
	}
	return nil
}

// IssuerKeys implements TrustedIssuers: it returns a copy of the
// issuer's static JWK Set, or the set at its jwks_uri through the
// JWKSFetcher (cached; refresh honoured at most once per
// MinRefetchInterval). An issuer not in the list is ErrUnknownIssuer; a
// fetch failure wraps ErrJWKSFetch.
func (l *TrustedIssuerList) IssuerKeys(ctx context.Context, issuer string, refresh bool) (jwk.Set, error) {
	e, ok := l.byName[issuer]
	if !ok {
		return nil, ErrUnknownIssuer
	}
	if e.set != nil {
		return e.set.Clone()
	}
	set, err := l.fetcher.KeySet(ctx, e.uri, refresh)
	if err != nil {
		return nil, err
	}
	return set.Clone()
}

// verificationKeys is IssuerKeys for VerifyTrustedJWT, without the copy,
// and with the keys already converted. refreshable reports whether a
// refresh could give other keys.
func (l *TrustedIssuerList) verificationKeys(ctx context.Context, issuer string, refresh bool) (keys []jose.Key, refreshable bool, err error) {
	e, ok := l.byName[issuer]
	if !ok {
		return nil, false, ErrUnknownIssuer
	}
	if e.set != nil {
		return e.keys, false, nil
	}
	set, err := l.fetcher.KeySet(ctx, e.uri, refresh)
	if err != nil {
		return nil, true, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.lastSet != set {
		e.lastSet, e.lastKeys = set, jose.PublicKeys(set)
	}
	return e.lastKeys, true, nil
}

// Issuers returns the issuer identifiers, in list order.
func (l *TrustedIssuerList) Issuers() []string {
	return append([]string(nil), l.order...)
}

// maxTrustedIssuersFile bounds ParseTrustedIssuers' input.
const maxTrustedIssuersFile = 1 << 20

// ParseTrustedIssuers decodes a JSON array of TrustedIssuer objects
// strictly: unknown members (names are matched exactly, not
// case-insensitively), trailing data and duplicate members, at any depth,
// are refused; at most 1 MiB. (Used by the example server's
// -trusted-issuers FILE.) It does not validate the entries:
// NewTrustedIssuerList does.
func ParseTrustedIssuers(data []byte) ([]TrustedIssuer, error) {
	if len(data) > maxTrustedIssuersFile {
		return nil, errors.New("oauth2: trusted issuers: larger than 1 MiB")
	}
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '[' {
		return nil, errors.New("oauth2: trusted issuers: not a JSON array")
	}
	var elems []json.RawMessage
	if err := json.Unmarshal(data, &elems); err != nil {
		return nil, errors.New("oauth2: trusted issuers: not a JSON array, or data after it")
	}
	out := make([]TrustedIssuer, 0, len(elems))
	for i, raw := range elems {
		var r jose.ObjectReader
		if r.Init(raw, maxJSONDepth) != nil {
			return nil, fmt.Errorf("oauth2: trusted issuers: entry #%d is not a JSON object (or nests too deep)", i+1)
		}
		for {
			name, v, ok, err := r.Next()
			if err != nil {
				return nil, fmt.Errorf("oauth2: trusted issuers: entry #%d has a duplicate member", i+1)
			}
			if !ok {
				break
			}
			switch string(name) {
			case "issuer", "jwks", "jwks_uri":
			default:
				return nil, fmt.Errorf("oauth2: trusted issuers: entry #%d has an unknown member %q", i+1, name)
			}
			if err := noDuplicateMembers(v); err != nil {
				return nil, fmt.Errorf("oauth2: trusted issuers: entry #%d, %s: %w", i+1, name, err)
			}
		}
		var ti TrustedIssuer
		if err := json.Unmarshal(raw, &ti); err != nil {
			return nil, fmt.Errorf("oauth2: trusted issuers: entry #%d: a member has the wrong type", i+1)
		}
		if bytes.Equal(bytes.TrimSpace(ti.JWKS), []byte("null")) {
			return nil, fmt.Errorf("oauth2: trusted issuers: entry #%d: jwks is null", i+1)
		}
		out = append(out, ti)
	}
	return out, nil
}

// noDuplicateMembers walks the valid JSON value v and refuses an object,
// at any depth, with a member name twice (RFC 8259 §4: names SHOULD be
// unique; we make it a MUST so that no two readers of the file disagree).
func noDuplicateMembers(v []byte) error {
	v = bytes.TrimSpace(v)
	if len(v) == 0 {
		return nil
	}
	switch v[0] {
	case '{':
		var r jose.ObjectReader
		if err := r.Init(v, 0); err != nil {
			return errors.New("not a JSON object")
		}
		for {
			_, member, ok, err := r.Next()
			if err != nil {
				return errors.New("duplicate member")
			}
			if !ok {
				return nil
			}
			if err := noDuplicateMembers(member); err != nil {
				return err
			}
		}
	case '[':
		var elems []json.RawMessage
		if err := json.Unmarshal(v, &elems); err != nil {
			return errors.New("not a JSON array")
		}
		for _, e := range elems {
			if err := noDuplicateMembers(e); err != nil {
				return err
			}
		}
	}
	return nil
}

// Defaults of VerifyTrustedJWT.
const (
	// DefaultTrustedJWTLeeway is the tolerated clock difference for exp,
	// nbf and iat (RFC 7519 §4.1.4-4.1.6: "some small leeway").
	DefaultTrustedJWTLeeway = 60 * time.Second
	// MaxTrustedJWTSize is the largest JWT VerifyTrustedJWT decodes, in
	// bytes (Authlib CVE-2025-61920); a longer one is refused unread.
	MaxTrustedJWTSize = 16 << 10
)

// maxTrustedJTILength bounds a required jti, in bytes.
const maxTrustedJTILength = 255

// maxTrustedKeyTrials bounds the signature verifications one JWT may
// cost per key set.
const maxTrustedKeyTrials = 4

// TrustedJWTOptions are the checks of VerifyTrustedJWT that differ by use.
type TrustedJWTOptions struct {
	// Now is the time of the check; required (a zero Now is an error not
	// wrapping ErrUntrustedJWT).
	Now time.Time
	// Leeway tolerates clock differences for exp, nbf and iat; zero means
	// DefaultTrustedJWTLeeway; negative is an error.
	Leeway time.Duration
	// Algorithms accepted; empty means ES256, PS256, EdDSA, RS256, ES384,
	// ES512, PS384, PS512, RS384, RS512 (every asymmetric one). A
	// symmetric algorithm or "none" here is an error (not wrapping
	// ErrUntrustedJWT): only asymmetric algorithms are ever accepted
	// (RFC 8725 §3.1).
	Algorithms []string
	// MaxLifetime, when positive, refuses a JWT whose exp is more than
	// MaxLifetime (+Leeway) after Now, or whose iat is more than that
	// before Now (RFC 7523 §3 items 4 and 6 let the server bound them; the
	// JWT bearer grant passes 10 min).
	MaxLifetime time.Duration
	// RequireJTI refuses a JWT without a non-empty jti (at most 255
	// bytes of UTF-8 without control characters, RFC 7519 §4.1.7): one
	// that a replay store is to keep.
	RequireJTI bool
}

// TrustedJWT is a JWT whose signature, issuer and lifetime
// VerifyTrustedJWT checked.
type TrustedJWT struct {
	// Issuer is the iss claim, a trusted issuer (RFC 7519 §4.1.1).
	Issuer string
	// Subject is the sub claim (RFC 7519 §4.1.2); it may be empty when
	// the JWT has no sub: callers decide whether they need it.
	Subject string
	// Audience is "aud" as a string or an array of strings (RFC 7519
	// §4.1.3); nil without aud.
	Audience []string
	// ID is the jti claim (RFC 7519 §4.1.7), "" without one.
	ID string
	// ExpiresAt is the exp claim (RFC 7519 §4.1.4).
	ExpiresAt time.Time
	// IssuedAt is the iat claim (RFC 7519 §4.1.6), zero without iat.
	IssuedAt time.Time
	// NotBefore is the nbf claim (RFC 7519 §4.1.5), zero without nbf.
	NotBefore time.Time
	// Type is the typ header (RFC 7515 §4.1.9), "" without one.
	Type string
	// Algorithm is the alg header (RFC 7515 §4.1.1).
	Algorithm string
	// Claims holds every claim of the payload, decoded with encoding/json
	// (numbers as json.Number), registered ones included; the caller's to
	// keep.
	Claims map[string]any
}

// untrusted returns an error wrapping ErrUntrustedJWT. reason must be a
// constant: nothing from the token goes into an error.
func untrusted(reason string) error {
	return fmt.Errorf("%w: %s", ErrUntrustedJWT, reason)
}

// trustedJWTOptions are the options resolved once per call.
type trustedJWTOptions struct {
	now         time.Time
	leeway      time.Duration
	algs        []string
	maxLifetime time.Duration
	requireJTI  bool
}

func resolveTrustedJWTOptions(o *TrustedJWTOptions) (trustedJWTOptions, error) {
	r := trustedJWTOptions{now: o.Now, leeway: o.Leeway, algs: o.Algorithms, maxLifetime: o.MaxLifetime, requireJTI: o.RequireJTI}
	if o.Now.IsZero() {
		return r, errors.New("oauth2: VerifyTrustedJWT: TrustedJWTOptions.Now is not set")
	}
	if err := o.Validate(); err != nil {
		return r, fmt.Errorf("oauth2: VerifyTrustedJWT: %w", err)
	}
	if o.Leeway == 0 {
		r.leeway = DefaultTrustedJWTLeeway
	}
	if len(o.Algorithms) == 0 {
		r.algs = asymmetricAlgs
	}
	return r, nil
}

// Validate reports options that VerifyTrustedJWT would refuse whatever the
// JWT, apart from Now: a negative Leeway or MaxLifetime, or an algorithm
// that is not an asymmetric JWS algorithm Grantor verifies (RFC 8725
// §3.1). A grant calls it when it is built, so that a typo fails at start,
// not at every request.
func (o *TrustedJWTOptions) Validate() error {
	if o.Leeway < 0 || o.MaxLifetime < 0 {
		return errors.New("TrustedJWTOptions: Leeway and MaxLifetime must not be negative")
	}
	for _, alg := range o.Algorithms {
		if !assertionAlgIn(asymmetricAlgs, alg) {
			return fmt.Errorf("TrustedJWTOptions.Algorithms: %q is not an asymmetric JWS algorithm", alg)
		}
	}
	return nil
}

// CheckTrustedIssuers reports a nil TrustedIssuers, a nil
// *TrustedIssuerList included, which VerifyTrustedJWT cannot use.
func CheckTrustedIssuers(issuers TrustedIssuers) error {
	if l, ok := issuers.(*TrustedIssuerList); issuers == nil || ok && l == nil {
		return errors.New("no TrustedIssuers (nil)")
	}
	return nil
}

// IsAccessToken reports whether the JWT is typed as an access token, typ
// at+jwt (RFC 9068 §2.1; RFC 7515 §4.1.9: compared case-insensitively,
// "application/" may be left out). An issuer that types its tokens lets a
// policy tell its access tokens, which may be presented again and again,
// from its assertions (typ JWT or none), which are used once.
func (j *TrustedJWT) IsAccessToken() bool {
	typ := j.Type
	if len(typ) > len("application/") && strings.EqualFold(typ[:len("application/")], "application/") {
		typ = typ[len("application/"):]
	}
	return strings.EqualFold(typ, "at+jwt")
}

// trustedToken is a parsed, not yet verified, JWT of a trusted issuer.
type trustedToken struct {
	jws jose.JWS

	alg, kid, typ string
	hasKID        bool

	iss, sub, jti string
	aud           []string
	exp, iat, nbf time.Time
	hasIAT        bool
	hasNBF        bool
	hasJTI        bool
}

// VerifyTrustedJWT verifies token as a JWT of one of issuers: compact JWS
// (RFC 7515 §7.1) of at most MaxTrustedJWTSize bytes, signed with an
// accepted asymmetric algorithm by a key of its iss, a trusted issuer
// (RFC 7519 §7.2, RFC 8725 §3.1, §3.10), within its lifetime (exp
// required; nbf and iat honoured, with opts.Leeway). Every refusal wraps
// ErrUntrustedJWT; an error that does not is a misconfiguration (opts) or
// an outage in issuers.IssuerKeys (for a TrustedIssuerList, a jwks_uri
// fetch failure, wrapping ErrJWKSFetch).
//
// It checks no audience, subject or replay: the grant does, with the
// returned TrustedJWT (RFC 7523 §3, RFC 8693 §2.1).
func VerifyTrustedJWT(ctx context.Context, issuers TrustedIssuers, token string, opts TrustedJWTOptions) (*TrustedJWT, error) {
	o, err := resolveTrustedJWTOptions(&opts)
	if err != nil {
		return nil, err
	}
	if err := CheckTrustedIssuers(issuers); err != nil {
		return nil, fmt.Errorf("oauth2: VerifyTrustedJWT: %w", err)
	}

	// Size first, nothing read beyond it, then the form (RFC 7515 §7.1;
	// Authlib CVE-2025-61920).
	c, err := jose.SplitCompact(token, MaxTrustedJWTSize)
	if err != nil {
		return nil, trustedSplitError(err)
	}
	var t trustedToken
	if t.jws, err = c.Decode(); err != nil {
		return nil, untrusted("not base64url")
	}
	if err := t.readHeader(); err != nil {
		return nil, err
	}
	// The algorithm allow-list (RFC 8725 §3.1-3.2).
	if !assertionAlgIn(o.algs, t.alg) {
		return nil, untrusted("alg is not accepted")
	}
	if err := t.readClaims(); err != nil {
		return nil, err
	}
	if err := t.checkClaims(&o); err != nil {
		return nil, err
	}

	// The issuer and the signature, with the issuer's keys only
	// (RFC 8725 §3.10, RFC 7523 §3 item 9).
	if err := verifyTrustedSignature(ctx, issuers, &t); err != nil {
		return nil, err
	}

	// Only a verified payload is decoded in full.
	claims := make(map[string]any)
	dec := json.NewDecoder(bytes.NewReader(t.jws.Payload))
	dec.UseNumber()
	if err := dec.Decode(&claims); err != nil {
		return nil, untrusted("claims do not decode")
	}
	return &TrustedJWT{
		Issuer:    t.iss,
		Subject:   t.sub,
		Audience:  t.aud,
		ID:        t.jti,
		ExpiresAt: t.exp,
		IssuedAt:  t.iat,
		NotBefore: t.nbf,
		Type:      t.typ,
		Algorithm: t.alg,
		Claims:    claims,
	}, nil
}

// trustedSplitError turns an error of jose.SplitCompact into a refusal.
func trustedSplitError(err error) error {
	switch err {
	case jose.ErrTooLong:
		return untrusted("longer than the maximum size")
	case jose.ErrEmptySegment:
		return untrusted("empty JWS header or payload")
	case jose.ErrUnsigned:
		return untrusted("unsigned JWS")
	case jose.ErrEncoding:
		return untrusted("not base64url")
	}
	// A JWE (five parts, RFC 7516 §7.1), the JSON serialization, a bare
	// header.payload.
	return untrusted("not a compact JWS")
}

// otherJWTTypes are the typ values of JWTs that are not meant as
// assertions or subject tokens; accepting one would let a token minted
// for another purpose be replayed here (RFC 8725 §3.11).
var otherJWTTypes = []string{
	"dpop+jwt",                  // RFC 9449 §4.2
	"client-authentication+jwt", // draft-ietf-oauth-rfc7523bis §4
	"logout+jwt",                // OIDC Back-Channel Logout §2.4
	"secevent+jwt",              // RFC 8417 §2.3
	"token-introspection+jwt",   // RFC 9701 §5
}

// acceptedTrustedType reports whether typ may head a trusted JWT:
// anything but the types of otherJWTTypes, compared case-insensitively
// with an optional "application/" prefix (RFC 7515 §4.1.9).
func acceptedTrustedType(typ string) bool {
	if len(typ) > len("application/") && strings.EqualFold(typ[:len("application/")], "application/") {
		typ = typ[len("application/"):]
	}
	for _, other := range otherJWTTypes {
		if strings.EqualFold(typ, other) {
			return false
		}
	}
	return true
}

func (t *trustedToken) readHeader() error {
	// The shared rules (RFC 7515 §4.1, RFC 8725 §3.1): alg, no crit, b64,
	// zip or enc; jwk, jku, x5u, x5c and x5t are never read: keys come from
	// the trusted issuer's set only (RFC 8725 §3.10).
	h, err := jose.ReadHeader(t.jws.Header, maxJSONDepth)
	if err != nil {
		return untrusted(jose.HeaderReason(err))
	}
	if h.HasTyp && !acceptedTrustedType(h.Typ) {
		return untrusted("typ header names another kind of JWT") // RFC 8725 §3.11
	}
	t.alg, t.kid, t.hasKID, t.typ = h.Alg, h.KID, h.HasKID, h.Typ
	return nil
}

// readClaims type-checks the registered claims in one pass (RFC 7519
// §4.1). Type errors are refusals.
func (t *trustedToken) readClaims() error {
	var r jose.ObjectReader
	if r.Init(t.jws.Payload, maxJSONDepth) != nil {
		return untrusted("claims is not a JSON object without duplicate members")
	}
	haveIss, haveExp := false, false
	for {
		name, v, ok, err := r.Next()
		if err != nil {
			return untrusted("claims is not a JSON object without duplicate members")
		}
		if !ok {
			break
		}
		switch string(name) {
		case "iss":
			if t.iss, err = jose.String(v); err != nil {
				return untrusted("iss claim is not a string")
			}
			haveIss = true
		case "sub":
			if t.sub, err = jose.String(v); err != nil {
				return untrusted("sub claim is not a string")
			}
		case "aud":
			if t.aud, err = jose.Strings(v); err != nil {
				return untrusted("aud claim is not a string or an array of strings")
			}
		case "jti":
			if t.jti, err = jose.String(v); err != nil {
				return untrusted("jti claim is not a string")
			}
			t.hasJTI = true
		case "exp":
			if t.exp, err = jose.NumericDateTime(v); err != nil {
				return untrusted("exp claim is not a NumericDate")
			}
			haveExp = true
		case "iat":
			if t.iat, err = jose.NumericDateTime(v); err != nil {
				return untrusted("iat claim is not a NumericDate")
			}
			t.hasIAT = true
		case "nbf":
			if t.nbf, err = jose.NumericDateTime(v); err != nil {
				return untrusted("nbf claim is not a NumericDate")
			}
			t.hasNBF = true
		}
	}
	if !haveIss || t.iss == "" {
		return untrusted("iss claim is missing")
	}
	if !haveExp {
		return untrusted("exp claim is missing") // RFC 7523 §3 item 4
	}
	return nil
}

// checkClaims applies the time rules (RFC 7519 §4.1.4-4.1.6, RFC 7523 §3
// items 4-6) and RequireJTI (RFC 7523 §3 item 7).
func (t *trustedToken) checkClaims(o *trustedJWTOptions) error {
	now, leeway := o.now, o.leeway
	if !now.Before(t.exp.Add(leeway)) {
		return untrusted("expired")
	}
	if o.maxLifetime > 0 && t.exp.After(now.Add(o.maxLifetime+leeway)) {
		return untrusted("exp is too far in the future")
	}
	if t.hasNBF && t.nbf.After(now.Add(leeway)) {
		return untrusted("nbf is in the future")
	}
	if t.hasIAT {
		if t.iat.After(now.Add(leeway)) {
			return untrusted("iat is in the future")
		}
		// A short-lived JWT (RFC 7523 §3 item 4-6) is also not an old one
		// with a late exp.
		if o.maxLifetime > 0 && t.iat.Before(now.Add(-o.maxLifetime-leeway)) {
			return untrusted("iat is too old")
		}
		if t.exp.Before(t.iat) {
			return untrusted("exp is before iat")
		}
	}
	if o.requireJTI && (t.jti == "" || len(t.jti) > maxTrustedJTILength || !validText(t.jti)) {
		// It is stored (a replay key): text only.
		return untrusted("jti claim is missing, empty, longer than 255 bytes or has control characters")
	}
	return nil
}

// verifyTrustedSignature finds the issuer's keys and verifies t's
// signature with them: selection by kid, the algorithm decided by each
// key (jose.VerifyWithKeys). When none verifies, the issuer's keys are
// asked for once more with refresh, in case it rotated them; the
// TrustedIssuers implementation bounds how often that fetches.
func verifyTrustedSignature(ctx context.Context, issuers TrustedIssuers, t *trustedToken) error {
	list, isList := issuers.(*TrustedIssuerList)
	keysOf := func(refresh bool) ([]jose.Key, bool, error) {
		if isList {
			return list.verificationKeys(ctx, t.iss, refresh)
		}
		set, err := issuers.IssuerKeys(ctx, t.iss, refresh)
		if err != nil {
			return nil, true, err
		}
		return jose.PublicKeys(set), true, nil
	}
	keysErr := func(err error) error {
		if errors.Is(err, ErrUnknownIssuer) {
			return fmt.Errorf("%w: %w", ErrUntrustedJWT, ErrUnknownIssuer)
		}
		return fmt.Errorf("oauth2: keys of a trusted issuer: %w", err)
	}

	keys, refreshable, err := keysOf(false)
	if err != nil {
		return keysErr(err)
	}
	if ok, err := t.verify(keys); err != nil || ok {
		return err
	}
	if refreshable {
		fresh, _, err := keysOf(true)
		if err != nil {
			return keysErr(err)
		}
		if !jose.SameKeys(keys, fresh) {
			if ok, err := t.verify(fresh); err != nil || ok {
				return err
			}
			keys = fresh
		}
	}
	if t.hasKID && !jose.HasKID(keys, t.kid) {
		return untrusted("no key of the issuer has the JWT's kid")
	}
	return untrusted("signature does not verify with any key of the issuer")
}

func (t *trustedToken) verify(keys []jose.Key) (bool, error) {
	ok, err := jose.VerifyWithKeys(keys, t.alg, t.kid, t.hasKID, t.jws.SigningInput, t.jws.Signature, maxTrustedKeyTrials)
	if err != nil {
		return false, untrusted("alg is not supported")
	}
	return ok, nil
}

// Compile-time check.
var _ TrustedIssuers = (*TrustedIssuerList)(nil)
