package bench

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
)

// NewBaselineClientCredentialsJWT returns the baseline for the client
// credentials scenario with RFC 9068 JWT access tokens signed with alg
// (ES256 on P-256, EdDSA on Ed25519, RS256 with a 2048-bit key). Per
// request it parses, authenticates, checks the grant type and scope,
// marshals the claims Grantor's JWT strategy puts in a client credentials
// token, signs them with jws.Sign under the header Grantor writes (alg,
// kid, typ at+jwt) and answers. Nothing is stored: a JWT needs no record
// to be valid (Grantor keeps one so that its JWTs stay revocable and
// introspectable).
func NewBaselineClientCredentialsJWT(alg Alg) (*Server, error) {
	s, secret, err := newBaselineJWTServer(alg)
	if err != nil {
		return nil, err
	}
	req := ClientCredentialsRequest(benchClientID, secret)
	return s.server(secret, Repeated(req)), nil
}

func newBaselineJWTServer(alg Alg) (*baseline, string, error) {
	j, err := newBaselineJWT(alg)
	if err != nil {
		return nil, "", err
	}
	return newBaseline(j)
}

// baselineJWT signs RFC 9068 access tokens.
type baselineJWT struct {
	alg jwa.SignatureAlgorithm
	key crypto.Signer
	kid string // the RFC 7638 thumbprint of the key, as Grantor's kid
}

// newBaselineJWT generates a signing key for alg.
func newBaselineJWT(alg Alg) (*baselineJWT, error) {
	var key crypto.Signer
	var err error
	switch alg {
	case ES256:
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case EdDSA:
		_, key, err = ed25519.GenerateKey(rand.Reader)
	case RS256:
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	default:
		return nil, fmt.Errorf("bench: unsupported algorithm %q", alg)
	}
	if err != nil {
		return nil, err
	}
	pub, err := jwk.FromRaw(key.Public())
	if err != nil {
		return nil, err
	}
	tp, err := pub.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, err
	}
	return &baselineJWT{alg: jwa.SignatureAlgorithm(alg), key: key, kid: base64.RawURLEncoding.EncodeToString(tp)}, nil
}

// baselineATClaims are the claims of a client credentials access token,
// the set and order Grantor's JWT strategy writes (RFC 9068 §2.2).
type baselineATClaims struct {
	Issuer    string `json:"iss"`
	Subject   string `json:"sub"`
	Audience  string `json:"aud"`
	ClientID  string `json:"client_id"`
	IssuedAt  int64  `json:"iat"`
	ExpiresAt int64  `json:"exp"`
	ID        string `json:"jti"`
	Scope     string `json:"scope,omitempty"`
}

// mint returns a signed access token for a client, for itself.
func (j *baselineJWT) mint(clientID, scope string, now time.Time) (string, error) {
	var id [24]byte // a jti of 192 random bits, as Grantor's
	if _, err := rand.Read(id[:]); err != nil {
		return "", err
	}
	payload, err := json.Marshal(baselineATClaims{
		Issuer:    BenchIssuer,
		Subject:   clientSubject(clientID),
		Audience:  BenchIssuer, // the default audience when no resource is asked for
		ClientID:  clientID,
		IssuedAt:  now.Unix(),
		ExpiresAt: now.Add(baselineAccessLifetime).Unix(),
		ID:        base64.RawURLEncoding.EncodeToString(id[:]),
		Scope:     scope,
	})
	if err != nil {
		return "", err
	}
	// A new header each time: jws.Sign sets alg in the headers it is
	// given, so one shared between requests would be written to
	// concurrently.
	hdrs := jws.NewHeaders()
	if err := hdrs.Set(jws.KeyIDKey, j.kid); err != nil {
		return "", err
	}
	if err := hdrs.Set(jws.TypeKey, "at+jwt"); err != nil {
		return "", err
	}
	tok, err := jws.Sign(payload, jws.WithKey(j.alg, j.key, jws.WithProtectedHeaders(hdrs)))
	if err != nil {
		return "", err
	}
	return string(tok), nil
}
