package memory_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/storage"
	"github.com/grantor-dev/grantor/storage/memory"
)

func authorizationRequest() storage.AuthorizationRequest {
	return storage.AuthorizationRequest{
		ClientID:            "client-a",
		RedirectURI:         "https://a.example/cb",
		RedirectURIGiven:    true,
		ResponseMode:        "query",
		State:               "state-1",
		Scopes:              []string{"openid", "profile"},
		Resources:           []string{"https://api.example"},
		CodeChallenge:       "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
		CodeChallengeMethod: "S256",
		Prompt:              []string{"consent"},
		PushedKey:           "par-1",
	}
}

func interaction(key string, created time.Time, ttl time.Duration) *storage.Interaction {
	return &storage.Interaction{
		Key:            key,
		Request:        authorizationRequest(),
		BrowserBinding: "binding-1",
		CreatedAt:      created,
		ExpiresAt:      created.Add(ttl),
	}
}

func code(key string, issued time.Time, ttl time.Duration) *storage.AuthorizationCode {
	return &storage.AuthorizationCode{
		Key:      key,
		GrantID:  "grant-1",
		Request:  authorizationRequest(),
		Subject:  "user-1",
		Scopes:   []string{"openid"},
		AuthTime: issued.Add(-time.Minute),
		Claims: map[string]any{
			"tenant": "acme",
			"groups": []any{"a", "b"},
			"roles":  []string{"x"},
			"org":    map[string]any{"id": "o-1"},
		},
		IssuedAt:  issued,
		ExpiresAt: issued.Add(ttl),
	}
}

func pushed(key string, created time.Time, ttl time.Duration) *storage.PushedRequest {
	return &storage.PushedRequest{
		Key:       key,
		Request:   authorizationRequest(),
		CreatedAt: created,
		ExpiresAt: created.Add(ttl),
	}
}

// spoil changes, in place, everything of r that a copy must not share.
func spoil(r *storage.AuthorizationRequest) {
	r.Scopes[0] = "admin"
	r.Resources[0] = "https://evil.example"
	r.Prompt[0] = "none"
	r.ClientID = "client-evil"
}

