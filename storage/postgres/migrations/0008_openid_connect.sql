-- Grantor's storage schema, version 8: what OpenID Connect keeps.
--
-- tokens.extensions and authorization_codes.extensions are
-- storage.Token.Extensions and storage.AuthorizationCode.Extensions, the
-- values a feature of the Provider keeps with a grant (an OpenID
-- Provider's login session, for its ID tokens): a jsonb object whose
-- members are strings, as claims are jsonb. NULL is none, which every
-- record stored before this version has, and costs a token record nothing.
--
-- req_response_type and req_parameters are the response_type of an
-- authorization request (storage.AuthorizationRequest.ResponseType, RFC
-- 6749 §3.1.1) and its extension parameters (Parameters, such as the nonce
-- and max_age of OpenID Connect Core §3.1.2.1, a jsonb object of strings),
-- in the three tables that keep a request; '' ("code") and NULL (none) for
-- the requests stored before.
--
-- The clients' OpenID Connect registration (OpenID Connect Dynamic Client
-- Registration 1.0 §2, RP-Initiated Logout 1.0 §3.1, Back-Channel Logout
-- 1.0 §2.2) has a column per field, as the rest of a client has, with the
-- registration's names; default_max_age_ns is storage.Client.DefaultMaxAge
-- in nanoseconds, the unit of a Go time.Duration, so that every value round
-- trips exactly (an interval keeps only microseconds). The defaults are a
-- client without OpenID Connect registration, which every client
-- registered before this version is.
--
-- Columns that are NULL or have a constant default are added without
-- rewriting the tables (PostgreSQL 11 and later).

ALTER TABLE tokens ADD COLUMN extensions jsonb;

ALTER TABLE authorization_codes
	ADD COLUMN extensions        jsonb,
	ADD COLUMN req_response_type text NOT NULL DEFAULT '',
	ADD COLUMN req_parameters    jsonb;
ALTER TABLE interactions
	ADD COLUMN req_response_type text NOT NULL DEFAULT '',
	ADD COLUMN req_parameters    jsonb;
ALTER TABLE pushed_requests
	ADD COLUMN req_response_type text NOT NULL DEFAULT '',
	ADD COLUMN req_parameters    jsonb;

ALTER TABLE clients
	ADD COLUMN subject_type                        text NOT NULL DEFAULT '',
	ADD COLUMN sector_identifier_uri               text NOT NULL DEFAULT '',
	ADD COLUMN id_token_signed_response_alg        text NOT NULL DEFAULT '',
	ADD COLUMN userinfo_signed_response_alg        text NOT NULL DEFAULT '',
	ADD COLUMN require_auth_time                   boolean NOT NULL DEFAULT false,
	ADD COLUMN default_max_age_ns                  bigint NOT NULL DEFAULT 0,
	ADD COLUMN post_logout_redirect_uris           text[],
	ADD COLUMN backchannel_logout_uri              text NOT NULL DEFAULT '',
	ADD COLUMN backchannel_logout_session_required boolean NOT NULL DEFAULT false;
