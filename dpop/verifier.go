package dpop

import (
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"time"
)

// Request is what Verify checks a proof against: the request as the
// server received it and the URL it was sent to.
type Request struct {
	// Proofs are the values of the request's DPoP header fields, as
	// r.Header.Values("DPoP") returns them: a request with two DPoP
	// header fields has two values and is refused (RFC 9449 §4.3
	// step 1).
	Proofs []string
	// Method is the request's HTTP method, r.Method, which htm must equal
	// (RFC 9449 §4.3 step 8).
	Method string
	// URL is the absolute URL of the endpoint, which htu must name once
	// both are normalised and stripped of query and fragment (RFC 9449
	// §4.3 step 9). Best, it is the endpoint's public URL as the server
	// is configured with it. A handler that serves many paths builds it
	// from the configured public base URL and the path as the request
	// wrote it, r.URL.EscapedPath(), never the decoded r.URL.Path (in
	// which an encoded "/" or "?" has become a delimiter), and never from
	// the Host or X-Forwarded-* headers, which the client controls.
	//
	// A URL whose scheme or host is wrong is the caller's mistake, and
	// Verify returns a plain error; a path that is not RFC 3986 syntax
	// or a URL longer than MaxURLLength comes from the request, and
	// refuses the proof.
	URL string
	// AccessToken, when not empty, is the access token presented with the
	// proof to a protected resource: the proof must then carry ath, the
	// base64url SHA-256 digest of it (RFC 9449 §4.3 step 12, §7.1).
	// Empty at the token endpoint.
	AccessToken string
}

// Proof is an accepted DPoP proof.
type Proof struct {
	// Thumbprint is the JWK SHA-256 thumbprint of the proof's key
	// (RFC 7638), base64url: the cnf.jkt of a token bound to it
	// (RFC 9449 §6.1), to compare with SameThumbprint.
	Thumbprint string
	// Algorithm is the proof's alg.
	Algorithm string
	// PublicKey is the proof's key: *ecdsa.PublicKey, ed25519.PublicKey
	// or *rsa.PublicKey. It is the caller's own copy: changing it changes
	// nothing in the Verifier.
	PublicKey crypto.PublicKey
	// ID is the proof's jti.
	ID string
	// IssuedAt is the proof's iat.
	IssuedAt time.Time
	// Method and URL are the proof's htm and htu, as sent.
	Method, URL string
	// Nonce is the proof's nonce claim, as sent; empty when it has none.
	Nonce string
	// NextNonce, when not empty, is a fresh server nonce to send in the
	// DPoP-Nonce header of the response: the proof's nonce is about to
	// expire (RFC 9449 §8.2). Empty when the Verifier uses no nonces.
	NextNonce string
}

// replayKeyPrefix namespaces proof jtis in a replay store shared with
// other uses.
const replayKeyPrefix = "dpop:"