func TestAuthorizationRecordCopies(t *testing.T) {
	ctx := t.Context()
	t0 := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

	t.Run("interaction: neither the argument nor a result aliases the stored record", func(t *testing.T) {
		s := memory.New()
		in := interaction("i", t0, time.Hour)
		want := interaction("i", t0, time.Hour)
		require.NoError(t, s.CreateInteraction(ctx, in))
		spoil(&in.Request)
		in.BrowserBinding = "evil"

		got, err := s.Interaction(ctx, "i")
		require.NoError(t, err)
		assert.Equal(t, want, got)
		spoil(&got.Request)

		done, err := s.CompleteInteraction(ctx, "i", t0)
		require.NoError(t, err)
		want.CompletedAt = t0
		assert.Equal(t, want, done)
		spoil(&done.Request)

		again, err := s.CompleteInteraction(ctx, "i", t0.Add(time.Second))
		require.ErrorIs(t, err, storage.ErrConsumed)
		assert.Equal(t, want, again)
		spoil(&again.Request)

		last, err := s.Interaction(ctx, "i")
		require.NoError(t, err)
		assert.Equal(t, want, last)
	})

	t.Run("code: neither the argument nor a result aliases the stored record, claims included", func(t *testing.T) {
		s := memory.New()
		in := code("c", t0, time.Minute)
		want := code("c", t0, time.Minute)
		require.NoError(t, s.CreateAuthorizationCode(ctx, in))
		spoil(&in.Request)
		in.Scopes[0] = "admin"
		in.Claims["tenant"] = "evil"
		in.Claims["groups"].([]any)[0] = "evil"
		in.Claims["roles"].([]string)[0] = "evil"
		in.Claims["org"].(map[string]any)["id"] = "evil"

		got, err := s.AuthorizationCode(ctx, "c")
		require.NoError(t, err)
		assert.Equal(t, want, got)
		spoil(&got.Request)
		got.Scopes[0] = "admin"
		got.Claims["groups"].([]any)[1] = "evil"
		got.Claims["org"].(map[string]any)["id"] = "evil"
		delete(got.Claims, "tenant")

		done, err := s.ConsumeAuthorizationCode(ctx, "c", t0)
		require.NoError(t, err)
		want.ConsumedAt = t0
		assert.Equal(t, want, done)
		done.Claims["roles"].([]string)[0] = "evil"
		done.Scopes[0] = "admin"

		again, err := s.ConsumeAuthorizationCode(ctx, "c", t0.Add(time.Second))
		require.ErrorIs(t, err, storage.ErrConsumed)
		assert.Equal(t, want, again)
		again.Claims["org"].(map[string]any)["id"] = "evil"
		spoil(&again.Request)

		last, err := s.AuthorizationCode(ctx, "c")
		require.NoError(t, err)
		assert.Equal(t, want, last)
	})

	t.Run("pushed request: neither the argument nor a result aliases the stored record", func(t *testing.T) {
		s := memory.New()
		in := pushed("p", t0, time.Minute)
		want := pushed("p", t0, time.Minute)
		require.NoError(t, s.CreatePushedRequest(ctx, in))
		spoil(&in.Request)

		got, err := s.PushedRequest(ctx, "p")
		require.NoError(t, err)
		assert.Equal(t, want, got)
		spoil(&got.Request)

		done, err := s.ConsumePushedRequest(ctx, "p", t0)
		require.NoError(t, err)
		want.ConsumedAt = t0
		assert.Equal(t, want, done)
		spoil(&done.Request)

		again, err := s.ConsumePushedRequest(ctx, "p", t0.Add(time.Second))
		require.ErrorIs(t, err, storage.ErrConsumed)
		assert.Equal(t, want, again)
		spoil(&again.Request)

		last, err := s.PushedRequest(ctx, "p")
		require.NoError(t, err)
		assert.Equal(t, want, last)
	})

	t.Run("code: appending to one list of a result writes over no other", func(t *testing.T) {
		s := memory.New()
		require.NoError(t, s.CreateAuthorizationCode(ctx, code("c", t0, time.Minute)))
		want := code("c", t0, time.Minute)
		got, err := s.AuthorizationCode(ctx, "c")
		require.NoError(t, err)
		got.Request.Scopes = append(got.Request.Scopes, "admin")
		got.Request.Resources = append(got.Request.Resources, "https://evil.example")
		got.Request.Prompt = append(got.Request.Prompt, "none")
		assert.Equal(t, want.Request.Resources, got.Request.Resources[:1])
		assert.Equal(t, want.Request.Prompt, got.Request.Prompt[:1])
		assert.Equal(t, want.Scopes, got.Scopes)
		last, err := s.AuthorizationCode(ctx, "c")
		require.NoError(t, err)
		assert.Equal(t, want, last)
	})

	t.Run("nil and empty lists and claims keep their shape", func(t *testing.T) {
		s := memory.New()
		c := &storage.AuthorizationCode{Key: "empty", Scopes: []string{}, Claims: map[string]any{},
			Request:   storage.AuthorizationRequest{Scopes: []string{}, Resources: nil, Prompt: []string{}},
			ExpiresAt: t0.Add(time.Minute)}
		require.NoError(t, s.CreateAuthorizationCode(ctx, c))
		got, err := s.AuthorizationCode(ctx, "empty")
		require.NoError(t, err)
		assert.Equal(t, c, got)
	})

	t.Run("local times come back in UTC without monotonic readings", func(t *testing.T) {
		s := memory.New()
		loc := time.FixedZone("X", 3600)
		local := time.Date(2030, 1, 1, 1, 0, 0, 0, loc)
		wall := time.Now() // carries a monotonic reading
		i := &storage.Interaction{Key: "i", CreatedAt: wall, ExpiresAt: local}
		require.NoError(t, s.CreateInteraction(ctx, i))
		got, err := s.CompleteInteraction(ctx, "i", local)
		require.NoError(t, err)
		for name, tm := range map[string]time.Time{
			"CreatedAt": got.CreatedAt, "ExpiresAt": got.ExpiresAt, "CompletedAt": got.CompletedAt,
		} {
			assert.Equal(t, time.UTC, tm.Location(), name)
			assert.Equal(t, tm, tm.Round(0), "%s has no monotonic reading", name)
		}
		assert.True(t, got.ExpiresAt.Equal(local))
		assert.True(t, got.CreatedAt.Equal(wall))
	})
}

