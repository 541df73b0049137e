package oauth2

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/grantor-dev/grantor/internal/urlpolicy"

	"github.com/grantor-dev/grantor/storage"
)

// ClientMetadata is a client's registration metadata (RFC 7591 §2), as a
// JSON document describes it, plus Grantor's extensions. Use it to load
// clients from a file or an admin API; Client turns it into the record to
// store, hashing the secret.
type ClientMetadata struct {
	ClientID                    string          `json:"client_id"`
	ClientName                  string          `json:"client_name,omitempty"`
	ClientSecret                string          `json:"client_secret,omitempty"`
	RedirectURIs                []string        `json:"redirect_uris,omitempty"`
	GrantTypes                  []string        `json:"grant_types,omitempty"`
	Scope                       string          `json:"scope,omitempty"`
	TokenEndpointAuthMethod     string          `json:"token_endpoint_auth_method,omitempty"`
	TokenEndpointAuthSigningAlg string          `json:"token_endpoint_auth_signing_alg,omitempty"`
	JWKS                        json.RawMessage `json:"jwks,omitempty"`
	JWKSURI                     string          `json:"jwks_uri,omitempty"`
	// DPoPBoundAccessTokens makes every token request of the client
	// carry a DPoP proof (RFC 9449 §5.2).
	DPoPBoundAccessTokens bool `json:"dpop_bound_access_tokens,omitempty"`

	// ClientSecretHash is a Grantor extension: a hash made earlier by
	// GenerateClientSecret or HashClientSecret, for files that must not
	// hold the secret itself.
	ClientSecretHash string `json:"client_secret_hash,omitempty"`
	// DefaultScope is a Grantor extension: the scopes granted when a
	// request names none (a subset of Scope).
	DefaultScope string `json:"default_scope,omitempty"`
	// Audience is a Grantor extension: the "aud" of the client's access
	// tokens.
	Audience []string `json:"audience,omitempty"`
	// Resources is a Grantor extension: the resource identifiers this
	// client speaks for as a resource server, whose access tokens it may
	// introspect (storage.Client.Resources).
	Resources []string `json:"resources,omitempty"`
	// AccessTokenLifetime is a Grantor extension: how long the client's
	// access tokens live, in whole seconds (storage.Client.AccessTokenLifetime).
	// Zero or absent means the Provider's default; a negative value is an
	// error.
	AccessTokenLifetime int64 `json:"access_token_lifetime,omitempty"`
	// RefreshTokenLifetime is a Grantor extension: the idle lifetime of the
	// client's refresh tokens, in whole seconds
	// (storage.Client.RefreshTokenLifetime), as AccessTokenLifetime is for
	// access tokens.
	RefreshTokenLifetime int64 `json:"refresh_token_lifetime,omitempty"`

	// The OpenID Connect members below are read by package oidc through
	// the client record; Client checks them as described on each.

	// SubjectType is "public" or "pairwise" (OpenID Connect Dynamic Client
	// Registration 1.0 §2, OpenID Connect Core §8); empty means the OpenID
	// Provider's default.
	SubjectType string `json:"subject_type,omitempty"`
	// SectorIdentifierURI is an https URL, without a fragment, of a JSON
	// array of the client's redirect URIs, whose host is the sector of
	// its pairwise subjects (OpenID Connect Core §8.1). It is accepted
	// with any subject_type, since the Provider's default may be pairwise.
	// A client registered as pairwise without one must have redirect URIs
	// of a single host, the sector then. The document itself is fetched
	// and checked by package oidc.
	SectorIdentifierURI string `json:"sector_identifier_uri,omitempty"`
	// IDTokenSignedResponseAlg is the JWS algorithm of the client's ID
	// tokens (OpenID Connect Dynamic Client Registration 1.0 §2): one of
	// RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512 and
	// EdDSA. Never "none", and never a MAC algorithm (HS256, HS384,
	// HS512): Grantor signs ID tokens with its own asymmetric keys only.
	// Empty means the OpenID Provider's default.
	IDTokenSignedResponseAlg string `json:"id_token_signed_response_alg,omitempty"`
	// UserinfoSignedResponseAlg, when set, makes the UserInfo endpoint
	// answer the client with a JWT signed with this algorithm (OpenID
	// Connect Dynamic Client Registration 1.0 §2); the same algorithms as
	// IDTokenSignedResponseAlg are allowed.
	UserinfoSignedResponseAlg string `json:"userinfo_signed_response_alg,omitempty"`
	// RequireAuthTime puts auth_time into every ID token of the client
	// (OpenID Connect Dynamic Client Registration 1.0 §2).
	RequireAuthTime bool `json:"require_auth_time,omitempty"`
	// DefaultMaxAge is the max_age, in whole seconds, of the client's
	// authorization requests that send none (OpenID Connect Dynamic
	// Client Registration 1.0 §2); nil means none. It must be positive: a
	// default_max_age of 0 would ask for a fresh login on every request,
	// which the client record cannot keep (zero there means none), so it
	// is refused rather than silently dropped; such a client sends
	// max_age=0 or prompt=login in its requests instead. In Go:
	// DefaultMaxAge: new(int64(3600)).
	DefaultMaxAge *int64 `json:"default_max_age,omitempty"`
	// PostLogoutRedirectURIs are where the end-session endpoint may send
	// the browser after a logout the client started (OpenID Connect
	// RP-Initiated Logout 1.0 §3.1). Each is checked as a redirect URI is
	// (ValidateRedirectURI), and none may be repeated.
	PostLogoutRedirectURIs []string `json:"post_logout_redirect_uris,omitempty"`
	// BackchannelLogoutURI receives a logout token when a login session
	// the client took part in ends (OpenID Connect Back-Channel Logout 1.0
	// §2.2): an absolute URL without a fragment, which may have a query.
	// Its scheme is https; http only for a confidential client (one that
	// authenticates, as §2.2 requires) on a loopback IP literal, for
	// development. Whether its host may be reached is decided when the
	// logout token is sent, not here.
	BackchannelLogoutURI string `json:"backchannel_logout_uri,omitempty"`
	// BackchannelLogoutSessionRequired puts "sid" into the client's logout
	// tokens (OpenID Connect Back-Channel Logout 1.0 §2.2) and its ID
	// tokens. It is accepted without a backchannel_logout_uri, for the
	// "sid" in ID tokens alone.
	BackchannelLogoutSessionRequired bool `json:"backchannel_logout_session_required,omitempty"`
}