// Verify checks a DPoP proof as RFC 9449 §4.3 lists it and returns it
// when it is accepted. The checks, cheapest first:
//
//  1. exactly one DPoP header value (step 1), at most MaxProofSize bytes;
//  2. a JWS in compact serialization with canonical base64url, whose
//     header and claims are JSON objects without duplicate members
//     (step 2), with jti, htm, htu and iat of the right types (step 3);
//  3. typ is dpop+jwt (step 4); alg is one of Algorithms, so never
//     "none" nor HMAC (step 5); no crit, b64, zip, enc, cty, jku, x5u
//     or x5c header;
//  4. htm is Request.Method (step 8) and htu names Request.URL (step 9);
//  5. iat no older than MaxAge and no further ahead than ClockSkew
//     (step 11, §11.1);
//  6. ath is the digest of Request.AccessToken when one is given
//     (step 12);
//  7. with Nonces, nonce is valid (step 10), else the error has
//     CodeUseNonce and a fresh nonce;
//  8. jwk is a public key with no private member (step 7), of a type
//     that fits alg, and the signature verifies with it (step 6);
//  9. the jti has not been seen with this key (§11.1): the replay key is
//     a digest of the key's thumbprint and jti, remembered until iat +
//     MaxAge + ClockSkew + ReplayMargin, after which no instance whose
//     clock is within ReplayMargin of the store's accepts the proof.
//
// A refused proof is an *Error (CodeInvalidProof or CodeUseNonce), and so
// is a Request.URL whose path is malformed or too long: it comes from the
// request. A failure of the replay store that Config.IsReplay does not
// recognise, or a Request.URL that is not an absolute http or https URL
// with a valid host, is returned as a plain error: the server failed, or
// is misconfigured, not the proof.
func (v *Verifier) Verify(ctx context.Context, req Request) (*Proof, error) {
	// Step 1.
	switch len(req.Proofs) {
	case 0:
		return nil, invalid(descMissing)
	case 1:
	default:
		return nil, invalid(descMultiple)
	}
	raw := req.Proofs[0]
	if raw == "" {
		return nil, invalid(descMissing)
	}
	expected, fault := normalizeURLFault(req.URL)
	switch fault {
	case urlBadOrigin:
		return nil, errors.New("dpop: Request.URL is not an absolute http or https URL")
	case urlBadPath:
		// The request's target, which the client chose.
		return nil, invalid(descRequestURL)
	}

	// Steps 2 to 5.
	p, e := parseProof(raw, v.maxSize, v.algs)
	if e != nil {
		return nil, e
	}
	// Step 8: methods are case-sensitive (RFC 9110 §9.1).
	if p.htm != req.Method {
		return nil, invalid(descHTM)
	}
	// Step 9.
	if !sameURL(p.htu, req.URL, expected) {
		return nil, invalid(descHTU)
	}
	// Step 11. Without nonces iat is the proof's only age (§11.1); with
	// them it is checked all the same, so that a jti need be remembered
	// only for MaxAge.
	now := v.clock()
	if p.iat.Before(now.Add(-v.maxAge)) {
		return nil, invalid(descIATPast)
	}
	if p.iat.After(now.Add(v.skew)) {
		return nil, invalid(descIATFuture)
	}
	// Step 12, the ath half. The other half, the token's cnf.jkt against
	// the proof's key, is the caller's, with the returned Thumbprint.
	if req.AccessToken != "" {
		if !p.hasATH {
			return nil, invalid(descATHMissing)
		}
		if !athMatches(p.ath, req.AccessToken) {
			return nil, invalid(descATH)
		}
	}

	// Step 10, before the key and the signature, which cost far more: a
	// proof without the current nonce is refused, and the client told
	// the nonce, whoever signed it.
	var nextNonce string
	if v.nonces != nil {
		if !p.hasNonce || p.nonce == "" {
			return nil, useNonce(descNonceMissing, v.nonces.Issue())
		}
		valid, current := v.nonces.check(p.nonce)
		if !valid {
			return nil, useNonce(descNonceInvalid, v.nonces.Issue())
		}
		if !current {
			nextNonce = v.nonces.Issue()
		}
	}

	// Steps 7 and 6. A key parsed here is cached only once its signature
	// verified.
	key, cached := v.keys.lookup(p.jwk)
	if !cached {
		var desc string
		if key, desc = parseProofKey(p.jwk, v.maxRSABits); key == nil {
			return nil, invalid(desc)
		}
	}
	if !key.fits(p.alg) {
		return nil, invalid(descJWKUnusable)
	}
	verifier := v.verifiers[p.alg]
	if verifier == nil {
		return nil, invalid(descAlg)
	}
	if verifier.Verify(p.signingInput, p.signature, key.raw) != nil {
		return nil, invalid(descSignature)
	}
	if !cached {
		v.keys.add(p.jwk, key)
	}

	proof := &Proof{
		Thumbprint: key.thumbprint,
		Algorithm:  p.alg,
		PublicKey:  copyPublicKey(key.raw),
		ID:         p.jti,
		IssuedAt:   p.iat,
		Method:     p.htm,
		URL:        p.htu,
		Nonce:      p.nonce,
		NextNonce:  nextNonce,
	}

	// §11.1: only a proof that passed every other check burns its jti.
	// It stays remembered as long as any instance could accept the proof.
	if err := v.replay.Remember(ctx, replayKey(key.thumbprint, p.jti), p.iat.Add(v.replayTTL)); err != nil {
		if v.isReplay(err) {
			e := invalid(descReplayed)
			e.err = fmt.Errorf("%w: %w", ErrInvalidProof, ErrReplayed)
			return nil, e
		}
		return nil, fmt.Errorf("dpop: replay store: %w", err)
	}
	return proof, nil
}

// athMatches reports, in constant time, whether ath is the base64url
// SHA-256 digest of the ASCII access token (RFC 9449 §4.2).
func athMatches(ath, token string) bool {
	sum := sha256.Sum256([]byte(token))
	var enc [43]byte
	base64.RawURLEncoding.Encode(enc[:], sum[:])
	return subtle.ConstantTimeCompare([]byte(ath), enc[:]) == 1
}

// AccessTokenHash returns the ath claim for an access token: the
// base64url SHA-256 digest of its ASCII octets (RFC 9449 §4.2).
func AccessTokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// replayKey is the replay store key of a proof: a digest of the key's
// thumbprint and the jti, so that its length is bounded whatever the jti
// and one client's jti never collides with another's. The thumbprint has
// a fixed length, so the two cannot be confused.
func replayKey(thumbprint, jti string) string {
	var in [ThumbprintLength + 1 + maxJTILength]byte
	n := copy(in[:], thumbprint)
	in[n] = 0
	n++
	n += copy(in[n:], jti)
	sum := sha256.Sum256(in[:n])
	var out [len(replayKeyPrefix) + 43]byte
	copy(out[:], replayKeyPrefix)
	base64.RawURLEncoding.Encode(out[len(replayKeyPrefix):], sum[:])
	return string(out[:])
}
