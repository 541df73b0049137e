package oidc

import (
	"context"
	"crypto"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	_ "crypto/sha256" // the hashes of at_hash
	_ "crypto/sha512"

	"github.com/grantor-dev/grantor/oauth2"
	"github.com/grantor-dev/grantor/storage"
)

// idTokenType is the typ of the header of ID tokens: a JWT (RFC 7519
// §5.1), never at+jwt, so that an ID token is not taken for an access
// token (RFC 9068 §4) nor the other way round.
const idTokenType = "JWT"

// hashOf returns the hash of a JWS algorithm, which at_hash uses (Core
// §3.1.3.6): SHA-256 for the *256 algorithms, and so on; SHA-512 for
// EdDSA, whose Ed25519 signatures hash with it. ok is false for an
// algorithm ID tokens are never signed with (none, the MACs).
func hashOf(alg string) (crypto.Hash, bool) {
	switch alg {
	case "RS256", "PS256", "ES256":
		return crypto.SHA256, true
	case "RS384", "PS384", "ES384":
		return crypto.SHA384, true
	case "RS512", "PS512", "ES512", "EdDSA":
		return crypto.SHA512, true
	}
	return 0, false
}

// tokenHash returns at_hash of an access token (Core §3.1.3.6): the
// base64url left half of the hash of its ASCII octets.
func tokenHash(h crypto.Hash, tok string) string {
	hh := h.New()
	hh.Write([]byte(tok))
	sum := hh.Sum(nil)
	return base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2])
}

// signerFor returns the signer of the client's ID tokens: the key source
// of its id_token_signed_response_alg, or of the default algorithm.
func (o *Provider) signerFor(client *storage.Client) (string, bool) {
	alg := client.IDTokenSignedResponseAlg
	if alg == "" {
		alg = o.algorithms[0]
	}
	_, ok := o.signers[alg]
	return alg, ok
}

// idTokenClaims are the claims of an ID token that the OpenID Provider
// sets itself (Core §2), in the order they are written.
type idTokenClaims struct {
	Issuer   string   `json:"iss"`
	Subject  string   `json:"sub"`
	Audience string   `json:"aud"`
	Expires  int64    `json:"exp"`
	IssuedAt int64    `json:"iat"`
	AuthTime int64    `json:"auth_time,omitempty"`
	Nonce    string   `json:"nonce,omitempty"`
	ACR      string   `json:"acr,omitempty"`
	AMR      []string `json:"amr,omitempty"`
	AZP      string   `json:"azp"`
	ATHash   string   `json:"at_hash,omitempty"`
	SID      string   `json:"sid,omitempty"`
}

// idTokenGrantTypes are the grants whose token responses carry ID tokens
// (Core §3.1.3.3, §12.2), to the client the user signed in to: not token
// exchange, whose tokens join the grant they were exchanged from but
// answer another request. A grant of another type that approves OpenID
// requests (ExtendApproval) would join this list.
var idTokenGrantTypes = map[string]bool{"authorization_code": true, "refresh_token": true}

// signedInTo reports whether a grant's values ext name client as the one
// the user signed in to; a grant approved before grants kept it was
// always its own client's.
func signedInTo(ext map[string]string, client string) bool {
	c, ok := ext[extClient]
	return !ok || c == client
}

// ExtendTokenResponse implements oauth2.TokenResponseExtender: a token
// response for a grant approved for an OpenID Connect request, whose
// access token carries openid, gets an id_token (Core §3.1.3.3). That of
// a code's redemption carries the request's nonce; that of a refresh has
// none and the same subject and auth_time (Core §12.2).
func (o *Provider) ExtendTokenResponse(ctx context.Context, t *oauth2.IssuedTokens) (map[string]string, error) {
	if _, ok := t.Issue.Extensions[extAuthTime]; !ok {
		return nil, nil
	}
	// Whatever the scopes of this response (a refresh may narrow them),
	// the grant belongs to its login session.
	ext, err := o.checkGrantSession(ctx, t)
	if err != nil || !slices.Contains(t.Issue.Scopes, ScopeOpenID) || !idTokenGrantTypes[t.Request.GrantType] ||
		!signedInTo(ext, t.Request.Client.ID) {
		return nil, err
	}
	nonce := ""
	if ar := t.Issue.AuthorizationRequest; ar != nil {
		nonce = ar.Parameters[paramNonce]
	}
	idToken, err := o.mintIDToken(ctx, t.Request.Client, t.Issue.Subject, t.Issue.Scopes, ext, nonce, t.AccessToken, t.Now)
	if err != nil {
		return nil, err
	}
	return map[string]string{"id_token": idToken}, nil
}

