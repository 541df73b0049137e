package oauth2_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	xoauth2 "golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/grantor-dev/grantor/grant"
	"github.com/grantor-dev/grantor/oauth2"
	"github.com/grantor-dev/grantor/storage"
	"github.com/grantor-dev/grantor/storage/memory"
	"github.com/grantor-dev/grantor/token"
)

// mounted is a Provider with JWT access tokens served by an httptest
// server, mounted by mount, and a client registered for client
// credentials.
type mounted struct {
	p      *oauth2.Provider
	srv    *httptest.Server
	secret string
}

func mount(t *testing.T, issuerPath string, mount func(p *oauth2.Provider) http.Handler) *mounted {
	t.Helper()
	var handler http.Handler = http.NotFoundHandler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	store := memory.New()
	secret, hash, err := oauth2.GenerateClientSecret(nil)
	require.NoError(t, err)
	require.NoError(t, store.PutClient(&storage.Client{ID: "svc", SecretHash: hash,
		GrantTypes: []string{"client_credentials"}, Scopes: []string{"read"}}))
	key, err := token.GenerateSigningKey(jwa.ES256)
	require.NoError(t, err)
	keys, err := token.NewKeySet(key)
	require.NoError(t, err)
	hmacKey := make([]byte, 32)
	_, _ = rand.Read(hmacKey)
	issuer := srv.URL + issuerPath
	jwts, err := token.NewJWT(token.JWTConfig{Keys: keys, Issuer: issuer})
	require.NoError(t, err)
	p, err := oauth2.NewProvider(oauth2.Config{
		Issuer: issuer, Clients: store, Tokens: store, TokenKeys: [][]byte{hmacKey}, AccessTokens: jwts,
		Grants: []oauth2.GrantFactory{grant.ClientCredentials(grant.ClientCredentialsOptions{})},
	})
	require.NoError(t, err)
	handler = mount(p)
	return &mounted{p: p, srv: srv, secret: secret}
}

// discover reads the metadata document at the URL RFC 8414 §3.1 derives
// from the issuer.
func (m *mounted) discover(t *testing.T) oauth2.Metadata {
	t.Helper()
	resp, err := m.srv.Client().Get(m.p.MetadataURL())
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "metadata at %s", m.p.MetadataURL())
	var md oauth2.Metadata
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&md))
	return md
}

func (m *mounted) status(t *testing.T, method, u string) int {
	t.Helper()
	req, err := http.NewRequest(method, u, nil)
	require.NoError(t, err)
	resp, err := m.srv.Client().Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	return resp.StatusCode
}

