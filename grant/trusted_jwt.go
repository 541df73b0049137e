package grant

import (
	"errors"
	"slices"

	"github.com/grantor-dev/grantor/oauth2"
)

// What the token exchange and JWT bearer grants check on a trusted
// issuer's JWT beyond oauth2.VerifyTrustedJWT, which checks its signature,
// issuer and lifetime.

// audienceNames reports whether aud names any of names (RFC 7519 §4.1.3:
// a JWT not meant for us must be refused).
func audienceNames(aud []string, names ...string) bool {
	for _, n := range names {
		if n != "" && slices.Contains(aud, n) {
			return true
		}
	}
	return false
}

// checkJWTBinding refuses a JWT bound to a key (a cnf claim, RFC 7800 §3)
// unless the request proves that key with DPoP: the JWK thumbprint
// confirmation (RFC 9449 §6.1) is the only binding Grantor can check.
func checkJWTBinding(jwt *oauth2.TrustedJWT, keyThumbprint string) error {
	cnf, ok := jwt.Claims["cnf"]
	if !ok {
		return nil
	}
	m, ok := cnf.(map[string]any)
	if !ok || len(m) != 1 {
		return errors.New("is bound to a key (cnf) in a way that cannot be checked")
	}
	jkt, ok := m["jkt"].(string)
	if !ok {
		return errors.New("is bound to a key (cnf) in a way that cannot be checked")
	}
	if jkt != keyThumbprint {
		return errors.New("is bound to a DPoP key the request does not prove")
	}
	return nil
}

// jwtScopes returns the scopes of a JWT's scope claim (RFC 8693 §4.2), nil
// without one.
func jwtScopes(jwt *oauth2.TrustedJWT) ([]string, error) {
	v, ok := jwt.Claims["scope"]
	if !ok {
		return nil, nil
	}
	s, ok := v.(string)
	if !ok || len(s) > oauth2.MaxScopeBytes {
		return nil, errors.New("grant: the scope claim is not a scope string")
	}
	scopes, err := oauth2.ParseScope(s)
	if err != nil {
		return nil, err
	}
	if scopes == nil {
		scopes = []string{}
	}
	return scopes, nil
}

// validSubject reports whether a subject mapped from another issuer may be
// the subject of this server's tokens.
func validSubject(sub string) bool {
	return oauth2.CheckUserSubject(sub) == nil
}
