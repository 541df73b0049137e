package main

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"sync"
	"time"
)

// Limits of the login sessions.
const (
	// sessionLifetime bounds a session: after it, the user logs in again.
	sessionLifetime = 8 * time.Hour
	// maxSessions caps the memory the sessions take. Only a successful
	// login makes a session (a login form keeps nothing on the server, see
	// csrf.go), each login is throttled (throttle.go), and each user keeps
	// at most maxSessionsPerUser: so anonymous traffic cannot reach the
	// cap, and logging in again and again as one user (the demo user's
	// password is public) cannot either. Reaching it takes the passwords
	// of maxSessions/maxSessionsPerUser users.
	maxSessions = 100_000
	// maxSessionsPerUser is how many browsers one user may be logged in
	// from at once; a new login ends the user's oldest session beyond it.
	maxSessionsPerUser = 10
)

// session is a user's login in one browser. Sessions are never changed
// once stored: logging in again replaces the session with a new one under
// a new id.
type session struct {
	user     *user
	authTime time.Time
	// loggedInFor is the interaction the user last logged in for, which
	// satisfies that interaction's prompt=login.
	loggedInFor string
	expires     time.Time
}

// sessionStore holds the sessions in memory, under the SHA-256 of their
// id so that the map's lookups reveal nothing of the ids by timing.
type sessionStore struct {
	// max and maxPerUser are maxSessions and maxSessionsPerUser, except
	// in tests.
	max, maxPerUser int

	mu sync.Mutex
	m  map[string]*session
	// byUser holds each user's session keys, oldest first. It may still
	// name sessions that have ended; put drops those.
	byUser map[string][]string
}

// newSessionStore returns an empty store of at most max sessions, and at
// most maxPerUser for each user.
func newSessionStore(max, maxPerUser int) *sessionStore {
	return &sessionStore{max: max, maxPerUser: maxPerUser,
		m: make(map[string]*session), byUser: make(map[string][]string)}
}

// errTooManySessions refuses a new session when the store is full of
// live ones.
var errTooManySessions = errors.New("too many sessions")

// sessionKey is the map key of a session id: its SHA-256.
func sessionKey(sid string) string {
	sum := sha256.Sum256([]byte(sid))
	return string(sum[:])
}

// put stores s under sid. It first ends the user's oldest sessions beyond
// maxPerUser-1, then, when the store is full, drops the expired sessions
// of everyone.
func (st *sessionStore) put(sid string, s *session, now time.Time) error {
	st.mu.Lock()
	defer st.mu.Unlock()
	name := s.user.Username
	var live []string
	for _, k := range st.byUser[name] {
		if v, ok := st.m[k]; ok && now.Before(v.expires) {
			live = append(live, k)
		} else {
			delete(st.m, k)
		}
	}
	for len(live) >= st.maxPerUser {
		delete(st.m, live[0])
		live = live[1:]
	}
	st.byUser[name] = live
	if len(st.m) >= st.max {
		for k, v := range st.m {
			if !now.Before(v.expires) {
				delete(st.m, k)
			}
		}
		if len(st.m) >= st.max {
			return errTooManySessions
		}
	}
	key := sessionKey(sid)
	st.m[key] = s
	st.byUser[name] = append(live, key)
	return nil
}

// get returns the live session of sid, or nil, dropping it if expired.
func (st *sessionStore) get(sid string, now time.Time) *session {
	st.mu.Lock()
	defer st.mu.Unlock()
	s := st.m[sessionKey(sid)]
	if s != nil && !now.Before(s.expires) {
		delete(st.m, sessionKey(sid))
		return nil
	}
	return s
}

// delete ends a session: at login, the one the new login replaces.
func (st *sessionStore) delete(sid string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	delete(st.m, sessionKey(sid))
}

// session returns the browser's session and its id, or nil.
func (pg *pages) session(r *http.Request) (string, *session) {
	c, err := r.Cookie(pg.cookieName)
	if err != nil || c.Value == "" {
		return "", nil
	}
	s := pg.sessions.get(c.Value, pg.clock())
	if s == nil {
		return "", nil
	}
	return c.Value, s
}

// startSession stores s under a new random id and gives the browser its
// cookie: HttpOnly, SameSite=Lax (sent on the top-level navigation from
// the client, so a logged-in user is not asked again), Secure with https.
func (pg *pages) startSession(w http.ResponseWriter, s *session) (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	sid := base64.RawURLEncoding.EncodeToString(b[:])
	if err := pg.sessions.put(sid, s, pg.clock()); err != nil {
		return "", err
	}
	http.SetCookie(w, &http.Cookie{
		Name: pg.cookieName, Value: sid, Path: "/", HttpOnly: true, Secure: pg.secure,
		SameSite: http.SameSiteLaxMode, MaxAge: int(s.expires.Sub(pg.clock()) / time.Second),
	})
	return sid, nil
}