// maxLifetimeSeconds is the longest lifetime a time.Duration holds, in
// whole seconds (about 292 years).
const maxLifetimeSeconds = math.MaxInt64 / int64(time.Second)

// lifetime returns the duration of a lifetime given in whole seconds, or an
// error naming the JSON member for a negative one or one too long for a
// time.Duration.
func lifetime(member string, seconds int64) (time.Duration, error) {
	switch {
	case seconds < 0:
		return 0, fmt.Errorf("%s must not be negative", member)
	case seconds > maxLifetimeSeconds:
		return 0, fmt.Errorf("%s must be at most %d seconds", member, maxLifetimeSeconds)
	}
	return time.Duration(seconds) * time.Second, nil
}

// Client validates the metadata and returns the client record. A
// client_secret is hashed with HashClientSecret and not kept; a
// client_secret_hash is taken as it is. Defaults follow RFC 7591 §2:
// token_endpoint_auth_method client_secret_basic, grant_types
// authorization_code. access_token_lifetime and refresh_token_lifetime are
// whole seconds; zero means the Provider's default, and a negative value
// is an error.
//
// The OpenID Connect members (subject_type, sector_identifier_uri,
// id_token_signed_response_alg, userinfo_signed_response_alg,
// require_auth_time, default_max_age, post_logout_redirect_uris,
// backchannel_logout_uri, backchannel_logout_session_required) are
// checked as their fields' comments say and carried into the record's
// fields of the same names; an error names the member at fault.
func (m *ClientMetadata) Client() (*storage.Client, error) {
	if m.ClientID == "" {
		return nil, errors.New("oauth2: client metadata has no client_id")
	}
	fail := func(format string, args ...any) error {
		return fmt.Errorf("oauth2: client %q: %s", m.ClientID, fmt.Sprintf(format, args...))
	}
	c := &storage.Client{
		ID:                          m.ClientID,
		Name:                        m.ClientName,
		TokenEndpointAuthMethod:     m.TokenEndpointAuthMethod,
		TokenEndpointAuthSigningAlg: m.TokenEndpointAuthSigningAlg,
		JWKSURI:                     m.JWKSURI,
		RedirectURIs:                slices.Clone(m.RedirectURIs),
		GrantTypes:                  slices.Clone(m.GrantTypes),
		Audience:                    slices.Clone(m.Audience),
		Resources:                   slices.Clone(m.Resources),
		DPoPBoundAccessTokens:       m.DPoPBoundAccessTokens,

		SubjectType:                      m.SubjectType,
		SectorIdentifierURI:              m.SectorIdentifierURI,
		IDTokenSignedResponseAlg:         m.IDTokenSignedResponseAlg,
		UserinfoSignedResponseAlg:        m.UserinfoSignedResponseAlg,
		RequireAuthTime:                  m.RequireAuthTime,
		PostLogoutRedirectURIs:           slices.Clone(m.PostLogoutRedirectURIs),
		BackchannelLogoutURI:             m.BackchannelLogoutURI,
		BackchannelLogoutSessionRequired: m.BackchannelLogoutSessionRequired,
	}
	if c.TokenEndpointAuthMethod == "" {
		c.TokenEndpointAuthMethod = AuthMethodClientSecretBasic
	}
	if len(c.GrantTypes) == 0 {
		c.GrantTypes = []string{"authorization_code"}
	}
	var err error
	if c.AccessTokenLifetime, err = lifetime("access_token_lifetime", m.AccessTokenLifetime); err != nil {
		return nil, fail("%v", err)
	}
	if c.RefreshTokenLifetime, err = lifetime("refresh_token_lifetime", m.RefreshTokenLifetime); err != nil {
		return nil, fail("%v", err)
	}
	if c.Scopes, err = ParseScope(m.Scope); err != nil {
		return nil, fail("malformed scope")
	}
	if c.DefaultScopes, err = ParseScope(m.DefaultScope); err != nil {
		return nil, fail("malformed default_scope")
	}
	if CheckScopeSubset(c.DefaultScopes, c.Scopes) != nil {
		return nil, fail("default_scope must be a subset of scope")
	}
	for _, r := range c.Resources {
		if u, err := url.Parse(r); err != nil || !u.IsAbs() || u.Fragment != "" {
			return nil, fail("resource %q must be an absolute URI without a fragment (RFC 8707 §2)", r)
		}
	}
	for _, uri := range c.RedirectURIs {
		if err := ValidateRedirectURI(uri); err != nil {
			return nil, fail("%v", err)
		}
	}

	usesSecret := c.TokenEndpointAuthMethod == AuthMethodClientSecretBasic || c.TokenEndpointAuthMethod == AuthMethodClientSecretPost
	switch {
	case m.ClientSecret != "" && m.ClientSecretHash != "":
		return nil, fail("give client_secret or client_secret_hash, not both")
	case usesSecret && m.ClientSecret == "" && m.ClientSecretHash == "":
		return nil, fail("method %s needs a client_secret or client_secret_hash", c.TokenEndpointAuthMethod)
	case !usesSecret && (m.ClientSecret != "" || m.ClientSecretHash != ""):
		return nil, fail("method %s takes no client secret", c.TokenEndpointAuthMethod)
	case m.ClientSecret != "":
		if c.SecretHash, err = HashClientSecret(m.ClientSecret); err != nil {
			return nil, fail("%v", err)
		}
	case m.ClientSecretHash != "":
		// An unknown format would fail every authentication; say so now.
		if err := VerifyClientSecret(m.ClientSecretHash, "probe"); err != nil && !errors.Is(err, ErrClientSecretMismatch) {
			return nil, fail("client_secret_hash: %v", err)
		}
		c.SecretHash = m.ClientSecretHash
	}

	switch c.TokenEndpointAuthMethod {
	case AuthMethodClientSecretBasic, AuthMethodClientSecretPost, AuthMethodNone, AuthMethodClientSecretJWT:
		if len(m.JWKS) > 0 || m.JWKSURI != "" {
			return nil, fail("jwks and jwks_uri are only for private_key_jwt")
		}
	case AuthMethodPrivateKeyJWT:
		if (len(m.JWKS) > 0) == (m.JWKSURI != "") {
			return nil, fail("private_key_jwt needs exactly one of jwks and jwks_uri")
		}
		if m.JWKSURI != "" {
			if u, err := url.Parse(m.JWKSURI); err != nil || u.Scheme != "https" || u.Host == "" || u.Fragment != "" {
				return nil, fail("jwks_uri must be an https URL")
			}
		}
		c.JWKS = slices.Clone([]byte(m.JWKS))
	default:
		return nil, fail("unknown token_endpoint_auth_method %q", c.TokenEndpointAuthMethod)
	}
	if err := m.checkOpenID(c); err != nil {
		return nil, fail("%v", err)
	}
	return c, nil
}

