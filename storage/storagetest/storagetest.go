package storagetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/grantor-dev/grantor/storage"
)

// Store is what [Run] tests: a store implementing every storage interface
// of package storage.
type Store interface {
	storage.ClientStore
	storage.RefreshTokenStore
	storage.ReplayStore
	storage.InteractionStore
	storage.AuthorizationCodeStore
	storage.PushedRequestStore
	storage.DeviceAuthorizationStore
}

// NewStore returns a new, empty store that holds exactly the given clients
// (package storage has no interface to write clients, so each adapter seeds
// them its own way). It fails t if it cannot, and registers with t.Cleanup
// whatever must be released. The suite may modify the clients after the
// call, and the store must not see it: it keeps copies.
type NewStore func(t *testing.T, clients ...*storage.Client) Store

// NewClientStore returns a new store that holds exactly the given clients,
// as [NewStore] does, for [RunClientStore].
type NewClientStore func(t *testing.T, clients ...*storage.Client) storage.ClientStore

// Run runs the conformance suite against stores made by newStore, one fresh
// store per subtest: the suite of each interface ([RunClientStore],
// [RunRefreshTokenStore], which includes [RunTokenStore], [RunReplayStore],
// [RunInteractionStore], [RunAuthorizationCodeStore],
// [RunPushedRequestStore] and [RunDeviceAuthorizationStore]), and the rule
// that spans them: each kind of record has keys of its own. Subtest names state the rule they check, for
// example "RefreshTokenStore/ConsumeToken/concurrent callers: exactly one
// wins".
//
// A store that implements only some of the interfaces runs their suites
// instead; see [RunTokenStore].
func Run(t *testing.T, newStore NewStore) {
	t.Helper()
	if newStore == nil {
		t.Fatal("storagetest: nil NewStore")
	}
	RunClientStore(t, func(t *testing.T, clients ...*storage.Client) storage.ClientStore {
		return newStore(t, clients...)
	})
	RunRefreshTokenStore(t, func(t *testing.T) storage.RefreshTokenStore { return newStore(t) })
	RunReplayStore(t, func(t *testing.T) storage.ReplayStore { return newStore(t) })
	RunInteractionStore(t, func(t *testing.T) storage.InteractionStore { return newStore(t) })
	RunAuthorizationCodeStore(t, func(t *testing.T) storage.AuthorizationCodeStore { return newStore(t) })
	RunPushedRequestStore(t, func(t *testing.T) storage.PushedRequestStore { return newStore(t) })
	RunDeviceAuthorizationStore(t, func(t *testing.T) storage.DeviceAuthorizationStore { return newStore(t) })
	t.Run("Keys", func(t *testing.T) {
		t.Run("each kind of record has its own keys", func(t *testing.T) { testIndependentKeys(t, newStore) })
		t.Run("a replay key is independent of token keys", func(t *testing.T) {
			s := newStore(t)
			tok := accessToken(t, newGrantID(t))
			create(t, s, tok)
			assert.NoError(t, s.Remember(t.Context(), tok.Key, now().Add(time.Hour)))
			assertToken(t, tok, get(t, s, tok.Key))
		})
	})
}

// RunClientStore runs the conformance suite of [storage.ClientStore]
// against stores made by newStore, in a subtest named "ClientStore": every
// field of a client round trips, ids match exactly, and the returned client
// is a copy the caller may modify.
//
//	func TestClientStore(t *testing.T) {
//		storagetest.RunClientStore(t, func(t *testing.T, clients ...*storage.Client) storage.ClientStore {
//			return newMyStore(t, clients...) // a store holding exactly these clients
//		})
//	}
func RunClientStore(t *testing.T, newStore NewClientStore) {
	t.Helper()
	if newStore == nil {
		t.Fatal("storagetest: nil NewClientStore")
	}
	t.Run("ClientStore", func(t *testing.T) {
		t.Run("Client", func(t *testing.T) { testClient(t, newStore) })
		t.Run("Copies", func(t *testing.T) { testClientCopies(t, newStore) })
		t.Run("Context", func(t *testing.T) { testClientContext(t, newStore) })
		t.Run("Text", func(t *testing.T) { testClientText(t, newStore) })
	})
}

