package storagetest

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/storage"
)

// authorizationRequest returns a validated authorization request with every
// field set.
func authorizationRequest(t *testing.T) storage.AuthorizationRequest {
	t.Helper()
	return storage.AuthorizationRequest{
		ClientID:            "client-a",
		RedirectURI:         "https://a.example/cb2?x=1",
		RedirectURIGiven:    true,
		ResponseType:        "code",
		ResponseMode:        "form_post",
		State:               "st-" + randomID(t, 20),
		Scopes:              []string{"openid", "profile", "offline_access"},
		Resources:           []string{"https://api.example", "https://files.example/"},
		CodeChallenge:       randomID(t, 43),
		CodeChallengeMethod: "S256",
		Prompt:              []string{"login", "consent"},
		PushedKey:           newKey(t),
		DPoPKeyThumbprint:   newThumbprint(t),
		Parameters:          oddStrings(),
	}
}

// minimalAuthorizationRequest returns a request with only what every
// request has: no state, no redirect_uri given, no prompt, no resources, no
// PKCE (an exempted confidential client), not pushed.
func minimalAuthorizationRequest() storage.AuthorizationRequest {
	return storage.AuthorizationRequest{
		ClientID:     "client-a",
		RedirectURI:  "https://a.example/cb",
		ResponseMode: "query",
		Scopes:       []string{"openid"},
	}
}

// interaction returns an interaction with every field set, created now and
// valid for an hour. (An interaction that verifies a device authorization
// holds only its client and scopes in Request; the store does not care.)
func interaction(t *testing.T) *storage.Interaction {
	t.Helper()
	n := now()
	return &storage.Interaction{
		Key:                    newKey(t),
		Request:                authorizationRequest(t),
		BrowserBinding:         newKey(t),
		CreatedAt:              n,
		ExpiresAt:              n.Add(time.Hour),
		DeviceAuthorizationKey: newKey(t),
	}
}

func minimalInteraction(t *testing.T) *storage.Interaction {
	t.Helper()
	n := now()
	return &storage.Interaction{
		Key:       newKey(t),
		Request:   minimalAuthorizationRequest(),
		CreatedAt: n,
		ExpiresAt: n.Add(time.Hour),
	}
}

// authorizationCode returns a code record with every field set, issued now
// and valid for an hour.
func authorizationCode(t *testing.T) *storage.AuthorizationCode {
	t.Helper()
	n := now()
	return &storage.AuthorizationCode{
		Key:      newKey(t),
		GrantID:  newGrantID(t),
		Request:  authorizationRequest(t),
		Subject:  "user-1",
		Scopes:   []string{"openid", "profile"},
		AuthTime: n.Add(-time.Minute),
		Claims: map[string]any{
			"tenant": "acme",
			"level":  float64(3),
			"admin":  true,
			"none":   nil,
			"groups": []any{"a", "b"},
			"org":    map[string]any{"id": "o-1", "tier": float64(2), "tags": []any{"x"}},
		},
		Extensions: oddStrings(),
		IssuedAt:   n,
		ExpiresAt:  n.Add(time.Hour),
	}
}

func minimalAuthorizationCode(t *testing.T) *storage.AuthorizationCode {
	t.Helper()
	n := now()
	return &storage.AuthorizationCode{
		Key:       newKey(t),
		GrantID:   newGrantID(t),
		Request:   minimalAuthorizationRequest(),
		Subject:   "user-1",
		IssuedAt:  n,
		ExpiresAt: n.Add(time.Hour),
	}
}

// pushedRequest returns a pushed request with every field set, created now
// and valid for an hour.
func pushedRequest(t *testing.T) *storage.PushedRequest {
	t.Helper()
	n := now()
	return &storage.PushedRequest{
		Key:       newKey(t),
		Request:   authorizationRequest(t),
		CreatedAt: n,
		ExpiresAt: n.Add(time.Hour),
	}
}

func minimalPushedRequest(t *testing.T) *storage.PushedRequest {
	t.Helper()
	n := now()
	return &storage.PushedRequest{
		Key:       newKey(t),
		Request:   minimalAuthorizationRequest(),
		CreatedAt: n,
		ExpiresAt: n.Add(time.Hour),
	}
}

