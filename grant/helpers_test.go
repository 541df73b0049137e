package grant_test

import (
	"net/http/httptest"

	"github.com/grantor-dev/grantor/grant"
	"github.com/grantor-dev/grantor/oauth2"
	"github.com/grantor-dev/grantor/storage"
	"github.com/grantor-dev/grantor/storage/memory"
)

func httptestRecorder() *httptest.ResponseRecorder { return httptest.NewRecorder() }

// storageClient is a confidential client registered for the code flow.
func storageClient(id, redirectURI string) storage.Client {
	return storage.Client{ID: id, RedirectURIs: []string{redirectURI},
		GrantTypes: []string{"authorization_code", "refresh_token"}, Scopes: []string{"read", "write"}}
}

func grantAuthorizationCode(store *memory.Store) oauth2.GrantFactory {
	return grant.AuthorizationCode(store, grant.AuthorizationCodeOptions{})
}

// storageClientCC is a confidential client of the client credentials
// grant.
func storageClientCC(id string) storage.Client {
	return storage.Client{ID: id, GrantTypes: []string{"client_credentials"}, Scopes: []string{"read"}}
}

// storageClientRS is a resource server that may introspect tokens for
// resource.
func storageClientRS(id, resource string) storage.Client {
	return storage.Client{ID: id, Resources: []string{resource}}
}
