package oidc

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/grantor-dev/grantor/oauth2"
	"github.com/grantor-dev/grantor/storage"
	"github.com/grantor-dev/grantor/token"
)

// ScopeOpenID is the scope that makes an authorization request an OpenID
// Connect request (Core §3.1.2.1).
const ScopeOpenID = "openid"

// ScopeOfflineAccess asks for refresh tokens that outlive the user's login
// session (Core §11). A grant of an OpenID Connect request belongs to the
// login session it was approved in: once that session ends (a logout,
// another user's login in the same browser, or Config.SessionLifetime),
// its tokens are inactive and its refresh tokens are refused and revoked,
// unless offline_access was granted. The scope is kept in a request only when the response type
// returns a code and the request has prompt=consent (or
// Config.OfflineAccessWithoutPromptConsent); otherwise it is taken out of
// the request, as Core §11 says, before the consent page sees it.
const ScopeOfflineAccess = "offline_access"

// Paths of the endpoints the OpenID Provider brings, below the issuer's
// path. The discovery document is at the issuer followed by
// DiscoveryPath (OpenID Connect Discovery 1.0 §4).
const (
	UserInfoPath  = "/userinfo"
	DiscoveryPath = "/.well-known/openid-configuration"
	// EndSessionPath is the end-session endpoint (OpenID Connect
	// RP-Initiated Logout 1.0 §2).
	EndSessionPath = "/end_session"
)

// Defaults and bounds of Config.
const (
	DefaultIDTokenLifetime = 5 * time.Minute
	MaxIDTokenLifetime     = 24 * time.Hour
)

// Config configures an OpenID Provider.
type Config struct {
	// Keys sign ID tokens and signed UserInfo responses: one key source
	// per JWS algorithm, such as a token.StoredSigningKeys or token.KeySet
	// each. The first one's algorithm is the default (ES256 is a good
	// one); a client picks another with id_token_signed_response_alg.
	// One of them must sign with RS256, which OpenID Connect Discovery
	// 1.0 §3 requires every OpenID Provider to support. A key source may
	// be the one of the JWT access tokens (token.JWTConfig.Keys): its
	// keys are then published once. Required.
	Keys []token.KeySource
	// Claims returns the users' claims for UserInfo responses and ID
	// tokens. Nil: responses carry no claims but sub.
	Claims ClaimsSource
	// ScopeClaims maps more scopes to the claims they ask for, beside
	// StandardScopeClaims (profile, email, address, phone); a scope named
	// here replaces the standard mapping of that scope.
	ScopeClaims map[string][]string
	// RequestableClaims are claims a client may ask for by name with the
	// claims request parameter (Core §5.5) whatever the granted scopes,
	// such as claims your consent page shows. Nil: the claims parameter
	// only picks among the claims the granted scopes allow (and moves them
	// into the ID token), so that it never reaches past the user's
	// consent.
	RequestableClaims []string
	// ScopeClaimsInIDToken also puts the claims the scopes ask for into ID
	// tokens, for relying parties that do not call the UserInfo endpoint.
	// Off by default: OpenID Connect Core §5.4 returns them from UserInfo
	// when an access token is issued.
	ScopeClaimsInIDToken bool
	// IDTokenLifetime is how long an ID token is valid, at most
	// MaxIDTokenLifetime. Zero means DefaultIDTokenLifetime (5 minutes).
	IDTokenLifetime time.Duration
	// Sessions keeps the users' login sessions in their browsers: a
	// second authorization in the same browser needs no new login (the
	// login page finds the session in LoginContext, prompt=none in
	// SilentAuthorize), ID tokens carry the session's sid, and a logout
	// ends it. The store also keeps a mark of each ended session, for
	// SessionLifetime and an hour, so that its end is for good: a mark
	// counts as a session towards a store's bound on their number.
	// Required.
	Sessions storage.LoginSessionStore
	// SessionLifetime is how long a login session lasts from the sign-in
	// that starts it (a new login of the same user in that browser starts
	// it again), at most a year. Zero means DefaultSessionLifetime (24
	// hours). It
	// also bounds the refresh tokens of the grants approved in the
	// session, unless they have offline_access (ScopeOfflineAccess).
	SessionLifetime time.Duration
	// SubjectType is the subject type of clients that register none:
	// SubjectPublic (the default) or SubjectPairwise (Core §8).
	SubjectType string
	// PairwiseKey keys the pairwise subjects (Core §8.1): 32 random bytes
	// or more, kept secret and never changed, since a new key gives every
	// user new identifiers at every pairwise client. Required for pairwise
	// subjects; with it, the discovery document lists pairwise.
	PairwiseKey []byte
	// HTTPClient fetches sector identifier documents (Core §8.1) and
	// posts logout tokens (Back-Channel Logout 1.0). Nil means a client
	// that reaches only public addresses over https, with timeouts
	// (internal/urlpolicy): the URLs are the clients'.
	HTTPClient *http.Client
	// AllowPrivateAddresses lets the default HTTPClient reach loopback and
	// private addresses over http too, for tests and intranets only.
	AllowPrivateAddresses bool
	// LogoutPage, when set, renders the page that asks the user to
	// confirm a logout a relying party asked for (RP-Initiated Logout 1.0
	// §2): it must post lr.Form to lr.Action. Nil shows a plain page.
	LogoutPage func(w http.ResponseWriter, r *http.Request, lr *LogoutRequest)
	// LoggedOutPage, when set, renders the page shown after a logout that
	// names no post_logout_redirect_uri. Nil shows a plain page.
	LoggedOutPage func(w http.ResponseWriter, r *http.Request)
	// OfflineAccessWithoutPromptConsent keeps offline_access (Core §11) in
	// requests without prompt=consent: for an application whose consent
	// page always asks the user for offline access itself, which are the
	// "other conditions" of Core §11. Off by default: a request must carry
	// prompt=consent for its offline_access to count.
	OfflineAccessWithoutPromptConsent bool
	// OnLogout, when set, is called in the browser's request that ends its
	// login session at the end-session endpoint, before the response is
	// written: an application that keeps a login of its own for its pages
	// ends it here (it may set cookies on w, not write the body).
	OnLogout func(w http.ResponseWriter, r *http.Request, s *Session)
}

