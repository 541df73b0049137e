package memory

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/grantor-dev/grantor/storage"
)

// The records of the authorization code flow (interactions, authorization
// codes, pushed requests) are few and short-lived, so they are kept as plain
// deep copies of the storage records, unlike the compact token records. They
// share one lock, Store.authMu, and one sweep schedule.

// CreateInteraction implements [storage.InteractionStore]. It stores a deep
// copy of i. A nil record or an empty Key is an error; an existing Key is
// [storage.ErrDuplicate]. A CompletedAt set at creation is kept.
func (s *Store) CreateInteraction(ctx context.Context, i *storage.Interaction) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if i == nil {
		return errors.New("memory: nil interaction")
	}
	if i.Key == "" {
		return errors.New("memory: interaction with an empty key")
	}
	c := cloneInteraction(i)
	c.Key = strings.Clone(i.Key)
	now := s.now()
	s.authMu.Lock()
	defer s.authMu.Unlock()
	s.maybeSweepAuthLocked(now)
	if _, ok := s.interactions[c.Key]; ok {
		return storage.ErrDuplicate
	}
	s.interactions[c.Key] = c
	return nil
}

// Interaction implements [storage.InteractionStore]. It returns a deep copy
// of the interaction, completed or not, or [storage.ErrNotFound]. An expired
// interaction is returned until a sweep deletes it: checking ExpiresAt is the
// caller's job.
func (s *Store) Interaction(ctx context.Context, key string) (*storage.Interaction, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.authMu.RLock()
	defer s.authMu.RUnlock()
	i, ok := s.interactions[key]
	if !ok {
		return nil, storage.ErrNotFound
	}
	return cloneInteraction(i), nil
}

// CompleteInteraction implements [storage.InteractionStore]: a
// compare-and-set of CompletedAt under the store's lock, so of many
// concurrent calls for one key exactly one returns a nil error. The others
// get a copy of the interaction, with the winner's CompletedAt, and
// [storage.ErrConsumed]. A zero at is replaced by the store clock's now. An
// unknown key is [storage.ErrNotFound].
//
// The interaction is completed whatever its expiry; checking it is the
// caller's job, on the returned copy.
func (s *Store) CompleteInteraction(ctx context.Context, key string, at time.Time) (*storage.Interaction, error) {
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
	i, ok := s.interactions[key]
	if !ok {
		return nil, storage.ErrNotFound
	}
	if !i.CompletedAt.IsZero() {
		return cloneInteraction(i), storage.ErrConsumed
	}
	i.CompletedAt = at.UTC()
	return cloneInteraction(i), nil
}

// CreateAuthorizationCode implements [storage.AuthorizationCodeStore]. It
// stores a deep copy of c, Claims included. A nil record or an empty Key is
// an error; an existing Key is [storage.ErrDuplicate]. A ConsumedAt set at
// creation is kept.
func (s *Store) CreateAuthorizationCode(ctx context.Context, c *storage.AuthorizationCode) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if c == nil {
		return errors.New("memory: nil authorization code record")
	}
	if c.Key == "" {
		return errors.New("memory: authorization code record with an empty key")
	}
	cc := cloneAuthorizationCode(c)
	// The key is cut out of the code the client holds: a copy, so that the
	// store never keeps the code itself in memory.
	cc.Key = strings.Clone(c.Key)
	now := s.now()
	s.authMu.Lock()
	defer s.authMu.Unlock()
	s.maybeSweepAuthLocked(now)
	if _, ok := s.codes[cc.Key]; ok {
		return storage.ErrDuplicate
	}
	s.codes[cc.Key] = cc
	return nil
}

// AuthorizationCode implements [storage.AuthorizationCodeStore]. It returns a
// deep copy of the record, redeemed or not, or [storage.ErrNotFound]. An
// expired record is returned until a sweep deletes it: checking ExpiresAt is
// the caller's job.
func (s *Store) AuthorizationCode(ctx context.Context, key string) (*storage.AuthorizationCode, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.authMu.RLock()
	defer s.authMu.RUnlock()
	c, ok := s.codes[key]
	if !ok {
		return nil, storage.ErrNotFound
	}
	return cloneAuthorizationCode(c), nil
}

// ConsumeAuthorizationCode implements [storage.AuthorizationCodeStore], the
// use-once step of the token request (RFC 6749 §4.1.2, "the client MUST NOT
// use the authorization code more than once"): a compare-and-set of
// ConsumedAt under the store's lock, so of many concurrent calls for one key
// exactly one returns a nil error. The others get a copy of the record, with
// the winner's ConsumedAt, and [storage.ErrConsumed], which tells the caller
// to revoke the grant. A zero at is replaced by the store clock's now. An
// unknown key is [storage.ErrNotFound].
//
// The code is consumed whatever its expiry; checking it is the caller's
// job, on the returned copy. A consumed code is kept until its ExpiresAt, so
// a replay until then is ErrConsumed.
func (s *Store) ConsumeAuthorizationCode(ctx context.Context, key string, at time.Time) (*storage.AuthorizationCode, error) {
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
	c, ok := s.codes[key]
	if !ok {
		return nil, storage.ErrNotFound
	}
	if !c.ConsumedAt.IsZero() {
		return cloneAuthorizationCode(c), storage.ErrConsumed
	}
	c.ConsumedAt = at.UTC()
	return cloneAuthorizationCode(c), nil
}

