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
//		URL:         endpointURL, // the configured public URL, never from Host
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
//		// The store failed, or endpointURL is not an absolute URL.
//		w.WriteHeader(http.StatusServiceUnavailable)
//	case !dpop.SameThumbprint(proof.Thumbprint, tokenJKT):
//		… // the token is bound to another key: invalid_token
//	}
//
// endpointURL is the URL the server is configured to be reached at for
// this resource, such as "https://api.example.com/orders". A handler
// that serves many paths writes publicBaseURL + r.URL.EscapedPath(): the
// path as the request wrote it, not the decoded r.URL.Path, in which an
// encoded "/", "?" or "#" has become a delimiter (see Request.URL).
//
// An authorization server does the same at its token endpoint without an
// AccessToken, answers a refused proof with 400 and a JSON body of e.Code
// and e.Description, and binds the tokens it issues to
// proof.Thumbprint.
package dpop
