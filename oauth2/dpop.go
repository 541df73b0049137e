package oauth2

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/grantor-dev/grantor/dpop"
	"github.com/grantor-dev/grantor/storage"
)

// Error codes of RFC 9449 §5 and §8, answered by the token endpoint (and
// the PAR endpoint) when a DPoP proof is refused.
const (
	ErrInvalidDPoPProof ErrorCode = "invalid_dpop_proof"
	ErrUseDPoPNonce     ErrorCode = "use_dpop_nonce"
)

// DPoPNonceMode says where the Provider demands server nonces in DPoP
// proofs (RFC 9449 §8).
type DPoPNonceMode int

const (
	// DPoPNonceOff demands no nonce: proofs are fresh by their iat and
	// single use by their jti. The default.
	DPoPNonceOff DPoPNonceMode = iota
	// DPoPNonceTokenEndpoint demands a nonce at the token endpoint.
	DPoPNonceTokenEndpoint
	// DPoPNonceEverywhere demands a nonce at every endpoint of the
	// Provider that takes proofs: the token and PAR endpoints.
	DPoPNonceEverywhere
)

// DPoPConfig switches on sender-constrained access tokens (RFC 9449): the
// token endpoint accepts a DPoP proof and binds the tokens it issues to
// the proof's key.
type DPoPConfig struct {
	// Replay remembers each proof's jti while the proof could be accepted
	// (RFC 9449 §11.1). Required: replay protection is never off.
	Replay storage.ReplayStore
	// Algorithms are the JWS algorithms accepted for proofs, advertised as
	// dpop_signing_alg_values_supported. Empty means
	// dpop.DefaultAlgorithms (ES256, EdDSA, RS256, PS256); never "none"
	// nor a MAC.
	Algorithms []string
	// MaxAge and ClockSkew bound a proof's iat: at most MaxAge old and
	// ClockSkew ahead. Zero means dpop.DefaultMaxAge (60 s) and
	// dpop.DefaultClockSkew (5 s).
	MaxAge, ClockSkew time.Duration
	// Nonce is where server nonces are demanded (RFC 9449 §8).
	Nonce DPoPNonceMode
	// NonceKeys are the HMAC keys of the nonces, each of 32 bytes or
	// more; required when Nonce is not DPoPNonceOff. The first makes new
	// nonces, all are accepted: every instance given the same keys
	// accepts every other's nonces, and a key is rotated by putting the
	// new one first.
	NonceKeys [][]byte
	// NonceStep is how long a nonce stays current; the previous step's
	// is still accepted. Zero means dpop's default.
	NonceStep time.Duration
	// MaxRSAKeyBits lowers the largest RSA key a proof may carry
	// (dpop.Config.MaxRSAKeyBits): a refused proof with a large key still
	// costs a slow signature check. Zero means dpop.MaxRSAKeyBits (4096).
	MaxRSAKeyBits int
}

// dpopHeaderKey is the DPoP header's key in an http.Header: its canonical
// form, so that looking it up costs no allocation, as Header.Values("DPoP")
// would on every token request.
const dpopHeaderKey = "Dpop"

// dpopVerifiers are a Provider's DPoP verifiers: one per endpoint that
// takes proofs, which differ in whether they demand a nonce.
type dpopVerifiers struct {
	token, par *dpop.Verifier
	algorithms []string
}

// setDPoP builds the DPoP verifiers of Config.DPoP.
func (p *Provider) setDPoP(c *DPoPConfig) error {
	if c == nil {
		return nil
	}
	if c.Replay == nil {
		return errors.New("oauth2: Config.DPoP.Replay is required: replay protection is never off (RFC 9449 §11.1)")
	}
	var nonces *dpop.Nonces
	if c.Nonce != DPoPNonceOff {
		var err error
		if nonces, err = dpop.NewNonces(dpop.NonceConfig{Keys: c.NonceKeys, Step: c.NonceStep, Clock: p.clock}); err != nil {
			return fmt.Errorf("oauth2: Config.DPoP.NonceKeys: %w", err)
		}
	} else if len(c.NonceKeys) > 0 {
		return errors.New("oauth2: Config.DPoP.NonceKeys are set but Nonce is DPoPNonceOff")
	}
	build := func(n *dpop.Nonces) (*dpop.Verifier, error) {
		return dpop.NewVerifier(dpop.Config{
			Algorithms:    c.Algorithms,
			MaxAge:        c.MaxAge,
			ClockSkew:     c.ClockSkew,
			Clock:         p.clock,
			Replay:        c.Replay,
			IsReplay:      func(err error) bool { return errors.Is(err, storage.ErrConsumed) },
			Nonces:        n,
			MaxRSAKeyBits: c.MaxRSAKeyBits,
		})
	}
	v := &dpopVerifiers{}
	var err error
	if v.token, err = build(nonces); err != nil {
		return fmt.Errorf("oauth2: Config.DPoP: %w", err)
	}
	parNonces := nonces
	if c.Nonce != DPoPNonceEverywhere {
		parNonces = nil
	}
	if v.par, err = build(parNonces); err != nil {
		return fmt.Errorf("oauth2: Config.DPoP: %w", err)
	}
	v.algorithms = v.token.Algorithms()
	p.dpop = v
	return nil
}

