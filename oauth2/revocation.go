package oauth2

import (
	"context"
	"errors"
	"net/http"

	"github.com/grantor-dev/grantor/storage"
)

// RevocationHandler returns the token revocation endpoint (RFC 7009 §2).
//
// The caller authenticates exactly as at the token endpoint; a public
// client identifies itself with client_id and may revoke its own tokens
// (RFC 7009 §2.1). The token parameter is required; token_type_hint only
// speeds the lookup, and an unknown hint is ignored (RFC 7009 §2.1).
//
// The answers:
//   - an unknown, malformed, expired or already revoked token: 200 with an
//     empty body (RFC 7009 §2.2), nothing is done;
//   - a token of another client: 400 unauthorized_client, and the token
//     stays active (RFC 7009 §2.1 leaves the answer open; Grantor
//     refuses, as fosite does since GHSA-7mqr-2v3q-v2wm);
//   - a refresh token: its whole grant is revoked, every access token
//     issued from it included (RFC 7009 §2.1), then 200;
//   - an access token, opaque or JWT (by its jti): that token alone is
//     revoked (its refresh token and grant stay valid), then 200;
//   - a storage failure: 503 temporarily_unavailable (RFC 7009 §2.2.1),
//     never 200 for a token that may still be valid.
//
// A revoked JWT access token is refused by introspection and by anything
// that checks its record; a resource server that only verifies its
// signature accepts it until it expires.
//
// Every answer carries Cache-Control: no-store.
func (p *Provider) RevocationHandler() http.Handler { return http.HandlerFunc(p.serveRevocation) }

func (p *Provider) serveRevocation(w http.ResponseWriter, r *http.Request) {
	if err := p.handleRevocation(w, r); err != nil {
		p.writeError(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	w.WriteHeader(http.StatusOK)
}

func (p *Provider) handleRevocation(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	form, err := p.readForm(w, r)
	if err != nil {
		return err
	}
	client, err := p.authenticateClient(ctx, r, form, p.RevocationEndpoint())
	if err != nil {
		return err
	}
	value := form.Get("token")
	if value == "" {
		return NewError(ErrInvalidRequest, "token is missing")
	}
	rec, err := p.lookupToken(ctx, value, form.Get("token_type_hint"))
	if errors.Is(err, errUnknownToken) {
		return nil
	}
	if err != nil {
		return revocationUnavailable(err)
	}
	now := p.clock()
	if !rec.RevokedAt.IsZero() || rec.Expired(now) {
		// Dead already: nothing to do, whoever asks (RFC 7009 §2.2).
		return nil
	}
	if rec.ClientID != client.ID {
		return NewError(ErrUnauthorizedClient, "the token was not issued to this client")
	}
	switch rec.Kind {
	case storage.RefreshToken:
		// A consumed (rotated) refresh token of a live grant still ends
		// the grant: the client asked for it to end.
		err = p.RevokeGrant(ctx, rec.GrantID, client.ID, rec.Subject, "refresh token revoked by the client")
	default:
		err = p.tokens.RevokeToken(ctx, rec.Key, now)
		if errors.Is(err, storage.ErrNotFound) {
			return nil // deleted meanwhile: it is no longer valid either
		}
	}
	if err != nil {
		return revocationUnavailable(err)
	}
	p.Emit(ctx, Event{Type: EventTokenRevoked, Time: now, ClientID: client.ID, Subject: rec.Subject,
		GrantID: rec.GrantID, TokenKinds: []storage.TokenKind{rec.Kind}})
	return nil
}

// revocationUnavailable is the answer to a storage failure during
// revocation (RFC 7009 §2.2.1): the client should retry.
func revocationUnavailable(cause error) *Error {
	return StorageError("the token could not be revoked", cause)
}

// errUnknownToken means that a presented token is not one of ours: no
// format recognised it, or no record of the right kind exists.
var errUnknownToken = errors.New("oauth2: unknown token")

// lookupToken finds the storage record of a presented token, for the
// revocation (RFC 7009 §2.1) and introspection (RFC 7662 §2.1) endpoints.
//
// Each format checks the token's integrity without storage: the access
// token strategy (an opaque token's HMAC, a JWT's signature) and the
// refresh token format. Only a format that recognises the token leads to a
// storage lookup, and only a record of that format's kind counts. hint
// ("access_token" or "refresh_token") decides which format is tried first;
// any other value is ignored. It only speeds the lookup: both formats are
// tried, so the answer never depends on it.
//
// A token that is not ours is errUnknownToken; any other error is a
// storage failure.
func (p *Provider) lookupToken(ctx context.Context, value, hint string) (*storage.Token, error) {
	if len(value) > MaxTokenParameterBytes {
		return nil, errUnknownToken // longer than any token of ours; not parsed
	}
	kinds := [2]storage.TokenKind{storage.AccessToken, storage.RefreshToken}
	if hint == "refresh_token" {
		kinds[0], kinds[1] = kinds[1], kinds[0]
	}
	for _, kind := range kinds {
		var key string
		var err error
		if kind == storage.AccessToken {
			key, err = p.accessTokens.AccessTokenKey(ctx, value)
		} else {
			key, err = p.refreshTokens.Signature(value)
		}
		if err != nil {
			continue // not this format
		}
		rec, err := p.tokens.Token(ctx, key)
		switch {
		case errors.Is(err, storage.ErrNotFound):
			continue
		case err != nil:
			return nil, err
		case rec.Kind != kind:
			continue
		}
		return rec, nil
	}
	return nil, errUnknownToken
}
