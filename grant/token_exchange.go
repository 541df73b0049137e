package grant

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/grantor-dev/grantor/oauth2"
	"github.com/grantor-dev/grantor/storage"
	"github.com/grantor-dev/grantor/token"
)

// GrantTypeTokenExchange is the grant_type of RFC 8693 §2.1.
const GrantTypeTokenExchange = "urn:ietf:params:oauth:grant-type:token-exchange"

// Token type identifiers (RFC 8693 §3).
const (
	TokenTypeAccessToken  = "urn:ietf:params:oauth:token-type:access_token"
	TokenTypeRefreshToken = "urn:ietf:params:oauth:token-type:refresh_token"
	TokenTypeIDToken      = "urn:ietf:params:oauth:token-type:id_token"
	TokenTypeJWT          = "urn:ietf:params:oauth:token-type:jwt"
)

// maxActDepth bounds the nesting of act claims (RFC 8693 §4.1) that an
// exchange keeps: a delegation chain longer than this is refused.
const maxActDepth = 8

// TokenExchangeOptions configure the token exchange grant.
type TokenExchangeOptions struct {
	// Policy decides which exchanges each client may make. Nil refuses
	// every exchange with unauthorized_client: an application states what
	// it allows, nothing is allowed by default (RFC 8693 §5).
	Policy TokenExchangePolicy

	// TrustedIssuers are the issuers whose JWTs are accepted as subject
	// and actor tokens of type TokenTypeJWT. Nil accepts only this
	// server's own tokens.
	TrustedIssuers oauth2.TrustedIssuers

	// MapSubject maps the subject of a trusted issuer's JWT presented as
	// subject token to the subject of the issued token. Nil refuses such
	// subject tokens (an actor's JWT needs no mapping: the act claim names
	// it by its issuer and subject, RFC 8693 §4.1).
	MapSubject SubjectMapper

	// Leeway tolerates clock differences with trusted issuers for exp,
	// nbf and iat; zero means oauth2.DefaultTrustedJWTLeeway.
	Leeway time.Duration

	// Algorithms are the JWS algorithms accepted from trusted issuers;
	// empty means every asymmetric one (see oauth2.TrustedJWTOptions).
	Algorithms []string

	// CheckGrant, when set, is called with the record of each of this
	// server's tokens presented (subject and actor), before the policy:
	// return an error to refuse it, for example when its user has been
	// disabled, as RefreshTokenOptions.CheckGrant does for a refresh. A
	// non-*oauth2.Error becomes invalid_request (RFC 8693 §2.2.2).
	CheckGrant func(ctx context.Context, client *storage.Client, token *storage.Token) error
}

