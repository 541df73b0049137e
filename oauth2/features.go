package oauth2

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/grantor-dev/grantor/storage"
	"github.com/grantor-dev/grantor/token"
)

// Feature is a part of an authorization server that is not a grant type:
// OpenID Connect (package oidc) is one. It joins the Provider through
// Config.Features and takes part through the optional interfaces it
// implements, which NewProvider looks for once, as it looks for them on
// grant handlers:
//
//   - EndpointProvider: endpoints of its own, served by Handler below the
//     issuer's path and advertised in the metadata document;
//   - MetadataProvider: members of the metadata document;
//   - ScopeProvider: scopes added to scopes_supported;
//   - KeyPublisherProvider: public keys published at jwks_uri beside
//     those of JWT access tokens;
//   - AuthorizationRequestChecker: a step of the validation of every
//     authorization request;
//   - ApprovalExtender: a step of every approval;
//   - TokenResponseExtender: members of the token response;
//   - SubjectMapper: the subject a client sees of its users, at the
//     introspection endpoint.
//
// A Feature is registered only while it is in Config.Features: nothing of
// it is served or advertised otherwise.
type Feature interface {
	// FeatureName names the feature in errors and logs, such as "oidc".
	FeatureName() string
}

// FeatureFactory builds a Feature for a Provider. NewProvider calls each
// factory once, after the grants are registered, handing it the Provider
// (its issuer, clock, and the tokens it can look up). A factory returns an
// error for an incomplete configuration.
type FeatureFactory func(p *Provider) (Feature, error)

// ScopeProvider is implemented by a feature that defines scopes, such as
// OpenID Connect's openid, profile and email: the metadata document's
// scopes_supported lists them after Config.ScopesSupported.
type ScopeProvider interface {
	SupportedScopes() []string
}

// KeyPublisherProvider is implemented by a feature that signs JWTs of its
// own, such as OpenID Connect's ID tokens: the Provider's jwks_uri
// (JWKSHandler) publishes the keys of each of its key sets beside those of
// JWT access tokens, a key set shared with them listed once.
type KeyPublisherProvider interface {
	KeyPublishers() []token.KeyPublisher
}

// AuthorizationRequestChecker is implemented by a feature that validates
// parameters of authorization requests beyond OAuth's own, such as the
// nonce, max_age and prompt of OpenID Connect. The authorization endpoint
// and the PAR endpoint call it for each request, once the Provider has
// validated the client, the redirect URI and every parameter it knows
// (the scopes in req.Scopes, the response type in req.ResponseType).
//
// It may keep what it validated in req.Parameters, which the request
// carries to the interaction and the code (storage.AuthorizationCode's
// Request), and put the validated parameters' names in nothing else. It
// may also take scopes out of req.Scopes, for a scope the feature ignores
// in that request (as OpenID Connect Core §11 ignores offline_access
// without prompt=consent), but never add one: the Provider checked those
// against the client, and refuses a request a checker added scopes to
// with server_error. Its error is sent to the client's redirect URI
// (RFC 6749 §4.1.2.1): an *Error chooses the code, any other error is
// answered as server_error. Values kept are bounded: at most
// MaxExtensions of them, each of at most MaxParameterBytes.
type AuthorizationRequestChecker interface {
	CheckAuthorizationRequest(ctx context.Context, params url.Values, client *storage.Client, req *storage.AuthorizationRequest) error
}

// ApprovalExtender is implemented by a feature that takes part in the
// approval of authorization requests, such as an OpenID Provider that
// remembers the user's login session. It is called once the application
// has approved a request (Approve, SilentAuthorize) and before the
// response type's handler issues the code: it may set cookies on w and
// put values into a.Extensions, which the grant keeps
// (storage.AuthorizationCode.Extensions, then the tokens' Extensions). Its
// error is sent to the client's redirect URI, as an
// AuthorizationRequestChecker's is.
type ApprovalExtender interface {
	ExtendApproval(w http.ResponseWriter, r *http.Request, a *Authorization) error
}

