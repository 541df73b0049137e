// Package storage defines the records Grantor keeps and the small interfaces
// through which it keeps them.
//
// Each feature takes exactly the store it needs, as a typed interface of at
// most a few methods, when it is registered with the Provider: a store that
// lacks a method fails to compile, not at start-up. One type may implement
// them all; [github.com/grantor-dev/grantor/storage/memory] does, and is the
// fake to use in tests.
//
// Every operation that must happen once ("use once": consuming a refresh
// token, remembering an assertion's jti) is a single storage operation, never
// a read followed by a write in the caller. Of two concurrent calls exactly
// one succeeds; the other gets [ErrConsumed].
//
// Tokens are stored under a key derived from them (an HMAC signature or a JWT
// ID), never in the clear, so a leaked table grants nothing. Client secrets
// are stored hashed.
//
// Rules that hold for every store: every record a method returns is a copy
// the caller owns and may modify, lists and claims included, and a stored
// record never changes when the caller modifies what it passed in or what
// it got back; times passed in are never zero; a record may be deleted
// once past its ExpiresAt and is then ErrNotFound (a consumed authorization
// code or refresh token is kept at least until then, so that a replay is
// still recognised); use-once operations do not judge expiry or
// revocation, the caller does, on the record they return.
//
// Input that no record can hold is refused by a write and not found by a
// read. A write of a nil record, or of a record or replay key that is
// empty, returns an error that wraps none of the sentinels (it is not
// ErrNotFound: nothing was looked for), and nothing is written; a key
// longer than [MaxKeyBytes] is [ErrTooLarge] (below). A read, a use or a
// revocation by a key that no record can have (empty, longer than
// MaxKeyBytes) is ErrNotFound, as for any key under which nothing is
// stored.
//
// Every store bounds what one write may hold ([MaxRecordBytes],
// [MaxKeyBytes]) and refuses more with [ErrTooLarge], so that what one
// request can make the server write is bounded whichever store keeps it.
// A string that is not UTF-8 text or holds a NUL byte, which some databases
// cannot keep, is stored and returned byte for byte or the record is
// refused as invalid input; it is never stored changed (except inside
// Claims, which come back as JSON decodes them). A key that a store cannot
// keep is not found.
//
// Every method honours its context: called with a cancelled context it
// returns an error that wraps the context's error and changes nothing.
// Errors wrap the sentinels below, so callers match them with errors.Is.
//
// The package [github.com/grantor-dev/grantor/storage/storagetest] is the
// contract: every implementation runs its suite.
package storage
