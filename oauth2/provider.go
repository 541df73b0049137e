package oauth2

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/grantor-dev/grantor/internal/urlpolicy"

	"github.com/grantor-dev/grantor/storage"
	"github.com/grantor-dev/grantor/storage/memory"
	"github.com/grantor-dev/grantor/token"
)

// Paths of the endpoints, relative to the issuer's path. The metadata
// document is at the well-known path with the issuer's path appended
// (RFC 8414 §3.1).
const (
	TokenPath     = "/token"
	AuthorizePath = "/authorize"
	PARPath       = "/par"
	// RevocationPath is the token revocation endpoint (RFC 7009 §2).
	RevocationPath = "/revoke"
	// IntrospectionPath is the token introspection endpoint (RFC 7662 §2).
	IntrospectionPath = "/introspect"
	JWKSPath          = "/jwks.json"
	MetadataPath      = "/.well-known/oauth-authorization-server"
)

// Prefix of refresh tokens. Access tokens are "gr_at_…" when opaque.
const (
	refreshTokenPrefix = "gr_rt_"
	accessTokenPrefix  = "gr_at_"
)

// Provider is an OAuth 2.x authorization server. It hands out one
// http.Handler per endpoint; Handler mounts them all at the paths the
// metadata document advertises. A Provider is safe for concurrent use.
type Provider struct {
	issuer     string
	issuerPath string
	// The endpoint URLs that client authentication needs on every
	// request, joined once.
	tokenEndpoint, revocationEndpoint, introspectionEndpoint string

	tokenKeys     *token.MACKeySet
	clients       storage.ClientStore
	tokens        storage.TokenStore
	accessTokens  token.AccessTokenStrategy
	refreshTokens *token.Opaque

	handlers       map[string]GrantHandler
	grantTypes     []string
	authenticators map[string]ClientAuthenticator
	authMethods    []string
	limiter        storage.Limiter
	clientAddress  func(*http.Request) string // Config.ClientAddress
	secrets        *secretVerifier
	basicChallenge string // the WWW-Authenticate of a 401
	pushLimit      int64  // pushed authorization requests a minute; negative: no limit
	scanLimit      int64  // introspections of tokens not ours a minute; negative: no limit
	// interactions an address may start a minute; negative: no limit
	interactionLimit int64
	outageLog        logSampler // of 503 answers to a failing store
	boundLog         logSampler // of 503 answers of a bound (full store, busy slots)

	accessTokenLifetime  time.Duration
	refreshTokenLifetime time.Duration
	// The caps of Config.MaxAccessTokenLifetime, MaxRefreshTokenLifetime.
	maxAccessTokenLifetime, maxRefreshTokenLifetime time.Duration
	grantLifetime                                   time.Duration
	defaultAudience                                 []string
	scopesSupported                                 []string
	claimsHook                                      func(context.Context, *TokenRequest, *token.Claims) error
	maxRequestBytes                                 int64

	clock  func() time.Time
	rand   io.Reader
	logger *slog.Logger
	events EventFunc

	// The authorization endpoint and its interactions.
	responseTypes        map[string]ResponseTypeHandler
	interactions         storage.InteractionStore
	loginURL             string
	startInteractionFunc func(http.ResponseWriter, *http.Request, string)
	silentAuthorize      func(context.Context, *http.Request, *PendingAuthorization) (*Approval, error)
	interactionLifetime  time.Duration
	allowPlainPKCE       bool
	errorPageFunc        func(http.ResponseWriter, *http.Request, *Error)
	bindingCookie        string
	secureCookies        bool
	pushed               storage.PushedRequestStore
	pushedLifetime       time.Duration
	requirePAR           bool

	dpop *dpopVerifiers // Config.DPoP; nil when DPoP is off

	// The verification side of the device grant: the grant that issues
	// user codes, and the budgets of user code attempts.
	userCodes        UserCodeVerifier
	userCodeAttempts int64 // per browser; negative: no limit
	userCodeWindow   time.Duration
	userCodeAccount  func(*http.Request) string // Config.UserCodeAccount

	// What the registered grants bring: endpoints, metadata members, and
	// the names of the members they set (EndpointProvider,
	// MetadataProvider).
	grantEndpoints []grantEndpoint
	metadataExtra  map[string]any
	metadataNames  map[string]bool

	// What the registered features (and grants) add to the Provider's
	// paths (Feature).
	features features

	metadata []byte
}

