package grant_test

import (
	"context"
	"net/http"
	"net/url"
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
	"golang.org/x/oauth2/clientcredentials"

	"github.com/grantor-dev/grantor/grant"
	"github.com/grantor-dev/grantor/internal/testkit"
	"github.com/grantor-dev/grantor/oauth2"
	"github.com/grantor-dev/grantor/storage"
	"github.com/grantor-dev/grantor/storage/memory"
	"github.com/grantor-dev/grantor/token"
)

// newCCProvider starts a Provider with the client credentials grant, with
// opaque or JWT access tokens.
func newCCProvider(t *testing.T, format string) *testkit.Harness {
	return testkit.New(t, func(cfg *oauth2.Config, _ *memory.Store) {
		cfg.Grants = []oauth2.GrantFactory{grant.ClientCredentials(grant.ClientCredentialsOptions{})}
		if format == "jwt" {
			key, err := token.GenerateSigningKey(jwa.ES256)
			require.NoError(t, err)
			keys, err := token.NewKeySet(key)
			require.NoError(t, err)
			cfg.AccessTokens, err = token.NewJWT(token.JWTConfig{Keys: keys, Issuer: cfg.Issuer})
			require.NoError(t, err)
		}
	})
}

// The real client library gets tokens with both auth styles and both
// token formats.
func TestClientCredentialsWithGolangOAuth2Client(t *testing.T) {
	for _, format := range []string{"opaque", "jwt"} {
		for _, style := range []struct {
			name   string
			style  xoauth2.AuthStyle
			method string
		}{
			{"basic", xoauth2.AuthStyleInHeader, oauth2.AuthMethodClientSecretBasic},
			{"post", xoauth2.AuthStyleInParams, oauth2.AuthMethodClientSecretPost},
		} {
			t.Run(format+"/"+style.name, func(t *testing.T) {
				h := newCCProvider(t, format)
				secret := h.AddClient(storage.Client{ID: "svc/" + style.name, TokenEndpointAuthMethod: style.method,
					GrantTypes: []string{"client_credentials"}, Scopes: []string{"read", "write"}})
				cc := clientcredentials.Config{
					ClientID: "svc/" + style.name, ClientSecret: secret, TokenURL: h.Provider.TokenEndpoint(),
					Scopes: []string{"read"}, AuthStyle: style.style,
				}
				ctx := context.WithValue(context.Background(), xoauth2.HTTPClient, h.Server.Client())
				tok, err := cc.Token(ctx)
				require.NoError(t, err)
				assert.Equal(t, "Bearer", tok.TokenType)
				assert.Empty(t, tok.RefreshToken)
				assert.WithinDuration(t, time.Now().Add(time.Hour), tok.Expiry, time.Minute)

				rec, err := h.AccessTokenRecord(tok.AccessToken)
				require.NoError(t, err)
				assert.Equal(t, "svc/"+style.name, rec.ClientID)
				assert.Equal(t, []string{"read"}, rec.Scopes)

				if format == "jwt" {
					verifyJWTWithPublishedKeys(t, h, tok.AccessToken, "svc/"+style.name)
				} else {
					assert.True(t, strings.HasPrefix(tok.AccessToken, "gr_at_"))
				}

				// A wrong secret is an error through the client too.
				cc.ClientSecret = "wrong"
				_, err = cc.Token(ctx)
				var re *xoauth2.RetrieveError
				require.ErrorAs(t, err, &re)
				assert.Equal(t, "invalid_client", re.ErrorCode)
			})
		}
	}
}

// verifyJWTWithPublishedKeys checks a JWT access token the way a resource
// server would: with the JWKS found through the metadata document only.
func verifyJWTWithPublishedKeys(t *testing.T, h *testkit.Harness, accessToken, clientID string) {
	t.Helper()
	meta := h.Do(mustGet(t, h.Server.URL+oauth2.MetadataPath))
	require.Equal(t, http.StatusOK, meta.Status)
	jwksURI := meta.Str("jwks_uri")
	require.NotEmpty(t, jwksURI)
	jwks := h.Do(mustGet(t, jwksURI))
	require.Equal(t, http.StatusOK, jwks.Status)
	set, err := jwk.Parse(jwks.Body)
	require.NoError(t, err)

	tok, err := jwt.Parse([]byte(accessToken), jwt.WithKeySet(set, jws.WithInferAlgorithmFromKey(true)), jwt.WithValidate(true),
		jwt.WithClock(jwt.ClockFunc(h.Now)), jwt.WithIssuer(h.Provider.Issuer()), jwt.WithAudience(h.Provider.Issuer()))
	require.NoError(t, err)
	assert.Equal(t, grant.ClientSubjectPrefix+clientID, tok.Subject())
	cid, _ := tok.Get("client_id")
	assert.Equal(t, clientID, cid)
	scope, _ := tok.Get("scope")
	assert.Equal(t, "read", scope)
	assert.NotEmpty(t, tok.JwtID())
}

func mustGet(t *testing.T, u string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	require.NoError(t, err)
	return req
}

