package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/grantor-dev/grantor/storage"
)

// PutClient registers c, replacing any client with the same ID (an
// upsert). A nil client or an empty ID is an error.
func (s *Store) PutClient(ctx context.Context, c *storage.Client) error {
	if err := ctx.Err(); err != nil {
		return wrap("put client", err)
	}
	if c == nil {
		return errors.New("sqlite: put client: nil client")
	}
	if c.ID == "" {
		return errors.New("sqlite: put client: empty ID")
	}
	args := []any{c.ID, c.Name, c.SecretHash, c.TokenEndpointAuthMethod, c.TokenEndpointAuthSigningAlg, c.JWKS, c.JWKSURI}
	for _, l := range []struct {
		field string
		list  []string
	}{
		{"RedirectURIs", c.RedirectURIs}, {"GrantTypes", c.GrantTypes}, {"Scopes", c.Scopes},
		{"DefaultScopes", c.DefaultScopes}, {"Audience", c.Audience}, {"Resources", c.Resources},
		{"PostLogoutRedirectURIs", c.PostLogoutRedirectURIs},
	} {
		v, err := listArg(l.field, l.list)
		if err != nil {
			return wrap("put client", err)
		}
		args = append(args, v)
	}
	args = append(args, c.PKCEOptional, c.RequirePushedAuthorizationRequests, c.Disabled,
		int64(c.AccessTokenLifetime), int64(c.RefreshTokenLifetime), c.DPoPBoundAccessTokens,
		c.SubjectType, c.SectorIdentifierURI, c.IDTokenSignedResponseAlg, c.UserinfoSignedResponseAlg,
		c.RequireAuthTime, int64(c.DefaultMaxAge), c.BackchannelLogoutURI, c.BackchannelLogoutSessionRequired)
	_, err := s.exec(ctx, `INSERT INTO clients (id, name, secret_hash, token_endpoint_auth_method,
	token_endpoint_auth_signing_alg, jwks, jwks_uri, redirect_uris, grant_types, scopes,
	default_scopes, audience, resources, post_logout_redirect_uris, pkce_optional, require_pushed_requests, disabled,
	access_token_lifetime_ns, refresh_token_lifetime_ns, dpop_bound_access_tokens,
	subject_type, sector_identifier_uri, id_token_signed_response_alg, userinfo_signed_response_alg,
	require_auth_time, default_max_age_ns, backchannel_logout_uri, backchannel_logout_session_required)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (id) DO UPDATE SET
	name = excluded.name,
	secret_hash = excluded.secret_hash,
	token_endpoint_auth_method = excluded.token_endpoint_auth_method,
	token_endpoint_auth_signing_alg = excluded.token_endpoint_auth_signing_alg,
	jwks = excluded.jwks,
	jwks_uri = excluded.jwks_uri,
	redirect_uris = excluded.redirect_uris,
	grant_types = excluded.grant_types,
	scopes = excluded.scopes,
	default_scopes = excluded.default_scopes,
	audience = excluded.audience,
	resources = excluded.resources,
	post_logout_redirect_uris = excluded.post_logout_redirect_uris,
	pkce_optional = excluded.pkce_optional,
	require_pushed_requests = excluded.require_pushed_requests,
	disabled = excluded.disabled,
	access_token_lifetime_ns = excluded.access_token_lifetime_ns,
	refresh_token_lifetime_ns = excluded.refresh_token_lifetime_ns,
	dpop_bound_access_tokens = excluded.dpop_bound_access_tokens,
	subject_type = excluded.subject_type,
	sector_identifier_uri = excluded.sector_identifier_uri,
	id_token_signed_response_alg = excluded.id_token_signed_response_alg,
	userinfo_signed_response_alg = excluded.userinfo_signed_response_alg,
	require_auth_time = excluded.require_auth_time,
	default_max_age_ns = excluded.default_max_age_ns,
	backchannel_logout_uri = excluded.backchannel_logout_uri,
	backchannel_logout_session_required = excluded.backchannel_logout_session_required`, args...)
	return wrap("put client", err)
}

// DeleteClient removes the client with the given ID, if any; an unknown ID
// is not an error. Token records issued to the client are kept.
func (s *Store) DeleteClient(ctx context.Context, id string) error {
	_, err := s.exec(ctx, "DELETE FROM clients WHERE id = ?", id)
	return wrap("delete client", err)
}

// Client implements [storage.ClientStore] (RFC 6749 §2). It returns a new
// copy of the registered client, which the caller may modify, or
// [storage.ErrNotFound]. IDs are matched exactly.
func (s *Store) Client(ctx context.Context, id string) (*storage.Client, error) {
	if err := ctx.Err(); err != nil {
		return nil, wrap("client", err)
	}
	var (
		c                     storage.Client
		lists                 [7]sql.NullString
		accessTTL, refreshTTL int64
	)
	err := s.db.QueryRowContext(ctx, `SELECT id, name, secret_hash, token_endpoint_auth_method,
	token_endpoint_auth_signing_alg, jwks, jwks_uri, redirect_uris, grant_types, scopes,
	default_scopes, audience, resources, post_logout_redirect_uris, pkce_optional, require_pushed_requests, disabled,
	access_token_lifetime_ns, refresh_token_lifetime_ns, dpop_bound_access_tokens,
	subject_type, sector_identifier_uri, id_token_signed_response_alg, userinfo_signed_response_alg,
	require_auth_time, default_max_age_ns, backchannel_logout_uri, backchannel_logout_session_required
FROM clients WHERE id = ?`, id).Scan(&c.ID, &c.Name, &c.SecretHash, &c.TokenEndpointAuthMethod,
		&c.TokenEndpointAuthSigningAlg, &c.JWKS, &c.JWKSURI, &lists[0], &lists[1], &lists[2],
		&lists[3], &lists[4], &lists[5], &lists[6], &c.PKCEOptional, &c.RequirePushedAuthorizationRequests, &c.Disabled,
		&accessTTL, &refreshTTL, &c.DPoPBoundAccessTokens,
		&c.SubjectType, &c.SectorIdentifierURI, &c.IDTokenSignedResponseAlg, &c.UserinfoSignedResponseAlg,
		&c.RequireAuthTime, (*int64)(&c.DefaultMaxAge), &c.BackchannelLogoutURI, &c.BackchannelLogoutSessionRequired)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, wrap("client", storage.ErrNotFound)
	}
	if err != nil {
		return nil, wrap("client", err)
	}
	c.AccessTokenLifetime, c.RefreshTokenLifetime = time.Duration(accessTTL), time.Duration(refreshTTL)
	for i, dst := range []*[]string{&c.RedirectURIs, &c.GrantTypes, &c.Scopes, &c.DefaultScopes, &c.Audience, &c.Resources,
		&c.PostLogoutRedirectURIs} {
		if *dst, err = listVal(lists[i]); err != nil {
			return nil, wrap("client", err)
		}
	}
	return &c, nil
}
