package grant

import (
	"context"
	"errors"

	"github.com/grantor-dev/grantor/oauth2"
	"github.com/grantor-dev/grantor/storage"
)

// GrantTypeClientCredentials is the grant_type of RFC 6749 §4.4.
const GrantTypeClientCredentials = "client_credentials"

// ClientSubjectPrefix starts the subject of tokens that a client obtains
// for itself: oauth2.ClientSubjectPrefix, whose namespace the Provider
// keeps for clients (RFC 9700 §4.15).
const ClientSubjectPrefix = oauth2.ClientSubjectPrefix

// ClientCredentialsOptions configure the client credentials grant.
type ClientCredentialsOptions struct {
	// Subject returns the subject ("sub") of a client's tokens. Nil means
	// ClientSubjectPrefix followed by the client_id (RFC 9068 §2.2 asks
	// for an identifier of the client). A custom function must keep
	// clients apart from users; the Provider refuses a subject with
	// ClientSubjectPrefix that names another client.
	Subject func(c *storage.Client) string

	// IssueRefreshTokens gives clients a refresh token as well. RFC 6749
	// §4.4.3 advises against it; it is off by default.
	IssueRefreshTokens bool
}

// ClientCredentials returns the factory of the client credentials grant
// (RFC 6749 §4.4): a confidential client obtains an access token for
// itself, with the scopes it asks for if it may have them, or its default
// scopes. Public clients are refused with unauthorized_client (OAuth 2.1
// §4.2).
func ClientCredentials(opts ClientCredentialsOptions) oauth2.GrantFactory {
	return func(*oauth2.Provider) (oauth2.GrantHandler, error) {
		return &clientCredentials{opts: opts}, nil
	}
}

type clientCredentials struct{ opts ClientCredentialsOptions }

func (*clientCredentials) GrantType() string { return GrantTypeClientCredentials }

func (h *clientCredentials) HandleTokenRequest(_ context.Context, req *oauth2.TokenRequest) (*oauth2.Issue, error) {
	if req.Client.IsPublic() {
		return nil, oauth2.NewError(oauth2.ErrUnauthorizedClient, "public clients cannot use the client credentials grant")
	}
	scopes, err := oauth2.ClientScopes(req.Client, req.Scopes)
	if err != nil {
		return nil, err
	}
	subject := ClientSubjectPrefix + req.Client.ID
	if h.opts.Subject != nil {
		if subject = h.opts.Subject(req.Client); subject == "" {
			return nil, oauth2.NewError(oauth2.ErrServerError, "no subject for the client").WithCause(errors.New("grant: ClientCredentialsOptions.Subject returned an empty subject"))
		}
	}
	return &oauth2.Issue{Subject: subject, Scopes: scopes, RefreshToken: h.opts.IssueRefreshTokens}, nil
}