// TokenResponseExtender is implemented by a feature that adds members to
// successful token responses, such as an OpenID Provider's id_token. The
// token endpoint calls it once the tokens are minted and before anything
// is consumed or stored: an error refuses the request and uses nothing up
// (an *Error chooses the response, any other error is server_error).
//
// The members follow Issue.ResponseParameters' rules, and must not be
// members a grant sets in the same response.
type TokenResponseExtender interface {
	ExtendTokenResponse(ctx context.Context, t *IssuedTokens) (map[string]string, error)
}

// SubjectMapper is implemented by a feature that shows a client its users
// under identifiers of the client's own, such as OpenID Connect's pairwise
// subjects (Core §8.1): the "sub" of the JWT access tokens issued to such
// a client, and of introspection answers about them, is ClientSubject's,
// so that it agrees with the feature's own answers (an ID token,
// UserInfo) and no token tells the client the application's identifier.
// The subject of a client's own token (ClientSubjectPrefix) is never
// mapped. Records keep the application's subject: the claims hook, the
// grants and resource.Store (an API in the same process) see it. At most
// one registered feature maps subjects.
type SubjectMapper interface {
	ClientSubject(ctx context.Context, client *storage.Client, subject string) (string, error)
}

// GrantChecker is implemented by a feature that can end a grant before
// its tokens expire, such as an OpenID Provider whose grants end with the
// user's login session (OpenID Connect Back-Channel Logout 1.0 §2.7).
// ActiveToken, which answers introspection, UserInfo and the subject
// tokens of token exchange, calls GrantActive (through
// Provider.GrantActive) for each record that is otherwise active and
// carries Extensions (those of grants a feature took part in), and so
// does resource.Store when the Provider is its keys: false makes the
// token inactive, and an error fails the lookup, which the endpoints
// answer with 503. The grants' own token requests are the feature's to
// check, in its TokenResponseExtender.
type GrantChecker interface {
	GrantActive(ctx context.Context, rec *storage.Token) (bool, error)
}

// IssuedTokens are the tokens a token request is about to return, as a
// TokenResponseExtender sees them.
type IssuedTokens struct {
	// Request is the token request.
	Request *TokenRequest
	// Issue is what the grant asked for, checked.
	Issue *Issue
	// GrantID names the grant the tokens belong to.
	GrantID string
	// AccessToken is the access token, as the response carries it.
	AccessToken string
	// AccessTokenClaims are the access token's claims.
	AccessTokenClaims *token.Claims
	// RefreshToken is the refresh token, "" when none is issued.
	RefreshToken string
	// Now is the time of the request on the Provider's clock.
	Now time.Time
}

// MaxExtensions bounds the values a grant keeps for the features of the
// Provider (Issue.Extensions, Authorization.Extensions), and the
// parameters a feature keeps with an authorization request
// (storage.AuthorizationRequest.Parameters).
const MaxExtensions = 16

// maxExtensionValueBytes bounds one value of Issue.Extensions or
// Authorization.Extensions: room for a claims request (OpenID Connect Core
// §5.5) of a few hundred claims.
const maxExtensionValueBytes = 8 << 10

// checkExtensions checks values kept for features (what names them, such
// as "Issue.Extensions"): at most MaxExtensions, names of lower-case
// letters, digits and underscores, values of UTF-8 within maxBytes.
func checkExtensions(what string, m map[string]string, maxBytes int) error {
	if len(m) > MaxExtensions {
		return fmt.Errorf("%s has %d values, more than %d", what, len(m), MaxExtensions)
	}
	for name, value := range m {
		switch {
		case name == "" || len(name) > maxParameterNameBytes ||
			strings.Trim(name, "abcdefghijklmnopqrstuvwxyz0123456789_") != "":
			return fmt.Errorf("%s has a value named %q: names are lower-case letters, digits and underscores", what, safeName(name))
		case len(value) > maxBytes || !utf8.ValidString(value):
			return fmt.Errorf("%s[%q] is longer than %d bytes or not UTF-8", what, name, maxBytes)
		}
	}
	return nil
}

