package token

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/grantor-dev/grantor/internal/jose"
)

// MaxJWTLength is the longest JWT access token, in bytes, that JWT parses.
// Longer input is rejected before any decoding (Authlib CVE-2025-61920);
// MintAccessToken
// refuses to mint a longer token.
const MaxJWTLength = 8 << 10

// atJWTType is the "typ" header of an RFC 9068 access token (§2.1).
const atJWTType = "at+jwt"

// jtiBytes is the number of random bytes in a generated "jti": 192 bits.
const jtiBytes = 24

// ErrReservedClaim is returned by MintAccessToken when Claims.Extra names
// a claim that the strategy sets itself or that the Provider owns: iss,
// sub, aud, exp, nbf, iat, jti, client_id, scope or cnf.
var ErrReservedClaim = errors.New("token: Extra sets a reserved claim")

// reservedClaims may not appear in Claims.Extra.
var reservedClaims = map[string]bool{
	"iss": true, "sub": true, "aud": true, "exp": true, "nbf": true,
	"iat": true, "jti": true, "client_id": true, "scope": true, "cnf": true,
}

// IsReservedClaim reports whether name is a claim that Claims.Extra may
// not set, in any token format: the registered claims of RFC 9068 §2.2
// and the confirmation claim of RFC 7800.
func IsReservedClaim(name string) bool { return reservedClaims[name] }

// JWTConfig configures a JWT access-token strategy.
type JWTConfig struct {
	// Keys sign new tokens, verify presented ones and give the JWK Set
	// to publish. Required. A *KeySet is the in-memory default; a host
	// application with its keys in a KMS passes its own KeySource.
	Keys KeySource
	// Issuer, when set, is the "iss" of every token: MintAccessToken uses
	// it when Claims.Issuer is empty and refuses a different one, and
	// AccessTokenKey and Parse reject a token with another "iss".
	Issuer string
	// Rand is the source of generated "jti" values; crypto/rand when nil.
	// Signatures always use crypto/rand.
	Rand io.Reader
}

// JWT mints and verifies JWT access tokens as profiled by RFC 9068. Its
// storage key is the token's "jti", so that JWT access tokens stay
// revocable and introspectable, where RFC 7009 §2.2.1 would let a server
// refuse them as unsupported_token_type.
//
// A JWT is safe for concurrent use.
type JWT struct {
	keys   KeySource
	issuer string
	rand   io.Reader
}

var (
	_ AccessTokenStrategy = (*JWT)(nil)
	_ KeyPublisher        = (*JWT)(nil)
)

// NewJWT returns a JWT access-token strategy. It is an error when
// cfg.Keys is nil, or is a KeySet without a signing key. Another
// KeySource is not called here: its errors surface when minting.
func NewJWT(cfg JWTConfig) (*JWT, error) {
	switch ks := cfg.Keys.(type) {
	case nil:
		return nil, errors.New("token: JWTConfig.Keys is required")
	case *KeySet:
		st := ks.load()
		if st == nil || st.signing == nil || st.signing.signer == nil {
			return nil, errors.New("token: JWTConfig.Keys has no signing key")
		}
	}
	return &JWT{keys: cfg.Keys, issuer: cfg.Issuer, rand: cfg.Rand}, nil
}

// PublicKeys returns the published verification keys (RFC 7517 §5): a
// new set the caller may modify, empty when the KeySource fails.
func (j *JWT) PublicKeys() jwk.Set {
	if ks, ok := j.keys.(*KeySet); ok {
		return ks.PublicKeys()
	}
	b, err := j.keys.JWKS()
	if err != nil {
		return jwk.NewSet()
	}
	set, err := jwk.Parse(b)
	if err != nil {
		return jwk.NewSet()
	}
	return set
}

// JWKS returns the encoded JWK Set to serve at jwks_uri (RFC 8414 §2).
func (j *JWT) JWKS() ([]byte, error) { return j.keys.JWKS() }