// Provider is an OpenID Provider (OpenID Connect Core 1.0): a feature
// that an oauth2.Provider takes in Config.Features (Register), which then
// issues ID tokens to authorization code flows whose scopes include openid,
// and serves the UserInfo endpoint and the discovery document.
type Provider struct {
	cfg         Config
	lifetime    time.Duration
	scopeClaims map[string][]string
	signers     map[string]*token.JWT // by JWS algorithm
	algorithms  []string              // of Keys, the default first
	keys        []token.KeyPublisher

	sessionLifetime    time.Duration
	defaultSubjectType string
	sectors            *sectorDocuments

	p             *oauth2.Provider
	registered    atomic.Bool
	userInfo      http.Handler
	secureCookies bool // the issuer uses TLS
	backchannel   *backchannel
}

// New checks cfg and returns an OpenID Provider, ready to be registered
// with an oauth2.Provider:
//
//	op, err := oidc.New(oidc.Config{Keys: ..., Claims: ...})
//	p, err := oauth2.NewProvider(oauth2.Config{..., Features: []oauth2.FeatureFactory{op.Register}})
//
// It reads each key source's signing key to learn its algorithm.
func New(cfg Config) (*Provider, error) {
	o := &Provider{cfg: cfg, lifetime: cfg.IDTokenLifetime, signers: make(map[string]*token.JWT)}
	if o.lifetime == 0 {
		o.lifetime = DefaultIDTokenLifetime
	}
	if o.lifetime < time.Second || o.lifetime > MaxIDTokenLifetime {
		return nil, fmt.Errorf("oidc: Config.IDTokenLifetime must be between a second and %v", MaxIDTokenLifetime)
	}
	if cfg.Sessions == nil {
		return nil, errors.New("oidc: Config.Sessions is required: it keeps the users' login sessions")
	}
	o.sessionLifetime = cfg.SessionLifetime
	if o.sessionLifetime == 0 {
		o.sessionLifetime = DefaultSessionLifetime
	}
	if o.sessionLifetime < time.Minute || o.sessionLifetime > 366*24*time.Hour {
		return nil, errors.New("oidc: Config.SessionLifetime must be between a minute and a year")
	}
	if len(cfg.Keys) == 0 {
		return nil, errors.New("oidc: Config.Keys is required: ID tokens are signed (OpenID Connect Core §2)")
	}
	for i, ks := range cfg.Keys {
		if ks == nil {
			return nil, fmt.Errorf("oidc: Config.Keys[%d] is nil", i)
		}
		sg, err := ks.Signer(context.Background())
		if err != nil {
			return nil, fmt.Errorf("oidc: Config.Keys[%d]: %w", i, err)
		}
		if sg == nil {
			return nil, fmt.Errorf("oidc: Config.Keys[%d] has no signing key", i)
		}
		alg := sg.Algorithm().String()
		if _, ok := hashOf(alg); !ok {
			return nil, fmt.Errorf("oidc: Config.Keys[%d] signs with %q, which ID tokens do not use", i, alg)
		}
		if o.signers[alg] != nil {
			return nil, fmt.Errorf("oidc: Config.Keys[%d] signs with %s, as an earlier key source does", i, alg)
		}
		j, err := token.NewJWT(token.JWTConfig{Keys: ks})
		if err != nil {
			return nil, fmt.Errorf("oidc: Config.Keys[%d]: %w", i, err)
		}
		o.signers[alg] = j
		o.algorithms = append(o.algorithms, alg)
		o.keys = append(o.keys, ks)
	}
	if o.signers["RS256"] == nil {
		return nil, errors.New("oidc: Config.Keys must include a key source that signs with RS256 (OpenID Connect Discovery 1.0 §3)")
	}
	switch cfg.SubjectType {
	case "", SubjectPublic:
		o.defaultSubjectType = SubjectPublic
	case SubjectPairwise:
		o.defaultSubjectType = SubjectPairwise
	default:
		return nil, fmt.Errorf("oidc: Config.SubjectType %q is neither public nor pairwise", cfg.SubjectType)
	}
	if len(cfg.PairwiseKey) > 0 && len(cfg.PairwiseKey) < 32 || o.defaultSubjectType == SubjectPairwise && len(cfg.PairwiseKey) == 0 {
		return nil, errors.New("oidc: Config.PairwiseKey must be 32 random bytes or more for pairwise subjects")
	}
	o.scopeClaims = maps.Clone(StandardScopeClaims)
	for scope, claims := range cfg.ScopeClaims {
		if scope == "" || scope == ScopeOpenID || !validScope(scope) {
			return nil, fmt.Errorf("oidc: Config.ScopeClaims: %q is not a scope that can map to claims", scope)
		}
		for _, c := range claims {
			if c == "" || protocolClaims[c] {
				return nil, fmt.Errorf("oidc: Config.ScopeClaims[%q]: %q is not a claim a scope can ask for", scope, c)
			}
		}
		o.scopeClaims[scope] = slices.Clone(claims)
	}
	return o, nil
}

