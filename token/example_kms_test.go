package token_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/grantor-dev/grantor/token"
)

// fakeKMS stands in for a cloud KMS: the private key never leaves it; it
// signs SHA-256 digests (returning ASN.1 DER, as KMS APIs do) and hands
// out the public key (DER, SubjectPublicKeyInfo).
type fakeKMS struct{ key *ecdsa.PrivateKey }

func (k *fakeKMS) Sign(_ context.Context, keyName string, digest []byte) ([]byte, error) {
	if keyName != "projects/demo/keys/at-signing/versions/1" {
		return nil, errors.New("kms: no such key")
	}
	return ecdsa.SignASN1(rand.Reader, k.key, digest)
}

func (k *fakeKMS) PublicKey(context.Context, string) ([]byte, error) {
	return x509.MarshalPKIXPublicKey(&k.key.PublicKey)
}

// remoteKeySource is a token.KeySource whose private key stays in the KMS: Signer
// signs remotely, and the public key, fetched once, is published and
// verifies.
type remoteKeySource struct {
	kms     *fakeKMS
	keyName string
	public  jwk.Key // with kid and alg
	jwks    []byte
}

func newRemoteKeySource(ctx context.Context, kms *fakeKMS, keyName string) (*remoteKeySource, error) {
	der, err := kms.PublicKey(ctx, keyName)
	if err != nil {
		return nil, err
	}
	raw, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, err
	}
	pub, err := jwk.FromRaw(raw)
	if err != nil {
		return nil, err
	}
	// The kid is the key's RFC 7638 thumbprint; the alg is fixed by the
	// key, never taken from a token.
	tp, err := pub.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, err
	}
	_ = pub.Set(jwk.KeyIDKey, fmt.Sprintf("%x", tp[:8]))
	_ = pub.Set(jwk.AlgorithmKey, jwa.ES256)
	_ = pub.Set(jwk.KeyUsageKey, jwk.ForSignature)
	set := jwk.NewSet()
	_ = set.AddKey(pub)
	jwks, err := json.Marshal(set)
	if err != nil {
		return nil, err
	}
	return &remoteKeySource{kms: kms, keyName: keyName, public: pub, jwks: jwks}, nil
}

// Signer implements token.KeySource.
func (k *remoteKeySource) Signer(context.Context) (token.Signer, error) { return remoteSigner{k}, nil }

// VerificationKey implements token.VerificationKeys.
func (k *remoteKeySource) VerificationKey(_ context.Context, kid string) (jwk.Key, error) {
	if kid != k.public.KeyID() {
		return nil, token.ErrUnknownKey
	}
	return k.public, nil
}

// JWKS implements token.KeyPublisher: the document of the jwks_uri.
func (k *remoteKeySource) JWKS() ([]byte, error) { return k.jwks, nil }

type remoteSigner struct{ k *remoteKeySource }

func (s remoteSigner) KeyID() string                     { return s.k.public.KeyID() }
func (s remoteSigner) Algorithm() jwa.SignatureAlgorithm { return jwa.ES256 }

// Sign hashes the JWS signing input, has the KMS sign the digest, and
// turns its ASN.1 DER signature into the fixed-length R||S that
// RFC 7518 §3.4 prescribes for ES256.
func (s remoteSigner) Sign(ctx context.Context, input []byte) ([]byte, error) {
	digest := sha256.Sum256(input)
	der, err := s.k.kms.Sign(ctx, s.k.keyName, digest[:])
	if err != nil {
		return nil, err
	}
	var sig struct{ R, S *big.Int }
	if _, err := asn1.Unmarshal(der, &sig); err != nil {
		return nil, err
	}
	out := make([]byte, 64)
	sig.R.FillBytes(out[:32])
	sig.S.FillBytes(out[32:])
	return out, nil
}

// A KeySource whose private key lives in a KMS: the token strategy signs
// through it, the Provider's jwks_uri publishes its public key, and a
// resource server verifies with that public key alone. Here the KMS is a
// fake; a real one is called the same way from Sign and PublicKey.
func ExampleKeySource_kms() {
	ctx := context.Background()
	priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	keys, err := newRemoteKeySource(ctx, &fakeKMS{key: priv}, "projects/demo/keys/at-signing/versions/1")
	if err != nil {
		panic(err)
	}
	jwt, err := token.NewJWT(token.JWTConfig{Keys: keys, Issuer: "https://as.example"})
	if err != nil {
		panic(err)
	}
	now := time.Now()
	at, _, err := jwt.MintAccessToken(ctx, &token.Claims{
		Subject: "alice", ClientID: "web", Audience: []string{"https://api.example"},
		IssuedAt: now, ExpiresAt: now.Add(time.Hour),
	})
	if err != nil {
		panic(err)
	}

	// The resource server knows only the published JWK Set.
	doc, _ := keys.JWKS()
	published, _ := jwk.Parse(doc)
	verifier, _ := token.NewJWTVerifier(token.JWTVerifierConfig{
		Keys: publishedKeys{published}, Issuer: "https://as.example", Audience: "https://api.example",
	})
	claims, err := verifier.Verify(ctx, at)
	if err != nil {
		panic(err)
	}
	fmt.Println("verified a token of", claims.Subject, "signed in the KMS")
	// Output: verified a token of alice signed in the KMS
}

// publishedKeys looks keys up in a JWK Set, as a resource server's copy
// of the jwks_uri document.
type publishedKeys struct{ set jwk.Set }

func (p publishedKeys) VerificationKey(_ context.Context, kid string) (jwk.Key, error) {
	if k, ok := p.set.LookupKeyID(kid); ok {
		return k, nil
	}
	return nil, token.ErrUnknownKey
}