// The common ways to mount the Provider in a net/http application each
// serve every endpoint at the URL the metadata advertises, found from the
// issuer alone, and a real client gets a token there.
func TestMountingInANetHTTPApplication(t *testing.T) {
	cases := []struct {
		name, issuerPath string
		mount            func(p *oauth2.Provider) http.Handler
	}{
		{"at the root", "", func(p *oauth2.Provider) http.Handler { return p.Handler() }},
		{"at the root of a mux", "", func(p *oauth2.Provider) http.Handler {
			mux := http.NewServeMux()
			mux.Handle("/", p.Handler())
			return mux
		}},
		{"under the issuer's path", "/oauth", func(p *oauth2.Provider) http.Handler {
			mux := http.NewServeMux()
			mux.Handle("/oauth/", p.Handler())
			mux.Handle(p.MetadataPath(), p.MetadataHandler())
			return mux
		}},
		{"under the issuer's path with StripPrefix", "/oauth", func(p *oauth2.Provider) http.Handler {
			mux := http.NewServeMux()
			mux.Handle("/oauth/", http.StripPrefix("/oauth", p.Handler()))
			mux.Handle(p.MetadataPath(), p.MetadataHandler())
			return mux
		}},
		{"under the issuer's path with StripPrefix and a trailing slash", "/oauth", func(p *oauth2.Provider) http.Handler {
			mux := http.NewServeMux()
			mux.Handle("/oauth/", http.StripPrefix("/oauth/", p.Handler()))
			mux.Handle(p.MetadataPath(), p.MetadataHandler())
			return mux
		}},
		{"under part of the issuer's path with StripPrefix", "/tenants/a", func(p *oauth2.Provider) http.Handler {
			mux := http.NewServeMux()
			mux.Handle("/tenants/", http.StripPrefix("/tenants", p.Handler()))
			mux.Handle(p.MetadataPath(), p.MetadataHandler())
			return mux
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := mount(t, c.issuerPath, c.mount)
			assert.Equal(t, "/.well-known/oauth-authorization-server"+c.issuerPath, m.p.MetadataPath(), "RFC 8414 §3.1")
			assert.Equal(t, m.srv.URL+"/.well-known/oauth-authorization-server"+c.issuerPath, m.p.MetadataURL())
			md := m.discover(t)
			assert.Equal(t, m.srv.URL+c.issuerPath, md.Issuer)

			cc := clientcredentials.Config{ClientID: "svc", ClientSecret: m.secret, TokenURL: md.TokenEndpoint, Scopes: []string{"read"}}
			tok, err := cc.Token(context.WithValue(context.Background(), xoauth2.HTTPClient, m.srv.Client()))
			require.NoError(t, err)
			assert.NotEmpty(t, tok.AccessToken)

			for _, u := range []string{md.RevocationEndpoint, md.IntrospectionEndpoint} {
				form := url.Values{"token": {tok.AccessToken}}
				req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
				require.NoError(t, err)
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.SetBasicAuth("svc", m.secret)
				resp, err := m.srv.Client().Do(req)
				require.NoError(t, err)
				resp.Body.Close()
				assert.Equal(t, http.StatusOK, resp.StatusCode, u)
			}
			assert.Equal(t, http.StatusOK, m.status(t, http.MethodGet, md.JWKSURI))
		})
	}
}

// An endpoint is served at the URL the metadata advertises and nowhere
// else, however the handler is mounted: a path a mux rewrote into an
// endpoint's path is not that endpoint.
func TestMountedHandlerAnswers404AtOtherPaths(t *testing.T) {
	stripped := func(p *oauth2.Provider) http.Handler {
		mux := http.NewServeMux()
		mux.Handle("/oauth/", http.StripPrefix("/oauth", p.Handler()))
		mux.Handle(p.MetadataPath(), p.MetadataHandler())
		return mux
	}
	strippedSlash := func(p *oauth2.Provider) http.Handler {
		mux := http.NewServeMux()
		mux.Handle("/oauth/", http.StripPrefix("/oauth/", p.Handler()))
		mux.Handle(p.MetadataPath(), p.MetadataHandler())
		return mux
	}
	full := func(p *oauth2.Provider) http.Handler { return p.Handler() }
	for name, mountFn := range map[string]func(*oauth2.Provider) http.Handler{
		"StripPrefix": stripped, "StripPrefix with a trailing slash": strippedSlash, "full paths": full} {
		t.Run(name, func(t *testing.T) {
			m := mount(t, "/oauth", mountFn)
			for _, path := range []string{
				"/oauth/oauth/token", // stripped to /oauth/token
				"/oauth/oauth/revoke",
				"/token",
				"/oauth/token/",
				"/oauth/Token",
				"/oauth/authorize", // no grant answers it
				"/oauth/par",       // not enabled
				"/oauth/.well-known/oauth-authorization-server",
				"/oauth/jwks.json/x",
				"/oauth",
				"/oauth/",
			} {
				assert.Equal(t, http.StatusNotFound, m.status(t, http.MethodPost, m.srv.URL+path), path)
			}
			if name == "full paths" { // a ServeMux redirects an unclean path itself
				assert.Equal(t, http.StatusNotFound, m.status(t, http.MethodPost, m.srv.URL+"/oauth//token"))
			}
			assert.Equal(t, http.StatusMethodNotAllowed, m.status(t, http.MethodGet, m.srv.URL+"/oauth/token"))
		})
	}
}