// features are the optional parts of the registered features (and
// grants) that the Provider calls on its paths.
type features struct {
	requestCheckers []namedPart[AuthorizationRequestChecker]
	approvals       []namedPart[ApprovalExtender]
	responses       []namedPart[TokenResponseExtender]
	keys            []token.KeyPublisher
	scopes          []string
	subjects        *namedPart[SubjectMapper]
	grants          []namedPart[GrantChecker]
}

// namedPart is an optional part of a feature, with the feature's name for
// errors.
type namedPart[T any] struct {
	name string
	part T
}

// registerFeatures builds the features of Config.Features and takes what
// each brings.
func (p *Provider) registerFeatures(factories []FeatureFactory) error {
	names := make(map[string]bool)
	for i, f := range factories {
		if f == nil {
			return fmt.Errorf("oauth2: Config.Features[%d] is nil", i)
		}
		ft, err := f(p)
		if err != nil {
			return fmt.Errorf("oauth2: Config.Features[%d]: %w", i, err)
		}
		if isNil(ft) {
			return fmt.Errorf("oauth2: Config.Features[%d]: the factory returned a nil Feature and no error", i)
		}
		name := ft.FeatureName()
		if name == "" || names[name] {
			return fmt.Errorf("oauth2: Config.Features[%d]: the feature's name %q is empty or taken", i, safeName(name))
		}
		names[name] = true
		if v, ok := ft.(Validator); ok {
			if err := v.Validate(); err != nil {
				return fmt.Errorf("oauth2: feature %q: %w", name, err)
			}
		}
		if err := p.registerExtras("feature "+name, ft); err != nil {
			return err
		}
		if err := p.registerParts(name, ft); err != nil {
			return fmt.Errorf("oauth2: feature %q: %w", name, err)
		}
	}
	return nil
}

// registerParts takes the optional parts of a feature or grant handler
// that the Provider calls on its paths.
func (p *Provider) registerParts(name string, v any) error {
	if m, ok := v.(SubjectMapper); ok {
		if p.features.subjects != nil {
			return fmt.Errorf("%s maps subjects already", p.features.subjects.name)
		}
		p.features.subjects = &namedPart[SubjectMapper]{name, m}
	}
	if c, ok := v.(AuthorizationRequestChecker); ok {
		p.features.requestCheckers = append(p.features.requestCheckers, namedPart[AuthorizationRequestChecker]{name, c})
	}
	if a, ok := v.(ApprovalExtender); ok {
		p.features.approvals = append(p.features.approvals, namedPart[ApprovalExtender]{name, a})
	}
	if g, ok := v.(GrantChecker); ok {
		p.features.grants = append(p.features.grants, namedPart[GrantChecker]{name, g})
	}
	if r, ok := v.(TokenResponseExtender); ok {
		p.features.responses = append(p.features.responses, namedPart[TokenResponseExtender]{name, r})
	}
	if k, ok := v.(KeyPublisherProvider); ok {
		p.features.keys = append(p.features.keys, k.KeyPublishers()...)
	}
	if s, ok := v.(ScopeProvider); ok {
		for _, scope := range s.SupportedScopes() {
			if !slices.Contains(p.features.scopes, scope) {
				p.features.scopes = append(p.features.scopes, scope)
			}
		}
	}
	return nil
}

// clientSubject returns the subject the client clientID sees of the
// resource owner subject (SubjectMapper); known, when it is that client,
// saves a lookup.
func (p *Provider) clientSubject(ctx context.Context, subject, clientID string, known *storage.Client) (string, error) {
	m := p.features.subjects
	if m == nil || strings.HasPrefix(subject, ClientSubjectPrefix) {
		return subject, nil
	}
	client := known
	if client == nil || client.ID != clientID {
		var err error
		if client, err = p.clients.Client(ctx, clientID); err != nil {
			return "", err
		}
	}
	return m.part.ClientSubject(ctx, client, subject)
}

