package storagetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/storage"
)

// NewLoginSessionStore returns a new, empty login session store for one
// subtest of [RunLoginSessionStore]. It fails t if it cannot, and registers
// with t.Cleanup whatever must be released.
type NewLoginSessionStore func(t *testing.T) storage.LoginSessionStore

// sessionRacers is how many goroutines race in the concurrency cases of
// login sessions.
const sessionRacers = 20

// RunLoginSessionStore runs the conformance suite of
// [storage.LoginSessionStore] (the login sessions of an OpenID Provider,
// OpenID Connect RP-Initiated Logout 1.0 and Back-Channel Logout 1.0)
// against stores made by newStore, one fresh store per subtest, in a
// subtest named "LoginSessionStore": every field round trips, times in
// UTC; an existing key is [storage.ErrDuplicate]; an unknown key is
// [storage.ErrNotFound] to every method; an expired session is returned
// whole or not found, never changed; LoginSessionByID finds a session by
// its ID, whole, finds neither an unknown ID nor an ended session, treats
// an expired one as LoginSession does, and of two sessions that share an
// ID finds either, then the one left; AddSessionClient adds a client once,
// in the order of first addition, up to [storage.MaxSessionClients], and
// of 20 concurrent additions every distinct client stays, once;
// DeleteLoginSession returns the session as it was, and of 20 concurrent
// deletions exactly one gets it; and the rules of copies, input, sizes,
// text and context that every record follows.
//
//	storagetest.RunLoginSessionStore(t, func(t *testing.T) storage.LoginSessionStore {
//		return newMyStore(t)
//	})
func RunLoginSessionStore(t *testing.T, newStore NewLoginSessionStore) {
	t.Helper()
	if newStore == nil {
		t.Fatal("storagetest: nil NewLoginSessionStore")
	}
	t.Run("LoginSessionStore", func(t *testing.T) {
		t.Run("CreateLoginSession", func(t *testing.T) { testCreateSession(t, newStore) })
		t.Run("LoginSession", func(t *testing.T) { testGetSession(t, newStore) })
		t.Run("LoginSessionByID", func(t *testing.T) { testSessionByID(t, newStore) })
		t.Run("AddSessionClient", func(t *testing.T) { testAddSessionClient(t, newStore) })
		t.Run("DeleteLoginSession", func(t *testing.T) { testDeleteSession(t, newStore) })
		t.Run("Copies", func(t *testing.T) { testSessionCopies(t, newStore) })
		t.Run("Input", func(t *testing.T) { testSessionInput(t, newStore) })
		t.Run("Size", func(t *testing.T) { testSessionSize(t, newStore) })
		t.Run("Text", func(t *testing.T) { testSessionText(t, newStore) })
		t.Run("Context", func(t *testing.T) { testSessionContext(t, newStore) })
	})
}

// loginSession returns a session with every field set, valid for an hour,
// its times in a zone other than UTC (they must come back in UTC).
func loginSession(t *testing.T) *storage.LoginSession {
	t.Helper()
	zone := time.FixedZone("UTC+2", 2*60*60)
	n := now().In(zone)
	return &storage.LoginSession{
		Key:       newKey(t),
		ID:        randomID(t, 22),
		Subject:   "user-1",
		AuthTime:  n.Add(-time.Minute),
		ACR:       "urn:mace:incommon:iap:silver",
		AMR:       []string{"pwd", "otp"},
		Clients:   []string{"client-a", "client-b"},
		CreatedAt: n,
		ExpiresAt: n.Add(time.Hour),
	}
}

// minimalSession returns a session without ACR, AMR and clients.
func minimalSession(t *testing.T) *storage.LoginSession {
	t.Helper()
	n := now()
	return &storage.LoginSession{
		Key: newKey(t), ID: randomID(t, 22), Subject: "user-2",
		AuthTime: n, CreatedAt: n, ExpiresAt: n.Add(time.Hour),
	}
}

// cloneSession returns a deep copy of ls.
func cloneSession(ls *storage.LoginSession) *storage.LoginSession {
	c := *ls
	c.AMR, c.Clients = slices.Clone(ls.AMR), slices.Clone(ls.Clients)
	return &c
}

// scribbleSession changes every field of ls, down to the elements of its
// lists.
func scribbleSession(ls *storage.LoginSession) {
	for _, s := range []*string{&ls.Key, &ls.ID, &ls.Subject, &ls.ACR} {
		*s = scribbled
	}
	scribbleStrings(ls.AMR)
	scribbleStrings(ls.Clients)
	for _, at := range []*time.Time{&ls.AuthTime, &ls.CreatedAt, &ls.ExpiresAt} {
		shift(at)
	}
}