// validScope reports whether s is a scope token (RFC 6749 §3.3).
func validScope(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x21 || c == '"' || c == '\\' || c > 0x7e {
			return false
		}
	}
	return true
}

// Close stops the delivery of back-channel logout tokens once those
// queued are delivered, or when ctx ends, whichever comes first: call it
// when the server shuts down. Logouts after it tell no client.
func (o *Provider) Close(ctx context.Context) error {
	if o.backchannel == nil {
		return nil
	}
	return o.backchannel.close(ctx)
}

// Register is the oauth2.FeatureFactory of the OpenID Provider: put it in
// oauth2.Config.Features. An OpenID Provider serves one oauth2.Provider.
func (o *Provider) Register(p *oauth2.Provider) (oauth2.Feature, error) {
	if p == nil {
		return nil, errors.New("oidc: Register needs the oauth2.Provider")
	}
	if !o.registered.CompareAndSwap(false, true) {
		return nil, errors.New("oidc: the OpenID Provider is registered with another oauth2.Provider already")
	}
	o.p = p
	o.secureCookies = strings.HasPrefix(p.Issuer(), "https:")
	o.sectors = newSectorDocuments(sectorClient(o.cfg), p.Now)
	o.backchannel = newBackchannel(backchannelOptions{
		HTTPClient: o.cfg.HTTPClient, AllowPrivateAddresses: o.cfg.AllowPrivateAddresses, Logger: p.Logger(),
	})
	o.userInfo = o.userInfoHandler()
	return o, nil
}

