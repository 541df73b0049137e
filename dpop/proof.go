package dpop

import (
	"strings"
	"time"

	"github.com/grantor-dev/grantor/internal/jose"
)

// Parsing of a proof (RFC 9449 §4.2): the strict rules of internal/jose
// (compact serialization, canonical base64url, JSON objects without
// duplicate members, a depth limit), then the header and claims a proof
// must have, with their types. Nothing here verifies the signature.

// TypeDPoPJWT is the typ header of a DPoP proof (RFC 9449 §4.2).
const TypeDPoPJWT = "dpop+jwt"

const (
	// maxJSONDepth bounds nesting in header, jwk and claims (Authlib
	// CVE-2025-61920).
	maxJSONDepth = 8
	// maxJTILength bounds jti, which is kept in the replay store only as
	// a digest but is hashed and compared in full.
	maxJTILength = 256
	// maxNumericDate is 9999-12-31T23:59:59Z.
	maxNumericDate = 253402300799
)

// Descriptions of Error, one per check: fixed texts that never quote the
// proof. The RFC 9449 §4.3 step each implements is noted.
const (
	descMissing      = "no DPoP proof"                                                 // step 1
	descMultiple     = "more than one DPoP header"                                     // step 1
	descTooLong      = "DPoP proof longer than the size limit"                         // step 2
	descNotJWS       = "DPoP proof is not a JWS in compact serialization"              // step 2
	descHeaderJSON   = "DPoP proof header is not a JSON object without duplicates"     // step 2
	descClaimsJSON   = "DPoP proof claims are not a JSON object without duplicates"    // step 2
	descMissingClaim = "DPoP proof lacks a required claim (jti, htm, htu or iat)"      // step 3
	descClaimType    = "DPoP proof claim of the wrong type or length"                  // step 3
	descTyp          = "DPoP proof typ header is not dpop+jwt"                         // step 4
	descAlg          = "DPoP proof alg is not an accepted asymmetric algorithm"        // step 5
	descHeaderParam  = "DPoP proof carries a header parameter that is not accepted"    // step 5
	descSignature    = "DPoP proof signature does not verify with its jwk"             // step 6
	descJWKMissing   = "DPoP proof has no jwk header"                                  // step 6
	descJWKNotObject = "DPoP proof jwk header is not a JSON object without duplicates" // step 6
	descJWKUnusable  = "DPoP proof jwk is not a usable public key for its alg"         // step 6
	descJWKPrivate   = "DPoP proof jwk contains a private key"                         // step 7
	descHTM          = "DPoP proof htm does not match the request method"              // step 8
	descHTU          = "DPoP proof htu does not match the request URL"                 // step 9
	descRequestURL   = "request URL is malformed or too long to match htu against"     // step 9
	descNonceMissing = "DPoP proof must carry the server nonce"                        // step 10
	descNonceInvalid = "DPoP proof nonce is invalid or expired"                        // step 10
	descIATPast      = "DPoP proof iat is too old"                                     // step 11
	descIATFuture    = "DPoP proof iat is in the future"                               // step 11
	descATHMissing   = "DPoP proof lacks ath for the access token"                     // step 12
	descATH          = "DPoP proof ath does not match the access token"                // step 12
	descReplayed     = "DPoP proof already used"                                       // §11.1
)

// parsed is a decoded proof whose signature is not yet verified.
type parsed struct {
	signingInput []byte
	signature    []byte

	alg string
	jwk []byte // the raw jwk header value

	jti, htm, htu string
	ath, nonce    string
	hasATH        bool
	hasNonce      bool
	iat           time.Time
}

// parseProof decodes a proof and checks its syntax (RFC 9449 §4.3 steps 2
// to 5; step 7's scan is in parseProofKey). allowed are the accepted
// algorithms.
func parseProof(s string, maxLen int, allowed []string) (*parsed, *Error) {
	c, err := jose.SplitCompact(s, maxLen)
	if err == jose.ErrTooLong {
		return nil, invalid(descTooLong)
	}
	if err != nil {
		return nil, invalid(descNotJWS)
	}
	jws, err := c.Decode()
	if err != nil {
		return nil, invalid(descNotJWS)
	}
	p := &parsed{signingInput: jws.SigningInput, signature: jws.Signature}
	if e := p.readHeader(jws.Header, allowed); e != nil {
		return nil, e
	}
	if e := p.readClaims(jws.Payload); e != nil {
		return nil, e
	}
	return p, nil
}