// NewProvider validates cfg and returns a Provider. An unsafe or
// incomplete configuration is an error; there is no half-working Provider.
func NewProvider(cfg Config) (*Provider, error) {
	p := &Provider{
		clients:              cfg.Clients,
		tokens:               cfg.Tokens,
		accessTokens:         cfg.AccessTokens,
		accessTokenLifetime:  orDefault(cfg.AccessTokenLifetime, defaultAccessTokenLifetime),
		refreshTokenLifetime: orDefault(cfg.RefreshTokenLifetime, defaultRefreshTokenLifetime),
		grantLifetime:        orDefault(cfg.GrantLifetime, defaultGrantLifetime),
		scopesSupported:      slices.Clone(cfg.ScopesSupported),
		claimsHook:           cfg.AccessTokenClaims,
		maxRequestBytes:      orDefault(cfg.MaxRequestBytes, defaultMaxRequestBytes),
		clock:                cfg.Clock,
		rand:                 cfg.Rand,
		logger:               cfg.Logger,
		events:               cfg.Events,
		handlers:             make(map[string]GrantHandler),
		authenticators:       make(map[string]ClientAuthenticator),
		responseTypes:        make(map[string]ResponseTypeHandler),
		interactions:         cfg.Interactions,
		loginURL:             cfg.LoginURL,
		startInteractionFunc: cfg.StartInteraction,
		silentAuthorize:      cfg.SilentAuthorize,
		interactionLifetime:  orDefault(cfg.InteractionLifetime, defaultInteractionLifetime),
		allowPlainPKCE:       cfg.AllowPlainPKCE,
		errorPageFunc:        cfg.ErrorPage,
		pushed:               cfg.PushedRequests,
		pushedLifetime:       orDefault(cfg.PushedRequestLifetime, defaultPushedLifetime),
		requirePAR:           cfg.RequirePushedAuthorizationRequests,
	}
	if p.clock == nil {
		p.clock = time.Now
	}
	if p.rand == nil {
		p.rand = rand.Reader
	}
	if p.logger == nil {
		p.logger = slog.New(slog.DiscardHandler)
	}

	u, err := validateIssuer(cfg.Issuer)
	if err != nil {
		return nil, err
	}
	p.issuer, p.issuerPath = cfg.Issuer, u.Path
	p.tokenEndpoint = p.issuer + TokenPath
	p.revocationEndpoint = p.issuer + RevocationPath
	p.introspectionEndpoint = p.issuer + IntrospectionPath
	// The browser binding cookie is __Host- prefixed (Secure, Path=/, no
	// Domain) whenever the issuer uses TLS.
	p.secureCookies = u.Scheme == "https"
	p.bindingCookie = "grantor-binding"
	if p.secureCookies {
		p.bindingCookie = "__Host-grantor-binding"
	}
	p.defaultAudience = slices.Clone(cfg.DefaultAudience)
	if len(p.defaultAudience) == 0 {
		p.defaultAudience = []string{p.issuer}
	}

	if cfg.Clients == nil {
		return nil, errors.New("oauth2: Config.Clients is required")
	}
	if cfg.Tokens == nil {
		return nil, errors.New("oauth2: Config.Tokens is required")
	}
	if err := p.setTokenKeys(cfg); err != nil {
		return nil, err
	}
	if err := p.setLifetimes(cfg); err != nil {
		return nil, err
	}
	p.refreshTokens, err = p.OpaqueFormat(refreshTokenPrefix)
	if err != nil {
		return nil, err
	}
	if p.accessTokens == nil {
		if p.accessTokens, err = p.OpaqueFormat(accessTokenPrefix); err != nil {
			return nil, err
		}
	}

	if err := p.setAuthenticators(cfg.ClientAuthenticators); err != nil {
		return nil, err
	}
	if err := p.setLimits(cfg); err != nil {
		return nil, err
	}
	if err := p.setDPoP(cfg.DPoP); err != nil {
		return nil, err
	}

	if err := p.registerGrants(cfg.Grants); err != nil {
		return nil, err
	}
	if err := p.registerFeatures(cfg.Features); err != nil {
		return nil, err
	}
	if err := p.checkAuthorizationConfig(); err != nil {
		return nil, err
	}

	if p.metadata, err = p.buildMetadata(); err != nil {
		return nil, err
	}
	return p, nil
}

