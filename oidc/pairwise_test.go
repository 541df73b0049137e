package oidc_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/oauth2"
	"github.com/grantor-dev/grantor/oidc"
	"github.com/grantor-dev/grantor/storage"
	"github.com/grantor-dev/grantor/storage/memory"
	"github.com/grantor-dev/grantor/token"
)

var pairwiseKey = []byte("0123456789abcdef0123456789abcdef")

// sectorServer serves sector identifier documents over TLS: path ->
// body.
func sectorServer(t *testing.T, docs map[string]string) *httptest.Server {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		doc, ok := docs[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(doc))
	}))
	t.Cleanup(srv.Close)
	return srv
}

// subjects signs alice in at client and returns the sub of her ID token,
// of the UserInfo response and of the introspection response.
func (h *harness) subjects(t *testing.T, client string, redirect ...string) (idToken, userInfo, introspection string) {
	t.Helper()
	extra := []string{"scope", "openid"}
	if len(redirect) > 0 {
		extra = append(extra, "redirect_uri", redirect[0])
	}
	r := h.tokens(newRequest(t, client, extra...), oauth2.Approval{Subject: defaultUser})
	_, c := h.verified(r.Str("id_token"))
	ui := h.userInfo(http.MethodGet, r.Str("access_token"))
	require.Equal(t, http.StatusOK, ui.Status, "%s", ui.Body)
	in := h.Introspect(client, h.secrets[client], r.Str("access_token"))
	require.Equal(t, true, in.JSON["active"], "%s", in.Body)
	return c["sub"].(string), ui.Str("sub"), in.Str("sub")
}

func TestPairwiseSubjects(t *testing.T) {
	docs := map[string]string{}
	srv := sectorServer(t, docs)
	h := newHarness(t, func(c *oidc.Config, _ *oauth2.Config, _ *memory.Store) {
		c.PairwiseKey = pairwiseKey
		c.HTTPClient = srv.Client()
	})
	pairwise := func(id string, redirects []string, sector string) {
		h.addClient(storage.Client{ID: id, RedirectURIs: redirects, GrantTypes: []string{"authorization_code"},
			Scopes: []string{"openid"}, SubjectType: oidc.SubjectPairwise, SectorIdentifierURI: sector})
	}
	pairwise("pw-a", []string{rpRedirect}, "")
	pairwise("pw-b", []string{rpRedirect}, "")
	docs["/sector.json"] = `["` + rpRedirect + `", "https://other.example/cb"]`
	pairwise("pw-sector", []string{"https://other.example/cb"}, srv.URL+"/sector.json")
	pairwise("pw-elsewhere", []string{"https://elsewhere.example/cb"}, "")

	id, ui, in := h.subjects(t, "pw-a")
	assert.NotEqual(t, defaultUser, id, "not the application's subject")
	assert.Len(t, id, 43, "an HMAC-SHA256, base64url")
	assert.Equal(t, id, ui, "UserInfo agrees with the ID token")
	assert.Equal(t, id, in, "and so does introspection")

	b, _, _ := h.subjects(t, "pw-b")
	assert.Equal(t, id, b, "one sector (the redirect URIs' host), one sub")
	other, _, _ := h.subjects(t, "pw-elsewhere", "https://elsewhere.example/cb")
	assert.NotEqual(t, id, other, "unrelated sectors, unrelated subs")
	sec, _, _ := h.subjects(t, "pw-sector", "https://other.example/cb")
	assert.NotEqual(t, id, sec, "the sector_identifier_uri's host is the sector")
	assert.NotEqual(t, other, sec)

	pub, _, pubIn := h.subjects(t, "rp")
	assert.Equal(t, defaultUser, pub, "a public client sees the subject")
	assert.Equal(t, defaultUser, pubIn)

	t.Run("the same client always gets the same sub", func(t *testing.T) {
		again, _, _ := h.subjects(t, "pw-a")
		assert.Equal(t, id, again)
	})
	t.Run("another user gets another sub", func(t *testing.T) {
		r := h.tokens(newRequest(t, "pw-a", "scope", "openid"), oauth2.Approval{Subject: "bob"})
		_, c := h.verified(r.Str("id_token"))
		assert.NotEqual(t, id, c["sub"])
	})
	t.Run("the claims source gets the application's subject", func(t *testing.T) {
		h.addClient(storage.Client{ID: "pw-mail", RedirectURIs: []string{rpRedirect}, GrantTypes: []string{"authorization_code"},
			Scopes: []string{"openid", "email"}, SubjectType: oidc.SubjectPairwise})
		r := h.tokens(newRequest(t, "pw-mail", "scope", "openid email"), oauth2.Approval{Subject: defaultUser})
		assert.Equal(t, "alice@example.com", h.userInfo(http.MethodGet, r.Str("access_token")).Str("email"))
	})
	t.Run("an id_token_hint of a pairwise client names its user", func(t *testing.T) {
		br := h.browser()
		_, r := br.signIn(newRequest(t, "pw-a", "scope", "openid"), &oauth2.Approval{Subject: defaultUser})
		lc, _ := br.login(br.authorize(newRequest(t, "rp", "id_token_hint", r.Str("id_token")).params), nil)
		require.NotNil(t, lc.Session, "the session's user is the hint's")
		assert.Equal(t, id, lc.HintSubject)
	})
}

