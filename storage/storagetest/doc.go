// Package storagetest is the conformance suite of the storage contract: the
// rules of package [github.com/grantor-dev/grantor/storage], checked the
// same way for every implementation (the in-memory store, the SQL adapters,
// your own).
//
// Run it from a test of the adapter:
//
//	func TestConformance(t *testing.T) {
//		storagetest.Run(t, func(t *testing.T, clients ...*storage.Client) storagetest.Store {
//			s := memory.New()
//			for _, c := range clients {
//				require.NoError(t, s.PutClient(c))
//			}
//			return s
//		})
//	}
//
// [Run] needs a store of every interface. A store that implements only
// some of them runs the suite of each instead: [RunClientStore],
// [RunTokenStore], [RunRefreshTokenStore] (which includes RunTokenStore's
// rules), [RunReplayStore], [RunInteractionStore],
// [RunAuthorizationCodeStore], [RunPushedRequestStore] and
// [RunDeviceAuthorizationStore]. An adapter for an
// application that issues tokens with the client credentials grant only,
// five methods, runs two:
//
//	func TestConformance(t *testing.T) {
//		storagetest.RunClientStore(t, func(t *testing.T, clients ...*storage.Client) storage.ClientStore {
//			return newStore(t, clients...)
//		})
//		storagetest.RunTokenStore(t, func(t *testing.T) storage.TokenStore {
//			return newStore(t)
//		})
//	}
//
// What the suite assumes of the store under test:
//   - Each call of the constructor returns an empty store holding exactly
//     the given clients. Subtests run one after the other, so an adapter
//     may reuse one database and empty it on each call. The suite may
//     modify the clients after the call; the store keeps copies.
//   - The store's clock is the real one. Expiry times in the fixtures are
//     relative to [time.Now]: tokens, interactions, authorization codes,
//     pushed requests and device authorizations expire an hour from now
//     (some device authorizations later still), a replay entry "in the
//     past" expired an hour ago. A small clock skew between the test
//     process and a database server is fine.
//   - Times may be truncated to microseconds: the fixtures use UTC times
//     that already are, and times are compared with [time.Time.Equal].
//     So may a device authorization's Interval: the fixtures' intervals
//     are whole microseconds, and must come back exactly.
//   - Claims are compared as JSON, so an adapter may return numbers as
//     float64 or json.Number.
//   - Errors are matched with [errors.Is]: adapters may wrap the sentinels.
//   - A nil slice or map and an empty one are the same (Scopes, Audience,
//     Resources, Prompt, Claims, a request's Parameters, Extensions), so
//     an adapter may return either for "none". A map's entries come back
//     exactly, those with an empty value included.
//
// The use-once operations (ConsumeToken, CompleteInteraction,
// ConsumeAuthorizationCode, ConsumePushedRequest, DecideDeviceAuthorization,
// ConsumeDeviceAuthorization, Remember) are each raced by 50 goroutines on
// one key: exactly one may return a nil error, and every loser must get
// [storage.ErrConsumed] together with the record as the winner left it.
// So are the creations of records with one key, and of device
// authorizations with one user code: one wins, the others get
// [storage.ErrDuplicate]. PollDeviceAuthorization is raced by 50 polls at
// one instant of a record never polled: the first is not slow, each later
// one gets [storage.ErrSlowDown] with the interval one step longer than
// the poll before it left it, so that the intervals the 50 polls return
// are each step exactly once.
//
// Returned records are copies: the suite changes every field of what it
// gets back (a client, a token record from Token or ConsumeToken, an
// interaction, code, pushed request or device authorization from each
// method that returns one, the winner's and a loser's of a use-once call),
// down to the elements of Scopes, RedirectURIs and the other lists, the
// values nested in Claims and the entries of Parameters and Extensions,
// and of what it passed in (a device decision
// included), and then reads the record again: it must be as stored.
//
// Input that no record can hold: a nil record, or a record or replay key
// that is empty (a device authorization's UserCodeKey too), is refused
// with an error that matches none of the sentinels (not
// [storage.ErrNotFound]); a key one byte longer than [storage.MaxKeyBytes]
// with [storage.ErrTooLarge] and no other sentinel. So is a device
// decision that neither approves nor denies, and the record is unchanged.
// A lookup, use or revocation by an empty key, a key longer than
// MaxKeyBytes, or one of a megabyte, is [storage.ErrNotFound].
//
// Revocations keep their first time: a second RevokeToken, a RevokeGrant
// after a RevokeToken, a second RevokeGrant leave RevokedAt as it was.
// RevokeGrant with an empty grant ID returns nil and revokes nothing, not
// the token records created without a GrantID, before or after it.
//
// Besides the rules written in package storage, the suite holds stores to
// one more: a call with a context that is already cancelled returns an
// error matching [context.Canceled] and changes nothing.
//
// Records are stored whole up to [storage.MaxRecordBytes] with keys, user
// code keys and grant IDs up to [storage.MaxKeyBytes], exactly at those
// bounds included, and one byte more is [storage.ErrTooLarge] with nothing
// written; a device decision that would make its record one byte larger
// than MaxRecordBytes is ErrTooLarge and changes nothing. The suite builds
// records of an exact size with their Size methods.
//
// A string that is not UTF-8 text or holds a NUL byte, in any field, is
// either stored and returned byte for byte, or refused with an error that
// matches none of the sentinels, nothing written (of a batch of tokens,
// nothing at all); a lookup of a key holding one is [storage.ErrNotFound].
//
// A [storage.Limiter] has a suite of its own, [RunLimiter]:
//
//	func TestLimiterConformance(t *testing.T) {
//		storagetest.RunLimiter(t, func(t *testing.T) storage.Limiter {
//			return memory.NewLimiter(0)
//		})
//	}
//
// Its concurrency case races 50 goroutines on one key: each count from 1
// to 50 must be seen exactly once.
//
// So does a [storage.KeyStore], [RunKeyStore]: its concurrency cases race
// 20 writers at one version of a key set, of which exactly one may win.
//
// And a [storage.LoginSessionStore], [RunLoginSessionStore]: 20
// concurrent AddSessionClient calls for different clients must all stay,
// for one client must add it once, and of 20 concurrent
// DeleteLoginSession calls exactly one gets the session, the others
// [storage.ErrNotFound]. Since a store may delete a session once its
// ExpiresAt has passed, an expired session must be returned whole or be
// ErrNotFound; nothing else. LoginSessionByID must find no ended session,
// nor an expired one that LoginSession no longer returns, and of two
// sessions that share an ID (a new login replacing one) either, then the
// one left.
package storagetest
