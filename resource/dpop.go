package resource

import (
	"errors"
	"net/http"
	"strings"

	"github.com/grantor-dev/grantor/dpop"
)

// DPoP configures Middleware to accept DPoP-bound access tokens (RFC 9449
// §7): the token in `Authorization: DPoP <token>` and a proof of its key
// in the DPoP header.
type DPoP struct {
	// Verifier checks the proofs (RFC 9449 §4.3): its replay store must be
	// shared by every instance of the API, and its nonces, when it has
	// them, are demanded of every request (§9). Required.
	Verifier *dpop.Verifier
	// BaseURL is the API's public origin, and path prefix if it has one,
	// such as "https://api.example.com": a proof's htu must be BaseURL
	// followed by the request's path as the client sent it, without the
	// query. It is configured, never taken from Host or X-Forwarded-*
	// headers, which a client chooses. Required.
	BaseURL string
}

// dpopHeaderKey is the DPoP header's canonical key in an http.Header.
const dpopHeaderKey = "Dpop"

// checkProof checks the DPoP proof of a request that presented t with the
// DPoP scheme (RFC 9449 §7.1): a valid proof with ath for the token, by
// the key the token is bound to. It answers the request itself and
// returns false when the proof is refused.
func (m *middleware) checkProof(w http.ResponseWriter, r *http.Request, tok string, t *Token) bool {
	d := m.cfg.DPoP
	if d.Verifier == nil || d.BaseURL == "" {
		m.logger.ErrorContext(r.Context(), "resource: Config.DPoP needs a Verifier and a BaseURL")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusServiceUnavailable)
		return false
	}
	if t.KeyThumbprint == "" {
		// A bearer token sent with the DPoP scheme, or one bound to a key
		// this API cannot check.
		m.tokenChallenge(w, true, "the access token is not bound to a DPoP key")
		return false
	}
	proof, err := d.Verifier.Verify(r.Context(), dpop.Request{
		Proofs:      r.Header[dpopHeaderKey],
		Method:      r.Method,
		URL:         strings.TrimSuffix(d.BaseURL, "/") + requestPath(r),
		AccessToken: tok,
	})
	var de *dpop.Error
	switch {
	case errors.As(err, &de):
		if de.Nonce != "" {
			w.Header().Set(dpop.NonceHeader, de.Nonce)
		}
		m.dpopChallenge(w, err)
		return false
	case err != nil:
		if r.Context().Err() == nil {
			m.logger.WarnContext(r.Context(), "resource: the DPoP proof could not be checked", "error", err)
		}
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusServiceUnavailable)
		return false
	case !dpop.SameThumbprint(proof.Thumbprint, t.KeyThumbprint):
		// RFC 9449 §4.3 step 12: the proof is by the key the token is
		// bound to.
		m.dpopChallenge(w, &dpop.Error{Code: dpop.CodeInvalidProof, Description: "the DPoP proof is not by the key the access token is bound to"})
		return false
	}
	if proof.NextNonce != "" {
		w.Header().Set(dpop.NonceHeader, proof.NextNonce)
	}
	return true
}

// requestPath is the path of r as the client sent it: from the request
// line when there is one, so that a proof's htu is compared with what the
// client addressed, not with a path a router rewrote.
func requestPath(r *http.Request) string {
	if uri := r.RequestURI; strings.HasPrefix(uri, "/") {
		path, _, _ := strings.Cut(uri, "?")
		return path
	}
	return r.URL.EscapedPath()
}

// challenge answers with a Bearer challenge (RFC 6750 §3), and with a DPoP
// one besides when DPoP is on (RFC 9449 §7.1), so that a client learns
// both schemes and the proof algorithms.
func (m *middleware) challenge(w http.ResponseWriter, status int, code, desc string) {
	if m.cfg.DPoP != nil && m.cfg.DPoP.Verifier != nil {
		challenge(w, status, m.realm, code, desc, "", m.cfg.DPoP.Verifier.Challenge(nil))
		return
	}
	challenge(w, status, m.realm, code, desc, "")
}

// tokenChallenge answers 401 invalid_token, in the scheme the token was
// presented with: a token sent with the DPoP scheme gets the error in a
// DPoP challenge (RFC 9449 §7.1), with the proof algorithms.
func (m *middleware) tokenChallenge(w http.ResponseWriter, dpopScheme bool, desc string) {
	if !dpopScheme || m.cfg.DPoP.Verifier == nil {
		m.challenge(w, http.StatusUnauthorized, "invalid_token", desc)
		return
	}
	algs := `, algs="` + strings.Join(m.cfg.DPoP.Verifier.Algorithms(), " ") + `"`
	h := w.Header()
	h.Set("WWW-Authenticate", authChallenge("DPoP", m.realm, "invalid_token", desc, "")+algs)
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusUnauthorized)
}

// dpopChallenge answers 401 with the DPoP challenge of a refused proof:
// invalid_dpop_proof or use_dpop_nonce (RFC 9449 §7.1, §9).
func (m *middleware) dpopChallenge(w http.ResponseWriter, err error) {
	h := w.Header()
	h.Set("WWW-Authenticate", m.cfg.DPoP.Verifier.Challenge(err))
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusUnauthorized)
}
