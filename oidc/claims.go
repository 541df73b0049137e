package oidc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sort"
	"strings"

	"github.com/grantor-dev/grantor/oauth2"
	"github.com/grantor-dev/grantor/storage"
)

// ClaimsSource returns what the host application knows of its users: the
// claims of OpenID Connect Core §5.1 (name, email, ...) and its own.
//
// The OpenID Provider calls it for each UserInfo response and each ID
// token that carries claims beyond the protocol's own, and keeps of what it
// returns only the claims in req.Claims: a source may return every claim it
// has. A claim it does not have is simply absent. Its error fails the
// request (UserInfo answers 503; the token endpoint server_error); return
// an *oauth2.Error to choose the answer.
type ClaimsSource interface {
	Claims(ctx context.Context, req *ClaimsRequest) (map[string]any, error)
}

// ClaimsFunc is a function that is a ClaimsSource.
type ClaimsFunc func(ctx context.Context, req *ClaimsRequest) (map[string]any, error)

// Claims implements ClaimsSource.
func (f ClaimsFunc) Claims(ctx context.Context, req *ClaimsRequest) (map[string]any, error) {
	return f(ctx, req)
}

// ClaimsRequest is what a ClaimsSource is asked for.
type ClaimsRequest struct {
	// Subject is the user, as the application's login named it
	// (oauth2.Approval.Subject), never a pairwise identifier.
	Subject string
	// Client is the client the claims are for.
	Client *storage.Client
	// Scopes are the scopes granted to the client.
	Scopes []string
	// Claims are the names of the claims the response may carry: those
	// the scopes map to (Config.ScopeClaims) and those the client asked
	// for with the claims request parameter (Core §5.5), in order.
	Claims []string
	// Requested are the claims the client asked for with the claims
	// parameter for this response, with the essential flag and the
	// values it asked for; nil when it sent none.
	Requested map[string]ClaimRequest
	// Target is where the claims go: "userinfo" or "id_token".
	Target string
}

// ClaimRequest is one claim asked for with the claims request parameter
// (OpenID Connect Core §5.5.1).
type ClaimRequest struct {
	// Essential says the client needs the claim for a smooth
	// authorization (it is no error to leave it out).
	Essential bool `json:"essential,omitempty"`
	// Value and Values are the values the client asks for: the claim's
	// value should be one of them. Nil when it asks for none.
	Value  any   `json:"value,omitempty"`
	Values []any `json:"values,omitempty"`
}

// StandardScopeClaims maps the scopes of OpenID Connect Core §5.4 to the
// claims they ask for.
var StandardScopeClaims = map[string][]string{
	"profile": {"name", "family_name", "given_name", "middle_name", "nickname", "preferred_username",
		"profile", "picture", "website", "gender", "birthdate", "zoneinfo", "locale", "updated_at"},
	"email":   {"email", "email_verified"},
	"address": {"address"},
	"phone":   {"phone_number", "phone_number_verified"},
}

// protocolClaims are the claims the OpenID Provider sets itself: a
// ClaimsSource's value for one of them is dropped, never put into an ID
// token or a UserInfo response.
var protocolClaims = map[string]bool{
	"iss": true, "sub": true, "aud": true, "exp": true, "iat": true, "nbf": true, "jti": true,
	"auth_time": true, "nonce": true, "acr": true, "amr": true, "azp": true, "at_hash": true,
	"c_hash": true, "sid": true, "cnf": true, "events": true, "typ": true, "client_id": true, "scope": true,
}

// Limits of the claims request parameter, which the authorization
// endpoint already bounds at oauth2.MaxParameterBytes.
const (
	maxRequestedClaims = 64
	maxClaimNameBytes  = 128
)

// claimsParameter is the claims request parameter (Core §5.5).
type claimsParameter struct {
	UserInfo map[string]*ClaimRequest `json:"userinfo,omitempty"`
	IDToken  map[string]*ClaimRequest `json:"id_token,omitempty"`
}

var errBadClaims = oauth2.NewError(oauth2.ErrInvalidRequest, "the claims parameter is not a valid claims request (OpenID Connect Core §5.5)")

// parseClaimsParameter validates a claims request parameter and returns
// it encoded again, compact and in a stable order, for keeping.
func parseClaimsParameter(s string) (string, error) {
	dec := json.NewDecoder(bytes.NewReader([]byte(s)))
	dec.UseNumber()
	var raw map[string]json.RawMessage
	if err := dec.Decode(&raw); err != nil || raw == nil || dec.More() {
		return "", errBadClaims
	}
	var cp claimsParameter
	n := 0
	for member, value := range raw {
		var target *map[string]*ClaimRequest
		switch member {
		case "userinfo":
			target = &cp.UserInfo
		case "id_token":
			target = &cp.IDToken
		default:
			continue // Core §5.5: other members are ignored
		}
		if bytes.Equal(bytes.TrimSpace(value), []byte("null")) {
			continue
		}
		var claims map[string]json.RawMessage
		if err := json.Unmarshal(value, &claims); err != nil || claims == nil {
			return "", errBadClaims
		}
		*target = make(map[string]*ClaimRequest, len(claims))
		for name, v := range claims {
			n++
			if n > maxRequestedClaims || name == "" || len(name) > maxClaimNameBytes {
				return "", errBadClaims
			}
			var cr *ClaimRequest
			if !bytes.Equal(bytes.TrimSpace(v), []byte("null")) {
				d := json.NewDecoder(bytes.NewReader(v))
				d.UseNumber()
				if err := d.Decode(&cr); err != nil || cr == nil {
					return "", errBadClaims
				}
			}
			(*target)[name] = cr
		}
	}
	// Encoded again as compact JSON, maps in the order of their keys,
	// without HTML escaping (which would grow each <, > or & sixfold);
	// what is kept must still fit the bound of a request parameter.
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(cp); err != nil {
		return "", errBadClaims
	}
	kept := strings.TrimSuffix(buf.String(), "\n")
	if len(kept) > oauth2.MaxParameterBytes {
		return "", oauth2.NewError(oauth2.ErrInvalidRequest, "the claims parameter is too large")
	}
	return kept, nil
}

