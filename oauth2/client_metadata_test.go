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

// openIDClient returns the metadata of a confidential web client to which
// the OpenID Connect tests add their members. Its secret hash is a fast
// one from GenerateClientSecret, so that the many cases stay quick.
func openIDClient(t *testing.T) oauth2.ClientMetadata {
	t.Helper()
	_, hash, err := oauth2.GenerateClientSecret(nil)
	require.NoError(t, err)
	return oauth2.ClientMetadata{ClientID: "rp", ClientSecretHash: hash, RedirectURIs: []string{"https://rp.example/cb"}}
}

// Every OpenID Connect member (OpenID Connect Dynamic Client Registration
// 1.0 §2, RP-Initiated Logout 1.0 §3.1, Back-Channel Logout 1.0 §2.2) is
// read from its registered name, written back under it, and carried into
// the client record.
func TestClientMetadataOpenIDMembersRoundTrip(t *testing.T) {
	_, hash, err := oauth2.GenerateClientSecret(nil)
	require.NoError(t, err)
	doc := `{
		"client_id": "rp",
		"client_secret_hash": "` + hash + `",
		"redirect_uris": ["https://a.rp.example/cb", "https://b.rp.example/cb"],
		"subject_type": "pairwise",
		"sector_identifier_uri": "https://rp.example/sector.json",
		"id_token_signed_response_alg": "PS256",
		"userinfo_signed_response_alg": "ES384",
		"require_auth_time": true,
		"default_max_age": 3600,
		"post_logout_redirect_uris": ["https://a.rp.example/bye", "https://b.rp.example/bye?from=op"],
		"backchannel_logout_uri": "https://rp.example/bcl?tenant=7",
		"backchannel_logout_session_required": true
	}`
	var m oauth2.ClientMetadata
	require.NoError(t, json.Unmarshal([]byte(doc), &m))
	out, err := json.Marshal(&m)
	require.NoError(t, err)
	assert.JSONEq(t, doc, string(out), "every member is written back under its registered name")

	c, err := m.Client()
	require.NoError(t, err)
	assert.Equal(t, "pairwise", c.SubjectType)
	assert.Equal(t, "https://rp.example/sector.json", c.SectorIdentifierURI)
	assert.Equal(t, "PS256", c.IDTokenSignedResponseAlg)
	assert.Equal(t, "ES384", c.UserinfoSignedResponseAlg)
	assert.True(t, c.RequireAuthTime)
	assert.Equal(t, time.Hour, c.DefaultMaxAge)
	assert.Equal(t, []string{"https://a.rp.example/bye", "https://b.rp.example/bye?from=op"}, c.PostLogoutRedirectURIs)
	assert.Equal(t, "https://rp.example/bcl?tenant=7", c.BackchannelLogoutURI)
	assert.True(t, c.BackchannelLogoutSessionRequired)

	require.NotEmpty(t, c.PostLogoutRedirectURIs)
	m.PostLogoutRedirectURIs[0] = "https://changed.example/"
	assert.Equal(t, "https://a.rp.example/bye", c.PostLogoutRedirectURIs[0], "the record does not share the metadata's list")
}

// A client without OpenID Connect members gets a record without them:
// the OpenID Provider's defaults, no max_age, no logout URIs.
func TestClientMetadataWithoutOpenIDMembers(t *testing.T) {
	m := openIDClient(t)
	c, err := m.Client()
	require.NoError(t, err)
	assert.Empty(t, c.SubjectType)
	assert.Empty(t, c.SectorIdentifierURI)
	assert.Empty(t, c.IDTokenSignedResponseAlg)
	assert.Empty(t, c.UserinfoSignedResponseAlg)
	assert.False(t, c.RequireAuthTime)
	assert.Zero(t, c.DefaultMaxAge)
	assert.Empty(t, c.PostLogoutRedirectURIs)
	assert.Empty(t, c.BackchannelLogoutURI)
	assert.False(t, c.BackchannelLogoutSessionRequired)

	out, err := json.Marshal(&m)
	require.NoError(t, err)
	for _, member := range []string{"subject_type", "sector_identifier_uri", "id_token_signed_response_alg",
		"userinfo_signed_response_alg", "require_auth_time", "default_max_age", "post_logout_redirect_uris",
		"backchannel_logout_uri", "backchannel_logout_session_required"} {
		assert.NotContains(t, string(out), member, "an absent member is not written")
	}
}

