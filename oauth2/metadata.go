package oauth2

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"

	"github.com/lestrrat-go/jwx/v2/jwa"

	"github.com/grantor-dev/grantor/token"
)

// Metadata is the authorization server metadata document (RFC 8414 §2).
// It is generated from what is registered with the Provider: nothing that
// is not registered is advertised.
type Metadata struct {
	Issuer                                string   `json:"issuer"`
	AuthorizationEndpoint                 string   `json:"authorization_endpoint,omitempty"`
	PushedAuthorizationRequestEndpoint    string   `json:"pushed_authorization_request_endpoint,omitempty"`
	RequirePushedAuthorizationRequests    bool     `json:"require_pushed_authorization_requests,omitempty"`
	TokenEndpoint                         string   `json:"token_endpoint"`
	JWKSURI                               string   `json:"jwks_uri,omitempty"`
	ScopesSupported                       []string `json:"scopes_supported,omitempty"`
	ResponseTypesSupported                []string `json:"response_types_supported"`
	GrantTypesSupported                   []string `json:"grant_types_supported"`
	TokenEndpointAuthMethodsSupported     []string `json:"token_endpoint_auth_methods_supported"`
	TokenEndpointAuthSigningAlgsSupported []string `json:"token_endpoint_auth_signing_alg_values_supported,omitempty"`
	ResponseModesSupported                []string `json:"response_modes_supported,omitempty"`
	CodeChallengeMethodsSupported         []string `json:"code_challenge_methods_supported,omitempty"`
	// RevocationEndpoint and its client authentication methods (RFC 8414
	// §2, RFC 7009 §2).
	RevocationEndpoint                         string   `json:"revocation_endpoint,omitempty"`
	RevocationEndpointAuthMethodsSupported     []string `json:"revocation_endpoint_auth_methods_supported,omitempty"`
	RevocationEndpointAuthSigningAlgsSupported []string `json:"revocation_endpoint_auth_signing_alg_values_supported,omitempty"`
	// IntrospectionEndpoint and its client authentication methods (RFC
	// 8414 §2, RFC 7662 §2): every method but "none", for a public client
	// cannot introspect (RFC 7662 §4).
	IntrospectionEndpoint                         string   `json:"introspection_endpoint,omitempty"`
	IntrospectionEndpointAuthMethodsSupported     []string `json:"introspection_endpoint_auth_methods_supported,omitempty"`
	IntrospectionEndpointAuthSigningAlgsSupported []string `json:"introspection_endpoint_auth_signing_alg_values_supported,omitempty"`
	// AuthorizationResponseIssParameterSupported: every authorization
	// response carries iss (RFC 9207 §3).
	AuthorizationResponseIssParameterSupported bool `json:"authorization_response_iss_parameter_supported,omitempty"`
	// IntrospectionSigningAlgsSupported lists the algorithm of the JWT
	// introspection response (RFC 9701 §7), when access tokens are JWTs.
	IntrospectionSigningAlgsSupported []string `json:"introspection_signing_alg_values_supported,omitempty"`
	// DPoPSigningAlgsSupported lists the algorithms accepted for DPoP
	// proofs (RFC 9449 §5.1), when DPoP is on.
	DPoPSigningAlgsSupported []string `json:"dpop_signing_alg_values_supported,omitempty"`
	// Extra are the members the registered grants bring: the URLs of
	// their endpoints (EndpointProvider) and their own members
	// (MetadataProvider), by name.
	Extra map[string]any `json:"-"`
}

