package bench

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"net/http"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/compose"
	"github.com/ory/fosite/storage"
)

// NewFosite returns fosite with its memory store, HMAC (opaque) token
// strategy and the grants Grantor's server has: authorization code with
// PKCE, client credentials and refresh token, plus introspection and
// revocation. hasher hashes and checks client secrets; nil means fosite's
// default, bcrypt at cost 12, which is what fosite's users get.
//
// The token endpoint is the one of fosite's documentation: NewAccessRequest,
// grant the requested scopes for the client credentials grant (fosite has
// already checked them against the client's), NewAccessResponse,
// WriteAccessResponse.
func NewFosite(hasher fosite.Hasher) (*Server, error) {
	ctx := context.Background()
	globalSecret := make([]byte, 32)
	if _, err := rand.Read(globalSecret); err != nil {
		return nil, err
	}
	cfg := &fosite.Config{
		AccessTokenLifespan: time.Hour,
		GlobalSecret:        globalSecret,
		ClientSecretsHasher: hasher,
	}
	secret, err := randomSecret()
	if err != nil {
		return nil, err
	}
	hash, err := cfg.GetSecretsHasher(ctx).Hash(ctx, []byte(secret))
	if err != nil {
		return nil, err
	}
	store := storage.NewMemoryStore()
	store.Clients[benchClientID] = &fosite.DefaultClient{
		ID:         benchClientID,
		Secret:     hash,
		GrantTypes: []string{"client_credentials", "refresh_token"},
		Scopes:     []string{"read", "write"},
	}
	provider := compose.Compose(cfg, store, compose.NewOAuth2HMACStrategy(cfg),
		compose.OAuth2AuthorizeExplicitFactory,
		compose.OAuth2ClientCredentialsGrantFactory,
		compose.OAuth2RefreshTokenGrantFactory,
		compose.OAuth2PKCEFactory,
		compose.OAuth2TokenIntrospectionFactory,
		compose.OAuth2TokenRevocationFactory,
	)
	mux := http.NewServeMux()
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		ar, err := provider.NewAccessRequest(ctx, r, new(fosite.DefaultSession))
		if err != nil {
			provider.WriteAccessError(ctx, w, ar, err)
			return
		}
		if ar.GetGrantTypes().ExactOne("client_credentials") {
			for _, scope := range ar.GetRequestedScopes() {
				ar.GrantScope(scope)
			}
		}
		resp, err := provider.NewAccessResponse(ctx, ar)
		if err != nil {
			provider.WriteAccessError(ctx, w, ar, err)
			return
		}
		provider.WriteAccessResponse(ctx, w, ar, resp)
	})
	return &Server{Handler: mux, ClientID: benchClientID, ClientSecret: secret}, nil
}

// SHA256Hasher is a fosite.Hasher that keeps the SHA-256 digest of a secret
// and compares digests in constant time. It is for measurement only: it
// stands for the cheapest hasher a fosite user could plug in, so that
// fosite-fast measures fosite's own cost rather than bcrypt's. (An
// unsalted fast hash is acceptable only for long random secrets, such as
// the ones generated here, never for secrets people choose.)
type SHA256Hasher struct{}

var _ fosite.Hasher = SHA256Hasher{}

// errSecretMismatch is SHA256Hasher's answer to a wrong secret; fosite turns
// it into invalid_client.
var errSecretMismatch = errors.New("bench: client secret mismatch")

// Hash returns the SHA-256 digest of data.
func (SHA256Hasher) Hash(_ context.Context, data []byte) ([]byte, error) {
	d := sha256.Sum256(data)
	return d[:], nil
}

// Compare reports whether hash is the SHA-256 digest of data, in constant
// time.
func (SHA256Hasher) Compare(_ context.Context, hash, data []byte) error {
	d := sha256.Sum256(data)
	if subtle.ConstantTimeCompare(hash, d[:]) != 1 {
		return errSecretMismatch
	}
	return nil
}
