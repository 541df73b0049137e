-- Grantor's SQLite schema, version 3: the token lifetimes a grant asked for
-- (storage.Token.AccessTokenLifetime and RefreshTokenLifetime), kept on its
-- refresh token so that its refreshes ask for them again. In nanoseconds,
-- the unit of a Go time.Duration, so that every value round trips exactly.
-- 0 means none, which every token stored before this version keeps.

ALTER TABLE tokens ADD COLUMN access_token_lifetime_ns INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tokens ADD COLUMN refresh_token_lifetime_ns INTEGER NOT NULL DEFAULT 0;