var payloadPool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// MintAccessToken implements AccessTokenStrategy. It returns a JWS
// (RFC 7515 §7.1 compact serialization) with the header of RFC 9068 §2.1
// ("typ":"at+jwt", the signing key's "alg" and "kid") and the claims of
// RFC 9068 §2.2: iss, sub, aud (a string for one audience, an array
// otherwise), client_id, iat, exp, jti and, when scopes were granted,
// scope (RFC 8693 §4.2), followed by c.Extra in key order.
//
// When c.ID is empty a random jti (192 bits, base64url) is generated and
// stored in c.ID. The returned key is the jti.
//
// It is an error when Subject, ClientID, Audience, IssuedAt or ExpiresAt
// is missing, when exp is not after iat, when no issuer is known, and
// (ErrReservedClaim) when c.Extra names a registered claim: Extra never
// overrides the claims above.
func (j *JWT) MintAccessToken(ctx context.Context, c *Claims) (string, string, error) {
	if c == nil {
		return "", "", errors.New("token: nil claims")
	}
	iss := c.Issuer
	switch {
	case j.issuer == "":
	case iss == "":
		iss = j.issuer
	case iss != j.issuer:
		return "", "", errors.New("token: Claims.Issuer differs from JWTConfig.Issuer")
	}
	switch {
	case iss == "":
		return "", "", errors.New("token: no issuer")
	case c.Subject == "":
		return "", "", errors.New("token: no subject")
	case c.ClientID == "":
		return "", "", errors.New("token: no client_id")
	case len(c.Audience) == 0:
		return "", "", errors.New("token: no audience (RFC 9068 §2.2)")
	case c.IssuedAt.IsZero() || c.ExpiresAt.IsZero():
		return "", "", errors.New("token: iat and exp are required")
	case c.ExpiresAt.Unix() <= c.IssuedAt.Unix():
		return "", "", errors.New("token: exp is not after iat")
	}
	for _, a := range c.Audience {
		if a == "" {
			return "", "", errors.New("token: empty audience")
		}
	}
	for k := range c.Extra {
		if reservedClaims[k] {
			return "", "", fmt.Errorf("%w: %q", ErrReservedClaim, k)
		}
	}
	sg, err := j.keys.Signer(ctx)
	if err != nil {
		return "", "", fmt.Errorf("token: signing key: %w", err)
	}
	if sg == nil {
		return "", "", errors.New("token: the KeySource has no signing key")
	}
	hdr, sigLen, err := signingHeader(sg)
	if err != nil {
		return "", "", err
	}
	if c.ID == "" {
		id, err := j.newJTI()
		if err != nil {
			return "", "", err
		}
		c.ID = id
	}

	pp := payloadPool.Get().(*[]byte)
	defer payloadPool.Put(pp)
	p, err := appendClaims((*pp)[:0], iss, c)
	*pp = p[:0]
	if err != nil {
		return "", "", err
	}

	n := len(hdr) + 1 + base64.RawURLEncoding.EncodedLen(len(p)) + 1 +
		base64.RawURLEncoding.EncodedLen(sigLen)
	if n > MaxJWTLength {
		return "", "", fmt.Errorf("token: access token longer than %d bytes", MaxJWTLength)
	}
	buf := make([]byte, 0, n)
	buf = append(buf, hdr...)
	buf = append(buf, '.')
	buf = base64.RawURLEncoding.AppendEncode(buf, p)
	sig, err := sg.Sign(ctx, buf)
	if err != nil {
		return "", "", fmt.Errorf("token: signing: %w", err)
	}
	if len(sig) == 0 {
		return "", "", errors.New("token: signing: empty signature")
	}
	buf = append(buf, '.')
	buf = base64.RawURLEncoding.AppendEncode(buf, sig)
	if len(buf) > MaxJWTLength {
		return "", "", fmt.Errorf("token: access token longer than %d bytes", MaxJWTLength)
	}
	return string(buf), c.ID, nil
}

// signingHeader returns the encoded RFC 9068 §2.1 header for sg and the
// expected signature length (an upper bound when unknown). The entries of
// a KeySet have theirs pre-computed.
func signingHeader(sg Signer) (string, int, error) {
	if e, ok := sg.(*keyEntry); ok {
		return e.atHeader, e.signatureLen(), nil
	}
	hdr, err := encodeHeader(sg, atJWTType)
	return hdr, 0, err
}

