// Command idp stands in for an identity provider that examples/server
// trusts, to try the grants that accept other issuers' JWTs: the JWT
// bearer grant (RFC 7523 §2.1) and token exchange with a JWT subject token
// (RFC 8693 §2.1). It keeps an ES256 key, writes the -trusted-issuers file
// that publishes the key's public half, and signs JWTs about its users.
//
//	go run ./examples/idp -trusted-issuers trusted-issuers.json
//	go run ./examples/server -trusted-issuers trusted-issuers.json
//	go run ./examples/idp -sub alice -aud http://127.0.0.1:8080
//
// The key is the private JWK in -key (idp-key.json), made on first use;
// keep it away from the server, which needs only the public key. A JWT it
// prints carries iss (-issuer, https://idp.example), sub, aud, iat, exp
// (-ttl ahead, 5 minutes: the server takes assertions that expire within
// 10), a random jti, since an assertion is used once, and a scope claim
// with -scope. Its typ is JWT, an assertion, or with -typ at+jwt an access
// token (RFC 9068), which the server's policy takes as a subject token.
package main

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/lestrrat-go/jwx/v2/jwt"

	"github.com/grantor-dev/grantor/oauth2"
	"github.com/grantor-dev/grantor/token"
)

// main runs the command; errors go to stderr.
func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr, time.Now()); err != nil {
		fmt.Fprintln(os.Stderr, "idp:", err)
		os.Exit(1)
	}
}

// run writes the trusted-issuers file, prints a signed JWT to out, or
// both, as args say; notes go to stderr, so that out holds the JWT alone.
func run(args []string, out, stderr io.Writer, now time.Time) error {
	fs := flag.NewFlagSet("idp", flag.ContinueOnError)
	fs.SetOutput(stderr)
	keyFile := fs.String("key", "idp-key.json", "the issuer's private signing key, a JWK, made when the file is missing")
	issuer := fs.String("issuer", "https://idp.example", "the issuer identifier, the JWT's iss")
	trusted := fs.String("trusted-issuers", "", "write a trusted-issuers file for examples/server that trusts this issuer's public key")
	sub := fs.String("sub", "", "print a JWT about this subject (sub)")
	aud := fs.String("aud", "", "the JWT's audience (aud): the authorization server's issuer identifier")
	scope := fs.String("scope", "", "the JWT's scope claim, if any")
	ttl := fs.Duration("ttl", 5*time.Minute, "how long the JWT is valid (exp)")
	typ := fs.String("typ", "JWT", `the JWT's typ header: JWT for an assertion (the JWT bearer grant), at+jwt for an access token the provider issued (a token exchange's subject token)`)
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case *trusted == "" && *sub == "":
		return errors.New("nothing to do: give -trusted-issuers FILE, or -sub and -aud, or both")
	case *sub != "" && *aud == "":
		return errors.New("-sub needs -aud, the authorization server's issuer identifier")
	}
	key, err := loadOrMakeKey(*keyFile, stderr)
	if err != nil {
		return err
	}
	if *trusted != "" {
		if err := writeTrustedIssuers(*trusted, *issuer, key); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "wrote %s: it trusts %s with the public key of %s\n", *trusted, *issuer, *keyFile)
	}
	if *sub == "" {
		return nil
	}
	b := jwt.NewBuilder().Issuer(*issuer).Subject(*sub).Audience([]string{*aud}).
		IssuedAt(now).Expiration(now.Add(*ttl)).JwtID(rand.Text())
	if *scope != "" {
		b = b.Claim("scope", *scope)
	}
	tok, err := b.Build()
	if err != nil {
		return err
	}
	hdr := jws.NewHeaders()
	if err := hdr.Set(jws.TypeKey, *typ); err != nil {
		return err
	}
	signed, err := jwt.Sign(tok, jwt.WithKey(jwa.ES256, key, jws.WithProtectedHeaders(hdr)))
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(out, string(signed))
	return err
}

// loadOrMakeKey reads the private JWK in path, or makes an ES256 key and
// writes it there, readable by its owner only.
func loadOrMakeKey(path string, stderr io.Writer) (jwk.Key, error) {
	data, err := os.ReadFile(path)
	if err == nil {
		key, err := jwk.ParseKey(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return key, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	key, err := token.GenerateSigningKey(jwa.ES256)
	if err != nil {
		return nil, err
	}
	data, err = json.Marshal(key)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return nil, err
	}
	fmt.Fprintf(stderr, "made a new ES256 key in %s\n", path)
	return key, nil
}

// writeTrustedIssuers writes the file that examples/server's
// -trusted-issuers reads: a JSON array of oauth2.TrustedIssuer objects, here
// one, with the public half of key as its JWK Set (RFC 7517 §5).
func writeTrustedIssuers(path, issuer string, key jwk.Key) error {
	pub, err := key.PublicKey()
	if err != nil {
		return err
	}
	set := jwk.NewSet()
	if err := set.AddKey(pub); err != nil {
		return err
	}
	jwks, err := json.Marshal(set)
	if err != nil {
		return err
	}
	data, err := json.MarshalIndent([]oauth2.TrustedIssuer{{Issuer: issuer, JWKS: jwks}}, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(data, '\n'), 0o644)
}
