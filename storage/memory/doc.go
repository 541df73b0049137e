// Package memory is an in-memory implementation of every store in package
// [github.com/grantor-dev/grantor/storage]: clients, token records with
// atomic refresh-token rotation, replay protection, the records of the
// authorization code flow (interactions, authorization codes, pushed
// authorization requests), each usable once, device authorizations (RFC
// 8628) with their polling interval, and a [storage.Limiter] for
// throttles.
//
// It is the fake to use in tests, and a real store for a single-process
// server that may forget its tokens on restart:
//
//	store := memory.New()
//	_ = store.PutClient(&storage.Client{
//		ID:           "app",
//		RedirectURIs: []string{"https://app.example/callback"},
//		GrantTypes:   []string{"authorization_code", "refresh_token"},
//	})
//	// pass store wherever a storage.ClientStore, storage.TokenStore,
//	// storage.RefreshTokenStore, storage.ReplayStore,
//	// storage.InteractionStore, storage.AuthorizationCodeStore,
//	// storage.PushedRequestStore, storage.DeviceAuthorizationStore or
//	// storage.Limiter is needed.
//
// Every record is stored as a copy and returned as a copy, so callers may
// modify what they pass in and what they get back. Times come back in UTC
// without monotonic clock readings.
//
// Expired records and replay entries are deleted (a consumed authorization
// code or refresh token only once it has expired, so that a replay is
// recognised until then): a write sweeps them when the sweep interval (one
// minute of store-clock time by default, see [WithSweepInterval]) has passed
// since the last sweep, and [Store.DeleteExpired] sweeps on demand. Time is
// read from the clock given with [WithClock], so tests can move it.
//
// Records are kept compact: a typical opaque access token record takes about
// 350 bytes of heap (see BenchmarkHeapPerAccessToken). A full sweep reads
// every slot of the token map under the write lock, about 2 ms per 200,000
// records, and then visits only what expired.
//
// The authorization requests waiting for a decision, which browsers and
// clients can make the server write before anyone has logged in, are
// bounded: at most [DefaultMaxInteractions] pending interactions,
// [DefaultMaxPushedRequests] pushed requests and
// [DefaultMaxDeviceAuthorizations] device authorizations (see
// [WithMaxInteractions], [WithMaxPushedRequests] and
// [WithMaxDeviceAuthorizations]). At the bound the expired and used ones
// are deleted first; if none has, the creation fails with [storage.ErrFull]
// and nothing stored is evicted, so a login under way always completes.
//
// The store counts the events of throttles ([Store.Take]) with a [Limiter]
// of its own, which counts up to [DefaultLimiterKeys] keys one by one (see
// [WithLimiterKeys]); [NewLimiter] makes a Limiter alone, for a server
// that keeps its records elsewhere.
//
// The store and [Limiter] pass the conformance suites in
// [github.com/grantor-dev/grantor/storage/storagetest].
package memory
