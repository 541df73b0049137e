// Package grant implements the grant types of the token endpoint as
// handler factories for an oauth2.Provider.
//
// Each factory takes exactly the storage its grant needs, so a store that
// lacks an operation fails to compile:
//
//	p, err := oauth2.NewProvider(oauth2.Config{
//		Issuer:    "https://as.example",
//		Clients:   store,
//		Tokens:    store,
//		TokenKeys: [][]byte{key},
//		Grants: []oauth2.GrantFactory{
//			grant.ClientCredentials(grant.ClientCredentialsOptions{}),
//			grant.RefreshToken(store, grant.RefreshTokenOptions{}),
//		},
//	})
//
// An application adds a grant type of its own by writing an
// oauth2.GrantHandler and registering its factory the same way.
package grant