// assertSession checks that got holds every field of want, its times in
// UTC.
func assertSession(t *testing.T, want, got *storage.LoginSession) {
	t.Helper()
	if !assert.NotNil(t, got, "session") {
		return
	}
	assert.Equal(t, want.Key, got.Key, "Key")
	assert.Equal(t, want.ID, got.ID, "ID")
	assert.Equal(t, want.Subject, got.Subject, "Subject")
	assert.Equal(t, want.ACR, got.ACR, "ACR")
	assertStrings(t, "AMR", want.AMR, got.AMR)
	assertStrings(t, "Clients", want.Clients, got.Clients)
	for _, f := range []struct {
		name      string
		want, got time.Time
	}{
		{"AuthTime", want.AuthTime, got.AuthTime},
		{"CreatedAt", want.CreatedAt, got.CreatedAt},
		{"ExpiresAt", want.ExpiresAt, got.ExpiresAt},
	} {
		assertTime(t, f.name, f.want, f.got)
		assert.Equal(t, time.UTC, f.got.Location(), "%s in UTC", f.name)
	}
}

func createSession(t *testing.T, s storage.LoginSessionStore, ls *storage.LoginSession) {
	t.Helper()
	require.NoError(t, s.CreateLoginSession(t.Context(), ls), "CreateLoginSession")
}

func getSession(t *testing.T, s storage.LoginSessionStore, key string) *storage.LoginSession {
	t.Helper()
	got, err := s.LoginSession(t.Context(), key)
	require.NoError(t, err, "LoginSession")
	require.NotNil(t, got, "LoginSession returned a nil session and no error")
	return got
}

func getSessionByID(t *testing.T, s storage.LoginSessionStore, id string) *storage.LoginSession {
	t.Helper()
	got, err := s.LoginSessionByID(t.Context(), id)
	require.NoError(t, err, "LoginSessionByID")
	require.NotNil(t, got, "LoginSessionByID returned a nil session and no error")
	return got
}

// assertNoSessionByID checks that LoginSessionByID finds no session with
// the ID id: ErrNotFound, and no session.
func assertNoSessionByID(t *testing.T, s storage.LoginSessionStore, id, msg string) {
	t.Helper()
	got, err := s.LoginSessionByID(t.Context(), id)
	assert.ErrorIs(t, err, storage.ErrNotFound, "LoginSessionByID: %s", msg)
	assert.Nil(t, got, "no session with ErrNotFound: %s", msg)
}

// assertFindsNothingByID checks that LoginSessionByID of id, which no
// stored session has and which a store may refuse as input, finds no
// session: ErrNotFound or an error of invalid input, and no session.
func assertFindsNothingByID(t *testing.T, s storage.LoginSessionStore, id string) {
	t.Helper()
	got, err := s.LoginSessionByID(t.Context(), id)
	assert.Nil(t, got, "LoginSessionByID found a session")
	if assert.Error(t, err, "LoginSessionByID") && !errors.Is(err, storage.ErrNotFound) {
		assertRefusal(t, err)
	}
}

func addClient(t *testing.T, s storage.LoginSessionStore, key, clientID string) {
	t.Helper()
	require.NoError(t, s.AddSessionClient(t.Context(), key, clientID), "AddSessionClient")
}

// assertNoSession checks that no session is stored under key.
func assertNoSession(t *testing.T, s storage.LoginSessionStore, key string) {
	t.Helper()
	got, err := s.LoginSession(t.Context(), key)
	assert.ErrorIs(t, err, storage.ErrNotFound, "LoginSession of a key that must not be stored")
	assert.Nil(t, got, "no session with ErrNotFound")
}