// TokenExchange returns the factory of the token exchange grant (RFC 8693).
//
// A client trades a subject token, and for a delegation an actor token,
// for an access token of this server. Either token is one of this
// server's active access or refresh tokens, or, with TrustedIssuers, a JWT
// of a trusted issuer. A token is recognised by its format and record,
// never by the type the client declares: a refresh token declared as an
// access token is refused.
//
// The grant enforces, whatever the policy says:
//   - this server's tokens may be exchanged by the client they were
//     issued to, and access tokens also by a confidential client their
//     audience names; a public client's refresh token only at the
//     refresh_token grant, where it is rotated; a trusted issuer's JWT
//     must name this server (its issuer or token endpoint) or, for a
//     confidential client, the client in its aud;
//   - a token bound to a DPoP key needs a proof of that key, and the
//     issued token is bound to it (RFC 9449);
//   - a subject token's may_act claim names the only party that may act
//     for it (RFC 8693 §4.4);
//   - scopes only narrow: to the subject token's, the policy's and the
//     client's; the audience stays within the policy's and the client's;
//   - the issued token never outlives the subject or actor token, and a
//     token exchanged from one of this server's tokens joins that token's
//     grant: revoking the grant (a refresh token revoked or reused, a
//     code replayed) revokes the exchanged tokens too. Revoking the subject
//     access token alone revokes only that token;
//   - a refresh token comes with the issued token only where the policy
//     allows one, and never for a refresh token or a DPoP-bound token.
//
// When the request names resources (RFC 8707), they are the issued
// token's audience, as at every grant; audience parameters must still be
// allowed. A trusted issuer's JWT that names this server is accepted by
// this grant as it is by the JWT bearer grant (which takes it once): a
// policy that should not take assertions as subject tokens tells them
// apart by the JWT's Type or claims.
//
// A delegation gives the issued token an act claim naming the actor, with
// any act of the subject token nested inside it (RFC 8693 §4.1); it
// appears in JWT access tokens and at introspection. Every response names
// issued_token_type (RFC 8693 §2.2.1).
//
// Errors follow RFC 8693 §2.2.2: invalid_request for missing or bad
// parameters and for a subject or actor token that is invalid, expired,
// revoked, of another client or not acceptable; invalid_target,
// invalid_scope; unauthorized_client when the policy refuses.
func TokenExchange(opts TokenExchangeOptions) oauth2.GrantFactory {
	return func(p *oauth2.Provider) (oauth2.GrantHandler, error) {
		check := oauth2.TrustedJWTOptions{Leeway: opts.Leeway, Algorithms: opts.Algorithms}
		if err := check.Validate(); err != nil {
			return nil, fmt.Errorf("grant: TokenExchangeOptions: %w", err)
		}
		if opts.TrustedIssuers != nil {
			if err := oauth2.CheckTrustedIssuers(opts.TrustedIssuers); err != nil {
				return nil, fmt.Errorf("grant: TokenExchangeOptions.TrustedIssuers: %w", err)
			}
		}
		if opts.MapSubject != nil && opts.TrustedIssuers == nil {
			return nil, errors.New("grant: TokenExchangeOptions.MapSubject is set without TrustedIssuers")
		}
		return &tokenExchange{p: p, opts: opts}, nil
	}
}

type tokenExchange struct {
	p    *oauth2.Provider
	opts TokenExchangeOptions
}

func (*tokenExchange) GrantType() string { return GrantTypeTokenExchange }

// exchangeRefused is what a policy's nil allowance answers.
var exchangeRefused = oauth2.NewError(oauth2.ErrUnauthorizedClient, "the client may not make this exchange")

