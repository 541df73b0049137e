package storagetest_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/storage"
	"github.com/grantor-dev/grantor/storage/memory"
	"github.com/grantor-dev/grantor/storage/storagetest"
)

// The suite's own power is tested here: each broken store below is the
// in-memory store with one rule of package storage broken, the way a
// hand-written adapter breaks it, and the suite must catch it with the
// test named after the rule.

// brokenEnv names the variable that makes TestSuiteCatchesBrokenStores
// run the suite against one broken store, in a child process: a failing
// suite fails its test, which the parent process then observes.
const brokenEnv = "STORAGETEST_BROKEN"

// brokenStore is a store that breaks one rule, and the test that must
// catch it (its path below the suite's Run, each element as t.Run names
// it).
type brokenStore struct {
	wrap   func(s storagetest.Store) storagetest.Store
	caught []string
}

var brokenStores = map[string]brokenStore{
	// A control: the unbroken store passes the test that the harness runs.
	"none (control)": {
		wrap:   func(s storagetest.Store) storagetest.Store { return s },
		caught: nil,
	},
	"Client returns its own record": {
		wrap:   func(s storagetest.Store) storagetest.Store { return &ownClient{Store: s} },
		caught: []string{"ClientStore", "Copies", "the returned client may be modified: the stored one stays"},
	},
	"Client shares RedirectURIs": {
		wrap: func(s storagetest.Store) storagetest.Store {
			return &sharedClientList{Store: s, list: func(c *storage.Client) *[]string { return &c.RedirectURIs }}
		},
		caught: []string{"ClientStore", "Copies", "the returned client may be modified: the stored one stays"},
	},
	"Client shares Scopes": {
		wrap: func(s storagetest.Store) storagetest.Store {
			return &sharedClientList{Store: s, list: func(c *storage.Client) *[]string { return &c.Scopes }}
		},
		caught: []string{"ClientStore", "Copies", "the returned client may be modified: the stored one stays"},
	},
	"the store keeps the client it is given": {
		wrap:   nil, // see newBrokenStore
		caught: []string{"ClientStore", "Copies", "the clients given to the store may be modified afterwards"},
	},
	"Client drops the token lifetimes": {
		wrap:   func(s storagetest.Store) storagetest.Store { return &noLifetimes{Store: s} },
		caught: []string{"ClientStore", "Client", "registered client is returned with every field"},
	},
	"Token drops the grant's token lifetimes": {
		wrap:   func(s storagetest.Store) storagetest.Store { return &noTokenLifetimes{Store: s} },
		caught: []string{"RefreshTokenStore", "CreateTokens", "round trip keeps every field"},
	},
	"ConsumeToken drops the grant's token lifetimes": {
		wrap:   func(s storagetest.Store) storagetest.Store { return &noConsumedLifetimes{Store: s} },
		caught: []string{"RefreshTokenStore", "ConsumeToken", "sets ConsumedAt and returns the record"},
	},
	"Client drops DPoPBoundAccessTokens": {
		wrap:   func(s storagetest.Store) storagetest.Store { return &noDPoPClient{Store: s} },
		caught: []string{"ClientStore", "Client", "registered client is returned with every field"},
	},
	"Token drops the key binding": {
		wrap:   func(s storagetest.Store) storagetest.Store { return &unboundToken{Store: s} },
		caught: []string{"RefreshTokenStore", "CreateTokens", "round trip keeps every field"},
	},
	"ConsumeToken drops the key binding": {
		wrap:   func(s storagetest.Store) storagetest.Store { return &unboundConsumed{Store: s} },
		caught: []string{"RefreshTokenStore", "ConsumeToken", "sets ConsumedAt and returns the record"},
	},
	"Interaction drops the request's dpop_jkt": {
		wrap:   func(s storagetest.Store) storagetest.Store { return &unboundRequests{Store: s, drop: "Interaction"} },
		caught: []string{"InteractionStore", "CreateInteraction", "round trip keeps every field"},
	},
	"CompleteInteraction drops the request's dpop_jkt": {
		wrap: func(s storagetest.Store) storagetest.Store {
			return &unboundRequests{Store: s, drop: "CompleteInteraction"}
		},
		caught: []string{"InteractionStore", "CompleteInteraction", "sets CompletedAt and returns the record"},
	},
	"AuthorizationCode drops the request's dpop_jkt": {
		wrap: func(s storagetest.Store) storagetest.Store {
			return &unboundRequests{Store: s, drop: "AuthorizationCode"}
		},
		caught: []string{"AuthorizationCodeStore", "CreateAuthorizationCode", "round trip keeps every field"},
	},
	"ConsumeAuthorizationCode drops the request's dpop_jkt": {
		wrap: func(s storagetest.Store) storagetest.Store {
			return &unboundRequests{Store: s, drop: "ConsumeAuthorizationCode"}
		},
		caught: []string{"AuthorizationCodeStore", "ConsumeAuthorizationCode", "sets ConsumedAt and returns the record"},
	},
	"PushedRequest drops the request's dpop_jkt": {
		wrap:   func(s storagetest.Store) storagetest.Store { return &unboundRequests{Store: s, drop: "PushedRequest"} },
		caught: []string{"PushedRequestStore", "CreatePushedRequest", "round trip keeps every field"},
	},
	"ConsumePushedRequest drops the request's dpop_jkt": {
		wrap: func(s storagetest.Store) storagetest.Store {
			return &unboundRequests{Store: s, drop: "ConsumePushedRequest"}
		},
		caught: []string{"PushedRequestStore", "ConsumePushedRequest", "sets ConsumedAt and returns the record"},
	},
	"Token returns its own record": {
		wrap:   func(s storagetest.Store) storagetest.Store { return &ownToken{Store: s} },
		caught: []string{"RefreshTokenStore", "Copies", "the record Token returns may be modified: the stored one stays"},
	},
	"Token shares Scopes": {
		wrap: func(s storagetest.Store) storagetest.Store {
			return &sharedToken{Store: s, share: func(sh *sharer, t *storage.Token) { t.Scopes = share(sh, t.Key, t.Scopes) }}
		},
		caught: []string{"RefreshTokenStore", "Copies", "the record Token returns may be modified: the stored one stays"},
	},
	"Token shares Claims": {
		wrap: func(s storagetest.Store) storagetest.Store {
			return &sharedToken{Store: s, share: func(sh *sharer, t *storage.Token) { t.Claims = share(sh, t.Key, t.Claims) }}
		},
		caught: []string{"RefreshTokenStore", "Copies", "the record Token returns may be modified: the stored one stays"},
	},
	"ConsumeToken returns its own record": {
		wrap:   func(s storagetest.Store) storagetest.Store { return &ownConsumed{Store: s} },
		caught: []string{"RefreshTokenStore", "ConsumeToken", "the records ConsumeToken returns may be modified: the stored one stays"},
	},
	"CreateTokens keeps the caller's Scopes": {
		wrap:   func(s storagetest.Store) storagetest.Store { return &keptTokenScopes{Store: s} },
		caught: []string{"RefreshTokenStore", "Copies", "the records given to CreateTokens may be modified afterwards"},
	},
	"AuthorizationCode shares Claims": {
		wrap:   func(s storagetest.Store) storagetest.Store { return &sharedCodeClaims{Store: s} },
		caught: []string{"AuthorizationCodeStore", "Copies", "the record AuthorizationCode returns may be modified: the stored one stays"},
	},
	"Interaction shares Request.Scopes": {
		wrap:   func(s storagetest.Store) storagetest.Store { return &sharedInteractionScopes{Store: s} },
		caught: []string{"InteractionStore", "Copies", "the record Interaction returns may be modified: the stored one stays"},
	},
	"RevokeToken overwrites the first RevokedAt": {
		wrap:   func(s storagetest.Store) storagetest.Store { return &lastRevocation{Store: s} },
		caught: []string{"RefreshTokenStore", "RevokeToken", "a second revocation keeps the first RevokedAt"},
	},
	"RevokeGrant(\"\") revokes the records without a grant": {
		wrap:   func(s storagetest.Store) storagetest.Store { return &emptyGrant{Store: s} },
		caught: []string{"RefreshTokenStore", "RevokeGrant", "empty grant ID revokes nothing, not even the records created without a grant"},
	},
	"RevokeGrant reaches only the tokens of the grant's first client": {
		wrap:   func(s storagetest.Store) storagetest.Store { return &firstClientGrant{Store: s} },
		caught: []string{"RefreshTokenStore", "RevokeGrant", "revokes the grant's tokens of every client and subject"},
	},
	"invalid input is ErrNotFound": {
		wrap: func(s storagetest.Store) storagetest.Store {
			return &notFoundErrors{Store: s, wraps: func(err error) bool { return !isSentinel(err) }}
		},
		caught: []string{"RefreshTokenStore", "Input", "empty key is invalid input, not a sentinel, and its batch is not stored"},
	},
	"a record too large is ErrNotFound too": {
		wrap: func(s storagetest.Store) storagetest.Store {
			return &notFoundErrors{Store: s, wraps: func(err error) bool { return errors.Is(err, storage.ErrTooLarge) }}
		},
		caught: []string{"InteractionStore", "Size", "interaction keys one byte longer are ErrTooLarge"},
	},
	"Remember takes an empty key": {
		wrap:   func(s storagetest.Store) storagetest.Store { return &emptyReplayKey{Store: s} },
		caught: []string{"ReplayStore", "Input", "empty key is invalid input, not a sentinel, and nothing is remembered"},
	},
	"Interaction drops DeviceAuthorizationKey": {
		wrap:   func(s storagetest.Store) storagetest.Store { return &noDeviceInteraction{Store: s} },
		caught: []string{"InteractionStore", "CreateInteraction", "round trip keeps every field"},
	},
	"PollDeviceAuthorization reads, then writes": {
		wrap: func(s storagetest.Store) storagetest.Store { return &pollReadThenWrite{devices: newDevices(s)} },
		caught: []string{"DeviceAuthorizationStore", "PollDeviceAuthorization",
			"concurrent polls: each sees the one before it"},
	},
	"PollDeviceAuthorization does not keep the slow-down step": {
		wrap: func(s storagetest.Store) storagetest.Store { return &slowDownNotKept{Store: s} },
		caught: []string{"DeviceAuthorizationStore", "PollDeviceAuthorization",
			"the grown interval persists: a poll at the old interval is slow again, at the new one it is not"},
	},
	"DecideDeviceAuthorization decides twice": {
		wrap: func(s storagetest.Store) storagetest.Store { return &decideTwice{Store: s} },
		caught: []string{"DeviceAuthorizationStore", "DecideDeviceAuthorization",
			"a second decision returns the record as decided first, with ErrConsumed"},
	},
	"ConsumeDeviceAuthorization consumes twice": {
		wrap: func(s storagetest.Store) storagetest.Store { return &consumeDeviceTwice{Store: s} },
		caught: []string{"DeviceAuthorizationStore", "ConsumeDeviceAuthorization",
			"second call returns the record with the first ConsumedAt and ErrConsumed"},
	},
	"another client's poll counts": {
		wrap: func(s storagetest.Store) storagetest.Store { return &otherClientPolls{devices: newDevices(s)} },
		caught: []string{"DeviceAuthorizationStore", "PollDeviceAuthorization",
			"another client's poll is ErrNotFound and changes neither Interval nor LastPolledAt"},
	},
	"Client drops the OpenID Connect registration": {
		wrap:   func(s storagetest.Store) storagetest.Store { return &noOpenIDClient{Store: s} },
		caught: []string{"ClientStore", "Client", "registered client is returned with every field"},
	},
	"Client shares PostLogoutRedirectURIs": {
		wrap: func(s storagetest.Store) storagetest.Store {
			return &sharedClientList{Store: s, list: func(c *storage.Client) *[]string { return &c.PostLogoutRedirectURIs }}
		},
		caught: []string{"ClientStore", "Copies", "the returned client may be modified: the stored one stays"},
	},
	"Token drops Extensions": {
		wrap:   func(s storagetest.Store) storagetest.Store { return &noTokenExtensions{Store: s, drop: "Token"} },
		caught: []string{"RefreshTokenStore", "CreateTokens", "round trip keeps every field"},
	},
	"ConsumeToken drops Extensions": {
		wrap:   func(s storagetest.Store) storagetest.Store { return &noTokenExtensions{Store: s, drop: "ConsumeToken"} },
		caught: []string{"RefreshTokenStore", "ConsumeToken", "sets ConsumedAt and returns the record"},
	},
	"Token drops an extension of an empty value": {
		wrap:   func(s storagetest.Store) storagetest.Store { return &noEmptyExtensions{Store: s} },
		caught: []string{"RefreshTokenStore", "Extensions", "Extensions one empty value round trip"},
	},
	"Token shares Extensions": {
		wrap: func(s storagetest.Store) storagetest.Store {
			return &sharedToken{Store: s, share: func(sh *sharer, t *storage.Token) { t.Extensions = share(sh, t.Key, t.Extensions) }}
		},
		caught: []string{"RefreshTokenStore", "Copies", "the record Token returns may be modified: the stored one stays"},
	},
	"CreateTokens keeps the caller's Extensions": {
		wrap:   func(s storagetest.Store) storagetest.Store { return &keptTokenExtensions{Store: s} },
		caught: []string{"RefreshTokenStore", "Copies", "the records given to CreateTokens may be modified afterwards"},
	},
	"AuthorizationCode drops Extensions": {
		wrap: func(s storagetest.Store) storagetest.Store {
			return &noCodeExtensions{Store: s, drop: "AuthorizationCode"}
		},
		caught: []string{"AuthorizationCodeStore", "CreateAuthorizationCode", "round trip keeps every field"},
	},
	"ConsumeAuthorizationCode drops Extensions": {
		wrap: func(s storagetest.Store) storagetest.Store {
			return &noCodeExtensions{Store: s, drop: "ConsumeAuthorizationCode"}
		},
		caught: []string{"AuthorizationCodeStore", "ConsumeAuthorizationCode", "sets ConsumedAt and returns the record"},
	},
	"AuthorizationCode shares Extensions": {
		wrap:   func(s storagetest.Store) storagetest.Store { return &sharedCodeExtensions{Store: s} },
		caught: []string{"AuthorizationCodeStore", "Copies", "the record AuthorizationCode returns may be modified: the stored one stays"},
	},
	"Interaction drops the request's Parameters": {
		wrap: func(s storagetest.Store) storagetest.Store {
			return &unboundRequests{Store: s, drop: "Interaction", forget: forgetParameters}
		},
		caught: []string{"InteractionStore", "CreateInteraction", "round trip keeps every field"},
	},
	"ConsumeAuthorizationCode drops the request's Parameters": {
		wrap: func(s storagetest.Store) storagetest.Store {
			return &unboundRequests{Store: s, drop: "ConsumeAuthorizationCode", forget: forgetParameters}
		},
		caught: []string{"AuthorizationCodeStore", "Parameters", "Request.Parameters odd names and values round trip"},
	},
	"PushedRequest drops the request's response type": {
		wrap: func(s storagetest.Store) storagetest.Store {
			return &unboundRequests{Store: s, drop: "PushedRequest", forget: func(r *storage.AuthorizationRequest) {
				r.ResponseType = ""
			}}
		},
		caught: []string{"PushedRequestStore", "CreatePushedRequest", "round trip keeps every field"},
	},
	"Interaction shares Request.Parameters": {
		wrap:   func(s storagetest.Store) storagetest.Store { return &sharedInteractionParameters{Store: s} },
		caught: []string{"InteractionStore", "Copies", "the record Interaction returns may be modified: the stored one stays"},
	},
	"an expired holder keeps its user code": {
		wrap: func(s storagetest.Store) storagetest.Store { return &userCodesForever{devices: newDevices(s)} },
		caught: []string{"DeviceAuthorizationStore", "CreateDeviceAuthorization",
			"a holder expired at IssuedAt gives the user code up: the new record is found by it, the old one still by its Key"},
	},
}

