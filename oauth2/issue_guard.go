package oauth2

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/grantor-dev/grantor/storage"
	"github.com/grantor-dev/grantor/token"
)

// ClientSubjectPrefix starts the subject of tokens that a client obtains
// for itself (RFC 9068 §2.2 asks for an identifier of the client), as
// grant.ClientCredentials does. Keeping clients in a namespace of their own
// means a client can never pose as a resource owner whose subject equals
// its client_id (RFC 9700 §4.15, RFC 9068 §5). The Provider refuses a
// subject with this prefix unless it names the requesting client, and an
// approval of a resource owner whose subject has it: applications must not
// give users subjects that start with it.
const ClientSubjectPrefix = "client:"

// MaxSubjectBytes bounds a token's subject, the "sub" claim: OpenID
// Connect Core 1.0 §2 allows at most 255 ASCII characters, and a
// resource server stores and logs it.
const MaxSubjectBytes = 255

// maxGrantTypeBytes bounds a grant type name, an absolute URI for
// extension grants (RFC 6749 §4.5).
const maxGrantTypeBytes = 255

// The grant types of RFC 6749 itself, as grant_type values (§4.1.3, §4.4.2,
// §6). An extension grant is named by an absolute URI instead (§4.5).
var rfc6749GrantTypes = map[string]bool{"authorization_code": true, "client_credentials": true, "refresh_token": true}

// refreshTokenGrantType is the grant_type of a refresh (RFC 6749 §6).
const refreshTokenGrantType = "refresh_token"

// checkGrantTypeName accepts the names a GrantHandler may register: one of
// RFC 6749's grant types, or an absolute URI (RFC 6749 §4.5, §8.3), never
// the resource owner password credentials grant (RFC 9700 §2.4).
func checkGrantTypeName(gt string) error {
	switch {
	case rfc6749GrantTypes[gt]:
		return nil
	case gt == "":
		return errors.New("the grant handler has an empty grant type")
	case gt == "password":
		return errors.New(`the resource owner password credentials grant ("password") must not be used (RFC 9700 §2.4)`)
	}
	u, err := url.Parse(gt)
	if err != nil || len(gt) > maxGrantTypeBytes || !isVisibleASCII(gt) || !u.IsAbs() || strings.Contains(gt, "#") ||
		u.Opaque == "" && u.Host == "" && u.Path == "" {
		return fmt.Errorf("grant type %q is neither one of RFC 6749's nor an absolute URI (RFC 6749 §4.5), such as urn:example:grant-type:api-key", gt)
	}
	return nil
}

// isVisibleASCII reports whether s holds only printable ASCII, without
// spaces: the characters of a URI (RFC 3986 §2).
func isVisibleASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= 0x20 || s[i] >= 0x7F {
			return false
		}
	}
	return true
}

// CheckSubject checks the syntax of a subject, any token's "sub" or an
// actor's in an act claim (RFC 8693 §4.1): not empty, at most
// MaxSubjectBytes of valid UTF-8 without control characters. A client's
// own subject (ClientSubjectPrefix) passes; CheckUserSubject refuses it.
func CheckSubject(subject string) error { return checkSubject(subject) }

// checkSubject is CheckSubject.
func checkSubject(subject string) error {
	switch {
	case subject == "":
		return errors.New("an empty subject")
	case len(subject) > MaxSubjectBytes:
		return fmt.Errorf("a subject of %d bytes, more than MaxSubjectBytes", len(subject))
	case !validText(subject):
		return errors.New("a subject that is not valid UTF-8 or holds control characters")
	}
	return nil
}

// CheckUserSubject reports whether subject may be the subject of a
// resource owner's tokens: non-empty, at most MaxSubjectBytes of UTF-8
// without control characters, and outside the clients' namespace
// (ClientSubjectPrefix, RFC 9700 §4.15). The Provider applies it to an
// approval's subject; a grant that maps a subject from elsewhere (another
// issuer's JWT) applies it to what the mapping returns.
func CheckUserSubject(subject string) error { return checkApprovedSubject(subject) }

// checkApprovedSubject checks the subject of a resource owner's approval:
// a valid subject outside the clients' namespace (ClientSubjectPrefix).
func checkApprovedSubject(subject string) error {
	if err := checkSubject(subject); err != nil {
		return err
	}
	if strings.HasPrefix(subject, ClientSubjectPrefix) {
		return fmt.Errorf("a subject that starts with ClientSubjectPrefix %q, which only clients' own tokens have", ClientSubjectPrefix)
	}
	return nil
}

