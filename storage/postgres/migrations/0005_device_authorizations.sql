-- Grantor's storage schema, version 5: the device authorization grant (RFC
-- 8628).
--
-- device_authorizations holds storage.DeviceAuthorization, keyed by the
-- device code's signature. user_code_key is the record's UserCodeKey, kept
-- as given; holds_user_code says whether the record still holds it: a
-- record that expired gives its user code up to a new one (false), and is
-- then no longer found by it. Among the records that hold one, no two have
-- the same user code. poll_interval_ns is Interval in nanoseconds, the unit
-- of a Go time.Duration, so that every value round trips exactly (an
-- interval keeps only microseconds). status is the DeviceAuthorizationStatus
-- (0 pending, 1 approved, 2 denied). kept_bytes is the Size of what an
-- approval keeps of the record (all but Subject, GrantedScopes and Claims,
-- which it replaces): with the decision's Size added, the Size of the
-- approved record, which DecideDeviceAuthorization compares with
-- storage.MaxRecordBytes.
--
-- interactions.device_authorization_key is
-- storage.Interaction.DeviceAuthorizationKey (RFC 8628 §3.3); '' is an
-- interaction of the authorization endpoint, which every interaction stored
-- before this version is. A column with a constant default is added without
-- rewriting the table (PostgreSQL 11 and later).

CREATE TABLE device_authorizations (
	key              text COLLATE "C" PRIMARY KEY,
	user_code_key    text COLLATE "C" NOT NULL,
	holds_user_code  boolean NOT NULL DEFAULT true,
	client_id        text NOT NULL,
	scopes           text[],
	issued_at        timestamptz NOT NULL,
	expires_at       timestamptz NOT NULL,
	poll_interval_ns bigint NOT NULL,
	last_polled_at   timestamptz,
	status           smallint NOT NULL,
	decided_at       timestamptz,
	subject          text NOT NULL,
	granted_scopes   text[],
	auth_time        timestamptz,
	claims           jsonb,
	consumed_at      timestamptz,
	kept_bytes       integer NOT NULL
);
-- DeviceAuthorizationByUserCode, and the rule of one holder per user code.
CREATE UNIQUE INDEX device_authorizations_user_code_key ON device_authorizations (user_code_key)
	WHERE holds_user_code;
-- DeleteExpired.
CREATE INDEX device_authorizations_expires_at ON device_authorizations (expires_at);

ALTER TABLE interactions ADD COLUMN device_authorization_key text COLLATE "C" NOT NULL DEFAULT '';
