package token

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"io"
	"sync"
)

// Sizes of an opaque token's parts.
const (
	// MinOpaqueKeyLen is the shortest HMAC key NewOpaque accepts: 256 bits,
	// the output size of HMAC-SHA256 (RFC 2104 §3).
	MinOpaqueKeyLen = 32
	// MaxOpaquePrefixLen is the longest prefix NewOpaque accepts.
	MaxOpaquePrefixLen = 32

	opaqueRandBytes = 32                          // 256 bits of entropy (RFC 6749 §10.10)
	opaqueB64Len    = (opaqueRandBytes*8 + 5) / 6 // 43 base64url characters
	opaqueBodyLen   = 2*opaqueB64Len + 1          // random "." signature
)

// Opaque mints and checks HMAC-signed opaque tokens of the form
//
//	prefix + base64url(32 random bytes) + "." + base64url(HMAC-SHA256(key, prefix + random part))
//
// without padding (RFC 4648 §5). The signature is the token's storage key:
// the store never holds the token itself, and a leaked table cannot be
// replayed (RFC 6819 §5.1.4.1.3). The MAC covers the prefix, so a
// token of one kind cannot be relabelled as another (RFC 8725 §3.12).
//
// Use one Opaque per token kind, each with its own prefix: "gr_at_" for
// access tokens, "gr_rt_" for refresh tokens, "gr_ac_" for authorization
// codes. An Opaque is safe for concurrent use.
type Opaque struct {
	prefix string
	keys   *MACKeySet
	rand   io.Reader // nil means crypto/rand
}

var _ AccessTokenStrategy = (*Opaque)(nil)

// OpaqueOption configures NewOpaque.
type OpaqueOption func(*Opaque)

// WithRand makes the Opaque read its random parts from r instead of
// crypto/rand. It is meant for tests: r must be a cryptographically secure
// source in production.
func WithRand(r io.Reader) OpaqueOption {
	return func(o *Opaque) { o.rand = r }
}

// macKey is one HMAC key with a pool of keyed hash states.
type macKey struct {
	pool sync.Pool // of *macState
}

// macState is a keyed HMAC-SHA256 with scratch space, so that neither
// Generate nor Signature allocates beyond the token string.
type macState struct {
	h   hash.Hash
	buf [MaxOpaquePrefixLen + opaqueBodyLen]byte
	rnd [opaqueRandBytes]byte
	sum [sha256.Size]byte
}

// NewOpaque returns an opaque token strategy for tokens starting with
// prefix. keys[0] signs new tokens; every key verifies, so a key is
// rotated by putting the new key first and keeping the old one after it
// until its tokens have expired. Each key must have at least
// MinOpaqueKeyLen bytes from a secure random source; the prefix is 1 to
// MaxOpaquePrefixLen characters of [a-z0-9_].
func NewOpaque(prefix string, keys [][]byte, opts ...OpaqueOption) (*Opaque, error) {
	if len(keys) == 0 {
		return nil, errors.New("token: opaque strategy needs at least one key")
	}
	set, err := NewMACKeySet(keys[0], keys[1:]...)
	if err != nil {
		return nil, fmt.Errorf("token: opaque keys: %w", err)
	}
	return NewOpaqueWithKeys(prefix, set, opts...)
}

// NewOpaqueWithKeys is NewOpaque with the keys of a MACKeySet, which may
// change while the Opaque is in use (StoredMACKeys keeps one in the
// store, shared by every instance): each token is signed with the set's
// signing key of the moment and verified with the keys of the moment.
func NewOpaqueWithKeys(prefix string, keys *MACKeySet, opts ...OpaqueOption) (*Opaque, error) {
	if prefix == "" || len(prefix) > MaxOpaquePrefixLen {
		return nil, fmt.Errorf("token: opaque prefix must have 1 to %d characters", MaxOpaquePrefixLen)
	}
	for i := 0; i < len(prefix); i++ {
		if c := prefix[i]; (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' {
			return nil, errors.New("token: opaque prefix may only hold [a-z0-9_]")
		}
	}
	if keys == nil || keys.load() == nil {
		return nil, errors.New("token: opaque strategy needs a MACKeySet made by NewMACKeySet")
	}
	o := &Opaque{prefix: prefix, keys: keys}
	for _, opt := range opts {
		opt(o)
	}
	return o, nil
}

// Prefix returns the prefix of the tokens o mints.
func (o *Opaque) Prefix() string { return o.prefix }

