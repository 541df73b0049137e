package main

// Token exchange (RFC 8693) and JWT bearer assertions (RFC 7523 §2.1):
// the trusted issuers of -trusted-issuers, and this server's policy, which
// is what an application states and the grants enforce.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"

	"github.com/grantor-dev/grantor/grant"
	"github.com/grantor-dev/grantor/oauth2"
	"github.com/grantor-dev/grantor/storage"
)

// loadTrustedIssuers reads the -trusted-issuers file: a JSON array of
// {"issuer": "...", "jwks": {"keys": [...]}} or {"issuer": "...",
// "jwks_uri": "..."} objects, public keys only. fetcher fetches the sets
// of jwks_uri entries; nil is the safe default (no private address, https
// only). It returns the issuers and their names.
func loadTrustedIssuers(path string, fetcher *oauth2.JWKSFetcher) (*oauth2.TrustedIssuerList, []string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("-trusted-issuers: %w", err)
	}
	list, err := oauth2.ParseTrustedIssuers(data)
	if err == nil && len(list) == 0 {
		err = errors.New("the file lists no issuer")
	}
	if err != nil {
		return nil, nil, fmt.Errorf("-trusted-issuers %s: %w", path, err)
	}
	issuers, err := oauth2.NewTrustedIssuerList(list, fetcher)
	if err != nil {
		return nil, nil, fmt.Errorf("-trusted-issuers %s: %w", path, err)
	}
	names := make([]string, len(list))
	for i, ti := range list {
		names[i] = ti.Issuer
	}
	return issuers, names, nil
}

// exchangeGrants returns the token exchange grant, and with trusted
// issuers (nil without -trusted-issuers) the JWT bearer grant, whose
// assertions are used once through replay.
func exchangeGrants(issuer string, issuers *oauth2.TrustedIssuerList, replay storage.ReplayStore) []oauth2.GrantFactory {
	if issuers == nil {
		// This server's own tokens need no trusted issuer.
		return []oauth2.GrantFactory{grant.TokenExchange(grant.TokenExchangeOptions{Policy: exchangePolicy(issuer)})}
	}
	return []oauth2.GrantFactory{
		grant.TokenExchange(grant.TokenExchangeOptions{
			Policy:         exchangePolicy(issuer),
			TrustedIssuers: issuers,
			MapSubject:     issuerSubject,
		}),
		// Without a Policy, an assertion gets what a client credentials
		// request of its client would: the scopes it asks for, within
		// the client's, for the client's audience.
		grant.JWTBearer(grant.JWTBearerOptions{
			TrustedIssuers: issuers,
			Replay:         replay,
			MapSubject:     issuerSubject,
		}),
	}
}

// exchangePolicy is this server's token exchange policy (RFC 8693 §5) for
// the server whose issuer identifier is issuer: a confidential client
// registered for the grant may exchange one of this server's access tokens
// issued to it or whose audience names it, or a trusted issuer's access
// token (typ at+jwt) whose aud names this server, for a token with the same
// scopes or fewer; in a
// delegation, the actor token is the client's own. Public clients may
// exchange nothing.
func exchangePolicy(issuer string) grant.TokenExchangePolicyFunc {
	return func(_ context.Context, req *grant.TokenExchangeRequest) (*grant.Allowance, error) {
		if req.Client.IsPublic() {
			return nil, nil // nil refuses: unauthorized_client
		}
		switch sub := req.Subject; {
		case sub.Record != nil && sub.Record.Kind == storage.AccessToken:
			// Ours: the grant has checked that it was issued to this
			// client or that its audience names the client.
		case sub.JWT != nil && slices.Contains(sub.JWT.Audience, issuer) && sub.JWT.IsAccessToken():
			// A trusted issuer's access token (typ at+jwt, RFC 9068
			// §2.1), meant for this server. A plain JWT is an assertion
			// for the JWT bearer grant, which takes it once: taken here
			// too, it could be used again and again.
		default:
			return nil, nil // a refresh token, or a JWT meant for another
		}
		if act := req.Actor; act != nil && (act.Record == nil || act.ClientID != req.Client.ID) {
			return nil, nil // the client acts for the subject, nobody else
		}
		// Nil Scopes: the subject token's scopes, or fewer; nil Audience:
		// the client's registered audience; no refresh token.
		return &grant.Allowance{}, nil
	}
}

// issuerSubject maps the subject of a trusted issuer's JWT to ISSUER#sub:
// issuers name their users independently, so one issuer's "alice" is
// neither another's nor a local user. A real server would look the pair
// up in its own accounts instead.
func issuerSubject(_ context.Context, _ *storage.Client, jwt *oauth2.TrustedJWT) (string, error) {
	sub := jwt.Issuer + "#" + jwt.Subject
	if len(sub) > oauth2.MaxSubjectBytes {
		return "", fmt.Errorf("ISSUER#sub is longer than %d bytes", oauth2.MaxSubjectBytes)
	}
	return sub, nil
}
