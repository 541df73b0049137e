package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/grantor-dev/grantor/storage"
)

// clientColumns are the columns of a client, in the order of PutClient's
// arguments and of Client's scan.
const clientColumns = `id, name, secret_hash, token_endpoint_auth_method, token_endpoint_auth_signing_alg,
	jwks, jwks_uri, redirect_uris, grant_types, scopes, default_scopes, audience, resources,
	pkce_optional, require_pushed_authorization_requests, disabled,
	access_token_lifetime_ns, refresh_token_lifetime_ns, dpop_bound_access_tokens,
	subject_type, sector_identifier_uri, id_token_signed_response_alg, userinfo_signed_response_alg,
	require_auth_time, default_max_age_ns, post_logout_redirect_uris, backchannel_logout_uri,
	backchannel_logout_session_required`

const (
	upsertClient = `INSERT INTO clients (` + clientColumns + `)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19,
	$20, $21, $22, $23, $24, $25, $26, $27, $28)
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
	pkce_optional = excluded.pkce_optional,
	require_pushed_authorization_requests = excluded.require_pushed_authorization_requests,
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
	post_logout_redirect_uris = excluded.post_logout_redirect_uris,
	backchannel_logout_uri = excluded.backchannel_logout_uri,
	backchannel_logout_session_required = excluded.backchannel_logout_session_required`

	selectClient = `SELECT ` + clientColumns + ` FROM clients WHERE id = $1`

	deleteClient = `DELETE FROM clients WHERE id = $1`
)

// PutClient registers c, replacing any client with the same ID (RFC 7591
// §3.2.1 registration, or an application's own client management). The
// client's SecretHash is stored as given: a hash, never a secret. A nil
// client, an empty ID, or a string that PostgreSQL cannot store (a NUL
// byte, invalid UTF-8) is an error.
func (s *Store) PutClient(ctx context.Context, c *storage.Client) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("postgres: put client: %w", err)
	}
	if c == nil {
		return errors.New("postgres: put client: nil client")
	}
	if c.ID == "" {
		return errors.New("postgres: put client: empty client ID")
	}
	for _, f := range []struct {
		name string
		strs []string
	}{
		{"ID", []string{c.ID}}, {"Name", []string{c.Name}}, {"SecretHash", []string{c.SecretHash}},
		{"TokenEndpointAuthMethod", []string{c.TokenEndpointAuthMethod}},
		{"TokenEndpointAuthSigningAlg", []string{c.TokenEndpointAuthSigningAlg}}, {"JWKSURI", []string{c.JWKSURI}},
		{"RedirectURIs", c.RedirectURIs}, {"GrantTypes", c.GrantTypes}, {"Scopes", c.Scopes},
		{"DefaultScopes", c.DefaultScopes}, {"Audience", c.Audience}, {"Resources", c.Resources},
		{"SubjectType", []string{c.SubjectType}}, {"SectorIdentifierURI", []string{c.SectorIdentifierURI}},
		{"IDTokenSignedResponseAlg", []string{c.IDTokenSignedResponseAlg}},
		{"UserinfoSignedResponseAlg", []string{c.UserinfoSignedResponseAlg}},
		{"PostLogoutRedirectURIs", c.PostLogoutRedirectURIs}, {"BackchannelLogoutURI", []string{c.BackchannelLogoutURI}},
	} {
		if err := checkText(f.name, f.strs...); err != nil {
			return fmt.Errorf("postgres: put client: %w", err)
		}
	}
	err := s.retry(ctx, func() error {
		_, err := s.pool.Exec(ctx, upsertClient,
			c.ID, c.Name, c.SecretHash, c.TokenEndpointAuthMethod, c.TokenEndpointAuthSigningAlg,
			c.JWKS, c.JWKSURI, c.RedirectURIs, c.GrantTypes, c.Scopes, c.DefaultScopes, c.Audience, c.Resources,
			c.PKCEOptional, c.RequirePushedAuthorizationRequests, c.Disabled,
			int64(c.AccessTokenLifetime), int64(c.RefreshTokenLifetime), c.DPoPBoundAccessTokens,
			c.SubjectType, c.SectorIdentifierURI, c.IDTokenSignedResponseAlg, c.UserinfoSignedResponseAlg,
			c.RequireAuthTime, int64(c.DefaultMaxAge), c.PostLogoutRedirectURIs, c.BackchannelLogoutURI,
			c.BackchannelLogoutSessionRequired)
		return err
	})
	if err != nil {
		return fail(ctx, "put client", err)
	}
	return nil
}

// DeleteClient removes the client with the given ID, if any; an unknown ID
// is not an error. Token records issued to the client are kept.
func (s *Store) DeleteClient(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("postgres: delete client: %w", err)
	}
	err := s.retry(ctx, func() error {
		_, err := s.pool.Exec(ctx, deleteClient, id)
		return err
	})
	if err != nil {
		return fail(ctx, "delete client", err)
	}
	return nil
}

// Client implements [storage.ClientStore]. It returns the registered client,
// which the caller may modify, or [storage.ErrNotFound]. IDs are matched
// exactly, byte for byte.
func (s *Store) Client(ctx context.Context, id string) (*storage.Client, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("postgres: client: %w", err)
	}
	if !isText(id) {
		return nil, fmt.Errorf("postgres: client: %w", storage.ErrNotFound)
	}
	var (
		c                     storage.Client
		accessTTL, refreshTTL int64
	)
	err := s.retry(ctx, func() error {
		return s.pool.QueryRow(ctx, selectClient, id).Scan(
			&c.ID, &c.Name, &c.SecretHash, &c.TokenEndpointAuthMethod, &c.TokenEndpointAuthSigningAlg,
			&c.JWKS, &c.JWKSURI, &c.RedirectURIs, &c.GrantTypes, &c.Scopes, &c.DefaultScopes, &c.Audience, &c.Resources,
			&c.PKCEOptional, &c.RequirePushedAuthorizationRequests, &c.Disabled, &accessTTL, &refreshTTL,
			&c.DPoPBoundAccessTokens,
			&c.SubjectType, &c.SectorIdentifierURI, &c.IDTokenSignedResponseAlg, &c.UserinfoSignedResponseAlg,
			&c.RequireAuthTime, (*int64)(&c.DefaultMaxAge), &c.PostLogoutRedirectURIs, &c.BackchannelLogoutURI,
			&c.BackchannelLogoutSessionRequired)
	})
	switch {
	case err == nil:
		c.AccessTokenLifetime, c.RefreshTokenLifetime = time.Duration(accessTTL), time.Duration(refreshTTL)
		return &c, nil
	case errors.Is(err, pgx.ErrNoRows):
		return nil, fmt.Errorf("postgres: client: %w", storage.ErrNotFound)
	default:
		return nil, fail(ctx, "client", err)
	}
}
