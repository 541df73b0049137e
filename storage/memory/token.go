package memory

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/grantor-dev/grantor/storage"
)

// CreateTokens implements [storage.TokenStore]. It stores copies of the
// records atomically: if one of them is nil, has an empty Key, or has a Key
// that is already stored or repeated in the batch, nothing is stored. A
// duplicate key is [storage.ErrDuplicate]. A record larger than
// [storage.MaxRecordBytes] (Claims counted as JSON), or with a Key or
// GrantID longer than [storage.MaxKeyBytes], is an error wrapping
// [storage.ErrTooLarge], and Claims that cannot be encoded as JSON are an
// error: then too nothing is stored. A record for a revoked grant is
// stored with RevokedAt set to the grant's revocation time, unless it is
// already set.
//
// A record with an empty GrantID belongs to no grant: no RevokeGrant call
// reaches it.
func (s *Store) CreateTokens(ctx context.Context, tokens ...*storage.Token) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	for _, t := range tokens {
		if t == nil {
			return errors.New("memory: nil token record")
		}
		if t.Key == "" {
			return errors.New("memory: token record with an empty key")
		}
		n, err := t.Size()
		if err := storage.CheckSize("memory: token record", n, err, t.Key, t.GrantID); err != nil {
			return err
		}
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.maybeSweepLocked(now)

	for i, t := range tokens {
		if _, ok := s.tokens[t.Key]; ok {
			return storage.ErrDuplicate
		}
		for _, u := range tokens[:i] {
			if u.Key == t.Key {
				return storage.ErrDuplicate
			}
		}
	}
	for _, t := range tokens {
		var r *record
		if g, ok := s.grants[t.GrantID]; ok || t.GrantID == "" {
			r = s.newRecord(t)
			if g != nil {
				r.grant = g
				g.tokens = append(g.tokens, r)
				if g.revoked != nil && r.time(tRevoked).IsZero() {
					r.setTime(tRevoked, g.revoked.at)
				}
			}
		} else {
			// The first record of a grant (every client credentials token,
			// every code exchange) is allocated together with the grant's
			// index entry, which lists it in its inline slot.
			rg := &recordAndGrant{}
			s.fillRecord(&rg.r, t)
			g := &rg.g
			g.id = strings.Clone(t.GrantID)
			g.first[0] = &rg.r
			g.tokens = g.first[:1:1]
			s.grants[g.id] = g
			r = &rg.r
			r.grant = g
		}
		s.tokens[strings.Clone(t.Key)] = slot{r: r, exp: clampNano(t.ExpiresAt)}
	}
	return nil
}

// grantLocked returns the index entry of the grant, creating it. s.mu must
// be held for writing.
func (s *Store) grantLocked(id string) *grant {
	g, ok := s.grants[id]
	if !ok {
		g = &grant{id: strings.Clone(id)}
		s.grants[g.id] = g
	}
	return g
}

// Token implements [storage.TokenStore]. It returns a copy of the record,
// which the caller may modify, or [storage.ErrNotFound]. An expired record is
// returned until a sweep deletes it.
func (s *Store) Token(ctx context.Context, key string) (*storage.Token, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	sl, ok := s.tokens[key]
	r := sl.r
	if !ok {
		return nil, storage.ErrNotFound
	}
	return r.export(key), nil
}

// RevokeToken implements [storage.TokenStore] (RFC 7009 §2.1). A record revoked already
// keeps its first RevokedAt. A zero at is replaced by the store clock's
// now, so that the record is marked revoked. An unknown key is
// [storage.ErrNotFound].
func (s *Store) RevokeToken(ctx context.Context, key string, at time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	now := s.now()
	if at.IsZero() {
		at = now
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.maybeSweepLocked(now)
	sl, ok := s.tokens[key]
	r := sl.r
	if !ok {
		return storage.ErrNotFound
	}
	if r.time(tRevoked).IsZero() {
		r.setTime(tRevoked, at)
	}
	return nil
}

// RevokeGrant implements [storage.TokenStore]: revoking a grant revokes
// every token issued from it (RFC 7009 §2.1, RFC 9700 §4.14.2). It sets RevokedAt on every
// record of the grant that is not revoked yet, and remembers the grant as
// revoked (see [WithRevokedGrantRetention]) so that records created for it
// later are stored revoked. It takes time proportional to the grant's
// records, not to the whole store. A zero at is replaced by the store
// clock's now. An empty grantID names no grant and does nothing.
func (s *Store) RevokeGrant(ctx context.Context, grantID string, at time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if grantID == "" {
		return nil
	}
	now := s.now()
	if at.IsZero() {
		at = now
	}
	keepUntil := now
	if at.After(now) {
		keepUntil = at
	}
	keepUntil = keepUntil.Add(s.grantRetention)

	s.mu.Lock()
	defer s.mu.Unlock()
	s.maybeSweepLocked(now)
	g := s.grantLocked(grantID)
	if g.revoked == nil {
		g.revoked = &revocation{at: at.UTC(), keepUntil: keepUntil}
		s.revokedGrants[g.id] = g
	} else if keepUntil.After(g.revoked.keepUntil) {
		g.revoked.keepUntil = keepUntil
	}
	for _, r := range g.tokens {
		if r.time(tRevoked).IsZero() {
			r.setTime(tRevoked, at)
		}
	}
	return nil
}

// ConsumeToken implements [storage.RefreshTokenStore], the use-once step of
// refresh token rotation (RFC 9700 §4.14.2): a compare-and-set of
// ConsumedAt under the store's lock, so of many concurrent calls for one key
// exactly one returns a nil error. The others get a copy of the record, with
// the winner's ConsumedAt, and [storage.ErrConsumed]. A zero at is replaced
// by the store clock's now. An unknown key is [storage.ErrNotFound].
//
// The record is consumed whatever its kind, expiry or revocation; checking
// those is the caller's job, on the returned copy.
func (s *Store) ConsumeToken(ctx context.Context, key string, at time.Time) (*storage.Token, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	now := s.now()
	if at.IsZero() {
		at = now
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.maybeSweepLocked(now)
	sl, ok := s.tokens[key]
	r := sl.r
	if !ok {
		return nil, storage.ErrNotFound
	}
	if !r.time(tConsumed).IsZero() {
		return r.export(key), storage.ErrConsumed
	}
	r.setTime(tConsumed, at)
	return r.export(key), nil
}