// RFC 6749 §4.4.3: an access token and no refresh token, unless switched
// on.
func TestClientCredentialsIssuesNoRefreshTokenByDefault(t *testing.T) {
	h := newCCProvider(t, "opaque")
	secret := h.AddClient(storage.Client{ID: "svc", GrantTypes: []string{"client_credentials"}, Scopes: []string{"read"}})
	r := h.Token("svc", secret, url.Values{"grant_type": {"client_credentials"}, "scope": {"read"}})
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	assert.NotContains(t, r.JSON, "refresh_token")

	h2 := testkit.New(t, func(cfg *oauth2.Config, store *memory.Store) {
		cfg.Grants = []oauth2.GrantFactory{
			grant.ClientCredentials(grant.ClientCredentialsOptions{IssueRefreshTokens: true}),
			grant.RefreshToken(store, grant.RefreshTokenOptions{}),
		}
	})
	secret = h2.AddClient(storage.Client{ID: "svc", GrantTypes: []string{"client_credentials", "refresh_token"}, Scopes: []string{"read"}})
	r = h2.Token("svc", secret, url.Values{"grant_type": {"client_credentials"}})
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	require.NotEmpty(t, r.Str("refresh_token"))
	// That refresh token works end to end.
	r = h2.Token("svc", secret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {r.Str("refresh_token")}})
	assert.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
}

// RFC 9700 §4.15: a client's own tokens have a subject that cannot collide
// with a user's.
func TestClientSubjectsAreNamespaced(t *testing.T) {
	h := newCCProvider(t, "opaque")
	secret := h.AddClient(storage.Client{ID: "alice", GrantTypes: []string{"client_credentials"}})
	r := h.Token("alice", secret, url.Values{"grant_type": {"client_credentials"}})
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	rec, err := h.AccessTokenRecord(r.Str("access_token"))
	require.NoError(t, err)
	assert.Equal(t, "client:alice", rec.Subject)
	assert.NotEqual(t, "alice", rec.Subject)
}

func TestClientCredentialsCustomSubject(t *testing.T) {
	h := testkit.New(t, func(cfg *oauth2.Config, _ *memory.Store) {
		cfg.Grants = []oauth2.GrantFactory{grant.ClientCredentials(grant.ClientCredentialsOptions{
			Subject: func(c *storage.Client) string { return "svc|" + c.ID },
		})}
	})
	secret := h.AddClient(storage.Client{ID: "x", GrantTypes: []string{"client_credentials"}})
	r := h.Token("x", secret, url.Values{"grant_type": {"client_credentials"}})
	require.Equal(t, http.StatusOK, r.Status)
	rec, err := h.AccessTokenRecord(r.Str("access_token"))
	require.NoError(t, err)
	assert.Equal(t, "svc|x", rec.Subject)
}

// RFC 9068 §3: audience restriction with resource indicators (RFC 8707).
func TestAudienceRestriction(t *testing.T) {
	h := newCCProvider(t, "opaque")
	secret := h.AddClient(storage.Client{ID: "svc", GrantTypes: []string{"client_credentials"},
		Audience: []string{"https://a.example", "https://b.example"}})
	plain := h.AddClient(storage.Client{ID: "plain", GrantTypes: []string{"client_credentials"}})
	aud := func(r *testkit.Response) []string {
		t.Helper()
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		rec, err := h.AccessTokenRecord(r.Str("access_token"))
		require.NoError(t, err)
		return rec.Audience
	}
	cc := url.Values{"grant_type": {"client_credentials"}}
	with := func(resources ...string) url.Values {
		f := url.Values{"grant_type": {"client_credentials"}, "resource": resources}
		return f
	}
	assert.Equal(t, []string{"https://a.example", "https://b.example"}, aud(h.Token("svc", secret, cc)))
	assert.Equal(t, []string{"https://a.example"}, aud(h.Token("svc", secret, with("https://a.example"))))
	assert.Equal(t, []string{"https://a.example", "https://b.example"},
		aud(h.Token("svc", secret, with("https://b.example", "https://a.example"))), "resource may repeat (RFC 8707 §2)")
	// The default audience is never empty: it is the issuer.
	assert.Equal(t, []string{h.Provider.Issuer()}, aud(h.Token("plain", plain, cc)))

	for _, bad := range []string{"https://c.example", "relative/path", "https://a.example#frag"} {
		testkit.RequireOAuthError(t, h.Token("svc", secret, with(bad)), http.StatusBadRequest, oauth2.ErrInvalidTarget)
	}
	testkit.RequireOAuthError(t, h.Token("svc", secret, with("https://a.example", "")), http.StatusBadRequest, oauth2.ErrInvalidRequest)
}

// A client credentials token has a grant of its own, named in its
// EventTokenIssued: revoking that grant ends the token, and only it.
func TestClientCredentialsGrantCanBeRevoked(t *testing.T) {
	h := newCCProvider(t, "opaque")
	secret := h.AddClient(storageClientCC("svc"))
	form := url.Values{"grant_type": {"client_credentials"}}
	first := h.Token("svc", secret, form)
	require.Equal(t, http.StatusOK, first.Status, "%s", first.Body)
	second := h.Token("svc", secret, form)
	require.Equal(t, http.StatusOK, second.Status, "%s", second.Body)

	issued := h.Events(oauth2.EventTokenIssued)
	require.Len(t, issued, 2)
	assert.Equal(t, []storage.TokenKind{storage.AccessToken}, issued[0].TokenKinds)
	require.NotEmpty(t, issued[0].GrantID)
	require.NotEqual(t, issued[0].GrantID, issued[1].GrantID, "each token has a grant of its own")
	rec, err := h.AccessTokenRecord(first.Str("access_token"))
	require.NoError(t, err)
	require.Equal(t, issued[0].GrantID, rec.GrantID)

	require.NoError(t, h.Provider.RevokeGrant(t.Context(), issued[0].GrantID, "svc", issued[0].Subject, "test"))
	rec, err = h.AccessTokenRecord(first.Str("access_token"))
	require.NoError(t, err)
	assert.False(t, rec.RevokedAt.IsZero())
	assert.Equal(t, inactive, string(h.Introspect("svc", secret, first.Str("access_token")).Body))
	assert.Contains(t, string(h.Introspect("svc", secret, second.Str("access_token")).Body), `"active":true`)
}
