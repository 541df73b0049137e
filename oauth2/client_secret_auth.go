package oauth2

import (
	"context"
	"errors"

	"github.com/grantor-dev/grantor/storage"
)

var (
	errWrongCredentialKind = errors.New("the request does not carry credentials of the client's registered method")
	errNoSecretHash        = errors.New("the client has no secret hash")
)

// ClientSecretBasic authenticates clients with a secret sent in an
// Authorization: Basic header (RFC 6749 §2.3.1), method
// "client_secret_basic".
type ClientSecretBasic struct{}

// Method returns "client_secret_basic".
func (ClientSecretBasic) Method() string { return AuthMethodClientSecretBasic }

// AuthenticateClient checks the Basic secret against the client's hash.
func (ClientSecretBasic) AuthenticateClient(ctx context.Context, c *storage.Client, a *ClientAuthentication) error {
	if !a.Basic {
		return errWrongCredentialKind
	}
	return a.VerifySecret(ctx, c)
}

// ClientSecretPost authenticates clients with client_id and client_secret
// in the request body (RFC 6749 §2.3.1), method "client_secret_post".
type ClientSecretPost struct{}

// Method returns "client_secret_post".
func (ClientSecretPost) Method() string { return AuthMethodClientSecretPost }

// AuthenticateClient checks the body secret against the client's hash.
func (ClientSecretPost) AuthenticateClient(ctx context.Context, c *storage.Client, a *ClientAuthentication) error {
	if a.Basic || a.Assertion != "" {
		return errWrongCredentialKind
	}
	return a.VerifySecret(ctx, c)
}

// NoClientAuthentication accepts public clients, which identify themselves
// with client_id and present no credentials (RFC 6749 §2.1, method
// "none"). A public client that sends a secret or an assertion is refused:
// it is not what the client registered. A Basic header with an empty
// password, as some client libraries send for public clients, counts as
// no credentials.
type NoClientAuthentication struct{}

// Method returns "none".
func (NoClientAuthentication) Method() string { return AuthMethodNone }

// AuthenticateClient succeeds when the request carries no credentials.
func (NoClientAuthentication) AuthenticateClient(_ context.Context, c *storage.Client, a *ClientAuthentication) error {
	if a.Secret != "" || a.Assertion != "" {
		return errWrongCredentialKind
	}
	return nil
}