// assertClaims checks two claim sets as JSON, nil and empty being equal.
func assertClaims(t *testing.T, want, got map[string]any) {
	t.Helper()
	if len(want) == 0 {
		assert.Empty(t, got, "Claims")
		return
	}
	wantJSON, err := json.Marshal(want)
	require.NoError(t, err)
	gotJSON, err := json.Marshal(got)
	if assert.NoError(t, err, "Claims as JSON") {
		assert.JSONEq(t, string(wantJSON), string(gotJSON), "Claims")
	}
}

// assertAuthorizationRequest checks that got holds every field of want.
func assertAuthorizationRequest(t *testing.T, want, got storage.AuthorizationRequest) {
	t.Helper()
	assert.Equal(t, want.ClientID, got.ClientID, "Request.ClientID")
	assert.Equal(t, want.RedirectURI, got.RedirectURI, "Request.RedirectURI")
	assert.Equal(t, want.RedirectURIGiven, got.RedirectURIGiven, "Request.RedirectURIGiven")
	assert.Equal(t, want.ResponseType, got.ResponseType, "Request.ResponseType")
	assert.Equal(t, want.ResponseMode, got.ResponseMode, "Request.ResponseMode")
	assert.Equal(t, want.State, got.State, "Request.State")
	assertStrings(t, "Request.Scopes", want.Scopes, got.Scopes)
	assertStrings(t, "Request.Resources", want.Resources, got.Resources)
	assert.Equal(t, want.CodeChallenge, got.CodeChallenge, "Request.CodeChallenge")
	assert.Equal(t, want.CodeChallengeMethod, got.CodeChallengeMethod, "Request.CodeChallengeMethod")
	assertStrings(t, "Request.Prompt", want.Prompt, got.Prompt)
	assert.Equal(t, want.PushedKey, got.PushedKey, "Request.PushedKey")
	assert.Equal(t, want.DPoPKeyThumbprint, got.DPoPKeyThumbprint, "Request.DPoPKeyThumbprint")
	assertStringMap(t, "Request.Parameters", want.Parameters, got.Parameters)
}

func assertInteraction(t *testing.T, want, got *storage.Interaction) {
	t.Helper()
	if !assert.NotNil(t, got, "record") {
		return
	}
	assert.Equal(t, want.Key, got.Key, "Key")
	assertAuthorizationRequest(t, want.Request, got.Request)
	assert.Equal(t, want.BrowserBinding, got.BrowserBinding, "BrowserBinding")
	assertTime(t, "CreatedAt", want.CreatedAt, got.CreatedAt)
	assertTime(t, "ExpiresAt", want.ExpiresAt, got.ExpiresAt)
	assertTime(t, "CompletedAt", want.CompletedAt, got.CompletedAt)
	assert.Equal(t, want.DeviceAuthorizationKey, got.DeviceAuthorizationKey, "DeviceAuthorizationKey")
}

func assertAuthorizationCode(t *testing.T, want, got *storage.AuthorizationCode) {
	t.Helper()
	if !assert.NotNil(t, got, "record") {
		return
	}
	assert.Equal(t, want.Key, got.Key, "Key")
	assert.Equal(t, want.GrantID, got.GrantID, "GrantID")
	assertAuthorizationRequest(t, want.Request, got.Request)
	assert.Equal(t, want.Subject, got.Subject, "Subject")
	assertStrings(t, "Scopes", want.Scopes, got.Scopes)
	assertTime(t, "AuthTime", want.AuthTime, got.AuthTime)
	assertClaims(t, want.Claims, got.Claims)
	assertStringMap(t, "Extensions", want.Extensions, got.Extensions)
	assertTime(t, "IssuedAt", want.IssuedAt, got.IssuedAt)
	assertTime(t, "ExpiresAt", want.ExpiresAt, got.ExpiresAt)
	assertTime(t, "ConsumedAt", want.ConsumedAt, got.ConsumedAt)
}