// encodeHeader returns the base64url protected header of a JWT of type
// typ signed by sg, checking sg's algorithm and kid.
func encodeHeader(sg Signer, typ string) (string, error) {
	alg, kid := sg.Algorithm(), sg.KeyID()
	if _, ok := allowedAlgs[alg]; !ok {
		return "", fmt.Errorf("%w: signer has alg %q", ErrUnsupportedAlgorithm, alg.String())
	}
	if kid == "" || len(kid) > maxKIDLen {
		return "", fmt.Errorf("token: signer kid is empty or longer than %d bytes", maxKIDLen)
	}
	hdr, err := json.Marshal(struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
		Typ string `json:"typ"`
	}{alg.String(), kid, typ})
	if err != nil {
		return "", fmt.Errorf("token: encoding header: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(hdr), nil
}

// SignJWT signs claims, a JSON object, with the strategy's current signing
// key, under a header of the given typ: for the other JWTs an
// authorization server issues, such as introspection responses
// (RFC 9701 §5, typ "token-introspection+jwt"). The typ must not be
// at+jwt: access tokens are minted only by MintAccessToken, with its
// checks.
func (j *JWT) SignJWT(ctx context.Context, typ string, claims []byte) (string, error) {
	if typ == "" || strings.EqualFold(typ, atJWTType) || strings.EqualFold(typ, "application/"+atJWTType) {
		return "", errors.New("token: SignJWT needs a typ other than at+jwt")
	}
	if len(claims) == 0 || claims[0] != '{' || !json.Valid(claims) {
		return "", errors.New("token: SignJWT needs a JSON object")
	}
	sg, err := j.keys.Signer(ctx)
	if err != nil {
		return "", fmt.Errorf("token: signing key: %w", err)
	}
	if sg == nil {
		return "", errors.New("token: the KeySource has no signing key")
	}
	hdr, err := encodeHeader(sg, typ)
	if err != nil {
		return "", err
	}
	buf := make([]byte, 0, len(hdr)+1+base64.RawURLEncoding.EncodedLen(len(claims))+200)
	buf = append(buf, hdr...)
	buf = append(buf, '.')
	buf = base64.RawURLEncoding.AppendEncode(buf, claims)
	sig, err := sg.Sign(ctx, buf)
	if err != nil {
		return "", fmt.Errorf("token: signing: %w", err)
	}
	buf = append(buf, '.')
	return string(base64.RawURLEncoding.AppendEncode(buf, sig)), nil
}

// SigningAlgorithm returns the JWS algorithm of the current signing key,
// for the metadata document.
func (j *JWT) SigningAlgorithm(ctx context.Context) (jwa.SignatureAlgorithm, error) {
	sg, err := j.keys.Signer(ctx)
	if err != nil {
		return "", err
	}
	if sg == nil {
		return "", errors.New("token: the KeySource has no signing key")
	}
	return sg.Algorithm(), nil
}

// signatureLen is the length of a JWS signature made with e.
func (e *keyEntry) signatureLen() int {
	switch e.info.kind {
	case kindEC:
		return 2 * ((e.info.curve.Params().BitSize + 7) / 8)
	case kindEd25519:
		return 64
	default:
		if s, ok := e.signer.Public().(interface{ Size() int }); ok {
			return s.Size()
		}
		return 512
	}
}

func (j *JWT) newJTI() (string, error) {
	var b [jtiBytes]byte
	var err error
	if j.rand == nil {
		_, err = rand.Read(b[:])
	} else {
		_, err = io.ReadFull(j.rand, b[:])
	}
	if err != nil {
		return "", fmt.Errorf("token: generating jti: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// appendClaims appends the JSON claims set of c to b.
func appendClaims(b []byte, iss string, c *Claims) ([]byte, error) {
	b = append(b, `{"iss":`...)
	b = appendJSONString(b, iss)
	b = append(b, `,"sub":`...)
	b = appendJSONString(b, c.Subject)
	b = append(b, `,"aud":`...)
	if len(c.Audience) == 1 {
		b = appendJSONString(b, c.Audience[0])
	} else {
		b = append(b, '[')
		for i, a := range c.Audience {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, a)
		}
		b = append(b, ']')
	}
	b = append(b, `,"client_id":`...)
	b = appendJSONString(b, c.ClientID)
	b = append(b, `,"iat":`...)
	b = strconv.AppendInt(b, c.IssuedAt.Unix(), 10)
	b = append(b, `,"exp":`...)
	b = strconv.AppendInt(b, c.ExpiresAt.Unix(), 10)
	b = append(b, `,"jti":`...)
	b = appendJSONString(b, c.ID)
	if len(c.Scopes) > 0 {
		b = append(b, `,"scope":`...)
		b = appendJSONString(b, strings.Join(c.Scopes, " "))
	}
	if c.KeyThumbprint != "" {
		b = append(b, `,"cnf":{"jkt":`...)
		b = appendJSONString(b, c.KeyThumbprint)
		b = append(b, '}')
	}
	if len(c.Extra) > 0 {
		keys := make([]string, 0, len(c.Extra))
		for k := range c.Extra {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			b = append(b, ',')
			b = appendJSONString(b, k)
			b = append(b, ':')
			v, merr := json.Marshal(c.Extra[k])
			if merr != nil {
				return b, fmt.Errorf("token: encoding claim %q: %w", k, merr)
			}
			b = append(b, v...)
		}
	}
	return append(b, '}'), nil
}

// appendJSONString appends s as a JSON string.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			q, _ := json.Marshal(s) // a string always encodes
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// invalidError is an ErrInvalid, and optionally a more specific sentinel,
// with a reason that never quotes the token.
type invalidError struct {
	reason string
	kind   error
}

func (e *invalidError) Error() string { return "token: invalid: " + e.reason }

func (e *invalidError) Unwrap() []error {
	if e.kind == nil {
		return []error{ErrInvalid}
	}
	return []error{ErrInvalid, e.kind}
}

func invalid(reason string) error { return &invalidError{reason: reason} }

func invalidKind(reason string, kind error) error { return &invalidError{reason, kind} }

var (
	errTooLong      = invalid("longer than MaxJWTLength")
	errNotCompact   = invalid("not a compact JWS")
	errEncoding     = invalid("bad base64url")
	errHeader       = invalid("malformed header")
	errCrit         = invalid("unsupported crit or b64 header")
	errNoKID        = invalid("no kid")
	errUnknownKID   = invalidKind("unknown kid", ErrUnknownKey)
	errAlg          = invalid("alg is not the key's algorithm")
	errTyp          = invalid("typ is not at+jwt")
	errSignature    = invalid("signature does not verify")
	errPayload      = invalid("malformed claims")
	errClaimMissing = invalid("a required claim is missing")
	errIssuer       = invalidKind("wrong issuer", ErrWrongIssuer)
)

// AccessTokenKey implements AccessTokenStrategy: it verifies the token as
// Parse does and returns its "jti", the token's storage key.
//
// It does not reject an expired token: expiry is checked by the caller on
// the storage record, so that introspection (RFC 7662) and revocation
// (RFC 7009) of an expired token still find its record. Whoever accepts a
// token as a credential must check the record's expiry, or Parse's
// ExpiresAt.
func (j *JWT) AccessTokenKey(ctx context.Context, token string) (string, error) {
	c, err := verifyJWT(ctx, j.keys, token, j.issuer, false, nil)
	if err != nil {
		return "", err
	}
	return c.ID, nil
}

// Parse verifies a JWT access token and returns its claims; claims other
// than the registered ones land in Extra (numbers as float64).
//
// The checks (each failure wraps ErrInvalid): at most MaxJWTLength bytes
// (Authlib CVE-2025-61920); exactly three base64url segments in canonical
// form (RFC 7515 §7.1); a header without duplicate members (RFC 7515 §5.2),
// with a "kid" naming a
// key of the KeySet (no key is ever fetched from jku, x5u, jwk or x5c,
// which are ignored: RFC 8725 §3.10), an "alg" equal to that key's own
// algorithm, which is the one used to verify (RFC 8725 §3.1; "none" never
// verifies), "typ" "at+jwt" or "application/at+jwt" in any case
// (RFC 9068 §4), and no "crit" (RFC 7515 §4.1.11: we understand no
// extension) or "b64"; a signature that verifies; a claims set without
// duplicate members holding iss, sub, aud, client_id, iat, exp and jti of
// the right JSON types (RFC 9068 §2.2; RFC 7519 §4.1), and "iss" equal to
// JWTConfig.Issuer when set.
//
// Like AccessTokenKey, Parse does not check exp, iat or nbf against the
// clock: the caller does.
func (j *JWT) Parse(ctx context.Context, token string) (*Claims, error) {
	return verifyJWT(ctx, j.keys, token, j.issuer, true, nil)
}

// verifyJWT is the one verification routine of JWT access tokens, shared
// by JWT (the authorization server) and JWTVerifier (resource servers):
// structure, header, key, signature, then claims; see JWT.Parse for the
// rules. Unless full, only the jti of the claims is returned. When t is
// not nil it receives the time claims for the caller to check.
func verifyJWT(ctx context.Context, keys VerificationKeys, token, issuer string, full bool, t *timeClaims) (*Claims, error) {
	c, err := jose.SplitCompact(token, MaxJWTLength)
	if err != nil {
		switch err {
		case jose.ErrTooLong:
			return nil, errTooLong
		case jose.ErrEncoding:
			return nil, errEncoding
		}
		return nil, errNotCompact
	}
	jws, err := c.Decode()
	if err != nil {
		return nil, errEncoding
	}
	e, err := checkHeader(ctx, keys, jws.Header)
	if err != nil {
		return nil, err
	}
	if e.verify(jws.SigningInput, jws.Signature) != nil {
		return nil, errSignature
	}
	return decodeClaims(jws.Payload, issuer, full, t)
}

// checkHeader validates a JOSE header (RFC 7515 §4; RFC 9068 §2.1) and
// returns the key that verifies the token. An error of keys other than
// ErrUnknownKey is returned wrapped, without ErrInvalid.
func checkHeader(ctx context.Context, keys VerificationKeys, hdr []byte) (*keyEntry, error) {
	var r jose.ObjectReader
	if r.Init(hdr, 0) != nil {
		return nil, errHeader
	}
	var alg, kid, typ []byte
	var haveAlg, haveTyp bool
	for {
		name, v, ok, err := r.Next()
		if err != nil {
			return nil, errHeader
		}
		if !ok {
			break
		}
		switch string(name) {
		case "alg":
			haveAlg = true
			alg, err = jose.StringBytes(v)
		case "kid":
			kid, err = jose.StringBytes(v)
		case "typ":
			haveTyp = true
			typ, err = jose.StringBytes(v)
		case "crit", "b64":
			return nil, errCrit
		}
		// jku, x5u, jwk, x5c and every other member are ignored.
		if err != nil {
			return nil, errHeader
		}
	}
	if !haveTyp || !isATJWTType(typ) {
		return nil, errTyp
	}
	if len(kid) == 0 {
		return nil, errNoKID
	}
	e, err := resolveKey(ctx, keys, kid)
	if err != nil {
		if errors.Is(err, ErrUnknownKey) {
			return nil, errUnknownKID
		}
		return nil, fmt.Errorf("token: looking up the verification key: %w", err)
	}
	if !haveAlg || string(alg) != string(e.alg) {
		return nil, errAlg
	}
	return e, nil
}

// isATJWTType reports whether typ names an RFC 9068 access token: the
// media type "application/at+jwt" or, as RFC 7515 §4.1.9 recommends, its
// short form, compared without regard to case.
func isATJWTType(typ []byte) bool {
	const prefix = "application/"
	if len(typ) > len(prefix) && bytes.EqualFold(typ[:len(prefix)], []byte(prefix)) {
		typ = typ[len(prefix):]
	}
	return bytes.EqualFold(typ, []byte(atJWTType))
}

// timeClaims are the time claims of a token rounded towards rejection:
// exp down, iat and nbf up to the next second (RFC 7519 §4.1.4–4.1.6).
type timeClaims struct {
	exp, iat, nbf int64
	hasNBF        bool
}

// ceil returns sec rounded up by a non-zero fraction.
func ceil(sec int64, frac float64) int64 {
	if frac > 0 {
		return sec + 1
	}
	return sec
}

// decodeClaims decodes a JWT claims set (RFC 7519 §4; RFC 9068 §2.2) and
// checks "iss" against issuer when set. Unless full, only the jti is
// returned, and the other claims are only type-checked. When t is not nil
// it receives exp, iat and nbf.
func decodeClaims(payload []byte, issuer string, full bool, t *timeClaims) (*Claims, error) {
	// No depth limit beyond encoding/json's: the token is at most
	// MaxJWTLength bytes, and MintAccessToken does not bound the nesting
	// of Claims.Extra, so a limit here could refuse our own tokens.
	var r jose.ObjectReader
	if r.Init(payload, 0) != nil {
		return nil, errPayload
	}
	c := &Claims{}
	const (
		hIss = 1 << iota
		hSub
		hAud
		hClient
		hIat
		hExp
		hJti
		hAll = hIss | hSub | hAud | hClient | hIat | hExp | hJti
	)
	have := 0
	issOK := issuer == ""
	for {
		name, v, ok, err := r.Next()
		if err != nil {
			return nil, errPayload
		}
		if !ok {
			break
		}
		var n int64
		var frac float64
		var s []byte
		switch string(name) {
		case "iss":
			have |= hIss
			if s, err = jose.StringBytes(v); err == nil {
				issOK = issOK || string(s) == issuer
				if full {
					c.Issuer = string(s)
				}
			}
		case "sub":
			have |= hSub
			if s, err = jose.StringBytes(v); err == nil && full {
				c.Subject = string(s)
			}
		case "aud":
			have |= hAud
			err = checkAudience(c, v, full)
		case "client_id":
			have |= hClient
			if s, err = jose.StringBytes(v); err == nil && full {
				c.ClientID = string(s)
			}
		case "iat":
			have |= hIat
			n, frac, err = jose.NumericDate(v)
			c.IssuedAt = time.Unix(n, 0)
			if t != nil {
				t.iat = ceil(n, frac)
			}
		case "exp":
			have |= hExp
			n, frac, err = jose.NumericDate(v)
			c.ExpiresAt = time.Unix(n, 0)
			if t != nil {
				t.exp = n
				if frac < 0 {
					t.exp--
				}
			}
		case "nbf":
			n, frac, err = jose.NumericDate(v)
			if t != nil {
				t.nbf, t.hasNBF = ceil(n, frac), true
			}
		case "jti":
			have |= hJti
			if s, err = jose.StringBytes(v); err == nil {
				if len(s) == 0 {
					err = jose.ErrType
				}
				c.ID = string(s)
			}
		case "scope":
			if s, err = jose.StringBytes(v); err == nil && full {
				c.Scopes = strings.Fields(string(s))
			}
		case "cnf":
			// Parsed with the claims it checks, never left in Extra: a
			// bound token read as a bearer token would be a downgrade.
			c.KeyThumbprint, err = confirmationThumbprint(v)
		default:
			if full {
				var x any
				if err = json.Unmarshal(v, &x); err == nil {
					if c.Extra == nil {
						c.Extra = make(map[string]any)
					}
					c.Extra[string(name)] = x
				}
			}
		}
		if err != nil {
			return nil, errPayload
		}
	}
	if have != hAll {
		return nil, errClaimMissing
	}
	if !issOK {
		return nil, errIssuer
	}
	return c, nil
}

// confirmationThumbprint reads a "cnf" claim (RFC 7800 §3.1): an object
// whose one member is "jkt", a non-empty string (RFC 9449 §6.1). Any other
// confirmation method is refused: a token bound to a key this package
// cannot check must not pass for a bearer token.
func confirmationThumbprint(v []byte) (string, error) {
	var r jose.ObjectReader
	if err := r.Init(v, 1); err != nil {
		return "", jose.ErrType
	}
	jkt := ""
	for {
		name, value, ok, err := r.Next()
		if err != nil {
			return "", err
		}
		if !ok {
			break
		}
		if string(name) != "jkt" {
			return "", jose.ErrType
		}
		s, err := jose.StringBytes(value)
		if err != nil || len(s) == 0 {
			return "", jose.ErrType
		}
		jkt = string(s)
	}
	if jkt == "" {
		return "", jose.ErrType
	}
	return jkt, nil
}

// checkAudience checks an "aud" value: a non-empty string or a non-empty
// array of non-empty strings (RFC 7519 §4.1.3).
func checkAudience(c *Claims, v []byte, full bool) error {
	if len(v) > 0 && v[0] == '"' {
		s, err := jose.StringBytes(v)
		if err != nil || len(s) == 0 {
			return jose.ErrType
		}
		if full {
			c.Audience = []string{string(s)}
		}
		return nil
	}
	aud, err := jose.Strings(v)
	if err != nil || len(aud) == 0 || slices.Contains(aud, "") {
		return jose.ErrType
	}
	if full {
		c.Audience = aud
	}
	return nil
}
