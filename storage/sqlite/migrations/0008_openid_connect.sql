-- Grantor's SQLite schema, version 8: what OpenID Connect keeps.
--
-- tokens.extensions and authorization_codes.extensions are
-- storage.Token.Extensions and storage.AuthorizationCode.Extensions, the
-- values a feature of the Provider keeps with a grant (an OpenID
-- Provider's login session, for its ID tokens): a JSON object whose members
-- are strings. NULL is none, which every record stored before this version
-- has, and costs a token record nothing.
--
-- The clients' OpenID Connect registration (OpenID Connect Dynamic Client
-- Registration 1.0 §2, RP-Initiated Logout 1.0 §3.1, Back-Channel Logout
-- 1.0 §2.2) has a column per field, as the rest of a client has, with the
-- registration's names; default_max_age_ns is storage.Client.DefaultMaxAge
-- in nanoseconds, the unit of a Go time.Duration, and
-- post_logout_redirect_uris a JSON list as the other lists. The defaults
-- are a client without OpenID Connect registration, which every client
-- registered before this version is.
--
-- An authorization request's response_type and extension parameters need
-- no column: they are the "response_type" and "parameters" members of the
-- request's JSON, absent from the requests stored before ("code", none).

ALTER TABLE tokens ADD COLUMN extensions TEXT;
ALTER TABLE authorization_codes ADD COLUMN extensions TEXT;

ALTER TABLE clients ADD COLUMN subject_type TEXT NOT NULL DEFAULT '';
ALTER TABLE clients ADD COLUMN sector_identifier_uri TEXT NOT NULL DEFAULT '';
ALTER TABLE clients ADD COLUMN id_token_signed_response_alg TEXT NOT NULL DEFAULT '';
ALTER TABLE clients ADD COLUMN userinfo_signed_response_alg TEXT NOT NULL DEFAULT '';
ALTER TABLE clients ADD COLUMN require_auth_time INTEGER NOT NULL DEFAULT 0;
ALTER TABLE clients ADD COLUMN default_max_age_ns INTEGER NOT NULL DEFAULT 0;
ALTER TABLE clients ADD COLUMN post_logout_redirect_uris TEXT;
ALTER TABLE clients ADD COLUMN backchannel_logout_uri TEXT NOT NULL DEFAULT '';
ALTER TABLE clients ADD COLUMN backchannel_logout_session_required INTEGER NOT NULL DEFAULT 0;