var (
	_ oauth2.EndpointProvider            = (*Provider)(nil)
	_ oauth2.MetadataProvider            = (*Provider)(nil)
	_ oauth2.ScopeProvider               = (*Provider)(nil)
	_ oauth2.KeyPublisherProvider        = (*Provider)(nil)
	_ oauth2.AuthorizationRequestChecker = (*Provider)(nil)
	_ oauth2.ApprovalExtender            = (*Provider)(nil)
	_ oauth2.TokenResponseExtender       = (*Provider)(nil)
	_ oauth2.SubjectMapper               = (*Provider)(nil)
)

// FeatureName implements oauth2.Feature.
func (o *Provider) FeatureName() string { return "oidc" }

// SupportedScopes implements oauth2.ScopeProvider: openid,
// offline_access and the scopes that map to claims.
func (o *Provider) SupportedScopes() []string {
	scopes := []string{ScopeOpenID, ScopeOfflineAccess}
	return append(scopes, slices.Sorted(maps.Keys(o.scopeClaims))...)
}

// KeyPublishers implements oauth2.KeyPublisherProvider: the key sources of
// Config.Keys.
func (o *Provider) KeyPublishers() []token.KeyPublisher { return slices.Clone(o.keys) }

// Endpoints implements oauth2.EndpointProvider: the UserInfo endpoint
// (Core §5.3) and the discovery document (Discovery §4), which is the
// Provider's metadata document.
func (o *Provider) Endpoints() []oauth2.Endpoint {
	return []oauth2.Endpoint{
		{Path: UserInfoPath, Handler: http.HandlerFunc(o.serveUserInfo), MetadataName: "userinfo_endpoint"},
		{Path: DiscoveryPath, Handler: http.HandlerFunc(o.serveDiscovery)},
		{Path: EndSessionPath, Handler: http.HandlerFunc(o.serveEndSession), MetadataName: "end_session_endpoint"},
	}
}

// serveDiscovery serves the metadata document at the path of OpenID
// Connect Discovery: the same document, which carries the OpenID members.
func (o *Provider) serveDiscovery(w http.ResponseWriter, r *http.Request) {
	o.p.MetadataHandler().ServeHTTP(w, r)
}