func testCreateSession(t *testing.T, newStore NewLoginSessionStore) {
	t.Run("round trip keeps every field, times in UTC", func(t *testing.T) {
		s := newStore(t)
		ls := loginSession(t)
		createSession(t, s, ls)
		assertSession(t, ls, getSession(t, s, ls.Key))
	})

	t.Run("session without ACR, AMR or clients round trips", func(t *testing.T) {
		s := newStore(t)
		ls := minimalSession(t)
		createSession(t, s, ls)
		assertSession(t, ls, getSession(t, s, ls.Key))
	})

	t.Run("sessions are kept apart, keys matched exactly", func(t *testing.T) {
		s := newStore(t)
		a, b := loginSession(t), minimalSession(t)
		a.Key = "abcDEF_-0123456789abcdefghijklmnopqrstuvwxy"
		b.Key = "ABCdef_-0123456789abcdefghijklmnopqrstuvwxy"
		createSession(t, s, a)
		createSession(t, s, b)
		assertSession(t, a, getSession(t, s, a.Key))
		assertSession(t, b, getSession(t, s, b.Key))
		assertNoSession(t, s, a.Key[:42])
		assertNoSession(t, s, a.Key+" ")
	})

	t.Run("existing key is ErrDuplicate and the stored session is unchanged", func(t *testing.T) {
		s := newStore(t)
		first := loginSession(t)
		createSession(t, s, first)
		second := minimalSession(t)
		second.Key = first.Key
		assert.ErrorIs(t, s.CreateLoginSession(t.Context(), second), storage.ErrDuplicate)
		assertSession(t, first, getSession(t, s, first.Key))
	})

	t.Run("concurrent callers with one key: exactly one wins", func(t *testing.T) {
		s := newStore(t)
		key := newKey(t)
		sessions := make([]*storage.LoginSession, sessionRacers)
		for i := range sessions {
			sessions[i] = loginSession(t)
			sessions[i].Key = key
		}
		errs := make([]error, sessionRacers)
		race(sessionRacers, func(i int) { errs[i] = s.CreateLoginSession(context.Background(), sessions[i]) })
		if w := countWinners(t, errs, storage.ErrDuplicate); w >= 0 {
			assertSession(t, sessions[w], getSession(t, s, key))
		}
	})
}

func testGetSession(t *testing.T, newStore NewLoginSessionStore) {
	for what, key := range unkeepable(t) {
		t.Run(what+" is ErrNotFound to every method", func(t *testing.T) {
			s := newStore(t)
			createSession(t, s, loginSession(t))
			assertNoSession(t, s, key)
			assert.ErrorIs(t, s.AddSessionClient(t.Context(), key, "client-c"), storage.ErrNotFound, "AddSessionClient")
			got, err := s.DeleteLoginSession(t.Context(), key)
			assert.ErrorIs(t, err, storage.ErrNotFound, "DeleteLoginSession")
			assert.Nil(t, got, "no session with ErrNotFound")
			assertNoSession(t, s, key)
		})
	}

	// A store may delete a session once its ExpiresAt has passed; until
	// it does, the session is what was stored. The caller judges expiry.
	t.Run("an expired session is returned whole or ErrNotFound, never changed", func(t *testing.T) {
		s := newStore(t)
		ls := loginSession(t)
		ls.CreatedAt = ls.CreatedAt.Add(-2 * time.Hour)
		ls.AuthTime = ls.CreatedAt
		ls.ExpiresAt = ls.CreatedAt.Add(time.Hour)
		createSession(t, s, ls)
		got, err := s.LoginSession(t.Context(), ls.Key)
		if err != nil {
			assert.ErrorIs(t, err, storage.ErrNotFound, "LoginSession of an expired session")
			assert.Nil(t, got, "no session with ErrNotFound")
		} else {
			assertSession(t, ls, got)
		}
		err = s.AddSessionClient(t.Context(), ls.Key, "client-c")
		if err != nil {
			assert.ErrorIs(t, err, storage.ErrNotFound, "AddSessionClient of an expired session")
		} else {
			ls.Clients = append(ls.Clients, "client-c")
		}
		got, err = s.DeleteLoginSession(t.Context(), ls.Key)
		if err != nil {
			assert.ErrorIs(t, err, storage.ErrNotFound, "DeleteLoginSession of an expired session")
			assert.Nil(t, got, "no session with ErrNotFound")
		} else {
			assertSession(t, ls, got)
		}
		assertNoSession(t, s, ls.Key)
	})
}