// checkOpenID checks the OpenID Connect members of m, whose values c
// already holds, and sets c.DefaultMaxAge. Its errors name the member.
func (m *ClientMetadata) checkOpenID(c *storage.Client) error {
	switch c.SubjectType {
	case "", "public", "pairwise":
	default:
		return fmt.Errorf("subject_type %q must be public or pairwise (OpenID Connect Core §8)", c.SubjectType)
	}
	if c.SectorIdentifierURI != "" {
		u, err := url.Parse(c.SectorIdentifierURI)
		if err != nil || !strings.EqualFold(u.Scheme, "https") || u.Host == "" || u.User != nil ||
			u.Fragment != "" || strings.Contains(c.SectorIdentifierURI, "#") {
			return errors.New("sector_identifier_uri must be an https URL without user information or a fragment (OpenID Connect Core §8.1)")
		}
	}
	if c.SubjectType == "pairwise" && c.SectorIdentifierURI == "" {
		// The sector is then the host of the redirect URIs; a redirect
		// URI without one (a private-use scheme) names no other sector.
		var hosts []string
		for _, uri := range c.RedirectURIs {
			if u, err := url.Parse(uri); err == nil && u.Hostname() != "" {
				if h := strings.ToLower(u.Hostname()); !slices.Contains(hosts, h) {
					hosts = append(hosts, h)
				}
			}
		}
		if len(hosts) > 1 {
			return errors.New("a pairwise subject_type with redirect_uris on more than one host needs a sector_identifier_uri (OpenID Connect Core §8.1)")
		}
	}
	for _, member := range [...]struct{ name, alg string }{
		{"id_token_signed_response_alg", c.IDTokenSignedResponseAlg},
		{"userinfo_signed_response_alg", c.UserinfoSignedResponseAlg},
	} {
		if err := checkSigningAlg(member.name, member.alg); err != nil {
			return err
		}
	}
	if m.DefaultMaxAge != nil {
		if *m.DefaultMaxAge == 0 {
			return errors.New("default_max_age must be positive: 0 would ask for a login on every request; send max_age=0 or prompt=login instead (OpenID Connect Core §3.1.2.1)")
		}
		var err error
		if c.DefaultMaxAge, err = lifetime("default_max_age", *m.DefaultMaxAge); err != nil {
			return err
		}
	}
	for i, uri := range c.PostLogoutRedirectURIs {
		if err := ValidateRedirectURI(uri); err != nil {
			return fmt.Errorf("post_logout_redirect_uris: %w", err)
		}
		if slices.Contains(c.PostLogoutRedirectURIs[:i], uri) {
			return fmt.Errorf("post_logout_redirect_uris: %q is listed twice", uri)
		}
	}
	if c.BackchannelLogoutURI != "" {
		return checkBackchannelLogoutURI(c.BackchannelLogoutURI, c.TokenEndpointAuthMethod != AuthMethodNone)
	}
	return nil
}