func (p *parsed) readHeader(h []byte, allowed []string) *Error {
	var r jose.ObjectReader
	if r.Init(h, maxJSONDepth) != nil {
		return invalid(descHeaderJSON)
	}
	var haveTyp, haveAlg bool
	for {
		name, v, ok, err := r.Next()
		if err != nil {
			return invalid(descHeaderJSON)
		}
		if !ok {
			break
		}
		switch string(name) {
		case "typ":
			typ, err := jose.StringBytes(v)
			if err != nil || !isDPoPType(typ) {
				return invalid(descTyp)
			}
			haveTyp = true
		case "alg":
			alg, err := jose.StringBytes(v)
			if err != nil {
				return invalid(descAlg)
			}
			// The configured names are the only strings p.alg can
			// hold, so "none" and HS256 never get further.
			for _, a := range allowed {
				if string(alg) == a {
					p.alg, haveAlg = a, true
					break
				}
			}
			if !haveAlg {
				return invalid(descAlg)
			}
		case "jwk":
			if len(v) == 0 || v[0] != '{' {
				return invalid(descJWKNotObject)
			}
			p.jwk = v
		case "crit", "b64", "zip", "enc", "cty", "jku", "x5u", "x5c":
			// No JWS extension is understood (RFC 7515 §4.1.11); b64
			// (RFC 7797), enc and zip (JWE) and cty (nested JWT) are
			// not proofs; the key is the jwk header, never fetched or
			// taken from a certificate (RFC 9449 §4.2).
			return invalid(descHeaderParam)
		}
	}
	switch {
	case !haveTyp:
		return invalid(descTyp)
	case !haveAlg:
		return invalid(descAlg)
	case p.jwk == nil:
		return invalid(descJWKMissing)
	}
	return nil
}

// isDPoPType reports whether typ names a DPoP proof: "dpop+jwt", compared
// case-insensitively, with or without "application/" (RFC 7515 §4.1.9).
func isDPoPType(typ []byte) bool {
	const app = "application/"
	t := string(typ)
	if len(t) > len(app) && strings.EqualFold(t[:len(app)], app) {
		t = t[len(app):]
	}
	return strings.EqualFold(t, TypeDPoPJWT)
}

func (p *parsed) readClaims(b []byte) *Error {
	var r jose.ObjectReader
	if r.Init(b, maxJSONDepth) != nil {
		return invalid(descClaimsJSON)
	}
	const (
		hJTI = 1 << iota
		hHTM
		hHTU
		hIAT
		hAll = hJTI | hHTM | hHTU | hIAT
	)
	have := 0
	str := func(v []byte) (string, *Error) {
		s, err := jose.String(v)
		if err != nil {
			return "", invalid(descClaimType)
		}
		return s, nil
	}
	for {
		name, v, ok, err := r.Next()
		if err != nil {
			return invalid(descClaimsJSON)
		}
		if !ok {
			break
		}
		var e *Error
		switch string(name) {
		case "jti":
			have |= hJTI
			if p.jti, e = str(v); e == nil && (p.jti == "" || len(p.jti) > maxJTILength) {
				e = invalid(descClaimType)
			}
		case "htm":
			have |= hHTM
			if p.htm, e = str(v); e == nil && p.htm == "" {
				e = invalid(descClaimType)
			}
		case "htu":
			have |= hHTU
			p.htu, e = str(v)
		case "iat":
			have |= hIAT
			sec, frac, err := jose.NumericDate(v)
			if err != nil || sec < 0 || frac < 0 || sec > maxNumericDate || (sec == maxNumericDate && frac > 0) {
				return invalid(descClaimType)
			}
			p.iat = time.Unix(sec, int64(frac*1e9)).UTC()
		case "ath":
			p.ath, e = str(v)
			p.hasATH = true
		case "nonce":
			p.nonce, e = str(v)
			p.hasNonce = true
		}
		if e != nil {
			return e
		}
	}
	if have != hAll {
		return invalid(descMissingClaim)
	}
	return nil
}
