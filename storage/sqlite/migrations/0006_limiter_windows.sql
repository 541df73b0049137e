-- Grantor's SQLite schema, version 6: the windows of storage.Limiter,
-- shared by every Store over this file, so that N Provider instances give
-- an attacker one budget, not N.
--
-- limiter_windows holds one row per key: the count of events in the key's
-- current window, which starts at window_start_ns and ends at
-- window_end_ns. The key is a BLOB, compared byte for byte: a caller's key
-- may hold any bytes (NUL, invalid UTF-8). The window's start and end are
-- Unix nanoseconds, not microseconds as elsewhere, so that the aligned
-- windows of storage.WindowStart round trip exactly whatever their length.
-- A row whose window has ended is counted from 1 again by the next Take,
-- and deleted by a sweep (DeleteExpired, and Take once per sweep interval).
CREATE TABLE limiter_windows (
	key             BLOB PRIMARY KEY,
	window_start_ns INTEGER NOT NULL,
	window_end_ns   INTEGER NOT NULL,
	count           INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
-- The sweep of ended windows.
CREATE INDEX limiter_windows_window_end ON limiter_windows (window_end_ns);
-- The sweep down to the cap of live keys: the smallest counts go first,
-- of equal ones those whose window ends first.
CREATE INDEX limiter_windows_eviction ON limiter_windows (count, window_end_ns);