func assertPushedRequest(t *testing.T, want, got *storage.PushedRequest) {
	t.Helper()
	if !assert.NotNil(t, got, "record") {
		return
	}
	assert.Equal(t, want.Key, got.Key, "Key")
	assertAuthorizationRequest(t, want.Request, got.Request)
	assertTime(t, "CreatedAt", want.CreatedAt, got.CreatedAt)
	assertTime(t, "ExpiresAt", want.ExpiresAt, got.ExpiresAt)
	assertTime(t, "ConsumedAt", want.ConsumedAt, got.ConsumedAt)
}

// interactions describes the InteractionStore for the use-once rules.
var interactions = useOnce[storage.InteractionStore, storage.Interaction]{
	create: "CreateInteraction", get: "Interaction", use: "CompleteInteraction",
	usedField: "CompletedAt", used: "completed", noun: "interaction",
	full:        interaction,
	minimal:     minimalInteraction,
	key:         func(r *storage.Interaction) string { return r.Key },
	setKey:      func(r *storage.Interaction, key string) { r.Key = key },
	request:     func(r *storage.Interaction) *storage.AuthorizationRequest { return &r.Request },
	size:        func(r *storage.Interaction) (int, error) { return r.Size(), nil },
	usedAt:      func(r *storage.Interaction) time.Time { return r.CompletedAt },
	setUsed:     func(r *storage.Interaction, at time.Time) { r.CompletedAt = at },
	assertEqual: assertInteraction,
	clone:       cloneInteraction,
	scribble:    scribbleInteraction,
	doCreate: func(ctx context.Context, s storage.InteractionStore, r *storage.Interaction) error {
		return s.CreateInteraction(ctx, r)
	},
	doGet: func(ctx context.Context, s storage.InteractionStore, key string) (*storage.Interaction, error) {
		return s.Interaction(ctx, key)
	},
	doUse: func(ctx context.Context, s storage.InteractionStore, key string, at time.Time) (*storage.Interaction, error) {
		return s.CompleteInteraction(ctx, key, at)
	},
}

// authorizationCodes describes the AuthorizationCodeStore for the use-once
// rules.
var authorizationCodes = useOnce[storage.AuthorizationCodeStore, storage.AuthorizationCode]{
	create: "CreateAuthorizationCode", get: "AuthorizationCode", use: "ConsumeAuthorizationCode",
	usedField: "ConsumedAt", used: "consumed", noun: "code",
	full:        authorizationCode,
	minimal:     minimalAuthorizationCode,
	key:         func(r *storage.AuthorizationCode) string { return r.Key },
	setKey:      func(r *storage.AuthorizationCode, key string) { r.Key = key },
	request:     func(r *storage.AuthorizationCode) *storage.AuthorizationRequest { return &r.Request },
	size:        func(r *storage.AuthorizationCode) (int, error) { return r.Size() },
	usedAt:      func(r *storage.AuthorizationCode) time.Time { return r.ConsumedAt },
	setUsed:     func(r *storage.AuthorizationCode, at time.Time) { r.ConsumedAt = at },
	assertEqual: assertAuthorizationCode,
	clone:       cloneAuthorizationCode,
	scribble:    scribbleAuthorizationCode,
	doCreate: func(ctx context.Context, s storage.AuthorizationCodeStore, r *storage.AuthorizationCode) error {
		return s.CreateAuthorizationCode(ctx, r)
	},
	doGet: func(ctx context.Context, s storage.AuthorizationCodeStore, key string) (*storage.AuthorizationCode, error) {
		return s.AuthorizationCode(ctx, key)
	},
	doUse: func(ctx context.Context, s storage.AuthorizationCodeStore, key string, at time.Time) (*storage.AuthorizationCode, error) {
		return s.ConsumeAuthorizationCode(ctx, key, at)
	},
}

