package dpop

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// Server nonces (RFC 9449 §8, §9) that need no shared state: a nonce is a
// time step and an HMAC-SHA-256 of it under a key the host supplies, so
// every instance that holds the keys accepts every other instance's
// nonces, and nothing is stored.
//
// A nonce is the unpadded base64url encoding of 8 bytes of step number
// (big-endian) followed by the 32-byte MAC: 54 characters, all within the
// NQCHAR syntax of RFC 9449 §8.1.

// DefaultNonceStep is the time step of Nonces when NonceConfig.Step is
// zero: a nonce is valid during the step it was issued in and the next
// one, so for 5 to 10 minutes.
const DefaultNonceStep = 5 * time.Minute

// MinNonceKeySize is the smallest nonce key, in bytes: the output size of
// SHA-256 (RFC 2104 §3).
const MinNonceKeySize = 32

const (
	nonceStepBytes = 8
	nonceRawBytes  = nonceStepBytes + sha256.Size
	nonceLength    = (nonceRawBytes*8 + 5) / 6
	// nonceLabel separates these MACs from any other use of the keys.
	nonceLabel = "grantor dpop nonce v1\x00"
)

// NonceConfig configures Nonces.
type NonceConfig struct {
	// Keys are the HMAC keys, each at least MinNonceKeySize bytes of
	// secret randomness shared by every instance. The first issues
	// nonces; all of them verify, so a key is rotated by putting a new
	// one first and removing the old one after two steps. Required.
	Keys [][]byte
	// Step is how long one nonce is issued; a nonce is accepted in its
	// own step and the next. Zero means DefaultNonceStep. At least one
	// second.
	Step time.Duration
	// Clock returns the current time; time.Now when nil.
	Clock func() time.Time
}

// Nonces issues and checks server nonces (RFC 9449 §8, §9). It is safe for
// concurrent use.
type Nonces struct {
	keys  [][]byte
	step  int64 // nanoseconds
	clock func() time.Time
}

// NewNonces returns a nonce source, or an error when there is no key, a
// key is shorter than MinNonceKeySize, or Step is negative or below one
// second.
func NewNonces(cfg NonceConfig) (*Nonces, error) {
	if len(cfg.Keys) == 0 {
		return nil, errors.New("dpop: NonceConfig.Keys is empty")
	}
	keys := make([][]byte, len(cfg.Keys))
	for i, k := range cfg.Keys {
		if len(k) < MinNonceKeySize {
			return nil, fmt.Errorf("dpop: NonceConfig.Keys[%d] is shorter than %d bytes", i, MinNonceKeySize)
		}
		keys[i] = append([]byte(nil), k...)
	}
	step := cfg.Step
	switch {
	case step == 0:
		step = DefaultNonceStep
	case step < time.Second:
		return nil, errors.New("dpop: NonceConfig.Step is below one second")
	}
	clock := cfg.Clock
	if clock == nil {
		clock = time.Now
	}
	return &Nonces{keys: keys, step: int64(step), clock: clock}, nil
}

func (n *Nonces) currentStep() uint64 {
	return uint64(n.clock().UnixNano() / n.step)
}

// mac appends the MAC of step under key to dst.
func nonceMAC(dst, key []byte, step uint64) []byte {
	m := hmac.New(sha256.New, key)
	var b [len(nonceLabel) + nonceStepBytes]byte
	copy(b[:], nonceLabel)
	binary.BigEndian.PutUint64(b[len(nonceLabel):], step)
	m.Write(b[:])
	return m.Sum(dst)
}

// Issue returns a fresh nonce for the current step, for the DPoP-Nonce
// header (RFC 9449 §8.1).
func (n *Nonces) Issue() string {
	return n.issue(n.currentStep())
}

func (n *Nonces) issue(step uint64) string {
	var raw [nonceRawBytes]byte
	binary.BigEndian.PutUint64(raw[:], step)
	nonceMAC(raw[:nonceStepBytes], n.keys[0], step)
	return base64.RawURLEncoding.EncodeToString(raw[:])
}

// check reports whether nonce is valid (issued by one of the keys in the
// current or the previous step) and whether it is of the current step.
func (n *Nonces) check(nonce string) (valid, current bool) {
	if len(nonce) != nonceLength {
		return false, false
	}
	var raw [nonceRawBytes]byte
	if k, err := base64.RawURLEncoding.Strict().Decode(raw[:], []byte(nonce)); err != nil || k != nonceRawBytes {
		return false, false
	}
	step := binary.BigEndian.Uint64(raw[:nonceStepBytes])
	now := n.currentStep()
	if step != now && step+1 != now {
		return false, false
	}
	var want [sha256.Size]byte
	for _, key := range n.keys {
		if hmac.Equal(nonceMAC(want[:0], key, step), raw[nonceStepBytes:]) {
			return true, step == now
		}
	}
	return false, false
}

// Valid reports whether nonce was issued by an instance holding one of
// the keys, in the current or the previous step (RFC 9449 §8.2, §9).
func (n *Nonces) Valid(nonce string) bool {
	valid, _ := n.check(nonce)
	return valid
}

// Refresh returns the nonce to send in a DPoP-Nonce header with a
// response to a request whose proof carried nonce, and whether to send
// one: a fresh nonce when the presented one is missing, invalid or of the
// previous step, so that a client using it before it expires gets the
// next one in time (RFC 9449 §8.2: "the server MAY supply a new nonce
// value in any response").
func (n *Nonces) Refresh(nonce string) (string, bool) {
	if _, current := n.check(nonce); current {
		return "", false
	}
	return n.Issue(), true
}