// MetadataEntries implements oauth2.MetadataProvider: the members of
// OpenID Connect Discovery 1.0 §3 that OAuth's metadata lacks.
func (o *Provider) MetadataEntries() map[string]any {
	claims := []string{"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "azp", "at_hash", "sid"}
	for _, scope := range slices.Sorted(maps.Keys(o.scopeClaims)) {
		for _, c := range o.scopeClaims[scope] {
			if !slices.Contains(claims, c) {
				claims = append(claims, c)
			}
		}
	}
	subjectTypes := []string{SubjectPublic}
	if len(o.cfg.PairwiseKey) > 0 {
		subjectTypes = append(subjectTypes, SubjectPairwise)
	}
	return map[string]any{
		"subject_types_supported":               subjectTypes,
		"id_token_signing_alg_values_supported": slices.Clone(o.algorithms),
		"userinfo_signing_alg_values_supported": slices.Clone(o.algorithms),
		"claims_supported":                      claims,
		"claim_types_supported":                 []string{"normal"},
		"claims_parameter_supported":            true,
		"request_parameter_supported":           false,
		// OpenID Connect's request_uri names a request object, which the
		// Provider does not take; PAR's request_uri is another thing.
		"request_uri_parameter_supported": false,
		"prompt_values_supported":         []string{oauth2.PromptNone, oauth2.PromptLogin, oauth2.PromptConsent, PromptSelectAccount},
		// Back-Channel Logout 1.0 §2.1: logout tokens, with sid.
		"backchannel_logout_supported":         true,
		"backchannel_logout_session_supported": true,
	}
}

// Keys of what the OpenID Provider keeps with a grant
// (oauth2.Authorization.Extensions, storage.Token.Extensions). Their
// presence marks a grant approved for an OpenID Connect request.
const (
	extAuthTime         = "oidc_auth_time"          // Unix seconds of the login
	extAuthTimeRequired = "oidc_auth_time_required" // "1": ID tokens carry auth_time
	extACR              = "oidc_acr"
	extAMR              = "oidc_amr"            // space-separated
	extClaims           = "oidc_claims"         // the claims request parameter, as kept
	extSID              = "oidc_sid"            // the login session's sid
	extOfflineAccess    = "oidc_offline_access" // "1": offline_access was granted
	extSessionEnds      = "oidc_session_ends"   // Unix seconds: when a grant without a sid ends
	extClient           = "oidc_client"         // the client the user signed in to
)

// Parameters of the authorization request the OpenID Provider keeps
// (storage.AuthorizationRequest.Parameters), by their own names.
const (
	paramNonce     = "nonce"
	paramMaxAge    = "max_age"
	paramClaims    = "claims"
	paramLoginHint = "login_hint"
	paramUILocales = "ui_locales"
	paramACRValues = "acr_values"
	// paramHintSubject and paramHintClient keep the subject and the
	// client of a verified id_token_hint, not the token.
	paramHintSubject = "id_token_hint_sub"
	paramHintClient  = "id_token_hint_aud"
)

// maxListValues bounds the values of ui_locales and acr_values.
const maxListValues = 16

// maxMaxAge bounds max_age: a year of seconds, far beyond any session.
const maxMaxAge = 366 * 24 * 3600

// CheckAuthorizationRequest implements oauth2.AuthorizationRequestChecker:
// the rules of OpenID Connect Core §3.1.2.1–3.1.2.2 for requests whose
// scopes include openid. Other requests are OAuth's alone.
func (o *Provider) CheckAuthorizationRequest(ctx context.Context, params url.Values, client *storage.Client, req *storage.AuthorizationRequest) error {
	if !slices.Contains(req.Scopes, ScopeOpenID) {
		return nil
	}
	if !req.RedirectURIGiven {
		// Core §3.1.2.1: redirect_uri is REQUIRED in OpenID requests.
		return oauth2.NewError(oauth2.ErrInvalidRequest, "redirect_uri is required in an OpenID Connect request")
	}
	if _, ok := o.signerFor(client); !ok {
		return oauth2.NewError(oauth2.ErrUnauthorizedClient, "the client's id_token_signed_response_alg is not supported")
	}
	if o.subjectType(client) != SubjectPublic {
		// Decided before anyone logs in: a pairwise client whose sector
		// is not valid gets no ID token (Core §8.1).
		if _, err := o.subjectFor(ctx, client, ""); err != nil {
			return err
		}
	}
	if slices.Contains(req.Scopes, ScopeOfflineAccess) && !o.offlineAccessAllowed(req) {
		req.Scopes = slices.DeleteFunc(req.Scopes, func(s string) bool { return s == ScopeOfflineAccess })
	}
	keep := func(name, value string) {
		if req.Parameters == nil {
			req.Parameters = make(map[string]string)
		}
		req.Parameters[name] = value
	}
	if nonce := params.Get(paramNonce); nonce != "" {
		keep(paramNonce, nonce)
	}
	if maxAge := params.Get(paramMaxAge); maxAge != "" {
		n, err := strconv.Atoi(maxAge)
		if err != nil || n < 0 || n > maxMaxAge || strconv.Itoa(n) != maxAge {
			return oauth2.NewError(oauth2.ErrInvalidRequest, "max_age must be a whole number of seconds")
		}
		keep(paramMaxAge, maxAge)
	}
	if claims := params.Get(paramClaims); claims != "" {
		kept, err := parseClaimsParameter(claims)
		if err != nil {
			return err
		}
		keep(paramClaims, kept)
	}
	if hint := params.Get(paramLoginHint); hint != "" {
		keep(paramLoginHint, hint)
	}
	for _, name := range []string{paramUILocales, paramACRValues} {
		if v := params.Get(name); v != "" {
			values := strings.Fields(v)
			if len(values) > maxListValues {
				return oauth2.NewError(oauth2.ErrInvalidRequest, name+" has too many values")
			}
			keep(name, strings.Join(values, " "))
		}
	}
	if hint := params.Get("id_token_hint"); hint != "" {
		h, err := o.verifyIDTokenHint(ctx, hint)
		switch {
		case errors.Is(err, errBadHint):
			return oauth2.NewError(oauth2.ErrInvalidRequest, "the id_token_hint is not a valid ID token of this OpenID Provider")
		case err != nil:
			return oauth2.NewError(oauth2.ErrTemporarilyUnavailable, "the id_token_hint could not be checked").WithCause(err)
		}
		keep(paramHintSubject, h.Subject)
		keep(paramHintClient, h.Audience[0])
	}
	return nil
}

// offlineAccessAllowed reports whether offline_access counts in an
// OpenID Connect request (Core §11): only with a response type that
// returns a code, and with prompt=consent unless the application's
// consent page always asks for it (Config.OfflineAccessWithoutPromptConsent).
func (o *Provider) offlineAccessAllowed(req *storage.AuthorizationRequest) bool {
	if !slices.Contains(strings.Fields(req.ResponseType), "code") {
		return false
	}
	return o.cfg.OfflineAccessWithoutPromptConsent || slices.Contains(req.Prompt, oauth2.PromptConsent)
}

// checkRequestedUser refuses, with login_required, an approval of another
// user than the request's id_token_hint or requested sub (Core §3.1.2.1,
// §5.5.1) names.
func (o *Provider) checkRequestedUser(ctx context.Context, params map[string]string, client *storage.Client, subject string) error {
	same, err := o.hintNames(ctx, params, subject)
	if err != nil {
		return err
	}
	if !same {
		return oauth2.NewError(oauth2.ErrLoginRequired, "the user is not the one the id_token_hint names")
	}
	if same, err = o.claimsNames(ctx, params, client, subject); err != nil {
		return err
	}
	if !same {
		return oauth2.NewError(oauth2.ErrLoginRequired, "the user is not the one the claims parameter names")
	}
	return nil
}

// claimsNames reports whether the sub a request's claims parameter asks
// for, if it asks for one, is what client sees of the user subject.
func (o *Provider) claimsNames(ctx context.Context, params map[string]string, client *storage.Client, subject string) (bool, error) {
	want := requestedSubject(params[paramClaims])
	if want == "" {
		return true, nil
	}
	sub, err := o.subjectFor(ctx, client, subject)
	return sub == want, err
}

// hintNames reports whether a request's id_token_hint, if it has one,
// names the user subject: its sub is what its client sees of the user.
func (o *Provider) hintNames(ctx context.Context, params map[string]string, subject string) (bool, error) {
	hint := params[paramHintSubject]
	if hint == "" {
		return true, nil
	}
	client, err := o.p.Client(ctx, params[paramHintClient])
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return false, nil // its client is gone: it names no one now
	case err != nil:
		return false, oauth2.StorageError("the id_token_hint's client could not be looked up", err)
	}
	sub, err := o.subjectFor(ctx, client, subject)
	if err != nil {
		return false, err
	}
	return sub == hint, nil
}

