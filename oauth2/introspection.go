package oauth2

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/grantor-dev/grantor/storage"
	"github.com/grantor-dev/grantor/token"
)

// inactiveResponse is the whole answer for a token the caller may not
// learn anything about (RFC 7662 §2.2).
var inactiveResponse = []byte(`{"active":false}`)

// IntrospectionHandler returns the token introspection endpoint
// (RFC 7662 §2).
//
// The caller must authenticate as a confidential client (RFC 7662 §2.1,
// §4): a public client is refused with 401 invalid_client. The token
// parameter is required; token_type_hint only speeds the lookup and never
// changes the answer.
//
// A caller sees a token only when it is entitled to (RFC 7662 §4): the
// token was issued to it, or it is an access token whose audience names
// one of the caller's storage.Client.Resources. Refresh tokens are visible
// only to their own client. Every other token — unknown, malformed,
// expired, revoked, consumed, not yet valid or not the caller's — gets the
// same bytes, {"active":false} (RFC 7662 §2.2).
//
// An active token is described by active, scope, client_id, sub, exp,
// iat, iss, aud (a string when there is one audience), token_type
// ("Bearer" or "refresh_token"), jti for JWT access tokens, and the extra
// claims of its record, which never replace those members (RFC 7662 §2.2).
//
// Every token is checked for integrity (an opaque token's MAC, a JWT's
// signature) before any storage read, so scanning for tokens costs no
// lookup (RFC 7662 §4). Introspections of tokens that are not this
// server's are counted per caller; past Config.IntrospectionScanLimit a
// minute a warning is logged and EventIntrospectionThrottled emitted, once
// a minute, and the answers do not change: a valid token is never refused.
// A storage failure is 503 temporarily_unavailable with Retry-After.
// Every answer carries Cache-Control: no-store.
//
// A caller that sends Accept: application/token-introspection+jwt gets
// the answer as a signed JWT (RFC 9701) when access tokens are JWTs, whose
// keys then sign it; otherwise, and by default, it is application/json.
func (p *Provider) IntrospectionHandler() http.Handler { return http.HandlerFunc(p.serveIntrospection) }

