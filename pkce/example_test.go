package pkce_test

import (
	"errors"
	"fmt"

	"github.com/grantor-dev/grantor/pkce"
)

// A client makes a verifier and sends its S256 challenge with the
// authorization request; the server checks the challenge then, and the
// verifier when the code is redeemed. The verifier is the example of RFC
// 7636 Appendix B; a real client calls GenerateVerifier for each request.
func Example() {
	verifier := "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
	challenge := pkce.S256Challenge(verifier)
	fmt.Println(challenge)

	// The authorization request: S256 only, unless plain is allowed.
	method, err := pkce.CheckChallenge(challenge, "S256", false)
	fmt.Println(method, err)
	_, err = pkce.CheckChallenge(verifier, "plain", false)
	fmt.Println("plain:", errors.Is(err, pkce.ErrUnsupportedMethod))

	// The token request.
	fmt.Println(pkce.Verify(verifier, challenge, method))
	fmt.Println("another verifier:", pkce.Verify("x"+verifier[1:], challenge, method) != nil)
	// Output:
	// E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM
	// S256 <nil>
	// plain: true
	// <nil>
	// another verifier: true
}