func TestPairwiseSectorChecks(t *testing.T) {
	docs := map[string]string{"/missing.json": `["https://another.example/cb"]`, "/bad.json": `{"redirect_uris":[]}`}
	srv := sectorServer(t, docs)
	h := newHarness(t, func(c *oidc.Config, _ *oauth2.Config, _ *memory.Store) {
		c.PairwiseKey = pairwiseKey
		c.HTTPClient = srv.Client()
	})
	for name, tc := range map[string]struct {
		client storage.Client
		code   oauth2.ErrorCode
	}{
		"a redirect URI the document does not list": {storage.Client{SectorIdentifierURI: srv.URL + "/missing.json"}, oauth2.ErrUnauthorizedClient},
		"redirect URIs of two hosts, no sector":     {storage.Client{RedirectURIs: []string{rpRedirect, "https://two.example/cb"}}, oauth2.ErrUnauthorizedClient},
		"a sector URI over http":                    {storage.Client{SectorIdentifierURI: "http://127.0.0.1/sector.json"}, oauth2.ErrUnauthorizedClient},
		"a document that is not an array":           {storage.Client{SectorIdentifierURI: srv.URL + "/bad.json"}, oauth2.ErrTemporarilyUnavailable},
		"a document that is not there":              {storage.Client{SectorIdentifierURI: srv.URL + "/gone.json"}, oauth2.ErrTemporarilyUnavailable},
	} {
		t.Run(name, func(t *testing.T) {
			c := tc.client
			c.ID = "c-" + url.PathEscape(name)
			if c.RedirectURIs == nil {
				c.RedirectURIs = []string{rpRedirect}
			}
			c.GrantTypes, c.Scopes, c.SubjectType = []string{"authorization_code"}, []string{"openid"}, oidc.SubjectPairwise
			h.addClient(c)
			q := redirected(t, h.authorize(newRequest(t, c.ID, "scope", "openid").params))
			assert.Equal(t, string(tc.code), q.Get("error"), "refused before any login")
		})
	}
}

func TestPairwiseNeedsAKey(t *testing.T) {
	rs := keySource(t, "RS256")
	_, err := oidc.New(oidc.Config{Keys: []token.KeySource{rs}, Sessions: memory.New(), SubjectType: oidc.SubjectPairwise})
	assert.Error(t, err)
	_, err = oidc.New(oidc.Config{Keys: []token.KeySource{rs}, Sessions: memory.New(), PairwiseKey: []byte("short")})
	assert.Error(t, err)

	h := newHarness(t, nil)
	h.addClient(storage.Client{ID: "pw", RedirectURIs: []string{rpRedirect}, GrantTypes: []string{"authorization_code"},
		Scopes: []string{"openid"}, SubjectType: oidc.SubjectPairwise})
	q := redirected(t, h.authorize(newRequest(t, "pw", "scope", "openid").params))
	assert.NotEmpty(t, q.Get("error"), "no pairwise subject without a key")

	t.Run("a default of pairwise", func(t *testing.T) {
		h := newHarness(t, func(c *oidc.Config, _ *oauth2.Config, _ *memory.Store) {
			c.SubjectType, c.PairwiseKey = oidc.SubjectPairwise, pairwiseKey
		})
		id, _, _ := h.subjects(t, "rp")
		assert.NotEqual(t, defaultUser, id)
		doc := h.Do(mustGet(t, h.Server.URL+oidc.DiscoveryPath))
		assert.Equal(t, []any{"public", "pairwise"}, doc.JSON["subject_types_supported"])
		_, _, in := h.subjects(t, "rp")
		assert.Equal(t, id, in)
	})
}

// A JWT access token of a pairwise client carries the client's own sub,
// as its ID token and introspection do: no token tells the client the
// application's identifier.
func TestPairwiseSubjectsInJWTAccessTokens(t *testing.T) {
	h := newHarness(t, func(c *oidc.Config, cfg *oauth2.Config, _ *memory.Store) {
		c.PairwiseKey = pairwiseKey
		jwt, err := token.NewJWT(token.JWTConfig{Keys: c.Keys[0]})
		require.NoError(t, err)
		cfg.AccessTokens = jwt
	})
	h.addClient(storage.Client{ID: "pw", RedirectURIs: []string{rpRedirect}, GrantTypes: []string{"authorization_code"},
		Scopes: []string{"openid"}, SubjectType: oidc.SubjectPairwise})
	for client, public := range map[string]bool{"pw": false, "rp": true} {
		r := h.tokens(newRequest(t, client, "scope", "openid"), oauth2.Approval{Subject: defaultUser})
		_, id := h.verified(r.Str("id_token"))
		_, at := h.verified(r.Str("access_token"))
		assert.Equal(t, id["sub"], at["sub"], client)
		assert.Equal(t, public, at["sub"] == defaultUser, client)
		in := h.Introspect(client, h.secrets[client], r.Str("access_token"))
		assert.Equal(t, id["sub"], in.Str("sub"), client)
	}
}

// The query of a sector_identifier_uri, which may hold a secret of the
// relying party's, stays out of the Provider's log of a failed fetch; the
// address of the fetch is there.
func TestPairwiseSectorFailuresLogNoQuery(t *testing.T) {
	var logs bytes.Buffer // written by the request, read after its answer
	h := newHarness(t, func(c *oidc.Config, cfg *oauth2.Config, _ *memory.Store) {
		c.PairwiseKey = pairwiseKey
		cfg.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	h.addClient(storage.Client{ID: "pw", RedirectURIs: []string{rpRedirect}, GrantTypes: []string{"authorization_code"},
		Scopes: []string{"openid"}, SubjectType: oidc.SubjectPairwise,
		SectorIdentifierURI: "https://10.0.0.1/sector.json?key=s3cr3t-of-the-rp"})
	q := redirected(t, h.authorize(newRequest(t, "pw", "scope", "openid").params))
	require.NotEmpty(t, q.Get("error"))
	assert.Contains(t, logs.String(), "https://10.0.0.1/sector.json", logs.String())
	assert.NotContains(t, logs.String(), "s3cr3t")
}