// newBrokenStore returns the suite's NewStore for the named broken store.
func newBrokenStore(name string) storagetest.NewStore {
	b := brokenStores[name]
	return func(t *testing.T, clients ...*storage.Client) storagetest.Store {
		s := memory.New()
		for _, c := range clients {
			require.NoError(t, s.PutClient(c))
		}
		if b.wrap == nil {
			kept := &keptClients{Store: s, clients: map[string]*storage.Client{}}
			for _, c := range clients {
				kept.clients[c.ID] = c
			}
			return kept
		}
		return b.wrap(s)
	}
}

func TestSuiteCatchesBrokenStores(t *testing.T) {
	if name := os.Getenv(brokenEnv); name != "" {
		// The child process: run the suite against the broken store.
		storagetest.Run(t, newBrokenStore(name))
		return
	}
	control := brokenStores["Client returns its own record"].caught
	for name, b := range brokenStores {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			path := b.caught
			if path == nil {
				path = control
			}
			pattern := "^TestSuiteCatchesBrokenStores$"
			for _, elem := range path {
				pattern += "/^" + regexp.QuoteMeta(strings.ReplaceAll(elem, " ", "_")) + "$"
			}
			cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run="+pattern, "-test.v", "-test.count=1")
			cmd.Env = append(os.Environ(), brokenEnv+"="+name)
			out, err := cmd.CombinedOutput()
			failed := "--- FAIL: TestSuiteCatchesBrokenStores/" + strings.ReplaceAll(strings.Join(path, "/"), " ", "_") + " "
			ran := "--- PASS: TestSuiteCatchesBrokenStores/" + strings.ReplaceAll(strings.Join(path, "/"), " ", "_") + " "
			if b.caught == nil {
				assert.NoError(t, err, "the unbroken store passes:\n%s", out)
				assert.Contains(t, string(out), ran, "the test ran and passed")
				return
			}
			var exit *exec.ExitError
			require.True(t, errors.As(err, &exit), "the suite must fail against the broken store (err %v):\n%s", err, out)
			assert.Contains(t, string(out), failed, "the test that must catch it failed")
		})
	}
}

