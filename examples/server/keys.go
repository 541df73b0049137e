package main

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"

	"github.com/grantor-dev/grantor/token"
)

// The rotation of the token keys (token.StoredKeysConfig). Every instance
// over one store reads the keys again every keyReloadInterval, and a new
// key is published for longer than that before it signs.
const (
	keyReloadInterval = 10 * time.Second

	// HMAC keys sign refresh tokens, whose idle lifetime is 30 days by
	// default: a key keeps verifying for that long after it stopped
	// signing. They are rotated every 30 days, published a minute ahead
	// (every instance has read them by then; opaque tokens name no key).
	macKeyInterval     = 30 * 24 * time.Hour
	macKeyPublishAhead = time.Minute
	macKeyRetireAfter  = 30*24*time.Hour + time.Hour

	// JWT signing keys: published an hour before they sign (longer than
	// resource servers cache the JWK Set), sign for a day, and stay
	// published for longer than an access token lives.
	jwtKeyInterval     = 24 * time.Hour
	jwtKeyPublishAhead = time.Hour
	jwtKeyRetireAfter  = time.Hour + 5*time.Minute

	// ID token keys (openid.go) sign for a day too, published an hour
	// ahead for the relying parties' JWK Set caches. An ID token lives
	// five minutes, but it comes back later as the id_token_hint of an
	// RP-initiated logout or of an authorization request, which the
	// OpenID Provider verifies with these keys, expired tokens included
	// (RP-Initiated Logout 1.0 §2; Core §3.1.2.1): a key keeps verifying
	// for a login session's lifetime after it stopped signing, and an
	// hour more.
	idTokenKeyInterval     = 24 * time.Hour
	idTokenKeyPublishAhead = time.Hour
	idTokenKeyRetireAfter  = sessionLifetime + time.Hour
)

// The names of the ID token key sets in the store (token.StoredKeysConfig
// Name): one per algorithm, ES256 the default and RS256 the one every
// OpenID Provider supports (OpenID Connect Discovery 1.0 §3).
const (
	idTokenES256KeySet = "id-token-es256"
	idTokenRS256KeySet = "id-token-rs256"
)

// maxSecretFileBytes bounds the secret file: a few dozen secrets.
const maxSecretFileBytes = 64 << 10

// makeSecretHint is how to make a secret file, for the error messages.
const makeSecretHint = "make one with\n\n\thead -c 32 /dev/urandom | base64 > secret\n\n" +
	"and start the server with -secret-file secret; keep the file out of the database and its backups"

// tokenKeys are the keys of the server's tokens, kept in its store.
type tokenKeys struct {
	macs    *token.StoredMACKeys
	signing *token.StoredSigningKeys // nil with opaque access tokens
	// idTokens sign ID tokens, ES256 first, then RS256 (openid.go). They
	// are sets of their own, whatever the access token format: their keys
	// must verify for as long as a login session lasts, far longer than
	// an access token's, and an ID token cannot pass for an access token
	// at a resource server that knows only the access tokens' keys (RFC
	// 8725 §3.12).
	idTokens []*token.StoredSigningKeys
}

