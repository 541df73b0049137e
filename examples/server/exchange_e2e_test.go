package main

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/lestrrat-go/jwx/v2/jwt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	xoauth2 "golang.org/x/oauth2"

	"github.com/grantor-dev/grantor/grant"
	"github.com/grantor-dev/grantor/token"
)

// idpIssuer is the trusted issuer of the exchange tests, an identity
// provider whose users the server knows as idpIssuer#sub.
const idpIssuer = "https://idp.example"

// exchangeClients is a clients file for the token exchange and JWT bearer
// tests. "web" runs the code flow (and may exchange); its access tokens
// name the API and "gateway", a service that may exchange them and has tokens of its own
// (client credentials), for the API only. "svc" exchanges its own client
// credentials tokens, "other" is any other confidential client registered
// for token exchange, "spa" a public one. "federated" presents JWT bearer
// assertions. "api" is the API, which introspects every token for it.
const exchangeClients = `[
	{"client_id": "web", "client_secret": "` + e2eSecret + `", "redirect_uris": ["http://127.0.0.1/callback"],
	 "grant_types": ["authorization_code", "refresh_token", "` + grant.GrantTypeTokenExchange + `"], "scope": "read write",
	 "audience": ["` + e2eAudience + `", "gateway"]},
	{"client_id": "gateway", "client_secret": "` + e2eSecret + `",
	 "grant_types": ["` + grant.GrantTypeTokenExchange + `", "client_credentials"], "scope": "read write",
	 "audience": ["` + e2eAudience + `"]},
	{"client_id": "svc", "client_secret": "` + e2eSecret + `",
	 "grant_types": ["client_credentials", "` + grant.GrantTypeTokenExchange + `"], "scope": "read write",
	 "audience": ["` + e2eAudience + `"]},
	{"client_id": "other", "client_secret": "` + e2eSecret + `",
	 "grant_types": ["` + grant.GrantTypeTokenExchange + `"], "scope": "read write", "audience": ["` + e2eAudience + `"]},
	{"client_id": "spa", "token_endpoint_auth_method": "none", "redirect_uris": ["http://127.0.0.1/callback"],
	 "grant_types": ["authorization_code", "` + grant.GrantTypeTokenExchange + `"], "scope": "read",
	 "audience": ["` + e2eAudience + `"]},
	{"client_id": "federated", "client_secret": "` + e2eSecret + `",
	 "grant_types": ["` + grant.GrantTypeJWTBearer + `"], "scope": "read write", "default_scope": "read",
	 "audience": ["` + e2eAudience + `"]},
	{"client_id": "api", "client_secret": "` + e2eSecret + `", "resources": ["` + e2eAudience + `"]}
]`

// signingKey is an issuer's ES256 key pair, made for a test.
type signingKey struct{ private, public jwk.Key }

// newSigningKey makes an ES256 key pair with the key ID kid.
func newSigningKey(t *testing.T, kid string) *signingKey {
	t.Helper()
	priv, err := token.GenerateSigningKey(jwa.ES256)
	require.NoError(t, err)
	require.NoError(t, priv.Set(jwk.KeyIDKey, kid))
	pub, err := priv.PublicKey()
	require.NoError(t, err)
	return &signingKey{private: priv, public: pub}
}

// jwks is the JWK Set document of the public key (RFC 7517 §5).
func (k *signingKey) jwks(t *testing.T) json.RawMessage {
	t.Helper()
	set := jwk.NewSet()
	require.NoError(t, set.AddKey(k.public))
	b, err := json.Marshal(set)
	require.NoError(t, err)
	return b
}

// sign returns an assertion of iss for sub and aud, expiring at exp, with
// a fresh jti and the claims extra, signed with the private key.
func (k *signingKey) sign(t *testing.T, iss, sub, aud string, exp time.Time, extra map[string]any) string {
	t.Helper()
	return k.signTyped(t, "JWT", iss, sub, aud, exp, extra)
}

