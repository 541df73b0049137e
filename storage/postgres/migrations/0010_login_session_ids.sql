-- Grantor's storage schema, version 10: login sessions found by their ID
-- (storage.LoginSessionStore.LoginSessionByID), the "sid" of ID tokens and
-- logout tokens (OpenID Connect Back-Channel Logout 1.0 §2.1), which an
-- OpenID Provider keeps with a grant and looks up at each refresh to learn
-- whether the login session the grant was issued in has ended (Back-Channel
-- Logout 1.0 §2.7). An index, so that the lookup reads one entry rather
-- than every session.
--
-- With expires_at, so that of rows sharing an id the one that expires last
-- is read first, without a sort: an expired row left behind by a
-- replacement never hides the live one.
--
-- Not unique: when a user's new login in a browser replaces the session,
-- the new row is inserted under the same id before the old one is
-- deleted, and for that moment two rows share it. Built in the migration's
-- transaction (CREATE INDEX CONCURRENTLY cannot run in one), so writes to
-- login_sessions wait while it is built: a short wait for a table of live
-- sessions, which DeleteExpired keeps small.

CREATE INDEX login_sessions_id ON login_sessions (id, expires_at);