// pushedRequests describes the PushedRequestStore for the use-once rules.
var pushedRequests = useOnce[storage.PushedRequestStore, storage.PushedRequest]{
	create: "CreatePushedRequest", get: "PushedRequest", use: "ConsumePushedRequest",
	usedField: "ConsumedAt", used: "consumed", noun: "pushed request",
	full:        pushedRequest,
	minimal:     minimalPushedRequest,
	key:         func(r *storage.PushedRequest) string { return r.Key },
	setKey:      func(r *storage.PushedRequest, key string) { r.Key = key },
	request:     func(r *storage.PushedRequest) *storage.AuthorizationRequest { return &r.Request },
	size:        func(r *storage.PushedRequest) (int, error) { return r.Size(), nil },
	usedAt:      func(r *storage.PushedRequest) time.Time { return r.ConsumedAt },
	setUsed:     func(r *storage.PushedRequest, at time.Time) { r.ConsumedAt = at },
	assertEqual: assertPushedRequest,
	clone:       clonePushedRequest,
	scribble:    scribblePushedRequest,
	doCreate: func(ctx context.Context, s storage.PushedRequestStore, r *storage.PushedRequest) error {
		return s.CreatePushedRequest(ctx, r)
	},
	doGet: func(ctx context.Context, s storage.PushedRequestStore, key string) (*storage.PushedRequest, error) {
		return s.PushedRequest(ctx, key)
	},
	doUse: func(ctx context.Context, s storage.PushedRequestStore, key string, at time.Time) (*storage.PushedRequest, error) {
		return s.ConsumePushedRequest(ctx, key, at)
	},
}

// testAuthorizationCodeClaims checks the claim shapes an application may
// attach to an approval.
func testAuthorizationCodeClaims(t *testing.T, newStore func(*testing.T) storage.AuthorizationCodeStore) {
	for name, claims := range map[string]map[string]any{
		"nil Claims":   nil,
		"empty Claims": {},
		"nested Claims": {
			"a": map[string]any{"b": map[string]any{"c": []any{float64(1), "two", true, nil}}},
			"s": "ünïcödé \u2028 \"quoted\"",
		},
	} {
		t.Run(name+" round trip", func(t *testing.T) {
			s := newStore(t)
			c := authorizationCode(t)
			c.Claims = claims
			authorizationCodes.mustCreate(t, s, c)
			assertAuthorizationCode(t, c, authorizationCodes.mustGet(t, s, c.Key))
			got, err := s.ConsumeAuthorizationCode(t.Context(), c.Key, now())
			require.NoError(t, err)
			assertClaims(t, claims, got.Claims)
		})
	}
}

// testIndependentKeys checks that each kind of record has its own keys: a
// token, a replay entry, an interaction, a code, a pushed request and a
// device authorization may share one, and using one of them uses none of
// the others.
func testIndependentKeys(t *testing.T, newStore NewStore) {
	s := newStore(t)
	key := newKey(t)
	tok := refreshToken(t, newGrantID(t))
	tok.Key = key
	i, c, p, d := interaction(t), authorizationCode(t), pushedRequest(t), approvedDeviceAuthorization(t)
	i.Key, c.Key, p.Key, d.Key = key, key, key, key
	create(t, s, tok)
	require.NoError(t, s.Remember(t.Context(), key, now().Add(time.Hour)), "Remember")
	require.NoError(t, s.CreateInteraction(t.Context(), i), "CreateInteraction")
	require.NoError(t, s.CreateAuthorizationCode(t.Context(), c), "CreateAuthorizationCode")
	require.NoError(t, s.CreatePushedRequest(t.Context(), p), "CreatePushedRequest")
	require.NoError(t, s.CreateDeviceAuthorization(t.Context(), d), "CreateDeviceAuthorization")

	_, err := s.ConsumeAuthorizationCode(t.Context(), key, now())
	require.NoError(t, err, "ConsumeAuthorizationCode")
	assertToken(t, tok, get(t, s, key))
	assertInteraction(t, i, interactions.mustGet(t, s, key))
	assertPushedRequest(t, p, pushedRequests.mustGet(t, s, key))
	assertDevice(t, d, byUserCode(t, s, d.UserCodeKey))
	_, err = s.ConsumeDeviceAuthorization(t.Context(), key, now())
	assert.NoError(t, err, "ConsumeDeviceAuthorization")

	_, err = s.CompleteInteraction(t.Context(), key, now())
	assert.NoError(t, err, "CompleteInteraction")
	_, err = s.ConsumePushedRequest(t.Context(), key, now())
	assert.NoError(t, err, "ConsumePushedRequest")
	_, err = s.ConsumeToken(t.Context(), key, now())
	assert.NoError(t, err, "ConsumeToken")
}
