-- Grantor's storage schema, version 3: the token lifetimes a grant asked for
-- (storage.Token.AccessTokenLifetime and RefreshTokenLifetime), kept on its
-- refresh token so that its refreshes ask for them again. In nanoseconds,
-- the unit of a Go time.Duration, so that every value round trips exactly
-- (an interval keeps only microseconds). 0 means none, which every token
-- stored before this version keeps. A column with a constant default is
-- added without rewriting the table (PostgreSQL 11 and later).

ALTER TABLE tokens
	ADD COLUMN access_token_lifetime_ns  bigint NOT NULL DEFAULT 0,
	ADD COLUMN refresh_token_lifetime_ns bigint NOT NULL DEFAULT 0;
