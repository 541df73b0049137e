package resource

import (
	"context"
	"errors"
)

// Validator decides whether a presented access token is acceptable and
// returns what it grants. JWT (local validation, RFC 9068 §4),
// Introspection (RFC 7662) and Store (the authorization server's storage,
// in the same process) implement it; an application may write its own.
//
// A token that must be refused is an error wrapping ErrInvalidToken
// (an *InvalidTokenError chooses the error_description); Middleware
// answers it with 401 invalid_token (RFC 6750 §3.1). Any other error
// means the token could not be checked — the authorization server or a
// key set is unreachable — and Middleware answers 503, so that an outage
// never looks like a bad token to the client. Errors must never quote the
// token: Middleware logs them.
//
// A Validator returns sender-constrained tokens (a "cnf" claim) like any
// other: refusing them as bearer tokens is the caller's job, which
// Middleware does (RFC 9449 §7.2).
type Validator interface {
	Validate(ctx context.Context, token string) (*Token, error)
}

// ErrInvalidToken is wrapped by every error of a Validator of this
// package for a token that must be refused: malformed, forged, expired,
// revoked, unknown, of the wrong kind or for another audience
// (RFC 6750 §3.1 invalid_token).
var ErrInvalidToken = errors.New("resource: invalid token")

// ErrUnavailable is wrapped by the errors of the Validators of this
// package when a token could not be checked: the authorization server or
// its JWK Set could not be reached or answered with an error. Middleware
// answers 503 (RFC 9110 §15.6.4).
var ErrUnavailable = errors.New("resource: token validation unavailable")

// InvalidTokenError is an ErrInvalidToken with a description for the
// error_description of the WWW-Authenticate challenge (RFC 6750 §3). The
// description is meant for the client's developer: it never quotes the
// token.
type InvalidTokenError struct {
	// Description says why the token was refused, in plain ASCII.
	Description string
	// Err is the underlying cause, or nil.
	Err error
}

// Error implements error.
func (e *InvalidTokenError) Error() string {
	return "resource: invalid token: " + e.Description
}

// Unwrap returns ErrInvalidToken and the cause, for errors.Is.
func (e *InvalidTokenError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrInvalidToken}
	}
	return []error{ErrInvalidToken, e.Err}
}

func invalidToken(description string, cause error) error {
	return &InvalidTokenError{Description: description, Err: cause}
}

// Descriptions shared by the validators.
const (
	descInvalid   = "the access token is invalid"
	descExpired   = "the access token expired"
	descRevoked   = "the access token was revoked"
	descNotYet    = "the access token is not valid yet"
	descAudience  = "the access token is not meant for this resource server"
	descNotAccess = "the token is not an access token"
	descBound     = "the access token is sender-constrained and cannot be used as a bearer token"
)