// CreatePushedRequest implements [storage.PushedRequestStore] (RFC 9126
// §2.2). It stores a deep copy of r. A nil record or an empty Key is an
// error; an existing Key is [storage.ErrDuplicate]. A ConsumedAt set at
// creation is kept.
func (s *Store) CreatePushedRequest(ctx context.Context, r *storage.PushedRequest) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if r == nil {
		return errors.New("memory: nil pushed request")
	}
	if r.Key == "" {
		return errors.New("memory: pushed request with an empty key")
	}
	c := clonePushedRequest(r)
	c.Key = strings.Clone(r.Key)
	now := s.now()
	s.authMu.Lock()
	defer s.authMu.Unlock()
	s.maybeSweepAuthLocked(now)
	if _, ok := s.pushed[c.Key]; ok {
		return storage.ErrDuplicate
	}
	s.pushed[c.Key] = c
	return nil
}

// PushedRequest implements [storage.PushedRequestStore]. It returns a deep
// copy of the record, consumed or not, or [storage.ErrNotFound]. An expired
// record is returned until a sweep deletes it: checking ExpiresAt is the
// caller's job.
func (s *Store) PushedRequest(ctx context.Context, key string) (*storage.PushedRequest, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.authMu.RLock()
	defer s.authMu.RUnlock()
	r, ok := s.pushed[key]
	if !ok {
		return nil, storage.ErrNotFound
	}
	return clonePushedRequest(r), nil
}

// ConsumePushedRequest implements [storage.PushedRequestStore], the single
// use of a request_uri (RFC 9126 §4): a compare-and-set of ConsumedAt under
// the store's lock, so of many concurrent calls for one key exactly one
// returns a nil error. The others get a copy of the record, with the
// winner's ConsumedAt, and [storage.ErrConsumed]. A zero at is replaced by
// the store clock's now. An unknown key is [storage.ErrNotFound].
//
// The request is consumed whatever its expiry; checking it is the caller's
// job, on the returned copy.
func (s *Store) ConsumePushedRequest(ctx context.Context, key string, at time.Time) (*storage.PushedRequest, error) {
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
	r, ok := s.pushed[key]
	if !ok {
		return nil, storage.ErrNotFound
	}
	if !r.ConsumedAt.IsZero() {
		return clonePushedRequest(r), storage.ErrConsumed
	}
	r.ConsumedAt = at.UTC()
	return clonePushedRequest(r), nil
}

// cloneInteraction returns a deep copy of i with its times in UTC.
func cloneInteraction(i *storage.Interaction) *storage.Interaction {
	c := *i
	c.Request = cloneAuthorizationRequest(&i.Request)
	c.CreatedAt = i.CreatedAt.UTC()
	c.ExpiresAt = i.ExpiresAt.UTC()
	c.CompletedAt = i.CompletedAt.UTC()
	return &c
}

// cloneAuthorizationCode returns a deep copy of c, Claims included, with its
// times in UTC.
func cloneAuthorizationCode(c *storage.AuthorizationCode) *storage.AuthorizationCode {
	cc := *c
	cc.Request = cloneAuthorizationRequest(&c.Request)
	cc.Scopes = slices.Clone(c.Scopes)
	cc.Claims = cloneClaims(c.Claims)
	cc.AuthTime = c.AuthTime.UTC()
	cc.IssuedAt = c.IssuedAt.UTC()
	cc.ExpiresAt = c.ExpiresAt.UTC()
	cc.ConsumedAt = c.ConsumedAt.UTC()
	return &cc
}

// clonePushedRequest returns a deep copy of r with its times in UTC.
func clonePushedRequest(r *storage.PushedRequest) *storage.PushedRequest {
	c := *r
	c.Request = cloneAuthorizationRequest(&r.Request)
	c.CreatedAt = r.CreatedAt.UTC()
	c.ExpiresAt = r.ExpiresAt.UTC()
	c.ConsumedAt = r.ConsumedAt.UTC()
	return &c
}

// cloneAuthorizationRequest returns a deep copy of r. Nil and empty lists
// stay as they are.
func cloneAuthorizationRequest(r *storage.AuthorizationRequest) storage.AuthorizationRequest {
	c := *r
	c.Scopes = slices.Clone(r.Scopes)
	c.Resources = slices.Clone(r.Resources)
	c.Prompt = slices.Clone(r.Prompt)
	return c
}
