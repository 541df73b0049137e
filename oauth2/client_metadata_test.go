package oauth2_test

import (
	"strings"
	"testing"

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
