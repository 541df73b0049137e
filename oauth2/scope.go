package oauth2

import (
	"slices"
	"strings"

	"github.com/grantor-dev/grantor/storage"
)

// ParseScope splits a scope parameter into its scope tokens (RFC 6749
// §3.3: tokens separated by single spaces, each of characters %x21 /
// %x23-5B / %x5D-7E). Repeated tokens are dropped. An empty string is nil.
// Malformed input is invalid_scope.
func ParseScope(s string) ([]string, error) {
	if s == "" {
		return nil, nil
	}
	scopes := make([]string, 0, strings.Count(s, " ")+1)
	for tok := range strings.SplitSeq(s, " ") {
		if tok == "" {
			return nil, NewError(ErrInvalidScope, "the scope parameter is malformed")
		}
		for i := 0; i < len(tok); i++ {
			if c := tok[i]; c < 0x21 || c == 0x22 || c == 0x5C || c > 0x7E {
				return nil, NewError(ErrInvalidScope, "the scope parameter is malformed")
			}
		}
		if !slices.Contains(scopes, tok) {
			scopes = append(scopes, tok)
		}
	}
	return scopes, nil
}

// FormatScope joins scopes into a scope parameter (RFC 6749 §3.3).
func FormatScope(scopes []string) string { return strings.Join(scopes, " ") }

// ClientScopes returns the scopes to grant a client that asked for
// requested (RFC 6749 §3.3): the client's default scopes when it asked for
// none, and otherwise exactly what it asked for, provided the client may
// have every one of them; if not, the request is invalid_scope.
func ClientScopes(c *storage.Client, requested []string) ([]string, error) {
	if requested == nil {
		return slices.Clone(c.DefaultScopes), nil
	}
	if err := CheckScopeSubset(requested, c.Scopes); err != nil {
		return nil, err
	}
	return requested, nil
}

// CheckScopeSubset returns invalid_scope unless every requested scope is in
// allowed.
func CheckScopeSubset(requested, allowed []string) error {
	for _, s := range requested {
		if !slices.Contains(allowed, s) {
			return NewError(ErrInvalidScope, "the requested scope exceeds what may be granted")
		}
	}
	return nil
}

// sameScopes reports whether a and b hold the same scopes, in any order.
func sameScopes(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for _, s := range a {
		if !slices.Contains(b, s) {
			return false
		}
	}
	return true
}
