package grant

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/grantor-dev/grantor/oauth2"
	"github.com/grantor-dev/grantor/storage"
)

// GrantTypeRefreshToken is the grant_type of RFC 6749 §6.
const GrantTypeRefreshToken = "refresh_token"

// RefreshTokenOptions configure the refresh token grant.
type RefreshTokenOptions struct {
	// GracePeriod is how long after a rotation the rotated token may be
	// presented again without revoking the grant, for clients that send
	// parallel refreshes or lose a response. Such a reuse is still refused
	// with invalid_grant; it only spares the grant. Zero, the default,
	// means every reuse revokes the grant (RFC 9700 §4.14.2).
	GracePeriod time.Duration

	// CheckGrant, when set, is called before a refresh is honoured, with
	// the record of the presented refresh token: return an error to
	// refuse it, for example when the user has been disabled or has
	// withdrawn consent (OAuth 2.1 §4.3.1). A non-*oauth2.Error becomes
	// invalid_grant.
	CheckGrant func(ctx context.Context, client *storage.Client, refreshToken *storage.Token) error
}

// RefreshToken returns the factory of the refresh token grant (RFC 6749
// §6) over store.
//
// Refresh tokens are rotated on every use: the presented token is consumed
// atomically and a new one issued. Presenting a consumed token again is a
// reuse (RFC 9700 §4.14.2): it is refused with invalid_grant and revokes
// every token of its grant, unless it comes within GracePeriod of the
// rotation. Of two concurrent refreshes with one token, one wins and the
// other is a reuse. Scopes may only narrow; the refresh token keeps the
// grant's scopes. The presenting client must be the client the token was
// issued to. A refresh follows the client's current registration: scopes
// it may no longer have are left out of the access token (all of them:
// invalid_grant), and so is an audience it may no longer have, from the
// new refresh token too.
func RefreshToken(store storage.RefreshTokenStore, opts RefreshTokenOptions) oauth2.GrantFactory {
	return func(p *oauth2.Provider) (oauth2.GrantHandler, error) {
		if store == nil {
			return nil, errors.New("grant: RefreshToken needs a storage.RefreshTokenStore")
		}
		if opts.GracePeriod < 0 {
			return nil, errors.New("grant: RefreshTokenOptions.GracePeriod must not be negative")
		}
		return &refreshToken{p: p, store: store, opts: opts}, nil
	}
}

type refreshToken struct {
	p     *oauth2.Provider
	store storage.RefreshTokenStore
	opts  RefreshTokenOptions
}

func (*refreshToken) GrantType() string { return GrantTypeRefreshToken }

var errBadRefreshToken = oauth2.NewError(oauth2.ErrInvalidGrant, "the refresh token is invalid, expired or revoked")

