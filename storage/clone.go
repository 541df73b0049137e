package storage

import "slices"

// Clone returns a deep copy of c, which the caller may modify without
// changing c. Its string lists share one new array: two allocations, three
// with JWKS, instead of one per list.
func (c *Client) Clone() *Client {
	cc := *c
	cc.JWKS = slices.Clone(c.JWKS)
	CloneLists(&cc.RedirectURIs, &cc.GrantTypes, &cc.Scopes, &cc.DefaultScopes, &cc.Audience, &cc.Resources,
		&cc.PostLogoutRedirectURIs)
	return &cc
}

// CloneLists replaces each list by a copy (a nil list stays nil), all the
// copies sharing one new array: one allocation instead of one per list.
// Each copy is a full slice expression of its part of the array, with no
// room to grow, so appending to one reallocates rather than overwriting the
// next.
func CloneLists(lists ...*[]string) {
	n := 0
	for _, l := range lists {
		n += len(*l)
	}
	strs := make([]string, 0, n)
	for _, l := range lists {
		if *l == nil {
			continue
		}
		start := len(strs)
		strs = append(strs, *l...)
		*l = strs[start:len(strs):len(strs)]
	}
}

// CloneClaims deep-copies a claims map of JSON shapes (map[string]any,
// []any, []string); other values are shared and must be treated as
// immutable, as the values encoding/json decodes into are.
func CloneClaims(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	c := make(map[string]any, len(m))
	for k, v := range m {
		c[k] = cloneClaimValue(v)
	}
	return c
}

// cloneClaimValue deep-copies one claim value (see CloneClaims).
func cloneClaimValue(v any) any {
	switch v := v.(type) {
	case map[string]any:
		return CloneClaims(v)
	case []any:
		if v == nil {
			return v
		}
		c := make([]any, len(v))
		for i := range v {
			c[i] = cloneClaimValue(v[i])
		}
		return c
	case []string:
		return slices.Clone(v)
	default:
		return v
	}
}
