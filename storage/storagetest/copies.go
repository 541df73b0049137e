package storagetest

import (
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/storage"
)

// The rules of this file: returned records are copies the caller may
// modify, and a stored record does not change when the caller modifies
// what it passed in or what it got back. Each test changes every field of
// a record, down to the elements of its lists, the values nested in its
// claims and the entries of its maps of strings, and then reads the stored
// record again: a store that returned its own record, or shared a list or
// a map with it, shows the change.

// scribbled is what scribble functions write.
const scribbled = "scribbled"

// scribbleStrings changes every element of l in place.
func scribbleStrings(l []string) {
	for i := range l {
		l[i] = scribbled
	}
}

// scribbleStringMap changes every value of m and adds an entry.
func scribbleStringMap(m map[string]string) {
	for k := range m {
		m[k] = scribbled
	}
	if m != nil {
		m[scribbled] = scribbled
	}
}

// scribbleClaims changes every value of m, nested ones first, and adds a
// claim.
func scribbleClaims(m map[string]any) {
	for k, v := range m {
		scribbleValue(v)
		m[k] = scribbled
	}
	if m != nil {
		m[scribbled] = true
	}
}

// scribbleValue changes, in place, what v refers to.
func scribbleValue(v any) {
	switch v := v.(type) {
	case map[string]any:
		scribbleClaims(v)
	case []any:
		for i := range v {
			scribbleValue(v[i])
			v[i] = scribbled
		}
	case []string:
		scribbleStrings(v)
	}
}

// cloneClaims returns a deep copy of JSON-shaped claims.
func cloneClaims(t *testing.T, m map[string]any) map[string]any {
	t.Helper()
	if m == nil {
		return nil
	}
	b, err := json.Marshal(m)
	require.NoError(t, err)
	var c map[string]any
	require.NoError(t, json.Unmarshal(b, &c))
	return c
}

// shift moves a time, the zero time included, so that it no longer
// matches.
func shift(at *time.Time) { *at = at.Add(time.Hour) }

func cloneClient(c *storage.Client) *storage.Client {
	cc := *c
	cc.JWKS = slices.Clone(c.JWKS)
	for _, l := range []*[]string{&cc.RedirectURIs, &cc.GrantTypes, &cc.Scopes, &cc.DefaultScopes, &cc.Audience, &cc.Resources,
		&cc.PostLogoutRedirectURIs} {
		*l = slices.Clone(*l)
	}
	return &cc
}

func scribbleClient(c *storage.Client) {
	for _, s := range []*string{&c.ID, &c.Name, &c.SecretHash, &c.TokenEndpointAuthMethod, &c.TokenEndpointAuthSigningAlg, &c.JWKSURI,
		&c.SubjectType, &c.SectorIdentifierURI, &c.IDTokenSignedResponseAlg, &c.UserinfoSignedResponseAlg,
		&c.BackchannelLogoutURI} {
		*s = scribbled
	}
	for i := range c.JWKS {
		c.JWKS[i] = 'x'
	}
	for _, l := range [][]string{c.RedirectURIs, c.GrantTypes, c.Scopes, c.DefaultScopes, c.Audience, c.Resources,
		c.PostLogoutRedirectURIs} {
		scribbleStrings(l)
	}
	c.PKCEOptional = !c.PKCEOptional
	c.RequireAuthTime = !c.RequireAuthTime
	c.BackchannelLogoutSessionRequired = !c.BackchannelLogoutSessionRequired
	c.DefaultMaxAge++
	c.RequirePushedAuthorizationRequests = !c.RequirePushedAuthorizationRequests
	c.DPoPBoundAccessTokens = !c.DPoPBoundAccessTokens
	c.Disabled = !c.Disabled
	c.AccessTokenLifetime++
	c.RefreshTokenLifetime++
}

func cloneToken(t *testing.T, tok *storage.Token) *storage.Token {
	c := *tok
	c.Scopes, c.Audience = slices.Clone(tok.Scopes), slices.Clone(tok.Audience)
	c.Claims = cloneClaims(t, tok.Claims)
	c.Extensions = maps.Clone(tok.Extensions)
	return &c
}