// Metadata returns the metadata document of the Provider.
func (p *Provider) Metadata() Metadata {
	m := Metadata{
		Issuer:                                 p.issuer,
		TokenEndpoint:                          p.TokenEndpoint(),
		ScopesSupported:                        p.supportedScopes(),
		ResponseTypesSupported:                 []string{},
		GrantTypesSupported:                    slices.Clone(p.grantTypes),
		TokenEndpointAuthMethodsSupported:      slices.Clone(p.authMethods),
		RevocationEndpoint:                     p.RevocationEndpoint(),
		RevocationEndpointAuthMethodsSupported: slices.Clone(p.authMethods),
		IntrospectionEndpoint:                  p.IntrospectionEndpoint(),
	}
	for _, method := range p.authMethods {
		if method != AuthMethodNone {
			m.IntrospectionEndpointAuthMethodsSupported = append(m.IntrospectionEndpointAuthMethodsSupported, method)
		}
	}
	for rt := range p.responseTypes {
		m.ResponseTypesSupported = append(m.ResponseTypesSupported, rt)
	}
	slices.Sort(m.ResponseTypesSupported)
	if len(p.responseTypes) > 0 {
		m.AuthorizationEndpoint = p.AuthorizationEndpoint()
		m.ResponseModesSupported = []string{"query", "form_post"}
		m.CodeChallengeMethodsSupported = []string{"S256"}
		if p.allowPlainPKCE {
			m.CodeChallengeMethodsSupported = append(m.CodeChallengeMethodsSupported, "plain")
		}
		m.AuthorizationResponseIssParameterSupported = true
		m.PushedAuthorizationRequestEndpoint = p.PAREndpoint()
		m.RequirePushedAuthorizationRequests = p.requirePAR
	}
	if a, ok := p.accessTokens.(interface {
		SigningAlgorithm(context.Context) (jwa.SignatureAlgorithm, error)
	}); ok {
		if alg, err := a.SigningAlgorithm(context.Background()); err == nil {
			m.IntrospectionSigningAlgsSupported = []string{alg.String()}
		}
	}
	if p.jwksEnabled() {
		m.JWKSURI = p.issuer + JWKSPath
	}
	if p.dpop != nil {
		m.DPoPSigningAlgsSupported = slices.Clone(p.dpop.algorithms)
	}
	for _, e := range p.grantEndpoints {
		if e.MetadataName != "" {
			if m.Extra == nil {
				m.Extra = make(map[string]any)
			}
			m.Extra[e.MetadataName] = p.issuer + e.Path
		}
	}
	for name, v := range p.metadataExtra {
		if m.Extra == nil {
			m.Extra = make(map[string]any)
		}
		m.Extra[name] = v
	}
	for _, method := range p.authMethods {
		if r, ok := p.authenticators[method].(SigningAlgorithmsReporter); ok {
			for _, alg := range r.SigningAlgorithms() {
				if !slices.Contains(m.TokenEndpointAuthSigningAlgsSupported, alg) {
					m.TokenEndpointAuthSigningAlgsSupported = append(m.TokenEndpointAuthSigningAlgsSupported, alg)
				}
			}
		}
	}
	// The same authenticators serve all three endpoints.
	m.RevocationEndpointAuthSigningAlgsSupported = slices.Clone(m.TokenEndpointAuthSigningAlgsSupported)
	m.IntrospectionEndpointAuthSigningAlgsSupported = slices.Clone(m.TokenEndpointAuthSigningAlgsSupported)
	return m
}

// supportedScopes returns Config.ScopesSupported followed by the scopes
// the features define (ScopeProvider) that it does not list; nil when
// there are none.
func (p *Provider) supportedScopes() []string {
	scopes := slices.Clone(p.scopesSupported)
	for _, s := range p.features.scopes {
		if !slices.Contains(scopes, s) {
			scopes = append(scopes, s)
		}
	}
	return scopes
}

// jwksEnabled reports whether the Provider publishes a JWK set.
func (p *Provider) jwksEnabled() bool { return len(p.keyPublishers()) > 0 }

// keyPublishers returns what publishes keys at jwks_uri: the access token
// strategy when its tokens are JWTs, and the features that sign JWTs of
// their own (KeyPublisherProvider).
func (p *Provider) keyPublishers() []token.KeyPublisher {
	var pubs []token.KeyPublisher
	if pub, ok := p.accessTokens.(token.KeyPublisher); ok {
		pubs = append(pubs, pub)
	}
	return append(pubs, p.features.keys...)
}