// maxAge returns the max_age that applies to a request: its own, or the
// client's default_max_age; ok is false when neither is set.
func maxAge(req *storage.AuthorizationRequest, client *storage.Client) (time.Duration, bool) {
	if s, ok := req.Parameters[paramMaxAge]; ok {
		n, _ := strconv.Atoi(s) // checked when kept
		return time.Duration(n) * time.Second, true
	}
	if client.DefaultMaxAge > 0 {
		return client.DefaultMaxAge, true
	}
	return 0, false
}

// ExtendApproval implements oauth2.ApprovalExtender: for an OpenID request
// whose approval grants openid, it keeps how the user logged in with the
// grant, for its ID tokens, and records the login in the browser's login
// session (a new session for a new login). It refuses, with
// login_required, what OpenID Connect Core §3.1.2.1 and §5.5.1 forbid
// approving: a login older than max_age or, with prompt=login, older than
// the request; one whose time the application did not report
// (Approval.AuthTime) when the request asked for a fresh login; another
// user than the id_token_hint or a requested sub names. An essential acr
// request (§5.5.1.1) that the login does not satisfy is a failed
// authentication: access_denied. The application learns all of this from
// LoginContext before it approves.
func (o *Provider) ExtendApproval(w http.ResponseWriter, r *http.Request, a *oauth2.Authorization) error {
	if !slices.Contains(a.Request.Scopes, ScopeOpenID) || !slices.Contains(a.Scopes, ScopeOpenID) {
		return nil
	}
	ctx := r.Context()
	params := a.Request.Parameters
	claims := params[paramClaims]
	age, hasMaxAge := maxAge(a.Request, a.Client)
	promptLogin := slices.Contains(a.Request.Prompt, oauth2.PromptLogin)
	if a.AuthTime.IsZero() {
		if hasMaxAge || promptLogin {
			return oauth2.NewError(oauth2.ErrLoginRequired, "the time of the user's login is unknown")
		}
		a.AuthTime = a.Now // the Provider's default, set here for the ID tokens
	}
	// A login made for this very request (at or after it arrived) is fresh
	// enough for prompt=login and any max_age, 0 included, however long the
	// consent page took.
	fresh := !a.AuthTime.Before(a.RequestedAt.Truncate(time.Second))
	switch {
	case promptLogin && !fresh:
		return oauth2.NewError(oauth2.ErrLoginRequired, "prompt=login asks for a new login")
	case hasMaxAge && !fresh && a.Now.Sub(a.AuthTime) > age:
		return oauth2.NewError(oauth2.ErrLoginRequired, "the user's login is older than max_age")
	}
	ext := make(map[string]string, 6)
	ext[extAuthTime] = strconv.FormatInt(a.AuthTime.Unix(), 10)
	if hasMaxAge || a.Client.RequireAuthTime {
		ext[extAuthTimeRequired] = "1"
	}
	if err := o.checkRequestedUser(ctx, params, a.Client, a.Subject); err != nil {
		return err
	}
	if values := essentialACR(claims); len(values) > 0 && !slices.Contains(values, a.ACR) {
		return oauth2.NewError(oauth2.ErrAccessDenied, "the login does not meet the essential acr asked for")
	}
	if claims != "" {
		ext[extClaims] = claims
		if requestsClaim(claims, "auth_time") {
			ext[extAuthTimeRequired] = "1" // Core §5.5.1.1
		}
	}
	if a.ACR != "" {
		ext[extACR] = a.ACR
	}
	if len(a.AMR) > 0 {
		ext[extAMR] = strings.Join(a.AMR, " ")
	}
	sid, err := o.joinSession(w, r, a)
	if err != nil {
		return err
	}
	ext[extSID] = sid
	ext[extClient] = a.Client.ID
	if sid == "" {
		// No session to end with (a full store): the grant ends when one
		// started now would.
		ext[extSessionEnds] = strconv.FormatInt(a.Now.Add(o.sessionLifetime).Unix(), 10)
	}
	if slices.Contains(a.Scopes, ScopeOfflineAccess) {
		ext[extOfflineAccess] = "1"
	}
	if a.Extensions == nil {
		a.Extensions = ext
	} else {
		maps.Copy(a.Extensions, ext)
	}
	return nil
}
