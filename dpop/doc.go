// Package dpop implements the server side of OAuth 2.0 Demonstrating
// Proof of Possession (DPoP, RFC 9449): the check of a DPoP proof
// (§4.3), the JWK thumbprints that bind tokens to a key (RFC 7638;
// cnf.jkt §6.1, dpop_jkt §10), server nonces that need no shared state
// (§8, §9) and the errors an authorization server or a resource server
// answers with (§5, §7.1).
//
// It imports nothing of Grantor but internal packages, so a resource
// server that validates DPoP-bound tokens needs only this package and a
// replay store. The shortest use, at a resource server:
//
//	v, err := dpop.NewVerifier(dpop.Config{Replay: store})
//	…
//	proof, err := v.Verify(r.Context(), dpop.Request{
//		Proofs:      r.Header.Values("DPoP"),
//		Method:      r.Method,
//		URL:         publicBaseURL + r.URL.Path, // never from Host
//		AccessToken: token,
//	})
//	var e *dpop.Error
//	switch {
//	case errors.As(err, &e):
//		if e.Nonce != "" {
//			w.Header().Set(dpop.NonceHeader, e.Nonce)
//		}
//		w.Header().Set("WWW-Authenticate", v.Challenge(err))
//		w.WriteHeader(http.StatusUnauthorized)
//	case err != nil:
//		w.WriteHeader(http.StatusServiceUnavailable) // the store failed
//	case !dpop.SameThumbprint(proof.Thumbprint, tokenJKT):
//		… // the token is bound to another key: invalid_token
//	}
//
// An authorization server does the same at its token endpoint without an
// AccessToken, answers a refused proof with 400 and a JSON body of e.Code
// and e.Description, and binds the tokens it issues to
// proof.Thumbprint.
package dpop
