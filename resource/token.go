package resource

import (
	"context"
	"slices"
	"time"

	"github.com/grantor-dev/grantor/storage"
)

// Token is an access token as the protected API sees it once a Validator
// has accepted it: the claims of RFC 9068 §2.2, or the members of an
// active introspection response (RFC 7662 §2.2).
type Token struct {
	// Subject is the resource owner, or the client for grants without
	// one ("sub").
	Subject string
	// ClientID is the client the token was issued to ("client_id").
	ClientID string
	// Scopes are the scopes the token grants ("scope", RFC 6749 §3.3).
	Scopes []string
	// Audience is the token's audience ("aud", RFC 9068 §3).
	Audience []string
	// ExpiresAt and IssuedAt are "exp" and "iat".
	ExpiresAt time.Time
	IssuedAt  time.Time
	// ID identifies the token: its "jti" (RFC 7519 §4.1.7), or for an
	// opaque token validated by Store the key of its storage record,
	// which cannot be used as the token. Empty when unknown.
	ID string
	// KeyThumbprint is the key a DPoP-bound token is bound to: the "jkt"
	// of its "cnf" claim or introspection member (RFC 9449 §6). Empty for
	// a bearer token.
	KeyThumbprint string
	// Claims are the token's other claims or introspection members,
	// such as those an authorization server's claims hook added. A
	// "cnf" member (RFC 7800 §3.1) marks a sender-constrained token,
	// which Middleware refuses as a bearer token (RFC 9449 §7.2).
	Claims map[string]any
	// Record is the authorization server's record of the token, when the
	// Validator read it from the server's own store (Store); nil
	// otherwise. It is the Validator's copy, for the handler to read.
	Record *storage.Token
}

// HasScope reports whether the token grants scope (RFC 6749 §3.3: scope
// tokens compare as case-sensitive strings).
func (t *Token) HasScope(scope string) bool {
	return t != nil && slices.Contains(t.Scopes, scope)
}

// bound reports whether the token is sender-constrained: it carries a
// confirmation claim (RFC 7800 §3.1; RFC 9449 §6; RFC 8705 §3).
func (t *Token) bound() bool {
	_, ok := t.Claims["cnf"]
	return ok || t.KeyThumbprint != ""
}

// ctxKey is the context key of the accepted token.
type ctxKey struct{}

// ctxValue is what Middleware puts in a request's context.
type ctxValue struct {
	token *Token
	realm string
}

// NewContext returns a copy of ctx carrying t, as Middleware does for
// the requests it lets through (RFC 6750 §2). Handlers' own tests use it
// to call a handler behind RequireScopes without a real token.
func NewContext(ctx context.Context, t *Token) context.Context {
	return context.WithValue(ctx, ctxKey{}, &ctxValue{token: t})
}

// FromContext returns the token Middleware accepted for the request
// whose context is ctx (RFC 6750 §2), and whether there is one.
func FromContext(ctx context.Context) (*Token, bool) {
	v, ok := ctx.Value(ctxKey{}).(*ctxValue)
	if !ok || v.token == nil {
		return nil, false
	}
	return v.token, true
}

// realmFrom returns the realm of the Middleware that accepted the
// request, or "".
func realmFrom(ctx context.Context) string {
	if v, ok := ctx.Value(ctxKey{}).(*ctxValue); ok {
		return v.realm
	}
	return ""
}