// checkOpenIDRows runs the rows of an OpenID Connect member's rule: each
// accepted row gives a record, each refused row an error naming member
// and no record.
func checkOpenIDRows(t *testing.T, member string, accepted, refused map[string]func(*oauth2.ClientMetadata)) {
	t.Helper()
	for name, edit := range accepted {
		t.Run(name+" is accepted", func(t *testing.T) {
			m := openIDClient(t)
			edit(&m)
			c, err := m.Client()
			require.NoError(t, err)
			assert.NotNil(t, c)
		})
	}
	for name, edit := range refused {
		t.Run(name+" is refused", func(t *testing.T) {
			m := openIDClient(t)
			edit(&m)
			c, err := m.Client()
			assert.ErrorContains(t, err, member, "the error names the member")
			assert.Nil(t, c)
		})
	}
}

// default_max_age is whole seconds (OpenID Connect Dynamic Client
// Registration 1.0 §2), bounded as the token lifetimes are. 0 ("log in
// again on every request") cannot be kept by the record, where zero means
// no default, so it is refused rather than silently dropped.
func TestClientMetadataDefaultMaxAge(t *testing.T) {
	t.Run("whole seconds become the record's duration", func(t *testing.T) {
		for seconds, want := range map[int64]time.Duration{1: time.Second, 300: 5 * time.Minute, 86400: 24 * time.Hour} {
			m := openIDClient(t)
			m.DefaultMaxAge = new(seconds)
			c, err := m.Client()
			require.NoError(t, err)
			assert.Equal(t, want, c.DefaultMaxAge)
		}
	})

	t.Run("absent means no default max_age", func(t *testing.T) {
		var m oauth2.ClientMetadata
		require.NoError(t, json.Unmarshal([]byte(`{"client_id":"rp","token_endpoint_auth_method":"none"}`), &m))
		assert.Nil(t, m.DefaultMaxAge)
		c, err := m.Client()
		require.NoError(t, err)
		assert.Zero(t, c.DefaultMaxAge)
	})

	t.Run("a fraction of a second is not JSON for the metadata", func(t *testing.T) {
		var m oauth2.ClientMetadata
		assert.Error(t, json.Unmarshal([]byte(`{"client_id":"rp","default_max_age":1.5}`), &m))
	})

	maxAge := func(v int64) func(*oauth2.ClientMetadata) {
		return func(m *oauth2.ClientMetadata) { m.DefaultMaxAge = &v }
	}
	checkOpenIDRows(t, "default_max_age", nil, map[string]func(*oauth2.ClientMetadata){
		"negative default_max_age":                        maxAge(-1),
		"default_max_age 0":                               maxAge(0),
		"default_max_age past what a time.Duration holds": maxAge(math.MaxInt64/int64(time.Second) + 1),
		"default_max_age of math.MaxInt64":                maxAge(math.MaxInt64),
	})

	t.Run("an explicit 0 in JSON is refused", func(t *testing.T) {
		var m oauth2.ClientMetadata
		require.NoError(t, json.Unmarshal([]byte(`{"client_id":"rp","token_endpoint_auth_method":"none","default_max_age":0}`), &m))
		c, err := m.Client()
		assert.ErrorContains(t, err, "default_max_age")
		assert.Nil(t, c)
	})
}

// require_auth_time (Dynamic Client Registration 1.0 §2) and
// backchannel_logout_session_required (Back-Channel Logout 1.0 §2.2) are
// carried into the record. The latter is accepted without a
// backchannel_logout_uri, since it also puts "sid" into ID tokens.
func TestClientMetadataOpenIDFlags(t *testing.T) {
	for doc, want := range map[string][2]bool{
		`{"require_auth_time":true}`:                   {true, false},
		`{"backchannel_logout_session_required":true}`: {false, true},
		`{"backchannel_logout_session_required":true,"backchannel_logout_uri":"https://rp.example/bcl"}`: {false, true},
		`{}`: {false, false},
	} {
		m := openIDClient(t)
		require.NoError(t, json.Unmarshal([]byte(doc), &m))
		c, err := m.Client()
		require.NoError(t, err, doc)
		assert.Equal(t, want[0], c.RequireAuthTime, doc)
		assert.Equal(t, want[1], c.BackchannelLogoutSessionRequired, doc)
	}
}