func isSentinel(err error) bool {
	for _, s := range []error{storage.ErrNotFound, storage.ErrConsumed, storage.ErrDuplicate, storage.ErrFull,
		storage.ErrTooLarge, context.Canceled, context.DeadlineExceeded} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// sharer hands out, for each key, the first value it was given: what a
// store that caches records and returns them shallowly does.
type sharer struct {
	mu sync.Mutex
	m  map[string]any
}

func share[V any](s *sharer, key string, v V) V {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]any{}
	}
	if old, ok := s.m[key]; ok {
		return old.(V)
	}
	s.m[key] = v
	return v
}

// ownClient returns the same record to every lookup of an ID.
type ownClient struct {
	storagetest.Store
	mu sync.Mutex
	m  map[string]*storage.Client
}

func (s *ownClient) Client(ctx context.Context, id string) (*storage.Client, error) {
	c, err := s.Store.Client(ctx, id)
	if err != nil {
		return c, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]*storage.Client{}
	}
	if own, ok := s.m[id]; ok {
		return own, nil
	}
	s.m[id] = c
	return c, nil
}

// sharedClientList returns copies of a client that share one list.
type sharedClientList struct {
	storagetest.Store
	list func(c *storage.Client) *[]string
	sh   sharer
}

func (s *sharedClientList) Client(ctx context.Context, id string) (*storage.Client, error) {
	c, err := s.Store.Client(ctx, id)
	if c != nil {
		l := s.list(c)
		*l = share(&s.sh, id, *l)
	}
	return c, err
}

// keptClients returns the very clients it was given, by their IDs then.
type keptClients struct {
	storagetest.Store
	clients map[string]*storage.Client
}

func (s *keptClients) Client(ctx context.Context, id string) (*storage.Client, error) {
	if _, err := s.Store.Client(ctx, id); err != nil {
		return nil, err
	}
	return s.clients[id], nil
}

// noLifetimes forgets the clients' token lifetimes.
type noLifetimes struct{ storagetest.Store }

func (s *noLifetimes) Client(ctx context.Context, id string) (*storage.Client, error) {
	c, err := s.Store.Client(ctx, id)
	if c != nil {
		c.AccessTokenLifetime, c.RefreshTokenLifetime = 0, 0
	}
	return c, err
}

// noTokenLifetimes forgets the token lifetimes of the records it returns
// from Token, as an adapter without columns for them does.
type noTokenLifetimes struct{ storagetest.Store }

func (s *noTokenLifetimes) Token(ctx context.Context, key string) (*storage.Token, error) {
	t, err := s.Store.Token(ctx, key)
	if t != nil {
		t.AccessTokenLifetime, t.RefreshTokenLifetime = 0, 0
	}
	return t, err
}

// noConsumedLifetimes forgets the token lifetimes of the records that
// ConsumeToken returns, as an adapter that builds that record by hand may.
type noConsumedLifetimes struct{ storagetest.Store }

func (s *noConsumedLifetimes) ConsumeToken(ctx context.Context, key string, at time.Time) (*storage.Token, error) {
	t, err := s.Store.ConsumeToken(ctx, key, at)
	if t != nil {
		t.AccessTokenLifetime, t.RefreshTokenLifetime = 0, 0
	}
	return t, err
}

// noDPoPClient forgets the clients' dpop_bound_access_tokens, as an
// adapter without a column for it does.
type noDPoPClient struct{ storagetest.Store }

func (s *noDPoPClient) Client(ctx context.Context, id string) (*storage.Client, error) {
	c, err := s.Store.Client(ctx, id)
	if c != nil {
		c.DPoPBoundAccessTokens = false
	}
	return c, err
}

// unboundToken forgets the key binding of the records Token returns: a
// DPoP-bound token would come back a bearer token.
type unboundToken struct{ storagetest.Store }

func (s *unboundToken) Token(ctx context.Context, key string) (*storage.Token, error) {
	t, err := s.Store.Token(ctx, key)
	if t != nil {
		t.KeyThumbprint = ""
	}
	return t, err
}

// unboundConsumed forgets the key binding of the records ConsumeToken
// returns, the ones a refresh checks its proof against.
type unboundConsumed struct{ storagetest.Store }

func (s *unboundConsumed) ConsumeToken(ctx context.Context, key string, at time.Time) (*storage.Token, error) {
	t, err := s.Store.ConsumeToken(ctx, key, at)
	if t != nil {
		t.KeyThumbprint = ""
	}
	return t, err
}

// unboundRequests forgets a field of the requests that the method named
// drop returns: their dpop_jkt, or what forget forgets.
type unboundRequests struct {
	storagetest.Store
	drop   string
	forget func(r *storage.AuthorizationRequest)
}

func (s *unboundRequests) unbind(method string, r *storage.AuthorizationRequest) {
	switch {
	case method != s.drop:
	case s.forget != nil:
		s.forget(r)
	default:
		r.DPoPKeyThumbprint = ""
	}
}