// openTokenKeys opens the token keys kept in st, sealed with the secrets
// of the -secret-file. A persistent store needs the file: its keys must
// open after a restart and at every instance. The memory store, which
// forgets everything at exit, seals with a secret of this process.
func openTokenKeys(ctx context.Context, o options, st *openedStore, logger *slog.Logger) (*tokenKeys, error) {
	var secrets [][]byte
	switch {
	case o.secretFile != "":
		var err error
		if secrets, err = readSecretFile(o.secretFile, logger); err != nil {
			return nil, err
		}
	case st.persistent:
		return nil, fmt.Errorf("-store %s keeps the token keys in the database, sealed with a secret that is not: "+
			"-secret-file is required; %s", st.kind, makeSecretHint)
	default:
		secret := make([]byte, token.MinSealingSecretLen)
		if _, err := rand.Read(secret); err != nil {
			return nil, err
		}
		secrets = [][]byte{secret}
	}
	base := token.StoredKeysConfig{
		Store:          st,
		Secrets:        secrets,
		ReloadInterval: cmp.Or(o.keyReloadInterval, keyReloadInterval),
		Now:            o.clock,
		Logger:         logger,
	}
	macCfg := base
	macCfg.Interval, macCfg.PublishAhead, macCfg.RetireAfter = macKeyInterval, macKeyPublishAhead, macKeyRetireAfter
	keys := &tokenKeys{}
	var err error
	if keys.macs, err = token.OpenStoredMACKeys(ctx, macCfg); err != nil {
		return nil, keyError(o, err)
	}
	if o.tokens == "jwt" {
		jwtCfg := base
		jwtCfg.Algorithm = jwa.ES256.String()
		jwtCfg.Interval, jwtCfg.PublishAhead, jwtCfg.RetireAfter = jwtKeyInterval, jwtKeyPublishAhead, jwtKeyRetireAfter
		if keys.signing, err = token.OpenStoredSigningKeys(ctx, jwtCfg); err != nil {
			return nil, keyError(o, err)
		}
	}
	for _, set := range []struct{ name, alg string }{
		{idTokenES256KeySet, jwa.ES256.String()},
		{idTokenRS256KeySet, jwa.RS256.String()},
	} {
		idCfg := base
		idCfg.Name, idCfg.Algorithm = set.name, set.alg
		idCfg.Interval, idCfg.PublishAhead, idCfg.RetireAfter = idTokenKeyInterval, idTokenKeyPublishAhead, idTokenKeyRetireAfter
		ks, err := token.OpenStoredSigningKeys(ctx, idCfg)
		if err != nil {
			return nil, keyError(o, err)
		}
		keys.idTokens = append(keys.idTokens, ks)
	}
	return keys, nil
}

// idTokenKeySources returns the ID token keys as the OpenID Provider takes
// them (oidc.Config.Keys), the default (ES256) first.
func (k *tokenKeys) idTokenKeySources() []token.KeySource {
	sources := make([]token.KeySource, len(k.idTokens))
	for i, ks := range k.idTokens {
		sources[i] = ks
	}
	return sources
}

// keyError says what to do about keys that do not open.
func keyError(o options, err error) error {
	switch {
	case errors.Is(err, token.ErrUnknownSealingSecret):
		return fmt.Errorf("the token keys in the store were sealed with a secret that is not in %s: "+
			"start with the secret file they were sealed with (to change the secret, keep the old one in the "+
			"file: add the new one after it, then put it first once every instance has both; SECURITY.md tells how): %w", o.secretFile, err)
	case errors.Is(err, token.ErrSealedKeyAltered):
		return fmt.Errorf("the token keys in the store were changed outside the server and are refused: %w", err)
	}
	return fmt.Errorf("token keys: %w", err)
}

// readSecretFile reads the secrets of a -secret-file: one per line, each
// the standard base64 of at least token.MinSealingSecretLen random bytes;
// the first seals, every one opens. Blank lines and lines starting with #
// are skipped. Errors name the file and the line, never a secret.
func readSecretFile(name string, logger *slog.Logger) ([][]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("-secret-file: %w", err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o077 != 0 {
		logger.Warn("the secret file can be read by others than its owner: chmod 600 it",
			"file", name, "mode", fi.Mode().Perm().String())
	}
	b, err := io.ReadAll(io.LimitReader(f, maxSecretFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("-secret-file %s: %w", name, err)
	}
	if len(b) > maxSecretFileBytes {
		return nil, fmt.Errorf("-secret-file %s: larger than %d bytes", name, maxSecretFileBytes)
	}
	var secrets [][]byte
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		secret, err := base64.StdEncoding.DecodeString(line)
		if err != nil {
			return nil, fmt.Errorf("-secret-file %s, line %d: not base64; %s", name, n, makeSecretHint)
		}
		if len(secret) < token.MinSealingSecretLen {
			return nil, fmt.Errorf("-secret-file %s, line %d: %d bytes, fewer than %d; %s",
				name, n, len(secret), token.MinSealingSecretLen, makeSecretHint)
		}
		secrets = append(secrets, secret)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("-secret-file %s: %w", name, err)
	}
	if len(secrets) == 0 {
		return nil, fmt.Errorf("-secret-file %s holds no secret; %s", name, makeSecretHint)
	}
	return secrets, nil
}

// run reloads and rotates the keys until ctx is done.
func (k *tokenKeys) run(ctx context.Context) {
	if k.signing != nil {
		go func() { _ = k.signing.Run(ctx) }()
	}
	for _, ks := range k.idTokens {
		go func() { _ = ks.Run(ctx) }()
	}
	_ = k.macs.Run(ctx)
}