// setLifetimes checks the token lifetimes and their caps.
func (p *Provider) setLifetimes(cfg Config) error {
	if badLifetime(p.accessTokenLifetime) || badLifetime(p.refreshTokenLifetime) || badLifetime(p.grantLifetime) ||
		badLifetime(cfg.MaxAccessTokenLifetime) || badLifetime(cfg.MaxRefreshTokenLifetime) {
		return errors.New("oauth2: token lifetimes must be at least a second")
	}
	p.maxAccessTokenLifetime = orDefault(cfg.MaxAccessTokenLifetime, p.accessTokenLifetime)
	p.maxRefreshTokenLifetime = orDefault(cfg.MaxRefreshTokenLifetime, p.refreshTokenLifetime)
	if p.maxAccessTokenLifetime < p.accessTokenLifetime {
		return errors.New("oauth2: Config.MaxAccessTokenLifetime is shorter than AccessTokenLifetime")
	}
	if p.maxRefreshTokenLifetime < p.refreshTokenLifetime {
		return errors.New("oauth2: Config.MaxRefreshTokenLifetime is shorter than RefreshTokenLifetime")
	}
	return nil
}

// registerGrants builds the grant handlers of Config.Grants and indexes
// them by grant type, and those that answer the authorization endpoint by
// response type.
func (p *Provider) registerGrants(factories []GrantFactory) error {
	if len(factories) == 0 {
		return errors.New("oauth2: Config.Grants is empty: register at least one grant type")
	}
	p.metadataNames = make(map[string]bool)
	for i, f := range factories {
		if f == nil {
			return fmt.Errorf("oauth2: Config.Grants[%d] is nil", i)
		}
		h, err := f(p)
		if err != nil {
			return fmt.Errorf("oauth2: Config.Grants[%d]: %w", i, err)
		}
		if isNil(h) {
			return fmt.Errorf("oauth2: Config.Grants[%d]: the factory returned a nil GrantHandler and no error", i)
		}
		gt := h.GrantType()
		if err := checkGrantTypeName(gt); err != nil {
			return fmt.Errorf("oauth2: Config.Grants[%d]: %w", i, err)
		}
		if _, dup := p.handlers[gt]; dup {
			return fmt.Errorf("oauth2: two handlers registered for grant type %q", gt)
		}
		if v, ok := h.(Validator); ok {
			if err := v.Validate(); err != nil {
				return fmt.Errorf("oauth2: grant type %q: %w", gt, err)
			}
		}
		if err := p.registerExtras(fmt.Sprintf("grant type %q", gt), h); err != nil {
			return err
		}
		if err := p.registerParts(gt, h); err != nil {
			return fmt.Errorf("oauth2: grant type %q: %w", gt, err)
		}
		p.handlers[gt] = h
		p.grantTypes = append(p.grantTypes, gt)
		if ucv, ok := h.(UserCodeVerifier); ok {
			if p.userCodes != nil {
				return fmt.Errorf("oauth2: grant type %q: another grant issues user codes already", gt)
			}
			if isNil(ucv.DeviceAuthorizations()) {
				return fmt.Errorf("oauth2: grant type %q: no device authorization store", gt)
			}
			p.userCodes = ucv
		}
		if rth, ok := h.(ResponseTypeHandler); ok {
			if _, dup := p.responseTypes[rth.ResponseType()]; dup {
				return fmt.Errorf("oauth2: two handlers registered for response type %q", rth.ResponseType())
			}
			p.responseTypes[rth.ResponseType()] = rth
		}
	}
	slices.Sort(p.grantTypes)
	return nil
}

// isNil reports whether v is nil, or an interface holding a nil pointer
// (or map, func, …), on which calling a method would panic.
func isNil(v any) bool {
	if v == nil {
		return true
	}
	switch rv := reflect.ValueOf(v); rv.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Func, reflect.Chan, reflect.Slice, reflect.Interface:
		return rv.IsNil()
	}
	return false
}