func (s *unboundRequests) Interaction(ctx context.Context, key string) (*storage.Interaction, error) {
	i, err := s.Store.Interaction(ctx, key)
	if i != nil {
		s.unbind("Interaction", &i.Request)
	}
	return i, err
}

func (s *unboundRequests) CompleteInteraction(ctx context.Context, key string, at time.Time) (*storage.Interaction, error) {
	i, err := s.Store.CompleteInteraction(ctx, key, at)
	if i != nil {
		s.unbind("CompleteInteraction", &i.Request)
	}
	return i, err
}

func (s *unboundRequests) AuthorizationCode(ctx context.Context, key string) (*storage.AuthorizationCode, error) {
	c, err := s.Store.AuthorizationCode(ctx, key)
	if c != nil {
		s.unbind("AuthorizationCode", &c.Request)
	}
	return c, err
}

func (s *unboundRequests) ConsumeAuthorizationCode(ctx context.Context, key string, at time.Time) (*storage.AuthorizationCode, error) {
	c, err := s.Store.ConsumeAuthorizationCode(ctx, key, at)
	if c != nil {
		s.unbind("ConsumeAuthorizationCode", &c.Request)
	}
	return c, err
}

func (s *unboundRequests) PushedRequest(ctx context.Context, key string) (*storage.PushedRequest, error) {
	r, err := s.Store.PushedRequest(ctx, key)
	if r != nil {
		s.unbind("PushedRequest", &r.Request)
	}
	return r, err
}

func (s *unboundRequests) ConsumePushedRequest(ctx context.Context, key string, at time.Time) (*storage.PushedRequest, error) {
	r, err := s.Store.ConsumePushedRequest(ctx, key, at)
	if r != nil {
		s.unbind("ConsumePushedRequest", &r.Request)
	}
	return r, err
}

// ownToken returns the same record to every lookup of a key.
type ownToken struct {
	storagetest.Store
	sh sharer
}

func (s *ownToken) Token(ctx context.Context, key string) (*storage.Token, error) {
	t, err := s.Store.Token(ctx, key)
	if err != nil {
		return t, err
	}
	own := share(&s.sh, key, t)
	// Keep what the store changed since (revocation, consumption).
	own.RevokedAt, own.ConsumedAt = t.RevokedAt, t.ConsumedAt
	return own, nil
}

// sharedToken returns records that share a list or map with every other
// record returned for their key.
type sharedToken struct {
	storagetest.Store
	share func(sh *sharer, t *storage.Token)
	sh    sharer
}

func (s *sharedToken) Token(ctx context.Context, key string) (*storage.Token, error) {
	t, err := s.Store.Token(ctx, key)
	if t != nil {
		s.share(&s.sh, t)
	}
	return t, err
}

// ownConsumed keeps the records that ConsumeToken returned as its own,
// returns them from ConsumeToken itself and copies of them from Token.
type ownConsumed struct {
	storagetest.Store
	mu  sync.Mutex
	own map[string]*storage.Token
}

