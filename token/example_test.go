package token_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"

	"github.com/grantor-dev/grantor/token"
)

// An opaque token carries its own HMAC: a forged or altered one is refused
// before any storage lookup, and the store keeps only the signature part,
// which is not a usable token.
func ExampleNewOpaque() {
	key := make([]byte, token.MinOpaqueKeyLen)
	rand.Read(key)
	access, err := token.NewOpaque("gr_at_", [][]byte{key})
	if err != nil {
		log.Fatal(err)
	}
	tok, storageKey, err := access.MintAccessToken(context.Background(), &token.Claims{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(strings.HasPrefix(tok, "gr_at_"), strings.Contains(tok, storageKey), tok != storageKey)

	k, err := access.AccessTokenKey(context.Background(), tok)
	fmt.Println(k == storageKey, err)
	altered := []byte(tok)
	altered[len("gr_at_")] ^= 'A' ^ 'B' // one character of the random part
	_, err = access.AccessTokenKey(context.Background(), string(altered))
	fmt.Println("altered:", errors.Is(err, token.ErrInvalid))
	// Output:
	// true true true
	// true <nil>
	// altered: true
}

// JWT access tokens (RFC 9068) minted with a key set, and verified as a
// resource server does, with the public keys only.
func ExampleNewJWTVerifier() {
	signing, err := token.GenerateSigningKey(jwa.ES256)
	if err != nil {
		log.Fatal(err)
	}
	keys, err := token.NewKeySet(signing)
	if err != nil {
		log.Fatal(err)
	}
	jwt, err := token.NewJWT(token.JWTConfig{Keys: keys, Issuer: "https://auth.example.com"})
	if err != nil {
		log.Fatal(err)
	}
	now := time.Now()
	tok, _, err := jwt.MintAccessToken(context.Background(), &token.Claims{
		Subject: "alice", ClientID: "web", Audience: []string{"https://api.example.com"},
		Scopes: []string{"invoices:read"}, IssuedAt: now, ExpiresAt: now.Add(time.Hour),
	})
	if err != nil {
		log.Fatal(err)
	}

	// On the resource server, keys would be a RemoteKeys for the jwks_uri.
	verifier, err := token.NewJWTVerifier(token.JWTVerifierConfig{
		Keys: keys, Issuer: "https://auth.example.com", Audience: "https://api.example.com"})
	if err != nil {
		log.Fatal(err)
	}
	c, err := verifier.Verify(context.Background(), tok)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(c.Subject, c.ClientID, c.Scopes)

	other, _ := token.NewJWTVerifier(token.JWTVerifierConfig{
		Keys: keys, Issuer: "https://auth.example.com", Audience: "https://other-api.example.com"})
	_, err = other.Verify(context.Background(), tok)
	fmt.Println("another API:", errors.Is(err, token.ErrInvalid))
	// Output:
	// alice web [invoices:read]
	// another API: true
}