// checkRequestByFeatures runs the features' AuthorizationRequestCheckers
// on a request the Provider has validated, and checks what they kept.
func (p *Provider) checkRequestByFeatures(ctx context.Context, params url.Values, client *storage.Client, req *storage.AuthorizationRequest) error {
	checked := slices.Clone(req.Scopes)
	for _, c := range p.features.requestCheckers {
		if err := c.part.CheckAuthorizationRequest(ctx, params, client, req); err != nil {
			var oe *Error
			if errors.As(err, &oe) {
				return err
			}
			return NewError(ErrServerError, "the authorization request could not be checked").
				WithCause(fmt.Errorf("oauth2: %s: %w", c.name, err))
		}
	}
	if err := checkExtensions("AuthorizationRequest.Parameters", req.Parameters, MaxParameterBytes); err != nil {
		return NewError(ErrServerError, "the authorization request could not be checked").WithCause(err)
	}
	for i, s := range req.Scopes {
		if !slices.Contains(checked, s) || slices.Contains(req.Scopes[:i], s) {
			return NewError(ErrServerError, "the authorization request could not be checked").
				WithCause(fmt.Errorf("oauth2: a feature added the scope %q to an authorization request", safeName(s)))
		}
	}
	return nil
}

// GrantActive reports whether the registered features (GrantChecker)
// let the grant of rec, an otherwise active token record, go on: true for
// a record without Extensions, which no feature took part in. ActiveToken
// asks it, and so does resource.Store for an API in the same process. An
// error is a store that failed.
func (p *Provider) GrantActive(ctx context.Context, rec *storage.Token) (bool, error) {
	if len(rec.Extensions) == 0 {
		return true, nil
	}
	for _, g := range p.features.grants {
		active, err := g.part.GrantActive(ctx, rec)
		if err != nil || !active {
			if err != nil {
				err = fmt.Errorf("oauth2: %s: %w", g.name, err)
			}
			return false, err
		}
	}
	return true, nil
}

// extendApproval runs the features' ApprovalExtenders on an approval.
func (p *Provider) extendApproval(w http.ResponseWriter, r *http.Request, a *Authorization) error {
	for _, e := range p.features.approvals {
		if err := e.part.ExtendApproval(w, r, a); err != nil {
			var oe *Error
			if errors.As(err, &oe) {
				return err
			}
			return NewError(ErrServerError, "the approval could not be completed").
				WithCause(fmt.Errorf("oauth2: %s: %w", e.name, err))
		}
	}
	if err := checkExtensions("Authorization.Extensions", a.Extensions, maxExtensionValueBytes); err != nil {
		return NewError(ErrServerError, "the approval could not be completed").WithCause(err)
	}
	return nil
}

// extendTokenResponse adds the features' members to a token response.
func (p *Provider) extendTokenResponse(ctx context.Context, t *IssuedTokens, resp *tokenResponse) error {
	for _, e := range p.features.responses {
		members, err := e.part.ExtendTokenResponse(ctx, t)
		if err == nil {
			err = p.addResponseMembers(resp, members)
		}
		if err != nil {
			var oe *Error
			if errors.As(err, &oe) {
				return err
			}
			return NewError(ErrServerError, "the token response could not be completed").
				WithCause(fmt.Errorf("oauth2: %s: %w", e.name, err))
		}
	}
	return nil
}

// addResponseMembers adds a feature's members to resp.Extra, which it
// copies first: resp.Extra may be the grant's Issue.ResponseParameters.
func (p *Provider) addResponseMembers(resp *tokenResponse, members map[string]string) error {
	if len(members) == 0 {
		return nil
	}
	if err := checkResponseParameters(members); err != nil {
		return err
	}
	extra := make(map[string]string, len(resp.Extra)+len(members))
	maps.Copy(extra, resp.Extra)
	for name, value := range members {
		if _, dup := extra[name]; dup {
			return fmt.Errorf("the response member %q is set twice", name)
		}
		extra[name] = value
	}
	resp.Extra = extra
	return nil
}