// RunTokenStore runs the conformance suite of [storage.TokenStore] against
// stores made by newStore, one fresh store per subtest, in a subtest named
// "TokenStore". With [RunClientStore] it covers an adapter for an
// application that issues tokens with the client credentials grant only:
//
//	func TestConformance(t *testing.T) {
//		storagetest.RunClientStore(t, func(t *testing.T, clients ...*storage.Client) storage.ClientStore {
//			return newMyStore(t, clients...)
//		})
//		storagetest.RunTokenStore(t, func(t *testing.T) storage.TokenStore {
//			return newMyStore(t)
//		})
//	}
//
// A store that implements [storage.RefreshTokenStore] runs
// [RunRefreshTokenStore] instead, which includes these rules.
func RunTokenStore(t *testing.T, newStore func(t *testing.T) storage.TokenStore) {
	t.Helper()
	if newStore == nil {
		t.Fatal("storagetest: nil TokenStore constructor")
	}
	t.Run("TokenStore", func(t *testing.T) { runTokenStore(t, newStore) })
}

// runTokenStore runs the rules of storage.TokenStore.
func runTokenStore(t *testing.T, newStore func(t *testing.T) storage.TokenStore) {
	t.Run("CreateTokens", func(t *testing.T) { testCreateTokens(t, newStore) })
	t.Run("Token", func(t *testing.T) { testToken(t, newStore) })
	t.Run("Extensions", func(t *testing.T) { testTokenExtensions(t, newStore) })
	t.Run("RevokeToken", func(t *testing.T) { testRevokeToken(t, newStore) })
	t.Run("RevokeGrant", func(t *testing.T) { testRevokeGrant(t, newStore) })
	t.Run("Copies", func(t *testing.T) { testTokenCopies(t, newStore) })
	t.Run("Input", func(t *testing.T) { testTokenInput(t, newStore) })
	t.Run("Context", func(t *testing.T) { testTokenContext(t, newStore) })
	t.Run("Size", func(t *testing.T) { testTokenSize(t, newStore) })
	t.Run("Text", func(t *testing.T) { testTokenText(t, newStore) })
}

// RunRefreshTokenStore runs the conformance suite of
// [storage.RefreshTokenStore] against stores made by newStore, in a subtest
// named "RefreshTokenStore": the rules of [RunTokenStore], and those of
// ConsumeToken, concurrent callers included.
//
//	storagetest.RunRefreshTokenStore(t, func(t *testing.T) storage.RefreshTokenStore {
//		return newMyStore(t)
//	})
func RunRefreshTokenStore(t *testing.T, newStore func(t *testing.T) storage.RefreshTokenStore) {
	t.Helper()
	if newStore == nil {
		t.Fatal("storagetest: nil RefreshTokenStore constructor")
	}
	t.Run("RefreshTokenStore", func(t *testing.T) {
		runTokenStore(t, func(t *testing.T) storage.TokenStore { return newStore(t) })
		t.Run("ConsumeToken", func(t *testing.T) {
			testConsumeToken(t, newStore)
			testConsumeTokenCopies(t, newStore)
			testConsumeTokenInput(t, newStore)
			testConsumeTokenContext(t, newStore)
			testConsumeTokenText(t, newStore)
		})
	})
}

// RunReplayStore runs the conformance suite of [storage.ReplayStore]
// against stores made by newStore, in a subtest named "ReplayStore".
//
//	storagetest.RunReplayStore(t, func(t *testing.T) storage.ReplayStore {
//		return newMyStore(t)
//	})
func RunReplayStore(t *testing.T, newStore func(t *testing.T) storage.ReplayStore) {
	t.Helper()
	if newStore == nil {
		t.Fatal("storagetest: nil ReplayStore constructor")
	}
	t.Run("ReplayStore", func(t *testing.T) {
		t.Run("Remember", func(t *testing.T) { testRemember(t, newStore) })
		t.Run("Input", func(t *testing.T) { testRememberInput(t, newStore) })
		t.Run("Context", func(t *testing.T) { testRememberContext(t, newStore) })
		t.Run("Size", func(t *testing.T) { testRememberSize(t, newStore) })
		t.Run("Text", func(t *testing.T) { testRememberText(t, newStore) })
	})
}