func scribbleToken(tok *storage.Token) {
	for _, s := range []*string{&tok.Key, &tok.GrantID, &tok.ClientID, &tok.Subject, &tok.KeyThumbprint} {
		*s = scribbled
	}
	tok.Kind = 3 - tok.Kind // the other kind
	scribbleStrings(tok.Scopes)
	scribbleStrings(tok.Audience)
	scribbleClaims(tok.Claims)
	scribbleStringMap(tok.Extensions)
	for _, at := range []*time.Time{&tok.IssuedAt, &tok.ExpiresAt, &tok.GrantExpiresAt, &tok.ConsumedAt, &tok.RevokedAt} {
		shift(at)
	}
	tok.AccessTokenLifetime++
	tok.RefreshTokenLifetime++
}

func cloneRequest(r storage.AuthorizationRequest) storage.AuthorizationRequest {
	r.Scopes, r.Resources, r.Prompt = slices.Clone(r.Scopes), slices.Clone(r.Resources), slices.Clone(r.Prompt)
	r.Parameters = maps.Clone(r.Parameters)
	return r
}

func scribbleRequest(r *storage.AuthorizationRequest) {
	for _, s := range []*string{&r.ClientID, &r.RedirectURI, &r.ResponseType, &r.ResponseMode, &r.State, &r.CodeChallenge,
		&r.CodeChallengeMethod, &r.PushedKey, &r.DPoPKeyThumbprint} {
		*s = scribbled
	}
	r.RedirectURIGiven = !r.RedirectURIGiven
	scribbleStrings(r.Scopes)
	scribbleStrings(r.Resources)
	scribbleStrings(r.Prompt)
	scribbleStringMap(r.Parameters)
}

func cloneInteraction(_ *testing.T, i *storage.Interaction) *storage.Interaction {
	c := *i
	c.Request = cloneRequest(i.Request)
	return &c
}

func scribbleInteraction(i *storage.Interaction) {
	i.Key, i.BrowserBinding, i.DeviceAuthorizationKey = scribbled, scribbled, scribbled
	scribbleRequest(&i.Request)
	shift(&i.CreatedAt)
	shift(&i.ExpiresAt)
	shift(&i.CompletedAt)
}

func cloneAuthorizationCode(t *testing.T, c *storage.AuthorizationCode) *storage.AuthorizationCode {
	cc := *c
	cc.Request = cloneRequest(c.Request)
	cc.Scopes = slices.Clone(c.Scopes)
	cc.Claims = cloneClaims(t, c.Claims)
	cc.Extensions = maps.Clone(c.Extensions)
	return &cc
}

func scribbleAuthorizationCode(c *storage.AuthorizationCode) {
	c.Key, c.GrantID, c.Subject = scribbled, scribbled, scribbled
	scribbleRequest(&c.Request)
	scribbleStrings(c.Scopes)
	scribbleClaims(c.Claims)
	scribbleStringMap(c.Extensions)
	for _, at := range []*time.Time{&c.AuthTime, &c.IssuedAt, &c.ExpiresAt, &c.ConsumedAt} {
		shift(at)
	}
}

func clonePushedRequest(_ *testing.T, r *storage.PushedRequest) *storage.PushedRequest {
	c := *r
	c.Request = cloneRequest(r.Request)
	return &c
}

func scribblePushedRequest(r *storage.PushedRequest) {
	r.Key = scribbled
	scribbleRequest(&r.Request)
	shift(&r.CreatedAt)
	shift(&r.ExpiresAt)
	shift(&r.ConsumedAt)
}

func testClientCopies(t *testing.T, newStore NewClientStore) {
	t.Run("the returned client may be modified: the stored one stays", func(t *testing.T) {
		s := newStore(t, confidentialClient(), publicClient())
		for _, want := range []*storage.Client{confidentialClient(), publicClient()} {
			got, err := s.Client(t.Context(), want.ID)
			require.NoError(t, err)
			require.NotNil(t, got)
			scribbleClient(got)
			again, err := s.Client(t.Context(), want.ID)
			require.NoError(t, err)
			assert.Equal(t, want, again, "the client after the caller modified the one it got")
		}
	})

	t.Run("the clients given to the store may be modified afterwards", func(t *testing.T) {
		given := confidentialClient()
		want := cloneClient(given)
		s := newStore(t, given)
		scribbleClient(given)
		got, err := s.Client(t.Context(), want.ID)
		require.NoError(t, err)
		assert.Equal(t, want, got)
	})
}