func TestAuthorizationRecordsInvalid(t *testing.T) {
	ctx := t.Context()
	s := memory.New()
	assert.Error(t, s.CreateInteraction(ctx, nil))
	assert.Error(t, s.CreateInteraction(ctx, &storage.Interaction{}))
	assert.Error(t, s.CreateAuthorizationCode(ctx, nil))
	assert.Error(t, s.CreateAuthorizationCode(ctx, &storage.AuthorizationCode{}))
	assert.Error(t, s.CreatePushedRequest(ctx, nil))
	assert.Error(t, s.CreatePushedRequest(ctx, &storage.PushedRequest{}))
	_, err := s.Interaction(ctx, "")
	assert.ErrorIs(t, err, storage.ErrNotFound, "an empty key stores nothing")
	_, err = s.AuthorizationCode(ctx, "")
	assert.ErrorIs(t, err, storage.ErrNotFound, "an empty key stores nothing")
	_, err = s.PushedRequest(ctx, "")
	assert.ErrorIs(t, err, storage.ErrNotFound, "an empty key stores nothing")
}

func TestAuthorizationRecordsZeroTime(t *testing.T) {
	ctx := t.Context()
	clock := newFakeClock()
	s := memory.New(memory.WithClock(clock.Now))
	t0 := clock.Now()
	require.NoError(t, s.CreateInteraction(ctx, interaction("i", t0, time.Hour)))
	require.NoError(t, s.CreateAuthorizationCode(ctx, code("c", t0, time.Hour)))
	require.NoError(t, s.CreatePushedRequest(ctx, pushed("p", t0, time.Hour)))
	clock.Advance(time.Second)

	i, err := s.CompleteInteraction(ctx, "i", time.Time{})
	require.NoError(t, err)
	assert.Equal(t, clock.Now(), i.CompletedAt, "a zero time completes at the store clock")
	c, err := s.ConsumeAuthorizationCode(ctx, "c", time.Time{})
	require.NoError(t, err)
	assert.Equal(t, clock.Now(), c.ConsumedAt, "a zero time consumes at the store clock")
	p, err := s.ConsumePushedRequest(ctx, "p", time.Time{})
	require.NoError(t, err)
	assert.Equal(t, clock.Now(), p.ConsumedAt, "a zero time consumes at the store clock")

	_, err = s.CompleteInteraction(ctx, "i", time.Time{})
	assert.ErrorIs(t, err, storage.ErrConsumed)
	_, err = s.ConsumeAuthorizationCode(ctx, "c", time.Time{})
	assert.ErrorIs(t, err, storage.ErrConsumed)
	_, err = s.ConsumePushedRequest(ctx, "p", time.Time{})
	assert.ErrorIs(t, err, storage.ErrConsumed)
}