// setLimits sets up the throttles and the secret verifier.
func (p *Provider) setLimits(cfg Config) error {
	p.limiter = cfg.Limiter
	if p.limiter == nil {
		p.limiter = memory.NewLimiter(0)
	}
	concurrency := orDefault(cfg.SlowHashConcurrency, defaultSlowHashConcurrency)
	window := orDefault(cfg.AuthFailureWindow, defaultAuthFailureWindow)
	if concurrency < 0 || window < 0 {
		return errors.New("oauth2: Config.SlowHashConcurrency and Config.AuthFailureWindow must not be negative")
	}
	var err error
	p.clientAddress = cfg.ClientAddress
	if p.clientAddress == nil {
		p.clientAddress = PeerAddress
	}
	p.secrets, err = newSecretVerifier(p.limiter, orDefault(cfg.AuthFailureLimit, defaultAuthFailureLimit), window,
		concurrency, p.clock, p.clientAddress, p.logger, p.Emit)
	if err != nil {
		return fmt.Errorf("oauth2: randomness unavailable: %w", err)
	}
	p.pushLimit = int64(orDefault(cfg.PushedRequestRateLimit, defaultPushedRequestRateLimit))
	p.scanLimit = int64(orDefault(cfg.IntrospectionScanLimit, defaultIntrospectionScanLimit))
	p.interactionLimit = int64(orDefault(cfg.InteractionRateLimit, defaultInteractionRateLimit))
	p.userCodeAttempts = int64(orDefault(cfg.UserCodeAttempts, defaultUserCodeAttempts))
	p.userCodeWindow = orDefault(cfg.UserCodeAttemptWindow, defaultUserCodeAttemptWindow)
	p.userCodeAccount = cfg.UserCodeAccount
	if p.userCodeWindow < time.Second {
		return errors.New("oauth2: Config.UserCodeAttemptWindow must be at least a second")
	}
	p.outageLog.every, p.boundLog.every = time.Second, time.Second
	realm := strings.Map(func(r rune) rune {
		if r == '"' || r == '\\' {
			return -1
		}
		return r
	}, p.issuer)
	p.basicChallenge = `Basic realm="` + realm + `", charset="UTF-8"`
	return nil
}

// checkAuthorizationConfig checks the configuration of the authorization
// and PAR endpoints.
func (p *Provider) checkAuthorizationConfig() error {
	if p.userCodes != nil {
		if p.interactions == nil {
			return errors.New("oauth2: Config.Interactions is required for the verification page of user codes (grant.DeviceCode)")
		}
		if p.interactionLifetime < time.Minute {
			return errors.New("oauth2: Config.InteractionLifetime must be at least a minute")
		}
	}
	if len(p.responseTypes) == 0 {
		if p.pushed != nil || p.requirePAR {
			return errors.New("oauth2: pushed authorization requests need a grant that answers the authorization endpoint (grant.AuthorizationCode)")
		}
		return nil
	}
	if p.interactions == nil {
		return errors.New("oauth2: Config.Interactions is required for the authorization endpoint")
	}
	if (p.loginURL == "") == (p.startInteractionFunc == nil) {
		return errors.New("oauth2: set exactly one of Config.LoginURL and Config.StartInteraction")
	}
	if p.loginURL != "" {
		u, err := url.Parse(p.loginURL)
		if err != nil || u.Fragment != "" || (!u.IsAbs() && !strings.HasPrefix(p.loginURL, "/")) {
			return fmt.Errorf("oauth2: Config.LoginURL %q must be an absolute URL or an absolute path", p.loginURL)
		}
	}
	if p.interactionLifetime < time.Minute {
		return errors.New("oauth2: Config.InteractionLifetime must be at least a minute")
	}
	if p.requirePAR && p.pushed == nil {
		return errors.New("oauth2: Config.RequirePushedAuthorizationRequests needs Config.PushedRequests")
	}
	if p.pushedLifetime < 5*time.Second || p.pushedLifetime > 10*time.Minute {
		return errors.New("oauth2: Config.PushedRequestLifetime must be between 5 seconds and 10 minutes (RFC 9126 §2.2)")
	}
	return nil
}

func (p *Provider) setAuthenticators(list []ClientAuthenticator) error {
	if list == nil {
		list = []ClientAuthenticator{ClientSecretBasic{}, ClientSecretPost{}, NoClientAuthentication{}}
	}
	for i, a := range list {
		if a == nil {
			return fmt.Errorf("oauth2: Config.ClientAuthenticators[%d] is nil", i)
		}
		m := a.Method()
		if _, dup := p.authenticators[m]; dup {
			return fmt.Errorf("oauth2: two client authenticators for method %q", m)
		}
		if v, ok := a.(Validator); ok {
			if err := v.Validate(); err != nil {
				return fmt.Errorf("oauth2: client authentication method %q: %w", m, err)
			}
		}
		p.authenticators[m] = a
		p.authMethods = append(p.authMethods, m)
	}
	slices.Sort(p.authMethods)
	return nil
}