// checkIssue checks what a grant handler returned before anything is
// minted: the Provider's side of the GrantHandler contract. A violation is
// a programming error in the grant, answered as server_error, with the
// grant type and the rule broken in the error's cause, which is logged.
func (p *Provider) checkIssue(req *TokenRequest, is *Issue) error {
	if err := p.issueViolation(req, is); err != nil {
		return NewError(ErrServerError, "the grant returned what the authorization server may not issue").
			WithCause(fmt.Errorf("oauth2: grant type %q returned %w", req.GrantType, err))
	}
	return nil
}

// issueViolation returns the first rule of GrantHandler's contract that is
// broke, or nil.
func (p *Provider) issueViolation(req *TokenRequest, is *Issue) error {
	if is == nil {
		return errors.New("a nil Issue and no error")
	}
	client := req.Client
	if err := checkSubject(is.Subject); err != nil {
		return err
	}
	if strings.HasPrefix(is.Subject, ClientSubjectPrefix) && is.Subject[len(ClientSubjectPrefix):] != client.ID {
		// RFC 9700 §4.15: a client obtains tokens only as itself.
		return fmt.Errorf("the subject %q of another client to client %q", is.Subject, client.ID)
	}
	if !subset(is.Scopes, client.Scopes) {
		return fmt.Errorf("scopes %q beyond the scopes registered for client %q", is.Scopes, client.ID)
	}
	if is.GrantID == "" && !subset(is.GrantScopes, client.Scopes) {
		// A new grant is no wider than its client.
		return fmt.Errorf("grant scopes %q beyond the scopes registered for client %q", is.GrantScopes, client.ID)
	}
	if is.GrantScopes != nil && !subset(is.Scopes, is.GrantScopes) {
		// RFC 6749 §6: a refresh only narrows the grant's scopes.
		return fmt.Errorf("scopes %q beyond the grant's scopes %q", is.Scopes, is.GrantScopes)
	}
	if is.Audience != nil && !subset(is.Audience, p.ClientAudience(client)) {
		return fmt.Errorf("an audience %q beyond the audience allowed to client %q", is.Audience, client.ID)
	}
	if badLifetime(is.AccessTokenLifetime) || badLifetime(is.RefreshTokenLifetime) {
		return errors.New("a token lifetime that is negative or shorter than a second")
	}
	if badLifetime(client.AccessTokenLifetime) || badLifetime(client.RefreshTokenLifetime) {
		return fmt.Errorf("a token for client %q, whose registered token lifetime is negative or shorter than a second", client.ID)
	}
	if name, ok := reservedClaimIn(is.Claims); ok {
		return fmt.Errorf("an extra claim with the registered name %q", name)
	}
	if err := checkExtensions("Issue.Extensions", is.Extensions, maxExtensionValueBytes); err != nil {
		return err
	}
	return checkResponseParameters(is.ResponseParameters)
}

// MaxResponseParameters bounds the members a grant may add to a token
// response (Issue.ResponseParameters).
const MaxResponseParameters = 8

// tokenResponseMembers are the members of a token response (RFC 6749
// §5.1) and of an error response (§5.2), which only the Provider writes.
var tokenResponseMembers = map[string]bool{
	"access_token": true, "token_type": true, "expires_in": true, "refresh_token": true, "scope": true,
	"error": true, "error_description": true, "error_uri": true,
}

// checkResponseParameters checks the members a grant adds to the token
// response.
func checkResponseParameters(params map[string]string) error {
	if len(params) > MaxResponseParameters {
		return fmt.Errorf("%d response parameters, more than %d", len(params), MaxResponseParameters)
	}
	for name, value := range params {
		switch {
		case name == "" || len(name) > maxParameterNameBytes ||
			strings.Trim(name, "abcdefghijklmnopqrstuvwxyz0123456789_") != "":
			return fmt.Errorf("a response parameter named %q: names are lower-case letters, digits and underscores", safeName(name))
		case tokenResponseMembers[name]:
			return fmt.Errorf("a response parameter named %q, a member of the token response itself", name)
		case len(value) > MaxTokenParameterBytes || !utf8.ValidString(value):
			return fmt.Errorf("response parameter %q: its value is longer than %d bytes or not UTF-8", name, MaxTokenParameterBytes)
		}
	}
	return nil
}

