-- Grantor's storage schema, version 6: the limiter (storage.Limiter), so
-- that every instance over one database counts the events of a throttle in
-- one budget (failed client authentications, RFC 6749 §2.3.1; pushed
-- authorization requests, RFC 9126 §2.3; user codes tried, RFC 8628 §5.1).
--
-- One row per key: the aligned window the key is counted in, and the count
-- of its events in that window. key is bytea, compared byte for byte: a
-- limiter key may hold any bytes (a NUL, invalid UTF-8), which text cannot
-- store. window_start_ns and window_end_ns are the window's start and end in
-- nanoseconds since the Unix epoch, the unit of a Go time, so that every
-- window round trips exactly (timestamptz keeps only microseconds).
-- expires_at is the window's end rounded up to the microsecond, for
-- DeleteExpired and the sweeps that keep the live keys within their cap.
--
-- Every Take updates a row: a fillfactor below 100 leaves room in each page
-- for the new row version, so that most updates are HOT and do not touch
-- the indexes.

CREATE TABLE limiter (
	key             bytea PRIMARY KEY,
	window_start_ns bigint NOT NULL,
	window_end_ns   bigint NOT NULL,
	expires_at      timestamptz NOT NULL,
	count           bigint NOT NULL
) WITH (fillfactor = 80);
-- DeleteExpired, and the sweeps' count of live keys.
CREATE INDEX limiter_expires_at ON limiter (expires_at);
