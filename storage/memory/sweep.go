package memory

import (
	"context"
	"maps"
	"slices"
	"time"
)

// DeleteExpired deletes, at the store clock's now, the token records whose
// ExpiresAt has passed (consumed refresh tokens included, so that a reuse is
// detected until then), the replay entries that have expired, the
// revoked-grant markers past their retention whose grant has no record left,
// the interactions, authorization codes and pushed requests whose ExpiresAt
// has passed (completed and consumed ones included, so that a replayed
// code is recognised until then), the device authorizations whose
// ExpiresAt is storage.DeviceAuthorizationRetention past, and the login
// sessions whose ExpiresAt has passed. It returns how
// many records and replay entries it deleted, revoked-grant markers not
// counted.
//
// Writes call it on their own once per sweep interval ([WithSweepInterval]);
// call it to free memory at a time of your choosing.
func (s *Store) DeleteExpired(ctx context.Context) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	now := s.now()
	s.mu.Lock()
	n := s.sweepLocked(now)
	s.mu.Unlock()
	s.replayMu.Lock()
	n += s.sweepReplayLocked(now)
	s.replayMu.Unlock()
	s.authMu.Lock()
	n += s.sweepAuthLocked(now)
	s.authMu.Unlock()
	n += s.sessions.sweep(s, now)
	return n, nil
}

// maybeSweepLocked sweeps the token records if a sweep is due. s.mu must be
// held for writing.
func (s *Store) maybeSweepLocked(now time.Time) {
	if s.sweepDue(now, s.nextSweep) {
		s.sweepLocked(now)
	}
}

// sweepDue reports whether a sweep scheduled for next is due at now. A clock
// set back by more than the interval (a test's fake clock, say) makes it due
// too, rather than postponing sweeps until the clock catches up.
func (s *Store) sweepDue(now, next time.Time) bool {
	return s.sweepInterval > 0 &&
		(!now.Before(next) || now.Before(next.Add(-s.sweepInterval)))
}

// sweepLocked deletes expired token records and stale grant index entries.
// It reads every slot of the token map (a sequential scan, about a
// millisecond per 200,000 records) and visits only the expired records,
// their grants and the revoked grants. s.mu must be held for writing.
func (s *Store) sweepLocked(now time.Time) int {
	s.nextSweep = now.Add(s.sweepInterval)
	t := clampNano(now)
	var affected map[*grant]struct{}
	n := 0
	for key, sl := range s.tokens {
		if t < sl.exp {
			continue
		}
		delete(s.tokens, key)
		n++
		r := sl.r
		if r.grant != nil {
			if affected == nil {
				affected = make(map[*grant]struct{})
			}
			affected[r.grant] = struct{}{}
		}
		// Cleared, not only marked: the first record of a grant shares
		// its allocation with the grant's entry (recordAndGrant), which
		// may outlive it, and must keep nothing else alive through it.
		*r = record{dead: true}
	}
	for g := range affected {
		g.tokens = slices.DeleteFunc(g.tokens, func(r *record) bool { return r.dead })
		if len(g.tokens) == 0 {
			g.tokens = nil
			if g.revoked == nil {
				delete(s.grants, g.id)
			}
		}
	}
	for id, g := range s.revokedGrants {
		if len(g.tokens) == 0 && !now.Before(g.revoked.keepUntil) {
			delete(s.revokedGrants, id)
			delete(s.grants, id)
		}
	}
	s.tokens = shrink(s.tokens, &s.tokensPeak)
	s.grants = shrink(s.grants, &s.grantsPeak)
	s.revokedGrants = shrink(s.revokedGrants, &s.revokedPeak)
	return n
}

// maybeSweepReplayLocked sweeps the replay entries if a sweep is due.
// s.replayMu must be held.
func (s *Store) maybeSweepReplayLocked(now time.Time) {
	if s.sweepDue(now, s.replayNextSweep) {
		s.sweepReplayLocked(now)
	}
}

// sweepReplayLocked deletes expired replay entries. s.replayMu must be held.
func (s *Store) sweepReplayLocked(now time.Time) int {
	s.replayNextSweep = now.Add(s.sweepInterval)
	t := clampNano(now)
	n := 0
	for key, exp := range s.replay {
		if t >= exp {
			delete(s.replay, key)
			n++
		}
	}
	s.replay = shrink(s.replay, &s.replayPeak)
	return n
}

// maybeSweepAuthLocked sweeps the interactions, authorization codes,
// pushed requests and device authorizations if a sweep is due. s.authMu must be held for writing.
func (s *Store) maybeSweepAuthLocked(now time.Time) {
	if s.sweepDue(now, s.authNextSweep) {
		s.sweepAuthLocked(now)
	}
}

// sweepAuthLocked deletes the interactions, authorization codes and pushed
// requests whose ExpiresAt is not after now, and the device authorizations
// whose retention past it has ended; a zero ExpiresAt counts as expired.
// Completed, consumed and decided records stay until then. s.authMu must be
// held for writing.
func (s *Store) sweepAuthLocked(now time.Time) int {
	s.authNextSweep = now.Add(s.sweepInterval)
	t := clampNano(now)
	return s.interactions.sweep(t, false) + s.codes.sweep(t, false) + s.pushed.sweep(t, false) +
		s.devices.sweepDevices(t)
}

// shrink returns m, or a copy of m if it has fallen to a quarter of the
// largest size it had since it was last copied: Go maps never give back the
// memory of deleted entries. *peak tracks that size.
func shrink[M ~map[K]V, K comparable, V any](m M, peak *int) M {
	const minPeak = 1024
	*peak = max(*peak, len(m))
	if *peak < minPeak || len(m) > *peak/4 {
		return m
	}
	*peak = len(m)
	c := make(M, len(m)) // not maps.Clone: it keeps the old table sizes
	maps.Copy(c, m)
	return c
}
