package memory_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/grantor-dev/grantor/storage"
	"github.com/grantor-dev/grantor/storage/memory"
)

// The memory store keeps deep copies and returns copies: changing a
// client after PutClient, or changing what Client returned, changes
// nothing in the store.
func ExampleStore_Client() {
	store := memory.New()
	c := &storage.Client{ID: "billing", GrantTypes: []string{"client_credentials"}, Scopes: []string{"invoices:read"}}
	if err := store.PutClient(c); err != nil {
		log.Fatal(err)
	}
	c.Scopes[0] = "admin"

	got, err := store.Client(context.Background(), "billing")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(got.Scopes)
	got.Scopes[0] = "admin"
	again, _ := store.Client(context.Background(), "billing")
	fmt.Println(again.Scopes)

	_, err = store.Client(context.Background(), "nobody")
	fmt.Println(errors.Is(err, storage.ErrNotFound))
	// Output:
	// [invoices:read]
	// [invoices:read]
	// true
}
