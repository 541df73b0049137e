package oauth2

import (
	"context"
	"net/http"
	"time"

	"github.com/grantor-dev/grantor/storage"
)

// Client authentication methods (RFC 7591 §2, RFC 7523 §2.2, OIDC Core §9).
const (
	AuthMethodClientSecretBasic = "client_secret_basic"
	AuthMethodClientSecretPost  = "client_secret_post"
	AuthMethodClientSecretJWT   = "client_secret_jwt"
	AuthMethodPrivateKeyJWT     = "private_key_jwt"
	AuthMethodNone              = "none"
)

// ClientAssertionTypeJWTBearer is the client_assertion_type of a JWT client
// assertion (RFC 7523 §2.2).
const ClientAssertionTypeJWTBearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// ClientAuthentication is what a [ClientAuthenticator] checks: the
// credentials one request presented, extracted once by the Provider, and
// the context to check them in.
type ClientAuthentication struct {
	// ClientID is the client the request claims to be: the Basic user
	// name, the client_id parameter, or the subject of the client
	// assertion when the request has no client_id.
	ClientID string
	// Secret is the client secret from the Basic header or the
	// client_secret parameter.
	Secret string
	// Basic is true when the credentials came in an Authorization: Basic
	// header (RFC 6749 §2.3.1).
	Basic bool
	// Assertion and AssertionType are the client_assertion and
	// client_assertion_type parameters (RFC 7521 §4.2).
	Assertion     string
	AssertionType string
	// Issuer is the Provider's issuer identifier, the only audience a
	// client assertion may name (draft-ietf-oauth-rfc7523bis §4).
	Issuer string
	// Endpoint is the URL of the endpoint being called, accepted as an
	// assertion audience only when an authenticator's compatibility
	// option allows it.
	Endpoint string
	// Now is the Provider's current time.
	Now time.Time
	// Request is the HTTP request, for methods that look at the
	// connection (mutual TLS). Its body has been read.
	Request *http.Request

	secrets *secretVerifier // the Provider's; nil outside a Provider
}

// VerifySecret checks a.Secret against the stored hash of client (RFC 6749
// §2.3.1) the way the Provider's own methods do, for an application's
// authenticator that takes a client secret:
//
//   - a secret made by GenerateClientSecret (256 random bits, a fast keyed
//     hash) is checked in microseconds and never throttled: it cannot be
//     guessed, so it needs no lockout;
//   - a slow-hashed secret (HashClientSecret, bcrypt) that the Provider
//     verified lately for this client is recognised by a fast keyed check
//     kept in memory; any other attempt is counted (Config.AuthFailureLimit
//     per Config.AuthFailureWindow and client address, in Config.Limiter)
//     before it is verified, and beyond the limit refused with 429 without
//     a check. Because a client that presents its correct secret is
//     recognised, and the budgets are per address, the failures of others
//     do not lock it out.
//
// It returns nil on a match; an *Error to answer as it is (429 when
// throttled, 503 when the check could not run); any other error for a
// secret that does not prove the client.
func (a *ClientAuthentication) VerifySecret(ctx context.Context, client *storage.Client) error {
	if client.SecretHash == "" {
		// Never let an empty or unset hash match anything.
		_ = VerifyClientSecret(dummySecretHash, a.Secret)
		return errNoSecretHash
	}
	if a.secrets == nil {
		return VerifyClientSecret(client.SecretHash, a.Secret)
	}
	return a.secrets.verify(ctx, client.ID, client.SecretHash, a.Secret, a.Request)
}

// ClientAuthenticator authenticates clients registered for one method.
//
// The Provider extracts the credentials, rejects a request that presents
// more than one kind, looks up the client, and calls the authenticator of
// the client's registered method, and only that one: a client cannot
// choose a weaker method than the one it registered (RFC 9700 §2.5).
// The built-in methods are implementations of this interface; an
// application adds its own (mutual TLS, say) the same way.
type ClientAuthenticator interface {
	// Method is the token_endpoint_auth_method name (RFC 7591 §2).
	Method() string

	// AuthenticateClient returns nil when a proves the identity of
	// client. An *Error is answered as it is: return one with
	// ErrServerError when the check itself could not be made (a store or
	// key service down), so that an outage is not mistaken for a bad
	// credential. Any other error is answered with invalid_client (401);
	// it is kept for the log and never sent.
	AuthenticateClient(ctx context.Context, client *storage.Client, a *ClientAuthentication) error
}

// SigningAlgorithmsReporter is implemented by authenticators that verify
// signed assertions, so that the metadata document can list their
// algorithms (RFC 8414 §2, token_endpoint_auth_signing_alg_values_supported).
type SigningAlgorithmsReporter interface {
	SigningAlgorithms() []string
}

// Validator is implemented by configurable parts (authenticators, grant
// handlers) that NewProvider should check before it accepts them.
type Validator interface {
	Validate() error
}
