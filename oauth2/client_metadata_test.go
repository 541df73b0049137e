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

// subject_type is "public" or "pairwise" (OpenID Connect Core §8,
// Dynamic Client Registration 1.0 §2).
func TestClientMetadataSubjectType(t *testing.T) {
	st := func(v string) func(*oauth2.ClientMetadata) {
		return func(m *oauth2.ClientMetadata) { m.SubjectType = v }
	}
	checkOpenIDRows(t, "subject_type", map[string]func(*oauth2.ClientMetadata){
		"absent subject_type":   st(""),
		"public subject_type":   st("public"),
		"pairwise subject_type": st("pairwise"),
	}, map[string]func(*oauth2.ClientMetadata){
		"unknown subject_type":                st("ppid"),
		"subject_type in another case":        st("Pairwise"),
		"subject_type with surrounding space": st(" public"),
	})
}

// sector_identifier_uri is an https URL (OpenID Connect Core §8.1), and,
// as the Provider's default subject type may be pairwise, it is accepted
// with any subject_type.
func TestClientMetadataSectorIdentifierURI(t *testing.T) {
	sector := func(subjectType, uri string) func(*oauth2.ClientMetadata) {
		return func(m *oauth2.ClientMetadata) { m.SubjectType, m.SectorIdentifierURI = subjectType, uri }
	}
	checkOpenIDRows(t, "sector_identifier_uri", map[string]func(*oauth2.ClientMetadata){
		"https sector_identifier_uri of a pairwise client":      sector("pairwise", "https://rp.example/sector.json"),
		"sector_identifier_uri with a port and a query":         sector("pairwise", "https://rp.example:8443/s?v=2"),
		"sector_identifier_uri of a public client":              sector("public", "https://rp.example/sector.json"),
		"sector_identifier_uri without subject_type":            sector("", "https://rp.example/sector.json"),
		"sector_identifier_uri with an upper-case https scheme": sector("pairwise", "HTTPS://rp.example/sector.json"),
	}, map[string]func(*oauth2.ClientMetadata){
		"http sector_identifier_uri":                   sector("pairwise", "http://rp.example/sector.json"),
		"http sector_identifier_uri on loopback":       sector("pairwise", "http://127.0.0.1/sector.json"),
		"sector_identifier_uri with a fragment":        sector("pairwise", "https://rp.example/sector.json#x"),
		"sector_identifier_uri with an empty fragment": sector("pairwise", "https://rp.example/sector.json#"),
		"relative sector_identifier_uri":               sector("pairwise", "/sector.json"),
		"sector_identifier_uri without a host":         sector("pairwise", "https:///sector.json"),
		"sector_identifier_uri with user information":  sector("pairwise", "https://u:p@rp.example/sector.json"),
		"javascript sector_identifier_uri":             sector("public", "javascript:alert(1)"),
		"unparsable sector_identifier_uri":             sector("public", "https://rp.example/%zz"),
	})
}

// OpenID Connect Core §8.1: without a sector_identifier_uri the sector of
// a pairwise client is the host of its redirect URIs, so "if there are
// multiple hostnames in the registered redirect_uris, the Client MUST
// register a sector_identifier_uri".
func TestClientMetadataPairwiseRedirectHosts(t *testing.T) {
	pairwise := func(sector string, uris ...string) func(*oauth2.ClientMetadata) {
		return func(m *oauth2.ClientMetadata) {
			m.SubjectType, m.SectorIdentifierURI, m.RedirectURIs = "pairwise", sector, uris
		}
	}
	checkOpenIDRows(t, "sector_identifier_uri", map[string]func(*oauth2.ClientMetadata){
		"pairwise client with one redirect URI": pairwise("", "https://rp.example/cb"),
		"pairwise client with redirect URIs on one host, several paths and ports": pairwise("",
			"https://rp.example/cb", "https://rp.example:8443/other?x=1"),
		"pairwise client with redirect URIs on one host in different cases": pairwise("",
			"https://rp.example/cb", "https://RP.Example/cb2"),
		"pairwise client with redirect URIs on two hosts and a sector_identifier_uri": pairwise(
			"https://rp.example/sector.json", "https://a.rp.example/cb", "https://b.rp.example/cb"),
		"pairwise client whose other redirect URI has a private-use scheme and no host": pairwise("",
			"https://rp.example/cb", "com.example.rp:/cb"),
		"pairwise client without redirect URIs": pairwise(""),
		"public client with redirect URIs on two hosts": func(m *oauth2.ClientMetadata) {
			m.SubjectType, m.RedirectURIs = "public", []string{"https://a.rp.example/cb", "https://b.rp.example/cb"}
		},
		"client without subject_type with redirect URIs on two hosts": func(m *oauth2.ClientMetadata) {
			m.RedirectURIs = []string{"https://a.rp.example/cb", "https://b.rp.example/cb"}
		},
	}, map[string]func(*oauth2.ClientMetadata){
		"pairwise client with redirect URIs on two hosts": pairwise("",
			"https://a.rp.example/cb", "https://b.rp.example/cb"),
		"pairwise client with redirect URIs on two loopback addresses": pairwise("",
			"http://127.0.0.1/cb", "http://[::1]/cb"),
		"pairwise client with redirect URIs on a host and a loopback address": pairwise("",
			"https://rp.example/cb", "http://127.0.0.1:8080/cb"),
	})

	m := openIDClient(t)
	pairwise("", "https://a.rp.example/cb", "https://b.rp.example/cb")(&m)
	_, err := m.Client()
	assert.ErrorContains(t, err, "more than one host", "the error says why")
}

