// Package harness runs Grantor's example server as a cluster, several
// instances over one PostgreSQL database with one issuer, and drives a
// mixed OAuth load through them: the client credentials grant, the
// authorization code flow with PKCE through the server's real login and
// consent pages, refresh token rotation, introspection, revocation and
// failed client authentications. It is the engine of the cluster command
// (examples/cluster): Crash kills an instance mid-load and checks what
// must survive, Soak runs the load for long and watches latency, errors
// and each instance's heap.
//
// Everything it sends goes to 127.0.0.1 and nowhere else, which its HTTP
// clients enforce at every connection; the database must be on a Unix
// socket or a loopback address.
//
// The shortest use, over the database of GRANTOR_TEST_POSTGRES:
//
//	res, err := harness.Crash(ctx, harness.CrashConfig{
//		DSN: dsn, Dir: tempDir, Duration: 45 * time.Second, Tokens: "opaque", Out: os.Stdout,
//		Load: harness.LoadConfig{Workers: 8, Rate: 150, Route: harness.Balanced},
//	})
//	if err == nil && !res.Passed() { /* a check failed */ }
package harness
