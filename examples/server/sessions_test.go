package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sessionCount returns how many sessions st holds.
func sessionCount(st *sessionStore) int {
	st.mu.Lock()
	defer st.mu.Unlock()
	return len(st.m)
}

// Viewing the login form keeps nothing on the server, so no number of
// anonymous page views can fill the session store and turn real users
// away (issue 15): only a successful login makes a session.
func TestAnonymousLoginPagesStoreNothing(t *testing.T) {
	srv, cf := serveTest(t, newMemoryStore())
	b := newTestBrowser(t, cf.addr)
	f := cf.start(t, b, "s")

	// The flood: the login page of one interaction, loaded again and again
	// by a client that keeps no cookie but the interaction's binding.
	u, err := url.Parse(b.base)
	require.NoError(t, err)
	var binding *http.Cookie
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == "grantor-binding" {
			binding = c
		}
	}
	require.NotNil(t, binding)
	for range 1000 {
		req := httptest.NewRequest(http.MethodGet, "/login?interaction="+f.interaction, nil)
		req.AddCookie(binding)
		rec := httptest.NewRecorder()
		srv.handler.ServeHTTP(rec, req)
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	}
	assert.Zero(t, sessionCount(srv.pages.sessions), "no session for a page view")

	// A real user still logs in, which makes the one session.
	f.consent(t)
	assert.Equal(t, 1, sessionCount(srv.pages.sessions))
}

// Each user keeps their newest sessions only: logging in again and again
// as one user (the demo user's password is public) ends that user's
// oldest sessions and leaves the room of the store to others.
func TestSessionsPerUserAreCapped(t *testing.T) {
	st := newSessionStore(4, 2)
	now := time.Unix(1_700_000_000, 0)
	put := func(sid, username string, at time.Time) error {
		return st.put(sid, &session{user: &user{Username: username}, expires: at.Add(time.Hour)}, at)
	}
	for _, sid := range []string{"a1", "a2", "a3"} {
		require.NoError(t, put(sid, "alice", now))
	}
	assert.Nil(t, st.get("a1", now), "alice's oldest session ended")
	assert.NotNil(t, st.get("a2", now))
	assert.NotNil(t, st.get("a3", now))
	for i := range 1000 {
		require.NoError(t, put(fmt.Sprint("x", i), "alice", now))
	}
	assert.Equal(t, 2, sessionCount(st), "a thousand logins as alice hold two sessions")

	require.NoError(t, put("b1", "bob", now))
	require.NoError(t, put("b2", "bob", now))
	assert.ErrorIs(t, put("c1", "carol", now), errTooManySessions, "four users' live sessions fill this store")
	assert.NoError(t, put("c1", "carol", now.Add(time.Hour)), "expired sessions make room")
}

// The login and consent forms' tokens are bound to different things, and
// one form's token never passes the other's check.
func TestCSRFTokensAreBoundToFormBrowserAndInteraction(t *testing.T) {
	u, err := newUsers()
	require.NoError(t, err)
	pg, err := newPages("http://127.0.0.1:1", u)
	require.NoError(t, err)
	tok := pg.loginCSRF("n", "i")
	assert.True(t, validCSRF(tok, pg.loginCSRF("n", "i")))
	assert.False(t, validCSRF(tok, pg.sessionCSRF("n", "i")), "the consent form's")
	assert.False(t, validCSRF(tok, pg.loginCSRF("m", "i")), "another browser's")
	assert.False(t, validCSRF(tok, pg.loginCSRF("n", "j")), "another interaction's")
	other, err := newPages("http://127.0.0.1:1", u)
	require.NoError(t, err)
	assert.False(t, validCSRF(tok, other.loginCSRF("n", "i")), "another server's key")
}
