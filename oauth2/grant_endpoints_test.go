package oauth2_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/oauth2"
)

// deviceLikeGrant is an application's grant that brings an endpoint and a
// metadata member, as the device grant of RFC 8628 does.
type deviceLikeGrant struct {
	name      string
	endpoints []oauth2.Endpoint
	metadata  map[string]any
}

func (g deviceLikeGrant) GrantType() string { return g.name }

func (deviceLikeGrant) HandleTokenRequest(context.Context, *oauth2.TokenRequest) (*oauth2.Issue, error) {
	return nil, oauth2.NewError(oauth2.ErrInvalidGrant, "no")
}

func (g deviceLikeGrant) Endpoints() []oauth2.Endpoint    { return g.endpoints }
func (g deviceLikeGrant) MetadataEntries() map[string]any { return g.metadata }

// answer is a handler that says which endpoint it is.
func answer(name string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, name) })
}

func deviceGrant() deviceLikeGrant {
	return deviceLikeGrant{name: "urn:example:grant-type:device",
		endpoints: []oauth2.Endpoint{{Path: "/device_authorization", Handler: answer("device"), MetadataName: "device_authorization_endpoint"}},
		metadata:  map[string]any{"example_user_code_length": 8}}
}

func providerWith(t *testing.T, issuer string, grants ...oauth2.GrantHandler) (*oauth2.Provider, error) {
	t.Helper()
	cfg := validConfig()
	cfg.Issuer = issuer
	for _, g := range grants {
		cfg.Grants = append(cfg.Grants, func(*oauth2.Provider) (oauth2.GrantHandler, error) { return g, nil })
	}
	return oauth2.NewProvider(cfg)
}

// A grant's endpoint is served by Handler like the Provider's own, also
// under the issuer's path, and advertised in the metadata with the
// grant's members (RFC 8414 §2) while the grant is registered.
func TestGrantsBringEndpointsAndMetadata(t *testing.T) {
	p, err := providerWith(t, "https://as.example/oauth", deviceGrant())
	require.NoError(t, err)
	for _, path := range []string{"/oauth/device_authorization"} {
		rec := httptest.NewRecorder()
		p.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodPost, path, nil))
		assert.Equal(t, "device", rec.Body.String(), path)
	}
	rec := httptest.NewRecorder()
	http.StripPrefix("/oauth", p.Handler()).ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/oauth/device_authorization", nil))
	assert.Equal(t, "device", rec.Body.String(), "behind StripPrefix")

	md := metadataOf(t, p)
	assert.Equal(t, "https://as.example/oauth/device_authorization", md["device_authorization_endpoint"])
	assert.EqualValues(t, 8, md["example_user_code_length"])
	assert.Equal(t, "https://as.example/oauth/device_authorization", p.Metadata().Extra["device_authorization_endpoint"])

	without, err := providerWith(t, "https://as.example/oauth")
	require.NoError(t, err)
	assert.NotContains(t, metadataOf(t, without), "device_authorization_endpoint")
	rec = httptest.NewRecorder()
	without.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/oauth/device_authorization", nil))
	assert.Equal(t, http.StatusNotFound, rec.Code)
}

// metadataOf returns the metadata document Handler serves.
func metadataOf(t *testing.T, p *oauth2.Provider) map[string]any {
	t.Helper()
	rec := httptest.NewRecorder()
	p.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, p.MetadataPath(), nil))
	require.Equal(t, http.StatusOK, rec.Code)
	var md map[string]any
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &md))
	return md
}

// NewProvider refuses what a grant brings that would clash or could be
// written several ways.
func TestNewProviderChecksWhatGrantsBring(t *testing.T) {
	with := func(e oauth2.Endpoint) deviceLikeGrant {
		g := deviceGrant()
		g.endpoints = []oauth2.Endpoint{e}
		return g
	}
	entries := func(m map[string]any) deviceLikeGrant {
		g := deviceGrant()
		g.metadata = m
		return g
	}
	other := deviceGrant()
	other.name = "urn:example:grant-type:other"
	for name, grants := range map[string][]oauth2.GrantHandler{
		"the Provider's own path":        {with(oauth2.Endpoint{Path: oauth2.TokenPath, Handler: answer("x")})},
		"a path without a leading slash": {with(oauth2.Endpoint{Path: "device", Handler: answer("x")})},
		"an empty segment":               {with(oauth2.Endpoint{Path: "/a//b", Handler: answer("x")})},
		"a dot segment":                  {with(oauth2.Endpoint{Path: "/a/../token", Handler: answer("x")})},
		"a percent-escape":               {with(oauth2.Endpoint{Path: "/%74oken", Handler: answer("x")})},
		"no handler":                     {with(oauth2.Endpoint{Path: "/device"})},
		"the metadata document's path":   {with(oauth2.Endpoint{Path: oauth2.MetadataPath, Handler: answer("x")})},
		"a typed nil handler":            {with(oauth2.Endpoint{Path: "/device", Handler: http.HandlerFunc(nil)})},
		"the Provider's member":          {with(oauth2.Endpoint{Path: "/device", Handler: answer("x"), MetadataName: "token_endpoint"})},
		"a member name in upper case":    {with(oauth2.Endpoint{Path: "/device", Handler: answer("x"), MetadataName: "Device"})},
		"the Provider's member, as data": {entries(map[string]any{"issuer": "https://evil.example"})},
		"a value that is not JSON":       {entries(map[string]any{"example_x": func() {}})},
		"two grants, one path":           {deviceGrant(), other},
	} {
		_, err := providerWith(t, "https://as.example", grants...)
		assert.Error(t, err, name)
	}
}
