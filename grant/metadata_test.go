package grant_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/grant"
	"github.com/grantor-dev/grantor/oauth2"
	"github.com/grantor-dev/grantor/storage/memory"
)

// RFC 8414 §2: with everything registered, the metadata document lists
// every endpoint and capability, and nothing weaker than the defaults.
func TestMetadataIsComplete(t *testing.T) {
	h := newCode(t, func(cfg *oauth2.Config, store *memory.Store) {
		cfg.Grants = append(cfg.Grants, grant.ClientCredentials(grant.ClientCredentialsOptions{}))
		cfg.AccessTokens = newJWTStrategy(t, cfg.Issuer)
		cfg.ClientAuthenticators = []oauth2.ClientAuthenticator{oauth2.ClientSecretBasic{}, oauth2.ClientSecretPost{},
			oauth2.NoClientAuthentication{}, &oauth2.PrivateKeyJWT{Replay: store}}
	})
	r := h.Do(mustGet(t, h.Server.URL+oauth2.MetadataPath))
	require.Equal(t, http.StatusOK, r.Status)
	assert.Equal(t, "application/json", r.Header.Get("Content-Type"))
	iss := h.Provider.Issuer()
	assert.Equal(t, iss, r.Str("issuer"), "identical to the configured issuer")
	for field, path := range map[string]string{
		"authorization_endpoint":                "/authorize",
		"token_endpoint":                        "/token",
		"pushed_authorization_request_endpoint": "/par",
		"revocation_endpoint":                   "/revoke",
		"introspection_endpoint":                "/introspect",
		"jwks_uri":                              "/jwks.json",
	} {
		assert.Equal(t, iss+path, r.Str(field), field)
		// A client that knows only the issuer finds a live endpoint there.
		method := http.MethodPost
		if field == "jwks_uri" {
			method = http.MethodGet
		}
		req, err := http.NewRequest(method, r.Str(field), nil)
		require.NoError(t, err)
		assert.NotEqual(t, http.StatusNotFound, h.DoNoFollow(req).Status, field)
	}
	assert.ElementsMatch(t, []any{"authorization_code", "client_credentials", "refresh_token"}, r.JSON["grant_types_supported"])
	assert.Equal(t, []any{"code"}, r.JSON["response_types_supported"])
	assert.Equal(t, []any{"query", "form_post"}, r.JSON["response_modes_supported"])
	assert.Equal(t, []any{"S256"}, r.JSON["code_challenge_methods_supported"])
	assert.Equal(t, true, r.JSON["authorization_response_iss_parameter_supported"])
	assert.Equal(t, []any{"read", "write"}, r.JSON["scopes_supported"])
	assert.ElementsMatch(t, []any{"client_secret_basic", "client_secret_post", "none", "private_key_jwt"},
		r.JSON["token_endpoint_auth_methods_supported"])
	for _, field := range []string{"token_endpoint_auth_signing_alg_values_supported",
		"revocation_endpoint_auth_signing_alg_values_supported", "introspection_endpoint_auth_signing_alg_values_supported"} {
		algs, _ := r.JSON[field].([]any)
		assert.NotEmpty(t, algs, field)
		for _, a := range algs {
			assert.NotEqual(t, "none", a, field)
		}
	}
	assert.NotContains(t, r.JSON["introspection_endpoint_auth_methods_supported"], "none",
		"public clients cannot introspect")
	assert.NotContains(t, r.JSON, "require_pushed_authorization_requests", "false is left out")
}
