// Package grant implements the grant types of the token endpoint as
// handler factories for an oauth2.Provider.
//
// Each factory takes exactly the storage its grant needs, so a store that
// lacks an operation fails to compile (ExampleRefreshToken runs this
// Provider):
//
//	provider, err := oauth2.NewProvider(oauth2.Config{
//		Issuer: "https://auth.example.com", Clients: store, Tokens: store, TokenKeys: [][]byte{hmacKey},
//		Grants: []oauth2.GrantFactory{
//			grant.ClientCredentials(grant.ClientCredentialsOptions{IssueRefreshTokens: true}),
//			grant.RefreshToken(store, grant.RefreshTokenOptions{}),
//		},
//	})
//	if err != nil {
//		log.Fatal(err)
//	}
//
// An application adds a grant type of its own by writing an
// oauth2.GrantHandler and registering its factory the same way.
package grant