// signAccessToken is sign with the typ of an access token, at+jwt (RFC
// 9068 §2.1): what the example's policy takes as a subject token.
func (k *signingKey) signAccessToken(t *testing.T, iss, sub, aud string, exp time.Time, extra map[string]any) string {
	t.Helper()
	return k.signTyped(t, "at+jwt", iss, sub, aud, exp, extra)
}

func (k *signingKey) signTyped(t *testing.T, typ, iss, sub, aud string, exp time.Time, extra map[string]any) string {
	t.Helper()
	b := jwt.NewBuilder().Issuer(iss).Subject(sub).Audience([]string{aud}).
		IssuedAt(time.Now()).Expiration(exp).JwtID(rand.Text())
	for name, v := range extra {
		b = b.Claim(name, v)
	}
	tok, err := b.Build()
	require.NoError(t, err)
	hdr := jws.NewHeaders()
	require.NoError(t, hdr.Set(jws.TypeKey, typ))
	signed, err := jwt.Sign(tok, jwt.WithKey(jwa.ES256, k.private, jws.WithProtectedHeaders(hdr)))
	require.NoError(t, err)
	return string(signed)
}

// writeTrustedIssuers writes a -trusted-issuers file that trusts issuer
// with key's public key, and returns its path.
func writeTrustedIssuers(t *testing.T, issuer string, key *signingKey) string {
	t.Helper()
	doc, err := json.Marshal([]map[string]any{{"issuer": issuer, "jwks": key.jwks(t)}})
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "trusted-issuers.json")
	require.NoError(t, os.WriteFile(path, doc, 0o600))
	return path
}

// exchange is a token exchange request (RFC 8693 §2.1) of subject, of
// the type typ, and the further parameters pairs.
func exchange(subject, typ string, pairs ...string) url.Values {
	form := url.Values{"grant_type": {grant.GrantTypeTokenExchange}, "subject_token": {subject}, "subject_token_type": {typ}}
	for i := 0; i+1 < len(pairs); i += 2 {
		form.Add(pairs[i], pairs[i+1])
	}
	return form
}

// bearer is a JWT bearer request (RFC 7523 §2.1) with assertion.
func bearer(assertion string) url.Values {
	return url.Values{"grant_type": {grant.GrantTypeJWTBearer}, "assertion": {assertion}}
}

// introspect returns what the API's client learns of tok (RFC 7662).
func (e *e2e) introspect(t *testing.T, tok string) map[string]any {
	t.Helper()
	r := postForm(t, "http://"+e.addr+"/introspect", url.Values{"token": {tok}}, "api", e2eSecret)
	require.Equal(t, http.StatusOK, r.status, "%v", r.body)
	return r.body
}

// payload returns the claims of a JWT, unverified: the server that
// issued it is the test's.
func payload(t *testing.T, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	require.Len(t, parts, 3, "a compact JWS")
	data, err := base64.RawURLEncoding.DecodeString(parts[1])
	require.NoError(t, err)
	var claims map[string]any
	require.NoError(t, json.Unmarshal(data, &claims))
	return claims
}

// accessToken checks that r issued an access token and returns it.
func accessToken(t *testing.T, r *response) string {
	t.Helper()
	require.Equal(t, http.StatusOK, r.status, "%v", r.body)
	require.NotEmpty(t, r.str("access_token"))
	return r.str("access_token")
}

// refused checks that r is the error code of RFC 6749 §5.2, RFC 8693
// §2.2.2 or RFC 7523 §3.1.
func refused(t *testing.T, r *response, code, msg string) {
	t.Helper()
	assert.Equal(t, http.StatusBadRequest, r.status, "%s: %v", msg, r.body)
	assert.Equal(t, code, r.str("error"), "%s: %v", msg, r.body)
	assert.Empty(t, r.str("access_token"), msg)
}