func testSessionByID(t *testing.T, newStore NewLoginSessionStore) {
	t.Run("a session is found by its ID, every field as LoginSession returns it", func(t *testing.T) {
		s := newStore(t)
		ls, minimal, other := loginSession(t), minimalSession(t), loginSession(t)
		for _, x := range []*storage.LoginSession{ls, minimal, other} {
			createSession(t, s, x)
		}
		for _, x := range []*storage.LoginSession{ls, minimal, other} {
			got := getSessionByID(t, s, x.ID)
			assertSession(t, x, got)
			assertSession(t, getSession(t, s, x.Key), got)
		}
		addClient(t, s, ls.Key, "client-c")
		ls.Clients = append(ls.Clients, "client-c")
		assertSession(t, ls, getSessionByID(t, s, ls.ID))
	})

	t.Run("an unknown ID is ErrNotFound, IDs matched exactly", func(t *testing.T) {
		s := newStore(t)
		ls := loginSession(t)
		ls.ID = "abcDEF_-0123456789abcd"
		createSession(t, s, ls)
		createSession(t, s, minimalSession(t))
		assertNoSessionByID(t, s, randomID(t, 22), "an unknown ID")
		assertNoSessionByID(t, s, ls.Key, "a key is not an ID")
		assertNoSessionByID(t, s, "ABCdef_-0123456789abcd", "an ID of other case")
		assertNoSessionByID(t, s, ls.ID[:21], "a prefix of an ID")
		assertNoSessionByID(t, s, ls.ID+" ", "an ID and a space")
		assertNoSessionByID(t, s, " "+ls.ID, "a space and an ID")
		assertSession(t, ls, getSessionByID(t, s, ls.ID))
	})

	t.Run("an ended session is ErrNotFound", func(t *testing.T) {
		s := newStore(t)
		ls, other := loginSession(t), loginSession(t)
		createSession(t, s, ls)
		createSession(t, s, other)
		_, err := s.DeleteLoginSession(t.Context(), ls.Key)
		require.NoError(t, err, "DeleteLoginSession")
		assertNoSessionByID(t, s, ls.ID, "the ID of a deleted session")
		assertSession(t, other, getSessionByID(t, s, other.ID))
	})

	// A new login in a browser replaces the session: the OpenID Provider
	// creates the new record under the old one's ID, then deletes the
	// old one, so that the relying parties keep one sid.
	for _, deleted := range []string{"first", "second"} {
		t.Run("two sessions with one ID: either is found, then the one left when the "+deleted+" is deleted", func(t *testing.T) {
			s := newStore(t)
			first, second := loginSession(t), minimalSession(t)
			second.ID = first.ID
			createSession(t, s, first)
			createSession(t, s, second)
			got := getSessionByID(t, s, first.ID)
			switch got.Key {
			case first.Key:
				assertSession(t, first, got)
			case second.Key:
				assertSession(t, second, got)
			default:
				t.Errorf("LoginSessionByID returned the session %q, neither of the two", got.Key)
			}
			gone, left := first, second
			if deleted == "second" {
				gone, left = second, first
			}
			_, err := s.DeleteLoginSession(t.Context(), gone.Key)
			require.NoError(t, err, "DeleteLoginSession")
			got = getSessionByID(t, s, first.ID)
			assert.Equal(t, left.Key, got.Key, "the session left")
			assertSession(t, left, got)
			_, err = s.DeleteLoginSession(t.Context(), left.Key)
			require.NoError(t, err, "DeleteLoginSession")
			assertNoSessionByID(t, s, first.ID, "both sessions deleted")
		})
	}

	// A store's LoginSession may return an expired session until the
	// store deletes it (see testGetSession); LoginSessionByID must not
	// return one that LoginSession no longer does. LoginSession is asked
	// first: a store that deletes the session in between may then find
	// nothing by ID.
	t.Run("an expired session is ErrNotFound once LoginSession says so, else whole", func(t *testing.T) {
		s := newStore(t)
		ls, live := loginSession(t), loginSession(t)
		ls.CreatedAt = ls.CreatedAt.Add(-2 * time.Hour)
		ls.AuthTime = ls.CreatedAt
		ls.ExpiresAt = ls.CreatedAt.Add(time.Hour)
		createSession(t, s, ls)
		createSession(t, s, live)
		_, errByKey := s.LoginSession(t.Context(), ls.Key)
		got, err := s.LoginSessionByID(t.Context(), ls.ID)
		switch {
		case errByKey != nil:
			assert.ErrorIs(t, errByKey, storage.ErrNotFound, "LoginSession of an expired session")
			assert.ErrorIs(t, err, storage.ErrNotFound, "LoginSessionByID of an expired session LoginSession does not return")
			assert.Nil(t, got, "no session with ErrNotFound")
		case err != nil:
			assert.ErrorIs(t, err, storage.ErrNotFound, "LoginSessionByID of an expired session")
			assert.Nil(t, got, "no session with ErrNotFound")
		default:
			assertSession(t, ls, got)
		}
		assertSession(t, live, getSessionByID(t, s, live.ID))
		_, err = s.DeleteLoginSession(t.Context(), ls.Key)
		if err != nil {
			assert.ErrorIs(t, err, storage.ErrNotFound, "DeleteLoginSession of an expired session")
		}
		assertNoSessionByID(t, s, ls.ID, "an expired session, deleted")
	})

	// A record left behind by a replacement (a delete that failed, two
	// tabs that logged in again at once) may expire while the session
	// goes on under its ID: the live record is the one to return, or the
	// OpenID Provider takes the session for ended.
	for _, order := range []string{"expired first", "live first"} {
		t.Run("an expired and a live session with one ID: the live one, "+order, func(t *testing.T) {
			s := newStore(t)
			expired, live := loginSession(t), minimalSession(t)
			live.ID = expired.ID
			expired.CreatedAt = expired.CreatedAt.Add(-2 * time.Hour)
			expired.AuthTime = expired.CreatedAt
			expired.ExpiresAt = expired.CreatedAt.Add(time.Hour)
			if order == "expired first" {
				createSession(t, s, expired)
				createSession(t, s, live)
			} else {
				createSession(t, s, live)
				createSession(t, s, expired)
			}
			got := getSessionByID(t, s, live.ID)
			assert.Equal(t, live.Key, got.Key, "the live session")
			assertSession(t, live, got)
		})
	}
}

