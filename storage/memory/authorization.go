package memory

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"strings"
	"time"

	"github.com/grantor-dev/grantor/storage"
)

// The records of the authorization code flow (interactions, authorization
// codes, pushed requests) are few and short-lived, so they are kept as plain
// deep copies of the storage records, unlike the compact token records. They
// share one lock, Store.authMu, and one sweep schedule, and one
// implementation: onceTable.

// onceTable holds the use-once records of one kind: create, read, and a
// compare-and-set of the record's used time (CompletedAt or ConsumedAt).
// Its methods expect Store.authMu to be held (for writing, but for get).
type onceTable[R any] struct {
	what    string // for error messages
	records map[string]*R
	peak    int

	// max bounds len(records); zero means no bound. nUsed counts the
	// used records, and no record expires before firstExpiry (Unix
	// nanoseconds): at the bound, a create scans the table only when
	// that scan can make room.
	max         int
	nUsed       int
	firstExpiry int64
	sweeps      int // scans, for tests

	// clone returns a deep copy with times in UTC; strings appends
	// pointers to every string of the record, key, used and expires
	// point at or return the record's Key, used time and ExpiresAt.
	clone   func(*R) *R
	strings func([]*string, *R) []*string
	// check returns an error wrapping storage.ErrTooLarge for a record
	// larger than the store takes (see checkSize).
	check   func(*R) error
	key     func(*R) *string
	used    func(*R) *time.Time
	expires func(*R) time.Time
	// own, if not nil, gives the stored copy maps of its own whose names
	// and values are copies too (cloneStrings): clone copies maps only,
	// which is enough for the copies it returns, whose strings the store
	// owns already.
	own func(*R)
	// deleted, if not nil, is called with each record a sweep deletes,
	// for a table that indexes its records another way too.
	deleted func(*R)
}

// create stores a deep copy of r under its key. An existing key is
// storage.ErrDuplicate. A used time set at creation is kept. The strings
// are copied too: each may be a slice of a longer string (a code's
// signature is part of the code, a form value part of the request's body)
// that the store must not keep alive.
//
// When the table holds max records, create first deletes those that have
// expired at now (Unix nanoseconds) or been used; if none has, it stores
// nothing and returns storage.ErrFull.
func (t *onceTable[R]) create(r *R, now int64) error {
	if _, ok := t.records[*t.key(r)]; ok {
		return storage.ErrDuplicate
	}
	if t.max > 0 && len(t.records) >= t.max {
		if t.nUsed > 0 || now >= t.firstExpiry {
			t.sweep(now, true)
		}
		if len(t.records) >= t.max {
			return fmt.Errorf("memory: %d %ss pending: %w", len(t.records), t.what, storage.ErrFull)
		}
	}
	c := t.clone(r)
	copyStrings(t.strings(make([]*string, 0, 16), c))
	if t.own != nil {
		t.own(c)
	}
	if exp := clampNano(t.expires(c)); len(t.records) == 0 || exp < t.firstExpiry {
		t.firstExpiry = exp
	}
	if !t.used(c).IsZero() {
		t.nUsed++
	}
	t.records[*t.key(c)] = c
	return nil
}

// copyStrings replaces each string by a copy, all of them in one
// allocation.
func copyStrings(strs []*string) {
	n := 0
	for _, s := range strs {
		n += len(*s)
	}
	var b strings.Builder
	b.Grow(n)
	for _, s := range strs {
		b.WriteString(*s)
	}
	all := b.String()
	for _, s := range strs {
		n := len(*s)
		*s, all = all[:n], all[n:]
	}
}

// get returns a deep copy of the record under key, used or not, or
// storage.ErrNotFound.
func (t *onceTable[R]) get(key string) (*R, error) {
	r, ok := t.records[key]
	if !ok {
		return nil, storage.ErrNotFound
	}
	return t.clone(r), nil
}

// use sets the record's used time to at unless it is set already, and
// returns a copy; a record used before comes back with its first time and
// storage.ErrConsumed. Under the store's lock this is the compare-and-set
// that makes exactly one of many concurrent callers win.
func (t *onceTable[R]) use(key string, at time.Time) (*R, error) {
	r, ok := t.records[key]
	if !ok {
		return nil, storage.ErrNotFound
	}
	used := t.used(r)
	if !used.IsZero() {
		return t.clone(r), storage.ErrConsumed
	}
	*used = at.UTC()
	t.nUsed++
	return t.clone(r), nil
}

// sweep deletes the records whose ExpiresAt is not after now (Unix
// nanoseconds); a zero ExpiresAt counts as expired. Used records stay
// until then, so that a replay is still recognised, unless dropUsed.
func (t *onceTable[R]) sweep(now int64, dropUsed bool) int {
	t.sweeps++
	n := 0
	t.nUsed, t.firstExpiry = 0, math.MaxInt64
	for key, r := range t.records {
		exp, used := clampNano(t.expires(r)), !t.used(r).IsZero()
		if now >= exp || dropUsed && used {
			delete(t.records, key)
			if t.deleted != nil {
				t.deleted(r)
			}
			n++
			continue
		}
		if used {
			t.nUsed++
		}
		t.firstExpiry = min(t.firstExpiry, exp)
	}
	t.records = shrink(t.records, &t.peak)
	return n
}

