package oauth2_test

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/oauth2"
)

// RFC 6749 §3.1.2, RFC 9700 §2.1, §2.6 (Keycloak CVE-2026-9086): bad
// redirect URIs cannot be registered.
func TestBadRedirectURIsCannotBeRegistered(t *testing.T) {
	bad := []string{
		"https://c.example/cb#f",
		"https://c.example/cb#",
		"http://c.example/cb",
		"http://localhost/cb",
		"http://LOCALHOST/cb",
		"http://LocalHost:8080/cb",
		"JaVaScRiPt:alert(1)",
		"javascript:alert(1)",
		"data:text/html,<script>alert(1)</script>",
		"file:///etc/passwd",
		"https://*.c.example/*",
		"https://c.example*",
		"myapp:/cb",
		"/relative/cb",
		"https://user@c.example/cb",
		"https:///cb",
	}
	for _, uri := range bad {
		assert.Error(t, oauth2.ValidateRedirectURI(uri), uri)
		m := oauth2.ClientMetadata{ClientID: "c", TokenEndpointAuthMethod: "none", RedirectURIs: []string{uri}}
		_, err := m.Client()
		assert.Error(t, err, uri)
	}
	for _, uri := range []string{"https://c.example/cb", "https://c.example/cb?x=1", "http://127.0.0.1/cb",
		"http://127.0.0.1:51004/cb", "http://[::1]/cb", "com.example.app:/oauth2redirect"} {
		assert.NoError(t, oauth2.ValidateRedirectURI(uri), uri)
	}
}

func TestClientMetadataToClient(t *testing.T) {
	m := oauth2.ClientMetadata{
		ClientID: "billing", ClientName: "Billing", ClientSecret: "hunter2-hunter2",
		GrantTypes: []string{"client_credentials"}, Scope: "a b", DefaultScope: "a",
		Audience: []string{"https://api.example"}, Resources: []string{"https://api.example"},
	}
	c, err := m.Client()
	require.NoError(t, err)
	assert.Equal(t, "billing", c.ID)
	assert.Equal(t, "client_secret_basic", c.AuthMethod(), "RFC 7591 default")
	assert.Equal(t, []string{"a", "b"}, c.Scopes)
	assert.Equal(t, []string{"a"}, c.DefaultScopes)
	assert.Equal(t, []string{"https://api.example"}, c.Resources)
	assert.True(t, strings.HasPrefix(c.SecretHash, "$argon2id$"))
	assert.NoError(t, oauth2.VerifyClientSecret(c.SecretHash, "hunter2-hunter2"))

	_, hash, err := oauth2.GenerateClientSecret(nil)
	require.NoError(t, err)
	c, err = (&oauth2.ClientMetadata{ClientID: "x", ClientSecretHash: hash}).Client()
	require.NoError(t, err)
	assert.Equal(t, hash, c.SecretHash)
	assert.Equal(t, []string{"authorization_code"}, c.GrantTypes, "RFC 7591 default")
}

func TestClientMetadataRefusesInconsistentRegistrations(t *testing.T) {
	cases := map[string]oauth2.ClientMetadata{
		"no client_id":                 {ClientSecret: "s"},
		"secret method without secret": {ClientID: "a"},
		"public client with a secret":  {ClientID: "a", TokenEndpointAuthMethod: "none", ClientSecret: "s"},
		"secret and hash":              {ClientID: "a", ClientSecret: "s", ClientSecretHash: "$argon2id$x"},
		"unknown hash format":          {ClientID: "a", ClientSecretHash: "md5:abc"},
		"unknown method":               {ClientID: "a", TokenEndpointAuthMethod: "tls_client_auth_typo"},
		"private_key_jwt without keys": {ClientID: "a", TokenEndpointAuthMethod: "private_key_jwt"},
		"private_key_jwt with both":    {ClientID: "a", TokenEndpointAuthMethod: "private_key_jwt", JWKS: []byte(`{"keys":[]}`), JWKSURI: "https://a.example/jwks"},
		"http jwks_uri":                {ClientID: "a", TokenEndpointAuthMethod: "private_key_jwt", JWKSURI: "http://a.example/jwks"},
		"jwks for a secret method":     {ClientID: "a", ClientSecret: "s", JWKS: []byte(`{"keys":[]}`)},
		"default scope outside scope":  {ClientID: "a", ClientSecret: "s", Scope: "a", DefaultScope: "b"},
		"malformed scope":              {ClientID: "a", ClientSecret: "s", Scope: "a  b"},
	}
	for name, m := range cases {
		_, err := m.Client()
		assert.Error(t, err, name)
	}
}

// Per-client token lifetimes are Grantor extensions of the registration
// metadata (RFC 7591 §2 allows extensions), in whole seconds.
func TestClientMetadataLifetimes(t *testing.T) {
	t.Run("whole seconds become the client's lifetimes", func(t *testing.T) {
		var m oauth2.ClientMetadata
		require.NoError(t, json.Unmarshal([]byte(`{"client_id":"a","client_secret":"s",
			"access_token_lifetime":300,"refresh_token_lifetime":86400}`), &m))
		c, err := m.Client()
		require.NoError(t, err)
		assert.Equal(t, 5*time.Minute, c.AccessTokenLifetime)
		assert.Equal(t, 24*time.Hour, c.RefreshTokenLifetime)
	})

	t.Run("absent means the Provider's default (zero)", func(t *testing.T) {
		var m oauth2.ClientMetadata
		require.NoError(t, json.Unmarshal([]byte(`{"client_id":"a","client_secret":"s"}`), &m))
		c, err := m.Client()
		require.NoError(t, err)
		assert.Zero(t, c.AccessTokenLifetime)
		assert.Zero(t, c.RefreshTokenLifetime)
	})

	t.Run("a fraction of a second is not JSON for the metadata", func(t *testing.T) {
		var m oauth2.ClientMetadata
		assert.Error(t, json.Unmarshal([]byte(`{"client_id":"a","access_token_lifetime":1.5}`), &m))
	})

	for name, m := range map[string]oauth2.ClientMetadata{
		"negative access_token_lifetime":  {ClientID: "a", ClientSecret: "s", AccessTokenLifetime: -1},
		"negative refresh_token_lifetime": {ClientID: "a", ClientSecret: "s", RefreshTokenLifetime: -60},
		"access_token_lifetime past what a time.Duration holds": {ClientID: "a", ClientSecret: "s",
			AccessTokenLifetime: math.MaxInt64/int64(time.Second) + 1},
		"refresh_token_lifetime past what a time.Duration holds": {ClientID: "a", ClientSecret: "s",
			RefreshTokenLifetime: math.MaxInt64},
	} {
		t.Run(name+" is an error", func(t *testing.T) {
			c, err := m.Client()
			assert.Error(t, err)
			assert.Nil(t, c)
		})
	}
}

// dpop_bound_access_tokens (RFC 9449 §5.2) is read into the client record.
func TestClientMetadataDPoPBoundAccessTokens(t *testing.T) {
	for doc, want := range map[string]bool{
		`{"client_id":"a","client_secret":"s","dpop_bound_access_tokens":true}`: true,
		`{"client_id":"a","client_secret":"s"}`:                                 false,
	} {
		var m oauth2.ClientMetadata
		require.NoError(t, json.Unmarshal([]byte(doc), &m))
		c, err := m.Client()
		require.NoError(t, err)
		assert.Equal(t, want, c.DPoPBoundAccessTokens, doc)
	}
}
