package postgres_test

import (
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/storage"
	"github.com/grantor-dev/grantor/storage/postgres"
)

// TestRefusedStrings checks that a string PostgreSQL cannot store (a NUL
// byte or invalid UTF-8 in text, U+0000 in jsonb) is refused before the
// write with an error that names the field, quotes no value and is not the
// server's, and that nothing is written.
func TestRefusedStrings(t *testing.T) {
	ts := newTestServer(t)
	pool, _ := ts.migratedPool(t)
	s := postgres.New(pool)
	ctx := t.Context()
	now := time.Now().UTC()
	const secret = "s3cr3t-value"

	newToken := func() *storage.Token { return token(storage.AccessToken, rand.Text(), now, now.Add(time.Hour)) }
	// pollDevice reads a device authorization by its key, as its client.
	pollDevice := func(key string) error {
		_, err := s.PollDeviceAuthorization(ctx, key, "client-a", now, 0)
		return err
	}
	newInteraction := func() *storage.Interaction {
		return &storage.Interaction{Key: rand.Text(), Request: storage.AuthorizationRequest{ClientID: "app"},
			CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	}
	for _, tc := range []struct {
		name  string
		field string
		write func(bad string) (key string, err error)
		read  func(key string) error
	}{
		{"a token's subject", "Subject", func(bad string) (string, error) {
			tok := newToken()
			tok.Subject = bad
			return tok.Key, s.CreateTokens(ctx, tok)
		}, func(key string) error { _, err := s.Token(ctx, key); return err }},
		{"a token's scope", "Scopes", func(bad string) (string, error) {
			tok := newToken()
			tok.Scopes = []string{"openid", bad}
			return tok.Key, s.CreateTokens(ctx, tok)
		}, func(key string) error { _, err := s.Token(ctx, key); return err }},
		{"a token's claim", "claims hold the character U+0000", func(bad string) (string, error) {
			tok := newToken()
			tok.Claims = map[string]any{"c": bad}
			return tok.Key, s.CreateTokens(ctx, tok)
		}, func(key string) error { _, err := s.Token(ctx, key); return err }},
		{"an interaction's state", "Request.State", func(bad string) (string, error) {
			i := newInteraction()
			i.Request.State = bad
			return i.Key, s.CreateInteraction(ctx, i)
		}, func(key string) error { _, err := s.Interaction(ctx, key); return err }},
		{"an interaction's browser binding", "BrowserBinding", func(bad string) (string, error) {
			i := newInteraction()
			i.BrowserBinding = bad
			return i.Key, s.CreateInteraction(ctx, i)
		}, func(key string) error { _, err := s.Interaction(ctx, key); return err }},
		{"a code's subject", "Subject", func(bad string) (string, error) {
			c := &storage.AuthorizationCode{Key: rand.Text(), Subject: bad, IssuedAt: now, ExpiresAt: now.Add(time.Minute)}
			return c.Key, s.CreateAuthorizationCode(ctx, c)
		}, func(key string) error { _, err := s.AuthorizationCode(ctx, key); return err }},
		{"a pushed request's prompt", "Request.Prompt", func(bad string) (string, error) {
			r := &storage.PushedRequest{Key: rand.Text(), Request: storage.AuthorizationRequest{Prompt: []string{bad}},
				CreatedAt: now, ExpiresAt: now.Add(time.Minute)}
			return r.Key, s.CreatePushedRequest(ctx, r)
		}, func(key string) error { _, err := s.PushedRequest(ctx, key); return err }},
		{"an interaction's device authorization key", "DeviceAuthorizationKey", func(bad string) (string, error) {
			i := newInteraction()
			i.DeviceAuthorizationKey = bad
			return i.Key, s.CreateInteraction(ctx, i)
		}, func(key string) error { _, err := s.Interaction(ctx, key); return err }},
		{"a device authorization's user code key", "UserCodeKey", func(bad string) (string, error) {
			d := deviceAuthorization(now)
			d.UserCodeKey = bad
			return d.Key, s.CreateDeviceAuthorization(ctx, d)
		}, pollDevice},
		{"a device authorization's scope", "Scopes", func(bad string) (string, error) {
			d := deviceAuthorization(now)
			d.Scopes = []string{"openid", bad}
			return d.Key, s.CreateDeviceAuthorization(ctx, d)
		}, pollDevice},
		{"a device authorization's claim", "claims hold the character U+0000", func(bad string) (string, error) {
			d := deviceAuthorization(now)
			d.Claims = map[string]any{"c": bad}
			return d.Key, s.CreateDeviceAuthorization(ctx, d)
		}, pollDevice},
		{"a replay key", "the key", func(bad string) (string, error) {
			return bad, s.Remember(ctx, bad, now.Add(time.Hour))
		}, nil},
		{"a client's redirect URI", "RedirectURIs", func(bad string) (string, error) {
			return "bad-client", s.PutClient(ctx, &storage.Client{ID: "bad-client", RedirectURIs: []string{bad}})
		}, func(key string) error { _, err := s.Client(ctx, key); return err }},
		{"a token's extension", "Extensions", func(bad string) (string, error) {
			tok := newToken()
			tok.Extensions = map[string]string{"sid": bad}
			return tok.Key, s.CreateTokens(ctx, tok)
		}, func(key string) error { _, err := s.Token(ctx, key); return err }},
		{"the name of a code's extension", "Extensions", func(bad string) (string, error) {
			c := &storage.AuthorizationCode{Key: rand.Text(), Subject: "user-1", Extensions: map[string]string{bad: "v"},
				IssuedAt: now, ExpiresAt: now.Add(time.Minute)}
			return c.Key, s.CreateAuthorizationCode(ctx, c)
		}, func(key string) error { _, err := s.AuthorizationCode(ctx, key); return err }},
		{"an interaction's request parameter", "Request.Parameters", func(bad string) (string, error) {
			i := newInteraction()
			i.Request.Parameters = map[string]string{"nonce": bad}
			return i.Key, s.CreateInteraction(ctx, i)
		}, func(key string) error { _, err := s.Interaction(ctx, key); return err }},
		{"a pushed request's response type", "Request.ResponseType", func(bad string) (string, error) {
			r := &storage.PushedRequest{Key: rand.Text(), Request: storage.AuthorizationRequest{ResponseType: bad},
				CreatedAt: now, ExpiresAt: now.Add(time.Minute)}
			return r.Key, s.CreatePushedRequest(ctx, r)
		}, func(key string) error { _, err := s.PushedRequest(ctx, key); return err }},
		{"a client's post-logout redirect URI", "PostLogoutRedirectURIs", func(bad string) (string, error) {
			return "bad-logout", s.PutClient(ctx, &storage.Client{ID: "bad-logout", PostLogoutRedirectURIs: []string{bad}})
		}, func(key string) error { _, err := s.Client(ctx, key); return err }},
		{"a client's back-channel logout URI", "BackchannelLogoutURI", func(bad string) (string, error) {
			return "bad-backchannel", s.PutClient(ctx, &storage.Client{ID: "bad-backchannel", BackchannelLogoutURI: bad})
		}, func(key string) error { _, err := s.Client(ctx, key); return err }},
	} {
		for what, bad := range map[string]string{"a NUL byte": secret + "\x00", "invalid UTF-8": secret + "\xff"} {
			if tc.field == "claims hold the character U+0000" && what != "a NUL byte" {
				continue // encoding/json writes invalid UTF-8 as U+FFFD
			}
			t.Run(tc.name+" with "+what, func(t *testing.T) {
				key, err := tc.write(bad)
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.field)
				assert.True(t, strings.HasPrefix(err.Error(), "postgres: "), "%v", err)
				assert.NotContains(t, err.Error(), "SQLSTATE", "the server's error")
				assert.NotContains(t, err.Error(), secret, "the value")
				for _, sentinel := range []error{storage.ErrNotFound, storage.ErrConsumed, storage.ErrDuplicate, storage.ErrTooLarge} {
					assert.False(t, errors.Is(err, sentinel), "wraps %v", sentinel)
				}
				if tc.read != nil {
					assert.ErrorIs(t, tc.read(key), storage.ErrNotFound, "nothing was written")
				}
			})
		}
	}

	for what, bad := range map[string]string{"a NUL byte": secret + "\x00", "invalid UTF-8": secret + "\xff"} {
		t.Run("a device decision's subject with "+what, func(t *testing.T) {
			d := deviceAuthorization(now)
			require.NoError(t, s.CreateDeviceAuthorization(ctx, d))
			_, err := s.DecideDeviceAuthorization(ctx, d.Key,
				storage.DeviceDecision{Status: storage.DeviceApproved, Subject: bad, AuthTime: now}, now)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "Subject")
			assert.True(t, strings.HasPrefix(err.Error(), "postgres: "), "%v", err)
			assert.NotContains(t, err.Error(), "SQLSTATE", "the server's error")
			assert.NotContains(t, err.Error(), secret, "the value")
			for _, sentinel := range []error{storage.ErrNotFound, storage.ErrConsumed, storage.ErrDuplicate, storage.ErrTooLarge} {
				assert.False(t, errors.Is(err, sentinel), "wraps %v", sentinel)
			}
			got, err := s.DeviceAuthorizationByUserCode(ctx, d.UserCodeKey)
			require.NoError(t, err)
			assert.Equal(t, storage.DevicePending, got.Status, "nothing was written")
		})
	}

	t.Run("an escaped backslash before u0000 is not U+0000", func(t *testing.T) {
		tok := newToken()
		tok.Claims = map[string]any{`\u0000`: `a\u0000`, "b": `\\u0000`}
		require.NoError(t, s.CreateTokens(ctx, tok))
		got, err := s.Token(ctx, tok.Key)
		require.NoError(t, err)
		assert.Equal(t, tok.Claims, got.Claims)
	})
}
