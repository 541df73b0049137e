// Package sqlite stores everything Grantor keeps in one SQLite database
// file, through the cgo-free driver modernc.org/sqlite: clients, token
// records with atomic refresh-token rotation and revocation of whole
// grants, replay protection, the records of the authorization code flow
// (interactions, authorization codes, pushed authorization requests), each
// usable once, and device authorizations (RFC 8628); it keeps the key
// sets of the token strategies ([storage.KeyStore]: the HMAC keys of
// opaque tokens, the JWT signing keys), so that tokens survive a restart;
// it keeps the login sessions of an OpenID Provider
// ([storage.LoginSessionStore]), so that a user stays logged in across a
// restart and a logout reaches every client of the session; and it counts the events of every throttle ([storage.Limiter]) in the
// database, so that the Stores of several processes over one file share
// one budget. It is the embedded choice for a single node that must
// survive a restart.
//
//	store, err := sqlite.Open(ctx, "/var/lib/grantor/grantor.db")
//	if err != nil {
//		return err
//	}
//	defer store.Close()
//	err = store.PutClient(ctx, &storage.Client{
//		ID:           "app",
//		RedirectURIs: []string{"https://app.example/callback"},
//		GrantTypes:   []string{"authorization_code", "refresh_token"},
//	})
//	// pass store wherever a storage.ClientStore, storage.TokenStore,
//	// storage.RefreshTokenStore, storage.ReplayStore,
//	// storage.InteractionStore, storage.AuthorizationCodeStore,
//	// storage.PushedRequestStore, storage.DeviceAuthorizationStore,
//	// storage.Limiter, storage.KeyStore or storage.LoginSessionStore is
//	// needed, and call
//	// store.DeleteExpired(ctx, time.Now()) every minute or so.
//
// [Open] runs the database in WAL mode with a busy timeout, and applies the
// embedded, versioned schema migrations ([Store.Migrate]). Every use-once
// operation (ConsumeToken, ConsumeAuthorizationCode, ConsumePushedRequest,
// CompleteInteraction, ConsumeDeviceAuthorization, Remember,
// DeleteLoginSession) is one
// conditional statement, and every other change that depends on what is
// stored (DecideDeviceAuthorization, PollDeviceAuthorization and its
// slow_down, CreateDeviceAuthorization and its unique user code,
// SaveKeySet and its compare-and-set on the set's version,
// AddSessionClient and its list of clients) one
// transaction that holds the write lock from its start, and every count
// of the limiter (Take) one upsert, so of many
// concurrent callers exactly one wins, or each sees the one before it,
// whether they share a [Store] or open the same file from several
// processes. The writes of one Store are queued in the process; readers
// run in parallel.
//
// Times are stored as Unix microseconds and come back in UTC, truncated to
// the microsecond (the limiter's windows are kept in nanoseconds, exactly,
// as [storage.WindowStart] aligns them). Claims are stored as JSON and come back as a JSON
// decoder makes them: numbers as float64. Returned records are new copies
// the caller may modify.
//
// What one request can make the store write is bounded: a record larger
// than [storage.MaxRecordBytes], or with a key longer than
// [storage.MaxKeyBytes], is refused with an error wrapping
// [storage.ErrTooLarge], as every store of Grantor refuses it.
//
// The keys of a key set are kept sealed: package token encrypts and
// authenticates a key's private material under the host's secret before
// it reaches the store, which sees and keeps only that ciphertext (the
// Sealed field of [storage.StoredKey]), so a copy of the database file
// without the secret yields no key. A set is read in one statement and written
// whole, by compare-and-set on its version ([Store.SaveKeySet]): of two
// instances that rotate at once, one writes, the other gets
// [storage.ErrVersionConflict].
//
// Strings are kept byte for byte, NUL bytes included, except in the
// columns that hold JSON: lists (scopes, audiences, redirect URIs),
// authorization requests (their extension parameters included) and the
// Extensions of codes and tokens. JSON holds only UTF-8, so a record with
// a string of invalid UTF-8 there is refused with an error naming the
// field rather than stored changed. Claims are JSON too, and come back as JSON decodes
// them: an invalid byte as U+FFFD.
//
// The store passes the conformance suite in
// [github.com/grantor-dev/grantor/storage/storagetest].
package sqlite
