-- Grantor's storage schema, version 9: the login sessions of an OpenID
-- Provider (storage.LoginSessionStore): a user's login in one browser,
-- which later authorization requests reuse and a logout ends (OpenID
-- Connect RP-Initiated Logout 1.0, Back-Channel Logout 1.0), shared by
-- every instance over this database.
--
-- key is the digest of the browser's session cookie, never the cookie
-- itself, compared byte for byte (the "C" collation); id is the session's
-- "sid". amr and clients are text arrays, as the other lists, NULL for
-- none; clients are the relying parties to tell when the session ends, in
-- the order they joined it, at most storage.MaxSessionClients.
-- record_bytes is the session's storage.LoginSession.Size: AddSessionClient
-- adds a client only if the session stays within storage.MaxRecordBytes,
-- in the one statement that adds it. DeleteExpired deletes a session once
-- its expires_at has passed.

CREATE TABLE login_sessions (
	key          text COLLATE "C" PRIMARY KEY,
	id           text NOT NULL,
	subject      text NOT NULL,
	auth_time    timestamptz,
	acr          text NOT NULL,
	amr          text[],
	clients      text[],
	created_at   timestamptz,
	expires_at   timestamptz NOT NULL,
	record_bytes integer NOT NULL
);
-- DeleteExpired.
CREATE INDEX login_sessions_expires_at ON login_sessions (expires_at);
