package resource

import (
	"context"
	"errors"
	"fmt"

	"github.com/grantor-dev/grantor/token"
)

// JWT returns a Validator of JWT access tokens that validates them
// locally, as RFC 9068 §4 requires, with v: typ "at+jwt", the signature by
// the key named by kid (from a local token.KeySet, or a remote JWK Set
// through token.RemoteKeys, refreshed when an unknown kid appears), iss,
// aud, exp, nbf and iat.
//
// Local validation does not see revocation (RFC 7009): a revoked JWT
// stays valid here until it expires. An API that must honour revocation
// at once uses Introspection or Store instead, or keeps access token
// lifetimes short.
//
// A key set that cannot be fetched is ErrUnavailable, not an invalid
// token. A nil v gives a Validator that answers ErrUnavailable.
func JWT(v *token.JWTVerifier) Validator { return jwtValidator{v} }

type jwtValidator struct{ v *token.JWTVerifier }

var errNoVerifier = fmt.Errorf("%w: no JWT verifier configured", ErrUnavailable)

func (j jwtValidator) Validate(ctx context.Context, tok string) (*Token, error) {
	if j.v == nil {
		return nil, errNoVerifier
	}
	c, err := j.v.Verify(ctx, tok)
	if err != nil {
		return nil, jwtError(err)
	}
	return &Token{
		Subject:       c.Subject,
		ClientID:      c.ClientID,
		Scopes:        c.Scopes,
		Audience:      c.Audience,
		ExpiresAt:     c.ExpiresAt,
		IssuedAt:      c.IssuedAt,
		ID:            c.ID,
		KeyThumbprint: c.KeyThumbprint,
		Claims:        c.Extra,
	}, nil
}

// jwtError maps an error of JWTVerifier.Verify to ours.
func jwtError(err error) error {
	if !errors.Is(err, token.ErrInvalid) {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	switch {
	case errors.Is(err, token.ErrExpired):
		return invalidToken(descExpired, err)
	case errors.Is(err, token.ErrNotYetValid):
		return invalidToken(descNotYet, err)
	case errors.Is(err, token.ErrWrongAudience):
		return invalidToken(descAudience, err)
	case errors.Is(err, token.ErrWrongIssuer):
		return invalidToken("the access token was issued by another authorization server", err)
	case errors.Is(err, token.ErrUnknownKey):
		return invalidToken("the access token is signed by an unknown key", err)
	}
	return invalidToken(descInvalid, err)
}
