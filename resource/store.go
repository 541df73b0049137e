package resource

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/grantor-dev/grantor/storage"
	"github.com/grantor-dev/grantor/token"
)

// AccessTokenKeyer checks a presented access token's integrity without a
// storage lookup and returns the key its record is stored under, or an
// error wrapping token.ErrInvalid. *oauth2.Provider and every
// token.AccessTokenStrategy implement it.
type AccessTokenKeyer interface {
	AccessTokenKey(ctx context.Context, token string) (string, error)
}

// Store returns a Validator for an API that runs in the same process as
// its authorization server and shares its storage: it finds the token's
// record as introspection would (RFC 7662 §2.2), without a network call.
// It works for opaque and JWT access tokens alike, and sees revocation
// (RFC 7009) at once.
//
// keys is the Provider (or its access token strategy), tokens its token
// store and clock its clock. A nil clock is the clock of keys when keys
// has one (a Now method, as *oauth2.Provider has), else the clock of
// tokens when it has one (as *memory.Store has), else time.Now: a test
// gives its fake clock to the Provider and the store once.
//
// A token is accepted when keys accepts it, its record exists, is an
// access token (never a refresh token: RFC 8725 §3.12), is active at
// clock() (not expired, revoked or consumed) and was not issued in the
// future. When tokens is also a storage.ClientStore, as the memory store
// is, the token's client must still exist and not be disabled. When keys
// is the Provider, its features must not have ended the token's grant
// (oauth2.Provider.GrantActive: an OpenID Provider ends the grants of a
// login session at logout). The audience is checked by Middleware's
// Config.Audience.
//
// A storage failure is ErrUnavailable. A nil keys or tokens gives a
// Validator that answers ErrUnavailable.
func Store(keys AccessTokenKeyer, tokens storage.TokenStore, clock func() time.Time) Validator {
	if clock == nil {
		clock = time.Now
		if c, ok := tokens.(clocked); ok {
			clock = c.Now
		}
		if c, ok := keys.(clocked); ok {
			clock = c.Now
		}
	}
	clients, _ := tokens.(storage.ClientStore)
	return &storeValidator{keys: keys, tokens: tokens, clients: clients, clock: clock}
}

// clocked is what has a clock of its own.
type clocked interface{ Now() time.Time }

// grantChecker is what can tell that a token's grant has ended before
// the token expires, as *oauth2.Provider can for the features that end
// grants (an OpenID Provider at the end of a login session).
type grantChecker interface {
	GrantActive(ctx context.Context, rec *storage.Token) (bool, error)
}

type storeValidator struct {
	keys    AccessTokenKeyer
	tokens  storage.TokenStore
	clients storage.ClientStore
	clock   func() time.Time
}

var errNoStore = fmt.Errorf("%w: Store needs an AccessTokenKeyer and a TokenStore", ErrUnavailable)

func (s *storeValidator) Validate(ctx context.Context, tok string) (*Token, error) {
	if s.keys == nil || s.tokens == nil {
		return nil, errNoStore
	}
	key, err := s.keys.AccessTokenKey(ctx, tok)
	switch {
	case errors.Is(err, token.ErrInvalid):
		return nil, jwtError(err) // the same sentinels, whatever the format
	case err != nil:
		return nil, fmt.Errorf("%w: checking the access token: %w", ErrUnavailable, err)
	}
	rec, err := s.tokens.Token(ctx, key)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return nil, invalidToken(descInvalid, err)
	case err != nil:
		return nil, fmt.Errorf("%w: looking up the access token: %w", ErrUnavailable, err)
	}
	now := s.clock()
	switch {
	case rec.Kind != storage.AccessToken:
		return nil, invalidToken(descNotAccess, nil)
	case !rec.RevokedAt.IsZero():
		return nil, invalidToken(descRevoked, nil)
	case !rec.Active(now):
		return nil, invalidToken(descExpired, nil)
	case rec.IssuedAt.After(now):
		return nil, invalidToken(descNotYet, nil)
	}
	if s.clients != nil {
		c, err := s.clients.Client(ctx, rec.ClientID)
		switch {
		case errors.Is(err, storage.ErrNotFound) || (err == nil && c.Disabled):
			return nil, invalidToken("the client of the access token is no longer registered", err)
		case err != nil:
			return nil, fmt.Errorf("%w: looking up the token's client: %w", ErrUnavailable, err)
		}
	}
	if g, ok := s.keys.(grantChecker); ok {
		switch active, err := g.GrantActive(ctx, rec); {
		case err != nil:
			return nil, fmt.Errorf("%w: checking the token's grant: %w", ErrUnavailable, err)
		case !active:
			return nil, invalidToken("the grant of the access token has ended", nil)
		}
	}
	exp := rec.ExpiresAt
	if !rec.GrantExpiresAt.IsZero() && rec.GrantExpiresAt.Before(exp) {
		exp = rec.GrantExpiresAt
	}
	return &Token{
		Subject:       rec.Subject,
		ClientID:      rec.ClientID,
		Scopes:        slices.Clone(rec.Scopes),
		Audience:      slices.Clone(rec.Audience),
		ExpiresAt:     exp,
		IssuedAt:      rec.IssuedAt,
		ID:            rec.Key,
		KeyThumbprint: rec.KeyThumbprint,
		Claims:        maps.Clone(rec.Claims),
		Record:        rec,
	}, nil
}
