// Package bench measures Grantor's token endpoint side by side with
// github.com/ory/fosite and with a bare net/http baseline that does only
// the minimum work of each scenario, so that every figure Grantor claims is
// a ratio measured in one run, never a number from elsewhere.
//
// A scenario is a list of [Contender]s, each of which builds a fresh
// [Server]: an http.Handler serving POST /token with one registered client
// whose secret is stored hashed. [ServeTokens] turns a contender into a
// testing benchmark; [Compare] runs the benchmarks of a scenario
// interleaved and repeated, takes medians, and [WriteTable] prints them as
// a markdown table with ratios. The command cmd/benchtable does both:
//
//	cd bench && go run ./cmd/benchtable
//
// and the same benchmarks run one by one under go test:
//
//	cd bench && go test -run '^$' -bench ClientCredentialsOpaque
//
// Only the scenario "client credentials with opaque tokens"
// ([ClientCredentialsOpaque]) exists so far.
package bench
