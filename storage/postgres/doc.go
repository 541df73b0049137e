// Package postgres is a PostgreSQL adapter of Grantor's storage: one
// [Store] implements every interface of package
// [github.com/grantor-dev/grantor/storage] over a [pgxpool.Pool], and
// passes the conformance suite of
// [github.com/grantor-dev/grantor/storage/storagetest].
//
// It needs PostgreSQL 14 or later (a device authorization's poll compares
// times to the nanosecond with the exact numeric EXTRACT of version 14).
// Create the schema with [Migrate] (idempotent, and safe when several
// instances start at once), then make a store:
//
//	pool, err := pgxpool.New(ctx, "postgres://grantor@db/grantor")
//	if err != nil { ... }
//	if err := postgres.Migrate(ctx, pool); err != nil { ... }
//	store := postgres.New(pool)
//	// register clients with store.PutClient, hand store to the Provider,
//	// and call store.DeleteExpired(ctx, time.Now(), 0) now and then.
//
// Several instances over one database behave as one server: every use-once
// operation (consuming an authorization code, rotating a refresh token,
// completing an interaction, consuming a pushed request, remembering a jti,
// deciding and redeeming a device authorization) is a single conditional
// statement, so of concurrent calls for one key exactly one wins, whichever
// instance made them; the polls of a device authorization are single
// statements that lock its row, so each sees the one before. Creating tokens
// and revoking their grant are ordered by an advisory lock per grant, so a token
// written just after its grant was revoked is stored revoked.
//
// The store is also a [storage.Limiter] ([Store.Take]): give each instance's
// store as its Provider's Config.Limiter, and the throttles of all instances
// (failed client authentications, pushed authorization requests, user codes
// tried) count in one budget per key, each event in a single statement,
// instead of one budget per instance. The keys it counts are bounded
// ([WithLimiterKeys]); windows that ended are deleted by DeleteExpired and,
// now and then, by Take itself.
//
// The store is also a [storage.KeyStore] ([Store.LoadKeySet],
// [Store.SaveKeySet]): it keeps the key sets of the token strategies (the
// HMAC keys of opaque tokens, the JWT signing keys), so that every
// instance signs and verifies with the same keys and tokens survive a
// restart. The keys are kept sealed: package token encrypts and
// authenticates a key's private material under the host's secret before
// it reaches the store, which sees and keeps only that ciphertext (the
// Sealed field of [storage.StoredKey]), so a dump of the database without
// the secret yields no key. A set is read in one statement and written
// whole, in one transaction, by compare-and-set on its version: of two
// instances that rotate a set at once, one writes and the other gets
// [storage.ErrVersionConflict].
//
// The store also keeps the login sessions of an OpenID Provider
// ([storage.LoginSessionStore]), so that a user's login in a browser
// outlives a restart and is seen by every instance. Adding a client to a
// session is one conditional statement, so of concurrent approvals none
// is lost; ending one is one DELETE ... RETURNING, so of concurrent
// logouts exactly one gets the session and tells its clients.
//
// What one request can make the store write is bounded: a record larger
// than [storage.MaxRecordBytes], or with a key longer than
// [storage.MaxKeyBytes], is refused with an error wrapping
// [storage.ErrTooLarge], as every store of Grantor refuses it.
//
// PostgreSQL's text holds UTF-8 without NUL bytes, and jsonb no character
// U+0000. A record with a string it cannot hold is refused before the
// write, with an error that names the field (and never quotes the value)
// and wraps none of the sentinels; a key that cannot be stored is not
// found. Claims come back as JSON decodes them: invalid UTF-8 as U+FFFD.
// The maps of strings (a request's Parameters, the Extensions of codes
// and tokens) are jsonb too, their names and values text kept exactly.
//
// Tokens are stored under their key (a signature or JWT ID), never in the
// clear, and error messages never quote a key or a record. Transient
// failures (serialization failures, deadlocks) are retried a few times; see
// [WithRetries].
package postgres