// checkSigningAlg checks the JWS algorithm alg that the client registered
// in member for the tokens Grantor signs for it: empty, or one of the
// asymmetric algorithms (RFC 7518 §3.1, RFC 8037 §3.1). "alg" values are
// case-sensitive (RFC 7515 §4.1.1); "none" and the MAC algorithms are
// refused in any case, with their own reasons.
func checkSigningAlg(member, alg string) error {
	switch {
	case alg == "" || slices.Contains(asymmetricAlgs, alg):
		return nil
	case strings.EqualFold(alg, "none"):
		return fmt.Errorf("%s must not be none: Grantor never issues unsigned ID tokens or UserInfo responses", member)
	case slices.ContainsFunc(hmacAlgs, func(h string) bool { return strings.EqualFold(h, alg) }):
		return fmt.Errorf("%s must not be the MAC algorithm %s: Grantor signs with its own asymmetric keys only", member, alg)
	}
	return fmt.Errorf("%s %q is not one of %s", member, alg, strings.Join(asymmetricAlgs, ", "))
}

// checkBackchannelLogoutURI checks a backchannel_logout_uri (OpenID Connect
// Back-Channel Logout 1.0 §2.2): an absolute URI without a fragment,
// https, or http when the client is confidential and the host a loopback
// IP literal, the only http RP URIs Grantor allows. A query is allowed.
// The URI is not repeated in the error, which may hold user information.
func checkBackchannelLogoutURI(uri string, confidential bool) error {
	u, err := url.Parse(uri)
	switch {
	case err != nil || !u.IsAbs() || u.Host == "":
		return errors.New("backchannel_logout_uri must be an absolute URL with a host (Back-Channel Logout 1.0 §2.2)")
	case u.Fragment != "" || strings.Contains(uri, "#"):
		return errors.New("backchannel_logout_uri must not have a fragment (Back-Channel Logout 1.0 §2.2)")
	case u.User != nil:
		return errors.New("backchannel_logout_uri must not contain user information")
	}
	switch scheme := strings.ToLower(u.Scheme); {
	case scheme == "https":
		return nil
	case scheme != "http":
		return errors.New("backchannel_logout_uri must be an https URL (Back-Channel Logout 1.0 §2.2)")
	case !confidential:
		return errors.New("backchannel_logout_uri may be http only for a confidential client (Back-Channel Logout 1.0 §2.2)")
	case strings.EqualFold(u.Hostname(), "localhost") || !urlpolicy.IsLoopbackHost(u.Hostname()):
		return errors.New("backchannel_logout_uri may be http only on a loopback IP literal, for development (Back-Channel Logout 1.0 §2.2)")
	}
	return nil
}