// tokenWithClaims returns a token record whose claims nest a map and a
// list, so that a store sharing any of them is caught.
func tokenWithClaims(t *testing.T) *storage.Token {
	tok := refreshToken(t, newGrantID(t))
	tok.Claims = map[string]any{
		"tenant": "acme",
		"groups": []any{"a", "b"},
		"org":    map[string]any{"id": "o-1", "tags": []any{"x", map[string]any{"deep": "y"}}},
	}
	return tok
}

func testTokenCopies(t *testing.T, newStore func(*testing.T) storage.TokenStore) {
	t.Run("the record Token returns may be modified: the stored one stays", func(t *testing.T) {
		s := newStore(t)
		tok := tokenWithClaims(t)
		create(t, s, tok)
		scribbleToken(get(t, s, tok.Key))
		assertToken(t, tok, get(t, s, tok.Key))
	})

	t.Run("the records given to CreateTokens may be modified afterwards", func(t *testing.T) {
		s := newStore(t)
		a, b := tokenWithClaims(t), accessToken(t, newGrantID(t))
		wantA, wantB := cloneToken(t, a), cloneToken(t, b)
		create(t, s, a, b)
		scribbleToken(a)
		scribbleToken(b)
		assertToken(t, wantA, get(t, s, wantA.Key))
		assertToken(t, wantB, get(t, s, wantB.Key))
	})
}

func testConsumeTokenCopies(t *testing.T, newStore func(*testing.T) storage.RefreshTokenStore) {
	t.Run("the records ConsumeToken returns may be modified: the stored one stays", func(t *testing.T) {
		s := newStore(t)
		tok := tokenWithClaims(t)
		create(t, s, tok)
		at := now()
		won, err := s.ConsumeToken(t.Context(), tok.Key, at)
		require.NoError(t, err)
		require.NotNil(t, won)
		scribbleToken(won)
		tok.ConsumedAt = at
		assertToken(t, tok, get(t, s, tok.Key))

		lost, err := s.ConsumeToken(t.Context(), tok.Key, at.Add(time.Second))
		require.ErrorIs(t, err, storage.ErrConsumed)
		require.NotNil(t, lost)
		scribbleToken(lost)
		assertToken(t, tok, get(t, s, tok.Key))
	})
}

// testCopiesOnce checks that the records k's methods return are copies,
// and that k's create method keeps one.
func testCopiesOnce[S, R any](t *testing.T, newStore func(*testing.T) S, k useOnce[S, R]) {
	t.Run("the record "+k.get+" returns may be modified: the stored one stays", func(t *testing.T) {
		s := newStore(t)
		want := k.full(t)
		k.mustCreate(t, s, want)
		k.scribble(k.mustGet(t, s, k.key(want)))
		k.assertEqual(t, want, k.mustGet(t, s, k.key(want)))
	})

	t.Run("the records "+k.use+" returns may be modified: the stored one stays", func(t *testing.T) {
		s := newStore(t)
		want := k.full(t)
		k.mustCreate(t, s, want)
		at := now()
		won, err := k.doUse(t.Context(), s, k.key(want), at)
		require.NoError(t, err)
		require.NotNil(t, won)
		k.scribble(won)
		k.setUsed(want, at)
		k.assertEqual(t, want, k.mustGet(t, s, k.key(want)))

		lost, err := k.doUse(t.Context(), s, k.key(want), at.Add(time.Second))
		require.True(t, errors.Is(err, storage.ErrConsumed), "a second %s: %v", k.use, err)
		require.NotNil(t, lost)
		k.scribble(lost)
		k.assertEqual(t, want, k.mustGet(t, s, k.key(want)))
	})

	t.Run("the record given to "+k.create+" may be modified afterwards", func(t *testing.T) {
		s := newStore(t)
		given := k.full(t)
		want := k.clone(t, given)
		k.mustCreate(t, s, given)
		k.scribble(given)
		k.assertEqual(t, want, k.mustGet(t, s, k.key(want)))
	})
}
