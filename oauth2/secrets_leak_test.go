package oauth2_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/grant"
	"github.com/grantor-dev/grantor/internal/testkit"
	"github.com/grantor-dev/grantor/oauth2"
	"github.com/grantor-dev/grantor/storage"
	"github.com/grantor-dev/grantor/storage/memory"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// RFC 6819 §5.1.4.1.3 and Keycloak GHSA-qgmm-f2qw-r95f: after whole flows,
// with debug logging on, neither the logs, the events, the error
// descriptions nor the stored records contain a secret or a token.
func TestNoSecretOrTokenIsStoredOrLogged(t *testing.T) {
	var logs lockedBuffer
	h := testkit.New(t, func(cfg *oauth2.Config, store *memory.Store) {
		cfg.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		cfg.Grants = []oauth2.GrantFactory{
			grant.ClientCredentials(grant.ClientCredentialsOptions{IssueRefreshTokens: true}),
			grant.RefreshToken(store, grant.RefreshTokenOptions{}),
		}
	})
	secret := h.AddClient(storage.Client{ID: "svc", GrantTypes: []string{"client_credentials", "refresh_token"}, Scopes: []string{"read"}})

	var sensitive []string
	var bodies []string
	r := h.Token("svc", secret, url.Values{"grant_type": {"client_credentials"}})
	require.Equal(t, http.StatusOK, r.Status)
	at1, rt1 := r.Str("access_token"), r.Str("refresh_token")
	r = h.Token("svc", secret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt1}})
	require.Equal(t, http.StatusOK, r.Status)
	at2, rt2 := r.Str("access_token"), r.Str("refresh_token")
	// Failures that carry secrets and tokens: a wrong secret, a reuse, a
	// forged token.
	bodies = append(bodies, string(h.Token("svc", secret+"x", url.Values{"grant_type": {"client_credentials"}}).Body))
	bodies = append(bodies, string(h.Token("svc", secret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt1}}).Body))
	bodies = append(bodies, string(h.Token("svc", secret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt2 + "x"}}).Body))
	sensitive = append(sensitive, secret, secret+"x", at1, rt1, at2, rt2)

	var records []string
	for _, tok := range []string{at1, at2} {
		rec, err := h.AccessTokenRecord(tok)
		require.NoError(t, err)
		records = append(records, fmt.Sprintf("%+v", *rec))
	}
	for _, tok := range []string{rt1, rt2} {
		rec, err := h.RefreshTokenRecord(tok)
		require.NoError(t, err)
		records = append(records, fmt.Sprintf("%+v", *rec))
	}
	client, err := h.Store.Client(t.Context(), "svc")
	require.NoError(t, err)
	records = append(records, fmt.Sprintf("%+v", *client))

	var events []string
	for _, typ := range []oauth2.EventType{oauth2.EventTokenIssued, oauth2.EventClientAuthFailed, oauth2.EventRefreshTokenReuse, oauth2.EventGrantRevoked} {
		for _, e := range h.Events(typ) {
			events = append(events, fmt.Sprintf("%+v", e))
		}
	}
	require.NotEmpty(t, logs.String(), "debug logging produced output")
	haystacks := map[string]string{"logs": logs.String(), "error bodies": strings.Join(bodies, "\n"),
		"records": strings.Join(records, "\n"), "events": strings.Join(events, "\n")}
	for where, text := range haystacks {
		for _, s := range sensitive {
			// The random part of a token is what makes it a credential.
			_, random, _ := strings.Cut(s, "_")
			_, random, _ = strings.Cut(random, "_")
			random, _, _ = strings.Cut(random, ".")
			assert.NotContains(t, text, random, "%s hold a secret or a token", where)
		}
	}
}
