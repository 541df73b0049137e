package memory

import (
	"encoding/binary"
	"maps"
	"math"
	"strings"
	"time"

	"github.com/grantor-dev/grantor/storage"
)

// record is the compact form of a storage.Token kept by the store. Its key is
// the map key and its grant ID lives in the shared grant entry; times are
// Unix nanoseconds; client IDs, subjects, scope and audience lists are
// interned. A typical opaque access token costs a 128-byte record, or 176
// bytes with its grant's entry when it starts the grant (recordAndGrant),
// plus its key and index entries.
type record struct {
	grant    *grant // nil when the token has no grant ID
	clientID string // interned
	subject  string
	scopes   *[]string // interned, never modified; nil for a nil slice
	audience *[]string // interned, never modified; nil for a nil slice
	claims   map[string]any

	// t holds the times in Unix nanoseconds, 0 for the zero time. When a
	// time does not fit (before 1678, after 2262, or exactly the Unix
	// epoch), ext.times holds all of them instead.
	t [numTimes]int64
	// ext holds what few records have: times that do not fit t, a grant's
	// own token lifetimes, a DPoP key binding; nil otherwise. One pointer
	// for all of them keeps a record and its grant entry (recordAndGrant)
	// in their size class.
	ext *recordExt

	kind storage.TokenKind
	dead bool // deleted by a sweep, still listed in its grant
}

// Indexes of record.t.
const (
	tIssued = iota
	tExpires
	tGrantExpires
	tConsumed
	tRevoked
	numTimes
)

// slot is a value of the token map. The expiry (clampNano of ExpiresAt)
// sits next to the pointer so that a sweep reads the map's memory in order
// instead of visiting every record.
type slot struct {
	r   *record
	exp int64
}

// grant is an entry of the grant index: the records of one grant, and its
// revocation if it was revoked.
type grant struct {
	id     string
	tokens []*record
	// first is the initial backing array of tokens, so that a grant with
	// one record (a client credentials token) needs no array of its own.
	first   [1]*record
	revoked *revocation
}

// recordAndGrant is the first record of a grant and the grant's index
// entry, allocated together: one allocation instead of three (record,
// grant, list) for a token that starts a grant, as every client
// credentials token does. Once swept, the record is cleared but its bytes
// stay allocated as long as the grant's entry does (the entry goes with
// the grant's last record, or when a revoked grant's marker expires).
type recordAndGrant struct {
	r record
	g grant
}

// recordExt holds the fields of a storage.Token that most records leave
// zero, and the times of a record when they do not fit record.t.
type recordExt struct {
	times                                     *[numTimes]time.Time
	accessTokenLifetime, refreshTokenLifetime time.Duration
	keyThumbprint                             string
	extensions                                map[string]string
}

type revocation struct {
	at        time.Time // the first revocation time, given to later tokens
	keepUntil time.Time // store-clock time until which the marker is kept
}

func encodeTime(t time.Time) (int64, bool) {
	if t.IsZero() {
		return 0, true
	}
	n := t.UnixNano()
	if n == 0 || !time.Unix(0, n).Equal(t) {
		return 0, false
	}
	return n, true
}