// createAuth, getAuth and useAuth are the locking around onceTable shared
// by the nine methods below and ConsumeDeviceAuthorization: the context
// first, then the store's lock, a sweep when one is due on writes, and a
// zero time replaced by the store clock's now.
func createAuth[R any](ctx context.Context, s *Store, t *onceTable[R], r *R) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if r == nil {
		return errors.New("memory: nil " + t.what)
	}
	if *t.key(r) == "" {
		return errors.New("memory: " + t.what + " with an empty key")
	}
	if err := t.check(r); err != nil {
		return err
	}
	now := s.now()
	s.authMu.Lock()
	defer s.authMu.Unlock()
	s.maybeSweepAuthLocked(now)
	return t.create(r, clampNano(now))
}

func getAuth[R any](ctx context.Context, s *Store, t *onceTable[R], key string) (*R, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.authMu.RLock()
	defer s.authMu.RUnlock()
	return t.get(key)
}

func useAuth[R any](ctx context.Context, s *Store, t *onceTable[R], key string, at time.Time) (*R, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	now := s.now()
	if at.IsZero() {
		at = now
	}
	s.authMu.Lock()
	defer s.authMu.Unlock()
	s.maybeSweepAuthLocked(now)
	return t.use(key, at)
}

// CreateInteraction implements [storage.InteractionStore]. It stores a deep
// copy of i. A nil record or an empty Key is an error; an existing Key is
// [storage.ErrDuplicate]. A CompletedAt set at creation is kept. An
// interaction larger than [storage.MaxRecordBytes], or with a Key longer
// than [storage.MaxKeyBytes], is refused with an error wrapping
// [storage.ErrTooLarge].
//
// The store holds a bounded number of interactions ([WithMaxInteractions]):
// at the bound it first deletes the expired and completed ones, and if
// none has, it stores nothing and returns an error wrapping
// [storage.ErrFull].
func (s *Store) CreateInteraction(ctx context.Context, i *storage.Interaction) error {
	return createAuth(ctx, s, &s.interactions, i)
}

// Interaction implements [storage.InteractionStore]. It returns a deep copy
// of the interaction, completed or not, or [storage.ErrNotFound]. An expired
// interaction is returned until a sweep deletes it: checking ExpiresAt is the
// caller's job. A completed one may be deleted early to make room (see
// [WithMaxInteractions]).
func (s *Store) Interaction(ctx context.Context, key string) (*storage.Interaction, error) {
	return getAuth(ctx, s, &s.interactions, key)
}

// CompleteInteraction implements [storage.InteractionStore]: a
// compare-and-set of CompletedAt under the store's lock, so of many
// concurrent calls for one key exactly one returns a nil error. The others
// get a copy of the interaction, with the winner's CompletedAt, and
// [storage.ErrConsumed]. A zero at is replaced by the store clock's now. An
// unknown key is [storage.ErrNotFound]. The interaction is completed
// whatever its expiry; checking it is the caller's job.
func (s *Store) CompleteInteraction(ctx context.Context, key string, at time.Time) (*storage.Interaction, error) {
	return useAuth(ctx, s, &s.interactions, key, at)
}

// CreateAuthorizationCode implements [storage.AuthorizationCodeStore]. It
// stores a deep copy of c, Claims included. A nil record or an empty Key is
// an error; an existing Key is [storage.ErrDuplicate]. A ConsumedAt set at
// creation is kept. A record larger than [storage.MaxRecordBytes] (Claims
// counted as JSON), or with a Key or GrantID longer than
// [storage.MaxKeyBytes], is refused with an error wrapping
// [storage.ErrTooLarge]; Claims that cannot be encoded as JSON are an
// error.
func (s *Store) CreateAuthorizationCode(ctx context.Context, c *storage.AuthorizationCode) error {
	return createAuth(ctx, s, &s.codes, c)
}

// AuthorizationCode implements [storage.AuthorizationCodeStore]. It returns
// a deep copy of the code record, redeemed or not, or [storage.ErrNotFound].
// An expired record is returned until a sweep deletes it.
func (s *Store) AuthorizationCode(ctx context.Context, key string) (*storage.AuthorizationCode, error) {
	return getAuth(ctx, s, &s.codes, key)
}

// ConsumeAuthorizationCode implements [storage.AuthorizationCodeStore], the
// use-once step of code redemption (RFC 6749 §4.1.2): of many concurrent
// calls for one key exactly one returns a nil error; the others get the
// record with the winner's ConsumedAt and [storage.ErrConsumed]. A zero at is
// replaced by the store clock's now. An unknown key is [storage.ErrNotFound].
func (s *Store) ConsumeAuthorizationCode(ctx context.Context, key string, at time.Time) (*storage.AuthorizationCode, error) {
	return useAuth(ctx, s, &s.codes, key, at)
}