func testAddSessionClient(t *testing.T, newStore NewLoginSessionStore) {
	t.Run("adds each client once, in the order of first addition", func(t *testing.T) {
		s := newStore(t)
		ls := minimalSession(t)
		createSession(t, s, ls)
		for _, id := range []string{"client-b", "client-a", "client-b", "client-c", "client-a", "CLIENT-A"} {
			addClient(t, s, ls.Key, id)
		}
		ls.Clients = []string{"client-b", "client-a", "client-c", "CLIENT-A"}
		assertSession(t, ls, getSession(t, s, ls.Key))
	})

	t.Run("adds after the clients given at creation, and changes nothing else", func(t *testing.T) {
		s := newStore(t)
		ls, other := loginSession(t), loginSession(t)
		createSession(t, s, ls)
		createSession(t, s, other)
		addClient(t, s, ls.Key, "client-a")
		addClient(t, s, ls.Key, "client-c")
		ls.Clients = append(ls.Clients, "client-c")
		assertSession(t, ls, getSession(t, s, ls.Key))
		assertSession(t, other, getSession(t, s, other.Key))
	})

	t.Run("stops at MaxSessionClients without an error", func(t *testing.T) {
		s := newStore(t)
		ls := minimalSession(t)
		createSession(t, s, ls)
		var want []string
		for i := range storage.MaxSessionClients + 3 {
			id := fmt.Sprintf("client-%02d", i)
			addClient(t, s, ls.Key, id)
			if i < storage.MaxSessionClients {
				want = append(want, id)
			}
		}
		addClient(t, s, ls.Key, "client-00")
		ls.Clients = want
		assertSession(t, ls, getSession(t, s, ls.Key))
	})

	t.Run("concurrent additions of different clients: every one stays, once", func(t *testing.T) {
		s := newStore(t)
		ls := minimalSession(t)
		createSession(t, s, ls)
		errs := make([]error, sessionRacers)
		race(sessionRacers, func(i int) {
			errs[i] = s.AddSessionClient(context.Background(), ls.Key, fmt.Sprintf("client-%02d", i))
		})
		for i, err := range errs {
			assert.NoError(t, err, "AddSessionClient %d", i)
		}
		got := getSession(t, s, ls.Key)
		want := make([]string, sessionRacers)
		for i := range want {
			want[i] = fmt.Sprintf("client-%02d", i)
		}
		assert.ElementsMatch(t, want, got.Clients, "Clients")
	})

	t.Run("concurrent additions of one client: it is added once", func(t *testing.T) {
		s := newStore(t)
		ls := loginSession(t)
		createSession(t, s, ls)
		errs := make([]error, sessionRacers)
		race(sessionRacers, func(i int) { errs[i] = s.AddSessionClient(context.Background(), ls.Key, "client-c") })
		for i, err := range errs {
			assert.NoError(t, err, "AddSessionClient %d", i)
		}
		ls.Clients = append(ls.Clients, "client-c")
		assertSession(t, ls, getSession(t, s, ls.Key))
	})

	t.Run("concurrent additions near the bound stop at MaxSessionClients", func(t *testing.T) {
		s := newStore(t)
		ls := minimalSession(t)
		for i := range storage.MaxSessionClients - 5 {
			ls.Clients = append(ls.Clients, fmt.Sprintf("first-%02d", i))
		}
		createSession(t, s, ls)
		errs := make([]error, sessionRacers)
		race(sessionRacers, func(i int) {
			errs[i] = s.AddSessionClient(context.Background(), ls.Key, fmt.Sprintf("client-%02d", i))
		})
		for i, err := range errs {
			assert.NoError(t, err, "AddSessionClient %d", i)
		}
		got := getSession(t, s, ls.Key)
		require.Len(t, got.Clients, storage.MaxSessionClients, "Clients")
		assert.Equal(t, ls.Clients, got.Clients[:len(ls.Clients)], "the clients given at creation come first")
		seen := map[string]bool{}
		for _, id := range got.Clients {
			assert.False(t, seen[id], "client %s twice", id)
			seen[id] = true
		}
	})
}