func (s *ownConsumed) ConsumeToken(ctx context.Context, key string, at time.Time) (*storage.Token, error) {
	t, err := s.Store.ConsumeToken(ctx, key, at)
	if t == nil {
		return t, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.own == nil {
		s.own = map[string]*storage.Token{}
	}
	own, ok := s.own[key]
	if !ok {
		s.own[key] = t
		return t, err
	}
	own.ConsumedAt, own.RevokedAt = t.ConsumedAt, t.RevokedAt
	return own, err
}

func (s *ownConsumed) Token(ctx context.Context, key string) (*storage.Token, error) {
	t, err := s.Store.Token(ctx, key)
	if t == nil {
		return t, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if own, ok := s.own[key]; ok {
		c := *own
		c.Scopes, c.Audience, c.Claims = slices.Clone(own.Scopes), slices.Clone(own.Audience), maps.Clone(own.Claims)
		c.ConsumedAt, c.RevokedAt = t.ConsumedAt, t.RevokedAt
		return &c, nil
	}
	return t, err
}

// keptTokenScopes returns, as a record's Scopes, the slice its creator
// passed in.
type keptTokenScopes struct {
	storagetest.Store
	sh sharer
}

func (s *keptTokenScopes) CreateTokens(ctx context.Context, tokens ...*storage.Token) error {
	err := s.Store.CreateTokens(ctx, tokens...)
	if err == nil {
		for _, t := range tokens {
			share(&s.sh, t.Key, t.Scopes)
		}
	}
	return err
}

func (s *keptTokenScopes) Token(ctx context.Context, key string) (*storage.Token, error) {
	t, err := s.Store.Token(ctx, key)
	if t != nil {
		t.Scopes = share(&s.sh, key, t.Scopes)
	}
	return t, err
}

// sharedCodeClaims returns code records that share their claims.
type sharedCodeClaims struct {
	storagetest.Store
	sh sharer
}

func (s *sharedCodeClaims) AuthorizationCode(ctx context.Context, key string) (*storage.AuthorizationCode, error) {
	c, err := s.Store.AuthorizationCode(ctx, key)
	if c != nil {
		c.Claims = share(&s.sh, key, c.Claims)
	}
	return c, err
}

// sharedInteractionScopes returns interactions that share the scopes of
// their request.
type sharedInteractionScopes struct {
	storagetest.Store
	sh sharer
}

func (s *sharedInteractionScopes) Interaction(ctx context.Context, key string) (*storage.Interaction, error) {
	i, err := s.Store.Interaction(ctx, key)
	if i != nil {
		i.Request.Scopes = share(&s.sh, key, i.Request.Scopes)
	}
	return i, err
}

// lastRevocation keeps the last RevokedAt of RevokeToken, not the first.
type lastRevocation struct {
	storagetest.Store
	mu   sync.Mutex
	last map[string]time.Time
}

func (s *lastRevocation) RevokeToken(ctx context.Context, key string, at time.Time) error {
	err := s.Store.RevokeToken(ctx, key, at)
	if err == nil {
		s.mu.Lock()
		if s.last == nil {
			s.last = map[string]time.Time{}
		}
		s.last[key] = at
		s.mu.Unlock()
	}
	return err
}

func (s *lastRevocation) Token(ctx context.Context, key string) (*storage.Token, error) {
	t, err := s.Store.Token(ctx, key)
	if t != nil {
		s.mu.Lock()
		if at, ok := s.last[key]; ok {
			t.RevokedAt = at
		}
		s.mu.Unlock()
	}
	return t, err
}

// emptyGrant takes RevokeGrant("") for the grant of the records created
// without one.
type emptyGrant struct {
	storagetest.Store
	mu      sync.Mutex
	noGrant []string
}

func (s *emptyGrant) CreateTokens(ctx context.Context, tokens ...*storage.Token) error {
	err := s.Store.CreateTokens(ctx, tokens...)
	if err == nil {
		s.mu.Lock()
		for _, t := range tokens {
			if t.GrantID == "" {
				s.noGrant = append(s.noGrant, t.Key)
			}
		}
		s.mu.Unlock()
	}
	return err
}

func (s *emptyGrant) RevokeGrant(ctx context.Context, grantID string, at time.Time) error {
	if grantID != "" {
		return s.Store.RevokeGrant(ctx, grantID, at)
	}
	s.mu.Lock()
	keys := append([]string(nil), s.noGrant...)
	s.mu.Unlock()
	for _, k := range keys {
		if err := s.Store.RevokeToken(ctx, k, at); err != nil {
			return err
		}
	}
	return nil
}

// notFoundErrors adds storage.ErrNotFound to the errors of writes that
// wraps selects.
type notFoundErrors struct {
	storagetest.Store
	wraps func(err error) bool
}

func (s *notFoundErrors) wrap(err error) error {
	if err != nil && s.wraps(err) {
		return fmt.Errorf("%w: %w", storage.ErrNotFound, err)
	}
	return err
}

func (s *notFoundErrors) CreateTokens(ctx context.Context, tokens ...*storage.Token) error {
	return s.wrap(s.Store.CreateTokens(ctx, tokens...))
}

func (s *notFoundErrors) CreateInteraction(ctx context.Context, i *storage.Interaction) error {
	return s.wrap(s.Store.CreateInteraction(ctx, i))
}

func (s *notFoundErrors) CreateAuthorizationCode(ctx context.Context, c *storage.AuthorizationCode) error {
	return s.wrap(s.Store.CreateAuthorizationCode(ctx, c))
}

func (s *notFoundErrors) CreatePushedRequest(ctx context.Context, r *storage.PushedRequest) error {
	return s.wrap(s.Store.CreatePushedRequest(ctx, r))
}

func (s *notFoundErrors) Remember(ctx context.Context, key string, expiresAt time.Time) error {
	return s.wrap(s.Store.Remember(ctx, key, expiresAt))
}

// emptyReplayKey remembers nothing for an empty key and says it did.
type emptyReplayKey struct{ storagetest.Store }

func (s *emptyReplayKey) Remember(ctx context.Context, key string, expiresAt time.Time) error {
	if key == "" {
		return nil
	}
	return s.Store.Remember(ctx, key, expiresAt)
}

// noDeviceInteraction forgets the device authorization an interaction
// verifies, as an adapter without a column for it does.
type noDeviceInteraction struct{ storagetest.Store }

func (s *noDeviceInteraction) Interaction(ctx context.Context, key string) (*storage.Interaction, error) {
	i, err := s.Store.Interaction(ctx, key)
	if i != nil {
		i.DeviceAuthorizationKey = ""
	}
	return i, err
}

// devices remembers the device authorizations it created, for the broken
// stores that need to find them again the way a hand-written adapter
// would: by key, with their client and user code.
type devices struct {
	storagetest.Store
	mu      sync.Mutex
	created map[string]storage.DeviceAuthorization // by Key, lists not kept
	held    map[string]bool                        // user code keys ever stored
}

func newDevices(s storagetest.Store) devices {
	return devices{Store: s, created: map[string]storage.DeviceAuthorization{}, held: map[string]bool{}}
}

func (s *devices) CreateDeviceAuthorization(ctx context.Context, d *storage.DeviceAuthorization) error {
	err := s.Store.CreateDeviceAuthorization(ctx, d)
	if err == nil {
		s.mu.Lock()
		s.created[d.Key] = storage.DeviceAuthorization{Key: d.Key, UserCodeKey: d.UserCodeKey, ClientID: d.ClientID}
		s.held[d.UserCodeKey] = true
		s.mu.Unlock()
	}
	return err
}

func (s *devices) lookup(key string) (storage.DeviceAuthorization, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.created[key]
	return d, ok
}

// pollReadThenWrite polls in two steps: it reads the record, judges the
// poll, and then writes, as an adapter that selects and then updates
// without a lock or a condition in the update. Concurrent polls all read
// the record as no poll left it.
type pollReadThenWrite struct{ devices }

func (s *pollReadThenWrite) PollDeviceAuthorization(ctx context.Context, key, clientID string, at time.Time, slowDown time.Duration) (*storage.DeviceAuthorization, error) {
	d, ok := s.lookup(key)
	if !ok {
		return s.Store.PollDeviceAuthorization(ctx, key, clientID, at, slowDown)
	}
	before, err := s.Store.DeviceAuthorizationByUserCode(ctx, d.UserCodeKey)
	if err != nil || before.Key != key || before.ClientID != clientID {
		return s.Store.PollDeviceAuthorization(ctx, key, clientID, at, slowDown)
	}
	time.Sleep(time.Millisecond) // between the read and the write
	slow := !before.LastPolledAt.IsZero() && at.Before(before.LastPolledAt.Add(before.Interval))
	step := time.Duration(0)
	if slow {
		step = slowDown
	}
	after, err := s.Store.PollDeviceAuthorization(ctx, key, clientID, at, step)
	if after == nil {
		return nil, err
	}
	if slow {
		return after, storage.ErrSlowDown
	}
	return after, nil
}

// slowDownNotKept reports the slow-down step in the record it returns but
// does not store it, as an adapter that adds it to the row it read and
// writes only LastPolledAt back.
type slowDownNotKept struct{ storagetest.Store }

func (s *slowDownNotKept) PollDeviceAuthorization(ctx context.Context, key, clientID string, at time.Time, slowDown time.Duration) (*storage.DeviceAuthorization, error) {
	d, err := s.Store.PollDeviceAuthorization(ctx, key, clientID, at, 0)
	if errors.Is(err, storage.ErrSlowDown) {
		d.Interval += slowDown
	}
	return d, err
}

// decideTwice lets a second decision report success (the record keeps the
// first), as an adapter whose update has no "still pending" condition
// might.
type decideTwice struct{ storagetest.Store }

func (s *decideTwice) DecideDeviceAuthorization(ctx context.Context, key string, d storage.DeviceDecision, at time.Time) (*storage.DeviceAuthorization, error) {
	rec, err := s.Store.DecideDeviceAuthorization(ctx, key, d, at)
	if errors.Is(err, storage.ErrConsumed) {
		return rec, nil
	}
	return rec, err
}

// consumeDeviceTwice lets a second redemption report success.
type consumeDeviceTwice struct{ storagetest.Store }

func (s *consumeDeviceTwice) ConsumeDeviceAuthorization(ctx context.Context, key string, at time.Time) (*storage.DeviceAuthorization, error) {
	rec, err := s.Store.ConsumeDeviceAuthorization(ctx, key, at)
	if errors.Is(err, storage.ErrConsumed) {
		return rec, nil
	}
	return rec, err
}

// otherClientPolls records another client's poll before it answers that
// the record is not found, as an adapter that updates by key and checks
// the client afterwards.
type otherClientPolls struct{ devices }

func (s *otherClientPolls) PollDeviceAuthorization(ctx context.Context, key, clientID string, at time.Time, slowDown time.Duration) (*storage.DeviceAuthorization, error) {
	rec, err := s.Store.PollDeviceAuthorization(ctx, key, clientID, at, slowDown)
	if d, ok := s.lookup(key); ok && errors.Is(err, storage.ErrNotFound) {
		_, _ = s.Store.PollDeviceAuthorization(ctx, key, d.ClientID, at, slowDown)
	}
	return rec, err
}

// userCodesForever refuses a user code that any record ever held, as an
// adapter with a plain unique index on the user code does.
type userCodesForever struct{ devices }

func (s *userCodesForever) CreateDeviceAuthorization(ctx context.Context, d *storage.DeviceAuthorization) error {
	if d != nil {
		s.mu.Lock()
		held := s.held[d.UserCodeKey]
		s.mu.Unlock()
		if held {
			return storage.ErrDuplicate
		}
	}
	return s.devices.CreateDeviceAuthorization(ctx, d)
}

// firstClientGrant revokes a grant as a store would that keyed grants by
// grant and client: only the tokens of the client that started the grant,
// leaving the tokens exchanged from them (RFC 8693) to other clients.
type firstClientGrant struct {
	storagetest.Store
	mu     sync.Mutex
	owner  map[string]string   // grant ID -> first client
	tokens map[string][]string // grant ID -> keys of the owner's tokens
}

func (s *firstClientGrant) CreateTokens(ctx context.Context, tokens ...*storage.Token) error {
	err := s.Store.CreateTokens(ctx, tokens...)
	if err == nil {
		s.mu.Lock()
		if s.owner == nil {
			s.owner, s.tokens = map[string]string{}, map[string][]string{}
		}
		for _, t := range tokens {
			if _, ok := s.owner[t.GrantID]; !ok {
				s.owner[t.GrantID] = t.ClientID
			}
			if s.owner[t.GrantID] == t.ClientID {
				s.tokens[t.GrantID] = append(s.tokens[t.GrantID], t.Key)
			}
		}
		s.mu.Unlock()
	}
	return err
}

func (s *firstClientGrant) RevokeGrant(ctx context.Context, grantID string, at time.Time) error {
	s.mu.Lock()
	keys := append([]string(nil), s.tokens[grantID]...)
	s.mu.Unlock()
	for _, k := range keys {
		if err := s.Store.RevokeToken(ctx, k, at); err != nil {
			return err
		}
	}
	return nil
}

// noOpenIDClient forgets the clients' OpenID Connect registration, as an
// adapter without columns for it does.
type noOpenIDClient struct{ storagetest.Store }

func (s *noOpenIDClient) Client(ctx context.Context, id string) (*storage.Client, error) {
	c, err := s.Store.Client(ctx, id)
	if c != nil {
		c.SubjectType, c.SectorIdentifierURI, c.IDTokenSignedResponseAlg, c.UserinfoSignedResponseAlg = "", "", "", ""
		c.RequireAuthTime, c.DefaultMaxAge, c.PostLogoutRedirectURIs = false, 0, nil
		c.BackchannelLogoutURI, c.BackchannelLogoutSessionRequired = "", false
	}
	return c, err
}

// noTokenExtensions forgets the Extensions of the records that the method
// named drop returns, as an adapter without a column for them does.
type noTokenExtensions struct {
	storagetest.Store
	drop string
}

func (s *noTokenExtensions) Token(ctx context.Context, key string) (*storage.Token, error) {
	t, err := s.Store.Token(ctx, key)
	if t != nil && s.drop == "Token" {
		t.Extensions = nil
	}
	return t, err
}

func (s *noTokenExtensions) ConsumeToken(ctx context.Context, key string, at time.Time) (*storage.Token, error) {
	t, err := s.Store.ConsumeToken(ctx, key, at)
	if t != nil && s.drop == "ConsumeToken" {
		t.Extensions = nil
	}
	return t, err
}

// noEmptyExtensions drops the extensions of an empty value from the
// records Token returns, as an adapter that encodes the map with
// "omitempty" values, or keeps one row per non-empty value, does.
type noEmptyExtensions struct{ storagetest.Store }

func (s *noEmptyExtensions) Token(ctx context.Context, key string) (*storage.Token, error) {
	t, err := s.Store.Token(ctx, key)
	if t != nil {
		maps.DeleteFunc(t.Extensions, func(_, v string) bool { return v == "" })
	}
	return t, err
}

// keptTokenExtensions returns, as a record's Extensions, the map its
// creator passed in.
type keptTokenExtensions struct {
	storagetest.Store
	sh sharer
}

func (s *keptTokenExtensions) CreateTokens(ctx context.Context, tokens ...*storage.Token) error {
	err := s.Store.CreateTokens(ctx, tokens...)
	if err == nil {
		for _, t := range tokens {
			share(&s.sh, t.Key, t.Extensions)
		}
	}
	return err
}

func (s *keptTokenExtensions) Token(ctx context.Context, key string) (*storage.Token, error) {
	t, err := s.Store.Token(ctx, key)
	if t != nil {
		t.Extensions = share(&s.sh, key, t.Extensions)
	}
	return t, err
}

// noCodeExtensions forgets the Extensions of the code records that the
// method named drop returns.
type noCodeExtensions struct {
	storagetest.Store
	drop string
}

func (s *noCodeExtensions) AuthorizationCode(ctx context.Context, key string) (*storage.AuthorizationCode, error) {
	c, err := s.Store.AuthorizationCode(ctx, key)
	if c != nil && s.drop == "AuthorizationCode" {
		c.Extensions = nil
	}
	return c, err
}

func (s *noCodeExtensions) ConsumeAuthorizationCode(ctx context.Context, key string, at time.Time) (*storage.AuthorizationCode, error) {
	c, err := s.Store.ConsumeAuthorizationCode(ctx, key, at)
	if c != nil && s.drop == "ConsumeAuthorizationCode" {
		c.Extensions = nil
	}
	return c, err
}

// sharedCodeExtensions returns code records that share their Extensions.
type sharedCodeExtensions struct {
	storagetest.Store
	sh sharer
}

func (s *sharedCodeExtensions) AuthorizationCode(ctx context.Context, key string) (*storage.AuthorizationCode, error) {
	c, err := s.Store.AuthorizationCode(ctx, key)
	if c != nil {
		c.Extensions = share(&s.sh, key, c.Extensions)
	}
	return c, err
}

// forgetParameters forgets a request's extension parameters.
func forgetParameters(r *storage.AuthorizationRequest) { r.Parameters = nil }

// sharedInteractionParameters returns interactions that share the
// Parameters of their request.
type sharedInteractionParameters struct {
	storagetest.Store
	sh sharer
}

func (s *sharedInteractionParameters) Interaction(ctx context.Context, key string) (*storage.Interaction, error) {
	i, err := s.Store.Interaction(ctx, key)
	if i != nil {
		i.Request.Parameters = share(&s.sh, key, i.Request.Parameters)
	}
	return i, err
}

// brokenSessionEnv names the variable that makes
// TestLoginSessionSuiteCatchesBrokenStores run RunLoginSessionStore
// against one broken store, in a child process.
const brokenSessionEnv = "STORAGETEST_BROKEN_SESSIONS"

// brokenSessionStores are login session stores that break one rule of
// storage.LoginSessionStore the way a hand-written adapter does, with the
// test (below "LoginSessionStore") that must catch it.
var brokenSessionStores = map[string]struct {
	wrap   func(s *memory.Store) storage.LoginSessionStore
	caught []string
}{
	"none (control)": {
		wrap:   func(s *memory.Store) storage.LoginSessionStore { return s },
		caught: nil,
	},
	"AddSessionClient reads the clients, then writes them back": {
		wrap: func(s *memory.Store) storage.LoginSessionStore { return &addReadThenWrite{Store: s} },
		caught: []string{"AddSessionClient",
			"concurrent additions of different clients: every one stays, once"},
	},
	"AddSessionClient adds a client again": {
		wrap:   func(s *memory.Store) storage.LoginSessionStore { return &addAgain{Store: s, again: true} },
		caught: []string{"AddSessionClient", "adds each client once, in the order of first addition"},
	},
	"AddSessionClient checks for the client, then adds it": {
		wrap:   func(s *memory.Store) storage.LoginSessionStore { return &addAgain{Store: s, checkFirst: true} },
		caught: []string{"AddSessionClient", "concurrent additions of one client: it is added once"},
	},
	"AddSessionClient ignores MaxSessionClients": {
		wrap:   func(s *memory.Store) storage.LoginSessionStore { return &addAgain{Store: s, unbounded: true} },
		caught: []string{"AddSessionClient", "stops at MaxSessionClients without an error"},
	},
	"DeleteLoginSession returns no session": {
		wrap:   func(s *memory.Store) storage.LoginSessionStore { return &deleteReturnsNothing{Store: s} },
		caught: []string{"DeleteLoginSession", "returns the session as it was, then it is gone"},
	},
	"DeleteLoginSession reads, then deletes": {
		wrap:   func(s *memory.Store) storage.LoginSessionStore { return &deleteReadThenDelete{Store: s} },
		caught: []string{"DeleteLoginSession", "concurrent deletions: exactly one gets the session"},
	},
	"LoginSession shares Clients": {
		wrap: func(s *memory.Store) storage.LoginSessionStore { return &sharedSessionClients{Store: s} },
		caught: []string{"Copies",
			"the session LoginSession returns may be modified: the stored one stays"},
	},
	"CreateLoginSession keeps the caller's AMR": {
		wrap: func(s *memory.Store) storage.LoginSessionStore { return &keptSessionAMR{Store: s} },
		caught: []string{"Copies",
			"the session given to CreateLoginSession may be modified afterwards"},
	},
	"LoginSession returns times in the server's zone": {
		wrap:   func(s *memory.Store) storage.LoginSessionStore { return &localSessionTimes{Store: s} },
		caught: []string{"CreateLoginSession", "round trip keeps every field, times in UTC"},
	},
	"LoginSessionByID finds ended sessions": {
		wrap:   func(s *memory.Store) storage.LoginSessionStore { return &byIDRemembers{Store: s} },
		caught: []string{"LoginSessionByID", "an ended session is ErrNotFound"},
	},
	"LoginSessionByID finds expired sessions": {
		wrap: func(s *memory.Store) storage.LoginSessionStore { return &byIDRemembers{Store: s, forgetDeleted: true} },
		caught: []string{"LoginSessionByID",
			"an expired session is ErrNotFound once LoginSession says so, else whole"},
	},
	"LoginSessionByID shares Clients": {
		wrap: func(s *memory.Store) storage.LoginSessionStore { return &sharedSessionClientsByID{Store: s} },
		caught: []string{"Copies",
			"the session LoginSessionByID returns may be modified: the stored one stays"},
	},
	"LoginSessionByID returns the session created last, whatever its ID": {
		wrap:   func(s *memory.Store) storage.LoginSessionStore { return &byIDLast{Store: s} },
		caught: []string{"LoginSessionByID", "a session is found by its ID, every field as LoginSession returns it"},
	},
	"LoginSessionByID looks the ID up as a key": {
		wrap:   func(s *memory.Store) storage.LoginSessionStore { return &byIDAsKey{Store: s} },
		caught: []string{"LoginSessionByID", "a session is found by its ID, every field as LoginSession returns it"},
	},
	"LoginSessionByID matches a prefix": {
		wrap: func(s *memory.Store) storage.LoginSessionStore {
			return &byIDPrefix{byIDRemembers: byIDRemembers{Store: s}}
		},
		caught: []string{"LoginSessionByID", "an unknown ID is ErrNotFound, IDs matched exactly"},
	},
	"LoginSessionByID matches a LIKE pattern": {
		wrap: func(s *memory.Store) storage.LoginSessionStore {
			return &byIDPrefix{byIDRemembers: byIDRemembers{Store: s}}
		},
		caught: []string{"Input", "LoginSessionByID of a LIKE pattern of any ID finds nothing"},
	},
	"LoginSessionByID indexes one session per ID": {
		wrap: func(s *memory.Store) storage.LoginSessionStore { return &byIDUnique{Store: s} },
		caught: []string{"LoginSessionByID",
			"two sessions with one ID: either is found, then the one left when the first is deleted"},
	},
	"LoginSessionByID ignores the context": {
		wrap:   func(s *memory.Store) storage.LoginSessionStore { return &byIDNoContext{Store: s} },
		caught: []string{"Context", "cancelled LoginSessionByID is an error"},
	},
}

func TestLoginSessionSuiteCatchesBrokenStores(t *testing.T) {
	if name := os.Getenv(brokenSessionEnv); name != "" {
		b := brokenSessionStores[name]
		storagetest.RunLoginSessionStore(t, func(t *testing.T) storage.LoginSessionStore { return b.wrap(memory.New()) })
		return
	}
	control := []string{"CreateLoginSession", "round trip keeps every field, times in UTC"}
	for name, b := range brokenSessionStores {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			path := b.caught
			if path == nil {
				path = control
			}
			path = append([]string{"TestLoginSessionSuiteCatchesBrokenStores", "LoginSessionStore"}, path...)
			pattern := "^" + regexp.QuoteMeta(path[0]) + "$"
			for _, elem := range path[1:] {
				pattern += "/^" + regexp.QuoteMeta(strings.ReplaceAll(elem, " ", "_")) + "$"
			}
			cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run="+pattern, "-test.v", "-test.count=1")
			cmd.Env = append(os.Environ(), brokenSessionEnv+"="+name)
			out, err := cmd.CombinedOutput()
			full := strings.ReplaceAll(strings.Join(path, "/"), " ", "_")
			if b.caught == nil {
				assert.NoError(t, err, "the unbroken store passes:\n%s", out)
				assert.Contains(t, string(out), "--- PASS: "+full+" ", "the test ran and passed")
				return
			}
			var exit *exec.ExitError
			require.True(t, errors.As(err, &exit), "the suite must fail against the broken store (err %v):\n%s", err, out)
			assert.Contains(t, string(out), "--- FAIL: "+full+" ", "the test that must catch it failed")
		})
	}
}

