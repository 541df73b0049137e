package grantortest

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/grantor-dev/grantor/oauth2"
	"github.com/grantor-dev/grantor/storage"
	"github.com/grantor-dev/grantor/storage/memory"
)

// GrantType is the grant type through which Mint and AccessToken obtain
// their tokens from the Provider's token endpoint: an extension grant (RFC
// 6749 §4.5) that a Server registers besides the grants of its
// configuration, so it appears in the metadata's grant_types_supported.
// It answers only the client ClientID, whose secret only the Server
// knows, and only a request that Mint prepared in the same process.
const GrantType = "urn:grantortest:grant-type:mint"

// ClientID is the client_id of the tokens Mint and AccessToken issue: a
// confidential client that the Server registers for GrantType and
// refresh_token, with the scopes and audiences asked of Mint.
const ClientID = "grantortest"

// Grant describes the tokens Mint issues.
type Grant struct {
	// Subject is the token's subject ("sub"), the resource owner.
	// Required.
	Subject string
	// Scopes are the token's scopes.
	Scopes []string
	// Audience is the token's audience ("aud"). Nil means the Provider's
	// default audience: oauth2.Config.DefaultAudience, or the issuer.
	Audience []string
	// Claims are extra claims of the grant, as an approval gives them.
	Claims map[string]any
	// RefreshToken asks for a refresh token as well. The Provider needs
	// a refresh token grant, which a Server has unless WithConfig removed
	// it.
	RefreshToken bool
}

// Tokens is the token endpoint's answer to Mint (RFC 6749 §5.1).
type Tokens struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
	Scope        string `json:"scope"`
}

// Mint obtains tokens for g from the Provider's token endpoint, as a
// client would: they are real tokens, stored by the Provider, that
// resource.Middleware, introspection and revocation accept like any
// other, of the client ClientID. A refusal fails the test.
//
// The Provider's own checks apply: its claims hook runs, its lifetimes
// hold, and a Provider that checks what grants return refuses a subject
// it would refuse from any grant.
func (s *Server) Mint(t testing.TB, g Grant) Tokens {
	t.Helper()
	if g.Subject == "" {
		t.Fatalf("grantortest: Mint needs a subject")
	}
	id, secret, err := s.mint.prepare(g)
	if err != nil {
		t.Fatalf("grantortest: %v", err)
	}
	form := url.Values{"grant_type": {GrantType}, "mint": {id}}
	if len(g.Scopes) > 0 {
		form.Set("scope", strings.Join(g.Scopes, " "))
	}
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, s.Provider.TokenEndpoint(), strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatalf("grantortest: %v", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(ClientID), url.QueryEscape(secret))
	resp, err := s.Client().Do(req)
	s.mint.take(id) // used or not, the request is over
	if err != nil {
		t.Fatalf("grantortest: token request: %v", err)
	}
	defer resp.Body.Close()
	var body struct {
		Tokens
		Error            string `json:"error"`
		ErrorDescription string `json:"error_description"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("grantortest: token response (%s): %v", resp.Status, err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("grantortest: the token endpoint refused to mint tokens for %q: %s %s: %s", g.Subject, resp.Status, body.Error, body.ErrorDescription)
	}
	return body.Tokens
}

// AccessToken returns an access token for subject with scopes, of the
// Provider's default audience: Mint, for the common case.
func (s *Server) AccessToken(t testing.TB, subject string, scopes ...string) string {
	t.Helper()
	return s.Mint(t, Grant{Subject: subject, Scopes: scopes}).AccessToken
}

// Revoke revokes a token that Mint or AccessToken issued, at the
// Provider's revocation endpoint (RFC 7009 §2.1), as its client would: a
// revoked access token is refused from then on. A refusal fails the test.
func (s *Server) Revoke(t testing.TB, token string) {
	t.Helper()
	form := url.Values{"token": {token}}
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, s.Provider.RevocationEndpoint(), strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatalf("grantortest: %v", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(ClientID), url.QueryEscape(s.mint.clientSecret()))
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatalf("grantortest: revocation request: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
		t.Fatalf("grantortest: the revocation endpoint answered %s: %s", resp.Status, body)
	}
}

// minter is the grant behind Mint, and its client.
type minter struct {
	store           *memory.Store
	defaultAudience []string

	mu      sync.Mutex
	secret  string
	client  storage.Client
	pending map[string]Grant // by the id of the request Mint prepared
}

func newMinter(store *memory.Store, defaultAudience []string) *minter {
	return &minter{store: store, defaultAudience: defaultAudience, pending: make(map[string]Grant)}
}

// register registers the minting client.
func (m *minter) register() error {
	secret, hash, err := oauth2.GenerateClientSecret(nil)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.secret = secret
	m.client = storage.Client{ID: ClientID, Name: "grantortest", SecretHash: hash,
		GrantTypes: []string{GrantType, "refresh_token"}, Audience: slices.Clone(m.defaultAudience)}
	return m.store.PutClient(&m.client)
}

// prepare registers what g needs with the minting client (its scopes and
// audience, so that the client may have them) and returns the id of the
// request and the client's secret.
func (m *minter) prepare(g Grant) (id, secret string, err error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", "", err
	}
	id = base64.RawURLEncoding.EncodeToString(b[:])
	m.mu.Lock()
	defer m.mu.Unlock()
	grew := false
	for _, sc := range g.Scopes {
		if !slices.Contains(m.client.Scopes, sc) {
			m.client.Scopes, grew = append(m.client.Scopes, sc), true
		}
	}
	for _, aud := range g.Audience {
		if !slices.Contains(m.client.Audience, aud) {
			m.client.Audience, grew = append(m.client.Audience, aud), true
		}
	}
	if grew {
		if err := m.store.PutClient(&m.client); err != nil {
			return "", "", err
		}
	}
	g.Scopes, g.Audience, g.Claims = slices.Clone(g.Scopes), slices.Clone(g.Audience), maps.Clone(g.Claims)
	m.pending[id] = g
	return id, m.secret, nil
}

func (m *minter) clientSecret() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.secret
}

// take returns the grant prepared under id, once.
func (m *minter) take(id string) (Grant, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	g, ok := m.pending[id]
	delete(m.pending, id)
	return g, ok
}

func (m *minter) factory(*oauth2.Provider) (oauth2.GrantHandler, error) { return m, nil }

// GrantType implements oauth2.GrantHandler.
func (m *minter) GrantType() string { return GrantType }

// HandleTokenRequest implements oauth2.GrantHandler: it issues what Mint
// prepared, to the minting client only.
func (m *minter) HandleTokenRequest(_ context.Context, req *oauth2.TokenRequest) (*oauth2.Issue, error) {
	if req.Client.ID != ClientID {
		return nil, oauth2.NewError(oauth2.ErrUnauthorizedClient, "only the grantortest client mints tokens")
	}
	g, ok := m.take(req.Form.Get("mint"))
	if !ok {
		return nil, oauth2.NewError(oauth2.ErrInvalidGrant, "no such mint request")
	}
	audience := g.Audience
	if audience == nil {
		audience = slices.Clone(m.defaultAudience)
	}
	return &oauth2.Issue{Subject: g.Subject, Scopes: g.Scopes, Audience: audience, Claims: g.Claims,
		RefreshToken: g.RefreshToken}, nil
}