// A request made in process, without a request line (http.NewRequest, as
// an application's tests make them), reaches each endpoint at the URL the
// metadata advertises however the Provider is mounted, as a request that
// came through a server does.
func TestInProcessRequestsReachTheEndpointsAsServedOnes(t *testing.T) {
	cases := []struct {
		name, issuerPath string
		mount            func(p *oauth2.Provider) http.Handler
	}{
		{"at the root", "", func(p *oauth2.Provider) http.Handler { return p.Handler() }},
		{"under the issuer's path", "/oauth", func(p *oauth2.Provider) http.Handler {
			mux := http.NewServeMux()
			mux.Handle("/oauth/", p.Handler())
			return mux
		}},
		{"with StripPrefix", "/oauth", func(p *oauth2.Provider) http.Handler {
			mux := http.NewServeMux()
			mux.Handle("/oauth/", http.StripPrefix("/oauth", p.Handler()))
			return mux
		}},
		{"with StripPrefix and a trailing slash", "/oauth", func(p *oauth2.Provider) http.Handler {
			mux := http.NewServeMux()
			mux.Handle("/oauth/", http.StripPrefix("/oauth/", p.Handler()))
			return mux
		}},
		{"with StripPrefix of part of the issuer's path", "/tenants/a", func(p *oauth2.Provider) http.Handler {
			mux := http.NewServeMux()
			mux.Handle("/tenants/", http.StripPrefix("/tenants", p.Handler()))
			return mux
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := mount(t, c.issuerPath, c.mount)
			for _, e := range []struct{ method, url string }{
				{http.MethodPost, m.p.TokenEndpoint()},
				{http.MethodPost, m.p.RevocationEndpoint()},
				{http.MethodPost, m.p.IntrospectionEndpoint()},
				{http.MethodGet, m.p.Issuer() + oauth2.JWKSPath},
			} {
				served := httptest.NewRequest(e.method, e.url, nil) // as a server hands it over
				inProcess, err := http.NewRequest(e.method, e.url, nil)
				require.NoError(t, err)
				require.Empty(t, inProcess.RequestURI)
				a, b := httptest.NewRecorder(), httptest.NewRecorder()
				m.srv.Config.Handler.ServeHTTP(a, served)
				m.srv.Config.Handler.ServeHTTP(b, inProcess)
				assert.NotEqual(t, http.StatusNotFound, a.Code, "%s %s, with a request line", e.method, e.url)
				assert.Equal(t, a.Code, b.Code, "%s %s, without a request line", e.method, e.url)
			}
		})
	}
}