func decodeTime(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

func (r *record) time(i int) time.Time {
	if r.ext != nil && r.ext.times != nil {
		return r.ext.times[i]
	}
	return decodeTime(r.t[i])
}

func (r *record) setTime(i int, v time.Time) {
	if r.ext == nil || r.ext.times == nil {
		if n, ok := encodeTime(v); ok {
			r.t[i] = n
			return
		}
		times := new([numTimes]time.Time)
		for j := range times {
			times[j] = decodeTime(r.t[j])
		}
		if r.ext == nil {
			r.ext = new(recordExt)
		}
		r.ext.times = times
		r.t = [numTimes]int64{}
	}
	r.ext.times[i] = v.UTC()
}

// newRecord builds the compact copy of t. It copies every string it keeps
// (strings.Clone), so the store never pins a caller's larger buffer: a key
// cut out of the full token string would otherwise keep the token itself in
// memory.
func (s *Store) newRecord(t *storage.Token) *record {
	r := new(record)
	s.fillRecord(r, t)
	return r
}

// fillRecord sets the fields of the empty record r from t, as newRecord
// describes. Its grant is left to the caller.
func (s *Store) fillRecord(r *record, t *storage.Token) {
	r.clientID = s.intern.str(t.ClientID)
	r.subject = s.intern.subject(t.Subject)
	r.scopes = s.intern.list(t.Scopes)
	r.audience = s.intern.list(t.Audience)
	r.claims = storage.CloneClaims(t.Claims)
	r.kind = t.Kind
	r.setTime(tIssued, t.IssuedAt)
	r.setTime(tExpires, t.ExpiresAt)
	r.setTime(tGrantExpires, t.GrantExpiresAt)
	r.setTime(tConsumed, t.ConsumedAt)
	r.setTime(tRevoked, t.RevokedAt)
	if t.AccessTokenLifetime != 0 || t.RefreshTokenLifetime != 0 || t.KeyThumbprint != "" || t.Extensions != nil {
		if r.ext == nil {
			r.ext = new(recordExt)
		}
		r.ext.accessTokenLifetime, r.ext.refreshTokenLifetime = t.AccessTokenLifetime, t.RefreshTokenLifetime
		r.ext.keyThumbprint = strings.Clone(t.KeyThumbprint)
		r.ext.extensions = cloneStrings(t.Extensions)
	}
}

// export returns a storage.Token the caller owns.
func (r *record) export(key string) *storage.Token {
	t := &storage.Token{
		Key:            key,
		Kind:           r.kind,
		ClientID:       r.clientID,
		Subject:        r.subject,
		Claims:         storage.CloneClaims(r.claims),
		IssuedAt:       r.time(tIssued),
		ExpiresAt:      r.time(tExpires),
		GrantExpiresAt: r.time(tGrantExpires),
		ConsumedAt:     r.time(tConsumed),
		RevokedAt:      r.time(tRevoked),
	}
	if r.grant != nil {
		t.GrantID = r.grant.id
	}
	if r.ext != nil {
		t.AccessTokenLifetime, t.RefreshTokenLifetime = r.ext.accessTokenLifetime, r.ext.refreshTokenLifetime
		t.KeyThumbprint = r.ext.keyThumbprint
		t.Extensions = maps.Clone(r.ext.extensions)
	}
	if r.scopes != nil {
		t.Scopes = *r.scopes
	}
	if r.audience != nil {
		t.Audience = *r.audience
	}
	storage.CloneLists(&t.Scopes, &t.Audience) // the interned lists are shared
	return t
}

// Interning limits: the tables are never pruned, so they are bounded.
const (
	maxInterned    = 4096 // entries per table
	maxInternBytes = 256  // longest string or encoded list interned
)

// interner shares the strings and string lists that many records repeat
// (client IDs, subjects, scope and audience lists). It is guarded by
// Store.mu.
type interner struct {
	strs  map[string]string
	lists map[string]*[]string
	empty *[]string
	buf   []byte
	// subjects has a table of its own, so that many users cannot crowd
	// the client IDs and scopes out of strs.
	subjects map[string]string
}

func (in *interner) str(s string) string { return internIn(&in.strs, s) }

// subject interns a token's subject: every token of a client credentials
// client has the same one, and a user's tokens share theirs.
func (in *interner) subject(s string) string { return internIn(&in.subjects, s) }

// internIn returns the copy of s kept in *table, adding one while the
// table has room, or else a fresh copy of s.
func internIn(table *map[string]string, s string) string {
	if v, ok := (*table)[s]; ok {
		return v
	}
	c := strings.Clone(s)
	if len(s) <= maxInternBytes && len(*table) < maxInterned {
		if *table == nil {
			*table = make(map[string]string)
		}
		(*table)[c] = c
	}
	return c
}

func (in *interner) list(l []string) *[]string {
	if l == nil {
		return nil
	}
	if len(l) == 0 {
		if in.empty == nil {
			in.empty = &[]string{}
		}
		return in.empty
	}
	b := in.buf[:0]
	for _, s := range l {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	in.buf = b
	if p, ok := in.lists[string(b)]; ok {
		return p
	}
	c := make([]string, len(l))
	for i, s := range l {
		c[i] = in.str(s)
	}
	p := &c
	if len(b) <= maxInternBytes && len(in.lists) < maxInterned {
		if in.lists == nil {
			in.lists = make(map[string]*[]string)
		}
		in.lists[string(b)] = p
	}
	if cap(in.buf) > 4*maxInternBytes {
		in.buf = nil // do not keep a huge scratch buffer
	}
	return p
}

// Bounds of the instants representable in Unix nanoseconds.
var (
	minNanoTime = time.Unix(0, math.MinInt64)
	maxNanoTime = time.Unix(0, math.MaxInt64)
)

// clampNano returns t in Unix nanoseconds, clamped to the int64 range; the
// zero time is the earliest instant. Used where only order matters.
func clampNano(t time.Time) int64 {
	switch {
	case t.IsZero() || !t.After(minNanoTime):
		return math.MinInt64
	case !t.Before(maxNanoTime):
		return math.MaxInt64
	default:
		return t.UnixNano()
	}
}

// cloneStrings returns a copy of m whose names and values are copies too
// (strings.Clone), so that the store never pins a caller's larger buffer.
func cloneStrings(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	c := make(map[string]string, len(m))
	for k, v := range m {
		c[strings.Clone(k)] = strings.Clone(v)
	}
	return c
}