// ClientAudience returns the audience a client's access tokens may have:
// its registered audience (storage.Client.Audience), or else the
// Provider's default audience (Config.DefaultAudience). A grant's audience
// (Issue.Audience) must be within it. The caller must not modify the
// result.
func (p *Provider) ClientAudience(c *storage.Client) []string {
	if len(c.Audience) > 0 {
		return c.Audience
	}
	return p.defaultAudience
}

// refreshTokenAllowed reports whether a refresh token may go to the
// client: it is registered for the refresh_token grant, and the Provider
// has that grant, so that the token can be redeemed (RFC 6749 §6).
func (p *Provider) refreshTokenAllowed(c *storage.Client) bool {
	_, registered := p.handlers[refreshTokenGrantType]
	return registered && c.AllowsGrantType(refreshTokenGrantType)
}

// tokenLifetime is the lifetime of a token: the shorter of the grant's
// and the client's when either names one, else the Provider's default,
// and never more than the Provider's cap.
func tokenLifetime(grant, client, def, max time.Duration) time.Duration {
	d := def
	switch {
	case grant > 0 && client > 0:
		d = min(grant, client)
	case grant > 0:
		d = grant
	case client > 0:
		d = client
	}
	return min(d, max)
}

// applyClaimsHook calls Config.AccessTokenClaims on a copy of claims and
// keeps what the hook may change: the extra claims, and an earlier expiry.
// Any other change is a programming error in the hook, refused with
// server_error rather than ignored.
func (p *Provider) applyClaimsHook(ctx context.Context, req *TokenRequest, claims *token.Claims) error {
	// The hook gets copies of everything it could change: the request
	// (whose client, scopes and resources the Provider still reads) and
	// the claims (whose slices and extra claims are the grant's).
	hookReq := *req
	hookReq.Client = req.Client.Clone()
	hookReq.Scopes, hookReq.Resources = slices.Clone(req.Scopes), slices.Clone(req.Resources)
	hookReq.Form = make(url.Values, len(req.Form))
	for k, v := range req.Form {
		hookReq.Form[k] = slices.Clone(v)
	}
	hooked := *claims
	hooked.Scopes = slices.Clone(claims.Scopes)
	hooked.Audience = slices.Clone(claims.Audience)
	hooked.Extra = storage.CloneClaims(claims.Extra)
	if hooked.Extra == nil {
		hooked.Extra = make(map[string]any)
	}
	if err := p.claimsHook(ctx, &hookReq, &hooked); err != nil {
		return err
	}
	if name := changedRegisteredClaim(claims, &hooked); name != "" {
		return hookViolation(fmt.Errorf("changed the registered claim %q; only Extra and an earlier ExpiresAt may change", name))
	}
	if hooked.ExpiresAt.After(claims.ExpiresAt) {
		return hookViolation(errors.New("moved ExpiresAt later; it may only shorten a token's life"))
	}
	if hooked.ExpiresAt.Sub(claims.IssuedAt) < minTokenLifetime {
		return hookViolation(errors.New("moved ExpiresAt to less than a second after IssuedAt"))
	}
	claims.ExpiresAt, claims.Extra = hooked.ExpiresAt, hooked.Extra
	return nil
}

// badLifetime reports whether d is not a lifetime a token may be given:
// zero (none) or at least minTokenLifetime.
func badLifetime(d time.Duration) bool {
	return d < 0 || d > 0 && d < minTokenLifetime
}

// minTokenLifetime is the shortest life a token may have: expires_in and
// a JWT's exp and iat count whole seconds (RFC 6749 §5.1, RFC 7519 §2).
const minTokenLifetime = time.Second

// hookViolation is the answer to a claims hook that broke its contract.
func hookViolation(err error) error {
	return NewError(ErrServerError, "the access token could not be minted").
		WithCause(fmt.Errorf("oauth2: Config.AccessTokenClaims %w", err))
}

// changedRegisteredClaim returns the JWT name of the first registered
// claim other than exp that differs between a and b, or "".
func changedRegisteredClaim(a, b *token.Claims) string {
	switch {
	case a.Issuer != b.Issuer:
		return "iss"
	case a.Subject != b.Subject:
		return "sub"
	case !slices.Equal(a.Audience, b.Audience):
		return "aud"
	case a.ClientID != b.ClientID:
		return "client_id"
	case !slices.Equal(a.Scopes, b.Scopes):
		return "scope"
	case !a.IssuedAt.Equal(b.IssuedAt):
		return "iat"
	case a.ID != b.ID:
		return "jti"
	case a.KeyThumbprint != b.KeyThumbprint:
		return "cnf"
	}
	return ""
}
