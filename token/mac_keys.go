package token

import (
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
)

// MACKeySet holds the HMAC-SHA256 keys (RFC 2104) that sign and verify
// opaque tokens, authorization codes and device codes: one signs, every
// one verifies. Its keys can change while it is in use, the way a
// rotation kept in the store changes them (see StoredMACKeys); an Opaque
// made with NewOpaqueWithKeys follows. A MACKeySet is safe for
// concurrent use, and reads take no lock.
type MACKeySet struct {
	mu    sync.Mutex // serialises writers
	state atomic.Pointer[macSetState]
}

// macSetState is an immutable snapshot of a MACKeySet: keys[0] signs.
type macSetState struct {
	keys []*macKey
	ids  []string
}

// NewMACKeySet returns a set whose first key signs and whose every key
// verifies. Each key has at least MinOpaqueKeyLen bytes from a secure
// random source.
func NewMACKeySet(signing []byte, verifyOnly ...[]byte) (*MACKeySet, error) {
	s := &MACKeySet{}
	keys := append([][]byte{signing}, verifyOnly...)
	ids := make([]string, len(keys))
	for i := range ids {
		ids[i] = fmt.Sprint(i)
	}
	if err := s.set(keys, ids); err != nil {
		return nil, err
	}
	return s, nil
}

// set replaces the keys: keys[0] signs. ids name them for the set's
// owner (StoredMACKeys keeps its keys' IDs).
func (s *MACKeySet) set(keys [][]byte, ids []string) error {
	if len(keys) == 0 {
		return errors.New("token: a MAC key set needs at least one key")
	}
	st := &macSetState{keys: make([]*macKey, len(keys)), ids: ids}
	for i, k := range keys {
		if len(k) < MinOpaqueKeyLen {
			return fmt.Errorf("token: MAC key %d is shorter than %d bytes", i, MinOpaqueKeyLen)
		}
		st.keys[i] = newMACKey(k)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.state.Store(st)
	return nil
}

func (s *MACKeySet) load() *macSetState { return s.state.Load() }

// Len returns how many keys the set holds: zero for a set not made by
// NewMACKeySet or OpenStoredMACKeys.
func (s *MACKeySet) Len() int {
	if s == nil || s.load() == nil {
		return 0
	}
	return len(s.load().keys)
}

// MACs returns the HMAC-SHA256 of the concatenation of parts under each
// key of the set, the signing key's first: store what a short secret
// (a user code) is looked up by under the first, and look it up under
// each, so that it is found across a rotation. Without the keys, a leaked
// table of such MACs tells nothing about the secrets.
func (s *MACKeySet) MACs(parts ...string) [][]byte {
	st := s.load()
	out := make([][]byte, len(st.keys))
	for i, k := range st.keys {
		ms := k.pool.Get().(*macState)
		ms.h.Reset()
		for _, p := range parts {
			ms.h.Write([]byte(p))
		}
		out[i] = ms.h.Sum(nil)
		k.pool.Put(ms)
	}
	return out
}

// newMACKey returns a key with a pool of keyed HMAC-SHA256 states.
func newMACKey(key []byte) *macKey {
	k := append([]byte(nil), key...)
	m := &macKey{}
	m.pool.New = func() any { return &macState{h: hmac.New(sha256.New, k)} }
	return m
}
