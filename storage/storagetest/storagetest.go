package storagetest

import (
	"testing"

	"github.com/grantor-dev/grantor/storage"
)

// Store is what the suite tests: a store implementing every storage
// interface of package storage.
type Store interface {
	storage.ClientStore
	storage.RefreshTokenStore
	storage.ReplayStore
	storage.InteractionStore
	storage.AuthorizationCodeStore
	storage.PushedRequestStore
}

// NewStore returns a new, empty store that holds exactly the given clients
// (package storage has no interface to write clients, so each adapter seeds
// them its own way). It fails t if it cannot, and registers with t.Cleanup
// whatever must be released.
type NewStore func(t *testing.T, clients ...*storage.Client) Store

// Run runs the conformance suite against stores made by newStore, one fresh
// store per subtest. Subtest names state the rule they check, for example
// "ConsumeToken/concurrent callers: exactly one wins".
func Run(t *testing.T, newStore NewStore) {
	t.Helper()
	if newStore == nil {
		t.Fatal("storagetest: nil NewStore")
	}
	t.Run("Client", func(t *testing.T) { testClient(t, newStore) })
	t.Run("CreateTokens", func(t *testing.T) { testCreateTokens(t, newStore) })
	t.Run("Token", func(t *testing.T) { testToken(t, newStore) })
	t.Run("RevokeToken", func(t *testing.T) { testRevokeToken(t, newStore) })
	t.Run("RevokeGrant", func(t *testing.T) { testRevokeGrant(t, newStore) })
	t.Run("ConsumeToken", func(t *testing.T) { testConsumeToken(t, newStore) })
	t.Run("Remember", func(t *testing.T) { testRemember(t, newStore) })
	t.Run("CreateInteraction", func(t *testing.T) { testCreateOnce(t, newStore, interactions) })
	t.Run("Interaction", func(t *testing.T) { testGetOnce(t, newStore, interactions) })
	t.Run("CompleteInteraction", func(t *testing.T) { testUseOnce(t, newStore, interactions) })
	t.Run("CreateAuthorizationCode", func(t *testing.T) {
		testCreateOnce(t, newStore, authorizationCodes)
		testAuthorizationCodeClaims(t, newStore)
	})
	t.Run("AuthorizationCode", func(t *testing.T) { testGetOnce(t, newStore, authorizationCodes) })
	t.Run("ConsumeAuthorizationCode", func(t *testing.T) { testUseOnce(t, newStore, authorizationCodes) })
	t.Run("CreatePushedRequest", func(t *testing.T) { testCreateOnce(t, newStore, pushedRequests) })
	t.Run("PushedRequest", func(t *testing.T) { testGetOnce(t, newStore, pushedRequests) })
	t.Run("ConsumePushedRequest", func(t *testing.T) { testUseOnce(t, newStore, pushedRequests) })
	t.Run("Keys", func(t *testing.T) {
		t.Run("each kind of record has its own keys", func(t *testing.T) { testIndependentKeys(t, newStore) })
	})
	t.Run("Context", func(t *testing.T) { testContext(t, newStore) })
	t.Run("Size", func(t *testing.T) { testSize(t, newStore) })
	t.Run("Text", func(t *testing.T) { testText(t, newStore) })
}
