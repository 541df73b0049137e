-- Grantor's SQLite schema, version 9: the login sessions of an OpenID
-- Provider (storage.LoginSessionStore): a user's login in one browser,
-- which later authorization requests reuse and a logout ends (OpenID
-- Connect RP-Initiated Logout 1.0, Back-Channel Logout 1.0).
--
-- key is the digest of the browser's session cookie, never the cookie
-- itself; id is the session's "sid". amr and clients are JSON lists, as
-- the other lists, NULL for none; clients are the relying parties to tell
-- when the session ends, in the order they joined it, at most
-- storage.MaxSessionClients. auth_time, created_at and expires_at are Unix
-- microseconds, as the times of the other tables. DeleteExpired deletes a
-- session once its expires_at has passed.
CREATE TABLE login_sessions (
	key        TEXT PRIMARY KEY,
	id         TEXT NOT NULL,
	subject    TEXT NOT NULL,
	auth_time  INTEGER,
	acr        TEXT NOT NULL,
	amr        TEXT,
	clients    TEXT,
	created_at INTEGER,
	expires_at INTEGER
) STRICT;
-- DeleteExpired.
CREATE INDEX login_sessions_expires_at ON login_sessions (expires_at);
