-- Grantor's storage schema, version 1.
--
-- Keys (token signatures, JWT IDs, digests) use the "C" collation: they are
-- compared byte for byte, and their indexes are cheaper. Times are
-- timestamptz (microseconds). Optional times are NULL when unset; ExpiresAt,
-- IssuedAt and CreatedAt are always set.

-- Registered clients (RFC 6749 §2, RFC 7591 §2).
CREATE TABLE clients (
	id                                    text COLLATE "C" PRIMARY KEY,
	name                                  text NOT NULL DEFAULT '',
	secret_hash                           text NOT NULL DEFAULT '',
	token_endpoint_auth_method            text NOT NULL DEFAULT '',
	token_endpoint_auth_signing_alg       text NOT NULL DEFAULT '',
	jwks                                  bytea,
	jwks_uri                              text NOT NULL DEFAULT '',
	redirect_uris                         text[],
	grant_types                           text[],
	scopes                                text[],
	default_scopes                        text[],
	audience                              text[],
	resources                             text[],
	pkce_optional                         boolean NOT NULL DEFAULT false,
	require_pushed_authorization_requests boolean NOT NULL DEFAULT false,
	disabled                              boolean NOT NULL DEFAULT false
);

-- Access and refresh token records, keyed by the token's signature or JWT ID.
CREATE TABLE tokens (
	key              text COLLATE "C" PRIMARY KEY,
	kind             smallint NOT NULL,
	grant_id         text COLLATE "C" NOT NULL,
	client_id        text NOT NULL,
	subject          text NOT NULL,
	scopes           text[],
	audience         text[],
	claims           jsonb,
	issued_at        timestamptz NOT NULL,
	expires_at       timestamptz NOT NULL,
	grant_expires_at timestamptz,
	consumed_at      timestamptz,
	revoked_at       timestamptz
);
-- RevokeGrant, and the check for a revoked-grant marker's last token.
CREATE INDEX tokens_grant_id ON tokens (grant_id);
-- DeleteExpired.
CREATE INDEX tokens_expires_at ON tokens (expires_at);

-- Revoked grants, remembered so that tokens created for a grant after its
-- revocation are stored revoked.
CREATE TABLE revoked_grants (
	grant_id   text COLLATE "C" PRIMARY KEY,
	revoked_at timestamptz NOT NULL,
	keep_until timestamptz NOT NULL
);
CREATE INDEX revoked_grants_keep_until ON revoked_grants (keep_until);

-- Replay protection: jti values of client assertions and DPoP proofs.
CREATE TABLE replay (
	key        text COLLATE "C" PRIMARY KEY,
	expires_at timestamptz NOT NULL
);
CREATE INDEX replay_expires_at ON replay (expires_at);

-- Interactions: authorization requests waiting for the application's
-- decision. The req_ columns hold the storage.AuthorizationRequest, in the
-- three tables that keep one.
CREATE TABLE interactions (
	key                       text COLLATE "C" PRIMARY KEY,
	req_client_id             text NOT NULL,
	req_redirect_uri          text NOT NULL,
	req_redirect_uri_given    boolean NOT NULL,
	req_response_mode         text NOT NULL,
	req_state                 text NOT NULL,
	req_scopes                text[],
	req_resources             text[],
	req_code_challenge        text NOT NULL,
	req_code_challenge_method text NOT NULL,
	req_prompt                text[],
	req_pushed_key            text NOT NULL,
	browser_binding           text NOT NULL,
	created_at                timestamptz NOT NULL,
	expires_at                timestamptz NOT NULL,
	completed_at              timestamptz
);
CREATE INDEX interactions_expires_at ON interactions (expires_at);

-- Authorization codes (RFC 6749 §4.1.2), keyed by the code's signature.
CREATE TABLE authorization_codes (
	key                       text COLLATE "C" PRIMARY KEY,
	grant_id                  text COLLATE "C" NOT NULL,
	req_client_id             text NOT NULL,
	req_redirect_uri          text NOT NULL,
	req_redirect_uri_given    boolean NOT NULL,
	req_response_mode         text NOT NULL,
	req_state                 text NOT NULL,
	req_scopes                text[],
	req_resources             text[],
	req_code_challenge        text NOT NULL,
	req_code_challenge_method text NOT NULL,
	req_prompt                text[],
	req_pushed_key            text NOT NULL,
	subject                   text NOT NULL,
	scopes                    text[],
	auth_time                 timestamptz,
	claims                    jsonb,
	issued_at                 timestamptz NOT NULL,
	expires_at                timestamptz NOT NULL,
	consumed_at               timestamptz
);
CREATE INDEX authorization_codes_expires_at ON authorization_codes (expires_at);

-- Pushed authorization requests (RFC 9126), keyed by a digest of the
-- request_uri.
CREATE TABLE pushed_requests (
	key                       text COLLATE "C" PRIMARY KEY,
	req_client_id             text NOT NULL,
	req_redirect_uri          text NOT NULL,
	req_redirect_uri_given    boolean NOT NULL,
	req_response_mode         text NOT NULL,
	req_state                 text NOT NULL,
	req_scopes                text[],
	req_resources             text[],
	req_code_challenge        text NOT NULL,
	req_code_challenge_method text NOT NULL,
	req_prompt                text[],
	req_pushed_key            text NOT NULL,
	created_at                timestamptz NOT NULL,
	expires_at                timestamptz NOT NULL,
	consumed_at               timestamptz
);
CREATE INDEX pushed_requests_expires_at ON pushed_requests (expires_at);
