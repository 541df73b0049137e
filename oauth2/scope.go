package oauth2

import (
	"slices"
	"strings"

	"github.com/grantor-dev/grantor/storage"
)

// ParseScope splits a scope parameter into its scope tokens (RFC 6749
// §3.3: tokens separated by single spaces, each of characters %x21 /
// %x23-5B / %x5D-7E). Repeated tokens are dropped. An empty string is nil.
// Malformed input is invalid_scope. It takes time linear in the length of
// s, however many tokens it holds; the endpoints also bound their number
// (MaxScopeValues).
func ParseScope(s string) ([]string, error) {
	if s == "" {
		return nil, nil
	}
	n := strings.Count(s, " ") + 1
	scopes := make([]string, 0, n)
	// Few tokens are de-duplicated by a scan, many by a set: a scan of
	// every token against every other would be quadratic.
	var seen map[string]struct{}
	if n > smallScopeCount {
		seen = make(map[string]struct{}, n)
	}
	for tok := range strings.SplitSeq(s, " ") {
		if tok == "" {
			return nil, NewError(ErrInvalidScope, "the scope parameter is malformed")
		}
		for i := 0; i < len(tok); i++ {
			if c := tok[i]; c < 0x21 || c == 0x22 || c == 0x5C || c > 0x7E {
				return nil, NewError(ErrInvalidScope, "the scope parameter is malformed")
			}
		}
		if seen != nil {
			if _, dup := seen[tok]; dup {
				continue
			}
			seen[tok] = struct{}{}
		} else if slices.Contains(scopes, tok) {
			continue
		}
		scopes = append(scopes, tok)
	}
	return scopes, nil
}

// smallScopeCount is the number of scope tokens up to which ParseScope
// de-duplicates by a scan, which for so few allocates nothing and is
// faster than a set.
const smallScopeCount = 16

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
// allowed. It takes time linear in the lengths of both.
func CheckScopeSubset(requested, allowed []string) error {
	if !subset(requested, allowed) {
		return NewError(ErrInvalidScope, "the requested scope exceeds what may be granted")
	}
	return nil
}

// subset reports whether every element of a is in b, in linear time: a set
// of b once both are long, a scan while they are short.
func subset(a, b []string) bool {
	if len(a) <= smallScopeCount || len(b) <= smallScopeCount {
		for _, s := range a {
			if !slices.Contains(b, s) {
				return false
			}
		}
		return true
	}
	set := make(map[string]struct{}, len(b))
	for _, s := range b {
		set[s] = struct{}{}
	}
	for _, s := range a {
		if _, ok := set[s]; !ok {
			return false
		}
	}
	return true
}

// sameScopes reports whether a and b hold the same scopes, in any order.
func sameScopes(a, b []string) bool {
	return len(a) == len(b) && subset(a, b)
}