func testDeleteSession(t *testing.T, newStore NewLoginSessionStore) {
	t.Run("returns the session as it was, then it is gone", func(t *testing.T) {
		s := newStore(t)
		ls, other := loginSession(t), loginSession(t)
		createSession(t, s, ls)
		createSession(t, s, other)
		addClient(t, s, ls.Key, "client-c")
		ls.Clients = append(ls.Clients, "client-c")
		got, err := s.DeleteLoginSession(t.Context(), ls.Key)
		require.NoError(t, err, "DeleteLoginSession")
		assertSession(t, ls, got)
		assertNoSession(t, s, ls.Key)
		assert.ErrorIs(t, s.AddSessionClient(t.Context(), ls.Key, "client-d"), storage.ErrNotFound, "AddSessionClient")
		got, err = s.DeleteLoginSession(t.Context(), ls.Key)
		assert.ErrorIs(t, err, storage.ErrNotFound, "a second DeleteLoginSession")
		assert.Nil(t, got, "no session with ErrNotFound")
		assertSession(t, other, getSession(t, s, other.Key))
	})

	t.Run("concurrent deletions: exactly one gets the session", func(t *testing.T) {
		s := newStore(t)
		ls := loginSession(t)
		createSession(t, s, ls)
		errs := make([]error, sessionRacers)
		got := make([]*storage.LoginSession, sessionRacers)
		race(sessionRacers, func(i int) { got[i], errs[i] = s.DeleteLoginSession(context.Background(), ls.Key) })
		w := countWinners(t, errs, storage.ErrNotFound)
		for i := range got {
			if i == w {
				assertSession(t, ls, got[i])
			} else {
				assert.Nil(t, got[i], "a loser's session")
			}
		}
		assertNoSession(t, s, ls.Key)
	})
}

func testSessionCopies(t *testing.T, newStore NewLoginSessionStore) {
	for method, get := range map[string]func(*testing.T, storage.LoginSessionStore, *storage.LoginSession) *storage.LoginSession{
		"LoginSession": func(t *testing.T, s storage.LoginSessionStore, ls *storage.LoginSession) *storage.LoginSession {
			return getSession(t, s, ls.Key)
		},
		"LoginSessionByID": func(t *testing.T, s storage.LoginSessionStore, ls *storage.LoginSession) *storage.LoginSession {
			return getSessionByID(t, s, ls.ID)
		},
	} {
		t.Run("the session "+method+" returns may be modified: the stored one stays", func(t *testing.T) {
			s := newStore(t)
			ls := loginSession(t)
			createSession(t, s, ls)
			got := get(t, s, ls)
			scribbleSession(got)
			got = get(t, s, ls)
			got.Clients = append(got.Clients, scribbled)
			got.AMR = append(got.AMR, scribbled)
			assertSession(t, ls, get(t, s, ls))
			assertSession(t, ls, getSession(t, s, ls.Key))
			addClient(t, s, ls.Key, "client-c")
			ls.Clients = append(ls.Clients, "client-c")
			assertSession(t, ls, get(t, s, ls))
		})
	}

	t.Run("a session read before AddSessionClient does not change", func(t *testing.T) {
		s := newStore(t)
		ls := loginSession(t)
		createSession(t, s, ls)
		before := getSession(t, s, ls.Key)
		want := cloneSession(before)
		addClient(t, s, ls.Key, "client-c")
		assertSession(t, want, before)
		before.Clients = append(before.Clients, scribbled)
		ls.Clients = append(ls.Clients, "client-c")
		assertSession(t, ls, getSession(t, s, ls.Key))
	})

	t.Run("the session given to CreateLoginSession may be modified afterwards", func(t *testing.T) {
		s := newStore(t)
		ls := loginSession(t)
		want := cloneSession(ls)
		createSession(t, s, ls)
		key := ls.Key
		scribbleSession(ls)
		assertSession(t, want, getSession(t, s, key))
	})

	t.Run("the session DeleteLoginSession returns is the caller's", func(t *testing.T) {
		s := newStore(t)
		ls, other := loginSession(t), loginSession(t)
		other.AMR, other.Clients = slices.Clone(ls.AMR), slices.Clone(ls.Clients)
		createSession(t, s, ls)
		createSession(t, s, other)
		got, err := s.DeleteLoginSession(t.Context(), ls.Key)
		require.NoError(t, err, "DeleteLoginSession")
		scribbleSession(got)
		assertSession(t, other, getSession(t, s, other.Key))
	})
}