func (h *refreshToken) HandleTokenRequest(ctx context.Context, req *oauth2.TokenRequest) (*oauth2.Issue, error) {
	presented := req.Form.Get("refresh_token")
	if presented == "" {
		return nil, oauth2.NewError(oauth2.ErrInvalidRequest, "refresh_token is missing")
	}
	// A forged, truncated or mistyped token fails here, without a lookup.
	key, err := h.p.RefreshTokenKey(presented)
	if err != nil {
		return nil, errBadRefreshToken.WithCause(err)
	}
	rec, err := h.store.Token(ctx, key)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, errBadRefreshToken
	}
	if err != nil {
		return nil, oauth2.StorageError("the refresh token could not be looked up", err)
	}
	// Another client's token is refused without touching the grant: the
	// presenter is not its owner, so its "reuse" proves nothing.
	if rec.Kind != storage.RefreshToken || rec.ClientID != req.Client.ID {
		return nil, errBadRefreshToken
	}
	if rec.KeyThumbprint != "" && rec.KeyThumbprint != req.KeyThumbprint {
		// RFC 9449 §5: a public client's refresh token is bound to the key
		// of the proof it was issued with; without that key it is useless,
		// and its "reuse" proves nothing either: the grant is left alone.
		return nil, oauth2.NewError(oauth2.ErrInvalidGrant, "the refresh token is bound to another DPoP key")
	}
	if !rec.ConsumedAt.IsZero() {
		return nil, h.reuse(ctx, req, rec)
	}
	if !rec.Active(req.Now) {
		return nil, errBadRefreshToken
	}
	// The client's registration may have narrowed since the grant began:
	// a refresh gives it no more than the grant (RFC 6749 §6) and no more
	// than it may have now.
	scopes := within(rec.Scopes, req.Client.Scopes)
	if len(scopes) == 0 && len(rec.Scopes) > 0 {
		// A response without scope would tell the client it still has
		// the grant's (RFC 6749 §5.1).
		return nil, oauth2.NewError(oauth2.ErrInvalidGrant, "the client may no longer have any scope of the grant")
	}
	if req.Scopes != nil {
		if err := oauth2.CheckScopeSubset(req.Scopes, scopes); err != nil {
			return nil, err
		}
		scopes = req.Scopes
	}
	audience := within(rec.Audience, h.p.ClientAudience(req.Client))
	if len(audience) == 0 && len(rec.Audience) > 0 {
		return nil, oauth2.NewError(oauth2.ErrInvalidGrant, "the grant's audience is no longer allowed for the client")
	}
	if h.opts.CheckGrant != nil {
		if err := h.opts.CheckGrant(ctx, req.Client, rec); err != nil {
			var oe *oauth2.Error
			if errors.As(err, &oe) {
				return nil, oe
			}
			return nil, oauth2.NewError(oauth2.ErrInvalidGrant, "the grant is no longer valid").WithCause(err)
		}
	}
	return &oauth2.Issue{
		GrantID:        rec.GrantID,
		Subject:        rec.Subject,
		Scopes:         scopes,
		GrantScopes:    rec.Scopes,
		Audience:       audience,
		Claims:         rec.Claims,
		Extensions:     rec.Extensions,
		RefreshToken:   true,
		GrantExpiresAt: rec.GrantExpiresAt,
		// The lifetimes the grant asked for when it began.
		AccessTokenLifetime:  rec.AccessTokenLifetime,
		RefreshTokenLifetime: rec.RefreshTokenLifetime,
		Consume: func(ctx context.Context) error {
			// The use-once step: of concurrent refreshes exactly one
			// consumes the token; the others are reuses.
			consumed, err := h.store.ConsumeToken(ctx, key, req.Now)
			switch {
			case errors.Is(err, storage.ErrConsumed):
				return h.reuse(ctx, req, consumed)
			case errors.Is(err, storage.ErrNotFound):
				return errBadRefreshToken
			case err != nil:
				return oauth2.StorageError("the refresh token could not be rotated", err)
			}
			return nil
		},
	}, nil
}

// reuse answers a consumed refresh token presented again: invalid_grant,
// and the whole grant revoked unless within the grace period.
func (h *refreshToken) reuse(ctx context.Context, req *oauth2.TokenRequest, rec *storage.Token) error {
	h.p.Emit(ctx, oauth2.Event{Type: oauth2.EventRefreshTokenReuse, ClientID: rec.ClientID, Subject: rec.Subject, GrantID: rec.GrantID})
	if h.opts.GracePeriod > 0 && req.Now.Sub(rec.ConsumedAt) < h.opts.GracePeriod {
		return oauth2.NewError(oauth2.ErrInvalidGrant, "the refresh token has already been used")
	}
	if err := h.p.RevokeGrant(ctx, rec.GrantID, rec.ClientID, rec.Subject, "refresh token reuse"); err != nil {
		return oauth2.StorageError("the grant could not be revoked", err)
	}
	return oauth2.NewError(oauth2.ErrInvalidGrant, "the refresh token has already been used; the grant is revoked")
}

// within returns the values of a that are also in allowed, in a's order:
// a itself when all are, without copying.
func within(a, allowed []string) []string {
	for i, v := range a {
		if !slices.Contains(allowed, v) {
			kept := slices.Clone(a[:i])
			for _, v := range a[i+1:] {
				if slices.Contains(allowed, v) {
					kept = append(kept, v)
				}
			}
			return kept
		}
	}
	return a
}