func (h *tokenExchange) HandleTokenRequest(ctx context.Context, req *oauth2.TokenRequest) (*oauth2.Issue, error) {
	f := req.Form
	// RFC 8693 §2.1: the parameters, before any token is looked at.
	subjectToken, subjectType := f.Get("subject_token"), f.Get("subject_token_type")
	actorToken, actorType := f.Get("actor_token"), f.Get("actor_token_type")
	switch {
	case subjectToken == "":
		return nil, oauth2.NewError(oauth2.ErrInvalidRequest, "subject_token is missing")
	case subjectType == "":
		return nil, oauth2.NewError(oauth2.ErrInvalidRequest, "subject_token_type is missing")
	case actorToken != "" && actorType == "":
		return nil, oauth2.NewError(oauth2.ErrInvalidRequest, "actor_token_type is missing")
	case actorToken == "" && actorType != "":
		return nil, oauth2.NewError(oauth2.ErrInvalidRequest, "actor_token_type is given without actor_token")
	}
	switch f.Get("requested_token_type") {
	case "", TokenTypeAccessToken:
	case TokenTypeRefreshToken:
		// The exchange issues an access token; a refresh token comes with
		// it where the policy allows one (RFC 8693 §2.2.1).
		return nil, oauth2.NewError(oauth2.ErrInvalidRequest, "requested_token_type: only access tokens are issued, with a refresh token where allowed")
	default:
		return nil, oauth2.NewError(oauth2.ErrInvalidRequest, "requested_token_type is not supported")
	}
	if !supportedTokenType(subjectType) {
		return nil, oauth2.NewError(oauth2.ErrInvalidRequest, "subject_token_type is not supported")
	}
	if actorToken != "" && !supportedTokenType(actorType) {
		return nil, oauth2.NewError(oauth2.ErrInvalidRequest, "actor_token_type is not supported")
	}

	subject, err := h.presentedToken(ctx, req, subjectToken, subjectType, "subject_token", true)
	if err != nil {
		return nil, err
	}
	var actor *PresentedToken
	if actorToken != "" {
		if actor, err = h.presentedToken(ctx, req, actorToken, actorType, "actor_token", false); err != nil {
			return nil, err
		}
	}
	// No token outlives what it was exchanged for (RFC 8693 §2.2.1 leaves
	// the lifetime to the server; a longer one would turn an exchange into
	// a way to extend a credential).
	end := subject.ExpiresAt
	if actor != nil && actor.ExpiresAt.Before(end) {
		end = actor.ExpiresAt
	}
	if end.Sub(req.Now) < time.Second {
		// Within a trusted issuer's leeway, or about to end: too short
		// for a token of its own (RFC 8693 §2.2.2: an expired token is
		// invalid_request).
		return nil, oauth2.NewError(oauth2.ErrInvalidRequest, "the subject_token or actor_token has expired")
	}
	// RFC 8693 §4.4: may_act names who may act for the subject; with it,
	// nobody else may, and an impersonation (no actor) is not that party.
	if mayAct, ok := subject.Claims["may_act"]; ok {
		if actor == nil {
			return nil, oauth2.NewError(oauth2.ErrInvalidRequest, "the subject_token names who may act for it (may_act): an actor_token of that party is required")
		}
		if !mayActAllows(mayAct, subject, actor) {
			return nil, oauth2.NewError(oauth2.ErrInvalidRequest, "the subject_token's may_act does not name the actor")
		}
	}
	act, err := actClaim(subject, actor, h.p.Issuer())
	if err != nil {
		return nil, err
	}

	ex := &TokenExchangeRequest{Client: req.Client, Subject: subject, Actor: actor,
		Audience: f["audience"], Resources: req.Resources, Scopes: req.Scopes, Now: req.Now}
	var allow *Allowance
	if h.opts.Policy != nil {
		if allow, err = h.opts.Policy.AllowExchange(ctx, ex); err != nil {
			return nil, policyError(err, "token exchange")
		}
	}
	if allow == nil {
		return nil, exchangeRefused
	}
	if err := allow.check(); err != nil {
		return nil, err
	}
	audience, err := h.audience(req, allow, ex.Audience)
	if err != nil {
		return nil, err
	}
	scopes, err := exchangeScopes(req, subject, allow)
	if err != nil {
		return nil, err
	}

	is := &oauth2.Issue{
		Subject:             subject.Subject,
		Scopes:              scopes,
		Audience:            audience,
		Claims:              exchangeClaims(subject, act, allow.Claims),
		RefreshToken:        allow.RefreshToken,
		AccessTokenLifetime: allow.AccessTokenLifetime,
		GrantExpiresAt:      end,
		ResponseParameters:  map[string]string{"issued_token_type": TokenTypeAccessToken},
	}
	if allow.RefreshToken && (subject.refreshToken() || subject.bound() || actor != nil && actor.bound() ||
		subject.Record != nil && subject.Record.ClientID != req.Client.ID) {
		// No second refresh chain beside a refresh token's own, which
		// rotates; no refresh token that would outlast a DPoP binding (a
		// confidential client's refresh token is not bound, RFC 9449 §5);
		// and none in another client's grant, whose revocation (this one
		// revoked, or reused) would end that client's session too.
		is.RefreshToken = false
	}
	if subject.Record != nil {
		// The exchanged token joins the subject token's grant, so that
		// revoking the grant revokes it too. There is no Consume: nothing
		// is used up, and a failed write must not revoke the subject's
		// grant.
		is.GrantID = subject.Record.GrantID
		if subject.Record.ClientID == req.Client.ID {
			// A client's own exchange also takes the grant's values for
			// the features, which keep their say over it (an OpenID
			// Provider ends it with the user's login session). Another
			// client's does not: it is no sign-in of that client, and
			// lives no longer than the access token it was exchanged for.
			is.Extensions = maps.Clone(subject.Record.Extensions)
		}
		if !subject.Record.GrantExpiresAt.IsZero() && subject.Record.GrantExpiresAt.Before(is.GrantExpiresAt) {
			is.GrantExpiresAt = subject.Record.GrantExpiresAt
		}
	}
	return is, nil
}

