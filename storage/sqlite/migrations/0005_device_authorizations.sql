-- Grantor's SQLite schema, version 5: the device authorization grant (RFC
-- 8628).
--
-- device_authorizations holds storage.DeviceAuthorization, keyed by the
-- device code's signature. user_code_key is the record's UserCodeKey, kept
-- as given; holds_user_code says whether the record still holds it: a
-- record that expired gives its user code up to a new one (0), and is then
-- no longer found by it. Among the records that hold one, no two have the
-- same user code (a partial unique index). poll_interval_ns is Interval in
-- nanoseconds, the unit of a Go time.Duration, so that every value round
-- trips exactly. status is the DeviceAuthorizationStatus (0 pending, 1
-- approved, 2 denied).
--
-- interactions.device_authorization_key is
-- storage.Interaction.DeviceAuthorizationKey (RFC 8628 §3.3); '' is an
-- interaction of the authorization endpoint, which every interaction stored
-- before this version is.

CREATE TABLE device_authorizations (
	key              TEXT PRIMARY KEY,
	user_code_key    TEXT NOT NULL,
	holds_user_code  INTEGER NOT NULL DEFAULT 1,
	client_id        TEXT NOT NULL,
	scopes           TEXT,
	issued_at        INTEGER,
	expires_at       INTEGER,
	poll_interval_ns INTEGER NOT NULL,
	last_polled_at   INTEGER,
	status           INTEGER NOT NULL,
	decided_at       INTEGER,
	subject          TEXT NOT NULL,
	granted_scopes   TEXT,
	auth_time        INTEGER,
	claims           TEXT,
	consumed_at      INTEGER
) STRICT;
-- DeviceAuthorizationByUserCode, and the rule of one holder per user code.
CREATE UNIQUE INDEX device_authorizations_user_code_key ON device_authorizations (user_code_key)
	WHERE holds_user_code = 1;
-- DeleteExpired.
CREATE INDEX device_authorizations_expires_at ON device_authorizations (expires_at);

ALTER TABLE interactions ADD COLUMN device_authorization_key TEXT NOT NULL DEFAULT '';
