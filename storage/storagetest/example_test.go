package storagetest_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/storage"
	"github.com/grantor-dev/grantor/storage/memory"
	"github.com/grantor-dev/grantor/storage/storagetest"
)

// clientCredentialsStore is what an application that uses only the client
// credentials grant implements: storage.ClientStore and storage.TokenStore,
// five methods. Here the in-memory store stands in for its database.
type clientCredentialsStore struct {
	storage.ClientStore
	storage.TokenStore
}

func newClientCredentialsStore(t *testing.T, clients ...*storage.Client) *clientCredentialsStore {
	s := memory.New()
	for _, c := range clients {
		require.NoError(t, s.PutClient(c))
	}
	return &clientCredentialsStore{ClientStore: s, TokenStore: s}
}

// TestClientCredentialsStore runs the suites of the two interfaces a
// client credentials application implements, against a store that has
// no other method.
func TestClientCredentialsStore(t *testing.T) {
	storagetest.RunClientStore(t, func(t *testing.T, clients ...*storage.Client) storage.ClientStore {
		return newClientCredentialsStore(t, clients...)
	})
	storagetest.RunTokenStore(t, func(t *testing.T) storage.TokenStore {
		return newClientCredentialsStore(t)
	})
}

// An adapter for an application that issues tokens with the client
// credentials grant only implements storage.ClientStore and
// storage.TokenStore, and runs the suites of those two interfaces from a
// test of its own.
func ExampleRunTokenStore() {
	// In the adapter's _test.go file:
	testConformance := func(t *testing.T) {
		storagetest.RunClientStore(t, func(t *testing.T, clients ...*storage.Client) storage.ClientStore {
			s := memory.New() // the adapter under test, holding exactly these clients
			for _, c := range clients {
				require.NoError(t, s.PutClient(c))
			}
			return s
		})
		storagetest.RunTokenStore(t, func(t *testing.T) storage.TokenStore {
			return memory.New() // the adapter under test, empty
		})
	}
	_ = testConformance
}

// Faulty makes a store fail where a test says, to check what the code
// above storage does then.
func ExampleFaulty() {
	ctx := context.Background()
	f := storagetest.NewFaulty(memory.New())
	now := time.Now()
	tok := &storage.Token{Key: "k", Kind: storage.AccessToken, GrantID: "g", ClientID: "c",
		IssuedAt: now, ExpiresAt: now.Add(time.Hour)}

	f.Fail(storagetest.OpCreateTokens, nil)
	err := f.CreateTokens(ctx, tok)
	fmt.Println("injected:", errors.Is(err, storagetest.ErrInjected))
	_, err = f.Token(ctx, "k")
	fmt.Println("stored:", !errors.Is(err, storage.ErrNotFound))

	f.Heal()
	fmt.Println("healed:", f.CreateTokens(ctx, tok) == nil)
	fmt.Println("calls:", f.Calls(storagetest.OpCreateTokens))
	// Output:
	// injected: true
	// stored: false
	// healed: true
	// calls: 2
}
