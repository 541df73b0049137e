package oauth2_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/lestrrat-go/jwx/v2/jwt"

	"github.com/grantor-dev/grantor/oauth2"
)

// An identity provider the application trusts, configured as the example
// server's -trusted-issuers file does, and a JWT of it verified the way
// the JWT bearer grant (RFC 7523 §2.1) verifies its assertions; then the
// same JWT signed by someone else, under the same kid, refused.
func ExampleVerifyTrustedJWT() {
	// The identity provider keeps its private key; the application is
	// given the public half, inline here, or as a jwks_uri.
	idpKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		log.Fatal(err)
	}
	pub, err := jwk.FromRaw(&idpKey.PublicKey)
	if err != nil {
		log.Fatal(err)
	}
	_ = pub.Set(jwk.KeyIDKey, "2026-03")
	set := jwk.NewSet()
	_ = set.AddKey(pub)
	jwks, err := json.Marshal(set)
	if err != nil {
		log.Fatal(err)
	}

	// The contents of a -trusted-issuers file: public keys only.
	file := fmt.Sprintf(`[
		{"issuer": "https://idp.example.com", "jwks": %s},
		{"issuer": "https://login.partner.example", "jwks_uri": "https://login.partner.example/jwks.json"}
	]`, jwks)
	entries, err := oauth2.ParseTrustedIssuers([]byte(file))
	if err != nil {
		log.Fatal(err)
	}
	issuers, err := oauth2.NewTrustedIssuerList(entries, nil) // nil: the default, SSRF-guarded fetcher
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("trusted:", issuers.Issuers())

	// What the identity provider issues (elsewhere, in real life).
	now := time.Now()
	sign := func(key *ecdsa.PrivateKey) string {
		tok, _ := jwt.NewBuilder().
			Issuer("https://idp.example.com").
			Subject("alice").
			Audience([]string{"https://as.example.com"}).
			JwtID("b5c0e1d2").
			IssuedAt(now).
			Expiration(now.Add(5 * time.Minute)).
			Build()
		hdr := jws.NewHeaders()
		_ = hdr.Set(jws.KeyIDKey, "2026-03")
		signed, err := jwt.Sign(tok, jwt.WithKey(jwa.ES256, key, jws.WithProtectedHeaders(hdr)))
		if err != nil {
			log.Fatal(err)
		}
		return string(signed)
	}

	opts := oauth2.TrustedJWTOptions{Now: now, MaxLifetime: 10 * time.Minute, RequireJTI: true}
	got, err := oauth2.VerifyTrustedJWT(context.Background(), issuers, sign(idpKey), opts)
	if err != nil {
		log.Fatal(err)
	}
	// The grant now checks the audience, maps the subject to an account
	// and remembers the jti.
	fmt.Println("verified:", got.Issuer, got.Subject, got.Audience)

	forger, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, err = oauth2.VerifyTrustedJWT(context.Background(), issuers, sign(forger), opts)
	fmt.Println("forged:", errors.Is(err, oauth2.ErrUntrustedJWT), err)
	// Output:
	// trusted: [https://idp.example.com https://login.partner.example]
	// verified: https://idp.example.com alice [https://as.example.com]
	// forged: true oauth2: JWT not accepted: signature does not verify with any key of the issuer
}