func TestAuthorizationRecordSweep(t *testing.T) {
	ctx := t.Context()

	// exists reports which of the three records under key are still stored.
	exists := func(t *testing.T, s *memory.Store, key string) [3]bool {
		t.Helper()
		_, ei := s.Interaction(ctx, key)
		_, ec := s.AuthorizationCode(ctx, key)
		_, ep := s.PushedRequest(ctx, key)
		for _, err := range []error{ei, ec, ep} {
			if err != nil {
				require.ErrorIs(t, err, storage.ErrNotFound)
			}
		}
		return [3]bool{ei == nil, ec == nil, ep == nil}
	}
	createAll := func(t *testing.T, s *memory.Store, key string, at time.Time, ttl time.Duration) {
		t.Helper()
		require.NoError(t, s.CreateInteraction(ctx, interaction(key, at, ttl)))
		require.NoError(t, s.CreateAuthorizationCode(ctx, code(key, at, ttl)))
		require.NoError(t, s.CreatePushedRequest(ctx, pushed(key, at, ttl)))
	}
	all, none := [3]bool{true, true, true}, [3]bool{}

	t.Run("DeleteExpired deletes records once ExpiresAt has passed", func(t *testing.T) {
		clock := newFakeClock()
		s := memory.New(memory.WithClock(clock.Now), memory.WithSweepInterval(0))
		t0 := clock.Now()
		createAll(t, s, "short", t0, time.Minute)
		createAll(t, s, "long", t0, 10*time.Minute)
		n, err := s.DeleteExpired(ctx)
		require.NoError(t, err)
		assert.Zero(t, n)

		clock.Advance(time.Minute - time.Nanosecond)
		n, err = s.DeleteExpired(ctx)
		require.NoError(t, err)
		assert.Zero(t, n, "just before ExpiresAt")
		assert.Equal(t, all, exists(t, s, "short"))

		clock.Advance(time.Nanosecond) // "short" expires at exactly this instant
		n, err = s.DeleteExpired(ctx)
		require.NoError(t, err)
		assert.Equal(t, 3, n)
		assert.Equal(t, none, exists(t, s, "short"))
		assert.Equal(t, all, exists(t, s, "long"))

		// The key of a deleted record may be used again.
		createAll(t, s, "short", clock.Now(), time.Minute)
		assert.Equal(t, all, exists(t, s, "short"))
	})

	t.Run("used records are kept until they expire, so a replay is recognised", func(t *testing.T) {
		clock := newFakeClock()
		s := memory.New(memory.WithClock(clock.Now))
		t0 := clock.Now()
		createAll(t, s, "k", t0, time.Minute)
		_, err := s.CompleteInteraction(ctx, "k", t0)
		require.NoError(t, err)
		_, err = s.ConsumeAuthorizationCode(ctx, "k", t0)
		require.NoError(t, err)
		_, err = s.ConsumePushedRequest(ctx, "k", t0)
		require.NoError(t, err)

		clock.Advance(59 * time.Second)
		_, err = s.DeleteExpired(ctx)
		require.NoError(t, err)
		_, err = s.CompleteInteraction(ctx, "k", clock.Now())
		assert.ErrorIs(t, err, storage.ErrConsumed)
		c, err := s.ConsumeAuthorizationCode(ctx, "k", clock.Now())
		assert.ErrorIs(t, err, storage.ErrConsumed, "a replayed code is recognised")
		if assert.NotNil(t, c) {
			assert.Equal(t, "grant-1", c.GrantID, "the replay names the grant to revoke")
			assert.Equal(t, t0, c.ConsumedAt)
		}
		_, err = s.ConsumePushedRequest(ctx, "k", clock.Now())
		assert.ErrorIs(t, err, storage.ErrConsumed)

		clock.Advance(time.Second)
		n, err := s.DeleteExpired(ctx)
		require.NoError(t, err)
		assert.Equal(t, 3, n)
		_, err = s.CompleteInteraction(ctx, "k", clock.Now())
		assert.ErrorIs(t, err, storage.ErrNotFound)
		_, err = s.ConsumeAuthorizationCode(ctx, "k", clock.Now())
		assert.ErrorIs(t, err, storage.ErrNotFound)
		_, err = s.ConsumePushedRequest(ctx, "k", clock.Now())
		assert.ErrorIs(t, err, storage.ErrNotFound)
	})

	t.Run("expired records are returned and usable until a sweep", func(t *testing.T) {
		clock := newFakeClock()
		s := memory.New(memory.WithClock(clock.Now), memory.WithSweepInterval(0))
		createAll(t, s, "k", clock.Now(), time.Minute)
		clock.Advance(time.Hour)
		assert.Equal(t, all, exists(t, s, "k"), "checking ExpiresAt is the caller's job")
		_, err := s.ConsumeAuthorizationCode(ctx, "k", clock.Now())
		assert.NoError(t, err)
	})

	t.Run("a write of any of the three sweeps all three once the interval has passed", func(t *testing.T) {
		// Each write may run twice on the same key: the second time the
		// creations are ErrDuplicate and the uses ErrConsumed, and still
		// sweep.
		ignore := func(err, want error) error {
			if errors.Is(err, want) {
				return nil
			}
			return err
		}
		for name, write := range map[string]func(s *memory.Store, now time.Time) error{
			"CreateInteraction": func(s *memory.Store, now time.Time) error {
				return ignore(s.CreateInteraction(ctx, interaction("new", now, time.Hour)), storage.ErrDuplicate)
			},
			"CreateAuthorizationCode": func(s *memory.Store, now time.Time) error {
				return ignore(s.CreateAuthorizationCode(ctx, code("new", now, time.Hour)), storage.ErrDuplicate)
			},
			"CreatePushedRequest": func(s *memory.Store, now time.Time) error {
				return ignore(s.CreatePushedRequest(ctx, pushed("new", now, time.Hour)), storage.ErrDuplicate)
			},
			"CompleteInteraction": func(s *memory.Store, now time.Time) error {
				_, err := s.CompleteInteraction(ctx, "long", now)
				return ignore(err, storage.ErrConsumed)
			},
			"ConsumeAuthorizationCode": func(s *memory.Store, now time.Time) error {
				_, err := s.ConsumeAuthorizationCode(ctx, "long", now)
				return ignore(err, storage.ErrConsumed)
			},
			"ConsumePushedRequest": func(s *memory.Store, now time.Time) error {
				_, err := s.ConsumePushedRequest(ctx, "long", now)
				return ignore(err, storage.ErrConsumed)
			},
		} {
			t.Run(name, func(t *testing.T) {
				clock := newFakeClock()
				s := memory.New(memory.WithClock(clock.Now), memory.WithSweepInterval(time.Minute))
				t0 := clock.Now()
				createAll(t, s, "long", t0, time.Hour) // the first write sweeps; next sweep in a minute
				createAll(t, s, "short", t0, 10*time.Second)

				clock.Advance(30 * time.Second) // expired, but no sweep is due
				require.NoError(t, write(s, clock.Now()))
				assert.Equal(t, all, exists(t, s, "short"), "expired records are returned until a sweep")

				clock.Advance(30 * time.Second) // a minute since the first write's sweep
				require.NoError(t, write(s, clock.Now()))
				assert.Equal(t, none, exists(t, s, "short"))
				assert.Equal(t, all, exists(t, s, "long"))
			})
		}
	})

	t.Run("token writes do not sweep the authorization records, DeleteExpired does", func(t *testing.T) {
		clock := newFakeClock()
		s := memory.New(memory.WithClock(clock.Now), memory.WithSweepInterval(time.Minute))
		t0 := clock.Now()
		createAll(t, s, "short", t0, time.Second)
		clock.Advance(time.Hour)
		require.NoError(t, s.CreateTokens(ctx, token("t", "g", clock.Now(), time.Hour)))
		assert.Equal(t, all, exists(t, s, "short"))
		n, err := s.DeleteExpired(ctx)
		require.NoError(t, err)
		assert.Equal(t, 3, n)
		assert.Equal(t, none, exists(t, s, "short"))
	})

	t.Run("a zero ExpiresAt is expired at the first sweep", func(t *testing.T) {
		clock := newFakeClock()
		s := memory.New(memory.WithClock(clock.Now), memory.WithSweepInterval(0))
		require.NoError(t, s.CreateAuthorizationCode(ctx, &storage.AuthorizationCode{Key: "z"}))
		n, err := s.DeleteExpired(ctx)
		require.NoError(t, err)
		assert.Equal(t, 1, n)
	})

	t.Run("far-future records are never swept", func(t *testing.T) {
		clock := newFakeClock()
		s := memory.New(memory.WithClock(clock.Now))
		far := time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
		createAll(t, s, "far", clock.Now(), far.Sub(clock.Now()))
		clock.Advance(100 * 365 * 24 * time.Hour)
		n, err := s.DeleteExpired(ctx)
		require.NoError(t, err)
		assert.Zero(t, n)
		assert.Equal(t, all, exists(t, s, "far"))
	})

	t.Run("a sweep that deletes most records (and copies the maps smaller) keeps the survivors", func(t *testing.T) {
		clock := newFakeClock()
		s := memory.New(memory.WithClock(clock.Now), memory.WithSweepInterval(0))
		t0 := clock.Now()
		const n = 3000
		for i := range n {
			createAll(t, s, "k"+time.Duration(i).String(), t0, time.Minute)
		}
		createAll(t, s, "survivor", t0, time.Hour)
		clock.Advance(time.Minute)
		deleted, err := s.DeleteExpired(ctx)
		require.NoError(t, err)
		assert.Equal(t, 3*n, deleted)
		assert.Equal(t, all, exists(t, s, "survivor"))
		assert.Equal(t, none, exists(t, s, "k0s"))
	})
}