// The token exchange (RFC 8693) and JWT bearer (RFC 7523 §2.1) grants of
// examples/server, with -trusted-issuers, in every store, as README.md's
// policy says: a confidential client exchanges an access token issued to
// it or whose audience names it, or a trusted issuer's JWT for this
// server, for the same scopes or fewer; a delegation's actor is the
// client's own token; an assertion of a trusted issuer gives tokens for
// ISSUER#sub, once. Every refusal that RFC 8693 §2.2.2 and RFC 7523 §3.1
// name, and the escalations of Keycloak CVE-2022-1245. Opaque and JWT
// access tokens.
func TestTokenExchangeAndJWTBearerEndToEnd(t *testing.T) {
	clients := filepath.Join(t.TempDir(), "clients.json")
	require.NoError(t, os.WriteFile(clients, []byte(exchangeClients), 0o600))
	idp := newSigningKey(t, "idp-1")
	trusted := writeTrustedIssuers(t, idpIssuer, idp)
	stranger := newSigningKey(t, "idp-1") // the same kid, another key

	for _, storeFlag := range everyStore(t) {
		for _, format := range []string{"opaque", "jwt"} {
			t.Run(strings.SplitN(storeFlag, ":", 2)[0]+"/"+format, func(t *testing.T) {
				testExchangeEndToEnd(t, storeFlag, format, clients, trusted, idp, stranger)
			})
		}
	}
}

