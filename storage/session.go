package storage

import (
	"context"
	"time"
)

// MaxSessionClients bounds the clients a login session remembers
// (LoginSession.Clients): the relying parties to tell when it ends. A
// session that has served more is still valid; the clients beyond the
// bound are not told of its end.
const MaxSessionClients = 64

// LoginSession is a user's login in one browser, remembered by an OpenID
// Provider (package oidc) so that later authorization requests need no new
// login, and ended by a logout (OpenID Connect RP-Initiated Logout 1.0).
type LoginSession struct {
	// Key is the storage key: a digest of the value of the browser's
	// session cookie, which is never stored itself.
	Key string
	// ID is the session's identifier as relying parties see it, the "sid"
	// of ID tokens and logout tokens (OpenID Connect Back-Channel Logout
	// 1.0 §2.1): random, and unrelated to the cookie.
	ID string
	// Subject is the user who logged in.
	Subject string
	// AuthTime is when the user authenticated; ACR and AMR how
	// (OpenID Connect Core §2).
	AuthTime time.Time
	ACR      string
	AMR      []string
	// Clients are the clients that received ID tokens naming the session,
	// in the order they first did, at most MaxSessionClients.
	Clients []string
	// CreatedAt and ExpiresAt bound the session's life.
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Size returns the size of the session that stores compare with
// [MaxRecordBytes].
func (s *LoginSession) Size() int {
	return len(s.Key) + len(s.ID) + len(s.Subject) + len(s.ACR) + listSize(s.AMR) + listSize(s.Clients)
}

// LoginSessionStore keeps login sessions. Returned records are copies the
// caller may modify.
type LoginSessionStore interface {
	// CreateLoginSession stores a new session; an existing key is
	// ErrDuplicate.
	CreateLoginSession(ctx context.Context, s *LoginSession) error
	// LoginSession returns the session under key, or ErrNotFound; an
	// expired one may be ErrNotFound once deleted.
	LoginSession(ctx context.Context, key string) (*LoginSession, error)
	// LoginSessionByID returns a session whose ID (its "sid") is id, or
	// ErrNotFound: for an id no session has, and for a session that has
	// ended (been deleted). An expired session is treated as LoginSession
	// treats it: ErrNotFound from its expiry on in a store whose
	// LoginSession says so, otherwise returned until the store deletes
	// it, so the caller must check ExpiresAt. A new login that replaces a
	// user's session creates the new record under the same ID before it
	// deletes the old one: while both exist, either may be returned, but
	// never an expired one while another has not expired.
	// Stores find the session through an index, not by reading every
	// session: an OpenID Provider calls it at each refresh, to learn
	// whether the login session a grant was issued in has ended (OpenID
	// Connect Back-Channel Logout 1.0 §2.7).
	LoginSessionByID(ctx context.Context, id string) (*LoginSession, error)
	// AddSessionClient adds clientID to the session's Clients, once and
	// atomically (two concurrent calls for two clients keep both), unless
	// it holds MaxSessionClients already. An unknown key is ErrNotFound.
	// A client that would make the session larger than MaxRecordBytes is
	// ErrTooLarge, and the session is unchanged.
	AddSessionClient(ctx context.Context, key, clientID string) error
	// DeleteLoginSession removes the session and returns it as it was,
	// so that its clients can be told; of two concurrent calls one gets
	// the session and the other ErrNotFound. An unknown key is
	// ErrNotFound.
	DeleteLoginSession(ctx context.Context, key string) (*LoginSession, error)
}