func TestAuthorizationRecordsConcurrentMixedUse(t *testing.T) {
	// Run under -race: creations, reads, uses and sweeps interleaving.
	ctx := t.Context()
	clock := newFakeClock()
	s := memory.New(memory.WithClock(clock.Now), memory.WithSweepInterval(time.Second))
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 200 {
				key := string(rune('a'+w)) + "-" + time.Duration(i%50).String()
				now := clock.Now()
				ttl := time.Duration(i%5) * time.Second
				_ = s.CreateInteraction(ctx, interaction(key, now, ttl))
				_ = s.CreateAuthorizationCode(ctx, code(key, now, ttl))
				_ = s.CreatePushedRequest(ctx, pushed(key, now, ttl))
				_, _ = s.Interaction(ctx, key)
				_, _ = s.AuthorizationCode(ctx, key)
				_, _ = s.PushedRequest(ctx, key)
				_, _ = s.CompleteInteraction(ctx, key, now)
				_, _ = s.ConsumeAuthorizationCode(ctx, key, now)
				_, _ = s.ConsumePushedRequest(ctx, key, now)
				if i%40 == 0 {
					_, err := s.DeleteExpired(ctx)
					assert.NoError(t, err)
				}
				clock.Advance(100 * time.Millisecond)
			}
		})
	}
	wg.Wait()
	_, err := s.DeleteExpired(context.Background())
	assert.NoError(t, err)
}

