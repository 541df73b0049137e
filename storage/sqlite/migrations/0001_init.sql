-- Grantor's SQLite schema, version 1.
--
-- Times are Unix microseconds (UTC); NULL is the zero time ("not consumed",
-- "not revoked", "no absolute grant limit"). Lists and claims are JSON text;
-- NULL is a nil list or a nil claim set. Keys are digests or signatures of
-- tokens and codes, never the tokens themselves.

CREATE TABLE clients (
	id                          TEXT PRIMARY KEY,
	name                        TEXT NOT NULL DEFAULT '',
	secret_hash                 TEXT NOT NULL DEFAULT '',
	token_endpoint_auth_method  TEXT NOT NULL DEFAULT '',
	token_endpoint_auth_signing_alg TEXT NOT NULL DEFAULT '',
	jwks                        BLOB,
	jwks_uri                    TEXT NOT NULL DEFAULT '',
	redirect_uris               TEXT,
	grant_types                 TEXT,
	scopes                      TEXT,
	default_scopes              TEXT,
	audience                    TEXT,
	resources                   TEXT,
	pkce_optional               INTEGER NOT NULL DEFAULT 0,
	require_pushed_requests     INTEGER NOT NULL DEFAULT 0,
	disabled                    INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE tokens (
	key              TEXT PRIMARY KEY,
	kind             INTEGER NOT NULL,
	grant_id         TEXT NOT NULL,
	client_id        TEXT NOT NULL,
	subject          TEXT NOT NULL,
	scopes           TEXT,
	audience         TEXT,
	claims           TEXT,
	issued_at        INTEGER,
	expires_at       INTEGER,
	grant_expires_at INTEGER,
	consumed_at      INTEGER,
	revoked_at       INTEGER
) STRICT;
CREATE INDEX tokens_grant_id ON tokens (grant_id);
CREATE INDEX tokens_expires_at ON tokens (expires_at);

-- A revoked grant, remembered so that tokens created for it afterwards are
-- stored revoked (storage.TokenStore.RevokeGrant). keep_until is the earliest
-- time the marker may go, once no token of the grant is left.
CREATE TABLE revoked_grants (
	grant_id   TEXT PRIMARY KEY,
	revoked_at INTEGER NOT NULL,
	keep_until INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX revoked_grants_keep_until ON revoked_grants (keep_until);

CREATE TABLE replay (
	key        TEXT PRIMARY KEY,
	expires_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX replay_expires_at ON replay (expires_at);

CREATE TABLE interactions (
	key             TEXT PRIMARY KEY,
	request         TEXT NOT NULL,
	browser_binding TEXT NOT NULL,
	created_at      INTEGER,
	expires_at      INTEGER,
	completed_at    INTEGER
) STRICT;
CREATE INDEX interactions_expires_at ON interactions (expires_at);

CREATE TABLE authorization_codes (
	key         TEXT PRIMARY KEY,
	grant_id    TEXT NOT NULL,
	request     TEXT NOT NULL,
	subject     TEXT NOT NULL,
	scopes      TEXT,
	auth_time   INTEGER,
	claims      TEXT,
	issued_at   INTEGER,
	expires_at  INTEGER,
	consumed_at INTEGER
) STRICT;
CREATE INDEX authorization_codes_expires_at ON authorization_codes (expires_at);

CREATE TABLE pushed_requests (
	key         TEXT PRIMARY KEY,
	request     TEXT NOT NULL,
	created_at  INTEGER,
	expires_at  INTEGER,
	consumed_at INTEGER
) STRICT;
CREATE INDEX pushed_requests_expires_at ON pushed_requests (expires_at);