// CreatePushedRequest implements [storage.PushedRequestStore] (RFC 9126
// §2.2). It stores a deep copy of r. A nil record or an empty Key is an
// error; an existing Key is [storage.ErrDuplicate]. A ConsumedAt set at
// creation is kept. A pushed request larger than [storage.MaxRecordBytes],
// or with a Key longer than [storage.MaxKeyBytes], is refused with an
// error wrapping [storage.ErrTooLarge].
//
// The store holds a bounded number of pushed requests
// ([WithMaxPushedRequests]): at the bound it first deletes the expired and
// consumed ones, and if none has, it stores nothing and returns an error
// wrapping [storage.ErrFull].
func (s *Store) CreatePushedRequest(ctx context.Context, r *storage.PushedRequest) error {
	return createAuth(ctx, s, &s.pushed, r)
}

// PushedRequest implements [storage.PushedRequestStore]. It returns a deep
// copy of the pushed request, used or not, or [storage.ErrNotFound]. An
// expired record is returned until a sweep deletes it. A consumed one may be
// deleted early to make room (see [WithMaxPushedRequests]).
func (s *Store) PushedRequest(ctx context.Context, key string) (*storage.PushedRequest, error) {
	return getAuth(ctx, s, &s.pushed, key)
}

// ConsumePushedRequest implements [storage.PushedRequestStore] (RFC 9126
// §4, single use): of many concurrent calls for one key exactly one returns
// a nil error; the others get the record with the winner's ConsumedAt and
// [storage.ErrConsumed]. A zero at is replaced by the store clock's now. An
// unknown key is [storage.ErrNotFound].
func (s *Store) ConsumePushedRequest(ctx context.Context, key string, at time.Time) (*storage.PushedRequest, error) {
	return useAuth(ctx, s, &s.pushed, key, at)
}

// requestStrings appends pointers to the strings of r to strs.
func requestStrings(strs []*string, r *storage.AuthorizationRequest) []*string {
	strs = append(strs, &r.ClientID, &r.RedirectURI, &r.ResponseType, &r.ResponseMode, &r.State,
		&r.CodeChallenge, &r.CodeChallengeMethod, &r.PushedKey, &r.DPoPKeyThumbprint)
	for _, l := range [...][]string{r.Scopes, r.Resources, r.Prompt} {
		for i := range l {
			strs = append(strs, &l[i])
		}
	}
	return strs
}

// interactionStrings, codeStrings and pushedStrings append pointers to
// the strings of a record to strs. A code's Claims are the application's
// values, left as they are.
func interactionStrings(strs []*string, i *storage.Interaction) []*string {
	return requestStrings(append(strs, &i.Key, &i.BrowserBinding, &i.DeviceAuthorizationKey), &i.Request)
}

func codeStrings(strs []*string, c *storage.AuthorizationCode) []*string {
	strs = requestStrings(append(strs, &c.Key, &c.GrantID, &c.Subject), &c.Request)
	for i := range c.Scopes {
		strs = append(strs, &c.Scopes[i])
	}
	return strs
}

func pushedStrings(strs []*string, r *storage.PushedRequest) []*string {
	return requestStrings(append(strs, &r.Key), &r.Request)
}

// ownRequest gives a stored request a Parameters map of its own (see
// onceTable.own).
func ownRequest(r *storage.AuthorizationRequest) { r.Parameters = cloneStrings(r.Parameters) }

// cloneInteraction returns a deep copy of i with its times in UTC.
func cloneInteraction(i *storage.Interaction) *storage.Interaction {
	c := *i
	storage.CloneLists(&c.Request.Scopes, &c.Request.Resources, &c.Request.Prompt)
	c.Request.Parameters = maps.Clone(c.Request.Parameters)
	c.CreatedAt = i.CreatedAt.UTC()
	c.ExpiresAt = i.ExpiresAt.UTC()
	c.CompletedAt = i.CompletedAt.UTC()
	return &c
}

// cloneAuthorizationCode returns a deep copy of c, Claims included, with its
// times in UTC.
func cloneAuthorizationCode(c *storage.AuthorizationCode) *storage.AuthorizationCode {
	cc := *c
	storage.CloneLists(&cc.Request.Scopes, &cc.Request.Resources, &cc.Request.Prompt, &cc.Scopes)
	cc.Claims = storage.CloneClaims(c.Claims)
	cc.Request.Parameters = maps.Clone(c.Request.Parameters)
	cc.Extensions = maps.Clone(c.Extensions)
	cc.AuthTime = c.AuthTime.UTC()
	cc.IssuedAt = c.IssuedAt.UTC()
	cc.ExpiresAt = c.ExpiresAt.UTC()
	cc.ConsumedAt = c.ConsumedAt.UTC()
	return &cc
}

// clonePushedRequest returns a deep copy of r with its times in UTC.
func clonePushedRequest(r *storage.PushedRequest) *storage.PushedRequest {
	c := *r
	storage.CloneLists(&c.Request.Scopes, &c.Request.Resources, &c.Request.Prompt)
	c.Request.Parameters = maps.Clone(c.Request.Parameters)
	c.CreatedAt = r.CreatedAt.UTC()
	c.ExpiresAt = r.ExpiresAt.UTC()
	c.ConsumedAt = r.ConsumedAt.UTC()
	return &c
}