// RunInteractionStore runs the conformance suite of
// [storage.InteractionStore] against stores made by newStore, in a subtest
// named "InteractionStore".
//
//	storagetest.RunInteractionStore(t, func(t *testing.T) storage.InteractionStore {
//		return newMyStore(t)
//	})
func RunInteractionStore(t *testing.T, newStore func(t *testing.T) storage.InteractionStore) {
	t.Helper()
	if newStore == nil {
		t.Fatal("storagetest: nil InteractionStore constructor")
	}
	t.Run("InteractionStore", func(t *testing.T) {
		runOnce(t, newStore, interactions)
		t.Run("Text", func(t *testing.T) { testInteractionText(t, newStore) })
		t.Run("Size", func(t *testing.T) { testSizeOnce(t, newStore, interactions) })
	})
}

// RunAuthorizationCodeStore runs the conformance suite of
// [storage.AuthorizationCodeStore] against stores made by newStore, in a
// subtest named "AuthorizationCodeStore".
//
//	storagetest.RunAuthorizationCodeStore(t, func(t *testing.T) storage.AuthorizationCodeStore {
//		return newMyStore(t)
//	})
func RunAuthorizationCodeStore(t *testing.T, newStore func(t *testing.T) storage.AuthorizationCodeStore) {
	t.Helper()
	if newStore == nil {
		t.Fatal("storagetest: nil AuthorizationCodeStore constructor")
	}
	t.Run("AuthorizationCodeStore", func(t *testing.T) {
		runOnce(t, newStore, authorizationCodes)
		t.Run("Claims", func(t *testing.T) { testAuthorizationCodeClaims(t, newStore) })
		t.Run("Extensions", func(t *testing.T) { testAuthorizationCodeExtensions(t, newStore) })
		t.Run("Text", func(t *testing.T) { testAuthorizationCodeText(t, newStore) })
		t.Run("Size", func(t *testing.T) { testAuthorizationCodeSize(t, newStore) })
	})
}

// RunPushedRequestStore runs the conformance suite of
// [storage.PushedRequestStore] against stores made by newStore, in a
// subtest named "PushedRequestStore".
//
//	storagetest.RunPushedRequestStore(t, func(t *testing.T) storage.PushedRequestStore {
//		return newMyStore(t)
//	})
func RunPushedRequestStore(t *testing.T, newStore func(t *testing.T) storage.PushedRequestStore) {
	t.Helper()
	if newStore == nil {
		t.Fatal("storagetest: nil PushedRequestStore constructor")
	}
	t.Run("PushedRequestStore", func(t *testing.T) {
		runOnce(t, newStore, pushedRequests)
		t.Run("Text", func(t *testing.T) { testPushedRequestText(t, newStore) })
		t.Run("Size", func(t *testing.T) { testSizeOnce(t, newStore, pushedRequests) })
	})
}

// runOnce runs the rules the three stores of use-once records share.
func runOnce[S, R any](t *testing.T, newStore func(*testing.T) S, k useOnce[S, R]) {
	t.Run(k.create, func(t *testing.T) { testCreateOnce(t, newStore, k) })
	t.Run(k.get, func(t *testing.T) { testGetOnce(t, newStore, k) })
	t.Run(k.use, func(t *testing.T) { testUseOnce(t, newStore, k) })
	t.Run("Parameters", func(t *testing.T) { testParametersOnce(t, newStore, k) })
	t.Run("Copies", func(t *testing.T) { testCopiesOnce(t, newStore, k) })
	t.Run("Input", func(t *testing.T) { testInputOnce(t, newStore, k) })
	t.Run("Context", func(t *testing.T) { testCancelledOnce(t, newStore, k) })
}