func testSessionInput(t *testing.T, newStore NewLoginSessionStore) {
	t.Run("nil session is invalid input, not a sentinel", func(t *testing.T) {
		s := newStore(t)
		assertInvalid(t, s.CreateLoginSession(t.Context(), nil))
	})

	t.Run("empty key is invalid input, not a sentinel, and nothing is stored", func(t *testing.T) {
		s := newStore(t)
		ls := loginSession(t)
		ls.Key = ""
		assertInvalid(t, s.CreateLoginSession(t.Context(), ls))
		assertNoSession(t, s, "")
	})

	// The IDs a caller looks up come from the store, but a lookup must
	// not be a query language: no pattern, no escape, no length that
	// breaks the store.
	odd := map[string]string{
		"an empty ID":                   "",
		"an ID of a megabyte":           strings.Repeat("i", 1<<20),
		"an ID longer than MaxKeyBytes": randomID(t, storage.MaxKeyBytes+1),
		"a quoted SQL condition":        `' OR '1'='1`,
		"a SQL comment":                 `x'; --`,
		"a LIKE pattern of any ID":      "%",
		"a LIKE pattern of one char":    "_",
		"a glob of any ID":              "*",
		"a regular expression":          ".*",
		"a backslash":                   `\`,
	}
	for what, s := range notText {
		odd["an ID with "+what] = s
	}
	for what, id := range odd {
		t.Run("LoginSessionByID of "+what+" finds nothing", func(t *testing.T) {
			s := newStore(t)
			ls, other := loginSession(t), minimalSession(t)
			other.ID = "%_*.'\\"
			createSession(t, s, ls)
			createSession(t, s, other)
			assertFindsNothingByID(t, s, id)
			assertSession(t, ls, getSessionByID(t, s, ls.ID))
		})
	}
}

// padSubject sets ls.Subject so that the session's Size is n.
func padSubject(t *testing.T, ls *storage.LoginSession, n int) {
	t.Helper()
	ls.Subject = ""
	base := ls.Size()
	require.LessOrEqual(t, base, n, "the session without its subject")
	ls.Subject = strings.Repeat("s", n-base)
	require.Equal(t, n, ls.Size(), "Size after padding")
}

func testSessionSize(t *testing.T, newStore NewLoginSessionStore) {
	t.Run("session of MaxRecordBytes is stored whole", func(t *testing.T) {
		s := newStore(t)
		ls := loginSession(t)
		padSubject(t, ls, storage.MaxRecordBytes)
		createSession(t, s, ls)
		assertSession(t, ls, getSession(t, s, ls.Key))
	})

	t.Run("session one byte larger is ErrTooLarge and nothing is stored", func(t *testing.T) {
		s := newStore(t)
		ls := loginSession(t)
		padSubject(t, ls, storage.MaxRecordBytes+1)
		assertTooLarge(t, s.CreateLoginSession(t.Context(), ls))
		assertNoSession(t, s, ls.Key)
	})

	t.Run("a long list counts: session of many AMR values is ErrTooLarge", func(t *testing.T) {
		s := newStore(t)
		ls := loginSession(t)
		ls.AMR = longList(t)
		assertTooLarge(t, s.CreateLoginSession(t.Context(), ls))
		assertNoSession(t, s, ls.Key)
	})

	for _, tc := range keyLengths {
		t.Run("session keys "+tc.name, func(t *testing.T) {
			s := newStore(t)
			ls := loginSession(t)
			ls.Key = randomID(t, tc.n)
			err := s.CreateLoginSession(t.Context(), ls)
			if tc.allow {
				require.NoError(t, err)
				assertSession(t, ls, getSession(t, s, ls.Key))
				return
			}
			assertTooLarge(t, err)
			assertNoSession(t, s, ls.Key)
		})
	}

	t.Run("a client that would make the session larger than MaxRecordBytes is ErrTooLarge and changes nothing", func(t *testing.T) {
		s := newStore(t)
		ls := loginSession(t)
		padSubject(t, ls, storage.MaxRecordBytes-len("client-c"))
		createSession(t, s, ls)
		addClient(t, s, ls.Key, "client-c")
		ls.Clients = append(ls.Clients, "client-c")
		assertSession(t, ls, getSession(t, s, ls.Key))
		assertTooLarge(t, s.AddSessionClient(t.Context(), ls.Key, "client-d"))
		addClient(t, s, ls.Key, "client-a")
		assertSession(t, ls, getSession(t, s, ls.Key))
	})
}

func testSessionText(t *testing.T, newStore NewLoginSessionStore) {
	for field, set := range map[string]func(*storage.LoginSession, string){
		"Key":     func(ls *storage.LoginSession, s string) { ls.Key += s },
		"ID":      func(ls *storage.LoginSession, s string) { ls.ID = s },
		"Subject": func(ls *storage.LoginSession, s string) { ls.Subject = s },
		"ACR":     func(ls *storage.LoginSession, s string) { ls.ACR = s },
		"AMR":     func(ls *storage.LoginSession, s string) { ls.AMR = []string{"pwd", s} },
		"Clients": func(ls *storage.LoginSession, s string) { ls.Clients = []string{s, "client-b"} },
	} {
		for what, s := range notText {
			t.Run(field+" with "+what+" is stored exactly or refused", func(t *testing.T) {
				st := newStore(t)
				ls := loginSession(t)
				set(ls, s)
				err := st.CreateLoginSession(t.Context(), ls)
				if err != nil {
					assertRefusal(t, err)
					assertNoSession(t, st, ls.Key)
					return
				}
				assertSession(t, ls, getSession(t, st, ls.Key))
				got, err := st.DeleteLoginSession(t.Context(), ls.Key)
				require.NoError(t, err, "DeleteLoginSession")
				assertSession(t, ls, got)
			})
		}
	}

	for what, s := range notText {
		t.Run("a client with "+what+" is added exactly or refused, and the session is unchanged", func(t *testing.T) {
			st := newStore(t)
			ls := loginSession(t)
			createSession(t, st, ls)
			err := st.AddSessionClient(t.Context(), ls.Key, s)
			if err != nil {
				assertRefusal(t, err)
			} else {
				ls.Clients = append(ls.Clients, s)
			}
			assertSession(t, ls, getSession(t, st, ls.Key))
		})

		t.Run("an ID with "+what+" is found exactly, or refused at creation", func(t *testing.T) {
			st := newStore(t)
			ls := loginSession(t)
			ls.ID += s
			if err := st.CreateLoginSession(t.Context(), ls); err != nil {
				assertRefusal(t, err)
				assertFindsNothingByID(t, st, ls.ID)
				return
			}
			assertSession(t, ls, getSessionByID(t, st, ls.ID))
			assertFindsNothingByID(t, st, strings.TrimSuffix(ls.ID, s))
		})

		t.Run("a key with "+what+" is ErrNotFound to every method", func(t *testing.T) {
			st := newStore(t)
			ls := loginSession(t)
			createSession(t, st, ls)
			assertNoSession(t, st, ls.Key+s)
			assert.ErrorIs(t, st.AddSessionClient(t.Context(), ls.Key+s, "client-c"), storage.ErrNotFound, "AddSessionClient")
			_, err := st.DeleteLoginSession(t.Context(), ls.Key+s)
			assert.ErrorIs(t, err, storage.ErrNotFound, "DeleteLoginSession")
			assertSession(t, ls, getSession(t, st, ls.Key))
		})
	}
}

func testSessionContext(t *testing.T, newStore NewLoginSessionStore) {
	t.Run("cancelled CreateLoginSession is an error and stores nothing", func(t *testing.T) {
		s := newStore(t)
		ls := loginSession(t)
		assert.ErrorIs(t, s.CreateLoginSession(cancelled(t), ls), context.Canceled)
		assertNoSession(t, s, ls.Key)
	})

	for method, get := range map[string]func(context.Context, storage.LoginSessionStore, *storage.LoginSession) (*storage.LoginSession, error){
		"LoginSession": func(ctx context.Context, s storage.LoginSessionStore, ls *storage.LoginSession) (*storage.LoginSession, error) {
			return s.LoginSession(ctx, ls.Key)
		},
		"LoginSessionByID": func(ctx context.Context, s storage.LoginSessionStore, ls *storage.LoginSession) (*storage.LoginSession, error) {
			return s.LoginSessionByID(ctx, ls.ID)
		},
	} {
		t.Run("cancelled "+method+" is an error", func(t *testing.T) {
			s := newStore(t)
			ls := loginSession(t)
			createSession(t, s, ls)
			got, err := get(cancelled(t), s, ls)
			assert.ErrorIs(t, err, context.Canceled)
			assert.Nil(t, got)
		})
	}

	t.Run("cancelled AddSessionClient is an error and adds nothing", func(t *testing.T) {
		s := newStore(t)
		ls := loginSession(t)
		createSession(t, s, ls)
		assert.ErrorIs(t, s.AddSessionClient(cancelled(t), ls.Key, "client-c"), context.Canceled)
		assertSession(t, ls, getSession(t, s, ls.Key))
	})

	t.Run("cancelled DeleteLoginSession is an error and deletes nothing", func(t *testing.T) {
		s := newStore(t)
		ls := loginSession(t)
		createSession(t, s, ls)
		got, err := s.DeleteLoginSession(cancelled(t), ls.Key)
		assert.ErrorIs(t, err, context.Canceled)
		assert.Nil(t, got)
		assertSession(t, ls, getSession(t, s, ls.Key))
	})
}
