package oauth2

import (
	"context"
	"time"

	"github.com/grantor-dev/grantor/storage"
)

// EventType names what happened.
type EventType string

// The events a Provider reports through Config.Events.
const (
	// EventTokenIssued: a token response was sent.
	EventTokenIssued EventType = "token_issued"
	// EventGrantRevoked: every token of a grant was revoked (after a
	// refresh token reuse, say).
	EventGrantRevoked EventType = "grant_revoked"
	// EventRefreshTokenReuse: a refresh token that had already been
	// rotated was presented again (RFC 9700 §4.14.2).
	EventRefreshTokenReuse EventType = "refresh_token_reuse"
	// EventClientAuthFailed: a client failed to authenticate.
	EventClientAuthFailed EventType = "client_authentication_failed"
	// EventClientAuthThrottled: an attempt at a client's slow-hashed
	// secret was refused without a check, after too many attempts
	// (Config.AuthFailureLimit, RFC 6749 §2.3.1).
	EventClientAuthThrottled EventType = "client_authentication_throttled"
	// EventTokenRevoked: a client revoked one of its tokens at the
	// revocation endpoint (RFC 7009 §2.1). TokenKinds holds the kind of
	// the token presented; a refresh token also revokes its grant, which
	// is reported as EventGrantRevoked.
	EventTokenRevoked EventType = "token_revoked"
	// EventIntrospectionThrottled: a caller of the introspection endpoint
	// passed Config.IntrospectionScanLimit introspections of tokens that
	// are not this server's within a minute (RFC 7662 §4: token
	// scanning). Emitted once a minute per caller; answers are unchanged.
	EventIntrospectionThrottled EventType = "introspection_throttled"
)

// Event describes something a Provider did, for audit logs and metrics.
// It never carries a secret, a token or a code: only identifiers.
type Event struct {
	Type EventType
	Time time.Time
	// ClientID is the client concerned. For authentication failures it
	// is the identifier the request claimed, which may not exist.
	ClientID string
	// Subject is the resource owner, when there is one.
	Subject string
	// GrantID names the grant concerned, when there is one.
	GrantID string
	// GrantType is the grant_type of a token request.
	GrantType string
	// TokenKinds lists the kinds of token issued.
	TokenKinds []storage.TokenKind
	// Reason is a short explanation (why authentication failed, say).
	Reason string
}

// EventFunc receives events. It is called synchronously on the request's
// goroutine, so it should return quickly.
type EventFunc func(ctx context.Context, e Event)