// testExchangeEndToEnd is TestTokenExchangeAndJWTBearerEndToEnd with one
// store and access token format.
func testExchangeEndToEnd(t *testing.T, storeFlag, format, clients, trusted string, idp, stranger *signingKey) {
	addr, out := startServer(t, "-store", storeFlag, "-tokens", format, "-clients", clients, "-trusted-issuers", trusted)
	issuer := "http://" + addr
	assert.Contains(t, out.String(), "trusting the JWTs of "+idpIssuer)
	e := &e2e{addr: addr, asOut: out, cb: newCallback(t)}
	cc := func(t *testing.T, client, scope string) string {
		return accessToken(t, e.token(t, url.Values{"grant_type": {"client_credentials"}, "scope": {scope}}, client, nil))
	}
	// userTokens runs the code flow of client for alice, for
	// scope, sending the secret when user is not empty.
	userTokens := func(t *testing.T, client, user, scope string) *response {
		verifier := xoauth2.GenerateVerifier()
		code := e.authorize(t, e.authCodeURL(client, verifier, xoauth2.SetAuthURLParam("scope", scope)))
		r := e.token(t, e.redeem(code, client, verifier), user, nil)
		accessToken(t, r)
		return r
	}
	inFiveMinutes := time.Now().Add(5 * time.Minute)

	t.Run("a client credentials token of the client itself", func(t *testing.T) {
		own := cc(t, "svc", "read write")
		r := e.token(t, exchange(own, grant.TokenTypeAccessToken, "scope", "read"), "svc", nil)
		tok := accessToken(t, r)
		assert.Equal(t, grant.TokenTypeAccessToken, r.str("issued_token_type"), "RFC 8693 §2.2.1")
		assert.Equal(t, "Bearer", r.str("token_type"))
		info := e.introspect(t, tok)
		assert.Equal(t, true, info["active"])
		assert.Equal(t, "client:svc", info["sub"])
		assert.Equal(t, "svc", info["client_id"])
		assert.Equal(t, "read", info["scope"], "scopes only narrow")
	})

	t.Run("a user's token, by the client its audience names", func(t *testing.T) {
		web := userTokens(t, "web", "web", "read write")
		r := e.token(t, exchange(web.str("access_token"), grant.TokenTypeAccessToken, "scope", "read"), "gateway", nil)
		tok := accessToken(t, r)
		info := e.introspect(t, tok)
		assert.Equal(t, true, info["active"])
		assert.Equal(t, demoUsername, info["sub"])
		assert.Equal(t, "gateway", info["client_id"])
		assert.Equal(t, "read", info["scope"])
		assert.Equal(t, e2eAudience, info["aud"], "the gateway's own audience")
		assert.NotContains(t, info, "act", "an impersonation has no actor")

		// The user's refresh token revoked by web (RFC 7009 §2.1)
		// revokes its grant, and the exchanged token with it.
		rv := postForm(t, issuer+"/revoke", url.Values{"token": {web.str("refresh_token")}}, "web", e2eSecret)
		require.Equal(t, http.StatusOK, rv.status, "%v", rv.body)
		assert.Equal(t, map[string]any{"active": false}, e.introspect(t, tok), "the exchanged token went with the user's grant")
	})

	t.Run("delegation with an actor token", func(t *testing.T) {
		web := userTokens(t, "web", "web", "read write")
		r := e.token(t, exchange(web.str("access_token"), grant.TokenTypeAccessToken,
			"actor_token", cc(t, "gateway", "read"), "actor_token_type", grant.TokenTypeAccessToken), "gateway", nil)
		tok := accessToken(t, r)
		info := e.introspect(t, tok)
		assert.Equal(t, demoUsername, info["sub"])
		assert.Equal(t, map[string]any{"sub": "client:gateway"}, info["act"], "RFC 8693 §4.1")
		if format == "jwt" {
			assert.Equal(t, map[string]any{"sub": "client:gateway"}, payload(t, tok)["act"], "RFC 8693 §4.1, in the JWT itself")
		}

		// The actor must be the client itself: web's token names
		// the gateway, which may exchange it, but is not the
		// gateway's own.
		r = e.token(t, exchange(web.str("access_token"), grant.TokenTypeAccessToken,
			"actor_token", web.str("access_token"), "actor_token_type", grant.TokenTypeAccessToken), "gateway", nil)
		refused(t, r, "unauthorized_client", "an actor token that is not the client's own")
	})

	t.Run("a trusted issuer's JWT as subject", func(t *testing.T) {
		jwt := idp.signAccessToken(t, idpIssuer, "bob", issuer, inFiveMinutes, map[string]any{"scope": "read write"})
		r := e.token(t, exchange(jwt, grant.TokenTypeJWT, "scope", "read"), "gateway", nil)
		info := e.introspect(t, accessToken(t, r))
		assert.Equal(t, idpIssuer+"#bob", info["sub"], "the example maps another issuer's subject to ISSUER#sub")
		assert.Equal(t, "gateway", info["client_id"])
		assert.Equal(t, "read", info["scope"])

		// The example's policy takes a JWT meant for this
		// server only, not one for the client alone.
		forGateway := idp.signAccessToken(t, idpIssuer, "bob", "gateway", inFiveMinutes, map[string]any{"scope": "read"})
		refused(t, e.token(t, exchange(forGateway, grant.TokenTypeJWT), "gateway", nil), "unauthorized_client",
			"a JWT whose aud is the client, not this server")
		refused(t, e.token(t, exchange(stranger.signAccessToken(t, idpIssuer, "bob", issuer, inFiveMinutes, nil), grant.TokenTypeJWT), "gateway", nil),
			"invalid_request", "a JWT not signed by the issuer's key")
		// An assertion (typ JWT) is for the JWT bearer grant, which
		// takes it once; as a subject token it could be used again.
		assertion := idp.sign(t, idpIssuer, "bob", issuer, inFiveMinutes, map[string]any{"scope": "read"})
		refused(t, e.token(t, exchange(assertion, grant.TokenTypeJWT), "gateway", nil), "unauthorized_client",
			"an assertion as subject token")
		// And an access token is no assertion.
		refused(t, e.token(t, bearer(jwt), "federated", nil), "invalid_grant", "an access token as assertion")
	})

	t.Run("a JWT bearer assertion, once", func(t *testing.T) {
		assertion := idp.sign(t, idpIssuer, "carol", issuer, inFiveMinutes, nil)
		r := e.token(t, bearer(assertion), "federated", nil)
		info := e.introspect(t, accessToken(t, r))
		assert.Equal(t, true, info["active"])
		assert.Equal(t, idpIssuer+"#carol", info["sub"])
		assert.Equal(t, "federated", info["client_id"])
		assert.Equal(t, "read", info["scope"], "the client's default scope")
		assert.Empty(t, r.str("refresh_token"))

		refused(t, e.token(t, bearer(assertion), "federated", nil), "invalid_grant", "RFC 7523 §3 item 7: a replayed assertion")
		other := e.token(t, bearer(idp.sign(t, idpIssuer, "carol", issuer+"/token", inFiveMinutes, nil)), "federated", nil)
		accessToken(t, other) // aud may be the token endpoint (RFC 7523 §3 item 3)
	})

	t.Run("refusals", func(t *testing.T) {
		svcToken := cc(t, "svc", "read")
		revoked := cc(t, "svc", "read")
		rv := postForm(t, issuer+"/revoke", url.Values{"token": {revoked}}, "svc", e2eSecret)
		require.Equal(t, http.StatusOK, rv.status, "%v", rv.body)
		noType := exchange(svcToken, grant.TokenTypeAccessToken)
		noType.Del("subject_token_type")
		for _, c := range []struct {
			name, client, code string
			form               url.Values
		}{{
			name: "client B presents client A's token", client: "other", code: "invalid_request",
			form: exchange(svcToken, grant.TokenTypeAccessToken),
		}, {
			name: "a revoked subject token", client: "svc", code: "invalid_request",
			form: exchange(revoked, grant.TokenTypeAccessToken),
		}, {
			name: "no subject_token_type (RFC 8693 §2.1)", client: "svc", code: "invalid_request",
			form: noType,
		}, {
			name: "an access token declared as a refresh token", client: "svc", code: "invalid_request",
			form: exchange(svcToken, grant.TokenTypeRefreshToken),
		}, {
			name: "more scopes than the subject token has", client: "svc", code: "invalid_scope",
			form: exchange(svcToken, grant.TokenTypeAccessToken, "scope", "read write"),
		}, {
			name: "an audience the client may not have", client: "svc", code: "invalid_target",
			form: exchange(svcToken, grant.TokenTypeAccessToken, "audience", "https://other.example"),
		}, {
			name: "a refresh token: the policy takes access tokens", client: "web", code: "unauthorized_client",
			form: exchange(userTokens(t, "web", "web", "read").str("refresh_token"), grant.TokenTypeRefreshToken),
		}, {
			name: "an assertion for another server", client: "federated", code: "invalid_grant",
			form: bearer(idp.sign(t, idpIssuer, "carol", "https://as.example", inFiveMinutes, nil)),
		}, {
			name: "an expired assertion", client: "federated", code: "invalid_grant",
			form: bearer(idp.sign(t, idpIssuer, "carol", issuer, time.Now().Add(-5*time.Minute), nil)),
		}, {
			name: "an assertion expiring more than 10 minutes ahead", client: "federated", code: "invalid_grant",
			form: bearer(idp.sign(t, idpIssuer, "carol", issuer, time.Now().Add(15*time.Minute), nil)),
		}, {
			name: "an assertion of an untrusted issuer", client: "federated", code: "invalid_grant",
			form: bearer(stranger.sign(t, "https://stranger.example", "carol", issuer, inFiveMinutes, nil)),
		}, {
			name: "an assertion of a trusted issuer signed with another key", client: "federated", code: "invalid_grant",
			form: bearer(stranger.sign(t, idpIssuer, "carol", issuer, inFiveMinutes, nil)),
		}} {
			refused(t, e.token(t, c.form, c.client, nil), c.code, c.name)
		}

		// A public client gets nothing, even for its own token:
		// it cannot prove that it is the client it claims to be.
		spa := userTokens(t, "spa", "", "read")
		r := e.token(t, exchange(spa.str("access_token"), grant.TokenTypeAccessToken, "client_id", "spa"), "", nil)
		refused(t, r, "unauthorized_client", "a public client")
	})
}
