package memory

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/grantor-dev/grantor/storage"
)

// DefaultMaxLoginSessions is how many login sessions the store holds at
// most (see WithMaxLoginSessions).
const DefaultMaxLoginSessions = 100_000

// sessionTable holds the login sessions of the store.
type sessionTable struct {
	mu       sync.Mutex
	sessions map[string]*storage.LoginSession
	// byID indexes sessions by ID: the keys of the sessions that have it,
	// in the order they were created. Usually one; two while a new login
	// replaces a session under its ID. Every key of sessions is in it
	// once, and nothing else: addIDLocked and removeIDLocked keep it so
	// wherever a session enters or leaves sessions.
	byID      map[string][]string
	max       int
	nextSweep time.Time
	peak      int // see shrink
	byIDPeak  int
}

// WithMaxLoginSessions bounds how many login sessions the store holds:
// at the bound, a new session first makes the expired ones go, and if
// none has expired it is refused with storage.ErrFull. Zero means
// DefaultMaxLoginSessions.
func WithMaxLoginSessions(n int) Option {
	return func(s *Store) { s.sessions.max = orDefault(n, DefaultMaxLoginSessions) }
}

// cloneSession returns a deep copy of ls with its times in UTC.
func cloneSession(ls *storage.LoginSession) *storage.LoginSession {
	c := *ls
	storage.CloneLists(&c.AMR, &c.Clients)
	c.AuthTime = ls.AuthTime.UTC()
	c.CreatedAt = ls.CreatedAt.UTC()
	c.ExpiresAt = ls.ExpiresAt.UTC()
	return &c
}

// CreateLoginSession implements [storage.LoginSessionStore]. A nil
// session or an empty Key is an error; a session larger than
// [storage.MaxRecordBytes], or with a Key longer than
// [storage.MaxKeyBytes], is refused with an error wrapping
// [storage.ErrTooLarge]. Nothing is stored then.
func (s *Store) CreateLoginSession(ctx context.Context, ls *storage.LoginSession) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if ls == nil {
		return errors.New("memory: create login session: nil session")
	}
	if ls.Key == "" {
		return errors.New("memory: create login session: empty key")
	}
	if err := storage.CheckSize("memory: login session", ls.Size(), nil, ls.Key); err != nil {
		return err
	}
	t := &s.sessions
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.sessions == nil {
		t.sessions = make(map[string]*storage.LoginSession)
	}
	if _, ok := t.sessions[ls.Key]; ok {
		return storage.ErrDuplicate
	}
	now := s.now()
	if s.sweepDue(now, t.nextSweep) {
		t.sweepLocked(s, now)
	}
	if limit := orDefault(t.max, DefaultMaxLoginSessions); len(t.sessions) >= limit {
		t.sweepLocked(s, now)
		if len(t.sessions) >= limit {
			return fmt.Errorf("memory: %d login sessions: %w", len(t.sessions), storage.ErrFull)
		}
	}
	c := cloneSession(ls)
	copyStrings(sessionStrings(c))
	t.sessions[c.Key] = c
	t.addIDLocked(c)
	return nil
}

// addIDLocked indexes ls, just stored, under its ID. t.mu must be held.
func (t *sessionTable) addIDLocked(ls *storage.LoginSession) {
	if t.byID == nil {
		t.byID = make(map[string][]string)
	}
	t.byID[ls.ID] = append(t.byID[ls.ID], ls.Key)
}

// removeIDLocked removes ls, just deleted, from the index of IDs, and the
// ID with it when no other session has it. t.mu must be held.
func (t *sessionTable) removeIDLocked(ls *storage.LoginSession) {
	keys := slices.DeleteFunc(t.byID[ls.ID], func(k string) bool { return k == ls.Key })
	if len(keys) == 0 {
		delete(t.byID, ls.ID)
		return
	}
	t.byID[ls.ID] = keys
}

// sessionStrings returns pointers to the strings of ls.
func sessionStrings(ls *storage.LoginSession) []*string {
	strs := []*string{&ls.Key, &ls.ID, &ls.Subject, &ls.ACR}
	for i := range ls.AMR {
		strs = append(strs, &ls.AMR[i])
	}
	for i := range ls.Clients {
		strs = append(strs, &ls.Clients[i])
	}
	return strs
}

// LoginSession implements [storage.LoginSessionStore]. An expired
// session is [storage.ErrNotFound].
func (s *Store) LoginSession(ctx context.Context, key string) (*storage.LoginSession, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	t := &s.sessions
	t.mu.Lock()
	defer t.mu.Unlock()
	ls, ok := t.sessions[key]
	if !ok || !s.now().Before(ls.ExpiresAt) {
		return nil, storage.ErrNotFound
	}
	return cloneSession(ls), nil
}

// LoginSessionByID implements [storage.LoginSessionStore]: it reads an
// index of the sessions by ID, not every session. As for LoginSession, an
// expired session is [storage.ErrNotFound]. Of two unexpired sessions
// that share the ID while a new login replaces one, it returns the one
// created last.
func (s *Store) LoginSessionByID(ctx context.Context, id string) (*storage.LoginSession, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	t := &s.sessions
	t.mu.Lock()
	defer t.mu.Unlock()
	now := s.now()
	keys := t.byID[id]
	for i := len(keys) - 1; i >= 0; i-- {
		if ls := t.sessions[keys[i]]; ls != nil && now.Before(ls.ExpiresAt) {
			return cloneSession(ls), nil
		}
	}
	return nil, storage.ErrNotFound
}

// AddSessionClient implements [storage.LoginSessionStore]. A client that
// would make the session larger than [storage.MaxRecordBytes] is refused
// with an error wrapping [storage.ErrTooLarge], and the session is
// unchanged.
func (s *Store) AddSessionClient(ctx context.Context, key, clientID string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	t := &s.sessions
	t.mu.Lock()
	defer t.mu.Unlock()
	ls, ok := t.sessions[key]
	if !ok {
		return storage.ErrNotFound
	}
	if slices.Contains(ls.Clients, clientID) || len(ls.Clients) >= storage.MaxSessionClients {
		return nil
	}
	if err := storage.CheckSize("memory: login session", ls.Size()+len(clientID), nil); err != nil {
		return err
	}
	// A new list: a copy handed out earlier shares no array with it.
	ls.Clients = append(slices.Clip(ls.Clients), strings.Clone(clientID))
	return nil
}

// DeleteLoginSession implements [storage.LoginSessionStore].
func (s *Store) DeleteLoginSession(ctx context.Context, key string) (*storage.LoginSession, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	t := &s.sessions
	t.mu.Lock()
	defer t.mu.Unlock()
	ls, ok := t.sessions[key]
	if !ok {
		return nil, storage.ErrNotFound
	}
	delete(t.sessions, key)
	t.removeIDLocked(ls)
	return cloneSession(ls), nil
}

// sweepLocked deletes the sessions whose ExpiresAt is not after now, and
// returns how many it deleted. t.mu must be held.
func (t *sessionTable) sweepLocked(s *Store, now time.Time) int {
	t.nextSweep = now.Add(s.sweepInterval)
	n := 0
	for k, ls := range t.sessions {
		if !now.Before(ls.ExpiresAt) {
			delete(t.sessions, k)
			t.removeIDLocked(ls)
			n++
		}
	}
	t.sessions = shrink(t.sessions, &t.peak)
	t.byID = shrink(t.byID, &t.byIDPeak)
	return n
}

// sweep deletes the expired sessions (see sweepLocked).
func (t *sessionTable) sweep(s *Store, now time.Time) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.sweepLocked(s, now)
}