// validateIssuer checks the rules of RFC 8414 §2 for an issuer identifier,
// and that it uses TLS outside loopback (RFC 9700 §2.6).
func validateIssuer(issuer string) (*url.URL, error) {
	if issuer == "" {
		return nil, errors.New("oauth2: Config.Issuer is required")
	}
	u, err := url.Parse(issuer)
	if err != nil {
		return nil, fmt.Errorf("oauth2: Config.Issuer: %w", err)
	}
	switch {
	case u.Opaque != "" || u.Host == "":
		return nil, fmt.Errorf("oauth2: Config.Issuer %q is not an absolute URL with a host", issuer)
	case strings.ContainsAny(issuer, "?#"):
		return nil, fmt.Errorf("oauth2: Config.Issuer %q must have no query and no fragment (RFC 8414 §2)", issuer)
	case u.User != nil:
		return nil, fmt.Errorf("oauth2: Config.Issuer %q must have no user information", issuer)
	case strings.HasSuffix(u.Path, "/"):
		return nil, fmt.Errorf("oauth2: Config.Issuer %q must not end with a slash", issuer)
	case u.Scheme == "https":
	case u.Scheme == "http" && urlpolicy.IsLoopbackHost(u.Hostname()):
	default:
		return nil, fmt.Errorf("oauth2: Config.Issuer %q must use https (http only for loopback hosts)", issuer)
	}
	if err := validateIssuerPath(issuer, u); err != nil {
		return nil, err
	}
	return u, nil
}

// validateIssuerPath checks that the issuer's path is written in one way
// only, so that the issuer compares equal character by character (RFC 8414
// §3.3) to what a client derives from it, and the endpoint URLs made from
// it reach the endpoints Handler serves (RFC 3986 §6): no percent-escapes
// (RFC 3986 §2.1), no character that net/url escapes, and no empty, "."
// or ".." segment. Only the path is checked: the host may hold an IPv6
// zone identifier, which is escaped (RFC 6874 §2).
func validateIssuerPath(issuer string, u *url.URL) error {
	escaped := u.EscapedPath()
	if u.RawPath != "" || strings.ContainsFunc(escaped, func(c rune) bool { return !isIssuerPathChar(c) }) {
		return fmt.Errorf("oauth2: Config.Issuer %q must have no percent-escapes in its path, and only letters, digits, \"/\" and -._~$&+,:;=@ (RFC 3986 §2.1, §3.3)", issuer)
	}
	if escaped == "" {
		return nil
	}
	for seg := range strings.SplitSeq(escaped[1:], "/") {
		switch seg {
		case "":
			return fmt.Errorf("oauth2: Config.Issuer %q must have no empty segment in its path: proxies and http.ServeMux merge slashes", issuer)
		case ".", "..":
			return fmt.Errorf("oauth2: Config.Issuer %q must have no \".\" or \"..\" segment in its path: clients remove them (RFC 3986 §5.2.4, §6.2.2.3)", issuer)
		}
	}
	return nil
}

// isIssuerPathChar reports whether c may appear in an issuer's path: the
// unreserved characters, "/", and the sub-delimiters and ":" and "@" that
// net/url writes as they are (RFC 3986 §2.3, §3.3).
func isIssuerPathChar(c rune) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.ContainsRune("-._~/$&+,:;=@", c)
}

func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// Issuer returns the issuer identifier.
func (p *Provider) Issuer() string { return p.issuer }

// Now returns the current time on the Provider's clock.
func (p *Provider) Now() time.Time { return p.clock() }

// Logger returns the Provider's logger, for grant handlers.
func (p *Provider) Logger() *slog.Logger { return p.logger }

// TokenEndpoint returns the URL of the token endpoint (RFC 6749 §3.2).
func (p *Provider) TokenEndpoint() string { return p.tokenEndpoint }

// RevocationEndpoint returns the URL of the token revocation endpoint
// (RFC 7009 §2). It is always enabled: it needs only the token store.
func (p *Provider) RevocationEndpoint() string { return p.revocationEndpoint }

// IntrospectionEndpoint returns the URL of the token introspection
// endpoint (RFC 7662 §2). It is always enabled: it needs only the token
// store.
func (p *Provider) IntrospectionEndpoint() string { return p.introspectionEndpoint }

