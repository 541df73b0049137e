package grant

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/grantor-dev/grantor/oauth2"
	"github.com/grantor-dev/grantor/storage"
)

// GrantTypeJWTBearer is the grant_type of RFC 7523 §2.1: a JWT used as an
// authorization grant.
const GrantTypeJWTBearer = "urn:ietf:params:oauth:grant-type:jwt-bearer"

// DefaultJWTBearerMaxLifetime is JWTBearerOptions.MaxLifetime's default:
// how far ahead of now an assertion's exp may be.
const DefaultJWTBearerMaxLifetime = 10 * time.Minute

// jwtBearerReplayPrefix namespaces the jti of assertions in the replay
// store, apart from client assertions and DPoP proofs.
const jwtBearerReplayPrefix = "jwt-bearer:"

// JWTBearerOptions configure the JWT bearer grant.
type JWTBearerOptions struct {
	// TrustedIssuers are the issuers whose assertions are accepted.
	// Required.
	TrustedIssuers oauth2.TrustedIssuers

	// Replay remembers each assertion's jti until it expires, so that an
	// assertion is used once (RFC 7523 §3 item 7). Required.
	Replay storage.ReplayStore

	// MapSubject maps an assertion's issuer and subject to the subject of
	// the tokens issued for it: which of the application's users (or
	// services) it is. Required: an application decides how other
	// issuers' subjects become its own, and may refuse any of them.
	MapSubject SubjectMapper

	// Policy decides what an assertion obtains for a client. Nil gives
	// any client registered for the grant what a client credentials
	// request would: the requested scopes, which must be within the
	// client's registered ones, or its default scopes without a scope
	// parameter, for its registered audience, without a refresh token;
	// any assertion of any trusted issuer, as long as MapSubject takes
	// it. A policy ties issuers, subjects or claims to clients. Either way
	// the assertion's scope claim, when present, bounds the scopes.
	Policy JWTBearerPolicy

	// MaxLifetime refuses an assertion whose exp is further ahead than
	// this (RFC 7523 §3 item 4 lets the server bound it); zero means
	// DefaultJWTBearerMaxLifetime, 10 minutes.
	MaxLifetime time.Duration

	// Leeway tolerates clock differences with the issuers for exp, nbf
	// and iat; zero means oauth2.DefaultTrustedJWTLeeway.
	Leeway time.Duration

	// Algorithms are the JWS algorithms accepted; empty means every
	// asymmetric one (see oauth2.TrustedJWTOptions).
	Algorithms []string
}

// JWTBearer returns the factory of the JWT bearer grant (RFC 7523 §2.1,
// RFC 7521 §4.1): a client presents an assertion that a trusted issuer
// signed about a subject, and gets an access token for that subject.
//
// The assertion must be a JWT of one of TrustedIssuers (signature,
// algorithm and lifetime checked by oauth2.VerifyTrustedJWT), with an aud
// naming this server, its issuer identifier or token endpoint (RFC 7523 §3
// item 3); an exp no further ahead than MaxLifetime; a sub, which
// MapSubject maps to a subject of this server; and a jti, used once. Every
// refusal is invalid_grant (RFC 7523 §3.1); an issuer whose keys cannot be
// fetched is temporarily_unavailable. Authenticating the client with an
// assertion (RFC 7523 §2.2) is separate: see oauth2.PrivateKeyJWT.
func JWTBearer(opts JWTBearerOptions) oauth2.GrantFactory {
	return func(p *oauth2.Provider) (oauth2.GrantHandler, error) {
		switch {
		case oauth2.CheckTrustedIssuers(opts.TrustedIssuers) != nil:
			return nil, errors.New("grant: JWTBearer needs TrustedIssuers")
		case opts.Replay == nil:
			return nil, errors.New("grant: JWTBearer needs a Replay store (RFC 7523 §3 item 7)")
		case opts.MapSubject == nil:
			// Without it every assertion would be refused: a grant that
			// is advertised and can never answer is a configuration
			// error, not a default.
			return nil, errors.New("grant: JWTBearer needs MapSubject: how the issuers' subjects become this server's")
		}
		check := oauth2.TrustedJWTOptions{Leeway: opts.Leeway, MaxLifetime: opts.MaxLifetime, Algorithms: opts.Algorithms}
		if err := check.Validate(); err != nil {
			return nil, fmt.Errorf("grant: JWTBearerOptions: %w", err)
		}
		if opts.MaxLifetime == 0 {
			opts.MaxLifetime = DefaultJWTBearerMaxLifetime
		}
		return &jwtBearer{p: p, opts: opts}, nil
	}
}

type jwtBearer struct {
	p    *oauth2.Provider
	opts JWTBearerOptions
}

func (*jwtBearer) GrantType() string { return GrantTypeJWTBearer }

func badAssertion(description string) *oauth2.Error {
	return oauth2.NewError(oauth2.ErrInvalidGrant, "the assertion "+description)
}

