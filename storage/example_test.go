package storage_test

import (
	"fmt"

	"github.com/grantor-dev/grantor/storage"
)

// A client authenticates with the one method it registered (RFC 7591 §2).
// Without TokenEndpointAuthMethod, a client with a secret uses
// client_secret_basic and a client without one is public.
func ExampleClient_AuthMethod() {
	for _, c := range []*storage.Client{
		{ID: "billing", SecretHash: "hash"},
		{ID: "spa"},
		{ID: "legacy", SecretHash: "hash", TokenEndpointAuthMethod: "client_secret_post"},
	} {
		fmt.Println(c.ID, c.AuthMethod(), c.IsPublic())
	}
	// Output:
	// billing client_secret_basic false
	// spa none true
	// legacy client_secret_post false
}
