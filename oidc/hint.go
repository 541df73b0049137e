package oidc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/grantor-dev/grantor/internal/jose"
	"github.com/grantor-dev/grantor/oauth2"
)

// maxHintDepth bounds the nesting of an id_token_hint's header.
const maxHintDepth = 8

// maxHintKeyTrials bounds the keys an id_token_hint's signature is tried
// with: the keys of its kid, a handful.
const maxHintKeyTrials = 4

// idTokenHint is what the OpenID Provider reads of a verified
// id_token_hint.
type idTokenHint struct {
	Subject  string
	SID      string
	Audience []string
}

// errBadHint is the refusal of an id_token_hint: one answer whatever is
// wrong with it, so that it teaches a forger nothing.
var errBadHint = errors.New("oidc: the id_token_hint is not an ID token of this OpenID Provider")

// verifyIDTokenHint checks that hint is an ID token this OpenID Provider
// issued (OpenID Connect Core §3.1.2.1; RP-Initiated Logout 1.0 §2): a
// compact JWS of at most oauth2.MaxTokenParameterBytes, signed with one of the
// keys of Config.Keys under that key's own algorithm, of type JWT or none
// (never an access token, at+jwt, nor a logout token, RFC 8725 §3.11),
// whose iss is the issuer and that names a subject. An expired one is
// accepted: the hint only identifies the user. A store that cannot be
// read is an error other than errBadHint.
func (o *Provider) verifyIDTokenHint(ctx context.Context, hint string) (*idTokenHint, error) {
	c, err := jose.SplitCompact(hint, oauth2.MaxTokenParameterBytes)
	if err != nil {
		return nil, errBadHint
	}
	jws, err := c.Decode()
	if err != nil {
		return nil, errBadHint
	}
	h, err := jose.ReadHeader(jws.Header, maxHintDepth)
	if err != nil || h.HasCty || !h.HasKID {
		return nil, errBadHint
	}
	if h.HasTyp && !strings.EqualFold(h.Typ, idTokenType) {
		return nil, errBadHint
	}
	signer := o.signers[h.Alg]
	if signer == nil {
		return nil, errBadHint // not an algorithm of ours: "none" and the MACs among them
	}
	set := signer.PublicKeys()
	if set.Len() == 0 {
		if _, err := signer.JWKS(); err != nil {
			return nil, fmt.Errorf("oidc: the keys that verify an id_token_hint are unavailable: %w", err)
		}
	}
	ok, err := jose.VerifyWithKeys(jose.PublicKeys(set), h.Alg, h.KID, true, jws.SigningInput, jws.Signature, maxHintKeyTrials)
	if err != nil || !ok {
		return nil, errBadHint
	}
	// The signature is ours: the claims are what we wrote.
	var claims struct {
		Issuer   string          `json:"iss"`
		Subject  string          `json:"sub"`
		SID      string          `json:"sid"`
		Audience json.RawMessage `json:"aud"`
	}
	if err := json.Unmarshal(jws.Payload, &claims); err != nil || claims.Issuer != o.p.Issuer() || claims.Subject == "" {
		return nil, errBadHint
	}
	out := &idTokenHint{Subject: claims.Subject, SID: claims.SID}
	var one string
	if json.Unmarshal(claims.Audience, &one) == nil {
		out.Audience = []string{one}
	} else if json.Unmarshal(claims.Audience, &out.Audience) != nil || len(out.Audience) == 0 {
		return nil, errBadHint
	}
	return out, nil
}