// ValidateRedirectURI checks a redirect URI before it is registered
// (RFC 6749 §3.1.2, RFC 9700 §2.1 and §4.1, OAuth 2.1 §2.3.1, RFC 8252 §7):
// an absolute URI without a fragment or wildcard; https, or http only on a
// loopback IP literal, or a private-use scheme that contains a dot
// (reverse domain name); never javascript:, data:, file: and the like.
func ValidateRedirectURI(uri string) error {
	u, err := url.Parse(uri)
	if err != nil || !u.IsAbs() {
		return fmt.Errorf("redirect URI %q is not an absolute URI", uri)
	}
	if u.Fragment != "" || strings.Contains(uri, "#") {
		return fmt.Errorf("redirect URI %q must not have a fragment", uri)
	}
	if strings.Contains(uri, "*") {
		return fmt.Errorf("redirect URI %q must not contain a wildcard", uri)
	}
	if u.User != nil {
		return fmt.Errorf("redirect URI %q must not contain user information", uri)
	}
	scheme := strings.ToLower(u.Scheme)
	switch {
	case scheme == "https":
		if u.Host == "" {
			return fmt.Errorf("redirect URI %q has no host", uri)
		}
	case scheme == "http":
		if host := u.Hostname(); strings.EqualFold(host, "localhost") || !urlpolicy.IsLoopbackHost(host) {
			return fmt.Errorf("redirect URI %q: http is allowed only for loopback IP literals (RFC 8252 §7.3)", uri)
		}
	case strings.Contains(scheme, "."):
		// A private-use scheme of a native app (RFC 8252 §7.1).
	default:
		return fmt.Errorf("redirect URI %q has a scheme that is not allowed", uri)
	}
	return nil
}