// TestAuthorizationRecordsKeepNoLargerString checks that the records of the
// authorization code flow are stored with copies of their strings: a form
// value is a slice of the request body when it needs no unescaping, and a
// pending interaction must not keep a whole body alive for its lifetime.
func TestAuthorizationRecordsKeepNoLargerString(t *testing.T) {
	const records, size = 16, 256 << 10
	t0 := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	// cut returns a few bytes of a new string of size bytes.
	cut := func(i int, name string) string {
		s := fmt.Sprintf("%s-%02d&", name, i) + strings.Repeat("x", size)
		return s[:len(name)+3]
	}
	request := func(i int) storage.AuthorizationRequest {
		return storage.AuthorizationRequest{
			ClientID: cut(i, "client"), RedirectURI: cut(i, "uri"), ResponseMode: cut(i, "mode"),
			State: cut(i, "state"), Scopes: []string{cut(i, "scope")}, Resources: []string{cut(i, "res")},
			CodeChallenge: cut(i, "cc"), CodeChallengeMethod: cut(i, "ccm"), Prompt: []string{cut(i, "prompt")},
			PushedKey: cut(i, "par"),
		}
	}
	for _, tc := range []struct {
		name   string
		create func(s *memory.Store, i int) error
	}{
		{"interaction", func(s *memory.Store, i int) error {
			return s.CreateInteraction(t.Context(), &storage.Interaction{
				Key: cut(i, "key"), Request: request(i), BrowserBinding: cut(i, "binding"),
				CreatedAt: t0, ExpiresAt: t0.Add(time.Hour), DeviceAuthorizationKey: cut(i, "device"),
			})
		}},
		{"authorization code", func(s *memory.Store, i int) error {
			return s.CreateAuthorizationCode(t.Context(), &storage.AuthorizationCode{
				Key: cut(i, "key"), GrantID: cut(i, "grant"), Request: request(i), Subject: cut(i, "sub"),
				Scopes: []string{cut(i, "scope")}, IssuedAt: t0, ExpiresAt: t0.Add(time.Hour),
			})
		}},
		{"pushed request", func(s *memory.Store, i int) error {
			return s.CreatePushedRequest(t.Context(), &storage.PushedRequest{
				Key: cut(i, "key"), Request: request(i), CreatedAt: t0, ExpiresAt: t0.Add(time.Hour),
			})
		}},
		{"device authorization", func(s *memory.Store, i int) error {
			return s.CreateDeviceAuthorization(t.Context(), &storage.DeviceAuthorization{
				Key: cut(i, "key"), UserCodeKey: cut(i, "user"), ClientID: cut(i, "client"),
				Scopes: []string{cut(i, "scope")}, Subject: cut(i, "sub"), GrantedScopes: []string{cut(i, "granted")},
				IssuedAt: t0, ExpiresAt: t0.Add(time.Hour), Interval: 5 * time.Second,
			})
		}},
		{"device decision", func(s *memory.Store, i int) error {
			key := fmt.Sprintf("key-%02d", i)
			err := s.CreateDeviceAuthorization(t.Context(), &storage.DeviceAuthorization{
				Key: key, UserCodeKey: "user-" + key, ClientID: "client", IssuedAt: t0, ExpiresAt: t0.Add(time.Hour),
			})
			if err != nil {
				return err
			}
			_, err = s.DecideDeviceAuthorization(t.Context(), key, storage.DeviceDecision{
				Status: storage.DeviceApproved, Subject: cut(i, "sub"), Scopes: []string{cut(i, "scope")},
			}, t0)
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := memory.New(memory.WithClock(func() time.Time { return t0 }))
			growth := heapGrowth(func() {
				for i := range records {
					require.NoError(t, tc.create(s, i))
				}
			})
			runtime.KeepAlive(s)
			assert.Less(t, growth, int64(records*size/8), "heap kept by %d records of short strings", records)
		})
	}
}