// checkDPoP checks the DPoP proof of a request to the endpoint at url
// (RFC 9449 §4.3, §5) and returns the thumbprint of its key, or "" when
// the request has no proof. A client registered with
// dpop_bound_access_tokens must send one (§5.2). A nonce to send back,
// fresh or refreshed, is set on the response; a refused proof is
// invalid_dpop_proof or use_dpop_nonce, with a nonce when one is due.
func (p *Provider) checkDPoP(ctx context.Context, w http.ResponseWriter, r *http.Request, v *dpop.Verifier, url string, client *storage.Client) (string, error) {
	return p.verifyDPoP(ctx, w, r, v, url, client.DPoPBoundAccessTokens)
}

// verifyDPoP is checkDPoP, with required saying whether a proof must be
// sent.
func (p *Provider) verifyDPoP(ctx context.Context, w http.ResponseWriter, r *http.Request, v *dpop.Verifier, url string, required bool) (string, error) {
	proofs := r.Header[dpopHeaderKey]
	if p.dpop == nil {
		if required {
			return "", NewError(ErrUnauthorizedClient, "the client requires DPoP, which this server does not accept")
		}
		// A server without DPoP ignores the header: the client sees
		// token_type Bearer in the response (RFC 9449 §5).
		return "", nil
	}
	if len(proofs) == 0 {
		if required {
			return "", NewError(ErrInvalidDPoPProof, "the client must send a DPoP proof (dpop_bound_access_tokens)")
		}
		return "", nil
	}
	proof, err := v.Verify(ctx, dpop.Request{Proofs: proofs, Method: r.Method, URL: url})
	var de *dpop.Error
	switch {
	case errors.As(err, &de):
		code := ErrInvalidDPoPProof
		if de.Code == dpop.CodeUseNonce {
			code = ErrUseDPoPNonce
		}
		oe := &Error{Code: code, Description: de.Description, Cause: err}
		if de.Nonce != "" {
			oe.Header = make(http.Header, 1)
			oe.Header.Set(dpop.NonceHeader, de.Nonce) // canonical: DPoP-Nonce is Dpop-Nonce
		}
		return "", oe
	case err != nil:
		return "", StorageError("the DPoP proof could not be checked", err)
	}
	if proof.NextNonce != "" {
		w.Header().Set(dpop.NonceHeader, proof.NextNonce)
	}
	return proof.Thumbprint, nil
}

// dpopVerifier returns the verifier of the token endpoint, or of the PAR
// endpoint when par is set; nil when DPoP is off.
func (p *Provider) dpopVerifier(par bool) *dpop.Verifier {
	switch {
	case p.dpop == nil:
		return nil
	case par:
		return p.dpop.par
	default:
		return p.dpop.token
	}
}

// DPoPVerifier returns the verifier of DPoP proofs (RFC 9449 §4.3) for
// endpoints that grants and features bring, such as an OpenID Provider's
// UserInfo endpoint, where access tokens are presented (§7): it shares the
// Provider's replay store and algorithms, and demands nonces when
// Config.DPoP.Nonce is DPoPNonceEverywhere. Nil when DPoP is off.
func (p *Provider) DPoPVerifier() *dpop.Verifier { return p.dpopVerifier(true) }

// bindPushedRequest binds a pushed authorization request to the key of
// its DPoP proof, when it has one (RFC 9449 §10.1): the code it leads to
// is then redeemed only with a proof of that key, as with dpop_jkt, which,
// when also given, must name the same key.
func (p *Provider) bindPushedRequest(ctx context.Context, w http.ResponseWriter, r *http.Request, client *storage.Client, req *storage.AuthorizationRequest) error {
	if p.dpop == nil {
		return nil
	}
	thumbprint, err := p.verifyDPoP(ctx, w, r, p.dpop.par, p.PAREndpoint(), false)
	switch {
	case err != nil:
		return err
	case thumbprint == "":
		return nil
	case req.DPoPKeyThumbprint != "" && req.DPoPKeyThumbprint != thumbprint:
		return NewError(ErrInvalidDPoPProof, "the DPoP proof's key is not the one dpop_jkt names")
	}
	req.DPoPKeyThumbprint = thumbprint
	return nil
}

// checkDPoPKeyThumbprint reads the dpop_jkt parameter of an authorization
// request (RFC 9449 §10) into req, when DPoP is on; a Provider without
// DPoP ignores it, as it does any parameter it does not know.
func (p *Provider) checkDPoPKeyThumbprint(params map[string][]string, req *storage.AuthorizationRequest) error {
	jkt := ""
	if v := params["dpop_jkt"]; len(v) > 0 {
		jkt = v[0]
	}
	if p.dpop == nil || jkt == "" {
		return nil
	}
	if dpop.CheckThumbprint(jkt) != nil {
		return NewError(ErrInvalidRequest, "dpop_jkt is not a JWK SHA-256 thumbprint")
	}
	req.DPoPKeyThumbprint = jkt
	return nil
}
