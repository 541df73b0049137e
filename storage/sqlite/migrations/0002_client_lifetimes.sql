-- Grantor's SQLite schema, version 2: per-client token lifetimes
-- (storage.Client.AccessTokenLifetime and RefreshTokenLifetime), in
-- nanoseconds, the unit of a Go time.Duration, so that every value round
-- trips exactly. 0 is the Provider's default, which every client registered
-- before this version keeps.

ALTER TABLE clients ADD COLUMN access_token_lifetime_ns INTEGER NOT NULL DEFAULT 0;
ALTER TABLE clients ADD COLUMN refresh_token_lifetime_ns INTEGER NOT NULL DEFAULT 0;