// addReadThenWrite reads a session's clients and writes them back with the
// new one, in two steps: concurrent additions overwrite each other.
type addReadThenWrite struct {
	*memory.Store
	mu sync.Mutex
}

func (s *addReadThenWrite) AddSessionClient(ctx context.Context, key, clientID string) error {
	ls, err := s.LoginSession(ctx, key)
	if err != nil {
		return err
	}
	if slices.Contains(ls.Clients, clientID) || len(ls.Clients) >= storage.MaxSessionClients {
		return nil
	}
	// Another writer may write between the read above and the write
	// below; a database round trip gives it the time this pause does.
	time.Sleep(time.Millisecond)
	s.mu.Lock()
	defer s.mu.Unlock()
	ls.Clients = append(ls.Clients, clientID)
	return replaceSession(ctx, s.Store, ls)
}

// replaceSession writes ls in place of the session under its key.
func replaceSession(ctx context.Context, s *memory.Store, ls *storage.LoginSession) error {
	if _, err := s.DeleteLoginSession(ctx, ls.Key); err != nil {
		return err
	}
	return s.CreateLoginSession(ctx, ls)
}

// addAgain adds a client under a lock of its own, with one check left
// out: with again, whether the session has the client; with checkFirst,
// the same check made before taking the lock; with unbounded, the bound of
// MaxSessionClients.
type addAgain struct {
	*memory.Store
	mu                           sync.Mutex
	again, checkFirst, unbounded bool
}