func (p *Provider) serveIntrospection(w http.ResponseWriter, r *http.Request) {
	body, caller, err := p.handleIntrospection(w, r)
	if err != nil {
		p.writeError(w, r, err)
		return
	}
	contentType := "application/json"
	if signer, ok := p.accessTokens.(jwtSigner); ok && acceptsIntrospectionJWT(r) {
		signed, err := p.introspectionJWT(r.Context(), signer, caller, body)
		if err != nil {
			p.writeError(w, r, NewError(ErrServerError, "the introspection response could not be signed").WithCause(err))
			return
		}
		body, contentType = []byte(signed), introspectionJWTMediaType
	}
	setHeaders(w.Header(), contentType, "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// The JWT response of RFC 9701.
const (
	introspectionJWTMediaType = "application/token-introspection+jwt"
	introspectionJWTType      = "token-introspection+jwt"
)

// jwtSigner is implemented by token strategies that sign JWTs (token.JWT):
// with one, the Provider can answer introspection as a signed JWT.
type jwtSigner interface {
	SignJWT(ctx context.Context, typ string, claims []byte) (string, error)
}

// acceptsIntrospectionJWT reports whether the caller asked for the JWT
// response (RFC 9701 §4).
func acceptsIntrospectionJWT(r *http.Request) bool {
	for _, accept := range r.Header.Values("Accept") {
		for part := range strings.SplitSeq(accept, ",") {
			mediaType, _, _ := strings.Cut(strings.TrimSpace(part), ";")
			if strings.EqualFold(strings.TrimSpace(mediaType), introspectionJWTMediaType) {
				return true
			}
		}
	}
	return false
}

// introspectionJWT signs an introspection response as RFC 9701 §5 asks:
// iss, aud (the calling resource server) and iat at the top level, and
// the RFC 7662 members inside token_introspection only, so that the JWT
// cannot pass for the token it describes.
func (p *Provider) introspectionJWT(ctx context.Context, signer jwtSigner, caller *storage.Client, body []byte) (string, error) {
	claims, err := json.Marshal(struct {
		Issuer             string          `json:"iss"`
		Audience           string          `json:"aud"`
		IssuedAt           int64           `json:"iat"`
		TokenIntrospection json.RawMessage `json:"token_introspection"`
	}{p.issuer, caller.ID, p.clock().Unix(), body})
	if err != nil {
		return "", err
	}
	return signer.SignJWT(ctx, introspectionJWTType, claims)
}

func (p *Provider) handleIntrospection(w http.ResponseWriter, r *http.Request) ([]byte, *storage.Client, error) {
	ctx := r.Context()
	form, err := p.readForm(w, r)
	if err != nil {
		return nil, nil, err
	}
	client, err := p.authenticateClient(ctx, r, form, p.IntrospectionEndpoint())
	if err != nil {
		return nil, nil, err
	}
	if client.IsPublic() {
		return nil, nil, &Error{Code: ErrInvalidClient, Description: "a public client cannot introspect tokens", Status: http.StatusUnauthorized}
	}
	now := p.clock()
	value := form.Get("token")
	if value == "" {
		return nil, nil, NewError(ErrInvalidRequest, "token is missing")
	}
	// The hint only orders the lookups (RFC 7662 §2.1).
	rec, err := p.activeToken(ctx, value, 0, form.Get("token_type_hint"), client)
	switch {
	case errors.Is(err, ErrUnknownToken):
		p.countScan(ctx, client.ID, now)
		return inactiveResponse, client, nil
	case errors.Is(err, ErrInactiveToken):
		return inactiveResponse, client, nil
	case err != nil:
		return nil, nil, StorageError("the token could not be looked up", err)
	case !entitled(client, rec):
		return inactiveResponse, client, nil
	}
	if rec.Subject, err = p.clientSubject(ctx, rec.Subject, rec.ClientID, client); err != nil {
		return nil, nil, StorageError("the token's subject could not be mapped", err)
	}
	resp, err := p.introspectionResponse(rec)
	return resp, client, err
}

// countScan counts an introspection of a token that is not this server's,
// and warns once a window when the caller passes
// Config.IntrospectionScanLimit (RFC 7662 §4). It changes no answer: such
// a token failed its integrity check before any storage read, or has no
// record, so scanning costs no more than this count, and a throttle would
// only turn away the valid tokens of the caller's users. Counting is best
// effort: a limiter that fails is ignored.
func (p *Provider) countScan(ctx context.Context, callerID string, now time.Time) {
	if p.scanLimit < 0 {
		return
	}
	n, _, err := p.limiter.Take(ctx, budgetKey("introspection-scan", callerID, ""), time.Minute, now)
	if err != nil || n != p.scanLimit+1 {
		return
	}
	p.logger.LogAttrs(ctx, slog.LevelWarn, "introspection caller looks like a token scan",
		slog.String("client_id", callerID), slog.Int64("limit_per_minute", p.scanLimit))
	p.Emit(ctx, Event{Type: EventIntrospectionThrottled, Time: now, ClientID: callerID})
}

// entitled reports whether client may learn about rec (RFC 7662 §4): it was
// issued to the client, or it is an access token for one of the resources
// the client speaks for.
func entitled(client *storage.Client, rec *storage.Token) bool {
	if rec.ClientID == client.ID {
		return true
	}
	if rec.Kind != storage.AccessToken {
		return false
	}
	for _, aud := range rec.Audience {
		if slices.Contains(client.Resources, aud) {
			return true
		}
	}
	return false
}

// introspectionClaims are the members of an active introspection response
// that Grantor sets (RFC 7662 §2.2).
type introspectionClaims struct {
	Active    bool   `json:"active"`
	Scope     string `json:"scope,omitempty"`
	ClientID  string `json:"client_id"`
	Subject   string `json:"sub,omitempty"`
	ExpiresAt int64  `json:"exp"`
	IssuedAt  int64  `json:"iat"`
	Issuer    string `json:"iss"`
	Audience  any    `json:"aud,omitempty"`
	TokenType string `json:"token_type"`
	ID        string `json:"jti,omitempty"`
	// Confirmation is the key binding of a DPoP-bound token (RFC 9449
	// §6.2).
	Confirmation *confirmation `json:"cnf,omitempty"`
}

// confirmation is the cnf member of RFC 7800 §3.1 with the jkt of RFC 9449
// §6.1.
type confirmation struct {
	KeyThumbprint string `json:"jkt"`
}

// audienceClaim is the aud member of an introspection response: absent
// without an audience, a string for one, an array for several.
func audienceClaim(aud []string) any {
	switch len(aud) {
	case 0:
		return nil
	case 1:
		return aud[0]
	default:
		return aud
	}
}

// appendPlain appends c, with aud as its Audience (see audienceClaim), as
// json.Marshal encodes it, and reports whether it could (see
// plainObject). It runs for every active token introspected; reflection
// over the struct costs more than the rest of the response.
func (c *introspectionClaims) appendPlain(b []byte, aud []string) ([]byte, bool) {
	o := newPlainObject(b)
	o.bool("active", c.Active)
	o.str("scope", c.Scope, true)
	o.str("client_id", c.ClientID, false)
	o.str("sub", c.Subject, true)
	o.int("exp", c.ExpiresAt)
	o.int("iat", c.IssuedAt)
	o.str("iss", c.Issuer, false)
	switch len(aud) {
	case 0:
	case 1:
		o.str("aud", aud[0], false)
	default:
		o.strs("aud", aud)
	}
	o.str("token_type", c.TokenType, false)
	o.str("jti", c.ID, true)
	if c.Confirmation != nil {
		return b, false // rare: encoded by encoding/json
	}
	return o.end()
}

// registeredIntrospectionClaims are the member names of RFC 7662 §2.2 and
// RFC 9449 §6.2 that an extra claim of a record may never set.
var registeredIntrospectionClaims = map[string]bool{
	"active": true, "scope": true, "client_id": true, "username": true, "token_type": true,
	"exp": true, "iat": true, "nbf": true, "sub": true, "aud": true, "iss": true, "jti": true, "cnf": true,
}

// introspectionResponse encodes the active response for rec.
func (p *Provider) introspectionResponse(rec *storage.Token) ([]byte, error) {
	exp := rec.ExpiresAt
	if !rec.GrantExpiresAt.IsZero() && rec.GrantExpiresAt.Before(exp) {
		exp = rec.GrantExpiresAt
	}
	c := introspectionClaims{
		Active:    true,
		Scope:     FormatScope(rec.Scopes),
		ClientID:  rec.ClientID,
		Subject:   rec.Subject,
		ExpiresAt: unixSeconds(exp),
		IssuedAt:  unixSeconds(rec.IssuedAt),
		Issuer:    p.issuer,
		TokenType: "Bearer",
	}
	if rec.Kind == storage.RefreshToken {
		c.TokenType = "refresh_token"
	} else if _, isJWT := p.accessTokens.(token.KeyPublisher); isJWT {
		c.ID = rec.Key // a JWT access token's record is kept under its jti
	}
	if rec.KeyThumbprint != "" {
		// RFC 9449 §6.2: the binding, and token_type DPoP for an access
		// token, so that a resource server asks for the proof.
		c.Confirmation = &confirmation{KeyThumbprint: rec.KeyThumbprint}
		if rec.Kind == storage.AccessToken {
			c.TokenType = "DPoP"
		}
	}
	b, plain := c.appendPlain(make([]byte, 0, 256), rec.Audience)
	if !plain {
		c.Audience = audienceClaim(rec.Audience)
		var err error
		if b, err = json.Marshal(c); err != nil {
			return nil, NewError(ErrServerError, "the introspection response could not be encoded").WithCause(err)
		}
	}
	if len(rec.Claims) == 0 {
		return b, nil
	}
	// The extra claims go after the registered members, in a stable order;
	// one that cannot be encoded is left out rather than failing the call.
	b = b[:len(b)-1]
	for _, name := range slices.Sorted(maps.Keys(rec.Claims)) {
		if registeredIntrospectionClaims[name] {
			continue
		}
		v, err := json.Marshal(rec.Claims[name])
		if err != nil {
			continue
		}
		k, _ := json.Marshal(name)
		b = append(b, ',')
		b = append(b, k...)
		b = append(b, ':')
		b = append(b, v...)
	}
	return append(b, '}'), nil
}

// unixSeconds is t as a NumericDate (RFC 7519 §2).
func unixSeconds(t time.Time) int64 { return t.Unix() }
