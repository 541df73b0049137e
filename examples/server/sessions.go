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

// session is a browser's login state. Sessions are never changed once
// stored: logging in replaces the session with a new one under a new id.
type session struct {
	// user is nil in an anonymous session, which only carries the login
	// form's CSRF token.
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
	mu sync.Mutex
	m  map[string]*session
}

// errTooManySessions refuses a new session when the store is full of
// live ones.
var errTooManySessions = errors.New("too many sessions")

// sessionKey is the map key of a session id: its SHA-256.
func sessionKey(sid string) string {
	sum := sha256.Sum256([]byte(sid))
	return string(sum[:])
}

// put stores s under sid, first dropping expired sessions when the store
// is full.
func (st *sessionStore) put(sid string, s *session, now time.Time) error {
	st.mu.Lock()
	defer st.mu.Unlock()
	if len(st.m) >= maxSessions {
		for k, v := range st.m {
			if !now.Before(v.expires) {
				delete(st.m, k)
			}
		}
		if len(st.m) >= maxSessions {
			return errTooManySessions
		}
	}
	st.m[sessionKey(sid)] = s
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

// delete ends a session: at login, the anonymous one it replaces.
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