// Handler serves an endpoint only when the request target (RFC 9112 §3.2)
// is the endpoint's URL, and the path it is given is that URL's path or
// what http.StripPrefix leaves of it after a leading part of the issuer's
// path; without a request line the given path is all there is.
func TestHandlerMatchesTheRequestTarget(t *testing.T) {
	cfg := validConfig()
	cfg.Issuer = "https://as.example/oauth"
	p, err := oauth2.NewProvider(cfg)
	require.NoError(t, err)
	h := p.Handler()
	const metadata = "/.well-known/oauth-authorization-server/oauth"
	cases := []struct {
		name, requestURI, path string
		served                 bool
	}{
		{"origin-form (RFC 9112 §3.2.1)", "/oauth/token", "/oauth/token", true},
		{"origin-form with a query", "/oauth/token?x=1", "/oauth/token", true},
		{"issuer's path stripped before its slash", "/oauth/token", "/token", true},
		{"issuer's path stripped with its slash", "/oauth/token", "token", true},
		{"root stripped with its slash", "/oauth/token", "oauth/token", true},
		{"stripped inside a segment", "/oauth/token", "auth/token", false},
		{"stripped inside the endpoint's segment", "/oauth/token", "oken", false},
		{"stripped to nothing", "/oauth/token", "", false},
		{"a doubled prefix stripped", "/oauth/oauth/token", "/oauth/token", false},
		{"a percent-escaped target (RFC 3986 §6.2.2.2)", "/oauth/%74oken", "/oauth/token", false},
		{"an empty segment", "//oauth/token", "/oauth/token", false},
		{"absolute-form (RFC 9112 §3.2.2)", "https://as.example/oauth/token", "/oauth/token", true},
		{"absolute-form, stripped", "https://as.example/oauth/token", "token", true},
		{"absolute-form of a doubled prefix", "https://as.example/oauth/oauth/token", "/oauth/token", false},
		{"authority-form (RFC 9112 §3.2.3)", "as.example:443", "/oauth/token", false},
		{"asterisk-form (RFC 9112 §3.2.4)", "*", "/oauth/token", false},
		{"metadata at its path", metadata, metadata, true},
		{"metadata with a leading part stripped", metadata, "/oauth-authorization-server/oauth", false},
		{"no request line, the full path", "", "/oauth/token", true},
		{"no request line, issuer's path stripped before its slash", "", "/token", true},
		{"no request line, issuer's path stripped with its slash", "", "token", true},
		{"no request line, stripped inside a segment", "", "auth/token", false},
		{"no request line, percent-escaped path", "", "/oauth/%74oken", false},
		{"no request line, no path", "", "", false},
		{"no request line, another path", "", "/oauth/tokens", false},
		{"no request line, metadata at its path", "", metadata, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/", nil)
			u, err := url.Parse(c.path)
			require.NoError(t, err)
			r.URL.Path, r.URL.RawPath = u.Path, u.RawPath
			r.RequestURI = c.requestURI
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			if c.served {
				assert.NotEqual(t, http.StatusNotFound, rec.Code, "answered by the endpoint")
			} else {
				assert.Equal(t, http.StatusNotFound, rec.Code)
				assert.Contains(t, rec.Body.String(), p.MetadataURL())
			}
		})
	}
}

// A 404 tells the developer who mounted the Provider where its endpoints
// are listed.
func TestNotFoundPointsToTheMetadata(t *testing.T) {
	m := mount(t, "/oauth", func(p *oauth2.Provider) http.Handler { return http.StripPrefix("/auth", p.Handler()) })
	resp, err := m.srv.Client().Post(m.srv.URL+"/auth/token", "application/x-www-form-urlencoded", nil)
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Contains(t, string(body), m.srv.URL+"/.well-known/oauth-authorization-server/oauth")
}

// Every handler method of Provider returns a handler a mux accepts (a nil
// one makes http.ServeMux.Handle panic), and one of an endpoint that is
// not enabled answers 404.
func TestEveryHandlerMethodReturnsAHandler(t *testing.T) {
	p, err := oauth2.NewProvider(validConfig()) // opaque tokens, no authorization endpoint, no PAR
	require.NoError(t, err)
	disabled := map[string]bool{"AuthorizeHandler": true, "PushedAuthorizationHandler": true, "JWKSHandler": true}
	handlerType := reflect.TypeFor[http.Handler]()
	v := reflect.ValueOf(p)
	seen := 0
	for i := range v.NumMethod() {
		name, fn := v.Type().Method(i).Name, v.Method(i)
		if fn.Type().NumIn() != 0 || fn.Type().NumOut() != 1 || fn.Type().Out(0) != handlerType {
			continue
		}
		seen++
		h, _ := fn.Call(nil)[0].Interface().(http.Handler)
		require.NotNil(t, h, name)
		mux := http.NewServeMux()
		require.NotPanics(t, func() { mux.Handle("/x", h) }, name)
		if disabled[name] {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/x", nil))
			assert.Equal(t, http.StatusNotFound, rec.Code, name)
		}
	}
	assert.GreaterOrEqual(t, seen, 8, "Handler and the seven endpoint handlers")
}