// mintIDToken signs an ID token for client.
func (o *Provider) mintIDToken(ctx context.Context, client *storage.Client, subject string, scopes []string, ext map[string]string, nonce, accessToken string, now time.Time) (string, error) {
	alg, ok := o.signerFor(client)
	if !ok {
		return "", oauth2.NewError(oauth2.ErrServerError, "the ID token could not be signed").
			WithCause(fmt.Errorf("oidc: client %q asks for ID tokens signed with %q, which no key source signs", client.ID, alg))
	}
	sub, err := o.subjectFor(ctx, client, subject)
	if err != nil {
		return "", err
	}
	c := idTokenClaims{
		Issuer:   o.p.Issuer(),
		Subject:  sub,
		Audience: client.ID,
		Expires:  now.Add(o.lifetime).Unix(),
		IssuedAt: now.Unix(),
		Nonce:    nonce,
		ACR:      ext[extACR],
		AZP:      client.ID,
		SID:      ext[extSID],
	}
	if ext[extAuthTimeRequired] != "" {
		c.AuthTime, _ = strconv.ParseInt(ext[extAuthTime], 10, 64)
	}
	if amr := ext[extAMR]; amr != "" {
		c.AMR = strings.Fields(amr)
	}
	if accessToken != "" {
		h, _ := hashOf(alg)
		c.ATHash = tokenHash(h, accessToken)
	}
	payload, err := json.Marshal(&c)
	if err != nil {
		return "", oauth2.NewError(oauth2.ErrServerError, "the ID token could not be encoded").WithCause(err)
	}
	user, err := o.userClaims(ctx, subject, client, scopes, ext[extClaims], targetIDToken)
	if err != nil {
		return "", claimsError(err)
	}
	if len(user) > 0 {
		if payload, err = appendClaims(payload, user); err != nil {
			return "", oauth2.NewError(oauth2.ErrServerError, "the ID token could not be encoded").WithCause(err)
		}
	}
	return o.sign(ctx, alg, idTokenType, payload)
}

// sign signs a JWT payload with the key source of alg.
func (o *Provider) sign(ctx context.Context, alg, typ string, payload []byte) (string, error) {
	jwt, err := o.signers[alg].SignJWT(ctx, typ, payload)
	if err != nil {
		return "", oauth2.NewError(oauth2.ErrServerError, "the token could not be signed").WithCause(err)
	}
	return jwt, nil
}

// appendClaims appends the members of extra, in the order of their names,
// to the JSON object payload.
func appendClaims(payload []byte, extra map[string]any) ([]byte, error) {
	b := payload[:len(payload)-1]
	for _, name := range slices.Sorted(maps.Keys(extra)) {
		v, err := json.Marshal(extra[name])
		if err != nil {
			return nil, fmt.Errorf("oidc: the claim %q cannot be encoded as JSON: %w", name, err)
		}
		k, _ := json.Marshal(name)
		b = append(b, ',')
		b = append(b, k...)
		b = append(b, ':')
		b = append(b, v...)
	}
	return append(b, '}'), nil
}

// claimsError is the error of a failed ClaimsSource: its own *oauth2.Error,
// or server_error with the cause logged.
func claimsError(err error) error {
	var oe *oauth2.Error
	if errors.As(err, &oe) {
		return oe
	}
	return oauth2.NewError(oauth2.ErrServerError, "the user's claims are unavailable").WithCause(fmt.Errorf("%w: %w", errNoClaims, err))
}