func (h *jwtBearer) HandleTokenRequest(ctx context.Context, req *oauth2.TokenRequest) (*oauth2.Issue, error) {
	assertion := req.Form.Get("assertion")
	if assertion == "" {
		return nil, oauth2.NewError(oauth2.ErrInvalidRequest, "assertion is missing")
	}
	jwt, err := oauth2.VerifyTrustedJWT(ctx, h.opts.TrustedIssuers, assertion, oauth2.TrustedJWTOptions{
		Now: req.Now, Leeway: h.opts.Leeway, Algorithms: h.opts.Algorithms,
		MaxLifetime: h.opts.MaxLifetime, RequireJTI: true,
	})
	if err != nil {
		if errors.Is(err, oauth2.ErrUntrustedJWT) {
			return nil, badAssertion("is not a valid JWT of a trusted issuer").WithCause(err)
		}
		return nil, issuerUnavailable(err)
	}
	// An access token (RFC 9068 §2.1: typ at+jwt) is not an assertion:
	// a token an issuer made for this server to accept over and over is
	// not a one-time grant of it (RFC 8725 §3.11).
	if jwt.IsAccessToken() {
		return nil, badAssertion("is an access token (typ at+jwt), not an assertion")
	}
	// RFC 7523 §3 items 2 and 3.
	if jwt.Subject == "" {
		return nil, badAssertion("has no sub claim")
	}
	if !audienceNames(jwt.Audience, h.p.Issuer(), h.p.TokenEndpoint()) {
		return nil, badAssertion("is not meant for this server (aud)")
	}
	if err := checkJWTBinding(jwt, req.KeyThumbprint); err != nil {
		return nil, badAssertion(err.Error())
	}
	subject, err := h.opts.MapSubject(ctx, req.Client, jwt)
	if err != nil {
		var oe *oauth2.Error
		if errors.As(err, &oe) {
			return nil, oe
		}
		return nil, badAssertion("names a subject that is not known here").WithCause(err)
	}
	if !validSubject(subject) {
		return nil, badAssertion("names a subject that is not known here").
			WithCause(errors.New("grant: MapSubject returned an empty or invalid subject"))
	}

	allow := &Allowance{}
	if h.opts.Policy != nil {
		allow, err = h.opts.Policy.AllowAssertion(ctx, &JWTBearerRequest{Client: req.Client, Assertion: jwt,
			Subject: subject, Scopes: req.Scopes, Resources: req.Resources, Now: req.Now})
		if err != nil {
			return nil, policyError(err, "assertion")
		}
		if allow == nil {
			return nil, badAssertion("is not accepted for this client")
		}
		if err := allow.check(); err != nil {
			return nil, err
		}
	}
	claim, err := jwtScopes(jwt)
	if err != nil {
		return nil, badAssertion("has a scope claim that is not a valid scope string")
	}
	scopes, err := bearerScopes(req, allow, claim)
	if err != nil {
		return nil, err
	}
	var audience []string
	if allow.Audience != nil {
		if audience = allowedAudience(h.p, req.Client, allow); len(audience) == 0 {
			return nil, oauth2.NewError(oauth2.ErrInvalidTarget, "no audience allowed for this assertion is registered for the client")
		}
	}

	replayKey := jwtBearerReplayPrefix + strconv.Itoa(len(jwt.Issuer)) + ":" + jwt.Issuer + ":" + jwt.ID
	leeway := h.opts.Leeway
	if leeway == 0 {
		leeway = oauth2.DefaultTrustedJWTLeeway
	}
	return &oauth2.Issue{
		Subject:             subject,
		Scopes:              scopes,
		Audience:            audience,
		Claims:              allow.Claims,
		RefreshToken:        allow.RefreshToken,
		AccessTokenLifetime: allow.AccessTokenLifetime,
		Consume: func(ctx context.Context) error {
			// Used once (RFC 7523 §3 item 7): burnt after every check
			// passed, just before the tokens are stored (a refused
			// request leaves it unused; a failed write leaves it burnt,
			// which fails closed), and remembered as long as it could be
			// accepted.
			err := h.opts.Replay.Remember(ctx, replayKey, jwt.ExpiresAt.Add(leeway))
			switch {
			case errors.Is(err, storage.ErrConsumed):
				return badAssertion("has already been used")
			case err != nil:
				return oauth2.StorageError("the assertion could not be recorded", err)
			}
			return nil
		},
	}, nil
}

// bearerScopes returns the scopes an assertion obtains: the requested ones
// within the policy's, the client's registered scopes and the assertion's
// scope claim when it has one; without a request, all of those when the
// policy names scopes, else the client's default scopes within the claim.
func bearerScopes(req *oauth2.TokenRequest, allow *Allowance, claim []string) ([]string, error) {
	allowed := req.Client.Scopes
	if allow.Scopes != nil {
		allowed = within(allow.Scopes, allowed)
	}
	if claim != nil {
		// The issuer said what the assertion is for (RFC 8693 §4.2's
		// scope claim): no more.
		allowed = within(allowed, claim)
	}
	if req.Scopes != nil {
		if err := oauth2.CheckScopeSubset(req.Scopes, allowed); err != nil {
			return nil, err
		}
		return req.Scopes, nil
	}
	if allow.Scopes != nil {
		return slices.Clone(allowed), nil
	}
	if claim != nil {
		return slices.Clone(within(req.Client.DefaultScopes, claim)), nil
	}
	return slices.Clone(req.Client.DefaultScopes), nil
}
