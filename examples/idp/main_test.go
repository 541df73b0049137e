package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grantor-dev/grantor/oauth2"
)

// What the command writes is what examples/server reads and accepts: the
// trusted-issuers file parses with the server's parser and holds the public
// key only (the server refuses a private one), and a printed JWT verifies
// as a JWT bearer assertion would (RFC 7523 §3): the issuer's key, exp
// within 10 minutes, a jti; with the claims the flags give. The key made
// on the first run signs the later ones.
func TestTrustedIssuersFileAndAssertion(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "idp-key.json")
	trusted := filepath.Join(dir, "trusted-issuers.json")
	var notes bytes.Buffer
	require.NoError(t, run([]string{"-key", key, "-trusted-issuers", trusted}, &bytes.Buffer{}, &notes, time.Now()))
	assert.Contains(t, notes.String(), "made a new ES256 key in "+key)
	info, err := os.Stat(key)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm(), "the private key is its owner's only")

	data, err := os.ReadFile(trusted)
	require.NoError(t, err)
	list, err := oauth2.ParseTrustedIssuers(data)
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, "https://idp.example", list[0].Issuer)
	issuers, err := oauth2.NewTrustedIssuerList(list, nil)
	require.NoError(t, err, "public keys only")

	now := time.Now()
	var out bytes.Buffer
	notes.Reset()
	require.NoError(t, run([]string{"-key", key, "-sub", "alice", "-aud", "http://127.0.0.1:8080", "-scope", "read"}, &out, &notes, now))
	assert.Empty(t, notes.String(), "the key is reused")
	assertion := strings.TrimSpace(out.String())
	require.Equal(t, 2, strings.Count(assertion, "."), "out holds the JWT alone")
	jwt, err := oauth2.VerifyTrustedJWT(context.Background(), issuers, assertion,
		oauth2.TrustedJWTOptions{Now: now, MaxLifetime: 10 * time.Minute, RequireJTI: true})
	require.NoError(t, err)
	assert.Equal(t, "https://idp.example", jwt.Issuer)
	assert.Equal(t, "alice", jwt.Subject)
	assert.Equal(t, []string{"http://127.0.0.1:8080"}, jwt.Audience)
	assert.Equal(t, "read", jwt.Claims["scope"])
	assert.WithinDuration(t, now.Add(5*time.Minute), jwt.ExpiresAt, time.Second)

	out.Reset()
	require.NoError(t, run([]string{"-key", key, "-sub", "alice", "-aud", "http://127.0.0.1:8080"}, &out, &notes, now))
	again, err := oauth2.VerifyTrustedJWT(context.Background(), issuers, strings.TrimSpace(out.String()),
		oauth2.TrustedJWTOptions{Now: now, RequireJTI: true})
	require.NoError(t, err)
	assert.NotEqual(t, jwt.ID, again.ID, "each assertion has a jti of its own")
	assert.NotContains(t, again.Claims, "scope")
	assert.Equal(t, "JWT", again.Type, "an assertion by default")

	// -typ at+jwt makes an access token of the provider (RFC 9068 §2.1).
	out.Reset()
	require.NoError(t, run([]string{"-key", key, "-sub", "alice", "-aud", "http://127.0.0.1:8080", "-typ", "at+jwt"}, &out, &notes, now))
	at, err := oauth2.VerifyTrustedJWT(context.Background(), issuers, strings.TrimSpace(out.String()), oauth2.TrustedJWTOptions{Now: now})
	require.NoError(t, err)
	assert.Equal(t, "at+jwt", at.Type)
}

func TestFlagErrors(t *testing.T) {
	key := filepath.Join(t.TempDir(), "idp-key.json")
	for name, args := range map[string][]string{
		"nothing to do":   {"-key", key},
		"sub without aud": {"-key", key, "-sub", "alice"},
		"extra argument":  {"-key", key, "-sub", "alice", "-aud", "x", "extra"},
	} {
		assert.Error(t, run(args, &bytes.Buffer{}, &bytes.Buffer{}, time.Now()), name)
	}
	_, err := os.Stat(key)
	assert.ErrorIs(t, err, os.ErrNotExist, "no key is made for a command that does nothing")
}
