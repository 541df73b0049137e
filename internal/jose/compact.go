package jose

import (
	"encoding/base64"
	"errors"
	"strings"
)

// Errors of SplitCompact, Compact.Decode and DecodeSegment. They never
// quote the input.
var (
	// ErrTooLong means the input is longer than the caller's limit
	// (Authlib CVE-2025-61920); nothing of it was read.
	ErrTooLong = errors.New("jose: longer than the size limit")
	// ErrNotCompact means the input does not have exactly three
	// dot-separated segments (RFC 7515 §7.1): a JWE (five segments,
	// RFC 7516 §7.1), the JSON serialization (RFC 7515 §7.2) and a bare
	// header.payload are all refused with it.
	ErrNotCompact = errors.New("jose: not a JWS in compact serialization")
	// ErrEmptySegment means the header or the payload segment is empty,
	// as in a JWS with a detached payload (RFC 7515 Appendix F).
	ErrEmptySegment = errors.New("jose: empty JWS header or payload")
	// ErrUnsigned means the signature segment is empty: an unsecured JWS
	// (RFC 7515 §A.5, "alg":"none").
	ErrUnsigned = errors.New("jose: unsigned JWS")
	// ErrEncoding means a segment is not canonical unpadded base64url
	// (RFC 7515 §2): a byte outside the alphabet (including '=', '+',
	// '/', '\r' and '\n'), an impossible length, or non-zero trailing
	// bits.
	ErrEncoding = errors.New("jose: segment is not canonical base64url")
)

// b64urlAlphabet marks the bytes allowed in a compact JWS: the base64url
// alphabet (RFC 4648 §5) and the dot. base64.RawURLEncoding alone would
// skip '\r' and '\n'.
var b64urlAlphabet = func() (t [256]bool) {
	for _, c := range "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_." {
		t[c] = true
	}
	return t
}()

// strictB64 rejects padding and non-zero trailing bits, so that each
// value has exactly one encoding.
var strictB64 = base64.RawURLEncoding.Strict()

// Compact is a JWS in compact serialization (RFC 7515 §7.1) that
// SplitCompact has checked but not decoded. Its segments share memory
// with the input. The zero value holds no JWS: Decode refuses it.
type Compact struct {
	token  string
	d1, d2 int // the two dots
}

// SplitCompact checks that token is a JWS in compact serialization
// (RFC 7515 §7.1) and splits it, without decoding or allocating. The
// checks, in order: at most maxLen bytes (ErrTooLong; nothing else is
// read), exactly three segments (ErrNotCompact), a non-empty header and
// payload (ErrEmptySegment), a non-empty signature (ErrUnsigned), and only
// base64url bytes (ErrEncoding). Canonical encoding is checked by Decode.
func SplitCompact(token string, maxLen int) (Compact, error) {
	if len(token) > maxLen {
		return Compact{}, ErrTooLong
	}
	d1 := strings.IndexByte(token, '.')
	if d1 < 0 {
		return Compact{}, ErrNotCompact
	}
	d2 := strings.IndexByte(token[d1+1:], '.')
	if d2 < 0 {
		return Compact{}, ErrNotCompact
	}
	d2 += d1 + 1
	if strings.IndexByte(token[d2+1:], '.') >= 0 {
		return Compact{}, ErrNotCompact
	}
	if d1 == 0 || d2 == d1+1 {
		return Compact{}, ErrEmptySegment
	}
	if d2 == len(token)-1 {
		return Compact{}, ErrUnsigned
	}
	for i := 0; i < len(token); i++ {
		if !b64urlAlphabet[token[i]] {
			return Compact{}, ErrEncoding
		}
	}
	return Compact{token: token, d1: d1, d2: d2}, nil
}

// Header returns the encoded header segment.
func (c Compact) Header() string { return c.token[:c.d1] }

// Payload returns the encoded payload segment.
func (c Compact) Payload() string {
	if c.token == "" {
		return ""
	}
	return c.token[c.d1+1 : c.d2]
}

// Signature returns the encoded signature segment.
func (c Compact) Signature() string {
	if c.token == "" {
		return ""
	}
	return c.token[c.d2+1:]
}

// SigningInput returns the JWS Signing Input, the encoded header and
// payload joined by a dot (RFC 7515 §5.2 step 8).
func (c Compact) SigningInput() string { return c.token[:c.d2] }

// JWS is a decoded compact JWS. Its slices share one buffer, owned by the
// caller.
type JWS struct {
	// SigningInput is a copy of Compact.SigningInput, the bytes the
	// signature covers (RFC 7515 §5.2 step 8).
	SigningInput []byte
	// Header is the decoded JOSE Header (RFC 7515 §4), not yet parsed.
	Header []byte
	// Payload is the decoded payload, for a JWT its claims set
	// (RFC 7519 §7.2), not yet parsed.
	Payload []byte
	// Signature is the decoded signature.
	Signature []byte
}

// Decode decodes the three segments of c, which must be canonical
// unpadded base64url (RFC 7515 §2; ErrEncoding otherwise), into one new
// buffer. It refuses the zero Compact with ErrNotCompact.
func (c Compact) Decode() (JWS, error) {
	if c.token == "" {
		return JWS{}, ErrNotCompact
	}
	tok := c.token
	hdrLen := strictB64.DecodedLen(c.d1)
	payLen := strictB64.DecodedLen(c.d2 - c.d1 - 1)
	sigLen := strictB64.DecodedLen(len(tok) - c.d2 - 1)
	// One buffer: a copy of the token, whose first two segments are the
	// signing input, then the decoded header, payload and signature.
	buf := make([]byte, len(tok)+hdrLen+payLen+sigLen)
	text := buf[:copy(buf, tok)]
	rest := buf[len(tok):]
	var j JWS
	var err error
	if j.Header, err = decodeInto(rest[:hdrLen], text[:c.d1]); err != nil {
		return JWS{}, err
	}
	rest = rest[hdrLen:]
	if j.Payload, err = decodeInto(rest[:payLen], text[c.d1+1:c.d2]); err != nil {
		return JWS{}, err
	}
	rest = rest[payLen:]
	if j.Signature, err = decodeInto(rest, text[c.d2+1:]); err != nil {
		return JWS{}, err
	}
	j.SigningInput = text[:c.d2:c.d2]
	return j, nil
}

func decodeInto(dst, src []byte) ([]byte, error) {
	n, err := strictB64.Decode(dst, src)
	if err != nil {
		return nil, ErrEncoding
	}
	return dst[:n:n], nil
}

// DecodeSegment decodes one segment of a compact JWS, for a caller that
// needs only one of them: it must hold base64url bytes only and be
// canonical unpadded base64url (RFC 7515 §2), else ErrEncoding.
func DecodeSegment(seg string) ([]byte, error) {
	for i := 0; i < len(seg); i++ {
		if c := seg[i]; c == '.' || !b64urlAlphabet[c] {
			return nil, ErrEncoding
		}
	}
	b, err := strictB64.DecodeString(seg)
	if err != nil {
		return nil, ErrEncoding
	}
	return b, nil
}