// supportedTokenType reports whether typ is a token type this grant
// accepts as subject or actor token: this server's access and refresh
// tokens and JWTs. An ID token, a SAML assertion or an unknown type is
// not.
func supportedTokenType(typ string) bool {
	return typ == TokenTypeAccessToken || typ == TokenTypeRefreshToken || typ == TokenTypeJWT
}

// presentedToken verifies a subject or actor token as its declared type
// allows (RFC 8693 §2.1: the server must validate it per its type), and
// checks that the client may present it.
func (h *tokenExchange) presentedToken(ctx context.Context, req *oauth2.TokenRequest, value, typ, param string, isSubject bool) (*PresentedToken, error) {
	invalid := func(description string) *oauth2.Error {
		return oauth2.NewError(oauth2.ErrInvalidRequest, param+" "+description)
	}
	var kind storage.TokenKind
	switch typ {
	case TokenTypeAccessToken:
		kind = storage.AccessToken
	case TokenTypeRefreshToken:
		kind = storage.RefreshToken
	case TokenTypeJWT:
		// A JWT is this server's JWT access token, or a trusted issuer's;
		// an opaque token is neither (RFC 7519 §3: three segments).
		if strings.Count(value, ".") != 2 {
			return nil, invalid("is not a JWT")
		}
		kind = storage.AccessToken
	}
	rec, err := h.p.ActiveToken(ctx, value, kind)
	switch {
	case err == nil:
		t, err := h.ownToken(req, rec, typ, invalid)
		if err != nil || h.opts.CheckGrant == nil {
			return t, err
		}
		if err := h.opts.CheckGrant(ctx, req.Client, rec); err != nil {
			var oe *oauth2.Error
			if errors.As(err, &oe) {
				return nil, oe
			}
			return nil, invalid("is no longer valid").WithCause(err)
		}
		return t, nil
	case errors.Is(err, oauth2.ErrUnknownToken) && typ == TokenTypeJWT && h.opts.TrustedIssuers != nil:
		return h.issuerToken(ctx, req, value, typ, isSubject, invalid)
	case errors.Is(err, oauth2.ErrInactiveToken):
		// Not ours, expired, revoked, or ours but of the other kind.
		return nil, invalid("is invalid, expired or revoked, or not of its declared type").WithCause(err)
	default:
		return nil, oauth2.StorageError("the "+param+" could not be looked up", err)
	}
}

// ownToken checks that the client may exchange one of this server's
// tokens (RFC 8693 §5; Keycloak CVE-2022-1245).
func (h *tokenExchange) ownToken(req *oauth2.TokenRequest, rec *storage.Token, typ string, invalid func(string) *oauth2.Error) (*PresentedToken, error) {
	client := req.Client
	own := rec.ClientID == client.ID
	// An access token is meant for its audience: a confidential client
	// it names may exchange it (a service calling another on the user's
	// behalf). A public client cannot prove it is the client named, and a
	// refresh token is a credential of its client alone.
	addressed := rec.Kind == storage.AccessToken && !client.IsPublic() && slices.Contains(rec.Audience, client.ID)
	if !own && !addressed {
		return nil, invalid("was issued to another client")
	}
	// A public client's refresh token is redeemed only where it is
	// rotated, so that a stolen one is detected when it is used again
	// (RFC 9700 §4.14.2): the refresh_token grant. Anyone can claim to be
	// a public client.
	if rec.Kind == storage.RefreshToken && client.IsPublic() {
		return nil, invalid("of a public client can only be used at the refresh_token grant")
	}
	// A client's own tokens have a subject in the clients' namespace;
	// another client cannot hold a token of that subject (RFC 9700 §4.15).
	if len(rec.Subject) > len(oauth2.ClientSubjectPrefix) && rec.Subject[:len(oauth2.ClientSubjectPrefix)] == oauth2.ClientSubjectPrefix && rec.Subject != oauth2.ClientSubjectPrefix+client.ID {
		if !own {
			return nil, invalid("has another client as its subject")
		}
	}
	// RFC 9449: a bound token is only usable with its key; exchanging it
	// without a proof of that key would strip the binding.
	if rec.KeyThumbprint != "" && rec.KeyThumbprint != req.KeyThumbprint {
		return nil, invalid("is bound to a DPoP key the request does not prove")
	}
	end := rec.ExpiresAt
	if !rec.GrantExpiresAt.IsZero() && rec.GrantExpiresAt.Before(end) {
		end = rec.GrantExpiresAt
	}
	return &PresentedToken{
		Type:      typ,
		Issuer:    h.p.Issuer(),
		Subject:   rec.Subject,
		ClientID:  rec.ClientID,
		Scopes:    rec.Scopes,
		Audience:  rec.Audience,
		ExpiresAt: end,
		Claims:    rec.Claims,
		Record:    rec,
	}, nil
}

