package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/oauth2"
)

// writeClients writes a clients file holding the metadata objects clients
// and returns its path.
func writeClients(t *testing.T, clients ...map[string]any) string {
	t.Helper()
	doc, err := json.Marshal(clients)
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "clients.json")
	require.NoError(t, os.WriteFile(path, doc, 0o600))
	return path
}

// clientAssertion is a client assertion of client for aud (RFC 7523 §3):
// iss and sub the client, aud a single string, as the issuer identifier
// must be (draft-ietf-oauth-rfc7523bis §4), which jwx's jwt package would
// write as an array, a fresh jti, a lifetime of a minute; signed with
// key's private key (ES256, its kid in the header), or MACed with it when
// it is a client secret (HS256).
func clientAssertion(t *testing.T, key *signingKey, client, aud string) string {
	t.Helper()
	now := time.Now()
	claims, err := json.Marshal(map[string]any{"iss": client, "sub": client, "aud": aud,
		"jti": rand.Text(), "iat": now.Unix(), "exp": now.Add(time.Minute).Unix()})
	require.NoError(t, err)
	hdr := jws.NewHeaders()
	require.NoError(t, hdr.Set(jws.TypeKey, "JWT"))
	alg := jwa.ES256
	if key.private.KeyType() == jwa.OctetSeq {
		alg = jwa.HS256 // client_secret_jwt: the key is the client secret
	}
	signed, err := jws.Sign(claims, jws.WithKey(alg, key.private, jws.WithProtectedHeaders(hdr)))
	require.NoError(t, err)
	return string(signed)
}

// assertionForm is a client credentials request authenticated with a
// client assertion (RFC 7523 §2.2), without client_id, which the
// assertion's sub names (RFC 7521 §4.2).
func assertionForm(assertion string) url.Values {
	return url.Values{"grant_type": {"client_credentials"}, "scope": {"read"},
		"client_assertion_type": {oauth2.ClientAssertionTypeJWTBearer}, "client_assertion": {assertion}}
}

// refusedClient checks that r refuses the client's authentication: 401
// invalid_client (RFC 6749 §5.2, RFC 7523 §3.2).
func refusedClient(t *testing.T, r *response, msg string) {
	t.Helper()
	assert.Equal(t, http.StatusUnauthorized, r.status, "%s: %v", msg, r.body)
	assert.Equal(t, "invalid_client", r.str("error"), "%s: %v", msg, r.body)
	assert.Empty(t, r.str("access_token"), msg)
}

