// Package bench measures Grantor's endpoints side by side with
// github.com/ory/fosite and with a bare net/http baseline that does only
// the minimum work of each scenario, so that every figure Grantor claims is
// a ratio measured in one run, never a number from elsewhere.
//
// A [Scenario] (see [Scenarios]) is one operation: client credentials with
// an opaque or a JWT access token (ES256, EdDSA, RS256), introspection of
// an opaque token, refresh token rotation, and authorization code
// exchange with PKCE. Its [Contender]s each build a fresh [Server]: an
// http.Handler, one registered client whose secret is stored hashed, and
// the scenario's requests, whatever they need (a refresh token, a code
// approved through the library's API) created outside any measurement.
//
// The measures:
//   - [ServeRequests] is the go test benchmark of a contender through its
//     handler (ns/op, B/op, allocs/op); [Compare] runs those of a scenario
//     interleaved and repeated and takes medians; [WriteTable] prints them
//     with ratios.
//   - [CompareLoad] runs each contender in a server process of its own
//     ([ServeProcess]) and loads it over keep-alive HTTP/1.1 connections
//     ([Load]): requests per second, p50 and p99 latency, and the server's
//     CPU time per 1,000 requests, read from the operating system;
//     [WriteLoadTable] prints them.
//   - [HeapPerToken] is the live heap a server keeps per issued token.
//   - [CompareProofs] is DPoP proof validation (RFC 9449 §4.3) alone:
//     Grantor's dpop.Verifier against jws.Verify; [CompareDPoPTokens] is
//     client credentials with a DPoP proof through Grantor's token
//     handler ([ServeDPoPTokens]) against the same handler without DPoP
//     plus jws.Verify of the proof, measured in one run and summed.
//   - [CompareDevice] is the device authorization grant (RFC 8628)
//     through Grantor's handler: a poll answered authorization_pending
//     and a device authorization request, each against a client
//     credentials request, measured in one run.
//   - [CompareStoredKeys] is keys loaded from the store against keys given
//     in memory, on Providers built alike: client credentials with opaque
//     and JWT access tokens and introspection of each through Grantor's
//     handler, and a resource server's verification of a JWT access token
//     with the Provider's keys, measured in one run.
//   - [CompareOIDC] is the OpenID Provider (package oidc) through
//     Grantor's handler: a code redemption with openid against the same
//     without it (ES256 JWT and opaque access tokens), beside one ES256
//     signature of an ID token's claims, and a UserInfo request against
//     an introspection request, measured in one run; [CompareOIDCLoad] is
//     the same over HTTP ([OIDCScenarios], one connection).
//
// The timed loops of the OpenID benchmarks carry [TimedLabel], so that a
// CPU profile of one can leave its setup (a code approved per request)
// out:
//
//	cd bench && go test -run '^$' -bench 'OIDC/code-jwt-es256/with-openid' -cpuprofile cpu.out
//	go tool pprof -tagfocus bench=timed -top cpu.out
//
// [Targets] checks the figures of one run against the targets of the
// comparison. The command cmd/benchtable runs everything and prints the
// tables (make bench runs it):
//
//	cd bench && go run ./cmd/benchtable
//
// and the benchmarks also run one by one under go test:
//
//	cd bench && go test -run '^$' -bench 'Scenario/cc-opaque'
//	cd bench && go test -run '^$' -bench 'Device'
//	cd bench && go test -run '^$' -bench 'StoredKeys'
//	cd bench && go test -run '^$' -bench 'OIDC'
package bench