// issuerToken verifies a trusted issuer's JWT and checks that it is meant
// for this server or this client (RFC 8693 §2.1, RFC 7519 §4.1.3).
func (h *tokenExchange) issuerToken(ctx context.Context, req *oauth2.TokenRequest, value, typ string, isSubject bool, invalid func(string) *oauth2.Error) (*PresentedToken, error) {
	jwt, err := oauth2.VerifyTrustedJWT(ctx, h.opts.TrustedIssuers, value, oauth2.TrustedJWTOptions{
		Now: req.Now, Leeway: h.opts.Leeway, Algorithms: h.opts.Algorithms,
	})
	if err != nil {
		if errors.Is(err, oauth2.ErrUntrustedJWT) {
			return nil, invalid("is not a valid JWT of a trusted issuer").WithCause(err)
		}
		return nil, issuerUnavailable(err)
	}
	if jwt.Subject == "" {
		return nil, invalid("has no sub claim")
	}
	// The client's own id names it only when it authenticated: anyone can
	// claim to be a public client.
	clientName := req.Client.ID
	if req.Client.IsPublic() {
		clientName = ""
	}
	if !audienceNames(jwt.Audience, h.p.Issuer(), h.p.TokenEndpoint(), clientName) {
		return nil, invalid("is not meant for this server or this client (aud)")
	}
	if err := checkJWTBinding(jwt, req.KeyThumbprint); err != nil {
		return nil, invalid(err.Error())
	}
	scopes, err := jwtScopes(jwt)
	if err != nil {
		return nil, invalid("has a scope claim that is not a valid scope string")
	}
	t := &PresentedToken{
		Type:      typ,
		Issuer:    jwt.Issuer,
		Subject:   jwt.Subject,
		Scopes:    scopes,
		Audience:  jwt.Audience,
		ExpiresAt: jwt.ExpiresAt,
		Claims:    jwt.Claims,
		JWT:       jwt,
	}
	if isSubject {
		if h.opts.MapSubject == nil {
			return nil, invalid("is a JWT of another issuer, and no subject mapping is configured")
		}
		sub, err := h.opts.MapSubject(ctx, req.Client, jwt)
		if err != nil {
			var oe *oauth2.Error
			if errors.As(err, &oe) {
				return nil, oe
			}
			return nil, invalid("names a subject that is not known here").WithCause(err)
		}
		if !validSubject(sub) {
			return nil, invalid("names a subject that is not known here").WithCause(errors.New("grant: MapSubject returned an empty or invalid subject"))
		}
		t.Subject = sub
	}
	return t, nil
}