// Clients of the clients file registered with private_key_jwt, by jwks and
// by jwks_uri, authenticate with an ES256 client assertion whose aud is
// the issuer (RFC 7523 §2.2 and §3), and those registered with
// client_secret_jwt with an HS256 one keyed with their secret (OpenID
// Connect Core §9), in every store: a token for a signed assertion,
// invalid_client for the same assertion again (RFC 7523 §3 item 7) and
// for one signed with another key. The metadata document advertises the
// methods (RFC 8414 §2).
func TestJWTClientsEndToEnd(t *testing.T) {
	inline := newSigningKey(t, "inline-1")
	remote := newSigningKey(t, "remote-1")
	var fetches atomic.Int32
	jwksSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fetches.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(remote.jwks(t))
	}))
	t.Cleanup(jwksSrv.Close)
	for _, storeFlag := range everyStore(t) {
		t.Run(strings.SplitN(storeFlag, ":", 2)[0], func(t *testing.T) {
			spec, err := parseStore(storeFlag)
			require.NoError(t, err)
			st, err := openStore(context.Background(), spec)
			require.NoError(t, err)
			t.Cleanup(func() { assert.NoError(t, st.close()) })
			ts := httptest.NewUnstartedServer(nil)
			issuer := "http://" + ts.Listener.Addr().String()
			clients := writeClients(t, map[string]any{
				"client_id": "signer", "token_endpoint_auth_method": "private_key_jwt", "jwks": inline.jwks(t),
				"grant_types": []string{"client_credentials"}, "scope": "read write",
			}, map[string]any{
				"client_id": "published", "token_endpoint_auth_method": "private_key_jwt", "jwks_uri": jwksSrv.URL + "/jwks.json",
				"grant_types": []string{"client_credentials"}, "scope": "read write",
			}, map[string]any{
				"client_id": "hmac", "token_endpoint_auth_method": "client_secret_jwt", "client_secret": hmacSecret,
				"grant_types": []string{"client_credentials"}, "scope": "read write",
			}, map[string]any{
				"client_id": "api", "client_secret": e2eSecret, "resources": []string{issuer},
			})
			var out bytes.Buffer
			// The test's jwks_uri is on loopback, behind a certificate of
			// its own: the fetcher's client trusts it.
			srv, err := newServer(context.Background(), options{issuer: issuer, tokens: "opaque", clients: clients,
				secretFile: testSecretFile, jwksFetcher: &oauth2.JWKSFetcher{HTTPClient: jwksSrv.Client()}}, st, &out)
			require.NoError(t, err)
			ts.Config.Handler = srv.handler
			ts.Start()
			t.Cleanup(ts.Close)

			t.Cleanup(func() { t.Log(out.String()) })
			m := srv.provider.Metadata()
			assert.Contains(t, m.TokenEndpointAuthMethodsSupported, oauth2.AuthMethodPrivateKeyJWT, "RFC 8414 §2")
			assert.Contains(t, m.TokenEndpointAuthSigningAlgsSupported, "ES256", "RFC 8414 §2")
			assert.Contains(t, m.TokenEndpointAuthMethodsSupported, oauth2.AuthMethodClientSecretJWT,
				"client_secret_jwt is served: the clients file registers such a client")
			assert.Contains(t, m.TokenEndpointAuthSigningAlgsSupported, "HS256", "RFC 8414 §2")
			rec, err := st.Client(context.Background(), "hmac")
			require.NoError(t, err)
			assert.Empty(t, rec.SecretHash, "the secret of a client_secret_jwt client stays in the clients file")
			assert.Contains(t, m.TokenEndpointAuthMethodsSupported, oauth2.AuthMethodClientSecretBasic, "secrets still work")

			for _, c := range []struct {
				client   string
				key      *signingKey
				stranger *signingKey
			}{
				{"signer", inline, newSigningKey(t, "inline-1")},
				{"published", remote, newSigningKey(t, "remote-1")},
				{"hmac", hmacKey(t, hmacSecret), hmacKey(t, strings.Repeat("x", 40))},
			} {
				t.Run(c.client, func(t *testing.T) {
					assertion := clientAssertion(t, c.key, c.client, issuer)
					r := postForm(t, issuer+"/token", assertionForm(assertion), "", "")
					tok := accessToken(t, r)
					info := postForm(t, issuer+"/introspect", url.Values{"token": {tok}}, "api", e2eSecret)
					require.Equal(t, http.StatusOK, info.status, "%v", info.body)
					assert.Equal(t, true, info.body["active"])
					assert.Equal(t, c.client, info.body["client_id"])
					assert.Equal(t, "read", info.body["scope"])

					refusedClient(t, postForm(t, issuer+"/token", assertionForm(assertion), "", ""),
						"RFC 7523 §3 item 7: a replayed assertion")
					refusedClient(t, postForm(t, issuer+"/token",
						assertionForm(clientAssertion(t, c.stranger, c.client, issuer)), "", ""),
						"an assertion signed with a key the client did not register")
					refusedClient(t, postForm(t, issuer+"/token",
						assertionForm(clientAssertion(t, c.key, c.client, issuer+"/token")), "", ""),
						"aud is the issuer, not the token endpoint")
				})
			}
			assert.NotZero(t, fetches.Load(), "the jwks_uri was fetched")
		})
	}
}

// hmacSecret is the client secret of a client_secret_jwt client: its HMAC
// key (RFC 7518 §3.2 wants 32 bytes or more for HS256).
const hmacSecret = "a client secret long enough to key HS256"

// hmacKey is a client secret as the key of client_secret_jwt assertions.
func hmacKey(t *testing.T, secret string) *signingKey {
	t.Helper()
	k, err := jwk.FromRaw([]byte(secret))
	require.NoError(t, err)
	return &signingKey{private: k}
}