// AuthorizationEndpoint returns the URL of the authorization endpoint
// (RFC 6749 §3.1), or "" when no grant answers it.
func (p *Provider) AuthorizationEndpoint() string {
	if len(p.responseTypes) == 0 {
		return ""
	}
	return p.issuer + AuthorizePath
}

// PAREndpoint returns the URL of the pushed authorization request
// endpoint (RFC 9126 §2), or "" when it is not enabled.
func (p *Provider) PAREndpoint() string {
	if p.pushed == nil {
		return ""
	}
	return p.issuer + PARPath
}

// OpaqueFormat returns an opaque token format with the given prefix,
// signed with the Provider's TokenKeys (or TokenKeySet, whose changes it
// follows) and randomness, for grants that mint credentials of their own
// (authorization codes, device codes).
func (p *Provider) OpaqueFormat(prefix string) (*token.Opaque, error) {
	o, err := token.NewOpaqueWithKeys(prefix, p.tokenKeys, token.WithRand(p.rand))
	if err != nil {
		return nil, fmt.Errorf("oauth2: opaque format %q: %w", prefix, err)
	}
	return o, nil
}

// setTokenKeys takes the HMAC keys of Config.TokenKeys or TokenKeySet.
func (p *Provider) setTokenKeys(cfg Config) error {
	switch {
	case len(cfg.TokenKeys) > 0 && cfg.TokenKeySet != nil:
		return errors.New("oauth2: set Config.TokenKeys or Config.TokenKeySet, not both")
	case cfg.TokenKeySet != nil:
		if cfg.TokenKeySet.Len() == 0 {
			return errors.New("oauth2: Config.TokenKeySet was not made by token.NewMACKeySet or token.OpenStoredMACKeys")
		}
		p.tokenKeys = cfg.TokenKeySet
	case len(cfg.TokenKeys) == 0:
		return errors.New("oauth2: Config.TokenKeys needs at least one HMAC key of 32 bytes or more")
	default:
		keys, err := token.NewMACKeySet(cfg.TokenKeys[0], cfg.TokenKeys[1:]...)
		if err != nil {
			return fmt.Errorf("oauth2: Config.TokenKeys: %w", err)
		}
		p.tokenKeys = keys
	}
	return nil
}

// Client returns the registered client with the given id, or an error
// wrapping storage.ErrNotFound when there is none or it is disabled; any
// other error is the store's.
func (p *Provider) Client(ctx context.Context, id string) (*storage.Client, error) {
	c, err := p.clients.Client(ctx, id)
	if err == nil && c.Disabled {
		return nil, fmt.Errorf("oauth2: client disabled: %w", storage.ErrNotFound)
	}
	return c, err
}

// NewID returns a random identifier of 128 bits, for grant IDs and the
// like.
func (p *Provider) NewID() (string, error) { return p.newID() }

// RefreshTokenKey checks a presented refresh token's signature, without a
// storage lookup, and returns the key its record is stored under. A token
// that is malformed, forged or not a refresh token is token.ErrInvalid.
func (p *Provider) RefreshTokenKey(refreshToken string) (string, error) {
	return p.refreshTokens.Signature(refreshToken)
}

// Emit sends e to the configured event hook, setting its time when unset.
func (p *Provider) Emit(ctx context.Context, e Event) {
	if p.events == nil {
		return
	}
	if e.Time.IsZero() {
		e.Time = p.clock()
	}
	p.events(ctx, e)
}

// RevokeGrant revokes every token of a grant and emits EventGrantRevoked.
func (p *Provider) RevokeGrant(ctx context.Context, grantID, clientID, subject, reason string) error {
	if err := p.tokens.RevokeGrant(ctx, grantID, p.clock()); err != nil {
		return err
	}
	p.Emit(ctx, Event{Type: EventGrantRevoked, ClientID: clientID, Subject: subject, GrantID: grantID, Reason: reason})
	return nil
}

// newID returns a random identifier of 128 bits.
func (p *Provider) newID() (string, error) {
	var b [16]byte
	if _, err := io.ReadFull(p.rand, b[:]); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// AccessTokenKey checks a presented access token's integrity with the
// access token strategy, without a storage lookup, and returns the key its
// record is stored under.
func (p *Provider) AccessTokenKey(ctx context.Context, accessToken string) (string, error) {
	return p.accessTokens.AccessTokenKey(ctx, accessToken)
}
