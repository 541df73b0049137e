package harness

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The load runs against the example server as it is built today, through
// its real login and consent pages, without PostgreSQL: one instance over
// the in-memory store, so that a change of the server's pages or answers
// that the harness does not follow fails here, not only in the cluster
// test. Every flow runs, every answer is what the RFCs say, every token
// received is active unless revoked or rotated, and no code or refresh
// token redeems twice.
func TestLoadAgainstOneServer(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := t.TempDir()
	srv, err := BuildServer(ctx, dir)
	require.NoError(t, err)
	assert.True(t, srv.DebugAddr, "the server offers -debug-addr")
	c, err := StartCluster(ctx, ClusterConfig{Server: srv, Dir: dir, Instances: 1, Users: 4, Tokens: "opaque",
		Debug: true, StartTimeout: 30 * time.Second})
	require.NoError(t, err)
	t.Cleanup(c.Stop)
	in := c.Instances[0]

	// Failed authentications are a random share of the mix, and the
	// first GuessesPerMinute of them in an aligned minute go to the
	// slow-hashed client, which the server throttles after ten in its own
	// aligned minute: the load runs for 4 seconds, and on until a guess
	// has been throttled (at most 20 seconds), so that the count of
	// guesses, or a minute's end, cannot make the test fail by chance.
	l := NewLoad(c, LoadConfig{Workers: 4, Rate: 100, Route: Balanced, Record: true, GuessesPerMinute: 30})
	l.stats.StartPhase("load", time.Now())
	l.Start()
	time.Sleep(4 * time.Second)
	for deadline := time.Now().Add(16 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if l.stats.Flows()["failed client authentication, throttled"] > 0 {
			break
		}
	}
	l.Stop()
	l.pace = nil
	heap, err := LiveHeap(ctx, in)
	require.NoError(t, err)
	assert.Positive(t, heap)

	flows := l.stats.Flows()
	for _, f := range mix {
		assert.Positive(t, flows[f.name], "the load runs every flow: %s", f.name)
	}
	assert.Positive(t, flows["failed client authentication, throttled"], "the guesses at the slow-hashed client reach the throttle")
	for _, chk := range []Check{
		l.checkAnswers(),
		l.checkNo5xx(in, "only instance"),
		l.checkIntrospection("every token active unless revoked or rotated", in, func(*tokenRecord) bool { return true }, 4),
		l.checkReplays(in, 4),
	} {
		assert.True(t, chk.Pass, "%s: %s", chk.Name, chk.Detail)
	}
	assert.Zero(t, l.stats.Instance(in.Name).Refused)
	if t.Failed() {
		t.Logf("server log:\n%s", in.LogTail(40))
	}
}
