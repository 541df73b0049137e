package oauth2

import (
	"context"
	"errors"
	"fmt"

	"github.com/grantor-dev/grantor/storage"
)

// Errors of ActiveToken. errors.Is(err, ErrInactiveToken) holds for both.
var (
	// ErrInactiveToken: the token is not active: not this server's, or
	// expired (its own end or its grant's), revoked, used (a rotated
	// refresh token), issued in the future, its client is gone or
	// disabled, or a feature ended its grant (GrantChecker) (RFC 7662
	// §2.2 calls all of these inactive).
	ErrInactiveToken = errors.New("oauth2: inactive token")
	// ErrUnknownToken: the token is not one this server issued: no token
	// format of the Provider recognises it, or no record of that format's
	// kind exists. It wraps ErrInactiveToken.
	ErrUnknownToken = fmt.Errorf("%w: not a token of this server", ErrInactiveToken)
)

// ActiveToken returns the record of an access or refresh token that this
// Provider issued, when it is active now. It is the one answer to "is this
// token active?" that the introspection endpoint gives (RFC 7662 §2.2), and
// that a grant redeeming one of the server's own tokens (a subject token,
// RFC 8693 §2.1) must give too.
//
// The token is recognised by its format and its record, never by what the
// caller says it is: the access token strategy (an opaque token's HMAC, a
// JWT's signature) and the refresh token format check its integrity
// without storage, and only a format that recognises it leads to a lookup,
// where only a record of that format's kind counts. kind restricts it to
// storage.AccessToken or storage.RefreshToken; zero accepts either. A
// token longer than MaxTokenParameterBytes is not parsed.
//
// It returns ErrUnknownToken for a token that is not this server's,
// another error wrapping ErrInactiveToken for one that is but is not
// active, and any other error for a store that failed (answer 503). The
// record is the caller's.
func (p *Provider) ActiveToken(ctx context.Context, token string, kind storage.TokenKind) (*storage.Token, error) {
	hint := ""
	if kind == storage.RefreshToken {
		hint = "refresh_token"
	}
	return p.activeToken(ctx, token, kind, hint, nil)
}

// activeToken is ActiveToken, with lookupToken's hint; the client known to
// be active already (the authenticated caller) is not looked up again when
// the token is its own.
func (p *Provider) activeToken(ctx context.Context, token string, kind storage.TokenKind, hint string, known *storage.Client) (*storage.Token, error) {
	rec, err := p.lookupToken(ctx, token, hint)
	switch {
	case errors.Is(err, errUnknownToken):
		return nil, ErrUnknownToken
	case err != nil:
		return nil, err
	case kind != 0 && rec.Kind != kind:
		return nil, fmt.Errorf("%w: a %s, not a %s", ErrInactiveToken, rec.Kind, kind)
	}
	now := p.clock()
	switch {
	case !rec.RevokedAt.IsZero():
		return nil, fmt.Errorf("%w: revoked", ErrInactiveToken)
	case !rec.ConsumedAt.IsZero():
		return nil, fmt.Errorf("%w: used", ErrInactiveToken)
	case rec.Expired(now):
		return nil, fmt.Errorf("%w: expired", ErrInactiveToken)
	case rec.IssuedAt.After(now):
		return nil, fmt.Errorf("%w: issued in the future", ErrInactiveToken)
	}
	// A token outlives nothing it was issued to: once its client is
	// disabled or gone, the token is no longer active (the rule of OAuth
	// 2.1 §4.3.1 that a refresh needs a grant still active, seen from the
	// resource server).
	if known == nil || known.ID != rec.ClientID {
		owner, err := p.clients.Client(ctx, rec.ClientID)
		switch {
		case errors.Is(err, storage.ErrNotFound):
			return nil, fmt.Errorf("%w: its client is gone", ErrInactiveToken)
		case err != nil:
			return nil, err
		case owner.Disabled:
			return nil, fmt.Errorf("%w: its client is disabled", ErrInactiveToken)
		}
	}
	switch active, err := p.GrantActive(ctx, rec); {
	case err != nil:
		return nil, err
	case !active:
		return nil, fmt.Errorf("%w: its grant has ended", ErrInactiveToken)
	}
	return rec, nil
}