// audience returns the issued token's audience: the requested targets,
// each allowed by the policy and registered for the client, or all that
// are when none is requested (RFC 8693 §2.1, §2.2.2; RFC 8707 §2).
func (h *tokenExchange) audience(req *oauth2.TokenRequest, allow *Allowance, requested []string) ([]string, error) {
	allowed := allowedAudience(h.p, req.Client, allow)
	for _, list := range [...][]string{requested, req.Resources} {
		for _, a := range list {
			if !slices.Contains(allowed, a) {
				return nil, oauth2.NewError(oauth2.ErrInvalidTarget, "the requested audience or resource is not allowed for this exchange")
			}
		}
	}
	if len(requested) == 0 && len(req.Resources) == 0 {
		if len(allowed) == 0 && allow.Audience != nil {
			return nil, oauth2.NewError(oauth2.ErrInvalidTarget, "no audience allowed for this exchange is registered for the client")
		}
		return allowed, nil
	}
	out := slices.Clone(requested)
	for _, r := range req.Resources {
		if !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	return out, nil
}

// allowedAudience is the policy's audience within the client's registered
// audience.
func allowedAudience(p *oauth2.Provider, client *storage.Client, allow *Allowance) []string {
	registered := p.ClientAudience(client)
	if allow.Audience == nil {
		return registered
	}
	return within(allow.Audience, registered)
}

// exchangeScopes returns the issued token's scopes: the requested ones,
// which must be within the subject token's, the policy's and the client's
// (RFC 8693 §2.1; RFC 6749 §3.3), or all of those without a request.
func exchangeScopes(req *oauth2.TokenRequest, subject *PresentedToken, allow *Allowance) ([]string, error) {
	limit := subject.Scopes
	if limit == nil && subject.Record != nil {
		// One of this server's tokens without scopes: an exchange gives
		// it none, whatever the policy allows.
		limit = []string{}
	}
	switch {
	case limit == nil && allow.Scopes == nil:
		// A JWT without a scope claim, and no scopes from the policy.
		limit = []string{}
	case limit == nil:
		limit = allow.Scopes
	case allow.Scopes != nil:
		limit = within(limit, allow.Scopes)
	}
	limit = within(limit, req.Client.Scopes)
	if req.Scopes != nil {
		if err := oauth2.CheckScopeSubset(req.Scopes, limit); err != nil {
			return nil, err
		}
		return req.Scopes, nil
	}
	if len(limit) == 0 && len(subject.Scopes) > 0 {
		return nil, oauth2.NewError(oauth2.ErrInvalidScope, "none of the subject token's scopes may be granted in this exchange")
	}
	return slices.Clone(limit), nil
}

// exchangeClaims returns the issued token's extra claims: those of the
// subject token when it is this server's (its act replaced by act), act
// for a JWT of another issuer, and the policy's.
func exchangeClaims(subject *PresentedToken, act any, extra map[string]any) map[string]any {
	var claims map[string]any
	if subject.Record != nil && len(subject.Record.Claims) > 0 {
		claims = maps.Clone(subject.Record.Claims)
		delete(claims, "act")
	}
	if act == nil && len(extra) == 0 {
		return claims
	}
	if claims == nil {
		claims = make(map[string]any, len(extra)+1)
	}
	maps.Copy(claims, extra)
	if act != nil {
		claims["act"] = act
	}
	return claims
}

// actClaim returns the issued token's act claim (RFC 8693 §4.1): the
// actor, with the subject token's act nested in it, so that the chain of
// delegation is kept, never dropped; without an actor, the subject token's
// own act. A chain is kept as its identities only (sub, iss, act: §4.1
// says nothing else in it is to be used), and a trusted issuer's chain
// with that issuer's iss on every actor that names none: an issuer speaks
// for its own subjects, never for this server's (ownIssuer), so a chain of
// its that names one is refused. This server's own actors carry no iss. A
// malformed or too long chain is refused.
func actClaim(subject, actor *PresentedToken, ownIssuer string) (any, error) {
	var prior map[string]any
	if v, ok := subject.Claims["act"]; ok {
		defaultIssuer := ""
		if subject.JWT != nil {
			defaultIssuer = subject.Issuer
		}
		if prior, ok = normalizeAct(v, defaultIssuer, 1); !ok {
			return nil, oauth2.NewError(oauth2.ErrInvalidRequest, "the subject_token's act claim is malformed or nested too deep")
		}
		if subject.JWT != nil && actsFor(prior, ownIssuer) {
			// Another issuer cannot say that one of this server's
			// subjects acted: it speaks for its own.
			return nil, oauth2.NewError(oauth2.ErrInvalidRequest, "the subject_token's act claim names an actor of this server")
		}
	}
	if actor == nil {
		if prior == nil {
			return nil, nil
		}
		return prior, nil
	}
	if !validActorName(actor.Subject) {
		return nil, oauth2.NewError(oauth2.ErrInvalidRequest, "the actor_token's subject is empty, too long or has control characters")
	}
	act := map[string]any{"sub": actor.Subject}
	if actor.JWT != nil {
		// Another issuer's subject is only unique with its issuer.
		act["iss"] = actor.Issuer
	}
	if prior != nil {
		if actDepth(prior) >= maxActDepth {
			return nil, oauth2.NewError(oauth2.ErrInvalidRequest, "the chain of delegation is too long")
		}
		act["act"] = prior
	}
	return act, nil
}

// normalizeAct returns a copy of the act claim v with only its identities
// (sub, iss and the nested act), giving defaultIssuer, when not empty, to
// every level without an iss. It refuses anything but a JSON object with
// a valid sub (and a string iss), or a chain deeper than maxActDepth
// counting from depth.
func normalizeAct(v any, defaultIssuer string, depth int) (map[string]any, bool) {
	if depth > maxActDepth {
		return nil, false
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, false
	}
	sub, ok := m["sub"].(string)
	if !ok || !validActorName(sub) {
		return nil, false
	}
	out := map[string]any{"sub": sub}
	if iss, present := m["iss"]; present {
		s, ok := iss.(string)
		if !ok || !validActorName(s) {
			return nil, false
		}
		out["iss"] = s
	} else if defaultIssuer != "" {
		out["iss"] = defaultIssuer
	}
	if next, present := m["act"]; present {
		inner, ok := normalizeAct(next, defaultIssuer, depth+1)
		if !ok {
			return nil, false
		}
		out["act"] = inner
	}
	return out, true
}

// actsFor reports whether a normalized chain names an actor of issuer.
func actsFor(act map[string]any, issuer string) bool {
	for act != nil {
		if act["iss"] == issuer {
			return true
		}
		act, _ = act["act"].(map[string]any)
	}
	return false
}

// actDepth is the number of actors in a normalized chain.
func actDepth(act map[string]any) int {
	n := 0
	for act != nil {
		n++
		act, _ = act["act"].(map[string]any)
	}
	return n
}

// validActorName reports whether s may name an actor or its issuer in an
// act claim: what any subject may be, a client's subject included.
func validActorName(s string) bool { return oauth2.CheckSubject(s) == nil }

// mayActAllows reports whether a subject token's may_act claim (RFC 8693
// §4.4) names the actor: its sub is the actor's subject, in the namespace
// of its iss, or without one of the subject token's issuer. One issuer's
// "robot" is not another's.
func mayActAllows(mayAct any, subject, actor *PresentedToken) bool {
	m, ok := mayAct.(map[string]any)
	if !ok {
		return false
	}
	sub, ok := m["sub"].(string)
	if !ok || sub != actor.Subject {
		return false
	}
	issuer := subject.Issuer
	if iss, present := m["iss"]; present {
		if issuer, ok = iss.(string); !ok {
			return false
		}
	}
	return issuer == actor.Issuer
}

// check refuses claims an allowance may not add.
func (a *Allowance) check() error {
	for name := range a.Claims {
		if token.IsReservedClaim(name) || name == "act" || name == "may_act" {
			return oauth2.NewError(oauth2.ErrServerError, "the exchange could not be completed").
				WithCause(errors.New("grant: the policy's Allowance.Claims sets the claim " + name + ", which the grant owns"))
		}
	}
	if a.AccessTokenLifetime < 0 {
		return oauth2.NewError(oauth2.ErrServerError, "the exchange could not be completed").
			WithCause(errors.New("grant: the policy's Allowance.AccessTokenLifetime is negative"))
	}
	return nil
}

// policyError turns a policy's error into the response.
func policyError(err error, what string) error {
	var oe *oauth2.Error
	if errors.As(err, &oe) {
		return oe
	}
	return oauth2.NewError(oauth2.ErrServerError, "the "+what+" could not be decided").WithCause(err)
}

// issuerUnavailable answers a trusted issuer's keys that could not be
// fetched: the token may be fine, the server cannot tell now.
func issuerUnavailable(err error) error {
	return &oauth2.Error{Code: oauth2.ErrTemporarilyUnavailable, Status: 503,
		Description: "the issuer's keys could not be fetched; try again later", Cause: err}
}