// Generate returns a new token and its signature, the key to store its
// record under. The token carries 256 bits from the random source
// (RFC 6749 §10.10).
func (o *Opaque) Generate() (token, signature string, err error) {
	k := o.keys.load().keys[0]
	st := k.pool.Get().(*macState)
	defer k.pool.Put(st)
	if o.rand == nil {
		_, err = rand.Read(st.rnd[:])
	} else {
		_, err = io.ReadFull(o.rand, st.rnd[:])
	}
	if err != nil {
		return "", "", fmt.Errorf("token: reading random bytes: %w", err)
	}
	p := len(o.prefix)
	msg := st.buf[:p+opaqueB64Len]
	copy(msg, o.prefix)
	base64.RawURLEncoding.Encode(msg[p:], st.rnd[:])
	st.h.Reset()
	st.h.Write(msg)
	st.h.Sum(st.sum[:0])
	st.buf[p+opaqueB64Len] = '.'
	base64.RawURLEncoding.Encode(st.buf[p+opaqueB64Len+1:], st.sum[:])
	token = string(st.buf[:p+opaqueBodyLen])
	clear(st.rnd[:])
	return token, token[p+opaqueB64Len+1:], nil
}

// Signature checks a presented token and returns its signature, the key its
// record is stored under. It decides without a storage lookup, and fails
// with ErrInvalid unless the token is exactly one that Generate could have
// returned for some key of o: same prefix, same lengths, canonical
// base64url, and a MAC that one of the keys produced (ZITADEL
// CVE-2026-27840; RFC 8725 §3.12). MACs are compared in constant time
// (CWE-208).
func (o *Opaque) Signature(token string) (string, error) {
	p := len(o.prefix)
	if len(token) != p+opaqueBodyLen || token[:p] != o.prefix || token[p+opaqueB64Len] != '.' {
		return "", ErrInvalid
	}
	if !canonicalB64(token[p : p+opaqueB64Len]) {
		return "", ErrInvalid
	}
	sigText := token[p+opaqueB64Len+1:]
	var want [sha256.Size]byte
	if !decodeB64Sum(&want, sigText) {
		return "", ErrInvalid
	}
	msg := token[:p+opaqueB64Len]
	for _, k := range o.keys.load().keys {
		st := k.pool.Get().(*macState)
		n := copy(st.buf[:], msg)
		st.h.Reset()
		st.h.Write(st.buf[:n])
		st.h.Sum(st.sum[:0])
		// Which key matched is no secret; the MAC comparison must be
		// constant-time.
		ok := hmac.Equal(st.sum[:], want[:])
		k.pool.Put(st)
		if ok {
			return sigText, nil
		}
	}
	return "", ErrInvalid
}

// MintAccessToken implements AccessTokenStrategy. The claims stay in the
// storage record: the token carries none, and c is not modified.
func (o *Opaque) MintAccessToken(_ context.Context, _ *Claims) (token, key string, err error) {
	return o.Generate()
}

// AccessTokenKey implements AccessTokenStrategy; it is Signature.
func (o *Opaque) AccessTokenKey(_ context.Context, token string) (string, error) {
	return o.Signature(token)
}

// b64Value maps a base64url character to its value, or 0xff.
var b64Value = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for i := 0; i < len(alphabet); i++ {
		t[alphabet[i]] = byte(i)
	}
	return t
}()

// canonicalB64 reports whether s is the unpadded base64url encoding of 32
// bytes in canonical form: 43 alphabet characters whose last carries no
// stray low bits (RFC 4648 §3.5).
func canonicalB64(s string) bool {
	if len(s) != opaqueB64Len {
		return false
	}
	var bad byte
	for i := 0; i < len(s); i++ {
		bad |= b64Value[s[i]] & 0xc0
	}
	return bad == 0 && b64Value[s[len(s)-1]]&0x03 == 0
}

// decodeB64Sum decodes a canonical 43-character base64url string into 32
// bytes without allocating.
func decodeB64Sum(dst *[sha256.Size]byte, s string) bool {
	if !canonicalB64(s) {
		return false
	}
	j := 0
	for i := 0; i+4 <= len(s); i += 4 {
		v := uint32(b64Value[s[i]])<<18 | uint32(b64Value[s[i+1]])<<12 |
			uint32(b64Value[s[i+2]])<<6 | uint32(b64Value[s[i+3]])
		dst[j], dst[j+1], dst[j+2] = byte(v>>16), byte(v>>8), byte(v)
		j += 3
	}
	// 40 characters gave 30 bytes; the last 3 characters give 2 more.
	v := uint32(b64Value[s[40]])<<12 | uint32(b64Value[s[41]])<<6 | uint32(b64Value[s[42]])
	dst[30], dst[31] = byte(v>>10), byte(v>>2)
	return true
}