// id_token_signed_response_alg and userinfo_signed_response_alg name one
// of the asymmetric JWS algorithms (RFC 7518 §3.1, RFC 8037 §3.1): never
// "none", which would leave ID tokens and UserInfo responses unsigned,
// and never a MAC (HS256, HS384, HS512), since Grantor signs with its own
// asymmetric keys only. JWS "alg" values are case-sensitive (RFC 7515
// §4.1.1).
func TestClientMetadataSignedResponseAlgs(t *testing.T) {
	for member, set := range map[string]func(*oauth2.ClientMetadata, string){
		"id_token_signed_response_alg": func(m *oauth2.ClientMetadata, alg string) { m.IDTokenSignedResponseAlg = alg },
		"userinfo_signed_response_alg": func(m *oauth2.ClientMetadata, alg string) { m.UserinfoSignedResponseAlg = alg },
	} {
		t.Run(member, func(t *testing.T) {
			alg := func(v string) func(*oauth2.ClientMetadata) {
				return func(m *oauth2.ClientMetadata) { set(m, v) }
			}
			accepted := map[string]func(*oauth2.ClientMetadata){"absent " + member: alg("")}
			for _, a := range []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"} {
				accepted[member+" "+a] = alg(a)
			}
			checkOpenIDRows(t, member, accepted, map[string]func(*oauth2.ClientMetadata){
				member + " none":                   alg("none"),
				member + " NONE":                   alg("NONE"),
				member + " None":                   alg("None"),
				member + " HS256":                  alg("HS256"),
				member + " HS384":                  alg("HS384"),
				member + " HS512":                  alg("HS512"),
				member + " hs256":                  alg("hs256"),
				member + " in lower case (rs256)":  alg("rs256"),
				member + " unknown (ES256K)":       alg("ES256K"),
				member + " a key management alg":   alg("RSA-OAEP"),
				member + " with surrounding space": alg(" ES256"),
			})
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

// post_logout_redirect_uris (RP-Initiated Logout 1.0 §3.1) are where the
// browser is sent after a logout: each is held to the rules of a redirect
// URI (ValidateRedirectURI), and a list names each once.
func TestClientMetadataPostLogoutRedirectURIs(t *testing.T) {
	uris := func(v ...string) func(*oauth2.ClientMetadata) {
		return func(m *oauth2.ClientMetadata) { m.PostLogoutRedirectURIs = v }
	}
	checkOpenIDRows(t, "post_logout_redirect_uris", map[string]func(*oauth2.ClientMetadata){
		"https post_logout_redirect_uris":                                uris("https://rp.example/bye", "https://rp.example/bye?x=1"),
		"post_logout_redirect_uris on a loopback IP literal with a port": uris("http://127.0.0.1:51004/bye", "http://[::1]/bye"),
		"post_logout_redirect_uris with a private-use scheme":            uris("com.example.rp:/bye"),
		"post_logout_redirect_uris on another host than redirect_uris":   uris("https://www.rp.example/bye"),
	}, map[string]func(*oauth2.ClientMetadata){
		"post_logout_redirect_uris with a fragment":               uris("https://rp.example/bye#f"),
		"post_logout_redirect_uris with an empty fragment":        uris("https://rp.example/bye#"),
		"http post_logout_redirect_uris":                          uris("http://rp.example/bye"),
		"http post_logout_redirect_uris on localhost":             uris("http://localhost/bye"),
		"javascript post_logout_redirect_uris":                    uris("JaVaScRiPt:alert(1)"),
		"data post_logout_redirect_uris":                          uris("data:text/html,<script>alert(1)</script>"),
		"post_logout_redirect_uris with a wildcard":               uris("https://*.rp.example/bye"),
		"relative post_logout_redirect_uris":                      uris("/bye"),
		"post_logout_redirect_uris with user information":         uris("https://user@rp.example/bye"),
		"post_logout_redirect_uris without a host":                uris("https:///bye"),
		"a bad URI after a good one in post_logout_redirect_uris": uris("https://rp.example/bye", "file:///etc/passwd"),
		"post_logout_redirect_uris naming a URI twice":            uris("https://rp.example/bye", "https://rp.example/other", "https://rp.example/bye"),
	})
}

// backchannel_logout_uri (Back-Channel Logout 1.0 §2.2) "MUST be an
// absolute URI" and "MUST NOT include a fragment component"; it may carry
// a port, a path and a query. It SHOULD be https, and "MAY use the http
// scheme, provided that the Client Type is confidential ... and provided
// the OP allows the use of http RP URIs": Grantor allows http only on a
// loopback IP literal, for development.
func TestClientMetadataBackchannelLogoutURI(t *testing.T) {
	bcl := func(uri string) func(*oauth2.ClientMetadata) {
		return func(m *oauth2.ClientMetadata) { m.BackchannelLogoutURI = uri }
	}
	public := func(uri string) func(*oauth2.ClientMetadata) {
		return func(m *oauth2.ClientMetadata) {
			m.BackchannelLogoutURI, m.ClientSecretHash, m.TokenEndpointAuthMethod = uri, "", oauth2.AuthMethodNone
		}
	}
	checkOpenIDRows(t, "backchannel_logout_uri", map[string]func(*oauth2.ClientMetadata){
		"https backchannel_logout_uri":                                      bcl("https://rp.example/bcl"),
		"backchannel_logout_uri with a port, a path and a query":            bcl("https://rp.example:8443/a/bcl?tenant=7&x=y"),
		"backchannel_logout_uri with an upper-case https scheme":            bcl("HTTPS://rp.example/bcl"),
		"http backchannel_logout_uri of a confidential client on 127.0.0.1": bcl("http://127.0.0.1:8080/bcl"),
		"http backchannel_logout_uri of a confidential client on ::1":       bcl("http://[::1]/bcl"),
		"https backchannel_logout_uri of a public client":                   public("https://rp.example/bcl"),
	}, map[string]func(*oauth2.ClientMetadata){
		"http backchannel_logout_uri":                                             bcl("http://rp.example/bcl"),
		"http backchannel_logout_uri on localhost":                                bcl("http://localhost:8080/bcl"),
		"http backchannel_logout_uri of a public client on a loopback IP literal": public("http://127.0.0.1:8080/bcl"),
		"backchannel_logout_uri with a fragment":                                  bcl("https://rp.example/bcl#f"),
		"backchannel_logout_uri with an empty fragment":                           bcl("https://rp.example/bcl#"),
		"relative backchannel_logout_uri":                                         bcl("/bcl"),
		"backchannel_logout_uri without a host":                                   bcl("https:///bcl"),
		"backchannel_logout_uri with user information":                            bcl("https://user@rp.example/bcl"),
		"ftp backchannel_logout_uri":                                              bcl("ftp://rp.example/bcl"),
		"javascript backchannel_logout_uri":                                       bcl("javascript:alert(1)"),
		"mailto backchannel_logout_uri":                                           bcl("mailto:logout@rp.example"),
		"file backchannel_logout_uri":                                             bcl("file:///etc/passwd"),
		"private-use scheme backchannel_logout_uri":                               bcl("com.example.rp://rp.example/bcl"),
		"unparsable backchannel_logout_uri":                                       bcl("https://rp.example/%zz"),
	})

	t.Run("the error does not repeat a password in the URI", func(t *testing.T) {
		m := openIDClient(t)
		m.BackchannelLogoutURI = "https://rp:hunter2-hunter2@rp.example/bcl"
		_, err := m.Client()
		require.Error(t, err)
		assert.NotContains(t, err.Error(), "hunter2")
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
