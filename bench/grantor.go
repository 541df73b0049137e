package bench

import (
	"crypto/rand"

	"github.com/grantor-dev/grantor/grant"
	"github.com/grantor-dev/grantor/oauth2"
	"github.com/grantor-dev/grantor/storage"
	"github.com/grantor-dev/grantor/storage/memory"
)

// NewGrantor returns Grantor configured as examples/server is with opaque
// tokens: the memory store, the authorization code, client credentials and
// refresh token grants, and a client whose secret comes from
// oauth2.GenerateClientSecret (stored as a salted HMAC-SHA-256). The
// Provider's whole handler is served, not only its token endpoint.
func NewGrantor() (*Server, error) {
	st := memory.New()
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	p, err := oauth2.NewProvider(oauth2.Config{
		Issuer:          "https://as.example",
		Clients:         st,
		Tokens:          st,
		TokenKeys:       [][]byte{key},
		ScopesSupported: []string{"read", "write"},
		Grants: []oauth2.GrantFactory{
			grant.AuthorizationCode(st, grant.AuthorizationCodeOptions{}),
			grant.ClientCredentials(grant.ClientCredentialsOptions{}),
			grant.RefreshToken(st, grant.RefreshTokenOptions{}),
		},
		Interactions:   st,
		PushedRequests: st,
		LoginURL:       "/login",
	})
	if err != nil {
		return nil, err
	}
	secret, hash, err := oauth2.GenerateClientSecret(nil)
	if err != nil {
		return nil, err
	}
	if err := st.PutClient(&storage.Client{
		ID:            benchClientID,
		SecretHash:    hash,
		GrantTypes:    []string{grant.GrantTypeClientCredentials, grant.GrantTypeRefreshToken},
		Scopes:        []string{"read", "write"},
		DefaultScopes: []string{"read"},
	}); err != nil {
		return nil, err
	}
	return &Server{Handler: p.Handler(), ClientID: benchClientID, ClientSecret: secret}, nil
}