// Client metadata that the server could not honour, or should not hold,
// stops it at start-up with the file's name and the reason: keys in jwks
// are public (RFC 7591 §2), a jwks_uri is https and stands alone, and
// client_secret_jwt, whose HMAC key is the secret itself, needs a secret
// of 32 bytes or more (RFC 7518 §3.2), not a hash.
func TestJWTClientMetadataRefusedAtStart(t *testing.T) {
	key := newSigningKey(t, "k1")
	privateSet, err := json.Marshal(map[string]any{"keys": []any{key.private}})
	require.NoError(t, err)
	symmetric, err := jwk.FromRaw([]byte(strings.Repeat("k", 32)))
	require.NoError(t, err)
	symmetricSet, err := json.Marshal(map[string]any{"keys": []any{symmetric}})
	require.NoError(t, err)
	pkjwt := func(extra map[string]any) map[string]any {
		m := map[string]any{"client_id": "svc", "token_endpoint_auth_method": "private_key_jwt",
			"grant_types": []string{"client_credentials"}, "scope": "read"}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	for _, c := range []struct {
		name   string
		client map[string]any
		reason string
	}{
		{"a private key in jwks", pkjwt(map[string]any{"jwks": json.RawMessage(privateSet)}), "jwks holds a private key"},
		{"a symmetric key in jwks", pkjwt(map[string]any{"jwks": json.RawMessage(symmetricSet)}), "jwks holds a symmetric key"},
		{"an empty jwks", pkjwt(map[string]any{"jwks": map[string]any{"keys": []any{}}}), "jwks holds no key"},
		{"jwks that is not a JWK Set", pkjwt(map[string]any{"jwks": "keys"}), "jwks is not a JWK Set"},
		{"an http jwks_uri", pkjwt(map[string]any{"jwks_uri": "http://svc.example/jwks.json"}), "jwks_uri must be an https URL"},
		{"both jwks and jwks_uri", pkjwt(map[string]any{"jwks": key.jwks(t), "jwks_uri": "https://svc.example/jwks.json"}),
			"private_key_jwt needs exactly one of jwks and jwks_uri"},
		{"neither jwks nor jwks_uri", pkjwt(nil), "private_key_jwt needs exactly one of jwks and jwks_uri"},
		{"client_secret_jwt with a short secret", map[string]any{"client_id": "svc", "token_endpoint_auth_method": "client_secret_jwt",
			"client_secret": strings.Repeat("s", 31), "grant_types": []string{"client_credentials"}},
			"client_secret_jwt needs a client_secret of at least 32 bytes"},
		{"client_secret_jwt without a secret", map[string]any{"client_id": "svc", "token_endpoint_auth_method": "client_secret_jwt",
			"grant_types": []string{"client_credentials"}}, "client_secret_jwt needs a client_secret of at least 32 bytes"},
		{"client_secret_jwt with a secret hash", map[string]any{"client_id": "svc", "token_endpoint_auth_method": "client_secret_jwt",
			"client_secret_hash": "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2g", "grant_types": []string{"client_credentials"}},
			"not a client_secret_hash"},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := writeClients(t, c.client)
			out, err := startErr(t, "-clients", path)
			assert.ErrorContains(t, err, path)
			assert.ErrorContains(t, err, `client "svc"`)
			assert.ErrorContains(t, err, c.reason)
			assert.NotContains(t, err.Error(), strings.Repeat("s", 31), "the secret is not repeated")
			assert.NotContains(t, out, "Grantor example authorization server", "the server did not start")
		})
	}
}

// README.md's private_key_jwt client loads from a clients file as written,
// and gets a token with an assertion that README.md describes, signed with
// the private half of its key (testdata/readme-reports-key.json, a key for
// this test only).
func TestReadmePrivateKeyJWTClientWorks(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	_, section, _ := strings.Cut(string(readme), "\n## Try the example server\n")
	section, _, _ = strings.Cut(section, "\n## ")
	var block string
	for _, b := range strings.Split(section, "```json\n")[1:] {
		if b, _, _ = strings.Cut(b, "```"); strings.Contains(b, "private_key_jwt") {
			block = b
		}
	}
	require.NotEmpty(t, block, "README.md shows a private_key_jwt client")
	var clients []struct {
		ID     string `json:"client_id"`
		Method string `json:"token_endpoint_auth_method"`
		Scope  string `json:"scope"`
	}
	require.NoError(t, json.Unmarshal([]byte(block), &clients))
	require.Len(t, clients, 1)
	c := clients[0]
	require.Equal(t, "private_key_jwt", c.Method)

	raw, err := os.ReadFile(filepath.Join("testdata", "readme-reports-key.json"))
	require.NoError(t, err)
	private, err := jwk.ParseKey(raw)
	require.NoError(t, err)
	public, err := private.PublicKey()
	require.NoError(t, err)
	key := &signingKey{private: private, public: public}
	x, ok := public.Get("x")
	require.True(t, ok, "an EC key")
	assert.Contains(t, block, base64.RawURLEncoding.EncodeToString(x.([]byte)), "README.md registers the public half of the test's key")

	path := filepath.Join(t.TempDir(), "clients.json")
	require.NoError(t, os.WriteFile(path, []byte(block), 0o600))
	addr, out := startServer(t, "-clients", path)
	issuer := "http://" + addr
	assert.Contains(t, out.String(), "loaded 1 clients")
	form := assertionForm(clientAssertion(t, key, c.ID, issuer))
	form.Set("scope", c.Scope)
	accessToken(t, postForm(t, issuer+"/token", form, "", ""))
}