// jwks returns the JWK Set of every key publisher: one publisher's
// document as it is, or else the union of their keys, a key published by
// two of them (one key set shared) listed once. Two different keys with
// one kid are an error: a verifier could not tell them apart (RFC 7517
// §4.5).
func (p *Provider) jwks() ([]byte, error) {
	pubs := p.keyPublishers()
	if len(pubs) == 1 {
		return pubs[0].JWKS()
	}
	var union struct {
		Keys []json.RawMessage `json:"keys"`
	}
	union.Keys = []json.RawMessage{}
	seen := make(map[string]json.RawMessage)
	for _, pub := range pubs {
		doc, err := pub.JWKS()
		if err != nil {
			return nil, err
		}
		var set struct {
			Keys []json.RawMessage `json:"keys"`
		}
		if err := json.Unmarshal(doc, &set); err != nil {
			return nil, fmt.Errorf("oauth2: a key set is not a JWK Set: %w", err)
		}
		for _, k := range set.Keys {
			var id struct {
				Kid string `json:"kid"`
			}
			if err := json.Unmarshal(k, &id); err != nil {
				return nil, fmt.Errorf("oauth2: a key set is not a JWK Set: %w", err)
			}
			if prev, ok := seen[id.Kid]; ok {
				if !bytes.Equal(compactJSON(prev), compactJSON(k)) {
					return nil, fmt.Errorf("oauth2: two different keys published with kid %q", safeName(id.Kid))
				}
				continue
			}
			seen[id.Kid] = k
			union.Keys = append(union.Keys, k)
		}
	}
	return json.Marshal(union)
}

// compactJSON returns b without insignificant white space, for comparing
// two encodings of one key.
func compactJSON(b []byte) []byte {
	var buf bytes.Buffer
	if json.Compact(&buf, b) != nil {
		return b
	}
	return buf.Bytes()
}

func (p *Provider) buildMetadata() ([]byte, error) {
	m := p.Metadata()
	b, err := json.Marshal(m)
	if err != nil || len(m.Extra) == 0 {
		return b, err
	}
	// The grants' members go after the Provider's, in a stable order.
	b = b[:len(b)-1]
	for _, name := range slices.Sorted(maps.Keys(m.Extra)) {
		v, err := json.Marshal(m.Extra[name])
		if err != nil {
			return nil, fmt.Errorf("oauth2: the metadata member %q: %w", name, err)
		}
		k, _ := json.Marshal(name)
		b = append(b, ',')
		b = append(b, k...)
		b = append(b, ':')
		b = append(b, v...)
	}
	return append(b, '}'), nil
}

// MetadataHandler serves the metadata document (RFC 8414 §3). Mount it at
// Provider.MetadataPath, as Handler does.
func (p *Provider) MetadataHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			WriteError(w, &Error{Code: ErrInvalidRequest, Description: "the method must be GET", Status: http.StatusMethodNotAllowed})
			return
		}
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("Cache-Control", "public, max-age=3600")
		_, _ = w.Write(p.metadata)
	})
}

// JWKSHandler serves the public keys that verify the JWTs the Provider
// signs (RFC 7517 §5): its JWT access tokens, and the JWTs of features
// that publish keys (KeyPublisherProvider), such as OpenID Connect's ID
// tokens. When it signs no JWTs the handler answers 404.
func (p *Provider) JWKSHandler() http.Handler {
	if !p.jwksEnabled() {
		return p.disabled("this authorization server publishes no keys: its access tokens are not JWTs")
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			WriteError(w, &Error{Code: ErrInvalidRequest, Description: "the method must be GET", Status: http.StatusMethodNotAllowed})
			return
		}
		doc, err := p.jwks()
		if err != nil {
			p.writeError(w, r, NewError(ErrServerError, "the key set is unavailable").WithCause(err))
			return
		}
		h := w.Header()
		h.Set("Content-Type", "application/jwk-set+json")
		h.Set("Cache-Control", "public, max-age=300")
		_, _ = w.Write(doc)
	})
}
