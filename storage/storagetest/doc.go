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
// What the suite assumes of the store under test:
//   - Each call of the [NewStore] function returns an empty store holding
//     exactly the given clients. Subtests run one after the other, so an
//     adapter may reuse one database and empty it on each call.
//   - The store's clock is the real one. Expiry times in the fixtures are
//     relative to [time.Now]: tokens, interactions, authorization codes and
//     pushed requests expire an hour from now, a replay entry "in the past"
//     expired an hour ago. A small clock skew between the test process and
//     a database server is fine.
//   - Times may be truncated to microseconds: the fixtures use UTC times
//     that already are, and times are compared with [time.Time.Equal].
//   - Claims are compared as JSON, so an adapter may return numbers as
//     float64 or json.Number.
//   - Errors are matched with [errors.Is]: adapters may wrap the sentinels.
//   - A nil slice and an empty one are the same (Scopes, Audience,
//     Resources, Prompt, Claims), so an adapter may return either for
//     "none".
//
// The use-once operations (ConsumeToken, CompleteInteraction,
// ConsumeAuthorizationCode, ConsumePushedRequest, Remember) are each raced by
// 50 goroutines on one key: exactly one may return a nil error, and every
// loser must get [storage.ErrConsumed] together with the record as the winner
// left it.
//
// Besides the rules written in package storage, the suite holds stores to
// one more: a call with a context that is already cancelled returns an
// error matching [context.Canceled] and changes nothing.
//
// Records are stored whole up to [storage.MaxRecordBytes] with keys and
// grant IDs up to [storage.MaxKeyBytes], exactly at those bounds included,
// and one byte more is [storage.ErrTooLarge] with nothing written. The
// suite builds records of an exact size with their Size methods.
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
package storagetest