func (s *addAgain) AddSessionClient(ctx context.Context, key, clientID string) error {
	if s.checkFirst {
		ls, err := s.LoginSession(ctx, key)
		if err != nil {
			return err
		}
		if slices.Contains(ls.Clients, clientID) {
			return nil
		}
		// Another caller may add the client meanwhile.
		time.Sleep(time.Millisecond)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ls, err := s.LoginSession(ctx, key)
	if err != nil {
		return err
	}
	if !s.again && !s.checkFirst && slices.Contains(ls.Clients, clientID) {
		return nil
	}
	if !s.unbounded && len(ls.Clients) >= storage.MaxSessionClients {
		return nil
	}
	ls.Clients = append(ls.Clients, clientID)
	return replaceSession(ctx, s.Store, ls)
}

// deleteReturnsNothing deletes and returns no session.
type deleteReturnsNothing struct{ *memory.Store }

func (s *deleteReturnsNothing) DeleteLoginSession(ctx context.Context, key string) (*storage.LoginSession, error) {
	_, err := s.Store.DeleteLoginSession(ctx, key)
	return nil, err
}

// deleteReadThenDelete reads a session, then deletes it whether or not
// another caller did meanwhile: every concurrent caller gets it.
type deleteReadThenDelete struct{ *memory.Store }

func (s *deleteReadThenDelete) DeleteLoginSession(ctx context.Context, key string) (*storage.LoginSession, error) {
	ls, err := s.LoginSession(ctx, key)
	if err != nil {
		return nil, err
	}
	time.Sleep(time.Millisecond)
	_, _ = s.Store.DeleteLoginSession(ctx, key)
	return ls, nil
}

// sharedSessionClients hands every caller the Clients list of the first
// read of a session.
type sharedSessionClients struct {
	*memory.Store
	sh sharer
}

func (s *sharedSessionClients) LoginSession(ctx context.Context, key string) (*storage.LoginSession, error) {
	ls, err := s.Store.LoginSession(ctx, key)
	if err == nil {
		ls.Clients = share(&s.sh, key, ls.Clients)
	}
	return ls, err
}

// keptSessionAMR keeps the AMR list it is given and returns it.
type keptSessionAMR struct {
	*memory.Store
	mu  sync.Mutex
	amr map[string][]string
}

func (s *keptSessionAMR) CreateLoginSession(ctx context.Context, ls *storage.LoginSession) error {
	err := s.Store.CreateLoginSession(ctx, ls)
	if err == nil {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.amr == nil {
			s.amr = map[string][]string{}
		}
		s.amr[ls.Key] = ls.AMR
	}
	return err
}

func (s *keptSessionAMR) LoginSession(ctx context.Context, key string) (*storage.LoginSession, error) {
	ls, err := s.Store.LoginSession(ctx, key)
	if err == nil {
		s.mu.Lock()
		defer s.mu.Unlock()
		if amr, ok := s.amr[key]; ok {
			ls.AMR = amr
		}
	}
	return ls, err
}

// localSessionTimes returns times in a zone other than UTC.
type localSessionTimes struct{ *memory.Store }

func (s *localSessionTimes) LoginSession(ctx context.Context, key string) (*storage.LoginSession, error) {
	ls, err := s.Store.LoginSession(ctx, key)
	if err == nil {
		zone := time.FixedZone("UTC-5", -5*60*60)
		ls.AuthTime, ls.CreatedAt, ls.ExpiresAt = ls.AuthTime.In(zone), ls.CreatedAt.In(zone), ls.ExpiresAt.In(zone)
	}
	return ls, err
}

// copyOfSession returns a deep copy of ls, its times in UTC, as the
// memory store returns sessions.
func copyOfSession(ls *storage.LoginSession) *storage.LoginSession {
	c := *ls
	c.AMR, c.Clients = slices.Clone(ls.AMR), slices.Clone(ls.Clients)
	c.AuthTime, c.CreatedAt, c.ExpiresAt = ls.AuthTime.UTC(), ls.CreatedAt.UTC(), ls.ExpiresAt.UTC()
	return &c
}

// byIDRemembers keeps a copy of every session it creates, in the order
// created, and when the store finds no session with an ID returns the
// copy of one that has it: an index by ID that a deletion does not
// update, or (with forgetDeleted) that is updated by deletions but never
// checks expiry.
type byIDRemembers struct {
	*memory.Store
	forgetDeleted bool
	mu            sync.Mutex
	created       []*storage.LoginSession
}

func (s *byIDRemembers) CreateLoginSession(ctx context.Context, ls *storage.LoginSession) error {
	err := s.Store.CreateLoginSession(ctx, ls)
	if err == nil {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.created = append(s.created, copyOfSession(ls))
	}
	return err
}

func (s *byIDRemembers) DeleteLoginSession(ctx context.Context, key string) (*storage.LoginSession, error) {
	ls, err := s.Store.DeleteLoginSession(ctx, key)
	if s.forgetDeleted {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.created = slices.DeleteFunc(s.created, func(c *storage.LoginSession) bool { return c.Key == key })
	}
	return ls, err
}

func (s *byIDRemembers) LoginSessionByID(ctx context.Context, id string) (*storage.LoginSession, error) {
	ls, err := s.Store.LoginSessionByID(ctx, id)
	if !errors.Is(err, storage.ErrNotFound) {
		return ls, err
	}
	return s.remembered(func(c *storage.LoginSession) bool { return c.ID == id }, err)
}

// remembered returns a copy of the last session created that match
// accepts, or err.
func (s *byIDRemembers) remembered(match func(*storage.LoginSession) bool, err error) (*storage.LoginSession, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range slices.Backward(s.created) {
		if match(c) {
			return copyOfSession(c), nil
		}
	}
	return nil, err
}

// byIDPrefix finds a session whose ID starts with id, as a query of
// "id LIKE ? || '%'", or a LIKE of id itself, would.
type byIDPrefix struct{ byIDRemembers }

func (s *byIDPrefix) LoginSessionByID(ctx context.Context, id string) (*storage.LoginSession, error) {
	return s.remembered(func(c *storage.LoginSession) bool {
		return strings.HasPrefix(c.ID, id) || id == "%"
	}, storage.ErrNotFound)
}

// sharedSessionClientsByID hands every caller the Clients list of the
// first read of a session by its ID.
type sharedSessionClientsByID struct {
	*memory.Store
	sh sharer
}

func (s *sharedSessionClientsByID) LoginSessionByID(ctx context.Context, id string) (*storage.LoginSession, error) {
	ls, err := s.Store.LoginSessionByID(ctx, id)
	if err == nil {
		ls.Clients = share(&s.sh, id, ls.Clients)
	}
	return ls, err
}

// byIDLast returns the session created last, whatever its ID: a query
// whose condition on the ID was left out.
type byIDLast struct {
	*memory.Store
	mu   sync.Mutex
	last string
}

func (s *byIDLast) CreateLoginSession(ctx context.Context, ls *storage.LoginSession) error {
	err := s.Store.CreateLoginSession(ctx, ls)
	if err == nil {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.last = ls.Key
	}
	return err
}

func (s *byIDLast) LoginSessionByID(ctx context.Context, _ string) (*storage.LoginSession, error) {
	s.mu.Lock()
	last := s.last
	s.mu.Unlock()
	return s.Store.LoginSession(ctx, last)
}

// byIDAsKey looks the ID up as a key: a copy of LoginSession whose
// statement was not changed.
type byIDAsKey struct{ *memory.Store }

func (s *byIDAsKey) LoginSessionByID(ctx context.Context, id string) (*storage.LoginSession, error) {
	return s.Store.LoginSession(ctx, id)
}

// byIDUnique keeps an index of one key per ID, the last created, and
// drops the ID when a session that has it is deleted: a unique index on
// the ID, or a map of ID to key, which the moment two sessions share an
// ID breaks.
type byIDUnique struct {
	*memory.Store
	mu   sync.Mutex
	keys map[string]string
}

func (s *byIDUnique) CreateLoginSession(ctx context.Context, ls *storage.LoginSession) error {
	err := s.Store.CreateLoginSession(ctx, ls)
	if err == nil {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.keys == nil {
			s.keys = map[string]string{}
		}
		s.keys[ls.ID] = ls.Key
	}
	return err
}

func (s *byIDUnique) DeleteLoginSession(ctx context.Context, key string) (*storage.LoginSession, error) {
	ls, err := s.Store.DeleteLoginSession(ctx, key)
	if err == nil {
		s.mu.Lock()
		defer s.mu.Unlock()
		delete(s.keys, ls.ID)
	}
	return ls, err
}

func (s *byIDUnique) LoginSessionByID(ctx context.Context, id string) (*storage.LoginSession, error) {
	s.mu.Lock()
	key, ok := s.keys[id]
	s.mu.Unlock()
	if !ok {
		return nil, storage.ErrNotFound
	}
	return s.Store.LoginSession(ctx, key)
}

// byIDNoContext finds the session whatever its context.
type byIDNoContext struct{ *memory.Store }

func (s *byIDNoContext) LoginSessionByID(_ context.Context, id string) (*storage.LoginSession, error) {
	return s.Store.LoginSessionByID(context.Background(), id)
}