// requestedClaims returns the claims of a kept claims parameter for
// target, nil when it asks for none.
func requestedClaims(kept, target string) map[string]ClaimRequest {
	if kept == "" {
		return nil
	}
	var cp claimsParameter
	if err := json.Unmarshal([]byte(kept), &cp); err != nil {
		return nil // kept by us, valid: cannot happen
	}
	src := cp.UserInfo
	if target == targetIDToken {
		src = cp.IDToken
	}
	if len(src) == 0 {
		return nil
	}
	out := make(map[string]ClaimRequest, len(src))
	for name, cr := range src {
		if cr == nil {
			out[name] = ClaimRequest{}
			continue
		}
		out[name] = *cr
	}
	return out
}

// requestsClaim reports whether the kept claims parameter asks for the
// claim name in the ID token.
func requestsClaim(kept, name string) bool {
	_, ok := requestedClaims(kept, targetIDToken)[name]
	return ok
}

// requestedSubject returns the sub the claims parameter asks for with a
// value (Core §5.5.1: the answer must then be about that user), "" for
// none.
func requestedSubject(kept string) string {
	for _, target := range []string{targetIDToken, targetUserInfo} {
		if cr, ok := requestedClaims(kept, target)["sub"]; ok {
			if s, ok := cr.Value.(string); ok && s != "" {
				return s
			}
		}
	}
	return ""
}

// essentialACR returns the acr values an essential acr request for the ID
// token names (Core §5.5.1.1), nil when there is none.
func essentialACR(kept string) []string {
	cr, ok := requestedClaims(kept, targetIDToken)["acr"]
	if !ok || !cr.Essential {
		return nil
	}
	var values []string
	if s, ok := cr.Value.(string); ok && s != "" {
		values = append(values, s)
	}
	for _, v := range cr.Values {
		if s, ok := v.(string); ok && s != "" {
			values = append(values, s)
		}
	}
	return values
}

// Targets of a ClaimsRequest.
const (
	targetUserInfo = "userinfo"
	targetIDToken  = "id_token"
)

// allowedClaims returns the names of the claims a response for target may
// carry: those the granted scopes map to (in an ID token only with
// Config.ScopeClaimsInIDToken), then those the claims parameter asks for by
// name among the claims the granted scopes map to and
// Config.RequestableClaims, without the protocol's own. The claims
// parameter never reaches past what the user consented to (Core §5.5
// leaves the choice to the OpenID Provider).
func (o *Provider) allowedClaims(scopes []string, requested map[string]ClaimRequest, target string) []string {
	var granted []string
	for _, s := range scopes {
		for _, c := range o.scopeClaims[s] {
			if !slices.Contains(granted, c) {
				granted = append(granted, c)
			}
		}
	}
	var names []string
	if target == targetUserInfo || o.cfg.ScopeClaimsInIDToken {
		names = granted
	}
	extra := make([]string, 0, len(requested))
	for name := range requested {
		switch {
		case protocolClaims[name] || slices.Contains(names, name):
		case slices.Contains(granted, name) || slices.Contains(o.cfg.RequestableClaims, name):
			extra = append(extra, name)
		}
	}
	sort.Strings(extra)
	return append(names, extra...)
}

// userClaims asks the ClaimsSource for the claims a response for target
// may carry and keeps only those.
func (o *Provider) userClaims(ctx context.Context, subject string, client *storage.Client, scopes []string, keptClaims, target string) (map[string]any, error) {
	requested := requestedClaims(keptClaims, target)
	names := o.allowedClaims(scopes, requested, target)
	if len(names) == 0 || o.cfg.Claims == nil {
		return nil, nil
	}
	got, err := o.cfg.Claims.Claims(ctx, &ClaimsRequest{
		Subject: subject, Client: client, Scopes: slices.Clone(scopes), Claims: names,
		Requested: requested, Target: target,
	})
	if err != nil {
		return nil, err
	}
	out := make(map[string]any, len(names))
	for _, name := range names {
		if v, ok := got[name]; ok && v != nil {
			out[name] = v
		}
	}
	return out, nil
}

// errNoClaims is a ClaimsSource's failure, for the logs.
var errNoClaims = errors.New("oidc: the ClaimsSource failed")
